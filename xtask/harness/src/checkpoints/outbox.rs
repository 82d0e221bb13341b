//! `outbox` (goal 2): an article the server refused is kept through a stopped
//! worker (or a restarted browser) and delivered exactly once when the
//! server is back: the outbox is on disk, never only in the worker's memory.

use anyhow::{Result, bail};

use super::context::Ctx;
use super::failed::{Failed, failed};
use super::page::{add_article, sync_tags, wait_controlled};
use crate::app::SYNC_TAG;
use crate::browsers::{Browser, Feature};
use crate::standins::proxy::Mode;

pub(super) async fn outbox<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    cx.set_mode(Mode::Api503).await?;
    let headline = cx.headline("kept through a stopped worker");
    let before = cx.proxy.api_requests().len();
    add_article(&mut cx.browser, tab, &headline).await?;
    // The worker may try at once (a sync fires as soon as it is registered
    // while online); let that attempt reach the server before the worker is
    // stopped. Not a requirement: a worker that waits is fine too.
    let _ = cx.wait_refused_post(before, &headline, "").await;

    // Nothing in the worker's memory survives this.
    let before_restart = cx.proxy.api_requests().len();
    let tab = if cx.browser.supports(Feature::StopWorkers) {
        cx.browser.stop_workers().await?;
        // A navigation starts the worker again.
        cx.browser.reload(tab).await?;
        tab
    } else {
        cx.browser.restart().await?;
        cx.tabs.clear();
        cx.tab().await?
    };
    wait_controlled(&mut cx.browser, tab).await?;
    let tags = sync_tags(&mut cx.browser, tab).await?.unwrap_or_default();
    let tag = tags.first().cloned().unwrap_or_else(|| SYNC_TAG.to_owned());

    let (before, expected) = if cx.browser.supports(Feature::BackgroundSync) {
        let before = cx.proxy.api_requests().len();
        cx.fire_sync(&tag).await?;
        (
            before,
            "the restarted worker to send the queued article when a sync fires (the server, answering 503, should be sent it)",
        )
    } else {
        // Without Background Sync the worker sends its outbox when it starts
        // and when the page, opened again, says it is online.
        (
            before_restart,
            "the worker, started again with the browser, to send the queued article by itself (the server, answering 503, should be sent it)",
        )
    };
    let why = if cx.browser.supports(Feature::BackgroundSync) {
        "was the outbox only in memory?"
    } else {
        "without Background Sync the worker must send its outbox when it starts; if it does, was the outbox only in memory?"
    };
    cx.wait_refused_post(before, &headline, expected)
        .await
        .map_err(|e| match e.downcast::<Failed>() {
            Ok(f) => failed(f.expected, format!("{} — {why}", f.seen)),
            Err(e) => e,
        })?;
    if cx.counts(std::slice::from_ref(&headline)).await?[0] != 0 {
        bail!("harness bug: an article reached the server through a proxy answering 503");
    }

    cx.set_mode(Mode::Pass).await?;
    cx.deliver(&tag).await?;
    let after = format!("after the server came back and {}", cx.delivery());
    cx.wait_on_server(std::slice::from_ref(&headline), &after)
        .await?;
    cx.exactly_once(&[headline]).await
}
