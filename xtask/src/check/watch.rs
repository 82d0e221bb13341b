//! `cargo xtask check --watch`: a verdict after every save, from one
//! browser kept warm.
//!
//! One `harness check --watch` runs the whole time: it keeps the browser,
//! the proxy and the server, and checks again each time a line comes on its
//! stdin, starting with the checkpoint the student is on. After a save this
//! rebuilds the site the quick way, and the server only when cargo finds it
//! changed (a save in the page's or the worker's code leaves it as it is);
//! a new server means a new harness, since the harness runs the server. A
//! round is over when the harness has written its results file (it writes
//! it last); then the progress is printed and remembered, as after `check`.
//!
//! Ctrl-C needs no handler: the terminal sends it to every process in the
//! foreground group, and the harness stops its browser and server and says
//! so.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::thread;
use std::time::SystemTime;

use anyhow::Context;
use platform::Machine;

use super::after::{after_check, results_file};
use super::args::CheckArgs;
use super::harness::{browser_first, copy_server, harness, harness_options};
use crate::build::{WasmBuild, build_site_as};
use crate::command::{report, show};
use crate::serve::{
    POLL, build_server, display_relative, first_difference, server_binary, settle, snapshot,
};

pub(super) fn run(args: &CheckArgs) -> anyhow::Result<()> {
    browser_first(&Machine::this(), args.browser.family())?;
    let results = results_file(args)?;
    let mut warm = Warm::default();
    let mut files = snapshot(args.stage);
    loop {
        // A save that does not build is the compiler's to explain (its
        // output is above); the browser stays up for the next one. A
        // harness that stopped ends the watch.
        match check_after_save(args, &results, &mut warm) {
            Err(error) if error.is::<HarnessStopped>() => return Err(error),
            Err(error) => report(&error),
            Ok(()) => {}
        }
        println!(
            "==> watching {stage}/ — save a file to check again (Ctrl-C to stop)",
            stage = args.stage
        );
        files = next_save(args, files, &mut warm)?;
    }
}

/// What stays from one save to the next: the harness, and the server
/// binary it runs (as cargo last wrote it).
#[derive(Default)]
struct Warm {
    harness: Option<Harness>,
    server_built: Option<SystemTime>,
}

/// Rebuilds what the save changed, has the harness check it, and prints
/// the progress.
fn check_after_save(args: &CheckArgs, results: &Path, warm: &mut Warm) -> anyhow::Result<()> {
    let site = build_site_as(args.stage, WasmBuild::Quick)?;
    build_server(args.stage)?;
    let built = fs::metadata(server_binary(args.stage))
        .and_then(|m| m.modified())
        .ok();
    // A stale file from the last round must not pass for this one's.
    let _ = fs::remove_file(results);
    match &mut warm.harness {
        Some(harness) if built == warm.server_built => harness.check_again()?,
        _ => {
            if let Some(old) = warm.harness.take() {
                println!("==> the server changed: restarting the browser with it");
                drop(old);
            }
            let server = copy_server(args.stage)?;
            warm.harness = Some(Harness::start(args, &site, &server, results)?);
            warm.server_built = built;
        }
    }
    let harness = warm.harness.as_mut().context("no harness")?;
    if let Err(error) = harness.wait_for(results) {
        warm.harness = None;
        return Err(error);
    }
    after_check(args, &site, results);
    Ok(())
}

/// Waits for the next save in the stage's crate, and returns the files as
/// they are then; fails if the harness stopped meanwhile.
fn next_save(
    args: &CheckArgs,
    files: crate::serve::Snapshot,
    warm: &mut Warm,
) -> anyhow::Result<crate::serve::Snapshot> {
    loop {
        thread::sleep(POLL);
        if let Some(harness) = &mut warm.harness {
            harness.still_running()?;
        }
        let now = snapshot(args.stage);
        if let Some(changed) = first_difference(&files, &now) {
            println!("==> changed: {}", display_relative(&changed));
            return Ok(settle(args.stage, now));
        }
    }
}

/// The harness is no longer running: the watch ends, saying why.
#[derive(Debug)]
struct HarnessStopped(String);

impl std::fmt::Display for HarnessStopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HarnessStopped {}

/// `harness check --watch`, its stdin ours to write a line to per round.
struct Harness {
    child: Child,
    stdin: Option<ChildStdin>,
    shown: String,
}

impl Harness {
    /// Starts the harness on `site` and `server`; its first round begins at
    /// once.
    fn start(args: &CheckArgs, site: &Path, server: &Path, results: &Path) -> anyhow::Result<Self> {
        let results = results.to_string_lossy();
        let mut command = harness();
        command
            .args(["check", args.stage.name(), "--watch"])
            .arg("--site")
            .arg(site)
            .arg("--server-bin")
            .arg(server)
            .args(harness_options(args, &results))
            .stdin(Stdio::piped());
        let shown = show(&command);
        println!(
            "==> checking {} in headless {} (kept running between saves)",
            args.stage,
            args.browser.product()
        );
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot run `{shown}`"))?;
        let stdin = child.stdin.take();
        Ok(Harness {
            child,
            stdin,
            shown,
        })
    }

    /// Asks for another round.
    fn check_again(&mut self) -> anyhow::Result<()> {
        self.still_running()?;
        println!("==> checking again in the same browser");
        let stdin = self
            .stdin
            .as_mut()
            .context("the harness's stdin is closed")?;
        stdin
            .write_all(b"check\n")
            .and_then(|()| stdin.flush())
            .with_context(|| format!("cannot ask `{}` for another round", self.shown))
    }

    /// Waits until the round is over: the harness writes `results` last.
    fn wait_for(&mut self, results: &Path) -> anyhow::Result<()> {
        while !results.exists() {
            self.still_running()?;
            thread::sleep(POLL / 2);
        }
        Ok(())
    }

    /// Fails, saying so, if the harness has stopped.
    fn still_running(&mut self) -> anyhow::Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            // What it exits with on Ctrl-C, having stopped its browser and
            // server (and said so).
            Ok(Some(status)) if status.code() == Some(130) => {
                Err(HarnessStopped("stopped: the check was interrupted".to_owned()).into())
            }
            Ok(Some(status)) => Err(HarnessStopped(format!(
                "the harness stopped ({status}); its output above may say why. \
                 Run `cargo xtask check --watch` again to restart it"
            ))
            .into()),
            Err(error) => Err(error).context("cannot see whether the harness still runs"),
        }
    }
}

/// Closes its stdin, which ends it after its round, and waits for it to
/// stop its browser and server.
impl Drop for Harness {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
