//! Benchmark 2, the server under load on loopback: GET and durable POST, requests per
//! second and p99 latency, from a bounded load loop of our own (keep-alive
//! HTTP/1.1 connections, each sending its next request when the last one is
//! answered), against the original lesson's in-memory API on Node/express.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::goals;
use super::node::{self, NodeProcess};
use super::report::{Baseline, Better, Goal, Row, Sample, Section};
use super::setup::Setup;
use crate::app::ARTICLES;
use crate::standins::push_service::uuid;
use crate::standins::server::Server;
use crate::util::free_port;

/// How hard and how long one measurement pushes.
#[derive(Clone, Copy)]
struct Load {
    connections: usize,
    requests: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Get,
    Post,
}

/// What one measurement came to.
struct Measured {
    per_second: f64,
    p99_ms: f64,
}

/// One run's figures, as the bench prints them while it runs.
fn print_run(run: usize, who: &str, m: &[Measured; 2]) {
    println!(
        "bench: server run {} {who}: GET {:.0}/s p99 {:.2} ms, POST {:.0}/s p99 {:.2} ms",
        run + 1,
        m[0].per_second,
        m[0].p99_ms,
        m[1].per_second,
        m[1].p99_ms
    );
}

pub async fn run(setup: &Setup) -> Result<Section> {
    let runs = setup.size(5, 1);
    let get = Load {
        connections: setup.size(32, 4),
        requests: setup.size(20_000, 200),
    };
    let post = Load {
        connections: setup.size(16, 4),
        requests: setup.size(1_000, 50),
    };
    let seeded = 30;
    let node_dir = node::prepare(setup).await;

    let mut app = Server::start_logging(&setup.server_bin, &setup.site, "warn").await?;
    let mut ours = [
        Sample::new("req/s", Better::Higher),
        Sample::new("ms", Better::Lower),
        Sample::new("req/s", Better::Higher),
        Sample::new("ms", Better::Lower),
    ];
    let mut theirs = ours.clone();
    for run in 0..runs {
        // Ours: a fresh database each time, so every run starts alike.
        app.reset().await?;
        let m = measure_server(app.port, seeded, get, post).await?;
        record(&mut ours, &m);
        print_run(run, "ours", &m);
        if let Ok(dir) = &node_dir {
            let port = free_port()?;
            let mut express = NodeProcess::spawn(dir, "server.js", &[port.to_string()])?;
            express.line(Duration::from_secs(20)).await?;
            let m = measure_server(port, seeded, get, post).await?;
            record(&mut theirs, &m);
            print_run(run, "express", &m);
        }
    }

    let mut section = Section::new("2. Server on loopback: GET and durable POST");
    section.method = vec![format!(
        "Our own load loop (in the harness, Rust/tokio, keep-alive HTTP/1.1): **GET** — {} connections \
         sending {} `GET {ARTICLES}` in all, each connection its next request when the last is answered, \
         with {seeded} articles stored (after 500 warm-up GETs); then **POST** — {} connections sending {} \
         `POST {ARTICLES}` of one new article each (so the full-list answer the contract asks for grows \
         from {seeded} to {} articles, alike for both). Each run starts a fresh server: ours on a new SQLite file \
         (WAL, `synchronous=FULL`: every POST is on disk before its answer), express a new process. \
         Requests/s = requests ÷ wall time; p99 over every request of the run. Ours is built with \
         `[profile.bench-server]` (release, `opt-level = 3`). The load loop runs on the same 2 cores as the server.",
        get.connections,
        get.requests,
        post.connections,
        post.requests,
        post.requests + seeded
    )];
    let skipped = |e: &String| Baseline::Skipped(e.clone());
    let base = |sample: &Sample| match &node_dir {
        Ok(_) => Baseline::Measured(sample.clone()),
        Err(e) => skipped(e),
    };
    let [get_rate, get_p99, post_rate, post_p99] = ours;
    section.rows.push(Row {
        figure: "GET throughput".into(),
        ours: get_rate,
        baseline: base(&theirs[0]),
        goal: Goal::Ratio(10.0),
    });
    section.rows.push(Row {
        figure: "GET p99 latency".into(),
        ours: get_p99,
        baseline: base(&theirs[1]),
        goal: Goal::None,
    });
    section.rows.push(Row {
        figure: "durable POST throughput (vs in-memory)".into(),
        ours: post_rate,
        baseline: base(&theirs[2]),
        goal: goals::DURABLE_POST,
    });
    section.rows.push(Row {
        figure: "durable POST p99 latency".into(),
        ours: post_p99,
        baseline: base(&theirs[3]),
        goal: Goal::None,
    });
    if let Err(e) = &node_dir {
        section
            .notes
            .push(format!("The express baseline was skipped: {e}."));
    }
    Ok(section)
}

