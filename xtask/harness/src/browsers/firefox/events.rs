//! What Firefox reports, as the driver keeps it: the tabs' console lines and
//! errors (BiDi `log.entryAdded`), and the notifications shown, found by
//! polling `registration.getNotifications()` (BiDi has no event for them).

use std::collections::HashSet;

use anyhow::Result;

use super::scripts::NOTIFICATIONS_JS;
use super::{COMMAND_TIMEOUT, Firefox};
use crate::browsers::ServiceEvent;

impl Firefox {
    /// The notifications showing now; each that was not showing at the last
    /// poll is logged as "Notification displayed".
    pub(super) async fn poll_notifications(&mut self) -> Result<()> {
        let Some(context) = self.open_pages().next().cloned() else {
            return Ok(());
        };
        let listed = self
            .evaluate(&context, NOTIFICATIONS_JS, COMMAND_TIMEOUT)
            .await?;
        let now: HashSet<(String, String, String)> = listed
            .as_array()
            .into_iter()
            .flatten()
            .map(|n| {
                let field = |i: usize| n[i].as_str().unwrap_or_default().to_owned();
                (field(0), field(1), field(2))
            })
            .collect();
        let mut log = self.service_log.lock().unwrap();
        for (title, body, tag) in now.difference(&self.showing) {
            log.push(ServiceEvent {
                service: "notifications".into(),
                name: "Notification displayed".into(),
                details: format!("title: {title}, body: {body}, tag: {tag}"),
            });
        }
        drop(log);
        self.showing = now;
        Ok(())
    }

    /// Reads the tabs' console lines and errors BiDi reported since the
    /// last read into the log kept for failure reports.
    pub(super) fn read_events(&self) {
        let Some(bidi) = &self.bidi else { return };
        let mut logs = self.logs.lock().unwrap();
        let new = bidi.events_since(logs.1);
        logs.1 += new.len();
        for e in new.iter().filter(|e| e.method == "log.entryAdded") {
            let p = &e.params;
            let text = p["text"].as_str().unwrap_or_default();
            // A window's realm has a browsing context; a worker's has none.
            let from = if p["source"]["context"].is_string() {
                "page"
            } else {
                "worker"
            };
            let line = match p["type"].as_str() {
                Some("javascript") => format!("{from} uncaught: {text}"),
                _ => format!(
                    "{from} console.{}: {text}",
                    p["method"].as_str().unwrap_or("log")
                ),
            };
            logs.0.push(line);
        }
    }
}
