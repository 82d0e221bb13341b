//! The browser harness: proves the lesson's checkpoints in a real headless
//! browser, judging only by what a user sees and what the server stores.
//!
//! `cargo xtask check` runs it as
//! `cargo run -q -p harness -- check <stage> --site <dir> --server-bin <path>`.
//! It is its own crate so that `cargo xtask serve` never compiles it.

mod autopush;
mod bench;
mod bidi;
mod browser;
mod catalogue;
mod cdp;
mod chaos;
mod checkpoints;
mod chromium;
mod firefox;
mod marionette;
mod process;
mod proxy;
mod push_service;
mod room;
mod rpc;
mod screenshots;
mod selftest;
mod server;
mod util;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

use crate::autopush::Autopush;
use crate::browser::Browser;
use crate::catalogue::Checkpoint;
use crate::checkpoints::{Ctx, Failed};
use crate::chromium::Chromium;
use crate::firefox::Firefox;
use crate::server::Server;

/// The workspace root (this crate is `xtask/harness`).
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A stage's server binary in the workspace's dev build: cargo names it after
/// the stage's package. (`cargo xtask` always passes `--server-bin`; this is
/// for running the harness by hand.)
fn server_of(root: &Path, stage: &str) -> PathBuf {
    let package = if stage == "starter" {
        "before-sync-lesson"
    } else {
        "after-sync-lesson"
    };
    root.join("target/debug").join(package)
}

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    about = "Check the lesson's checkpoints in headless Chromium"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the stage's server and Chromium, run the checkpoints, report.
    Check {
        /// The stage directory name: `starter` or `solution`.
        stage: String,
        /// The built site [default: target/site/<stage>].
        #[arg(long)]
        site: Option<PathBuf>,
        /// The stage's server binary [default: the stage's in target/debug].
        #[arg(long)]
        server_bin: Option<PathBuf>,
        /// The checkpoint file [default: lessons/background-sync/checkpoints.toml].
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// Run the checkpoints after a failure too (by default they are
        /// reported as not run).
        #[arg(long)]
        keep_going: bool,
        /// Print the browser's console and the server's log of every failure.
        #[arg(long, short)]
        verbose: bool,
        /// Succeed exactly when the stage is as a student finds it before
        /// the lesson: every pre-lesson checkpoint passes and every lesson
        /// checkpoint fails. Implies --keep-going.
        #[arg(long)]
        expect_starter: bool,
        /// The browser to check in. Firefox has no Background Sync: there the
        /// checkpoints prove the app's fallback instead.
        #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
        browser: BrowserKind,
        /// Also write each checkpoint's result (pass, fail, not-run,
        /// not-applicable) to this file as JSON, for `cargo xtask check` to
        /// remember progress by.
        #[arg(long)]
        results: Option<PathBuf>,
        /// Leave the first failure's hint and book section out of the
        /// report: the caller prints them itself (`cargo xtask check` does,
        /// with the student's progress, after this report).
        #[arg(long)]
        no_hint: bool,
    },
    /// List the checkpoints.
    List {
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// As JSON, with each checkpoint's hint, book section and `reveal`
        /// (what `cargo xtask hint` and `reveal` read).
        #[arg(long)]
        json: bool,
        /// With --json: the browser whose titles, hints and applicability.
        #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
        browser: BrowserKind,
        /// With --json: the stage directory the hints name.
        #[arg(long, default_value = "starter")]
        stage: String,
    },
    /// Check the harness itself against a tiny built-in app.
    Selftest,
    /// Add articles from two tabs while faults happen at random (the server
    /// killed mid-replay, 503s, the worker stopped or offline, the browser
    /// restarted, a lastChance sync); then check that the server holds each
    /// exactly once, in each tab's order, and the outbox is empty.
    Chaos {
        /// The schedule's seed [default: a new one, printed].
        #[arg(long)]
        seed: Option<u64>,
        /// How many articles the tabs add.
        #[arg(long, default_value_t = 50)]
        articles: usize,
        /// How many faults happen.
        #[arg(long, default_value_t = 20)]
        faults: usize,
        /// The built site [default: target/site/solution].
        #[arg(long)]
        site: Option<PathBuf>,
        /// The solution's server binary [default: target/debug/after-sync-lesson].
        #[arg(long)]
        server_bin: Option<PathBuf>,
    },
    /// Run the benchmarks (`cargo xtask bench`) and write a Markdown report.
    Bench {
        /// One benchmark only: replay, server, push, worker, inner,
        /// inner-check or room.
        name: Option<String>,
        /// Smoke mode: tiny sizes, one run each (the figures mean nothing).
        #[arg(long)]
        quick: bool,
        /// The solution's built site [default: target/site/solution].
        #[arg(long)]
        site: Option<PathBuf>,
        /// The solution's server binary [default: target/debug/after-sync-lesson].
        #[arg(long)]
        server_bin: Option<PathBuf>,
        /// The xtask binary, for the inner loop's `serve --watch` (without
        /// it, that benchmark is not measured).
        #[arg(long)]
        xtask_bin: Option<PathBuf>,
        /// The room's binary, for the room's benchmark [default: built now
        /// with `cargo build -p room`].
        #[arg(long)]
        room_bin: Option<PathBuf>,
        /// The report [default: target/bench/report.md].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Drive the solution through the lesson's story and write the book's
    /// screenshots (PNG, 900×700).
    Screenshots {
        /// The built site [default: target/site/solution].
        #[arg(long)]
        site: Option<PathBuf>,
        /// The solution's server binary [default: target/debug/after-sync-lesson].
        #[arg(long)]
        server_bin: Option<PathBuf>,
        /// Where to write them [default: book/src/screenshots].
        #[arg(long)]
        out: Option<PathBuf>,
        /// The room's binary, for the room page's picture [default: built
        /// now with `cargo build -p room`].
        #[arg(long)]
        room_bin: Option<PathBuf>,
    },
    /// Start the instructor's room, open its page, send three students'
    /// reports and two bad ones, and see the table follow without a reload.
    RoomTest {
        /// The room's binary [default: built now with `cargo build -p room`].
        #[arg(long)]
        room_bin: Option<PathBuf>,
    },
    /// Only the room page's picture for the book (`screenshots` takes it
    /// too).
    RoomScreenshot {
        #[arg(long)]
        room_bin: Option<PathBuf>,
        /// Where to write room.png [default: book/src/screenshots].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let work = async {
        match cli.command {
            Command::Check {
                stage,
                site,
                server_bin,
                checkpoints,
                keep_going,
                verbose,
                expect_starter,
                browser,
                results,
                no_hint,
            } => {
                let root = workspace();
                let site = site.unwrap_or_else(|| root.join("target/site").join(&stage));
                let server_bin = server_bin.unwrap_or_else(|| server_of(&root, &stage));
                let file = checkpoints.unwrap_or_else(|| root.join(catalogue::DEFAULT));
                let options = Options {
                    keep_going: keep_going || expect_starter,
                    verbose,
                    expect_starter,
                    browser,
                    results,
                    hint: !no_hint,
                };
                check(&stage, &site, &server_bin, &file, options).await
            }
            Command::List {
                checkpoints,
                json,
                browser,
                stage,
            } => {
                let file = checkpoints.unwrap_or_else(|| workspace().join(catalogue::DEFAULT));
                if json {
                    let browser = browser.name();
                    let report = catalogue::Report {
                        stage: stage.clone(),
                        browser: browser.to_owned(),
                        checkpoints: catalogue::load(&file)?
                            .into_iter()
                            .map(|c| c.in_browser(browser).reported(&stage, browser, None))
                            .collect(),
                        failure: None,
                    };
                    println!("{}", serde_json::to_string_pretty(&report)?);
                    return Ok(true);
                }
                for c in catalogue::load(&file)? {
                    let kind = if c.pre_lesson {
                        "pre-lesson".to_owned()
                    } else {
                        format!("goal {}", c.goal)
                    };
                    println!("{:<18} {:<11} {}", c.id, kind, c.title);
                }
                Ok(true)
            }
            Command::Selftest => selftest::run().await.map(|()| true),
            Command::Chaos {
                seed,
                articles,
                faults,
                site,
                server_bin,
            } => {
                let root = workspace();
                let site = site.unwrap_or_else(|| root.join("target/site/solution"));
                let server_bin = server_bin.unwrap_or_else(|| server_of(&root, "solution"));
                let options = chaos::Options {
                    seed,
                    articles,
                    faults,
                };
                chaos::run(&site, &server_bin, options).await
            }
            Command::Bench {
                name,
                quick,
                site,
                server_bin,
                xtask_bin,
                room_bin,
                out,
            } => {
                let root = workspace();
                let setup = bench::Setup {
                    site: site.unwrap_or_else(|| root.join("target/site/solution")),
                    server_bin: server_bin.unwrap_or_else(|| server_of(&root, "solution")),
                    xtask_bin,
                    node_dir: root.join("target/bench/node"),
                    room_bin,
                    quick,
                    root: root.clone(),
                };
                let out = out.unwrap_or_else(|| root.join("target/bench/report.md"));
                bench::run(&setup, name.as_deref(), &out).await
            }
            Command::Screenshots {
                site,
                server_bin,
                out,
                room_bin,
            } => {
                let root = workspace();
                let site = site.unwrap_or_else(|| root.join("target/site/solution"));
                let server_bin = server_bin.unwrap_or_else(|| server_of(&root, "solution"));
                let out = out.unwrap_or_else(|| root.join("book/src/screenshots"));
                screenshots::run(&site, &server_bin, &out).await?;
                let room_bin = room::room_bin(room_bin, &root)?;
                room::screenshot(&room_bin, &out).await.map(|()| true)
            }
            Command::RoomTest { room_bin } => {
                let room_bin = room::room_bin(room_bin, &workspace())?;
                room::test(&room_bin).await.map(|()| true)
            }
            Command::RoomScreenshot { room_bin, out } => {
                let root = workspace();
                let room_bin = room::room_bin(room_bin, &root)?;
                let out = out.unwrap_or_else(|| root.join("book/src/screenshots"));
                room::screenshot(&room_bin, &out).await.map(|()| true)
            }
        }
    };
    // On Ctrl-C or SIGTERM the work future is dropped, and with it every
    // guard: the browser, the proxy and the server are stopped.
    let outcome = tokio::select! {
        outcome = work => outcome,
        () = interrupted() => {
            eprintln!("harness: interrupted; stopped the browser and the server");
            return ExitCode::from(130);
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("harness: {error:#}");
            ExitCode::from(2)
        }
    }
}

