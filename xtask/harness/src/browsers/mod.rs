//! What a checkpoint may ask of a browser. Each checkpoint is written once
//! against this trait; Chromium implements it over the DevTools protocol
//! (`chromium/`), Firefox over WebDriver BiDi (`firefox/`, with Marionette
//! beside it for Firefox's own windows), both over the same websocket
//! connection (`protocol/rpc.rs`), each in a process run the same way
//! (`process.rs`), each found (or installed) the same way and started on a
//! profile where it can read it (`installed.rs`):
//!
//! | here | Chromium (CDP) | Firefox (BiDi) |
//! | --- | --- | --- |
//! | `open_page`, `reload` | `Target.createTarget` + flat session, `Page.navigate`/`reload` + `Page.loadEventFired` | `browsingContext.create`, `browsingContext.navigate`/`reload` with `wait: "complete"` |
//! | `eval` | `Runtime.evaluate {awaitPromise, returnByValue}` | `script.evaluate {awaitPromise: true}` |
//! | `set_offline` | `Network.emulateNetworkConditions` on every tab *and* the worker's target | `emulation.setNetworkConditions` (tabs only, Firefox 153 too: `supports(ShowsWorkerOffline)` is false, and the checkpoints add the proxy's refusal; back online, a tab whose document was loaded offline is sent the `online` event Firefox 153 does not fire there); before Firefox has it (ESR 140), `navigator.onLine` and the `online`/`offline` events from the tab's side |
//! | `stop_workers` | `ServiceWorker.stopAllWorkers` | none: `supports(StopWorkers)` is false and the checkpoints use `restart` |
//! | `fire_sync` | `ServiceWorker.dispatchSyncEvent` | none: `supports(BackgroundSync)` is false; `sync-when-online` is marked `browsers = ["chromium"]` in the lesson file, and the other checkpoints set off the app's fallback with a tab's `online` event (`set_tab_offline`) |
//! | `set_tab_offline` | (every tab, as `set_offline`) | `emulation.setNetworkConditions` with `contexts`, or the tab-side emulation |
//! | `restart` | `Browser.close`, relaunch on the same `--user-data-dir` | Marionette `Marionette:Quit` (the session is Marionette's), relaunch on the same `--profile` |
//! | `kill_and_restart` | the process group killed (SIGKILL; `TerminateProcess` on Windows), relaunch on the same `--user-data-dir` | the same, on the same `--profile` |
//! | `wait_service_event` | `BackgroundService.startObserving` ("Notification displayed", "Dispatched sync event", "Sync completed") | poll `registration.getNotifications()` from a tab and report "Notification displayed" |
//! | `click_notification` | none (no command clicks a notification) | Marionette in the chrome context: a trusted mouse click in the notification's alert window (`window.synthesizeMouseEvent`; `windowUtils.sendMouseEvent` in a Firefox without it, such as ESR 140) |
//! | `tab_urls`, `close_page`, `close_other_tabs` | none (only the Firefox-only `notification-click` needs them) | `browsingContext.getTree`, `browsingContext.close` |
//! | `hard_reload` | `Page.reload {ignoreCache}`: Shift+Reload, which bypasses the worker | `browsingContext.reload {ignoreCache}` |
//! | `set_permission` | `Browser.setPermission` | `permissions.setPermission` |
//! | `add_preload_script` | `Page.addScriptToEvaluateOnNewDocument` on every tab, those opened later too | `script.addPreloadScript` |
//! | `eval_worker` | `Runtime.evaluate` on the worker's own target | none: `supports(EvalInWorker)` is false |

pub mod chromium;
pub mod firefox;
mod installed;
pub(crate) mod process;

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::Value;

/// A tab, as the browser implementation numbers them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageId(pub usize);

/// A position in the browser's log of observed background-service events
/// (notifications shown, syncs completed): wait for what happens after it.
#[derive(Debug, Clone, Copy)]
pub struct Mark(pub usize);

