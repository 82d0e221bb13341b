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

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::{cargo, show, target_dir};

/// What one checkpoint came to in one run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    Fail,
    NotRun,
    NotApplicable,
}

/// One checkpoint as the harness reports it (see its `catalogue::Reported`).
#[derive(Clone, Debug, Deserialize)]
pub struct Entry {
    pub id: String,
    pub title: String,
    pub pre_lesson: bool,
    /// Level 1 (the approach in words), with the stage's directory in it
    /// already.
    pub hint: String,
    /// Level 2 (the solution's steps, still in words), the same way; none
    /// for a pre-lesson checkpoint.
    #[serde(default)]
    pub hint_more: Option<String>,
    /// The book's rendered page and section (`background-sync/outbox.html#…`).
    pub book: String,
    #[serde(default)]
    pub reveal: Vec<String>,
    /// Whether it runs in the report's browser.
    pub applies: bool,
    #[serde(default)]
    pub elsewhere: Option<String>,
    /// Absent from a listing.
    #[serde(default)]
    pub result: Option<Verdict>,
}

/// Where `cargo xtask book --serve` shows the book (the `book` crate's
/// default address).
pub const BOOK_ADDRESS: &str = "http://127.0.0.1:3001/";

impl Entry {
    /// Where the book shows its section: the rendered page, at the address
    /// `cargo xtask book --serve` serves it on.
    pub fn book_line(&self) -> String {
        format!(
            "{BOOK_ADDRESS}{} (the book's page, with `cargo xtask book --serve` running)",
            self.book
        )
    }

    /// The lines `check` and `hint` print about a checkpoint, the first
    /// after `label` (`next: `, or nothing when it was asked for by name):
    /// its title, the level-1 hint and the book's section, then where more
    /// help is.
    pub fn hint_lines(&self, label: &str) -> String {
        let mut lines = format!(
            "{label}{} — {}\n{}\n  read: {}",
            self.id,
            self.title,
            wrap("  hint: ", &self.hint),
            self.book_line()
        );
        if !self.pre_lesson {
            lines.push_str(&format!(
                "\n  more: `cargo xtask hint --more {id}` gives the solution's steps; `cargo xtask reveal {id}` its code",
                id = self.id
            ));
        }
        lines
    }

    /// The lines `hint --more` prints: the level-1 lines with the level-2
    /// hint under the first, and the last step, `reveal`.
    pub fn hint_more_lines(&self, label: &str) -> String {
        let more = match (&self.hint_more, self.pre_lesson) {
            (_, true) => "none: this checkpoint passes before the lesson, so there is no solution to shape (if it fails, something else broke it)".to_owned(),
            (None, false) => format!(
                "none written for `{}`; `cargo xtask reveal {}` shows the code",
                self.id, self.id
            ),
            (Some(more), false) => more.clone(),
        };
        let mut lines = format!(
            "{label}{} — {}\n{}\n{}\n  read: {}",
            self.id,
            self.title,
            wrap("  hint: ", &self.hint),
            wrap("  steps: ", &more),
            self.book_line()
        );
        if !self.pre_lesson {
            lines.push_str(&format!(
                "\n  last: `cargo xtask reveal {}` shows the solution's code for it (level 3)",
                self.id
            ));
        }
        lines
    }
}

/// `text` after `first`, in lines of at most [`WIDTH`] characters (a
/// longer word stands alone), the later lines indented like the first's
/// text: a hint is a paragraph, read in a terminal.
fn wrap(first: &str, text: &str) -> String {
    const WIDTH: usize = 88;
    let indent = " ".repeat(first.chars().count());
    let mut out = first.to_owned();
    let mut line = first.chars().count();
    let mut fresh = true;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if !fresh && line + 1 + len > WIDTH {
            out.push('\n');
            out.push_str(&indent);
            line = indent.len();
            fresh = true;
        }
        if !fresh {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += len;
        fresh = false;
    }
    out
}

/// The harness's report: the checkpoints in the file's order.
#[derive(Debug, Deserialize)]
pub struct Report {
    pub stage: String,
    pub browser: String,
    pub checkpoints: Vec<Entry>,
    /// The first failure (results only).
    #[serde(default)]
    pub failure: Option<Failure>,
}

/// The first failing checkpoint's lines, as the harness printed them under
/// its title: what was expected and what was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub id: String,
    pub expected: String,
    pub seen: String,
}

impl Report {
    /// The checkpoint `id`, or an error listing the ones there are.
    pub fn find(&self, id: &str) -> anyhow::Result<&Entry> {
        self.checkpoints
            .iter()
            .find(|c| c.id == id)
            .with_context(|| {
                let ids: Vec<&str> = self.checkpoints.iter().map(|c| c.id.as_str()).collect();
                format!(
                    "there is no checkpoint `{id}`; the checkpoints are: {}",
                    ids.join(", ")
                )
            })
    }

