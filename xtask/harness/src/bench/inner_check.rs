//! Benchmark 6, the student's loop with `check --watch`: a one-line edit
//! in `starter/src/worker.rs` saved, and how long until the verdict of the
//! checkpoint the student is on is printed, from a `cargo xtask check
//! starter --watch` started once (its browser kept warm). Beside it, its
//! first check, on whatever `target/` already holds.
//!
//! Its progress lines (`==> building the worker's wasm …`) are timed as
//! they arrive, from the save, so the report also says where the time goes.

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
    let mut section =
        Section::new("6. Inner loop with `check --watch`: one-line edit saved → verdict printed");
    let path = setup.root.join(FILE);
    let target = lesson::workspace::target_dir(&setup.root);
    let sw = target.join("site/starter/sw.js");

    let mut first = Sample::new("s", Better::Lower);
    let mut warm = Sample::new("s", Better::Lower);
    let mut rounds = Vec::new();
    let mut phases = Phases::default();
    let mut first_phases = Phases::default();
    let built_before = already_built(&target);
    let load = Load::now();

    let started = Instant::now();
    let mut watch = Watch::start(&setup.root)?;
    let run = watch
        .round(started, Duration::from_secs(1800))
        .await
        .context("the first check")?;
    println!("bench: inner-check first check: {:.1} s", run.seconds);
    if setup.quick {
        println!("bench: inner-check (smoke mode): one edit saved → verdict");
    } else {
        first.push(run.seconds);
        first_phases.add(&run, "cargo runs xtask");
    }

    let mut warm_rounds = WarmRounds {
        watch: &mut watch,
        warm: &mut warm,
        phases: &mut phases,
        rounds: &mut rounds,
    };
    let measured = warm_rounds.measure(setup, &path, &sw).await;
    watch.stop().await;
    measured?;

    section.method = vec![format!(
        "`cargo xtask check starter --watch`, run as a student runs it (through cargo), started once: its first \
         check (not timed as a sample in smoke mode) builds what `target/` lacks and starts the harness and its \
         browser. Then one-line edits of `{FILE}` are saved, each adding an exported function (`{MARKER}`) so the \
         worker's `.wasm` really changes (the built `sw.js` is checked for it), then reverted; the clock runs from \
         the write until the verdict of the checkpoint the student is on (the harness runs it first) is printed. \
         The file is put back at the end and on any error, and the benchmark stops rather than write over a save \
         someone else made meanwhile. The first check is timed on `target/` as this run found it ({built_before})."
    )];
    if !first.values.is_empty() {
        section.rows.push(Row::without_baseline(
            "first `check --watch` round of the run",
            first,
            "none (reported)",
            Goal::None,
        ));
    }
    section.rows.push(Row::without_baseline(
        "`inner-check`: edit saved → current checkpoint's verdict (warm `check --watch`)",
        warm,
        "none (goal: absolute)",
        goals::CHECK_AFTER_SAVE_S,
    ));
    for (phases, which) in [
        (&first_phases, "the first check's"),
        (&phases, "a warm round's, until the verdict,"),
    ] {
        if !phases.0.is_empty() {
            section.notes.push(format!(
                "Where {which} time goes (each step until the next, by the check's own `==>` lines; \
                 the median when there are several runs): {}.",
                phases.show()
            ));
        }
    }
    if !rounds.is_empty() {
        section.notes.push(format!(
            "The whole warm round (the other checkpoints and the progress too), from the save: {:.1} s (median).",
            median(&rounds)
        ));
    }
    section.notes.push(format!(
        "Measured under a {}: other builds on the machine share its cores.",
        load.until_now()
    ));
    Ok(section)
}

/// The warm rounds: each save's verdict a sample of `warm`, its steps
/// added to `phases`, its whole round's seconds to `rounds`.
struct WarmRounds<'a> {
    watch: &'a mut Watch,
    warm: &'a mut Sample,
    phases: &'a mut Phases,
    rounds: &'a mut Vec<f64>,
}

impl WarmRounds<'_> {
    /// Edits `path` one line at a time, then reverts it (only the first
    /// edit in smoke mode), timing the verdict after each save. `sw` is the
    /// built worker script, which must show each edit and each revert.
    async fn measure(&mut self, setup: &Setup, path: &Path, sw: &Path) -> Result<()> {
        let original = std::fs::read(path).with_context(|| format!("cannot read {FILE}"))?;
        for n in 1..=setup.size(3, 1) {
            let mut edited = original.clone();
            if !edited.ends_with(b"\n") {
                edited.push(b'\n');
            }
            edited.extend_from_slice(edit_line(n).as_bytes());
            let saved = Instant::now();
            let guard = Edit::apply(path, &original, edited)?;
            self.sample(saved, &format!("edit {n}")).await?;
            ensure!(
                contains(sw, MARKER)?,
                "the edit was not built: {} does not export `{MARKER}`",
                sw.display()
            );
            let saved = Instant::now();
            guard.revert()?;
            if setup.quick {
                // The revert's round still runs: waited for, not counted.
                self.watch.round(saved, ROUND_TIMEOUT).await?;
                break;
            }
            self.sample(saved, &format!("revert {n}")).await?;
            ensure!(
                !contains(sw, MARKER)?,
                "the revert was not built: {} still exports `{MARKER}`",
                sw.display()
            );
        }
        Ok(())
    }

    async fn sample(&mut self, saved: Instant, what: &str) -> Result<()> {
        let run = self
            .watch
            .round(saved, ROUND_TIMEOUT)
            .await
            .with_context(|| format!("the round after the {what}"))?;
        println!(
            "bench: inner-check {what}: verdict {:.1} s, whole round {:.1} s",
            run.seconds, run.round_seconds
        );
        self.warm.push(run.seconds);
        self.rounds.push(run.round_seconds);
        self.phases.add(&run, "the save noticed");
        Ok(())
    }
}

