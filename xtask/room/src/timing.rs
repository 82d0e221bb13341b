//! The lesson plan's minutes, from the `[timing]` of
//! `lessons/background-sync/lesson.toml` (the instructor guide's timing
//! table is rendered from the same sections by the `book` crate).
//!
//! The room reads only what it needs: each section's minutes and the
//! checkpoints it turns green. A student on one checkpoint for longer than
//! the plan gives that checkpoint's whole section is marked stuck on the
//! page (the instructor can set another threshold there). Other fields are
//! ignored on purpose, as in `checkpoints.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum TimingError {
    #[error("cannot read the lesson file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the lesson file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    timing: Option<Timing>,
}

#[derive(Deserialize)]
struct Timing {
    #[serde(default)]
    section: Vec<Section>,
}

#[derive(Deserialize)]
struct Section {
    minutes: u32,
    #[serde(default)]
    checkpoints: Vec<String>,
}

/// Each checkpoint's minutes in the lesson plan: its section's. A lesson
/// file without `[timing]` gives none (the page then uses its own default).
pub fn load(path: &Path) -> Result<BTreeMap<String, u32>, TimingError> {
    let text = std::fs::read_to_string(path).map_err(|source| TimingError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<BTreeMap<String, u32>, TimingError> {
    let file: File = toml::from_str(text).map_err(|source| TimingError::Parse {
        path: path.to_owned(),
        source,
    })?;
    let sections = file.timing.map(|t| t.section).unwrap_or_default();
    Ok(sections
        .into_iter()
        .flat_map(|s| s.checkpoints.into_iter().map(move |id| (id, s.minutes)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_checkpoint_gets_its_sections_minutes() {
        let text = r#"
            lesson_files = ["src/page.rs"]
            [timing]
            session_minutes = 30
            [[timing.section]]
            title = "Slides"
            minutes = 10
            [[timing.section]]
            title = "Sync"
            minutes = 15
            checkpoints = ["sync-when-online", "sync"]
            writes = "ignored here"
        "#;
        let minutes = parse(text, Path::new("lesson.toml")).unwrap();
        assert_eq!(
            minutes,
            BTreeMap::from([("sync".into(), 15), ("sync-when-online".into(), 15)])
        );
        assert!(parse("x = 1", Path::new("l.toml")).unwrap().is_empty());
        let error = parse(
            "[timing]\n[[timing.section]]\nminutes = \"ten\"\n",
            Path::new("l.toml"),
        )
        .unwrap_err();
        assert!(error.to_string().contains("l.toml"), "{error}");
    }

    #[test]
    fn the_lessons_plan_times_every_checkpoint() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons/background-sync");
        let minutes = load(&root.join("lesson.toml")).unwrap();
        let catalogue =
            crate::checkpoints::Catalogue::load(&root.join("checkpoints.toml")).unwrap();
        for checkpoint in &catalogue.checkpoints {
            assert!(
                minutes.get(&checkpoint.id).is_some_and(|m| *m > 0),
                "`{}` has no minutes in lesson.toml's [timing]",
                checkpoint.id
            );
        }
    }
}
