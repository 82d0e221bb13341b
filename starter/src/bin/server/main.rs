//! The Offline News server: the JSON API, the static site (page, worker, wasm)
//! and, with `--live-reload`, the hook that `cargo xtask serve --watch` uses.
//!
//! Run it through `cargo xtask serve`, which builds the wasm site first.
//!
//! Its modules, from the bottom up; each uses only those below it:
//! `shared` (this stage's library: articles, messages, the push payload),
//! `store.rs` (SQLite), `push/` (Web Push: keys, checking a subscription,
//! sending; no HTTP server in it), `api/` (the JSON routes), and here, the
//! one router. `origin.rs` (the public origin) and `dev.rs` (live reload)
//! need nothing of the others.

mod api;
mod dev;
mod origin;
mod push;
mod shared;
mod store;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{any, get, post};
use clap::Parser;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::shared::outbox::MAX_BODY_BYTES;

#[derive(Debug, Parser)]
#[command(about = "Serve Offline News: the API and the wasm site")]
struct Args {
    /// Address to listen on. Loopback by default: nothing outside this
    /// machine can reach a workshop server unless you say so.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// The origin browsers reach this server at, such as
    /// `https://news.example`: a push's link points there. By default
    /// `http://<host>:<port>` (`localhost` when listening on every address);
    /// behind a proxy or a tunnel, give the address users open.
    #[arg(long, env = "OFFLINE_NEWS_PUBLIC_ORIGIN")]
    public_origin: Option<origin::PublicOrigin>,
    /// The SQLite file for the articles (created if missing).
    #[arg(long, env = "OFFLINE_NEWS_DB", default_value_os_t = default_path("db.sqlite3"))]
    db: PathBuf,
    /// The built site (`cargo xtask build` writes it).
    #[arg(long, default_value_os_t = default_path("site"))]
    site: PathBuf,
    /// Serve `/__dev/reload`, the long poll `serve --watch` reloads pages with.
    #[arg(long)]
    live_reload: bool,
    /// Who runs this server, for the push services (the VAPID `sub`): a
    /// `mailto:` or `https:` URL they can use to reach you about your pushes.
    #[arg(long, env = "OFFLINE_NEWS_PUSH_SUBJECT", default_value = "mailto:offline-news@localhost", value_parser = push_subject)]
    push_subject: String,
    /// Accept push endpoints that are http, or on this machine or a private
    /// network. For tests that run a push service locally only: otherwise
    /// anyone could make the server send requests into its own network.
    #[arg(long)]
    allow_local_push_endpoints: bool,
}

fn push_subject(value: &str) -> Result<String, String> {
    if value.starts_with("mailto:") || value.starts_with("https://") {
        Ok(value.to_owned())
    } else {
        Err("must be a mailto: or https:// URL".into())
    }
}

/// `target/<stage>/<name>` in this workspace, when the server runs from it.
fn default_path(name: &str) -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stage = crate_dir.file_name().unwrap_or_default();
    match name {
        "site" => crate_dir.join("../target/site").join(stage),
        _ => crate_dir.join("../target/data").join(stage).join(name),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        // A log line that cannot be written (the disk is full) is dropped.
        // Reporting it, tracing-subscriber would `eprintln!`, which panics
        // when stderr is on that same full disk: the request would then end
        // with no answer at all instead of the 500 that tells the worker to
        // keep the article and try again.
        .log_internal_errors(false)
        .init();
    let args = Args::parse();

    anyhow::ensure!(
        args.site.join("index.html").is_file(),
        "no site at {}: build it first with `cargo xtask build`",
        args.site.display()
    );
    let store = store::Store::open(&args.db)?;
    tracing::info!("articles in {}", args.db.display());
    // The VAPID key pair lives beside the database.
    let key_dir = match args.db.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let policy = if args.allow_local_push_endpoints {
        tracing::warn!(
            "push endpoints on this machine and private networks are allowed (test mode)"
        );
        push::EndpointPolicy::AllowLocal
    } else {
        push::EndpointPolicy::PublicHttpsOnly
    };
    let config = push::send::SendConfig {
        policy,
        ..Default::default()
    };
    let address = SocketAddr::new(args.host, args.port);
    let public_origin = args
        .public_origin
        .clone()
        .unwrap_or_else(|| origin::PublicOrigin::of_listener(address));
    let push = push::Push::new(
        key_dir,
        args.push_subject.clone(),
        public_origin.clone(),
        config,
    )?;
    tracing::info!("VAPID key in {}", push.keys().path().display());
    tracing::info!("pushes link to {public_origin}/ (--public-origin to change it)");

    let state = api::AppState {
        store: Arc::new(store),
        push: Arc::new(push),
    };
    let app = app(state, &args.site, args.live_reload);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| {
            format!("cannot listen on {address}; is another server using that port?")
        })?;
    tracing::info!("Offline News at http://{address}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("server failed")?;
    tracing::info!("stopped");
    Ok(())
}

// ANCHOR: router
/// The whole app: one router, built in one place.
fn app(state: api::AppState, site: &Path, live_reload: bool) -> Router {
    let api = Router::new()
        .route(
            "/api/v1/articles",
            get(api::articles::list_articles)
                .post(api::articles::create_articles)
                .fallback(api::method_not_allowed),
        )
        .route(
            "/api/v1/push/public-key",
            get(api::push::public_key).fallback(api::method_not_allowed),
        )
        .route(
            "/api/v1/push/subscriptions",
            post(api::push::subscribe)
                .delete(api::push::unsubscribe)
                .fallback(api::method_not_allowed),
        )
        .route("/api/{*rest}", any(api::no_such_route))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state);

    // Every static file is revalidated on each network fetch (the server
    // answers 304 when it has not changed). The service worker keeps its own
    // copy for offline use; a stale HTTP cache must never stand between a new
    // build and the worker's update check, least of all for `/sw.js`.
    let static_files = Router::new()
        .fallback_service(ServeDir::new(site).append_index_html_on_directories(true))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));

    let reload = live_reload.then(|| dev::build_id_file(site));
    api.merge(static_files)
        .route("/__dev/reload", get(dev::reload).with_state(reload))
        .layer(CompressionLayer::new())
        .layer(header_layer(
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        ))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(header_layer(header::REFERRER_POLICY, "no-referrer"))
        .layer(TraceLayer::new_for_http())
}
// ANCHOR_END: router

/// The Content-Security-Policy every response carries. It allows only our
/// own scripts, plus `'wasm-unsafe-eval'`, which is what lets
/// `WebAssembly.instantiate` run without allowing JavaScript `eval`. Inline
/// scripts are forbidden, so text a user typed can never become code.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; \
    manifest-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

fn header_layer(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// Resolves on Ctrl-C (or SIGTERM on Unix), so that requests in flight finish
/// and SQLite closes cleanly.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {error}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod load;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;
