//! A browser's process, as both browsers are run: in a process group of its
//! own (so that dropping it kills every child it started), its output read
//! all the time (a full pipe would block the browser) into short tails for
//! failure reports, and the line where it names its endpoint handed over.

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

use crate::util::kill_process_group;

/// The last lines of one of the process's streams.
pub type Tail = Arc<Mutex<VecDeque<String>>>;

/// How many lines of stderr are kept.
const STDERR_LINES: usize = 40;

/// The browser process; killed with all its children when dropped.
pub struct Process {
    pub child: Child,
    pid: u32,
    stderr_tail: Tail,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        kill_process_group(self.pid);
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
        let mut child = command
            .stdin(Stdio::null())
            .stdout(if stdout.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", exe.display()))?;
        let pid = child
            .id()
            .with_context(|| format!("{} exited at once", exe.display()))?;
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
            let mut tail = tail.lock().unwrap();
            tail.push_back(line);
            if tail.len() > keep {
                tail.pop_front();
            }
        }
    });
}
