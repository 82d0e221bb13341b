//! Benchmark 3, push fan-out: N subscriptions on a local push service of the
//! benchmark's own; the time from an article POST until every push has
//! arrived — against Node's `web-push` sending the same N pushes to the same
//! push service. Every push is then checked (its VAPID header verified, its
//! body decrypted, every plaintext the same) once the clock has stopped.
//!
//! The receiving end is built to measure the senders, not itself. It keeps
//! connections open between requests (HTTP/1.1 keep-alive, as real push
//! services do), and inside the timed window it only reads each request and
//! answers `201`: verifying an ES256 signature and decrypting (two P-256
//! operations per message in the harness's pure-Rust crypto, on the same two
//! cores as the senders) costs the receiver more than a good sender spends on
//! the message, so doing it while timing made both sides wait on the harness
//! and squeezed the ratio towards 1.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::goals;
use super::node::{self, NodeProcess};
use super::report::{Baseline, Better, Goal, Row, Sample, Section, median};
use super::setup::Setup;
use crate::app::{ARTICLES, PUBLIC_KEY, SUBSCRIPTIONS};
use crate::standins::proxy::http_get;
use crate::standins::push_service::{
    Received, Subscriber, check_vapid, http_json, read_request, uuid,
};
use crate::standins::server::Server;
use crate::util::Background;

const ARRIVAL: Duration = Duration::from_secs(120);

/// Subscriptions per fan-out, and runs of each: the sizes of the Web Push
/// issue (1,000 and 10,000), fewer runs of the large one.
const FULL: [(usize, usize); 2] = [(1_000, 5), (10_000, 3)];
const QUICK: [(usize, usize); 1] = [(5, 1)];

pub async fn run(setup: &Setup) -> Result<Section> {
    let node_dir = node::prepare(setup).await;
    let app = Server::start_logging(&setup.server_bin, &setup.site, "warn").await?;
    let mut sink = Sink::start().await?;

    let (status, body) = http_get(app.port, PUBLIC_KEY).await?;
    anyhow::ensure!(status == 200, "GET {PUBLIC_KEY} answered {status}");
    let server_key = key(serde_json::from_str::<Value>(&body)?["public_key"]
        .as_str()
        .context("no public_key")?)?;

    let sizes: &[(usize, usize)] = if setup.quick { &QUICK } else { &FULL };
    let mut section = Section::new("3. Push fan-out");
    section.method = method();
    let mut payload: Option<String> = None;
    for &(n, runs) in sizes {
        // More subscribers for the larger fan-out: those of the smaller one
        // stay subscribed and are part of it.
        let started = Instant::now();
        while sink.subscribers.len() < n {
            sink.subscribe(app.port).await?;
        }
        println!(
            "bench: push: {n} subscriptions registered ({:.1} s)",
            started.elapsed().as_secs_f64()
        );
        let subscriptions: Vec<Value> = sink.subscriptions.clone();

        let mut node_push = None;
        let mut node_error = node_dir.as_ref().err().cloned();
        let mut figures = Figures::new();
        let Figures {
            ours,
            theirs,
            checking,
            ours_cpu,
            theirs_cpu,
        } = &mut figures;
        for run in 0..runs {
            let article = json!({ "id": uuid()?, "headline": format!("Pushed to {n} subscribers, run {run}"), "byline": "The Bench" });
            let cpu = cpu_time(app.pid());
            let started = Instant::now();
            let (status, body) = http_json(app.port, "POST", ARTICLES, &article).await?;
            anyhow::ensure!(status == 201, "POST {ARTICLES} answered {status}: {body}");
            let arrived = sink.collect(n).await?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if let (Some(before), Some(after)) = (cpu, cpu_time(app.pid())) {
                ours_cpu.push((after - before).as_secs_f64() * 1e6 / n as f64);
            }
            println!("bench: push {n} run {} ours: {ms:.0} ms", run + 1);
            ours.push(ms);
            let checked = Instant::now();
            let plain = sink.check(&arrived, &server_key, None)?;
            checking.push(checked.elapsed().as_secs_f64() * 1000.0);
            // Each run announces its own headline: Node is given the first.
            let payload = payload.get_or_insert(plain).clone();

            if let (Ok(dir), None) = (&node_dir, &node_error) {
                if node_push.is_none() {
                    match start_node(dir, &subscriptions, &payload).await {
                        Ok(started) => node_push = Some(started),
                        Err(e) => node_error = Some(format!("web-push did not start: {e:#}")),
                    }
                }
                if let Some((process, key)) = &mut node_push {
                    let cpu = cpu_time(process.pid());
                    let started = Instant::now();
                    process.send("go").await?;
                    let arrived = sink.collect(n).await?;
                    let ms = started.elapsed().as_secs_f64() * 1000.0;
                    let sent = process.line(ARRIVAL).await?;
                    if let (Some(before), Some(after)) = (cpu, cpu_time(process.pid())) {
                        theirs_cpu.push((after - before).as_secs_f64() * 1e6 / n as f64);
                    }
                    anyhow::ensure!(sent == "sent 0", "web-push: {sent}");
                    println!("bench: push {n} run {} web-push: {ms:.0} ms", run + 1);
                    theirs.push(ms);
                    sink.check(&arrived, key, Some(&payload))?;
                }
            }
        }
        figures.report(n, node_error, &mut section);
    }
    Ok(section)
}

