//! `room send`: a student's opt-in report to the room, after a check.
//!
//! It reads the progress file that `cargo xtask check` writes, keeps only
//! the checkpoint results, the hints asked for, the first failure's one
//! line each of what was expected and seen, and the build id — never a
//! path, a file or a line of code — and POSTs them to the room. With
//! `--doctor` it sends the lines of the last `cargo xtask doctor` instead
//! (`doctor.json`), and only their check, verdict and detail.
//!
//! Every report carries the machine's random id, kept beside the progress
//! file in `machine-id` (made on first use), by which the room tells two
//! students of the same name apart.
//!
//! The HTTP client is one request written by hand over a `TcpStream`. The
//! room is a plain-http server on the same LAN or on this machine, and one
//! small POST with `Connection: close` is all this needs: a client library
//! (reqwest, hyper's client) would add TLS, pools and redirects that the
//! room never uses, and a few minutes to every student's first `check`.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde::Deserialize;
use serde_json::Value;

use crate::report::{
    CheckpointResult, DoctorLine, Failure, MAX_DOCTOR_CHECK, MAX_DOCTOR_DETAIL, MAX_DOCTOR_LINES,
    MAX_FAILURE_TEXT, Report,
};

const TIMEOUT: Duration = Duration::from_secs(5);
/// The most of the room's answer read: it is a line of JSON.
const MAX_ANSWER: u64 = 64 * 1024;
/// Beside the progress file: the machine's id, and the doctor's lines.
const MACHINE_ID_FILE: &str = "machine-id";
const DOCTOR_FILE: &str = "doctor.json";

/// What to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// The last check of `stage` in `browser`.
    Check { stage: String, browser: String },
    /// The last `cargo xtask doctor`.
    Doctor,
}

/// One check run, as `cargo xtask check` records it. Other fields (the
/// file gains some as the check evolves) are ignored, and never sent.
#[derive(Debug, Deserialize)]
pub struct Run {
    pub stage: String,
    pub browser: String,
    #[serde(default)]
    pub build_id: String,
    pub checkpoints: Vec<CheckpointResult>,
    /// The hints asked for: a list of checkpoint ids (each at level 1), or
    /// a map of checkpoint id to the highest level reached.
    #[serde(default)]
    pub hints_seen: Option<Value>,
    #[serde(default)]
    pub hints: Option<Value>,
    #[serde(default)]
    pub hint_levels: Option<Value>,
    #[serde(default)]
    pub failure: Option<Failure>,
}

impl Run {
    /// The highest level of each hint, from whichever of the forms the
    /// progress file holds: `["id", …]` (level 1), `{"id": level, …}` or
    /// `[{"id": …, "level": …}, …]`.
    pub fn hint_levels(&self) -> Result<BTreeMap<String, u8>> {
        let mut levels = BTreeMap::new();
        let fields = [
            ("hints_seen", &self.hints_seen),
            ("hints", &self.hints),
            ("hint_levels", &self.hint_levels),
        ];
        for (field, value) in fields {
            let Some(value) = value else { continue };
            let pairs = hint_pairs(value).with_context(|| {
                format!("the progress file's `{field}` is neither a list of checkpoint ids nor a map of hint levels")
            })?;
            for (id, level) in pairs {
                let known = levels.entry(id).or_insert(level);
                *known = (*known).max(level);
            }
        }
        Ok(levels)
    }
}

fn hint_pairs(value: &Value) -> Option<Vec<(String, u8)>> {
    let level = |v: &Value| v.as_u64().and_then(|n| u8::try_from(n).ok());
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::String(id) => Some((id.clone(), 1)),
                Value::Object(map) => Some((
                    map.get("id")?.as_str()?.to_owned(),
                    level(map.get("level")?)?,
                )),
                _ => None,
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(id, v)| Some((id.clone(), level(v)?)))
            .collect(),
        _ => None,
    }
}

