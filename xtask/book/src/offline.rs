//! The book works offline: after a reader's first visit, every file of the
//! build is served by the book's own service worker.
//!
//! After mdBook has written the book, [`write_worker`] lists every file of
//! the output (each chapter, the slides, the images, the search index, the
//! fonts) and writes `book-worker.js` beside `index.html`: the worker
//! template (`offline-worker.js`) with that list and a hash of the files,
//! which names its cache. `theme/offline.js` registers it from every page.
//!
//! Why a hash of the files: a browser installs a new worker only when the
//! worker's script changes by a byte. The list alone would not change when a
//! chapter's text does (mdBook's pages keep their names), the hash does; and
//! a cache per build lets the new worker fill its own cache while the old one
//! still serves the old one, then swap them whole (the template says how).

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};

/// The generated worker's file name, at the book's root: a worker controls
/// the pages at and below the directory its script is in.
pub const WORKER: &str = "book-worker.js";

/// The worker, with `"{{BUILD}}"` and `"{{FILES}}"` to fill in.
const TEMPLATE: &str = include_str!("offline-worker.js");

/// What the worker keeps: the build's hash (which names its cache) and the
/// files, as URLs relative to the book's root, sorted.
#[derive(Debug, PartialEq, Eq)]
pub struct Precache {
    pub build: String,
    pub files: Vec<String>,
}

/// Writes `book-worker.js` into the built book at `dest`.
pub fn write_worker(dest: &Path) -> anyhow::Result<Precache> {
    let precache = precache(dest)?;
    let script = worker_script(&precache);
    let path = dest.join(WORKER);
    fs::write(&path, script).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(precache)
}

/// Every file of the built book but the worker itself and dotfiles (mdBook's
/// `.nojekyll` is for GitHub Pages, not for readers), and a hash of exactly
/// these files with exactly these bytes.
pub fn precache(dest: &Path) -> anyhow::Result<Precache> {
    let mut files = Vec::new();
    collect(dest, dest, &mut files)?;
    files.sort();
    let mut hash = Sha256::new();
    for (url, path) in &files {
        let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        // The name and the length too, so that moving bytes from one file
        // to the next cannot give the same hash.
        hash.update(url.as_bytes());
        hash.update([0]);
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(&bytes);
    }
    let digest = hash.finalize();
    let mut build = String::new();
    for byte in &digest[..8] {
        let _ = write!(build, "{byte:02x}");
    }
    Ok(Precache {
        build,
        files: files.into_iter().map(|(url, _)| url).collect(),
    })
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) -> anyhow::Result<()> {
    let entries = fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect(root, &path, files)?;
            continue;
        }
        let relative = path.strip_prefix(root).unwrap_or(&path);
        // A URL path: `/` between the parts on every OS.
        let url = relative
            .components()
            .map(|part| part.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if url != WORKER {
            files.push((url, path));
        }
    }
    Ok(())
}

/// The template with the build's hash and its files written in, as
/// JavaScript string literals.
fn worker_script(precache: &Precache) -> String {
    let files = precache
        .files
        .iter()
        .map(|file| format!("  {}", js_string(file)))
        .collect::<Vec<_>>()
        .join(",\n");
    TEMPLATE
        .replace("\"{{BUILD}}\"", &js_string(&precache.build))
        .replace("\"{{FILES}}\"", &format!("[\n{files}\n]"))
}

/// A JavaScript string literal: the names come from the book's own files,
/// but a quote or a backslash in one must not end the string.
fn js_string(text: &str) -> String {
    let mut out = String::from("'");
    for c in text.chars() {
        match c {
            '\'' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn every_file_but_dotfiles_and_the_worker_is_listed() {
        let dir = book(&[
            ("index.html", "i"),
            ("background-sync/slides.html", "s"),
            ("screenshots/room.png", "p"),
            ("searchindex-1234.js", "x"),
            (".nojekyll", ""),
            (WORKER, "old worker"),
        ]);
        let precache = precache(dir.path()).unwrap();
        assert_eq!(
            precache.files,
            [
                "background-sync/slides.html",
                "index.html",
                "screenshots/room.png",
                "searchindex-1234.js"
            ]
        );
    }

    /// A new build with one byte changed gets a new hash, so a new worker
    /// script, which the browser installs; the same build gets the same
    /// one (so a rebuild with no change downloads nothing).
    #[test]
    fn the_build_hash_follows_the_files_bytes() {
        let files = [("index.html", "one"), ("a/b.html", "two")];
        let first = precache(book(&files).path()).unwrap();
        assert_eq!(first, precache(book(&files).path()).unwrap());
        assert!(first.build.len() == 16 && first.build.bytes().all(|b| b.is_ascii_hexdigit()));
        let changed = precache(book(&[("index.html", "one"), ("a/b.html", "twO")]).path());
        assert_ne!(first.build, changed.unwrap().build);
        let moved = precache(book(&[("index.html", "on"), ("a/b.html", "etwo")]).path());
        assert_ne!(first.build, moved.unwrap().build);
        let renamed = precache(book(&[("index.html", "one"), ("a/c.html", "two")]).path());
        assert_ne!(first.build, renamed.unwrap().build);
    }

    #[test]
    fn the_worker_names_its_build_and_files_as_literals() {
        let dir = book(&[("index.html", "i"), ("it's.html", "q")]);
        let precache = write_worker(dir.path()).unwrap();
        let script = fs::read_to_string(dir.path().join(WORKER)).unwrap();
        assert!(!script.contains("{{"), "a placeholder was left:\n{script}");
        assert!(script.contains(&format!("const BUILD = '{}';", precache.build)));
        assert!(
            script.contains("  'index.html',\n  'it\\'s.html'\n]"),
            "{script}"
        );
        // Written again, the worker is not one of its own files.
        assert_eq!(write_worker(dir.path()).unwrap(), precache);
    }
}
