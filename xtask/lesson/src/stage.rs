//! The two stages of the lesson: the app before it and after it.
//!
//! Each stage is a whole crate in its own directory, with the same shape, so
//! every command works on either: only these names differ.

use std::fmt;
use std::path::{Path, PathBuf};

/// Which copy of the app a command works on. The starter is the default:
/// it is what a student works in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Stage {
    /// The app before the lesson, for the student to complete.
    #[default]
    Starter,
    /// The app after the lesson.
    Solution,
}

impl Stage {
    pub const ALL: [Stage; 2] = [Stage::Starter, Stage::Solution];

    /// The stage's directory name, which is also how commands spell it.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Starter => "starter",
            Stage::Solution => "solution",
        }
    }

    /// The cargo package, for `cargo build -p`.
    pub fn package(self) -> &'static str {
        match self {
            Stage::Starter => "before-sync-lesson",
            Stage::Solution => "after-sync-lesson",
        }
    }

    /// The library's crate name: the package name with `_` for `-`, which is
    /// also the name of the `.wasm` file cargo writes.
    pub fn lib_name(self) -> &'static str {
        match self {
            Stage::Starter => "before_sync_lesson",
            Stage::Solution => "after_sync_lesson",
        }
    }

    /// The server's binary: cargo names it after the package (each stage's
    /// `[[bin]]` says so).
    pub fn binary(self) -> &'static str {
        self.package()
    }

    /// `starter/` or `solution/` in the workspace at `root`.
    pub fn dir(self, root: &Path) -> PathBuf {
        root.join(self.name())
    }

    /// The stage whose directory is `name`, if there is one.
    pub fn parse(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.name() == name)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_parse_from_their_names() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.name()), Some(stage));
            assert_eq!(stage.to_string(), stage.name());
        }
        assert_eq!(Stage::parse("finished"), None);
    }

    #[cfg(feature = "clap")]
    #[test]
    fn stages_are_command_line_values_by_their_names() {
        use clap::ValueEnum;
        for stage in Stage::ALL {
            assert_eq!(Stage::from_str(stage.name(), false), Ok(stage));
        }
        assert!(Stage::from_str("finished", false).is_err());
    }

    #[test]
    fn the_lib_name_is_the_package_name_with_underscores() {
        for stage in Stage::ALL {
            assert_eq!(stage.lib_name(), stage.package().replace('-', "_"));
        }
    }

    #[test]
    fn every_stage_has_its_crate() {
        // This crate is `xtask/lesson`.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for stage in Stage::ALL {
            let manifest = stage.dir(&root).join("Cargo.toml");
            let text = std::fs::read_to_string(&manifest)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
            // The package, and the server binary `cargo xtask serve` runs,
            // named after it.
            for section in ["[package]", "[[bin]]"] {
                let name = format!("name = \"{}\"", stage.package());
                let mut lines = text.lines().skip_while(|l| l.trim() != section);
                assert!(
                    lines.nth(1).is_some_and(|l| l.trim() == name),
                    "{}: its {section} should begin with {name}",
                    manifest.display()
                );
            }
        }
    }
}
