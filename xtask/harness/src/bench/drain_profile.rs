//! Where one drain's time goes in the browser: the JS sampling profiles of
//! the worker and the page, summed by kind of work, and a timeline of each
//! batch (POST, answer, JSON, IndexedDB delete) taken by a spy the harness
//! installs in the worker before the `sync` (bench only; the app is
//! unchanged).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::browsers::chromium::profile::Profiles;

/// Wraps, in the worker, the browser calls a drain makes so that each
/// records when it was made and when it ended (ms since the epoch, the
/// harness's clock). Run again, it only starts a fresh log.
pub const SPY_JS: &str = r#"(() => {
  self.__drainLog = [];
  if (self.__drainSpied) return 0;
  self.__drainSpied = true;
  // The wall clock, to compare with the harness's and the page's, at the
  // monotonic clock's resolution.
  const base = Date.now() - performance.now();
  const now = () => base + performance.now();
  const note = (what, at, end) => self.__drainLog.push({ what, at, end: end ?? at });
  // Added after the app's listener, so it runs once that one has returned.
  self.addEventListener('sync', () => note('sync', now()));
  const open = IDBFactory.prototype.open;
  IDBFactory.prototype.open = function (...args) {
    const at = now();
    const request = open.apply(this, args);
    request.addEventListener('success', () => note('open', at, now()));
    return request;
  };
  const fetch = self.fetch;
  self.fetch = function (...args) {
    const at = now();
    return fetch.apply(this, args).then((r) => { note('post', at, now()); return r; });
  };
  const text = Response.prototype.text;
  Response.prototype.text = function () {
    const at = now();
    return text.call(this).then((t) => { note('body', at, now()); return t; });
  };
  const parse = JSON.parse;
  JSON.parse = function (...args) {
    const at = now();
    const value = parse.apply(this, args);
    if (typeof args[0] === 'string' && args[0].length > 4096) note('parse', at, now());
    return value;
  };
  for (const name of ['getAll', 'delete']) {
    const original = IDBObjectStore.prototype[name];
    IDBObjectStore.prototype[name] = function (...args) {
      const at = now();
      const request = original.apply(this, args);
      if (name === 'getAll') request.addEventListener('success', () => note('getAll', at, now()));
      else this.transaction.addEventListener('complete', () => note('delete', at, now()));
      return request;
    };
  }
  const post = Client.prototype.postMessage;
  Client.prototype.postMessage = function (...args) {
    const at = now();
    const r = post.apply(this, args);
    note('postMessage', at, now());
    return r;
  };
  return 0;
})()"#;

pub const SPY_LOG_JS: &str = "self.__drainLog";

#[derive(Deserialize)]
pub struct Step {
    what: String,
    at: f64,
    end: f64,
}

/// The report's lines for one profiled drain from `started` (the `sync`
/// sent) to `ended` (the page shows the list), times in ms since the epoch.
pub fn summary(profiles: &Profiles, steps: &[Step], started: f64, ended: f64) -> Vec<String> {
    let wall = ended - started;
    let mut lines = vec![format!(
        "**Profiled drain** (one extra, sampled every 0.1 ms, so slower than the runs above): {wall:.0} ms from `sync` to the list shown."
    )];
    lines.push(timeline(steps, started, ended));
    for (who, profile) in [("worker", &profiles.worker), ("page", &profiles.page)] {
        lines.push(self_times(who, profile, wall));
    }
    lines
}

