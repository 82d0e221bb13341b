//! `harness room-test`: simulated students report to a fresh room through
//! the real `room send`, and its page must follow, one step at a time.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use serde_json::json;

use super::instance::{Room, WAIT};
use super::page::{header_js, rows, set_control, step, wait_row, wait_row_where};
use super::students::{Lesson, Student};
use crate::browsers::chromium::{self, Chromium};
use crate::browsers::{Browser, PageId, js_str};

/// `harness room-test`.
pub async fn test(room_bin: &Path) -> Result<()> {
    let mut scene = Scene::open(room_bin).await?;
    scene.three_students_report().await?;
    scene.checks_on_one_checkpoint_add_up().await?;
    scene.a_taken_name_gets_a_suffix().await?;
    scene.a_doctor_report_alone().await?;
    scene.an_older_client().await?;
    scene.columns_count_who_passes().await?;
    scene.rows_sort_by_progress().await?;
    scene.stuck_follows_the_plan().await?;
    scene.bad_reports_change_nothing().await?;
    println!(
        "room-test: all good in {:.1} s",
        scene.started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The room, its page in Chromium, and who has reported so far.
struct Scene {
    started: Instant,
    room: Room,
    code: String,
    lesson: Lesson,
    b: Chromium,
    tab: PageId,
    /// Ada (on the first lesson checkpoint), the markup student (on the
    /// first of the set-up) and Grace (done).
    students: Vec<Student>,
    /// Every student whose results count in the columns' headers.
    reporting: Vec<Student>,
}

impl Scene {
    /// Starts the room and opens its page, live.
    async fn open(room_bin: &Path) -> Result<Scene> {
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
        Ok(Scene {
            started,
            room,
            code,
            lesson,
            b,
            tab,
            students: Vec::new(),
            reporting: Vec::new(),
        })
    }

    /// Three students report; each row comes without a reload, with where
    /// they are, why, since when, and their hints at their level.
    async fn three_students_report(&mut self) -> Result<()> {
        let lesson = &self.lesson;
        // Ada is on the first lesson checkpoint, the markup student on the
        // first of the set-up: the plan gives them different minutes.
        let mut ada = Student::at("ada", "Ada Lovelace", lesson, 6);
        ada.hints = vec![(ada.hints[0].0.clone(), 2), ("app-loads".into(), 1)];
        self.students = vec![
            ada,
            Student::at("markup", "<b>markup</b>", lesson, 0),
            Student::at("grace", "Grace Hopper", lesson, usize::MAX),
        ];
        for student in &self.students {
            let (ok, printed) = self.room.send(student, &self.code).await?;
            ensure!(ok, "`room send` for {:?} failed: {printed}", student.name);
            let row = wait_row(&mut self.b, self.tab, student).await?;
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
                self.started,
                &format!(
                    "{:?} reported; the row came without a reload, with why and since when ({printed})",
                    student.name
                ),
            );
        }
        self.reporting.extend(self.students.iter().cloned());
        Ok(())
    }

    /// Ada checks again, on the same checkpoint: the checks there add up.
    async fn checks_on_one_checkpoint_add_up(&mut self) -> Result<()> {
        self.room.send(&self.students[0], &self.code).await?;
        wait_row_where(
            &mut self.b,
            self.tab,
            &self.students[0].name,
            "with 2 checks",
            |row| {
                row["on"]
                    .as_str()
                    .is_some_and(|on| on.ends_with("· 2 checks"))
            },
        )
        .await?;
        step(
            self.started,
            "a second check on the same checkpoint is counted",
        );
        Ok(())
    }

    /// Another machine types the same name: a row of its own, with a
    /// suffix, and the first student's row is as it was.
    async fn a_taken_name_gets_a_suffix(&mut self) -> Result<()> {
        let twin = Student::at("twin", "Ada Lovelace", &self.lesson, 0);
        let (ok, printed) = self.room.send(&twin, &self.code).await?;
        ensure!(
            ok && printed.contains("\"Ada Lovelace (2)\"") && printed.contains("another machine"),
            "a second machine named like the first was not told its suffix: {printed}"
        );
        let shown_as = Student {
            name: "Ada Lovelace (2)".into(),
            ..twin.clone()
        };
        let twin_row = wait_row(&mut self.b, self.tab, &shown_as).await?;
        wait_row(&mut self.b, self.tab, &self.students[0]).await?;
        step(
            self.started,
            &format!(
                "a second machine named \"Ada Lovelace\" gets a row of its own ({}), the first row unchanged",
                twin_row["name"]
            ),
        );
        self.reporting.push(shown_as);
        Ok(())
    }

    /// A student who ran only `cargo xtask doctor`, before the session.
    async fn a_doctor_report_alone(&mut self) -> Result<()> {
        let bo = Student::at("bo", "Bo Doctor", &self.lesson, 0);
        let lines = json!([
            {"check": "rust", "ok": true, "detail": "rustc 1.89.0"},
            {"check": "chromium", "ok": false, "detail": "no Chromium found: sudo apt-get install chromium"}
        ]);
        let (ok, printed) = self.room.send_doctor(&bo, &self.code, &lines).await?;
        ensure!(ok, "`room send --doctor` failed: {printed}");
        let row = wait_row_where(
            &mut self.b,
            self.tab,
            "Bo Doctor",
            "with the doctor's lines",
            |row| {
                row["doctor"].as_str().is_some_and(|d| {
                    d.contains("1 to fix") && d.contains("chromium: no Chromium found")
                })
            },
        )
        .await?;
        ensure!(
            row["on"] == "no check yet",
            "a doctor-only row says it has a check: {row}"
        );
        step(
            self.started,
            &format!("a doctor report shows who is not set up ({printed})"),
        );
        Ok(())
    }

    /// An older client: no machine id, hints as `hints_seen`, level 1.
    async fn an_older_client(&mut self) -> Result<()> {
        let first = self.lesson.ids[0].clone();
        let old = json!({
            "code": self.code, "name": "Old Client", "stage": "starter", "browser": "chromium",
            "checkpoints": [{"id": first, "result": "fail"}],
            "hints_seen": [first]
        });
        let (status, answer) =
            crate::standins::push_service::http_json(self.room.port, "POST", "/api/report", &old)
                .await?;
        ensure!(
            status == 200,
            "an older client's report was refused ({status}): {answer}"
        );
        wait_row_where(
            &mut self.b,
            self.tab,
            "Old Client",
            "with its hint at level 1",
            |row| row["levels"] == json!([[format!("{first} · hint"), "1"]]),
        )
        .await?;
        step(
            self.started,
            "an older client's report (no machine id, `hints_seen`) is shown",
        );
        let mut old_client = Student::at("old", "Old Client", &self.lesson, 0);
        old_client.results = vec![(first, "fail")];
        self.reporting.push(old_client);
        Ok(())
    }

    /// Over each column: how many pass it, and a bar, out of those who
    /// checked it; and the plan's minutes in its title.
    async fn columns_count_who_passes(&mut self) -> Result<()> {
        for id in &self.lesson.ids[..3] {
            let results: Vec<&str> = self
                .reporting
                .iter()
                .filter_map(|s| s.results.iter().find(|(i, _)| i == id).map(|(_, r)| *r))
                .filter(|r| *r != "not-applicable")
                .collect();
            let passing = results.iter().filter(|r| **r == "pass").count();
            let percent = (100.0 * passing as f64 / results.len() as f64).round();
            let header = self.b.eval(self.tab, &header_js(id), WAIT).await?;
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
        let title = self
            .b
            .eval(self.tab, &header_js("page-worker"), WAIT)
            .await?["title"]
            .clone();
        let planned = self
            .lesson
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
            self.started,
            "each column counts who passes it, with a bar and the plan's minutes",
        );
        Ok(())
    }

    /// Sorted by progress: fewest ✓ first, then most.
    async fn rows_sort_by_progress(&mut self) -> Result<()> {
        let passed_of = |name: &String| {
            self.reporting
                .iter()
                .find(|s| &s.name == name)
                .map_or(0, |s| s.passed())
        };
        set_control(&mut self.b, self.tab, "sort", "behind").await?;
        let (names, _) = rows(&mut self.b, self.tab).await?;
        let order: Vec<usize> = names.iter().map(passed_of).collect();
        let done = &self.students[2].name;
        ensure!(
            order.windows(2).all(|w| w[0] <= w[1]) && names.last() == Some(done),
            "sorted by fewest ✓ first, the rows are {names:?}"
        );
        set_control(&mut self.b, self.tab, "sort", "ahead").await?;
        let (names, _) = rows(&mut self.b, self.tab).await?;
        ensure!(
            names.first() == Some(done),
            "sorted by most ✓ first, the rows are {names:?}"
        );
        set_control(&mut self.b, self.tab, "sort", "joined").await?;
        step(self.started, "rows sort by progress");
        Ok(())
    }

    /// Stuck: nobody within the plan's minutes; past them, by the plan's
    /// minutes for each one's checkpoint; everyone on a checkpoint once the
    /// threshold is 0; nobody again when it is cleared.
    async fn stuck_follows_the_plan(&mut self) -> Result<()> {
        let (_, stuck) = rows(&mut self.b, self.tab).await?;
        ensure!(
            stuck.is_empty(),
            "rows marked stuck within the plan: {stuck:?}"
        );
        self.one_past_the_plan().await?;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        set_control(&mut self.b, self.tab, "stuck-after", "0").await?;
        let (_, stuck) = rows(&mut self.b, self.tab).await?;
        let on_one = [
            self.students[0].name.as_str(),
            self.students[1].name.as_str(),
            "Ada Lovelace (2)",
            "Old Client",
        ];
        ensure!(
            stuck.len() == on_one.len() && on_one.iter().all(|n| stuck.iter().any(|s| s == n)),
            "with the threshold at 0 min, the stuck rows are {stuck:?}, not {on_one:?}"
        );
        let count = self
            .b
            .eval(
                self.tab,
                "document.getElementById('stuck-count').textContent",
                WAIT,
            )
            .await?;
        ensure!(count == "4 stuck", "the header says {count}, not 4 stuck");
        set_control(&mut self.b, self.tab, "stuck-after", "").await?;
        let (_, stuck) = rows(&mut self.b, self.tab).await?;
        ensure!(
            stuck.is_empty(),
            "rows still stuck after clearing: {stuck:?}"
        );
        step(
            self.started,
            "the stuck threshold is the plan's, and the page changes it",
        );
        Ok(())
    }

    /// The page's copy of the table, as if Ada had been on her checkpoint
    /// half a minute short of the plan's minutes for it, and the markup
    /// student half a minute past those for his: no one threshold for every
    /// checkpoint marks exactly him. The room's own table is untouched, and
    /// shown again at the end.
    async fn one_past_the_plan(&mut self) -> Result<()> {
        let short = self.students[0].failing().unwrap_or_default();
        let past = self.students[1].failing().unwrap_or_default();
        let minutes = |id: &str| self.lesson.minutes.get(id).copied().unwrap_or_default();
        let script = format!(
            "(() => {{
               for (const s of latest.students) {{
                 if (s.name === {ada}) s.on_since -= {short} * 60 - 30;
                 if (s.name === {markup}) s.on_since -= {past} * 60 + 30;
               }}
               render(latest);
             }})()",
            ada = js_str(&self.students[0].name),
            markup = js_str(&self.students[1].name),
            past = minutes(past),
            short = minutes(short),
        );
        self.b.eval(self.tab, &script, WAIT).await?;
        let (_, stuck) = rows(&mut self.b, self.tab).await?;
        ensure!(
            stuck == [self.students[1].name.clone()],
            "past the plan's minutes for {past} the markup student should be stuck, within those for {short} Ada not: {stuck:?}"
        );
        self.b
            .eval(
                self.tab,
                "fetch('/api/table').then(r => r.json()).then(show)",
                WAIT,
            )
            .await?;
        let (_, stuck) = rows(&mut self.b, self.tab).await?;
        ensure!(
            stuck.is_empty(),
            "rows stuck after the room's own table came back: {stuck:?}"
        );
        Ok(())
    }

    /// Two bad reports: refused with a message that names the problem, and
    /// nothing changes on the page, which was never reloaded.
    async fn bad_reports_change_nothing(&mut self) -> Result<()> {
        let (ok, printed) = self.room.send(&self.students[0], "WRONG1").await?;
        ensure!(
            !ok && printed.contains("403") && printed.contains("wrong room code"),
            "a wrong code was not refused with 403: {printed}"
        );
        step(self.started, &format!("a wrong code is refused: {printed}"));
        let mut stray = Student::at("stray", "Mallory", &self.lesson, 1);
        stray.results.push(("teleport".into(), "pass"));
        let (ok, printed) = self.room.send(&stray, &self.code).await?;
        ensure!(
            !ok && printed.contains("422") && printed.contains("teleport"),
            "an unknown checkpoint was not refused with 422 naming it: {printed}"
        );
        step(
            self.started,
            &format!("an unknown checkpoint is refused: {printed}"),
        );
        let (names, _) = rows(&mut self.b, self.tab).await?;
        ensure!(
            names.len() == 6,
            "the page shows {} rows, not 6: {names:?}",
            names.len()
        );
        let stored = self.room.table().await?["students"]
            .as_array()
            .map_or(0, Vec::len);
        ensure!(stored == 6, "the room stored {stored} students, not 6");
        let kept = self
            .b
            .eval(self.tab, "window.__noReload === true", WAIT)
            .await?;
        ensure!(kept == true, "the page was reloaded");
        step(
            self.started,
            "6 rows, nothing stored from the bad reports, never reloaded",
        );
        Ok(())
    }
}
