//! Goal 4, Declarative Web Push, in Firefox: the server's push is a
//! declarative push message (`{"web_push": 8030, "notification": {...},
//! "mutable": true}`), the worker's `on_push` reads it and shows its
//! notification, and a click on it opens the message's `navigate` URL.
//!
//! The browser subscribes with a script of the harness's own (the page's
//! button is `push-subscribe`'s), so what fails here is the worker's part.
//! The harness's push service (`autopush.rs`) refuses a push without TTL,
//! Urgency and Topic; it cannot read the body (only Firefox holds the keys),
//! so the declarative body is proven by what the worker shows: the
//! notification's tag (the worker's, which a browser showing the message by
//! itself would not set) and the page a click opens.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::{ARRIVAL, Ctx, UI, close_notifications, failed};
use crate::autopush::PushEvent;
use crate::browser::{Browser, PageId};
use crate::push_service::{http_json, uuid};

const SUBSCRIPTIONS: &str = "/api/v1/push/subscriptions";
/// The `navigate` of the server's pushes about new articles (the app's
/// `push::NEW_ARTICLES_URL`), relative to the app.
const NAVIGATE: &str = "#latest-headlines";
/// The title of those pushes (`push::NEW_ARTICLES_TITLE`).
const TITLE: &str = "New on Offline News";
/// The tag the worker's `on_push` gives its notification.
const TAG: &str = "articles-added";

/// Subscribes this browser as a page would, with the server's key; the
/// subscription's JSON.
const SUBSCRIBE_JS: &str = "(async () => {
    const r = await navigator.serviceWorker.ready;
    const { public_key } = await (await fetch('/api/v1/push/public-key')).json();
    const old = await r.pushManager.getSubscription();
    if (old) await old.unsubscribe();
    const s = await r.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: public_key });
    return s.toJSON(); })()";

const UNSUBSCRIBE_JS: &str = "(async () => {
    const r = await navigator.serviceWorker.ready;
    const s = await r.pushManager.getSubscription();
    if (s) await s.unsubscribe();
    return true; })()";

pub(super) async fn push_declarative<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    close_notifications(&mut cx.browser, tab).await?;
    let subscription = cx
        .browser
        .eval(tab, SUBSCRIBE_JS, ARRIVAL)
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
    let result = push_show_and_click(cx, tab, &endpoint).await;
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

async fn push_show_and_click<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    endpoint: &str,
) -> Result<()> {
    let service = cx
        .autopush
        .clone()
        .context("harness bug: no push service for this browser")?;
    let channel = endpoint.rsplit('/').next().unwrap_or_default().to_owned();
    let headline = cx.headline("a declarative push");
    let mark = service.mark();
    let shown_mark = cx.browser.mark();
    let article = json!({ "id": uuid()?, "headline": headline, "byline": "The Harness" });
    let (status, body) = http_json(cx.server.port, "POST", "/api/v1/articles", &article).await?;
    anyhow::ensure!(
        status == 201,
        "POST /api/v1/articles answered {status}: {body}"
    );
    let pushed = service
        .wait(mark, ARRIVAL, |e| match e {
            PushEvent::Push {
                channel: c,
                status,
                problem,
                ..
            } if *c == channel => Some((*status, problem.clone())),
            _ => None,
        })
        .await;
    let expected_push = "a push with RFC 8030's delivery headers (TTL, Urgency, Topic), aes128gcm and VAPID, which the push service accepts";
    match pushed {
        None => {
            return Err(failed(
                expected_push,
                format!(
                    "no push reached the subscription within {ARRIVAL:?} of publishing \"{headline}\""
                ),
            ));
        }
        Some((201, _)) => {}
        Some((status, problem)) => {
            return Err(failed(
                expected_push,
                format!("the push service answered {status}: {problem}"),
            ));
        }
    }

    let expected = format!(
        "the worker's `on_push` to read the declarative push message and show its notification \"{TITLE}\" naming \"{headline}\", tag \"{TAG}\", a click leading to its `navigate` ({NAVIGATE})"
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
        n["title"] == TITLE && n["body"].as_str().unwrap_or_default().contains(&headline)
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
    if ours["tag"] != TAG {
        return Err(failed(
            &expected,
            format!(
                "a notification with tag {} (not the worker's: did the browser show the message by itself?)",
                ours["tag"]
            ),
        ));
    }

    // The click, with no page of the app open: the worker's
    // `notificationclick` opens the notification's URL.
    let blank = cx.browser.open_page("about:blank").await?;
    let result = click_opens(cx, &expected).await;
    let restored = async {
        cx.browser.close_other_tabs().await?;
        cx.tab().await?;
        cx.browser.close_page(blank).await
    }
    .await;
    result?;
    restored
}

async fn click_opens<B: Browser>(cx: &mut Ctx<B>, expected: &str) -> Result<()> {
    let target = format!("{}{NAVIGATE}", cx.url());
    for page in std::mem::take(&mut cx.tabs) {
        cx.browser.close_page(page).await?;
    }
    let before = cx.browser.tab_urls().await?;
    cx.browser
        .click_notification(TITLE, UI)
        .await
        .map_err(|e| failed(expected, format!("{e:#}")))?;
    let deadline = tokio::time::Instant::now() + UI;
    loop {
        let now = cx.browser.tab_urls().await?;
        if now.contains(&target) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(failed(
                expected,
                format!(
                    "a click on the notification opened no tab at {target} within {UI:?}: the tabs are [{}] (before the click: [{}])",
                    now.join(", "),
                    before.join(", ")
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
