//! The service worker: every event handler the browser calls, in Rust.
//!
//! `static/sw.js` adds the listeners (the browser requires that while the
//! script first runs, before any wasm can be ready) and hands each event to a
//! function here once the wasm has started. Each function returns a Promise;
//! the shim passes it to `event.waitUntil` (or `respondWith`), which keeps the
//! worker alive until the Promise settles and — for `sync` — tells the browser
//! whether the work succeeded.

// The lesson's TODOs below write the code that calls these functions and
// uses these imports; until then the compiler would call them unused.
#![allow(dead_code, unused_imports)]

use std::cell::RefCell;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Cache, CacheStorage, Client, ClientQueryOptions, ClientType, ExtendableEvent,
    ExtendableMessageEvent, FetchEvent, MessagePort, Notification, NotificationEvent,
    NotificationOptions, NotificationPermission, PushEvent, Request, RequestCache, RequestInit,
    RequestMode, Response, ResponseInit, ServiceWorkerGlobalScope, Url, WindowClient,
};

use crate::article::NewArticle;
use crate::delivery::{self, Flushed, SyncEvent};
use crate::message::{PageMessage, SYNC_TAG, WorkerBroadcast, WorkerReply};
use crate::outbox::Queued;
use crate::push_payload::PushPayload;
use crate::status_text;
use crate::web_api::{JsResult, describe, fetch, from_js, random_uuid, to_js};

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

// ANCHOR: install
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
// ANCHOR_END: install

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

// ANCHOR: on_start
/// Called each time the worker's script starts. Where there is no Background
/// Sync, nothing else will ever wake the worker to send what an earlier run
/// left in the outbox, so it flushes now.
#[wasm_bindgen]
pub async fn on_start() -> JsResult<()> {
    // TODO(sync): where `delivery::sync_manager()` is `None` (Firefox,
    // Safari), send what an earlier run left: `flush_outbox().await`.
    Ok(())
}
// ANCHOR_END: on_start

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
/// `message` from a page. An `add-article` is answered on the port that came
/// with it, as soon as the article is safely in the outbox; delivery happens
/// later, in `sync`.
#[wasm_bindgen]
pub async fn on_message(event: ExtendableMessageEvent) -> JsResult<()> {
    // TODO(page-worker): decode `event.data()` with `from_js::<PageMessage>`.
    // For `PageMessage::AddArticle { article }`:
    // 1. give the draft an id if it has none (`random_uuid`) and check it
    //    (`ArticleDraft::validate`);
    // 2. `queue_article(article).await`, which returns how many wait;
    // 3. answer on the port the page sent along (`event.ports().get(0)`,
    //    a `MessagePort`) with `to_js(&WorkerReply::Queued { pending })`,
    //    or `WorkerReply::Error { message }` for an invalid article;
    // 4. then `request_delivery().await`.
    // For `PageMessage::Online`: `request_delivery()` if
    // `delivery::pending()` is not zero.
    let _ = event;
    Ok(())
}
// ANCHOR_END: on_message

// ANCHOR: queue_article
/// Puts the article in the outbox and returns how many articles wait. The
/// outbox is in IndexedDB, never only in memory: the browser stops an idle
/// worker whenever it likes, and a new one starts with nothing but what is
/// on disk. `delivery::store` returns once the write has committed.
async fn queue_article(article: NewArticle) -> JsResult<usize> {
    // TODO(outbox): this keeps the article in the worker's memory, which is
    // gone the moment the browser stops the worker (and `delivery::deliver`
    // never sees it). Store an `outbox::Queued { seq: None, article,
    // queued_at: js_sys::Date::now() }` with `delivery::store` instead.
    thread_local! {
        static IN_MEMORY: RefCell<Vec<Queued>> = const { RefCell::new(Vec::new()) };
    }
    let entry = Queued {
        seq: None,
        article,
        queued_at: js_sys::Date::now(),
    };
    Ok(IN_MEMORY.with_borrow_mut(|queue| {
        queue.push(entry);
        queue.len()
    }))
}
// ANCHOR_END: queue_article

// ANCHOR: request_delivery
/// Asks the browser for a `sync` event: it fires as soon as the network is
/// there — at once if it is there now — even if every tab has been closed.
/// Without Background Sync (Firefox, Safari) the worker tries right away and
/// tries again when a page reports that it is back online.
async fn request_delivery() -> JsResult<()> {
    // TODO(sync): where the browser has Background Sync
    // (`delivery::sync_manager()` is `Some(sync)`), register one:
    // `JsFuture::from(sync.register(SYNC_TAG)?).await`. Where it has none,
    // or registering fails, send the outbox now: `flush_outbox().await`.
    Ok(())
}
// ANCHOR_END: request_delivery

// ---------------------------------------------------------------------------
// sync: deliver the outbox
// ---------------------------------------------------------------------------

// ANCHOR: on_sync
/// `sync`. The Promise this returns is the browser's only news of how it
/// went: resolved, the sync is over; rejected, the browser fires `sync` again
/// later (with growing delays, and a last try flagged `lastChance`).
#[wasm_bindgen]
pub async fn on_sync(event: JsValue) -> JsResult<()> {
    // TODO(outbox): the event is a `SyncEvent` (`event.unchecked_into()`);
    // for the tag `SYNC_TAG`, deliver the outbox: `flush_outbox().await`.
    let _ = event;
    Ok(())
}
// ANCHOR_END: on_sync

