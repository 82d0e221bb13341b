//! Benchmark 4, the worker: what the browser downloads and compiles to start it
//! (its .wasm, raw and gzip, and `sw.js`, which carries it; the page's .wasm
//! is reported beside them), and how long a stopped worker takes until its
//! Rust handler runs, beside a worker with no WebAssembly at all: the part of
//! the start that is the browser's own.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use base64ct::{Base64, Encoding as _};
use serde_json::Value;

use super::goals;
use super::report::{Baseline, Better, Goal, Row, Sample, Section};
use super::setup::Setup;
use super::wasm_budget;
use crate::browsers::chromium::Chromium;
use crate::browsers::{Browser, PageId};
use crate::standins::server::Server;
use crate::util::TempDir;

pub async fn run(setup: &Setup) -> Result<Section> {
    // Cheap runs (a third of a second a pair), and a cold start is noisy on
    // a shared machine: enough of them for a steady median.
    let runs = setup.size(31, 1);
    let script = read(setup, WORKER_SCRIPT)?;
    let module = module_in(&script)?;
    let page = read(setup, PAGE_WASM)?;

    let mut ours = Probe::start(setup, &setup.site).await?;
    let js_only_site = js_only_site()?;
    let mut js_only = Probe::start(setup, js_only_site.path()).await?;

    let mut cold = Sample::new("ms", Better::Lower);
    let mut warm = Sample::new("ms", Better::Lower);
    let mut start = Sample::new("ms", Better::Lower);
    let mut floor = Sample::new("ms", Better::Lower);
    let mut added = Sample::new("ms", Better::Lower);
    for run in 0..runs {
        // Taken in pairs, so that a busy moment on a shared machine weighs on
        // both figures of the pair alike; which goes first alternates.
        let ((c, w), (js_cold, js_warm)) = if run % 2 == 0 {
            let o = ours.cold_and_warm().await?;
            (o, js_only.cold_and_warm().await?)
        } else {
            let j = js_only.cold_and_warm().await?;
            (ours.cold_and_warm().await?, j)
        };
        println!(
            "bench: worker run {}: cold {c:.1} ms, warm {w:.2} ms; JS-only worker: cold {js_cold:.1} ms, warm {js_warm:.2} ms",
            run + 1
        );
        cold.push(c);
        warm.push(w);
        start.push(c - w);
        floor.push(js_cold - js_warm);
        added.push((c - w) - (js_cold - js_warm));
    }

    let mut section = Section::new("4. The service worker: size and cold start");
    section.method = vec![
        format!(
            "Size: the worker's .wasm as built by `cargo xtask build solution` (the library with only its `worker` \
             feature; release profile, `opt-level = \"z\"`, fat LTO), raw and gzip -9 (flate2), in bytes (the goal, 40 kB, \
             is 40,000 of them). The build puts it, base64, and its wasm-bindgen glue into `{WORKER_SCRIPT}`, so \
             that a stopped worker starts from that one script; the module is decoded from there, and `{WORKER_SCRIPT}` \
             itself, what a browser downloads for each new build, is reported too. The page's `{PAGE_WASM}` \
             (feature `page`) is reported beside them."
        ),
        "Cold start: the page sends the worker a message it does not understand over a `MessageChannel`; the Rust \
         `on_message` handler answers `{type: \"error\"}` on the port — so the round trip includes the handler running. \
         Each run stops every worker (`ServiceWorker.stopAllWorkers`, waiting until its target is gone), then times one \
         round trip from the page (`performance.now()`, which starts the worker: its script, the glue and the module \
         in it, the module compiled and instantiated, then the handler), then at once a second one on the \
         now-running worker. Cold start = cold round trip − warm round trip (the message passing \
         itself)."
            .to_owned(),
        "Baseline: the browser's own cost of starting a worker. A service worker with no WebAssembly (`sw.js` only, \
         the same answer to the same message) is served by the same server in a second Chromium and timed the same \
         way, its runs and ours in pairs (which goes first alternates). No worker starts faster, so the ratio is \
         below 1 by construction; the row after it is what our worker adds to that floor (its cold start minus the \
         JS-only worker's, run by run)."
            .to_owned(),
    ];
    size_rows_of_each(setup, &mut section, &module, &script, &page)?;
    // The goal is what our wasm adds: the browser's own start (the JS-only
    // worker's) is not ours to cut, and a goal on the whole would be met or
    // missed with the machine's mood.
    section.rows.push(Row {
        figure: "stopped worker → Rust handler (cold − warm); baseline: a JS-only worker".into(),
        ours: start,
        baseline: Baseline::Measured(floor),
        goal: Goal::None,
    });
    section.rows.push(Row::without_baseline(
        "what our worker adds to the JS-only worker's cold start (ours − JS-only, run by run)",
        added,
        "none (goal: absolute)",
        goals::COLD_START_ADDED_MS,
    ));
    for (figure, ours) in [
        ("cold round trip (as measured)", cold),
        ("warm round trip (subtracted)", warm),
    ] {
        section
            .rows
            .push(Row::without_baseline(figure, ours, "—", Goal::None));
    }
    Ok(section)
}

