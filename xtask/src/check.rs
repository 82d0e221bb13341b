//! `cargo xtask check [starter|solution] [--watch]`: how far the lesson has
//! come, decided by a real headless browser.
//!
//! This module only builds the stage and hands over to the `harness` crate
//! (`xtask/harness`), which starts the server and the browser and runs the
//! checkpoints of `lessons/background-sync/checkpoints.toml`. The harness is
//! its own crate so that its DevTools client is compiled only when a check
//! runs, never on the way to `cargo xtask serve`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

use anyhow::Context;

use crate::build::build_site;
use crate::serve::{
    POLL, build_server, display_relative, first_difference, server_binary, settle, snapshot,
};
use crate::stage::Stage;
use crate::{cargo, report, run as run_command, step, target_dir};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[arg(value_enum, default_value_t)]
    pub stage: Stage,
    /// Check again after every save in the stage's crate.
    #[arg(long)]
    pub watch: bool,
    /// Run every checkpoint, even after one has failed.
    #[arg(long)]
    pub keep_going: bool,
    /// Show the full error of every failed checkpoint.
    #[arg(long, short)]
    pub verbose: bool,
    /// Pass only when the starter is exactly as a student finds it: every
    /// pre-lesson checkpoint passes and every lesson checkpoint fails (what
    /// `cargo xtask test` asserts).
    #[arg(long, hide = true)]
    pub expect_starter: bool,
    /// The headless browser to check in. Firefox has no Background Sync:
    /// there the checkpoints prove the app's fallback instead.
    #[arg(long, value_enum, default_value_t)]
    pub browser: Browser,
}

/// The browsers the harness drives (its `--browser`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Browser {
    /// Chromium, over the DevTools protocol.
    #[default]
    Chromium,
    /// Firefox ESR, over WebDriver BiDi.
    Firefox,
}

impl Browser {
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
        }
    }

    fn product(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Firefox => "Firefox",
        }
    }
}

impl CheckArgs {
    /// A plain check of `stage`, as `cargo xtask check <stage>` runs it.
    pub fn new(stage: Stage) -> Self {
        CheckArgs {
            stage,
            watch: false,
            keep_going: false,
            verbose: false,
            expect_starter: false,
            browser: Browser::Chromium,
        }
    }
}

pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    if !args.watch {
        return check_once(args);
    }
    let mut files = snapshot(args.stage);
    loop {
        if let Err(error) = check_once(args) {
            report(&error);
        }
        println!(
            "==> watching {stage}/ — save a file to check again (Ctrl-C to stop)",
            stage = args.stage
        );
        loop {
            thread::sleep(POLL);
            let now = snapshot(args.stage);
            if let Some(changed) = first_difference(&files, &now) {
                println!("==> changed: {}", display_relative(&changed));
                files = settle(args.stage, now);
                break;
            }
        }
    }
}

fn check_once(args: &CheckArgs) -> anyhow::Result<()> {
    let site = build_site(args.stage)?;
    let server = stage_server(args.stage)?;
    let mut options = vec!["--browser", args.browser.name()];
    if args.keep_going {
        options.push("--keep-going");
    }
    if args.verbose {
        options.push("--verbose");
    }
    if args.expect_starter {
        options.push("--expect-starter");
    }
    step(
        &format!(
            "checking {} in headless {}",
            args.stage,
            args.browser.product()
        ),
        || run_harness(args.stage.name(), &site, &server, &options),
    )
}

/// Runs the checkpoints against a built site and server binary; `stage` is
/// the directory the hints name.
pub fn run_harness(
    stage: &str,
    site: &Path,
    server: &Path,
    options: &[&str],
) -> anyhow::Result<()> {
    let mut harness = harness();
    harness
        .args(["check", stage])
        .arg("--site")
        .arg(site)
        .arg("--server-bin")
        .arg(server)
        .args(options);
    run_command(&mut harness).map_err(|_| {
        anyhow::anyhow!("not every checkpoint passes; the report above says which, and why")
    })
}

/// `cargo run -p harness --`, quietly: its report is what the user reads.
fn harness() -> Command {
    let mut command = cargo();
    command.args(["run", "-q", "-p", "harness", "--"]);
    command
}

/// Builds the stage's server and returns a copy of it for this check to run:
/// a rebuild of the stage while the check still runs the server (another
/// check, a save) then never writes into the binary it is running.
fn stage_server(stage: Stage) -> anyhow::Result<PathBuf> {
    build_server(stage)?;
    let copy = target_dir().join("debug").join(format!(
        "{}-check{}",
        stage.package(),
        std::env::consts::EXE_SUFFIX
    ));
    // Copied beside it, then renamed over it: writing into the binary itself
    // fails ("text file busy") while another check still runs it, but a
    // rename only repoints the name, and the running one keeps its file.
    let fresh = copy.with_extension(format!("new-{}", std::process::id()));
    fs::copy(server_binary(stage), &fresh)
        .with_context(|| format!("cannot copy the server binary to {}", fresh.display()))?;
    fs::rename(&fresh, &copy)
        .with_context(|| format!("cannot rename {} to {}", fresh.display(), copy.display()))?;
    Ok(copy)
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

/// `cargo xtask chaos`: the solution in headless Chromium, articles added
/// from two tabs while faults happen at random; nothing may be lost or
/// duplicated (the harness's `chaos` command says how).
#[derive(Debug, clap::Args)]
pub struct ChaosArgs {
    /// The seed of the fault schedule; every run prints its own, and the
    /// same seed runs the same schedule again [default: a new one].
    #[arg(long)]
    pub seed: Option<u64>,
    /// How many articles the two tabs add.
    #[arg(long, default_value_t = 50)]
    pub articles: usize,
    /// How many faults happen meanwhile.
    #[arg(long, default_value_t = 20)]
    pub faults: usize,
}

impl Default for ChaosArgs {
    fn default() -> Self {
        ChaosArgs {
            seed: None,
            articles: 50,
            faults: 20,
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
        .args(["--articles", &args.articles.to_string()])
        .args(["--faults", &args.faults.to_string()]);
    if let Some(seed) = args.seed {
        harness.args(["--seed", &seed.to_string()]);
    }
    step(
        "adding articles from two tabs while faults happen (headless Chromium)",
        || {
            run_command(&mut harness).map_err(|_| {
                anyhow::anyhow!(
                    "articles were lost, duplicated or reordered, or the run broke; the report above says which, with the seed to rerun it"
                )
            })
        },
    )
}
