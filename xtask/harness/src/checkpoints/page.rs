//! What the checkpoints do in the app's page and ask of it, written once over
//! [`Browser`]: wait for the list and the worker, add an article through the
//! form, read the notifications and the pending syncs.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::failed::{failed, quote_all};
use crate::app::{ARTICLE_ITEMS, BYLINE_INPUT, FORM_STATUS, HEADLINE_INPUT, LIST_NOTE, SUBMIT};
use crate::browsers::{Browser, PageId, js_str};

/// How long the page may take to show what a checkpoint waits for.
pub const UI: Duration = Duration::from_secs(10);

pub(super) async fn list_len<B: Browser>(b: &mut B, tab: PageId) -> Result<u64> {
    let js = format!(
        "document.querySelectorAll({}).length",
        js_str(ARTICLE_ITEMS)
    );
    Ok(b.eval(tab, &js, UI).await?.as_u64().unwrap_or(0))
}

pub(super) async fn wait_list<B: Browser>(b: &mut B, tab: PageId, at_least: u64) -> Result<()> {
    let js = format!(
        "document.querySelectorAll({}).length >= {at_least}",
        js_str(ARTICLE_ITEMS)
    );
    if b.wait_until(tab, &js, "the list", UI).await.is_err() {
        let n = list_len(b, tab).await.unwrap_or(0);
        // What the page itself says about its list ("Cannot load the
        // news…") tells a fetch that failed from a page that never started.
        let note = b
            .text_of(tab, LIST_NOTE)
            .await
            .ok()
            .flatten()
            .filter(|note| !note.trim().is_empty())
            .map(|note| format!("; {LIST_NOTE} says \"{}\"", note.trim()))
            .unwrap_or_default();
        return Err(failed(
            format!("at least {at_least} articles in the list (`{ARTICLE_ITEMS}`)"),
            format!("{n} after {UI:?}{note}"),
        ));
    }
    Ok(())
}

pub(super) const REGISTRATION_JS: &str = "(async () => {
    const r = await navigator.serviceWorker.getRegistration('/');
    if (!r) return null;
    const w = r.active || r.waiting || r.installing;
    return { active: !!r.active, state: w ? w.state : null, script: w ? w.scriptURL : null, scope: r.scope };
})()";

pub(super) async fn wait_for_registration<B: Browser>(b: &mut B, tab: PageId) -> Result<Value> {
    let active = format!("{REGISTRATION_JS}.then(r => r && r.active ? r : null)");
    match b
        .wait_until(
            tab,
            &active,
            "an active service worker",
            Duration::from_secs(20),
        )
        .await
    {
        Ok(registration) => Ok(registration),
        Err(_) => {
            let seen = b
                .eval(tab, REGISTRATION_JS, UI)
                .await
                .unwrap_or(Value::Null);
            Err(failed(
                "a service worker registered for / (script /sw.js) that becomes active within 20 s",
                match seen {
                    Value::Null => "no registration at all".to_owned(),
                    r => format!("the registration {r}"),
                },
            ))
        }
    }
}

pub(super) async fn wait_controlled<B: Browser>(b: &mut B, tab: PageId) -> Result<()> {
    if b.wait_until(
        tab,
        "navigator.serviceWorker.controller !== null",
        "a controller",
        UI,
    )
    .await
    .is_err()
    {
        return Err(failed(
            "the page controlled by the worker (`navigator.serviceWorker.controller` set)",
            "no controller, even after a reload",
        ));
    }
    Ok(())
}

/// Fills the form and submits it; waits for the worker's answer in
/// [`FORM_STATUS`] and returns it.
pub(super) async fn add_article<B: Browser>(
    b: &mut B,
    tab: PageId,
    headline: &str,
) -> Result<String> {
    add_article_by(b, tab, headline, "The Harness").await
}

