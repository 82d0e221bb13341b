//! The page: renders the articles, keeps starred ones for offline reading,
//! and hands new articles to the service worker.
//!
//! `static/page.js` starts the wasm and calls [`start_page`].
//!
//! What the app had before the lesson comes first: starting up, the list,
//! starring. Then the lesson's parts, in the order of its checkpoints: an
//! article handed to the worker, the worker woken when the page is back
//! online, the worker's messages to every page, the outbox shown in the
//! list, the notification permission, Web Push.

use std::cell::RefCell;
use std::collections::HashSet;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    BroadcastChannel, Document, Element, Event, HtmlFormElement, HtmlInputElement,
    IdbTransactionMode, MessageChannel, MessageEvent, Notification, NotificationPermission,
    PushSubscription, PushSubscriptionOptionsInit, ServiceWorkerContainer,
    ServiceWorkerRegistration,
};

use crate::article::{Article, ArticleDraft, NewArticle};
use crate::idb;
use crate::message::{PageMessage, WorkerBroadcast, WorkerReply};
use crate::outbox::Queued;
use crate::push_subscription;
use crate::status_text::{queued_status, sent_status};
use crate::web_api::{
    JsResult, describe, fetch, from_js, json_request, next_event, random_uuid, response_json,
    show_app_badge, sleep, to_js,
};

/// What the page shows, kept to re-render after a star or a sync.
#[derive(Default)]
struct PageState {
    articles: Vec<Article>,
    starred: HashSet<String>,
    /// How many lists of the news were shown, fetched or sent by the worker
    /// after a sync. A fetch that started before the last of them brings an
    /// older list than the one shown, and is dropped.
    lists_shown: u64,
    /// The articles in the worker's outbox, oldest first, as last read.
    waiting: Vec<NewArticle>,
    /// Articles the worker reported it will never deliver, with the reason.
    refused: Vec<(NewArticle, String)>,
}

thread_local! {
    static STATE: RefCell<PageState> = RefCell::default();
    /// This page's end of the channel on which the app's open pages tell
    /// each other that the outbox changed. IndexedDB has no change events,
    /// and the worker says nothing until it has delivered; without this, a
    /// second window would not show an article another one queued.
    static OUTBOX_NEWS: Option<BroadcastChannel> =
        BroadcastChannel::new("offline-news-outbox").ok();
}

fn document() -> JsResult<Document> {
    web_sys::window()
        .and_then(|w| w.document())
        .ok_or_else(|| "no document".into())
}

fn element<T: JsCast>(id: &str) -> JsResult<T> {
    document()?
        .get_element_by_id(id)
        .ok_or_else(|| JsValue::from_str(&format!("#{id} is missing from index.html")))?
        .dyn_into::<T>()
        .map_err(|_| JsValue::from_str(&format!("#{id} is not the expected kind of element")))
}

fn set_text(id: &str, text: &str) {
    if let Ok(element) = element::<Element>(id) {
        element.set_text_content(Some(text));
    }
}

fn service_worker() -> JsResult<ServiceWorkerContainer> {
    Ok(web_sys::window()
        .ok_or("no window")?
        .navigator()
        .service_worker())
}

/// Adds a listener for the page's whole life. `forget` hands the closure to
/// the JS garbage collector: it must outlive this function, and the page never
/// removes it.
fn listen(
    target: &web_sys::EventTarget,
    event: &str,
    handler: impl FnMut(Event) + 'static,
) -> JsResult<()> {
    let closure = Closure::<dyn FnMut(Event)>::new(handler);
    target.add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())?;
    closure.forget();
    Ok(())
}

/// Runs an async step from an event handler, reporting failure in the console.
fn spawn(step: impl std::future::Future<Output = JsResult<()>> + 'static) {
    spawn_local(async move {
        if let Err(error) = step.await {
            web_sys::console::error_1(&describe(&error).into());
        }
    });
}

