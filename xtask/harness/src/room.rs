//! The instructor's room (`xtask/room`) in headless Chromium:
//!
//! - `harness room-test`: starts the room on a free loopback port with a
//!   fresh database, opens its page, has three simulated students report
//!   through the real `room send` (one with `<b>markup</b>` in their name)
//!   and two bad reports be refused (a wrong code, an unknown checkpoint),
//!   and watches the page's table follow without a reload.
//! - `harness room-screenshot` (and `screenshots`): the book's picture of
//!   a room with a few students.
//!
//! The room is driven only from the outside, as an instructor and students
//! use it: its binary, its page, its `/api/table`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::browsers::chromium::{self, Chromium};
use crate::browsers::{Browser, PageId, js_str};
use crate::catalogue;
use crate::standins::proxy::http_get;
use crate::util::{TempDir, free_port, tail_file};

const WAIT: Duration = Duration::from_secs(15);

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
    let status = std::process::Command::new(cargo)
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
struct Room {
    child: Child,
    port: u16,
    bin: PathBuf,
    // Declared last: removed once the process is gone.
    dir: TempDir,
}

impl Drop for Room {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Room {
    async fn start(bin: &Path) -> Result<Room> {
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

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_tail(&self) -> Vec<String> {
        tail_file(&self.dir.path().join("room.log"), 12)
    }

    async fn table(&self) -> Result<Value> {
        let (status, body) = http_get(self.port, "/api/table").await?;
        ensure!(status == 200, "GET /api/table answered {status}: {body}");
        serde_json::from_str(&body).context("GET /api/table is not JSON")
    }

    /// Runs `room send` for `student` with `code`, as `cargo xtask check
    /// --room` does: its exit status and what it printed.
    async fn send(&self, student: &Student, code: &str) -> Result<(bool, String)> {
        let progress = self
            .dir
            .path()
            .join(format!("progress-{}.json", student.file));
        std::fs::write(&progress, student.progress().to_string())?;
        let output = Command::new(&self.bin)
            .args(["send", "--url", &self.url(), "--code", code])
            .args(["--name", &student.name, "--stage", student.stage])
            .args(["--browser", "chromium", "--progress"])
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

/// A simulated student: their name and their latest check.
struct Student {
    /// A file-name-safe tag.
    file: &'static str,
    name: String,
    stage: &'static str,
    /// `(checkpoint id, result)`, in the order the check ran them.
    results: Vec<(String, &'static str)>,
    hints: Vec<String>,
}

/// The room's checkpoints, and those that do not run in Chromium (as the
/// lesson's file says), which a Chromium check reports as not applicable.
struct Lesson {
    ids: Vec<String>,
    elsewhere: Vec<String>,
}

impl Lesson {
    fn of(table: &Value) -> Result<Lesson> {
        let ids: Vec<String> = table["checkpoints"]
            .as_array()
            .context("the table has no checkpoints")?
            .iter()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        ensure!(
            ids.len() >= 3,
            "the room lists only {} checkpoints",
            ids.len()
        );
        let file = lesson::workspace::workspace_root()?.join(catalogue::DEFAULT);
        let elsewhere = catalogue::load(&file)?
            .into_iter()
            .map(|(_, c)| c)
            .filter(|c| !c.applies_to("chromium"))
            .map(|c| c.id)
            .collect();
        Ok(Lesson { ids, elsewhere })
    }
}

impl Student {
    /// Passes the first `passed` checkpoints that run in Chromium, fails the
    /// next, and the rest were not run (as a check that stops at the first
    /// failure); its hint is the failed one's.
    fn at(file: &'static str, name: &str, lesson: &Lesson, passed: usize) -> Student {
        let mut passes = passed;
        let mut failed = None;
        let results = lesson
            .ids
            .iter()
            .map(|id| {
                let result = if lesson.elsewhere.contains(id) {
                    "not-applicable"
                } else if passes > 0 {
                    passes -= 1;
                    "pass"
                } else if failed.is_none() {
                    failed = Some(id.clone());
                    "fail"
                } else {
                    "not-run"
                };
                (id.clone(), result)
            })
            .collect();
        let hints = failed.into_iter().collect();
        Student {
            file,
            name: name.to_owned(),
            stage: "starter",
            results,
            hints,
        }
    }

    /// The progress file as `cargo xtask check` writes it (keyed by stage
    /// and browser).
    fn progress(&self) -> Value {
        let checkpoints: Vec<Value> = self
            .results
            .iter()
            .map(|(id, result)| json!({"id": id, "result": result}))
            .collect();
        json!({
            format!("{}/chromium", self.stage): {
                "stage": self.stage,
                "browser": "chromium",
                "build_id": "4f1c9e2a7b30",
                "checked_at": 1_796_285_000,
                "checkpoints": checkpoints,
                "hints_seen": self.hints,
            }
        })
    }
}

/// The row of `name` in the page as `{cells: {id: [result, text]}, name,
/// hasElements}`, or null while there is none.
fn row_js(name: &str) -> String {
    format!(
        "(() => {{
           const tr = Array.from(document.querySelectorAll('#students tr'))
             .find(tr => tr.querySelector('td.name')?.textContent === {name});
           if (!tr) return null;
           const cells = {{}};
           tr.querySelectorAll('td[data-checkpoint]').forEach(td =>
             cells[td.dataset.checkpoint] = [td.dataset.result, td.textContent]);
           const nameCell = tr.querySelector('td.name');
           return {{ cells, name: nameCell.textContent, elements: nameCell.children.length,
                     hints: tr.querySelector('td.hints').textContent }};
         }})()",
        name = js_str(name)
    )
}

/// Waits until the page shows `student`'s row with every cell as reported.
async fn wait_row(b: &mut Chromium, tab: PageId, student: &Student) -> Result<Value> {
    let expected: Vec<(String, String)> = student
        .results
        .iter()
        .map(|(id, result)| {
            let symbol = match *result {
                "pass" => "✓",
                "fail" => "✗",
                "not-applicable" => "n/a",
                _ => "—",
            };
            (id.clone(), symbol.to_owned())
        })
        .collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let row = b.eval(tab, &row_js(&student.name), WAIT).await?;
        let cells_match = expected
            .iter()
            .all(|(id, symbol)| row["cells"][id][1].as_str() == Some(symbol));
        if !row.is_null() && cells_match {
            return Ok(row);
        }
        if Instant::now() >= deadline {
            bail!(
                "the page did not show {:?}'s row with {expected:?} within {WAIT:?} (last seen: {row})",
                student.name
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn step(started: Instant, what: &str) {
    println!("  ✓ {what} ({} ms)", started.elapsed().as_millis());
}

/// `harness room-test`.
pub async fn test(room_bin: &Path) -> Result<()> {
    let started = Instant::now();
    let exe = chromium::find_or_install()?;
    let room = Room::start(room_bin).await.context("starting the room")?;
    let table = room.table().await?;
    let code = table["code"]
        .as_str()
        .context("the table has no code")?
        .to_owned();
    let lesson = Lesson::of(&table)?;
    step(
        started,
        &format!("the room serves at {} with code {code}", room.url()),
    );

    let mut b = Chromium::launch(exe, &room.url())
        .await
        .context("starting Chromium")?;
    let tab = b.open_page(&format!("{}/", room.url())).await?;
    b.wait_until(
        tab,
        &format!(
            "document.getElementById('room-code').textContent === {} && document.getElementById('live').textContent === 'live'",
            js_str(&code)
        ),
        "the room page with its code, listening for events",
        WAIT,
    )
    .await?;
    // Gone if the page reloads: every update below must come without one.
    b.eval(tab, "window.__noReload = true", WAIT).await?;
    step(started, "the room page is open and listening");

    let students = [
        Student::at("ada", "Ada Lovelace", &lesson, 2),
        Student::at("markup", "<b>markup</b>", &lesson, 0),
        Student::at("grace", "Grace Hopper", &lesson, usize::MAX),
    ];
    for student in &students {
        let (ok, printed) = room.send(student, &code).await?;
        ensure!(ok, "`room send` for {:?} failed: {printed}", student.name);
        let row = wait_row(&mut b, tab, student).await?;
        if student.file == "markup" {
            ensure!(
                row["elements"] == 0 && row["name"] == "<b>markup</b>",
                "the name with markup was not shown as text: {row}"
            );
        }
        if let Some(hint) = student.hints.first() {
            ensure!(
                row["hints"]
                    .as_str()
                    .is_some_and(|h| h.contains(hint.as_str())),
                "the hint {hint} is not shown in {:?}'s row: {row}",
                student.name
            );
        }
        step(
            started,
            &format!(
                "{:?} reported; the row came without a reload ({printed})",
                student.name
            ),
        );
    }

    bad_reports_change_nothing(&room, &mut b, tab, &students[0], &code, &lesson, started).await?;
    println!(
        "room-test: all good in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Two bad reports, refused with a message that names the problem; then
/// the page and the room still show the three students, and the page was
/// never reloaded.
async fn bad_reports_change_nothing(
    room: &Room,
    b: &mut Chromium,
    tab: PageId,
    student: &Student,
    code: &str,
    lesson: &Lesson,
    started: Instant,
) -> Result<()> {
    let (ok, printed) = room.send(student, "WRONG1").await?;
    ensure!(
        !ok && printed.contains("403") && printed.contains("wrong room code"),
        "a wrong code was not refused with 403: {printed}"
    );
    step(started, &format!("a wrong code is refused: {printed}"));
    let mut stray = Student::at("stray", "Mallory", lesson, 1);
    stray.results.push(("teleport".into(), "pass"));
    let (ok, printed) = room.send(&stray, code).await?;
    ensure!(
        !ok && printed.contains("422") && printed.contains("teleport"),
        "an unknown checkpoint was not refused with 422 naming it: {printed}"
    );
    step(
        started,
        &format!("an unknown checkpoint is refused: {printed}"),
    );

    let rows = b
        .eval(
            tab,
            "document.querySelectorAll('#students tr').length",
            WAIT,
        )
        .await?;
    ensure!(rows == 3, "the page shows {rows} rows, not 3");
    let stored = room.table().await?["students"]
        .as_array()
        .map_or(0, Vec::len);
    ensure!(stored == 3, "the room stored {stored} students, not 3");
    let kept = b.eval(tab, "window.__noReload === true", WAIT).await?;
    ensure!(kept == true, "the page was reloaded");
    step(
        started,
        "3 rows, nothing stored from the bad reports, never reloaded",
    );
    Ok(())
}

/// The book's picture of a room: a few students at different points of
/// the lesson. Writes `<out>/room.png`.
pub async fn screenshot(room_bin: &Path, out: &Path) -> Result<()> {
    let exe = chromium::find_or_install()?;
    let room = Room::start(room_bin).await.context("starting the room")?;
    let table = room.table().await?;
    let code = table["code"].as_str().context("no code")?.to_owned();
    let lesson = Lesson::of(&table)?;
    let mut students = vec![
        Student::at("s1", "Ada Lovelace", &lesson, usize::MAX),
        Student::at("s2", "Alan Turing", &lesson, 9),
        Student::at("s3", "Grace Hopper", &lesson, 11),
        Student::at("s4", "Katherine Johnson", &lesson, 7),
        Student::at("s5", "<b>Bobby</b> Tables", &lesson, 8),
    ];
    // Hints seen add up: Alan needed the two before this one too.
    students[1]
        .hints
        .splice(0..0, ["page-worker", "outbox"].map(String::from));
    for student in &students {
        let (ok, printed) = room.send(student, &code).await?;
        ensure!(ok, "`room send` for {:?} failed: {printed}", student.name);
    }
    let mut b = Chromium::launch(exe, &room.url())
        .await
        .context("starting Chromium")?;
    let tab = b.open_page(&format!("{}/", room.url())).await?;
    b.wait_until(
        tab,
        &format!(
            "document.querySelectorAll('#students tr').length === {} && document.getElementById('live').textContent === 'live'",
            students.len()
        ),
        "the room page with every student",
        WAIT,
    )
    .await?;
    // The code as the instructor's room sees it, not this run's random one.
    b.eval(
        tab,
        "document.getElementById('room-code').textContent = 'K7PXQ3'",
        WAIT,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = b.screenshot(tab, 1280, 640).await?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("room.png");
    std::fs::write(&path, &png).with_context(|| format!("cannot write {}", path.display()))?;
    println!("  room.png ({} KB)", png.len().div_ceil(1024));
    Ok(())
}
