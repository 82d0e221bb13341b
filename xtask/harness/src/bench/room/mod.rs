//! Benchmark 7, the instructor's room under a full workshop: 200 simulated
//! students each report every 10 s for two minutes to one room (`room
//! serve`, its binary from `--room-bin`), with bad and oversized reports
//! mixed in, while the room's page is open in headless Chromium and an
//! event-stream client of our own reads every table the page is sent.
//!
//! Each student is a machine of its own: its own loopback address
//! (127.0.1.x; Linux routes all of 127.0.0.0/8 to loopback), so that the
//! room's per-address limit sees a LAN of laptops, as in a classroom, and
//! its own machine id. Each report is one connection, as `room send` makes
//! it. Twenty pairs of students share a name (the room shows the second
//! with a suffix). Bad reports come from machines of their own, one kind
//! each in turn: a wrong code, an unknown checkpoint, broken JSON, a
//! 20 KiB body, an unknown field, a failure line over its limit.
//!
//! Judged, and a failure of the benchmark when not so: every valid report
//! is answered 200 and stored (the room's table counts every student's
//! checks), every bad one gets its 4xx, and the open page ends showing
//! every student's last check. Measured: each report's answer time (p50,
//! p99, max; the goal is a p99 under 50 ms), and how long after its answer
//! a report reached the page's event stream.
//!
//! Here, the run and its steps in order; in `students.rs`, the simulated
//! students and bad clients, what each sends and when; in `events.rs`, the
//! room's event stream, read as the page reads it.

mod events;
mod students;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};

use super::report::{Better, Goal, Row, Sample, Section};
use super::setup::Setup;
use crate::browsers::chromium::{self, Chromium};
use crate::browsers::{Browser, PageId, js_str};
use crate::room::Room;
use events::{Tables, Watching};
use students::{Answered, Load, send_reports};

pub async fn run(setup: &Setup) -> Result<Section> {
    let load = Load {
        students: setup.size(200, 20),
        every: Duration::from_secs(setup.size(10, 2) as u64),
        reports: setup.size(12, 3),
        bad_clients: setup.size(20, 4),
    };
    let mut section = Section::new("7. The room under a full workshop");
    if !distinct_loopback_addresses() {
        section.notes.push(
            "Not measured: this system does not give loopback addresses beyond 127.0.0.1 \
             (Linux does: 127.0.0.0/8), and 200 students from one address are what the room's \
             per-address limit refuses."
                .into(),
        );
        return Ok(section);
    }
    let room_bin = match &setup.room_bin {
        Some(bin) => bin.clone(),
        None => crate::room::room_bin(None, &setup.root)?,
    };
    let machine = super::report::Load::now();
    let measured = measure(&room_bin, load).await?;
    section.method = vec![format!(
        "{} students, each a machine with its own loopback address and machine id, report every {} s \
         ({} reports each, {} s in all, at a random offset each), one connection per report as `room send` \
         makes it, to one room (`room serve` built with `[profile.bench-server]` in a full run), on a fresh \
         database. {} more machines send only bad reports, every {} s each ({} in all): a wrong code, an \
         unknown checkpoint, broken JSON, a 20 KiB body, an unknown field, a failure line over its limit, in \
         turn. The room's page is open in headless Chromium meanwhile, and our own client reads its event \
         stream. Answer time: from the connection's start to the answer's end, at the student. Page lag: \
         from a report's answer to the first table on the event stream that holds it. All on the same 2 \
         cores.",
        load.students,
        load.every.as_secs(),
        load.reports,
        load.every.as_secs() as usize * load.reports,
        load.bad_clients,
        load.every.as_secs(),
        measured.bad
    )];
    let ms = |value: f64| {
        let mut sample = Sample::new("ms", Better::Lower);
        sample.push(value);
        sample
    };
    section.rows.push(Row::without_baseline(
        "valid report, answer p99",
        ms(measured.p99_ms),
        "none (goal: absolute)",
        Goal::AtMost(50.0),
    ));
    section.rows.push(Row::without_baseline(
        "valid report, answer p50",
        ms(measured.p50_ms),
        "—",
        Goal::None,
    ));
    section.rows.push(Row::without_baseline(
        "valid report, answer max",
        ms(measured.max_ms),
        "—",
        Goal::None,
    ));
    section.rows.push(Row::without_baseline(
        "bad report, answer p99",
        ms(measured.bad_p99_ms),
        "—",
        Goal::None,
    ));
    section.rows.push(Row::without_baseline(
        "report → page's event stream, p99",
        ms(measured.lag_p99_ms),
        "none (goal: absolute)",
        Goal::AtMost(1000.0),
    ));
    section.rows.push(Row::without_baseline(
        "last report → page shows every row, in Chromium",
        ms(measured.page_caught_up_ms),
        "none (goal: absolute)",
        Goal::AtMost(2000.0),
    ));
    section.notes.push(format!(
        "{} valid reports, all answered 200 and stored (the table counts {} checks); {} bad ones, each \
         refused with its 4xx ({}); {} tables reached the event stream, {:.1} a second, the last {} KiB.",
        measured.valid,
        measured.stored_checks,
        measured.bad,
        measured.refusals,
        measured.tables,
        measured.tables as f64 / measured.seconds,
        measured.last_table_bytes / 1024
    ));
    section.notes.push(format!(
        "The machine meanwhile: {}. The tail of the answer times follows it.",
        machine.until_now()
    ));
    Ok(section)
}