fn record(samples: &mut [Sample; 4], m: &[Measured; 2]) {
    samples[0].push(m[0].per_second);
    samples[1].push(m[0].p99_ms);
    samples[2].push(m[1].per_second);
    samples[3].push(m[1].p99_ms);
}

/// Seeds, warms up, then measures GET and POST on a fresh server.
async fn measure_server(port: u16, seeded: usize, get: Load, post: Load) -> Result<[Measured; 2]> {
    let articles: Vec<String> = (0..seeded)
        .map(|i| {
            Ok(format!(
                r#"{{"id":"{}","headline":"Seeded headline number {i}","byline":"The Bench"}}"#,
                uuid()?
            ))
        })
        .collect::<Result<_>>()?;
    let body = format!("[{}]", articles.join(","));
    let status = Connection::open(port)
        .await?
        .exchange(
            format!(
                "POST {ARTICLES} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
        .await?;
    anyhow::ensure!(status == 201, "seeding answered {status}");
    warm_up(port).await?;
    let got = measure(port, Kind::Get, get).await?;
    let posted = measure(port, Kind::Post, post).await?;
    Ok([got, posted])
}

async fn warm_up(port: u16) -> Result<()> {
    measure(
        port,
        Kind::Get,
        Load {
            connections: 4,
            requests: 500,
        },
    )
    .await
    .map(drop)
}

async fn measure(port: u16, kind: Kind, load: Load) -> Result<Measured> {
    let left = Arc::new(AtomicUsize::new(load.requests));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..load.connections {
        let left = left.clone();
        tasks.spawn(async move {
            let mut connection = Connection::open(port).await?;
            let mut latencies = Vec::new();
            while left
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok()
            {
                let request = match kind {
                    Kind::Get => format!(
                        "GET {ARTICLES} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\naccept: application/json\r\n\r\n"
                    ),
                    Kind::Post => {
                        let body = format!(
                            r#"{{"id":"{}","headline":"A benchmark headline of ordinary length","byline":"The Bench"}}"#,
                            uuid()?
                        );
                        format!(
                            "POST {ARTICLES} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\naccept: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        )
                    }
                };
                let t = Instant::now();
                let status = connection.exchange(request.as_bytes()).await?;
                latencies.push(t.elapsed());
                let expected = if kind == Kind::Get { 200 } else { 201 };
                if status != expected {
                    bail!("answered {status}, not {expected}");
                }
            }
            anyhow::Ok(latencies)
        });
    }
    let mut latencies = Vec::with_capacity(load.requests);
    while let Some(done) = tasks.join_next().await {
        latencies.extend(done.context("a load task panicked")??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let p99 = latencies
        .get((latencies.len() * 99).div_ceil(100).saturating_sub(1))
        .copied()
        .unwrap_or_default();
    Ok(Measured {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p99_ms: p99.as_secs_f64() * 1000.0,
    })
}

/// One keep-alive HTTP/1.1 connection: a request written, its answer read
/// to the end (`content-length` or chunked).
struct Connection {
    stream: BufReader<TcpStream>,
    body: Vec<u8>,
}

impl Connection {
    async fn open(port: u16) -> Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream: BufReader::with_capacity(64 * 1024, stream),
            body: Vec::new(),
        })
    }

    async fn exchange(&mut self, request: &[u8]) -> Result<u16> {
        let exchange = async {
            self.stream.get_mut().write_all(request).await?;
            let mut line = String::new();
            self.stream.read_line(&mut line).await?;
            let status: u16 = line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .with_context(|| format!("not an HTTP status line: {line:?}"))?;
            let (mut length, mut chunked) = (None, false);
            loop {
                line.clear();
                if self.stream.read_line(&mut line).await? == 0 {
                    bail!("the connection closed in the headers");
                }
                let header = line.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    let value = value.trim();
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.parse::<usize>().ok();
                    } else if name.eq_ignore_ascii_case("transfer-encoding") {
                        chunked = value.contains("chunked");
                    }
                }
            }
            if chunked {
                loop {
                    line.clear();
                    self.stream.read_line(&mut line).await?;
                    let size =
                        usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                            .context("a bad chunk size")?;
                    self.body.resize(size + 2, 0);
                    self.stream.read_exact(&mut self.body).await?;
                    if size == 0 {
                        break;
                    }
                }
            } else {
                self.body.resize(length.unwrap_or(0), 0);
                self.stream.read_exact(&mut self.body).await?;
            }
            anyhow::Ok(status)
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .context("no answer within 30 s")?
    }
}
