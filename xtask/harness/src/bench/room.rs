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

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use super::{Better, Goal, Row, Sample, Section, Setup};
use crate::browser::{Browser, js_str};
use crate::chromium::{self, Chromium};
use crate::room::Room;

/// How the room is loaded.
#[derive(Clone, Copy)]
struct Load {
    students: usize,
    every: Duration,
    reports: usize,
    /// Machines sending only bad reports, each one every `every`.
    bad_clients: usize,
}

/// One answered report.
struct Answered {
    student: usize,
    status: u16,
    expected: u16,
    latency: Duration,
    at: Instant,
    /// The name the room shows (valid reports).
    shown: Option<String>,
}

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
    let machine = super::Load::now();
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

/// The address of machine `n`: 127.0.1.1, 127.0.1.2, … 127.0.2.0, …
fn address(n: usize) -> IpAddr {
    let n = n + 257;
    IpAddr::V4(Ipv4Addr::new(127, 0, (n / 256) as u8, (n % 256) as u8))
}

async fn measure(room_bin: &Path, load: Load) -> Result<Measured> {
    let room = Room::start(room_bin).await.context("starting the room")?;
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
    let salt = u64::from_le_bytes(crate::push_service::random::<8>()?);

    // The page, open before the first report.
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

    // The tables are read on the runtime and parsed on a thread of their
    // own, so that parsing 200 KiB of JSON never delays the students'
    // tasks (and their timings).
    let (sender, received) = std::sync::mpsc::channel::<(String, Instant)>();
    let parser = std::thread::spawn(move || {
        let mut tables = Tables::default();
        for (json, at) in received {
            tables.add(&json, at)?;
        }
        anyhow::Ok(tables)
    });
    let reader = tokio::spawn(read_events(room.port, sender));

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for student in 0..load.students {
        let body = |report: usize| valid_report(&code, &ids, student, report, salt);
        let bodies: Vec<Vec<u8>> = (0..load.reports).map(body).collect();
        let offset = load.every.mul_f64(jitter(salt, student));
        let port = room.port;
        tasks.spawn(async move {
            let mut answered = Vec::new();
            let first = started + offset;
            for (k, body) in bodies.into_iter().enumerate() {
                tokio::time::sleep_until((first + load.every * k as u32).into()).await;
                let (status, latency, text) = post(address(student), port, &body).await?;
                let shown = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v["name"].as_str().map(str::to_owned));
                answered.push(Answered {
                    student,
                    status,
                    expected: 200,
                    latency,
                    at: Instant::now(),
                    shown,
                });
            }
            anyhow::Ok(answered)
        });
    }
    let bad_reports = load.reports;
    for client in 0..load.bad_clients {
        let code = code.clone();
        let ids = ids.clone();
        let offset = load.every.mul_f64(jitter(salt ^ 0xbad, client));
        let port = room.port;
        tasks.spawn(async move {
            let mut answered = Vec::new();
            let first = started + offset;
            for k in 0..bad_reports {
                tokio::time::sleep_until((first + load.every * k as u32).into()).await;
                let (body, expected) = bad_report(&code, &ids, client, k, salt);
                let (status, latency, _) =
                    post(address(load.students + client), port, &body).await?;
                answered.push(Answered {
                    student: usize::MAX,
                    status,
                    expected,
                    latency,
                    at: Instant::now(),
                    shown: None,
                });
            }
            anyhow::Ok(answered)
        });
    }
    let mut answers = Vec::new();
    while let Some(done) = tasks.join_next().await {
        answers.extend(done.context("a student task panicked")??);
    }
    let last_answer = answers.iter().map(|a| a.at).max().unwrap_or(started);

    // Every valid report answered 200, every bad one its 4xx.
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

    // The page shows every student's last check.
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
    let page_caught_up = last_answer.elapsed();

    // Stored: the room's own table counts every valid report.
    let table = room.table().await?;
    let students = table["students"].as_array().context("no students")?;
    ensure!(
        students.len() == load.students,
        "the room holds {} students, not {}",
        students.len(),
        load.students
    );
    let stored_checks: u64 = students.iter().filter_map(|s| s["checks"].as_u64()).sum();
    let valid: Vec<&Answered> = answers.iter().filter(|a| a.expected == 200).collect();
    ensure!(
        stored_checks == valid.len() as u64,
        "the room counts {stored_checks} checks, but {} valid reports were answered 200",
        valid.len()
    );

    // When each report first reached the event stream.
    tokio::time::sleep(Duration::from_millis(500)).await;
    reader.abort();
    // The sender went with the reader: the parser ends.
    let _ = reader.await;
    let tables = parser
        .join()
        .map_err(|_| anyhow::anyhow!("the event stream's parser panicked"))??;
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

