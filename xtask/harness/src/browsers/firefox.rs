//! Headless Firefox over WebDriver BiDi, the browser's own remote protocol
//! (no geckodriver): finding (or installing) it, launching it on a fresh
//! profile, and the [`Browser`] implementation.
//!
//! Marionette (`marionette.rs`), Firefox's older protocol, runs beside BiDi:
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
//! - Notification permission: BiDi `permissions.setPermission`, and the pref
//!   `permissions.default.desktop-notification=1` in case it is refused.
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
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::browsers::process::{Process, Tail};
use crate::browsers::{Browser, Feature, Mark, PageId, ServiceEvent};
use crate::protocol::bidi::{self, Bidi};
use crate::protocol::marionette::Marionette;
use crate::util::{Installable, TempDir};

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
// Marionette on a port the system picks (written to MarionetteActivePort in
// the profile), so that runs side by side never collide on 2828.
user_pref("marionette.port", 0);
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

/// The endpoint in Firefox's `WebDriver BiDi listening on ws://…` line.
fn endpoint(line: &str) -> Option<String> {
    line.trim()
        .strip_prefix("WebDriver BiDi listening on ")
        .map(|url| url.trim().to_owned())
}

/// Where Marionette writes the port it listens on (with `marionette.port`
/// 0) once it accepts connections.
const MARIONETTE_PORT_FILE: &str = "MarionetteActivePort";

/// Starts Firefox on `profile` with both remote protocols on, and waits until
/// both listen; returns the process and Marionette's port.
async fn launch(exe: &Path, profile: &Path, stdout_tail: Tail) -> Result<(Process, u16)> {
    // A port file left by the last run names a port nobody listens on now:
    // only a file this launch writes may be read.
    let port_file = profile.join(MARIONETTE_PORT_FILE);
    match std::fs::remove_file(&port_file) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("cannot remove {}", port_file.display()));
        }
    }
    let mut command = Command::new(exe);
    command
        .args(["--headless", "--no-remote", "--profile"])
        .arg(profile)
        .arg("--remote-debugging-port=0")
        // Marionette, and with it scripts in Firefox's own (chrome) windows:
        // without this flag ESR 140 refuses `Marionette:SetContext` to
        // "chrome" ("System access is required").
        .args(["--marionette", "--remote-allow-system-access"])
        .env("MOZ_CRASHREPORTER_DISABLE", "1");
    let (mut process, url_rx) = Process::start(command, exe, endpoint, Some(stdout_tail))?;
    let deadline = tokio::time::Instant::now() + LAUNCH_TIMEOUT;
    // BiDi first: a Marionette session made before the Remote Agent runs
    // would come without a `webSocketUrl`.
    match tokio::time::timeout_at(deadline, url_rx).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => bail!(
            "Firefox ({}) exited before printing its WebDriver BiDi endpoint:\n{}",
            exe.display(),
            process.stderr_text()
        ),
        Err(_) => bail!(
            "timed out after {LAUNCH_TIMEOUT:?} waiting for Firefox to print `WebDriver BiDi listening on ws://…`"
        ),
    }
    loop {
        if let Ok(text) = std::fs::read_to_string(&port_file)
            && let Ok(port) = text.trim().parse::<u16>()
            && port != 0
        {
            return Ok((process, port));
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            bail!(
                "Firefox ({}) exited ({status}) before Marionette wrote its port to {}:\n{}",
                exe.display(),
                port_file.display(),
                process.stderr_text()
            );
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "timed out after {LAUNCH_TIMEOUT:?} waiting for Marionette to write its port to {} (started with --marionette)",
                port_file.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
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

/// With `emulation.setNetworkConditions`, before the network comes back: a
/// tab that reads offline listens for the `online` event the browser owes
/// it…
const HEAR_ONLINE: &str = "(() => { if (navigator.onLine) return false;
    const heard = { online: false };
    window.addEventListener('online', () => { heard.online = true; }, { once: true, capture: true });
    window.__harnessOnline = heard; return true; })()";
