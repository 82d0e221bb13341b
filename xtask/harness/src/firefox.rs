//! Headless Firefox over WebDriver BiDi, the browser's own remote protocol
//! (no geckodriver): finding (or installing) it, launching it on a fresh
//! profile, and the [`Browser`] implementation.
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
//! - Notification permission: BiDi `permissions.setPermission`, and the pref
//!   `permissions.default.desktop-notification=1` in case it is refused.
//! - The worker's console is not in BiDi's `log.entryAdded`:
//!   `devtools.console.stdout.content=true` prints it on Firefox's stdout,
//!   which is kept for failure reports.
//! - Offline: `emulation.setNetworkConditions` where the browser has it
//!   (newer than ESR 140); it reaches the tabs' `navigator.onLine` and their
//!   `online`/`offline` events but not the worker. Where the browser does not
//!   know the command, the same is done from the page's side: a preload
//!   script makes `navigator.onLine` false in every document loaded while
//!   offline, and the open tabs get the override and an `offline`/`online`
//!   event. Either way the worker is not offline
//!   (`supports(ShowsWorkerOffline)` is false), and the checkpoints cut it off
//!   at the proxy.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

use crate::bidi::{self, Bidi};
use crate::browser::{Browser, Feature, Mark, PageId, ServiceEvent};
use crate::util::{Installable, TempDir, kill_process_group};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------- finding it

/// Where to find Firefox, and how to get it.
const FIREFOX: Installable = Installable {
    product: "Firefox ESR",
    env: "FIREFOX",
    names: &["firefox-esr", "firefox"],
    debian_package: "firefox-esr",
    how_to_install: "Debian: `sudo apt-get install firefox-esr`; macOS: `brew install --cask firefox@esr`",
};

/// `FIREFOX`, else firefox-esr / firefox on `PATH`; else, as root on Debian
/// or Ubuntu, installs the `firefox-esr` package (and says so); else one line
/// saying how to install it.
pub fn find_or_install() -> Result<PathBuf> {
    FIREFOX.find_or_install()
}

// ---------------------------------------------------------------- the profile

/// The profile's `user.js`: what the lesson needs, and quiet — no first-run
/// pages, updates, telemetry or other traffic of the browser's own.
const USER_JS: &str = r#"// Written by the harness (xtask/harness/src/firefox.rs).
// Notifications in a headless browser, allowed without a prompt.
user_pref("alerts.useSystemBackend", false);
user_pref("permissions.default.desktop-notification", 1);
// The service worker's console on stdout (BiDi does not report it).
user_pref("devtools.console.stdout.content", true);
// A restart must come back to nothing but what the harness opens.
user_pref("browser.startup.page", 0);
user_pref("browser.startup.homepage", "about:blank");
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("toolkit.startup.max_resumed_crashes", -1);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.aboutwelcome.enabled", false);
user_pref("browser.newtabpage.enabled", false);
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("browser.tabs.warnOnClose", false);
// No traffic of its own.
user_pref("app.update.disabledForTesting", true);
user_pref("app.update.auto", false);
user_pref("app.normandy.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.blocklist.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.update.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
user_pref("services.settings.server", "http://127.0.0.1:9/");
"#;

/// The profile's push service. Firefox's is a pref, normally Mozilla's on
/// the internet; `testing.allowInsecureServerURL` lets it be a plain `ws://`
/// one, the harness's own on 127.0.0.1 (`autopush.rs`). Without one, no
/// connection at all: the default cannot be reached here.
fn push_prefs(server_url: Option<&str>) -> String {
    match server_url {
        Some(url) => format!(
            r#"// Web Push through the harness's push service (autopush.rs).
user_pref("dom.push.serverURL", {url:?});
user_pref("dom.push.testing.allowInsecureServerURL", true);
user_pref("dom.push.connection.enabled", true);
"#
        ),
        None => r#"// No push service to connect to.
user_pref("dom.push.connection.enabled", false);
"#
        .to_owned(),
    }
}

// ---------------------------------------------------------------- the process

/// The browser process; killed with all its children when dropped.
struct Process {
    child: Child,
    pid: u32,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        kill_process_group(self.pid);
    }
}

