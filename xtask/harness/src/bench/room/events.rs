//! The room's event stream, read as the page reads it while the students
//! report: when each student's each check first showed in a table.

use std::collections::HashMap;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The room's event stream, being read while the students report.
pub(super) struct Watching {
    reader: tokio::task::JoinHandle<Result<()>>,
    parser: std::thread::JoinHandle<Result<Tables>>,
}

impl Watching {
    pub(super) fn start(port: u16) -> Watching {
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
        let reader = tokio::spawn(read_events(port, sender));
        Watching { reader, parser }
    }

    /// The tables that came, half a second after the last answer for the
    /// last of them.
    pub(super) async fn stop(self) -> Result<Tables> {
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.reader.abort();
        // The sender went with the reader: the parser ends.
        let _ = self.reader.await;
        self.parser
            .join()
            .map_err(|_| anyhow::anyhow!("the event stream's parser panicked"))?
    }
}

/// What the event stream brought: for each shown name, when each of its
/// check counts first appeared.
#[derive(Default)]
pub(super) struct Tables {
    /// When each table arrived.
    pub(super) seen: Vec<Instant>,
    /// By name: (checks, first seen), checks increasing.
    firsts: HashMap<String, Vec<(u64, Instant)>>,
    pub(super) last_bytes: usize,
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
    pub(super) fn first_with(&self, name: &str, checks: u64) -> Option<Instant> {
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
