//! One step of `cargo xtask test`: `check --watch` gives a verdict after
//! each save from one browser, kept warm.
//!
//! It runs `cargo xtask check solution --watch --only page-worker`, waits
//! for the first verdict (passing), saves a breaking edit of
//! `solution/src/worker.rs` (the worker answers the page with an error),
//! waits for the failing verdict, puts the file back, and waits for the
//! passing one again. The harness says, as each round begins, its process
//! id and how many browsers it started between rounds: one harness, and
//! none, or the browser was not kept warm. The file is put back at the end
//! and on any error, and never over a save someone else made meanwhile.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use lesson::Stage;

use crate::workspace::project_root;

/// The file edited: only the worker's `.wasm` is built from it, so a save
/// costs no server build (and no new harness).
const FILE: &str = "src/worker.rs";
/// The line the edit replaces, and what with: the worker still stores the
/// article, but answers the page with an error.
const ANSWER: &str = "reply(WorkerReply::Queued { pending })?;";
const BROKEN: &str =
    "reply(WorkerReply::Error { message: format!(\"broken on purpose ({pending})\") })?;";

pub fn run() -> anyhow::Result<()> {
    let path = Stage::Solution.dir(&project_root()).join(FILE);
    let original = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    ensure!(
        original.matches(ANSWER).count() == 1,
        "{} no longer has the line `{ANSWER}` once: update this test's edit",
        path.display()
    );
    let mut watch = Watch::start()?;
    let first = watch.round(Duration::from_secs(900))?;
    verdict(&first, '✓')?;
    let edit = Edit::apply(&path, &original, original.replace(ANSWER, BROKEN))?;
    let broken = watch.round(Duration::from_secs(300))?;
    verdict(&broken, '✗')?;
    edit.revert()?;
    let fixed = watch.round(Duration::from_secs(300))?;
    verdict(&fixed, '✓')?;
    let rounds = [&first, &broken, &fixed].map(|round| warm(round));
    let pid = rounds[0].as_ref().map_or(0, |(_, pid, _)| *pid);
    for (n, said) in (1..).zip(rounds) {
        let (round, its_pid, between) = said?;
        ensure!(
            (round, its_pid, between) == (n, pid, 0),
            "the browser was not kept warm: the save's check {n} ran as round {round} of harness {its_pid} \
             (the first: harness {pid}), {between} browsers started between its rounds"
        );
    }
    println!("==> three verdicts, one harness (pid {pid}), no browser started between rounds");
    Ok(())
}

/// The round's line for `page-worker` starts with `mark` (✓ or ✗).
fn verdict(round: &[String], mark: char) -> anyhow::Result<()> {
    let wanted = format!("{mark} page-worker");
    ensure!(
        round
            .iter()
            .any(|line| line.trim_start().starts_with(&wanted)),
        "expected `{wanted}` in this round:\n{}",
        round.join("\n")
    );
    Ok(())
}

/// The harness's line as the round began: which round of its own, its
/// pid, and how many browsers it started between rounds so far.
fn warm(round: &[String]) -> anyhow::Result<(usize, u32, usize)> {
    let line = round
        .iter()
        .find_map(|line| line.strip_prefix("harness: round "))
        .with_context(|| {
            format!(
                "no line `harness: round …` in this round:\n{}",
                round.join("\n")
            )
        })?;
    let (n, rest) = line
        .split_once(" (harness pid ")
        .context("no pid in the round's line")?;
    let (pid, rest) = rest.split_once(';').context("no `;` in the round's line")?;
    let between = rest
        .trim_start()
        .strip_prefix("browsers started between rounds: ")
        .and_then(|n| n.strip_suffix(')'))
        .context("no count of browsers in the round's line")?;
    Ok((n.parse()?, pid.parse()?, between.parse()?))
}

/// `cargo xtask check solution --watch`, its output read line by line.
struct Watch {
    child: Child,
    lines: Receiver<String>,
}

impl Watch {
    fn start() -> anyhow::Result<Watch> {
        let exe = std::env::current_exe().context("cannot find xtask's own binary")?;
        let mut child = Command::new(exe)
            .args(["check", "solution", "--watch", "--only", "page-worker"])
            .current_dir(project_root())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run `cargo xtask check solution --watch`")?;
        let (sender, lines) = mpsc::channel();
        forward(child.stdout.take().context("no stdout")?, sender.clone());
        forward(child.stderr.take().context("no stderr")?, sender);
        Ok(Watch { child, lines })
    }

    /// The lines of one round, until it says it watches again.
    fn round(&mut self, within: Duration) -> anyhow::Result<Vec<String>> {
        let deadline = Instant::now() + within;
        let mut round = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with("==> watching") => return Ok(round),
                Ok(line) => round.push(line),
                Err(RecvTimeoutError::Timeout) => bail!(
                    "no verdict within {within:?}; the round so far:\n{}",
                    round.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => bail!(
                    "`cargo xtask check --watch` ended ({:?}); its last lines:\n{}",
                    self.child.try_wait(),
                    round.join("\n")
                ),
            }
        }
    }
}

/// Stopping `check --watch` closes the harness's stdin: it stops its
/// browser and server and ends.
impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends each line of `from` on `to`, and shows it, indented.
fn forward(from: impl Read + Send + 'static, to: mpsc::Sender<String>) {
    thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            println!("  | {line}");
            if to.send(line).is_err() {
                break;
            }
        }
    });
}

/// The test's edit of a file, put back when dropped; never over someone
/// else's save.
struct Edit {
    path: PathBuf,
    original: String,
    edited: String,
}

impl Edit {
    fn apply(path: &Path, original: &str, edited: String) -> anyhow::Result<Edit> {
        std::fs::write(path, &edited)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(Edit {
            path: path.to_owned(),
            original: original.to_owned(),
            edited,
        })
    }

    fn revert(self) -> anyhow::Result<()> {
        self.put_back()
    }

    fn put_back(&self) -> anyhow::Result<()> {
        let now = std::fs::read_to_string(&self.path)
            .with_context(|| format!("cannot read {}", self.path.display()))?;
        if now == self.original {
            return Ok(());
        }
        ensure!(
            now == self.edited,
            "{} changed while the test ran (someone saved it); left as it is",
            self.path.display()
        );
        std::fs::write(&self.path, &self.original)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

impl Drop for Edit {
    fn drop(&mut self) {
        if let Err(error) = self.put_back() {
            eprintln!("check --watch test: {error:#}");
        }
    }
}
