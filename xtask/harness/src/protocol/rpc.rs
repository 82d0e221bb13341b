//! The websocket connection under both browser protocols: the DevTools
//! protocol (`cdp.rs`, Chromium) and WebDriver BiDi (`bidi.rs`, Firefox).
//!
//! Both send commands `{id, method, params}` and get back one answer per id,
//! plus events nobody asked for. This connection pairs each answer with the
//! command waiting for it, fails every waiting command when the browser goes
//! away, and keeps every event in an append-only log, so that a wait never
//! misses an event that arrived before it started. What differs between the
//! protocols — how an answer, an error and an event are spelled — is the
//! `read` function each one passes to [`Connection::connect`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::util::Background;

/// One event the browser sent: the session it came from (the DevTools
/// protocol's flat sessions; `None` for the browser itself, and always with
/// BiDi), its method and its parameters.
#[derive(Debug, Clone)]
pub struct Event {
    pub session: Option<String>,
    pub method: String,
    pub params: Value,
}

/// A command the browser refused: its error code, where the protocol has
/// one (BiDi's `unknown command`, `no such frame`...), and its message.
#[derive(Debug)]
pub struct Refusal {
    pub code: String,
    pub message: String,
}

/// What one message from the browser is, in a protocol's own spelling.
pub enum Incoming {
    Answer {
        id: u64,
        reply: std::result::Result<Value, Refusal>,
    },
    Event(Event),
    /// Neither (or nothing anyone waits for).
    Other,
}

type Waiters = Mutex<HashMap<u64, oneshot::Sender<std::result::Result<Value, Refusal>>>>;

#[derive(Default)]
struct Shared {
    waiting: Waiters,
    events: Mutex<Vec<Event>>,
}

pub struct Connection {
    /// The protocol's name, for error messages.
    protocol: &'static str,
    shared: Arc<Shared>,
    outgoing: mpsc::UnboundedSender<Message>,
    next_id: AtomicU64,
    /// The number of events logged so far.
    event_count: watch::Receiver<usize>,
    closed: watch::Receiver<bool>,
    /// The socket's writer and reader: they end with the connection.
    _tasks: [Background; 2],
}

impl Connection {
    /// Connects to the `protocol` endpoint at `url`; `read` says what each
    /// message from the browser is.
    pub async fn connect(
        url: &str,
        timeout: Duration,
        protocol: &'static str,
        read: fn(Value) -> Incoming,
    ) -> Result<Self> {
        let (socket, _) = tokio::time::timeout(timeout, tokio_tungstenite::connect_async(url))
            .await
            .map_err(|_| {
                anyhow!("timed out after {timeout:?} connecting to the {protocol} endpoint {url}")
            })?
            .with_context(|| format!("cannot connect to the {protocol} endpoint {url}"))?;
        let (mut sink, mut stream) = socket.split();
        let shared = Arc::new(Shared::default());
        let (outgoing, mut outgoing_rx) = mpsc::unbounded_channel::<Message>();
        let (count_tx, event_count) = watch::channel(0usize);
        let (closed_tx, closed) = watch::channel(false);

        let writer = Background::spawn(async move {
            while let Some(message) = outgoing_rx.recv().await {
                if sink.send(message).await.is_err() {
                    break;
                }
            }
        });
        let reader_shared = shared.clone();
        let reader = Background::spawn(async move {
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
                match read(value) {
                    Incoming::Answer { id, reply } => {
                        let waiter = reader_shared.waiting.lock().unwrap().remove(&id);
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(reply);
                        }
                    }
                    Incoming::Event(event) => {
                        let count = {
                            let mut events = reader_shared.events.lock().unwrap();
                            events.push(event);
                            events.len()
                        };
                        count_tx.send_replace(count);
                    }
                    Incoming::Other => {}
                }
            }
            // The browser went away: fail every command still waiting.
            reader_shared.waiting.lock().unwrap().clear();
            closed_tx.send_replace(true);
        });

        Ok(Self {
            protocol,
            shared,
            outgoing,
            next_id: AtomicU64::new(1),
            event_count,
            closed,
            _tasks: [writer, reader],
        })
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Sends `command` (an object with its `method`, `params` and whatever
    /// else the protocol wants) under a new `id`, and waits up to `timeout`
    /// for the answer: the result, or the browser's refusal. `Err` when
    /// there is no answer.
    pub async fn call(
        &self,
        method: &str,
        mut command: Value,
        timeout: Duration,
    ) -> Result<std::result::Result<Value, Refusal>> {
        let protocol = self.protocol;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        command["id"] = json!(id);
        let (tx, rx) = oneshot::channel();
        self.shared.waiting.lock().unwrap().insert(id, tx);
        if self.is_closed()
            || self
                .outgoing
                .send(Message::text(command.to_string()))
                .is_err()
        {
            self.shared.waiting.lock().unwrap().remove(&id);
            bail!("{method}: the browser's {protocol} connection is closed");
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => bail!(
                "{method}: the browser's {protocol} connection closed while waiting for the answer"
            ),
            Err(_) => {
                self.shared.waiting.lock().unwrap().remove(&id);
                bail!("{method}: no answer from the browser within {timeout:?}")
            }
        }
    }

    /// A position in the event log: pass it to [`Connection::wait_event`] to
    /// wait for an event that arrives after this moment (or arrived since).
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

    /// The events logged since `from` that `keep` accepts. Only those are
    /// copied: the log holds every network event of the session (request
    /// bodies included), and copying all of it takes long enough to show in
    /// a benchmark's figures.
    pub fn events_matching(&self, from: usize, keep: impl Fn(&Event) -> bool) -> Vec<Event> {
        let events = self.shared.events.lock().unwrap();
        events
            .get(from..)
            .into_iter()
            .flatten()
            .filter(|e| keep(e))
            .cloned()
            .collect()
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
        let protocol = self.protocol;
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
                bail!("the browser's {protocol} connection closed while waiting for {what}");
            }
            tokio::select! {
                changed = count.changed() => { if changed.is_err() { bail!("the browser's {protocol} connection closed while waiting for {what}"); } }
                _ = closed.changed() => {}
                _ = tokio::time::sleep_until(deadline) => bail!("timed out after {timeout:?} waiting for {what}"),
            }
        }
    }
}
