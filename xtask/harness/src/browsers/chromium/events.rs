//! What Chromium reports, as the driver keeps it: the background-service
//! events it observes (notifications shown, syncs dispatched and completed)
//! and the console lines and errors of the tabs and the worker.

use serde_json::Value;

use super::Chromium;
use crate::browsers::ServiceEvent;

impl Chromium {
    /// Reads the events the DevTools connection received since the last
    /// read into the logs kept for the checkpoints and failure reports.
    pub(super) fn read_events(&self) {
        let Some(cdp) = &self.cdp else { return };
        {
            let mut log = self.service_log.lock().unwrap();
            let new = cdp.events_since(log.1);
            log.1 += new.len();
            for e in new
                .iter()
                .filter(|e| e.method == "BackgroundService.backgroundServiceEventReceived")
            {
                let ev = &e.params["backgroundServiceEvent"];
                let details = ev["eventMetadata"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| {
                        format!(
                            "{}: {}",
                            m["key"].as_str().unwrap_or(""),
                            m["value"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                log.0.push(ServiceEvent {
                    service: ev["service"].as_str().unwrap_or_default().to_owned(),
                    name: ev["eventName"].as_str().unwrap_or_default().to_owned(),
                    details,
                });
            }
        }
        let mut logs = self.logs.lock().unwrap();
        let new = cdp.events_since(logs.1);
        logs.1 += new.len();
        for e in &new {
            // Labelled by where it came from: the worker that handles the
            // events may be another session than the one first attached
            // (an active worker beside a redundant one, a restarted one).
            let from = if e
                .session
                .as_deref()
                .is_some_and(|s| self.worker_sessions.iter().any(|w| w == s))
            {
                "worker"
            } else {
                "page"
            };
            let line = match e.method.as_str() {
                "Runtime.consoleAPICalled" => {
                    let args = e.params["args"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|a| match &a["value"] {
                            Value::String(s) => s.clone(),
                            Value::Null => a["description"].as_str().unwrap_or("").to_owned(),
                            v => v.to_string(),
                        })
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!(
                        "{from} console.{}: {args}",
                        e.params["type"].as_str().unwrap_or("log")
                    )
                }
                "Runtime.exceptionThrown" => {
                    // A thrown Error has a description; a thrown string (as
                    // wasm-bindgen code often throws) only a value.
                    let d = &e.params["exceptionDetails"];
                    let thrown = &d["exception"];
                    let text = match (thrown["description"].as_str(), &thrown["value"]) {
                        (Some(description), _) => description.to_owned(),
                        (None, Value::String(value)) => value.clone(),
                        (None, Value::Null) => d["text"].as_str().unwrap_or("").to_owned(),
                        (None, value) => value.to_string(),
                    };
                    format!("{from} uncaught: {text}")
                }
                "Log.entryAdded" => format!(
                    "{from} {}: {}",
                    e.params["entry"]["level"].as_str().unwrap_or(""),
                    e.params["entry"]["text"].as_str().unwrap_or("")
                ),
                _ => continue,
            };
            logs.0.push(line);
        }
    }
}
