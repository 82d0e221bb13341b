//! `cargo xtask check [starter|solution] [--watch]`: how far the lesson has
//! come, decided by a real headless browser.
//!
//! This module only builds the stage and hands over to the `harness` crate
//! (`xtask/harness`), which starts the server and the browser and runs the
//! checkpoints of `lessons/background-sync/checkpoints.toml`. The harness is
//! its own crate so that its DevTools client is compiled only when a check
//! runs, never on the way to `cargo xtask serve`.
//!
//! After the harness's report it says how far the student has come
//! (`6/16 ✓`), what changed since the last check and what to do next,
//! remembering each run in `target/xtask/progress.json` (see [`progress`]);
//! with `--room`, it then sends that file to the instructor's room. The
//! next checkpoint's hint and book section are printed there, last, where
//! the student reads them: the harness's failure report (`--no-hint`) gives
//! only what was expected and what was seen.
//!
//! With `--watch` ([`watch`]) one harness runs the whole time, its browser
//! kept warm, and checks again after each save. `args.rs` holds the
//! arguments, `harness.rs` how the harness is started, `after.rs` what
//! follows each check, `watch_test.rs` the test step that proves `--watch`.
//!
//! [`progress`]: crate::progress

mod after;
mod args;
mod harness;
mod watch;
mod watch_test;

use std::fs;

use lesson::Stage;
use platform::Machine;

use crate::build::{WasmBuild, build_site, build_site_as};
use crate::command::{run as run_command, step};
use after::{after_check, results_file};
pub use args::{Browser, CheckArgs};
use harness::{browser_first, harness_options};
pub(crate) use harness::{harness, run_harness, stage_server};
pub use watch_test::run as watch_test;

pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    if args.watch {
        watch::run(args)
    } else {
        check_once(args)
    }
}

fn check_once(args: &CheckArgs) -> anyhow::Result<()> {
    browser_first(&Machine::this(), args.browser.family())?;
    // The student's loop: a save, then a verdict. What the checks prove
    // does not depend on the link-time optimisation that makes the shipped
    // files small, and skipping it saves ~1.2 s a part after each save (a
    // site `serve` built as shipped is reused as it is).
    let site = build_site_as(args.stage, WasmBuild::Quick)?;
    let server = stage_server(args.stage)?;
    let results = results_file(args)?;
    let _ = fs::remove_file(&results);
    let results_arg = results.to_string_lossy().into_owned();
    let options = harness_options(args, &results_arg);
    let checked = step(
        &format!(
            "checking {} in headless {}",
            args.stage,
            args.browser.product()
        ),
        || run_harness(args.stage.name(), &site, &server, &options),
    );
    after_check(args, &site, &results);
    checked
}

/// `cargo run -p harness -- selftest`: the harness checks itself against a
/// tiny app of its own, so that a failing lesson check is never the
/// harness's fault.
pub fn selftest() -> anyhow::Result<()> {
    run_command(harness().arg("selftest"))
}

/// `cargo xtask screenshots`: builds the solution and has the harness drive
/// it through the lesson's story in headless Chromium, writing the book's
/// pictures to `book/src/screenshots/` (commit them with the chapters).
pub fn screenshots() -> anyhow::Result<()> {
    let site = build_site(Stage::Solution)?;
    let server = stage_server(Stage::Solution)?;
    let mut harness = harness();
    harness
        .arg("screenshots")
        .arg("--site")
        .arg(&site)
        .arg("--server-bin")
        .arg(&server);
    step(
        "taking the book's screenshots in a headless browser",
        || run_command(&mut harness),
    )
}

/// `cargo xtask chaos`: the solution in two Chromium profiles and one
/// Firefox at once, clients adding articles while faults of twelve kinds
/// happen; nothing may be lost, duplicated or reordered (the harness's
/// `chaos` command says how). One line per run, and a total.
#[derive(Debug, Clone, clap::Args)]
pub struct ChaosArgs {
    /// The first run's seed; every run prints its own, and the same seed
    /// (with the same --clients, --rate, --duration and --faults) runs the
    /// same script again [default: a new one].
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many runs, each with its own seed (the next after the first's).
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Tabs adding articles, spread over the three browsers (at least 3).
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Articles a second, all clients together.
    #[arg(long, default_value_t = 1.5)]
    pub rate: f64,
    /// Seconds of adding.
    #[arg(long, default_value_t = 40.0)]
    pub duration: f64,
    /// Faults in each run.
    #[arg(long, default_value_t = 12)]
    pub faults: usize,
    /// Only these kinds of fault, comma-separated [default: every kind this
    /// machine can do]; `--kinds list` lists them.
    #[arg(long)]
    pub kinds: Option<String>,
}

impl Default for ChaosArgs {
    fn default() -> Self {
        ChaosArgs {
            seed: None,
            runs: 1,
            clients: 4,
            rate: 1.5,
            duration: 40.0,
            faults: 12,
            kinds: None,
        }
    }
}

pub fn chaos(args: &ChaosArgs) -> anyhow::Result<()> {
    let site = build_site(Stage::Solution)?;
    let server = stage_server(Stage::Solution)?;
    let mut harness = harness();
    harness
        .arg("chaos")
        .arg("--site")
        .arg(&site)
        .arg("--server-bin")
        .arg(&server)
        .args(["--runs", &args.runs.to_string()])
        .args(["--clients", &args.clients.to_string()])
        .args(["--rate", &args.rate.to_string()])
        .args(["--duration", &args.duration.to_string()])
        .args(["--faults", &args.faults.to_string()]);
    if let Some(seed) = args.seed {
        harness.args(["--seed", &seed.to_string()]);
    }
    if let Some(kinds) = &args.kinds {
        harness.args(["--kinds", kinds]);
    }
    step(
        "clients in two Chromium profiles and one Firefox adding articles while faults happen",
        || {
            run_command(&mut harness).map_err(|_| {
                anyhow::anyhow!(
                    "articles were lost, duplicated or reordered, or a run broke; the report above says which, with the line that reruns it"
                )
            })
        },
    )
}