/// A position in the browser's console output (each source counted apart):
/// a checkpoint's failure report shows only what came after its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogMark {
    pub console: usize,
    pub stdout: usize,
    pub stderr: usize,
}

/// A permission the harness sets for the app's origin, as a user would in
/// the site's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    Notifications,
}

/// What a [`Permission`] is set to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PermissionState {
    Granted,
    Denied,
    /// Not decided: the page may ask (`Notification.permission` is
    /// "default").
    Prompt,
}

impl PermissionState {
    /// As both protocols spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            PermissionState::Granted => "granted",
            PermissionState::Denied => "denied",
            PermissionState::Prompt => "prompt",
        }
    }
}

/// What not every browser can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// `SyncManager` exists and the harness can fire a `sync` event.
    BackgroundSync,
    /// The harness can stop the service workers without restarting the
    /// browser.
    StopWorkers,
    /// Offline emulation reaches the service worker, not only the page.
    ShowsWorkerOffline,
    /// The harness can run JavaScript in the service worker itself.
    EvalInWorker,
}

/// A background-service event the browser reported: a notification shown, a
/// sync dispatched or completed.
#[derive(Debug, Clone)]
pub struct ServiceEvent {
    /// `"notifications"` or `"backgroundSync"`.
    pub service: String,
    /// The browser's own wording, e.g. "Notification displayed".
    pub name: String,
    /// Key/value details the browser attached, joined for messages.
    pub details: String,
}

#[allow(async_fn_in_trait)]
pub trait Browser {
    /// "chromium", "firefox": the checkpoint file may restrict a checkpoint to
    /// some browsers.
    fn name(&self) -> &'static str;
    /// The browser's product and version, for the report.
    fn version(&self) -> String;
    fn supports(&self, feature: Feature) -> bool;

    /// Opens a new tab at `url` and waits for its `load` event.
    async fn open_page(&mut self, url: &str) -> Result<PageId>;
    /// Reloads the tab and waits for its `load` event.
    async fn reload(&mut self, page: PageId) -> Result<()>;
    /// Evaluates a JavaScript expression in the page, awaits it if it is a
    /// promise, and returns its value as JSON. A thrown error is an `Err`.
    async fn eval(&mut self, page: PageId, expression: &str, timeout: Duration) -> Result<Value>;

    /// Turns the network off (or on) for the app: every tab and the service
    /// worker.
    async fn set_offline(&mut self, offline: bool) -> Result<()>;
    /// Turns the network off (or on) for one tab only; the other tabs hear
    /// nothing. Where there is no Background Sync, a tab's `online` event is
    /// what sets off the app's fallback, and this keeps the other tabs from
    /// reloading the list by themselves. By default: every tab.
    async fn set_tab_offline(&mut self, page: PageId, offline: bool) -> Result<()> {
        let _ = page;
        self.set_offline(offline).await
    }
    /// Stops every service worker and waits until they are stopped. Refused
    /// while offline (Chromium would keep the registration offline for good).
    async fn stop_workers(&mut self) -> Result<()>;
    /// Fires a `sync` event with `tag` at the app's service worker.
    async fn fire_sync(&mut self, tag: &str, last_chance: bool) -> Result<()>;
    /// Closes the browser and starts it again on the same profile (the tabs
    /// are gone; the origin's storage, caches and workers stay).
    async fn restart(&mut self) -> Result<()>;
    /// Kills the browser at once, as a crash or the out-of-memory killer
    /// would, and starts it again on the same profile: on Unix SIGKILL to
    /// its whole process group, on Windows `TerminateProcess` (what
    /// `Child::kill` does there), neither of which gives it a chance to
    /// write anything more. What the origin's storage had committed stays.
    async fn kill_and_restart(&mut self) -> Result<()>;
    /// Deletes the app's service worker registrations at once, and with
    /// them their pending syncs; the tabs stay open, no longer controlled.
    /// Only where there is Background Sync (whose failed syncs wait minutes
    /// for their retry, which nothing else can clear).
    async fn forget_service_workers(&mut self) -> Result<()>;

