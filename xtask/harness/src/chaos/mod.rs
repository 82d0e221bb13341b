//! `harness chaos`: nothing lost, nothing duplicated, whatever happens.
//!
//! Two tabs add articles through the form while faults happen at random: the
//! server killed with SIGKILL in the middle of a replay and started again on
//! the same database, the server answering 503, the service worker stopped,
//! the worker's network turned off and on, the browser restarted on the same
//! profile, a `sync` fired with `lastChance`. Then the faults stop, a sync or
//! two delivers what is left, and the server must hold exactly the articles
//! the form confirmed ("Queued"), each once, each tab's in that tab's order,
//! with the worker's outbox empty.
//!
//! The schedule (which tab adds, which fault comes when, and each fault's
//! timings) comes from a seeded generator: the seed is printed, and
//! `--seed N` runs the same schedule again. Timing inside the browser is not
//! the seed's to decide, so a rerun follows the same script, not the same
//! interleaving to the microsecond.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::browsers::chromium::{self, Chromium};

mod schedule;
mod tally;

use schedule::{Fault, Kind, PAGES, Rng, Step, schedule};
use tally::Tally;

use crate::app::{
    ARTICLE_ITEMS, ARTICLES, BYLINE_INPUT, DB_NAME, FORM_STATUS, HEADLINE_INPUT, OUTBOX_STORE,
    SUBMIT, SYNC_TAG,
};
use crate::browsers::{Browser, Feature, PageId, js_str};
use crate::standins::proxy::{Mode, Outcome, Proxy, http_get};
use crate::standins::server::Server;

const UI: Duration = Duration::from_secs(10);
/// The longest the whole run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(6 * 60);

pub struct Options {
    pub seed: Option<u64>,
    pub articles: usize,
    pub faults: usize,
}

/// The browser, the proxy, the server and the two tabs.
struct Chaos {
    browser: Chromium,
    proxy: Proxy,
    server: Server,
    url: String,
    tabs: Vec<PageId>,
    seed: u64,
    started: Instant,
    /// What the form confirmed, in order: (tab, headline).
    added: Vec<(usize, String)>,
    per_page: [usize; PAGES],
    faults: HashMap<Kind, usize>,
    /// Server kills that came while a POST was on its way.
    kills_mid_post: usize,
}

pub async fn run(site: &Path, server_bin: &Path, options: Options) -> Result<bool> {
    let seed = options.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Rng(nanos ^ u64::from(std::process::id())).next() % 1_000_000_000
    });
    println!(
        "chaos: seed {seed} ({} articles from {PAGES} tabs, {} faults; run the same schedule again with --seed {seed})",
        options.articles, options.faults
    );
    let steps = schedule(seed, options.articles, options.faults);
    let exe = chromium::find_or_install()?;
    let (server, proxy) = Server::behind_proxy(server_bin, site).await?;
    let browser = Chromium::launch(exe, &proxy.origin())
        .await
        .context("starting Chromium")?;
    anyhow::ensure!(
        browser.supports(Feature::BackgroundSync) && browser.supports(Feature::StopWorkers),
        "the chaos test needs Background Sync and stopping workers (Chromium)"
    );
    let mut chaos = Chaos {
        browser,
        url: format!("{}/", proxy.origin()),
        proxy,
        server,
        tabs: Vec::new(),
        seed,
        started: Instant::now(),
        added: Vec::new(),
        per_page: [0; PAGES],
        faults: HashMap::new(),
        kills_mid_post: 0,
    };
    let outcome = tokio::time::timeout(RUN_TIMEOUT, chaos.play(&steps)).await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(_) => Err(anyhow::anyhow!(
            "the run did not finish within {RUN_TIMEOUT:?}"
        )),
    };
    match outcome {
        Ok(ok) => Ok(ok),
        Err(error) => {
            println!("\nchaos: FAILED with seed {seed}: {error:#}");
            println!("  recent output (browser console, server log):");
            for line in chaos.browser.recent_logs(15) {
                println!("    {}", line.chars().take(200).collect::<String>());
            }
            for line in chaos.server.log_tail(8) {
                println!("    server: {}", line.chars().take(200).collect::<String>());
            }
            println!("  rerun: cargo xtask chaos --seed {seed}");
            Ok(false)
        }
    }
}

impl Chaos {
    fn log(&self, what: impl fmt::Display) {
        println!("  {:>6.1} s  {what}", self.started.elapsed().as_secs_f64());
    }

