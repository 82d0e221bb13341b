//! The service worker: every event handler the browser calls, in Rust.
//!
//! `static/sw.js` adds the listeners (the browser requires that while the
//! script first runs, before any wasm can be ready) and hands each event to a
//! function here once the wasm has started. Each function returns a Promise;
//! the shim passes it to `event.waitUntil` (or `respondWith`), which keeps the
//! worker alive until the Promise settles and — for `sync` — tells the browser
//! whether the work succeeded.

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Cache, CacheStorage, ClientQueryOptions, ClientType, ExtendableEvent, ExtendableMessageEvent,
    FetchEvent, NotificationEvent, PushEvent, Request, RequestCache, RequestInit, RequestMode,
    Response, ResponseInit, ServiceWorkerGlobalScope, Url, WindowClient,
};

use crate::browser::{JsResult, fetch};

// ANCHOR: sync_bindings
// web-sys has no bindings for Background Sync (the spec is a draft that only
// Chromium ships), so we declare the little we use. `extends` lets a
// `SyncEvent` be used wherever an `ExtendableEvent` is expected. We never
// check `instanceof SyncEvent`: Firefox has no such global, and the value is
// cast with `unchecked_into` instead.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = ExtendableEvent)]
    pub type SyncEvent;
    #[wasm_bindgen(method, getter)]
    fn tag(this: &SyncEvent) -> String;

    type SyncManager;
    #[wasm_bindgen(method, catch)]
    fn register(this: &SyncManager, tag: &str) -> Result<Promise, JsValue>;
}
// ANCHOR_END: sync_bindings

/// Files the page needs to start with no network: precached at install.
/// (The worker's own wasm and glue are inside `sw.js`, which the browser
/// keeps with the registration.)
const APP_SHELL: [&str; 7] = [
    "/",
    "/style.css",
    "/page.js",
    "/pkg/page.js",
    "/pkg/page_bg.wasm",
    "/manifest.webmanifest",
    "/icon.svg",
];
/// One shell cache per build, so a new build never mixes with an old one.
const SHELL_CACHE_PREFIX: &str = "offline-news-shell-";
/// The last article list fetched, for reading offline; kept across builds.
const DATA_CACHE: &str = "offline-news-data";
const ARTICLES_URL: &str = "/api/v1/articles";

fn scope() -> ServiceWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn caches() -> JsResult<CacheStorage> {
    scope().caches()
}

async fn open_cache(name: &str) -> JsResult<Cache> {
    Ok(JsFuture::from(caches()?.open(name)).await?.unchecked_into())
}

fn log(message: &str) {
    web_sys::console::log_1(&format!("[sw] {message}").into());
}

// ---------------------------------------------------------------------------
// Lifecycle: install, activate, start
// ---------------------------------------------------------------------------

/// `install`: download the app shell into this build's cache. If one file
/// fails, `addAll` rejects, the install fails and the old worker stays: never
/// a worker that cannot start offline.
#[wasm_bindgen]
pub async fn on_install(_event: ExtendableEvent, build_id: String) -> JsResult<()> {
    let cache = open_cache(&format!("{SHELL_CACHE_PREFIX}{build_id}")).await?;
    let requests = Array::new();
    for path in APP_SHELL {
        // `reload` bypasses the HTTP cache: the shell must be this build's.
        let init = RequestInit::new();
        init.set_cache(RequestCache::Reload);
        requests.push(&Request::new_with_str_and_init(path, &init)?.into());
    }
    JsFuture::from(cache.add_all_with_request_sequence(&requests)).await?;
    // Take over from an older worker at once instead of waiting for every tab
    // to close: this app's messages and storage are the same across builds.
    JsFuture::from(scope().skip_waiting()?).await?;
    log(&format!("installed build {build_id}"));
    Ok(())
}