async fn interrupted() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = ctrl_c => {}
        _ = async { match &mut term { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
    }
}

/// What a failed checkpoint expected and what was seen: the app's
/// [`Failed`], or, when the check itself could not finish (the harness's
/// or the machine's trouble), that, and the error.
fn expected_and_seen(checkpoint: &Checkpoint, error: &anyhow::Error) -> catalogue::Failure {
    let (expected, seen) = match error.downcast_ref::<Failed>() {
        Some(f) => (f.expected.clone(), f.seen.clone()),
        None => ("the check to finish".to_owned(), format!("{error:#}")),
    };
    catalogue::Failure {
        id: checkpoint.id.clone(),
        expected,
        seen,
    }
}

/// The first failure's lines under its title: what was expected and what
/// was seen, then, with `hint`, the hint and the book section (without it,
/// the caller prints those once, after this report).
fn failure_details(
    checkpoint: &Checkpoint,
    error: &anyhow::Error,
    stage: &str,
    hint: bool,
) -> Vec<String> {
    let failure = expected_and_seen(checkpoint, error);
    let mut lines = match error.downcast_ref::<Failed>() {
        Some(_) => vec![
            format!("  expected: {}", failure.expected),
            format!("  seen:     {}", failure.seen),
        ],
        None => vec![format!("  the check could not finish: {}", failure.seen)],
    };
    if hint {
        lines.push(format!(
            "  hint:     {}",
            checkpoint.hint.replace("{stage}", stage)
        ));
        lines.push(format!("  read:     the book, {}", checkpoint.book));
    }
    lines
}

