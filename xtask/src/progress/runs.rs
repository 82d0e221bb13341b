//! `target/xtask/progress.json`: the last run in each stage and browser,
//! with what each checkpoint came to and the help its student has had.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::report::{Entry, Failure, Report, Verdict};

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

    pub(super) fn result(&self, id: &str) -> Option<Verdict> {
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
#[cfg(test)]
mod tests {
    use super::*;

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
