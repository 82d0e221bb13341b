//! `worker-controls` (pre-lesson): `/sw.js` is registered, becomes active and
//! controls the page.

use anyhow::Result;
use serde_json::Value;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, wait_controlled, wait_for_registration, wait_list};
use crate::browsers::Browser;

pub(super) async fn worker_controls<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.tab().await?;
    let registration = wait_for_registration(&mut cx.browser, tab).await?;
    let script = registration["script"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !script.ends_with("/sw.js") {
        return Err(failed("the worker script /sw.js", script));
    }
    if cx
        .browser
        .eval(tab, "navigator.serviceWorker.controller !== null", UI)
        .await?
        != Value::Bool(true)
    {
        cx.browser.reload(tab).await?;
    }
    wait_controlled(&mut cx.browser, tab).await?;
    wait_list(&mut cx.browser, tab, 3).await
}
