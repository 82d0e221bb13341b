//! The lesson's checkpoints as the harness runs them: read from the
//! checkpoint file by the `lesson` crate (the one parser of it), each bound
//! to its check by [`Id`], and told to xtask as JSON.

use std::path::Path;

use anyhow::{Context, Result, bail};
pub use lesson::checkpoints::Checkpoint;
use serde::Serialize;

use crate::checkpoints::Id;

pub const DEFAULT: &str = lesson::workspace::CHECKPOINTS;

/// One checkpoint as the harness tells the xtask about it (`list --json`,
/// and each line of `check --results`): as the browser checks it, with the
/// stage's directory in its hint, and with what it came to when it ran.
#[derive(Debug, Serialize)]
pub struct Reported {
    pub id: String,
    pub title: String,
    pub pre_lesson: bool,
    pub hint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint_more: Option<String>,
    pub book: String,
    pub reveal: Vec<String>,
    /// Whether it runs in this browser at all.
    pub applies: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<String>,
    /// `pass`, `fail`, `not-run` or `not-applicable`; absent from a listing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<&'static str>,
}

/// What `list --json` prints and `check --results FILE` writes.
#[derive(Debug, Serialize)]
pub struct Report {
    pub stage: String,
    pub browser: String,
    pub checkpoints: Vec<Reported>,
    /// The first failure, as the report printed it (`check --results`
    /// only; the room shows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// The first failing checkpoint's lines: what was expected and what was
/// seen, exactly as printed under its title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    pub id: String,
    pub expected: String,
    pub seen: String,
}

/// `checkpoint` as reported for `stage` in `browser` (the checkpoint already
/// [`in_browser`](Checkpoint::in_browser)), with what it came to.
pub fn reported(
    checkpoint: &Checkpoint,
    stage: &str,
    browser: &str,
    result: Option<&'static str>,
) -> Reported {
    Reported {
        id: checkpoint.id.clone(),
        title: checkpoint.title.clone(),
        pre_lesson: checkpoint.pre_lesson,
        hint: checkpoint.hint.replace("{stage}", stage),
        hint_more: checkpoint
            .hint_more
            .as_ref()
            .map(|h| h.replace("{stage}", stage)),
        book: checkpoint.book.clone(),
        reveal: checkpoint.reveal.clone(),
        applies: checkpoint.applies_to(browser),
        elsewhere: checkpoint.elsewhere.clone(),
        result,
    }
}