/// [`add_article`] with a byline of the caller's (the book's screenshots
/// name theirs).
pub async fn add_article_by<B: Browser>(
    b: &mut B,
    tab: PageId,
    headline: &str,
    byline: &str,
) -> Result<String> {
    // Clear the status first, so the answer we read is to this submission.
    let clear = format!(
        "(() => {{ const s = document.querySelector({}); if (s) s.textContent = ''; return !!s; }})()",
        js_str(FORM_STATUS)
    );
    b.eval(tab, &clear, UI).await?;
    b.fill(tab, HEADLINE_INPUT, headline)
        .await
        .map_err(|e| failed(format!("the form input {HEADLINE_INPUT}"), format!("{e:#}")))?;
    b.fill(tab, BYLINE_INPUT, byline)
        .await
        .map_err(|e| failed(format!("the form input {BYLINE_INPUT}"), format!("{e:#}")))?;
    b.click(tab, SUBMIT)
        .await
        .map_err(|e| failed(format!("the submit button {SUBMIT}"), format!("{e:#}")))?;
    // The worker's answer, or (failing fast) any other final text that stays
    // put for a second; a text ending in an ellipsis is still in progress.
    let expected = format!(
        "{FORM_STATUS} to show the worker's answer (\"Queued — N waiting\") after submitting the form"
    );
    let deadline = tokio::time::Instant::now() + UI;
    let mut settled: Option<(String, tokio::time::Instant)> = None;
    loop {
        let text = b
            .text_of(tab, FORM_STATUS)
            .await?
            .map(|t| t.trim().to_owned());
        let Some(text) = text else {
            return Err(failed(expected, format!("no {FORM_STATUS} element")));
        };
        let lower = text.to_lowercase();
        if ["queued", "sent", "waiting"]
            .iter()
            .any(|w| lower.contains(w))
        {
            return Ok(text);
        }
        let now = tokio::time::Instant::now();
        let in_progress = text.is_empty() || text.ends_with('…') || text.ends_with("...");
        match &settled {
            Some((seen, since))
                if *seen == text && now - *since >= Duration::from_secs(1) && !in_progress =>
            {
                return Err(failed(expected, format!("\"{text}\"")));
            }
            Some((seen, _)) if *seen == text => {}
            _ => settled = Some((text.clone(), now)),
        }
        if now >= deadline {
            let seen = if text.is_empty() {
                format!("it stayed empty for {UI:?}")
            } else {
                format!("\"{text}\"")
            };
            return Err(failed(expected, seen));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Closes every notification the app shows, so a check starts from none.
pub(super) async fn close_notifications<B: Browser>(b: &mut B, tab: PageId) -> Result<()> {
    b.eval(
        tab,
        "(async () => { const r = await navigator.serviceWorker.ready;
           for (const n of await r.getNotifications()) n.close(); return true; })()",
        UI,
    )
    .await?;
    Ok(())
}

/// The notifications the app shows now, as (title, body). Read them only
/// once the browser reported one shown: `getNotifications()` while
/// `showNotification()` is pending can make Chromium drop it.
pub(super) async fn shown_notifications<B: Browser>(
    b: &mut B,
    tab: PageId,
) -> Result<Vec<(String, String)>> {
    let shown = b
        .eval(
            tab,
            "(async () => { const r = await navigator.serviceWorker.ready;
               return (await r.getNotifications()).map(n => [n.title, n.body]); })()",
            UI,
        )
        .await?;
    Ok(shown
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n[0].as_str().unwrap_or_default().to_owned(),
                n[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// Fails unless a notification the app shows now passes `matches` (given
/// its title and body); otherwise says what is shown, followed by `hint`.
pub(super) async fn expect_notification<B: Browser>(
    b: &mut B,
    tab: PageId,
    expected: &str,
    hint: &str,
    matches: impl Fn(&str, &str) -> bool,
) -> Result<()> {
    let shown = shown_notifications(b, tab).await?;
    if shown.iter().any(|(title, body)| matches(title, body)) {
        return Ok(());
    }
    let texts: Vec<String> = shown
        .iter()
        .map(|(title, body)| format!("{title} | {body}"))
        .collect();
    Err(failed(
        expected,
        if texts.is_empty() {
            "no notification".to_owned()
        } else {
            format!("{}{hint}", quote_all(&texts))
        },
    ))
}

/// Said after the notifications shown when none carries the pushed headline.
pub(super) const PAYLOAD_HINT: &str = " (was the payload read, `event.data().text()`?)";

/// The tags of the pending syncs, as the page sees them (`None` where the
/// browser has no Background Sync).
pub(super) async fn sync_tags<B: Browser>(b: &mut B, tab: PageId) -> Result<Option<Vec<String>>> {
    let js = "(async () => { const r = await navigator.serviceWorker.ready; \
              return r.sync ? await r.sync.getTags() : null; })()";
    let tags = b.eval(tab, js, UI).await?;
    Ok(tags.as_array().map(|a| {
        a.iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    }))
}
