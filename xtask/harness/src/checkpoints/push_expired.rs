//! The server forgets a push subscription whose push service says it is gone
//! (`404 Not Found`, as RFC 8030 §7.3 has it, or the `410 Gone` that
//! Mozilla's and Google's push services answer), and keeps pushing to the
//! others.
//!
//! Server behaviour the starter already has, so a pre-lesson checkpoint. In
//! every browser, the harness's push service (`standins/push_service.rs`) holds three
//! subscriptions it registered itself: one that answers `410`, one `404`, one
//! `201`. In Firefox a fourth is the browser's own, made with
//! `pushManager.subscribe` through Firefox's push service (`standins/autopush.rs`) and
//! then ended in the browser behind the server's back, as a user who clears
//! the site's data does: the push service answers `410` for it by itself.
//!
//! Two articles are published. The first is pushed to every subscription and
//! the gone ones are answered 404/410; the second must reach only the live
//! one.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::context::{ARRIVAL, Ctx, vapid_public_key};
use super::failed::failed;
use super::page::UI;
use crate::app::{ARTICLES, SUBSCRIPTIONS};
use crate::browsers::{Browser, PageId, js_str};
use crate::standins::autopush::{Autopush, PushEvent};
use crate::standins::push_service::{PushService, Received, Subscriber, http_json, uuid};

/// How long a push that should not come is waited for, once the live
/// subscription got the same article: the server sends to all of them at
/// once, so one still to come would be late by far less than this.
const STRAGGLERS: Duration = Duration::from_secs(2);
/// The server deletes a gone subscription after it read the push service's
/// answer, which the harness cannot see; far more than a SQLite delete takes.
const SETTLE: Duration = Duration::from_secs(1);

/// One subscription of the harness's push service.
struct Harnessed {
    /// What it is, for messages.
    name: &'static str,
    id: String,
    endpoint: String,
    /// 410 or 404 for a gone one, 201 for the live one.
    answers: u16,
}

pub(super) async fn push_expired<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    let port = cx.server.port;
    let mut service = PushService::start().await?;
    let mut subscriptions = Vec::new();
    for (name, answers) in [
        ("the subscription answering 410 Gone", 410),
        ("the subscription answering 404 Not Found", 404),
        ("the live subscription", 201),
    ] {
        let id = uuid()?;
        if answers != 201 {
            service.expire(&id, answers == 410);
        }
        subscriptions.push(Harnessed {
            name,
            endpoint: service.endpoint(&id),
            id,
            answers,
        });
    }
    for s in &subscriptions {
        register(port, &Subscriber::new()?.json(&s.endpoint)).await?;
    }
    // Firefox: the browser's own subscription, ended in the browser only.
    let browser_channel = match cx.autopush.clone() {
        Some(autopush) => Some(expired_in_browser(cx, tab, &autopush).await?),
        None => None,
    };

    let result = publish_twice(cx, &mut service, &subscriptions, browser_channel).await;
    // Leave nothing behind for the checkpoints after this one.
    for s in &subscriptions {
        let _ = http_json(
            port,
            "DELETE",
            SUBSCRIPTIONS,
            &json!({ "endpoint": s.endpoint }),
        )
        .await;
    }
    result
}

/// POSTs a subscription to the server, as the page does.
async fn register(port: u16, subscription: &Value) -> Result<()> {
    let (status, body) = http_json(port, "POST", SUBSCRIPTIONS, subscription).await?;
    if !(200..300).contains(&status) {
        return Err(failed(
            format!(
                "POST {SUBSCRIPTIONS} to store a subscription (the server started with --allow-local-push-endpoints)"
            ),
            format!("{status} {body}"),
        ));
    }
    Ok(())
}