/// `activate`: drop older builds' shells, and control the open pages now
/// (`clients.claim()`), so the very first visit can already queue articles.
#[wasm_bindgen]
pub async fn on_activate(_event: ExtendableEvent, build_id: String) -> JsResult<()> {
    let current = format!("{SHELL_CACHE_PREFIX}{build_id}");
    let storage = caches()?;
    let names: Array = JsFuture::from(storage.keys()).await?.unchecked_into();
    for name in names.iter().filter_map(|n| n.as_string()) {
        if name.starts_with(SHELL_CACHE_PREFIX) && name != current {
            JsFuture::from(storage.delete(&name)).await?;
        }
    }
    JsFuture::from(scope().clients().claim()).await?;
    Ok(())
}

/// Called each time the worker's script starts.
#[wasm_bindgen]
pub async fn on_start() -> JsResult<()> {
    // TODO(sync): where there is no Background Sync (`sync_manager()` is
    // `None`), nothing else will ever wake the worker to send what an earlier
    // run left in the outbox: flush it here.
    Ok(())
}

// ---------------------------------------------------------------------------
// fetch: answer from the cache when the network cannot
// ---------------------------------------------------------------------------

/// `fetch`, for the same-origin GETs the shim routes here: the article list
/// network-first (fresh when possible, the last copy when offline), the rest
/// of the app cache-first (it only changes with a new build, which brings a
/// new worker and a new cache).
#[wasm_bindgen]
pub async fn on_fetch(event: FetchEvent, build_id: String) -> JsResult<Response> {
    let request = event.request();
    let path = Url::new(&request.url())?.pathname();
    if path == ARTICLES_URL {
        network_first(&request).await
    } else if path.starts_with("/api/") {
        fetch(&request).await
    } else {
        cache_first(&request, &build_id).await
    }
}