    /// The first lesson checkpoint that runs in this browser: where a
    /// student begins.
    pub fn first_lesson(&self) -> Option<&Entry> {
        self.checkpoints.iter().find(|c| !c.pre_lesson && c.applies)
    }
}

/// The checkpoints as the harness reads them, for `stage` in `browser`
/// (`cargo run -p harness -- list --json`).
pub fn catalogue(stage: &str, browser: &str) -> anyhow::Result<Report> {
    let mut command = cargo();
    command.args(["run", "-q", "-p", "harness", "--", "list", "--json"]);
    command.args(["--stage", stage, "--browser", browser]);
    let shown = show(&command);
    // The harness's build errors, if any, go straight to the user.
    command.stderr(std::process::Stdio::inherit());
    let output = command
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    anyhow::ensure!(
        output.status.success(),
        "`{shown}` failed ({}); its output is above",
        output.status
    );
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("cannot read the checkpoints `{shown}` printed"))
}

/// Reads the results the harness wrote with `check --results FILE`.
pub fn read_results(path: &Path) -> anyhow::Result<Report> {
    let text =
        fs::read(path).with_context(|| format!("cannot read the results {}", path.display()))?;
    serde_json::from_slice(&text)
        .with_context(|| format!("cannot read the results {}", path.display()))
}

/// `target/xtask/`: what the workshop tools keep between runs.
pub fn xtask_dir() -> PathBuf {
    target_dir().join("xtask")
}

/// `target/xtask/progress.json` (the `room` crate reads it there).
pub fn progress_file() -> PathBuf {
    xtask_dir().join("progress.json")
}

/// One checkpoint's result in a remembered run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub id: String,
    pub result: Verdict,
}

/// The last run in one stage and browser.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Run {
    pub stage: String,
    pub browser: String,
    /// The site's build id (`target/site/<stage>/build-id`); "" before the
    /// first check.
    pub build_id: String,
    /// Unix seconds; 0 before the first check.
    pub checked_at: u64,
    pub checkpoints: Vec<Outcome>,
    /// The checkpoints whose hint was shown, by `check` or `hint`, in the
    /// order first seen.
    pub hints_seen: Vec<String>,
    /// The highest level of help each checkpoint had: 1 its hint, 2 `hint
    /// --more`, 3 `reveal`. (Absent from files written before levels.)
    #[serde(default)]
    pub hint_levels: BTreeMap<String, u8>,
    /// The first failure of this run; `None` when everything passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

impl Run {
    /// Notes that the hint of `id` was shown (level 1).
    pub fn saw_hint(&mut self, id: &str) {
        self.saw_hint_at(id, 1);
    }

    /// Notes that help of `level` for `id` was shown (1 the hint, 2 its
    /// steps, 3 its code); the highest level reached stays.
    pub fn saw_hint_at(&mut self, id: &str, level: u8) {
        if !self.hints_seen.iter().any(|seen| seen == id) {
            self.hints_seen.push(id.to_owned());
        }
        let reached = self.hint_levels.entry(id.to_owned()).or_default();
        *reached = (*reached).max(level);
    }

    fn result(&self, id: &str) -> Option<Verdict> {
        self.checkpoints
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.result)
    }

    /// The first checkpoint of `catalogue` that runs in its browser and did
    /// not pass in this run.
    pub fn next<'a>(&self, catalogue: &'a Report) -> Option<&'a Entry> {
        catalogue
            .checkpoints
            .iter()
            .filter(|c| c.applies)
            .find(|c| matches!(self.result(&c.id), Some(Verdict::Fail | Verdict::NotRun)))
    }
}

/// `target/xtask/progress.json`: the last run per stage and browser.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Progress {
    runs: BTreeMap<String, Run>,
}

impl Progress {
    /// Reads the file; a missing one is no progress yet, and a damaged one
    /// (hand-edited, half-written by a crash) is said and started afresh:
    /// it must never stop a check.
    pub fn load(path: &Path) -> Progress {
        let text = match fs::read(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Progress::default();
            }
            Err(error) => {
                eprintln!(
                    "warning: cannot read {} ({error}); starting afresh",
                    path.display()
                );
                return Progress::default();
            }
        };
        serde_json::from_slice(&text).unwrap_or_else(|error| {
            eprintln!(
                "warning: {} is not what `cargo xtask check` writes ({error}); starting afresh",
                path.display()
            );
            Progress::default()
        })
    }

    /// Writes the file: to a temporary file first, renamed into place, so
    /// that the room's `send` never reads half of it.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self).context("cannot write progress as JSON")?;
        let temporary = path.with_extension(format!("json.{}.tmp", std::process::id()));
        fs::write(&temporary, text)
            .and_then(|()| fs::rename(&temporary, path))
            .with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn get(&self, stage: &str, browser: &str) -> Option<&Run> {
        self.runs.get(&key(stage, browser))
    }

    /// The runs of `stage`, in every browser.
    pub fn runs_of(&mut self, stage: &str) -> impl Iterator<Item = &mut Run> {
        self.runs.values_mut().filter(move |run| run.stage == stage)
    }

    /// The run of `stage` in `browser`, made empty if there is none yet.
    pub fn entry(&mut self, stage: &str, browser: &str) -> &mut Run {
        self.runs.entry(key(stage, browser)).or_insert_with(|| Run {
            stage: stage.to_owned(),
            browser: browser.to_owned(),
            ..Run::default()
        })
    }
}

