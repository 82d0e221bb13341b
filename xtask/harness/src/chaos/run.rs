//! One run of the chaos test: its server, browsers and clients, the script
//! played step by step, the end (the faults off, what waits delivered, the
//! pages up to date) and the history that is then judged.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::clients::{self, Driver, Machine};
use super::history::{self, AddOutcome, Answer, History, Outbox, PageList, Post, Verdict};
use super::schedule::{self, BROWSERS, BrowserKind, Kind, Shape, What, browser_of, script};
use crate::app::ARTICLES;
use crate::browsers::chromium::{self, Chromium};
use crate::browsers::firefox::{self, Firefox};
use crate::standins::proxy::{Mode, Outcome, Proxy};
use crate::standins::server::Server;
use crate::util::free_port;

/// A client: a tab of one of the browsers.
struct Client {
    name: String,
    browser: usize,
    /// Its tab among the browser's.
    tab: usize,
    added: usize,
}

/// One run: the server, the browsers and their clients, and what was
/// recorded so far.
pub struct Run {
    seed: u64,
    shape: Shape,
    started: Instant,
    pub(super) server: Server,
    pub(super) browsers: Vec<Machine>,
    clients: Vec<Client>,
    adds: Vec<history::Add>,
    pub faults: BTreeMap<Kind, usize>,
    /// An id the server has for one of its own articles, for an article
    /// that must be refused as reusing it.
    pub(super) reused_id: String,
    /// Refused articles queued so far (they are numbered).
    pub(super) refused: usize,
    /// Syncs the harness fired in the end for a browser whose outbox still
    /// held articles: a stand-in for the browser's own retry, minutes
    /// later.
    retry_syncs: usize,
}

impl Run {
    pub(super) async fn start(
        site: &Path,
        server_bin: &Path,
        seed: u64,
        shape: Shape,
    ) -> Result<Self> {
        let (server, first_proxy) = Server::behind_proxy(server_bin, site).await?;
        let reused_id = server
            .articles()
            .await?
            .first()
            .map(|a| a.id.clone())
            .context("the server has no article whose id to reuse")?;
        let mut browsers = Vec::new();
        let mut first_proxy = Some(first_proxy);
        let mut chromiums = 0;
        for kind in BROWSERS {
            let proxy = match first_proxy.take() {
                Some(proxy) => proxy,
                None => Proxy::start(free_port()?, server.port).await?,
            };
            let (name, driver) = match kind {
                BrowserKind::Chromium => {
                    chromiums += 1;
                    let exe = chromium::find_or_install()?;
                    let browser = Chromium::launch(exe, &proxy.origin())
                        .await
                        .context("starting Chromium")?;
                    let letter = char::from(b'a' + chromiums - 1);
                    (format!("chromium-{letter}"), Driver::Chromium(browser))
                }
                BrowserKind::Firefox => {
                    let exe = firefox::find_or_install()?;
                    let browser = Firefox::launch(exe, &proxy.origin(), None)
                        .await
                        .context("starting Firefox")?;
                    ("firefox".to_owned(), Driver::Firefox(browser))
                }
            };
            browsers.push(Machine {
                name,
                driver,
                proxy,
                tabs: Vec::new(),
            });
        }
        let mut clients = Vec::new();
        let mut tabs = vec![0; browsers.len()];
        for client in 0..shape.clients {
            let browser = browser_of(client);
            clients.push(Client {
                name: format!("{} tab {}", browsers[browser].name, tabs[browser]),
                browser,
                tab: tabs[browser],
                added: 0,
            });
            tabs[browser] += 1;
        }
        for (machine, count) in browsers.iter_mut().zip(tabs) {
            machine
                .open_tabs(count)
                .await
                .with_context(|| format!("opening {}'s tabs", machine.name))?;
        }
        Ok(Run {
            seed,
            shape,
            started: Instant::now(),
            server,
            browsers,
            clients,
            adds: Vec::new(),
            faults: BTreeMap::new(),
            reused_id,
            refused: 0,
            retry_syncs: 0,
        })
    }

    pub(super) fn log(&self, what: impl std::fmt::Display) {
        println!("  {:>6.1} s  {what}", self.started.elapsed().as_secs_f64());
    }

    /// What every headline of this run starts with.
    pub(super) fn prefix(&self) -> String {
        format!("Chaos {} ", self.seed)
    }

    pub(super) fn first_client_of(&self, browser: usize) -> usize {
        self.clients
            .iter()
            .position(|c| c.browser == browser)
            .unwrap_or_default()
    }

    pub(super) fn confirmed(&self) -> usize {
        self.adds
            .iter()
            .filter(|a| a.outcome == AddOutcome::Confirmed)
            .count()
    }

