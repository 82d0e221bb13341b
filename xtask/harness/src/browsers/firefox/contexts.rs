//! The tabs as BiDi sees them (browsing contexts): listing them, running
//! script in one, reloading one, and emulating the network.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::scripts::{GO_OFFLINE, GO_ONLINE, HEAR_ONLINE, OFFLINE_PRELOAD, TELL_ONLINE};
use super::{COMMAND_TIMEOUT, LOAD_TIMEOUT};
use crate::browsers::PageId;
use crate::protocol::bidi;

impl super::Firefox {
    /// Offline as the pages see it, where the browser cannot emulate it: a
    /// preload script tells every page opened from now on, and a script in
    /// each open tab tells it now.
    pub(super) async fn tell_pages_offline(&mut self, offline: bool) -> Result<()> {
        if offline && self.preload.is_none() {
            let added = self
                .call(
                    "script.addPreloadScript",
                    json!({ "functionDeclaration": OFFLINE_PRELOAD }),
                )
                .await?;
            self.preload = added["script"].as_str().map(str::to_owned);
        } else if !offline && let Some(script) = self.preload.take() {
            self.call("script.removePreloadScript", json!({ "script": script }))
                .await?;
        }
        let js = if offline { GO_OFFLINE } else { GO_ONLINE };
        for context in self.open_pages().cloned().collect::<Vec<_>>() {
            self.evaluate(&context, js, COMMAND_TIMEOUT)
                .await
                .with_context(|| {
                    format!(
                        "telling a tab it is {}",
                        if offline { "offline" } else { "online" }
                    )
                })?;
        }
        Ok(())
    }

    /// Every top-level browsing context (tab) now, as BiDi lists them:
    /// (context, url).
    pub(super) async fn contexts(&self) -> Result<Vec<(String, String)>> {
        let tree = self
            .call("browsingContext.getTree", json!({ "maxDepth": 0 }))
            .await?;
        Ok(tree["contexts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                (
                    c["context"].as_str().unwrap_or_default().to_owned(),
                    c["url"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect())
    }

    /// `script.evaluate` in the tab `context`, as plain JSON.
    pub(super) async fn evaluate(
        &self,
        context: &str,
        expression: &str,
        timeout: Duration,
    ) -> Result<Value> {
        let result = self
            .bidi()?
            .call(
                "script.evaluate",
                json!({
                    "expression": expression,
                    "target": { "context": context },
                    "awaitPromise": true,
                    "resultOwnership": "none",
                    "userActivation": true,
                }),
                timeout,
            )
            .await?;
        if result["type"] == "exception" {
            let details = &result["exceptionDetails"];
            let text = details["text"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| bidi::to_json(&details["exception"]).to_string());
            bail!("the page threw: {text}");
        }
        Ok(bidi::to_json(&result["result"]))
    }

    /// Reloads the tab; with `ignore_cache`, as Shift+Reload does, past the
    /// HTTP cache and the service worker.
    pub(super) async fn reload_with(&self, page: PageId, ignore_cache: bool) -> Result<()> {
        let context = self.page(page)?;
        let mut params = json!({ "context": context, "wait": "complete" });
        if ignore_cache {
            // Only when asked: a Firefox that does not know the argument
            // (ESR 140) refuses it even when false.
            params["ignoreCache"] = Value::Bool(true);
        }
        self.bidi()?
            .call("browsingContext.reload", params, LOAD_TIMEOUT)
            .await
            .context("reloading the tab")?;
        Ok(())
    }

    /// `emulation.setNetworkConditions`: offline, or back online (`null`), for
    /// the tab `context` or, with `None`, every tab. Back online, each tab
    /// the browser leaves without its `online` event gets one (see
    /// `TELL_ONLINE`); with `None`, only coming back from offline (the
    /// checkpoints turn the network on before each, mostly when it is on).
    pub(super) async fn emulate_network(&self, offline: bool, context: Option<&str>) -> Result<()> {
        let mut params = json!({ "networkConditions": null });
        if offline {
            params["networkConditions"] = json!({ "type": "offline" });
        }
        let tabs: Vec<String> = match context {
            Some(context) => {
                params["contexts"] = json!([context]);
                vec![context.to_owned()]
            }
            None if self.offline => self.open_pages().cloned().collect(),
            None => Vec::new(),
        };
        if offline {
            self.call("emulation.setNetworkConditions", params).await?;
            return Ok(());
        }
        for tab in &tabs {
            self.evaluate(tab, HEAR_ONLINE, COMMAND_TIMEOUT)
                .await
                .context("listening for a tab's `online` event")?;
        }
        self.call("emulation.setNetworkConditions", params).await?;
        for tab in &tabs {
            self.evaluate(tab, TELL_ONLINE, COMMAND_TIMEOUT)
                .await
                .context("telling a tab it is online")?;
        }
        Ok(())
    }
}
