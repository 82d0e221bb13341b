//! `sync` (goal 2): articles queued through every kind of outage are sent by
//! a `sync`, in order and exactly once, and a sync that fails keeps them.
//! Where there is no Background Sync, the app's fallback instead
//! (`fallback.rs`).

use anyhow::{Result, bail};

use super::context::{Ctx, in_order, queue_through_outages};
use super::failed::failed;
use super::fallback;
use super::page::sync_tags;
use crate::browsers::{Browser, Feature};
use crate::standins::proxy::Mode;

pub(super) async fn sync<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    if !cx.browser.supports(Feature::BackgroundSync) {
        return fallback::fallback_flush(cx).await;
    }
    let tab = cx.ready().await?;
    let (existing, queued) = queue_through_outages(cx, tab).await?;

    let tags = sync_tags(&mut cx.browser, tab).await?;
    let tag = match tags.as_deref() {
        None => {
            return Err(failed(
                "`registration.sync` (Background Sync) in the page",
                "it is undefined",
            ));
        }
        Some([]) => {
            return Err(failed(
                "a pending sync (`registration.sync.getTags()` not empty) after articles were queued while the server was unreachable",
                "no tags: the worker did not register a sync, or the browser was told the failed sync succeeded",
            ));
        }
        Some([tag, ..]) => tag.clone(),
    };

    // A sync while the server still answers 503 must keep the outbox.
    let before = cx.proxy.api_requests().len();
    cx.fire_sync(&tag).await?;
    cx.wait_refused_post(
        before,
        &queued[0],
        "a sync to try to send the queued articles",
    )
    .await?;

    cx.set_mode(Mode::Pass).await?;
    cx.fire_sync(&tag).await?;
    let articles = cx
        .wait_on_server(&queued, "after a sync fired with the server back (an earlier sync got 503: was the outbox kept?)")
        .await?;
    cx.exactly_once(&queued).await?;
    in_order(&queued, &articles)?;
    // Nothing stored before was lost or duplicated by the restart and syncs.
    let now = cx.server.articles().await?;
    if let Some(lost) = existing
        .iter()
        .find(|h| !now.iter().any(|a| &a.headline == *h))
    {
        bail!("the server lost \"{lost}\" across a restart on the same database");
    }
    Ok(())
}
