//! The trail test: the starter's TODOs lead all the way to the goal.
//!
//! A copy of the starter in which each file the lesson touches (listed in
//! `lessons/background-sync/lesson.toml`) is replaced by the solution's
//! version must pass every checkpoint. If it does, a student who does what
//! the TODOs ask, in those files, reaches the solution; if the starter had
//! drifted elsewhere (a helper missing from `idb.rs`, a route missing from
//! the server), this fails although the solution itself passes.
//!
//! Its second mode, [`steps`] (`cargo xtask trail --steps`), walks the trail
//! as a student does, one checkpoint at a time: from the starter as it is,
//! each lesson checkpoint's `reveal` regions are put in from the solution,
//! and exactly that checkpoint must turn green — every earlier one still
//! passing, every later one still failing. So each `reveal` is just enough
//! for its checkpoint, the checkpoints' order is one a student can follow,
//! and no checkpoint passes by accident of another's code. The walk is in
//! Chromium, the browser `check` uses by default; the checkpoints only
//! Firefox can check are skipped in it, and the finished trail is checked
//! once more in Firefox, where every checkpoint must pass.
//!
//! The copy is a one-crate workspace of its own under `target/trail/`, with
//! the workspace's `Cargo.lock` and `target/` directory, so only the copied
//! crate is compiled. It is renamed (package `trail-sync-lesson`): cargo
//! writes some outputs under the library's name alone, and a copy called
//! like the starter would overwrite the starter's.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};

use crate::build::{SiteSource, WasmBuild, build_site_of};
use crate::check::{Browser, harness, run_harness};
use crate::command::{cargo, openssl_features, run as run_command, show, step};
use crate::progress::{self, Entry, Report, Verdict};
use crate::workspace::{project_root, target_dir};
use lesson::{Stage, anchors};

const LESSON_FILE: &str = "lessons/background-sync/lesson.toml";
const PACKAGE: &str = "trail-sync-lesson";
const LIB_NAME: &str = "trail_sync_lesson";

pub fn run() -> anyhow::Result<()> {
    let root = project_root();
    let workspace = target_dir().join("trail");
    let copy = step(
        "copying the starter with the solution's lesson files",
        || make_workspace(&root, &workspace, true),
    )?;
    let (site, server) = build_copy("trail", &workspace, &copy)?;
    run_harness("starter", &site, &server, &[])
}

/// `cargo xtask trail --steps`: the trail one checkpoint at a time, in
/// Chromium, then the finished trail in Firefox (see the module's comment).
pub fn steps() -> anyhow::Result<()> {
    let root = project_root();
    let workspace = target_dir().join("trail-steps");
    let copy = step("copying the starter as a student finds it", || {
        make_workspace(&root, &workspace, false)
    })?;
    let browser = Browser::Chromium.name();
    let catalogue = progress::catalogue("starter", browser)?;
    let lesson: Vec<&Entry> = catalogue
        .checkpoints
        .iter()
        .filter(|c| !c.pre_lesson)
        .collect();
    let total = lesson.len();
    let results = workspace.join("results.json");
    let mut done: Vec<&str> = Vec::new();
    for (i, checkpoint) in lesson.iter().enumerate() {
        let id = checkpoint.id.as_str();
        let what = format!("step {}/{total} {id}", i + 1);
        let started = Instant::now();
        step(
            &format!("{what}: the solution's {}", checkpoint.reveal.join(", ")),
            || apply(&root.join("solution"), &copy, checkpoint),
        )?;
        done.push(id);
        if !checkpoint.applies {
            // Its code stays in (a later step may build on it); it is only
            // not checked here.
            println!(
                "{what}: skipped, not checked in {browser} (the finished trail is checked in Firefox at the end): {}",
                checkpoint
                    .elsewhere
                    .as_deref()
                    .unwrap_or("the checkpoint file restricts it to other browsers")
            );
            continue;
        }
        let (site, server) = build_copy("trail-steps", &workspace, &copy)?;
        let (report, report_text) = check_copy(browser, &site, &server, &results, &what)?;
        if let Err(wrong) = judge(&report, &done, id) {
            println!("{report_text}");
            bail!(
                "{what}: with the solution's {} in place, exactly `{id}` should have turned green:\n  {}",
                checkpoint.reveal.join(", "),
                wrong.join("\n  ")
            );
        }
        println!("{what}: ✓ turned green ({} s)", started.elapsed().as_secs());
    }
    println!("==> every lesson checkpoint turned green at its own step");

    // The checkpoints only Firefox checks (`push-subscribe`, whose page code
    // came with `push`, and `push-declarative`) were skipped above: the whole
    // trail, once more, in Firefox. A student who follows it in Firefox, or
    // `reveal`s their code, gets there too.
    let firefox = Browser::Firefox.name();
    let what = format!("the finished trail in {firefox}");
    let (site, server) = build_copy("trail-steps", &workspace, &copy)?;
    let (report, report_text) = check_copy(firefox, &site, &server, &results, &what)?;
    let all: Vec<&str> = lesson.iter().map(|c| c.id.as_str()).collect();
    if let Err(wrong) = judge(&report, &all, "") {
        println!("{report_text}");
        bail!(
            "{what}: with every checkpoint's code in place, every checkpoint Firefox checks should pass:\n  {}",
            wrong.join("\n  ")
        );
    }
    let checked = report.checkpoints.iter().filter(|c| c.applies).count();
    println!("==> {what}: {checked}/{checked} ✓");
    Ok(())
}

