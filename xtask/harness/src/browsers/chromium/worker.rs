//! The harness's sessions to the app's service worker: the running one
//! (for its console and its network emulation) and the registration's
//! active one (for script run in it), and the registration's id.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::COMMAND_TIMEOUT;
use crate::protocol::cdp::Event;

impl super::Chromium {
    /// The app's service-worker registration id, as the ServiceWorker domain
    /// reported it.
    pub(super) async fn registration_id(&self) -> Result<String> {
        let scope = format!("{}/", self.origin);
        let updates = |cdp: &super::Cdp| {
            cdp.events_matching(0, |e| e.method == "ServiceWorker.workerRegistrationUpdated")
        };
        let find = |events: &[Event]| {
            let mut live: HashMap<String, bool> = HashMap::new();
            for e in events {
                for r in e.params["registrations"].as_array().into_iter().flatten() {
                    if r["scopeURL"] == scope.as_str() {
                        let id = r["registrationId"].as_str().unwrap_or_default().to_owned();
                        live.insert(id, !r["isDeleted"].as_bool().unwrap_or(false));
                    }
                }
            }
            live.into_iter().find(|(_, alive)| *alive).map(|(id, _)| id)
        };
        let cdp = self.cdp()?;
        if let Some(id) = find(&updates(cdp)) {
            return Ok(id);
        }
        let scope2 = scope.clone();
        cdp.wait_event(
            0,
            &format!("a service worker registration for {scope}"),
            COMMAND_TIMEOUT,
            move |e| {
                e.method == "ServiceWorker.workerRegistrationUpdated"
                    && e.params["registrations"]
                        .as_array()
                        .is_some_and(|rs| rs.iter().any(|r| r["scopeURL"] == scope2.as_str()))
            },
        )
        .await?;
        find(&updates(cdp)).with_context(|| format!("the registration for {scope} was deleted"))
    }

    /// The app's running service workers' targets. Usually one; while a new
    /// version takes over, the old one may still run beside it.
    pub(super) async fn worker_targets(&self) -> Result<Vec<String>> {
        let targets = self.call(None, "Target.getTargets", json!({})).await?;
        Ok(targets["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| {
                t["type"] == "service_worker"
                    && t["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(&self.origin))
            })
            .map(|t| t["targetId"].as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// One of the app's running service workers' targets, if any runs.
    pub(super) async fn worker_target(&self) -> Result<Option<String>> {
        Ok(self.worker_targets().await?.into_iter().next())
    }

    /// A flat session to `target`.
    pub(super) async fn attach(&self, target: &str) -> Result<String> {
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target, "flatten": true }),
            )
            .await?;
        let session = attached["sessionId"]
            .as_str()
            .context("attachToTarget gave no sessionId")?
            .to_owned();
        self.call(Some(&session), "Runtime.enable", json!({}))
            .await?;
        Ok(session)
    }

    /// A flat session to the running service worker, waiting up to `timeout`
    /// for it to run.
    pub(super) async fn worker_session(&mut self, timeout: Duration) -> Result<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        let target = loop {
            if let Some(target) = self.worker_target().await? {
                break target;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "timed out after {timeout:?} waiting for the app's service worker to be running"
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if let Some((known, session)) = &self.worker
            && *known == target
        {
            return Ok(session.clone());
        }
        let session = self.attach(&target).await?;
        self.worker_sessions.push(session.clone());
        self.call(Some(&session), "Network.enable", json!({}))
            .await?;
        self.worker = Some((target, session.clone()));
        Ok(session)
    }

    /// A flat session to the registration's active worker, the one that
    /// handles its events. While a new version takes over, the old one may
    /// still run beside it (`redundant`), and may be the target
    /// [`Chromium::worker_session`] finds: a spy put there would never see
    /// an event.
    pub(super) async fn active_worker_session(&mut self) -> Result<String> {
        // Waits for one to run, as `worker_session` does.
        self.worker_session(COMMAND_TIMEOUT).await?;
        let targets = self.worker_targets().await?;
        if let Some((known, session)) = &self.active_worker
            && targets.contains(known)
        {
            return Ok(session.clone());
        }
        for target in &targets {
            let session = self.attach(target).await?;
            self.worker_sessions.push(session.clone());
            let state = self
                .call(
                    Some(&session),
                    "Runtime.evaluate",
                    json!({ "expression": "self.serviceWorker ? self.serviceWorker.state : null", "returnByValue": true }),
                )
                .await?;
            if state["result"]["value"] == "activated" {
                self.active_worker = Some((target.clone(), session.clone()));
                return Ok(session);
            }
        }
        bail!("none of the app's running service workers is the active one")
    }

    /// Attaches to the worker if it runs, for its console output; never waits.
    pub(super) async fn watch_worker(&mut self) {
        if self.worker_target().await.ok().flatten().is_some() {
            let _ = self.worker_session(Duration::ZERO).await;
        }
    }
}
