//! `status-true` (goal 3): the form's status line says what became of an
//! article — queued, then sent — and a screen reader hears each new status
//! (an ARIA live region). Judged by the page's text only, as
//! `pending_visible.rs` is.

use anyhow::Result;

use super::context::Ctx;
use super::failed::failed;
use super::page::{UI, add_article};
use crate::app::FORM_STATUS;
use crate::browsers::{Browser, js_str};
use crate::standins::proxy::Mode;

/// How [`FORM_STATUS`] is announced: the politeness its `aria-live` or its
/// role gives it, if any.
fn live_js() -> String {
    format!(
        "(() => {{ const s = document.querySelector({}); if (!s) return null;
    const implied = {{ status: 'polite', log: 'polite', alert: 'assertive' }}[s.getAttribute('role')];
    return s.getAttribute('aria-live') || implied || 'off'; }})()",
        js_str(FORM_STATUS)
    )
}

pub(super) async fn status_true<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    let live = cx.browser.eval(tab, &live_js(), UI).await?;
    if !matches!(live.as_str(), Some("polite" | "assertive")) {
        return Err(failed(
            format!(
                "{FORM_STATUS} to be an ARIA live region (`role=\"status\"` or `aria-live=\"polite\"`), so that a screen reader says each new status"
            ),
            match live.as_str() {
                None => format!("no {FORM_STATUS}"),
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
    let sent = format!(
        "(() => {{ const t = document.querySelector({}).textContent;
           return /sent|delivered/i.test(t) && !/queued|waiting/i.test(t); }})()",
        js_str(FORM_STATUS)
    );
    if cx
        .browser
        .wait_until(tab, &sent, "the status saying sent", UI)
        .await
        .is_err()
    {
        let status = cx.browser.text_of(tab, FORM_STATUS).await?;
        return Err(failed(
            format!(
                "{FORM_STATUS} to say the article was sent (\"Sent — 1 delivered\") once {} delivered it",
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