/// What to look for in a stream, and where to send what it gives.
type Watch = (
    fn(&str) -> Option<String>,
    tokio::sync::oneshot::Sender<String>,
);

/// Keeps the last `keep` lines of `stream` in `tail`, draining it (a full
/// pipe would block the browser); sends the first line `found` accepts.
fn drain(
    stream: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<VecDeque<String>>>,
    keep: usize,
    found: Option<Watch>,
) {
    tokio::spawn(async move {
        let mut found = found;
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some((accept, _)) = &found
                && let Some(value) = accept(&line)
                && let Some((_, tx)) = found.take()
            {
                let _ = tx.send(value);
            }
            let mut tail = tail.lock().unwrap();
            tail.push_back(line);
            if tail.len() > keep {
                tail.pop_front();
            }
        }
    });
}

/// The endpoint in Firefox's `WebDriver BiDi listening on ws://…` line.
fn endpoint(line: &str) -> Option<String> {
    line.trim()
        .strip_prefix("WebDriver BiDi listening on ")
        .map(|url| url.trim().to_owned())
}

async fn launch(
    exe: &Path,
    profile: &Path,
    stdout_tail: Arc<Mutex<VecDeque<String>>>,
) -> Result<(Process, String)> {
    let mut child = Command::new(exe)
        .args(["--headless", "--no-remote", "--profile"])
        .arg(profile)
        .arg("--remote-debugging-port=0")
        .env("MOZ_CRASHREPORTER_DISABLE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", exe.display()))?;
    let pid = child.id().context("Firefox exited at once")?;
    let stderr = child.stderr.take().expect("stderr is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
    let process = Process {
        child,
        pid,
        stderr_tail: stderr_tail.clone(),
    };
    let (url_tx, url_rx) = tokio::sync::oneshot::channel();
    drain(stderr, stderr_tail, 40, Some((endpoint, url_tx)));
    drain(stdout, stdout_tail, 200, None);
    match tokio::time::timeout(LAUNCH_TIMEOUT, url_rx).await {
        Ok(Ok(url)) => Ok((process, url)),
        Ok(Err(_)) => bail!(
            "Firefox ({}) exited before printing its WebDriver BiDi endpoint:\n{}",
            exe.display(),
            process
                .stderr_tail
                .lock()
                .unwrap()
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        ),
        Err(_) => bail!(
            "timed out after {LAUNCH_TIMEOUT:?} waiting for Firefox to print `WebDriver BiDi listening on ws://…`"
        ),
    }
}

// ---------------------------------------------------------------- offline

/// Offline from the page's side, where the browser has no
/// `emulation.setNetworkConditions`: in a document loaded while offline (a
/// preload script runs it before the page's own scripts)…
const OFFLINE_PRELOAD: &str = "() => { Object.defineProperty(navigator, 'onLine', \
     { configurable: true, get: () => false }); }";
/// …and in an open tab, which is also told, as a browser tells it.
const GO_OFFLINE: &str =
    "(() => { if (Object.getOwnPropertyDescriptor(navigator, 'onLine')) return false;
    Object.defineProperty(navigator, 'onLine', { configurable: true, get: () => false });
    window.dispatchEvent(new Event('offline')); return true; })()";
const GO_ONLINE: &str =
    "(() => { if (!Object.getOwnPropertyDescriptor(navigator, 'onLine')) return false;
    delete navigator.onLine;
    window.dispatchEvent(new Event('online')); return true; })()";

/// How this Firefox turns a tab offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Offline {
    /// BiDi `emulation.setNetworkConditions`.
    Emulation,
    /// The preload script and events above.
    PageScript,
}

const NOTIFICATIONS_JS: &str = "(async () => {
    const r = await navigator.serviceWorker.getRegistration('/');
    if (!r) return [];
    return (await r.getNotifications()).map(n => [n.title, n.body, n.tag]);
})()";

// ---------------------------------------------------------------- the browser

