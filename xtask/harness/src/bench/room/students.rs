//! The simulated students and bad clients: each a machine of its own (its
//! own loopback address and machine id), what each reports and when, and
//! the room's answers.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// How the room is loaded.
#[derive(Clone, Copy)]
pub(super) struct Load {
    pub(super) students: usize,
    pub(super) every: Duration,
    pub(super) reports: usize,
    /// Machines sending only bad reports, each one every `every`.
    pub(super) bad_clients: usize,
}

/// One answered report.
pub(super) struct Answered {
    pub(super) student: usize,
    pub(super) status: u16,
    pub(super) expected: u16,
    pub(super) latency: Duration,
    pub(super) at: Instant,
    /// The name the room shows (valid reports).
    pub(super) shown: Option<String>,
}

/// Every student's and every bad client's reports, each sent on its
/// schedule from `started`, and the room's answers.
pub(super) async fn send_reports(
    port: u16,
    load: Load,
    code: &str,
    ids: &[String],
    salt: u64,
    started: Instant,
) -> Result<Vec<Answered>> {
    let mut tasks = tokio::task::JoinSet::new();
    for student in 0..load.students {
        let body = |report: usize| valid_report(code, ids, student, report, salt);
        let bodies: Vec<Vec<u8>> = (0..load.reports).map(body).collect();
        let offset = load.every.mul_f64(jitter(salt, student));
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
        let code = code.to_owned();
        let ids = ids.to_vec();
        let offset = load.every.mul_f64(jitter(salt ^ 0xbad, client));
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
    Ok(answers)
}

/// The address of machine `n`: 127.0.1.1, 127.0.1.2, … 127.0.2.0, …
fn address(n: usize) -> IpAddr {
    let n = n + 257;
    IpAddr::V4(Ipv4Addr::new(127, 0, (n / 256) as u8, (n % 256) as u8))
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
}
