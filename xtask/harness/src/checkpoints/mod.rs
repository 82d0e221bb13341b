//! The checkpoints, one function each, written once against [`Browser`].
//! Titles and hints live in `lessons/<lesson>/checkpoints.toml`; this file
//! binds each id there to what the browser must show and the server must
//! store.
//!
//! The checkpoints run in order in one browser, and each starts by putting
//! the app back in a known state (proxy passing, network on, the first tab
//! loaded and controlled), so that with `--keep-going` a later checkpoint can
//! run after an earlier one failed.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::browsers::{Browser, Feature, Mark, PageId, js_str};
use crate::standins::autopush::Autopush;
use crate::standins::proxy::{Mode, Outcome, Proxy};
use crate::standins::server::{Article, Server};

mod fallback;
mod notification_click;
mod optimistic;
mod push;
mod push_declarative;
mod push_expired;
mod push_subscribe;
mod refused;
mod text_not_html;

/// Every check the harness knows, in the order the lesson file should list
/// them.
pub const IDS: &[&str] = &[
    "app-loads",
    "worker-controls",
    "offline-shell",
    "starred-offline",
    "text-not-html",
    "push-expired",
    "notification-click",
    "page-worker",
    "outbox",
    "sync-when-online",
    "sync",
    "update-pages",
    "pending-visible",
    "status-true",
    "notification",
    "refused",
    "push",
    "push-subscribe",
    "push-declarative",
];

pub async fn run<B: Browser>(id: &str, cx: &mut Ctx<B>) -> Result<()> {
    match id {
        "app-loads" => app_loads(cx).await,
        "worker-controls" => worker_controls(cx).await,
        "offline-shell" => offline_shell(cx).await,
        "starred-offline" => starred_offline(cx).await,
        "text-not-html" => text_not_html::text_not_html(cx).await,
        "push-expired" => push_expired::push_expired(cx).await,
        "notification-click" => notification_click::notification_click(cx).await,
        "page-worker" => page_worker(cx).await,
        "sync-when-online" => sync_when_online(cx).await,
        "outbox" => outbox(cx).await,
        "sync" => sync(cx).await,
        "refused" => refused::refused_never_blocks(cx).await,
        "update-pages" => update_pages(cx).await,
        "pending-visible" => optimistic::pending_visible(cx).await,
        "status-true" => optimistic::status_true(cx).await,
        "notification" => notification(cx).await,
        "push" => push::push(cx).await,
        "push-subscribe" => push_subscribe::push_subscribe(cx).await,
        "push-declarative" => push_declarative::push_declarative(cx).await,
        other => bail!("the harness has no check for the checkpoint id {other:?}"),
    }
}

/// A checkpoint's verdict when the app did not do what it should: what was
/// expected and what was seen. Any other error is the harness's or the
/// environment's, and is reported as what was seen.
#[derive(Debug)]
pub struct Failed {
    pub expected: String,
    pub seen: String,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}; seen {}", self.expected, self.seen)
    }
}

impl std::error::Error for Failed {}

fn failed(expected: impl Into<String>, seen: impl Into<String>) -> anyhow::Error {
    Failed {
        expected: expected.into(),
        seen: seen.into(),
    }
    .into()
}

/// The server's VAPID public key: as `GET /api/v1/push/public-key` gives it
/// (base64url text, what `pushManager.subscribe` takes), and decoded (the
/// uncompressed P-256 point a push's VAPID `k` must equal).
async fn vapid_public_key(port: u16) -> Result<(String, Vec<u8>)> {
    let (status, body) = crate::standins::proxy::http_get(port, "/api/v1/push/public-key").await?;
    let key = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["public_key"].as_str().map(str::to_owned))
        .filter(|_| status == 200)
        .ok_or_else(|| {
            failed(
                "GET /api/v1/push/public-key to answer 200 {\"public_key\": \"<base64url>\"}",
                format!("{status} {body}"),
            )
        })?;
    let bytes = crate::standins::push_service::unb64("the server's public key", &key)
        .map_err(|why| failed("a base64url VAPID public key", why))?;
    Ok((key, bytes))
}

/// What the checkpoints share: the browser, the proxy in front of the server,
/// the server, and the tabs opened so far.
pub struct Ctx<B: Browser> {
    pub browser: B,
    pub proxy: Proxy,
    pub server: Server,
    pub origin: String,
    /// The browser's own push service, where the harness can play it
    /// (Firefox: `autopush.rs`).
    pub autopush: Option<Autopush>,
    tabs: Vec<PageId>,
    /// How many API requests the proxy had seen when this checkpoint began.
    api_mark: usize,
    run: String,
    counter: u32,
}

