//! Goal 4, Web Push the whole way, in Firefox: the page subscribes with its
//! own `pushManager.subscribe`, the app's server pushes to the endpoint
//! Firefox's push service gave it, and Firefox decrypts the push and hands it
//! to the worker, which shows it.
//!
//! Firefox's push service is the harness's (`standins/autopush.rs`), so every step can
//! be seen: the subscription at the service, the server's push at the
//! endpoint, the browser's acknowledgement.

use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::context::{ARRIVAL, Ctx, vapid_public_key};
use super::failed::failed;
use super::page::{PAYLOAD_HINT, UI, close_notifications, expect_notification};
use crate::app::{ARTICLES, PUBLIC_KEY, PUSH_TOGGLE, SUBSCRIPTIONS};
use crate::browsers::{Browser, Mark, PageId, js_str};
use crate::standins::autopush::{Autopush, PushEvent};
use crate::standins::proxy::Outcome;
use crate::standins::push_service::{http_json, uuid};

const TOGGLE: &str = PUSH_TOGGLE;

/// Whether the page shows its push toggle.
fn shown_toggle() -> String {
    format!(
        "(() => {{ const b = document.querySelector({}); return !!b && !b.hidden; }})()",
        js_str(TOGGLE)
    )
}

fn pressed(on: bool) -> String {
    format!(
        "document.querySelector({})?.getAttribute('aria-pressed') === '{on}'",
        js_str(TOGGLE)
    )
}

pub(super) async fn push_subscribe<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let service = cx
        .autopush
        .clone()
        .context("harness bug: no push service for this browser")?;
    let tab = cx.ready().await?;
    close_notifications(&mut cx.browser, tab).await?;

    toggle_shown_and_off(cx, tab).await?;

    // Subscribe, as a reader does: one click (the profile allows
    // notifications, which `userVisibleOnly` subscriptions need).
    let mark = service.mark();
    let api_mark = cx.proxy.api_requests().len();
    cx.browser.click(tab, TOGGLE).await?;
    let registered = service
        .wait(mark, ARRIVAL, |e| match e {
            PushEvent::Register { channel, key, .. } => Some((channel.clone(), key.clone())),
            _ => None,
        })
        .await;
    let Some((channel, key)) = registered else {
        let status = push_status(&mut cx.browser, tab).await;
        let connected = service.events_since(0).contains(&PushEvent::Hello);
        return Err(failed(
            format!(
                "clicking {TOGGLE} to subscribe this browser to push (`registration.pushManager.subscribe`), which asks the browser's push service for an endpoint"
            ),
            format!(
                "no subscription at the push service within {ARRIVAL:?}{}; #push-status says {status:?}",
                if connected {
                    ""
                } else {
                    " (and Firefox never connected to it: see Firefox's output)"
                }
            ),
        ));
    };
    let (_, server_key) = vapid_public_key(cx.server.port).await?;
    if key != server_key {
        return Err(failed(
            format!(
                "a subscription with `applicationServerKey` the server's VAPID public key (GET {PUBLIC_KEY}), or the browser refuses the server's pushes"
            ),
            if key.is_empty() {
                "a subscription without an applicationServerKey".to_owned()
            } else {
                "a subscription with another key".to_owned()
            },
        ));
    }
    let stored = cx
        .browser
        .wait_until(tab, &pressed(true), "push on", UI)
        .await
        .is_ok();
    let posted = posted(cx, api_mark, "POST");
    if !(stored && posted) {
        let status = push_status(&mut cx.browser, tab).await;
        return Err(failed(
            format!(
                "the page, once subscribed, to POST the subscription to {SUBSCRIPTIONS} and set {TOGGLE} aria-pressed=\"true\""
            ),
            format!(
                "{}, {}; #push-status says {status:?}",
                if posted {
                    "the POST reached the server"
                } else {
                    "no POST reached the server"
                },
                if stored {
                    "the toggle is pressed"
                } else {
                    "the toggle is not pressed"
                }
            ),
        ));
    }

    deliver(cx, tab, &service, &channel).await?;
    unsubscribe(cx, tab, &service, &channel).await
}

/// Waits for the page's push toggle (hidden until the page knows the
/// browser has `registration.pushManager`), and ends a subscription left
/// from before, so that this one is seen whole.
async fn toggle_shown_and_off<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    if cx
        .browser
        .wait_until(tab, &shown_toggle(), "the push toggle", UI)
        .await
        .is_err()
    {
        return Err(failed(
            format!(
                "the page to show the {TOGGLE} button (it starts `hidden`) where the browser has `registration.pushManager`"
            ),
            format!("it is still hidden after {UI:?}"),
        ));
    }
    if cx.browser.eval(tab, &pressed(true), UI).await? == Value::Bool(true) {
        cx.browser.click(tab, TOGGLE).await?;
        let _ = cx
            .browser
            .wait_until(tab, &pressed(false), "push off", UI)
            .await;
    }
    Ok(())
}

