//! `offline-shell` (pre-lesson): with the network off, a reload still shows
//! the app and says it is offline.

use anyhow::Result;

use super::context::Ctx;
use super::failed::failed;
use super::page::UI;
use crate::browsers::Browser;

pub(super) async fn offline_shell<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    cx.network_off().await?;
    let result = async {
        cx.browser.reload(tab).await?;
        let shell = "!!(document.querySelector('#add-article') && document.querySelector('#latest-headlines'))";
        if cx.browser.wait_until(tab, shell, "the shell", UI).await.is_err() {
            let title = cx.browser.eval(tab, "document.title + ' — ' + document.body.innerText.slice(0, 120)", UI).await;
            return Err(failed(
                "the app (form#add-article and #latest-headlines) after reloading with the network off",
                title.map(|t| t.to_string()).unwrap_or_else(|e| format!("{e:#}")),
            ));
        }
        let offline = "(() => { const s = document.querySelector('#connection-status'); \
                       return s && /offline/i.test(s.textContent); })()";
        if cx.browser.wait_until(tab, offline, "Offline", UI).await.is_err() {
            let text = cx.browser.text_of(tab, "#connection-status").await?;
            return Err(failed("#connection-status to say \"Offline\"", format!("{text:?}")));
        }
        Ok(())
    }
    .await;
    cx.network_on().await?;
    result
}
