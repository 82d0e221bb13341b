//! The checkpoint file (`lessons/<lesson>/checkpoints.toml`): the single
//! source of each checkpoint's title, goal and hint.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

pub const DEFAULT: &str = "lessons/background-sync/checkpoints.toml";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub id: String,
    pub title: String,
    /// 0 = works before the lesson; 1..4 = the lesson goal it proves.
    pub goal: u8,
    pub pre_lesson: bool,
    pub hint: String,
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
}

/// A checkpoint as one browser checks it, where its way differs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub title: String,
    /// The hint, when it differs from the checkpoint's.
    #[serde(default)]
    pub hint: Option<String>,
}

impl Checkpoint {
    /// Whether it runs in `browser` ("chromium", "firefox").
    pub fn applies_to(&self, browser: &str) -> bool {
        self.browsers
            .as_ref()
            .is_none_or(|b| b.iter().any(|b| b == browser))
    }

    /// The checkpoint as `browser` checks it: its variant's title and hint
    /// where it has one.
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_lesson_file_matches_the_harness() {
        let path = super::super::workspace().join(super::DEFAULT);
        let list = super::load(&path).unwrap();
        let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, crate::checkpoints::IDS);
        assert!(list.iter().all(|c| c.book.starts_with("background-sync/")));
        let sync = list.iter().find(|c| c.id == "sync").unwrap().clone();
        assert_ne!(sync.clone().in_browser("firefox").title, sync.title);
        assert_eq!(sync.clone().in_browser("chromium").title, sync.title);
    }
}
