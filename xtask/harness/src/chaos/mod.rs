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
use crate::browsers::{Browser, Feature, PageId};
use crate::standins::proxy::{Mode, Outcome, Proxy, http_get};
use crate::standins::server::Server;

/// The app's sync tag.
const SYNC_TAG: &str = "add-article";
const UI: Duration = Duration::from_secs(10);
/// The tabs that add articles.
const PAGES: usize = 2;
/// The longest the whole run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(6 * 60);

pub struct Options {
    pub seed: Option<u64>,
    pub articles: usize,
    pub faults: usize,
}

/// SplitMix64: small, seedable, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    ServerKilled,
    Server503,
    WorkerStopped,
    WorkerOffline,
    BrowserRestarted,
    LastChanceSync,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::ServerKilled,
        Kind::Server503,
        Kind::WorkerStopped,
        Kind::WorkerOffline,
        Kind::BrowserRestarted,
        Kind::LastChanceSync,
    ];

    fn label(self) -> &'static str {
        match self {
            Kind::ServerKilled => "server killed (SIGKILL) mid-replay",
            Kind::Server503 => "server answering 503",
            Kind::WorkerStopped => "worker stopped",
            Kind::WorkerOffline => "worker offline, then online",
            Kind::BrowserRestarted => "browser restarted",
            Kind::LastChanceSync => "sync with lastChance",
        }
    }
}

/// One fault and the timings the seed chose for it.
#[derive(Debug, Clone, Copy)]
struct Fault {
    kind: Kind,
    /// Articles added while the fault lasts (taken from the run's total).
    during: usize,
    /// ServerKilled: ms after a POST reached the server; WorkerStopped: ms
    /// after a sync was fired (when `with_sync`).
    delay_ms: u64,
    /// ServerKilled: ms the server stays down.
    down_ms: u64,
    /// WorkerStopped: stop it during a replay; LastChanceSync: with the
    /// server answering 503, so that the last chance fails.
    with_sync: bool,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::ServerKilled => write!(
                f,
                "{} ({} queued first; killed {} ms after a POST reached it, down {} ms)",
                self.kind.label(),
                self.during,
                self.delay_ms,
                self.down_ms
            ),
            Kind::Server503 | Kind::WorkerOffline => {
                write!(f, "{} ({} added meanwhile)", self.kind.label(), self.during)
            }
            Kind::BrowserRestarted if self.with_sync => write!(
                f,
                "{} ({} ms into a replay)",
                self.kind.label(),
                self.delay_ms
            ),
            Kind::WorkerStopped if self.with_sync => write!(
                f,
                "{} ({} ms into a replay)",
                self.kind.label(),
                self.delay_ms
            ),
            Kind::LastChanceSync if self.with_sync => {
                write!(f, "{} (while the server answers 503)", self.kind.label())
            }
            _ => f.write_str(self.kind.label()),
        }
    }
}

/// One step of the schedule.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// An article added from this tab.
    Add(usize),
    /// Two articles submitted from the two tabs at the same moment, before
    /// either has its answer.
    Together(usize, usize),
    /// A fault begins; its `during` adds follow it; then it ends.
    Fault(Fault),
}

