//! The instructor's room (`xtask/room`) in headless Chromium:
//!
//! - `harness room-test`: starts the room on a free loopback port with a
//!   fresh database, opens its page, has simulated students report through
//!   the real `room send` (one with `<b>markup</b>` in their name, two
//!   machines with the same name, one with only `doctor`'s lines, one
//!   older client without a machine id) and two bad reports be refused (a
//!   wrong code, an unknown checkpoint), and watches the page's table
//!   follow without a reload: each row's failure, checkpoint, time and
//!   checks there, hints at their level; the columns' counts; sorting; the
//!   stuck threshold from the lesson plan, and changed on the page.
//! - `harness room-screenshot` (and `screenshots`): the book's picture of
//!   a room with a few students.
//!
//! The room is driven only from the outside, as an instructor and students
//! use it: its binary, its page, its `/api/table`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::browser::{Browser, PageId, js_str};
use crate::catalogue;
use crate::chromium::{self, Chromium};
use crate::proxy::http_get;
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
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|dir| root.join(dir))
        .unwrap_or_else(|| root.join("target"));
    Ok(target
        .join("debug")
        .join(format!("room{}", std::env::consts::EXE_SUFFIX)))
}

/// A room server of our own: a free port, a fresh database, killed on drop.
pub struct Room {
    child: Child,
    pub port: u16,
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
    fn machine_dir(&self, student: &Student) -> Result<PathBuf> {
        let dir = self.dir.path().join(student.machine);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Runs `room send` for `student` with `code`, as `cargo xtask check
    /// --room` does: its exit status and what it printed.
    async fn send(&self, student: &Student, code: &str) -> Result<(bool, String)> {
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
    async fn send_doctor(
        &self,
        student: &Student,
        code: &str,
        lines: &Value,
    ) -> Result<(bool, String)> {
        let doctor = self.machine_dir(student)?.join("doctor.json");
        std::fs::write(&doctor, json!({ "lines": lines }).to_string())?;
        self.run_send(student, code, &["--doctor"]).await
    }

    async fn run_send(
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

/// A simulated student: their machine, their name and their latest check.
struct Student {
    /// The machine's directory name (file-name-safe).
    machine: &'static str,
    name: String,
    stage: &'static str,
    /// `(checkpoint id, result)`, in the order the check ran them.
    results: Vec<(String, &'static str)>,
    /// `(checkpoint id, level)`: the hints asked for.
    hints: Vec<(String, u8)>,
    /// What the first failure's report said: expected, seen.
    failure: Option<(String, String)>,
}

/// The room's checkpoints, those that do not run in Chromium (as the
/// lesson's file says), which a Chromium check reports as not applicable,
/// and the lesson plan's minutes for each.
struct Lesson {
    ids: Vec<String>,
    elsewhere: Vec<String>,
    minutes: BTreeMap<String, u64>,
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
        let file = crate::workspace().join(catalogue::DEFAULT);
        let elsewhere = catalogue::load(&file)?
            .into_iter()
            .filter(|c| !c.applies_to("chromium"))
            .map(|c| c.id)
            .collect();
        Ok(Lesson {
            ids,
            elsewhere,
            minutes: plan_minutes()?,
        })
    }
}

/// Each checkpoint's section minutes in `lessons/background-sync/lesson.toml`,
/// read here on its own: the room must show what the plan says.
fn plan_minutes() -> Result<BTreeMap<String, u64>> {
    let path = crate::workspace().join("lessons/background-sync/lesson.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let lesson: toml::Value = toml::from_str(&text)?;
    let mut minutes = BTreeMap::new();
    for section in lesson["timing"]["section"]
        .as_array()
        .context("lesson.toml has no [[timing.section]]")?
    {
        let m = section["minutes"]
            .as_integer()
            .and_then(|m| u64::try_from(m).ok())
            .context("a section without minutes")?;
        for id in section
            .get("checkpoints")
            .and_then(toml::Value::as_array)
            .into_iter()
            .flatten()
        {
            minutes.insert(id.as_str().context("a checkpoint id")?.to_owned(), m);
        }
    }
    Ok(minutes)
}

impl Student {
    /// Passes the first `passed` checkpoints that run in Chromium, fails the
    /// next, and the rest were not run (as a check that stops at the first
    /// failure); its hint is the failed one's, at level 1, and its failure
    /// says what the harness says for that checkpoint.
    fn at(machine: &'static str, name: &str, lesson: &Lesson, passed: usize) -> Student {
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
        let failure = failed.as_deref().map(failure_lines);
        let hints = failed.into_iter().map(|id| (id, 1)).collect();
        Student {
            machine,
            name: name.to_owned(),
            stage: "starter",
            results,
            hints,
            failure,
        }
    }

    fn failing(&self) -> Option<&str> {
        self.results
            .iter()
            .find(|(_, result)| *result == "fail")
            .map(|(id, _)| id.as_str())
    }

    fn passed(&self) -> usize {
        self.results.iter().filter(|(_, r)| *r == "pass").count()
    }

    /// The progress file as `cargo xtask check` writes it (keyed by stage
    /// and browser): the hints seen, and the highest level of each.
    fn progress(&self) -> Value {
        let checkpoints: Vec<Value> = self
            .results
            .iter()
            .map(|(id, result)| json!({"id": id, "result": result}))
            .collect();
        let seen: Vec<&str> = self.hints.iter().map(|(id, _)| id.as_str()).collect();
        let levels: serde_json::Map<String, Value> = self
            .hints
            .iter()
            .map(|(id, level)| (id.clone(), json!(level)))
            .collect();
        let mut run = json!({
            "stage": self.stage,
            "browser": "chromium",
            "build_id": "4f1c9e2a7b30",
            "checked_at": 1_796_285_000,
            "checkpoints": checkpoints,
            "hints_seen": seen,
            "hint_levels": levels,
        });
        if let (Some(id), Some((expected, seen))) = (self.failing(), &self.failure) {
            run["failure"] = json!({"id": id, "expected": expected, "seen": seen});
        }
        json!({ format!("{}/chromium", self.stage): run })
    }
}

/// Lines in the manner of the harness's own, for the checkpoints a
/// simulated student is stuck on.
fn failure_lines(id: &str) -> (String, String) {
    let (expected, seen) = match id {
        "page-worker" => (
            "#form-status to show the worker's answer (\"Queued — N waiting\") after submitting the form",
            "\"Handing it to the service worker…\" for 10 s",
        ),
        "outbox" => (
            "the article in IndexedDB `offline-news` → `outbox` after the worker was stopped",
            "an empty outbox",
        ),
        "sync" => (
            "a pending sync (`registration.sync.getTags()` not empty) after articles were queued while the server was unreachable",
            "no tags: the worker did not register a sync",
        ),
        "sync-when-online" => (
            "\"Offline headline\" on the server after the network came back (the harness fired no sync)",
            "not there after 10 s; sync events the browser reported: none",
        ),
        "update-pages" => (
            "both open pages to list the synced article without a reload",
            "only the page that added it",
        ),
        "pending-visible" => (
            "\"Waiting headline\" in #latest-headlines of the tab that added it, at once and before any sync, marked in words as waiting to be sent",
            "after 5s, 0 item(s)",
        ),
        _ => ("the checkpoint to pass", "it failed"),
    };
    (expected.to_owned(), seen.to_owned())
}

/// The row of `name` in the page, or null while there is none.
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
           const levels = Array.from(tr.querySelectorAll('td.hints span'))
             .map(s => [s.textContent, s.dataset.level]);
           return {{ cells, name: nameCell.textContent, elements: nameCell.children.length,
                     hints: tr.querySelector('td.hints').textContent, levels,
                     on: tr.querySelector('td.on').textContent,
                     why: tr.querySelector('td.why').textContent,
                     doctor: tr.querySelector('td.doctor').textContent,
                     stuck: tr.classList.contains('stuck') }};
         }})()",
        name = js_str(name)
    )
}