    async fn play(&mut self, steps: &[Step]) -> Result<bool> {
        self.open_tabs().await?;
        let total = steps.len();
        let mut i = 0;
        while i < total {
            match steps[i] {
                Step::Add(page) => {
                    self.add(page).await?;
                    i += 1;
                }
                Step::Together(a, b) => {
                    let first = self.submit(a).await?;
                    let second = self.submit(b).await?;
                    self.answer(a, first).await?;
                    self.answer(b, second).await?;
                    i += 1;
                }
                Step::Fault(fault) => {
                    let adds: Vec<usize> = steps[i + 1..i + 1 + fault.during]
                        .iter()
                        .map(|s| match s {
                            Step::Add(page) => *page,
                            Step::Together(..) | Step::Fault(_) => 0,
                        })
                        .collect();
                    self.log(format!("fault: {fault}"));
                    self.fault(fault, &adds)
                        .await
                        .with_context(|| format!("during the fault: {fault}"))?;
                    *self.faults.entry(fault.kind).or_default() += 1;
                    i += 1 + fault.during;
                }
            }
        }
        self.log(format!(
            "{} articles added; faults off, delivering what is left",
            self.added.len()
        ));
        self.settle().await
    }

    // ---------------------------------------------------------------- tabs

    async fn open_tabs(&mut self) -> Result<()> {
        self.tabs.clear();
        for _ in 0..PAGES {
            let tab = self.browser.open_page(&self.url).await?;
            self.tabs.push(tab);
        }
        for tab in self.tabs.clone() {
            self.browser
                .wait_until(
                    tab,
                    "navigator.serviceWorker.ready.then(r => !!r.active)",
                    "an active service worker",
                    Duration::from_secs(20),
                )
                .await?;
            let controlled = "navigator.serviceWorker.controller !== null";
            if self.browser.eval(tab, controlled, UI).await? != Value::Bool(true) {
                self.browser.reload(tab).await?;
            }
            self.browser
                .wait_until(tab, controlled, "the tab controlled by the worker", UI)
                .await?;
            let listed = format!(
                "document.querySelectorAll({}).length >= 1",
                js_str(ARTICLE_ITEMS)
            );
            self.browser
                .wait_until(tab, &listed, "the list", UI)
                .await?;
        }
        Ok(())
    }

    /// Adds an article from tab `page` through the form; it counts as added
    /// only when the page shows the worker's "Queued" (or "Sent").
    async fn add(&mut self, page: usize) -> Result<()> {
        let headline = self.submit(page).await?;
        self.answer(page, headline).await
    }

    /// Fills the form of tab `page` and submits it; the headline.
    async fn submit(&mut self, page: usize) -> Result<String> {
        let tab = self.tabs[page];
        let n = self.per_page[page] + 1;
        self.per_page[page] = n;
        let headline = format!("Chaos {} tab {page} #{n:02}", self.seed);
        let b = &mut self.browser;
        let clear = format!(
            "(() => {{ document.querySelector({}).textContent = ''; return true; }})()",
            js_str(FORM_STATUS)
        );
        b.eval(tab, &clear, UI).await?;
        b.fill(tab, HEADLINE_INPUT, &headline).await?;
        b.fill(tab, BYLINE_INPUT, &format!("Chaos tab {page}"))
            .await?;
        b.click(tab, SUBMIT).await?;
        Ok(headline)
    }

