//! Headless Firefox over WebDriver BiDi, the browser's own remote protocol
//! (no geckodriver): the [`Browser`] implementation here, finding (or
//! installing) and launching it in `launch.rs`, on the fresh profile of
//! `profile.rs`; the JavaScript it runs in `scripts.rs`, and what it reads
//! back (console lines, notifications shown) in `events.rs`.
//!
//! Marionette (`protocol/marionette.rs`), Firefox's older protocol, runs beside BiDi:
//! it creates the one WebDriver session Firefox allows (with
//! `webSocketUrl: true`, as geckodriver does; the BiDi client then joins it
//! at the URL the session names) and it alone reaches Firefox's own windows
//! in ESR 140, such as a notification's alert window, which
//! [`Browser::click_notification`] clicks.
//!
//! Firefox has no Background Sync, and BiDi cannot stop a service worker,
//! fire a `sync` or reach into the worker's realm; the checkpoints ask
//! [`Browser::supports`] and prove the app's fallback instead (see
//! `checkpoints/fallback.rs`). What Firefox needs to be driven this way:
//!
//! - `alerts.useSystemBackend=false`, or `showNotification` fails with
//!   `NS_ERROR_FAILURE` in a headless browser with no desktop notification
//!   service; then `registration.getNotifications()` lists what was shown,
//!   which is how this driver reports "Notification displayed".
//! - Notification permission: BiDi `permissions.setPermission`, per site
//!   (no pref allows it everywhere: the `notification` checkpoint sets it
//!   back to "prompt" to watch the page ask, and "prompt" falls back to
//!   the pref).
//! - The worker's console is not in BiDi's `log.entryAdded`:
//!   `devtools.console.stdout.content=true` prints it on Firefox's stdout,
//!   which is kept for failure reports.
//! - Offline: `emulation.setNetworkConditions` where the browser has it
//!   (newer than ESR 140); it reaches the tabs' `navigator.onLine` and their
//!   `online`/`offline` events but not the worker (in Firefox 153 too: the
//!   worker's `fetch` still reaches the network). Firefox 153 misses one
//!   event: a document loaded while offline reads `navigator.onLine` true
//!   once the emulation is reset, but hears no `online`, so the harness
//!   tells it (`TELL_ONLINE`), as a browser tells a page whose network came
//!   back. Where the browser does not know the command, the same is done
//!   from the page's side: a preload script makes `navigator.onLine` false
//!   in every document loaded while offline, and the open tabs get the
//!   override and an `offline`/`online` event. Either way the worker is not
//!   offline (`supports(ShowsWorkerOffline)` is false), and the checkpoints
//!   cut it off at the proxy.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::browsers::installed::profile_dir;
use crate::browsers::process::{Process, Tail};
use crate::browsers::{
    Browser, Feature, LogMark, Mark, PageId, Permission, PermissionState, ServiceEvent,
};
use crate::protocol::bidi::{self, Bidi};
use crate::protocol::marionette::Marionette;
use crate::util::TempDir;

mod contexts;
mod events;
mod launch;
mod profile;
mod scripts;

pub use launch::find_or_install;
use launch::{LAUNCH_TIMEOUT, launch};
use profile::{USER_JS, push_prefs};
use scripts::{CLICK_ALERT_JS, GO_OFFLINE, GO_ONLINE};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// How this Firefox turns a tab offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offline {
    /// BiDi `emulation.setNetworkConditions`.
    Emulation,
    /// The preload script and events of `scripts.rs`.
    PageScript,
}

// ---------------------------------------------------------------- the browser

/// Firefox driven over one WebDriver BiDi websocket, with a Marionette
/// connection beside it for the session and Firefox's own windows.
pub struct Firefox {
    // Field order is drop order: the connections, then the process, then the
    // profile directory it was using.
    bidi: Option<Bidi>,
    /// In the chrome context (Firefox's own windows) from the start.
    marionette: Option<Marionette>,
    process: Option<Process>,
    profile: TempDir,
    exe: PathBuf,
    origin: String,
    /// The browsing contexts (tabs) opened, by `PageId`; `None` once closed.
    pages: Vec<Option<String>>,
    /// The tab Firefox opened by itself at start, used for the first page.
    spare: Option<String>,
    offline: bool,
    offline_by: Offline,
    /// The preload script keeping new documents offline, while offline.
    preload: Option<String>,
    /// The preload scripts `add_preload_script` added.
    spies: Vec<String>,
    product: String,
    /// "Notification displayed" events seen by polling
    /// `getNotifications()`, and the notifications showing at the last poll
    /// (title, body, tag).
    service_log: Mutex<Vec<ServiceEvent>>,
    showing: HashSet<(String, String, String)>,
    /// The tabs' console and errors (BiDi `log.entryAdded`), across restarts;
    /// and how far the current connection's events were read.
    logs: Mutex<(Vec<String>, usize)>,
    /// Firefox's stdout: the worker's (and the tabs') console.
    stdout_tail: Tail,
}