/// Waits until the page shows a row for `name` of which `good` holds.
async fn wait_row_where(
    b: &mut Chromium,
    tab: PageId,
    name: &str,
    what: &str,
    good: impl Fn(&Value) -> bool,
) -> Result<Value> {
    let deadline = Instant::now() + WAIT;
    loop {
        let row = b.eval(tab, &row_js(name), WAIT).await?;
        if !row.is_null() && good(&row) {
            return Ok(row);
        }
        if Instant::now() >= deadline {
            bail!("the page did not show {name:?}'s row {what} within {WAIT:?} (last seen: {row})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the page shows `student`'s row with every cell as reported,
/// their failure and their hints.
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
    let failure = student.failure.clone();
    wait_row_where(
        b,
        tab,
        &student.name,
        &format!("with {expected:?}"),
        |row| {
            expected
                .iter()
                .all(|(id, symbol)| row["cells"][id][1].as_str() == Some(symbol))
                && failure.as_ref().is_none_or(|(expected, seen)| {
                    row["why"].as_str().is_some_and(|why| {
                        why.contains(&format!("expected: {expected}"))
                            && why.contains(&format!("seen: {seen}"))
                    })
                })
        },
    )
    .await
}

fn step(started: Instant, what: &str) {
    println!("  ✓ {what} ({} ms)", started.elapsed().as_millis());
}

/// Sets a control of the page (`#stuck-after`, `#sort`) as the instructor
/// would, and lets the page redraw.
async fn set_control(b: &mut Chromium, tab: PageId, id: &str, value: &str) -> Result<()> {
    b.eval(
        tab,
        &format!(
            "(() => {{ const input = document.getElementById({id}); input.value = {value};
                      input.dispatchEvent(new Event('input')); return input.value; }})()",
            id = js_str(id),
            value = js_str(value)
        ),
        WAIT,
    )
    .await?;
    Ok(())
}

