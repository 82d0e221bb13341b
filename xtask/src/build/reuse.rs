//! A part's `.wasm` kept and handed out again while none of the files it was
//! compiled from has changed (what `serve --watch` needs after a save of a
//! file only the other part is compiled from).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use super::wasm::{SiteSource, WasmBuild, build_wasm, lock_wasm_builds};
use crate::command::step;
use crate::workspace::target_dir;

/// One part's `.wasm`, as bytes: the one this process built last time when
/// none of the files it was compiled from has changed since (and it was
/// built at least as `how` asks: see [`stands_in`]), else a new build, as
/// `how` says.
///
/// Why not leave that to cargo: both parts are built in one profile (so that
/// a first build compiles their dependencies once, see the workspace's
/// `Cargo.toml`), where cargo keeps one fingerprint and one file for the
/// library whatever its features, and so compiles it again at every switch
/// of feature, even for a part whose code did not change. Under `serve
/// --watch` that was half of every rebuild: a save of `page.rs`, which only
/// the page's `.wasm` is compiled from, compiled the worker's too (~1.2 s of
/// the ~2.8 s the site took on 2 cores). Which files a part is compiled from,
/// cargo says in the dep-info it writes beside the `.wasm`; the manifests
/// and `Cargo.lock` count too.
pub(super) fn wasm_of(
    source: &SiteSource,
    part: &'static str,
    how: WasmBuild,
) -> anyhow::Result<Vec<u8>> {
    let name = source.name;
    let key = (source.manifest.clone(), source.package.to_owned(), part);
    if let Some(wasm) = reusable(&key, how) {
        println!(
            "==> the {part}'s wasm ({name}): none of its sources changed since its last build"
        );
        return Ok(wasm);
    }
    let mut manifests = vec![
        source.manifest.clone(),
        source.manifest.with_file_name("Cargo.lock"),
    ];
    // The crate's own manifest (its features, its dependencies): the
    // directory its `static/` is in.
    if let Some(dir) = source.static_dir.parent() {
        manifests.push(dir.join("Cargo.toml"));
    }
    // Stamped before cargo reads them: a file saved while it builds then
    // no longer matches its stamp, and the part is built again next time.
    let before: Vec<(PathBuf, Option<Stamp>)> = previous_inputs(&key)
        .into_iter()
        .chain(manifests.iter().cloned())
        .map(|path| {
            let stamp = file_stamp(&path);
            (path, stamp)
        })
        .collect();
    step(&format!("building the {part}'s wasm ({name})"), || {
        let started = SystemTime::now();
        let (wasm, dep_info) = {
            let _lock = lock_wasm_builds()?;
            let built = build_wasm(source, part, how)?;
            let wasm =
                fs::read(&built).with_context(|| format!("cannot read {}", built.display()))?;
            // Beside it, named after it: `<lib>.d`.
            let dep_info = fs::read_to_string(built.with_extension("d")).ok();
            (wasm, dep_info)
        };
        keep_with_names(source, part, &wasm)?;
        let mut cache = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
        cache.retain(|built| built.key != key);
        if let Some(dep_info) = dep_info {
            let inputs = dep_info_inputs(&dep_info)
                .into_iter()
                .chain(manifests)
                .map(|path| {
                    let stamp = match before.iter().find(|(known, _)| *known == path) {
                        Some((_, stamp)) => *stamp,
                        None => settled_before(file_stamp(&path), started),
                    };
                    (path, stamp)
                })
                .collect();
            cache.push(Built {
                key,
                how,
                inputs,
                wasm: wasm.clone(),
            });
        }
        Ok(wasm)
    })
}

/// Keeps a copy of the part's `.wasm` as cargo built it, names and all, out
/// of the site: what `cargo xtask bench` reads to name the biggest functions
/// when the worker is over its budget (see `lesson::workspace::wasm_with_names`).
fn keep_with_names(source: &SiteSource, part: &str, wasm: &[u8]) -> anyhow::Result<()> {
    let path = lesson::workspace::wasm_with_names(&target_dir(), source.name, part);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    fs::write(&path, wasm).with_context(|| format!("cannot write {}", path.display()))
}