async fn network_first(request: &Request) -> JsResult<Response> {
    match fetch(request).await {
        Ok(response) if response.ok() => {
            let cache = open_cache(DATA_CACHE).await?;
            JsFuture::from(cache.put_with_request(request, &response.clone()?)).await?;
            Ok(response)
        }
        answer => {
            let cached =
                JsFuture::from(open_cache(DATA_CACHE).await?.match_with_request(request)).await?;
            match (cached.dyn_into::<Response>(), answer) {
                (Ok(cached), _) => Ok(cached),
                // The server answered (an error): pass its answer on.
                (Err(_), Ok(response)) => Ok(response),
                (Err(_), Err(_)) => {
                    offline_response(r#"{"error":"offline, and no saved copy of the articles"}"#)
                }
            }
        }
    }
}

async fn cache_first(request: &Request, build_id: &str) -> JsResult<Response> {
    let cache = open_cache(&format!("{SHELL_CACHE_PREFIX}{build_id}")).await?;
    // Any navigation inside the app gets the app shell.
    let cached = if request.mode() == RequestMode::Navigate {
        JsFuture::from(cache.match_with_str("/")).await?
    } else {
        JsFuture::from(cache.match_with_request(request)).await?
    };
    if let Ok(response) = cached.dyn_into::<Response>() {
        return Ok(response);
    }
    match fetch(request).await {
        Ok(response) => Ok(response),
        Err(_) => offline_response(r#"{"error":"offline, and this file is not cached"}"#),
    }
}

fn offline_response(json: &str) -> JsResult<Response> {
    let init = ResponseInit::new();
    init.set_status(503);
    init.set_status_text("Offline");
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", "application/json")?;
    init.set_headers(&headers);
    Response::new_with_opt_str_and_init(Some(json), &init)
}

// ---------------------------------------------------------------------------
// message: the page hands an article over
// ---------------------------------------------------------------------------

// ANCHOR: on_message
/// `message` from a page.
#[wasm_bindgen]
pub async fn on_message(_event: ExtendableMessageEvent) -> JsResult<()> {
    // TODO(page-worker): decode `event.data()` with `from_js::<PageMessage>`.
    // For `AddArticle`, answer on the port the page sent along
    // (`event.ports().get(0)`) with `WorkerReply::Queued { pending }` — or
    // `WorkerReply::Error { message }` when the article is not valid
    // (`ArticleDraft::validate`; give it an id with `random_uuid` if it has
    // none).
    //
    // TODO(outbox): before answering, store the article in the IndexedDB
    // outbox (`idb::open`, store `idb::OUTBOX`, an `outbox::Queued` entry via
    // `to_js`) and wait for `idb::committed`: the browser may stop this worker
    // the moment it has answered, and memory does not survive that.
    //
    // TODO(sync): then ask for delivery: `registration.sync.register(SYNC_TAG)`
    // where the browser has Background Sync (web-sys has no binding: see
    // `SyncManager` above), else send the outbox right away.
    Ok(())
}
// ANCHOR_END: on_message

// ---------------------------------------------------------------------------
// sync: deliver the outbox
// ---------------------------------------------------------------------------

// ANCHOR: on_sync
/// `sync`.
#[wasm_bindgen]
pub async fn on_sync(_event: JsValue) -> JsResult<()> {
    // TODO(sync): for the tag `SYNC_TAG`, send every queued article to
    // `POST /api/v1/articles`, oldest first (`outbox::batches` cuts the queue
    // into requests the server accepts), and delete from the outbox only what
    // the server confirmed (`outbox::Delivery::from_status`). If anything is
    // left — no network, a 5xx — return an `Err`: the Promise must reject, or
    // the browser believes the sync succeeded and never retries. A 4xx will
    // never succeed: drop that article and tell the pages why
    // (`WorkerBroadcast::Rejected`), so it does not block the others. And an
    // article queued longer ago than `outbox::RETENTION_MS` is stale news:
    // drop it before sending, and say so with a notification
    // (`outbox::dropped_notification`) — never silently.
    //
    // TODO(update-pages): when articles were delivered, post
    // `WorkerBroadcast::Articles` with the server's list to every open page
    // (`clients().match_all_with_options`, windows, uncontrolled included).
    //
    // TODO(notification): and show "Added N new articles"
    // (`outbox::added_notification`) with
    // `registration().show_notification_with_options` — when permission is
    // granted, and without failing the sync if showing it fails.
    Ok(())
}
// ANCHOR_END: on_sync

// ANCHOR: on_push
/// `push`: a message from our server, through the browser's push service.
#[wasm_bindgen]
pub async fn on_push(_event: PushEvent) -> JsResult<()> {
    // TODO(push): read the payload (`event.data()`, then `.json()`), decode it
    // with `PushPayload::parse_or_fallback` and show it as a notification. The
    // page subscribed with `userVisibleOnly: true`, a promise to show a
    // notification for every push: a push that shows nothing breaks it, and
    // the browser may end the subscription.
    Ok(())
}
// ANCHOR_END: on_push

// ANCHOR: notification_click
/// `notificationclick`: bring the page the notification is about to the
/// front if it is open, or open it.
#[wasm_bindgen]
pub async fn on_notification_click(event: NotificationEvent) -> JsResult<()> {
    let notification = event.notification();
    notification.close();
    let target = notification_target(&notification.data())?;
    let options = ClientQueryOptions::new();
    options.set_type(ClientType::Window);
    let pages: Array = JsFuture::from(scope().clients().match_all_with_options(&options))
        .await?
        .unchecked_into();
    let open = pages
        .iter()
        .map(JsCast::unchecked_into::<WindowClient>)
        .find(|page| page.url() == target);
    if let Some(page) = open {
        JsFuture::from(page.focus()?).await?;
    } else {
        JsFuture::from(scope().clients().open_window(&target)).await?;
    }
    Ok(())
}

/// The absolute URL a notification's `data` names, kept inside the app: a
/// click never opens another site, whatever a payload says.
fn notification_target(data: &JsValue) -> JsResult<String> {
    let app = scope().registration().scope();
    let path = data.as_string().unwrap_or_else(|| "/".into());
    match Url::new_with_base(&path, &app) {
        Ok(url) if url.origin() == Url::new(&app)?.origin() => Ok(url.href()),
        _ => Ok(app),
    }
}
// ANCHOR_END: notification_click
