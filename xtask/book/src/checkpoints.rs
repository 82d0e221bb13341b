//! The lesson's checkpoints, read from the file `cargo xtask check` runs, so
//! that the book's table can never disagree with the checks.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// One `[[checkpoint]]`. Fields the book does not show are ignored, so the
/// file can grow without breaking the book.
#[derive(Debug, Clone, Deserialize)]
pub struct Checkpoint {
    pub id: String,
    pub title: String,
    /// 0: works before the lesson; 1..=4: the lesson goal it proves.
    pub goal: u8,
    #[serde(default)]
    pub pre_lesson: bool,
    /// Level 1: the approach, the rule behind it, the helpers by name.
    pub hint: String,
    /// Level 2: the steps of the solution in order, still in words.
    #[serde(default)]
    pub hint_more: Option<String>,
    /// The section that explains it, relative to the book's `src/`.
    pub book: String,
    /// The browsers it runs in; `None` means all of them.
    #[serde(default)]
    pub browsers: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct File {
    checkpoint: Vec<Checkpoint>,
}

pub fn load(path: &Path) -> anyhow::Result<Vec<Checkpoint>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text).with_context(|| format!("{} is not a valid checkpoint file", path.display()))
}

pub fn parse(text: &str) -> anyhow::Result<Vec<Checkpoint>> {
    let file: File = toml::from_str(text)?;
    anyhow::ensure!(!file.checkpoint.is_empty(), "it has no [[checkpoint]]");
    Ok(file.checkpoint)
}