/// Delivers the outbox, after any flush already running (a sync, a page
/// coming online and the worker starting may all ask at once). Fails if
/// articles are left for a later try.
async fn flush_outbox() -> JsResult<()> {
    delivery::one_at_a_time(deliver_and_report()).await
}

// ANCHOR: deliver_and_report
/// Sends the outbox (`delivery::deliver`: oldest first, deleting only what
/// the server answered for), then tells the pages and the user what became
/// of it.
async fn deliver_and_report() -> JsResult<()> {
    let mut flushed = delivery::deliver().await?;
    if let Some(articles) = flushed.articles.take() {
        let delivered = flushed.delivered.len();
        tell_pages(&WorkerBroadcast::Articles {
            articles,
            delivered,
        })
        .await?;
    }
    // After the list, so that a page's status line ends on what was not
    // added: the worse news is the one to read last.
    report_refused(&flushed).await?;
    if !flushed.delivered.is_empty() {
        let headlines: Vec<&str> = flushed
            .delivered
            .iter()
            .map(|a| a.headline.as_str())
            .collect();
        let title = status_text::added_notification(headlines.len());
        // A notification that fails to show must not fail the sync: the
        // browser would retry it, and the retry would find nothing to send.
        if let Err(error) = notify("articles-added", &title, &headlines.join("\n"), "/").await {
            log(&format!(
                "could not show the notification: {}",
                describe(&error)
            ));
        }
    }
    // TODO(sync): when `flushed.stopped` says why delivery stopped early (no
    // network, a 5xx), articles are still waiting: return an `Err` with that
    // reason. `event.waitUntil` must get a promise that rejects, or the
    // browser believes the sync succeeded and never fires it again.
    Ok(())
}
// ANCHOR_END: deliver_and_report

// ANCHOR: report_refused
/// An article the server refused for good, or one too old to send, is out
/// of the outbox (so it never blocks the ones behind it); the user must
/// still hear of it, never silently: every page says which one and why, and
/// a notification counts those dropped for their age.
async fn report_refused(flushed: &Flushed) -> JsResult<()> {
    // TODO(refused): for each of `flushed.refused` (article, reason) and of
    // `flushed.dropped` (reason: "it could not be sent within 7 days"),
    // `tell_pages(&WorkerBroadcast::Rejected { article, reason })`; and if
    // any were dropped, `notify` with `outbox::dropped_notification(n)`.
    let _ = flushed;
    Ok(())
}
// ANCHOR_END: report_refused

// ---------------------------------------------------------------------------
// Telling the pages and the user
// ---------------------------------------------------------------------------

// ANCHOR: tell_pages
/// Posts a message to every open page of the app, controlled or not (a page
/// opened before the worker took over is not "controlled" but still ours).
async fn tell_pages(message: &WorkerBroadcast) -> JsResult<()> {
    // TODO(update-pages): find the pages with
    // `scope().clients().match_all_with_options(&options)`, where `options`
    // is a `ClientQueryOptions` with type `ClientType::Window` and
    // `include_uncontrolled` set; the Promise resolves with an `Array` of
    // `Client`s: `post_message(&to_js(message))` to each one.
    let _ = message;
    Ok(())
}
// ANCHOR_END: tell_pages

// ANCHOR: notify
/// Shows a notification, if the user allowed them. A worker may show one
/// whenever it likes — no page needs to be open — but only with permission,
/// which the page asks for in answer to a click (browsers refuse to ask
/// otherwise). `url` is the page a click opens. A notification with the
/// same `tag` as one still shown replaces it instead of stacking up.
async fn notify(tag: &str, title: &str, body: &str, url: &str) -> JsResult<()> {
    // TODO(notification): unless `Notification::permission()` is
    // `NotificationPermission::Granted` (then log and return `Ok`), build
    // `NotificationOptions` (body, icon "/icon.svg", tag, and `data`: the
    // url, which `on_notification_click` opens) and await
    // `scope().registration().show_notification_with_options(title, &options)`.
    let _ = (tag, title, body, url);
    Ok(())
}
// ANCHOR_END: notify

// ANCHOR: on_push
/// `push`: a message from our server, through the browser's push service,
/// already decrypted by the browser. It arrives even when no page of the app
/// is open (the browser starts the worker for it). The page subscribed with
/// `userVisibleOnly: true`, a promise to show a notification for every push,
/// so a push without a readable payload still shows a generic one.
#[wasm_bindgen]
pub async fn on_push(event: PushEvent) -> JsResult<()> {
    // TODO(push): read the payload (`event.data()`, then `.json()`), decode
    // it with `PushPayload::parse_or_fallback` (it reads the server's
    // declarative form, `{"web_push": 8030, "notification": {...}}`, and the
    // older `{title, body, url}`) and show its title, body and url with
    // `notify` (tag "articles-added").
    let _ = event;
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
    // The same page at another fragment (`/` for `/#latest-headlines`) is
    // the page the notification is about: a second tab of it would only
    // confuse the reader.
    let open = pages
        .iter()
        .map(JsCast::unchecked_into::<WindowClient>)
        .find(|page| without_fragment(&page.url()) == without_fragment(&target));
    if let Some(page) = open {
        // Focus first: the browser lets a worker take the focus only for a
        // moment after the user's click, and navigating takes time.
        JsFuture::from(page.focus()?).await?;
        if page.url() != target {
            // A fragment navigation: the page scrolls, it does not reload.
            JsFuture::from(page.navigate(&target)?).await?;
        }
    } else {
        JsFuture::from(scope().clients().open_window(&target)).await?;
    }
    Ok(())
}

fn without_fragment(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
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
