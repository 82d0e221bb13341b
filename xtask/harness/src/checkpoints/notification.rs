//! `notification` (goal 4): the page asks for the permission in the user's
//! submit, and once a sync delivered two articles the worker shows one
//! notification that says so.
//!
//! The harness does not grant the permission beforehand here: it leaves it
//! undecided and stands in for the prompt (a spy in place of
//! `Notification.requestPermission`, put in before the page loads), so it
//! sees when the page asks — while the browser dispatches the submit, before
//! anything is awaited, or at another moment, when browsers refuse to show
//! a prompt — and then grants it, as a user clicking "Allow" does. Where it
//! can run script in the worker (Chromium), it also sees whether the sync
//! waited for the notification to be shown. Then, with notifications
//! blocked, a delivery must go on as if nothing were wrong.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, add_article, close_notifications, expect_notification, wait_list};
use super::worker_spy::{self, Notifications};
use crate::browsers::{Browser, PageId, Permission, PermissionState};
use crate::standins::proxy::Mode;

/// In place of the browser's prompt: records each
/// `Notification.requestPermission()` with the event the page was handling
/// then (`window.event`: set only while a listener runs, so a call after
/// an `await`, or in a spawned future, finds none), and answers only when
/// the harness does (`window.__harnessPermission.answer`). No push
/// subscription is made meanwhile: the harness plays no push service here.
const PERMISSION_SPY: &str = "() => {
    if (typeof Notification === 'undefined') return;
    const spy = window.__harnessPermission ||= { asked: [], waiting: [], answer: (value) => {
        for (const resolve of spy.waiting.splice(0)) resolve(value); } };
    Notification.requestPermission = function (callback) {
        const event = window.event;
        spy.asked.push({ during: event ? event.type : null, loading: document.readyState !== 'complete' });
        return new Promise((resolve) => spy.waiting.push((value) => {
            if (typeof callback === 'function') callback(value);
            resolve(value);
        }));
    };
    if (window.PushManager) {
        PushManager.prototype.subscribe = () => Promise.reject(
            new DOMException('the harness plays no push service in this checkpoint', 'AbortError'));
    }
}";

/// The events during which a browser lets a page show the permission
/// prompt: the user's own actions.
const GESTURES: [&str; 7] = [
    "submit",
    "click",
    "keydown",
    "keyup",
    "mouseup",
    "pointerup",
    "touchend",
];

/// How long the spy makes `showNotification` take (Chromium): a sync that
/// waits for it settles after it.
const SLOW_SHOW_MS: u32 = 300;

pub(super) async fn notification<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    // Earlier syncs may have shown notifications: start from none.
    close_notifications(&mut cx.browser, tab).await?;
    cx.browser
        .set_permission(Permission::Notifications, PermissionState::Prompt)
        .await?;
    cx.browser.add_preload_script(PERMISSION_SPY).await?;
    let shown = asked_then_shown(cx, tab).await;
    // Put back as the other checkpoints expect it: allowed, no spy.
    cx.set_mode(Mode::Pass).await?;
    cx.browser.clear_preload_scripts().await?;
    cx.browser
        .set_permission(Permission::Notifications, PermissionState::Granted)
        .await?;
    worker_spy::remove(cx).await?;
    cx.browser.reload(tab).await?;
    shown?;
    wait_list(&mut cx.browser, tab, 1).await?;
    blocked_is_no_failure(cx, tab).await
}

/// The page asks in the submit; allowed, the worker shows "Added 2 new
/// articles" after a sync, and (where the harness can see it) the sync waits
/// for it.
async fn asked_then_shown<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    // Reloaded, so that the spy is in place before the page's code runs.
    cx.browser.reload(tab).await?;
    wait_list(&mut cx.browser, tab, 1).await?;
    // Again, now that the page runs: Firefox's preload scripts do not
    // always reach the page's own globals (the record, kept, says what
    // happened while it loaded).
    cx.browser
        .eval(tab, &format!("({PERMISSION_SPY})(), true"), UI)
        .await?;
    cx.set_mode(Mode::Api503).await?;
    let headlines = vec![cx.headline("first of two"), cx.headline("second of two")];
    for headline in &headlines {
        add_article(&mut cx.browser, tab, headline).await?;
    }
    asked_in_the_submit(cx, tab).await?;
    // "Allow", as the user clicks it.
    cx.browser
        .set_permission(Permission::Notifications, PermissionState::Granted)
        .await?;
    cx.browser
        .eval(
            tab,
            "window.__harnessPermission.answer('granted'), true",
            UI,
        )
        .await?;

    let spied = worker_spy::install(cx, Notifications::ShowSlowly(SLOW_SHOW_MS)).await?;
    cx.set_mode(Mode::Pass).await?;
    let mark = cx.deliver_pending(tab).await?;
    let after = format!("after {}", cx.delivery());
    cx.wait_on_server(&headlines, &after).await?;

    // Reading the notifications while showNotification() is still pending
    // can make Chromium drop it: wait until the browser reports it shown.
    let expected = "a notification \"Added 2 new articles\" after a sync delivered two articles";
    if cx
        .browser
        .wait_service_event(mark, "notifications", "Notification displayed", UI)
        .await
        .is_err()
    {
        return Err(failed(
            expected,
            format!("the browser showed no notification within {UI:?}"),
        ));
    }
    let added = "Added 2 new article";
    expect_notification(&mut cx.browser, tab, expected, "", |title, body| {
        title.contains(added) || body.contains(added)
    })
    .await?;
    if spied {
        sync_waited_for_it(cx).await?;
    }
    Ok(())
}