fn key(stage: &str, browser: &str) -> String {
    format!("{stage}/{browser}")
}

/// Now, in Unix seconds.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

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
    fn the_harness_report_is_read() {
        let json = r#"{"stage":"starter","browser":"chromium","checkpoints":[
            {"id":"app-loads","title":"T","pre_lesson":true,"hint":"H","book":"b.md#x","reveal":[],"applies":true,"result":"pass"},
            {"id":"push-subscribe","title":"T","pre_lesson":false,"hint":"H","book":"b.md","reveal":["src/page.rs:on_push_toggle"],"applies":false,"elsewhere":"why","result":"not-applicable"},
            {"id":"sync","title":"T","pre_lesson":false,"hint":"H","book":"b.md","reveal":[],"applies":true}
        ]}"#;
        let report: Report = serde_json::from_str(json).unwrap();
        assert_eq!(report.checkpoints[0].result, Some(Pass));
        assert_eq!(report.checkpoints[1].result, Some(NotApplicable));
        assert_eq!(report.checkpoints[2].result, None);
        assert_eq!(report.checkpoints[0].hint_more, None);
        assert!(
            report.checkpoints[0]
                .book_line()
                .starts_with("http://127.0.0.1:3001/b.md#x ")
        );
    }

    #[test]
    fn unknown_ids_are_an_error_that_lists_the_ids() {
        let report = report(&[("a", true, true, None), ("b", false, true, None)]);
        assert_eq!(report.find("b").unwrap().id, "b");
        let error = report.find("c").unwrap_err().to_string();
        assert!(error.contains("`c`") && error.contains("a, b"), "{error}");
    }

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
    fn a_long_hint_is_wrapped_under_its_label() {
        let text = "word ".repeat(40);
        let wrapped = wrap("  hint: ", &text);
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 1, "{wrapped}");
        assert!(lines[0].starts_with("  hint: word"), "{wrapped}");
        assert!(
            lines[1..].iter().all(|l| l.starts_with("        word")),
            "{wrapped}"
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 88), "{wrapped}");
        assert_eq!(
            wrapped.split_whitespace().filter(|w| *w == "word").count(),
            40
        );
    }

    #[test]
    fn the_highest_level_of_help_is_kept() {
        let mut progress = Progress::default();
        let run = progress.entry("starter", "chromium");
        run.saw_hint_at("sync", 2);
        run.saw_hint("sync");
        run.saw_hint_at("outbox", 3);
        run.saw_hint_at("outbox", 2);
        assert_eq!(run.hints_seen, ["sync", "outbox"]);
        assert_eq!(run.hint_levels["sync"], 2);
        assert_eq!(run.hint_levels["outbox"], 3);
        // A file written before levels reads as none reached.
        let old: Run = serde_json::from_str(
            r#"{"stage":"starter","browser":"chromium","build_id":"","checked_at":0,"checkpoints":[],"hints_seen":["a"]}"#,
        )
        .unwrap();
        assert!(old.hint_levels.is_empty());
    }

    #[test]
    fn the_second_level_shows_the_steps_and_names_the_third() {
        let catalogue = report(&[("app-loads", true, true, None), ("sync", false, true, None)]);
        let sync = catalogue.find("sync").unwrap().hint_more_lines("");
        assert!(sync.starts_with("sync — the sync title"), "{sync}");
        assert!(sync.contains("  hint: the sync hint"), "{sync}");
        assert!(sync.contains("  steps: the sync steps"), "{sync}");
        assert!(sync.contains("`cargo xtask reveal sync`"), "{sync}");
        let before = catalogue.find("app-loads").unwrap().hint_more_lines("");
        assert!(before.contains("passes before the lesson"), "{before}");
        assert!(!before.contains("reveal"), "{before}");
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

    #[test]
    fn the_file_is_written_and_read_back_and_a_damaged_one_is_replaced() {
        let dir = crate::build::tests::TempDir::new();
        let path = dir.0.join("xtask/progress.json");
        assert!(Progress::load(&path).get("starter", "chromium").is_none());
        let mut progress = Progress::default();
        progress.entry("starter", "firefox").saw_hint("sync");
        progress.save(&path).unwrap();
        let read = Progress::load(&path);
        assert_eq!(read.get("starter", "firefox").unwrap().hints_seen, ["sync"]);
        fs::write(&path, "{ half").unwrap();
        assert!(Progress::load(&path).get("starter", "firefox").is_none());
    }
}
