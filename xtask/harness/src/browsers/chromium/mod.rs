//! Headless Chromium over the DevTools protocol: the [`Browser`]
//! implementation here; finding (or installing) it and launching it on a
//! fresh profile in `launch.rs`; what it reports (background-service events,
//! console lines) read back in `events.rs`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

use crate::browsers::installed::profile_dir;
use crate::browsers::process::Process;
use crate::browsers::{
    Browser, Feature, LogMark, Mark, PageId, Permission, PermissionState, ServiceEvent,
};
use crate::protocol::cdp::Cdp;
use crate::util::TempDir;

mod events;
mod launch;
pub mod profile;
mod worker;

pub use launch::find_or_install;
use launch::launch;

const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- the browser

struct Page {
    target: String,
    session: String,
    /// The identifiers of the preload scripts added to this tab.
    preloads: Vec<String>,
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
    /// The active worker's target and a session to it, for
    /// [`Browser::eval_worker`]; forgotten with `worker`: a worker stopped
    /// and started again keeps its target, but a session from before
    /// reaches nothing that runs.
    active_worker: Option<(String, String)>,
    /// Every session to a service worker this run attached, gone or not:
    /// what was logged there is labelled as the worker's.
    worker_sessions: Vec<String>,
    offline: bool,
    /// The preload scripts every tab gets (`add_preload_script`), as
    /// sources.
    preloads: Vec<String>,
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
            profile: profile_dir(&exe, "harness-chromium-profile")?,
            exe,
            origin: origin.trim_end_matches('/').to_owned(),
            pages: Vec::new(),
            control: None,
            worker: None,
            active_worker: None,
            worker_sessions: Vec::new(),
            offline: false,
            preloads: Vec::new(),
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
        Self::grant(&cdp, &self.origin).await?;
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

    /// Grants `origin` the permissions the lesson needs.
    async fn grant(cdp: &Cdp, origin: &str) -> Result<()> {
        // The grant list replaces every other grant: leave one out and it is
        // denied.
        cdp.call(
            None,
            "Browser.grantPermissions",
            json!({ "origin": origin, "permissions": ["notifications", "backgroundSync"] }),
            COMMAND_TIMEOUT,
        )
        .await
        .map(drop)
    }

    /// Forgets everything of the browser that is gone (its connection, tabs
    /// and worker session), keeping the events it reported.
    fn forget_session(&mut self) {
        self.read_events();
        self.cdp = None;
        self.pages.clear();
        self.control = None;
        self.worker = None;
        self.active_worker = None;
        self.offline = false;
        self.preloads.clear();
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

    /// Reloads the tab; with `ignore_cache`, as Shift+Reload does, past
    /// the HTTP cache and the service worker.
    async fn reload_with(&mut self, page: PageId, ignore_cache: bool) -> Result<()> {
        let session = self.page(page)?;
        let since = self.cdp()?.mark();
        self.call(
            Some(&session),
            "Page.reload",
            json!({ "ignoreCache": ignore_cache }),
        )
        .await?;
        self.wait_load(&session, since, "the reloaded page to load")
            .await?;
        if self.offline {
            // The `navigator.onLine` override does not survive a navigation.
            self.emulate_offline(&session, true).await?;
        }
        self.watch_worker().await;
        Ok(())
    }

    /// Adds the preload scripts to the tab `session`; their identifiers.
    async fn add_preloads(&self, session: &str, sources: &[String]) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for source in sources {
            let added = self
                .call(
                    Some(session),
                    "Page.addScriptToEvaluateOnNewDocument",
                    json!({ "source": source }),
                )
                .await?;
            ids.push(
                added["identifier"]
                    .as_str()
                    .context("addScriptToEvaluateOnNewDocument gave no identifier")?
                    .to_owned(),
            );
        }
        Ok(ids)
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
            Feature::BackgroundSync
            | Feature::StopWorkers
            | Feature::ShowsWorkerOffline
            | Feature::EvalInWorker => true,
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
        let preloads = self.add_preloads(&session, &self.preloads).await?;
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
        self.pages.push(Page {
            target,
            session,
            preloads,
        });
        self.watch_worker().await;
        Ok(PageId(self.pages.len() - 1))
    }