/// The page's entry point.
#[wasm_bindgen]
pub fn start_page() -> JsResult<()> {
    let window = web_sys::window().ok_or("no window")?;
    show_connection();
    listen(&window, "online", |_| {
        show_connection();
        spawn(async {
            tell_worker_online()?;
            load_articles().await
        });
    })?;
    listen(&window, "offline", |_| show_connection())?;

    let form: HtmlFormElement = element("add-article")?;
    listen(&form, "submit", |event| {
        // Without this the browser would post the form itself and leave the
        // page; that is the fallback for when this code is not running.
        event.prevent_default();
        ask_notification_permission();
        spawn(async {
            submit_article().await?;
            outbox_changed().await
        });
    })?;
    OUTBOX_NEWS.with(|channel| match channel {
        Some(channel) => listen(channel, "message", |_| spawn(show_outbox())),
        None => Ok(()),
    })?;

    let push_toggle: Element = element("push-toggle")?;
    listen(&push_toggle, "click", |_| on_push_toggle())?;

    let list: Element = element("latest-headlines")?;
    listen(&list, "click", |event| {
        let button = event
            .target()
            .and_then(|t| t.dyn_into::<Element>().ok())
            .and_then(|t| t.closest("button.star").ok().flatten());
        let id = button
            .and_then(|b| b.closest("li[data-id]").ok().flatten())
            .and_then(|li| li.get_attribute("data-id"));
        if let Some(id) = id {
            spawn(toggle_star(id));
        }
    })?;

    listen_to_worker()?;

    spawn(async {
        register_worker().await?;
        // Anything an earlier visit left in the outbox goes out now.
        tell_worker_online()
    });
    spawn(load_articles());
    spawn(show_outbox());
    spawn(restore_push());
    spawn(live_reload());
    Ok(())
}

// ANCHOR: register
async fn register_worker() -> JsResult<ServiceWorkerRegistration> {
    // The worker's scope is the directory of its script: `/sw.js` controls
    // the whole site, which is why it is served from the root.
    let registration = JsFuture::from(service_worker()?.register("/sw.js")).await;
    registration
        .map(JsCast::unchecked_into)
        .inspect_err(|error| {
            set_text(
                "list-note",
                &format!("The service worker could not start: {}", describe(error)),
            )
        })
}
// ANCHOR_END: register

fn show_connection() {
    let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
    if let Ok(badge) = element::<Element>("connection-status") {
        badge.set_text_content(Some(if online { "Online" } else { "Offline" }));
        badge.set_class_name(if online { "online" } else { "offline" });
    }
}

// ---------------------------------------------------------------------------
// The list
// ---------------------------------------------------------------------------

/// Fetches the articles (the worker answers from its cache when offline) and
/// shows them; with neither network nor cache, shows the starred articles.
async fn load_articles() -> JsResult<()> {
    let started_at = STATE.with_borrow(|state| state.lists_shown);
    let starred = starred_articles().await.unwrap_or_default();
    let starred_ids = starred.iter().map(|a| a.id.clone()).collect();
    let fetched = fetch_articles().await;
    // Coming back online, the page fetches the list while the worker sends
    // the outbox; the worker's list, from the server's answer to that POST,
    // can arrive first. Ours is older then: showing it would hide the
    // articles just sent.
    if STATE.with_borrow(|state| state.lists_shown) != started_at {
        return Ok(());
    }
    match fetched {
        Ok(articles) => {
            set_text("list-note", "");
            show_articles(articles, starred_ids)
        }
        Err(reason) => {
            set_text(
                "list-note",
                &format!("Cannot load the news ({reason}). Your starred articles:"),
            );
            // Not a list of the news, so not counted in `lists_shown`: a
            // fetch still under way (the page may have just come online)
            // brings a newer one.
            STATE.with_borrow_mut(|state| {
                state.articles = starred;
                state.starred = starred_ids;
            });
            render()
        }
    }
}

async fn fetch_articles() -> Result<Vec<Article>, String> {
    let request = json_request("GET", "/api/v1/articles", None).map_err(|e| describe(&e))?;
    let response = fetch(&request).await.map_err(|e| describe(&e))?;
    if !response.ok() {
        return Err(format!("HTTP {}", response.status()));
    }
    response_json(&response).await
}

fn show_articles(articles: Vec<Article>, starred: HashSet<String>) -> JsResult<()> {
    STATE.with_borrow_mut(|state| {
        state.articles = articles;
        state.starred = starred;
        state.lists_shown += 1;
    });
    // A new list may follow a delivery, which emptied the outbox.
    spawn(show_outbox());
    render()
}

