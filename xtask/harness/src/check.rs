//! `harness check <stage>`: starts the stage's server behind the proxy and a
//! headless browser, runs the checkpoints that apply there in the file's
//! order, and has [`report`](crate::report) print what each came to; with
//! `--results`, writes them as JSON for `cargo xtask check`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use lesson::Stage;

use crate::browsers::Browser;
use crate::browsers::chromium::{self, Chromium};
use crate::browsers::firefox::{self, Firefox};
use crate::catalogue::{self, Checkpoint};
use crate::checkpoints::context::Ctx;
use crate::checkpoints::{self, Id};
use crate::report::{self, FirstFailure, Report, Verdict};
use crate::standins::autopush::Autopush;
use crate::standins::server::Server;

/// The longest a single checkpoint may take, all its waits included.
const CHECKPOINT_TIMEOUT: Duration = Duration::from_secs(120);

/// The browsers the harness drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BrowserKind {
    /// Headless Chromium over the DevTools protocol.
    Chromium,
    /// Headless Firefox (ESR) over WebDriver BiDi.
    Firefox,
}

impl BrowserKind {
    /// As the checkpoint file's `browsers` spells it.
    pub fn name(self) -> &'static str {
        match self {
            BrowserKind::Chromium => "chromium",
            BrowserKind::Firefox => "firefox",
        }
    }
}

/// `harness check`'s arguments.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// The stage whose site and server are checked (its directory names
    /// the files in the hints).
    #[arg(value_enum)]
    pub stage: Stage,
    /// The built site [default: target/site/<stage>].
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// The stage's server binary [default: the stage's in target/debug].
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// The checkpoint file [default: lessons/background-sync/checkpoints.toml].
    #[arg(long)]
    pub checkpoints: Option<PathBuf>,
    /// Run the checkpoints after a failure too (by default they are
    /// reported as not run).
    #[arg(long)]
    pub keep_going: bool,
    /// Print the browser's console and the server's log of every failure.
    #[arg(long, short)]
    pub verbose: bool,
    /// Succeed exactly when the stage is as a student finds it before
    /// the lesson: every pre-lesson checkpoint passes and every lesson
    /// checkpoint fails. Implies --keep-going.
    #[arg(long)]
    pub expect_starter: bool,
    /// The browser to check in. Firefox has no Background Sync: there the
    /// checkpoints prove the app's fallback instead.
    #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
    pub browser: BrowserKind,
    /// Also write each checkpoint's result (pass, fail, not-run,
    /// not-applicable) to this file as JSON, for `cargo xtask check` to
    /// remember progress by.
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Leave the first failure's hint and book section out of the
    /// report: the caller prints them itself (`cargo xtask check` does,
    /// with the student's progress, after this report).
    #[arg(long)]
    pub no_hint: bool,
}

/// Runs the check `args` asks for, in the workspace at `root` with its
/// target directory `target`; whether it passed.
pub async fn run(args: CheckArgs, root: &Path, target: &Path) -> Result<bool> {
    let started = Instant::now();
    let site = args
        .site
        .clone()
        .unwrap_or_else(|| target.join("site").join(args.stage.name()));
    let server_bin = args
        .server_bin
        .clone()
        .unwrap_or_else(|| crate::util::server_of(target, args.stage));
    let file = args
        .checkpoints
        .clone()
        .unwrap_or_else(|| root.join(catalogue::DEFAULT));
    let list = catalogue::load(&file)?;
    let exe = match args.browser {
        BrowserKind::Chromium => chromium::find_or_install()?,
        BrowserKind::Firefox => firefox::find_or_install()?,
    };
    let (server, proxy) = Server::behind_proxy(&server_bin, &site).await?;
    match args.browser {
        BrowserKind::Chromium => {
            let browser = Chromium::launch(exe, &proxy.origin())
                .await
                .context("starting Chromium")?;
            let cx = Ctx::new(browser, proxy, server);
            run_checkpoints(cx, list, &args, started).await
        }
        BrowserKind::Firefox => {
            // Started first: its URL is in the profile Firefox starts with.
            let autopush = Autopush::start().await?;
            let browser = Firefox::launch(exe, &proxy.origin(), Some(autopush.server_url()))
                .await
                .context("starting Firefox")?;
            let mut cx = Ctx::new(browser, proxy, server);
            cx.autopush = Some(autopush);
            run_checkpoints(cx, list, &args, started).await
        }
    }
}