    /// Plays the script, step by step at its time (or as soon as the step
    /// before has ended), each fault on from its step until `lasts_ms`
    /// later, with the adds of that time happening meanwhile.
    pub(super) async fn play(&mut self) -> Result<()> {
        let steps = script(self.seed, &self.shape);
        let start = Instant::now();
        let mut on: Option<(schedule::Fault, u64)> = None;
        for step in steps {
            if let Some((fault, until)) = on
                && step.at_ms >= until
            {
                self.wait_until(start, until).await;
                self.end_fault(fault).await?;
                on = None;
            }
            self.wait_until(start, step.at_ms).await;
            match step.what {
                What::Add(client) => self.add(client).await?,
                What::Together(a, b) => {
                    let first = self.submit(a).await?;
                    let second = self.submit(b).await?;
                    self.answer(a, first).await?;
                    self.answer(b, second).await?;
                }
                What::Fault(fault) => {
                    self.log(format!("fault: {fault}"));
                    self.begin(fault)
                        .await
                        .with_context(|| format!("beginning the fault {fault}"))?;
                    *self.faults.entry(fault.kind).or_default() += 1;
                    on = Some((fault, step.at_ms + fault.lasts_ms));
                }
            }
        }
        if let Some((fault, until)) = on {
            self.wait_until(start, until).await;
            self.end_fault(fault).await?;
        }
        self.log(format!(
            "{} articles added; faults off, the pages back online",
            self.adds.len()
        ));
        self.settle().await
    }

    async fn end_fault(&mut self, fault: schedule::Fault) -> Result<()> {
        self.end(fault)
            .await
            .with_context(|| format!("ending the fault {fault}"))
    }

    async fn wait_until(&self, start: Instant, at_ms: u64) {
        let at = start + Duration::from_millis(at_ms);
        if let Some(wait) = at.checked_duration_since(Instant::now()) {
            tokio::time::sleep(wait).await;
        }
    }

    // ---------------------------------------------------------------- adds

    /// The client adds an article through its page's form; it counts as
    /// confirmed only once the page shows the worker's "Queued" (or "Sent").
    pub(super) async fn add(&mut self, client: usize) -> Result<()> {
        let headline = self.submit(client).await?;
        self.answer(client, headline).await
    }

    async fn submit(&mut self, client: usize) -> Result<String> {
        let c = &mut self.clients[client];
        c.added += 1;
        let headline = format!("Chaos {} c{client} #{:03}", self.seed, c.added);
        let (browser, tab) = (c.browser, c.tab);
        self.browsers[browser]
            .submit(tab, &headline, &format!("Chaos client {client}"))
            .await
            .with_context(|| format!("submitting \"{headline}\""))?;
        Ok(headline)
    }

    async fn answer(&mut self, client: usize, headline: String) -> Result<()> {
        let (browser, tab) = (self.clients[client].browser, self.clients[client].tab);
        let outcome = match self.browsers[browser].answer(tab, &headline).await {
            Ok(true) => AddOutcome::Confirmed,
            Ok(false) => {
                self.log(format!("  the form said \"{headline}\" was not added"));
                AddOutcome::Unknown
            }
            Err(error) => {
                self.log(format!("  no answer for \"{headline}\": {error:#}"));
                AddOutcome::Unknown
            }
        };
        self.adds.push(history::Add {
            client,
            headline,
            outcome,
        });
        Ok(())
    }

    /// An article the harness wrote into the client's outbox, which the
    /// server must refuse.
    pub(super) fn record_refused(&mut self, client: usize, headline: String) {
        self.adds.push(history::Add {
            client,
            headline,
            outcome: AddOutcome::MustBeRefused,
        });
    }

    // ---------------------------------------------------------------- the end

