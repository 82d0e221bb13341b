//! `sync-when-online` (goal 2, Chromium): an article added offline is sent
//! by the `sync` the browser itself fires when the network comes back.

use std::time::Duration;

use anyhow::Result;

use super::context::Ctx;
use super::failed::{Failed, failed};
use super::page::{UI, add_article, sync_tags};
use crate::browsers::Browser;

pub(super) async fn sync_when_online<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let mut tab = cx.ready().await?;
    // A sync that failed waits minutes for its retry, and registering the
    // same tag again does not bring it forward: start with none pending, or
    // the browser's own sync cannot be seen. An earlier checkpoint's failed
    // sync (the outbox's, against a server answering 503) is cleared with
    // the registration that holds it; the page then registers the worker
    // anew, as on a first visit. The outbox, in IndexedDB, stays.
    if matches!(sync_tags(&mut cx.browser, tab).await?, Some(tags) if !tags.is_empty()) {
        cx.browser.forget_service_workers().await?;
        cx.browser.reload(tab).await?;
        tab = cx.ready().await?;
    }
    let deadline = tokio::time::Instant::now() + UI;
    loop {
        match sync_tags(&mut cx.browser, tab).await? {
            None => {
                return Err(failed(
                    "`registration.sync` (Background Sync) in the page",
                    "it is undefined",
                ));
            }
            Some(tags) if tags.is_empty() => break,
            Some(tags) if tokio::time::Instant::now() >= deadline => {
                return Err(failed(
                    "no sync pending before going offline (an earlier article, sent online, should have synced at once)",
                    format!(
                        "still pending after {UI:?}: {tags:?} — Chromium retries a failed sync only after 5 minutes"
                    ),
                ));
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let mark = cx.browser.mark();
    cx.network_off().await?;
    let headline = cx.headline("queued offline, sent when back online");
    let added = add_article(&mut cx.browser, tab, &headline).await;
    // Never stop the worker while it is offline; back online in any case.
    cx.network_on().await?;
    added?;
    let syncs = |cx: &Ctx<B>| -> String {
        let events: Vec<String> = cx
            .browser
            .service_events(mark)
            .iter()
            .filter(|e| e.service == "backgroundSync")
            .map(|e| format!("{} ({})", e.name, e.details))
            .collect();
        if events.is_empty() {
            "none".into()
        } else {
            events.join("; ")
        }
    };
    cx.wait_on_server(
        std::slice::from_ref(&headline),
        "after the network came back (the harness fired no sync)",
    )
    .await
    .map_err(|e| match e.downcast::<Failed>() {
        Ok(f) => failed(
            f.expected,
            format!(
                "{}; sync events the browser reported: {}",
                f.seen,
                syncs(cx)
            ),
        ),
        Err(e) => e,
    })?;
    cx.exactly_once(std::slice::from_ref(&headline)).await?;
    if !cx
        .browser
        .service_events(mark)
        .iter()
        .any(|e| e.service == "backgroundSync" && e.name.contains("Dispatched"))
    {
        return Err(failed(
            "the article delivered by a `sync` event that the browser fired when it came back online",
            format!(
                "it arrived, but the browser fired no sync (sync events: {})",
                syncs(cx)
            ),
        ));
    }
    Ok(())
}