/// Whether this system answers on loopback addresses other than 127.0.0.1.
fn distinct_loopback_addresses() -> bool {
    std::net::TcpListener::bind("127.0.1.1:0").is_ok()
}

/// What one run came to.
struct Measured {
    valid: usize,
    bad: usize,
    stored_checks: u64,
    refusals: String,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    bad_p99_ms: f64,
    lag_p99_ms: f64,
    page_caught_up_ms: f64,
    tables: usize,
    last_table_bytes: usize,
    seconds: f64,
}

/// One run: the room, its page open and its event stream read while the
/// students report, then what came of it.
async fn measure(room_bin: &Path, load: Load) -> Result<Measured> {
    let room = Room::start(room_bin).await.context("starting the room")?;
    let (code, ids) = code_and_checkpoints(&room).await?;
    let salt = u64::from_le_bytes(crate::standins::push_service::random::<8>()?);
    let (mut browser, tab) = open_page(&room).await?;
    let watching = Watching::start(room.port);

    let started = Instant::now();
    let answers = send_reports(room.port, load, &code, &ids, salt, started).await?;
    let last_answer = answers.iter().map(|a| a.at).max().unwrap_or(started);
    check_answers(&answers)?;
    wait_for_every_row(&mut browser, tab, load).await?;
    let page_caught_up = last_answer.elapsed();
    let valid: Vec<&Answered> = answers.iter().filter(|a| a.expected == 200).collect();
    let stored_checks = stored_checks(&room, load, valid.len()).await?;
    let tables = watching.stop().await?;
    let mut lags = stream_lags(&tables, &valid)?;

    let mut latencies: Vec<Duration> = valid.iter().map(|a| a.latency).collect();
    let mut bad_latencies: Vec<Duration> = answers
        .iter()
        .filter(|a| a.expected != 200)
        .map(|a| a.latency)
        .collect();
    let mut refusals: HashMap<u16, usize> = HashMap::new();
    for answer in answers.iter().filter(|a| a.expected != 200) {
        *refusals.entry(answer.status).or_default() += 1;
    }
    let mut refusals: Vec<(u16, usize)> = refusals.into_iter().collect();
    refusals.sort_unstable();
    let seconds = last_answer.duration_since(started).as_secs_f64();
    Ok(Measured {
        valid: valid.len(),
        bad: bad_latencies.len(),
        stored_checks,
        refusals: refusals
            .iter()
            .map(|(status, n)| format!("{n}× {status}"))
            .collect::<Vec<_>>()
            .join(", "),
        p50_ms: percentile(&mut latencies, 50),
        p99_ms: percentile(&mut latencies, 99),
        max_ms: percentile(&mut latencies, 100),
        bad_p99_ms: percentile(&mut bad_latencies, 99),
        lag_p99_ms: percentile(&mut lags, 99),
        page_caught_up_ms: page_caught_up.as_secs_f64() * 1000.0,
        tables: tables.seen.len(),
        last_table_bytes: tables.last_bytes,
        seconds,
    })
}

