//! `notification` (goal 4): once a sync delivered two articles, the worker
//! shows one notification that says so.

use anyhow::Result;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, add_article, close_notifications, expect_notification};
use crate::browsers::Browser;
use crate::standins::proxy::Mode;

pub(super) async fn notification<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    // Earlier syncs may have shown notifications: start from none.
    close_notifications(&mut cx.browser, tab).await?;
    cx.set_mode(Mode::Api503).await?;
    let headlines = vec![cx.headline("first of two"), cx.headline("second of two")];
    for headline in &headlines {
        add_article(&mut cx.browser, tab, headline).await?;
    }
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
    .await
}
