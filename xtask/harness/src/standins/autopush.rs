//! Firefox's push service, played by the harness on 127.0.0.1, so that Web
//! Push runs the whole way in a real browser without the internet.
//!
//! Firefox's push service is a pref (`dom.push.serverURL`), and with
//! `dom.push.testing.allowInsecureServerURL` it may be a plain `ws://` URL
//! (see `browsers/firefox/`). Firefox keeps one websocket to it and speaks Mozilla's
//! "autopush" protocol over it, JSON text frames each with a `messageType`
//! (Firefox's `dom/push/PushServiceWebSocket.sys.mjs`):
//!
//! - `hello {uaid?, use_webpush: true}` → `hello {uaid, status: 200,
//!   use_webpush: true}`. Firefox sends its `uaid` only when it has
//!   subscriptions, and drops them all if the answer names another one.
//! - `register {channelID, key}` (the page's `applicationServerKey`,
//!   base64url *with* padding) → `register {channelID, status: 200,
//!   pushEndpoint}`: the endpoint becomes the page's `subscription.endpoint`.
//! - `unregister {channelID}` → `unregister {channelID, status: 200}`.
//! - A message without `messageType` (`{}`) is a ping; any message is a pong.
//! - The service sends `notification {channelID, version, data, headers}`,
//!   `data` the encrypted body as base64url and `headers.encoding` its
//!   `Content-Encoding`; Firefox decrypts it with the subscription's keys,
//!   fires the worker's `push` and answers `ack {updates: [{channelID,
//!   version, code}]}` — 100 delivered, 101 not decryptable, 102 not
//!   delivered — or `nack {version, code}` when the worker's handler threw
//!   (301) or its promise rejected (302).
//!
//! The endpoints it hands out are plain HTTP on a second port: there the
//! app's server POSTs its push (RFC 8030), and the service checks it the way
//! a push service does — TTL, `Content-Encoding: aes128gcm`, the VAPID header
//! against the key the page subscribed with (RFC 8292) — then passes the
//! body on unread: only the browser holds the keys to decrypt it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::standins::push_service::{
    Received, b64, check_vapid, delivery_headers, read_request, respond, unb64, uuid,
};
use crate::util::Background;

/// The websocket subprotocol Firefox asks its push service for.
const SUBPROTOCOL: &str = "push-notification";

/// What happened at the push service, in order, for the checks to wait on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// The browser connected and said `hello`.
    Hello,
    /// The browser subscribed: `pushManager.subscribe` reached the service.
    Register {
        channel: String,
        endpoint: String,
        /// The subscription's application server (VAPID) key; empty if none.
        key: Vec<u8>,
    },
    /// The browser ended a subscription (`subscription.unsubscribe()`).
    Unregister { channel: String },
    /// A push arrived at an endpoint, and what the service answered; a
    /// `201` was passed on to the browser as `version`.
    Push {
        channel: String,
        status: u16,
        version: String,
        /// Why it was refused, for a status other than 201.
        problem: String,
    },
    /// The browser's answer to the notification `version` (see the module
    /// comment for the codes).
    Ack { version: String, code: u64 },
}

#[derive(Default)]
struct State {
    uaid: String,
    /// The connected browser: where notifications go.
    browser: Option<mpsc::UnboundedSender<String>>,
    /// Notifications accepted while no browser was connected; a push
    /// service keeps them for the TTL and sends them after the next hello.
    pending: Vec<String>,
    /// The registered channels and the key each was subscribed with.
    channels: HashMap<String, Vec<u8>>,
    events: Vec<PushEvent>,
}

/// The push service; cheap to clone, stopped when the last clone is dropped.
#[derive(Clone)]
pub struct Autopush {
    inner: Arc<Inner>,
}

struct Inner {
    /// `ws://127.0.0.1:<port>/`, for `dom.push.serverURL`.
    server_url: String,
    state: Arc<Mutex<State>>,
    /// The two accept loops: they end with the last clone.
    _tasks: [Background; 2],
}

