//! The columns of the room: the lesson's checkpoints, in the order of
//! `lessons/background-sync/checkpoints.toml`.
//!
//! Only `id` and `title` matter here. The file keeps gaining fields (hints,
//! book sections, browsers, variants), and the room must not break when it
//! does: unknown fields are ignored on purpose (no `deny_unknown_fields`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One checkpoint column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: String,
    pub title: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read the checkpoints file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the checkpoints file {path} is not valid: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("the checkpoints file {path} lists no checkpoints")]
    Empty { path: PathBuf },
    #[error("the checkpoints file {path} lists `{id}` twice")]
    Duplicate { path: PathBuf, id: String },
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    checkpoint: Vec<Checkpoint>,
}

/// The checkpoints, in file order.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub checkpoints: Vec<Checkpoint>,
}

impl Catalogue {
    pub fn load(path: &Path) -> Result<Self, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses the text of the checkpoints file (`path` only names it in
    /// errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, CatalogueError> {
        let file: File = toml::from_str(text).map_err(|source| CatalogueError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if file.checkpoint.is_empty() {
            return Err(CatalogueError::Empty {
                path: path.to_owned(),
            });
        }
        for (i, c) in file.checkpoint.iter().enumerate() {
            if file.checkpoint[..i]
                .iter()
                .any(|earlier| earlier.id == c.id)
            {
                return Err(CatalogueError::Duplicate {
                    path: path.to_owned(),
                    id: c.id.clone(),
                });
            }
        }
        Ok(Catalogue {
            checkpoints: file.checkpoint,
        })
    }

    pub fn contains(&self, id: &str) -> bool {
        self.checkpoints.iter().any(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_file_order_and_ignores_other_fields() {
        let text = r#"
            [[checkpoint]]
            id = "b"
            title = "B"
            goal = 0
            hint = "the approach"
            hint_more = "the steps"
            some_field_added_later = { x = 1 }

            [checkpoint.firefox]
            title = "B in Firefox"
            hint_more = "the steps in Firefox"

            [[checkpoint]]
            id = "a"
            title = "A"
        "#;
        let catalogue = Catalogue::parse(text, Path::new("c.toml")).unwrap();
        let ids: Vec<&str> = catalogue
            .checkpoints
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(ids, ["b", "a"]);
        assert!(catalogue.contains("a") && !catalogue.contains("c"));
    }

    #[test]
    fn the_lessons_file_loads() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../lessons/background-sync/checkpoints.toml");
        let catalogue = Catalogue::load(&path).unwrap();
        assert!(catalogue.contains("app-loads"));
    }

    #[test]
    fn duplicates_and_empty_files_are_named() {
        let twice = "[[checkpoint]]\nid = \"a\"\ntitle = \"A\"\n[[checkpoint]]\nid = \"a\"\ntitle = \"A\"\n";
        let error = Catalogue::parse(twice, Path::new("c.toml")).unwrap_err();
        assert!(error.to_string().contains("`a` twice"), "{error}");
        let error = Catalogue::parse("", Path::new("c.toml")).unwrap_err();
        assert!(error.to_string().contains("no checkpoints"), "{error}");
    }
}
