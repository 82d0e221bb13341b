//! Benchmark 6, the student's loop with `check`: a one-line edit in
//! `starter/src/worker.rs`, then `cargo xtask check starter`, as a student
//! types it; how long until it has printed its result. Beside it, the first
//! `check` of the run, on whatever `target/` already holds.
//!
//! The check's own progress lines (`==> building the worker's wasm …`) are
//! timed as they arrive, so the report also says where the time goes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use lesson::Stage;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use super::goals;
use super::report::{Better, Goal, Load, Row, Sample, Section, median};
use super::setup::Setup;
use crate::util::{kill_tree, own_tree};

/// The file edited: only the worker's `.wasm` is built from it (natively
/// and in the page's build it is `cfg`'d out), as in most of the lesson.
const FILE: &str = "starter/src/worker.rs";

/// The name of the function the edit exports. Exported, so that the worker's
/// `.wasm` and its glue (and with them the site's build id) really change,
/// and the site's `sw.js` shows the edit was built.
const MARKER: &str = "bench_inner_check_marker";

/// The one line the edit appends; `n` makes each edit's build a new one.
/// A full path to the attribute, so it needs no `use` in the file.
fn edit_line(n: usize) -> String {
    format!("#[wasm_bindgen::prelude::wasm_bindgen] pub fn {MARKER}() -> u32 {{ {n} }}\n")
}

pub async fn run(setup: &Setup) -> Result<Section> {
    let mut section = Section::new("6. Inner loop with `check`: one-line edit → result printed");
    let path = setup.root.join(FILE);
    let target = lesson::workspace::target_dir(&setup.root);
    let sw = target.join("site/starter/sw.js");

    let mut first = Sample::new("s", Better::Lower);
    let mut warm = Sample::new("s", Better::Lower);
    let mut phases = Phases::default();
    let mut first_phases = Phases::default();
    let built_before = already_built(&target);
    let load = Load::now();

    if setup.quick {
        // One edit and its check: the smallest run that still proves the
        // measurement works. No separate first check (it would double the
        // time this adds to `cargo xtask test`).
        println!(
            "bench: inner-check (smoke mode): one edit → check; the first check is not timed separately"
        );
    } else {
        let run = check(&setup.root).await.context("the first check")?;
        println!("bench: inner-check first check: {:.1} s", run.seconds);
        first.push(run.seconds);
        first_phases.add(&run);
    }

    warm_checks(setup, &path, &sw, &mut warm, &mut phases).await?;

    section.method = vec![format!(
        "`cargo xtask check starter`, run as a student runs it (through cargo, so cargo's look at whether xtask \
         is up to date is timed too), from its start until it has exited, its result printed. A warm check \
         follows a one-line edit of `{FILE}`: the line adds an exported function (`{MARKER}`), so the worker's \
         `.wasm` really changes, and the built `sw.js` is checked for it; the edit is then reverted, and the check \
         after the revert is a sample too. The file is put back at the end and on any error, and the benchmark \
         stops rather than write over a save someone else made meanwhile. \
         The first check of the run (not in smoke mode) is timed on `target/` as this run found it ({built_before}); \
         a check from an empty `target/` is the first serve's build plus the harness's, too long to repeat in every run."
    )];
    if !first.values.is_empty() {
        section.rows.push(Row::without_baseline(
            "first `check` of the run",
            first,
            "none (reported)",
            Goal::None,
        ));
    }
    section.rows.push(Row::without_baseline(
        "`inner-check`: edit → `check` printed (warm)",
        warm,
        "none (goal: absolute)",
        goals::CHECK_AFTER_SAVE_S,
    ));
    for (phases, which) in [
        (&first_phases, "the first check's"),
        (&phases, "a warm check's"),
    ] {
        if !phases.0.is_empty() {
            section.notes.push(format!(
                "Where {which} time goes (each step until the next, by the check's own `==>` lines; \
                 the median when there are several runs): {}.",
                phases.show()
            ));
        }
    }
    section.notes.push(format!(
        "Measured under a {}: other builds on the machine share its cores.",
        load.until_now()
    ));
    if setup.quick {
        section.notes.push(
            "Smoke mode: one edit's check only; the first check is not timed separately.".into(),
        );
    }
    Ok(section)
}