/// What the push benchmark measures, and how.
fn method() -> Vec<String> {
    vec![
        "N subscriptions (keys made by the harness) registered with the server, each with its own endpoint on a \
         push service the benchmark runs on 127.0.0.1 (plain HTTP/1.1; it answers `201 Created` and keeps the \
         connection open for the next request, as real push services do). **Ours**: from sending one article \
         `POST` to the server until all N pushes have arrived at the push service. **Baseline**: Node `web-push` \
         3.6.7 (`sendNotification` to all N at once, `Promise.allSettled`), with the same subscriptions and the \
         same plaintext our server sent, timed from the harness's \"go\" line to the same N pushes received. \
         (web-push always calls `https.request`; the script routes `http:` endpoints to `http.request`, as our \
         server also speaks plain HTTP to this push service.)"
            .into(),
        "Inside the timed window the push service only reads each request, checks it is for a subscriber that \
         has not had one yet, and answers; after the clock stops every push of every run, ours and Node's, is \
         checked: its VAPID header (ES256, RFC 8292, `aud` the push service's origin) and its body, decrypted \
         (aes128gcm, RFC 8291) with the harness's own RustCrypto code, all to the same plaintext. (Checking \
         while timing made both senders wait on the harness: see the note below.)"
            .into(),
        "CPU time per push: the sender's process (our server; Node) over one fan-out, from `/proc/<pid>/stat` \
         (10 ms ticks), divided by N — the figure least moved by other work on a shared machine. Of ours, about \
         four fifths is the `web-push` crate's `WebPushMessageBuilder::build` (aes128gcm through `ece` and \
         OpenSSL: a fresh P-256 key pair, the subscriber's key re-validated, ECDH, HKDF, AES-GCM), about \
         165 µs a message on one core here; the VAPID token is signed once per push service."
            .into(),
    ]
}

/// One fan-out size's figures, ours and Node's.
struct Figures {
    ours: Sample,
    theirs: Sample,
    /// How long the harness took to check each run's pushes, in ms.
    checking: Vec<f64>,
    ours_cpu: Sample,
    theirs_cpu: Sample,
}

impl Figures {
    fn new() -> Self {
        Figures {
            ours: Sample::new("ms", Better::Lower),
            theirs: Sample::new("ms", Better::Lower),
            checking: Vec::new(),
            ours_cpu: Sample::new("µs", Better::Lower),
            theirs_cpu: Sample::new("µs", Better::Lower),
        }
    }