/// What one checkpoint came to.
enum Verdict {
    Passed,
    Failed(anyhow::Error),
    NotRun,
}

/// The longest a single checkpoint may take, all its waits included.
const CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(120);

/// The browsers the harness drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BrowserKind {
    /// Headless Chromium over the DevTools protocol.
    Chromium,
    /// Headless Firefox (ESR) over WebDriver BiDi.
    Firefox,
}

impl BrowserKind {
    /// As the checkpoint file's `browsers` spells it.
    fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
        }
    }
}

struct Options {
    keep_going: bool,
    verbose: bool,
    expect_starter: bool,
    browser: BrowserKind,
    /// Where to write the results as JSON (`--results`).
    results: Option<PathBuf>,
    /// Whether the first failure's report gives its hint and book section
    /// (not with `--no-hint`).
    hint: bool,
}

async fn check(
    stage: &str,
    site: &Path,
    server_bin: &Path,
    file: &Path,
    options: Options,
) -> Result<bool> {
    let started = Instant::now();
    let list = catalogue::load(file)?;
    let exe = match options.browser {
        BrowserKind::Chromium => chromium::find_or_install()?,
        BrowserKind::Firefox => firefox::find_or_install()?,
    };
    let (server, proxy) = Server::behind_proxy(server_bin, site).await?;
    match options.browser {
        BrowserKind::Chromium => {
            let browser = Chromium::launch(exe, &proxy.origin())
                .await
                .context("starting Chromium")?;
            let cx = Ctx::new(browser, proxy, server);
            run_checkpoints(cx, stage, list, options, started).await
        }
        BrowserKind::Firefox => {
            // Started first: its URL is in the profile Firefox starts with.
            let autopush = Autopush::start().await?;
            let browser = Firefox::launch(exe, &proxy.origin(), Some(autopush.server_url()))
                .await
                .context("starting Firefox")?;
            let mut cx = Ctx::new(browser, proxy, server);
            cx.autopush = Some(autopush);
            run_checkpoints(cx, stage, list, options, started).await
        }
    }
}