const UI: Duration = Duration::from_secs(10);
const ARRIVAL: Duration = Duration::from_secs(15);
const LIST: &str = "#latest-headlines li[data-id]";
/// The tag the app registers, if `getTags()` cannot tell.
const SYNC_TAG: &str = "add-article";

impl<B: Browser> Ctx<B> {
    pub fn new(browser: B, proxy: Proxy, server: Server) -> Self {
        let origin = proxy.origin();
        let run = format!("{:04x}", std::process::id() & 0xffff);
        Self {
            browser,
            proxy,
            server,
            origin,
            autopush: None,
            tabs: Vec::new(),
            api_mark: 0,
            run,
            counter: 0,
        }
    }

    /// A headline no other run or checkpoint uses.
    fn headline(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("Check {}-{}: {what}", self.run, self.counter)
    }

    fn url(&self) -> String {
        format!("{}/", self.origin)
    }

    /// The first tab, opened on the app if there is none yet.
    async fn tab(&mut self) -> Result<PageId> {
        if let Some(tab) = self.tabs.first() {
            return Ok(*tab);
        }
        let url = self.url();
        let tab = self.browser.open_page(&url).await?;
        self.tabs.push(tab);
        Ok(tab)
    }

    async fn set_mode(&mut self, mode: Mode) -> Result<()> {
        self.proxy.set_mode(mode).await
    }

    /// The network off for the app, as a user's would be. Where the
    /// browser's offline emulation does not reach the service worker
    /// (Firefox), the proxy also refuses connections, so the worker cannot
    /// quietly use the network either.
    async fn network_off(&mut self) -> Result<()> {
        self.browser.set_offline(true).await?;
        if !self.browser.supports(Feature::ShowsWorkerOffline) {
            self.set_mode(Mode::Refuse).await?;
        }
        Ok(())
    }

    async fn network_on(&mut self) -> Result<()> {
        if !self.browser.supports(Feature::ShowsWorkerOffline) {
            self.set_mode(Mode::Pass).await?;
        }
        self.browser.set_offline(false).await
    }

    /// Proxy passing, network on, the first tab loaded, controlled by the
    /// worker and showing the list.
    async fn ready(&mut self) -> Result<PageId> {
        self.api_mark = self.proxy.api_requests().len();
        self.set_mode(Mode::Pass).await?;
        self.browser.set_offline(false).await?;
        let tab = self.tab().await?;
        let controlled = self
            .browser
            .eval(tab, "navigator.serviceWorker.controller !== null", UI)
            .await?;
        if controlled != Value::Bool(true) {
            wait_for_registration(&mut self.browser, tab).await?;
            self.browser.reload(tab).await?;
            wait_controlled(&mut self.browser, tab).await?;
        }
        wait_list(&mut self.browser, tab, 1).await?;
        Ok(tab)
    }

    /// The first tab, the app's others closed (`update-pages` keeps a
    /// second one): a check of which page a click focuses needs exactly one
    /// to choose from.
    async fn only_tab(&mut self) -> Result<PageId> {
        let others = self.tabs.split_off(self.tabs.len().min(1));
        for page in others {
            self.browser.close_page(page).await?;
        }
        self.ready().await
    }

    /// How many times each of `headlines` is on the server.
    async fn counts(&self, headlines: &[String]) -> Result<Vec<usize>> {
        let articles = self.server.articles().await?;
        Ok(headlines
            .iter()
            .map(|h| articles.iter().filter(|a| &a.headline == h).count())
            .collect())
    }