/// Firefox driven over one WebDriver BiDi websocket.
pub struct Firefox {
    // Field order is drop order: the connection, then the process, then the
    // profile directory it was using.
    bidi: Option<Bidi>,
    process: Option<Process>,
    profile: TempDir,
    exe: PathBuf,
    origin: String,
    /// The browsing contexts (tabs) opened, by `PageId`.
    pages: Vec<String>,
    /// The tab Firefox opened by itself at start, used for the first page.
    spare: Option<String>,
    offline: bool,
    offline_by: Offline,
    /// The preload script keeping new documents offline, while offline.
    preload: Option<String>,
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
    stdout_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Firefox {
    /// Launches Firefox on a fresh profile and grants the app's origin the
    /// notification permission; `push_server` is its push service's
    /// `ws://` URL, kept across restarts.
    pub async fn launch(exe: PathBuf, origin: &str, push_server: Option<&str>) -> Result<Self> {
        let profile = TempDir::new("harness-firefox-profile")?;
        std::fs::write(
            profile.path().join("user.js"),
            format!("{USER_JS}{}", push_prefs(push_server)),
        )
        .context("cannot write the Firefox profile's user.js")?;
        let mut browser = Self {
            bidi: None,
            process: None,
            profile,
            exe,
            origin: origin.trim_end_matches('/').to_owned(),
            pages: Vec::new(),
            spare: None,
            offline: false,
            offline_by: Offline::PageScript,
            preload: None,
            product: String::new(),
            service_log: Mutex::new(Vec::new()),
            showing: HashSet::new(),
            logs: Mutex::new((Vec::new(), 0)),
            stdout_tail: Arc::new(Mutex::new(VecDeque::new())),
        };
        browser.start().await?;
        Ok(browser)
    }

    async fn start(&mut self) -> Result<()> {
        let (process, url) = launch(&self.exe, self.profile.path(), self.stdout_tail.clone())
            .await
            .context("starting Firefox")?;
        self.process = Some(process);
        let url = format!("{}/session", url.trim_end_matches('/'));
        let bidi = Bidi::connect(&url, COMMAND_TIMEOUT).await?;
        let session = bidi
            .call(
                "session.new",
                json!({ "capabilities": {} }),
                COMMAND_TIMEOUT,
            )
            .await?;
        let caps = &session["capabilities"];
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
        // The pref allows it too; this is the protocol's way, where known.
        if let Err(error) = bidi
            .call(
                "permissions.setPermission",
                json!({
                    "descriptor": { "name": "notifications" },
                    "state": "granted",
                    "origin": self.origin,
                }),
                COMMAND_TIMEOUT,
            )
            .await
            && !bidi::is_unknown_command(&error)
        {
            return Err(error.context("granting the notification permission"));
        }
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

    fn bidi(&self) -> Result<&Bidi> {
        self.bidi.as_ref().context("the browser is not running")
    }

    async fn call(&self, method: &str, params: Value) -> Result<Value> {
        self.bidi()?.call(method, params, COMMAND_TIMEOUT).await
    }

    fn page(&self, page: PageId) -> Result<String> {
        self.pages
            .get(page.0)
            .cloned()
            .context("no such tab (was the browser restarted?)")
    }

    /// `script.evaluate` in the tab `context`, as plain JSON.
    async fn evaluate(&self, context: &str, expression: &str, timeout: Duration) -> Result<Value> {
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

    /// The notifications showing now; each that was not showing at the last
    /// poll is logged as "Notification displayed".
    async fn poll_notifications(&mut self) -> Result<()> {
        let Some(context) = self.pages.first().cloned() else {
            return Ok(());
        };
        let listed = self
            .evaluate(&context, NOTIFICATIONS_JS, COMMAND_TIMEOUT)
            .await?;
        let now: HashSet<(String, String, String)> = listed
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                let field = |i: usize| n[i].as_str().unwrap_or_default().to_owned();
                (field(0), field(1), field(2))
            })
            .collect();
        let mut log = self.service_log.lock().unwrap();
        for (title, body, tag) in now.difference(&self.showing) {
            log.push(ServiceEvent {
                service: "notifications".into(),
                name: "Notification displayed".into(),
                details: format!("title: {title}, body: {body}, tag: {tag}"),
            });
        }
        drop(log);
        self.showing = now;
        Ok(())
    }

    fn read_events(&self) {
        let Some(bidi) = &self.bidi else { return };
        let mut logs = self.logs.lock().unwrap();
        let new = bidi.events_since(logs.1);
        logs.1 += new.len();
        for e in new.iter().filter(|e| e.method == "log.entryAdded") {
            let p = &e.params;
            let text = p["text"].as_str().unwrap_or_default();
            let line = match p["type"].as_str() {
                Some("javascript") => format!("page uncaught: {text}"),
                _ => format!(
                    "page console.{}: {text}",
                    p["method"].as_str().unwrap_or("log")
                ),
            };
            logs.0.push(line);
        }
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
            Feature::BackgroundSync | Feature::StopWorkers | Feature::ShowsWorkerOffline => false,
        }
    }