/// Runs the checkpoints that apply in `cx`'s browser, in order, and reports.
async fn run_checkpoints<B: Browser>(
    mut cx: Ctx<B>,
    stage: &str,
    list: Vec<Checkpoint>,
    options: Options,
    started: Instant,
) -> Result<bool> {
    let Options {
        keep_going,
        verbose,
        expect_starter,
        browser: _,
        results,
        hint,
    } = options;
    let browser = cx.browser.name();
    let list: Vec<Checkpoint> = list.into_iter().map(|c| c.in_browser(browser)).collect();
    let elsewhere = list.iter().filter(|c| !c.applies_to(browser)).count();
    let color = std::io::stdout().is_terminal();
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    };

    println!(
        "Checking {stage} in {} ({} checkpoints{})\n",
        cx.browser.version(),
        list.len() - elsewhere,
        if elsewhere > 0 {
            format!("; {elsewhere} not in {browser}")
        } else {
            String::new()
        }
    );
    let mut verdicts: Vec<(Checkpoint, Verdict)> = Vec::new();
    let mut first_failure: Option<(usize, Vec<String>)> = None;
    // Every checkpoint in the file's order, those of other browsers too, so
    // that `--results` holds the whole trail.
    let mut reported = Vec::new();
    for checkpoint in list {
        if !checkpoint.applies_to(browser) {
            reported.push(checkpoint.reported(stage, browser, Some("not-applicable")));
            // Said, not skipped silently: which browsers prove it, and what
            // stands in for it here.
            let only = checkpoint
                .browsers
                .as_deref()
                .unwrap_or_default()
                .join(", ");
            println!(
                "  {} {:<18} {} (only in {only}, not checked in {browser}{})",
                paint("2", "-"),
                checkpoint.id,
                checkpoint.title,
                checkpoint
                    .elsewhere
                    .as_deref()
                    .map(|why| format!(": {why}"))
                    .unwrap_or_default()
            );
            continue;
        }
        if first_failure.is_some() && !keep_going {
            println!(
                "  {} {:<18} {} (not run)",
                paint("2", "-"),
                checkpoint.id,
                checkpoint.title
            );
            reported.push(checkpoint.reported(stage, browser, Some("not-run")));
            verdicts.push((checkpoint, Verdict::NotRun));
            continue;
        }
        let t = Instant::now();
        let result = match tokio::time::timeout(
            CHECKPOINT_TIMEOUT,
            checkpoints::run(&checkpoint.id, &mut cx),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(anyhow::anyhow!(
                "the checkpoint did not finish within {CHECKPOINT_TIMEOUT:?}"
            )),
        };
        let ms = t.elapsed().as_millis();
        match result {
            Ok(()) => {
                println!(
                    "  {} {:<18} {} {}",
                    paint("32", "✓"),
                    checkpoint.id,
                    checkpoint.title,
                    paint("2", &format!("({ms} ms)"))
                );
                reported.push(checkpoint.reported(stage, browser, Some("pass")));
                verdicts.push((checkpoint, Verdict::Passed));
            }
            Err(error) => {
                println!(
                    "  {} {:<18} {} {}",
                    paint("31", "✗"),
                    checkpoint.id,
                    checkpoint.title,
                    paint("2", &format!("({ms} ms)"))
                );
                if verbose {
                    println!("      {error:#}");
                }
                if first_failure.is_none() {
                    let mut logs = cx.browser.recent_logs(12);
                    logs.extend(
                        cx.server
                            .log_tail(6)
                            .into_iter()
                            .map(|l| format!("server: {l}")),
                    );
                    first_failure = Some((verdicts.len(), logs));
                }
                reported.push(checkpoint.reported(stage, browser, Some("fail")));
                verdicts.push((checkpoint, Verdict::Failed(error)));
            }
        }
    }

    if let Some((index, logs)) = &first_failure
        && let (checkpoint, Verdict::Failed(error)) = &verdicts[*index]
    {
        println!(
            "\n{} {}: {}\n",
            paint("31", "✗"),
            checkpoint.id,
            checkpoint.title
        );
        for line in failure_details(checkpoint, error, stage, hint) {
            println!("{line}");
        }
        if !logs.is_empty() {
            println!("\n  recent output (browser console, server log):");
            for line in logs {
                println!("    {}", line.chars().take(200).collect::<String>());
            }
        }
    }
    if let Some(path) = &results {
        let failure = first_failure
            .as_ref()
            .and_then(|(index, _)| match &verdicts[*index] {
                (checkpoint, Verdict::Failed(error)) => Some(expected_and_seen(checkpoint, error)),
                _ => None,
            });
        let report = catalogue::Report {
            stage: stage.to_owned(),
            browser: browser.to_owned(),
            checkpoints: reported,
            failure,
        };
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write the results to {}", path.display()))?;
    }
    let passed = verdicts
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::Passed))
        .count();
    let failed = verdicts
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::Failed(_)))
        .count();
    let not_run = verdicts
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::NotRun))
        .count();
    println!();
    if not_run > 0 {
        println!(
            "{not_run} not run after the first failure (counted as failed; --keep-going runs them)"
        );
    }
    println!(
        "{} in {:.1} s",
        if failed + not_run == 0 {
            "all checkpoints pass"
        } else {
            "some checkpoints fail"
        },
        started.elapsed().as_secs_f64()
    );
    if elsewhere > 0 {
        println!(
            "{passed} passed, {} failed; {elsewhere} not checked in {browser} (see above)",
            failed + not_run
        );
    } else {
        println!("{passed} passed, {} failed", failed + not_run);
    }
    if expect_starter {
        // The starter must neither drift into solved nor into broken.
        let wrong: Vec<&str> = verdicts
            .iter()
            .filter(|(c, v)| c.pre_lesson != matches!(v, Verdict::Passed))
            .map(|(c, _)| c.id.as_str())
            .collect();
        if wrong.is_empty() {
            println!(
                "as expected before the lesson: every pre-lesson checkpoint passes, every lesson checkpoint fails"
            );
        } else {
            println!(
                "NOT as expected before the lesson (pre-lesson checkpoints must pass, lesson ones fail): {}",
                wrong.join(", ")
            );
        }
        return Ok(wrong.is_empty());
    }
    Ok(failed + not_run == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page_worker() -> Checkpoint {
        catalogue::load(&workspace().join(catalogue::DEFAULT))
            .unwrap()
            .into_iter()
            .find(|c| c.id == "page-worker")
            .unwrap()
    }

    #[test]
    fn the_first_failure_says_what_was_expected_and_seen_and_the_hint_once_asked() {
        let checkpoint = page_worker();
        let error: anyhow::Error = Failed {
            expected: "the worker's answer".into(),
            seen: "\"Added.\"".into(),
        }
        .into();
        let with = failure_details(&checkpoint, &error, "starter", true).join("\n");
        assert!(with.contains("  expected: the worker's answer"), "{with}");
        assert!(with.contains("  seen:     \"Added.\""), "{with}");
        assert!(with.contains("  hint:     starter/"), "{with}");
        assert!(
            with.contains(&format!("  read:     the book, {}", checkpoint.book)),
            "{with}"
        );

        // `cargo xtask check` passes --no-hint and prints the hint with the
        // progress after this report: here it must not stand a second time.
        let without = failure_details(&checkpoint, &error, "starter", false).join("\n");
        assert!(
            without.contains("  expected: the worker's answer"),
            "{without}"
        );
        assert!(without.contains("  seen:     \"Added.\""), "{without}");
        assert!(!without.contains("hint"), "{without}");
        assert!(!without.contains(&checkpoint.book), "{without}");
        assert!(!without.contains("TODO(page-worker)"), "{without}");

        let broken = anyhow::anyhow!("the browser went away");
        let lines = failure_details(&checkpoint, &broken, "starter", false);
        assert_eq!(
            lines,
            ["  the check could not finish: the browser went away"]
        );
    }

    #[test]
    fn the_results_give_the_first_failure_as_it_was_printed() {
        let checkpoint = page_worker();
        let error: anyhow::Error = Failed {
            expected: "the worker's answer".into(),
            seen: "\"Added.\"".into(),
        }
        .into();
        let failure = expected_and_seen(&checkpoint, &error);
        let printed = failure_details(&checkpoint, &error, "starter", false);
        assert_eq!(failure.id, "page-worker");
        assert_eq!(printed[0], format!("  expected: {}", failure.expected));
        assert_eq!(printed[1], format!("  seen:     {}", failure.seen));
        let json = serde_json::to_value(catalogue::Report {
            stage: "starter".into(),
            browser: "chromium".into(),
            checkpoints: Vec::new(),
            failure: Some(failure),
        })
        .unwrap();
        assert_eq!(json["failure"]["seen"], "\"Added.\"");

        let broken = anyhow::anyhow!("the browser went away");
        let failure = expected_and_seen(&checkpoint, &broken);
        assert_eq!(failure.seen, "the browser went away");
        assert_eq!(
            failure_details(&checkpoint, &broken, "starter", false),
            [format!("  the check could not finish: {}", failure.seen)]
        );
    }
}
