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
    // TODO(sync): the browser may have stopped the worker with articles
    // still in its outbox, and they must not be stranded there. Where the
    // browser has Background Sync, the `sync` registered for them is still
    // pending, and the browser fires it by itself once online; where it has
    // none (Firefox, Safari), nothing ever will, and starting is one of the
    // few moments the worker knows it may send. Given:
    // `delivery::sync_manager` (the browser's sync manager, if it has
    // one), `flush_outbox`.
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
    // TODO(page-worker): handle the page's messages (`PageMessage`, in
    // src/message.rs, says what each asks for). An article the user
    // submitted is checked by the server's own rules, so that the user
    // hears at once about an empty headline rather than at delivery; it
    // needs an id, by which the server tells a retry from a new article,
    // and a page may send it without one. The page waits for its answer
    // (a `WorkerReply`, in words a user can read) on the port it sent
    // along with the message (the event's `ports`), and only there. The
    // order is the rule: stored, then answered, then delivered. Once the
    // page hears "queued" the article must survive anything; and a
    // delivery can take long, while the page waits with a time limit. And
    // always answer, a message the worker cannot read included. Given:
    // `from_js`, `to_js`, `ArticleDraft::validate`, `random_uuid`,
    // `queue_article`, `request_delivery`, `delivery::pending`.
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
    // never sees it). Keep it in the outbox instead: `delivery::store`
    // writes one entry, an `outbox::Queued` (src/outbox.rs says what each
    // of its parts holds, and which one IndexedDB fills in itself), and
    // returns once the write has committed, with how many wait. The entry
    // goes out with the article: the server judges an article's age by
    // its own clock and refuses one queued over 7 days before it arrived
    // (`422`, code "expired"); the worker never drops an article by its
    // own clock, which can jump.
    thread_local! {
        static IN_MEMORY: RefCell<Vec<NewArticle>> = const { RefCell::new(Vec::new()) };
    }
    Ok(IN_MEMORY.with_borrow_mut(|queue| {
        queue.push(article);
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
    // TODO(sync): get the outbox delivered as soon as the network allows,
    // even if every tab of the app is closed by then. Background Sync does
    // that: the worker registers a tag (the app's is `SYNC_TAG`) with the
    // browser's sync manager, and the browser fires `sync` with it as soon
    // as it believes the device online (at once if it is now), even with no
    // page open; a tag registered again while pending adds nothing.
    // Registering answers with a Promise, which can reject (the user may
    // have blocked background sync for the site), and a registration
    // refused fires nothing. Browsers without Background Sync (Firefox,
    // Safari) never fire `sync` at all. Given: `delivery::sync_manager`
    // (the sync manager, where there is one), `flush_outbox` (delivers
    // now).
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
    // TODO(outbox): the browser fires `sync` with a tag the worker
    // registered; the app's is `SYNC_TAG`, and another one is not this
    // app's business. Tags coalesce: one `sync` may stand for many
    // articles. The Promise this function becomes is the browser's only
    // news of how the sync went (see above): a delivery that failed must
    // reach it, or the articles left wait for a sync that never comes.
    // web-sys has no Background Sync, so the event comes as a plain
    // `JsValue`; `delivery::SyncEvent` declares it, with its `tag`. Given:
    // `flush_outbox` (delivers the outbox; fails if articles are left).
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
    // TODO(sync): delivery may stop early (no network, a 5xx), with
    // articles still waiting; `flushed.stopped` says why. What this
    // function returns becomes, through `on_sync`, the Promise
    // `event.waitUntil` got, the browser's only news of how the sync went:
    // resolved, the sync is over and never fires again; only a rejected
    // one makes the browser retry later. What it returns must say what
    // happened, in words someone reading the console can follow.
    Ok(())
}
// ANCHOR_END: deliver_and_report

// ANCHOR: report_refused
/// An article the server refused for good, or one too old to send, is out
/// of the outbox (so it never blocks the ones behind it); the user must
/// still hear of it, never silently: every page says which one and why, and
/// a notification counts those dropped for their age.
async fn report_refused(flushed: &Flushed) -> JsResult<()> {
    // TODO(refused): `delivery::deliver` has already taken out of the
    // outbox the articles the server refused for good (`flushed.refused`,
    // each with the server's reason) and those it refused as too old to be
    // news (`flushed.dropped`: queued longer than `outbox::RETENTION_MS`
    // before they reached it, by the server's clock), so that they never
    // block the ones behind them. But the user saw "Queued" for each, and
    // must hear what became of it, never silence: every open page hears
    // which article and why (`flushed.dropped` carries no reason: the
    // words are yours), and those dropped for their age are counted in a
    // notification. A notification that fails to show must not fail the
    // sync: a retry would find nothing to send. Given: `tell_pages`
    // (`WorkerBroadcast` has a message for this), `notify`,
    // `status_text::dropped_notification` (the notification's words).
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
    // TODO(update-pages): post the message to every window of the app, not
    // only the one that asked: that one may be closed by now, and the
    // others still show the old list. The worker finds the windows among
    // its clients (`scope` has them); ask for windows only, and for those
    // it does not control too: a page opened before this worker activated,
    // or reloaded with Shift, is not controlled but is still the app's
    // (`ClientQueryOptions` has both settings). Each `Client` gets the
    // message as a plain JS object (`to_js`).
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
    // TODO(notification): show the notification. A worker shows one
    // through its registration (`scope` has it; the `Notification`
    // constructor throws in a worker), with `NotificationOptions`, which
    // carry what this function is given and the app's icon (/icon.svg);
    // `on_notification_click` reads the url back from the notification.
    // Only with the user's permission (`Notification::permission`); without
    // it, showing fails, yet that is the user's choice, not the sync's
    // failure. Showing answers with a Promise. The caller runs inside the
    // Promise `event.waitUntil` got, which keeps the worker alive only
    // while something in it is pending: work not awaited may be cut off
    // when the browser stops the worker.
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
    // TODO(push): the page subscribed promising that every push is shown
    // (`userVisibleOnly`): a push that shows nothing gets the browser's own
    // generic notice, and may cost the site its right to push. So every
    // push shows a notification, one whose payload is missing or
    // unreadable too. The payload, when there is one, is JSON in the
    // event's data, in the declarative form the server sends or an older
    // one. A push may announce the very articles the sync's notification
    // (tag articles-added) already did: it replaces that one rather than
    // stacking a second beside it. Given: `notify`,
    // `PushPayload::parse_or_fallback` (what a push carries, whatever it
    // is, as a title, a body and a url).
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
