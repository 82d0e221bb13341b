//! A workspace copied together with its `target/` writes only into itself:
//! one step of `cargo xtask test`.
//!
//! An instructor prepares a workspace (everything built) and copies it, for
//! each student or to another disk. The copy's `target/` holds binaries
//! built in the original; had a tool taken its root from where it was
//! compiled (`env!("CARGO_MANIFEST_DIR")`), the copy would build its book,
//! keep its room and read its checkpoints in the original. So this copies
//! the workspace's files and the tools' binaries, changes a title in the
//! copy's checkpoint file, and runs the book, the room and the harness in
//! the copy twice — as `cargo xtask` starts them (told where the workspace
//! is) and as someone runs them by hand there — then checks that what they
//! wrote is in the copy, that they read the copy's lesson, and that the
//! original's `target/book` and `target/room` did not change.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail, ensure};

use crate::command::{cargo, run as run_command, show, step, tell_workspace};
use crate::workspace::{project_root, target_dir};

/// The tools `cargo xtask` starts, each its own binary.
const TOOLS: [&str; 3] = ["book", "room", "harness"];

/// What the copy's checkpoint file calls its first checkpoint: the copy's
/// own, so that a tool that shows it read the copy.
const COPY_MARK: &str = " (in the copy)";

pub fn run() -> anyhow::Result<()> {
    let mut build = cargo();
    build.arg("build");
    for tool in TOOLS {
        build.args(["-p", tool]);
    }
    step("building the book, the room and the harness", || {
        run_command(&mut build)
    })?;
    let scratch = Scratch::new()?;
    let copy = scratch.0.join("workspace");
    step("copying the workspace, with the tools' binaries", || {
        copy_workspace(&project_root(), &copy)
    })?;
    let original = target_dir();
    let watched = [original.join("book"), original.join("room")];
    let before = snapshot(&watched);
    for told in [true, false] {
        let how = if told {
            "as `cargo xtask` starts them"
        } else {
            "by hand, in the copy"
        };
        step(
            &format!("the book, the room and the harness in the copy, {how}"),
            || run_tools(&copy, told),
        )?;
    }
    let after = snapshot(&watched);
    if let Some(changed) = first_change(&before, &after) {
        bail!(
            "a tool run in a copy of the workspace wrote into the original: {} changed",
            changed.display()
        );
    }
    println!(
        "==> the copy wrote only into itself; the original's target/book and target/room are as they were"
    );
    Ok(())
}