    /// Their rows and note in `section`, for `n` subscriptions;
    /// `node_error` says why Node did not run, if it did not.
    fn report(self, n: usize, node_error: Option<String>, section: &mut Section) {
        let Figures {
            ours,
            theirs,
            checking,
            ours_cpu,
            theirs_cpu,
        } = self;
        section.notes.push(format!(
            "{n} subscriptions: checking our {n} pushes after each run (VAPID verified once per distinct header, \
             every body decrypted) took the harness {:.0} ms; inside the timed window that alone was {:.0}% of our \
             median fan-out.",
            median(&checking),
            100.0 * median(&checking) / ours.median(),
        ));
        section.rows.push(Row {
            figure: format!(
                "POST → {n} pushes received (msg/s: ours {}, web-push {})",
                rate(n, &ours),
                rate(n, &theirs)
            ),
            ours,
            baseline: match node_error {
                Some(e) => Baseline::Skipped(e),
                None => Baseline::Measured(theirs),
            },
            goal: if n >= 10_000 {
                goals::PUSH_10K
            } else {
                goals::PUSH_1K
            },
        });
        section.rows.push(Row {
            figure: format!("CPU time per push, {n} (the server's process; Node's)"),
            ours: ours_cpu,
            baseline: if theirs_cpu.values.is_empty() {
                Baseline::Skipped("no Node run".into())
            } else {
                Baseline::Measured(theirs_cpu)
            },
            goal: Goal::None,
        });
    }
}

/// Messages per second at the median, or a dash.
fn rate(n: usize, sample: &Sample) -> String {
    let ms = sample.median();
    if ms.is_finite() && ms > 0.0 {
        format!("{:.0}", n as f64 * 1000.0 / ms)
    } else {
        "—".into()
    }
}

/// The CPU time a process has used so far, all its threads (those gone
/// included), from `/proc/<pid>/stat`; `None` where there is no `/proc`.
fn cpu_time(pid: Option<u32>) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // After the command's name in parentheses: state is the first field,
    // utime the 12th and stime the 13th, in clock ticks (USER_HZ, 100).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn key(text: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text.trim_end_matches('='))
        .map_err(|_| anyhow::anyhow!("a key that is not base64url: {text}"))
}

/// Starts the web-push script; its process and VAPID public key.
async fn start_node(
    dir: &std::path::Path,
    subscriptions: &[Value],
    payload: &str,
) -> Result<(NodeProcess, Vec<u8>)> {
    let mut process = NodeProcess::spawn(dir, "push.js", &[])?;
    let first = process.line(Duration::from_secs(20)).await?;
    let public = key(serde_json::from_str::<Value>(&first)?["publicKey"]
        .as_str()
        .context("no publicKey")?)?;
    process
        .send(&json!({ "subscriptions": subscriptions, "payload": payload }).to_string())
        .await?;
    anyhow::ensure!(process.line(Duration::from_secs(60)).await? == "ready");
    Ok((process, public))
}

// ---------------------------------------------------------------- push service

/// The benchmark's push service: every subscriber's endpoint, and a listener
/// on 127.0.0.1 that answers each request `201 Created` on a kept-alive
/// connection and passes it on as it was received.
struct Sink {
    origin: String,
    arrivals: mpsc::UnboundedReceiver<Result<Received, String>>,
    /// The accept loop: it ends with the sink.
    _accepting: Background,
    /// Endpoint path → its subscriber's keys.
    subscribers: HashMap<String, Subscriber>,
    /// The subscriptions as registered with the server, for Node.
    subscriptions: Vec<Value>,
}

