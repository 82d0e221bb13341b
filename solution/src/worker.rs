//! The service worker: every event handler the browser calls, in Rust.
//!
//! `static/sw.js` adds the listeners (the browser requires that while the
//! script first runs, before any wasm can be ready) and hands each event to a
//! function here once the wasm has started. Each function returns a Promise;
//! the shim passes it to `event.waitUntil` (or `respondWith`), which keeps the
//! worker alive until the Promise settles and — for `sync` — tells the browser
//! whether the work succeeded.

use std::cell::RefCell;

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{
    Cache, CacheStorage, Client, ClientQueryOptions, ClientType, ExtendableEvent,
    ExtendableMessageEvent, FetchEvent, IdbDatabase, IdbKeyRange, IdbTransactionMode, MessagePort,
    Notification, NotificationEvent, NotificationOptions, NotificationPermission, PushEvent,
    Request, RequestCache, RequestInit, RequestMode, Response, ResponseInit,
    ServiceWorkerGlobalScope, Url, WindowClient,
};

use crate::article::{Article, ArticleDraft, NewArticle};
use crate::browser::{
    JsResult, api_error, describe, fetch, from_js, json_request, random_uuid, response_json,
    response_value, to_js, to_json,
};
use crate::idb;
use crate::message::{PageMessage, SYNC_TAG, WorkerBroadcast, WorkerReply};
use crate::outbox::{self, Delivery, Queued};
use crate::push::PushPayload;

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
    if sync_manager().is_none() {
        flush_outbox().await?;
    }
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
    let reply_port = event.ports().get(0).dyn_into::<MessagePort>().ok();
    let reply = |answer: WorkerReply| -> JsResult<()> {
        match &reply_port {
            Some(port) => port.post_message(&to_js(&answer)),
            None => Ok(()),
        }
    };
    match from_js::<PageMessage>(&event.data()) {
        Ok(PageMessage::AddArticle { article }) => match queue_article(article).await {
            Ok(pending) => {
                reply(WorkerReply::Queued { pending })?;
                request_delivery().await
            }
            Err(message) => reply(WorkerReply::Error { message }),
        },
        Ok(PageMessage::Online) if outbox_len().await? > 0 => request_delivery().await,
        Ok(PageMessage::Online) => Ok(()),
        Err(error) => reply(WorkerReply::Error {
            message: format!("the worker does not understand this message: {error}"),
        }),
    }
}
// ANCHOR_END: on_message

// ANCHOR: queue_article
/// Checks the article and adds it to the outbox in IndexedDB. Returns how
/// many articles wait, once the write has committed: only then may the page
/// be told "queued" — the worker can be stopped the moment it answers.
async fn queue_article(draft: ArticleDraft) -> Result<usize, String> {
    let draft = ArticleDraft {
        id: Some(match draft.id {
            Some(id) => id,
            None => random_uuid().map_err(|e| describe(&e))?,
        }),
        ..draft
    };
    let article = draft.validate().map_err(|e| e.to_string())?;
    let entry = Queued {
        seq: None,
        article,
        queued_at: js_sys::Date::now(),
    };
    let store_it = async {
        let db = idb::open().await?;
        let transaction =
            db.transaction_with_str_and_mode(idb::OUTBOX, IdbTransactionMode::Readwrite)?;
        let outbox = transaction.object_store(idb::OUTBOX)?;
        outbox.add(&to_js(&entry))?;
        let count = outbox.count()?;
        idb::committed(&transaction).await?;
        db.close();
        count.result()
    };
    let count = store_it
        .await
        .map_err(|e| format!("could not store the article: {}", describe(&e)))?;
    Ok(count.as_f64().unwrap_or_default() as usize)
}
// ANCHOR_END: queue_article

// ANCHOR: request_delivery
/// Asks the browser for a `sync` event: it fires as soon as the network is
/// there — at once if it is there now — even if every tab has been closed.
/// Without Background Sync (Firefox, Safari) the worker tries right away and
/// tries again when a page reports that it is back online.
async fn request_delivery() -> JsResult<()> {
    if let Some(sync) = sync_manager() {
        match JsFuture::from(sync.register(SYNC_TAG)?).await {
            Ok(_) => return Ok(()),
            // E.g. the user blocked background sync for this site.
            Err(error) => log(&format!(
                "sync.register failed ({}); sending now",
                describe(&error)
            )),
        }
    }
    flush_outbox().await
}

/// `registration.sync`, where the browser has Background Sync.
fn sync_manager() -> Option<SyncManager> {
    Reflect::get(&scope().registration(), &"sync".into())
        .ok()
        .filter(|sync| !sync.is_undefined())
        .map(JsCast::unchecked_into)
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
    let event: SyncEvent = event.unchecked_into();
    if event.tag() != SYNC_TAG {
        return Ok(());
    }
    flush_outbox().await
}
// ANCHOR_END: on_sync