    /// Now, in the log of background-service events.
    fn mark(&self) -> Mark;
    /// Waits for a background-service event since `since` whose name
    /// contains `name` (e.g. "Notification displayed", "Sync completed").
    async fn wait_service_event(
        &mut self,
        since: Mark,
        service: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<ServiceEvent>;
    /// The background-service events since `since`.
    fn service_events(&self, since: Mark) -> Vec<ServiceEvent>;

    /// Now, in the console output of the tabs and the worker.
    fn log_mark(&self) -> LogMark;
    /// The console output and errors from the tabs and the worker since
    /// `since`, its last `lines` at most, for a failure report.
    fn logs_since(&self, since: LogMark, lines: usize) -> Vec<String>;
    /// The last console output and errors, whenever they came.
    fn recent_logs(&self, lines: usize) -> Vec<String> {
        self.logs_since(LogMark::default(), lines)
    }

    /// Closes the app's tabs and drives the app at `origin` from now on,
    /// granting it what the lesson needs, as at launch: to the browser a
    /// new site, with no worker, storage or permission of its own yet,
    /// while the browser itself keeps running (`check --watch`'s rounds).
    async fn move_to(&mut self, origin: &str) -> Result<()>;

    /// Reloads the tab bypassing the service worker, as Shift+Reload does:
    /// the page is then not controlled (`navigator.serviceWorker.controller`
    /// is null), as on a first visit. Waits for its `load` event.
    async fn hard_reload(&mut self, page: PageId) -> Result<()>;

    /// Sets `permission` for the app's origin, as a user would in the
    /// site's settings.
    async fn set_permission(
        &mut self,
        permission: Permission,
        state: PermissionState,
    ) -> Result<()>;

    /// Runs `function`, a JavaScript function declaration (`() => { … }`),
    /// in every document the app's tabs load from now on, before the page's
    /// own scripts: a spy the harness reads back later. Until
    /// [`Browser::clear_preload_scripts`] or a restart.
    async fn add_preload_script(&mut self, function: &str) -> Result<()>;
    /// Removes every script [`Browser::add_preload_script`] added (the
    /// documents loaded meanwhile keep what it did until they reload).
    async fn clear_preload_scripts(&mut self) -> Result<()>;

    /// Evaluates a JavaScript expression in the app's service worker (which
    /// must be running), awaits it if it is a promise, and returns its value
    /// as JSON. Only where `supports(Feature::EvalInWorker)`.
    async fn eval_worker(&mut self, expression: &str, timeout: Duration) -> Result<Value> {
        let _ = (expression, timeout);
        bail!(
            "the harness cannot run script in the worker in {}",
            self.name()
        )
    }

    /// Hands `data` to the app's service worker as a `push` event, as the
    /// browser does with a message its push service delivered (Chromium:
    /// `ServiceWorker.deliverPushMessage`). Push checkpoints are marked
    /// `browsers = ["chromium"]`, so other browsers need not implement it.
    async fn deliver_push(&mut self, data: &str) -> Result<()> {
        let _ = data;
        bail!(
            "the harness cannot deliver a push message in {}",
            self.name()
        )
    }

    /// Clicks the notification titled `title` the way a user does, so that
    /// the app's service worker gets its `notificationclick` (Firefox: a
    /// trusted click in the notification's own alert window, reached over
    /// Marionette). Waits up to `timeout` for it to be shown. The
    /// `notification-click` checkpoint is marked `browsers = ["firefox"]`:
    /// Chromium's DevTools protocol has no command to click a notification.
    async fn click_notification(&mut self, title: &str, timeout: Duration) -> Result<()> {
        let _ = (title, timeout);
        bail!("the harness cannot click a notification in {}", self.name())
    }

    /// The URL of every open tab, in the browser's order: those the harness
    /// opened and those the app opened (`clients.openWindow`).
    async fn tab_urls(&mut self) -> Result<Vec<String>> {
        bail!("the harness cannot list the tabs in {}", self.name())
    }

    /// Closes a tab the harness opened; its `PageId` is no longer usable.
    async fn close_page(&mut self, page: PageId) -> Result<()> {
        let _ = page;
        bail!("the harness cannot close a tab in {}", self.name())
    }

    /// Closes every tab the harness did not open (those the app opened).
    async fn close_other_tabs(&mut self) -> Result<()> {
        bail!("the harness cannot close tabs in {}", self.name())
    }

    /// Gives the tab a `width`×`height` viewport, as a window of that size
    /// would have (Chromium: `Emulation.setDeviceMetricsOverride`); the page
    /// hears a `resize`.
    async fn set_viewport(&mut self, page: PageId, width: u32, height: u32) -> Result<()> {
        let _ = (page, width, height);
        bail!(
            "the harness cannot size a tab's viewport in {}",
            self.name()
        )
    }

    /// A PNG of what the tab shows, in a `width`×`height` viewport (for the
    /// book's screenshots; Chromium: `Page.captureScreenshot`).
    async fn screenshot(&mut self, page: PageId, width: u32, height: u32) -> Result<Vec<u8>> {
        let _ = (page, width, height);
        bail!("the harness cannot take screenshots in {}", self.name())
    }

    // ---- provided: user actions and waits written once over `eval` ----

    /// Evaluates `condition` every 100 ms until it is truthy; on timeout the
    /// error says `what` was awaited and what the last evaluation returned.
    async fn wait_until(
        &mut self,
        page: PageId,
        condition: &str,
        what: &str,
        timeout: Duration,
    ) -> Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let last = match self.eval(page, condition, Duration::from_secs(5)).await {
                Ok(value) if truthy(&value) => return Ok(value),
                Ok(value) => value.to_string(),
                Err(error) => format!("error: {error:#}"),
            };
            if tokio::time::Instant::now() >= deadline {
                bail!("timed out after {timeout:?} waiting for {what} (last seen: {last})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types `text` into the input `selector` the way a user's typing ends
    /// up: value set, `input` and `change` fired.
    async fn fill(&mut self, page: PageId, selector: &str, text: &str) -> Result<()> {
        let js = format!(
            "(() => {{ const el = document.querySelector({sel}); if (!el) return 'missing';
               el.focus(); el.value = {text};
               el.dispatchEvent(new Event('input', {{bubbles: true}}));
               el.dispatchEvent(new Event('change', {{bubbles: true}}));
               return 'ok'; }})()",
            sel = js_str(selector),
            text = js_str(text)
        );
        match self.eval(page, &js, Duration::from_secs(5)).await? {
            Value::String(s) if s == "ok" => Ok(()),
            _ => bail!("the page has no element {selector} to type into"),
        }
    }

    /// Clicks the element `selector` (as `element.click()` does).
    async fn click(&mut self, page: PageId, selector: &str) -> Result<()> {
        let js = format!(
            "(() => {{ const el = document.querySelector({sel}); if (!el) return 'missing';
               el.click(); return 'ok'; }})()",
            sel = js_str(selector)
        );
        match self.eval(page, &js, Duration::from_secs(5)).await? {
            Value::String(s) if s == "ok" => Ok(()),
            _ => bail!("the page has no element {selector} to click"),
        }
    }

    /// The text of the first element matching `selector`, if there is one.
    async fn text_of(&mut self, page: PageId, selector: &str) -> Result<Option<String>> {
        let js = format!(
            "(() => {{ const el = document.querySelector({}); return el ? el.textContent : null; }})()",
            js_str(selector)
        );
        Ok(self
            .eval(page, &js, Duration::from_secs(5))
            .await?
            .as_str()
            .map(str::to_owned))
    }
}

pub fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|n| n != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `text` as a JavaScript string literal.
pub fn js_str(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}
