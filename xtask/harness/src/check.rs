//! `harness check <stage>`: starts the stage's server behind the proxy and a
//! headless browser, runs the checkpoints that apply there in the file's
//! order, and has [`report`](crate::report) print what each came to; with
//! `--results`, writes them as JSON for `cargo xtask check`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lesson::Stage;
use tokio::io::AsyncBufReadExt;

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
    /// Run every checkpoint. By default the lesson's walk stops at its
    /// first failing checkpoint, and those after it are reported as not
    /// yet (they cannot pass before it); the pre-lesson checkpoints always
    /// run.
    #[arg(long, visible_alias = "keep-going")]
    pub all: bool,
    /// Only these checkpoints (ids, comma-separated); the others are
    /// reported as not run.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Print the browser's console and the server's log of every failure.
    #[arg(long, short)]
    pub verbose: bool,
    /// Succeed exactly when the stage is as a student finds it before
    /// the lesson: every pre-lesson checkpoint passes and every lesson
    /// checkpoint fails. Implies --all.
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
    /// Keep the browser, the proxy and the server running, and check
    /// again each time a line comes on stdin (`cargo xtask check --watch`
    /// sends one after each rebuild), until stdin closes. Each round runs
    /// the checkpoint the last one stopped at first, on a fresh origin and
    /// database; the results file is written last.
    #[arg(long)]
    pub watch: bool,
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
    if let Some(unknown) = args
        .only
        .iter()
        .find(|id| !list.iter().any(|(_, c)| &c.id == *id))
    {
        bail!("--only: no checkpoint {unknown:?} in {}", file.display());
    }
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
            rounds(cx, &list, &args, started).await
        }
        BrowserKind::Firefox => {
            // Started first: its URL is in the profile Firefox starts with.
            let autopush = Autopush::start().await?;
            let browser = Firefox::launch(exe, &proxy.origin(), Some(autopush.server_url()))
                .await
                .context("starting Firefox")?;
            let mut cx = Ctx::new(browser, proxy, server);
            cx.autopush = Some(autopush);
            rounds(cx, &list, &args, started).await
        }
    }
}

/// One round, or with `--watch` one per line on stdin, each on a fresh
/// origin and database in the same browser; whether the last passed.
async fn rounds<B: Browser>(
    mut cx: Ctx<B>,
    list: &[(Id, Checkpoint)],
    args: &CheckArgs,
    started: Instant,
) -> Result<bool> {
    let mut warm = WarmBrowser::new();
    if args.watch {
        warm.round_begins();
    }
    let mut round = run_round(&mut cx, list, args, None, started).await?;
    if !args.watch {
        return Ok(round.passed);
    }
    warm.round_over();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while lines.next_line().await?.is_some() {
        let started = Instant::now();
        cx = cx.next_round().await?;
        println!();
        warm.round_begins();
        round = run_round(&mut cx, list, args, round.stopped_at, started).await?;
        warm.round_over();
    }
    Ok(round.passed)
}

/// With `--watch`, what keeping the browser warm came to: as each round
/// begins, one line says this harness's process id and how
/// many browsers it has started between rounds (none, when it works; a
/// checkpoint may restart the browser within a round, on purpose). `cargo
/// xtask test` reads it to prove that one browser served every save.
struct WarmBrowser {
    /// The round running, counted from 1.
    round: usize,
    launches_at_round_end: usize,
    between_rounds: usize,
}

impl WarmBrowser {
    /// Before the first round: the browser it runs in was started before
    /// any round, not between two.
    fn new() -> Self {
        WarmBrowser {
            round: 0,
            launches_at_round_end: crate::browsers::process::launches(),
            between_rounds: 0,
        }
    }

    fn round_begins(&mut self) {
        self.round += 1;
        let launches = crate::browsers::process::launches();
        self.between_rounds += launches - self.launches_at_round_end;
        println!(
            "harness: round {} (harness pid {}; browsers started between rounds: {})",
            self.round,
            std::process::id(),
            self.between_rounds
        );
    }

    fn round_over(&mut self) {
        self.launches_at_round_end = crate::browsers::process::launches();
    }
}

/// What a round came to.
struct RoundEnd {
    passed: bool,
    /// The lesson checkpoint the walk stopped at, if it did: the one the
    /// student is on, which the next round runs first.
    stopped_at: Option<Id>,
}

/// What one checkpoint came to, with its own output when it failed.
struct Ran {
    result: Result<()>,
    ms: u128,
    output: Vec<String>,
}

/// What a round has come to so far: each checkpoint's verdict, what
/// `--results` says of each, the first failure, and the lesson checkpoint
/// the walk stopped at (its id and name).
#[derive(Default)]
struct Tally {
    verdicts: Vec<(Checkpoint, Verdict)>,
    reported: Vec<catalogue::Reported>,
    first_failure: Option<FirstFailure>,
    stopped_at: Option<(Id, String)>,
}

impl Tally {
    /// A checkpoint that ran, and what it came to (`reported`: as
    /// `--results` says it).
    fn ran(&mut self, id: Id, checkpoint: Checkpoint, ran: Ran, reported: catalogue::Reported) {
        self.reported.push(reported);
        match ran.result {
            Ok(()) => self.verdicts.push((checkpoint, Verdict::Passed)),
            Err(error) => {
                if self.first_failure.is_none() {
                    self.first_failure = Some(FirstFailure {
                        index: self.verdicts.len(),
                        logs: ran.output,
                    });
                }
                if !checkpoint.pre_lesson && self.stopped_at.is_none() {
                    self.stopped_at = Some((id, checkpoint.id.clone()));
                }
                self.verdicts.push((checkpoint, Verdict::Failed(error)));
            }
        }
    }

