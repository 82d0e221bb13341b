//! `status-true` (goal 3): the form's status line says what became of an
//! article — queued, then sent — and a screen reader hears each new status
//! (an ARIA live region). Judged by the page's text only, as
//! `pending_visible.rs` is.

use anyhow::Result;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, add_article};
use crate::browsers::Browser;
use crate::standins::proxy::Mode;

/// How `#form-status` is announced: the politeness its `aria-live` or its
/// role gives it, if any.
const LIVE_JS: &str =
    "(() => { const s = document.querySelector('#form-status'); if (!s) return null;
    const implied = { status: 'polite', log: 'polite', alert: 'assertive' }[s.getAttribute('role')];
    return s.getAttribute('aria-live') || implied || 'off'; })()";

pub(super) async fn status_true<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    let live = cx.browser.eval(tab, LIVE_JS, UI).await?;
    if !matches!(live.as_str(), Some("polite" | "assertive")) {
        return Err(failed(
            "#form-status to be an ARIA live region (`role=\"status\"` or `aria-live=\"polite\"`), so that a screen reader says each new status",
            match live.as_str() {
                None => "no #form-status".to_owned(),
                Some(politeness) => format!("aria-live {politeness}"),
            },
        ));
    }
    cx.set_mode(Mode::Api503).await?;
    let headline = cx.headline("queued, then sent");
    let queued = add_article(&mut cx.browser, tab, &headline).await;
    cx.set_mode(Mode::Pass).await?;
    queued?;
    cx.deliver_pending(tab).await?;
    let after = format!("after {}", cx.delivery());
    cx.wait_on_server(std::slice::from_ref(&headline), &after)
        .await?;
    let sent = "(() => { const t = document.querySelector('#form-status').textContent;
                 return /sent|delivered/i.test(t) && !/queued|waiting/i.test(t); })()";
    if cx
        .browser
        .wait_until(tab, sent, "the status saying sent", UI)
        .await
        .is_err()
    {
        let status = cx.browser.text_of(tab, "#form-status").await?;
        return Err(failed(
            format!(
                "#form-status to say the article was sent (\"Sent — 1 delivered\") once {} delivered it",
                cx.delivery()
            ),
            format!(
                "it says {:?} after {UI:?}",
                status.unwrap_or_default().trim()
            ),
        ));
    }
    Ok(())
}
