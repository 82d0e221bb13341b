//! `room send`: a student's opt-in report to the room, after a check.
//!
//! It reads the progress file that `cargo xtask check` writes, keeps only
//! the checkpoint results, the hints seen and the build id — never a path,
//! a file or a line of code — and POSTs them to the room.
//!
//! The HTTP client is one request written by hand over a `TcpStream`. The
//! room is a plain-http server on the same LAN or on this machine, and one
//! small POST with `Connection: close` is all this needs: a client library
//! (reqwest, hyper's client) would add TLS, pools and redirects that the
//! room never uses, and a few minutes to every student's first `check`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde::Deserialize;
use serde_json::Value;

use crate::report::{CheckpointResult, Report};

const TIMEOUT: Duration = Duration::from_secs(5);
/// The most of the room's answer read: it is a line of JSON.
const MAX_ANSWER: u64 = 64 * 1024;

/// One check run, as `cargo xtask check` records it. Other fields (the
/// file gains some as the check evolves) are ignored, and never sent.
#[derive(Debug, Deserialize)]
pub struct Run {
    pub stage: String,
    pub browser: String,
    #[serde(default)]
    pub build_id: String,
    pub checkpoints: Vec<CheckpointResult>,
    #[serde(default)]
    pub hints_seen: Vec<String>,
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

/// The report for the room: the run's results and hints, nothing else.
pub fn report_of(run: Run, code: &str, name: &str) -> Report {
    Report {
        code: code.to_owned(),
        name: name.to_owned(),
        stage: run.stage,
        browser: run.browser,
        build_id: run.build_id,
        checkpoints: run.checkpoints,
        hints_seen: run.hints_seen,
    }
}

/// Reads the progress file and sends the run of `stage` in `browser`;
/// returns the line to print.
pub fn send(
    url: &str,
    code: &str,
    name: &str,
    progress: &Path,
    stage: &str,
    browser: &str,
) -> Result<String> {
    let json = std::fs::read_to_string(progress)
        .with_context(|| format!("cannot read the progress file {}", progress.display()))?;
    let run =
        pick_run(&json, stage, browser).with_context(|| format!("in {}", progress.display()))?;
    let report = report_of(run, code, name);
    let body = serde_json::to_vec(&report).context("cannot encode the report")?;
    let target = Target::parse(url)?;
    let (status, answer) = post(&target, "/api/report", &body)?;
    let answer: Value = serde_json::from_str(&answer).unwrap_or(Value::String(answer));
    if (200..300).contains(&status) {
        let passed = answer["passed"].as_u64().unwrap_or(report.passed() as u64);
        let total = answer["checkpoints"]
            .as_u64()
            .unwrap_or(report.checkpoints.len() as u64);
        return Ok(format!(
            "room: reported to {url} as {:?}: {passed}/{total} ✓",
            answer["name"].as_str().unwrap_or(name)
        ));
    }
    let why = answer["error"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| answer.to_string());
    bail!("the room at {url} refused the report ({status}): {why}")
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
        "hints_seen":["sync"], "source_dir": "/home/ada/starter"}"#;

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
    fn only_results_hints_and_the_build_id_are_sent() {
        let run = pick_run(RUN, "starter", "chromium").unwrap();
        let json = serde_json::to_value(report_of(run, "ABC234", "Ada")).unwrap();
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
                "hints_seen",
                "name",
                "stage"
            ]
        );
        assert!(!json.to_string().contains("/home/ada"));
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
