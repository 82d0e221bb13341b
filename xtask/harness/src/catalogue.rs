//! The checkpoint file (`lessons/<lesson>/checkpoints.toml`): the single
//! source of each checkpoint's title, goal and hint.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

pub const DEFAULT: &str = "lessons/background-sync/checkpoints.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub id: String,
    pub title: String,
    /// 0 = works before the lesson; 1..4 = the lesson goal it proves.
    pub goal: u8,
    pub pre_lesson: bool,
    /// Level 1: the approach in words, the rule behind it and the helpers
    /// to use (what `check` and `hint` print).
    pub hint: String,
    /// Level 2: the shape of the solution, its steps in order, still no
    /// code (`hint --more`); level 3 is `reveal`.
    #[serde(default)]
    pub hint_more: Option<String>,
    pub book: String,
    /// The browsers it applies to; all when absent.
    #[serde(default)]
    pub browsers: Option<Vec<String>>,
    /// With `browsers`: why it does not run in the others, and what stands
    /// in for it there (the report says so instead of skipping silently).
    #[serde(default)]
    pub elsewhere: Option<String>,
    /// Where Firefox's way differs: what its variant checks.
    #[serde(default)]
    pub firefox: Option<Variant>,
    /// The solution's code that makes it pass, as `file:anchor` (the file
    /// relative to the stage crate, the anchor as the book's `// ANCHOR:`
    /// markers name it): what `cargo xtask reveal` prints and the trail's
    /// steps apply one checkpoint at a time. Empty for pre-lesson ones.
    #[serde(default)]
    pub reveal: Vec<String>,
}

/// A checkpoint as one browser checks it, where its way differs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub title: String,
    /// The hint, when it differs from the checkpoint's.
    #[serde(default)]
    pub hint: Option<String>,
    /// The level-2 hint, when it differs from the checkpoint's.
    #[serde(default)]
    pub hint_more: Option<String>,
}

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

impl Checkpoint {
    /// The checkpoint as reported for `stage` in `browser` (`self` already
    /// [`in_browser`](Self::in_browser)).
    pub fn reported(&self, stage: &str, browser: &str, result: Option<&'static str>) -> Reported {
        Reported {
            id: self.id.clone(),
            title: self.title.clone(),
            pre_lesson: self.pre_lesson,
            hint: self.hint.replace("{stage}", stage),
            hint_more: self.hint_more.as_ref().map(|h| h.replace("{stage}", stage)),
            book: self.book.clone(),
            reveal: self.reveal.clone(),
            applies: self.applies_to(browser),
            elsewhere: self.elsewhere.clone(),
            result,
        }
    }

    /// Whether it runs in `browser` ("chromium", "firefox").
    pub fn applies_to(&self, browser: &str) -> bool {
        self.browsers
            .as_ref()
            .is_none_or(|b| b.iter().any(|b| b == browser))
    }

    /// The checkpoint as `browser` checks it: its variant's title and hints
    /// where it has them.
    pub fn in_browser(mut self, browser: &str) -> Checkpoint {
        let variant = match browser {
            "firefox" => self.firefox.take(),
            _ => None,
        };
        if let Some(variant) = variant {
            self.title = variant.title;
            if let Some(hint) = variant.hint {
                self.hint = hint;
            }
            if let Some(more) = variant.hint_more {
                self.hint_more = Some(more);
            }
        }
        self
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    checkpoint: Vec<Checkpoint>,
}

pub fn load(path: &Path) -> Result<Vec<Checkpoint>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("in {}", path.display()))
}

/// Parses the file and checks it against the harness: every id has a check,
/// every check has an entry.
pub fn parse(text: &str) -> Result<Vec<Checkpoint>> {
    let file: File = toml::from_str(text)?;
    for c in &file.checkpoint {
        if !crate::checkpoints::IDS.contains(&c.id.as_str()) {
            bail!(
                "checkpoint {:?} has no check in the harness (known: {})",
                c.id,
                crate::checkpoints::IDS.join(", ")
            );
        }
        if c.elsewhere.is_some() && c.browsers.is_none() {
            bail!(
                "checkpoint {:?}: `elsewhere` says why it does not run in some browsers, so it needs `browsers`",
                c.id
            );
        }
        if !c.pre_lesson && c.hint_more.is_none() {
            bail!(
                "checkpoint {:?}: a lesson checkpoint needs `hint_more`, the solution's steps in words (`cargo xtask hint --more`)",
                c.id
            );
        }
        if c.pre_lesson && !c.reveal.is_empty() {
            bail!(
                "checkpoint {:?} passes before the lesson, so it has no solution code to `reveal`",
                c.id
            );
        }
        if let Some(bad) = c.reveal.iter().find(|r| !is_file_and_anchor(r)) {
            bail!(
                "checkpoint {:?}: `reveal` entry {bad:?} should be `path/in/the/stage.rs:anchor_name`",
                c.id
            );
        }
        if c.goal > 4 || (c.goal == 0) != c.pre_lesson {
            bail!(
                "checkpoint {:?}: goal 0 is exactly the pre-lesson checkpoints (goal {}, pre_lesson {})",
                c.id,
                c.goal,
                c.pre_lesson
            );
        }
    }
    for id in crate::checkpoints::IDS {
        if file.checkpoint.iter().filter(|c| c.id == *id).count() != 1 {
            bail!("the harness's check {id:?} must appear exactly once in the checkpoint file");
        }
    }
    Ok(file.checkpoint)
}

