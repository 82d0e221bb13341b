//! `app-loads` (pre-lesson): the app shows its list of articles.

use anyhow::Result;

use super::context::Ctx;
use super::page::wait_list;
use crate::browsers::Browser;

pub(super) async fn app_loads<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.tab().await?;
    wait_list(&mut cx.browser, tab, 3).await
}