impl Firefox {
    /// Launches Firefox on a fresh profile and grants the app's origin the
    /// notification permission; `push_server` is its push service's
    /// `ws://` URL, kept across restarts.
    pub async fn launch(exe: PathBuf, origin: &str, push_server: Option<&str>) -> Result<Self> {
        let profile = profile_dir(&exe, "harness-firefox-profile")?;
        std::fs::write(
            profile.path().join("user.js"),
            format!("{USER_JS}{}", push_prefs(push_server)),
        )
        .context("cannot write the Firefox profile's user.js")?;
        let mut browser = Self {
            bidi: None,
            marionette: None,
            process: None,
            profile,
            exe,
            origin: origin.trim_end_matches('/').to_owned(),
            pages: Vec::new(),
            spare: None,
            offline: false,
            offline_by: Offline::PageScript,
            preload: None,
            spies: Vec::new(),
            product: String::new(),
            service_log: Mutex::new(Vec::new()),
            showing: HashSet::new(),
            logs: Mutex::new((Vec::new(), 0)),
            stdout_tail: Tail::default(),
        };
        browser.start().await?;
        Ok(browser)
    }

    /// Forgets everything of the browser that is gone (its connections,
    /// tabs and what they showed), keeping the events it reported.
    fn forget_session(&mut self) {
        self.bidi = None;
        self.marionette = None;
        self.pages.clear();
        self.spare = None;
        self.offline = false;
        self.preload = None;
        self.spies.clear();
        self.showing.clear();
    }

    async fn start(&mut self) -> Result<()> {
        let (process, port) = launch(&self.exe, self.profile.path(), self.stdout_tail.clone())
            .await
            .context("starting Firefox")?;
        self.process = Some(process);
        let mut marionette = Marionette::connect(port, COMMAND_TIMEOUT).await?;
        // The session, made over Marionette: Firefox allows one, which a
        // BiDi `session.new` would take too. Marionette's parameters are the
        // capabilities themselves (no `alwaysMatch`); it waits for the first
        // window before it answers.
        let session = marionette
            .call(
                "WebDriver:NewSession",
                json!({ "webSocketUrl": true }),
                LAUNCH_TIMEOUT,
            )
            .await
            .context("creating the WebDriver session over Marionette")?;
        let caps = &session["capabilities"];
        let url = caps["webSocketUrl"].as_str().with_context(|| {
            format!("Marionette's new session has no webSocketUrl for WebDriver BiDi: {caps}")
        })?;
        let bidi = Bidi::connect(url, COMMAND_TIMEOUT).await?;
        // Scripts from here on run in Firefox's own windows, not in a tab
        // (the tabs are BiDi's).
        marionette
            .call(
                "Marionette:SetContext",
                json!({ "value": "chrome" }),
                COMMAND_TIMEOUT,
            )
            .await?;
        self.marionette = Some(marionette);
        self.product = format!(
            "Firefox {}",
            caps["browserVersion"]
                .as_str()
                .unwrap_or("(unknown version)")
        );
        bidi.call(
            "session.subscribe",
            json!({ "events": ["log.entryAdded"] }),
            COMMAND_TIMEOUT,
        )
        .await?;
        Self::grant(&bidi, &self.origin).await?;
        self.offline_by = match bidi
            .call(
                "emulation.setNetworkConditions",
                json!({ "networkConditions": null }),
                COMMAND_TIMEOUT,
            )
            .await
        {
            Ok(_) => Offline::Emulation,
            Err(error) if bidi::is_unknown_command(&error) => Offline::PageScript,
            Err(error) => return Err(error),
        };
        // The window Firefox opened at start: its tab becomes the first page,
        // and new tabs open beside it.
        let tree = bidi
            .call(
                "browsingContext.getTree",
                json!({ "maxDepth": 0 }),
                COMMAND_TIMEOUT,
            )
            .await?;
        self.spare = tree["contexts"]
            .as_array()
            .and_then(|c| c.first())
            .and_then(|c| c["context"].as_str())
            .map(str::to_owned);
        self.bidi = Some(bidi);
        self.logs.lock().unwrap().1 = 0;
        Ok(())
    }