/// The run for `stage` in `browser` from the progress file's JSON, which
/// holds either one run, `{"runs": [...]}`, or a map of runs (by any key).
pub fn pick_run(json: &str, stage: &str, browser: &str) -> Result<Run> {
    let value: Value = serde_json::from_str(json).context("the progress file is not JSON")?;
    let candidates: Vec<Value> = match value {
        Value::Object(ref map) if map.contains_key("checkpoints") => vec![value],
        Value::Object(mut map) if map.get("runs").is_some_and(Value::is_array) => {
            match map.remove("runs") {
                Some(Value::Array(runs)) => runs,
                _ => Vec::new(),
            }
        }
        Value::Object(map) => map.into_iter().map(|(_, run)| run).collect(),
        Value::Array(runs) => runs,
        _ => bail!("the progress file holds no check run"),
    };
    let mut seen = Vec::new();
    for candidate in candidates {
        let run: Run = serde_json::from_value(candidate)
            .context("the progress file holds a run that is not a check run")?;
        if run.stage == stage && run.browser == browser {
            return Ok(run);
        }
        seen.push(format!("{} in {}", run.stage, run.browser));
    }
    Err(anyhow!(
        "the progress file has no run of {stage} in {browser} (it has: {}); run `cargo xtask check {stage}` first",
        if seen.is_empty() {
            "none".to_owned()
        } else {
            seen.join(", ")
        }
    ))
}

/// The report for the room: the run's results, hints and first failure,
/// nothing else.
pub fn report_of(run: Run, code: &str, name: &str, machine: &str) -> Result<Report> {
    let hints = run.hint_levels()?;
    let failure = run.failure.map(|f| Failure {
        id: f.id,
        expected: one_line(&f.expected, MAX_FAILURE_TEXT),
        seen: one_line(&f.seen, MAX_FAILURE_TEXT),
    });
    Ok(Report {
        code: code.to_owned(),
        name: name.to_owned(),
        machine: Some(machine.to_owned()),
        stage: run.stage,
        browser: run.browser,
        build_id: run.build_id,
        checkpoints: run.checkpoints,
        hints,
        failure,
        ..Report::default()
    })
}

/// `cargo xtask doctor`'s file: `{"lines": [{"check", "ok", "detail"}]}`.
/// Anything else in it is ignored, and never sent.
#[derive(Debug, Deserialize)]
struct DoctorFile {
    lines: Vec<DoctorFileLine>,
}

#[derive(Debug, Deserialize)]
struct DoctorFileLine {
    check: String,
    ok: bool,
    #[serde(default)]
    detail: String,
}

/// The doctor's report for the room: each line's check, verdict and
/// detail, shortened to the room's limits.
pub fn doctor_report_of(json: &str, code: &str, name: &str, machine: &str) -> Result<Report> {
    let file: DoctorFile = serde_json::from_str(json)
        .context("it is not what `cargo xtask doctor` writes ({\"lines\": [{\"check\", \"ok\", \"detail\"}]})")?;
    ensure!(!file.lines.is_empty(), "it holds no lines");
    let lines = file
        .lines
        .into_iter()
        .take(MAX_DOCTOR_LINES)
        .map(|line| DoctorLine {
            check: one_line(&line.check, MAX_DOCTOR_CHECK),
            ok: line.ok,
            detail: one_line(&line.detail, MAX_DOCTOR_DETAIL),
        })
        .collect();
    Ok(Report {
        code: code.to_owned(),
        name: name.to_owned(),
        machine: Some(machine.to_owned()),
        doctor: Some(lines),
        ..Report::default()
    })
}

/// `text` as one line of at most `max` characters: runs of whitespace and
/// control characters become one space, and a longer text ends in `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let line = words.join(" ");
    if line.chars().count() <= max {
        return line;
    }
    let mut short: String = line.chars().take(max.saturating_sub(1)).collect();
    short.push('…');
    short
}

/// This machine's id, from `dir/machine-id`, made (random) and kept there
/// on first use. Not a secret: it only tells two students of the same name
/// apart.
pub fn machine_id(dir: &Path) -> Result<String> {
    let path = dir.join(MACHINE_ID_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim();
        if id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(id.to_owned());
        }
    }
    let id = new_machine_id();
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&path, format!("{id}\n"))
        .with_context(|| format!("cannot write the machine's id to {}", path.display()))?;
    Ok(id)
}