/// Fails unless the page asked for the permission while the browser
/// dispatched the user's submit, and at no other moment.
async fn asked_in_the_submit<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    let asked = cx
        .browser
        .eval(tab, "window.__harnessPermission.asked", UI)
        .await?;
    let asked = asked.as_array().cloned().unwrap_or_default();
    let expected = "the page to ask for the notification permission (`Notification.requestPermission()`) while the browser handles the user's submit, before anything is awaited: a browser shows the prompt only then";
    let outside = asked.iter().find(|a| {
        !a["during"]
            .as_str()
            .is_some_and(|during| GESTURES.contains(&during))
    });
    if let Some(call) = outside {
        return Err(failed(
            expected,
            if call["loading"] == Value::Bool(true) {
                "it asked while the page loaded, when nobody had done anything: ask in answer to the submit".to_owned()
            } else {
                "it asked after the submit's handler had returned (after an `await`, or in a spawned future): call it at once, in the handler".to_owned()
            },
        ));
    }
    if asked.is_empty() {
        return Err(failed(
            expected,
            "two articles submitted, and it never asked (the permission was not decided: `Notification.permission` said \"default\")",
        ));
    }
    Ok(())
}

/// Fails unless the sync's promise settled after the notification was shown
/// (the spy made showing it take [`SLOW_SHOW_MS`]): `waitUntil` keeps the
/// worker alive only while its promise is pending.
async fn sync_waited_for_it<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let shown = |record: &Value| record["shown"].as_array().is_some_and(|s| !s.is_empty());
    let both = |record: &Value| worker_spy::sync_settled(record) && shown(record);
    let Some(record) = worker_spy::wait_for(cx, UI, both).await? else {
        // The worker was stopped and started again: its spy is gone, and
        // nothing can be said.
        return Ok(());
    };
    let settled_at = record["syncs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["at"].as_u64())
        .max();
    let shown_at = record["shown"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["at"].as_u64())
        .max();
    match (settled_at, shown_at) {
        (Some(settled), Some(shown)) if settled < shown => Err(failed(
            "the sync's promise to settle only once the notification is shown (`show_notification_with_options`'s promise awaited inside what `event.waitUntil` got): the browser may stop the worker as soon as it settles",
            format!(
                "the sync settled first; showing the notification took {SLOW_SHOW_MS} ms and nothing waited for it"
            ),
        )),
        _ => Ok(()),
    }
}

/// With notifications blocked, a delivery goes on as if nothing were
/// wrong: no permission is not a failure, and `notify` succeeds, showing
/// nothing.
async fn blocked_is_no_failure<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    cx.browser
        .set_permission(Permission::Notifications, PermissionState::Denied)
        .await?;
    let checked = async {
        let mark = cx.browser.log_mark();
        cx.set_mode(Mode::Api503).await?;
        let headline = cx.headline("delivered with notifications blocked");
        add_article(&mut cx.browser, tab, &headline).await?;
        cx.set_mode(Mode::Pass).await?;
        cx.deliver_pending(tab).await?;
        let after = format!("after {}, with notifications blocked for the site", cx.delivery());
        cx.wait_on_server(std::slice::from_ref(&headline), &after)
            .await?;
        // `deliver_and_report` logs a notification that failed to show.
        let deadline = tokio::time::Instant::now() + Duration::from_millis(500);
        loop {
            let logs = cx.browser.logs_since(mark, 50);
            if let Some(line) = logs
                .iter()
                .find(|l| l.contains("could not show the notification"))
            {
                return Err(failed(
                    "`notify` to succeed, showing nothing, when the user has not allowed notifications: no permission is not an error",
                    format!("with notifications blocked, it failed: {line}"),
                ));
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    .await;
    cx.set_mode(Mode::Pass).await?;
    cx.browser
        .set_permission(Permission::Notifications, PermissionState::Granted)
        .await?;
    checked
}