/// Subscribes Firefox through its push service, gives the subscription to
/// the server, then ends it in the browser without telling the server; the
/// push service's channel id for it.
async fn expired_in_browser<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    autopush: &Autopush,
) -> Result<(Autopush, String)> {
    let (key, _) = vapid_public_key(cx.server.port).await?;
    // What the page does after the lesson, done by the harness so that the
    // server's part is checked before the page's: subscribe with the
    // server's key, and hand over `JSON.stringify(subscription)`.
    let mark = autopush.mark();
    let subscribe = format!(
        "(async () => {{
            const r = await navigator.serviceWorker.ready;
            const old = await r.pushManager.getSubscription();
            if (old) await old.unsubscribe();
            const key = Uint8Array.from(atob({key}.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
            const s = await r.pushManager.subscribe({{ userVisibleOnly: true, applicationServerKey: key }});
            return JSON.stringify(s);
        }})()",
        key = js_str(&key)
    );
    let subscription = cx.browser.eval(tab, &subscribe, ARRIVAL).await.context(
        "subscribing Firefox to push (pushManager.subscribe through the harness's push service)",
    )?;
    let subscription: Value = subscription
        .as_str()
        .and_then(|s| serde_json::from_str(s).ok())
        .context("pushManager.subscribe gave no subscription")?;
    let channel = autopush
        .wait(mark, UI, |e| match e {
            PushEvent::Register { channel, .. } => Some(channel.clone()),
            _ => None,
        })
        .await
        .context("Firefox's subscription did not reach the push service")?;
    register(cx.server.port, &subscription).await?;

    // The user ends it in the browser (as clearing the site's data does);
    // the server is not told, only the push service is.
    let mark = autopush.mark();
    cx.browser
        .eval(
            tab,
            "(async () => { const r = await navigator.serviceWorker.ready;
               const s = await r.pushManager.getSubscription(); return s ? await s.unsubscribe() : false; })()",
            UI,
        )
        .await?;
    autopush
        .wait(mark, UI, |e| {
            (*e == PushEvent::Unregister {
                channel: channel.clone(),
            })
            .then_some(())
        })
        .await
        .context("Firefox did not end its subscription at the push service")?;
    Ok((autopush.clone(), channel))
}

async fn publish_twice<B: Browser>(
    cx: &mut Ctx<B>,
    service: &mut PushService,
    subscriptions: &[Harnessed],
    browser: Option<(Autopush, String)>,
) -> Result<()> {
    first_reaches_every_subscription(cx, service, subscriptions, browser.as_ref()).await?;
    tokio::time::sleep(SETTLE).await;
    second_reaches_only_the_live_one(cx, service, subscriptions, browser.as_ref()).await
}

/// How the report names the browser's own subscription here.
const BROWSER_NAME: &str = "Firefox's own subscription, ended in the browser";

/// First article: every subscription is pushed to, and the gone ones say
/// so.
async fn first_reaches_every_subscription<B: Browser>(
    cx: &mut Ctx<B>,
    service: &mut PushService,
    subscriptions: &[Harnessed],
    browser: Option<&(Autopush, String)>,
) -> Result<()> {
    let first = cx.headline("pushed while some subscriptions are gone");
    let browser_mark = browser.map_or(0, |(a, _)| a.mark());
    publish(cx, &first).await?;
    let seen = collect(
        service,
        subscriptions,
        |got| got.len() == subscriptions.len(),
        ARRIVAL,
    )
    .await;
    let missing: Vec<&str> = subscriptions
        .iter()
        .filter(|s| !seen.iter().any(|r| r.path.ends_with(&s.id)))
        .map(|s| s.name)
        .collect();
    if !missing.is_empty() {
        return Err(failed(
            format!(
                "a push to every stored subscription within {ARRIVAL:?} of publishing \"{first}\""
            ),
            format!("none to {}", missing.join(", ")),
        ));
    }
    if let Some((autopush, channel)) = browser {
        let answered = autopush
            .wait(browser_mark, ARRIVAL, |e| match e {
                PushEvent::Push {
                    channel: c, status, ..
                } if c == channel => Some(*status),
                _ => None,
            })
            .await;
        match answered {
            Some(410) => {}
            Some(status) => {
                return Err(failed(
                    format!(
                        "a push to {BROWSER_NAME}, answered 410 Gone by Firefox's push service"
                    ),
                    format!("it answered {status}"),
                ));
            }
            None => {
                return Err(failed(
                    format!(
                        "a push to {BROWSER_NAME} within {ARRIVAL:?} of publishing \"{first}\""
                    ),
                    "none arrived at its endpoint",
                ));
            }
        }
    }

    Ok(())
}

