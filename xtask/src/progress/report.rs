//! The harness's report: the checkpoints of
//! `lessons/background-sync/checkpoints.toml` as one browser checks them
//! (`harness list --json`), or with what each came to (`harness check
//! --results FILE`).

use std::fs;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::command::{cargo, show};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::tests::report;
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
}