/// The room's code and its checkpoints' ids, as its own table lists them.
async fn code_and_checkpoints(room: &Room) -> Result<(String, Vec<String>)> {
    let table = room.table().await?;
    let code = room.code().await?;
    let ids: Vec<String> = table["checkpoints"]
        .as_array()
        .context("the room's table has no checkpoints")?
        .iter()
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect();
    ensure!(
        ids.len() >= 4,
        "the room lists only {} checkpoints",
        ids.len()
    );
    Ok((code, ids))
}

/// The page, open (and listening) before the first report.
async fn open_page(room: &Room) -> Result<(Chromium, PageId)> {
    let mut browser = Chromium::launch(chromium::find_or_install()?, &room.url())
        .await
        .context("starting Chromium")?;
    let tab = browser.open_page(&format!("{}/", room.url())).await?;
    browser
        .wait_until(
            tab,
            "document.getElementById('live').textContent === 'live'",
            "the room page, listening",
            Duration::from_secs(15),
        )
        .await?;
    Ok((browser, tab))
}

/// Every valid report answered 200, every bad one its 4xx.
fn check_answers(answers: &[Answered]) -> Result<()> {
    let wrong: Vec<String> = answers
        .iter()
        .filter(|a| a.status != a.expected)
        .take(5)
        .map(|a| format!("answered {} where {} was due", a.status, a.expected))
        .collect();
    ensure!(
        wrong.is_empty(),
        "reports answered wrongly ({} in all), e.g.: {}",
        answers.iter().filter(|a| a.status != a.expected).count(),
        wrong.join("; ")
    );
    Ok(())
}

/// The page shows every student's last check.
async fn wait_for_every_row(browser: &mut Chromium, tab: PageId, load: Load) -> Result<()> {
    let rows = load.students;
    let checks = format!("· {} checks", load.reports);
    browser
        .wait_until(
            tab,
            &format!(
                "(() => {{ const on = Array.from(document.querySelectorAll('#students td.on'));
                          return on.length === {rows} && on.every(td => td.textContent.endsWith({checks})); }})()",
                checks = js_str(&checks)
            ),
            "the page to show every student's last check",
            Duration::from_secs(10),
        )
        .await?;
    Ok(())
}

/// Stored: the room's own table counts every valid report (`valid` of
/// them).
async fn stored_checks(room: &Room, load: Load, valid: usize) -> Result<u64> {
    let table = room.table().await?;
    let students = table["students"].as_array().context("no students")?;
    ensure!(
        students.len() == load.students,
        "the room holds {} students, not {}",
        students.len(),
        load.students
    );
    let stored_checks: u64 = students.iter().filter_map(|s| s["checks"].as_u64()).sum();
    ensure!(
        stored_checks == valid as u64,
        "the room counts {stored_checks} checks, but {valid} valid reports were answered 200"
    );
    Ok(stored_checks)
}

/// How long after its answer each valid report first reached the event
/// stream.
fn stream_lags(tables: &Tables, valid: &[&Answered]) -> Result<Vec<Duration>> {
    let mut lags = Vec::new();
    let mut nth: HashMap<usize, u64> = HashMap::new();
    let mut by_student: Vec<&&Answered> = valid.iter().collect();
    by_student.sort_by_key(|a| (a.student, a.at));
    for answer in by_student {
        let k = nth.entry(answer.student).or_default();
        *k += 1;
        let name = answer
            .shown
            .as_deref()
            .context("a valid report's answer has no name")?;
        let seen = tables
            .first_with(name, *k)
            .with_context(|| format!("{name}'s check {k} never reached the event stream"))?;
        lags.push(seen.saturating_duration_since(answer.at));
    }
    Ok(lags)
}

/// The `p`th percentile, in milliseconds (`p` 100: the largest).
fn percentile(values: &mut [Duration], p: usize) -> f64 {
    values.sort_unstable();
    let index = (values.len() * p).div_ceil(100).saturating_sub(1);
    values
        .get(index)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}