/// `src/worker.rs:on_sync`: a relative path, a colon, an anchor name as
/// mdBook reads one (letters, digits, `_` and `-`).
fn is_file_and_anchor(entry: &str) -> bool {
    entry.split_once(':').is_some_and(|(file, anchor)| {
        !file.is_empty()
            && !file.starts_with('/')
            && !file.contains("..")
            && !anchor.is_empty()
            && anchor
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_lesson_file_matches_the_harness() {
        let path = super::super::workspace().join(super::DEFAULT);
        let list = super::load(&path).unwrap();
        let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, crate::checkpoints::IDS);
        assert!(list.iter().all(|c| c.book.starts_with("background-sync/")));
        assert!(list.iter().all(|c| c.pre_lesson || c.hint_more.is_some()));
        let sync = list.iter().find(|c| c.id == "sync").unwrap().clone();
        assert_ne!(sync.clone().in_browser("firefox").title, sync.title);
        assert_eq!(sync.clone().in_browser("chromium").title, sync.title);
    }

    #[test]
    fn reveal_entries_name_a_file_and_an_anchor() {
        for good in ["src/worker.rs:on_sync", "src/page.rs:ask-worker2"] {
            assert!(super::is_file_and_anchor(good), "{good}");
        }
        for bad in [
            "src/worker.rs",
            "src/worker.rs:",
            ":on_sync",
            "/etc/passwd:x",
            "../solution/src/worker.rs:on_sync",
            "src/worker.rs:on sync",
        ] {
            assert!(!super::is_file_and_anchor(bad), "{bad}");
        }
    }

    #[test]
    fn the_level_two_hint_is_read_and_a_variant_may_replace_it() {
        let checkpoint: super::Checkpoint = toml::from_str(
            r#"
            id = "sync"
            title = "T"
            goal = 2
            pre_lesson = false
            hint = "look at {stage}/src/worker.rs"
            hint_more = "first {stage}/src/worker.rs, then the page"
            book = "background-sync/sync.html"
            [firefox]
            title = "T in Firefox"
            hint_more = "in Firefox: {stage}/src/page.rs"
            "#,
        )
        .unwrap();
        let chromium = checkpoint.clone().in_browser("chromium");
        let reported = chromium.reported("starter", "chromium", None);
        assert_eq!(
            reported.hint_more.as_deref(),
            Some("first starter/src/worker.rs, then the page")
        );
        let firefox = checkpoint.in_browser("firefox");
        assert_eq!(firefox.hint, "look at {stage}/src/worker.rs");
        let reported = firefox.reported("starter", "firefox", None);
        assert_eq!(
            reported.hint_more.as_deref(),
            Some("in Firefox: starter/src/page.rs")
        );
        let json = serde_json::to_value(&reported).unwrap();
        assert_eq!(json["hint_more"], "in Firefox: starter/src/page.rs");
    }

    #[test]
    fn a_report_names_the_stage_in_its_hint() {
        let path = super::super::workspace().join(super::DEFAULT);
        let list = super::load(&path).unwrap();
        let app_loads = list.iter().find(|c| c.id == "app-loads").unwrap();
        assert!(app_loads.hint.contains("{stage}/"));
        let reported = app_loads.reported("starter", "chromium", Some("pass"));
        assert!(reported.hint.contains("starter/"), "{}", reported.hint);
        assert!(!reported.hint.contains("{stage}"), "{}", reported.hint);
        let json = serde_json::to_value(&reported).unwrap();
        assert_eq!(json["result"], "pass");
        assert!(json.get("elsewhere").is_none());
    }
}
