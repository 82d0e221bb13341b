//! Benchmark 4, the worker: what the browser downloads and compiles to start it
//! (its .wasm, raw and gzip; the page's is reported beside it), and how long a
//! stopped worker takes until its Rust handler runs.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use super::{Baseline, Better, Goal, Row, Sample, Section, Setup};
use crate::browser::Browser;
use crate::chromium::Chromium;

pub async fn run(setup: &Setup) -> Result<Section> {
    let runs = setup.size(15, 1);
    let (worker_raw, worker_gzip) = sizes(setup, WORKER_WASM)?;
    let (page_raw, page_gzip) = sizes(setup, PAGE_WASM)?;

    let (_app, mut browser, tab) = super::app_in_chromium(setup).await?;
    browser
        .eval(tab, ROUND_TRIP_FN, Duration::from_secs(5))
        .await?;
    // One warm round trip first: the very first may still be compiling.
    browser
        .eval(tab, "window.__benchRoundTrip()", Duration::from_secs(30))
        .await?;

    let mut cold = Sample::new("ms", Better::Lower);
    let mut warm = Sample::new("ms", Better::Lower);
    let mut start = Sample::new("ms", Better::Lower);
    for run in 0..runs {
        browser.stop_workers().await?;
        let c = round_trip(&mut browser, tab).await?;
        let w = round_trip(&mut browser, tab).await?;
        println!(
            "bench: worker run {}: cold {c:.1} ms, warm {w:.2} ms",
            run + 1
        );
        cold.push(c);
        warm.push(w);
        start.push(c - w);
    }

    let mut section = Section::new("4. The service worker: size and cold start");
    section.method = vec![
        format!(
            "Size: `{WORKER_WASM}` as built by `cargo xtask build solution` (the library with only its `worker` \
             feature; release profile, `opt-level = \"z\"`), raw and gzip -9 (flate2), in kB of 1000 bytes. The \
             page's `{PAGE_WASM}` (feature `page`) is reported beside it."
        ),
        "Cold start: the page sends the worker a message it does not understand over a `MessageChannel`; the Rust \
         `on_message` handler answers `{type: \"error\"}` on the port — so the round trip includes the handler running. \
         Each run stops every worker (`ServiceWorker.stopAllWorkers`, waiting until its target is gone), then times one \
         round trip from the page (`performance.now()`, which starts the worker: the script, `importScripts` of the \
         bindings, the wasm from this build's cache, compiled and instantiated, then the handler), then at once a \
         second one on the now-running worker. Cold start = cold round trip − warm round trip (the message passing \
         itself)."
            .to_owned(),
    ];
    section.rows.push(Row {
        figure: format!("`{WORKER_WASM}` raw"),
        ours: worker_raw,
        baseline: Baseline::NotApplicable("none (reported)"),
        goal: Goal::None,
    });
    section.rows.push(Row {
        figure: format!("`{WORKER_WASM}` gzip"),
        ours: worker_gzip,
        baseline: Baseline::NotApplicable("none (goal: absolute)"),
        goal: Goal::AtMost(40.0),
    });
    section.rows.push(Row {
        figure: format!("`{PAGE_WASM}` raw"),
        ours: page_raw,
        baseline: Baseline::NotApplicable("none (reported)"),
        goal: Goal::None,
    });
    section.rows.push(Row {
        figure: format!("`{PAGE_WASM}` gzip"),
        ours: page_gzip,
        baseline: Baseline::NotApplicable("none (reported)"),
        goal: Goal::None,
    });
    section.rows.push(Row {
        figure: "stopped worker → Rust handler (cold − warm)".into(),
        ours: start,
        baseline: Baseline::NotApplicable("none (goal: absolute)"),
        goal: Goal::AtMost(10.0),
    });
    section.rows.push(Row {
        figure: "cold round trip (as measured)".into(),
        ours: cold,
        baseline: Baseline::NotApplicable("—"),
        goal: Goal::None,
    });
    section.rows.push(Row {
        figure: "warm round trip (subtracted)".into(),
        ours: warm,
        baseline: Baseline::NotApplicable("—"),
        goal: Goal::None,
    });
    Ok(section)
}

const WORKER_WASM: &str = "pkg/worker_bg.wasm";
const PAGE_WASM: &str = "pkg/page_bg.wasm";

/// A file of the site, raw and gzip -9, in kB.
fn sizes(setup: &Setup, file: &str) -> Result<(Sample, Sample)> {
    let path = setup.site.join(file);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(&bytes)?;
    let mut raw = Sample::new("kB", Better::Lower);
    raw.push(bytes.len() as f64 / 1000.0);
    let mut gzip = Sample::new("kB", Better::Lower);
    gzip.push(gz.finish()?.len() as f64 / 1000.0);
    Ok((raw, gzip))
}

async fn round_trip(browser: &mut Chromium, tab: crate::browser::PageId) -> Result<f64> {
    let answer: Value = browser
        .eval(tab, "window.__benchRoundTrip()", Duration::from_secs(30))
        .await?;
    anyhow::ensure!(
        answer["type"] == "error",
        "the worker answered {answer}, not the error a message it does not know gets"
    );
    answer["ms"].as_f64().context("no time")
}

const ROUND_TRIP_FN: &str = r#"window.__benchRoundTrip = () => new Promise((resolve, reject) => {
  const channel = new MessageChannel();
  const started = performance.now();
  const timer = setTimeout(() => reject(new Error('no answer from the worker')), 20000);
  channel.port1.onmessage = (event) => {
    clearTimeout(timer);
    resolve({ type: event.data && event.data.type, ms: performance.now() - started });
  };
  navigator.serviceWorker.controller.postMessage({ type: 'bench-ping' }, [channel.port2]);
}); true"#;
