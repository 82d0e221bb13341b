//! `offline-shell` (pre-lesson): with the network off, a reload still shows
//! the app and says it is offline.

use anyhow::Result;

use super::context::Ctx;
use super::failed::failed;
use super::page::UI;
use crate::app::{CONNECTION_STATUS, FORM, LIST};
use crate::browsers::{Browser, js_str};

pub(super) async fn offline_shell<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    cx.network_off().await?;
    let result = async {
        cx.browser.reload(tab).await?;
        let shell = format!(
            "!!(document.querySelector({}) && document.querySelector({}))",
            js_str(FORM),
            js_str(LIST)
        );
        if cx
            .browser
            .wait_until(tab, &shell, "the shell", UI)
            .await
            .is_err()
        {
            let title = cx
                .browser
                .eval(
                    tab,
                    "document.title + ' — ' + document.body.innerText.slice(0, 120)",
                    UI,
                )
                .await;
            return Err(failed(
                format!("the app (form{FORM} and {LIST}) after reloading with the network off"),
                title
                    .map(|t| t.to_string())
                    .unwrap_or_else(|e| format!("{e:#}")),
            ));
        }
        let offline = format!(
            "(() => {{ const s = document.querySelector({}); \
             return s && /offline/i.test(s.textContent); }})()",
            js_str(CONNECTION_STATUS)
        );
        if cx
            .browser
            .wait_until(tab, &offline, "Offline", UI)
            .await
            .is_err()
        {
            let text = cx.browser.text_of(tab, CONNECTION_STATUS).await?;
            return Err(failed(
                format!("{CONNECTION_STATUS} to say \"Offline\""),
                format!("{text:?}"),
            ));
        }
        Ok(())
    }
    .await;
    cx.network_on().await?;
    result
}
