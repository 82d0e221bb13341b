//! A browser's process, as both browsers are run: as a process tree of its
//! own (so that dropping it kills every child it started, on every system), its output read
//! all the time (a full pipe would block the browser) into short tails for
//! failure reports, and the line where it names its endpoint handed over.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::util::{kill_tree, own_tree};

/// The last lines of one of the process's streams.
pub type Tail = Arc<Mutex<Lines>>;

/// The last lines of a stream, and how many it has had in all: a count
/// taken now ([`Lines::total`]) marks where a checkpoint's own lines start.
#[derive(Debug, Default)]
pub struct Lines {
    kept: VecDeque<String>,
    total: usize,
}

impl Lines {
    /// How many lines the stream has had so far.
    pub fn total(&self) -> usize {
        self.total
    }

    /// The lines kept, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &String> {
        self.kept.iter()
    }

    /// The lines kept that came after the first `mark` lines.
    pub fn since(&self, mark: usize) -> impl Iterator<Item = &String> {
        let first_kept = self.total - self.kept.len();
        self.kept.iter().skip(mark.saturating_sub(first_kept))
    }

    fn push(&mut self, line: String, keep: usize) {
        self.kept.push_back(line);
        self.total += 1;
        if self.kept.len() > keep {
            self.kept.pop_front();
        }
    }
}

/// How many lines of stderr are kept.
const STDERR_LINES: usize = 40;

/// How many browser processes this harness has started: `check --watch`
/// says it after each round, which shows the browser was kept warm between
/// rounds (a checkpoint may restart it within one, on purpose).
static LAUNCHES: AtomicUsize = AtomicUsize::new(0);

/// How many browser processes this harness has started so far.
pub fn launches() -> usize {
    LAUNCHES.load(Ordering::Relaxed)
}

/// The browser process; killed with all its children when dropped.
pub struct Process {
    pub child: Child,
    pid: u32,
    stderr_tail: Tail,
}

impl Drop for Process {
    fn drop(&mut self) {
        // The tree first: on Windows its children are found through the
        // browser's own process, which must still be there.
        kill_tree(self.pid);
        let _ = self.child.start_kill();
    }
}

impl Process {
    /// Starts `command` (`exe` and its arguments) and reads its stderr,
    /// looking for the line `endpoint` accepts: what it gives comes on the
    /// receiver (which fails if the browser exits first). With `stdout`, the
    /// browser's stdout is kept there (its last 200 lines); else discarded.
    pub fn start(
        mut command: Command,
        exe: &Path,
        endpoint: fn(&str) -> Option<String>,
        stdout: Option<Tail>,
    ) -> Result<(Self, oneshot::Receiver<String>)> {
        let mut child = own_tree(&mut command)
            .stdin(Stdio::null())
            .stdout(if stdout.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let pid = child
            .id()
            .with_context(|| format!("{} exited at once", exe.display()))?;
        LAUNCHES.fetch_add(1, Ordering::Relaxed);
        let stderr_tail = Tail::default();
        let (found, endpoint_rx) = oneshot::channel();
        let stderr = child.stderr.take().context("stderr is not piped")?;
        drain(
            stderr,
            stderr_tail.clone(),
            STDERR_LINES,
            Some((endpoint, found)),
        );
        if let Some(tail) = stdout {
            let stdout = child.stdout.take().context("stdout is not piped")?;
            drain(stdout, tail, 200, None);
        }
        let process = Self {
            child,
            pid,
            stderr_tail,
        };
        Ok((process, endpoint_rx))
    }

    /// The last lines of stderr.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr_tail.lock().unwrap().iter().cloned().collect()
    }

    /// How many lines stderr has had so far.
    pub fn stderr_total(&self) -> usize {
        self.stderr_tail.lock().unwrap().total()
    }

    /// The lines of stderr kept that came after the first `mark`.
    pub fn stderr_since(&self, mark: usize) -> Vec<String> {
        self.stderr_tail
            .lock()
            .unwrap()
            .since(mark)
            .cloned()
            .collect()
    }

    /// The last lines of stderr, as one text for an error message.
    pub fn stderr_text(&self) -> String {
        self.stderr_lines().join("\n")
    }
}

/// What to look for in a stream, and where to send what it gives.
type Watch = (fn(&str) -> Option<String>, oneshot::Sender<String>);

/// Keeps the last `keep` lines of `stream` in `tail`, reading it to its end;
/// sends the first line `found` accepts.
fn drain(
    stream: impl AsyncRead + Unpin + Send + 'static,
    tail: Tail,
    keep: usize,
    found: Option<Watch>,
) {
    tokio::spawn(async move {
        let mut found = found;
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some((accept, _)) = &found
                && let Some(value) = accept(&line)
                && let Some((_, tx)) = found.take()
            {
                let _ = tx.send(value);
            }
            tail.lock().unwrap().push(line, keep);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_since_a_mark_are_those_kept_after_it() {
        let mut lines = Lines::default();
        for n in 0..5 {
            lines.push(format!("line {n}"), 3);
        }
        assert_eq!(lines.total(), 5);
        let since = |mark| lines.since(mark).cloned().collect::<Vec<_>>();
        assert_eq!(since(3), ["line 3", "line 4"]);
        assert_eq!(since(5), Vec::<String>::new());
        // Older than what is kept: what is kept.
        assert_eq!(since(0), ["line 2", "line 3", "line 4"]);
    }
}