    /// Waits for the worker's answer to `headline` in tab `page`.
    async fn answer(&mut self, page: usize, headline: String) -> Result<()> {
        let tab = self.tabs[page];
        let js = format!(
            "(() => {{ const t = document.querySelector({}).textContent.trim();
               return /^(Queued|Sent)/.test(t) || /^Not added/.test(t) ? t : null; }})()",
            js_str(FORM_STATUS)
        );
        let status = self
            .browser
            .wait_until(
                tab,
                &js,
                &format!("the worker's answer in {FORM_STATUS}"),
                Duration::from_secs(15),
            )
            .await
            .with_context(|| format!("adding \"{headline}\""))?;
        let status = status.as_str().unwrap_or_default().to_owned();
        if status.starts_with("Not added") {
            bail!("the form refused \"{headline}\": {status}");
        }
        self.added.push((page, headline));
        Ok(())
    }

    /// Makes sure the worker runs (a fetch from a tab goes through it).
    async fn wake_worker(&mut self) -> Result<()> {
        let tab = self.tabs[0];
        self.browser
            .eval(
                tab,
                "fetch('/manifest.webmanifest').then(r => r.status)",
                UI,
            )
            .await?;
        Ok(())
    }

    /// Waits for the first POST to the API after the `since`-th request to
    /// reach the server; whether one did within `timeout`.
    async fn wait_post(&self, since: usize, timeout: Duration) -> bool {
        self.wait_posts(since, timeout, true).await
    }

    /// Waits for any POST to the API after the `since`-th request, whatever
    /// became of it.
    async fn wait_any_post(&self, since: usize, timeout: Duration) -> bool {
        self.wait_posts(since, timeout, false).await
    }

    async fn wait_posts(&self, since: usize, timeout: Duration, passed: bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self
                .proxy
                .api_requests()
                .get(since..)
                .unwrap_or_default()
                .iter()
                .any(|s| s.method == "POST" && (!passed || s.outcome == Outcome::Passed))
            {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    // ---------------------------------------------------------------- faults

    async fn fault(&mut self, fault: Fault, adds: &[usize]) -> Result<()> {
        match fault.kind {
            Kind::ServerKilled => {
                // Queue something the worker cannot deliver yet, then let it
                // replay and kill the server while the replay is on the wire.
                self.proxy.set_mode(Mode::Api503).await?;
                for page in adds {
                    self.add(*page).await?;
                }
                self.proxy.set_mode(Mode::Pass).await?;
                let since = self.proxy.api_requests().len();
                self.browser.fire_sync(SYNC_TAG, false).await?;
                let seen = self.wait_post(since, Duration::from_secs(3)).await;
                tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
                self.server.stop().await?;
                if seen {
                    self.kills_mid_post += 1;
                } else {
                    self.log("  (no POST seen before the kill)");
                }
                tokio::time::sleep(Duration::from_millis(fault.down_ms)).await;
                self.server.restart().await?;
            }
            Kind::Server503 => {
                self.proxy.set_mode(Mode::Api503).await?;
                for page in adds {
                    self.add(*page).await?;
                }
                // Let the worker's attempt meet the 503.
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.proxy.set_mode(Mode::Pass).await?;
            }
            Kind::WorkerStopped => {
                if fault.with_sync {
                    self.browser.fire_sync(SYNC_TAG, false).await?;
                    tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
                }
                self.browser.stop_workers().await?;
            }
            Kind::WorkerOffline => {
                // Offline emulation is set on the running worker's target.
                self.wake_worker().await?;
                self.browser.set_offline(true).await?;
                let mut result = Ok(());
                for page in adds {
                    result = self.add(*page).await;
                    if result.is_err() {
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                // Back online whatever happened: a worker left offline
                // would stay so.
                self.browser.set_offline(false).await?;
                result?;
            }
            Kind::BrowserRestarted => {
                if fault.with_sync {
                    // Closed in the middle of a replay.
                    self.browser.fire_sync(SYNC_TAG, false).await?;
                    tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
                }
                self.browser.restart().await?;
                self.open_tabs().await?;
            }
            Kind::LastChanceSync => {
                if fault.with_sync {
                    self.proxy.set_mode(Mode::Api503).await?;
                }
                let since = self.proxy.api_requests().len();
                self.browser.fire_sync(SYNC_TAG, true).await?;
                // Its replay, if the outbox holds anything.
                let _ = self.wait_any_post(since, Duration::from_secs(1)).await;
                self.proxy.set_mode(Mode::Pass).await?;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- the end

    /// The headlines in the outbox, read from a tab (IndexedDB [`DB_NAME`],
    /// store [`OUTBOX_STORE`]).
    async fn outbox(&mut self, tab: PageId) -> Result<Vec<String>> {
        let js = format!(
            "(async () => {{
            const dbs = indexedDB.databases ? await indexedDB.databases() : [{{name: '{DB_NAME}'}}];
            if (!dbs.some(d => d.name === '{DB_NAME}')) return [];
            return await new Promise((resolve, reject) => {{
                const open = indexedDB.open('{DB_NAME}');
                open.onerror = () => reject(String(open.error));
                open.onsuccess = () => {{
                    const db = open.result;
                    if (!db.objectStoreNames.contains('{OUTBOX_STORE}')) {{ db.close(); resolve([]); return; }}
                    const all = db.transaction('{OUTBOX_STORE}').objectStore('{OUTBOX_STORE}').getAll();
                    all.onerror = () => {{ db.close(); reject(String(all.error)); }};
                    all.onsuccess = () => {{
                        db.close();
                        resolve(all.result.map(e => e && e.article ? e.article.headline : JSON.stringify(e)));
                    }};
                }};
            }});
        }})()"
        );
        let value = self.browser.eval(tab, &js, UI).await?;
        Ok(value
            .as_array()
            .context("the outbox did not read as a list")?
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// The chaos articles on the server, oldest first.
    async fn on_server(&self) -> Result<Vec<String>> {
        let (status, body) = http_get(self.server.port, ARTICLES).await?;
        anyhow::ensure!(status == 200, "GET {ARTICLES} answered {status}");
        let list: Vec<Value> = serde_json::from_str(&body).context("the article list")?;
        let prefix = format!("Chaos {} ", self.seed);
        Ok(list
            .iter()
            .filter_map(|a| a["headline"].as_str())
            .filter(|h| h.starts_with(&prefix))
            .map(str::to_owned)
            .collect())
    }

    /// Faults off; syncs until the outbox is empty and everything arrived;
    /// then the verdict, printed.
    async fn settle(&mut self) -> Result<bool> {
        let (waiting, syncs, outboxes) = self.deliver_the_rest().await?;
        let server = self.on_server().await?;
        let outbox = outboxes.first().map_or(&[][..], Vec::as_slice);
        let tally = Tally::of(&self.added, &server, outbox);
        self.print_summary(waiting, syncs, &tally);
        if !tally.ok() {
            tally.print_problems();
            println!("  rerun: cargo xtask chaos --seed {}", self.seed);
        }
        Ok(tally.ok())
    }

    /// Faults off, then syncs until the outbox is empty and everything
    /// arrived (a few tries: Chromium may still be running an earlier
    /// sync). How many articles waited when the faults stopped, how many
    /// syncs it took, and each tab's view of the outbox at the end.
    async fn deliver_the_rest(&mut self) -> Result<(usize, usize, Vec<Vec<String>>)> {
        self.proxy.set_mode(Mode::Pass).await?;
        self.browser.set_offline(false).await?;
        let first = self.tabs[0];
        let waiting = self.outbox(first).await?.len();
        let mut syncs = 0;
        let mut outboxes: Vec<Vec<String>> = Vec::new();
        for _ in 0..6 {
            self.browser.fire_sync(SYNC_TAG, false).await?;
            syncs += 1;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            loop {
                outboxes.clear();
                for tab in self.tabs.clone() {
                    outboxes.push(self.outbox(tab).await?);
                }
                let server = self.on_server().await?;
                let arrived = self.added.iter().all(|(_, h)| server.contains(h));
                if arrived && outboxes.iter().all(Vec::is_empty) {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            if outboxes.iter().all(Vec::is_empty) {
                break;
            }
        }
        Ok((waiting, syncs, outboxes))
    }

    /// The run in numbers: the articles and faults, then what the server
    /// and the outbox hold.
    fn print_summary(&self, waiting: usize, syncs: usize, tally: &Tally) {
        let mut kinds: Vec<(&Kind, &usize)> = self.faults.iter().collect();
        kinds.sort();
        let total_faults: usize = self.faults.values().sum();
        println!(
            "\nchaos: seed {} — {} articles added from {PAGES} tabs ({}), {total_faults} faults, {syncs} final sync(s), {:.1} s",
            self.seed,
            self.added.len(),
            self.per_page
                .iter()
                .enumerate()
                .map(|(p, n)| format!("tab {p}: {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            self.started.elapsed().as_secs_f64()
        );
        println!(
            "  when the faults stopped: {waiting} in the outbox; server kills with a POST in flight: {}",
            self.kills_mid_post
        );
        println!("  faults by kind:");
        for (kind, n) in kinds {
            println!("    {:<36} {n}", kind.label());
        }
        println!(
            "  on the server: {} of {} (lost {}, duplicated {}, unexpected {}); each tab's order kept: {}; outbox empty: {}",
            self.added.len() - tally.lost.len(),
            self.added.len(),
            tally.lost.len(),
            tally.duplicated,
            tally.unexpected.len(),
            if tally.out_of_order.is_empty() {
                "yes"
            } else {
                "NO"
            },
            if tally.left.is_empty() {
                "yes".to_owned()
            } else {
                format!("NO, {} left", tally.left.len())
            }
        );
    }
}