/// Prints the checkpoints of `file`: one line each, or with `json` (the
/// browser and the stage whose titles, hints and applicability), the
/// [`Report`] `cargo xtask hint` and `reveal` read.
pub fn list(file: &Path, json: Option<(&str, &str)>) -> Result<()> {
    if let Some((browser, stage)) = json {
        let report = Report {
            stage: stage.to_owned(),
            browser: browser.to_owned(),
            checkpoints: load(file)?
                .into_iter()
                .map(|(_, c)| reported(&c.in_browser(browser), stage, browser, None))
                .collect(),
            failure: None,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for (_, c) in load(file)? {
        let kind = if c.pre_lesson {
            "pre-lesson".to_owned()
        } else {
            format!("goal {}", c.goal)
        };
        println!("{:<18} {:<11} {}", c.id, kind, c.title);
    }
    Ok(())
}

/// The checkpoints of the file at `path`, each with its check: the file's
/// own rules, and the harness's — every id has a check, every check is
/// listed once.
pub fn load(path: &Path) -> Result<Vec<(Id, Checkpoint)>> {
    let list = lesson::checkpoints::load(path)?;
    with_checks(list).with_context(|| format!("in {}", path.display()))
}

fn with_checks(list: Vec<Checkpoint>) -> Result<Vec<(Id, Checkpoint)>> {
    if let Some(c) = list.iter().find(|c| !c.pre_lesson && c.hint_more.is_none()) {
        bail!(
            "checkpoint {:?}: a lesson checkpoint needs `hint_more`, the solution's steps in words (`cargo xtask hint --more`)",
            c.id
        );
    }
    for id in Id::ALL {
        if list.iter().filter(|c| c.id == id.as_str()).count() != 1 {
            bail!("the harness's check {id:?} must appear exactly once in the checkpoint file");
        }
    }
    list.into_iter()
        .map(|c| match Id::parse(&c.id) {
            Some(id) => Ok((id, c)),
            None => {
                let known: Vec<&str> = Id::ALL.iter().map(|id| id.as_str()).collect();
                bail!(
                    "checkpoint {:?} has no check in the harness (known: {})",
                    c.id,
                    known.join(", ")
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lesson_file_matches_the_harness() {
        let path = lesson::workspace::workspace_root().unwrap().join(DEFAULT);
        let list = load(&path).unwrap();
        let ids: Vec<Id> = list.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, Id::ALL);
        assert!(
            list.iter()
                .all(|(_, c)| c.pre_lesson || c.hint_more.is_some())
        );
        let (_, sync) = list.iter().find(|(id, _)| *id == Id::Sync).unwrap().clone();
        assert_ne!(sync.clone().in_browser("firefox").title, sync.title);
        assert_eq!(sync.clone().in_browser("chromium").title, sync.title);
    }

    #[test]
    fn a_checkpoint_without_a_check_or_a_check_without_a_checkpoint_is_named() {
        let path = lesson::workspace::workspace_root().unwrap().join(DEFAULT);
        let mut list = lesson::checkpoints::load(&path).unwrap();
        let mut extra = list[0].clone();
        extra.id = "teleport".into();
        list.push(extra);
        let error = with_checks(list.clone()).unwrap_err().to_string();
        assert!(error.contains("\"teleport\" has no check"), "{error}");
        list.retain(|c| c.id != "sync" && c.id != "teleport");
        let error = with_checks(list).unwrap_err().to_string();
        assert!(error.contains("Sync"), "{error}");
    }

    #[test]
    fn the_level_two_hint_is_read_and_a_variant_may_replace_it() {
        let file = r#"
            [[checkpoint]]
            id = "sync"
            title = "T"
            goal = 2
            pre_lesson = false
            hint = "look at {stage}/src/worker.rs"
            hint_more = "first {stage}/src/worker.rs, then the page"
            book = "background-sync/sync.html"
            [checkpoint.firefox]
            title = "T in Firefox"
            hint_more = "in Firefox: {stage}/src/page.rs"
            "#;
        let checkpoint = lesson::checkpoints::parse(file, Path::new("checkpoints.toml"))
            .unwrap()
            .remove(0);
        let chromium = checkpoint.clone().in_browser("chromium");
        let reported_there = reported(&chromium, "starter", "chromium", None);
        assert_eq!(
            reported_there.hint_more.as_deref(),
            Some("first starter/src/worker.rs, then the page")
        );
        let firefox = checkpoint.in_browser("firefox");
        assert_eq!(firefox.hint, "look at {stage}/src/worker.rs");
        let reported_there = reported(&firefox, "starter", "firefox", None);
        assert_eq!(
            reported_there.hint_more.as_deref(),
            Some("in Firefox: starter/src/page.rs")
        );
        let json = serde_json::to_value(&reported_there).unwrap();
        assert_eq!(json["hint_more"], "in Firefox: starter/src/page.rs");
    }

    #[test]
    fn a_report_names_the_stage_in_its_hint() {
        let path = lesson::workspace::workspace_root().unwrap().join(DEFAULT);
        let list = load(&path).unwrap();
        let (_, app_loads) = list.iter().find(|(id, _)| *id == Id::AppLoads).unwrap();
        assert!(app_loads.hint.contains("{stage}/"));
        let reported = reported(app_loads, "starter", "chromium", Some("pass"));
        assert!(reported.hint.contains("starter/"), "{}", reported.hint);
        assert!(!reported.hint.contains("{stage}"), "{}", reported.hint);
        let json = serde_json::to_value(&reported).unwrap();
        assert_eq!(json["result"], "pass");
        assert!(json.get("elsewhere").is_none());
    }
}
