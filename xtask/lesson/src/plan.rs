//! The lesson plan: the `[timing]` of `lessons/background-sync/lesson.toml`,
//! the session's minutes section by section and the checkpoints each
//! section turns green. Read here once: the book renders the instructor
//! guide's timing table from it (and checks that it adds up), the room
//! marks a student stuck past their checkpoint's section, and the harness's
//! room test checks that the room shows the plan's minutes.
//!
//! `[timing]` is strict, like the checkpoint file: a field it does not know
//! is an error. The rest of `lesson.toml` (which files the lesson changes)
//! is other tools' business and is not read here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    timing: Option<Timing>,
}

/// `[timing]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timing {
    /// What the instructor guide promises.
    pub session_minutes: u32,
    pub section: Vec<Section>,
}

/// One `[[timing.section]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Markdown.
    pub title: String,
    pub minutes: u32,
    /// The chapter that teaches it, relative to the book's `src/`.
    #[serde(default)]
    pub book: Option<String>,
    /// What the student writes in it (Markdown).
    #[serde(default)]
    pub writes: Option<String>,
    /// The checkpoints it turns green.
    #[serde(default)]
    pub checkpoints: Vec<String>,
    /// The slides, which a room that saw them in an earlier session skips.
    #[serde(default)]
    pub slides: bool,
}

impl Timing {
    /// The minutes of every section together.
    pub fn total(&self) -> u32 {
        self.section.iter().map(|s| s.minutes).sum()
    }

    /// Each checkpoint's minutes in the plan: its section's.
    pub fn minutes_by_checkpoint(&self) -> BTreeMap<String, u32> {
        self.section
            .iter()
            .flat_map(|s| s.checkpoints.iter().map(|id| (id.clone(), s.minutes)))
            .collect()
    }
}

/// What is wrong with a lesson file.
#[derive(Debug)]
pub enum PlanError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Read { path, .. } => {
                write!(f, "cannot read the lesson file {}", path.display())
            }
            PlanError::Parse { path, source } => write!(
                f,
                "the lesson file {} is not valid: {source}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for PlanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlanError::Read { source, .. } => Some(source),
            PlanError::Parse { source, .. } => Some(source.as_ref()),
        }
    }
}

/// The lesson file's `[timing]`, or `None` when it has none.
pub fn load(path: &Path) -> Result<Option<Timing>, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// `text`, a lesson file's contents, read as the file at `path` (named in
/// errors).
pub fn parse(text: &str, path: &Path) -> Result<Option<Timing>, PlanError> {
    let file: File = toml::from_str(text).map_err(|source| PlanError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    Ok(file.timing)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LESSON: &str = r#"
        lesson_files = ["src/page.rs"]

        [timing]
        session_minutes = 30
        [[timing.section]]
        title = "Slides"
        minutes = 10
        slides = true
        [[timing.section]]
        title = "Sync"
        minutes = 20
        checkpoints = ["sync", "outbox"]
    "#;

    #[test]
    fn each_checkpoint_gets_its_sections_minutes() {
        let timing = parse(LESSON, Path::new("lesson.toml")).unwrap().unwrap();
        assert_eq!(timing.total(), 30);
        let minutes = timing.minutes_by_checkpoint();
        assert_eq!(minutes["sync"], 20);
        assert_eq!(minutes["outbox"], 20);
        assert_eq!(minutes.len(), 2);
    }

    #[test]
    fn no_timing_is_none_and_a_typo_is_an_error_naming_the_file() {
        let none = parse("lesson_files = []", Path::new("l.toml")).unwrap();
        assert!(none.is_none());
        let typo = LESSON.replace("minutes = 20", "minuets = 20");
        let error = parse(&typo, Path::new("l.toml")).unwrap_err().to_string();
        assert!(
            error.contains("l.toml") && error.contains("minuets"),
            "{error}"
        );
    }

    #[test]
    fn the_lessons_own_plan_reads() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let timing = load(&root.join(crate::workspace::LESSON_PLAN))
            .unwrap()
            .expect("lesson.toml has a [timing]");
        assert_eq!(timing.total(), timing.session_minutes);
    }
}
