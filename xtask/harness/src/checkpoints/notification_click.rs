//! Before the lesson: a click on a notification goes through the worker's
//! real `notificationclick` (`on_notification_click`, the same in both
//! stages), which focuses the app's open page or, with none open, opens one.
//!
//! Nothing in the starter shows a notification yet, so the page shows one
//! itself, the way the worker's `notify` does: `data` is the path the click
//! leads to. The click is a user's, in the browser's own notification
//! window (`Browser::click_notification`); a script cannot fire
//! `notificationclick`, and only a real click lets the worker focus or open
//! a window. Firefox only: Chromium's DevTools protocol has no command to
//! click a notification.
//!
//! (a) With a page of the app open in a background tab, the click must give
//! that page focus and open no tab (see [`click_focuses`] for what focus
//! means in headless Firefox).
//! (b) With no page of the app open (only about:blank), the click must open
//! a new tab at the app's URL.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, close_notifications};
use crate::browsers::{Browser, PageId, js_str};

/// How long a click has to open a tab it should not have opened, once the
/// page it should focus has focus.
const SETTLE: Duration = Duration::from_secs(1);

pub(super) async fn notification_click<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.only_tab().await?;
    // Earlier checkpoints may have shown notifications: start from none.
    close_notifications(&mut cx.browser, tab).await?;
    let blank = tab_in_front(cx).await?;
    let result = async {
        focus_the_open_page(cx, tab).await?;
        open_a_page(cx, tab).await
    }
    .await;
    let restored = back_to_the_app(cx, blank).await;
    result?;
    restored
}

/// Opens a blank tab in front of the app's, so that the app's page has no
/// focus to begin with and is the one left open when the app's tabs are
/// closed.
pub(super) async fn tab_in_front<B: Browser>(cx: &mut Ctx<B>) -> Result<PageId> {
    cx.browser.open_page("about:blank").await
}

/// Back to one tab of the app, as the next checkpoint expects, whatever
/// happened: the tabs a click opened closed, the app's opened again if it
/// was closed, then the blank one (never the last tab: that would close the
/// window and quit Firefox).
pub(super) async fn back_to_the_app<B: Browser>(cx: &mut Ctx<B>, blank: PageId) -> Result<()> {
    cx.browser.close_other_tabs().await?;
    cx.tab().await?;
    cx.browser.close_page(blank).await
}

/// (a): the app's page, open in a background tab, gets focus; no tab opens.
async fn focus_the_open_page<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    let app = cx.url();
    let before = cx.browser.tab_urls().await?;
    let title = cx.headline("click me with the app open");
    show_notification(cx, tab, &title).await?;
    let expected = format!(
        "a click on the notification \"{title}\" (data \"/\"), with the app open at {app} in a background tab, to focus that page (`WindowClient.focus()` in the worker's `notificationclick`) and open no new tab"
    );
    click_focuses(cx, tab, &title, "true", &before, &expected).await
}

