//! A small Chrome DevTools Protocol client: one websocket to the browser
//! endpoint (see `rpc.rs`), flat sessions (`Target.attachToTarget {flatten:
//! true}` and a `sessionId` on each message) and a timeout chosen by each
//! caller.

use std::ops::Deref;
use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};

pub use crate::protocol::rpc::Event;
use crate::protocol::rpc::{Connection, Incoming, Refusal};

/// The connection, for its event log (`mark`, `events_since`,
/// `wait_event`), with commands sent the DevTools way.
pub struct Cdp(Connection);

impl Deref for Cdp {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl Cdp {
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        Connection::connect(url, timeout, "DevTools", read)
            .await
            .map(Self)
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
        let mut command = json!({ "method": method, "params": params });
        if let Some(session) = session {
            command["sessionId"] = json!(session);
        }
        match self.0.call(method, command, timeout).await? {
            Ok(result) => Ok(result),
            Err(refusal) => bail!("{method} failed: {}", refusal.message),
        }
    }
}

/// `{id, result}` or `{id, error: {code, message}}` answers a command;
/// `{method, params, sessionId?}` is an event.
fn read(message: Value) -> Incoming {
    if let Some(id) = message.get("id").and_then(Value::as_u64) {
        let reply = match message.get("error") {
            Some(error) => Err(Refusal {
                code: error["code"].to_string(),
                message: error
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| error.to_string()),
            }),
            None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
        };
        Incoming::Answer { id, reply }
    } else if let Some(method) = message.get("method").and_then(Value::as_str) {
        Incoming::Event(Event {
            session: message
                .get("sessionId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            method: method.to_owned(),
            params: message.get("params").cloned().unwrap_or(Value::Null),
        })
    } else {
        Incoming::Other
    }
}
