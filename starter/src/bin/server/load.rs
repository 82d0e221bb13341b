//! The server under load: 200 clients at once on loopback, for a bounded
//! time, reading and writing. Every request must get a proper answer. The
//! latencies are printed (`cargo test -- --nocapture`), not asserted: speed
//! targets live in `cargo xtask bench`, correctness here.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use super::app;
use crate::tests::TestServer;

const CLIENTS: usize = 200;
const RUN_FOR: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_clients_get_an_answer_to_every_request() {
    let server = TestServer::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = app(server.state(), server.site.path(), false);
    tokio::spawn(async move { axum::serve(listener, router).await });

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let base = format!("http://{address}/api/v1/articles");
    let deadline = Instant::now() + RUN_FOR;
    let mut tasks = tokio::task::JoinSet::new();
    for client_number in 0..CLIENTS {
        let (client, base) = (client.clone(), base.clone());
        tasks.spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = Vec::new();
            let mut n = 0u32;
            while Instant::now() < deadline {
                n += 1;
                let started = Instant::now();
                // One write in five: the mix of a news site.
                let answer = if n.is_multiple_of(5) {
                    let id = format!("00000000-0000-4000-8000-{:06}{:06}", client_number, n);
                    let body = json!({"id": id, "headline": "Under load", "byline": "Bench"});
                    client
                        .post(&base)
                        .header("content-type", "application/json")
                        .body(body.to_string())
                        .send()
                        .await
                } else {
                    client.get(&base).send().await
                };
                match answer {
                    Ok(response) if response.status().is_success() => {
                        // Read the body: an answer is only whole once read.
                        if let Err(error) = response.bytes().await {
                            failures.push(error.to_string());
                        }
                    }
                    Ok(response) => failures.push(format!("HTTP {}", response.status())),
                    Err(error) => failures.push(error.to_string()),
                }
                latencies.push(started.elapsed());
            }
            (latencies, failures)
        });
    }
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    while let Some(result) = tasks.join_next().await {
        let (mut l, mut f) = result.unwrap();
        latencies.append(&mut l);
        failures.append(&mut f);
    }
    latencies.sort();
    let percentile = |p: usize| latencies[(latencies.len() * p / 100).min(latencies.len() - 1)];
    eprintln!(
        "{CLIENTS} clients, {} requests in {RUN_FOR:?}: p50 {:?}, p99 {:?}, {} failed",
        latencies.len(),
        percentile(50),
        percentile(99),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} requests failed, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(
        latencies.len() >= CLIENTS,
        "every client got at least one answer"
    );
    let stored = Arc::clone(&server.store).articles().unwrap().len();
    assert!(stored > 3, "the POSTs were stored");
}
