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
//! [`progress`]: crate::progress

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use anyhow::Context;
use platform::Machine;
use platform::browsers::{self, Family, NotFound};

use crate::build::{BUILD_ID_FILE, WasmBuild, build_site, build_site_as};
use crate::command::{cargo, report, run as run_command, show, step};
use crate::progress::{self, Progress};
use crate::serve::{
    POLL, build_server, display_relative, first_difference, server_binary, settle, snapshot,
};
use crate::workspace::target_dir;
use lesson::Stage;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[arg(value_enum, default_value_t)]
    pub stage: Stage,
    /// Check again after every save in the stage's crate.
    #[arg(long)]
    pub watch: bool,
    /// Run every checkpoint. By default the lesson's checkpoints stop at
    /// the first that fails (those after it cannot pass before it, and are
    /// reported as not yet); the pre-lesson ones always run.
    #[arg(long, visible_alias = "keep-going")]
    pub all: bool,
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
    #[command(flatten)]
    pub room: RoomArgs,
}

/// `--room URL --name NAME --code CODE`: all three or none. Without them
/// nothing leaves this machine.
#[derive(Debug, Default, clap::Args)]
pub struct RoomArgs {
    /// After each check, send your checkpoint results, the hints you asked
    /// for and the first failure's expected and seen lines (never your
    /// code) to the instructor's room at this URL.
    #[arg(long, value_name = "URL", requires_all = ["name", "code"])]
    pub room: Option<String>,
    /// Your name, as the room shows it (with --room).
    #[arg(long, requires = "room")]
    pub name: Option<String>,
    /// The room's code, as the instructor gave it (with --room).
    #[arg(long, requires = "room")]
    pub code: Option<String>,
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

    fn family(self) -> Family {
        match self {
            Browser::Chromium => Family::Chromium,
            Browser::Firefox => Family::Firefox,
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
            all: false,
            verbose: false,
            expect_starter: false,
            browser: Browser::Chromium,
            room: RoomArgs::default(),
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
    browser_first(&Machine::this(), args.browser.family())?;
    // The student's loop: a save, then a verdict. What the checks prove
    // does not depend on the link-time optimisation that makes the shipped
    // files small, and skipping it saves ~1.2 s a part after each save (a
    // site `serve` built as shipped is reused as it is).
    let site = build_site_as(args.stage, WasmBuild::Quick)?;
    let server = stage_server(args.stage)?;
    // The harness writes each checkpoint's result here; a stale file from an
    // earlier run must not pass for this one's.
    let results = progress::xtask_dir().join(format!(
        "results-{}-{}.json",
        args.stage,
        args.browser.name()
    ));
    if let Some(dir) = results.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
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
    // No results when the harness itself broke (it said why): then there is
    // no progress to remember or send either.
    if results.exists() {
        // Progress is a help, not the verdict: failing to keep it is said,
        // and the check's own result stands.
        if let Err(error) = remember(&site, &results) {
            println!("warning: progress not remembered: {error:#}");
        }
        if let Some(room) = &args.room.room {
            send_to_room(room, &args.room, args.stage.name(), args.browser.name());
        }
    }
    checked
}

/// The harness's options for `args`, its results written to `results`.
/// `--no-hint`: the next checkpoint's hint is printed once, with the
/// progress after the harness's report, not in that report too.
fn harness_options<'a>(args: &'a CheckArgs, results: &'a str) -> Vec<&'a str> {
    let mut options = vec![
        "--browser",
        args.browser.name(),
        "--results",
        results,
        "--no-hint",
    ];
    if args.all {
        options.push("--all");
    }
    if args.verbose {
        options.push("--verbose");
    }
    if args.expect_starter {
        options.push("--expect-starter");
    }
    options
}

/// Prints the progress after a check and remembers the run in
/// `target/xtask/progress.json`.
fn remember(site: &Path, results: &Path) -> anyhow::Result<()> {
    let report = progress::read_results(results)?;
    let path = progress::progress_file();
    let mut progress = Progress::load(&path);
    let now = progress::now();
    let summary = progress::summarize(&report, progress.get(&report.stage, &report.browser), now);
    // Printed before anything else can fail: it holds the only hint.
    println!("\n{}", summary.render(&report.stage, &report.browser));
    let build_id = fs::read_to_string(site.join(BUILD_ID_FILE))
        .with_context(|| format!("cannot read the build id in {}", site.display()))?;
    progress::record(&mut progress, &report, build_id.trim(), now);
    progress.save(&path)
}

/// Sends the progress file to the room (`cargo run -p room -- send`). A
/// room that cannot be reached must not change what the check says: a
/// failure is one warning line, and the check's result stands.
fn send_to_room(url: &str, room: &RoomArgs, stage: &str, browser: &str) {
    let (Some(name), Some(code)) = (&room.name, &room.code) else {
        // clap requires all three; nothing to send without them.
        return;
    };
    let mut command = room_send(url, name, code, &progress::progress_file(), stage, browser);
    let shown = show(&command);
    // Its own output is the user's to read; its errors become our one line.
    command.stdout(Stdio::inherit()).stderr(Stdio::piped());
    match command.output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let why = stderr
                .lines()
                .rev()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("no message");
            println!(
                "warning: progress not sent to the room ({}): {why}",
                output.status
            );
        }
        Err(error) => {
            println!("warning: progress not sent to the room: cannot run `{shown}`: {error}")
        }
    }
}

