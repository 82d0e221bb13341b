//! Small pieces every part of the harness needs: temporary directories that
//! clean up after themselves, free ports, killing what we started.

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

/// A fresh directory under the system's temp dir, removed on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
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

/// Sends SIGKILL to the process group `pgid` (a process we started with
/// `process_group(0)`, so its id is its group's id), and so to every child it
/// started.
pub fn kill_process_group(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
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

/// A browser the checks need: where to look for it and, as root on Debian
/// or Ubuntu (CI), which package installs it. Never a silent skip: found,
/// installed (and said so), or one line saying how to install it.
pub struct Installable {
    pub product: &'static str,
    /// An environment variable naming the executable, which wins.
    pub env: &'static str,
    /// Executable names to look for on `PATH`, best first.
    pub names: &'static [&'static str],
    pub debian_package: &'static str,
    pub how_to_install: &'static str,
}

impl Installable {
    pub fn find_or_install(&self) -> anyhow::Result<std::path::PathBuf> {
        use std::path::{Path, PathBuf};
        use std::process::Command;

        let Installable {
            product,
            env,
            debian_package: package,
            ..
        } = *self;
        if let Some(path) = std::env::var_os(env).filter(|p| !p.is_empty()) {
            let path = PathBuf::from(path);
            return which(&path).ok_or_else(|| {
                anyhow::anyhow!(
                    "{env} is set to {}, which is not an executable",
                    path.display()
                )
            });
        }
        if let Some(found) = self.on_path() {
            return Ok(found);
        }
        if is_root() && Path::new("/etc/debian_version").exists() {
            println!(
                "harness: no {product} found; installing the Debian package `{package}` with apt-get (as root)…"
            );
            let install = || {
                Command::new("apt-get")
                    .args(["install", "-y", package])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !install() {
                // A fresh machine may never have read the package lists.
                let _ = Command::new("apt-get").arg("update").status();
                anyhow::ensure!(
                    install(),
                    "`apt-get install -y {package}` failed; install {product} and run again (or set {env})"
                );
            }
            return self.on_path().ok_or_else(|| {
                anyhow::anyhow!("installed `{package}`, but it is still not on PATH")
            });
        }
        anyhow::bail!(
            "no {product} found: install it ({}) or set {env} to its executable",
            self.how_to_install
        )
    }

    fn on_path(&self) -> Option<std::path::PathBuf> {
        self.names
            .iter()
            .find_map(|name| which(std::path::Path::new(name)))
    }
}

/// `program` if it is a path to a file, else the first file of that name in
/// a directory of `PATH`.
fn which(program: &std::path::Path) -> Option<std::path::PathBuf> {
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_owned());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
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