/// Edits `path` one line at a time, then reverts it, and times the check
/// after each (only the first edit in smoke mode); each is a sample of
/// `warm`, its steps added to `phases`. `sw` is the built worker script,
/// which must show each edit and each revert.
async fn warm_checks(
    setup: &Setup,
    path: &Path,
    sw: &Path,
    warm: &mut Sample,
    phases: &mut Phases,
) -> Result<()> {
    let original = std::fs::read(path).with_context(|| format!("cannot read {FILE}"))?;
    for n in 1..=setup.size(3, 1) {
        let mut edited = original.clone();
        if !edited.ends_with(b"\n") {
            edited.push(b'\n');
        }
        edited.extend_from_slice(edit_line(n).as_bytes());
        let guard = Edit::apply(path, &original, edited)?;
        let run = check(&setup.root)
            .await
            .context("the check after the edit")?;
        ensure!(
            contains(sw, MARKER)?,
            "the edit was not built: {} does not export `{MARKER}`",
            sw.display()
        );
        println!("bench: inner-check edit {n}: {:.1} s", run.seconds);
        warm.push(run.seconds);
        phases.add(&run);
        guard.revert()?;
        if setup.quick {
            break;
        }
        let run = check(&setup.root)
            .await
            .context("the check after the revert")?;
        ensure!(
            !contains(sw, MARKER)?,
            "the revert was not built: {} still exports `{MARKER}`",
            sw.display()
        );
        println!("bench: inner-check revert {n}: {:.1} s", run.seconds);
        warm.push(run.seconds);
        phases.add(&run);
    }
    Ok(())
}

/// What of a check's work was in `target/` before the first check: each
/// may still be out of date (cargo decides), but a missing one is built.
fn already_built(target: &Path) -> String {
    let exe = std::env::consts::EXE_SUFFIX;
    let parts = [
        ("xtask", format!("debug/xtask{exe}")),
        ("the harness", format!("debug/harness{exe}")),
        (
            "the starter's server",
            format!("debug/{}{exe}", Stage::Starter.binary()),
        ),
        // One file for both parts, in the wasm's own target directory
        // (xtask's `build/wasm.rs`).
        (
            "the wasm",
            format!(
                "wasm/wasm32-unknown-unknown/wasm/{}.wasm",
                Stage::Starter.lib_name()
            ),
        ),
    ];
    let (there, missing): (Vec<_>, Vec<_>) = parts
        .iter()
        .partition(|(_, file)| target.join(file).is_file());
    let names = |list: Vec<&(&str, String)>| {
        list.iter()
            .map(|(what, _)| *what)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match (there.is_empty(), missing.is_empty()) {
        (_, true) => format!("{} were built, up to date or not", names(there)),
        (true, _) => format!("none of {} was built", names(missing)),
        _ => format!("{} built; {} not", names(there), names(missing)),
    }
}

fn contains(file: &Path, text: &str) -> Result<bool> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(String::from_utf8_lossy(&bytes).contains(text))
}

/// One run of `cargo xtask check starter`.
struct Run {
    seconds: f64,
    /// Each `==>` line of the check (site-specific tails cut off) with the
    /// seconds from the start until it printed.
    steps: Vec<(String, f64)>,
}

/// How long each step of a check took (until the next step, or the end),
/// over several runs, in the order the steps first printed.
#[derive(Default)]
struct Phases(Vec<(String, Vec<f64>)>);

impl Phases {
    fn add(&mut self, run: &Run) {
        // Before its first line: cargo looking at xtask, and xtask starting.
        let mut starts = vec![("cargo runs xtask".to_owned(), 0.0)];
        starts.extend(run.steps.iter().cloned());
        for (i, (step, start)) in starts.iter().enumerate() {
            let end = starts.get(i + 1).map_or(run.seconds, |(_, t)| *t);
            match self.0.iter_mut().find(|(known, _)| known == step) {
                Some((_, seconds)) => seconds.push(end - start),
                None => self.0.push((step.clone(), vec![end - start])),
            }
        }
    }

