//! Goal 2, the queue's two ways out that are not "delivered": an article
//! the server refuses for good (a 4xx) and one that waited past the
//! retention limit (7 days), which the server refuses too, judging by its
//! own clock the `queued_at` the worker sends (the worker never drops one
//! by its clock, which can jump). Both must leave the outbox, the user must
//! be told, and neither may hold back the article queued after them.
//!
//! No form can queue such articles (the worker checks what it queues, and
//! the clock cannot be turned back), so the check writes them into the
//! outbox itself, in the worker's own format, the way an older version of
//! the app or a long-closed laptop would have left them.

use anyhow::Result;

use super::context::Ctx;
use super::failed::{failed, quote_all};
use super::page::{UI, close_notifications, shown_notifications};
use super::pending_visible::WAITING_WORDS;
use super::worker_spy::{self, Notifications};
use crate::app::{DB_NAME, DB_VERSION, FORM_STATUS, LIST, OUTBOX_STORE, STARRED_STORE};
use crate::browsers::{Browser, Mark, PageId, js_str};
use crate::standins::push_service::uuid;

const EIGHT_DAYS_MS: u64 = 8 * 24 * 60 * 60 * 1000;

pub(super) async fn refused_never_blocks<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    // Earlier checkpoints may have shown notifications: start from none.
    close_notifications(&mut cx.browser, tab).await?;
    let stale = cx.headline("waited eight days");
    let refused = format!(
        "{} {}",
        cx.headline("refused by the server"),
        "x".repeat(250)
    );
    let good = cx.headline("queued after the two bad ones");
    let entries = [
        (uuid()?, &stale, format!("Date.now() - {EIGHT_DAYS_MS}")),
        (uuid()?, &refused, "Date.now()".to_owned()),
        (uuid()?, &good, "Date.now()".to_owned()),
    ];
    cx.browser.eval(tab, &fill_js(&entries), UI).await?;

    let mark = cx.deliver_pending(tab).await?;
    let after = format!(
        "after {}, although a refused and a stale article were queued before it",
        cx.delivery()
    );
    let stored = cx
        .wait_on_server(std::slice::from_ref(&good), &after)
        .await?;
    cx.exactly_once(std::slice::from_ref(&good)).await?;
    for bad in [&stale, &refused] {
        if stored.iter().any(|a| &a.headline == bad) {
            return Err(failed(
                "the article that waited past the retention limit not sent",
                format!("\"{bad}\" is on the server"),
            ));
        }
    }

    outbox_emptied(cx, tab).await?;
    user_told(cx, tab, mark).await?;
    stale_named(cx, tab, &stale).await?;
    failed_notification_keeps_the_sync(cx, tab).await
}

/// Where the harness can make `showNotification` fail (Chromium, with a spy
/// in the worker): a stale article whose notification cannot be shown
/// still ends the sync well. The article is out of the outbox; a failed
/// sync would only be fired again, and find nothing to send.
async fn failed_notification_keeps_the_sync<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
) -> Result<()> {
    if !worker_spy::install(cx, Notifications::Fail).await? {
        return Ok(());
    }
    let checked = async {
        let stale = cx.headline("waited eight days, and its notification fails");
        let entry = [(uuid()?, &stale, format!("Date.now() - {EIGHT_DAYS_MS}"))];
        cx.browser.eval(tab, &fill_js(&entry), UI).await?;
        cx.deliver_pending(tab).await?;
        let Some(record) = worker_spy::wait_for(cx, UI, worker_spy::sync_settled).await? else {
            // The worker was stopped and started again: its spy is gone.
            return Ok(());
        };
        let outcome = record["syncs"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|s| s["outcome"].as_str())
            .unwrap_or("not settled")
            .to_owned();
        if outcome != "resolved" {
            return Err(failed(
                "the sync to succeed although the notification about a dropped article could not be shown: a failed notification must not fail the sync (the browser would fire it again, for nothing)",
                format!("the harness made `showNotification` fail, and the sync's promise: {outcome}"),
            ));
        }
        Ok(())
    }
    .await;
    worker_spy::remove(cx).await?;
    checked
}