thread_local! {
    /// The flush in progress, if any. A sync, a page coming online and the
    /// worker starting may all ask for a flush at once; running them one after
    /// another means no article is ever sent by two flushes at the same time.
    static LAST_FLUSH: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// Delivers the outbox after any flush already running. Fails if articles
/// are left for a later try.
async fn flush_outbox() -> JsResult<()> {
    let previous = LAST_FLUSH.with_borrow_mut(Option::take);
    let this_flush = future_to_promise(async move {
        if let Some(previous) = previous {
            let _ = JsFuture::from(previous).await;
        }
        deliver_and_report().await.map(|()| JsValue::UNDEFINED)
    });
    LAST_FLUSH.with_borrow_mut(|last| *last = Some(this_flush.clone()));
    JsFuture::from(this_flush).await.map(|_| ())
}

/// What one flush did.
#[derive(Default)]
struct Flushed {
    delivered: Vec<NewArticle>,
    refused: Vec<(NewArticle, String)>,
    /// The server's list after the last successful POST.
    articles: Option<Vec<Article>>,
    /// Why delivery stopped early, if it did.
    stopped: Option<String>,
    /// Articles dropped for having waited longer than the retention limit.
    dropped: Vec<NewArticle>,
}

// ANCHOR: deliver_and_report
async fn deliver_and_report() -> JsResult<()> {
    let flushed = deliver().await?;
    for (article, reason) in &flushed.refused {
        tell_pages(&WorkerBroadcast::Rejected {
            article: article.clone(),
            reason: reason.clone(),
        })
        .await?;
    }
    if let Some(articles) = flushed.articles {
        tell_pages(&WorkerBroadcast::Articles { articles }).await?;
    }
    if !flushed.dropped.is_empty() {
        let headlines: Vec<&str> = flushed
            .dropped
            .iter()
            .map(|a| a.headline.as_str())
            .collect();
        for article in &flushed.dropped {
            tell_pages(&WorkerBroadcast::Rejected {
                article: article.clone(),
                reason: "it could not be sent within 7 days".into(),
            })
            .await?;
        }
        let title = outbox::dropped_notification(headlines.len());
        if let Err(error) = notify("articles-dropped", &title, &headlines.join("\n"), "/").await {
            log(&format!(
                "could not show the notification: {}",
                describe(&error)
            ));
        }
    }
    if !flushed.delivered.is_empty() {
        let headlines: Vec<&str> = flushed
            .delivered
            .iter()
            .map(|a| a.headline.as_str())
            .collect();
        // A notification that fails to show must not fail the sync: the
        // browser would retry it, and the retry would find nothing to send.
        if let Err(error) = notify(
            "articles-added",
            &outbox::added_notification(headlines.len()),
            &headlines.join("\n"),
            "/",
        )
        .await
        {
            log(&format!(
                "could not show the notification: {}",
                describe(&error)
            ));
        }
    }
    match flushed.stopped {
        // Rejecting is what makes the browser try again later.
        Some(reason) => Err(JsValue::from_str(&reason)),
        None => Ok(()),
    }
}
// ANCHOR_END: deliver_and_report

// ANCHOR: deliver
/// Sends the outbox to the server in order, batch by batch, deleting each
/// batch only once the server has confirmed it.
async fn deliver() -> JsResult<Flushed> {
    let db = idb::open().await?;
    let queue = read_outbox(&db).await?;
    let mut flushed = Flushed::default();
    // The oldest come first: drop those past the retention limit.
    let now = js_sys::Date::now();
    let too_old = queue.iter().take_while(|q| outbox::expired(q, now)).count();
    if too_old > 0 {
        delete_through(&db, &queue[..too_old]).await?;
        flushed.dropped = queue[..too_old].iter().map(|q| q.article.clone()).collect();
    }
    let queue = &queue[too_old..];
    let articles: Vec<NewArticle> = queue.iter().map(|q| q.article.clone()).collect();
    'batches: for batch in outbox::batches(&articles) {
        let mut settled = batch.start;
        match post(&articles[batch.clone()]).await {
            Answer::Stored(list) => {
                flushed
                    .delivered
                    .extend_from_slice(&articles[batch.clone()]);
                flushed.articles = list.or(flushed.articles);
                settled = batch.end;
            }
            // A refused batch: find which article the server objects to by
            // sending them one at a time. The others still go through.
            Answer::Refused(reason) if batch.len() == 1 => {
                flushed
                    .refused
                    .push((articles[batch.start].clone(), reason));
                settled = batch.end;
            }
            Answer::Refused(_) => {
                for index in batch.clone() {
                    match post(std::slice::from_ref(&articles[index])).await {
                        Answer::Stored(list) => {
                            flushed.delivered.push(articles[index].clone());
                            flushed.articles = list.or(flushed.articles);
                        }
                        Answer::Refused(reason) => {
                            flushed.refused.push((articles[index].clone(), reason))
                        }
                        Answer::RetryLater(reason) => {
                            flushed.stopped = Some(reason);
                            delete_through(&db, &queue[..index]).await?;
                            break 'batches;
                        }
                    }
                    settled = index + 1;
                }
            }
            Answer::RetryLater(reason) => {
                flushed.stopped = Some(reason);
                break;
            }
        }
        delete_through(&db, &queue[..settled]).await?;
    }
    db.close();
    Ok(flushed)
}
// ANCHOR_END: deliver