/// Second article: only the live subscription is pushed to; the gone ones
/// were deleted.
async fn second_reaches_only_the_live_one<B: Browser>(
    cx: &mut Ctx<B>,
    service: &mut PushService,
    subscriptions: &[Harnessed],
    browser: Option<&(Autopush, String)>,
) -> Result<()> {
    let pushed_to_browser = |autopush: &Autopush, mark: usize, channel: &str| {
        autopush
            .events_since(mark)
            .into_iter()
            .filter_map(|e| match e {
                PushEvent::Push {
                    channel: c, status, ..
                } if c == channel => Some(status),
                _ => None,
            })
            .collect::<Vec<u16>>()
    };

    let second = cx.headline("pushed only to the live subscription");
    let browser_mark = browser.map_or(0, |(a, _)| a.mark());
    publish(cx, &second).await?;
    let live = subscriptions
        .iter()
        .find(|s| s.answers == 201)
        .context("harness bug: no live subscription")?;
    let mut seen = collect(
        service,
        subscriptions,
        |got| got.iter().any(|r| r.path.ends_with(&live.id)),
        ARRIVAL,
    )
    .await;
    if !seen.iter().any(|r| r.path.ends_with(&live.id)) {
        return Err(failed(
            format!(
                "a push to the live subscription within {ARRIVAL:?} of publishing \"{second}\" (it answered 201 to the first)"
            ),
            "none arrived: did the server drop every subscription, not only the gone ones?",
        ));
    }
    // Any push to a gone one comes at about the same time.
    seen.extend(collect(service, subscriptions, |_| false, STRAGGLERS).await);
    let mut again: Vec<String> = subscriptions
        .iter()
        .filter(|s| s.answers != 201 && seen.iter().any(|r| r.path.ends_with(&s.id)))
        .map(|s| format!("{} (it answered {} to the first push)", s.name, s.answers))
        .collect();
    if let Some((autopush, channel)) = browser {
        let statuses = pushed_to_browser(autopush, browser_mark, channel);
        if !statuses.is_empty() {
            again.push(format!(
                "{BROWSER_NAME} (its push service answered 410 to the first push)"
            ));
        }
    }
    if !again.is_empty() {
        return Err(failed(
            format!(
                "after a push service answered 404 or 410, the server to delete that subscription and push \"{second}\" to the live one only"
            ),
            format!("it pushed to {} again", again.join(" and ")),
        ));
    }
    Ok(())
}

/// Publishes an article straight to the server, as another reader would.
async fn publish<B: Browser>(cx: &mut Ctx<B>, headline: &str) -> Result<()> {
    let article = json!({ "id": uuid()?, "headline": headline, "byline": "The Harness" });
    let (status, body) = http_json(cx.server.port, "POST", ARTICLES, &article).await?;
    anyhow::ensure!(status == 201, "POST {ARTICLES} answered {status}: {body}");
    Ok(())
}

/// The pushes to these subscriptions, until `enough` says so or `timeout`
/// passed. Requests to other paths (none are expected) are left out.
async fn collect(
    service: &mut PushService,
    subscriptions: &[Harnessed],
    enough: impl Fn(&[Received]) -> bool,
    timeout: Duration,
) -> Vec<Received> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut got = Vec::new();
    while !enough(&got) {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match service.next(left).await {
            Some(r) if subscriptions.iter().any(|s| r.path.ends_with(&s.id)) => got.push(r),
            Some(_) => {}
            None => break,
        }
    }
    got
}
