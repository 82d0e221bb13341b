//! Checks on the repository itself, run as ordinary tests (as
//! rust-analyzer's `tidy` does): promises the project makes in prose or in
//! CI configuration that would otherwise drift out of date unnoticed.

mod architecture;
mod crlf;
mod cycles;
mod lockfile;
mod modules;
mod rust;
mod sizes;

use std::fs;
use std::path::Path;

use crate::workspace::project_root;

fn read(relative: &str) -> String {
    let path = project_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// CI must run the very suite a developer runs, so that "passes here" and
/// "passes in CI" mean the same thing.
#[test]
fn ci_runs_the_whole_test_suite() {
    let script = read(".ci/run");
    assert!(
        script.lines().any(|line| line.trim() == "cargo xtask test"),
        ".ci/run should run `cargo xtask test`, on a line of its own:\n{script}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(project_root().join(".ci/run"))
            .unwrap()
            .permissions()
            .mode();
        assert!(
            mode & 0o111 != 0,
            ".ci/run should be executable: chmod +x .ci/run"
        );
    }
}

/// The README promises a newcomer two commands; they must be the real ones.
#[test]
fn the_readme_gives_the_two_commands() {
    let readme = read("README.md");
    for command in ["cargo xtask serve", "cargo xtask test"] {
        assert!(
            readme.contains(command),
            "README.md should mention `{command}`"
        );
    }
}

/// `cargo xtask` works because of the alias in `.cargo/config.toml`.
#[test]
fn the_xtask_alias_is_there() {
    let config = read(".cargo/config.toml");
    assert!(
        config.contains(r#"xtask = "run --package xtask --""#),
        ".cargo/config.toml should define the `cargo xtask` alias"
    );
}

/// The lesson's file list, `lessons/background-sync/lesson.toml`.
#[derive(serde::Deserialize)]
struct LessonFiles {
    lesson_files: Vec<String>,
    stage_files: Vec<String>,
}

fn lesson_files() -> LessonFiles {
    lesson_files_in(&project_root())
}

/// The lesson's file list in the workspace at `root`.
fn lesson_files_in(root: &Path) -> LessonFiles {
    let path = root.join("lessons/background-sync/lesson.toml");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lesson's checkpoints, read by the `lesson` crate as every tool reads
/// them.
fn checkpoints() -> Vec<lesson::checkpoints::Checkpoint> {
    checkpoints_in(&project_root())
}

/// The checkpoints of the workspace at `root`.
fn checkpoints_in(root: &Path) -> Vec<lesson::checkpoints::Checkpoint> {
    let path = root.join(lesson::workspace::CHECKPOINTS);
    lesson::checkpoints::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                files.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files.sort();
    files
}

/// A note to the book's writers (`TODO(book)`) is work left undone, and a
/// reader would see it in the page's source.
#[test]
fn the_book_has_no_notes_left_to_its_writers() {
    let root = project_root();
    let mut left = Vec::new();
    for dir in ["lessons", "book/src"] {
        for file in files_under(&root.join(dir)) {
            let path = format!("{dir}/{file}");
            if path.ends_with(".md") && read(&path).contains("TODO(book)") {
                left.push(path);
            }
        }
    }
    assert!(left.is_empty(), "TODO(book) left in: {left:?}");
}

/// `diff -ru starter solution` shows the lesson and nothing else: the two
/// crates hold the same files, those outside the lesson's list are
/// byte-identical, and those on it really differ (a stale list would hide a
/// drift).
#[test]
fn the_stages_differ_only_in_the_lesson() {
    let drifted = stage_drift(&project_root());
    assert!(
        drifted.is_empty(),
        "starter/ and solution/ drifted (see lessons/background-sync/lesson.toml):\n{}",
        drifted.join("\n")
    );
}

/// What breaks that promise in the workspace at `root`, one line each.
fn stage_drift(root: &Path) -> Vec<String> {
    let listed = lesson_files_in(root);
    let starter = files_under(&root.join("starter"));
    let solution = files_under(&root.join("solution"));
    if starter != solution {
        return vec![format!(
            "starter/ and solution/ should hold the same files:\n  starter: {starter:?}\n  solution: {solution:?}"
        )];
    }
    let mut drifted = Vec::new();
    for file in &starter {
        let same = fs::read(root.join("starter").join(file)).unwrap()
            == fs::read(root.join("solution").join(file)).unwrap();
        let expected_to_differ =
            listed.lesson_files.contains(file) || listed.stage_files.contains(file);
        if same == expected_to_differ {
            drifted.push(format!(
                "{file}: {}",
                if same {
                    "listed in lesson.toml but identical"
                } else {
                    "differs but is not a lesson file"
                }
            ));
        }
    }
    drifted
}

/// The student's trail: each lesson checkpoint's hint names a `TODO(..)`
/// that exists in the starter's lesson files, every `TODO(..)` there names a
/// checkpoint, and nothing in the starter would crash the worker.
#[test]
fn every_lesson_checkpoint_has_its_todo_in_the_starter() {
    let checkpoints = checkpoints();
    let starter: String = lesson_files()
        .lesson_files
        .iter()
        .map(|file| read(&format!("starter/{file}")))
        .collect();
    let todo_names = |text: &str| -> Vec<String> {
        text.split("TODO(")
            .skip(1)
            .filter_map(|rest| rest.split_once(')').map(|(name, _)| name.to_owned()))
            .collect()
    };
    let in_starter = todo_names(&starter);
    for checkpoint in checkpoints.iter().filter(|c| !c.pre_lesson) {
        let named = todo_names(&checkpoint.hint);
        assert!(
            !named.is_empty(),
            "the hint of `{}` should name its TODO(..)",
            checkpoint.id
        );
        for todo in named {
            assert!(
                in_starter.contains(&todo),
                "`{}`'s hint names TODO({todo}), which the starter lacks",
                checkpoint.id
            );
        }
    }
    let ids: Vec<&str> = checkpoints.iter().map(|c| c.id.as_str()).collect();
    for todo in &in_starter {
        assert!(
            ids.contains(&todo.as_str()),
            "the starter has TODO({todo}), which is no checkpoint's id"
        );
    }
    for forbidden in ["todo!(", "unimplemented!("] {
        assert!(
            !starter.contains(forbidden),
            "the starter must not crash the worker with {forbidden}"
        );
    }
}

/// `cargo xtask reveal` and the trail's steps read each lesson checkpoint's
/// code by the regions its `reveal` names: every one must be there, in the
/// solution (the code shown) and in the starter (the stub it replaces, in a
/// region of the same name).
#[test]
fn every_lesson_checkpoint_reveals_regions_both_stages_have() {
    let wrong = missing_regions(&project_root());
    assert!(
        wrong.is_empty(),
        "checkpoints.toml's `reveal` names regions that are not there:\n{}",
        wrong.join("\n")
    );
}

/// The `reveal` entries of the workspace at `root` whose region is not
/// there, in either stage, one line each.
fn missing_regions(root: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    for checkpoint in &checkpoints_in(root) {
        if checkpoint.pre_lesson {
            if !checkpoint.reveal.is_empty() {
                wrong.push(format!(
                    "`{}` passes before the lesson: it has nothing to reveal",
                    checkpoint.id
                ));
            }
            continue;
        }
        if checkpoint.reveal.is_empty() {
            wrong.push(format!("`{}` has no `reveal`", checkpoint.id));
        }
        for entry in &checkpoint.reveal {
            let (file, anchor) = match lesson::anchors::split_entry(entry) {
                Ok(split) => split,
                Err(error) => {
                    wrong.push(format!("`{}`: {error}", checkpoint.id));
                    continue;
                }
            };
            for stage in ["solution", "starter"] {
                let path = root.join(stage).join(file);
                let found = fs::read_to_string(&path)
                    .map_err(anyhow::Error::from)
                    .and_then(|text| Ok(lesson::anchors::region(&text, anchor)?));
                if let Err(error) = found {
                    wrong.push(format!("`{}`: {stage}/{file}: {error}", checkpoint.id));
                }
            }
        }
    }
    wrong
}

/// The tools find the workspace at run time (`lesson::workspace`), never
/// where they were compiled: a workspace copied with its `target/` would
/// otherwise read and write the original's files (`cargo xtask copied`
/// checks that end to end). Tests may use their own crate's directory.
/// (The tools are xtask's crates; the stages' servers are started by xtask
/// with their paths given.)
#[test]
fn no_tool_takes_the_workspace_from_where_it_was_compiled() {
    let mut found = Vec::new();
    let tools = modules::workspace_crates()
        .into_iter()
        .filter(|krate| krate.name.starts_with("xtask/"));
    for krate in tools {
        for module in &krate.modules {
            let text = fs::read_to_string(&module.file).unwrap_or_default();
            let mut from = 0;
            while let Some(at) = module.code[from..].find("env!(").map(|n| from + n) {
                from = at + 5;
                let call: String = text[at..].chars().take(40).collect();
                if call.contains("CARGO_MANIFEST_DIR") {
                    let file = module
                        .file
                        .strip_prefix(project_root())
                        .unwrap_or(&module.file);
                    found.push(format!("{}:{}", file.display(), rust::line_of(&text, at)));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "env!(\"CARGO_MANIFEST_DIR\") outside tests: the workspace is found at run time, with lesson::workspace:\n  {}",
        found.join("\n  ")
    );
}