    fn show(&self) -> String {
        self.0
            .iter()
            .map(|(step, seconds)| format!("{step} {:.1} s", median(seconds)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Runs `cargo xtask check starter` in `root` and times it, reading its
/// output as it comes.
async fn check(root: &Path) -> Result<Run> {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // A tree of its own, so that on a timeout the server and the browser it
    // started go too.
    own_tree(&mut command)
        .args(["xtask", "check", "starter"])
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let mut child = command.spawn().context("cannot run `cargo xtask check`")?;
    let group = child.id().context("`cargo xtask check` exited at once")?;
    // Both outputs, each line with the time it came, through one channel:
    // read apart from the wait, so that a process the check left behind
    // holding the pipe open cannot hold the clock.
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().context("no stdout")?;
    let stderr = child.stderr.take().context("no stderr")?;
    let to_stdout = sender.clone();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = to_stdout.send((line, started.elapsed().as_secs_f64()));
        }
    });
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            // Not a step even if it looks like one: only stdout has those.
            let _ = sender.send((format!("stderr: {line}"), started.elapsed().as_secs_f64()));
        }
    });
    let status = match tokio::time::timeout(Duration::from_secs(1800), child.wait()).await {
        Ok(status) => status.context("cannot wait for `cargo xtask check`")?,
        Err(_) => {
            kill_tree(group);
            bail!("`cargo xtask check starter` took over 30 minutes");
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let mut steps = Vec::new();
    let mut output = Vec::new();
    // What is left in the pipes comes at once; a second is plenty.
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while let Some((line, at)) = received.recv().await {
            if let Some(step) = line.strip_prefix("==> ") {
                // `site ready: <path> (build <id>)` differs every time.
                let step = step.split(':').next().unwrap_or(step).trim().to_owned();
                steps.push((step, at));
            }
            output.push(line);
        }
    })
    .await;
    // The starter fails the lesson's checkpoints, so the check exits with
    // an error either way: what tells a result from a broken build is that
    // the checkpoints ran at all.
    if !steps
        .iter()
        .any(|(step, _)| step.starts_with("checking starter"))
    {
        let tail = &output[output.len().saturating_sub(15)..];
        bail!(
            "`cargo xtask check starter` ({status}) never reached its checkpoints:\n{}",
            tail.join("\n")
        );
    }
    Ok(Run { seconds, steps })
}

/// The benchmark's edit of a file. It never writes over someone else's
/// save: each write first checks the file is as the benchmark left it.
struct Edit {
    path: PathBuf,
    original: Vec<u8>,
    edited: Vec<u8>,
    reverted: bool,
}

impl Edit {
    /// Writes `edited` in place of `original`, which must be what the file
    /// holds now.
    fn apply(path: &Path, original: &[u8], edited: Vec<u8>) -> Result<Edit> {
        let now = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        ensure!(
            now == original,
            "{} changed while the benchmark ran (someone saved it); stopping rather than edit over it",
            path.display()
        );
        std::fs::write(path, &edited)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Edit {
            path: path.to_owned(),
            original: original.to_owned(),
            edited,
            reverted: false,
        })
    }

    /// Puts the original back.
    fn revert(mut self) -> Result<()> {
        self.reverted = true;
        self.put_back()
    }

    fn put_back(&self) -> Result<()> {
        let now = std::fs::read(&self.path)
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        if now == self.original {
            return Ok(());
        }
        ensure!(
            now == self.edited,
            "{} changed while the benchmark ran (someone saved it); left as it is now: remove the line \
             `pub fn {MARKER}` if it is still there",
            self.path.display()
        );
        std::fs::write(&self.path, &self.original)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl Drop for Edit {
    fn drop(&mut self) {
        if !self.reverted
            && let Err(error) = self.put_back()
        {
            eprintln!("bench: inner-check: {error:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::TempDir;

    #[test]
    fn each_step_lasts_until_the_next_and_runs_are_merged_by_step() {
        let mut phases = Phases::default();
        for end in [10.0, 12.0] {
            phases.add(&Run {
                seconds: end,
                steps: vec![("build".into(), 1.0), ("check".into(), 4.0)],
            });
        }
        assert_eq!(
            phases.show(),
            "cargo runs xtask 1.0 s; build 3.0 s; check 7.0 s"
        );
    }

    #[test]
    fn the_edit_is_reverted_but_never_over_someone_elses_save() {
        let dir = TempDir::new("bench-inner-check-test").unwrap();
        let path = dir.path().join("worker.rs");
        std::fs::write(&path, "original\n").unwrap();
        let edited = format!("original\n{}", edit_line(1)).into_bytes();

        // Reverted on drop, as on an error.
        drop(Edit::apply(&path, b"original\n", edited.clone()).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"original\n");

        // Someone saved meanwhile: their file stays, and the revert says so.
        let edit = Edit::apply(&path, b"original\n", edited.clone()).unwrap();
        std::fs::write(&path, "theirs\n").unwrap();
        let error = edit.revert().unwrap_err().to_string();
        assert!(error.contains("someone saved it"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs\n");

        // Nor is an edit made over a file that is not what was read.
        let error = Edit::apply(&path, b"original\n", edited)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("someone saved it"), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs\n");
    }
}
