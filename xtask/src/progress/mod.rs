//! The student's progress: what the harness says about each checkpoint, and
//! what `check`, `hint` and the room remember of it between runs.
//!
//! Two kinds of JSON meet here:
//!
//! - the harness's report ([`Report`]): `harness list --json` (the
//!   checkpoints, from `lessons/background-sync/checkpoints.toml`, as one
//!   browser checks them) and `harness check --results FILE` (the same, with
//!   what each came to). The harness is the one parser of the checkpoint
//!   file, so the xtask needs no TOML parser on its way to `serve`.
//! - `target/xtask/progress.json` ([`Progress`]), which this module writes
//!   and the `room` crate's `send` reads: one object, keyed by
//!   `"<stage>/<browser>"`, each value the last run in that stage and
//!   browser:
//!
//!   ```json
//!   {"starter/chromium": {"stage": "starter", "browser": "chromium",
//!     "build_id": "…", "checked_at": 1796285000,
//!     "checkpoints": [{"id": "app-loads", "result": "pass"}, …],
//!     "hints_seen": ["page-worker"], "hint_levels": {"page-worker": 2},
//!     "failure": {"id": "page-worker", "expected": "…", "seen": "…"}}}
//!   ```
//!
//!   `result` is `pass`, `fail`, `not-run` (after the first failure, without
//!   `--keep-going`) or `not-applicable` (not in this browser).
//!   `hint_levels` is the most help each checkpoint's student has had: 1
//!   its hint (`check`, `hint`), 2 the solution's steps (`hint --more`), 3
//!   its code (`reveal`). A hint shown before any check leaves an entry
//!   with `checked_at` 0, `build_id` "" and no checkpoints. `failure` is the
//!   first failing checkpoint's lines as the harness printed them (absent
//!   when everything passed): what the room shows beside the student's name.
//!
//! Here, where the workshop tools keep what they remember and what `check`
//! remembers of a run ([`record`]); in `report.rs`, the harness's report
//! and how it is asked for; in `hint_lines.rs`, the lines `check` and
//! `hint` print about a checkpoint; in `runs.rs`, the progress file and its
//! runs; in `summary.rs`, what `check` prints after the harness's report.

mod hint_lines;
mod report;
mod runs;
mod summary;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::workspace::target_dir;

pub use report::{Entry, Report, Verdict, catalogue, read_results};
use runs::Outcome;
pub use runs::Progress;
pub use summary::summarize;

/// `target/xtask/`: what the workshop tools keep between runs.
pub fn xtask_dir() -> PathBuf {
    target_dir().join("xtask")
}

/// `target/xtask/progress.json` (the `room` crate reads it there).
pub fn progress_file() -> PathBuf {
    xtask_dir().join("progress.json")
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Remembers this run in `progress` (the hints seen so far stay), with the
/// hint of the next checkpoint as seen when `check` prints it.
pub fn record(progress: &mut Progress, report: &Report, build_id: &str, at: u64) {
    let next = summarize(report, None, at).next.map(|c| c.id.clone());
    let run = progress.entry(&report.stage, &report.browser);
    run.build_id = build_id.to_owned();
    run.checked_at = at;
    run.failure = report.failure.clone();
    run.checkpoints = report
        .checkpoints
        .iter()
        .map(|c| Outcome {
            id: c.id.clone(),
            result: c.result.unwrap_or(if c.applies {
                Verdict::NotRun
            } else {
                Verdict::NotApplicable
            }),
        })
        .collect();
    if let Some(id) = next {
        run.saw_hint(&id);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A report of these checkpoints: `(id, pre_lesson, applies, result)`.
    pub(crate) fn report(list: &[(&str, bool, bool, Option<Verdict>)]) -> Report {
        Report {
            stage: "starter".into(),
            browser: "chromium".into(),
            checkpoints: list
                .iter()
                .map(|&(id, pre_lesson, applies, result)| Entry {
                    id: id.into(),
                    title: format!("the {id} title"),
                    pre_lesson,
                    hint: format!("the {id} hint"),
                    hint_more: (!pre_lesson).then(|| format!("the {id} steps")),
                    book: format!("background-sync/{id}.html#there"),
                    reveal: if pre_lesson {
                        vec![]
                    } else {
                        vec![format!("src/worker.rs:{id}")]
                    },
                    applies,
                    elsewhere: (!applies).then(|| "not here".into()),
                    result,
                })
                .collect(),
            failure: None,
        }
    }

    use Verdict::*;

    #[test]
    fn a_run_is_remembered_with_the_hints_seen() {
        let mut progress = Progress::default();
        progress.entry("starter", "chromium").saw_hint("z");
        let now = report(&[
            ("a", true, true, Some(Pass)),
            ("x", false, false, Some(NotApplicable)),
            ("c", false, true, Some(Fail)),
        ]);
        record(&mut progress, &now, "abc", 1234);
        record(&mut progress, &now, "abc", 1235);
        let run = progress.get("starter", "chromium").unwrap();
        assert_eq!(run.build_id, "abc");
        assert_eq!(run.checked_at, 1235);
        assert_eq!(run.hints_seen, ["z", "c"]);
        assert_eq!(run.next(&now).map(|c| c.id.as_str()), Some("c"));

        // The shape the room reads.
        let json = serde_json::to_value(&progress).unwrap();
        let run = &json["starter/chromium"];
        assert_eq!(run["stage"], "starter");
        assert_eq!(run["browser"], "chromium");
        assert_eq!(run["build_id"], "abc");
        assert_eq!(run["checked_at"], 1235);
        assert_eq!(run["checkpoints"][0]["id"], "a");
        assert_eq!(run["checkpoints"][0]["result"], "pass");
        assert_eq!(run["checkpoints"][1]["result"], "not-applicable");
        assert_eq!(run["hints_seen"][1], "c");
        assert_eq!(run["hint_levels"]["c"], 1);
        assert!(run.get("failure").is_none(), "{run}");
    }

    #[test]
    fn the_first_failure_is_remembered_as_the_harness_printed_it() {
        let json = r#"{"stage":"starter","browser":"chromium","checkpoints":[
            {"id":"a","title":"T","pre_lesson":true,"hint":"H","book":"b.md","applies":true,"result":"fail"}],
            "failure": {"id": "a", "expected": "the page", "seen": "a 404"}}"#;
        let failing: Report = serde_json::from_str(json).unwrap();
        let mut progress = Progress::default();
        record(&mut progress, &failing, "b", 1);
        let json = serde_json::to_value(&progress).unwrap();
        assert_eq!(
            json["starter/chromium"]["failure"],
            serde_json::json!({"id": "a", "expected": "the page", "seen": "a 404"})
        );
        // A run where everything passes forgets the earlier failure.
        let passing = report(&[("a", true, true, Some(Pass))]);
        record(&mut progress, &passing, "b", 2);
        assert_eq!(progress.get("starter", "chromium").unwrap().failure, None);
    }
}