/// Which part of which crate (its workspace manifest, its package) a
/// [`Built`] is.
pub(super) type PartKey = (PathBuf, String, &'static str);

/// A part's `.wasm` as this process built it, and the files it was compiled
/// from, each with its modification time and size as cargo read it (`None`
/// where that is not known).
pub(super) struct Built {
    key: PartKey,
    how: WasmBuild,
    inputs: Vec<(PathBuf, Option<Stamp>)>,
    wasm: Vec<u8>,
}

/// What [`wasm_of`] built in this process: only a long-running one (`serve
/// --watch`, `check --watch`) ever builds a part twice.
pub(super) static BUILT: Mutex<Vec<Built>> = Mutex::new(Vec::new());

/// A file's modification time and size, as `serve --watch` compares them.
pub(super) type Stamp = (SystemTime, u64);

pub(super) fn file_stamp(path: &Path) -> Option<Stamp> {
    let metadata = fs::metadata(path).ok()?;
    Some((metadata.modified().ok()?, metadata.len()))
}

/// The `.wasm` built for `key` before, if every file it was compiled from is
/// still as it was then, and it can stand in for one built as `how` asks.
pub(super) fn reusable(key: &PartKey, how: WasmBuild) -> Option<Vec<u8>> {
    let cache = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    let built = cache.iter().find(|built| built.key == *key)?;
    (stands_in(built.how, how)
        && built
            .inputs
            .iter()
            .all(|(path, stamp)| stamp.is_some() && file_stamp(path) == *stamp))
    .then(|| built.wasm.clone())
}

/// Whether a `.wasm` built as `built` may be handed out for a build asked as
/// `asked`: a shipped one (LTO) does for a quick one too, being the same code
/// only smaller (under `serve --watch`, the worker's from the first build
/// stays while only `page.rs` is saved); a quick one never passes for a
/// shipped one.
pub(super) fn stands_in(built: WasmBuild, asked: WasmBuild) -> bool {
    built == WasmBuild::Shipped || asked == WasmBuild::Quick
}

/// The files the part `key` was compiled from when this process last built
/// it.
pub(super) fn previous_inputs(key: &PartKey) -> Vec<PathBuf> {
    let cache = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .iter()
        .filter(|built| built.key == *key)
        .flat_map(|built| built.inputs.iter().map(|(path, _)| path.clone()))
        .collect()
}

/// A stamp taken after the build `started`, for a file that was not stamped
/// before it: good only if the file was last modified well before, since one
/// saved while cargo ran may or may not be in what it built. "Well before"
/// allows for file systems that keep modification times to the second, or
/// to two (FAT).
pub(super) fn settled_before(stamp: Option<Stamp>, started: SystemTime) -> Option<Stamp> {
    stamp.filter(|(modified, _)| *modified + Duration::from_secs(2) < started)
}

/// The inputs a dep-info file names: Makefile rules, `target: input ...`,
/// with a space in a name written `\ ` (as cargo writes them).
pub(super) fn dep_info_inputs(text: &str) -> Vec<PathBuf> {
    let mut inputs = Vec::new();
    for line in text.lines() {
        // The target ends at the first `: ` (a drive letter's colon, on
        // Windows, is followed by `\`).
        let Some((_, rest)) = line.split_once(": ") else {
            continue;
        };
        let mut name = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars.peek() == Some(&' ') => {
                    name.push(' ');
                    chars.next();
                }
                c if c.is_whitespace() => {
                    if !name.is_empty() {
                        inputs.push(PathBuf::from(std::mem::take(&mut name)));
                    }
                }
                c => name.push(c),
            }
        }
        if !name.is_empty() {
            inputs.push(PathBuf::from(name));
        }
    }
    inputs
}

#[cfg(test)]
mod tests {
    use crate::build::tests::TempDir;

    use super::*;

    #[test]
    fn dep_info_names_every_input() {
        let text = "/t/wasm/lib.wasm: /w/src/lib.rs /w/src/my\\ page.rs  /w/src/worker.rs\n\n\
                    C:\\w\\lib.d: C:\\w\\src\\lib.rs\n";
        assert_eq!(
            dep_info_inputs(text),
            [
                Path::new("/w/src/lib.rs"),
                Path::new("/w/src/my page.rs"),
                Path::new("/w/src/worker.rs"),
                Path::new("C:\\w\\src\\lib.rs"),
            ]
        );
        assert!(dep_info_inputs("").is_empty());
    }

    #[test]
    fn a_part_is_reused_only_while_its_inputs_are_unchanged() {
        let dir = TempDir::new();
        dir.write("src/page.rs", "// page");
        dir.write("src/lib.rs", "// lib");
        let inputs: Vec<_> = ["src/page.rs", "src/lib.rs"]
            .map(|name| {
                let path = dir.0.join(name);
                let stamp = file_stamp(&path);
                (path, stamp)
            })
            .into();
        let key: PartKey = (dir.0.join("Cargo.toml"), "test-reuse".into(), "page");
        BUILT.lock().unwrap().push(Built {
            key: key.clone(),
            how: WasmBuild::Shipped,
            inputs,
            wasm: b"\0asm".to_vec(),
        });
        assert_eq!(
            reusable(&key, WasmBuild::Shipped).as_deref(),
            Some(&b"\0asm"[..])
        );
        assert_eq!(
            reusable(&key, WasmBuild::Quick).as_deref(),
            Some(&b"\0asm"[..])
        );
        let other: PartKey = (dir.0.join("Cargo.toml"), "test-reuse".into(), "worker");
        assert_eq!(reusable(&other, WasmBuild::Shipped), None);

        // A write that changes the size is seen even where the file
        // system's clock is too coarse to show a new modification time.
        dir.write("src/lib.rs", "// lib, edited");
        assert_eq!(reusable(&key, WasmBuild::Quick), None);
        BUILT.lock().unwrap().retain(|built| built.key != key);
    }

    #[test]
    fn a_quick_wasm_never_passes_for_a_shipped_one() {
        use WasmBuild::{Quick, Shipped};
        assert!(stands_in(Shipped, Shipped));
        assert!(stands_in(Shipped, Quick));
        assert!(stands_in(Quick, Quick));
        // `cargo xtask build`, `check` or `bench` after a quick build in
        // the same process would ship a `.wasm` without LTO.
        assert!(!stands_in(Quick, Shipped));
    }

    #[test]
    fn a_stamp_taken_after_a_build_counts_only_for_an_older_file() {
        let now = SystemTime::now();
        let stamp = |ago: u64| Some((now - Duration::from_secs(ago), 1));
        assert_eq!(settled_before(stamp(60), now), stamp(60));
        // Saved during the build, or just before it on a coarse clock.
        assert_eq!(settled_before(stamp(1), now), None);
        assert_eq!(settled_before(stamp(0), now), None);
        // Missing.
        assert_eq!(settled_before(None, now), None);
    }
}
