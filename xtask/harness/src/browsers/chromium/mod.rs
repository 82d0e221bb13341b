//! Headless Chromium over the DevTools protocol: the [`Browser`]
//! implementation here; finding (or installing) it and launching it on a
//! fresh profile in `launch.rs`; what it reports (background-service events,
//! console lines) read back in `events.rs`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::browsers::process::Process;
use crate::browsers::{Browser, Feature, Mark, PageId, ServiceEvent};
use crate::protocol::cdp::{Cdp, Event};
use crate::util::TempDir;

mod events;
mod launch;

pub use launch::find_or_install;
use launch::launch;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- the browser

struct Page {
    session: String,
}

/// Chromium driven over one DevTools websocket.
pub struct Chromium {
    // Field order is drop order: the connection, then the process, then the
    // profile directory it was using.
    cdp: Option<Cdp>,
    process: Option<Process>,
    profile: TempDir,
    exe: PathBuf,
    origin: String,
    pages: Vec<Page>,
    /// The page session the ServiceWorker and BackgroundService domains are
    /// enabled on (the first tab).
    control: Option<String>,
    /// The service worker's target and our flat session to it.
    worker: Option<(String, String)>,
    offline: bool,
    product: String,
    /// Background-service events seen, across restarts; and how far the
    /// current connection's event log has been read into it.
    service_log: Mutex<(Vec<ServiceEvent>, usize)>,
    logs: Mutex<(Vec<String>, usize)>,
}

impl Chromium {
    /// Launches Chromium on a fresh profile and grants the app's origin the
    /// permissions the lesson needs.
    pub async fn launch(exe: PathBuf, origin: &str) -> Result<Self> {
        let mut browser = Self {
            cdp: None,
            process: None,
            profile: TempDir::new("harness-chromium-profile")?,
            exe,
            origin: origin.trim_end_matches('/').to_owned(),
            pages: Vec::new(),
            control: None,
            worker: None,
            offline: false,
            product: String::new(),
            service_log: Mutex::new((Vec::new(), 0)),
            logs: Mutex::new((Vec::new(), 0)),
        };
        browser.start().await?;
        Ok(browser)
    }

    async fn start(&mut self) -> Result<()> {
        let (process, url) = launch(&self.exe, self.profile.path()).await?;
        self.process = Some(process);
        let cdp = Cdp::connect(&url, COMMAND_TIMEOUT).await?;
        // The grant list replaces every other grant: leave one out and it is
        // denied.
        cdp.call(
            None,
            "Browser.grantPermissions",
            json!({ "origin": self.origin, "permissions": ["notifications", "backgroundSync"] }),
            COMMAND_TIMEOUT,
        )
        .await?;
        let version = cdp
            .call(None, "Browser.getVersion", json!({}), COMMAND_TIMEOUT)
            .await?;
        self.product = version["product"]
            .as_str()
            .unwrap_or("Chromium")
            .replace('/', " ");
        self.cdp = Some(cdp);
        self.service_log.lock().unwrap().1 = 0;
        self.logs.lock().unwrap().1 = 0;
        Ok(())
    }

    /// Forgets everything of the browser that is gone (its connection, tabs
    /// and worker session), keeping the events it reported.
    fn forget_session(&mut self) {
        self.read_events();
        self.cdp = None;
        self.pages.clear();
        self.control = None;
        self.worker = None;
        self.offline = false;
    }

    fn cdp(&self) -> Result<&Cdp> {
        self.cdp.as_ref().context("the browser is not running")
    }

