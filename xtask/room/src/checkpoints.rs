//! The columns of the room: the lesson's checkpoints, in the order of
//! `lessons/background-sync/checkpoints.toml`, read by the `lesson` crate
//! (the file's one parser, which the harness and the book use too). Only
//! `id` and `title` are shown.

use std::path::Path;

use lesson::checkpoints::{self, CheckpointsError};
use serde::{Deserialize, Serialize};

/// One checkpoint column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub id: String,
    pub title: String,
}

/// The checkpoints, in file order.
#[derive(Debug, Clone)]
pub struct Catalogue {
    pub checkpoints: Vec<Checkpoint>,
}

impl Catalogue {
    pub fn load(path: &Path) -> Result<Self, CheckpointsError> {
        checkpoints::load(path).map(Self::columns)
    }

    fn columns(list: Vec<checkpoints::Checkpoint>) -> Self {
        Catalogue {
            checkpoints: list
                .into_iter()
                .map(|c| Checkpoint {
                    id: c.id,
                    title: c.title,
                })
                .collect(),
        }
    }

    /// A catalogue of these columns (id, title), for tests.
    #[cfg(test)]
    pub fn of(columns: &[(&str, &str)]) -> Self {
        Catalogue {
            checkpoints: columns
                .iter()
                .map(|(id, title)| Checkpoint {
                    id: (*id).to_owned(),
                    title: (*title).to_owned(),
                })
                .collect(),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.checkpoints.iter().any(|c| c.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_are_the_lessons_checkpoints_in_file_order() {
        // This crate is `xtask/room`.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(lesson::workspace::CHECKPOINTS);
        let catalogue = Catalogue::load(&path).unwrap();
        let all = checkpoints::load(&path).unwrap();
        let ids: Vec<&str> = catalogue
            .checkpoints
            .iter()
            .map(|c| c.id.as_str())
            .collect();
        let file: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, file);
        assert!(catalogue.contains("app-loads") && !catalogue.contains("teleport"));
        assert_eq!(catalogue.checkpoints[0].title, all[0].title);
    }

    #[test]
    fn a_missing_file_is_named() {
        let error = Catalogue::load(Path::new("no/such/checkpoints.toml")).unwrap_err();
        assert!(
            error.to_string().contains("no/such/checkpoints.toml"),
            "{error}"
        );
    }
}
