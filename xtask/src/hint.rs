//! `cargo xtask hint [--more] [checkpoint]`: a checkpoint's hint again,
//! without running a check — by default the next one the last `check`
//! failed (or, before any check, the lesson's first).
//!
//! Help comes in three levels, each asked for on purpose: the hint (level
//! 1: the approach in words, the rule behind it, the helpers to use — what
//! `check` prints too), `--more` (level 2: the solution's steps in order,
//! still no code), and `cargo xtask reveal <checkpoint>` (level 3: the
//! code). The highest level each checkpoint reached is kept in
//! `target/xtask/progress.json`, which the room shows the instructor.

use crate::check::Browser;
use crate::progress::{self, Entry, Progress, Report};
use lesson::Stage;

#[derive(Debug, clap::Args)]
pub struct HintArgs {
    /// The checkpoint's id (`cargo run -p harness -- list` lists them)
    /// [default: the next one to do].
    pub checkpoint: Option<String>,
    /// The stage you check.
    #[arg(long, value_enum, default_value_t)]
    pub stage: Stage,
    /// The browser you check in (Firefox's hints differ where its way does).
    #[arg(long, value_enum, default_value_t)]
    pub browser: Browser,
    /// The next level: the solution's steps in order, still in words (then
    /// `cargo xtask reveal <checkpoint>` is the code).
    #[arg(long)]
    pub more: bool,
}

pub fn run(args: &HintArgs) -> anyhow::Result<()> {
    let (stage, browser) = (args.stage.name(), args.browser.name());
    let catalogue = progress::catalogue(stage, browser)?;
    let path = progress::progress_file();
    let mut progress = Progress::load(&path);
    let Some(checkpoint) = choose(&catalogue, &progress, stage, args.checkpoint.as_deref())? else {
        println!("every checkpoint passed at the last check: no hint needed");
        return Ok(());
    };
    let label = if args.checkpoint.is_some() {
        ""
    } else {
        "next: "
    };
    if args.more {
        println!("{}", checkpoint.hint_more_lines(label));
    } else {
        println!("{}", checkpoint.hint_lines(label));
        if checkpoint.pre_lesson {
            println!("  (this one passes before the lesson: if it fails, something else broke it)");
        }
    }
    let level = if args.more && !checkpoint.pre_lesson {
        2
    } else {
        1
    };
    progress
        .entry(stage, browser)
        .saw_hint_at(&checkpoint.id, level);
    progress.save(&path)
}

/// The checkpoint whose hint to show: the one asked for, else the next one
/// the last check did not pass, else (no check yet) the lesson's first;
/// `None` when the last check passed them all.
fn choose<'a>(
    catalogue: &'a Report,
    progress: &Progress,
    stage: &str,
    asked: Option<&str>,
) -> anyhow::Result<Option<&'a Entry>> {
    if let Some(id) = asked {
        return catalogue.find(id).map(Some);
    }
    match progress.get(stage, &catalogue.browser) {
        Some(run) if !run.checkpoints.is_empty() => Ok(run.next(catalogue)),
        _ => Ok(catalogue.first_lesson()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Verdict::*;
    use crate::progress::record;
    use crate::progress::tests::report;

    fn ids(chosen: anyhow::Result<Option<&Entry>>) -> Option<String> {
        chosen.unwrap().map(|c| c.id.clone())
    }

    #[test]
    fn the_hint_asked_for_or_the_next_one() {
        let catalogue = report(&[
            ("a", true, true, None),
            ("x", false, false, None),
            ("b", false, true, None),
            ("c", false, true, None),
        ]);
        let mut progress = Progress::default();
        // Before any check: the lesson's first checkpoint in this browser.
        assert_eq!(
            ids(choose(&catalogue, &progress, "starter", None)),
            Some("b".into())
        );
        // A hint seen before any check does not count as a check.
        progress.entry("starter", "chromium").saw_hint("c");
        assert_eq!(
            ids(choose(&catalogue, &progress, "starter", None)),
            Some("b".into())
        );
        // After one: the first that did not pass.
        let last = report(&[
            ("a", true, true, Some(Pass)),
            ("x", false, false, Some(NotApplicable)),
            ("b", false, true, Some(Pass)),
            ("c", false, true, Some(Fail)),
        ]);
        record(&mut progress, &last, "id", 10);
        assert_eq!(
            ids(choose(&catalogue, &progress, "starter", None)),
            Some("c".into())
        );
        // Asked for by name, whatever the progress.
        assert_eq!(
            ids(choose(&catalogue, &progress, "starter", Some("a"))),
            Some("a".into())
        );
        let error = choose(&catalogue, &progress, "starter", Some("nope")).unwrap_err();
        assert!(error.to_string().contains("a, x, b, c"), "{error}");
        // All passed: nothing to hint.
        let done = report(&[
            ("a", true, true, Some(Pass)),
            ("b", false, true, Some(Pass)),
        ]);
        record(&mut progress, &done, "id", 20);
        assert_eq!(ids(choose(&catalogue, &progress, "starter", None)), None);
    }
}