    async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        self.cdp()?
            .call(session, method, params, COMMAND_TIMEOUT)
            .await
    }

    fn page(&self, page: PageId) -> Result<String> {
        Ok(self
            .pages
            .get(page.0)
            .context("no such tab (was the browser restarted?)")?
            .session
            .clone())
    }

    async fn wait_load(&self, session: &str, since: usize, what: &str) -> Result<()> {
        self.cdp()?
            .wait_event(since, what, LOAD_TIMEOUT, |e| {
                e.method == "Page.loadEventFired" && e.session.as_deref() == Some(session)
            })
            .await
            .map(drop)
    }

    /// The app's service worker target, if one is running now.
    async fn worker_target(&self) -> Result<Option<String>> {
        let targets = self.call(None, "Target.getTargets", json!({})).await?;
        Ok(targets["targetInfos"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|t| {
                (t["type"] == "service_worker"
                    && t["url"]
                        .as_str()
                        .is_some_and(|u| u.starts_with(&self.origin)))
                .then(|| t["targetId"].as_str().unwrap_or_default().to_owned())
            }))
    }

    /// A flat session to the running service worker, waiting up to `timeout`
    /// for it to run.
    async fn worker_session(&mut self, timeout: Duration) -> Result<String> {
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
        self.call(Some(&session), "Network.enable", json!({}))
            .await?;
        self.worker = Some((target, session.clone()));
        Ok(session)
    }

    /// Evaluates a JavaScript expression in the app's service worker (started
    /// by a page first), awaits it if it is a promise, and returns its value
    /// as JSON (for the benchmarks' baseline replay, `cargo xtask bench`).
    pub async fn eval_worker(&mut self, expression: &str, timeout: Duration) -> Result<Value> {
        let session = self.worker_session(COMMAND_TIMEOUT).await?;
        let result = self
            .cdp()?
            .call(
                Some(&session),
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
                timeout,
            )
            .await?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("exception");
            bail!("the worker threw: {text}");
        }
        Ok(result["result"]["value"].clone())
    }

    /// Attaches to the worker if it runs, for its console output; never waits.
    async fn watch_worker(&mut self) {
        if self.worker_target().await.ok().flatten().is_some() {
            let _ = self.worker_session(Duration::ZERO).await;
        }
    }

    async fn emulate_offline(&self, session: &str, offline: bool) -> Result<()> {
        self.call(Some(session), "Network.enable", json!({}))
            .await?;
        let conditions = json!({ "offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 });
        self.call(
            Some(session),
            "Network.emulateNetworkConditions",
            conditions.clone(),
        )
        .await?;
        // Newer Chromium (about 137 on) keeps `navigator.onLine` and the
        // `online`/`offline` events apart: they follow this override. Older
        // ones do not know it and derive them from the emulation above.
        if let Err(error) = self
            .call(Some(session), "Network.overrideNetworkState", conditions)
            .await
            && !error.to_string().contains("wasn't found")
        {
            return Err(error);
        }
        Ok(())
    }

    /// The app's service-worker registration id, as the ServiceWorker domain
    /// reported it.
    async fn registration_id(&self) -> Result<String> {
        let scope = format!("{}/", self.origin);
        let find = |events: &[Event]| {
            let mut live: HashMap<String, bool> = HashMap::new();
            for e in events
                .iter()
                .filter(|e| e.method == "ServiceWorker.workerRegistrationUpdated")
            {
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
        if let Some(id) = find(&cdp.events_since(0)) {
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
        find(&cdp.events_since(0))
            .with_context(|| format!("the registration for {scope} was deleted"))
    }
}

impl Browser for Chromium {
    fn name(&self) -> &'static str {
        "chromium"
    }

    fn version(&self) -> String {
        self.product.clone()
    }

    fn supports(&self, feature: Feature) -> bool {
        match feature {
            Feature::BackgroundSync | Feature::StopWorkers | Feature::ShowsWorkerOffline => true,
        }
    }

    async fn open_page(&mut self, url: &str) -> Result<PageId> {
        let created = self
            .call(None, "Target.createTarget", json!({ "url": "about:blank" }))
            .await?;
        let target = created["targetId"]
            .as_str()
            .context("createTarget gave no targetId")?
            .to_owned();
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
        let s = Some(session.as_str());
        // We attach to what we drive ourselves: a worker auto-attached and
        // paused for a debugger would never start.
        self.call(
            s,
            "Target.setAutoAttach",
            json!({ "autoAttach": false, "waitForDebuggerOnStart": false }),
        )
        .await?;
        self.call(s, "Page.enable", json!({})).await?;
        self.call(s, "Runtime.enable", json!({})).await?;
        self.call(s, "Log.enable", json!({})).await?;
        if self.control.is_none() {
            self.call(s, "ServiceWorker.enable", json!({})).await?;
            for service in ["notifications", "backgroundSync"] {
                self.call(
                    s,
                    "BackgroundService.startObserving",
                    json!({ "service": service }),
                )
                .await?;
                self.call(
                    s,
                    "BackgroundService.setRecording",
                    json!({ "shouldRecord": true, "service": service }),
                )
                .await?;
            }
            self.control = Some(session.clone());
        }
        if self.offline {
            self.emulate_offline(&session, true).await?;
        }
        let since = self.cdp()?.mark();
        let navigated = self.call(s, "Page.navigate", json!({ "url": url })).await?;
        if let Some(error) = navigated["errorText"].as_str().filter(|e| !e.is_empty()) {
            bail!("opening {url} failed: {error}");
        }
        self.wait_load(&session, since, &format!("{url} to load"))
            .await?;
        if self.offline {
            self.emulate_offline(&session, true).await?;
        }
        self.pages.push(Page { session });
        self.watch_worker().await;
        Ok(PageId(self.pages.len() - 1))
    }

    async fn reload(&mut self, page: PageId) -> Result<()> {
        let session = self.page(page)?;
        let since = self.cdp()?.mark();
        self.call(Some(&session), "Page.reload", json!({})).await?;
        self.wait_load(&session, since, "the reloaded page to load")
            .await?;
        if self.offline {
            // The `navigator.onLine` override does not survive a navigation.
            self.emulate_offline(&session, true).await?;
        }
        self.watch_worker().await;
        Ok(())
    }

    async fn eval(&mut self, page: PageId, expression: &str, timeout: Duration) -> Result<Value> {
        let session = self.page(page)?;
        let result = self
            .cdp()?
            .call(
                Some(&session),
                "Runtime.evaluate",
                json!({
                    "expression": expression,
                    "awaitPromise": true,
                    "returnByValue": true,
                    "userGesture": true,
                }),
                timeout,
            )
            .await?;
        if let Some(details) = result.get("exceptionDetails") {
            let text = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("exception");
            bail!("the page threw: {text}");
        }
        Ok(result["result"]["value"].clone())
    }

    async fn set_offline(&mut self, offline: bool) -> Result<()> {
        // The page's emulation does not reach the worker: it is its own
        // target.
        let worker = if offline {
            Some(self.worker_session(COMMAND_TIMEOUT).await?)
        } else {
            self.worker.as_ref().map(|(_, s)| s.clone())
        };
        if let Some(worker) = worker {
            self.emulate_offline(&worker, offline)
                .await
                .with_context(|| {
                    format!(
                        "setting the service worker {}",
                        if offline { "offline" } else { "online" }
                    )
                })?;
        }
        for page in &self.pages {
            self.emulate_offline(&page.session, offline).await?;
        }
        self.offline = offline;
        Ok(())
    }

    async fn stop_workers(&mut self) -> Result<()> {
        // Stopped while emulated offline, a worker's registration stays
        // offline for good and later syncs never fire.
        anyhow::ensure!(
            !self.offline,
            "harness bug: stop_workers while the worker is emulated offline"
        );
        let control = self.control.clone().context("open a page first")?;
        let since = self.cdp()?.mark();
        self.call(Some(&control), "ServiceWorker.stopAllWorkers", json!({}))
            .await?;
        self.worker = None;
        // Gone, or reported stopped: a sync that is due (or a tab's fetch)
        // may start it again at once, and then its target never disappears.
        let stopped = |events: Vec<crate::protocol::cdp::Event>| {
            events.iter().any(|e| {
                e.method == "ServiceWorker.workerVersionUpdated"
                    && e.params["versions"]
                        .as_array()
                        .is_some_and(|vs| vs.iter().any(|v| v["runningStatus"] == "stopped"))
            })
        };
        let deadline = tokio::time::Instant::now() + COMMAND_TIMEOUT;
        while self.worker_target().await?.is_some() && !stopped(self.cdp()?.events_since(since)) {
            if tokio::time::Instant::now() >= deadline {
                bail!("timed out after {COMMAND_TIMEOUT:?} waiting for the service worker to stop");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    async fn fire_sync(&mut self, tag: &str, last_chance: bool) -> Result<()> {
        let control = self.control.clone().context("open a page first")?;
        let registration = self.registration_id().await?;
        self.call(
            Some(&control),
            "ServiceWorker.dispatchSyncEvent",
            json!({ "origin": self.origin, "registrationId": registration, "tag": tag, "lastChance": last_chance }),
        )
        .await
        .map(drop)
    }

    async fn restart(&mut self) -> Result<()> {
        if let Some(cdp) = &self.cdp {
            let _ = cdp
                .call(None, "Browser.close", json!({}), Duration::from_secs(5))
                .await;
        }
        if let Some(mut process) = self.process.take() {
            // Let it close the profile cleanly; the Drop kills what is left.
            let _ = tokio::time::timeout(Duration::from_secs(10), process.child.wait()).await;
        }
        self.forget_session();
        self.start().await
    }

    async fn kill_and_restart(&mut self) -> Result<()> {
        if let Some(mut process) = self.process.take() {
            let _ = process.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), process.child.wait()).await;
            // The Drop kills the rest of its group (renderers, GPU).
        }
        self.forget_session();
        self.start().await
    }

    async fn forget_service_workers(&mut self) -> Result<()> {
        let control = self.control.clone().context("open a page first")?;
        // Clearing an origin's "service_workers" deletes its registrations
        // immediately, even those still controlling a tab (an `unregister()`
        // would wait for the tabs to close, and a new `register()` meanwhile
        // would bring the old registration, and its syncs, back).
        self.call(
            Some(&control),
            "Storage.clearDataForOrigin",
            json!({ "origin": self.origin, "storageTypes": "service_workers" }),
        )
        .await?;
        self.worker = None;
        Ok(())
    }

    fn mark(&self) -> Mark {
        self.read_events();
        Mark(self.service_log.lock().unwrap().0.len())
    }

    async fn wait_service_event(
        &mut self,
        since: Mark,
        service: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<ServiceEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self
                .service_events(since)
                .into_iter()
                .find(|e| e.service == service && e.name.contains(name))
            {
                return Ok(found);
            }
            let cdp = self.cdp()?;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let from = self.service_log.lock().unwrap().1;
            cdp.wait_event(
                from,
                &format!("the browser to report \"{name}\" ({service})"),
                left,
                |e| e.method == "BackgroundService.backgroundServiceEventReceived",
            )
            .await?;
        }
    }

    fn service_events(&self, since: Mark) -> Vec<ServiceEvent> {
        self.read_events();
        self.service_log
            .lock()
            .unwrap()
            .0
            .get(since.0..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    async fn deliver_push(&mut self, data: &str) -> Result<()> {
        let control = self.control.clone().context("open a page first")?;
        let registration = self.registration_id().await?;
        self.call(
            Some(&control),
            "ServiceWorker.deliverPushMessage",
            json!({ "origin": self.origin, "registrationId": registration, "data": data }),
        )
        .await
        .map(drop)
    }

    async fn screenshot(&mut self, page: PageId, width: u32, height: u32) -> Result<Vec<u8>> {
        let session = self.page(page)?;
        // A tab in the background is not painted: its capture never comes.
        self.call(Some(&session), "Page.bringToFront", json!({}))
            .await?;
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await?;
        let shot = self
            .call(
                Some(&session),
                "Page.captureScreenshot",
                json!({ "format": "png" }),
            )
            .await?;
        let data = shot["data"]
            .as_str()
            .context("Page.captureScreenshot gave no data")?;
        use base64ct::Encoding;
        base64ct::Base64::decode_vec(data)
            .map_err(|e| anyhow!("Page.captureScreenshot gave bad base64: {e}"))
    }

    fn recent_logs(&self, lines: usize) -> Vec<String> {
        self.read_events();
        let logs = self.logs.lock().unwrap();
        let mut out: Vec<String> = logs.0[logs.0.len().saturating_sub(lines)..].to_vec();
        if let Some(process) = &self.process {
            let tail = process.stderr_lines();
            // Only Chromium's own errors; it complains about the missing
            // D-Bus at every start, which is not news.
            let useful: Vec<&String> = tail
                .iter()
                .filter(|l| (l.contains(":ERROR:") || l.contains(":FATAL:")) && !l.contains("dbus"))
                .collect();
            out.extend(
                useful
                    .iter()
                    .rev()
                    .take(3)
                    .rev()
                    .map(|l| format!("chromium stderr: {l}")),
            );
        }
        out
    }
}