/// Runs the checkpoints on the copy's `site` and `server` in `browser`,
/// every one of them (`--all`): the results, and the harness's
/// report, shown only when the step goes wrong (one line a step otherwise).
fn check_copy(
    browser: &str,
    site: &Path,
    server: &Path,
    results: &Path,
    what: &str,
) -> anyhow::Result<(Report, String)> {
    let _ = fs::remove_file(results);
    let mut command = harness();
    command
        .args(["check", "starter", "--browser", browser, "--all"])
        .arg("--site")
        .arg(site)
        .arg("--server-bin")
        .arg(server)
        .arg("--results")
        .arg(results);
    let shown = show(&command);
    let output = command
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    let report_text = String::from_utf8_lossy(&output.stdout).into_owned();
    // 0: all passed, 1: some failed (as expected until the last step);
    // anything else: the harness itself could not run.
    if !matches!(output.status.code(), Some(0 | 1)) {
        println!("{report_text}");
        bail!(
            "{what}: `{shown}` could not run the checkpoints ({})",
            output.status
        );
    }
    Ok((progress::read_results(results)?, report_text))
}

/// Puts the solution's regions that `checkpoint` reveals into the copy, in
/// place of the starter's regions of the same names.
pub(crate) fn apply(solution: &Path, copy: &Path, checkpoint: &Entry) -> anyhow::Result<()> {
    anyhow::ensure!(
        !checkpoint.reveal.is_empty(),
        "`{}` has no `reveal` in lessons/background-sync/checkpoints.toml",
        checkpoint.id
    );
    for entry in &checkpoint.reveal {
        let (file, anchor) = anchors::split_entry(entry)?;
        let from = solution.join(file);
        let from =
            fs::read_to_string(&from).with_context(|| format!("cannot read {}", from.display()))?;
        let into = copy.join(file);
        let text =
            fs::read_to_string(&into).with_context(|| format!("cannot read {}", into.display()))?;
        let text = anchors::replace(&text, &from, anchor).with_context(|| {
            format!("cannot put solution/{file}'s `{anchor}` into the starter's")
        })?;
        fs::write(&into, text).with_context(|| format!("cannot write {}", into.display()))?;
    }
    Ok(())
}

/// What is wrong with a step's results, if anything: with the code of the
/// checkpoints in `done` (the last being `current`) in place, the
/// pre-lesson checkpoints and those in `done` pass, and the others fail.
/// Checkpoints of other browsers do not count.
fn judge(report: &Report, done: &[&str], current: &str) -> Result<(), Vec<String>> {
    let mut wrong = Vec::new();
    for c in report.checkpoints.iter().filter(|c| c.applies) {
        let passed = c.result == Some(Verdict::Pass);
        let seen = match c.result {
            Some(Verdict::Pass) => "passes",
            Some(Verdict::Fail) => "fails",
            Some(Verdict::NotRun) => "was not run",
            Some(Verdict::NotApplicable) | None => "has no result",
        };
        let why = if c.pre_lesson {
            (!passed).then_some("it passes before the lesson and must go on passing")
        } else if c.id == current {
            (!passed).then_some("this step's code is for it")
        } else if done.contains(&c.id.as_str()) {
            (!passed).then_some("it turned green in an earlier step")
        } else {
            passed.then_some("its code comes in a later step")
        };
        if let Some(why) = why {
            wrong.push(format!("`{}` {seen}, but {why}", c.id));
        }
    }
    if wrong.is_empty() { Ok(()) } else { Err(wrong) }
}

/// Builds a copy's site (named `name`) and server; returns both.
fn build_copy(name: &str, workspace: &Path, copy: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let manifest = workspace.join("Cargo.toml");
    let site = build_site_of(
        &SiteSource {
            name,
            manifest: manifest.clone(),
            package: PACKAGE,
            lib_name: LIB_NAME,
            static_dir: copy.join("static"),
        },
        WasmBuild::Shipped,
    )?;
    step("building the copy's server", || {
        run_command(
            cargo()
                .arg("build")
                .arg("--manifest-path")
                .arg(&manifest)
                .env("CARGO_TARGET_DIR", target_dir())
                .args(["-p", PACKAGE, "--bin", PACKAGE])
                .args(openssl_features(&[PACKAGE])?),
        )
    })?;
    // Named after the package, as in the stages: `make_workspace`'s rename of
    // the package renames the `[[bin]]` too.
    let server = target_dir()
        .join("debug")
        .join(format!("{PACKAGE}{}", std::env::consts::EXE_SUFFIX));
    Ok((site, server))
}

