//! Small pieces every part of the harness needs: temporary directories that
//! clean up after themselves, free ports, starting and killing process
//! trees.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use lesson::Stage;

/// A task that lives as long as its owner: aborted when dropped, so a
/// listener or a connection that the harness started never outlives the
/// check that started it.
pub struct Background(tokio::task::JoinHandle<()>);

impl Background {
    pub fn spawn(task: impl Future<Output = ()> + Send + 'static) -> Self {
        Background(tokio::spawn(task))
    }

    /// Aborts the task and waits until it has ended: what it owned (a
    /// listening socket, say) is closed when this returns.
    pub async fn stop(mut self) {
        self.0.abort();
        let _ = (&mut self.0).await;
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A fresh directory (by default under the system's temp dir), removed on
/// drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self> {
        Self::new_in(&std::env::temp_dir(), prefix)
    }

    /// A fresh directory in `parent` (made if missing), removed on drop.
    pub fn new_in(parent: &Path, prefix: &str) -> Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = parent.join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A process we just killed may still be closing files in it.
        for _ in 0..20 {
            match std::fs::remove_dir_all(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => return,
            }
        }
    }
}

/// A TCP port on 127.0.0.1 that nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Makes `command` start a process tree of its own: the process it starts
/// and everything that one starts, apart from ours. Two things follow, on
/// every system. Ctrl-C in the terminal reaches only the harness, which
/// then stops what it started in order (the browser, then the server)
/// instead of every process dying at once. And [`kill_tree`] can stop the
/// whole tree: a browser is a dozen processes, `cargo xtask serve` starts a
/// server.
///
/// - **Unix:** a process group of its own, whose id is the process's id.
///   The terminal sends its SIGINT to its foreground group only.
/// - **Windows:** a process group of its own too
///   (`CREATE_NEW_PROCESS_GROUP`), which Windows leaves out when a console
///   sends Ctrl-C to the processes attached to it.
pub fn own_tree(command: &mut tokio::process::Command) -> &mut tokio::process::Command {
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(windows)]
    {
        // From the Windows SDK's WinBase.h.
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        command.creation_flags(CREATE_NEW_PROCESS_GROUP);
    }
    command
}

/// Kills the process `pid`, started by [`own_tree`], and every process
/// below it. Call it while the caller still holds the process's `Child`
/// (running or not yet waited for), so that `pid` cannot name another
/// process by then.
///
/// - **Unix:** SIGKILL to its process group (`kill -KILL -- -pid`), which
///   reaches the children even when the process itself has exited.
/// - **Windows:** `taskkill /T /F`, which ends the process and its
///   descendants, found by their parent's id: so this must come before the
///   process itself is killed, not after.
pub fn kill_tree(pid: u32) {
    #[cfg(unix)]
    let mut kill = {
        let mut kill = std::process::Command::new("kill");
        kill.args(["-KILL", "--", &format!("-{pid}")]);
        kill
    };
    #[cfg(windows)]
    let mut kill = {
        let mut kill = std::process::Command::new("taskkill");
        kill.args(["/T", "/F", "/PID", &pid.to_string()]);
        kill
    };
    let _ = kill
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// The last `n` lines of a text file (for a failure report).
pub fn tail_file(path: &Path, n: usize) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.to_string())
        .collect()
}

/// A stage's server binary in the dev build under `target` (cargo names it
/// after the stage's package). `cargo xtask` always passes `--server-bin`;
/// this is for running the harness by hand.
pub fn server_of(target: &Path, stage: Stage) -> PathBuf {
    target.join("debug").join(format!(
        "{}{}",
        stage.binary(),
        std::env::consts::EXE_SUFFIX
    ))
}

// Unix only: `sh`, and `kill -0` to ask whether a process is still there.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A tree of a shell and the `sleep` it started in the background: the
    /// tree's kill ends the `sleep` too, which a kill of the shell alone
    /// would leave running.
    #[tokio::test]
    async fn killing_a_tree_kills_what_its_root_started() {
        use tokio::io::AsyncBufReadExt;

        let mut shell = tokio::process::Command::new("sh");
        own_tree(&mut shell)
            .args(["-c", "sleep 60 & echo $!; wait"])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = shell.spawn().unwrap();
        let root = child.id().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let sleep: u32 = lines.next_line().await.unwrap().unwrap().parse().unwrap();
        let alive = |pid: u32| {
            std::process::Command::new("kill")
                .args(["-0", &pid.to_string()])
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap()
                .success()
        };
        assert!(alive(sleep));
        kill_tree(root);
        child.wait().await.unwrap();
        // The `sleep` was the shell's child, not ours: once killed, init
        // reaps it, and `kill -0` fails.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while alive(sleep) {
            assert!(
                std::time::Instant::now() < deadline,
                "the shell's `sleep` ({sleep}) outlived the tree's kill"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