// ANCHOR: render
/// Rebuilds `#latest-headlines`, newest first (the API lists the articles
/// oldest first): the articles still waiting in the worker's outbox, then
/// those the server refused, then the server's list. Everything users wrote
/// goes in with `set_text_content`, never as HTML: a headline such as
/// `<img src=x onerror=...>` is shown as those characters and runs nothing.
fn render() -> JsResult<()> {
    let list: Element = element("latest-headlines")?;
    list.set_text_content(None);
    STATE.with_borrow(|state| -> JsResult<()> {
        // An article the server has, or refused, is shown once, as that:
        // the outbox may have been read before the worker delivered it.
        let not_waiting: HashSet<&str> = state
            .articles
            .iter()
            .map(|a| a.id.as_str())
            .chain(state.refused.iter().map(|(a, _)| a.id.as_str()))
            .collect();
        for article in state.waiting.iter().rev() {
            if !not_waiting.contains(article.id.as_str()) {
                let item = unsent_item(article, "waiting", "Waiting to send")?;
                list.append_child(&item)?;
            }
        }
        for (article, reason) in state.refused.iter().rev() {
            let item = unsent_item(article, "refused", &format!("Not added: {reason}"))?;
            list.append_child(&item)?;
        }
        for article in state.articles.iter().rev() {
            let item = article_item(article, state.starred.contains(&article.id))?;
            list.append_child(&item)?;
        }
        Ok(())
    })
}

/// An article of the server's list: its headline, its byline, and the star
/// that keeps it for offline reading.
fn article_item(article: &Article, starred: bool) -> JsResult<Element> {
    let item = headline_item(&article.id, &article.headline, &article.byline)?;
    let star = document()?.create_element("button")?;
    star.set_attribute("type", "button")?;
    star.set_class_name("star");
    star.set_attribute("aria-pressed", if starred { "true" } else { "false" })?;
    star.set_attribute(
        "aria-label",
        &format!("Keep “{}” for offline reading", article.headline),
    )?;
    star.set_text_content(Some(if starred { "★" } else { "☆" }));
    item.append_child(&star)?;
    Ok(item)
}

/// An article the server does not have: still in the outbox (`waiting`), or
/// refused (`refused`), with what became of it in words — a colour alone
/// tells a screen reader, or a colour-blind reader, nothing.
fn unsent_item(article: &NewArticle, state: &str, said: &str) -> JsResult<Element> {
    let item = headline_item(&article.id, &article.headline, &article.byline)?;
    item.set_attribute("data-state", state)?;
    let note = document()?.create_element("span")?;
    note.set_class_name("state");
    note.set_text_content(Some(said));
    item.append_child(&note)?;
    Ok(item)
}

/// A list item with an article's id, headline and byline, all set as text.
fn headline_item(id: &str, headline: &str, byline: &str) -> JsResult<Element> {
    let document = document()?;
    let item = document.create_element("li")?;
    item.set_attribute("data-id", id)?;
    let headline_text = document.create_element("span")?;
    headline_text.set_class_name("headline");
    headline_text.set_text_content(Some(headline));
    let byline_text = document.create_element("span")?;
    byline_text.set_class_name("byline");
    byline_text.set_text_content(Some(byline));
    item.append_with_node_2(&headline_text, &byline_text)?;
    Ok(item)
}
// ANCHOR_END: render

// ---------------------------------------------------------------------------
// Starring: articles kept in IndexedDB for offline reading
// ---------------------------------------------------------------------------

async fn starred_articles() -> JsResult<Vec<Article>> {
    let db = idb::open().await?;
    let transaction = db.transaction_with_str(idb::STARRED)?;
    let all: Array = idb::done(&transaction.object_store(idb::STARRED)?.get_all()?)
        .await?
        .unchecked_into();
    db.close();
    Ok(all.iter().filter_map(|a| from_js(&a).ok()).collect())
}

async fn toggle_star(id: String) -> JsResult<()> {
    let (article, starred) = STATE.with_borrow(|state| {
        (
            state.articles.iter().find(|a| a.id == id).cloned(),
            state.starred.contains(&id),
        )
    });
    let Some(article) = article else {
        return Ok(());
    };
    let db = idb::open().await?;
    let transaction =
        db.transaction_with_str_and_mode(idb::STARRED, IdbTransactionMode::Readwrite)?;
    let store = transaction.object_store(idb::STARRED)?;
    if starred {
        store.delete(&id.clone().into())?;
    } else {
        store.put(&to_js(&article))?;
    }
    idb::committed(&transaction).await?;
    db.close();
    STATE.with_borrow_mut(|state| {
        if starred {
            state.starred.remove(&id);
        } else {
            state.starred.insert(id);
        }
    });
    render()
}