/// The lesson files, as `lessons/background-sync/lesson.toml` lists them
/// (`src/page.rs`, ...: relative to a stage crate).
pub(crate) fn read_lesson_files(root: &Path) -> anyhow::Result<Vec<String>> {
    let lesson = fs::read_to_string(root.join(LESSON_FILE))
        .with_context(|| format!("cannot read {LESSON_FILE}"))?;
    lesson_files(&lesson).with_context(|| format!("{LESSON_FILE} has no `lesson_files = [...]`"))
}

/// Writes the workspace: the root manifest with the starter as its only
/// member, the lock file, and the starter, with the solution's lesson files
/// swapped in when `swap` is set. Returns the copied crate's directory.
fn make_workspace(root: &Path, workspace: &Path, swap: bool) -> anyhow::Result<PathBuf> {
    if workspace.exists() {
        fs::remove_dir_all(workspace)
            .with_context(|| format!("cannot remove {}", workspace.display()))?;
    }
    let copy = workspace.join("starter");
    copy_tree(&root.join("starter"), &copy)?;
    let files = if swap {
        read_lesson_files(root)?
    } else {
        Vec::new()
    };
    for file in &files {
        fs::copy(root.join("solution").join(file), copy.join(file))
            .with_context(|| format!("cannot copy solution/{file}"))?;
    }
    rename(&copy.join("Cargo.toml"), Stage::Starter.package(), PACKAGE)?;
    rename(
        &copy.join("src/bin/server/shared.rs"),
        Stage::Starter.lib_name(),
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

    use crate::progress::Verdict::*;
    use crate::progress::tests::report;

    #[test]
    fn a_step_passes_when_exactly_its_checkpoint_turned_green() {
        let after_b = report(&[
            ("a", true, true, Some(Pass)),
            ("x", true, false, Some(NotApplicable)),
            ("b", false, true, Some(Pass)),
            ("c", false, true, Some(Fail)),
            ("y", false, false, Some(NotApplicable)),
            ("d", false, true, Some(Fail)),
        ]);
        assert_eq!(judge(&after_b, &["b"], "b"), Ok(()));
        let after_c = report(&[
            ("a", true, true, Some(Pass)),
            ("b", false, true, Some(Pass)),
            ("c", false, true, Some(Pass)),
            ("d", false, true, Some(Fail)),
        ]);
        assert_eq!(judge(&after_c, &["b", "c"], "c"), Ok(()));
    }

    #[test]
    fn a_step_says_what_else_changed() {
        let wrong = report(&[
            ("a", true, true, Some(Fail)),
            ("b", false, true, Some(Fail)),
            ("c", false, true, Some(Fail)),
            ("d", false, true, Some(Pass)),
            ("e", false, true, Some(NotRun)),
        ]);
        let said = judge(&wrong, &["b", "c"], "c").unwrap_err();
        assert_eq!(
            said,
            [
                "`a` fails, but it passes before the lesson and must go on passing",
                "`b` fails, but it turned green in an earlier step",
                "`c` fails, but this step's code is for it",
                "`d` passes, but its code comes in a later step",
            ]
        );
    }

    #[test]
    fn a_step_puts_in_the_solutions_regions() {
        let dir = crate::build::tests::TempDir::new();
        dir.write(
            "solution/src/worker.rs",
            "// ANCHOR: on_sync\nfn on_sync() { deliver(); }\n// ANCHOR_END: on_sync\n",
        );
        dir.write(
            "copy/src/worker.rs",
            "use x;\n// ANCHOR: on_sync\n// TODO(sync)\n// ANCHOR_END: on_sync\nfn rest() {}\n",
        );
        let mut catalogue = report(&[("sync", false, true, None)]);
        catalogue.checkpoints[0].reveal = vec!["src/worker.rs:on_sync".into()];
        apply(
            &dir.0.join("solution"),
            &dir.0.join("copy"),
            &catalogue.checkpoints[0],
        )
        .unwrap();
        assert_eq!(
            dir.read("copy/src/worker.rs"),
            "use x;\n// ANCHOR: on_sync\nfn on_sync() { deliver(); }\n// ANCHOR_END: on_sync\nfn rest() {}\n"
        );
        catalogue.checkpoints[0].reveal = vec!["src/worker.rs:on_push".into()];
        assert!(
            apply(
                &dir.0.join("solution"),
                &dir.0.join("copy"),
                &catalogue.checkpoints[0]
            )
            .is_err()
        );
    }
}
