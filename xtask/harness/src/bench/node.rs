//! The Node baselines: `xtask/harness/bench-node/` (package.json and the
//! scripts, written for the benchmark) copied to `target/bench/node/` and
//! installed there with npm at bench time. When Node, npm or the registry is
//! missing, the baselines are skipped and the report says why.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::setup::Setup;

const FILES: [&str; 3] = ["package.json", "server.js", "push.js"];

/// `node --version`, if there is a Node.
pub fn version() -> Option<String> {
    let out = std::process::Command::new("node")
        .arg("--version")
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| format!("Node {}", String::from_utf8_lossy(&out.stdout).trim()))
}

/// The directory with the scripts and their `node_modules`, installed; or
/// why the Node baselines cannot run here.
pub async fn prepare(setup: &Setup) -> Result<PathBuf, String> {
    static ONCE: tokio::sync::OnceCell<Result<PathBuf, String>> =
        tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| install(setup)).await.clone()
}

async fn install(setup: &Setup) -> Result<PathBuf, String> {
    version().ok_or("no `node` on PATH (install Node 18 or later)")?;
    let source = setup.root.join("xtask/harness/bench-node");
    let dir = setup.node_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut changed = false;
    for file in FILES {
        let new = std::fs::read(source.join(file))
            .map_err(|e| format!("cannot read bench-node/{file}: {e}"))?;
        let target = dir.join(file);
        if std::fs::read(&target).ok().as_deref() != Some(&new[..]) {
            std::fs::write(&target, &new)
                .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
            changed |= file == "package.json";
        }
    }
    let installed = ["express", "web-push"].iter().all(|m| {
        dir.join("node_modules")
            .join(m)
            .join("package.json")
            .is_file()
    });
    if installed && !changed {
        return Ok(dir);
    }
    println!(
        "bench: npm install (express, web-push) in {}",
        dir.display()
    );
    let mut npm = Command::new("npm");
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--loglevel=error",
        "--fetch-retries=1",
        "--fetch-timeout=20000",
    ])
    .current_dir(&dir)
    .stdin(Stdio::null())
    .kill_on_drop(true);
    let limit = Duration::from_secs(if setup.quick { 90 } else { 300 });
    let out = match tokio::time::timeout(limit, npm.output()).await {
        Err(_) => return Err(format!("`npm install` did not finish within {limit:?}")),
        Ok(Err(e)) => return Err(format!("cannot run npm: {e}")),
        Ok(Ok(out)) => out,
    };
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(format!("`npm install` failed ({}): {last}", out.status));
    }
    Ok(dir)
}

/// A Node process of ours, killed when dropped; stdout read line by line.
pub struct NodeProcess {
    _child: Child,
    pub stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl NodeProcess {
    pub fn spawn(dir: &Path, script: &str, args: &[String]) -> Result<Self> {
        let mut child = Command::new("node")
            .arg(script)
            .args(args)
            .current_dir(dir)
            .env("NODE_ENV", "production")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start node {script}"))?;
        let stdin = child.stdin.take().context("stdin")?;
        let stdout = BufReader::new(child.stdout.take().context("stdout")?).lines();
        Ok(NodeProcess {
            _child: child,
            stdin,
            stdout,
        })
    }

    /// The process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self._child.id()
    }

    /// The next line it prints, within `timeout`.
    pub async fn line(&mut self, timeout: Duration) -> Result<String> {
        match tokio::time::timeout(timeout, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => Ok(line),
            Ok(Ok(None)) => bail!("the node process exited"),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => bail!("no line from node within {timeout:?}"),
        }
    }

    pub async fn send(&mut self, line: &str) -> Result<()> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        self.stdin.flush().await?;
        Ok(())
    }
}
