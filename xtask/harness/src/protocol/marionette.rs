//! A small Marionette client: Firefox's own remote protocol, older than
//! WebDriver BiDi, over a plain TCP socket.
//!
//! The harness needs it for two things BiDi cannot do in Firefox ESR 140:
//!
//! - Reach Firefox's own (privileged, "chrome") windows, such as the alert
//!   window a notification is shown in (BiDi's `moz:scope: "chrome"` came
//!   only in Firefox 148). `Marionette:SetContext {value: "chrome"}` then
//!   `WebDriver:ExecuteScript` runs a script there.
//! - Create the WebDriver session. Firefox allows one session at a time, and
//!   a BiDi `session.new` and a Marionette `WebDriver:NewSession` count
//!   alike: so, as geckodriver does, the session is made here with the
//!   capability `webSocketUrl: true`, and the BiDi client connects to the
//!   `webSocketUrl` it returns, which joins that session.
//!
//! The wire format: every message is `<length>:<json>`, the length in bytes
//! of the JSON, in decimal. On connecting, the server sends a hello
//! `{"applicationType": "gecko", "marionetteProtocol": 3}`; then a command is
//! `[0, id, "Name", params]` and its answer `[1, id, error, result]`, with
//! `error` null on success or `{error, message, stacktrace}`.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The protocol version this client speaks (the hello says which the
/// browser does).
const PROTOCOL: u64 = 3;

/// An error the browser answered a command with.
#[derive(Debug)]
pub struct MarionetteError {
    pub command: String,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for MarionetteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {}", self.command, self.code)?;
        if !self.message.is_empty() {
            write!(f, " ({})", self.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for MarionetteError {}

/// One connection to the browser's Marionette server. Commands go one at a
/// time (`&mut self`), which is how the server expects a client to behave.
pub struct Marionette {
    stream: TcpStream,
    /// Bytes read but not yet parsed: a message may arrive in pieces, and a
    /// read cut short by a timeout must not lose what it had.
    buffer: Vec<u8>,
    next_id: u64,
}

impl Marionette {
    /// Connects to the server on 127.0.0.1:`port` and reads its hello.
    pub async fn connect(port: u16, timeout: Duration) -> Result<Self> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(("127.0.0.1", port)))
            .await
            .map_err(|_| {
                anyhow!("timed out after {timeout:?} connecting to Marionette on port {port}")
            })?
            .with_context(|| format!("cannot connect to Marionette on port {port}"))?;
        let mut client = Self {
            stream,
            buffer: Vec::new(),
            next_id: 1,
        };
        let hello = tokio::time::timeout(timeout, client.read_message())
            .await
            .map_err(|_| anyhow!("Marionette sent no hello within {timeout:?}"))??;
        let version = hello["marionetteProtocol"].as_u64();
        if version != Some(PROTOCOL) {
            bail!(
                "Marionette speaks protocol {}, the harness {PROTOCOL} (hello: {hello})",
                version.map_or_else(|| "(none)".to_owned(), |v| v.to_string())
            );
        }
        Ok(client)
    }

    /// Sends `command` with `params` and waits for its answer's result.
    pub async fn call(&mut self, command: &str, params: Value, timeout: Duration) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!([0, id, command, params]).to_string();
        let frame = format!("{}:{body}", body.len());
        self.stream
            .write_all(frame.as_bytes())
            .await
            .with_context(|| format!("{command}: cannot write to the Marionette connection"))?;
        let answer = tokio::time::timeout(timeout, async {
            loop {
                let message = self.read_message().await?;
                // An answer to an earlier command that timed out comes late:
                // it is not this one's.
                if message[0] == 1 && message[1] == id {
                    return Ok::<Value, anyhow::Error>(message);
                }
            }
        })
        .await
        .map_err(|_| anyhow!("{command}: no answer from Marionette within {timeout:?}"))?
        .with_context(|| format!("{command}: reading Marionette's answer"))?;
        let error = &answer[2];
        if !error.is_null() {
            return Err(MarionetteError {
                command: command.to_owned(),
                code: error["error"].as_str().unwrap_or("error").to_owned(),
                message: error["message"].as_str().unwrap_or_default().to_owned(),
            }
            .into());
        }
        Ok(answer[3].clone())
    }

    /// The next whole message. Cancel-safe: what was read stays in the
    /// buffer for the next call.
    async fn read_message(&mut self) -> Result<Value> {
        loop {
            if let Some(message) = take_message(&mut self.buffer)? {
                return Ok(message);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .context("reading from Marionette")?;
            if n == 0 {
                bail!("Marionette closed the connection");
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Takes one `<length>:<json>` message off the front of `buffer`, if it
/// holds a whole one.
fn take_message(buffer: &mut Vec<u8>) -> Result<Option<Value>> {
    let Some(colon) = buffer.iter().position(|&b| b == b':') else {
        if buffer.len() > 20 || !buffer.iter().all(u8::is_ascii_digit) {
            bail!(
                "Marionette sent something that is not `<length>:<json>`: {:?}",
                String::from_utf8_lossy(&buffer[..buffer.len().min(80)])
            );
        }
        return Ok(None);
    };
    let length: usize = std::str::from_utf8(&buffer[..colon])
        .ok()
        .and_then(|s| s.parse().ok())
        .with_context(|| {
            format!(
                "Marionette sent a message without a length: {:?}",
                String::from_utf8_lossy(&buffer[..colon.min(80)])
            )
        })?;
    let end = colon + 1 + length;
    if buffer.len() < end {
        return Ok(None);
    }
    let message = serde_json::from_slice(&buffer[colon + 1..end])
        .context("Marionette sent a message that is not JSON")?;
    buffer.drain(..end);
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::take_message;
    use serde_json::json;

    #[test]
    fn messages_are_taken_whole_and_in_order() {
        let mut buffer = b"13:[1,1,null,{}]2".to_vec();
        assert_eq!(
            take_message(&mut buffer).unwrap(),
            Some(json!([1, 1, null, {}]))
        );
        // A length, then the rest still on its way.
        assert_eq!(take_message(&mut buffer).unwrap(), None);
        buffer.extend_from_slice(b"1:[1,2,null,{\"a\":\"\xc3\xa9\"}]");
        assert_eq!(
            take_message(&mut buffer).unwrap(),
            Some(json!([1, 2, null, {"a": "é"}]))
        );
        assert!(buffer.is_empty());
        assert!(take_message(&mut b"nonsense".to_vec()).is_err());
    }
}