/// Clicks the notification `title` and expects the app's page in `tab`,
/// which must not have the focus yet, to get it, and `then_js` to turn
/// true there, with the tabs still `before` a moment later. Firefox gives
/// the page focus (its `focus` event fires and `document.hasFocus()` turns
/// true) but, headless, does not bring its tab to the front
/// (`visibilityState` stays `hidden`), so the check is focus and no new
/// tab, not the selected tab.
pub(super) async fn click_focuses<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    title: &str,
    then_js: &str,
    before: &[String],
    expected: &str,
) -> Result<()> {
    let has_focus = cx
        .browser
        .eval(
            tab,
            "window.__harnessFocus = 0;
             window.addEventListener('focus', () => { window.__harnessFocus += 1; });
             document.hasFocus()",
            UI,
        )
        .await?;
    if has_focus != Value::Bool(false) {
        anyhow::bail!(
            "harness: the app's page kept the focus with a tab opened in front of it (document.hasFocus() is {has_focus}), so a click could not be seen to give it focus"
        );
    }
    cx.browser
        .click_notification(title, UI)
        .await
        .map_err(|e| failed(expected, format!("{e:#}")))?;
    // The `focus` event counts only while the document stays: a page that
    // reloads has focus but no count, and `then_js` says what else is due.
    let focused = format!(
        "(window.__harnessFocus === undefined || window.__harnessFocus > 0) && document.hasFocus() && ({then_js})"
    );
    if cx
        .browser
        .wait_until(tab, &focused, "the app's page to get focus", UI)
        .await
        .is_err()
    {
        let state = cx
            .browser
            .eval(
                tab,
                "({ url: location.href, focusEvents: window.__harnessFocus ?? null, hasFocus: document.hasFocus() })",
                UI,
            )
            .await
            .unwrap_or(Value::Null);
        let now = cx.browser.tab_urls().await?;
        return Err(failed(
            expected,
            format!(
                "not within {UI:?}: the page is at {} ({} `focus` events, document.hasFocus() {}); tabs before the click: {}; after: {}",
                state["url"],
                state["focusEvents"],
                state["hasFocus"],
                list(before),
                list(&now)
            ),
        ));
    }
    tokio::time::sleep(SETTLE).await;
    let now = cx.browser.tab_urls().await?;
    if now.len() != before.len() {
        return Err(failed(
            expected,
            format!(
                "the page got focus, but the tabs changed: before the click {}; after {}",
                list(before),
                list(&now)
            ),
        ));
    }
    Ok(())
}

/// (b): with the app's tabs closed, the click opens a new tab at the app.
async fn open_a_page<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    let app = cx.url();
    // Shown while a page can still show it; it outlives the page.
    let title = cx.headline("click me with no page open");
    show_notification(cx, tab, &title).await?;
    let expected = format!(
        "a click on the notification \"{title}\" (data \"/\"), with no page of the app open, to open a new tab at {app} (`clients.openWindow` in the worker's `notificationclick`)"
    );
    click_opens(cx, &title, &app, &expected).await
}

/// Closes the app's tabs, clicks the notification `title` and expects a
/// new tab at `url`.
pub(super) async fn click_opens<B: Browser>(
    cx: &mut Ctx<B>,
    title: &str,
    url: &str,
    expected: &str,
) -> Result<()> {
    for page in std::mem::take(&mut cx.tabs) {
        cx.browser.close_page(page).await?;
    }
    let before = cx.browser.tab_urls().await?;
    if before.iter().any(|open| open.starts_with(&cx.url())) {
        anyhow::bail!(
            "harness: a page of the app is still open after its tabs were closed: {}",
            list(&before)
        );
    }
    cx.browser
        .click_notification(title, UI)
        .await
        .map_err(|e| failed(expected, format!("{e:#}")))?;
    let deadline = tokio::time::Instant::now() + UI;
    loop {
        let now = cx.browser.tab_urls().await?;
        if now.len() == before.len() + 1 && now.iter().any(|open| open == url) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(failed(
                expected,
                format!(
                    "after {UI:?}, the tabs are {} (before the click: {})",
                    list(&now),
                    list(&before)
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Shows a notification from the page as the worker's `notify` does: the
/// worker's registration, `data` the path a click opens.
async fn show_notification<B: Browser>(cx: &mut Ctx<B>, tab: PageId, title: &str) -> Result<()> {
    let js = format!(
        "(async () => {{ const r = await navigator.serviceWorker.ready;
           await r.showNotification({}, {{ body: 'The harness clicks this.', data: '/' }});
           return true; }})()",
        js_str(title)
    );
    cx.browser.eval(tab, &js, UI).await.map_err(|e| {
        failed(
            format!("the page to show a notification \"{title}\" with the worker's registration"),
            format!("{e:#}"),
        )
    })?;
    Ok(())
}

/// Tab URLs, for a message.
fn list(urls: &[String]) -> String {
    if urls.is_empty() {
        "none".to_owned()
    } else {
        format!("[{}]", urls.join(", "))
    }
}