/// Puts `entries` (id, headline, when queued as a JavaScript expression)
/// straight into the worker's outbox, as the worker itself would have.
fn fill_js(entries: &[(String, &String, String)]) -> String {
    let adds: String = entries
        .iter()
        .map(|(id, headline, at)| {
            format!(
                "store.add({{ article: {{ id: {}, headline: {}, byline: 'The Harness' }}, queued_at: {at} }});",
                js_str(id),
                js_str(headline)
            )
        })
        .collect();
    // The worker's schema (its `src/idb.rs`, `app.rs` here): the outbox keyed
    // by an auto-increment `seq`, the starred articles by `id`.
    let fill = format!(
        "new Promise((resolve, reject) => {{
           const open = indexedDB.open('{DB_NAME}', {DB_VERSION});
           open.onupgradeneeded = () => {{
             open.result.createObjectStore('{OUTBOX_STORE}', {{ keyPath: 'seq', autoIncrement: true }});
             open.result.createObjectStore('{STARRED_STORE}', {{ keyPath: 'id' }});
           }};
           open.onerror = () => reject(String(open.error));
           open.onsuccess = () => {{
             const db = open.result;
             const tx = db.transaction('{OUTBOX_STORE}', 'readwrite');
             const store = tx.objectStore('{OUTBOX_STORE}');
             {adds}
             tx.oncomplete = () => {{ db.close(); resolve(true); }};
             tx.onerror = () => reject(String(tx.error));
           }};
         }})"
    );
    fill
}

/// Waits until the outbox holds neither the refused article nor the stale
/// one: dropped, not retried forever.
async fn outbox_emptied<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    let left = format!(
        "new Promise((resolve, reject) => {{
           const open = indexedDB.open('{DB_NAME}', {DB_VERSION});
           open.onerror = () => reject(String(open.error));
           open.onsuccess = () => {{
             const request = open.result.transaction('{OUTBOX_STORE}').objectStore('{OUTBOX_STORE}').getAll();
             request.onsuccess = () => {{ open.result.close(); resolve(request.result.map(e => e.article.headline)); }};
             request.onerror = () => reject(String(request.error));
           }};
         }})"
    );
    let deadline = tokio::time::Instant::now() + UI;
    loop {
        let waiting = cx.browser.eval(tab, &left, UI).await?;
        let waiting: Vec<String> = waiting
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect();
        if waiting.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(failed(
                "an empty outbox: a refused article and a stale one are dropped, not retried forever",
                format!("still in the outbox: {}", quote_all(&waiting)),
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    Ok(())
}

/// The user is told, never silently: the page names what was not added,
/// and a notification says what was dropped for its age.
async fn user_told<B: Browser>(cx: &mut Ctx<B>, tab: PageId, mark: Mark) -> Result<()> {
    let told = format!(
        "document.querySelector({}).textContent.includes({})",
        js_str(FORM_STATUS),
        js_str("was not added")
    );
    if cx
        .browser
        .wait_until(tab, &told, "the page telling what was not added", UI)
        .await
        .is_err()
    {
        let read = format!(
            "document.querySelector({}).textContent",
            js_str(FORM_STATUS)
        );
        let status = cx.browser.eval(tab, &read, UI).await?;
        return Err(failed(
            format!(
                "{FORM_STATUS} to say an article \"was not added\" (the worker posts `{{type: \"rejected\"}}` to the pages)"
            ),
            format!("it says {status}"),
        ));
    }
    let expected =
        "a notification saying \"1 article could not be sent within 7 days and was dropped\"";
    let _ = cx
        .browser
        .wait_service_event(mark, "notifications", "Notification displayed", UI)
        .await;
    let deadline = tokio::time::Instant::now() + UI;
    loop {
        let titles: Vec<String> = shown_notifications(&mut cx.browser, tab)
            .await?
            .into_iter()
            .map(|(title, _)| title)
            .collect();
        if titles.iter().any(|t| t.contains("within 7 days")) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(failed(
                expected,
                if titles.is_empty() {
                    "no notification".to_owned()
                } else {
                    quote_all(&titles)
                },
            ));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Fails unless the page's list names the article dropped for its age as
/// not added (an item of its own, not marked as waiting): like a refused
/// one, the pages hear of it (`{type: "rejected"}`), not the notification
/// alone, which the user may have dismissed or never allowed.
async fn stale_named<B: Browser>(cx: &mut Ctx<B>, tab: PageId, stale: &str) -> Result<()> {
    let named = format!(
        "Array.from(document.querySelectorAll({items})).some(li => li.textContent.includes({h})
           && !{WAITING_WORDS}.test(li.textContent.split({h}).join(' ')))",
        items = js_str(&format!("{LIST} li")),
        h = js_str(stale),
    );
    if cx
        .browser
        .wait_until(tab, &named, "the stale article named", UI)
        .await
        .is_ok()
    {
        return Ok(());
    }
    Err(failed(
        format!(
            "\"{stale}\", dropped for its age, named in {LIST} as not added: the worker posts `{{type: \"rejected\"}}` to the pages for it too, not only the notification"
        ),
        format!("no list item shows it after {UI:?}, though the outbox no longer holds it"),
    ))
}