/// Runs the checkpoints that apply in `cx`'s browser, in order, and reports.
async fn run_checkpoints<B: Browser>(
    mut cx: Ctx<B>,
    list: Vec<(Id, Checkpoint)>,
    args: &CheckArgs,
    started: Instant,
) -> Result<bool> {
    let keep_going = args.keep_going || args.expect_starter;
    let stage = args.stage.name();
    let browser = cx.browser.name();
    let list: Vec<(Id, Checkpoint)> = list
        .into_iter()
        .map(|(id, c)| (id, c.in_browser(browser)))
        .collect();
    let elsewhere = list.iter().filter(|(_, c)| !c.applies_to(browser)).count();
    let report = Report::new(stage, browser);
    report.heading(&cx.browser.version(), list.len() - elsewhere, elsewhere);

    let mut verdicts: Vec<(Checkpoint, Verdict)> = Vec::new();
    let mut first_failure: Option<FirstFailure> = None;
    // Every checkpoint in the file's order, those of other browsers too, so
    // that `--results` holds the whole trail.
    let mut reported = Vec::new();
    for (id, checkpoint) in list {
        if !checkpoint.applies_to(browser) {
            reported.push(catalogue::reported(
                &checkpoint,
                stage,
                browser,
                Some("not-applicable"),
            ));
            report.elsewhere(&checkpoint);
            continue;
        }
        if first_failure.is_some() && !keep_going {
            report.not_run(&checkpoint);
            reported.push(catalogue::reported(
                &checkpoint,
                stage,
                browser,
                Some("not-run"),
            ));
            verdicts.push((checkpoint, Verdict::NotRun));
            continue;
        }
        let t = Instant::now();
        let result = run_one(id, &mut cx).await;
        report.ran(&checkpoint, &result, t.elapsed().as_millis(), args.verbose);
        match result {
            Ok(()) => {
                reported.push(catalogue::reported(
                    &checkpoint,
                    stage,
                    browser,
                    Some("pass"),
                ));
                verdicts.push((checkpoint, Verdict::Passed));
            }
            Err(error) => {
                if first_failure.is_none() {
                    first_failure = Some(FirstFailure {
                        index: verdicts.len(),
                        logs: recent_output(&cx),
                    });
                }
                reported.push(catalogue::reported(
                    &checkpoint,
                    stage,
                    browser,
                    Some("fail"),
                ));
                verdicts.push((checkpoint, Verdict::Failed(error)));
            }
        }
    }

    if let Some(FirstFailure { index, logs }) = &first_failure
        && let (checkpoint, Verdict::Failed(error)) = &verdicts[*index]
    {
        report.first_failure(checkpoint, error, logs, !args.no_hint);
    }
    if let Some(path) = &args.results {
        write_results(
            path,
            stage,
            browser,
            reported,
            first_failure.as_ref(),
            &verdicts,
        )?;
    }
    let passed = report.totals(&verdicts, elsewhere, started);
    if args.expect_starter {
        return Ok(report.as_before_the_lesson(&verdicts));
    }
    Ok(passed)
}

/// `--results`: every checkpoint and what it came to, and the first
/// failure's lines as they were printed (what `cargo xtask check` keeps for
/// the room).
fn write_results(
    path: &Path,
    stage: &str,
    browser: &str,
    reported: Vec<catalogue::Reported>,
    first_failure: Option<&FirstFailure>,
    verdicts: &[(Checkpoint, Verdict)],
) -> Result<()> {
    let failure = first_failure.and_then(|first| match &verdicts[first.index] {
        (checkpoint, Verdict::Failed(error)) => Some(report::expected_and_seen(checkpoint, error)),
        _ => None,
    });
    let results = catalogue::Report {
        stage: stage.to_owned(),
        browser: browser.to_owned(),
        checkpoints: reported,
        failure,
    };
    std::fs::write(path, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("cannot write the results to {}", path.display()))
}

/// The browser's console and the server's log, last lines, for a failure.
fn recent_output<B: Browser>(cx: &Ctx<B>) -> Vec<String> {
    let mut logs = cx.browser.recent_logs(12);
    logs.extend(
        cx.server
            .log_tail(6)
            .into_iter()
            .map(|l| format!("server: {l}")),
    );
    logs
}

/// Runs one checkpoint's check, within [`CHECKPOINT_TIMEOUT`].
async fn run_one<B: Browser>(id: Id, cx: &mut Ctx<B>) -> Result<()> {
    match tokio::time::timeout(CHECKPOINT_TIMEOUT, checkpoints::run(id, cx)).await {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!(
            "the checkpoint did not finish within {CHECKPOINT_TIMEOUT:?}"
        )),
    }
}
