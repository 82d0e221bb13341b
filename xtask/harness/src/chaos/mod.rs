//! `harness chaos`: nothing lost, nothing duplicated, nothing out of order,
//! whatever happens — across browsers, clients and faults.
//!
//! Clients (tabs) in two Chromium profiles and one Firefox add articles to
//! one server through the page's form, at a steady rate for a set time,
//! while faults of twelve kinds hit the server, one browser or its network
//! (`schedule.rs` lists them, `faults.rs` does them). Each browser reaches
//! the server through a proxy of its own, which records every POST and the
//! answer that reached the browser. Then the faults stop, the pages come
//! back online (the app's own way to send what waits), and the run's
//! history — each client's confirmed adds in its order, every answer, and at
//! the end the server's list, every page's list and every outbox — is
//! judged by `history.rs`, which knows nothing of the faults.
//!
//! The script (who adds when, which fault comes when and hits whom, each
//! fault's timings) comes from a seeded generator: each run prints its seed,
//! and `--seed N` (with the same `--clients`, `--rate` and `--duration`)
//! runs the same script again. Timing inside the browsers is not the seed's
//! to decide, so a rerun follows the same script, not the same interleaving
//! to the microsecond.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Result;

mod clients;
mod faults;
pub mod history;
mod run;
mod schedule;

use history::AddOutcome;
use run::Run;
pub use schedule::Kind;
use schedule::{BROWSERS, Rng, Shape};

/// What `chaos` is asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The first run's seed; the next runs take the next seeds. Default: a
    /// new one.
    pub seed: Option<u64>,
    pub runs: usize,
    /// Tabs adding articles, spread over the three browsers (at least 3).
    pub clients: usize,
    /// Articles a second, all clients together.
    pub rate: f64,
    /// Seconds of adding.
    pub duration: f64,
    /// Faults in each run.
    pub faults: usize,
    /// The kinds to draw from (default: all this machine can do).
    pub kinds: Vec<Kind>,
    /// Where each run's history is written, as JSON.
    pub out: PathBuf,
}

impl Options {
    fn shape(&self) -> Shape {
        Shape {
            clients: self.clients,
            rate: self.rate,
            duration_ms: (self.duration * 1000.0) as u64,
            faults: self.faults,
            kinds: self.kinds.clone(),
        }
    }

    /// The options that replay `seed`'s run.
    fn rerun(&self, seed: u64) -> String {
        let mut line = format!(
            "cargo xtask chaos --seed {seed} --clients {} --rate {} --duration {} --faults {}",
            self.clients, self.rate, self.duration, self.faults
        );
        if self.kinds.len() < Kind::ALL.iter().filter(|k| k.available()).count() {
            let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
            let _ = write!(line, " --kinds {}", names.join(","));
        }
        line
    }
}

/// One run's figures, for its line and the total.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub seed: u64,
    pub articles: usize,
    pub faults: BTreeMap<Kind, usize>,
    pub lost: usize,
    pub duplicated: usize,
    pub out_of_order: usize,
    /// Every other broken rule (a page that did not converge, an outbox
    /// left, a refusal retried, ...), and a run that could not finish.
    pub other_problems: usize,
    pub seconds: f64,
}

impl Tally {
    pub fn ok(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.out_of_order == 0 && self.other_problems == 0
    }

    fn faults_total(&self) -> usize {
        self.faults.values().sum()
    }
}