    async fn reload(&mut self, page: PageId) -> Result<()> {
        self.reload_with(page, false).await
    }

    async fn hard_reload(&mut self, page: PageId) -> Result<()> {
        self.reload_with(page, true).await
    }

    async fn move_to(&mut self, origin: &str) -> Result<()> {
        // Another origin is another site, with its own worker, storage and
        // permissions: nothing of the last round's app is in its way.
        for page in std::mem::take(&mut self.pages) {
            self.call(
                None,
                "Target.closeTarget",
                json!({ "targetId": page.target }),
            )
            .await?;
        }
        self.control = None;
        self.worker = None;
        self.active_worker = None;
        self.offline = false;
        self.preloads.clear();
        self.origin = origin.trim_end_matches('/').to_owned();
        Self::grant(self.cdp()?, &self.origin).await
    }

    async fn set_permission(
        &mut self,
        permission: Permission,
        state: PermissionState,
    ) -> Result<()> {
        let name = match permission {
            Permission::Notifications => "notifications",
        };
        self.call(
            None,
            "Browser.setPermission",
            json!({ "permission": { "name": name }, "setting": state.as_str(), "origin": self.origin }),
        )
        .await
        .map(drop)
    }

    async fn add_preload_script(&mut self, function: &str) -> Result<()> {
        let source = format!("({function})();");
        for page in 0..self.pages.len() {
            let session = self.pages[page].session.clone();
            let ids = self
                .add_preloads(&session, std::slice::from_ref(&source))
                .await?;
            self.pages[page].preloads.extend(ids);
        }
        self.preloads.push(source);
        Ok(())
    }

    async fn clear_preload_scripts(&mut self) -> Result<()> {
        for page in 0..self.pages.len() {
            let session = self.pages[page].session.clone();
            for identifier in std::mem::take(&mut self.pages[page].preloads) {
                self.call(
                    Some(&session),
                    "Page.removeScriptToEvaluateOnNewDocument",
                    json!({ "identifier": identifier }),
                )
                .await?;
            }
        }
        self.preloads.clear();
        Ok(())
    }

    async fn eval_worker(&mut self, expression: &str, timeout: Duration) -> Result<Value> {
        let session = self.active_worker_session().await?;
        let result = self
            .cdp()?
            .call(
                Some(&session),
                "Runtime.evaluate",
                json!({ "expression": expression, "awaitPromise": true, "returnByValue": true }),
                timeout,
            )
            .await?;
        evaluated(&result, "worker")
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
        evaluated(&result, "page")
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
        self.active_worker = None;
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
        self.active_worker = None;
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

    async fn set_viewport(&mut self, page: PageId, width: u32, height: u32) -> Result<()> {
        let session = self.page(page)?;
        self.call(
            Some(&session),
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
        )
        .await
        .map(drop)
    }

    async fn screenshot(&mut self, page: PageId, width: u32, height: u32) -> Result<Vec<u8>> {
        let session = self.page(page)?;
        // A tab in the background is not painted: its capture never comes.
        self.call(Some(&session), "Page.bringToFront", json!({}))
            .await?;
        self.set_viewport(page, width, height).await?;
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

    fn log_mark(&self) -> LogMark {
        self.read_events();
        LogMark {
            console: self.logs.lock().unwrap().0.len(),
            stdout: 0,
            stderr: self.process.as_ref().map_or(0, Process::stderr_total),
        }
    }

    fn logs_since(&self, since: LogMark, lines: usize) -> Vec<String> {
        self.read_events();
        let logs = self.logs.lock().unwrap();
        let own = logs.0.get(since.console..).unwrap_or_default();
        let mut out: Vec<String> = own[own.len().saturating_sub(lines)..].to_vec();
        if let Some(process) = &self.process {
            let tail = process.stderr_since(since.stderr);
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

/// What `Runtime.evaluate` gave, by value, or an error naming `who` (the
/// page or the worker) and what it threw.
fn evaluated(result: &Value, who: &str) -> Result<Value> {
    if let Some(details) = result.get("exceptionDetails") {
        let text = details["exception"]["description"]
            .as_str()
            .or(details["text"].as_str())
            .unwrap_or("exception");
        bail!("the {who} threw: {text}");
    }
    Ok(result["result"]["value"].clone())
}
