//! A CRLF checkout: Git for Windows checks text out with CRLF by default
//! (the repository's `.gitattributes` asks for LF, but a copy made another
//! way, or an editor, may still write CRLF). Everything that reads the
//! stages as text must read such a copy as it reads the repository: here a
//! copy of the stages and the lesson with every text file in CRLF goes
//! through the anchor checks, the drift guard, `reveal` and the trail's
//! steps, and each must give what it gives on the repository itself.

use std::fs;
use std::path::Path;

use lesson::checkpoints::Checkpoint;

use super::{checkpoints_in, missing_regions, stage_drift};
use crate::build::tests::TempDir;
use crate::progress::Entry;
use crate::workspace::project_root;
use crate::{reveal, trail};

/// `text` with every line ending CRLF.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// Copies `from` to `to`, each text file (UTF-8, no NUL byte: what Git's
/// `text=auto` takes for text) with CRLF line endings, the others as they
/// are. Returns how many files were converted.
fn copy_as_crlf(from: &Path, to: &Path) -> usize {
    fs::create_dir_all(to).unwrap();
    let mut converted = 0;
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            converted += copy_as_crlf(&path, &target);
            continue;
        }
        let bytes = fs::read(&path).unwrap();
        match String::from_utf8(bytes) {
            Ok(text) if !text.contains('\0') && text.contains('\n') => {
                fs::write(&target, crlf(&text)).unwrap();
                converted += 1;
            }
            Ok(text) => fs::write(&target, text).unwrap(),
            Err(error) => fs::write(&target, error.into_bytes()).unwrap(),
        }
    }
    converted
}

/// The workspace's stages and lesson, copied as a CRLF checkout has them.
fn crlf_copy() -> TempDir {
    let copy = TempDir::new();
    let root = project_root();
    for dir in ["starter", "solution", "lessons"] {
        let converted = copy_as_crlf(&root.join(dir), &copy.0.join(dir));
        assert!(converted > 0, "no text file converted in {dir}/");
    }
    copy
}

/// A checkpoint as `cargo xtask reveal` and the trail get it (from the
/// harness's listing, which reads the same file).
fn entry(checkpoint: &Checkpoint) -> Entry {
    Entry {
        id: checkpoint.id.clone(),
        title: checkpoint.title.clone(),
        pre_lesson: checkpoint.pre_lesson,
        hint: checkpoint.hint.clone(),
        hint_more: checkpoint.hint_more.clone(),
        book: checkpoint.book.clone(),
        reveal: checkpoint.reveal.clone(),
        applies: true,
        elsewhere: None,
        result: None,
    }
}

/// `reveal`'s hunks for every checkpoint of the workspace at `root`.
fn every_reveal(root: &Path) -> Vec<Option<Vec<String>>> {
    checkpoints_in(root)
        .iter()
        .map(|checkpoint| {
            reveal::hunks(&entry(checkpoint), |file| {
                Ok(fs::read_to_string(root.join("solution").join(file))?)
            })
            .unwrap_or_else(|e| panic!("{}: {e:#}", checkpoint.id))
        })
        .collect()
}

#[test]
fn a_crlf_checkout_passes_the_anchor_checks_and_the_drift_guard() {
    let copy = crlf_copy();
    assert_eq!(missing_regions(&copy.0), Vec::<String>::new());
    assert_eq!(stage_drift(&copy.0), Vec::<String>::new());
    // The same checkpoints, read from a CRLF file.
    assert_eq!(
        checkpoints_in(&copy.0),
        checkpoints_in(&project_root()),
        "checkpoints.toml read with CRLF"
    );
}

#[test]
fn reveal_shows_the_same_code_from_a_crlf_checkout() {
    let copy = crlf_copy();
    let shown = every_reveal(&copy.0);
    assert!(shown.iter().flatten().count() > 0, "nothing revealed");
    assert_eq!(shown, every_reveal(&project_root()));
}

/// The trail's steps put each lesson checkpoint's regions of the solution
/// into the starter: in a CRLF checkout, the files they give are those of
/// the repository's, in CRLF (no LF line slipped in).
#[test]
fn the_trails_steps_give_the_same_files_in_a_crlf_checkout() {
    let root = project_root();
    let copy = crlf_copy();
    // The starter's lesson files (the only ones the steps touch) with LF
    // line endings, as the repository has them, whatever this checkout has.
    let lf_trail = TempDir::new();
    for file in super::lesson_files().lesson_files {
        let text = fs::read_to_string(root.join("starter").join(&file)).unwrap();
        lf_trail.write(&file, &text.replace("\r\n", "\n"));
    }
    let lesson: Vec<Entry> = checkpoints_in(&root)
        .iter()
        .filter(|c| !c.pre_lesson)
        .map(entry)
        .collect();
    for checkpoint in &lesson {
        trail::apply(&root.join("solution"), &lf_trail.0, checkpoint).unwrap();
        trail::apply(
            &copy.0.join("solution"),
            &copy.0.join("starter"),
            checkpoint,
        )
        .unwrap();
    }
    for file in super::lesson_files().lesson_files {
        let lf = fs::read_to_string(lf_trail.0.join(&file)).unwrap();
        let in_crlf = fs::read_to_string(copy.0.join("starter").join(&file)).unwrap();
        assert!(!lf.contains('\r'), "{file}");
        assert!(
            in_crlf == crlf(&lf),
            "{file}: the trail's steps in a CRLF checkout give another file than in the repository"
        );
    }
}