impl Autopush {
    pub async fn start() -> Result<Self> {
        let bind = || async {
            TcpListener::bind("127.0.0.1:0")
                .await
                .context("cannot start the local push service")
        };
        let (sockets, endpoints) = (bind().await?, bind().await?);
        let server_url = format!("ws://{}/", sockets.local_addr()?);
        let origin = format!("http://{}", endpoints.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let browsers = {
            let state = state.clone();
            let origin = origin.clone();
            Background::spawn(async move {
                while let Ok((stream, _)) = sockets.accept().await {
                    // A connection that breaks is the browser's to open
                    // again (it does, with a backoff).
                    tokio::spawn(browser(stream, state.clone(), origin.clone()));
                }
            })
        };
        let pushes = {
            let state = state.clone();
            let origin = origin.clone();
            Background::spawn(async move {
                while let Ok((stream, _)) = endpoints.accept().await {
                    tokio::spawn(push(stream, state.clone(), origin.clone()));
                }
            })
        };
        Ok(Self {
            inner: Arc::new(Inner {
                server_url,
                state,
                _tasks: [browsers, pushes],
            }),
        })
    }

    /// The URL for Firefox's `dom.push.serverURL`.
    pub fn server_url(&self) -> &str {
        &self.inner.server_url
    }

    /// How many events there were so far: a mark to wait from.
    pub fn mark(&self) -> usize {
        self.inner.state.lock().unwrap().events.len()
    }

    pub fn events_since(&self, mark: usize) -> Vec<PushEvent> {
        let state = self.inner.state.lock().unwrap();
        state.events.get(mark..).unwrap_or_default().to_vec()
    }

    /// The first event since `mark` that `wanted` picks, if one comes
    /// within `timeout`.
    pub async fn wait<T>(
        &self,
        mark: usize,
        timeout: Duration,
        wanted: impl Fn(&PushEvent) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(found) = self.events_since(mark).iter().find_map(&wanted) {
                return Some(found);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn record(state: &Mutex<State>, event: PushEvent) {
    state.lock().unwrap().events.push(event);
}

/// The websocket handshake's answer: Firefox asks for its subprotocol, and a
/// server that speaks it says so. (The `Result` is tungstenite's callback
/// signature, its large error type included; this one never fails.)
#[allow(clippy::result_large_err)]
fn agree(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let asked = request
        .headers()
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim() == SUBPROTOCOL));
    if asked {
        response.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static(SUBPROTOCOL),
        );
    }
    Ok(response)
}

/// One connection from the browser, until it closes.
async fn browser(stream: TcpStream, state: Arc<Mutex<State>>, origin: String) {
    let Ok(socket) = tokio_tungstenite::accept_hdr_async(stream, agree).await else {
        return;
    };
    let (mut sink, mut incoming) = socket.split();
    let (outgoing, mut queued) = mpsc::unbounded_channel::<String>();
    let writer = tokio::spawn(async move {
        while let Some(text) = queued.recv().await {
            if sink.send(Message::text(text)).await.is_err() {
                break;
            }
        }
    });
    while let Some(Ok(message)) = incoming.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        for reply in answer(&message, &state, &origin, &outgoing) {
            let _ = outgoing.send(reply.to_string());
        }
    }
    let mut state = state.lock().unwrap();
    if state
        .browser
        .as_ref()
        .is_some_and(|b| b.same_channel(&outgoing))
    {
        state.browser = None;
    }
    drop(state);
    writer.abort();
}

