//! After a check: the results the harness wrote, the progress printed
//! (with the next checkpoint's level-1 hint) and remembered, and sent to
//! the instructor's room when asked.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;

use super::args::{CheckArgs, RoomArgs};
use crate::build::BUILD_ID_FILE;
use crate::command::{cargo, show};
use crate::progress::{self, Progress};

/// Where the harness writes each checkpoint's result, for `args`'s stage
/// and browser (its directory made). Removed before each run: a stale file
/// from an earlier run must not pass for this one's.
pub(super) fn results_file(args: &CheckArgs) -> anyhow::Result<PathBuf> {
    let results = progress::xtask_dir().join(format!(
        "results-{}-{}.json",
        args.stage,
        args.browser.name()
    ));
    if let Some(dir) = results.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(results)
}

/// After a check: prints and remembers the progress, and sends it to the
/// room when asked. No results when the harness itself broke (it said
/// why): then there is no progress to remember or send either.
pub(super) fn after_check(args: &CheckArgs, site: &Path, results: &Path) {
    if !results.exists() {
        return;
    }
    // The other checkpoints were not run: this is no measure of progress.
    if args.only.is_some() {
        println!("\n(--only: progress is neither shown nor remembered)");
        return;
    }
    // Progress is a help, not the verdict: failing to keep it is said,
    // and the check's own result stands.
    if let Err(error) = remember(site, results) {
        println!("warning: progress not remembered: {error:#}");
    }
    if let Some(room) = &args.room.room {
        send_to_room(room, &args.room, args.stage.name(), args.browser.name());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
