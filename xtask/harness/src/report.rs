//! The report a check prints, as a student reads it: one line a checkpoint
//! (passed, failed, not run, or not checked in this browser and why), then
//! the first failure — what was expected and what was seen, the hint, the
//! recent output of the browser and the server — then the totals.
//!
//! Only printing lives here; running the checkpoints is `check.rs`.

use std::io::IsTerminal;
use std::time::Instant;

use crate::catalogue::{self, Checkpoint};
use crate::checkpoints::failed::Failed;

/// What one checkpoint came to.
pub enum Verdict {
    Passed,
    Failed(anyhow::Error),
    NotRun,
}

/// The first failure's report: which checkpoint, and the browser's and the
/// server's last lines at the time.
pub struct FirstFailure {
    pub index: usize,
    pub logs: Vec<String>,
}

/// Prints the report of one check of `stage` in `browser`.
pub struct Report<'a> {
    pub stage: &'a str,
    pub browser: &'a str,
    /// Colours, on a terminal only.
    color: bool,
}

impl<'a> Report<'a> {
    pub fn new(stage: &'a str, browser: &'a str) -> Self {
        Report {
            stage,
            browser,
            color: std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `Checking starter in Chromium 140 (17 checkpoints; 2 not in chromium)`.
    pub fn heading(&self, version: &str, checked: usize, elsewhere: usize) {
        println!(
            "Checking {} in {version} ({checked} checkpoints{})\n",
            self.stage,
            if elsewhere > 0 {
                format!("; {elsewhere} not in {}", self.browser)
            } else {
                String::new()
            }
        );
    }

    /// A checkpoint of other browsers: said, not skipped silently — which
    /// browsers prove it, and what stands in for it here.
    pub fn elsewhere(&self, checkpoint: &Checkpoint) {
        let only = checkpoint
            .browsers
            .as_deref()
            .unwrap_or_default()
            .join(", ");
        println!(
            "  {} {:<18} {} (only in {only}, not checked in {}{})",
            self.paint("2", "-"),
            checkpoint.id,
            checkpoint.title,
            self.browser,
            checkpoint
                .elsewhere
                .as_deref()
                .map(|why| format!(": {why}"))
                .unwrap_or_default()
        );
    }

    /// A checkpoint not run after the first failure.
    pub fn not_run(&self, checkpoint: &Checkpoint) {
        println!(
            "  {} {:<18} {} (not run)",
            self.paint("2", "-"),
            checkpoint.id,
            checkpoint.title
        );
    }

    /// A checkpoint's line once it ran for `ms` milliseconds; with
    /// `verbose`, a failure's whole error under it.
    pub fn ran(
        &self,
        checkpoint: &Checkpoint,
        result: &anyhow::Result<()>,
        ms: u128,
        verbose: bool,
    ) {
        let mark = match result {
            Ok(()) => self.paint("32", "✓"),
            Err(_) => self.paint("31", "✗"),
        };
        println!(
            "  {mark} {:<18} {} {}",
            checkpoint.id,
            checkpoint.title,
            self.paint("2", &format!("({ms} ms)"))
        );
        if let (Err(error), true) = (result, verbose) {
            println!("      {error:#}");
        }
    }

    /// The first failure, under its title: what was expected and what was
    /// seen (with `hint`, the hint and the book section), then the recent
    /// output of the browser and the server.
    pub fn first_failure(
        &self,
        checkpoint: &Checkpoint,
        error: &anyhow::Error,
        logs: &[String],
        hint: bool,
    ) {
        println!(
            "\n{} {}: {}\n",
            self.paint("31", "✗"),
            checkpoint.id,
            checkpoint.title
        );
        for line in failure_details(checkpoint, error, self.stage, hint) {
            println!("{line}");
        }
        if !logs.is_empty() {
            println!("\n  recent output (browser console, server log):");
            for line in logs {
                println!("    {}", line.chars().take(200).collect::<String>());
            }
        }
    }

    /// The totals; whether every checkpoint that ran passed.
    pub fn totals(
        &self,
        verdicts: &[(Checkpoint, Verdict)],
        elsewhere: usize,
        started: Instant,
    ) -> bool {
        let count = |pick: fn(&Verdict) -> bool| verdicts.iter().filter(|(_, v)| pick(v)).count();
        let passed = count(|v| matches!(v, Verdict::Passed));
        let failed = count(|v| matches!(v, Verdict::Failed(_)));
        let not_run = count(|v| matches!(v, Verdict::NotRun));
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
                "{passed} passed, {} failed; {elsewhere} not checked in {} (see above)",
                failed + not_run,
                self.browser
            );
        } else {
            println!("{passed} passed, {} failed", failed + not_run);
        }
        failed + not_run == 0
    }

    /// With `--expect-starter`: whether the stage is as a student finds it
    /// before the lesson — it must neither drift into solved nor into
    /// broken — said either way.
    pub fn as_before_the_lesson(&self, verdicts: &[(Checkpoint, Verdict)]) -> bool {
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
        wrong.is_empty()
    }
}

/// What a failed checkpoint expected and what was seen: the app's
/// [`Failed`], or, when the check itself could not finish (the harness's
/// or the machine's trouble), that, and the error. The results file gives
/// it to `cargo xtask check`, which keeps it for the room.
pub fn expected_and_seen(checkpoint: &Checkpoint, error: &anyhow::Error) -> catalogue::Failure {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

    fn page_worker() -> Checkpoint {
        catalogue::load(
            &lesson::workspace::workspace_root()
                .unwrap()
                .join(catalogue::DEFAULT),
        )
        .unwrap()
        .into_iter()
        .find_map(|(_, c)| (c.id == "page-worker").then_some(c))
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