/// Per step kind: how many, their summed wall time; and the first POST's
/// start, the last delete's end, the message to the page.
fn timeline(steps: &[Step], started: f64, ended: f64) -> String {
    let mut kinds: Vec<(&str, usize, f64)> = Vec::new();
    for step in steps {
        match kinds.iter_mut().find(|(what, ..)| *what == step.what) {
            Some((_, count, ms)) => {
                *count += 1;
                *ms += step.end - step.at;
            }
            None => kinds.push((&step.what, 1, step.end - step.at)),
        }
    }
    let at = |what: &str, last: bool| {
        let mut matching = steps.iter().filter(|s| s.what == what);
        let step = if last {
            matching.next_back()
        } else {
            matching.next()
        };
        step.map_or("-".to_owned(), |s| format!("+{:.0}", s.at - started))
    };
    let sums: Vec<String> = kinds
        .iter()
        .map(|(what, count, ms)| format!("{what} ×{count} {ms:.1} ms"))
        .collect();
    let batches: Vec<String> = steps
        .iter()
        .filter(|s| s.what == "post")
        .map(|s| format!("{:.0}–{:.0}", s.at - started, s.end - started))
        .collect();
    format!(
        "Worker timeline (wall, ms after the harness sent `sync`): the handler has run at {}, IndexedDB opened from {}, getAll from {}, \
         first POST at {}, last delete at {}, postMessage at {}, list shown at +{:.0}. \
         Summed wall per step: {}. POSTs (sent–answered): {}.",
        at("sync", false),
        at("open", false),
        at("getAll", false),
        at("post", false),
        at("delete", true),
        at("postMessage", true),
        ended - started,
        sums.join(", "),
        batches.join(", ")
    )
}

/// The profile's self time summed by kind of work, and its heaviest
/// functions.
fn self_times(who: &str, profile: &Value, wall: f64) -> String {
    let mut kind_of: HashMap<u64, (String, String)> = HashMap::new();
    for node in profile["nodes"].as_array().into_iter().flatten() {
        let frame = &node["callFrame"];
        let name = frame["functionName"].as_str().unwrap_or_default();
        let url = frame["url"].as_str().unwrap_or_default();
        let kind = match name {
            "(idle)" => "idle",
            "(program)" => "browser (program)",
            "(garbage collector)" => "GC",
            "(root)" => "root",
            _ if url.starts_with("wasm://") || url.ends_with(".wasm") => "wasm",
            _ if url.is_empty() => "builtins",
            _ => "JS",
        };
        let name = if name.is_empty() { "(anonymous)" } else { name };
        let file = url.rsplit('/').next().unwrap_or_default();
        let id = node["id"].as_u64().unwrap_or_default();
        kind_of.insert(id, (kind.to_owned(), format!("{name} {file}")));
    }
    let samples = profile["samples"].as_array().cloned().unwrap_or_default();
    let deltas = profile["timeDeltas"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut by_kind: HashMap<String, f64> = HashMap::new();
    let mut by_function: HashMap<String, f64> = HashMap::new();
    // A sample stands for the time until the next one.
    for (i, sample) in samples.iter().enumerate() {
        let ms = deltas.get(i + 1).and_then(Value::as_f64).unwrap_or(0.0) / 1000.0;
        if let Some((kind, function)) = sample.as_u64().and_then(|id| kind_of.get(&id)) {
            *by_kind.entry(kind.clone()).or_default() += ms;
            if kind != "idle" {
                *by_function
                    .entry(format!("{function} [{kind}]"))
                    .or_default() += ms;
            }
        }
    }
    let total: f64 = by_kind.values().sum();
    let busy = total - by_kind.get("idle").copied().unwrap_or(0.0);
    let ranked = |map: HashMap<String, f64>, n: usize| {
        let mut v: Vec<(String, f64)> = map.into_iter().collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v.into_iter()
            .take(n)
            .map(|(k, ms)| format!("{k} {ms:.1} ms ({:.0}%)", 100.0 * ms / total.max(1e-9)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "The {who}'s profile: {total:.0} ms sampled ({busy:.0} ms busy; the drain took {wall:.0} ms). By kind: {}. Heaviest functions (self time): {}.",
        ranked(by_kind, 8),
        ranked(by_function, 12)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sample_counts_the_time_until_the_next_one_for_its_kind() {
        let node = |id: u64, name: &str, url: &str| json!({ "id": id, "callFrame": { "functionName": name, "url": url } });
        let profile = json!({
            "nodes": [node(1, "(idle)", ""), node(2, "decode", ""), node(3, "f", "http://x/sw_bg.wasm")],
            "samples": [2, 3, 1, 2],
            "timeDeltas": [0, 3000, 5000, 2000],
        });
        let line = self_times("worker", &profile, 10.0);
        assert!(line.contains("10 ms sampled (8 ms busy"), "{line}");
        assert!(line.contains("wasm 5.0 ms (50%)"), "{line}");
        assert!(line.contains("builtins 3.0 ms (30%)"), "{line}");
        assert!(line.contains("decode  [builtins] 3.0 ms"), "{line}");
    }
}
