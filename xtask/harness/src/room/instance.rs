//! A room server of our own for the test, the screenshot and the bench:
//! its binary, started on a free loopback port with a fresh database, and
//! what it answers.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::standins::proxy::http_get;
use crate::util::{TempDir, free_port, tail_file};

use super::students::Student;

/// How long the room and its page get for anything.
pub const WAIT: Duration = Duration::from_secs(15);

/// The room's binary: `--room-bin` if given, else built now with cargo
/// (`cargo run -p harness` has let go of the build lock by then).
pub fn room_bin(given: Option<PathBuf>, root: &Path) -> Result<PathBuf> {
    if let Some(bin) = given {
        ensure!(
            bin.is_file(),
            "no room binary at {}: build it with `cargo build -p room`",
            bin.display()
        );
        return Ok(bin);
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    // As a shell's cargo sees it: see `lesson::workspace::cargo_run_vars`.
    for name in lesson::workspace::cargo_run_vars() {
        command.env_remove(name);
    }
    let status = command
        .args(["build", "-q", "-p", "room"])
        .current_dir(root)
        .status()
        .context("cannot run `cargo build -p room`")?;
    ensure!(
        status.success(),
        "`cargo build -p room` failed; its output is above"
    );
    Ok(lesson::workspace::target_dir(root)
        .join("debug")
        .join(format!("room{}", std::env::consts::EXE_SUFFIX)))
}

/// A room server of our own: a free port, a fresh database, killed on drop.
pub struct Room {
    pub(super) child: Child,
    pub port: u16,
    pub(super) bin: PathBuf,
    // Declared last: removed once the process is gone.
    pub(super) dir: TempDir,
}

impl Drop for Room {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Room {
    pub async fn start(bin: &Path) -> Result<Room> {
        let dir = TempDir::new("harness-room")?;
        let port = free_port()?;
        let log = std::fs::File::create(dir.path().join("room.log"))?;
        let child = Command::new(bin)
            .args(["serve", "--port", &port.to_string(), "--db"])
            .arg(dir.path().join("room.sqlite"))
            .stdout(log.try_clone()?)
            .stderr(log)
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut room = Room {
            child,
            port,
            bin: bin.to_owned(),
            dir,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok((200, _)) = http_get(port, "/api/table").await {
                return Ok(room);
            }
            if let Ok(Some(status)) = room.child.try_wait() {
                bail!(
                    "the room exited ({status}) before it served:\n{}",
                    room.log_tail().join("\n")
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "the room did not answer within {WAIT:?}:\n{}",
                    room.log_tail().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_tail(&self) -> Vec<String> {
        tail_file(&self.dir.path().join("room.log"), 12)
    }

    pub async fn table(&self) -> Result<Value> {
        let (status, body) = http_get(self.port, "/api/table").await?;
        ensure!(status == 200, "GET /api/table answered {status}: {body}");
        serde_json::from_str(&body).context("GET /api/table is not JSON")
    }

    /// The room's code, from its table.
    pub async fn code(&self) -> Result<String> {
        let table = self.table().await?;
        Ok(table["code"]
            .as_str()
            .context("the table has no code")?
            .to_owned())
    }

    /// `student`'s machine: a directory of its own, where `room send` keeps
    /// its machine id beside the progress file, as in a student's
    /// `target/xtask/`.
    pub(super) fn machine_dir(&self, student: &Student) -> Result<PathBuf> {
        let dir = self.dir.path().join(student.machine);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Runs `room send` for `student` with `code`, as `cargo xtask check
    /// --room` does: its exit status and what it printed.
    pub(super) async fn send(&self, student: &Student, code: &str) -> Result<(bool, String)> {
        let progress = self.machine_dir(student)?.join("progress.json");
        std::fs::write(&progress, student.progress().to_string())?;
        self.run_send(
            student,
            code,
            &["--stage", student.stage, "--browser", "chromium"],
        )
        .await
    }

    /// Runs `room send --doctor` for `student`, as `cargo xtask doctor
    /// --room` does, with these lines in its `doctor.json`.
    pub(super) async fn send_doctor(
        &self,
        student: &Student,
        code: &str,
        lines: &Value,
    ) -> Result<(bool, String)> {
        let doctor = self.machine_dir(student)?.join("doctor.json");
        std::fs::write(&doctor, json!({ "lines": lines }).to_string())?;
        self.run_send(student, code, &["--doctor"]).await
    }

    pub(super) async fn run_send(
        &self,
        student: &Student,
        code: &str,
        what: &[&str],
    ) -> Result<(bool, String)> {
        let progress = self.machine_dir(student)?.join("progress.json");
        let output = Command::new(&self.bin)
            .args(["send", "--url", &self.url(), "--code", code])
            .args(["--name", &student.name])
            .args(what)
            .arg("--progress")
            .arg(&progress)
            .output()
            .await
            .context("cannot run `room send`")?;
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        Ok((output.status.success(), printed.trim().to_owned()))
    }
}
