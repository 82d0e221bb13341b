//! `update-pages` (goal 3): once a sync delivered an article, every open page
//! shows it, without a reload.

use anyhow::Result;
use serde_json::Value;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, add_article};
use super::pending_visible::WAITING_WORDS;
use crate::app::LIST;
use crate::browsers::{Browser, js_str};
use crate::standins::proxy::Mode;

pub(super) async fn update_pages<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let first = cx.ready().await?;
    let second = cx.second_tab().await?;
    for tab in [first, second] {
        cx.browser
            .eval(tab, "window.__harnessNoReload = true", UI)
            .await?;
    }

    cx.set_mode(Mode::Api503).await?;
    let headline = cx.headline("shown in every open page");
    add_article(&mut cx.browser, first, &headline).await?;
    cx.set_mode(Mode::Pass).await?;
    cx.deliver_pending(first).await?;
    let after = format!("after {}", cx.delivery());
    cx.wait_on_server(std::slice::from_ref(&headline), &after)
        .await?;

    for (tab, name) in [(second, "the other tab"), (first, "the tab that added it")] {
        // Shown as delivered: an item still marked as waiting (the page's
        // own outbox, `pending-visible`) does not count.
        let js = format!(
            "window.__harnessNoReload === true && Array.from(document.querySelectorAll({items}))
               .some(li => li.textContent.includes({h})
                 && !{waiting}.test(li.textContent.split({h}).join(' ')))",
            h = js_str(&headline),
            waiting = WAITING_WORDS,
            items = js_str(&format!("{LIST} li")),
        );
        if cx
            .browser
            .wait_until(tab, &js, "the new article in the list", UI)
            .await
            .is_err()
        {
            let reloaded = cx
                .browser
                .eval(tab, "window.__harnessNoReload !== true", UI)
                .await?
                == Value::Bool(true);
            return Err(failed(
                format!(
                    "\"{headline}\" in {LIST} of {name}, without a reload, once the sync delivered it"
                ),
                if reloaded {
                    "the page reloaded: update the DOM from the worker's message instead".to_owned()
                } else {
                    format!(
                        "not there after {UI:?} (did the worker post {{type: \"articles\"}} to every client?)"
                    )
                },
            ));
        }
    }
    Ok(())
}
