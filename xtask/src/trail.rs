//! The trail test: the starter's TODOs lead all the way to the goal.
//!
//! A copy of the starter in which each file the lesson touches (listed in
//! `lessons/background-sync/lesson.toml`) is replaced by the solution's
//! version must pass every checkpoint. If it does, a student who does what
//! the TODOs ask, in those files, reaches the solution; if the starter had
//! drifted elsewhere (a helper missing from `idb.rs`, a route missing from
//! the server), this fails although the solution itself passes.
//!
//! The copy is a one-crate workspace of its own under `target/trail/`, with
//! the workspace's `Cargo.lock` and `target/` directory, so only the copied
//! crate is compiled. It is renamed (package `trail-sync-lesson`): cargo
//! writes some outputs under the library's name alone, and a copy called
//! like the starter would overwrite the starter's.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::build::{SiteSource, build_site_of};
use crate::check::run_harness;
use crate::{cargo, openssl_features, project_root, run as run_command, step, target_dir};

const LESSON_FILE: &str = "lessons/background-sync/lesson.toml";
const PACKAGE: &str = "trail-sync-lesson";
const LIB_NAME: &str = "trail_sync_lesson";

pub fn run() -> anyhow::Result<()> {
    let root = project_root();
    let workspace = target_dir().join("trail");
    let copy = step(
        "copying the starter with the solution's lesson files",
        || make_workspace(&root, &workspace),
    )?;
    let manifest = workspace.join("Cargo.toml");
    let site = build_site_of(&SiteSource {
        name: "trail",
        manifest: manifest.clone(),
        package: PACKAGE,
        lib_name: LIB_NAME,
        static_dir: copy.join("static"),
    })?;
    step("building the copy's server", || {
        run_command(
            cargo()
                .arg("build")
                .arg("--manifest-path")
                .arg(&manifest)
                .env("CARGO_TARGET_DIR", target_dir())
                .args(["-p", PACKAGE, "--bin", PACKAGE])
                .args(openssl_features(&[PACKAGE])),
        )
    })?;
    // Named after the package, as in the stages: `make_workspace`'s rename of
    // the package renames the `[[bin]]` too.
    let server = target_dir()
        .join("debug")
        .join(format!("{PACKAGE}{}", std::env::consts::EXE_SUFFIX));
    run_harness("starter", &site, &server, &[])
}

/// Writes the workspace: the root manifest with the starter as its only
/// member, the lock file, and the starter with the lesson files swapped.
/// Returns the copied crate's directory.
fn make_workspace(root: &Path, workspace: &Path) -> anyhow::Result<PathBuf> {
    if workspace.exists() {
        fs::remove_dir_all(workspace)
            .with_context(|| format!("cannot remove {}", workspace.display()))?;
    }
    let copy = workspace.join("starter");
    copy_tree(&root.join("starter"), &copy)?;
    let lesson = fs::read_to_string(root.join(LESSON_FILE))
        .with_context(|| format!("cannot read {LESSON_FILE}"))?;
    let files = lesson_files(&lesson)
        .with_context(|| format!("{LESSON_FILE} has no `lesson_files = [...]`"))?;
    for file in &files {
        fs::copy(root.join("solution").join(file), copy.join(file))
            .with_context(|| format!("cannot copy solution/{file}"))?;
    }
    rename(&copy.join("Cargo.toml"), "before-sync-lesson", PACKAGE)?;
    rename(
        &copy.join("src/bin/server/shared.rs"),
        "before_sync_lesson",
        LIB_NAME,
    )?;
    let manifest = fs::read_to_string(root.join("Cargo.toml")).context("cannot read Cargo.toml")?;
    fs::write(workspace.join("Cargo.toml"), one_member(&manifest))
        .context("cannot write the copy's Cargo.toml")?;
    fs::copy(root.join("Cargo.lock"), workspace.join("Cargo.lock"))
        .context("cannot copy Cargo.lock")?;
    Ok(copy)
}

/// Replaces the starter's name in a copied file, failing if it is not there
/// (the rename must not silently miss).
fn rename(file: &Path, from: &str, to: &str) -> anyhow::Result<()> {
    let text =
        fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    anyhow::ensure!(
        text.contains(from),
        "{} does not name {from}",
        file.display()
    );
    fs::write(file, text.replace(from, to))
        .with_context(|| format!("cannot write {}", file.display()))
}

/// The root manifest, with `members = ["starter"]` and no
/// `default-members`: the rest of it (dependency versions, profiles) stays.
fn one_member(manifest: &str) -> String {
    manifest
        .lines()
        .filter(|line| !line.starts_with("default-members"))
        .map(|line| {
            if line.starts_with("members") {
                r#"members = ["starter"]"#
            } else {
                line
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The quoted paths of `lesson_files = [ ... ]` (on one line or several).
fn lesson_files(toml: &str) -> Option<Vec<String>> {
    let start = toml.find("lesson_files")?;
    let list = &toml[start..];
    let list = &list[list.find('[')? + 1..list.find(']')?];
    Some(
        list.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect(),
    )
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let path = entry?.path();
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            fs::copy(&path, &target).with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lesson_files_are_read_from_the_list() {
        let toml = "# comment\nlesson_files = [\"src/page.rs\",\n  \"src/worker.rs\"]\nstage_files = [\"x\"]\n";
        assert_eq!(
            lesson_files(toml).unwrap(),
            ["src/page.rs", "src/worker.rs"]
        );
    }

    #[test]
    fn the_copy_has_one_member() {
        let manifest = "[workspace]\nmembers = [\"a\", \"b\"]\ndefault-members = [\"a\"]\n[profile.release]\nlto = true";
        assert_eq!(
            one_member(manifest),
            "[workspace]\nmembers = [\"starter\"]\n[profile.release]\nlto = true"
        );
    }
}