/// `cargo run -q -p room -- send --url URL --code CODE --name NAME
/// --progress FILE --stage STAGE --browser BROWSER`.
fn room_send(
    url: &str,
    name: &str,
    code: &str,
    progress: &Path,
    stage: &str,
    browser: &str,
) -> Command {
    let mut command = cargo();
    command
        .args(["run", "-q", "-p", "room", "--", "send"])
        .args(["--url", url, "--code", code, "--name", name])
        .arg("--progress")
        .arg(progress)
        .args(["--stage", stage, "--browser", browser]);
    command
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

/// Before anything is built: a check with no browser to drive stops here,
/// with the one line that installs one on this system (as root on Debian,
/// as in CI, the harness installs it). The harness itself names the
/// browser it drives, with its version.
fn browser_first(machine: &Machine, family: Family) -> anyhow::Result<()> {
    match browsers::find(machine, family) {
        Ok(_) => Ok(()),
        Err(NotFound::Nowhere)
            if browsers::apt_package(machine, family).is_some()
                && platform::tools::apt_get_allowed(machine) =>
        {
            Ok(())
        }
        Err(not_found) => anyhow::bail!(not_found.message(machine, family)),
    }
}

/// `cargo run -p harness --`, quietly: its report is what the user reads.
pub(crate) fn harness() -> Command {
    let mut command = cargo();
    command.args(["run", "-q", "-p", "harness", "--"]);
    command
}

/// Builds the stage's server and returns a copy of it for this check to run:
/// a rebuild of the stage while the check still runs the server (another
/// check, a save) then never writes into the binary it is running.
pub(crate) fn stage_server(stage: Stage) -> anyhow::Result<PathBuf> {
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        check: CheckArgs,
    }

    #[test]
    fn a_missing_browser_stops_the_check_with_this_systems_install_line() {
        let dir = std::env::temp_dir().join(format!("announce-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut mac = Machine {
            os: platform::Os::MacOs,
            root: dir.clone(),
            env: Vec::new(),
        };
        let error = browser_first(&mac, Family::Chromium)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "no Chromium-family browser found: install one (brew install --cask google-chrome), or set CHROME to its executable"
        );
        mac.env.push(("FIREFOX".into(), dir.join("nothing").into()));
        let error = browser_first(&mac, Family::Firefox)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("FIREFOX is set to "), "{error}");
        // Found: the check goes on (the harness names it).
        let app = dir.join("Applications/Google Chrome.app/Contents/MacOS");
        fs::create_dir_all(&app).unwrap();
        fs::write(app.join("Google Chrome"), "").unwrap();
        let found = browser_first(&mac, Family::Chromium);
        fs::remove_dir_all(&dir).unwrap();
        found.unwrap();
    }

    #[test]
    fn room_flags_come_all_three_or_not_at_all() {
        let cli = Cli::try_parse_from(["check"]).unwrap();
        assert!(cli.check.room.room.is_none());
        let cli = Cli::try_parse_from([
            "check",
            "--room",
            "http://10.0.0.1:4000",
            "--name",
            "Ada",
            "--code",
            "K7Q2",
        ])
        .unwrap();
        assert_eq!(cli.check.room.room.as_deref(), Some("http://10.0.0.1:4000"));
        assert_eq!(cli.check.room.name.as_deref(), Some("Ada"));
        assert_eq!(cli.check.room.code.as_deref(), Some("K7Q2"));
        for partial in [
            &["check", "--room", "http://x"][..],
            &["check", "--room", "http://x", "--name", "Ada"],
            &["check", "--name", "Ada", "--code", "K7Q2"],
            &["check", "--code", "K7Q2"],
        ] {
            assert!(Cli::try_parse_from(partial).is_err(), "{partial:?}");
        }
    }

    #[test]
    fn the_harness_leaves_the_hint_to_the_progress_after_it() {
        let mut args = CheckArgs::new(Stage::Starter);
        let options = harness_options(&args, "results.json");
        assert_eq!(
            options,
            [
                "--browser",
                "chromium",
                "--results",
                "results.json",
                "--no-hint"
            ]
        );
        args.all = true;
        args.expect_starter = true;
        args.browser = Browser::Firefox;
        let options = harness_options(&args, "r.json");
        assert!(options.contains(&"--no-hint"), "{options:?}");
        assert!(options.contains(&"--all"), "{options:?}");
        assert!(options.contains(&"--expect-starter"), "{options:?}");
        assert!(options.contains(&"firefox"), "{options:?}");
    }

    #[test]
    fn the_room_is_sent_the_progress_file_and_nothing_else() {
        let command = room_send(
            "http://10.0.0.1:4000",
            "Ada L",
            "K7Q2",
            Path::new("target/xtask/progress.json"),
            "starter",
            "chromium",
        );
        assert_eq!(
            show(&command),
            "cargo run -q -p room -- send --url http://10.0.0.1:4000 --code K7Q2 --name Ada L --progress target/xtask/progress.json --stage starter --browser chromium"
        );
        // The name is one argument, spaces and all.
        assert!(command.get_args().any(|a| a == "Ada L"));
    }
}