    /// Waits until every headline is on the server; then the server's list.
    async fn wait_on_server(&self, headlines: &[String], after: &str) -> Result<Vec<Article>> {
        let deadline = tokio::time::Instant::now() + ARRIVAL;
        loop {
            let articles = self.server.articles().await?;
            let missing: Vec<&String> = headlines
                .iter()
                .filter(|h| !articles.iter().any(|a| &a.headline == *h))
                .collect();
            if missing.is_empty() {
                return Ok(articles);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(failed(
                    format!(
                        "{} on the server within {ARRIVAL:?} {after}",
                        quote_all(headlines)
                    ),
                    format!(
                        "{} missing; POSTs to the API during this check: {}",
                        quote_all(&missing.into_iter().cloned().collect::<Vec<_>>()),
                        self.recent_posts()
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Fails unless each headline is on the server exactly once.
    async fn exactly_once(&self, headlines: &[String]) -> Result<()> {
        let counts = self.counts(headlines).await?;
        for (headline, count) in headlines.iter().zip(counts) {
            if count != 1 {
                return Err(failed(
                    format!("\"{headline}\" on the server exactly once"),
                    format!(
                        "it is there {count} times (each article has a client-made id: send it, not a new one)"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The POSTs to the API since this checkpoint began, for a message.
    fn recent_posts(&self) -> String {
        let seen = self.proxy.api_requests();
        let posts: Vec<_> = seen
            .get(self.api_mark..)
            .unwrap_or_default()
            .iter()
            .filter(|s| s.method == "POST")
            .cloned()
            .collect();
        describe(&posts)
    }

    /// Waits for a POST to the API, made after the `since`-th API request,
    /// that the proxy answered with 503 and whose body names `headline`.
    async fn wait_refused_post(&self, since: usize, headline: &str, what: &str) -> Result<()> {
        let deadline = tokio::time::Instant::now() + UI;
        loop {
            let seen = self.proxy.api_requests();
            if seen.get(since..).unwrap_or_default().iter().any(|s| {
                s.method == "POST"
                    && s.outcome == Outcome::Answered503
                    && s.body.contains(&json_fragment(headline))
            }) {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(failed(
                    what.to_owned(),
                    format!(
                        "no POST carrying \"{headline}\" within {UI:?}; POSTs to the API since: {}",
                        describe(
                            &seen
                                .get(since..)
                                .unwrap_or_default()
                                .iter()
                                .filter(|s| s.method == "POST")
                                .cloned()
                                .collect::<Vec<_>>()
                        )
                    ),
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Fires a sync with the tag the app registered (or the lesson's tag).
    async fn fire_sync(&mut self, tag: &str) -> Result<Mark> {
        let mark = self.browser.mark();
        self.browser.fire_sync(tag, false).await?;
        Ok(mark)
    }

    /// Gets the worker to deliver its outbox the browser's way: a `sync`
    /// where there is Background Sync; elsewhere the app's fallback, which
    /// the first tab sets off when it comes back online (its `online` event
    /// tells the worker; the other tabs hear nothing).
    async fn deliver(&mut self, tag: &str) -> Result<Mark> {
        if self.browser.supports(Feature::BackgroundSync) {
            return self.fire_sync(tag).await;
        }
        let mark = self.browser.mark();
        let tab = self.tab().await?;
        self.browser.set_tab_offline(tab, true).await?;
        self.browser
            .wait_until(tab, "navigator.onLine === false", "the tab offline", UI)
            .await?;
        self.browser.set_tab_offline(tab, false).await?;
        self.browser
            .wait_until(tab, "navigator.onLine === true", "the tab online", UI)
            .await?;
        Ok(mark)
    }

    /// [`Ctx::deliver`] with the tag of the sync the app registered in
    /// `tab` (the lesson's tag where the browser has no Background Sync).
    async fn deliver_pending(&mut self, tab: PageId) -> Result<Mark> {
        let tag = sync_tags(&mut self.browser, tab)
            .await?
            .and_then(|t| t.first().cloned());
        self.deliver(tag.as_deref().unwrap_or(SYNC_TAG)).await
    }

    /// What [`Ctx::deliver`] does, for messages.
    fn delivery(&self) -> &'static str {
        if self.browser.supports(Feature::BackgroundSync) {
            "a sync"
        } else {
            "the first tab came back online"
        }
    }
}

fn describe(seen: &[crate::standins::proxy::Seen]) -> String {
    if seen.is_empty() {
        return "none".into();
    }
    seen.iter()
        .map(|s| {
            let outcome = match s.outcome {
                Outcome::Passed => "passed to the server",
                Outcome::Answered503 => "answered 503",
                Outcome::ServerDown => "server down",
            };
            format!("{} {} ({outcome})", s.method, s.path)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How `text` appears inside a JSON body.
fn json_fragment(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_owned()
}

fn quote_all(headlines: &[String]) -> String {
    headlines
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

// ------------------------------------------------------------ shared waits

async fn list_len<B: Browser>(b: &mut B, tab: PageId) -> Result<u64> {
    let js = format!("document.querySelectorAll({}).length", js_str(LIST));
    Ok(b.eval(tab, &js, UI).await?.as_u64().unwrap_or(0))
}

async fn wait_list<B: Browser>(b: &mut B, tab: PageId, at_least: u64) -> Result<()> {
    let js = format!(
        "document.querySelectorAll({}).length >= {at_least}",
        js_str(LIST)
    );
    if b.wait_until(tab, &js, "the list", UI).await.is_err() {
        let n = list_len(b, tab).await.unwrap_or(0);
        // What the page itself says about its list ("Cannot load the
        // news…") tells a fetch that failed from a page that never started.
        let note = b
            .text_of(tab, "#list-note")
            .await
            .ok()
            .flatten()
            .filter(|note| !note.trim().is_empty())
            .map(|note| format!("; #list-note says \"{}\"", note.trim()))
            .unwrap_or_default();
        return Err(failed(
            format!("at least {at_least} articles in the list (`{LIST}`)"),
            format!("{n} after {UI:?}{note}"),
        ));
    }
    Ok(())
}

const REGISTRATION_JS: &str = "(async () => {
    const r = await navigator.serviceWorker.getRegistration('/');
    if (!r) return null;
    const w = r.active || r.waiting || r.installing;
    return { active: !!r.active, state: w ? w.state : null, script: w ? w.scriptURL : null, scope: r.scope };
})()";

async fn wait_for_registration<B: Browser>(b: &mut B, tab: PageId) -> Result<Value> {
    let active = format!("{REGISTRATION_JS}.then(r => r && r.active ? r : null)");
    match b
        .wait_until(
            tab,
            &active,
            "an active service worker",
            Duration::from_secs(20),
        )
        .await
    {
        Ok(registration) => Ok(registration),
        Err(_) => {
            let seen = b
                .eval(tab, REGISTRATION_JS, UI)
                .await
                .unwrap_or(Value::Null);
            Err(failed(
                "a service worker registered for / (script /sw.js) that becomes active within 20 s",
                match seen {
                    Value::Null => "no registration at all".to_owned(),
                    r => format!("the registration {r}"),
                },
            ))
        }
    }
}

async fn wait_controlled<B: Browser>(b: &mut B, tab: PageId) -> Result<()> {
    if b.wait_until(
        tab,
        "navigator.serviceWorker.controller !== null",
        "a controller",
        UI,
    )
    .await
    .is_err()
    {
        return Err(failed(
            "the page controlled by the worker (`navigator.serviceWorker.controller` set)",
            "no controller, even after a reload",
        ));
    }
    Ok(())
}

/// Fills the form and submits it; waits for the worker's answer in
/// #form-status and returns it.
async fn add_article<B: Browser>(b: &mut B, tab: PageId, headline: &str) -> Result<String> {
    add_article_by(b, tab, headline, "The Harness").await
}

/// [`add_article`] with a byline of the caller's (the book's screenshots
/// name theirs).
pub async fn add_article_by<B: Browser>(
    b: &mut B,
    tab: PageId,
    headline: &str,
    byline: &str,
) -> Result<String> {
    // Clear the status first, so the answer we read is to this submission.
    b.eval(
        tab,
        "(() => { const s = document.querySelector('#form-status'); if (s) s.textContent = ''; return !!s; })()",
        UI,
    )
    .await?;
    b.fill(tab, "#headline-input", headline)
        .await
        .map_err(|e| failed("the form input #headline-input", format!("{e:#}")))?;
    b.fill(tab, "#byline-input", byline)
        .await
        .map_err(|e| failed("the form input #byline-input", format!("{e:#}")))?;
    b.click(tab, "#submit-article")
        .await
        .map_err(|e| failed("the submit button #submit-article", format!("{e:#}")))?;
    // The worker's answer, or (failing fast) any other final text that stays
    // put for a second; a text ending in an ellipsis is still in progress.
    let expected = "#form-status to show the worker's answer (\"Queued — N waiting\") after submitting the form";
    let deadline = tokio::time::Instant::now() + UI;
    let mut settled: Option<(String, tokio::time::Instant)> = None;
    loop {
        let text = b
            .text_of(tab, "#form-status")
            .await?
            .map(|t| t.trim().to_owned());
        let Some(text) = text else {
            return Err(failed(expected, "no #form-status element"));
        };
        let lower = text.to_lowercase();
        if ["queued", "sent", "waiting"]
            .iter()
            .any(|w| lower.contains(w))
        {
            return Ok(text);
        }
        let now = tokio::time::Instant::now();
        let in_progress = text.is_empty() || text.ends_with('…') || text.ends_with("...");
        match &settled {
            Some((seen, since))
                if *seen == text && now - *since >= Duration::from_secs(1) && !in_progress =>
            {
                return Err(failed(expected, format!("\"{text}\"")));
            }
            Some((seen, _)) if *seen == text => {}
            _ => settled = Some((text.clone(), now)),
        }
        if now >= deadline {
            let seen = if text.is_empty() {
                format!("it stayed empty for {UI:?}")
            } else {
                format!("\"{text}\"")
            };
            return Err(failed(expected, seen));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The tags of the pending syncs, as the page sees them.
/// Closes every notification the app shows, so a check starts from none.
async fn close_notifications<B: Browser>(b: &mut B, tab: PageId) -> Result<()> {
    b.eval(
        tab,
        "(async () => { const r = await navigator.serviceWorker.ready;
           for (const n of await r.getNotifications()) n.close(); return true; })()",
        UI,
    )
    .await?;
    Ok(())
}

/// The notifications the app shows now, as (title, body). Read them only
/// once the browser reported one shown: `getNotifications()` while
/// `showNotification()` is pending can make Chromium drop it.
async fn shown_notifications<B: Browser>(b: &mut B, tab: PageId) -> Result<Vec<(String, String)>> {
    let shown = b
        .eval(
            tab,
            "(async () => { const r = await navigator.serviceWorker.ready;
               return (await r.getNotifications()).map(n => [n.title, n.body]); })()",
            UI,
        )
        .await?;
    Ok(shown
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            (
                n[0].as_str().unwrap_or_default().to_owned(),
                n[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

/// Fails unless a notification the app shows now passes `matches` (given
/// its title and body); otherwise says what is shown, followed by `hint`.
async fn expect_notification<B: Browser>(
    b: &mut B,
    tab: PageId,
    expected: &str,
    hint: &str,
    matches: impl Fn(&str, &str) -> bool,
) -> Result<()> {
    let shown = shown_notifications(b, tab).await?;
    if shown.iter().any(|(title, body)| matches(title, body)) {
        return Ok(());
    }
    let texts: Vec<String> = shown
        .iter()
        .map(|(title, body)| format!("{title} | {body}"))
        .collect();
    Err(failed(
        expected,
        if texts.is_empty() {
            "no notification".to_owned()
        } else {
            format!("{}{hint}", quote_all(&texts))
        },
    ))
}

/// Said after the notifications shown when none carries the pushed headline.
const PAYLOAD_HINT: &str = " (was the payload read, `event.data().text()`?)";

async fn sync_tags<B: Browser>(b: &mut B, tab: PageId) -> Result<Option<Vec<String>>> {
    let js = "(async () => { const r = await navigator.serviceWorker.ready; \
              return r.sync ? await r.sync.getTags() : null; })()";
    let tags = b.eval(tab, js, UI).await?;
    Ok(tags.as_array().map(|a| {
        a.iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    }))
}

// ------------------------------------------------------------ 0: pre-lesson

async fn app_loads<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.tab().await?;
    wait_list(&mut cx.browser, tab, 3).await
}

async fn worker_controls<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.tab().await?;
    let registration = wait_for_registration(&mut cx.browser, tab).await?;
    let script = registration["script"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if !script.ends_with("/sw.js") {
        return Err(failed("the worker script /sw.js", script));
    }
    if cx
        .browser
        .eval(tab, "navigator.serviceWorker.controller !== null", UI)
        .await?
        != Value::Bool(true)
    {
        cx.browser.reload(tab).await?;
    }
    wait_controlled(&mut cx.browser, tab).await?;
    wait_list(&mut cx.browser, tab, 3).await
}

async fn offline_shell<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
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

async fn starred_offline<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    cx.browser.reload(tab).await?;
    wait_list(&mut cx.browser, tab, 1).await?;
    let star = "(() => { const li = document.querySelector('#latest-headlines li[data-id]'); if (!li) return null;
                 const b = li.querySelector('button.star'); if (!b) return {id: li.dataset.id, button: false};
                 if (b.getAttribute('aria-pressed') !== 'true') b.click();
                 return {id: li.dataset.id, button: true,
                         headline: (li.querySelector('.headline') || li).textContent.trim()}; })()";
    let starred = cx.browser.eval(tab, star, UI).await?;
    let id = starred["id"]
        .as_str()
        .context("no article in the list to star")?
        .to_owned();
    if starred["button"] != Value::Bool(true) {
        return Err(failed(
            "a `button.star` in each list item",
            "none in the first item",
        ));
    }
    let item = format!("#latest-headlines li[data-id={}]", js_str(&id));
    let pressed = format!(
        "document.querySelector({})?.getAttribute('aria-pressed') === 'true'",
        js_str(&format!("{item} button.star"))
    );
    if cx
        .browser
        .wait_until(tab, &pressed, "aria-pressed", UI)
        .await
        .is_err()
    {
        return Err(failed(
            "the star button to become aria-pressed=\"true\" when clicked",
            "it did not",
        ));
    }
    cx.network_off().await?;
    let result = async {
        cx.browser.reload(tab).await?;
        let shown = format!("!!document.querySelector({})", js_str(&item));
        if cx
            .browser
            .wait_until(tab, &shown, "the starred article", UI)
            .await
            .is_err()
        {
            let n = list_len(&mut cx.browser, tab).await.unwrap_or(0);
            return Err(failed(
                format!(
                    "the starred article \"{}\" in the list after reloading offline",
                    starred["headline"].as_str().unwrap_or(&id)
                ),
                format!("{n} articles in the list, not that one"),
            ));
        }
        Ok(())
    }
    .await;
    cx.network_on().await?;
    // Leave the page online and fresh for the next checkpoint.
    cx.browser.reload(tab).await?;
    result
}

// ------------------------------------------------------------ 1: page ↔ worker

async fn page_worker<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    let headline = cx.headline("the page asks the worker");
    add_article(&mut cx.browser, tab, &headline).await?;
    Ok(())
}

// ------------------------------------------------------------ 2: the outbox

async fn outbox<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    cx.set_mode(Mode::Api503).await?;
    let headline = cx.headline("kept through a stopped worker");
    let before = cx.proxy.api_requests().len();
    add_article(&mut cx.browser, tab, &headline).await?;
    // The worker may try at once (a sync fires as soon as it is registered
    // while online); let that attempt reach the server before the worker is
    // stopped. Not a requirement: a worker that waits is fine too.
    let _ = cx.wait_refused_post(before, &headline, "").await;

    // Nothing in the worker's memory survives this.
    let before_restart = cx.proxy.api_requests().len();
    let tab = if cx.browser.supports(Feature::StopWorkers) {
        cx.browser.stop_workers().await?;
        // A navigation starts the worker again.
        cx.browser.reload(tab).await?;
        tab
    } else {
        cx.browser.restart().await?;
        cx.tabs.clear();
        cx.tab().await?
    };
    wait_controlled(&mut cx.browser, tab).await?;
    let tags = sync_tags(&mut cx.browser, tab).await?.unwrap_or_default();
    let tag = tags.first().cloned().unwrap_or_else(|| SYNC_TAG.to_owned());

    let (before, expected) = if cx.browser.supports(Feature::BackgroundSync) {
        let before = cx.proxy.api_requests().len();
        cx.fire_sync(&tag).await?;
        (
            before,
            "the restarted worker to send the queued article when a sync fires (the server, answering 503, should be sent it)",
        )
    } else {
        // Without Background Sync the worker sends its outbox when it starts
        // and when the page, opened again, says it is online.
        (
            before_restart,
            "the worker, started again with the browser, to send the queued article by itself (the server, answering 503, should be sent it)",
        )
    };
    let why = if cx.browser.supports(Feature::BackgroundSync) {
        "was the outbox only in memory?"
    } else {
        "without Background Sync the worker must send its outbox when it starts; if it does, was the outbox only in memory?"
    };
    cx.wait_refused_post(before, &headline, expected)
        .await
        .map_err(|e| match e.downcast::<Failed>() {
            Ok(f) => failed(f.expected, format!("{} — {why}", f.seen)),
            Err(e) => e,
        })?;
    if cx.counts(std::slice::from_ref(&headline)).await?[0] != 0 {
        bail!("harness bug: an article reached the server through a proxy answering 503");
    }

    cx.set_mode(Mode::Pass).await?;
    cx.deliver(&tag).await?;
    let after = format!("after the server came back and {}", cx.delivery());
    cx.wait_on_server(std::slice::from_ref(&headline), &after)
        .await?;
    cx.exactly_once(&[headline]).await
}

// ------------------------------------------------------------ 2: sync

/// Adds one article through each kind of outage — a 503, nobody answering,
/// the server itself down (killed, the proxy passing to nobody) — and leaves
/// the server up but answering 503. The headlines already on the server,
/// and those queued, in order.
async fn queue_through_outages<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
) -> Result<(Vec<String>, Vec<String>)> {
    let existing: Vec<String> = cx
        .server
        .articles()
        .await?
        .into_iter()
        .map(|a| a.headline)
        .collect();
    let mut queued = Vec::new();
    for (mode, what) in [
        (Mode::Api503, "queued while the server answers 503"),
        (Mode::Refuse, "queued while nobody answers"),
    ] {
        cx.set_mode(mode).await?;
        let h = cx.headline(what);
        add_article(&mut cx.browser, tab, &h).await?;
        queued.push(h);
    }
    cx.set_mode(Mode::Pass).await?;
    cx.server.stop().await?;
    let h = cx.headline("queued while the server is down");
    add_article(&mut cx.browser, tab, &h).await?;
    queued.push(h);
    cx.set_mode(Mode::Api503).await?;
    cx.server.restart().await?;
    Ok((existing, queued))
}

async fn sync<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    if !cx.browser.supports(Feature::BackgroundSync) {
        return fallback::fallback_flush(cx).await;
    }
    let tab = cx.ready().await?;
    let (existing, queued) = queue_through_outages(cx, tab).await?;

    let tags = sync_tags(&mut cx.browser, tab).await?;
    let tag = match tags.as_deref() {
        None => {
            return Err(failed(
                "`registration.sync` (Background Sync) in the page",
                "it is undefined",
            ));
        }
        Some([]) => {
            return Err(failed(
                "a pending sync (`registration.sync.getTags()` not empty) after articles were queued while the server was unreachable",
                "no tags: the worker did not register a sync, or the browser was told the failed sync succeeded",
            ));
        }
        Some([tag, ..]) => tag.clone(),
    };

    // A sync while the server still answers 503 must keep the outbox.
    let before = cx.proxy.api_requests().len();
    cx.fire_sync(&tag).await?;
    cx.wait_refused_post(
        before,
        &queued[0],
        "a sync to try to send the queued articles",
    )
    .await?;

    cx.set_mode(Mode::Pass).await?;
    cx.fire_sync(&tag).await?;
    let articles = cx
        .wait_on_server(&queued, "after a sync fired with the server back (an earlier sync got 503: was the outbox kept?)")
        .await?;
    cx.exactly_once(&queued).await?;
    in_order(&queued, &articles)?;
    // Nothing stored before was lost or duplicated by the restart and syncs.
    let now = cx.server.articles().await?;
    if let Some(lost) = existing
        .iter()
        .find(|h| !now.iter().any(|a| &a.headline == *h))
    {
        bail!("the server lost \"{lost}\" across a restart on the same database");
    }
    Ok(())
}

async fn sync_when_online<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let mut tab = cx.ready().await?;
    // A sync that failed waits minutes for its retry, and registering the
    // same tag again does not bring it forward: start with none pending, or
    // the browser's own sync cannot be seen. An earlier checkpoint's failed
    // sync (the outbox's, against a server answering 503) is cleared with
    // the registration that holds it; the page then registers the worker
    // anew, as on a first visit. The outbox, in IndexedDB, stays.
    if matches!(sync_tags(&mut cx.browser, tab).await?, Some(tags) if !tags.is_empty()) {
        cx.browser.forget_service_workers().await?;
        cx.browser.reload(tab).await?;
        tab = cx.ready().await?;
    }
    let deadline = tokio::time::Instant::now() + UI;
    loop {
        match sync_tags(&mut cx.browser, tab).await? {
            None => {
                return Err(failed(
                    "`registration.sync` (Background Sync) in the page",
                    "it is undefined",
                ));
            }
            Some(tags) if tags.is_empty() => break,
            Some(tags) if tokio::time::Instant::now() >= deadline => {
                return Err(failed(
                    "no sync pending before going offline (an earlier article, sent online, should have synced at once)",
                    format!(
                        "still pending after {UI:?}: {tags:?} — Chromium retries a failed sync only after 5 minutes"
                    ),
                ));
            }
            Some(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let mark = cx.browser.mark();
    cx.network_off().await?;
    let headline = cx.headline("queued offline, sent when back online");
    let added = add_article(&mut cx.browser, tab, &headline).await;
    // Never stop the worker while it is offline; back online in any case.
    cx.network_on().await?;
    added?;
    let syncs = |cx: &Ctx<B>| -> String {
        let events: Vec<String> = cx
            .browser
            .service_events(mark)
            .iter()
            .filter(|e| e.service == "backgroundSync")
            .map(|e| format!("{} ({})", e.name, e.details))
            .collect();
        if events.is_empty() {
            "none".into()
        } else {
            events.join("; ")
        }
    };
    cx.wait_on_server(
        std::slice::from_ref(&headline),
        "after the network came back (the harness fired no sync)",
    )
    .await
    .map_err(|e| match e.downcast::<Failed>() {
        Ok(f) => failed(
            f.expected,
            format!(
                "{}; sync events the browser reported: {}",
                f.seen,
                syncs(cx)
            ),
        ),
        Err(e) => e,
    })?;
    cx.exactly_once(std::slice::from_ref(&headline)).await?;
    if !cx
        .browser
        .service_events(mark)
        .iter()
        .any(|e| e.service == "backgroundSync" && e.name.contains("Dispatched"))
    {
        return Err(failed(
            "the article delivered by a `sync` event that the browser fired when it came back online",
            format!(
                "it arrived, but the browser fired no sync (sync events: {})",
                syncs(cx)
            ),
        ));
    }
    Ok(())
}

// ------------------------------------------------------------ 3: every page

async fn update_pages<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let first = cx.ready().await?;
    let url = cx.url();
    let second = match cx.tabs.get(1) {
        Some(tab) => *tab,
        None => {
            let tab = cx.browser.open_page(&url).await?;
            cx.tabs.push(tab);
            tab
        }
    };
    wait_controlled(&mut cx.browser, second).await?;
    wait_list(&mut cx.browser, second, 1).await?;
    for tab in [first, second] {
        cx.browser
            .eval(tab, "window.__harnessNoReload = true", UI)
            .await?;
    }

    cx.set_mode(Mode::Api503).await?;
    let headline = cx.headline("shown in every open page");
    add_article(&mut cx.browser, first, &headline).await?;
    cx.set_mode(Mode::Pass).await?;
    cx.deliver_pending(first).await?;
    let after = format!("after {}", cx.delivery());
    cx.wait_on_server(std::slice::from_ref(&headline), &after)
        .await?;

    for (tab, name) in [(second, "the other tab"), (first, "the tab that added it")] {
        // Shown as delivered: an item still marked as waiting (the page's
        // own outbox, `pending-visible`) does not count.
        let js = format!(
            "window.__harnessNoReload === true && Array.from(document.querySelectorAll('#latest-headlines li'))
               .some(li => li.textContent.includes({h})
                 && !{waiting}.test(li.textContent.split({h}).join(' ')))",
            h = js_str(&headline),
            waiting = optimistic::WAITING_WORDS,
        );
        if cx
            .browser
            .wait_until(tab, &js, "the new article in the list", UI)
            .await
            .is_err()
        {
            let reloaded = cx
                .browser
                .eval(tab, "window.__harnessNoReload !== true", UI)
                .await?
                == Value::Bool(true);
            return Err(failed(
                format!(
                    "\"{headline}\" in #latest-headlines of {name}, without a reload, once the sync delivered it"
                ),
                if reloaded {
                    "the page reloaded: update the DOM from the worker's message instead".to_owned()
                } else {
                    format!(
                        "not there after {UI:?} (did the worker post {{type: \"articles\"}} to every client?)"
                    )
                },
            ));
        }
    }
    Ok(())
}

// ------------------------------------------------------------ 4: notification

async fn notification<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    let tab = cx.ready().await?;
    // Earlier syncs may have shown notifications: start from none.
    close_notifications(&mut cx.browser, tab).await?;
    cx.set_mode(Mode::Api503).await?;
    let headlines = vec![cx.headline("first of two"), cx.headline("second of two")];
    for headline in &headlines {
        add_article(&mut cx.browser, tab, headline).await?;
    }
    cx.set_mode(Mode::Pass).await?;
    let mark = cx.deliver_pending(tab).await?;
    let after = format!("after {}", cx.delivery());
    cx.wait_on_server(&headlines, &after).await?;

    // Reading the notifications while showNotification() is still pending
    // can make Chromium drop it: wait until the browser reports it shown.
    let expected = "a notification \"Added 2 new articles\" after a sync delivered two articles";
    if cx
        .browser
        .wait_service_event(mark, "notifications", "Notification displayed", UI)
        .await
        .is_err()
    {
        return Err(failed(
            expected,
            format!("the browser showed no notification within {UI:?}"),
        ));
    }
    let added = "Added 2 new article";
    expect_notification(&mut cx.browser, tab, expected, "", |title, body| {
        title.contains(added) || body.contains(added)
    })
    .await
}

/// Fails unless `queued` are stored in the order they were added.
fn in_order(queued: &[String], articles: &[Article]) -> Result<()> {
    let positions: Vec<usize> = queued
        .iter()
        .filter_map(|h| articles.iter().position(|a| &a.headline == h))
        .collect();
    if positions.windows(2).any(|w| w[0] > w[1]) {
        let order: Vec<String> = articles
            .iter()
            .filter(|a| queued.contains(&a.headline))
            .map(|a| a.headline.clone())
            .collect();
        return Err(failed(
            format!(
                "the articles stored in the order they were added: {}",
                quote_all(queued)
            ),
            format!("stored as {}", quote_all(&order)),
        ));
    }
    Ok(())
}