// ---------------------------------------------------------------------------
// Adding an article: the page asks, the worker answers
// ---------------------------------------------------------------------------

// ANCHOR: submit_article
async fn submit_article() -> JsResult<()> {
    let headline: HtmlInputElement = element("headline-input")?;
    let byline: HtmlInputElement = element("byline-input")?;
    let draft = ArticleDraft {
        id: Some(random_uuid()?),
        headline: Some(headline.value()),
        byline: Some(byline.value()),
    };
    set_text("form-status", "Handing it to the service worker…");
    let status = match ask_worker(&PageMessage::AddArticle { article: draft }).await {
        Ok(WorkerReply::Queued { pending }) => {
            element::<HtmlFormElement>("add-article")?.reset();
            queued_status(pending)
        }
        Ok(WorkerReply::Error { message }) => format!("Not added: {message}"),
        Err(error) => format!("Not added: {}", describe(&error)),
    };
    set_text("form-status", &status);
    Ok(())
}
// ANCHOR_END: submit_article

// ANCHOR: ask_worker
/// Sends a message to the active worker and waits for its answer on a
/// `MessageChannel`: the page keeps one end of the channel and hands the other
/// (transfers it) to the worker, which answers on it. Unlike a broadcast, the
/// answer reaches only the page that asked.
async fn ask_worker(message: &PageMessage) -> JsResult<WorkerReply> {
    // `ready` resolves once a worker is active for this page's scope — on a
    // first visit, a moment after `register`; and never if `register` failed.
    let ready = service_worker()?.ready()?;
    let no_worker = "no service worker is active for this page";
    let registration: ServiceWorkerRegistration =
        push_subscription::with_timeout(ready, 10_000, no_worker)
            .await?
            .unchecked_into();
    let worker = registration.active().ok_or("no active service worker")?;
    let channel = MessageChannel::new()?;
    let answers = channel.port1();
    answers.start();
    worker.post_message_with_transferable(&to_js(message), &Array::of1(&channel.port2()))?;
    let answer = next_event(&answers, "message", &["messageerror"], Some(10_000)).await;
    answers.close();
    let answer: MessageEvent = answer?.unchecked_into();
    from_js(&answer.data())
        .map_err(|e| JsValue::from_str(&format!("unexpected answer from the worker: {e}")))
}
// ANCHOR_END: ask_worker

// ---------------------------------------------------------------------------
// Back online: the page wakes the worker
// ---------------------------------------------------------------------------

// ANCHOR: tell_worker_online
/// Tells the worker this page is open and online (see `PageMessage::Online`):
/// browsers without Background Sync never wake the worker when the network
/// returns, so the page does.
fn tell_worker_online() -> JsResult<()> {
    if let Some(worker) = service_worker()?.controller() {
        worker.post_message(&to_js(&PageMessage::Online))?;
    }
    Ok(())
}
// ANCHOR_END: tell_worker_online

// ---------------------------------------------------------------------------
// What the worker tells every page
// ---------------------------------------------------------------------------

// ANCHOR: listen_to_worker
/// Messages a worker posts to the page are held until the page says it is
/// listening, which setting `onmessage` does (`addEventListener` alone would
/// not).
fn listen_to_worker() -> JsResult<()> {
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        on_worker_message(&event);
    });
    service_worker()?.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    Ok(())
}
// ANCHOR_END: listen_to_worker

// ANCHOR: on_worker_message
/// Messages the worker sends to every page after a sync.
fn on_worker_message(event: &MessageEvent) {
    match from_js::<WorkerBroadcast>(&event.data()) {
        Ok(WorkerBroadcast::Articles {
            articles,
            delivered,
        }) => {
            show_sent(delivered);
            let starred = STATE.with_borrow(|state| state.starred.clone());
            set_text("list-note", "");
            if let Err(error) = show_articles(articles, starred) {
                web_sys::console::error_1(&describe(&error).into());
            }
        }
        Ok(WorkerBroadcast::Rejected { article, reason }) => show_rejected(article, reason),
        Err(error) => {
            web_sys::console::warn_1(&format!("unknown message from the worker: {error}").into())
        }
    }
}
// ANCHOR_END: on_worker_message