/// 32 hexadecimal digits. std's `RandomState` is seeded from the operating
/// system's random source (see `serve::new_code`); the time and the process
/// id are mixed in too, so that two machines cloned from one image differ.
fn new_machine_id() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (0..2u8)
        .map(|half| {
            let mut hasher = state.build_hasher();
            hasher.write_u8(half);
            hasher.write_u128(nanos);
            hasher.write_u32(std::process::id());
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

/// Reads what to send (beside `progress`) and sends it; returns the line
/// to print.
pub fn send(url: &str, code: &str, name: &str, progress: &Path, what: &What) -> Result<String> {
    let dir = progress.parent().unwrap_or(Path::new("."));
    // Read before the machine's id is made: a report that cannot be sent
    // leaves nothing behind.
    let report = match what {
        What::Check { stage, browser } => {
            let json = std::fs::read_to_string(progress)
                .with_context(|| format!("cannot read the progress file {}", progress.display()))?;
            let run = pick_run(&json, stage, browser)
                .with_context(|| format!("in {}", progress.display()))?;
            report_of(run, code, name, &machine_id(dir)?)
                .with_context(|| format!("in {}", progress.display()))?
        }
        What::Doctor => {
            let path = dir.join(DOCTOR_FILE);
            let json = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "cannot read {}: run `cargo xtask doctor` first",
                    path.display()
                )
            })?;
            doctor_report_of(&json, code, name, &machine_id(dir)?)
                .with_context(|| format!("in {}", path.display()))?
        }
    };
    let body = serde_json::to_vec(&report).context("cannot encode the report")?;
    let target = Target::parse(url)?;
    let (status, answer) = post(&target, "/api/report", &body)?;
    let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::String(answer));
    if (200..300).contains(&status) {
        return Ok(reported_line(url, name, &report, &answer));
    }
    let why = answer["error"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| answer.to_string());
    bail!("the room at {url} refused the report ({status}): {why}")
}

/// What the student reads after a report was stored: under which name the
/// room shows them (and why, when it is not the one they typed), and their
/// count or the doctor's.
fn reported_line(url: &str, name: &str, report: &Report, answer: &Value) -> String {
    let shown = answer["name"].as_str().unwrap_or(name);
    let mut line = format!("room: reported to {url} as {shown:?}");
    if shown != name.trim() {
        line.push_str(&format!(
            " (another machine in the room is {:?})",
            name.trim()
        ));
    }
    match &report.doctor {
        Some(lines) => {
            let failing = lines.iter().filter(|l| !l.ok).count();
            line.push_str(&format!(
                ": the doctor's {} lines, {failing} not ok",
                lines.len()
            ));
        }
        None => {
            let passed = answer["passed"].as_u64().unwrap_or(report.passed() as u64);
            let total = answer["checkpoints"]
                .as_u64()
                .unwrap_or(report.checkpoints.len() as u64);
            line.push_str(&format!(": {passed}/{total} ✓"));
        }
    }
    line
}

/// Where the room is: `http://host[:port][/prefix]`.
#[derive(Debug, PartialEq, Eq)]
pub struct Target {
    /// `host:port`, as the `Host` header and the resolver want it.
    pub authority: String,
    pub prefix: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            anyhow!(
                "the room's URL must start with http:// (the room is plain HTTP on your LAN): {url}"
            )
        })?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        ensure!(!authority.is_empty(), "the room's URL has no host: {url}");
        ensure!(
            !authority.contains('@'),
            "the room's URL must not hold a user name or password: {url}"
        );
        // A port is there unless the authority ends in a host: `[::1]`,
        // `room.local`; `[::1]:3030` and `10.0.0.2:3030` have one.
        let has_port = authority
            .rsplit_once(':')
            .is_some_and(|(_, port)| !port.contains(']'));
        let authority = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Target {
            authority,
            prefix: format!("/{}", path.trim_end_matches('/')).replace("//", "/"),
        })
    }
}

