//! Benchmark 1, replay drain: N articles wait in the worker's outbox; how long from the
//! `sync` event until every one is on the server and the open page shows
//! them — against the same worker replaying one fetch per article.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use super::report::{Baseline, Better, Row, Sample, Section};
use super::setup::Setup;
use super::{drain_profile, goals};
use crate::app::{ARTICLES, DB_NAME, DB_VERSION, LIST, OUTBOX_STORE, STARRED_STORE, SYNC_TAG};
use crate::browsers::chromium::Chromium;
use crate::browsers::{Browser, PageId, js_str};
use crate::standins::server::Server;

const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn run(setup: &Setup) -> Result<Section> {
    let n = setup.size(1000, 20);
    let runs = setup.size(5, 1);
    let (mut app, mut browser, tab) = super::setup::app_in_chromium(setup).await?;

    let mut ours = Sample::new("ms", Better::Lower);
    let mut baseline = Sample::new("ms", Better::Lower);
    for run in 0..runs {
        // Interleaved, so that a slow patch of the machine hits both.
        for batched in [true, false] {
            app.reset().await?;
            let (ms, _) = drain(&mut browser, tab, &app, n, run, batched, false).await?;
            println!(
                "bench: replay run {} {}: {ms:.0} ms",
                run + 1,
                if batched { "ours" } else { "baseline" }
            );
            if batched {
                ours.push(ms);
            } else {
                baseline.push(ms);
            }
        }
    }

    // One more of ours, profiled: where its time goes in the browser.
    app.reset().await?;
    let (_, profile) = drain(&mut browser, tab, &app, n, runs, true, true).await?;

    let mut section = Section::new(format!("1. Replay drain ({n} queued articles)"));
    section.notes = profile;
    section.method = vec![
        format!(
            "{n} articles are written straight into the worker's IndexedDB outbox (`{DB_NAME}` v{DB_VERSION}, store `{OUTBOX_STORE}`, \
             `{{article, queued_at}}` entries) from the page, with the server started on a fresh database \
             (same port, so the same origin and worker). The clock starts just before the harness sends \
             `ServiceWorker.dispatchSyncEvent` (tag `{SYNC_TAG}`) and stops when a `MutationObserver` in the page sees \
             `{LIST}` hold these {n} articles (besides the few samples a fresh server starts with); the server's count is checked afterwards."
        ),
        format!(
            "**Ours**: the solution's `sync` handler (batches of ≤ 100 articles / 64 KiB per POST, then one message to every page). \
             **Baseline**: the same service worker (same global scope, same outbox, evaluated in it over DevTools) replaying \
             one `fetch` POST per article, sequentially, each deleted from the outbox after the server's 2xx, then one GET of \
             the list posted to every page as the same `{{type: \"articles\"}}` message, which the same Rust page renders. \
             The server answers every POST with the full list (the API's contract), for both."
        ),
    ];
    section.rows.push(Row {
        figure: format!("sync → {n} on the server and in the page"),
        ours,
        baseline: Baseline::Measured(baseline),
        goal: goals::DRAIN,
    });
    Ok(section)
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

async fn drain(
    browser: &mut Chromium,
    tab: PageId,
    app: &Server,
    n: usize,
    run: usize,
    batched: bool,
    profile: bool,
) -> Result<(f64, Vec<String>)> {
    let tag = format!("r{run}{}", if batched { "o" } else { "b" });
    // A fresh database holds the server's few sample articles.
    let before = app.count().await?;
    let total = before + n;
    // Fill the outbox in one transaction; the ids of the first and last
    // article tell this run's list from the last one's.
    let fill = fill_js(n, &tag, total);
    let filled = browser.eval(tab, &fill, Duration::from_secs(60)).await?;
    anyhow::ensure!(
        filled.as_u64() == Some(n as u64),
        "filling the outbox gave {filled}"
    );

    if profile {
        browser
            .eval_worker(drain_profile::SPY_JS, Duration::from_secs(10))
            .await?;
        browser.start_profiles(tab).await?;
    }
    let started = now_ms();
    if batched {
        browser.fire_sync(SYNC_TAG, false).await?;
    } else {
        // Awaited to its end; the page's observer has already stopped the
        // clock by then.
        browser
            .eval_worker(&baseline_replay_js(), DRAIN_TIMEOUT)
            .await
            .context("the baseline replay in the worker")?;
    }
    let done = match browser.eval(tab, "window.__benchDone", DRAIN_TIMEOUT).await {
        Ok(done) => done,
        Err(error) => {
            let count = format!("document.querySelector({}).children.length", js_str(LIST));
            let shown = browser
                .eval(tab, &count, Duration::from_secs(5))
                .await
                .unwrap_or_default();
            let left = browser
                .eval(tab, &outbox_len_js(), Duration::from_secs(5))
                .await
                .unwrap_or_default();
            let stored = app.count().await.unwrap_or_default();
            return Err(error.context(format!(
                "waiting for the page to show all {total} articles (it shows {shown}; the outbox holds {left}; \
                 the server has {stored}); recent output:\n{}",
                browser.recent_logs(15).join("\n")
            )));
        }
    };
    let ended = done.as_f64().context("the page's clock")?;
    let mut breakdown = Vec::new();
    if profile {
        let profiles = browser.stop_profiles(tab).await?;
        let steps = browser
            .eval_worker(drain_profile::SPY_LOG_JS, Duration::from_secs(10))
            .await?;
        let steps: Vec<drain_profile::Step> =
            serde_json::from_value(steps).context("the spy's log")?;
        breakdown = drain_profile::summary(&profiles, &steps, started, ended);
    }
    let stored = app.count().await?;
    anyhow::ensure!(
        stored == total,
        "the server has {stored} articles after the drain, not {before} + {n}"
    );
    let left = browser
        .eval(tab, &outbox_len_js(), Duration::from_secs(10))
        .await?;
    anyhow::ensure!(
        left == 0,
        "the outbox still holds {left} entries after the drain"
    );
    Ok((ended - started, breakdown))
}

/// Fills the outbox with `n` articles named after `tag`, in one
/// transaction, and sets the page's clock to stop once the list holds
/// `total` articles, this run's first and last among them.
fn fill_js(n: usize, tag: &str, total: usize) -> String {
    format!(
        r#"(async () => {{
  const db = await new Promise((resolve, reject) => {{
    const r = indexedDB.open('{DB_NAME}', {DB_VERSION});
    r.onupgradeneeded = () => {{
      r.result.createObjectStore('{OUTBOX_STORE}', {{ keyPath: 'seq', autoIncrement: true }});
      r.result.createObjectStore('{STARRED_STORE}', {{ keyPath: 'id' }});
    }};
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  }});
  const t = db.transaction('{OUTBOX_STORE}', 'readwrite');
  const store = t.objectStore('{OUTBOX_STORE}');
  store.clear();
  const ids = [];
  for (let i = 0; i < {n}; i++) {{
    const id = crypto.randomUUID();
    ids.push(id);
    store.add({{ article: {{ id, headline: 'Bench {tag} headline number ' + i, byline: 'The Bench' }}, queued_at: Date.now() }});
  }}
  await new Promise((resolve, reject) => {{ t.oncomplete = resolve; t.onerror = () => reject(t.error); }});
  db.close();
  const first = ids[0], last = ids[ids.length - 1];
  window.__benchDone = new Promise((resolve) => {{
    const list = document.querySelector({list});
    const check = () => {{
      if (list.children.length === {total} && list.querySelector(`[data-id="${{first}}"]`) && list.querySelector(`[data-id="${{last}}"]`)) {{
        observer.disconnect();
        resolve(Date.now());
      }}
    }};
    const observer = new MutationObserver(check);
    observer.observe(list, {{ childList: true }});
  }});
  return ids.length;
}})()"#,
        list = js_str(LIST)
    )
}

