//! A small WebDriver BiDi client: one websocket to the browser's `/session`
//! endpoint, commands `{id, method, params}` answered by
//! `{type: "success", id, result}` or `{type: "error", id, error, message}`,
//! and events `{type: "event", method, params}` kept in an append-only log so
//! that a wait never misses an event that arrived before it started.
//!
//! It is the same shape as the DevTools client (`cdp.rs`) over the same
//! websocket crate; the two protocols differ in their envelopes, in how an
//! error reads, and in that BiDi has no sessions inside the connection.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// One event the browser sent.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
}

/// A command's error, as the browser words it: the error code (e.g.
/// `unknown command`, `no such frame`) and its message.
#[derive(Debug)]
pub struct BidiError {
    pub method: String,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for BidiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {}", self.method, self.code)?;
        if !self.message.is_empty() && self.message != self.method {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for BidiError {}

type Reply = std::result::Result<Value, (String, String)>;

#[derive(Default)]
struct Shared {
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    events: Mutex<Vec<Event>>,
}

pub struct Bidi {
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<Message>,
    next_id: AtomicU64,
    event_count: watch::Receiver<usize>,
    closed: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Bidi {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Bidi {
    /// Connects to `url` (the browser's `ws://host:port/session`).
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let (socket, _) = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| {
                anyhow!(
                    "timed out after {timeout:?} connecting to the WebDriver BiDi endpoint {url}"
                )
            })?
            .with_context(|| format!("cannot connect to the WebDriver BiDi endpoint {url}"))?;
        let (mut sink, mut stream) = socket.split();
        let shared = Arc::new(Shared::default());
        let (outgoing, mut outgoing_rx) = mpsc::unbounded_channel::<Message>();
        let (count_tx, event_count) = watch::channel(0usize);
        let (closed_tx, closed) = watch::channel(false);

        let writer = tokio::spawn(async move {
            while let Some(message) = outgoing_rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let reader_shared = shared.clone();
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                let text = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Binary(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Message::Close(_) => break,
                    _ => continue,
                };
                let Ok(value) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                match value["type"].as_str() {
                    Some("event") => {
                        let event = Event {
                            method: value["method"].as_str().unwrap_or_default().to_owned(),
                            params: value.get("params").cloned().unwrap_or(Value::Null),
                        };
                        let count = {
                            let mut events = reader_shared.events.lock().unwrap();
                            events.push(event);
                            events.len()
                        };
                        count_tx.send_replace(count);
                    }
                    _ => {
                        // An answer; an error without an id (a message the
                        // browser could not parse) has no one to go to.
                        let Some(id) = value["id"].as_u64() else {
                            continue;
                        };
                        let reply = if value["type"] == "error" {
                            Err((
                                value["error"].as_str().unwrap_or("error").to_owned(),
                                value["message"].as_str().unwrap_or_default().to_owned(),
                            ))
                        } else {
                            Ok(value.get("result").cloned().unwrap_or(Value::Null))
                        };
                        let waiter = reader_shared.pending.lock().unwrap().remove(&id);
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(reply);
                        }
                    }
                }
            }
            // The browser went away: fail every command still waiting.
            reader_shared.pending.lock().unwrap().clear();
            closed_tx.send_replace(true);
        });

        Ok(Self {
            shared,
            outgoing,
            next_id: AtomicU64::new(1),
            event_count,
            closed,
            tasks: vec![writer, reader],
        })
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Sends one command and waits for its result. An error the browser
    /// answered with is a [`BidiError`] (see [`is_unknown_command`]).
    pub async fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let message = json!({ "id": id, "method": method, "params": params });
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id, tx);
        if self.is_closed()
            || self
                .outgoing
                .send(Message::text(message.to_string()))
                .is_err()
        {
            self.shared.pending.lock().unwrap().remove(&id);
            bail!("{method}: the browser's WebDriver BiDi connection is closed");
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err((code, message)))) => Err(BidiError {
                method: method.to_owned(),
                code,
                message,
            }
            .into()),
            Ok(Err(_)) => bail!(
                "{method}: the browser's WebDriver BiDi connection closed while waiting for the answer"
            ),
            Err(_) => {
                self.shared.pending.lock().unwrap().remove(&id);
                bail!("{method}: no answer from the browser within {timeout:?}")
            }
        }
    }

    /// The events logged since `from`.
    pub fn events_since(&self, from: usize) -> Vec<Event> {
        let events = self.shared.events.lock().unwrap();
        events
            .get(from..)
            .map(<[Event]>::to_vec)
            .unwrap_or_default()
    }

    /// Waits for the first event since `from` (an [`Bidi::events_since`]
    /// position) that `matches` accepts.
    #[allow(dead_code)] // the Firefox driver waits on commands (`wait: "complete"`)
    pub async fn wait_event(
        &self,
        from: usize,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Event) -> bool,
    ) -> Result<Event> {
        let mut count = self.event_count.clone();
        let mut closed = self.closed.clone();
        let mut next = from;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let events = self.shared.events.lock().unwrap();
                if let Some(found) = events
                    .get(next..)
                    .and_then(|new| new.iter().find(|e| matches(e)))
                {
                    return Ok(found.clone());
                }
                next = events.len().max(next);
            }
            if *closed.borrow() {
                bail!("the browser's WebDriver BiDi connection closed while waiting for {what}");
            }
            tokio::select! {
                changed = count.changed() => { if changed.is_err() { bail!("the browser's WebDriver BiDi connection closed while waiting for {what}"); } }
                _ = closed.changed() => {}
                _ = tokio::time::sleep_until(deadline) => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
    }
}

