//! A small WebDriver BiDi client: one websocket to the browser's `/session`
//! endpoint, commands `{id, method, params}` answered by
//! `{type: "success", id, result}` or `{type: "error", id, error, message}`,
//! and events `{type: "event", method, params}` kept in an append-only log so
//! that a wait never misses an event that arrived before it started.
//!
//! The websocket, the answers and the event log are `rpc.rs`'s, as for the
//! DevTools client (`cdp.rs`): the two protocols differ in their envelopes,
//! in how an error reads, and in that BiDi has no sessions inside the
//! connection.

use std::ops::Deref;
use std::time::Duration;

use anyhow::Result;
use serde_json::{Map, Value, json};

use crate::protocol::rpc::{Connection, Event, Incoming, Refusal};

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

/// The connection, for its event log (`events_since`), with commands sent
/// the BiDi way.
pub struct Bidi(Connection);

impl Deref for Bidi {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

impl Bidi {
    /// Connects to `url` (the browser's `ws://host:port/session`).
    pub async fn connect(url: &str, timeout: Duration) -> Result<Self> {
        Connection::connect(url, timeout, "WebDriver BiDi", read)
            .await
            .map(Self)
    }

    /// Sends one command and waits for its result. An error the browser
    /// answered with is a [`BidiError`] (see [`is_unknown_command`]).
    pub async fn call(&self, method: &str, params: Value, timeout: Duration) -> Result<Value> {
        let command = json!({ "method": method, "params": params });
        match self.0.call(method, command, timeout).await? {
            Ok(result) => Ok(result),
            Err(Refusal { code, message }) => Err(BidiError {
                method: method.to_owned(),
                code,
                message,
            }
            .into()),
        }
    }
}

/// `{type: "event", method, params}` is an event; anything else with an id
/// answers a command: `{type: "success", result}` or `{type: "error",
/// error, message}`. (An error without an id — a message the browser could
/// not parse — has no one to go to.)
fn read(message: Value) -> Incoming {
    if message["type"] == "event" {
        return Incoming::Event(Event {
            session: None,
            method: message["method"].as_str().unwrap_or_default().to_owned(),
            params: message.get("params").cloned().unwrap_or(Value::Null),
        });
    }
    let Some(id) = message["id"].as_u64() else {
        return Incoming::Other;
    };
    let reply = if message["type"] == "error" {
        Err(Refusal {
            code: message["error"].as_str().unwrap_or("error").to_owned(),
            message: message["message"].as_str().unwrap_or_default().to_owned(),
        })
    } else {
        Ok(message.get("result").cloned().unwrap_or(Value::Null))
    };
    Incoming::Answer { id, reply }
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