/// The header of checkpoint `id`: the count, the bar's height, the title.
fn header_js(id: &str) -> String {
    format!(
        "(() => {{ const th = document.querySelector({selector});
                  return {{ passed: th.dataset.passed, count: th.querySelector('.count').textContent,
                            bar: th.querySelector('.fill').style.height, title: th.title }}; }})()",
        selector = js_str(&format!("th[data-checkpoint=\"{id}\"]"))
    )
}

/// The names of the rows, top to bottom, and those marked stuck.
async fn rows(b: &mut Chromium, tab: PageId) -> Result<(Vec<String>, Vec<String>)> {
    let rows = b
        .eval(
            tab,
            "({ names: Array.from(document.querySelectorAll('#students tr')).map(tr => tr.dataset.name),
                stuck: Array.from(document.querySelectorAll('#students tr.stuck')).map(tr => tr.dataset.name) })",
            WAIT,
        )
        .await?;
    let names = |key: &str| -> Vec<String> {
        rows[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    Ok((names("names"), names("stuck")))
}

/// `harness room-test`.
pub async fn test(room_bin: &Path) -> Result<()> {
    let started = Instant::now();
    let exe = chromium::find_or_install()?;
    let room = Room::start(room_bin).await.context("starting the room")?;
    let table = room.table().await?;
    let code = room.code().await?;
    let lesson = Lesson::of(&table)?;
    ensure!(
        table["minutes"] == serde_json::to_value(&lesson.minutes)?,
        "the room's minutes are not the lesson plan's: {} against {:?}",
        table["minutes"],
        lesson.minutes
    );
    step(
        started,
        &format!(
            "the room serves at {} with code {code}, and the lesson plan's minutes",
            room.url()
        ),
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

    // Ada is on the first lesson checkpoint, the markup student on the
    // first of the set-up: the plan gives them different minutes.
    let mut ada = Student::at("ada", "Ada Lovelace", &lesson, 6);
    ada.hints = vec![(ada.hints[0].0.clone(), 2), ("app-loads".into(), 1)];
    let students = [
        ada,
        Student::at("markup", "<b>markup</b>", &lesson, 0),
        Student::at("grace", "Grace Hopper", &lesson, usize::MAX),
    ];
    for student in &students {
        let (ok, printed) = room.send(student, &code).await?;
        ensure!(ok, "`room send` for {:?} failed: {printed}", student.name);
        let row = wait_row(&mut b, tab, student).await?;
        if student.machine == "markup" {
            ensure!(
                row["elements"] == 0 && row["name"] == "<b>markup</b>",
                "the name with markup was not shown as text: {row}"
            );
        }
        for (hint, level) in &student.hints {
            let word = ["hint", "more", "reveal"][usize::from(*level) - 1];
            let shown = json!([format!("{hint} · {word}"), level.to_string()]);
            ensure!(
                row["levels"]
                    .as_array()
                    .is_some_and(|levels| levels.contains(&shown)),
                "the hint {hint} at level {level} is not shown in {:?}'s row: {row}",
                student.name
            );
        }
        let on = row["on"].as_str().unwrap_or_default();
        match student.failing() {
            Some(id) => ensure!(
                on.starts_with(&format!("{id} · ")) && on.ends_with("· 1 check"),
                "{:?}'s row does not say they are on {id}, one check: {row}",
                student.name
            ),
            None => ensure!(on.starts_with("all ✓"), "{:?} is done: {row}", student.name),
        }
        step(
            started,
            &format!(
                "{:?} reported; the row came without a reload, with why and since when ({printed})",
                student.name
            ),
        );
    }

    // Ada checks again, on the same checkpoint: the checks there add up.
    room.send(&students[0], &code).await?;
    wait_row_where(&mut b, tab, &students[0].name, "with 2 checks", |row| {
        row["on"]
            .as_str()
            .is_some_and(|on| on.ends_with("· 2 checks"))
    })
    .await?;
    step(started, "a second check on the same checkpoint is counted");

    // Another machine types the same name: a row of its own, with a
    // suffix, and the first student's row is as it was.
    let twin = Student::at("twin", "Ada Lovelace", &lesson, 0);
    let (ok, printed) = room.send(&twin, &code).await?;
    ensure!(
        ok && printed.contains("\"Ada Lovelace (2)\"") && printed.contains("another machine"),
        "a second machine named like the first was not told its suffix: {printed}"
    );
    let twin_row = wait_row(
        &mut b,
        tab,
        &Student {
            name: "Ada Lovelace (2)".into(),
            ..Student::at("twin", "Ada Lovelace", &lesson, 0)
        },
    )
    .await?;
    wait_row(&mut b, tab, &students[0]).await?;
    step(
        started,
        &format!(
            "a second machine named \"Ada Lovelace\" gets a row of its own ({}), the first row unchanged",
            twin_row["name"]
        ),
    );

    // A student who ran only `cargo xtask doctor`, before the session.
    let bo = Student::at("bo", "Bo Doctor", &lesson, 0);
    let lines = json!([
        {"check": "rust", "ok": true, "detail": "rustc 1.89.0"},
        {"check": "chromium", "ok": false, "detail": "no Chromium found: sudo apt-get install chromium"}
    ]);
    let (ok, printed) = room.send_doctor(&bo, &code, &lines).await?;
    ensure!(ok, "`room send --doctor` failed: {printed}");
    let row = wait_row_where(&mut b, tab, "Bo Doctor", "with the doctor's lines", |row| {
        row["doctor"]
            .as_str()
            .is_some_and(|d| d.contains("1 to fix") && d.contains("chromium: no Chromium found"))
    })
    .await?;
    ensure!(
        row["on"] == "no check yet",
        "a doctor-only row says it has a check: {row}"
    );
    step(
        started,
        &format!("a doctor report shows who is not set up ({printed})"),
    );

    // An older client: no machine id, hints as `hints_seen`, level 1.
    let old = json!({
        "code": code, "name": "Old Client", "stage": "starter", "browser": "chromium",
        "checkpoints": [{"id": lesson.ids[0], "result": "fail"}],
        "hints_seen": [lesson.ids[0]]
    });
    let (status, answer) =
        crate::push_service::http_json(room.port, "POST", "/api/report", &old).await?;
    ensure!(
        status == 200,
        "an older client's report was refused ({status}): {answer}"
    );
    wait_row_where(
        &mut b,
        tab,
        "Old Client",
        "with its hint at level 1",
        |row| row["levels"] == json!([[format!("{} · hint", lesson.ids[0]), "1"]]),
    )
    .await?;
    step(
        started,
        "an older client's report (no machine id, `hints_seen`) is shown",
    );

    // Over each column: how many pass it, and a bar, out of those who
    // checked it.
    let reporting = [&students[0], &students[1], &students[2], &twin];
    let mut checked: Vec<&[(String, &str)]> = reporting.iter().map(|s| &s.results[..]).collect();
    let old_results = [(lesson.ids[0].clone(), "fail")];
    checked.push(&old_results);
    for id in &lesson.ids[..3] {
        let results: Vec<&str> = checked
            .iter()
            .filter_map(|results| results.iter().find(|(i, _)| i == id).map(|(_, r)| *r))
            .filter(|r| *r != "not-applicable")
            .collect();
        let passing = results.iter().filter(|r| **r == "pass").count();
        let percent = (100.0 * passing as f64 / results.len() as f64).round();
        let header = b.eval(tab, &header_js(id), WAIT).await?;
        ensure!(
            [&header["passed"], &header["count"]]
                .iter()
                .all(|shown| shown.as_str() == Some(passing.to_string().as_str())),
            "the header of {id} does not count {passing} passing: {header}"
        );
        ensure!(
            header["bar"] == format!("{percent}%"),
            "the bar of {id} is not {percent}% ({passing} of {}): {header}",
            results.len()
        );
    }
    let title = b.eval(tab, &header_js("page-worker"), WAIT).await?["title"].clone();
    let planned = lesson
        .minutes
        .get("page-worker")
        .copied()
        .unwrap_or_default();
    ensure!(
        title
            .as_str()
            .is_some_and(|t| t.contains(&format!("lesson plan: {planned} min"))),
        "the page-worker column does not give the plan's {planned} minutes: {title}"
    );
    step(
        started,
        "each column counts who passes it, with a bar and the plan's minutes",
    );

    // Sorted by progress: fewest ✓ first, then most.
    set_control(&mut b, tab, "sort", "behind").await?;
    let (names, _) = rows(&mut b, tab).await?;
    let passed_of = |name: &String| {
        reporting
            .iter()
            .find(|s| &s.name == name || (s.machine == "twin" && name == "Ada Lovelace (2)"))
            .map_or(0, |s| s.passed())
    };
    let order: Vec<usize> = names.iter().map(passed_of).collect();
    ensure!(
        order.windows(2).all(|w| w[0] <= w[1]) && names.last() == Some(&students[2].name),
        "sorted by fewest ✓ first, the rows are {names:?}"
    );
    set_control(&mut b, tab, "sort", "ahead").await?;
    let (names, _) = rows(&mut b, tab).await?;
    ensure!(
        names.first() == Some(&students[2].name),
        "sorted by most ✓ first, the rows are {names:?}"
    );
    set_control(&mut b, tab, "sort", "joined").await?;
    step(started, "rows sort by progress");

    // Stuck: nobody within the plan's minutes; past them, by the plan's
    // minutes for each one's checkpoint; everyone on a checkpoint once the
    // threshold is 0; nobody again when it is cleared.
    let (_, stuck) = rows(&mut b, tab).await?;
    ensure!(
        stuck.is_empty(),
        "rows marked stuck within the plan: {stuck:?}"
    );
    // The page's copy of the table, as if Ada had been on her checkpoint
    // half a minute short of the plan's minutes for it, and the markup
    // student half a minute past those for his: no one threshold for every
    // checkpoint marks exactly him. The room's own table is untouched.
    let short = students[0].failing().unwrap_or_default();
    let past = students[1].failing().unwrap_or_default();
    b.eval(
        tab,
        &format!(
            "(() => {{
               for (const s of latest.students) {{
                 if (s.name === {ada}) s.on_since -= {short} * 60 - 30;
                 if (s.name === {markup}) s.on_since -= {past} * 60 + 30;
               }}
               render(latest);
             }})()",
            ada = js_str(&students[0].name),
            markup = js_str(&students[1].name),
            past = lesson.minutes.get(past).copied().unwrap_or_default(),
            short = lesson.minutes.get(short).copied().unwrap_or_default(),
        ),
        WAIT,
    )
    .await?;
    let (_, stuck) = rows(&mut b, tab).await?;
    ensure!(
        stuck == [students[1].name.clone()],
        "past the plan's minutes for {past} the markup student should be stuck, within those for {short} Ada not: {stuck:?}"
    );
    b.eval(
        tab,
        "fetch('/api/table').then(r => r.json()).then(show)",
        WAIT,
    )
    .await?;
    let (_, stuck) = rows(&mut b, tab).await?;
    ensure!(
        stuck.is_empty(),
        "rows stuck after the room's own table came back: {stuck:?}"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    set_control(&mut b, tab, "stuck-after", "0").await?;
    let (_, stuck) = rows(&mut b, tab).await?;
    let on_one = [
        students[0].name.as_str(),
        students[1].name.as_str(),
        "Ada Lovelace (2)",
        "Old Client",
    ];
    ensure!(
        stuck.len() == on_one.len() && on_one.iter().all(|n| stuck.iter().any(|s| s == n)),
        "with the threshold at 0 min, the stuck rows are {stuck:?}, not {on_one:?}"
    );
    let count = b
        .eval(
            tab,
            "document.getElementById('stuck-count').textContent",
            WAIT,
        )
        .await?;
    ensure!(count == "4 stuck", "the header says {count}, not 4 stuck");
    set_control(&mut b, tab, "stuck-after", "").await?;
    let (_, stuck) = rows(&mut b, tab).await?;
    ensure!(
        stuck.is_empty(),
        "rows still stuck after clearing: {stuck:?}"
    );
    step(
        started,
        "the stuck threshold is the plan's, and the page changes it",
    );

    // Two bad reports: refused with a message that names the problem, and
    // nothing changes on the page.
    let (ok, printed) = room.send(&students[0], "WRONG1").await?;
    ensure!(
        !ok && printed.contains("403") && printed.contains("wrong room code"),
        "a wrong code was not refused with 403: {printed}"
    );
    step(started, &format!("a wrong code is refused: {printed}"));
    let mut stray = Student::at("stray", "Mallory", &lesson, 1);
    stray.results.push(("teleport".into(), "pass"));
    let (ok, printed) = room.send(&stray, &code).await?;
    ensure!(
        !ok && printed.contains("422") && printed.contains("teleport"),
        "an unknown checkpoint was not refused with 422 naming it: {printed}"
    );
    step(
        started,
        &format!("an unknown checkpoint is refused: {printed}"),
    );

    let (names, _) = rows(&mut b, tab).await?;
    ensure!(
        names.len() == 6,
        "the page shows {} rows, not 6: {names:?}",
        names.len()
    );
    let stored = room.table().await?["students"]
        .as_array()
        .map_or(0, Vec::len);
    ensure!(stored == 6, "the room stored {stored} students, not 6");
    let kept = b.eval(tab, "window.__noReload === true", WAIT).await?;
    ensure!(kept == true, "the page was reloaded");
    step(
        started,
        "6 rows, nothing stored from the bad reports, never reloaded",
    );
    println!(
        "room-test: all good in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The book's picture of a room: a few students at different points of
/// the lesson, one of them stuck. Writes `<out>/room.png`.
pub async fn screenshot(room_bin: &Path, out: &Path) -> Result<()> {
    let exe = chromium::find_or_install()?;
    let room = Room::start(room_bin).await.context("starting the room")?;
    let table = room.table().await?;
    let code = room.code().await?;
    let lesson = Lesson::of(&table)?;
    let mut students = vec![
        Student::at("s1", "Ada Lovelace", &lesson, usize::MAX),
        Student::at("s2", "Alan Turing", &lesson, 9),
        Student::at("s3", "Grace Hopper", &lesson, 11),
        Student::at("s4", "Katherine Johnson", &lesson, 7),
        Student::at("s5", "<b>Bobby</b> Tables", &lesson, 8),
    ];
    // Alan needed the two hints before this one too, and asked for more
    // on this one.
    students[1].hints = vec![
        ("page-worker".into(), 1),
        ("outbox".into(), 1),
        (students[1].hints[0].0.clone(), 2),
    ];
    for student in &students {
        let (ok, printed) = room.send(student, &code).await?;
        ensure!(ok, "`room send` for {:?} failed: {printed}", student.name);
    }
    let lines = json!([
        {"check": "rust", "ok": true, "detail": "rustc 1.89.0"},
        {"check": "wasm target", "ok": true, "detail": "installed"},
        {"check": "chromium", "ok": true, "detail": "Chromium 131"}
    ]);
    for student in &students[..3] {
        room.send_doctor(student, &code, &lines).await?;
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
    // The picture is of a room 40 minutes in, not of this run's seconds:
    // the code as the instructor's room sees it, and the times each
    // student has been on their checkpoint (Alan past the plan's minutes
    // for his, so his row is marked stuck). Only the page's copy changes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.eval(
        tab,
        "(() => {
           const minutes = { 'Alan Turing': 23, 'Grace Hopper': 4, 'Katherine Johnson': 6, '<b>Bobby</b> Tables': 2 };
           for (const s of latest.students) {
             if (s.on_since !== null) s.on_since -= 60 * (minutes[s.name] || 0);
             s.checks_here += Math.floor((minutes[s.name] || 0) / 3);
           }
           latest.code = 'K7PXQ3';
           document.getElementById('sort').value = 'behind';
           render(latest);
         })()",
        WAIT,
    )
    .await?;
    let (_, stuck) = rows(&mut b, tab).await?;
    ensure!(
        stuck == ["Alan Turing"],
        "the picture should show Alan Turing stuck, and only him: {stuck:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = b.screenshot(tab, 1800, 600).await?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let path = out.join("room.png");
    std::fs::write(&path, &png).with_context(|| format!("cannot write {}", path.display()))?;
    println!("  room.png ({} KB)", png.len().div_ceil(1024));
    Ok(())
}