/// The `p`th percentile, in milliseconds (`p` 100: the largest).
fn percentile(values: &mut [Duration], p: usize) -> f64 {
    values.sort_unstable();
    let index = (values.len() * p).div_ceil(100).saturating_sub(1);
    values
        .get(index)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
}

/// A fraction in [0, 1) that spreads the students' first reports over the
/// first interval, the same for the same salt.
fn jitter(salt: u64, n: usize) -> f64 {
    let mixed =
        (salt ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    (mixed >> 11) as f64 / (1u64 << 53) as f64
}

/// Student `n`'s `k`th report: stuck on one checkpoint all along, with the
/// failure's lines and a hint or two, as `room send` sends it.
fn valid_report(code: &str, ids: &[String], n: usize, k: usize, salt: u64) -> Vec<u8> {
    let passed = n % (ids.len() - 1);
    let checkpoints: Vec<Value> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let result = match i.cmp(&passed) {
                std::cmp::Ordering::Less => "pass",
                std::cmp::Ordering::Equal => "fail",
                std::cmp::Ordering::Greater => "not-run",
            };
            json!({"id": id, "result": result})
        })
        .collect();
    // Twenty pairs share a name: the room gives the second a suffix.
    let name = format!("Student {:03}", if n < 40 { n / 2 } else { n });
    json!({
        "code": code,
        "name": name,
        "machine": format!("{salt:016x}{n:016x}"),
        "stage": "starter",
        "browser": "chromium",
        "build_id": format!("build-{k}"),
        "checkpoints": checkpoints,
        "hints": { &ids[passed]: 1 + (k % 3) as u8 },
        "failure": {
            "id": ids[passed],
            "expected": "#form-status to show the worker's answer (\"Queued — N waiting\") after submitting the form",
            "seen": "\"Handing it to the service worker…\" for 10 s"
        }
    })
    .to_string()
    .into_bytes()
}

/// Bad client `n`'s `k`th report, and the status it must get.
fn bad_report(code: &str, ids: &[String], n: usize, k: usize, salt: u64) -> (Vec<u8>, u16) {
    let mut report = json!({
        "code": code,
        "name": format!("Mallory {n}"),
        "machine": format!("{:016x}{n:016x}", !salt),
        "stage": "starter",
        "browser": "chromium",
        "checkpoints": [{"id": ids[0], "result": "fail"}],
    });
    match (n + k) % 6 {
        0 => {
            report["code"] = json!("WRONG1");
            (report.to_string().into_bytes(), 403)
        }
        1 => {
            report["checkpoints"][0]["id"] = json!("teleport");
            (report.to_string().into_bytes(), 422)
        }
        2 => (b"{\"code\": \"".to_vec(), 400),
        3 => {
            report["build_id"] = json!("x".repeat(20 * 1024));
            (report.to_string().into_bytes(), 413)
        }
        4 => {
            report["source"] = json!("fn main() { println!(\"my whole solution\"); }");
            (report.to_string().into_bytes(), 422)
        }
        _ => {
            report["failure"] = json!({"id": ids[0], "expected": "x".repeat(400), "seen": "y"});
            (report.to_string().into_bytes(), 422)
        }
    }
}

/// One report, as `room send` posts it: a connection of its own from
/// `from`, `Connection: close`. The status, the time from the connection's
/// start to the answer's end, and the answer's body.
async fn post(from: IpAddr, port: u16, body: &[u8]) -> Result<(u16, Duration, String)> {
    let started = Instant::now();
    let exchange = async {
        let socket = TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from, 0))?;
        let mut stream = socket
            .connect(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
            .await?;
        stream.set_nodelay(true)?;
        let head = format!(
            "POST /api/report HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .context("the room did not answer a report within 10 s")?
        .with_context(|| format!("a report from {from}"))?;
    let latency = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("the room's answer is not HTTP: {:?}", text.lines().next()))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, latency, body))
}

