//! Where the book's sources are, and where it is built: in the workspace
//! found at run time.

use std::path::{Path, PathBuf};

/// Where the book's sources are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The workspace root.
    pub workspace: PathBuf,
    /// `book/`: `book.toml`, `src/`, the theme additions.
    pub book: PathBuf,
    /// The checkpoints that the table is rendered from.
    pub checkpoints: PathBuf,
    /// The lesson's `lesson.toml`, whose `[timing]` the instructor guide's
    /// timing table is rendered from.
    pub plan: PathBuf,
}

impl Paths {
    /// The workspace's, found at run time (as `cargo xtask` says, or where
    /// cargo runs the book), never where this binary was compiled: a
    /// workspace copied with its `target/` builds its own book into its own
    /// `target/`.
    pub fn of_workspace() -> anyhow::Result<Paths> {
        Ok(Paths::in_workspace(&::lesson::workspace::workspace_root()?))
    }

    pub fn in_workspace(workspace: &Path) -> Paths {
        Paths {
            workspace: workspace.to_owned(),
            book: workspace.join("book"),
            checkpoints: workspace.join(::lesson::workspace::CHECKPOINTS),
            plan: workspace.join(::lesson::workspace::LESSON_PLAN),
        }
    }

    /// `target/book`, or under `CARGO_TARGET_DIR` when that is set.
    pub fn default_dest(&self) -> PathBuf {
        ::lesson::workspace::target_dir(&self.workspace).join("book")
    }

    /// Where a change should rebuild the book: its own sources, the
    /// lesson's text and checkpoints, and the code it includes.
    pub fn watched(&self) -> Vec<PathBuf> {
        vec![
            self.book.clone(),
            self.workspace.join("lessons"),
            self.workspace.join("solution/src"),
            self.workspace.join("solution/static"),
        ]
    }
}
