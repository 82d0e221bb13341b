//! The simulated students who report to the room, and the lesson they
//! report on: its checkpoints and the plan's minutes for each.

use std::collections::BTreeMap;

use anyhow::{Context, Result, ensure};
use serde_json::{Value, json};

use crate::catalogue;

/// A simulated student: their machine, their name and their latest check.
#[derive(Clone)]
pub(super) struct Student {
    /// The machine's directory name (file-name-safe).
    pub(super) machine: &'static str,
    pub(super) name: String,
    pub(super) stage: &'static str,
    /// `(checkpoint id, result)`, in the order the check ran them.
    pub(super) results: Vec<(String, &'static str)>,
    /// `(checkpoint id, level)`: the hints asked for.
    pub(super) hints: Vec<(String, u8)>,
    /// What the first failure's report said: expected, seen.
    pub(super) failure: Option<(String, String)>,
}

/// The room's checkpoints, those that do not run in Chromium (as the
/// lesson's file says), which a Chromium check reports as not applicable,
/// and the lesson plan's minutes for each.
pub(super) struct Lesson {
    pub(super) ids: Vec<String>,
    pub(super) elsewhere: Vec<String>,
    pub(super) minutes: BTreeMap<String, u32>,
}

impl Lesson {
    pub(super) fn of(table: &Value) -> Result<Lesson> {
        let ids: Vec<String> = table["checkpoints"]
            .as_array()
            .context("the table has no checkpoints")?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        ensure!(
            ids.len() >= 3,
            "the room lists only {} checkpoints",
            ids.len()
        );
        let file = lesson::workspace::workspace_root()?.join(catalogue::DEFAULT);
        let elsewhere = catalogue::load(&file)?
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| !c.applies_to("chromium"))
            .map(|c| c.id)
            .collect();
        Ok(Lesson {
            ids,
            elsewhere,
            minutes: plan_minutes()?,
        })
    }
}

/// Each checkpoint's section minutes in `lessons/background-sync/lesson.toml`
/// (the room must show what the plan says).
pub(super) fn plan_minutes() -> Result<BTreeMap<String, u32>> {
    let path = lesson::workspace::workspace_root()?.join(lesson::workspace::LESSON_PLAN);
    let timing = lesson::plan::load(&path)?
        .with_context(|| format!("{} has no [timing]", path.display()))?;
    Ok(timing.minutes_by_checkpoint())
}

impl Student {
    /// Passes the first `passed` checkpoints that run in Chromium, fails the
    /// next, and the rest were not run (as a check that stops at the first
    /// failure); its hint is the failed one's, at level 1, and its failure
    /// says what the harness says for that checkpoint.
    pub(super) fn at(machine: &'static str, name: &str, lesson: &Lesson, passed: usize) -> Student {
        let mut passes = passed;
        let mut failed = None;
        let results = lesson
            .ids
            .iter()
            .map(|id| {
                let result = if lesson.elsewhere.contains(id) {
                    "not-applicable"
                } else if passes > 0 {
                    passes -= 1;
                    "pass"
                } else if failed.is_none() {
                    failed = Some(id.clone());
                    "fail"
                } else {
                    "not-run"
                };
                (id.clone(), result)
            })
            .collect();
        let failure = failed.as_deref().map(failure_lines);
        let hints = failed.into_iter().map(|id| (id, 1)).collect();
        Student {
            machine,
            name: name.to_owned(),
            stage: "starter",
            results,
            hints,
            failure,
        }
    }

    pub(super) fn failing(&self) -> Option<&str> {
        self.results
            .iter()
            .find(|(_, result)| *result == "fail")
            .map(|(id, _)| id.as_str())
    }

    pub(super) fn passed(&self) -> usize {
        self.results.iter().filter(|(_, r)| *r == "pass").count()
    }

    /// The progress file as `cargo xtask check` writes it (keyed by stage
    /// and browser): the hints seen, and the highest level of each.
    pub(super) fn progress(&self) -> Value {
        let checkpoints: Vec<Value> = self
            .results
            .iter()
            .map(|(id, result)| json!({"id": id, "result": result}))
            .collect();
        let seen: Vec<&str> = self.hints.iter().map(|(id, _)| id.as_str()).collect();
        let levels: serde_json::Map<String, Value> = self
            .hints
            .iter()
            .map(|(id, level)| (id.clone(), json!(level)))
            .collect();
        let mut run = json!({
            "stage": self.stage,
            "browser": "chromium",
            "build_id": "4f1c9e2a7b30",
            "checked_at": 1_796_285_000,
            "checkpoints": checkpoints,
            "hints_seen": seen,
            "hint_levels": levels,
        });
        if let (Some(id), Some((expected, seen))) = (self.failing(), &self.failure) {
            run["failure"] = json!({"id": id, "expected": expected, "seen": seen});
        }
        json!({ format!("{}/chromium", self.stage): run })
    }
}

/// Lines in the manner of the harness's own, for the checkpoints a
/// simulated student is stuck on.
pub(super) fn failure_lines(id: &str) -> (String, String) {
    let (expected, seen) = match id {
        "page-worker" => (
            "#form-status to show the worker's answer (\"Queued — N waiting\") after submitting the form",
            "\"Handing it to the service worker…\" for 10 s",
        ),
        "outbox" => (
            "the article in IndexedDB `offline-news` → `outbox` after the worker was stopped",
            "an empty outbox",
        ),
        "sync" => (
            "a pending sync (`registration.sync.getTags()` not empty) after articles were queued while the server was unreachable",
            "no tags: the worker did not register a sync",
        ),
        "sync-when-online" => (
            "\"Offline headline\" on the server after the network came back (the harness fired no sync)",
            "not there after 10 s; sync events the browser reported: none",
        ),
        "update-pages" => (
            "both open pages to list the synced article without a reload",
            "only the page that added it",
        ),
        "pending-visible" => (
            "\"Waiting headline\" in #latest-headlines of the tab that added it, at once and before any sync, marked in words as waiting to be sent",
            "after 5s, 0 item(s)",
        ),
        _ => ("the checkpoint to pass", "it failed"),
    };
    (expected.to_owned(), seen.to_owned())
}
