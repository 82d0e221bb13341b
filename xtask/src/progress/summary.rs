//! What `check` prints after the harness's report: how many checkpoints
//! pass, what changed since the last run, and the next checkpoint with its
//! hint.

use super::report::{Entry, Report, Verdict};
use super::runs::Run;

/// What `check` prints after the harness's report: progress, what changed
/// since the last run, and the next checkpoint with its hint and book
/// section (the only place `check` prints them: the harness runs with
/// `--no-hint`).
#[derive(Debug)]
pub struct Summary<'a> {
    pub passed: usize,
    /// The checkpoints that run in this browser.
    pub total: usize,
    /// `None` on the first run: nothing to compare with.
    pub changes: Option<Changes>,
    pub next: Option<&'a Entry>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Seconds since the last run.
    pub ago: u64,
    pub newly_passing: Vec<String>,
    pub newly_failing: Vec<String>,
}

/// Compares this run with the last one. A checkpoint not run this time (it
/// came after the first failure) is neither: nobody knows.
pub fn summarize<'a>(now: &'a Report, before: Option<&Run>, at: u64) -> Summary<'a> {
    let applying = || now.checkpoints.iter().filter(|c| c.applies);
    let passed = applying()
        .filter(|c| c.result == Some(Verdict::Pass))
        .count();
    let changes = before.filter(|run| run.checked_at > 0).map(|run| {
        let mut changes = Changes {
            ago: at.saturating_sub(run.checked_at),
            ..Changes::default()
        };
        for c in applying() {
            let was = run.result(&c.id);
            match c.result {
                Some(Verdict::Pass) if was != Some(Verdict::Pass) => {
                    changes.newly_passing.push(c.id.clone());
                }
                Some(Verdict::Fail) if was == Some(Verdict::Pass) => {
                    changes.newly_failing.push(c.id.clone());
                }
                _ => {}
            }
        }
        changes
    });
    let next = applying().find(|c| matches!(c.result, Some(Verdict::Fail | Verdict::NotRun)));
    Summary {
        passed,
        total: applying().count(),
        changes,
        next,
    }
}

impl Summary<'_> {
    /// The lines, as printed.
    pub fn render(&self, stage: &str, browser: &str) -> String {
        let mut lines = vec![format!(
            "progress: {}/{} ✓ ({stage} in {browser})",
            self.passed, self.total
        )];
        match &self.changes {
            None => lines.push("first check here: nothing to compare with yet".to_owned()),
            Some(changes)
                if changes.newly_passing.is_empty() && changes.newly_failing.is_empty() =>
            {
                lines.push(format!(
                    "no change since the last check ({} ago)",
                    ago(changes.ago)
                ));
            }
            Some(changes) => {
                lines.push(format!("since the last check ({} ago):", ago(changes.ago)));
                for (what, ids) in [
                    ("newly passing", &changes.newly_passing),
                    ("newly failing", &changes.newly_failing),
                ] {
                    if !ids.is_empty() {
                        lines.push(format!("  {what}: {}", ids.join(", ")));
                    }
                }
            }
        }
        match self.next {
            Some(next) => lines.push(next.hint_lines("next: ")),
            None if self.passed == self.total => {
                lines.push("every checkpoint passes: the lesson is done".to_owned());
            }
            None => {}
        }
        lines.join("\n")
    }
}

/// `42 s`, `5 min`, `3 h`, `2 days`.
fn ago(seconds: u64) -> String {
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds / 60),
        3600..86400 => format!("{} h", seconds / 3600),
        _ => format!("{} days", seconds / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::tests::report;
    use crate::progress::{Progress, record};
    use Verdict::*;

    #[test]
    fn progress_counts_what_applies_and_names_the_next() {
        let now = report(&[
            ("a", true, true, Some(Pass)),
            ("x", true, false, Some(NotApplicable)),
            ("b", false, true, Some(Pass)),
            ("c", false, true, Some(Fail)),
            ("d", false, true, Some(NotRun)),
        ]);
        let summary = summarize(&now, None, 100);
        assert_eq!((summary.passed, summary.total), (2, 4));
        assert_eq!(summary.next.map(|c| c.id.as_str()), Some("c"));
        assert_eq!(summary.changes, None);
        let text = summary.render("starter", "chromium");
        assert!(text.starts_with("progress: 2/4 ✓"), "{text}");
        assert!(text.contains("next: c — the c title"), "{text}");
        assert!(text.contains("  hint: the c hint"), "{text}");
        // The rendered page, where `cargo xtask book --serve` shows it.
        assert!(
            text.contains("  read: http://127.0.0.1:3001/background-sync/c.html#there "),
            "{text}"
        );
        // The one place `check` prints the hint (the harness's report is
        // told `--no-hint`): once, and only the next checkpoint's.
        assert_eq!(text.matches("hint:").count(), 1, "{text}");
        assert_eq!(text.matches("read:").count(), 1, "{text}");
        assert!(!text.contains("the d hint"), "{text}");
        // Level 1 only: the steps are named as the next help, not given.
        assert!(!text.contains("the c steps"), "{text}");
        assert!(
            text.contains("  more: `cargo xtask hint --more c`"),
            "{text}"
        );
        assert!(text.contains("`cargo xtask reveal c`"), "{text}");
    }

    #[test]
    fn changes_are_counted_from_the_last_run() {
        let mut progress = Progress::default();
        let before = report(&[
            ("a", true, true, Some(Pass)),
            ("b", false, true, Some(Pass)),
            ("c", false, true, Some(Fail)),
            ("d", false, true, Some(NotRun)),
        ]);
        record(&mut progress, &before, "build-1", 1000);
        let now = report(&[
            ("a", true, true, Some(Pass)),
            ("b", false, true, Some(Fail)),
            ("c", false, true, Some(Pass)),
            ("d", false, true, Some(NotRun)),
            ("e", false, true, Some(Pass)),
        ]);
        let summary = summarize(&now, progress.get("starter", "chromium"), 1300);
        assert_eq!(
            summary.changes,
            Some(Changes {
                ago: 300,
                newly_passing: vec!["c".into(), "e".into()],
                newly_failing: vec!["b".into()],
            })
        );
        let text = summary.render("starter", "chromium");
        assert!(text.contains("since the last check (5 min ago):"), "{text}");
        assert!(text.contains("  newly passing: c, e"), "{text}");
        assert!(text.contains("  newly failing: b"), "{text}");

        let same = summarize(&before, progress.get("starter", "chromium"), 1042);
        assert!(
            same.render("starter", "chromium")
                .contains("no change since the last check (42 s ago)")
        );
    }

    #[test]
    fn a_finished_lesson_says_so() {
        let now = report(&[
            ("a", true, true, Some(Pass)),
            ("b", false, true, Some(Pass)),
        ]);
        let text = summarize(&now, None, 0).render("solution", "firefox");
        assert!(
            text.contains("progress: 2/2 ✓ (solution in firefox)"),
            "{text}"
        );
        assert!(text.contains("the lesson is done"), "{text}");
    }
}
