//! Goal 2 where the browser has no Background Sync (Firefox, Safari): the
//! `sync` checkpoint's variant. Nothing fires `sync` there, so the app's
//! fallback is what must deliver the outbox: the worker sends right away,
//! keeps what failed, and sends again when a page says it is back online
//! (`PageMessage::Online`, from the page's `online` event and at load) and
//! when the worker starts. Judged, as everywhere, by what the server stores.

use anyhow::{Result, bail};

use super::context::{Ctx, in_order, queue_through_outages};
use super::failed::{Failed, failed};
use super::page::{add_article, wait_controlled};
use crate::app::SYNC_TAG;
use crate::browsers::Browser;
use crate::standins::proxy::Mode;

/// What a student who relied on `sync` alone should read.
const NO_SYNC: &str = "here `registration.sync` is undefined and no `sync` ever fires: \
     the worker must send its outbox itself, when a page says it is online and when it starts";

pub(super) async fn fallback_flush<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    // Kept through every kind of outage: a 503, nobody answering, the
    // server itself down.
    let (existing, queued) = queue_through_outages(cx, tab).await?;

    // The page comes back online while the server still answers 503: the
    // worker must try, and keep the outbox.
    let before = cx.proxy.api_requests().len();
    cx.deliver(SYNC_TAG).await?;
    cx.wait_refused_post(
        before,
        &queued[0],
        "the worker to try to send the queued articles when the page came back online (its `online` event tells the worker)",
    )
    .await
    .map_err(|e| with_note(e, NO_SYNC))?;
    if cx.counts(&queued).await?.iter().any(|&n| n != 0) {
        bail!("harness bug: an article reached the server through a proxy answering 503");
    }

    // The server is back, and so is the page: everything goes out.
    cx.set_mode(Mode::Pass).await?;
    cx.deliver(SYNC_TAG).await?;
    let articles = cx
        .wait_on_server(
            &queued,
            "after the server came back and the page came back online (an earlier try got 503: was the outbox kept?)",
        )
        .await?;
    cx.exactly_once(&queued).await?;
    in_order(&queued, &articles)?;
    let now = cx.server.articles().await?;
    if let Some(lost) = existing
        .iter()
        .find(|h| !now.iter().any(|a| &a.headline == *h))
    {
        bail!("the server lost \"{lost}\" across a restart on the same database");
    }

    // The second path: what is queued when the browser closes goes out when
    // it starts again, with no `online` event — the worker flushes on start
    // (and the page, opened again, says it is there).
    cx.set_mode(Mode::Api503).await?;
    let h = cx.headline("queued before a browser restart");
    let before = cx.proxy.api_requests().len();
    add_article(&mut cx.browser, tab, &h).await?;
    // Let a first try (right away) reach the proxy before the browser goes.
    let _ = cx.wait_refused_post(before, &h, "").await;
    cx.browser.restart().await?;
    cx.tabs.clear();
    cx.set_mode(Mode::Pass).await?;
    let tab = cx.tab().await?;
    wait_controlled(&mut cx.browser, tab).await?;
    let restarted = [h];
    cx.wait_on_server(
        &restarted,
        "after the browser restarted on the same profile and the app was opened again (no page went offline or online)",
    )
    .await
    .map_err(|e| with_note(e, NO_SYNC))?;
    cx.exactly_once(&restarted).await
}

/// Adds `note` to what a failed check saw.
fn with_note(error: anyhow::Error, note: &str) -> anyhow::Error {
    match error.downcast::<Failed>() {
        Ok(f) => failed(f.expected, format!("{} — {note}", f.seen)),
        Err(e) => e,
    }
}
