//! `page-worker` (goal 1): the page hands an article to the worker over a
//! `MessageChannel` and shows its answer.

use anyhow::Result;

use super::context::Ctx;
use super::page::add_article;
use crate::browsers::Browser;

pub(super) async fn page_worker<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    let headline = cx.headline("the page asks the worker");
    add_article(&mut cx.browser, tab, &headline).await?;
    Ok(())
}
