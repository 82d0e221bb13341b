//! Goal 4, Declarative Web Push, in Firefox: the server's push is a
//! declarative push message (`{"web_push": 8030, "notification": {...},
//! "mutable": true}`), the worker's `on_push` reads it and shows its
//! notification, and a click on it leads to the message's `navigate` URL:
//! the app's open page is focused and brought there, with no second tab;
//! with none open, a tab opens there.
//!
//! The browser subscribes with a script of the harness's own (the page's
//! button is `push-subscribe`'s), so what fails here is the worker's part.
//! The harness's push service (`standins/autopush.rs`) refuses a push without TTL,
//! Urgency and Topic; it cannot read the body (only Firefox holds the keys),
//! so the declarative body is proven by what the worker shows: the
//! notification's tag (the worker's, which a browser showing the message by
//! itself would not set), its data (the absolute `navigate`, at the origin
//! the browser knows the app by) and the page a click leads to.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::context::{ARRIVAL, Ctx};
use super::failed::failed;
use super::notification_click::{back_to_the_app, click_focuses, click_opens, tab_in_front};
use super::page::{UI, close_notifications};
use super::push::new_articles_link;
use super::push_subscribe::{Published, publish};
use crate::app::{PUBLIC_KEY, PUSH_TAG, PUSH_TITLE, SUBSCRIPTIONS};
use crate::browsers::{Browser, PageId, js_str};
use crate::standins::autopush::Autopush;
use crate::standins::push_service::http_json;

/// Subscribes this browser as a page would, with the server's key; the
/// subscription's JSON.
fn subscribe_js() -> String {
    format!(
        "(async () => {{
    const r = await navigator.serviceWorker.ready;
    const {{ public_key }} = await (await fetch({})).json();
    const old = await r.pushManager.getSubscription();
    if (old) await old.unsubscribe();
    const s = await r.pushManager.subscribe({{ userVisibleOnly: true, applicationServerKey: public_key }});
    return s.toJSON(); }})()",
        js_str(PUBLIC_KEY)
    )
}

const UNSUBSCRIBE_JS: &str = "(async () => {
    const r = await navigator.serviceWorker.ready;
    const s = await r.pushManager.getSubscription();
    if (s) await s.unsubscribe();
    return true; })()";

pub(super) async fn push_declarative<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.only_tab().await?;
    close_notifications(&mut cx.browser, tab).await?;
    let subscription = cx
        .browser
        .eval(tab, &subscribe_js(), ARRIVAL)
        .await
        .context("harness: subscribing Firefox to its (the harness's) push service")?;
    let endpoint = subscription["endpoint"]
        .as_str()
        .context("harness: a subscription without an endpoint")?
        .to_owned();
    let (status, body) = http_json(cx.server.port, "POST", SUBSCRIPTIONS, &subscription).await?;
    anyhow::ensure!(
        (200..300).contains(&status),
        "POST {SUBSCRIPTIONS} answered {status}: {body}"
    );
    let result = show_and_click(cx, tab, &endpoint).await;
    // Leave no subscription behind, at the server or in the browser.
    let _ = http_json(
        cx.server.port,
        "DELETE",
        SUBSCRIPTIONS,
        &json!({ "endpoint": endpoint }),
    )
    .await;
    if let Ok(tab) = cx.tab().await {
        let _ = cx.browser.eval(tab, UNSUBSCRIBE_JS, UI).await;
    }
    result
}

/// Two pushes, two clicks: with the app open in a background tab, the
/// click brings that page to its `navigate` URL (the list) and opens no
/// second tab; with no page of the app open, it opens a tab there.
async fn show_and_click<B: Browser>(cx: &mut Ctx<B>, tab: PageId, endpoint: &str) -> Result<()> {
    let service = cx
        .autopush
        .clone()
        .context("harness bug: no push service for this browser")?;
    let channel = endpoint.rsplit('/').next().unwrap_or_default().to_owned();
    let link = new_articles_link(&cx.url());

    let blank = tab_in_front(cx).await?;
    let result = async {
        let before = cx.browser.tab_urls().await?;
        let expected = show(cx, tab, &service, &channel, &link, "the app open").await?;
        let at_link = format!("location.href === {}", crate::browsers::js_str(&link));
        click_focuses(cx, tab, PUSH_TITLE, &at_link, &before, &format!(
            "{expected}; with the app open at {} in a background tab, a click to focus that page and bring it to {link} (`WindowClient.focus()` and `navigate()`), opening no second tab",
            cx.url()
        ))
        .await?;
        close_notifications(&mut cx.browser, tab).await?;
        let expected = show(cx, tab, &service, &channel, &link, "no page open").await?;
        click_opens(cx, PUSH_TITLE, &link, &format!(
            "{expected}; with no page of the app open, a click to open a tab at {link}"
        ))
        .await
    }
    .await;
    let restored = back_to_the_app(cx, blank).await;
    result?;
    restored
}

/// An article published, its push accepted by the push service and shown by
/// the worker as the declarative message says; what the click must do next
/// is the caller's. Returns what is expected, for the caller's message.
async fn show<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    service: &Autopush,
    channel: &str,
    link: &str,
    with: &str,
) -> Result<String> {
    let Published {
        headline,
        shown_mark,
        ..
    } = publish(cx, service, channel, &format!("a declarative push, {with}")).await?;

    let expected = format!(
        "the worker's `on_push` to read the declarative push message and show its notification \"{PUSH_TITLE}\" naming \"{headline}\", tag \"{PUSH_TAG}\", its `navigate` ({link}) as the data a click opens"
    );
    if cx
        .browser
        .wait_service_event(shown_mark, "notifications", "Notification displayed", UI)
        .await
        .is_err()
    {
        return Err(failed(
            &expected,
            format!(
                "no notification within {UI:?} of the push (does `on_push` show one for a payload of the form {{\"web_push\": 8030, \"notification\": {{...}}}}? `PushPayload::parse_or_fallback` reads it)"
            ),
        ));
    }
    let shown = cx
        .browser
        .eval(
            tab,
            "(async () => { const r = await navigator.serviceWorker.ready;
               return (await r.getNotifications()).map(n => ({ title: n.title, body: n.body, tag: n.tag, data: n.data })); })()",
            UI,
        )
        .await?;
    let shown = shown.as_array().cloned().unwrap_or_default();
    let ours = shown.iter().find(|n| {
        n["title"] == PUSH_TITLE && n["body"].as_str().unwrap_or_default().contains(&headline)
    });
    let Some(ours) = ours else {
        return Err(failed(
            &expected,
            format!(
                "the notifications shown are {}",
                Value::Array(shown.clone())
            ),
        ));
    };
    if ours["tag"] != PUSH_TAG {
        return Err(failed(
            &expected,
            format!(
                "a notification with tag {} (not the worker's: did the browser show the message by itself?)",
                ours["tag"]
            ),
        ));
    }
    // The server's `navigate`, as the worker's `notify` keeps it: absolute,
    // at the origin the browser knows the app by (the harness's proxy; the
    // server knows it from `--public-origin`).
    if ours["data"] != link {
        return Err(failed(
            &expected,
            format!(
                "a notification whose data is {} (the server's `navigate` should be the absolute {link}; `notify` passes it on as it is)",
                ours["data"]
            ),
        ));
    }
    Ok(expected)
}