/// The size rows of the worker's .wasm (held to its budget, with a note of
/// what it is made of when it is over), of `sw.js` and of the page's .wasm.
fn size_rows_of_each(
    setup: &Setup,
    section: &mut Section,
    module: &[u8],
    script: &[u8],
    page: &[u8],
) -> Result<()> {
    section.rows.extend(size_rows(
        "the worker's .wasm",
        module,
        Some(goals::WORKER_WASM_GZIP_BYTES),
    )?);
    // The last row is the gzip size, the one held to the budget.
    if section.rows.last().and_then(Row::met) == Some(false) {
        section.notes.push(budget_line(setup));
    }
    section.rows.extend(size_rows(
        &format!("`{WORKER_SCRIPT}` (shim, glue and the .wasm in base64)"),
        script,
        None,
    )?);
    section
        .rows
        .extend(size_rows(&format!("`{PAGE_WASM}`"), page, None)?);
    Ok(())
}

/// What the worker's .wasm is made of, for when it is over its budget: the
/// module as cargo built it, names and all, which `cargo xtask build` keeps
/// out of the site.
fn budget_line(setup: &Setup) -> String {
    let site = setup
        .site
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("solution");
    let target = lesson::workspace::target_dir(&setup.root);
    let path = lesson::workspace::wasm_with_names(&target, site, "worker");
    let contents = std::fs::read(&path)
        .with_context(|| format!("cannot read {}", path.display()))
        .and_then(|wasm| wasm_budget::contents(&wasm));
    match contents {
        Ok(contents) => format!(
            "Over budget. The worker's .wasm as cargo built it (before wasm-bindgen, raw bytes; our async \
             handlers are compiled into the `js_sys::futures::future_to_promise` closures that poll them, and \
             count there): {}",
            contents.line(6, 8)
        ),
        Err(error) => format!("Over budget; what it is made of is unknown: {error:#}"),
    }
}

