//! What the checkpoints share: [`Ctx`], the browser, the proxy in front of
//! the server, the server and the tabs open, with the steps every
//! checkpoint takes through them (the app back in a known state, the network
//! off and on, a delivery the browser's way, the server's articles awaited).

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::expected::{self, Fault};
use super::failed::{failed, quote_all};
use super::page::{UI, add_article, sync_tags, wait_controlled, wait_for_registration, wait_list};
use crate::app::{PUBLIC_KEY, SYNC_TAG};
use crate::browsers::{Browser, Feature, LogMark, Mark, PageId};
use crate::standins::autopush::Autopush;
use crate::standins::proxy::{Mode, Outcome, Proxy, Seen};
use crate::standins::server::{Article, Server};

/// What the checkpoints share: the browser, the proxy in front of the server,
/// the server, and the tabs opened so far.
pub struct Ctx<B: Browser> {
    pub browser: B,
    pub proxy: Proxy,
    pub server: Server,
    pub origin: String,
    /// The browser's own push service, where the harness can play it
    /// (Firefox: `standins/autopush.rs`).
    pub autopush: Option<Autopush>,
    pub(super) tabs: Vec<PageId>,
    /// How many API requests the proxy had seen when this checkpoint began.
    api_mark: usize,
    /// Where this checkpoint's own console output and server log start.
    log_mark: LogMark,
    server_log_mark: usize,
    /// What this checkpoint did on purpose that makes the app log errors.
    faults: Vec<Fault>,
    run: String,
    /// Which round of `check --watch` this is (0 for the first).
    round: u32,
    counter: u32,
}