/// What the event stream brought: for each shown name, when each of its
/// check counts first appeared.
#[derive(Default)]
struct Tables {
    /// When each table arrived.
    seen: Vec<Instant>,
    /// By name: (checks, first seen), checks increasing.
    firsts: HashMap<String, Vec<(u64, Instant)>>,
    last_bytes: usize,
}

impl Tables {
    fn add(&mut self, json: &str, at: Instant) -> Result<()> {
        let table: Value = serde_json::from_str(json).context("a table that is not JSON")?;
        self.seen.push(at);
        self.last_bytes = json.len();
        for student in table["students"].as_array().into_iter().flatten() {
            let (Some(name), Some(checks)) = (student["name"].as_str(), student["checks"].as_u64())
            else {
                continue;
            };
            let firsts = self.firsts.entry(name.to_owned()).or_default();
            if firsts.last().is_none_or(|(known, _)| checks > *known) {
                firsts.push((checks, at));
            }
        }
        Ok(())
    }

    /// The first time `name` showed at least `checks` checks.
    fn first_with(&self, name: &str, checks: u64) -> Option<Instant> {
        self.firsts
            .get(name)?
            .iter()
            .find(|(n, _)| *n >= checks)
            .map(|(_, at)| *at)
    }
}

/// Reads the room's event stream, as the page does: each table's JSON,
/// with when it arrived, to `tables`.
async fn read_events(port: u16, tables: Sender<(String, Instant)>) -> Result<()> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    // HTTP/1.0: the stream's body then ends only when the connection does,
    // with no chunks to take apart.
    stream
        .write_all(b"GET /api/events HTTP/1.0\r\naccept: text/event-stream\r\n\r\n")
        .await?;
    let mut buffer = Vec::new();
    let mut headers_done = false;
    let mut chunk = vec![0; 256 * 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        let at = Instant::now();
        buffer.extend_from_slice(&chunk[..n]);
        if !headers_done {
            let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&buffer[..end]).to_lowercase();
            if head.contains("transfer-encoding: chunked") {
                bail!("the event stream came chunked to an HTTP/1.0 request");
            }
            buffer.drain(..end + 4);
            headers_done = true;
        }
        while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
            let event: Vec<u8> = buffer.drain(..end + 2).collect();
            let text = String::from_utf8_lossy(&event);
            if !text.lines().any(|l| l == "event: table") {
                continue;
            }
            let data: String = text
                .lines()
                .filter_map(|l| l.strip_prefix("data:"))
                .map(|d| d.strip_prefix(' ').unwrap_or(d))
                .collect();
            if tables.send((data, at)).is_err() {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn students_are_machines_of_their_own_with_reports_the_room_reads() {
        assert_eq!(address(0), IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1)));
        assert_eq!(address(255), IpAddr::V4(Ipv4Addr::new(127, 0, 2, 0)));
        let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).into();
        let report: Value = serde_json::from_slice(&valid_report("C", &ids, 5, 1, 7)).unwrap();
        assert_eq!(report["checkpoints"][2]["result"], "fail");
        assert_eq!(report["failure"]["id"], "c");
        assert_eq!(report["name"], "Student 002");
        assert!(report["machine"].as_str().unwrap().len() == 32);
        let statuses: Vec<u16> = (0..6).map(|k| bad_report("C", &ids, 0, k, 7).1).collect();
        assert_eq!(statuses, [403, 422, 400, 413, 422, 422]);
        assert!(
            (0..100)
                .map(|n| jitter(3, n))
                .all(|j| (0.0..1.0).contains(&j))
        );
    }

    #[test]
    fn the_event_stream_is_read_for_when_each_check_first_showed() {
        let mut tables = Tables::default();
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(250);
        tables
            .add(r#"{"students": [{"name": "Ada", "checks": 1}]}"#, t0)
            .unwrap();
        tables
            .add(r#"{"students": [{"name": "Ada", "checks": 3}]}"#, t1)
            .unwrap();
        assert_eq!(tables.first_with("Ada", 1), Some(t0));
        assert_eq!(tables.first_with("Ada", 2), Some(t1));
        assert_eq!(tables.first_with("Ada", 4), None);
        assert_eq!(tables.first_with("Bo", 1), None);
    }
}