/// The baseline's site: a page and a service worker with no WebAssembly,
/// answering the same message the same way.
fn js_only_site() -> Result<TempDir> {
    let js_only_site = TempDir::new("bench-js-only-worker")?;
    for (name, text) in [
        ("index.html", JS_ONLY_PAGE),
        ("page.js", JS_ONLY_PAGE_SCRIPT),
        ("sw.js", JS_ONLY_WORKER),
    ] {
        let path = js_only_site.path().join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(js_only_site)
}

const WORKER_SCRIPT: &str = "sw.js";
const PAGE_WASM: &str = "pkg/page_bg.wasm";

fn read(setup: &Setup, file: &str) -> Result<Vec<u8>> {
    let path = setup.site.join(file);
    std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// The worker's module, out of the built `sw.js`, where it is base64 in the
/// comment of `function workerWasm() {/*...*/}`.
fn module_in(script: &[u8]) -> Result<Vec<u8>> {
    const START: &str = "function workerWasm() {/*";
    let script = std::str::from_utf8(script).context("sw.js is not UTF-8")?;
    let base64 = script
        .split_once(START)
        .and_then(|(_, rest)| rest.split_once("*/"))
        .map(|(base64, _)| base64)
        .with_context(|| {
            format!("sw.js has no `{START}...*/}}`: was it built by `cargo xtask build`?")
        })?;
    Base64::decode_vec(base64).context("the worker's .wasm in sw.js is not valid base64")
}

/// Two rows, `what` raw and gzip -9, in bytes: exact, where a size in kB
/// rounded to three digits could not tell 39.96 from 40.04. A goal, if any,
/// is for the gzip size.
fn size_rows(what: &str, bytes: &[u8], gzip_goal: Option<f64>) -> Result<[Row; 2]> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)?;
    let mut raw = Sample::new("bytes", Better::Lower);
    raw.push(bytes.len() as f64);
    let mut gzip = Sample::new("bytes", Better::Lower);
    gzip.push(gz.finish()?.len() as f64);
    Ok([
        Row::without_baseline(format!("{what} raw"), raw, "none (reported)", Goal::None),
        Row::without_baseline(
            format!("{what} gzip"),
            gzip,
            match gzip_goal {
                Some(_) => "none (goal: absolute)",
                None => "none (reported)",
            },
            gzip_goal.map_or(Goal::None, Goal::AtMost),
        ),
    ])
}

/// A site open in a Chromium of its own, ready to time its worker's start.
struct Probe {
    _server: Server,
    browser: Chromium,
    tab: PageId,
}

impl Probe {
    async fn start(setup: &Setup, site: &Path) -> Result<Self> {
        let (server, mut browser, tab) = super::setup::site_in_chromium(setup, site).await?;
        browser
            .eval(tab, ROUND_TRIP_FN, Duration::from_secs(5))
            .await?;
        // One warm round trip first: the very first may still be compiling.
        browser
            .eval(tab, "window.__benchRoundTrip()", Duration::from_secs(30))
            .await?;
        Ok(Self {
            _server: server,
            browser,
            tab,
        })
    }

    /// Stops the worker; then one round trip, which starts it, and at once a
    /// second on the running worker. Both in ms.
    async fn cold_and_warm(&mut self) -> Result<(f64, f64)> {
        self.browser.stop_workers().await?;
        let cold = round_trip(&mut self.browser, self.tab).await?;
        let warm = round_trip(&mut self.browser, self.tab).await?;
        Ok((cold, warm))
    }
}

/// The baseline's page: it only registers the worker (from a file of its
/// own: the server's Content-Security-Policy refuses inline scripts).
const JS_ONLY_PAGE: &str = r#"<!doctype html>
<title>JS-only service worker (benchmark baseline)</title>
<script src="/page.js"></script>
"#;
const JS_ONLY_PAGE_SCRIPT: &str = "navigator.serviceWorker.register('/sw.js');\n";

/// The baseline's worker: no WebAssembly, and the answer our worker gives to
/// a message it does not understand.
const JS_ONLY_WORKER: &str = r#"self.addEventListener('install', (event) => event.waitUntil(self.skipWaiting()));
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('message', (event) => {
  const port = event.ports[0];
  if (port) port.postMessage({ type: 'error', message: 'the worker does not understand this message' });
});
"#;

async fn round_trip(browser: &mut Chromium, tab: PageId) -> Result<f64> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_is_read_back_from_the_worker_script() {
        let script = b"const BUILD_ID = 'x';\nfunction workerWasm() {/*AGFzbQEAAAD/AA==*/}\nlet wasm_bindgen;\n";
        assert_eq!(module_in(script).unwrap(), b"\0asm\x01\0\0\0\xff\0");
    }

    #[test]
    fn a_worker_script_without_the_module_is_named() {
        let unbuilt = b"function workerWasm() {/*%WORKER_WASM%*/}\n";
        let error = format!("{:#}", module_in(unbuilt).unwrap_err());
        assert!(error.contains("not valid base64"), "{error}");
        let error = format!("{:#}", module_in(b"self.onmessage = null;").unwrap_err());
        assert!(error.contains("function workerWasm()"), "{error}");
    }
}
