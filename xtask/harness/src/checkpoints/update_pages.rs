//! `update-pages` (goal 3): once a sync delivered an article, every open page
//! shows it, without a reload — a page the worker does not control (opened
//! before it took over, or Shift-reloaded) too. The headline carries
//! markup, which must stay text on the way through the worker's message;
//! and a message the page does not know changes nothing.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, add_article, wait_list};
use super::pending_visible::WAITING_WORDS;
use crate::app::{ARTICLE_ITEMS, FORM_STATUS, LIST, STAR};
use crate::browsers::{Browser, PageId, js_str};
use crate::standins::proxy::Mode;

/// Markup in the headline: shown as text, it is these characters; taken
/// for HTML, a `<b>` element in the list.
const MARKUP: &str = "<b class=\"harness-markup\">bold?</b>";

pub(super) async fn update_pages<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let first = cx.ready().await?;
    let second = cx.second_tab().await?;
    // The other page as the worker does not control it: Shift-reloaded.
    cx.browser.hard_reload(second).await?;
    let uncontrolled = cx
        .browser
        .eval(second, "navigator.serviceWorker.controller === null", UI)
        .await?
        == Value::Bool(true);
    wait_list(&mut cx.browser, second, 1).await?;
    for tab in [first, second] {
        cx.browser
            .eval(tab, "window.__harnessNoReload = true", UI)
            .await?;
    }

    let starred = star_one(cx, first, true, None).await?;
    cx.set_mode(Mode::Api503).await?;
    let headline = format!("{} {MARKUP}", cx.headline("shown in every open page"));
    add_article(&mut cx.browser, first, &headline).await?;
    cx.set_mode(Mode::Pass).await?;
    cx.deliver_pending(first).await?;
    let after = format!("after {}", cx.delivery());
    cx.wait_on_server(std::slice::from_ref(&headline), &after)
        .await?;

    let other = if uncontrolled {
        "the other tab, which the worker does not control (Shift-reloaded)"
    } else {
        "the other tab"
    };
    // The worker tells every page at once: once the first shows it, the
    // other has no reason to take long.
    for (tab, name, within) in [
        (first, "the tab that added it", UI),
        (second, other, Duration::from_secs(2)),
    ] {
        shown_without_reload(cx, tab, name, &headline, within).await?;
    }
    stars_kept(cx, first, &starred).await?;
    unknown_message_ignored(cx, first).await
}

/// Fails unless `tab` shows `headline` within `within`, as text,
/// delivered, without having reloaded.
async fn shown_without_reload<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    name: &str,
    headline: &str,
    within: Duration,
) -> Result<()> {
    // Shown as delivered: an item still marked as waiting (the page's own
    // outbox, `pending-visible`) does not count.
    let js = format!(
        "window.__harnessNoReload === true && Array.from(document.querySelectorAll({items}))
           .some(li => li.textContent.includes({h})
             && !{waiting}.test(li.textContent.split({h}).join(' ')))",
        h = js_str(headline),
        waiting = WAITING_WORDS,
        items = js_str(&format!("{LIST} li")),
    );
    if cx
        .browser
        .wait_until(tab, &js, "the new article in the list", within)
        .await
        .is_ok()
    {
        return Ok(());
    }
    let reloaded = cx
        .browser
        .eval(tab, "window.__harnessNoReload !== true", UI)
        .await?
        == Value::Bool(true);
    let as_html = cx
        .browser
        .eval(
            tab,
            &format!(
                "!!document.querySelector({})",
                js_str(&format!("{LIST} b.harness-markup"))
            ),
            UI,
        )
        .await?
        == Value::Bool(true);
    Err(failed(
        format!("\"{headline}\" in {LIST} of {name}, without a reload, once the sync delivered it"),
        if reloaded {
            "the page reloaded: update the DOM from the worker's message instead".to_owned()
        } else if as_html {
            "the headline's markup became a `<b>` element: a headline is what a user typed, so it goes into the page as text (`set_text_content`, as `render` does), never as HTML".to_owned()
        } else {
            format!(
                "not there after {within:?} (did the worker post {{type: \"articles\"}} to every window client, those it does not control too, and does the page listen for it?)"
            )
        },
    ))
}

