//! Benchmark 3, push fan-out: N subscriptions on the harness's local push service; the
//! time from an article POST until every push has arrived, its VAPID header
//! checked and its body decrypted — against Node's `web-push` sending the
//! same N pushes to the same push service.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::{Value, json};

use super::node::{self, NodeProcess};
use super::{Baseline, Better, Goal, Row, Sample, Section, Setup};
use crate::proxy::http_get;
use crate::push_service::{PushService, Subscriber, check_vapid, http_json, uuid};
use crate::server::Server;

const ARRIVAL: Duration = Duration::from_secs(60);

pub async fn run(setup: &Setup) -> Result<Section> {
    let n = setup.size(200, 5);
    let runs = setup.size(5, 1);
    let node_dir = node::prepare(setup).await;
    let app = Server::start_logging(&setup.server_bin, &setup.site, "warn").await?;
    let mut service = PushService::start().await?;

    let (status, body) = http_get(app.port, "/api/v1/push/public-key").await?;
    anyhow::ensure!(
        status == 200,
        "GET /api/v1/push/public-key answered {status}"
    );
    let server_key = key(serde_json::from_str::<Value>(&body)?["public_key"]
        .as_str()
        .context("no public_key")?)?;

    // N subscribers, each at an endpoint of its own.
    let mut subscribers = HashMap::new();
    let mut subscriptions = Vec::new();
    for _ in 0..n {
        let subscriber = Subscriber::new()?;
        let endpoint = service.endpoint(&uuid()?);
        let json = subscriber.json(&endpoint);
        let (status, body) =
            http_json(app.port, "POST", "/api/v1/push/subscriptions", &json).await?;
        anyhow::ensure!(
            (200..300).contains(&status),
            "subscribing answered {status}: {body}"
        );
        let path = endpoint
            .strip_prefix(&service.origin)
            .unwrap_or(&endpoint)
            .to_owned();
        subscribers.insert(path, subscriber);
        subscriptions.push(json);
    }

    let mut node_push = None;
    let mut node_error = node_dir.as_ref().err().cloned();
    let mut payload: Option<String> = None;
    let mut ours = Sample::new("ms", Better::Lower);
    let mut theirs = Sample::new("ms", Better::Lower);
    for run in 0..runs {
        let article = json!({ "id": uuid()?, "headline": format!("Pushed to {n} subscribers, run {run}"), "byline": "The Bench" });
        let started = Instant::now();
        let (status, body) = http_json(app.port, "POST", "/api/v1/articles", &article).await?;
        anyhow::ensure!(
            status == 201,
            "POST /api/v1/articles answered {status}: {body}"
        );
        let plain = collect(&mut service, &subscribers, &server_key, n).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        println!("bench: push run {} ours: {ms:.0} ms", run + 1);
        ours.push(ms);
        let payload = payload.get_or_insert(plain).clone();

        if let (Ok(dir), None) = (&node_dir, &node_error) {
            if node_push.is_none() {
                match start_node(dir, &subscriptions, &payload).await {
                    Ok(started) => node_push = Some(started),
                    Err(e) => node_error = Some(format!("web-push did not start: {e:#}")),
                }
            }
            if let Some((process, key)) = &mut node_push {
                let started = Instant::now();
                process.send("go").await?;
                collect(&mut service, &subscribers, key, n).await?;
                let ms = started.elapsed().as_secs_f64() * 1000.0;
                let sent = process.line(ARRIVAL).await?;
                anyhow::ensure!(sent == "sent 0", "web-push: {sent}");
                println!("bench: push run {} web-push: {ms:.0} ms", run + 1);
                theirs.push(ms);
            }
        }
    }

    let mut section = Section::new(format!("3. Push fan-out ({n} subscriptions)"));
    section.method = vec![format!(
        "{n} subscriptions (keys made by the harness) registered with the server, each with its own endpoint on the \
         harness's local push service (plain HTTP on 127.0.0.1; it answers `201` and closes the connection). \
         **Ours**: from sending one article `POST` to the server until all {n} pushes have arrived, each VAPID header \
         checked (ES256, RFC 8292) and each body decrypted (aes128gcm, RFC 8291) by the harness. \
         **Baseline**: Node `web-push` 3.6.7 (`sendNotification` to all {n} at once, `Promise.allSettled`), \
         with the same subscriptions and the same plaintext our server sent, timed from the harness's \"go\" line to \
         the same {n} pushes received, checked and decrypted. (web-push always calls `https.request`; the script \
         routes `http:` endpoints to `http.request`, as our server also speaks plain HTTP to this push service.)"
    )];
    section.rows.push(Row {
        figure: format!("POST → {n} pushes received and decrypted"),
        ours,
        baseline: match node_error {
            Some(e) => Baseline::Skipped(e),
            None => Baseline::Measured(theirs),
        },
        goal: Goal::Ratio(5.0),
    });
    Ok(section)
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
    anyhow::ensure!(process.line(Duration::from_secs(20)).await? == "ready");
    Ok((process, public))
}

/// Waits for `n` pushes, one per subscriber, each VAPID-checked against
/// `key` and decrypted; the last plaintext.
async fn collect(
    service: &mut PushService,
    subscribers: &HashMap<String, Subscriber>,
    key: &[u8],
    n: usize,
) -> Result<String> {
    let mut seen = std::collections::HashSet::new();
    let mut plain = String::new();
    while seen.len() < n {
        let Some(push) = service.next(ARRIVAL).await else {
            bail!(
                "only {} of {n} pushes arrived within {ARRIVAL:?}",
                seen.len()
            );
        };
        let subscriber = subscribers
            .get(&push.path)
            .with_context(|| format!("a push to an unknown endpoint {}", push.path))?;
        check_vapid(push.header("authorization"), key, &service.origin)
            .map_err(|e| anyhow::anyhow!("a push with a bad VAPID header: {e}"))?;
        let bytes = subscriber
            .decrypt(&push.body)
            .map_err(|e| anyhow::anyhow!("a push that does not decrypt: {e}"))?;
        plain = String::from_utf8_lossy(&bytes).into_owned();
        seen.insert(push.path);
    }
    Ok(plain)
}