// ---------------------------------------------------------------------------
// The outbox: articles the worker has not delivered yet
// ---------------------------------------------------------------------------

/// Shows `waiting`, the articles in the worker's outbox (oldest first), at
/// the top of the list, and their number on the app's badge.
fn show_waiting(waiting: Vec<NewArticle>) -> JsResult<()> {
    show_app_badge(waiting.len());
    STATE.with_borrow_mut(|state| state.waiting = waiting);
    render()
}

/// After this page handed an article to the worker: shows the outbox, and
/// tells the app's other open pages to read it again too.
async fn outbox_changed() -> JsResult<()> {
    show_outbox().await?;
    OUTBOX_NEWS.with(|channel| match channel {
        Some(channel) => channel.post_message(&JsValue::TRUE),
        None => Ok(()),
    })
}

/// The worker will never deliver `article`: says so in the status line, and
/// marks it in the list with the server's reason.
fn show_rejected(article: NewArticle, reason: String) {
    let status = format!("“{}” was not added: {reason}", article.headline);
    set_text("form-status", &status);
    STATE.with_borrow_mut(|state| state.refused.push((article, reason)));
    if let Err(error) = render() {
        web_sys::console::error_1(&describe(&error).into());
    }
}

// ANCHOR: show_outbox
/// The optimistic UI: an article waiting in the worker's outbox is in the
/// list at once, marked as waiting. The page reads the outbox itself: an
/// IndexedDB database belongs to the origin, so the page and the worker
/// share it, and the list is right after a reload while offline too.
async fn show_outbox() -> JsResult<()> {
    let db = idb::open().await?;
    let transaction = db.transaction_with_str(idb::OUTBOX)?;
    let all: Array = idb::done(&transaction.object_store(idb::OUTBOX)?.get_all()?)
        .await?
        .unchecked_into();
    db.close();
    let entries = all
        .iter()
        .filter_map(|entry| from_js::<Queued>(&entry).ok());
    show_waiting(entries.map(|queued| queued.article).collect())
}
// ANCHOR_END: show_outbox

// ANCHOR: show_sent
/// The status line says what is true: once the worker reports articles
/// delivered, "Queued — 1 waiting" is not.
fn show_sent(delivered: usize) {
    if delivered > 0 {
        set_text("form-status", &sent_status(delivered));
    }
}
// ANCHOR_END: show_sent

// ---------------------------------------------------------------------------
// Notifications: the user's permission
// ---------------------------------------------------------------------------

// ANCHOR: ask_permission
/// Browsers only show the permission prompt in answer to a user's action, so
/// it is asked here, on the first submit, and not when the page loads.
/// Once the user allows notifications, the page also subscribes to push.
fn ask_notification_permission() {
    if Notification::permission() == NotificationPermission::Default {
        // The answer arrives later; the article does not wait for it.
        if let Ok(answer) = Notification::request_permission() {
            spawn(async move {
                if JsFuture::from(answer).await?.as_string().as_deref() == Some("granted") {
                    subscribe_push().await?;
                }
                Ok(())
            });
        }
    }
}
// ANCHOR_END: ask_permission

// ---------------------------------------------------------------------------
// Web Push: the server tells this browser about new articles
// ---------------------------------------------------------------------------

/// Shows the toggle and whether push is on. The button's label stays the
/// same; `aria-pressed` says on or off, which is how a screen reader
/// announces a toggle.
fn show_push_state(on: bool, status: &str) {
    if let Ok(toggle) = element::<Element>("push-toggle") {
        let _ = toggle.set_attribute("aria-pressed", if on { "true" } else { "false" });
        let _ = toggle.remove_attribute("hidden");
    }
    set_text("push-status", status);
}

/// At start: show the toggle (where the browser has push), and hand an
/// existing subscription to the server again — it is stored once per
/// endpoint, so this is harmless, and it puts it back if the server lost it
/// (a new database) or dropped it.
async fn restore_push() -> JsResult<()> {
    let Some(manager) = push_subscription::push_manager().await? else {
        return Ok(());
    };
    match push_subscription::current(&manager).await? {
        Some(subscription) if Notification::permission() == NotificationPermission::Granted => {
            show_push_state(true, "");
            if let Err(error) = push_subscription::send_to_server(&subscription).await {
                let message = format!(
                    "could not renew the push subscription: {}",
                    describe(&error)
                );
                web_sys::console::warn_1(&message.into());
            }
        }
        _ => show_push_state(false, ""),
    }
    Ok(())
}