/// …and after, if the browser said nothing although `navigator.onLine` is
/// true now, is told, as a browser tells a page whose network came back.
/// Firefox 153 fires no `online` in a document loaded while the emulation was
/// offline (its `navigator.onLine` turns true all the same); a document
/// loaded online does get it, and is left alone.
const TELL_ONLINE: &str = "(async () => { const heard = window.__harnessOnline;
    delete window.__harnessOnline;
    if (!heard || heard.online || !navigator.onLine) return false;
    await new Promise(resolve => setTimeout(resolve, 50));
    if (heard.online) return false;
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

/// Run over Marionette in the chrome context with the notification's title:
/// finds its alert window and clicks it as a user would. With
/// `alerts.useSystemBackend` off, Firefox shows each notification in a
/// window of its own (chrome://global/content/alerts/alert.xhtml, window type
/// `alert:alert`, the title in `#alertTitleLabel`'s `value`), whose `click`
/// listener, added on `load`, tells the notification's owner — for a
/// service worker's notification, Firefox then fires `notificationclick`
/// with the right to focus or open a window. The click goes the way a
/// mouse's does: a `mousedown` and a `mouseup` synthesized at the alert's
/// centre, hit-tested there, from which Firefox makes the trusted `click`
/// itself — with the chrome-only `window.synthesizeMouseEvent` (Firefox 153
/// has no `windowUtils.sendMouseEvent` any more) or, in an older Firefox
/// without it, `windowUtils.sendMouseEvent` (as on ESR 140).
/// Returns `{clicked, titles}`: the titles showing, for a message.
const CLICK_ALERT_JS: &str = "const [title] = arguments;
    const windows = [...Services.wm.getEnumerator('alert:alert')];
    const titleOf = w => w.document.getElementById('alertTitleLabel')?.getAttribute('value') ?? '';
    const titles = windows.map(titleOf);
    const alert = windows.find(w => titleOf(w) === title && w.document.readyState === 'complete');
    if (!alert) return { clicked: false, titles };
    const box = alert.document.getElementById('alertBox').getBoundingClientRect();
    const x = box.left + box.width / 2, y = box.top + box.height / 2;
    if (typeof alert.synthesizeMouseEvent === 'function') {
      alert.synthesizeMouseEvent('mousedown', x, y, { button: 0, clickCount: 1 });
      alert.synthesizeMouseEvent('mouseup', x, y, { button: 0, clickCount: 1 });
    } else {
      alert.windowUtils.sendMouseEvent('mousedown', x, y, 0, 1, 0);
      alert.windowUtils.sendMouseEvent('mouseup', x, y, 0, 1, 0);
    }
    return { clicked: true, titles };";

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
        let profile = TempDir::new("harness-firefox-profile")?;
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
            product: String::new(),
            service_log: Mutex::new(Vec::new()),
            showing: HashSet::new(),
            logs: Mutex::new((Vec::new(), 0)),
            stdout_tail: Tail::default(),
        };
        browser.start().await?;
        Ok(browser)
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

    /// Every top-level browsing context (tab) now, as BiDi lists them:
    /// (context, url).
    async fn contexts(&self) -> Result<Vec<(String, String)>> {
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

    /// `emulation.setNetworkConditions`: offline, or back online (`null`), for
    /// the tab `context` or, with `None`, every tab. Back online, each tab
    /// the browser leaves without its `online` event gets one (see
    /// `TELL_ONLINE`); with `None`, only coming back from offline (the
    /// checkpoints turn the network on before each, mostly when it is on).
    async fn emulate_network(&self, offline: bool, context: Option<&str>) -> Result<()> {
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

    /// The notifications showing now; each that was not showing at the last
    /// poll is logged as "Notification displayed".
    async fn poll_notifications(&mut self) -> Result<()> {
        let Some(context) = self.open_pages().next().cloned() else {
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
            Offline::Emulation => self.emulate_network(offline, None).await?,
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
            }
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
        self.bidi = None;
        self.marionette = None;
        self.pages.clear();
        self.spare = None;
        self.offline = false;
        self.preload = None;
        self.showing.clear();
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
            let tail = process.stderr_lines();
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