    async fn open_page(&mut self, url: &str) -> Result<PageId> {
        let context = match self.spare.take() {
            Some(context) => context,
            None => {
                let mut params = json!({ "type": "tab" });
                if let Some(first) = self.pages.first() {
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
        self.pages.push(context);
        Ok(PageId(self.pages.len() - 1))
    }

    async fn reload(&mut self, page: PageId) -> Result<()> {
        let context = self.page(page)?;
        self.bidi()?
            .call(
                "browsingContext.reload",
                json!({ "context": context, "wait": "complete" }),
                LOAD_TIMEOUT,
            )
            .await
            .context("reloading the tab")?;
        Ok(())
    }

    async fn eval(&mut self, page: PageId, expression: &str, timeout: Duration) -> Result<Value> {
        let context = self.page(page)?;
        self.evaluate(&context, expression, timeout).await
    }

    async fn set_offline(&mut self, offline: bool) -> Result<()> {
        match self.offline_by {
            Offline::Emulation => {
                let conditions = if offline {
                    json!({ "type": "offline" })
                } else {
                    Value::Null
                };
                self.call(
                    "emulation.setNetworkConditions",
                    json!({ "networkConditions": conditions }),
                )
                .await?;
            }
            Offline::PageScript => {
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
                for context in self.pages.clone() {
                    self.evaluate(&context, js, COMMAND_TIMEOUT)
                        .await
                        .with_context(|| {
                            format!(
                                "telling a tab it is {}",
                                if offline { "offline" } else { "online" }
                            )
                        })?;
                }
            }
        }
        self.offline = offline;
        Ok(())
    }

    async fn set_tab_offline(&mut self, page: PageId, offline: bool) -> Result<()> {
        let context = self.page(page)?;
        match self.offline_by {
            Offline::Emulation => {
                let conditions = if offline {
                    json!({ "type": "offline" })
                } else {
                    Value::Null
                };
                self.call(
                    "emulation.setNetworkConditions",
                    json!({ "networkConditions": conditions, "contexts": [context] }),
                )
                .await?;
            }
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

    async fn restart(&mut self) -> Result<()> {
        self.read_events();
        if let Some(bidi) = &self.bidi {
            let _ = bidi
                .call("browser.close", json!({}), Duration::from_secs(5))
                .await;
        }
        if let Some(mut process) = self.process.take() {
            // Let it close the profile cleanly (and free its lock); the Drop
            // kills what is left.
            let _ = tokio::time::timeout(Duration::from_secs(15), process.child.wait()).await;
        }
        self.bidi = None;
        self.pages.clear();
        self.spare = None;
        self.offline = false;
        self.preload = None;
        self.showing.clear();
        self.start().await
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

    fn recent_logs(&self, lines: usize) -> Vec<String> {
        self.read_events();
        let logs = self.logs.lock().unwrap();
        let mut out: Vec<String> = logs.0[logs.0.len().saturating_sub(lines / 2)..].to_vec();
        // The worker's console, with the page's, on stdout; not the
        // browser's own chatter about its built-in site fixes.
        let stdout = self.stdout_tail.lock().unwrap();
        let console: Vec<&String> = stdout
            .iter()
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
            let tail = process.stderr_tail.lock().unwrap();
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