/// An article published, pushed by the server through the push service to
/// Firefox, and shown by the worker.
async fn deliver<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    service: &Autopush,
    channel: &str,
) -> Result<()> {
    let Published {
        headline,
        service_mark: mark,
        shown_mark,
        version,
    } = publish(
        cx,
        service,
        channel,
        "pushed through Firefox's push service",
    )
    .await?;

    let expected = format!(
        "a notification naming \"{headline}\" once Firefox received the push and the worker's `push` handler ran"
    );
    if cx
        .browser
        .wait_service_event(shown_mark, "notifications", "Notification displayed", UI)
        .await
        .is_err()
    {
        // Firefox's acknowledgement says how far the push got.
        let acked = service
            .wait(mark, Duration::from_secs(1), |e| match e {
                PushEvent::Ack { version: v, code } if *v == version => Some(*code),
                _ => None,
            })
            .await;
        let how_far = match acked {
            Some(100) => "Firefox decrypted it and gave it to the worker".to_owned(),
            Some(101) => "Firefox could not decrypt it (ack code 101)".to_owned(),
            Some(102) => "Firefox did not deliver it (ack code 102)".to_owned(),
            Some(301) => "the worker's push handler threw (nack code 301)".to_owned(),
            Some(302) => {
                "the promise the push handler gave `event.waitUntil` rejected (nack code 302)"
                    .to_owned()
            }
            Some(code) => format!("Firefox answered code {code}"),
            None => "Firefox did not acknowledge it".to_owned(),
        };
        return Err(failed(
            expected,
            format!("no notification within {UI:?}; {how_far}"),
        ));
    }
    expect_notification(&mut cx.browser, tab, &expected, PAYLOAD_HINT, |t, b| {
        t.contains(&headline) || b.contains(&headline)
    })
    .await
}

/// An article published straight to the server, as another reader would,
/// and the server's push of it, accepted by Firefox's push service.
pub(super) struct Published {
    pub headline: String,
    /// Where the push service's events stood before the article was sent.
    pub service_mark: usize,
    /// Where the browser's service events stood (notifications shown).
    pub shown_mark: Mark,
    /// The push's version, which Firefox's acknowledgement names.
    pub version: String,
}

/// Publishes an article named for `what` and waits for its push to
/// `channel`, which the push service must accept.
pub(super) async fn publish<B: Browser>(
    cx: &mut Ctx<B>,
    service: &Autopush,
    channel: &str,
    what: &str,
) -> Result<Published> {
    let headline = cx.headline(what);
    let service_mark = service.mark();
    let shown_mark = cx.browser.mark();
    let article = json!({ "id": uuid()?, "headline": headline, "byline": "The Harness" });
    let (status, body) = http_json(cx.server.port, "POST", ARTICLES, &article).await?;
    anyhow::ensure!(status == 201, "POST {ARTICLES} answered {status}: {body}");
    let push = service
        .wait(service_mark, ARRIVAL, |e| match e {
            PushEvent::Push {
                channel: c,
                status,
                version,
                problem,
            } if c == channel => Some((*status, version.clone(), problem.clone())),
            _ => None,
        })
        .await;
    let Some((status, version, problem)) = push else {
        return Err(failed(
            format!(
                "the server to push \"{headline}\" to this browser's subscription within {ARRIVAL:?} of publishing it"
            ),
            "no push arrived at its endpoint",
        ));
    };
    if status != 201 {
        return Err(failed(
            "a push with RFC 8030's delivery headers (TTL, Urgency, Topic), aes128gcm and VAPID, which the browser's push service accepts",
            format!("it answered {status}: {problem}"),
        ));
    }
    Ok(Published {
        headline,
        service_mark,
        shown_mark,
        version,
    })
}

/// A second click turns push off: the browser ends the subscription at its
/// push service, and the server is told to forget it.
async fn unsubscribe<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    service: &Autopush,
    channel: &str,
) -> Result<()> {
    close_notifications(&mut cx.browser, tab).await?;
    let mark = service.mark();
    let api_mark = cx.proxy.api_requests().len();
    cx.browser.click(tab, TOGGLE).await?;
    let off = cx
        .browser
        .wait_until(tab, &pressed(false), "push off", UI)
        .await
        .is_ok();
    let unregistered = service
        .wait(mark, UI, |e| {
            (*e == PushEvent::Unregister {
                channel: channel.to_owned(),
            })
            .then_some(())
        })
        .await
        .is_some();
    let deleted = posted(cx, api_mark, "DELETE");
    if !(off && unregistered && deleted) {
        let seen = [
            (
                off,
                "the toggle is not pressed",
                "the toggle is still pressed",
            ),
            (
                unregistered,
                "the browser ended the subscription",
                "the push service was not told (no `subscription.unsubscribe()`)",
            ),
            (
                deleted,
                "the DELETE reached the server",
                "no DELETE reached the server",
            ),
        ];
        return Err(failed(
            format!(
                "clicking {TOGGLE} again to turn push off: `subscription.unsubscribe()`, DELETE {SUBSCRIPTIONS} with its endpoint, aria-pressed=\"false\""
            ),
            seen.iter()
                .map(|(ok, yes, no)| if *ok { *yes } else { *no })
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    Ok(())
}

/// Whether the page sent `method` to the subscriptions route, and the server
/// got it, since the `since`-th API request.
fn posted<B: Browser>(cx: &Ctx<B>, since: usize, method: &str) -> bool {
    cx.proxy
        .api_requests()
        .get(since..)
        .unwrap_or_default()
        .iter()
        .any(|s| s.method == method && s.path == SUBSCRIPTIONS && s.outcome == Outcome::Passed)
}

async fn push_status<B: Browser>(b: &mut B, tab: PageId) -> String {
    b.text_of(tab, "#push-status")
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
}