/// Whether `error` is the browser saying it does not know the command (an
/// older browser than the protocol feature).
pub fn is_unknown_command(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<BidiError>()
        .is_some_and(|e| e.code == "unknown command")
}

/// A BiDi `RemoteValue` as plain JSON, as the DevTools protocol's
/// `returnByValue` gives it: `undefined` becomes `null`, a number BiDi spells
/// as a string (`NaN`, `Infinity`, `-0`) becomes `null` or `0`, maps and
/// objects become objects, and values JSON cannot hold (nodes, functions,
/// promises) become `null`, as `JSON.stringify` would make them.
pub fn to_json(remote: &Value) -> Value {
    let value = &remote["value"];
    match remote["type"].as_str().unwrap_or_default() {
        "string" | "boolean" => value.clone(),
        "number" => match value {
            Value::Number(_) => value.clone(),
            Value::String(s) if s == "-0" => json!(0),
            _ => Value::Null,
        },
        "bigint" => value
            .as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .map_or(Value::Null, Value::from),
        "array" | "set" => Value::Array(
            value
                .as_array()
                .into_iter()
                .flatten()
                .map(to_json)
                .collect(),
        ),
        "object" | "map" => {
            let mut object = Map::new();
            for entry in value.as_array().into_iter().flatten() {
                let key = match &entry[0] {
                    Value::String(key) => key.clone(),
                    other => match to_json(other) {
                        Value::String(key) => key,
                        key => key.to_string(),
                    },
                };
                object.insert(key, to_json(&entry[1]));
            }
            Value::Object(object)
        }
        "date" => value.clone(),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::to_json;
    use serde_json::json;

    #[test]
    fn remote_values_become_plain_json() {
        let remote = json!({"type": "object", "value": [
            ["a", {"type": "array", "value": [
                {"type": "number", "value": 1},
                {"type": "string", "value": "x"},
                {"type": "null"},
                {"type": "undefined"},
                {"type": "boolean", "value": true},
                {"type": "number", "value": "NaN"},
            ]}],
            ["b", {"type": "object", "value": [["c", {"type": "number", "value": 2.5}]]}],
            ["n", {"type": "node", "sharedId": "x"}],
        ]});
        assert_eq!(
            to_json(&remote),
            json!({"a": [1, "x", null, null, true, null], "b": {"c": 2.5}, "n": null})
        );
        assert_eq!(to_json(&json!({"type": "undefined"})), json!(null));
    }
}