impl Sink {
    async fn start() -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot start the benchmark's push service")?;
        let origin = format!("http://{}", listener.local_addr()?);
        let (sender, arrivals) = mpsc::unbounded_channel();
        let accepting = Background::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let sender = sender.clone();
                tokio::spawn(async move {
                    if let Err(e) = serve(stream, &sender).await {
                        // A sender that hangs up between requests is fine; one
                        // that breaks a request off is reported.
                        let _ = sender.send(Err(format!("{e:#}")));
                    }
                });
            }
        });
        Ok(Sink {
            origin,
            arrivals,
            _accepting: accepting,
            subscribers: HashMap::new(),
            subscriptions: Vec::new(),
        })
    }

    /// Makes one more subscriber and registers it with the server.
    async fn subscribe(&mut self, port: u16) -> Result<()> {
        let subscriber = Subscriber::new()?;
        let path = format!("/push/{}", uuid()?);
        let json = subscriber.json(&format!("{}{path}", self.origin));
        let (status, body) = http_json(port, "POST", SUBSCRIPTIONS, &json).await?;
        anyhow::ensure!(
            (200..300).contains(&status),
            "subscribing answered {status}: {body}"
        );
        self.subscribers.insert(path, subscriber);
        self.subscriptions.push(json);
        Ok(())
    }

    /// Waits for `n` pushes, one to each of the first `n` subscribers.
    async fn collect(&mut self, n: usize) -> Result<Vec<Received>> {
        let mut seen = HashSet::with_capacity(n);
        let mut arrived = Vec::with_capacity(n);
        let deadline = tokio::time::Instant::now() + ARRIVAL;
        while arrived.len() < n {
            let arrival = match tokio::time::timeout_at(deadline, self.arrivals.recv()).await {
                Ok(Some(Ok(arrival))) => arrival,
                Ok(Some(Err(e))) => bail!("a push broken off: {e}"),
                Ok(None) | Err(_) => bail!(
                    "only {} of {n} pushes arrived within {ARRIVAL:?}",
                    arrived.len()
                ),
            };
            anyhow::ensure!(
                self.subscribers.contains_key(&arrival.path),
                "a push to an unknown endpoint {}",
                arrival.path
            );
            anyhow::ensure!(
                seen.insert(arrival.path.clone()),
                "two pushes to {} in one fan-out",
                arrival.path
            );
            arrived.push(arrival);
        }
        Ok(arrived)
    }

    /// Checks every push: the VAPID header against `key` (each distinct
    /// header verified once: a sender that reuses its token sends the same
    /// one), the body decrypted with its subscriber's keys, and every
    /// plaintext the same — `expected`, if given. The plaintext.
    fn check(&self, arrived: &[Received], key: &[u8], expected: Option<&str>) -> Result<String> {
        let mut verified = HashSet::new();
        let mut plain: Option<String> = expected.map(str::to_owned);
        for arrival in arrived {
            let authorization = arrival.header("authorization");
            if !verified.contains(&authorization) {
                check_vapid(authorization, key, &self.origin)
                    .map_err(|e| anyhow::anyhow!("a push with a bad VAPID header: {e}"))?;
                verified.insert(authorization);
            }
            let subscriber = self
                .subscribers
                .get(&arrival.path)
                .with_context(|| format!("a push to an unknown endpoint {}", arrival.path))?;
            let bytes = subscriber.decrypt(&arrival.body).map_err(|e| {
                anyhow::anyhow!("a push to {} that does not decrypt: {e}", arrival.path)
            })?;
            let text = String::from_utf8_lossy(&bytes);
            match &plain {
                Some(first) if *first != text => {
                    bail!(
                        "the push to {} says {text:?}, another {first:?}",
                        arrival.path
                    )
                }
                Some(_) => {}
                None => plain = Some(text.into_owned()),
            }
        }
        plain.context("no push to check")
    }
}

/// Answers every request on one connection, passing each on.
async fn serve(
    mut stream: TcpStream,
    arrivals: &mpsc::UnboundedSender<Result<Received, String>>,
) -> Result<()> {
    let mut pending = Vec::new();
    while let Some(arrival) = read_request(&mut stream, &mut pending).await? {
        let close = arrival.closes();
        let answer: &[u8] = if close {
            b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        } else {
            b"HTTP/1.1 201 Created\r\ncontent-length: 0\r\n\r\n"
        };
        stream.write_all(answer).await?;
        if arrivals.send(Ok(arrival)).is_err() || close {
            break;
        }
    }
    Ok(())
}