    /// Grants `origin` the notification permission.
    async fn grant(bidi: &Bidi, origin: &str) -> Result<()> {
        bidi.call(
            "permissions.setPermission",
            json!({
                "descriptor": { "name": "notifications" },
                "state": "granted",
                "origin": origin,
            }),
            COMMAND_TIMEOUT,
        )
        .await
        .context("granting the notification permission")
        .map(drop)
    }

    fn bidi(&self) -> Result<&Bidi> {
        self.bidi.as_ref().context("the browser is not running")
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.bidi()?.call(method, params, COMMAND_TIMEOUT).await
    }

    fn page(&self, page: PageId) -> Result<String> {
        match self.pages.get(page.0) {
            Some(Some(context)) => Ok(context.clone()),
            Some(None) => bail!("harness bug: the tab was closed"),
            None => bail!("no such tab (was the browser restarted?)"),
        }
    }

    /// The tabs the harness opened and has not closed.
    fn open_pages(&self) -> impl Iterator<Item = &String> {
        self.pages.iter().flatten()
    }
}

impl Browser for Firefox {
    fn name(&self) -> &'static str {
        "firefox"
    }

    fn version(&self) -> String {
        match self.offline_by {
            Offline::Emulation => self.product.clone(),
            Offline::PageScript => format!(
                "{} (no emulation.setNetworkConditions: a tab goes offline by navigator.onLine and its events)",
                self.product
            ),
        }
    }

    fn supports(&self, feature: Feature) -> bool {
        match feature {
            Feature::BackgroundSync
            | Feature::StopWorkers
            | Feature::ShowsWorkerOffline
            | Feature::EvalInWorker => false,
        }
    }

    async fn open_page(&mut self, url: &str) -> Result<PageId> {
        let context = match self.spare.take() {
            Some(context) => context,
            None => {
                let mut params = json!({ "type": "tab" });
                if let Some(first) = self.open_pages().next() {
                    params["referenceContext"] = json!(first);
                }
                let created = self.call("browsingContext.create", params).await?;
                created["context"]
                    .as_str()
                    .context("browsingContext.create gave no context")?
                    .to_owned()
            }
        };
        self.bidi()?
            .call(
                "browsingContext.navigate",
                json!({ "context": context, "url": url, "wait": "complete" }),
                LOAD_TIMEOUT,
            )
            .await
            .with_context(|| format!("opening {url}"))?;
        self.pages.push(Some(context));
        Ok(PageId(self.pages.len() - 1))
    }

    async fn reload(&mut self, page: PageId) -> Result<()> {
        self.reload_with(page, false).await
    }

    async fn hard_reload(&mut self, page: PageId) -> Result<()> {
        match self.reload_with(page, true).await {
            Err(error) if format!("{error:#}").contains("not supported") => {
                // ESR 140's BiDi has no `ignoreCache`; Firefox's own
                // `location.reload(true)` (its old `forceGet`) does the same.
                let context = self.page(page)?;
                self.evaluate(
                    &context,
                    "window.__harnessOld = true, setTimeout(() => location.reload(true)), true",
                    COMMAND_TIMEOUT,
                )
                .await?;
                let deadline = tokio::time::Instant::now() + LOAD_TIMEOUT;
                loop {
                    let loaded = self
                        .evaluate(
                            &context,
                            "!window.__harnessOld && document.readyState === 'complete'",
                            COMMAND_TIMEOUT,
                        )
                        .await;
                    if matches!(loaded, Ok(Value::Bool(true))) {
                        return Ok(());
                    }
                    if tokio::time::Instant::now() >= deadline {
                        bail!("timed out after {LOAD_TIMEOUT:?} waiting for the tab to reload");
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            other => other,
        }
    }

    async fn move_to(&mut self, origin: &str) -> Result<()> {
        self.set_offline(false).await?;
        self.clear_preload_scripts().await?;
        // Closing a window's last tab would quit Firefox: the first stays,
        // emptied, and becomes the tab the next page opens in.
        let mut tabs = std::mem::take(&mut self.pages).into_iter().flatten();
        let first = tabs.next().or_else(|| self.spare.take());
        for context in tabs {
            self.call("browsingContext.close", json!({ "context": context }))
                .await
                .context("closing a tab")?;
        }
        if let Some(first) = &first {
            self.bidi()?
                .call(
                    "browsingContext.navigate",
                    json!({ "context": first, "url": "about:blank", "wait": "complete" }),
                    LOAD_TIMEOUT,
                )
                .await
                .context("emptying the first tab")?;
        }
        self.spare = first;
        self.close_other_tabs().await?;
        self.origin = origin.trim_end_matches('/').to_owned();
        Self::grant(self.bidi()?, &self.origin).await
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
            "permissions.setPermission",
            json!({
                "descriptor": { "name": name },
                "state": state.as_str(),
                "origin": self.origin,
            }),
        )
        .await
        .with_context(|| format!("setting the {name} permission to {}", state.as_str()))
        .map(drop)
    }

    async fn add_preload_script(&mut self, function: &str) -> Result<()> {
        let added = self
            .call(
                "script.addPreloadScript",
                json!({ "functionDeclaration": function }),
            )
            .await?;
        self.spies.push(
            added["script"]
                .as_str()
                .context("script.addPreloadScript gave no script")?
                .to_owned(),
        );
        Ok(())
    }

    async fn clear_preload_scripts(&mut self) -> Result<()> {
        for script in std::mem::take(&mut self.spies) {
            self.call("script.removePreloadScript", json!({ "script": script }))
                .await?;
        }
        Ok(())
    }

    async fn eval(&mut self, page: PageId, expression: &str, timeout: Duration) -> Result<Value> {
        let context = self.page(page)?;
        self.evaluate(&context, expression, timeout).await
    }

    async fn set_offline(&mut self, offline: bool) -> Result<()> {
        match self.offline_by {
            Offline::Emulation => self.emulate_network(offline, None).await?,
            Offline::PageScript => self.tell_pages_offline(offline).await?,
        }
        self.offline = offline;
        Ok(())
    }

    async fn set_tab_offline(&mut self, page: PageId, offline: bool) -> Result<()> {
        let context = self.page(page)?;
        match self.offline_by {
            Offline::Emulation => self.emulate_network(offline, Some(&context)).await?,
            Offline::PageScript => {
                let js = if offline { GO_OFFLINE } else { GO_ONLINE };
                self.evaluate(&context, js, COMMAND_TIMEOUT).await?;
            }
        }
        Ok(())
    }

    async fn stop_workers(&mut self) -> Result<()> {
        bail!("harness bug: Firefox cannot stop service workers (use `restart`)")
    }

    async fn fire_sync(&mut self, tag: &str, _last_chance: bool) -> Result<()> {
        bail!("harness bug: Firefox has no Background Sync to fire a `sync` ({tag}) with")
    }

    async fn forget_service_workers(&mut self) -> Result<()> {
        bail!(
            "harness bug: Firefox has no Background Sync whose pending syncs would need forgetting"
        )
    }

    async fn restart(&mut self) -> Result<()> {
        self.read_events();
        // The session is Marionette's, so Marionette ends it: BiDi's
        // `browser.close` refuses a session WebDriver classic started.
        if let Some(marionette) = &mut self.marionette {
            let _ = marionette
                .call(
                    "Marionette:Quit",
                    json!({ "flags": ["eForceQuit"] }),
                    Duration::from_secs(5),
                )
                .await;
        }
        if let Some(mut process) = self.process.take() {
            // Let it close the profile cleanly (and free its lock); the Drop
            // kills what is left.
            let _ = tokio::time::timeout(Duration::from_secs(15), process.child.wait()).await;
        }
        self.forget_session();
        self.start().await
    }

    async fn kill_and_restart(&mut self) -> Result<()> {
        self.read_events();
        if let Some(mut process) = self.process.take() {
            let _ = process.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), process.child.wait()).await;
            // The Drop kills the rest of its group (content processes).
        }
        self.forget_session();
        self.start().await
    }

    async fn click_notification(&mut self, title: &str, timeout: Duration) -> Result<()> {
        let marionette = self
            .marionette
            .as_mut()
            .context("the browser is not running")?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let answer = marionette
                .call(
                    "WebDriver:ExecuteScript",
                    json!({ "script": CLICK_ALERT_JS, "args": [title] }),
                    COMMAND_TIMEOUT,
                )
                .await
                .context("clicking the notification in its alert window")?;
            let result = &answer["value"];
            if result["clicked"] == true {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                let showing: Vec<String> = result["titles"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| format!("\"{}\"", t.as_str().unwrap_or_default()))
                    .collect();
                bail!(
                    "no notification titled \"{title}\" among Firefox's alert windows within {timeout:?} (showing: {})",
                    if showing.is_empty() {
                        "none".to_owned()
                    } else {
                        showing.join(", ")
                    }
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn tab_urls(&mut self) -> Result<Vec<String>> {
        Ok(self
            .contexts()
            .await?
            .into_iter()
            .map(|(_, url)| url)
            .collect())
    }

    async fn close_page(&mut self, page: PageId) -> Result<()> {
        let context = self.page(page)?;
        self.call("browsingContext.close", json!({ "context": context }))
            .await
            .context("closing a tab")?;
        self.pages[page.0] = None;
        Ok(())
    }

    async fn close_other_tabs(&mut self) -> Result<()> {
        let ours: HashSet<&String> = self.open_pages().chain(self.spare.as_ref()).collect();
        let others: Vec<String> = self
            .contexts()
            .await?
            .into_iter()
            .map(|(context, _)| context)
            .filter(|context| !ours.contains(context))
            .collect();
        if ours.is_empty() && !others.is_empty() {
            // Closing a window's last tab closes the window, and the last
            // window quits Firefox.
            bail!("harness bug: closing every tab would quit Firefox");
        }
        for context in others {
            self.call("browsingContext.close", json!({ "context": context }))
                .await
                .context("closing a tab the app opened")?;
        }
        Ok(())
    }

    fn mark(&self) -> Mark {
        Mark(self.service_log.lock().unwrap().len())
    }

    async fn wait_service_event(
        &mut self,
        since: Mark,
        service: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<ServiceEvent> {
        if service != "notifications" {
            bail!("Firefox reports no {service} events");
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            self.poll_notifications().await?;
            if let Some(found) = self
                .service_events(since)
                .into_iter()
                .find(|e| e.service == service && e.name.contains(name))
            {
                return Ok(found);
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "timed out after {timeout:?} waiting for a notification in `registration.getNotifications()`"
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn service_events(&self, since: Mark) -> Vec<ServiceEvent> {
        self.service_log
            .lock()
            .unwrap()
            .get(since.0..)
            .map(<[_]>::to_vec)
            .unwrap_or_default()
    }

    fn log_mark(&self) -> LogMark {
        self.read_events();
        LogMark {
            console: self.logs.lock().unwrap().0.len(),
            stdout: self.stdout_tail.lock().unwrap().total(),
            stderr: self.process.as_ref().map_or(0, Process::stderr_total),
        }
    }

    fn logs_since(&self, since: LogMark, lines: usize) -> Vec<String> {
        self.read_events();
        let logs = self.logs.lock().unwrap();
        let own = logs.0.get(since.console..).unwrap_or_default();
        let mut out: Vec<String> = own[own.len().saturating_sub(lines / 2)..].to_vec();
        // The worker's console, with the page's, on stdout; not the
        // browser's own chatter about its built-in site fixes.
        let stdout = self.stdout_tail.lock().unwrap();
        let console: Vec<&String> = stdout
            .since(since.stdout)
            .filter(|l| l.starts_with("console.") || l.starts_with("JavaScript error"))
            .filter(|l| {
                ![
                    "UA override",
                    "interventions",
                    "webcompat",
                    "content scripts for",
                ]
                .iter()
                .any(|noise| l.contains(noise))
            })
            .collect();
        out.extend(
            console
                .iter()
                .rev()
                .take(lines - lines / 2)
                .rev()
                .map(|l| format!("firefox stdout (page or worker): {l}")),
        );
        if let Some(process) = &self.process {
            let tail = process.stderr_since(since.stderr);
            let useful: Vec<&String> = tail
                .iter()
                .filter(|l| l.contains("JavaScript error") || l.contains("FATAL"))
                .collect();
            out.extend(
                useful[useful.len().saturating_sub(3)..]
                    .iter()
                    .map(|l| format!("firefox stderr: {l}")),
            );
        }
        out
    }
}