/// The longest a warm round may take.
const ROUND_TIMEOUT: Duration = Duration::from_secs(600);

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

/// One round of `cargo xtask check starter --watch`, timed from the save
/// (or, for the first, from its start).
struct Run {
    /// Until the verdict of the checkpoint the student is on (the harness
    /// runs it first); for a round with none, until the round is over.
    seconds: f64,
    /// Until the round is over (its progress printed).
    round_seconds: f64,
    /// Each `==>` line before the verdict (site-specific tails cut off),
    /// with the seconds until it printed.
    steps: Vec<(String, f64)>,
}

/// How long each step of a check took (until the next step, or the end),
/// over several runs, in the order the steps first printed.
#[derive(Default)]
struct Phases(Vec<(String, Vec<f64>)>);

impl Phases {
    /// `before` names what happens before the first line (cargo looking
    /// at xtask, or xtask noticing the save).
    fn add(&mut self, run: &Run, before: &str) {
        let mut starts = vec![(before.to_owned(), 0.0)];
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

/// `cargo xtask check starter --watch`, its output read as it comes, each
/// line with the moment it came.
struct Watch {
    child: tokio::process::Child,
    group: Option<u32>,
    lines: tokio::sync::mpsc::UnboundedReceiver<(String, Instant)>,
}

impl Watch {
    fn start(root: &Path) -> Result<Watch> {
        let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        // A tree of its own, so that on an error the harness and the
        // browser it started go too.
        own_tree(&mut command)
            .args(["xtask", "check", "starter", "--watch"])
            .current_dir(root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Ours are the harness's: the xtask it runs must build as a
        // shell's would.
        for name in lesson::workspace::cargo_run_vars() {
            command.env_remove(name);
        }
        let mut child = command
            .spawn()
            .context("cannot run `cargo xtask check --watch`")?;
        let group = child.id();
        let (sender, lines) = tokio::sync::mpsc::unbounded_channel();
        let stdout = child.stdout.take().context("no stdout")?;
        let stderr = child.stderr.take().context("no stderr")?;
        let to_stdout = sender.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = to_stdout.send((line, Instant::now()));
            }
        });
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                // Not a step even if it looks like one: only stdout has those.
                let _ = sender.send((format!("stderr: {line}"), Instant::now()));
            }
        });
        Ok(Watch {
            child,
            group,
            lines,
        })
    }

    /// Reads one round, until `check --watch` says it watches again, and
    /// times it from `from`.
    async fn round(&mut self, from: Instant, within: Duration) -> Result<Run> {
        let mut steps = Vec::new();
        let mut output = Vec::new();
        let mut current_first = false;
        let mut verdict = None;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let Ok(next) = tokio::time::timeout_at(deadline, self.lines.recv()).await else {
                bail!(
                    "`cargo xtask check --watch` gave no verdict within {within:?}:\n{}",
                    tail(&output)
                );
            };
            let Some((line, at)) = next else {
                bail!(
                    "`cargo xtask check --watch` ended ({:?}):\n{}",
                    self.child.try_wait(),
                    tail(&output)
                );
            };
            let seconds = at.duration_since(from).as_secs_f64();
            if line.starts_with("==> watching") {
                return Ok(Run {
                    seconds: verdict.unwrap_or(seconds),
                    round_seconds: seconds,
                    steps,
                });
            }
            let trimmed = line.trim_start();
            if trimmed.starts_with("the checkpoint you are on, first") {
                current_first = true;
            } else if current_first
                && verdict.is_none()
                && (trimmed.starts_with('✓') || trimmed.starts_with('✗'))
            {
                verdict = Some(seconds);
            } else if let Some(step) = line.strip_prefix("==> ")
                && verdict.is_none()
            {
                // `site ready: <path> (build <id>)` differs every time.
                let step = step.split(':').next().unwrap_or(step).trim().to_owned();
                steps.push((step, seconds));
            }
            output.push(line);
        }
    }

    /// Ends it: its harness, its stdin closed, stops the browser and the
    /// server; whatever is left of the tree a moment later is killed.
    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some(group) = self.group {
            kill_tree(group);
        }
    }
}

/// The last lines of an output, for an error.
fn tail(output: &[String]) -> String {
    output[output.len().saturating_sub(15)..].join("\n")
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
            phases.add(
                &Run {
                    seconds: end,
                    round_seconds: end + 1.0,
                    steps: vec![("build".into(), 1.0), ("check".into(), 4.0)],
                },
                "cargo runs xtask",
            );
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