    /// Every fault off; the pages come back online, which has the app send
    /// what waits; then waits for every outbox to empty and every page to
    /// show the server's list.
    async fn settle(&mut self) -> Result<()> {
        for machine in &mut self.browsers {
            machine.proxy.keep_answers();
            machine.proxy.set_mode(Mode::Pass).await?;
            if machine.driver.is_chromium() {
                machine.driver.set_offline(false).await?;
            }
        }
        #[cfg(target_os = "linux")]
        self.server.refuse_writes(None)?;
        self.all_pages_online().await?;

        // Every outbox empty, and every confirmed article on the server.
        // Where an outbox still holds articles after a while, the harness
        // fires the sync the browser would fire by itself minutes later
        // (Chromium retries a failed sync after 5 minutes, then 15).
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last_try = Instant::now();
        loop {
            let mut waiting = Vec::new();
            for (index, machine) in self.browsers.iter_mut().enumerate() {
                if !machine.outbox().await?.is_empty() {
                    waiting.push(index);
                }
            }
            let stored: Vec<String> = self
                .server
                .articles()
                .await?
                .into_iter()
                .map(|a| a.headline)
                .collect();
            let arrived = self
                .adds
                .iter()
                .filter(|a| a.outcome == AddOutcome::Confirmed)
                .all(|a| stored.contains(&a.headline));
            if (waiting.is_empty() && arrived) || Instant::now() >= deadline {
                break;
            }
            if last_try.elapsed() >= Duration::from_secs(8) {
                for index in waiting {
                    let machine = &mut self.browsers[index];
                    if machine.driver.is_chromium() {
                        machine.driver.fire_sync(false).await?;
                        self.retry_syncs += 1;
                    } else {
                        machine.page_online(0).await?;
                    }
                }
                last_try = Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }

        // Each page reads the list again (as it does coming back online) and
        // must come to show the server's.
        self.all_pages_online().await?;
        let newest_first: Vec<String> = self
            .server
            .articles()
            .await?
            .into_iter()
            .rev()
            .map(|a| a.id)
            .collect();
        let deadline = Instant::now() + Duration::from_secs(15);
        'pages: loop {
            let mut converged = true;
            for client in 0..self.clients.len() {
                let (browser, tab) = (self.clients[client].browser, self.clients[client].tab);
                let shown = self.browsers[browser].shown(tab).await?;
                let ids: Vec<&str> = shown
                    .iter()
                    .filter(|s| s.state.is_none())
                    .map(|s| s.id.as_str())
                    .collect();
                let waiting = shown.iter().any(|s| s.state.as_deref() == Some("waiting"));
                if waiting || ids != newest_first {
                    converged = false;
                    break;
                }
            }
            if converged || Instant::now() >= deadline {
                break 'pages;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        if self.retry_syncs > 0 {
            self.log(format!(
                "{} sync(s) fired for the browser's retry",
                self.retry_syncs
            ));
        }
        Ok(())
    }

    async fn all_pages_online(&mut self) -> Result<()> {
        for machine in &mut self.browsers {
            for tab in 0..machine.tabs.len() {
                machine.page_online(tab).await?;
            }
        }
        Ok(())
    }

    /// The history, written to `out`, and its verdict.
    pub(super) async fn judge(&mut self, out: &Path) -> Result<(History, Verdict)> {
        let mut history = History {
            prefix: self.prefix(),
            clients: self.clients.iter().map(|c| c.name.clone()).collect(),
            adds: self.adds.clone(),
            ..History::default()
        };
        history.server = self
            .server
            .articles()
            .await?
            .into_iter()
            .map(|a| history::Article {
                created_ms: history::rfc3339_ms(&a.created_at),
                id: a.id,
                headline: a.headline,
            })
            .collect();
        for client in &self.clients {
            let items = self.browsers[client.browser].shown(client.tab).await?;
            history.pages.push(PageList {
                page: client.name.clone(),
                items,
            });
        }
        let mut posts = Vec::new();
        for machine in &mut self.browsers {
            history.outboxes.push(Outbox {
                browser: machine.name.clone(),
                headlines: machine.outbox().await?,
            });
            for seen in machine.proxy.api_requests() {
                if seen.method != "POST" || seen.path != ARTICLES {
                    continue;
                }
                let answer = match (seen.outcome, seen.status) {
                    (Outcome::Passed, Some(status)) => Answer::Status(status),
                    (Outcome::AnswerLost, Some(status)) => Answer::Unheard(status),
                    (Outcome::Answered503, _) => Answer::FromProxy(503),
                    _ => Answer::None,
                };
                posts.push((
                    seen.at,
                    Post {
                        via: machine.name.clone(),
                        articles: clients::posted_articles(&seen.body),
                        answer,
                        taken_ms: Some(seen.taken_ms),
                        answered_ms: seen.answered_ms,
                    },
                ));
            }
        }
        posts.sort_by_key(|(at, _)| *at);
        history.posts = posts.into_iter().map(|(_, post)| post).collect();

        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let file = out.join(format!("history-{}.json", self.seed));
        std::fs::write(&file, serde_json::to_string_pretty(&history)?)
            .with_context(|| format!("cannot write {}", file.display()))?;
        let verdict = history::check(&history);
        Ok((history, verdict))
    }

    pub(super) fn print_logs(&self) {
        println!("  recent output (browsers' consoles, the server's log):");
        for machine in &self.browsers {
            for line in machine.driver.recent_logs(8) {
                println!(
                    "    {}: {}",
                    machine.name,
                    line.chars().take(200).collect::<String>()
                );
            }
        }
        for line in self.server.log_tail(8) {
            println!("    server: {}", line.chars().take(200).collect::<String>());
        }
    }
}
