//! `starred-offline` (pre-lesson): an article starred online is still in the
//! list after a reload with the network off.

use anyhow::{Context, Result};
use serde_json::Value;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, list_len, wait_list};
use crate::app::{ARTICLE_ITEMS, LIST, STAR};
use crate::browsers::{Browser, js_str};

pub(super) async fn starred_offline<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    cx.browser.reload(tab).await?;
    wait_list(&mut cx.browser, tab, 1).await?;
    let star = format!(
        "(() => {{ const li = document.querySelector({}); if (!li) return null;
           const b = li.querySelector({}); if (!b) return {{id: li.dataset.id, button: false}};
           if (b.getAttribute('aria-pressed') !== 'true') b.click();
           return {{id: li.dataset.id, button: true,
                    headline: (li.querySelector('.headline') || li).textContent.trim()}}; }})()",
        js_str(ARTICLE_ITEMS),
        js_str(STAR)
    );
    let starred = cx.browser.eval(tab, &star, UI).await?;
    let id = starred["id"]
        .as_str()
        .context("no article in the list to star")?
        .to_owned();
    if starred["button"] != Value::Bool(true) {
        return Err(failed(
            format!("a `{STAR}` in each list item"),
            "none in the first item",
        ));
    }
    let item = format!("{LIST} li[data-id={}]", js_str(&id));
    let pressed = format!(
        "document.querySelector({})?.getAttribute('aria-pressed') === 'true'",
        js_str(&format!("{item} {STAR}"))
    );
    if cx
        .browser
        .wait_until(tab, &pressed, "aria-pressed", UI)
        .await
        .is_err()
    {
        return Err(failed(
            "the star button to become aria-pressed=\"true\" when clicked",
            "it did not",
        ));
    }
    cx.network_off().await?;
    let result = async {
        cx.browser.reload(tab).await?;
        let shown = format!("!!document.querySelector({})", js_str(&item));
        if cx
            .browser
            .wait_until(tab, &shown, "the starred article", UI)
            .await
            .is_err()
        {
            let n = list_len(&mut cx.browser, tab).await.unwrap_or(0);
            return Err(failed(
                format!(
                    "the starred article \"{}\" in the list after reloading offline",
                    starred["headline"].as_str().unwrap_or(&id)
                ),
                format!("{n} articles in the list, not that one"),
            ));
        }
        Ok(())
    }
    .await;
    cx.network_on().await?;
    // Leave the page online and fresh for the next checkpoint.
    cx.browser.reload(tab).await?;
    result
}