/// Faults by kind, as `server-killed 2, partition 1`.
pub fn by_kind(faults: &BTreeMap<Kind, usize>) -> String {
    faults
        .iter()
        .map(|(kind, n)| format!("{} {n}", kind.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The runs' total, in one line.
pub fn total_line(tallies: &[Tally]) -> String {
    let mut faults: BTreeMap<Kind, usize> = BTreeMap::new();
    for tally in tallies {
        for (kind, n) in &tally.faults {
            *faults.entry(*kind).or_default() += n;
        }
    }
    let failing: Vec<String> = tallies
        .iter()
        .filter(|t| !t.ok())
        .map(|t| t.seed.to_string())
        .collect();
    format!(
        "{} runs, {} articles, {} faults of {} kinds ({}), lost {}, duplicated {}, out of order {}{}",
        tallies.len(),
        tallies.iter().map(|t| t.articles).sum::<usize>(),
        faults.values().sum::<usize>(),
        faults.len(),
        by_kind(&faults),
        tallies.iter().map(|t| t.lost).sum::<usize>(),
        tallies.iter().map(|t| t.duplicated).sum::<usize>(),
        tallies.iter().map(|t| t.out_of_order).sum::<usize>(),
        if failing.is_empty() {
            String::new()
        } else {
            format!("; failing seeds: {}", failing.join(", "))
        }
    )
}

/// `options.runs` runs, a line for each and the total; their tallies.
pub async fn run_many(site: &Path, server_bin: &Path, options: &Options) -> Result<Vec<Tally>> {
    anyhow::ensure!(
        options.clients >= BROWSERS.len(),
        "--clients: at least {} (a tab in each browser), got {}",
        BROWSERS.len(),
        options.clients
    );
    anyhow::ensure!(
        options.rate > 0.0 && options.duration > 0.0,
        "--rate and --duration must be more than 0"
    );
    let first = options.seed.unwrap_or_else(new_seed);
    let mut tallies = Vec::new();
    for n in 0..options.runs {
        let seed = first + n as u64;
        let tally = run_one(site, server_bin, options, seed).await;
        println!(
            "chaos: seed {seed}: {} articles, {} faults ({}), lost {}, duplicated {}, out of order {}{} — {} in {:.0} s",
            tally.articles,
            tally.faults_total(),
            by_kind(&tally.faults),
            tally.lost,
            tally.duplicated,
            tally.out_of_order,
            match tally.other_problems {
                0 => String::new(),
                n => format!(", {n} other problem(s)"),
            },
            if tally.ok() { "ok" } else { "FAILED" },
            tally.seconds,
        );
        if !tally.ok() {
            println!("  rerun: {}", options.rerun(seed));
        }
        tallies.push(tally);
    }
    println!("chaos: total: {}", total_line(&tallies));
    Ok(tallies)
}

/// The kinds `--kinds` names (all this machine can do when it names none);
/// `None` when it asked for the list, which is printed.
pub fn kinds(names: &[String]) -> Result<Option<Vec<Kind>>> {
    let available = || Kind::ALL.into_iter().filter(|k| k.available());
    if names.iter().any(|n| n == "list") {
        for kind in Kind::ALL {
            println!(
                "{}{}",
                kind.name(),
                if kind.available() {
                    ""
                } else {
                    " (not on this machine)"
                }
            );
        }
        return Ok(None);
    }
    if names.is_empty() {
        return Ok(Some(available().collect()));
    }
    names
        .iter()
        .map(|name| match Kind::from_name(name) {
            Some(kind) if kind.available() => Ok(kind),
            Some(_) => anyhow::bail!("--kinds: {name} is not possible on this machine"),
            None => anyhow::bail!(
                "--kinds: no kind of fault named `{name}`; the kinds are: {}",
                Kind::ALL.map(Kind::name).join(", ")
            ),
        })
        .collect::<Result<_>>()
        .map(Some)
}

/// Runs `harness chaos`: whether every run kept every rule.
pub async fn run(site: &Path, server_bin: &Path, options: Options) -> Result<bool> {
    let tallies = run_many(site, server_bin, &options).await?;
    Ok(tallies.iter().all(Tally::ok))
}

fn new_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Rng(nanos ^ u64::from(std::process::id())).next() % 1_000_000_000
}

/// One run with `seed`: set up, play the script, settle, judge.
async fn run_one(site: &Path, server_bin: &Path, options: &Options, seed: u64) -> Tally {
    let started = Instant::now();
    let shape = options.shape();
    println!(
        "chaos: seed {seed}: {} clients in {} browsers, {} articles a second for {} s, {} faults",
        shape.clients,
        BROWSERS.len(),
        shape.rate,
        options.duration,
        shape.faults
    );
    let mut failed = Tally {
        seed,
        other_problems: 1,
        ..Tally::default()
    };
    let mut run = match Run::start(site, server_bin, seed, shape).await {
        Ok(run) => run,
        Err(error) => {
            println!("  could not start: {error:#}");
            failed.seconds = started.elapsed().as_secs_f64();
            return failed;
        }
    };
    // Long enough for the script and every fault, never for ever.
    let timeout = Duration::from_secs_f64(options.duration) + Duration::from_secs(6 * 60);
    let played = tokio::time::timeout(timeout, run.play()).await;
    let outcome = match played {
        Ok(Ok(())) => run.judge(&options.out).await,
        Ok(Err(error)) => Err(error),
        Err(_) => Err(anyhow::anyhow!("the run did not finish within {timeout:?}")),
    };
    match outcome {
        Ok((history, verdict)) => {
            if verdict.ok() {
                run.log("the history keeps every rule");
            }
            let mut tally = Tally {
                seed,
                articles: verdict.confirmed,
                faults: run.faults.clone(),
                lost: verdict.lost.len(),
                duplicated: verdict.duplicates(),
                out_of_order: verdict.misordered(),
                other_problems: 0,
                seconds: started.elapsed().as_secs_f64(),
            };
            let problems = verdict.problems();
            tally.other_problems = problems.len()
                - usize::from(!verdict.lost.is_empty())
                - verdict.duplicated.len()
                - verdict.out_of_order.len();
            let unconfirmed = history
                .adds
                .iter()
                .filter(|a| a.outcome == AddOutcome::Unknown)
                .count();
            // A form that stops answering would leave nothing to check.
            if unconfirmed * 10 > history.adds.len() {
                println!(
                    "  the form confirmed only {} of {} adds",
                    history.adds.len() - unconfirmed,
                    history.adds.len()
                );
                tally.other_problems += 1;
            }
            if !tally.ok() {
                for line in problems {
                    println!("  {line}");
                }
                run.print_logs();
            }
            tally
        }
        Err(error) => {
            println!("  the run broke: {error:#}");
            run.print_logs();
            failed.articles = run.confirmed();
            failed.faults = run.faults.clone();
            failed.seconds = started.elapsed().as_secs_f64();
            failed
        }
    }
}