/// The whole run, decided by the seed alone.
fn schedule(seed: u64, articles: usize, faults: usize) -> Vec<Step> {
    let mut rng = Rng(seed);
    // Every kind at least once (when there are enough faults), the rest at
    // random, in random order.
    let mut kinds: Vec<Kind> = (0..faults)
        .map(|i| match Kind::ALL.get(i) {
            Some(kind) => *kind,
            None => Kind::ALL[rng.below(Kind::ALL.len() as u64) as usize],
        })
        .collect();
    for i in (1..kinds.len()).rev() {
        kinds.swap(i, rng.below(i as u64 + 1) as usize);
    }
    // What each fault takes: the articles added while it lasts come out of
    // the run's total (a replay to kill needs something to replay).
    let mut left = articles;
    let faults: Vec<Fault> = kinds
        .into_iter()
        .map(|kind| {
            let wanted = match kind {
                Kind::ServerKilled => 1 + rng.below(3) as usize,
                Kind::Server503 | Kind::WorkerOffline => rng.below(4) as usize,
                _ => 0,
            };
            let during = wanted.min(left);
            left -= during;
            Fault {
                kind,
                during,
                delay_ms: rng.below(40),
                down_ms: rng.below(400),
                with_sync: rng.coin(),
            }
        })
        .collect();
    // The other articles spread over the gaps before, between and after.
    let mut gaps = vec![0usize; faults.len() + 1];
    for _ in 0..left {
        gaps[rng.below(faults.len() as u64 + 1) as usize] += 1;
    }
    let mut steps = Vec::new();
    for (gap, adds) in gaps.into_iter().enumerate() {
        if gap > 0 {
            let fault = faults[gap - 1];
            steps.push(Step::Fault(fault));
            for _ in 0..fault.during {
                steps.push(Step::Add(rng.below(PAGES as u64) as usize));
            }
        }
        let mut adds = adds;
        while adds > 0 {
            // Now and then both tabs at once.
            if adds >= 2 && rng.below(3) == 0 {
                let first = rng.below(PAGES as u64) as usize;
                steps.push(Step::Together(first, (first + 1) % PAGES));
                adds -= 2;
            } else {
                steps.push(Step::Add(rng.below(PAGES as u64) as usize));
                adds -= 1;
            }
        }
    }
    steps
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
            self.browser
                .wait_until(
                    tab,
                    "document.querySelectorAll('#latest-headlines li[data-id]').length >= 1",
                    "the list",
                    UI,
                )
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
        b.eval(
            tab,
            "(() => { document.querySelector('#form-status').textContent = ''; return true; })()",
            UI,
        )
        .await?;
        b.fill(tab, "#headline-input", &headline).await?;
        b.fill(tab, "#byline-input", &format!("Chaos tab {page}"))
            .await?;
        b.click(tab, "#submit-article").await?;
        Ok(headline)
    }

    /// Waits for the worker's answer to `headline` in tab `page`.
    async fn answer(&mut self, page: usize, headline: String) -> Result<()> {
        let tab = self.tabs[page];
        let js = "(() => { const t = document.querySelector('#form-status').textContent.trim();
                   return /^(Queued|Sent)/.test(t) || /^Not added/.test(t) ? t : null; })()";
        let status = self
            .browser
            .wait_until(
                tab,
                js,
                "the worker's answer in #form-status",
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

    /// The headlines in the outbox, read from a tab (IndexedDB `offline-news`,
    /// store `outbox`).
    async fn outbox(&mut self, tab: PageId) -> Result<Vec<String>> {
        let js = "(async () => {
            const dbs = indexedDB.databases ? await indexedDB.databases() : [{name: 'offline-news'}];
            if (!dbs.some(d => d.name === 'offline-news')) return [];
            return await new Promise((resolve, reject) => {
                const open = indexedDB.open('offline-news');
                open.onerror = () => reject(String(open.error));
                open.onsuccess = () => {
                    const db = open.result;
                    if (!db.objectStoreNames.contains('outbox')) { db.close(); resolve([]); return; }
                    const all = db.transaction('outbox').objectStore('outbox').getAll();
                    all.onerror = () => { db.close(); reject(String(all.error)); };
                    all.onsuccess = () => {
                        db.close();
                        resolve(all.result.map(e => e && e.article ? e.article.headline : JSON.stringify(e)));
                    };
                };
            });
        })()";
        let value = self.browser.eval(tab, js, UI).await?;
        Ok(value
            .as_array()
            .context("the outbox did not read as a list")?
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// The chaos articles on the server, oldest first.
    async fn on_server(&self) -> Result<Vec<String>> {
        let (status, body) = http_get(self.server.port, "/api/v1/articles").await?;
        anyhow::ensure!(status == 200, "GET /api/v1/articles answered {status}");
        let list: Vec<Value> = serde_json::from_str(&body).context("the article list")?;
        let prefix = format!("Chaos {} ", self.seed);
        Ok(list
            .iter()
            .filter_map(|a| a["headline"].as_str())
            .filter(|h| h.starts_with(&prefix))
            .map(str::to_owned)
            .collect())
    }

    /// Faults off; syncs until the outbox is empty and everything arrived
    /// (a few tries: Chromium may still be running an earlier sync); then
    /// the verdict.
    async fn settle(&mut self) -> Result<bool> {
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

        let server = self.on_server().await?;
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for h in &server {
            *counts.entry(h.as_str()).or_default() += 1;
        }
        let lost: Vec<&str> = self
            .added
            .iter()
            .map(|(_, h)| h.as_str())
            .filter(|h| !counts.contains_key(h))
            .collect();
        let duplicated: usize = counts.values().map(|c| c - 1).sum();
        let unexpected: Vec<&str> = counts
            .keys()
            .filter(|h| !self.added.iter().any(|(_, a)| a == *h))
            .copied()
            .collect();
        let mut out_of_order = Vec::new();
        for page in 0..PAGES {
            let mine: Vec<&str> = self
                .added
                .iter()
                .filter(|(p, _)| *p == page)
                .map(|(_, h)| h.as_str())
                .collect();
            let stored: Vec<&str> = server
                .iter()
                .map(String::as_str)
                .filter(|h| mine.contains(h))
                .collect();
            let mut first_seen: Vec<&str> = Vec::new();
            for h in stored {
                if !first_seen.contains(&h) {
                    first_seen.push(h);
                }
            }
            let expected: Vec<&str> = mine
                .iter()
                .copied()
                .filter(|h| first_seen.contains(h))
                .collect();
            if first_seen != expected {
                out_of_order.push(format!("tab {page}: stored as {first_seen:?}"));
            }
        }
        let left: usize = outboxes.first().map_or(0, Vec::len);

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
            "  on the server: {} of {} (lost {}, duplicated {duplicated}, unexpected {}); each tab's order kept: {}; outbox empty: {}",
            self.added.len() - lost.len(),
            self.added.len(),
            lost.len(),
            unexpected.len(),
            if out_of_order.is_empty() { "yes" } else { "NO" },
            if left == 0 {
                "yes".to_owned()
            } else {
                format!("NO, {left} left")
            }
        );
        let ok = lost.is_empty()
            && duplicated == 0
            && unexpected.is_empty()
            && out_of_order.is_empty()
            && left == 0;
        if !ok {
            if !lost.is_empty() {
                println!("  lost: {lost:?}");
            }
            for (h, n) in counts.iter().filter(|(_, n)| **n > 1) {
                println!("  duplicated: {h:?} stored {n} times");
            }
            if !unexpected.is_empty() {
                println!("  unexpected: {unexpected:?}");
            }
            for line in &out_of_order {
                println!("  order: {line}");
            }
            if left > 0 {
                println!("  left in the outbox: {:?}", outboxes[0]);
            }
            println!("  rerun: cargo xtask chaos --seed {}", self.seed);
        }
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adds(steps: &[Step]) -> usize {
        steps
            .iter()
            .map(|s| match s {
                Step::Add(_) => 1,
                Step::Together(..) => 2,
                Step::Fault(_) => 0,
            })
            .sum()
    }

    #[test]
    fn a_seed_gives_one_schedule() {
        let a = format!("{:?}", schedule(42, 50, 20));
        let b = format!("{:?}", schedule(42, 50, 20));
        let c = format!("{:?}", schedule(43, 50, 20));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_schedule_has_every_article_and_every_kind_of_fault() {
        for seed in 0..200 {
            let steps = schedule(seed, 50, 20);
            assert_eq!(adds(&steps), 50, "seed {seed}");
            let faults: Vec<Fault> = steps
                .iter()
                .filter_map(|s| match s {
                    Step::Fault(f) => Some(*f),
                    Step::Add(_) | Step::Together(..) => None,
                })
                .collect();
            assert_eq!(faults.len(), 20, "seed {seed}");
            for kind in Kind::ALL {
                assert!(
                    faults.iter().any(|f| f.kind == kind),
                    "seed {seed}: no {kind:?}"
                );
            }
            // A fault's adds follow it directly.
            for (i, step) in steps.iter().enumerate() {
                if let Step::Fault(f) = step {
                    assert!(
                        steps[i + 1..i + 1 + f.during]
                            .iter()
                            .all(|s| matches!(s, Step::Add(_)))
                    );
                }
            }
        }
    }
}
