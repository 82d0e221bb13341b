//! A small Chrome DevTools Protocol client: one websocket to the browser
//! endpoint, flat sessions (`Target.attachToTarget {flatten: true}` and a
//! `sessionId` on each message), a timeout chosen by each caller, and every
//! event kept in an append-only log so that a wait never misses an event that
//! arrived before it started.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// One event the browser sent: which session it came from (`None` for the
/// browser itself), its method and its parameters.
#[derive(Debug, Clone)]
pub struct Event {
    pub session: Option<String>,
    pub method: String,
    pub params: Value,
}

type Reply = std::result::Result<Value, String>;

#[derive(Default)]
struct Shared {
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    events: Mutex<Vec<Event>>,
}

pub struct Cdp {
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<Message>,
    next_id: AtomicU64,
    /// The number of events logged so far; `Err` once the connection closed.
    event_count: watch::Receiver<usize>,
    closed: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Cdp {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Cdp {
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        let (socket, _) = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| {
                anyhow!("timed out after {timeout:?} connecting to the DevTools endpoint {url}")
            })?
            .with_context(|| format!("cannot connect to the DevTools endpoint {url}"))?;
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
                if let Some(id) = value.get("id").and_then(Value::as_u64) {
                    let reply = match value.get("error") {
                        Some(error) => Err(error
                            .get("message")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                            .unwrap_or_else(|| error.to_string())),
                        None => Ok(value.get("result").cloned().unwrap_or(Value::Null)),
                    };
                    let waiter = reader_shared.pending.lock().unwrap().remove(&id);
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(reply);
                    }
                } else if let Some(method) = value.get("method").and_then(Value::as_str) {
                    let event = Event {
                        session: value
                            .get("sessionId")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        method: method.to_owned(),
                        params: value.get("params").cloned().unwrap_or(Value::Null),
                    };
                    let count = {
                        let mut events = reader_shared.events.lock().unwrap();
                        events.push(event);
                        events.len()
                    };
                    count_tx.send_replace(count);
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

    /// Sends one command (to the browser when `session` is `None`) and waits
    /// for its result.
    pub async fn call(
        &self,
        session: Option<&str>,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id, tx);
        if self.is_closed()
            || self
                .outgoing
                .send(Message::text(message.to_string()))
                .is_err()
        {
            self.shared.pending.lock().unwrap().remove(&id);
            bail!("{method}: the browser's DevTools connection is closed");
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err(error))) => bail!("{method} failed: {error}"),
            Ok(Err(_)) => bail!(
                "{method}: the browser's DevTools connection closed while waiting for the answer"
            ),
            Err(_) => {
                self.shared.pending.lock().unwrap().remove(&id);
                bail!("{method}: no answer from the browser within {timeout:?}")
            }
        }
    }

    /// A position in the event log: pass it to [`Cdp::wait_event`] to wait for
    /// an event that arrives after this moment (or arrived since).
    pub fn mark(&self) -> usize {
        self.shared.events.lock().unwrap().len()
    }

    /// The events logged since `from`.
    pub fn events_since(&self, from: usize) -> Vec<Event> {
        let events = self.shared.events.lock().unwrap();
        events
            .get(from..)
            .map(<[Event]>::to_vec)
            .unwrap_or_default()
    }

    /// Waits for the first event since `from` that `matches` accepts.
    /// `what` says what was awaited, for the timeout message.
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
                bail!("the browser's DevTools connection closed while waiting for {what}");
            }
            tokio::select! {
                changed = count.changed() => { if changed.is_err() { bail!("the browser's DevTools connection closed while waiting for {what}"); } }
                _ = closed.changed() => {}
                _ = tokio::time::sleep_until(deadline) => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
    }
}