/// The server's answer to one POST.
enum Answer {
    /// Stored, with the server's list (if it could be read).
    Stored(Option<Vec<Article>>),
    Refused(String),
    RetryLater(String),
}

async fn post(articles: &[NewArticle]) -> Answer {
    let body = to_json(&articles.to_vec());
    let response = match json_request("POST", ARTICLES_URL, Some(&body)) {
        Ok(request) => fetch(&request).await,
        Err(error) => Err(error),
    };
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            return Answer::RetryLater(format!(
                "the server could not be reached: {}",
                describe(&error)
            ));
        }
    };
    let status = response.status();
    match Delivery::from_status(Some(status)) {
        Delivery::Stored => Answer::Stored(response_json(&response).await.ok()),
        Delivery::Refused => {
            let reason = response_value(&response)
                .await
                .ok()
                .and_then(|body| api_error(&body))
                .unwrap_or_else(|| format!("HTTP {status}"));
            Answer::Refused(reason)
        }
        Delivery::RetryLater => Answer::RetryLater(format!("the server answered HTTP {status}")),
    }
}

async fn read_outbox(db: &IdbDatabase) -> JsResult<Vec<Queued>> {
    let transaction = db.transaction_with_str(idb::OUTBOX)?;
    let all: Array = idb::done(&transaction.object_store(idb::OUTBOX)?.get_all()?)
        .await?
        .unchecked_into();
    // An entry that does not decode (written by some other version) is
    // skipped rather than allowed to block the whole queue.
    Ok(all
        .iter()
        .filter_map(|entry| from_js(&entry).ok())
        .collect())
}

async fn outbox_len() -> JsResult<usize> {
    let db = idb::open().await?;
    let transaction = db.transaction_with_str(idb::OUTBOX)?;
    let count = idb::done(&transaction.object_store(idb::OUTBOX)?.count()?).await?;
    db.close();
    Ok(count.as_f64().unwrap_or_default() as usize)
}

/// Deletes every outbox entry up to and including the last of `settled`.
/// Keys only grow, so everything at or below that key was in this flush.
async fn delete_through(db: &IdbDatabase, settled: &[Queued]) -> JsResult<()> {
    let Some(last) = settled.last().and_then(|q| q.seq) else {
        return Ok(());
    };
    let transaction =
        db.transaction_with_str_and_mode(idb::OUTBOX, IdbTransactionMode::Readwrite)?;
    transaction
        .object_store(idb::OUTBOX)?
        .delete(&IdbKeyRange::upper_bound(&last.into())?.into())?;
    idb::committed(&transaction).await
}

// ---------------------------------------------------------------------------
// Telling the pages and the user
// ---------------------------------------------------------------------------

// ANCHOR: tell_pages
/// Posts a message to every open page of the app, controlled or not (a page
/// opened before the worker took over is not "controlled" but still ours).
async fn tell_pages(message: &WorkerBroadcast) -> JsResult<()> {
    let options = ClientQueryOptions::new();
    options.set_type(ClientType::Window);
    options.set_include_uncontrolled(true);
    let pages: Array = JsFuture::from(scope().clients().match_all_with_options(&options))
        .await?
        .unchecked_into();
    let data = to_js(message);
    for page in pages.iter() {
        page.unchecked_into::<Client>().post_message(&data)?;
    }
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
    if Notification::permission() != NotificationPermission::Granted {
        log("notifications are not allowed; skipping");
        return Ok(());
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_icon("/icon.svg");
    options.set_tag(tag);
    options.set_data(&url.into());
    JsFuture::from(
        scope()
            .registration()
            .show_notification_with_options(title, &options)?,
    )
    .await?;
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
    let json = event.data().and_then(|data| data.json().ok());
    let payload = PushPayload::parse_or_fallback(json);
    // The same tag as the sync's "Added N": a push about the same articles
    // replaces that notification rather than adding a second one.
    notify(
        "articles-added",
        &payload.title,
        &payload.body,
        &payload.url,
    )
    .await
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
