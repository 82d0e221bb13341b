//! The page: renders the articles, keeps starred ones for offline reading,
//! and hands new articles to the service worker.
//!
//! `static/page.js` starts the wasm and calls [`start_page`].

use std::cell::RefCell;
use std::collections::HashSet;

use js_sys::Array;

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};
use web_sys::{
    Document, Element, Event, HtmlFormElement, HtmlInputElement, IdbTransactionMode,
    ServiceWorkerContainer, ServiceWorkerRegistration,
};

use crate::article::{Article, ArticleDraft};
use crate::browser::{
    JsResult, api_error, describe, fetch, from_js, json_request, next_event, random_uuid,
    response_json, response_value, sleep, to_js, to_json,
};
use crate::idb;

/// What the page shows, kept to re-render after a star or a sync.
#[derive(Default)]
struct PageState {
    articles: Vec<Article>,
    starred: HashSet<String>,
    /// How many lists of the news were shown, fetched or sent by the worker
    /// after a sync. A fetch that started before the last of them brings an
    /// older list than the one shown, and is dropped.
    lists_shown: u64,
}

thread_local! {
    static STATE: RefCell<PageState> = RefCell::default();
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
        // TODO(sync): browsers without Background Sync (Firefox, Safari)
        // never wake the worker when the network returns. Tell it, with a
        // `PageMessage::Online` posted to `navigator.serviceWorker.controller`,
        // so that it sends what waits in the outbox.
        spawn(load_articles());
    })?;
    listen(&window, "offline", |_| show_connection())?;

    let form: HtmlFormElement = element("add-article")?;
    listen(&form, "submit", |event| {
        // Without this the browser would post the form itself and leave the
        // page; that is the fallback for when this code is not running.
        event.prevent_default();
        // TODO(notification): ask for permission to show notifications here,
        // while the click is being handled: `Notification::request_permission()`
        // when `Notification::permission()` is still `Default`. Browsers refuse
        // to ask at any other moment (and never on page load).
        spawn(submit_article());
    })?;

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

    // TODO(update-pages): listen for the worker's messages. Set
    // `navigator.serviceWorker.onmessage` (setting `onmessage` is what tells
    // the browser the page is ready to receive them) to a handler that decodes
    // a `WorkerBroadcast` and, for `Articles`, shows the new list with
    // `show_articles`.

    spawn(async {
        register_worker().await?;
        Ok(())
    });
    spawn(load_articles());
    // TODO(push): once notifications are allowed, subscribe this browser to
    // push: `registration.pushManager.subscribe` with `userVisibleOnly: true`
    // and the server's key (`GET /api/v1/push/public-key`), then POST the
    // subscription (`JSON.stringify` of it) to `/api/v1/push/subscriptions`.
    // Show the `#push-toggle` button (it starts `hidden`) so the reader can
    // turn it on and off; `DELETE` the subscription when turned off.
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
    render()
}

// ANCHOR: render
/// Rebuilds `#latest-headlines`. Everything users wrote goes in with
/// `set_text_content`, never as HTML: a headline such as
/// `<img src=x onerror=...>` is shown as those characters and runs nothing.
fn render() -> JsResult<()> {
    let document = document()?;
    let list: Element = element("latest-headlines")?;
    list.set_text_content(None);
    STATE.with_borrow(|state| {
        for article in &state.articles {
            let item = document.create_element("li")?;
            item.set_attribute("data-id", &article.id)?;
            let headline = document.create_element("span")?;
            headline.set_class_name("headline");
            headline.set_text_content(Some(&article.headline));
            let byline = document.create_element("span")?;
            byline.set_class_name("byline");
            byline.set_text_content(Some(&article.byline));
            let star = document.create_element("button")?;
            let starred = state.starred.contains(&article.id);
            star.set_attribute("type", "button")?;
            star.set_class_name("star");
            star.set_attribute("aria-pressed", if starred { "true" } else { "false" })?;
            star.set_attribute(
                "aria-label",
                &format!("Keep “{}” for offline reading", article.headline),
            )?;
            star.set_text_content(Some(if starred { "★" } else { "☆" }));
            item.append_with_node_3(&headline, &byline, &star)?;
            list.append_child(&item)?;
        }
        Ok(())
    })
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
    // TODO(page-worker): this posts straight to the server, so on a flaky
    // connection the article is simply lost. Hand it to the service worker
    // instead: post `PageMessage::AddArticle` to the active worker
    // (`navigator.serviceWorker.ready` → `registration.active()`) with one
    // end of a `MessageChannel`, wait for the `WorkerReply` on the other end
    // (`browser::next_event`, with a timeout), and show it with
    // `outbox::queued_status`.
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
