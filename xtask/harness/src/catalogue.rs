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
    }
}