/// One HTTP/1.1 POST of a JSON body; the status and the body of the answer.
fn post(target: &Target, path: &str, body: &[u8]) -> Result<(u16, String)> {
    let addresses: Vec<SocketAddr> = target
        .authority
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve the room's address {}", target.authority))?
        .collect();
    let mut stream = connect(&addresses)
        .with_context(|| format!("cannot reach the room at {}", target.authority))?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    let path = format!("{}{path}", target.prefix.trim_end_matches('/'));
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        target.authority,
        body.len()
    );
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .context("cannot send the report")?;
    let mut answer = Vec::new();
    stream
        .take(MAX_ANSWER)
        .read_to_end(&mut answer)
        .context("the room did not answer")?;
    parse_answer(&answer)
}

fn connect(addresses: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for address in addresses {
        match TcpStream::connect_timeout(address, TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// The status code and body of an HTTP/1.1 answer read to its end (the
/// request said `Connection: close`). The room's answers are JSON of a known
/// length; a chunked one is decoded too, for any proxy on the way.
pub fn parse_answer(answer: &[u8]) -> Result<(u16, String)> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow!("the room's answer is not HTTP"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|_| head.starts_with("HTTP/1."))
        .ok_or_else(|| anyhow!("the room's answer is not HTTP: {}", first_line(head)))?;
    let chunked = head.lines().any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16);
        match size {
            Ok(0) | Err(_) => break,
            Ok(size) => {
                let size = size.min(rest.len());
                out.push_str(&rest[..size]);
                body = rest[size..].trim_start_matches("\r\n");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    const RUN: &str = r#"{"stage":"starter","browser":"chromium","build_id":"b7","checked_at":1764750000,
        "checkpoints":[{"id":"app-loads","result":"pass"},{"id":"sync","result":"fail"}],
        "hints_seen":["sync"], "source_dir": "/home/ada/starter",
        "failure": {"id": "sync", "expected": "the article on the server\nonce", "seen": "none"}}"#;

    const MACHINE: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn reads_one_run_a_list_or_a_map() {
        let run = pick_run(RUN, "starter", "chromium").unwrap();
        assert_eq!(run.build_id, "b7");
        assert_eq!(run.checkpoints[1].result, Outcome::Fail);

        let list = format!(
            r#"{{"runs": [{}, {RUN}]}}"#,
            RUN.replace("starter", "solution")
        );
        assert_eq!(
            pick_run(&list, "starter", "chromium").unwrap().build_id,
            "b7"
        );
        let map = format!(r#"{{"starter/chromium": {RUN}}}"#);
        assert_eq!(
            pick_run(&map, "starter", "chromium").unwrap().stage,
            "starter"
        );

        let error = pick_run(&list, "starter", "firefox").unwrap_err();
        assert!(error.to_string().contains("starter in chromium"), "{error}");
    }

    #[test]
    fn only_results_hints_the_failure_and_the_build_id_are_sent() {
        let run = pick_run(RUN, "starter", "chromium").unwrap();
        let report = report_of(run, "ABC234", "Ada", MACHINE).unwrap();
        let json = serde_json::to_value(&report).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "browser",
                "build_id",
                "checkpoints",
                "code",
                "failure",
                "hints",
                "machine",
                "name",
                "stage"
            ]
        );
        assert!(!json.to_string().contains("/home/ada"));
        // As `check` printed it, on one line.
        assert_eq!(
            report.failure.unwrap().expected,
            "the article on the server once"
        );
        assert_eq!(json["hints"], serde_json::json!({"sync": 1}));
    }

    #[test]
    fn hint_levels_are_read_in_every_form_and_the_highest_is_kept() {
        let run = |hints: &str| {
            let json = RUN.replace(r#""hints_seen":["sync"]"#, hints);
            pick_run(&json, "starter", "chromium")
                .unwrap()
                .hint_levels()
        };
        let levels = run(r#""hints_seen":["sync","outbox"], "hints":{"sync":2}"#).unwrap();
        assert_eq!(
            levels,
            BTreeMap::from([("outbox".into(), 1), ("sync".into(), 2)])
        );
        let levels = run(r#""hint_levels":[{"id":"sync","level":3}], "hints_seen":{"sync":1}"#);
        assert_eq!(levels.unwrap(), BTreeMap::from([("sync".into(), 3)]));
        let error = run(r#""hints":"sync""#).unwrap_err();
        assert!(error.to_string().contains("`hints`"), "{error}");
    }

    #[test]
    fn long_or_multi_line_text_becomes_one_short_line() {
        assert_eq!(one_line("  a\n\tb \u{7} c ", 10), "a b c");
        let long = one_line(&"word ".repeat(100), 20);
        assert_eq!(long.chars().count(), 20);
        assert!(long.ends_with('…'), "{long}");
    }

    #[test]
    fn the_doctor_sends_its_lines_and_nothing_else() {
        let json = r#"{"lines": [
            {"check": "rustc", "ok": true, "detail": "1.89.0", "path": "/home/ada/.cargo"},
            {"check": "chromium", "ok": false, "detail": "not found:\nsudo apt-get install chromium"}
        ], "machine": "ada-laptop"}"#;
        let report = doctor_report_of(json, "ABC234", "Ada", MACHINE).unwrap();
        let sent = serde_json::to_value(&report).unwrap();
        assert_eq!(
            sent["doctor"][1]["detail"],
            "not found: sudo apt-get install chromium"
        );
        assert_eq!(sent["machine"], MACHINE);
        assert!(!sent.to_string().contains("/home/ada"), "{sent}");
        assert!(sent.get("checkpoints").is_none(), "{sent}");
        assert!(doctor_report_of("{\"lines\": []}", "A", "B", MACHINE).is_err());
        assert!(doctor_report_of("{}", "A", "B", MACHINE).is_err());
    }

    #[test]
    fn the_machine_id_is_made_once_and_kept() {
        let dir = std::env::temp_dir().join(format!("room-machine-id-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = machine_id(&dir.join("xtask")).unwrap();
        assert_eq!(first.len(), 32);
        assert!(first.chars().all(|c| c.is_ascii_hexdigit()), "{first}");
        assert_eq!(machine_id(&dir.join("xtask")).unwrap(), first);
        // A damaged file is replaced, never sent.
        std::fs::write(dir.join("xtask/machine-id"), "not an id").unwrap();
        let fresh = machine_id(&dir.join("xtask")).unwrap();
        assert_ne!(fresh, first);
        assert_eq!(fresh.len(), 32);
        // Another machine: another id.
        assert_ne!(machine_id(&dir.join("other")).unwrap(), first);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_line_says_when_the_name_was_taken() {
        let run = pick_run(RUN, "starter", "chromium").unwrap();
        let report = report_of(run, "ABC234", "Ada", MACHINE).unwrap();
        let answer = serde_json::json!({"name": "Ada (2)", "passed": 1, "checkpoints": 2});
        assert_eq!(
            reported_line("http://r", "Ada", &report, &answer),
            "room: reported to http://r as \"Ada (2)\" (another machine in the room is \"Ada\"): 1/2 ✓"
        );
    }

    #[test]
    fn urls_are_plain_http() {
        assert_eq!(
            Target::parse("http://127.0.0.1:3030").unwrap(),
            Target {
                authority: "127.0.0.1:3030".into(),
                prefix: "/".into()
            }
        );
        assert_eq!(
            Target::parse("http://[::1]/room/").unwrap(),
            Target {
                authority: "[::1]:80".into(),
                prefix: "/room".into()
            }
        );
        assert!(Target::parse("https://room.example").is_err());
        assert!(Target::parse("http://").is_err());
    }

    #[test]
    fn answers_are_read_plain_or_chunked() {
        let (status, body) =
            parse_answer(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 13\r\n\r\n{\"error\":\"x\"}")
                .unwrap();
        assert_eq!((status, body.as_str()), (403, "{\"error\":\"x\"}"));
        let (status, body) = parse_answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((status, body.as_str()), (200, "{\"a\":1}"));
        assert!(parse_answer(b"SSH-2.0\r\n\r\n").is_err());
    }
}