/// The list's ids and the status line, to compare before and after.
fn page_state_js() -> String {
    format!(
        "JSON.stringify([document.querySelector({status})?.textContent,
           Array.from(document.querySelectorAll({items})).map(li => li.dataset.id)])",
        status = js_str(FORM_STATUS),
        items = js_str(ARTICLE_ITEMS)
    )
}

/// A message of a type the page does not know, as the worker would post
/// it (with an empty list of articles, for a page that guesses).
const MYSTERY_MESSAGE_JS: &str = "(() => {
    navigator.serviceWorker.dispatchEvent(new MessageEvent('message',
        { data: { type: 'harness-no-such-message', articles: [], delivered: 1 } }));
    return true; })()";

/// Fails unless a message of a type the page does not know leaves the
/// page as it was: no reload, the same list, the same status.
async fn unknown_message_ignored<B: Browser>(cx: &mut Ctx<B>, tab: PageId) -> Result<()> {
    let before = cx.browser.eval(tab, &page_state_js(), UI).await?;
    cx.browser.eval(tab, MYSTERY_MESSAGE_JS, UI).await?;
    // What a page does with a message it does not know, it does at once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reloaded = cx
        .browser
        .eval(tab, "window.__harnessNoReload !== true", UI)
        .await?
        == Value::Bool(true);
    let after = cx.browser.eval(tab, &page_state_js(), UI).await?;
    if reloaded || after != before {
        return Err(failed(
            "a message from the worker of a type the page does not know (`{type: \"harness-no-such-message\"}`) logged and otherwise ignored: not guessed at",
            if reloaded {
                "the page reloaded".to_owned()
            } else {
                format!("the list or the status line changed: before {before}, after {after}")
            },
        ));
    }
    Ok(())
}

/// Presses the star of the article `id` (of the first article whose star
/// is not in the state wanted, without one) until it shows `pressed`;
/// returns the article's id.
async fn star_one<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    pressed: bool,
    id: Option<&str>,
) -> Result<String> {
    let item = match id {
        Some(id) => format!("{ARTICLE_ITEMS}[data-id={}]", serde_json::to_string(id)?),
        None => ARTICLE_ITEMS.to_owned(),
    };
    let press = format!(
        "(() => {{ const li = Array.from(document.querySelectorAll({items}))
             .find(li => li.querySelector({star})?.getAttribute('aria-pressed') === {from});
           if (!li) return null; li.querySelector({star}).click(); return li.dataset.id; }})()",
        items = js_str(&item),
        star = js_str(STAR),
        from = js_str(if pressed { "false" } else { "true" }),
    );
    let Some(id) = cx
        .browser
        .eval(tab, &press, UI)
        .await?
        .as_str()
        .map(str::to_owned)
    else {
        return Err(failed(
            format!("an article in {LIST} with a star (`{STAR}`) to press"),
            "none",
        ));
    };
    let shown = star_shows_js(&id, pressed);
    if cx
        .browser
        .wait_until(tab, &shown, "the star", UI)
        .await
        .is_err()
    {
        return Err(failed(
            format!("the star of article {id} pressed (`aria-pressed` \"{pressed}\") once clicked"),
            format!("not after {UI:?}"),
        ));
    }
    Ok(id)
}

/// Whether the star of the article `id` shows `pressed`.
fn star_shows_js(id: &str, pressed: bool) -> String {
    format!(
        "document.querySelector({})?.getAttribute('aria-pressed') === {}",
        js_str(&format!(
            "{ARTICLE_ITEMS}[data-id={}] {STAR}",
            serde_json::Value::from(id)
        )),
        js_str(&pressed.to_string())
    )
}

/// Fails unless the article starred before the sync is still starred in
/// the list the worker's message brought; then unstars it again.
async fn stars_kept<B: Browser>(cx: &mut Ctx<B>, tab: PageId, id: &str) -> Result<()> {
    let kept = cx.browser.eval(tab, &star_shows_js(id, true), UI).await?;
    if kept != Value::Bool(true) {
        return Err(failed(
            format!(
                "the article {id}, starred before the sync, still starred in the list the worker's message brought (its list has no stars: the page keeps those, in `STATE`)"
            ),
            "its star is no longer pressed: the list was shown without this page's starred articles",
        ));
    }
    star_one(cx, tab, false, Some(id)).await.map(drop)
}