/// The service's replies to one message from the browser.
fn answer(
    message: &Value,
    state: &Mutex<State>,
    origin: &str,
    connection: &mpsc::UnboundedSender<String>,
) -> Vec<Value> {
    let channel = message["channelID"].as_str().unwrap_or_default().to_owned();
    match message["messageType"].as_str() {
        // A ping: any message answers it.
        None => vec![json!({})],
        Some("hello") => {
            let mut s = state.lock().unwrap();
            // The browser's own uaid when it has one: another would make it
            // drop every subscription it has.
            if let Some(uaid) = message["uaid"].as_str().filter(|u| !u.is_empty()) {
                s.uaid = uaid.to_owned();
            } else if s.uaid.is_empty() {
                s.uaid = uuid().unwrap_or_else(|_| "harness".into()).replace('-', "");
            }
            s.browser = Some(connection.clone());
            // Sent after the hello reply, which queues first.
            let pending = std::mem::take(&mut s.pending);
            let uaid = s.uaid.clone();
            s.events.push(PushEvent::Hello);
            drop(s);
            let mut replies = vec![json!({
                "messageType": "hello", "uaid": uaid, "status": 200,
                "use_webpush": true, "broadcasts": {},
            })];
            replies.extend(pending.iter().filter_map(|n| serde_json::from_str(n).ok()));
            replies
        }
        Some("register") => {
            // Firefox pads the key; it is the page's applicationServerKey.
            let key = message["key"]
                .as_str()
                .and_then(|k| unb64("key", k).ok())
                .unwrap_or_default();
            let endpoint = format!("{origin}/push/{channel}");
            let mut s = state.lock().unwrap();
            s.channels.insert(channel.clone(), key.clone());
            let uaid = s.uaid.clone();
            s.events.push(PushEvent::Register {
                channel: channel.clone(),
                endpoint: endpoint.clone(),
                key,
            });
            vec![json!({
                "messageType": "register", "channelID": channel, "status": 200,
                "pushEndpoint": endpoint, "uaid": uaid,
            })]
        }
        Some("unregister") => {
            let mut s = state.lock().unwrap();
            s.channels.remove(&channel);
            s.events.push(PushEvent::Unregister {
                channel: channel.clone(),
            });
            vec![json!({ "messageType": "unregister", "channelID": channel, "status": 200 })]
        }
        Some(kind @ ("ack" | "nack")) => {
            let code = |v: &Value| v["code"].as_u64().unwrap_or(0);
            let version = |v: &Value| v["version"].as_str().unwrap_or_default().to_owned();
            let answered: Vec<&Value> = if kind == "ack" {
                message["updates"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .collect()
            } else {
                vec![message]
            };
            for update in answered {
                record(
                    state,
                    PushEvent::Ack {
                        version: version(update),
                        code: code(update),
                    },
                );
            }
            Vec::new()
        }
        // `broadcast_subscribe` and the like: nothing the lesson uses.
        Some(_) => Vec::new(),
    }
}

/// One request at an endpoint: a push from the app's server.
async fn push(mut stream: TcpStream, state: Arc<Mutex<State>>, origin: String) {
    let Ok(Some(request)) = read_request(&mut stream, &mut Vec::new()).await else {
        return;
    };
    let channel = request
        .path
        .strip_prefix("/push/")
        .unwrap_or_default()
        .to_owned();
    let (status, version, problem) = match accept(&request, &channel, &state, &origin) {
        Ok(version) => (201, version, String::new()),
        Err((status, problem)) => (status, String::new(), problem),
    };
    record(
        &state,
        PushEvent::Push {
            channel,
            status,
            version,
            problem,
        },
    );
    let status = match status {
        201 => "201 Created",
        400 => "400 Bad Request",
        401 => "401 Unauthorized",
        404 => "404 Not Found",
        410 => "410 Gone",
        _ => "500 Internal Server Error",
    };
    let _ = respond(&mut stream, status).await;
}

/// Checks a push as a push service would and passes it to the browser; the
/// message's version, or the status and why it was refused.
fn accept(
    request: &Received,
    channel: &str,
    state: &Mutex<State>,
    origin: &str,
) -> Result<String, (u16, String)> {
    if request.method != "POST" || channel.is_empty() {
        return Err((404, format!("{} {}", request.method, request.path)));
    }
    let key = state.lock().unwrap().channels.get(channel).cloned();
    // An ended subscription: `410 Gone` tells the sender to forget it.
    let key = key.ok_or((410, "a subscription that was unsubscribed".to_owned()))?;
    // TTL, Urgency and Topic (RFC 8030): a real push service takes a push
    // without the last two, but our server must send them.
    delivery_headers(|name| request.header(name)).map_err(|why| (400, why))?;
    let encoding = request.header("content-encoding").unwrap_or_default();
    if encoding != "aes128gcm" {
        return Err((400, format!("Content-Encoding {encoding:?}, not aes128gcm")));
    }
    // A subscription made with an application server key takes only pushes
    // signed with it.
    if !key.is_empty() {
        check_vapid(request.header("authorization"), &key, origin).map_err(|why| (401, why))?;
    }
    let version = uuid().map_err(|e| (500, e.to_string()))?;
    let notification = json!({
        "messageType": "notification", "channelID": channel, "version": version,
        "data": b64(&request.body), "headers": { "encoding": encoding },
    })
    .to_string();
    let mut s = state.lock().unwrap();
    let sent = s
        .browser
        .as_ref()
        .is_some_and(|b| b.send(notification.clone()).is_ok());
    if !sent {
        s.pending.push(notification);
    }
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

    type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

    async fn next(ws: &mut Socket) -> Value {
        loop {
            if let Some(Ok(Message::Text(text))) = ws.next().await {
                return serde_json::from_str(text.as_str()).unwrap();
            }
        }
    }

    async fn say(ws: &mut Socket, message: Value) -> Value {
        ws.send(Message::text(message.to_string())).await.unwrap();
        next(ws).await
    }

    /// The status line of the answer to a push of `body` at `endpoint`.
    async fn post(endpoint: &str, body: &[u8]) -> String {
        let rest = endpoint.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = TcpStream::connect(host).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\nttl: 60\r\nurgency: normal\r\ntopic: t\r\ncontent-encoding: aes128gcm\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        answer.lines().next().unwrap_or_default().to_owned()
    }

    #[tokio::test]
    async fn speaks_the_service_side_of_firefoxs_protocol() {
        let service = Autopush::start().await.unwrap();
        let (mut ws, _) = tokio_tungstenite::connect_async(service.server_url())
            .await
            .unwrap();
        let hello = say(
            &mut ws,
            json!({"messageType": "hello", "use_webpush": true}),
        )
        .await;
        assert_eq!(hello["status"], 200);
        assert!(!hello["uaid"].as_str().unwrap().is_empty());
        assert_eq!(say(&mut ws, json!({})).await, json!({}));
        // Without a key, a push needs no VAPID header.
        let registered = say(
            &mut ws,
            json!({"messageType": "register", "channelID": "c1"}),
        )
        .await;
        assert_eq!(registered["status"], 200);
        let endpoint = registered["pushEndpoint"].as_str().unwrap().to_owned();

        assert!(post(&endpoint, b"sealed").await.contains("201"));
        let notification = next(&mut ws).await;
        assert_eq!(notification["messageType"], "notification");
        assert_eq!(notification["channelID"], "c1");
        assert_eq!(notification["data"], b64(b"sealed"));
        assert_eq!(notification["headers"]["encoding"], "aes128gcm");
        let version = notification["version"].clone();
        let ack = json!({"messageType": "ack", "updates": [{"channelID": "c1", "version": version, "code": 100}]});
        ws.send(Message::text(ack.to_string())).await.unwrap();
        let code = service
            .wait(0, Duration::from_secs(5), |e| match e {
                PushEvent::Ack { code, .. } => Some(*code),
                _ => None,
            })
            .await;
        assert_eq!(code, Some(100));

        let gone = say(
            &mut ws,
            json!({"messageType": "unregister", "channelID": "c1"}),
        )
        .await;
        assert_eq!(gone["status"], 200);
        assert!(post(&endpoint, b"sealed").await.contains("410"));
    }
}