/// The baseline: what a worker without batching does, in the worker itself.
fn baseline_replay_js() -> String {
    format!(
        r#"(async () => {{
  const db = await new Promise((resolve, reject) => {{
    const r = indexedDB.open('{DB_NAME}', {DB_VERSION});
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  }});
  const queued = await new Promise((resolve, reject) => {{
    const r = db.transaction('{OUTBOX_STORE}').objectStore('{OUTBOX_STORE}').getAll();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  }});
  for (const entry of queued) {{
    const response = await fetch('{ARTICLES}', {{
      method: 'POST',
      headers: {{ 'content-type': 'application/json' }},
      body: JSON.stringify(entry.article),
    }});
    if (!response.ok) throw new Error('POST answered ' + response.status);
    await response.arrayBuffer();
    await new Promise((resolve, reject) => {{
      const t = db.transaction('{OUTBOX_STORE}', 'readwrite');
      t.objectStore('{OUTBOX_STORE}').delete(entry.seq);
      t.oncomplete = resolve;
      t.onerror = () => reject(t.error);
    }});
  }}
  db.close();
  const articles = await (await fetch('{ARTICLES}')).json();
  for (const client of await clients.matchAll({{ type: 'window' }})) {{
    client.postMessage({{ type: 'articles', articles, delivered: queued.length }});
  }}
  return queued.length;
}})()"#
    )
}

fn outbox_len_js() -> String {
    format!(
        r#"(async () => {{
  const db = await new Promise((resolve, reject) => {{
    const r = indexedDB.open('{DB_NAME}', {DB_VERSION});
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  }});
  const n = await new Promise((resolve, reject) => {{
    const r = db.transaction('{OUTBOX_STORE}').objectStore('{OUTBOX_STORE}').count();
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  }});
  db.close();
  return n;
}})()"#
    )
}