    /// A checkpoint not run (`reported`: as `--results` says it).
    fn not_run(&mut self, checkpoint: Checkpoint, reported: catalogue::Reported) {
        self.reported.push(reported);
        self.verdicts.push((checkpoint, Verdict::NotRun));
    }
}

/// Runs the checkpoints that apply in `cx`'s browser, in the file's order,
/// and reports (its time counted from `started`): `first`, when given, runs
/// before the others (its verdict is the one the student waits for), and
/// the lesson's walk stops at its first failing checkpoint unless `--all`.
async fn run_round<B: Browser>(
    cx: &mut Ctx<B>,
    list: &[(Id, Checkpoint)],
    args: &CheckArgs,
    first: Option<Id>,
    started: Instant,
) -> Result<RoundEnd> {
    let all = args.all || args.expect_starter;
    let stage = args.stage.name();
    let browser = cx.browser.name();
    let list: Vec<(Id, Checkpoint)> = list
        .iter()
        .map(|(id, c)| (*id, c.clone().in_browser(browser)))
        .collect();
    let asked = |c: &Checkpoint| args.only.is_empty() || args.only.contains(&c.id);
    let elsewhere = list.iter().filter(|(_, c)| !c.applies_to(browser)).count();
    let report = Report::new(stage, browser);
    report.heading(&cx.browser.version(), list.len() - elsewhere, elsewhere);

    let mut early = match list
        .iter()
        .find(|(id, c)| Some(*id) == first && c.applies_to(browser) && asked(c))
    {
        Some((id, checkpoint)) => Some(run_current_first(cx, *id, checkpoint, &report, args).await),
        None => None,
    };

    // Every checkpoint in the file's order, those of other browsers too, so
    // that `--results` holds the whole trail.
    let mut tally = Tally::default();
    for (id, checkpoint) in list {
        let result = |word| catalogue::reported(&checkpoint, stage, browser, Some(word));
        if !checkpoint.applies_to(browser) {
            tally.reported.push(result("not-applicable"));
            report.elsewhere(&checkpoint);
            continue;
        }
        let ran = match early.take_if(|(known, _)| *known == id) {
            Some((_, ran)) => ran,
            None if !asked(&checkpoint) => {
                report.not_asked(&checkpoint);
                let reported = result("not-run");
                tally.not_run(checkpoint, reported);
                continue;
            }
            None if !checkpoint.pre_lesson && !all && tally.stopped_at.is_some() => {
                let after = tally.stopped_at.as_ref().map(|(_, c)| c.as_str());
                report.not_yet(&checkpoint, after.unwrap_or_default());
                let reported = result("not-run");
                tally.not_run(checkpoint, reported);
                continue;
            }
            None => {
                let ran = run_one(id, cx).await;
                report.ran(&checkpoint, &ran.result, ran.ms, args.verbose);
                ran
            }
        };
        let reported = result(if ran.result.is_ok() { "pass" } else { "fail" });
        tally.ran(id, checkpoint, ran, reported);
    }

    let Tally {
        verdicts,
        reported,
        first_failure,
        stopped_at,
    } = tally;
    if let Some(FirstFailure { index, logs }) = &first_failure
        && let (checkpoint, Verdict::Failed(error)) = &verdicts[*index]
    {
        report.first_failure(checkpoint, error, logs, !args.no_hint);
    }
    let stopped_after = (!all)
        .then(|| stopped_at.as_ref().map(|(_, c)| c.as_str()))
        .flatten();
    let mut passed = report.totals(&verdicts, elsewhere, started, stopped_after);
    if args.expect_starter {
        passed = report.as_before_the_lesson(&verdicts);
    }
    // Last: with `--watch`, the file appearing is what says the round is
    // over.
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
    Ok(RoundEnd {
        passed,
        stopped_at: stopped_at.map(|(id, _)| id),
    })
}

/// Runs the checkpoint the student is on (where the last round stopped)
/// before the others, and reports it.
async fn run_current_first<B: Browser>(
    cx: &mut Ctx<B>,
    id: Id,
    checkpoint: &Checkpoint,
    report: &Report<'_>,
    args: &CheckArgs,
) -> (Id, Ran) {
    report.current_first(checkpoint);
    let ran = run_one(id, cx).await;
    report.ran(checkpoint, &ran.result, ran.ms, args.verbose);
    println!();
    (id, ran)
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
    // Written beside it and renamed: a reader waiting for the file never
    // sees half of it.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, serde_json::to_string_pretty(&results)?)
        .with_context(|| format!("cannot write the results to {}", partial.display()))?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot write the results to {}", path.display()))
}

/// Runs one checkpoint's check, within [`CHECKPOINT_TIMEOUT`]; on a
/// failure, with the output it caused.
async fn run_one<B: Browser>(id: Id, cx: &mut Ctx<B>) -> Ran {
    let started = Instant::now();
    cx.begin_checkpoint();
    let result = match tokio::time::timeout(CHECKPOINT_TIMEOUT, checkpoints::run(id, cx)).await {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!(
            "the checkpoint did not finish within {CHECKPOINT_TIMEOUT:?}"
        )),
    };
    let output = if result.is_err() {
        cx.own_output()
    } else {
        Vec::new()
    };
    Ran {
        result,
        ms: started.elapsed().as_millis(),
        output,
    }
}