/// Runs each tool in the copy at `copy` (told where it is, or not, as a
/// user there would run it) and checks that it read and wrote the copy.
fn run_tools(copy: &Path, told: bool) -> anyhow::Result<()> {
    let target = copy.join("target");
    let _ = fs::remove_dir_all(target.join("book"));
    let _ = fs::remove_dir_all(target.join("room"));

    let output = tool_output(tool(copy, "harness", told).arg("list"))?;
    ensure!(
        output.contains(COPY_MARK),
        "the harness, run in the copy, did not list the copy's checkpoints:\n{output}"
    );

    tool_output(tool(copy, "book", told).arg("build"))?;
    let book = target.join("book/index.html");
    ensure!(
        book.is_file(),
        "the book, built in the copy, is not at {}",
        book.display()
    );

    let room = target.join("room/room.sqlite");
    let mut serve = tool(copy, "room", told);
    serve.args(["serve", "--port", &free_port()?.to_string()]);
    let shown = show(&serve);
    let mut child = serve
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{shown}`"))?;
    let started = Instant::now();
    let found = loop {
        if room.is_file() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(30) || child.try_wait()?.is_some() {
            break false;
        }
        thread::sleep(Duration::from_millis(100));
    };
    let _ = child.kill();
    let _ = child.wait();
    if !found {
        let mut errors = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = stderr.read_to_string(&mut errors);
        }
        bail!(
            "the room, started in the copy, kept no database at {}:\n{errors}",
            room.display()
        );
    }
    Ok(())
}

/// The copy's binary of `tool`, run in the copy: told where the workspace
/// is, as `cargo xtask` tells the tools it starts, or not at all.
fn tool(copy: &Path, tool: &str, told: bool) -> Command {
    let binary = copy
        .join("target/debug")
        .join(format!("{tool}{}", std::env::consts::EXE_SUFFIX));
    let mut command = Command::new(binary);
    command.current_dir(copy);
    // Nothing of ours: a user in the copy has none of it.
    command
        .env_remove(lesson::workspace::ROOT_VAR)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_MANIFEST_DIR");
    if told {
        tell_workspace(&mut command, copy, &copy.join("target"));
    }
    command
}

/// Runs `command`; its standard output, or an error with both outputs.
fn tool_output(command: &mut Command) -> anyhow::Result<String> {
    let shown = show(command);
    let output = command
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    ensure!(
        output.status.success(),
        "`{shown}` failed ({}) in the copy:\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(stdout)
}

/// Copies the workspace at `root` to `copy` without its `target/` and
/// `.git/`, then the tools' binaries into the copy's `target/debug/`, and
/// marks the copy's first checkpoint's title.
fn copy_workspace(root: &Path, copy: &Path) -> anyhow::Result<()> {
    copy_files(
        root,
        copy,
        &[root.join("target"), target_dir(), root.join(".git")],
    )?;
    let debug = copy.join("target/debug");
    fs::create_dir_all(&debug).with_context(|| format!("cannot create {}", debug.display()))?;
    for tool in TOOLS {
        let name = format!("{tool}{}", std::env::consts::EXE_SUFFIX);
        let from = target_dir().join("debug").join(&name);
        fs::copy(&from, debug.join(&name))
            .with_context(|| format!("cannot copy {}", from.display()))?;
    }
    let file = copy.join(lesson::workspace::CHECKPOINTS);
    let text =
        fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
    // The first `title = "…"` line, the first checkpoint's title.
    let mut marked = false;
    let lines: Vec<String> = text
        .lines()
        .map(|line| match line.strip_suffix('"') {
            Some(title) if !marked && line.starts_with("title = \"") => {
                marked = true;
                format!("{title}{COPY_MARK}\"")
            }
            _ => line.to_owned(),
        })
        .collect();
    ensure!(marked, "{} has no `title = \"…\"` line", file.display());
    let marked = lines.join("\n") + "\n";
    fs::write(&file, marked).with_context(|| format!("cannot write {}", file.display()))
}

/// Copies every file under `from` to `to`, but not under `skip`.
fn copy_files(from: &Path, to: &Path, skip: &[PathBuf]) -> anyhow::Result<()> {
    fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let path = entry?.path();
        if skip.contains(&path) {
            continue;
        }
        let target = to.join(path.file_name().unwrap_or_default());
        if path.is_dir() {
            copy_files(&path, &target, skip)?;
        } else {
            fs::copy(&path, &target).with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

/// Every file under `dirs`, with its modification time and size.
type Snapshot = BTreeMap<PathBuf, (Option<SystemTime>, u64)>;

fn snapshot(dirs: &[PathBuf]) -> Snapshot {
    let mut files = Snapshot::new();
    let mut pending: Vec<PathBuf> = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.metadata() {
                Ok(metadata) if metadata.is_dir() => pending.push(path),
                Ok(metadata) => {
                    files.insert(path, (metadata.modified().ok(), metadata.len()));
                }
                Err(_) => {}
            }
        }
    }
    files
}

/// The first file added, removed or changed between two snapshots.
fn first_change(before: &Snapshot, after: &Snapshot) -> Option<PathBuf> {
    before
        .iter()
        .find(|(path, stamp)| after.get(*path) != Some(stamp))
        .or_else(|| after.iter().find(|(path, _)| !before.contains_key(*path)))
        .map(|(path, _)| path.clone())
}

/// A port nobody listens on now.
fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))
        .context("cannot find a free port")?
        .local_addr()?
        .port())
}

/// A directory under the system's temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("xtask-copied-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_anywhere_is_found() {
        let stamp = |len| (None, len);
        let before = Snapshot::from([
            (PathBuf::from("a"), stamp(1)),
            (PathBuf::from("b"), stamp(2)),
        ]);
        assert_eq!(first_change(&before, &before.clone()), None);
        let mut after = before.clone();
        after.insert("b".into(), stamp(3));
        assert_eq!(first_change(&before, &after), Some("b".into()));
        let mut after = before.clone();
        after.insert("c".into(), stamp(1));
        assert_eq!(first_change(&before, &after), Some("c".into()));
        let mut after = before.clone();
        after.remove(Path::new("a"));
        assert_eq!(first_change(&before, &after), Some("a".into()));
    }
}
