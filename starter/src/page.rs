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

// The lesson's TODOs below write the code that calls these functions and
// uses these imports; until then the compiler would call them unused.
#![allow(dead_code, unused_imports)]

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
    JsResult, api_error, describe, fetch, from_js, json_request, next_event, random_uuid,
    response_json, response_value, show_app_badge, sleep, to_js, to_json,
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
    // TODO(page-worker): this posts the article straight to the server, so
    // on a flaky connection it is simply lost. Hand it to the service
    // worker instead, which keeps it until it can be delivered (the
    // messages the two sides exchange are in src/message.rs). Then
    // #form-status must say what became of it, truthfully, however it
    // ended, the worker unreachable included: "queued" is not "added" (the
    // server has not seen it yet), and no outcome leaves the line on what
    // it said while waiting. The form is the user's only copy of the
    // article until the worker has it safe. Given: `queued_status` (the
    // words for an article queued). Asking the worker and waiting for its
    // answer is a function of its own, below.
    set_text("form-status", "Sending…");
    let body = to_json(&draft);
    let status = match fetch(&json_request("POST", "/api/v1/articles", Some(&body))?).await {
        Ok(response) if response.ok() => {
            element::<HtmlFormElement>("add-article")?.reset();
            load_articles().await?;
            "Added.".to_owned()
        }
        Ok(response) => {
            let reason = response_value(&response).await.ok();
            match reason.as_ref().and_then(api_error) {
                Some(reason) => format!("Not added: {reason}"),
                None => format!("Not added: the server answered HTTP {}", response.status()),
            }
        }
        Err(_) => "Not added: the server cannot be reached. Try again later.".to_owned(),
    };
    set_text("form-status", &status);
    Ok(())
}
// ANCHOR_END: submit_article

// ANCHOR: ask_worker
// TODO(page-worker): write the function that hands a message to the service
// worker and waits for its answer. A page and its worker share no memory:
// they only post messages to each other, and a post has no answer. A
// `MessageChannel` gives one: two linked ports; the page keeps one and
// transfers the other along with the message, and what the worker posts on
// the port it received reaches this page, and only this one. The browser's
// rules:
// - Post to the registration's *active* worker, once `ready` says there is
//   one; the page's `controller` is empty on a first visit and after a
//   hard reload.
// - A port delivers nothing until it is started. Setting its `onmessage`
//   starts it; listening with `addEventListener` does not.
// - No wait may be endless. `ready` settles only once a worker is active,
//   and never if registering it failed (see `register_worker`); a worker
//   may never answer (stopped, or broken). The page gives up after a few
//   seconds, and says so.
// Given: `service_worker` (the page's `ServiceWorkerContainer`), `to_js`
// and `from_js` (a Rust value to a plain JS object and back), `next_event`
// (waits for one event on a target, fails on another one and after a
// time limit), `push_subscription::with_timeout` (a Promise's outcome, or
// a rejection after a time limit).
// ANCHOR_END: ask_worker

// ---------------------------------------------------------------------------
// Back online: the page wakes the worker
// ---------------------------------------------------------------------------

// ANCHOR: tell_worker_online
/// Tells the worker this page is open and online (see `PageMessage::Online`):
/// browsers without Background Sync never wake the worker when the network
/// returns, so the page does.
fn tell_worker_online() -> JsResult<()> {
    // TODO(sync): browsers without Background Sync (Firefox, Safari) never
    // wake a worker when the network comes back, and a worker that is not
    // woken never sends what waits in its outbox. The page sees the network
    // come back (this runs on the window's `online` event, and when it
    // loads): let its worker know (src/message.rs has the message). It
    // needs no answer, and this function cannot wait (it is not async). A
    // page no worker is in charge of yet has no one to tell: a worker just
    // starting sends the outbox by itself (`on_start`). Given:
    // `service_worker`, `to_js`.
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
    // TODO(update-pages): have every message the worker posts to this page
    // handled by the function below, for the page's whole life. The
    // browser holds a worker's messages to a page until the page says it
    // listens; setting `onmessage` on the page's `service_worker` container
    // says so (a listener added with `addEventListener` alone would wait
    // for `startMessages`). A Rust closure handed to JavaScript must outlive
    // this function: `listen`, above, shows how to keep one.
    Ok(())
}
// ANCHOR_END: listen_to_worker

// ANCHOR: on_worker_message
// TODO(update-pages): write the function that handles a message from the
// worker (the data of a `MessageEvent`; `listen_to_worker` hands it each
// one). The worker speaks to every open page at once, in the messages of
// `WorkerBroadcast` (src/message.rs says when it sends each and what each
// carries), and each must leave what this page shows true: the list, the
// stars this page keeps (in `STATE`), the status line, the articles that
// will never be added. A message the page does not know (a newer
// worker's) is logged, not guessed at. Given: `from_js`, `show_articles`
// (which reads the outbox again too), `show_sent`, `show_rejected`.
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
    // TODO(pending-visible): show the articles waiting in the worker's
    // outbox at the top of the list (`show_waiting`, which wants them
    // oldest first). Not from this page's memory: after a reload, or in a
    // second window, it knows nothing. An IndexedDB database belongs to the
    // origin, not to the worker, so the page can read the worker's outbox
    // store, `idb::OUTBOX`, itself (src/outbox.rs says what an entry is).
    // Close the database when done: an open connection holds up the
    // worker's. Given: `idb::open`, `idb::done`, `from_js`; the page reads
    // another store already, for the starred articles.
    Ok(())
}
// ANCHOR_END: show_outbox

// ANCHOR: show_sent
/// The status line says what is true: once the worker reports articles
/// delivered, "Queued — 1 waiting" is not.
fn show_sent(delivered: usize) {
    // TODO(status-true): the page calls this for every list the worker
    // sends after a delivery, with how many articles that delivery sent;
    // deliveries that sent nothing too (a retry, another page's articles
    // already gone). #form-status may still say "Queued — 1 waiting",
    // which a delivery makes false. It is an ARIA live region
    // (`role="status"`): a screen reader reads each new text out as it is
    // set, so a text set there must be true, and must be news. Decide when
    // this changes it, and to what. Given: `set_text`, `sent_status` (the
    // words for articles sent).
    let _ = delivered;
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
    // TODO(notification): the worker may show notifications only with the
    // user's permission, and this is the page's moment to ask for it. A
    // browser shows its prompt only while it handles the user's own
    // action: this runs in the submit handler (and the push toggle's
    // click), and the prompt is refused once anything has been awaited.
    // The user's answer is final: only they can change it, in the site's
    // settings, so there is nothing to ask once they have answered. The
    // answer comes later, as a Promise, which the article must not wait
    // for; and once notifications are allowed, push can be turned on too.
    // Given: `Notification::permission`, `Notification::request_permission`,
    // `spawn` (runs a future on its own), `subscribe_push`.
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
    // TODO(push): subscribe this browser at its push service, give the
    // subscription to the server, and say how it went with
    // `show_push_state` (on; or off, and why). The push service delivers
    // only pushes signed with the key the subscription names, the server's
    // VAPID public key (`push_subscription::server_key`); and a browser
    // allows no silent push: the subscription must promise that every push
    // shows a notification (`PushSubscriptionOptionsInit` holds both). A
    // push service may never answer, so the wait has a limit. Given in
    // `push_subscription`: `push_manager` (none where the browser has no
    // Push API: then there is nothing to do), `with_timeout`,
    // `send_to_server`; the subscribing itself is the push manager's
    // `subscribe_with_options`.
    set_text("push-status", "Not written yet: TODO(push) in src/page.rs.");
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