/// A click on `#push-toggle`: off → on asks for permission if need be (in
/// the click, the only moment a browser lets a page ask), then subscribes;
/// on → off unsubscribes.
fn on_push_toggle() {
    let on = element::<Element>("push-toggle")
        .ok()
        .and_then(|toggle| toggle.get_attribute("aria-pressed"))
        .is_some_and(|pressed| pressed == "true");
    if on {
        spawn(unsubscribe_push());
        return;
    }
    match Notification::permission() {
        NotificationPermission::Granted => spawn(subscribe_push()),
        NotificationPermission::Default => ask_notification_permission(),
        _ => set_text(
            "push-status",
            "Notifications are blocked for this site; allow them in the browser's site settings.",
        ),
    }
}

async fn unsubscribe_push() -> JsResult<()> {
    let Some(manager) = push_subscription::push_manager().await? else {
        return Ok(());
    };
    if let Some(subscription) = push_subscription::current(&manager).await? {
        push_subscription::unsubscribe(&subscription).await?;
    }
    show_push_state(false, "Notifications are off.");
    Ok(())
}

// ANCHOR: subscribe_push
/// Subscribes this browser at its push service with the server's VAPID
/// public key, then gives the subscription (endpoint and keys) to the server.
async fn subscribe_push() -> JsResult<()> {
    let Some(manager) = push_subscription::push_manager().await? else {
        return Ok(());
    };
    set_text("push-status", "Turning on notifications…");
    let subscribed = async {
        let options = PushSubscriptionOptionsInit::new();
        // A promise to show a notification for every push: browsers allow
        // no silent pushes.
        options.set_user_visible_only(true);
        // base64url is one of the forms browsers take the key in.
        let key = push_subscription::server_key().await?;
        options.set_application_server_key(&JsValue::from_str(&key));
        let asked = manager.subscribe_with_options(&options)?;
        // The push service is the browser vendor's, on the internet: with no
        // route to it, `subscribe` may never settle. Say so, in the end.
        let waited = push_subscription::with_timeout(
            asked,
            20_000,
            "the browser's push service did not answer in 20 seconds \
             (it is on the internet: is this computer online?)",
        );
        let subscription: PushSubscription = waited.await?.unchecked_into();
        push_subscription::send_to_server(&subscription).await
    };
    match subscribed.await {
        Ok(()) => show_push_state(true, "You will be notified of new articles."),
        Err(error) => {
            let message = format!("Could not turn on notifications: {}", describe(&error));
            show_push_state(false, &message)
        }
    }
    Ok(())
}
// ANCHOR_END: subscribe_push

// ---------------------------------------------------------------------------
// Live reload (only under `cargo xtask serve --watch`)
// ---------------------------------------------------------------------------

/// Long-polls `/__dev/reload`. A server without `--live-reload` answers
/// with nothing and this stops at once; with it, the answer is the build id,
/// and a new id means a new build: update the worker, then reload.
async fn live_reload() -> JsResult<()> {
    let mut known: Option<String> = None;
    loop {
        let url = format!("/__dev/reload?build={}", known.as_deref().unwrap_or(""));
        let response = match fetch(&json_request("GET", &url, None)?).await {
            Ok(response) => response,
            // The server is restarting with a new build: try again shortly.
            Err(_) => {
                sleep(500).await;
                continue;
            }
        };
        match response.status() {
            200 => {
                let text = JsFuture::from(response.text()?)
                    .await?
                    .as_string()
                    .unwrap_or_default();
                if text.is_empty() {
                    // Live reload is off (a plain `cargo xtask serve`).
                    return Ok(());
                }
                if known.is_some() {
                    let registration: ServiceWorkerRegistration =
                        JsFuture::from(service_worker()?.ready()?)
                            .await?
                            .unchecked_into();
                    // The new build has a new `sw.js`; the new worker skips
                    // waiting and claims this page, then the reload gets the
                    // new shell from it.
                    let _ = JsFuture::from(registration.update()?).await;
                    let _ = next_event(
                        &service_worker()?.into(),
                        "controllerchange",
                        &[],
                        Some(3_000),
                    )
                    .await;
                    return web_sys::window().ok_or("no window")?.location().reload();
                }
                known = Some(text);
            }
            204 => {}
            _ => return Ok(()),
        }
    }
}
