//! `cargo xtask reveal <checkpoint>`: the solution's code for one
//! checkpoint, and only that — the regions its `reveal` names in
//! `lessons/background-sync/checkpoints.toml`, cut out of `solution/` by the
//! anchors the book includes them by. Never a whole file: the rest of the
//! lesson stays the student's to write.
//!
//! It is the third and last level of help (after `hint` and `hint
//! --more`), and is remembered as such in `target/xtask/progress.json`.

use std::fs;

use anyhow::Context;

use crate::progress::{self, Entry, Progress};
use lesson::Stage;
use lesson::anchors;

/// The level of help `reveal` is (1 `hint`, 2 `hint --more`).
const LEVEL: u8 = 3;

#[derive(Debug, clap::Args)]
pub struct RevealArgs {
    /// The checkpoint's id (`cargo run -p harness -- list` lists them).
    pub checkpoint: String,
}

pub fn run(args: &RevealArgs) -> anyhow::Result<()> {
    let catalogue = progress::catalogue(Stage::Solution.name(), "chromium")?;
    let checkpoint = catalogue.find(&args.checkpoint)?;
    let hunks = hunks(checkpoint, |file| {
        let path = Stage::Solution
            .dir(&crate::workspace::project_root())
            .join(file);
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    })?;
    match hunks {
        None => println!(
            "nothing to reveal: it works before the lesson (`{}` is a pre-lesson checkpoint)",
            checkpoint.id
        ),
        Some(hunks) => {
            println!("{}", hunks.join("\n\n"));
            let path = progress::progress_file();
            let mut progress = Progress::load(&path);
            remember(&mut progress, &checkpoint.id);
            // The code is shown; failing to remember it is only said.
            if let Err(error) = progress.save(&path) {
                println!("warning: progress not remembered: {error:#}");
            }
        }
    }
    Ok(())
}

/// Notes level 3 for `id` in every run of the starter (the code is the
/// same whichever browser the student checks in), or in a Chromium run
/// made for it when there is none yet.
fn remember(progress: &mut Progress, id: &str) {
    let stage = Stage::Starter.name();
    let mut any = false;
    for run in progress.runs_of(stage) {
        run.saw_hint_at(id, LEVEL);
        any = true;
    }
    if !any {
        progress
            .entry(stage, crate::check::Browser::Chromium.name())
            .saw_hint_at(id, LEVEL);
    }
}

/// The checkpoint's hunks of the solution, each headed by where it is
/// (`solution/src/worker.rs:198 (on_message)`); `None` for a pre-lesson
/// checkpoint. `read` reads a file of the solution crate.
fn hunks(
    checkpoint: &Entry,
    read: impl Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<Option<Vec<String>>> {
    if checkpoint.pre_lesson {
        return Ok(None);
    }
    anyhow::ensure!(
        !checkpoint.reveal.is_empty(),
        "`{}` has no `reveal` in lessons/background-sync/checkpoints.toml",
        checkpoint.id
    );
    let mut hunks = Vec::new();
    for entry in &checkpoint.reveal {
        let (file, anchor) = anchors::split_entry(entry)?;
        let text = read(file)?;
        let (line, code) = anchors::region(&text, anchor)
            .with_context(|| format!("in solution/{file}, for `{}`", checkpoint.id))?;
        hunks.push(format!("solution/{file}:{line} ({anchor})\n{code}"));
    }
    Ok(Some(hunks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::tests::report;

    const WORKER: &str = "\
use x;
// ANCHOR: on_sync
fn on_sync() {
    // ANCHOR: deliver
    deliver();
    // ANCHOR_END: deliver
}
// ANCHOR_END: on_sync
fn secret() {}
";

    fn read(file: &str) -> anyhow::Result<String> {
        match file {
            "src/worker.rs" => Ok(WORKER.to_owned()),
            _ => anyhow::bail!("no {file}"),
        }
    }

    #[test]
    fn only_the_checkpoints_regions_are_shown() {
        let mut catalogue = report(&[("sync", false, true, None)]);
        let sync = &mut catalogue.checkpoints[0];
        sync.reveal = vec![
            "src/worker.rs:deliver".into(),
            "src/worker.rs:on_sync".into(),
        ];
        let hunks = hunks(sync, read).unwrap().unwrap();
        assert_eq!(
            hunks,
            [
                "solution/src/worker.rs:5 (deliver)\n    deliver();",
                "solution/src/worker.rs:3 (on_sync)\nfn on_sync() {\n    deliver();\n}",
            ]
        );
        assert!(!hunks.concat().contains("secret"));
    }

    #[test]
    fn a_reveal_is_level_three_in_every_starter_run() {
        let mut progress = Progress::default();
        remember(&mut progress, "sync");
        let run = progress.get("starter", "chromium").unwrap();
        assert_eq!(run.hint_levels["sync"], 3);

        let mut progress = Progress::default();
        progress.entry("starter", "firefox").saw_hint("outbox");
        progress.entry("solution", "chromium");
        remember(&mut progress, "outbox");
        assert_eq!(
            progress.get("starter", "firefox").unwrap().hint_levels["outbox"],
            3
        );
        assert!(progress.get("starter", "chromium").is_none());
        assert!(
            progress
                .get("solution", "chromium")
                .unwrap()
                .hint_levels
                .is_empty()
        );
    }

    #[test]
    fn a_pre_lesson_checkpoint_has_nothing_to_reveal() {
        let catalogue = report(&[("app-loads", true, true, None)]);
        assert!(hunks(&catalogue.checkpoints[0], read).unwrap().is_none());
    }

    #[test]
    fn a_missing_anchor_or_reveal_is_an_error() {
        let mut catalogue = report(&[("sync", false, true, None)]);
        let sync = &mut catalogue.checkpoints[0];
        sync.reveal = vec!["src/worker.rs:nowhere".into()];
        let error = format!("{:#}", hunks(sync, read).unwrap_err());
        assert!(
            error.contains("solution/src/worker.rs") && error.contains("nowhere"),
            "{error}"
        );
        sync.reveal.clear();
        let error = hunks(sync, read).unwrap_err().to_string();
        assert!(error.contains("no `reveal`"), "{error}");
    }
}