/// How long an article may take to reach the server once it can.
pub const ARRIVAL: Duration = Duration::from_secs(15);

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
            log_mark: LogMark::default(),
            server_log_mark: 0,
            faults: Vec::new(),
            run,
            round: 0,
            counter: 0,
        }
    }

    /// The same browser, server and push service, for another round of
    /// checks (`check --watch`): a new proxy, so a new origin, with nothing
    /// stored for it, in front of the server started again on an empty
    /// database from its binary as it is now.
    pub async fn next_round(mut self) -> Result<Self> {
        let proxy = self.server.behind_new_proxy().await?;
        self.browser.move_to(&proxy.origin()).await?;
        let mut next = Ctx::new(self.browser, proxy, self.server);
        next.autopush = self.autopush;
        next.round = self.round + 1;
        next.run = format!("{}.{}", self.run, next.round);
        Ok(next)
    }

    /// Marks where a checkpoint begins: its failure report shows only the
    /// output that came after.
    pub fn begin_checkpoint(&mut self) {
        self.log_mark = self.browser.log_mark();
        self.server_log_mark = self.server.log_mark();
        self.faults.clear();
    }

    /// This checkpoint's own console output and server log, the last lines
    /// of each, with the lines it caused on purpose marked as expected.
    pub fn own_output(&self) -> Vec<String> {
        let mut lines = self.browser.logs_since(self.log_mark, 12);
        lines.extend(
            self.server
                .log_since(self.server_log_mark, 6)
                .into_iter()
                .map(|l| format!("server: {l}")),
        );
        lines
            .iter()
            .map(|line| expected::mark(line, &self.faults))
            .collect()
    }

    /// Notes a fault this checkpoint causes on purpose.
    pub(super) fn caused(&mut self, fault: Fault) {
        if !self.faults.contains(&fault) {
            self.faults.push(fault);
        }
    }

    /// Stops the server (the proxy then passes to nobody), as an outage.
    pub(super) async fn stop_server(&mut self) -> Result<()> {
        self.caused(Fault::ServerDown);
        self.server.stop().await
    }

    /// A headline no other run or checkpoint uses.
    pub(super) fn headline(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("Check {}-{}: {what}", self.run, self.counter)
    }

    pub(super) fn url(&self) -> String {
        format!("{}/", self.origin)
    }

    /// The first tab, opened on the app if there is none yet.
    pub(super) async fn tab(&mut self) -> Result<PageId> {
        if let Some(tab) = self.tabs.first() {
            return Ok(*tab);
        }
        let url = self.url();
        let tab = self.browser.open_page(&url).await?;
        self.tabs.push(tab);
        Ok(tab)
    }

    /// The app's second tab, opened if there is none yet, controlled and
    /// showing the list.
    pub(super) async fn second_tab(&mut self) -> Result<PageId> {
        let tab = match self.tabs.get(1) {
            Some(tab) => *tab,
            None => {
                let url = self.url();
                let tab = self.browser.open_page(&url).await?;
                self.tabs.push(tab);
                tab
            }
        };
        // `update-pages` leaves it uncontrolled (Shift-reloaded).
        let controlled = self
            .browser
            .eval(tab, "navigator.serviceWorker.controller !== null", UI)
            .await?;
        if controlled != Value::Bool(true) {
            self.browser.reload(tab).await?;
        }
        wait_controlled(&mut self.browser, tab).await?;
        wait_list(&mut self.browser, tab, 1).await?;
        Ok(tab)
    }

    pub(super) async fn set_mode(&mut self, mode: Mode) -> Result<()> {
        match mode {
            Mode::Api503 => self.caused(Fault::Answers503),
            // A cut-off client's requests fail as refused ones do, only later.
            Mode::Refuse | Mode::Partitioned => self.caused(Fault::Refused),
            Mode::Pass => {}
        }
        self.proxy.set_mode(mode).await
    }

    /// The network off for the app, as a user's would be. Where the
    /// browser's offline emulation does not reach the service worker
    /// (Firefox), the proxy also refuses connections, so the worker cannot
    /// quietly use the network either.
    pub(super) async fn network_off(&mut self) -> Result<()> {
        self.caused(Fault::Offline);
        self.browser.set_offline(true).await?;
        if !self.browser.supports(Feature::ShowsWorkerOffline) {
            self.set_mode(Mode::Refuse).await?;
        }
        Ok(())
    }

    pub(super) async fn network_on(&mut self) -> Result<()> {
        if !self.browser.supports(Feature::ShowsWorkerOffline) {
            self.set_mode(Mode::Pass).await?;
        }
        self.browser.set_offline(false).await
    }

    /// Proxy passing, network on, the first tab loaded, controlled by the
    /// worker and showing the list.
    pub(super) async fn ready(&mut self) -> Result<PageId> {
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
    pub(super) async fn only_tab(&mut self) -> Result<PageId> {
        let others = self.tabs.split_off(self.tabs.len().min(1));
        for page in others {
            self.browser.close_page(page).await?;
        }
        self.ready().await
    }

    /// How many times each of `headlines` is on the server.
    pub(super) async fn counts(&self, headlines: &[String]) -> Result<Vec<usize>> {
        let articles = self.server.articles().await?;
        Ok(headlines
            .iter()
            .map(|h| articles.iter().filter(|a| &a.headline == h).count())
            .collect())
    }

    /// Waits until every headline is on the server; then the server's list.
    pub(super) async fn wait_on_server(
        &self,
        headlines: &[String],
        after: &str,
    ) -> Result<Vec<Article>> {
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
    pub(super) async fn exactly_once(&self, headlines: &[String]) -> Result<()> {
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
    pub(super) fn recent_posts(&self) -> String {
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
    pub(super) async fn wait_refused_post(
        &self,
        since: usize,
        headline: &str,
        what: &str,
    ) -> Result<()> {
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
    pub(super) async fn fire_sync(&mut self, tag: &str) -> Result<Mark> {
        let mark = self.browser.mark();
        self.browser.fire_sync(tag, false).await?;
        Ok(mark)
    }

    /// Gets the worker to deliver its outbox the browser's way: a `sync`
    /// where there is Background Sync; elsewhere the app's fallback, which
    /// the first tab sets off when it comes back online (its `online` event
    /// tells the worker; the other tabs hear nothing).
    pub(super) async fn deliver(&mut self, tag: &str) -> Result<Mark> {
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
    pub(super) async fn deliver_pending(&mut self, tab: PageId) -> Result<Mark> {
        let tag = sync_tags(&mut self.browser, tab)
            .await?
            .and_then(|t| t.first().cloned());
        self.deliver(tag.as_deref().unwrap_or(SYNC_TAG)).await
    }

    /// What [`Ctx::deliver`] does, for messages.
    pub(super) fn delivery(&self) -> &'static str {
        if self.browser.supports(Feature::BackgroundSync) {
            "a sync"
        } else {
            "the first tab came back online"
        }
    }
}

pub(super) fn describe(seen: &[Seen]) -> String {
    if seen.is_empty() {
        return "none".into();
    }
    seen.iter()
        .map(|s| {
            let outcome = match s.outcome {
                Outcome::Passed => "passed to the server",
                Outcome::Answered503 => "answered 503",
                Outcome::ServerDown => "server down",
                Outcome::AnswerLost => "answer lost by the proxy",
                Outcome::Partitioned => "held in a partition",
            };
            format!("{} {} ({outcome})", s.method, s.path)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// How `text` appears inside a JSON body.
pub(super) fn json_fragment(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted[1..quoted.len() - 1].to_owned()
}

/// The server's VAPID public key: as `GET` [`PUBLIC_KEY`] gives it
/// (base64url text, what `pushManager.subscribe` takes), and decoded (the
/// uncompressed P-256 point a push's VAPID `k` must equal).
pub(super) async fn vapid_public_key(port: u16) -> Result<(String, Vec<u8>)> {
    let (status, body) = crate::standins::proxy::http_get(port, PUBLIC_KEY).await?;
    let key = serde_json::from_str::<Value>(&body)
        .ok()
        .and_then(|v| v["public_key"].as_str().map(str::to_owned))
        .filter(|_| status == 200)
        .ok_or_else(|| {
            failed(
                format!("GET {PUBLIC_KEY} to answer 200 {{\"public_key\": \"<base64url>\"}}"),
                format!("{status} {body}"),
            )
        })?;
    let bytes = crate::standins::push_service::unb64("the server's public key", &key)
        .map_err(|why| failed("a base64url VAPID public key", why))?;
    Ok((key, bytes))
}

/// Adds one article through each kind of outage — a 503, nobody answering,
/// the server itself down (killed, the proxy passing to nobody) — and leaves
/// the server up but answering 503. The headlines already on the server,
/// and those queued, in order.
pub(super) async fn queue_through_outages<B: Browser>(
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
    cx.stop_server().await?;
    let h = cx.headline("queued while the server is down");
    add_article(&mut cx.browser, tab, &h).await?;
    queued.push(h);
    cx.set_mode(Mode::Api503).await?;
    cx.server.restart().await?;
    Ok((existing, queued))
}

/// Fails unless `queued` are stored in the order they were added.
pub(super) fn in_order(queued: &[String], articles: &[Article]) -> Result<()> {
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
