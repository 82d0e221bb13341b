//! A small HTTP proxy in front of the app's server. The browser only ever
//! talks to the proxy, so a checkpoint can make "the server" answer 503 to the
//! API, or refuse connections, without touching the app or the server.
//!
//! Every request gets its own upstream connection (`Connection: close`), so a
//! mode change applies to the very next request.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::util::Background;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Every request goes to the server.
    Pass,
    /// Requests under `/api/` get `503 Service Unavailable`; the rest pass.
    Api503,
    /// Nobody listens: connections are refused, as when the server is down.
    Refuse,
}

/// One API request the proxy saw, and what became of it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub outcome: Outcome,
    /// The request body, when the proxy read it (the requests it answered
    /// 503); empty otherwise.
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Answered503,
    /// Nobody answered: the server was down, or the proxy refused.
    ServerDown,
}

struct State {
    mode: Mode,
    api: Vec<Seen>,
}

pub struct Proxy {
    pub port: u16,
    upstream: u16,
    state: Arc<Mutex<State>>,
    accepting: Option<Background>,
}

impl Proxy {
    pub async fn start(port: u16, upstream: u16) -> Result<Self> {
        let mut proxy = Self {
            port,
            upstream,
            state: Arc::new(Mutex::new(State {
                mode: Mode::Pass,
                api: Vec::new(),
            })),
            accepting: None,
        };
        proxy.listen().await?;
        Ok(proxy)
    }

    pub fn origin(&self) -> String {
        Self::origin_at(self.port)
    }

    /// The origin of a proxy listening on `port`, before it is started.
    pub fn origin_at(port: u16) -> String {
        format!("http://127.0.0.1:{port}")
    }

    async fn listen(&mut self) -> Result<()> {
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .with_context(|| format!("the proxy cannot listen on 127.0.0.1:{}", self.port))?;
        let state = self.state.clone();
        let upstream = self.upstream;
        self.accepting = Some(Background::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(handle(client, upstream, state.clone()));
            }
        }));
        Ok(())
    }

    pub fn mode(&self) -> Mode {
        self.state.lock().unwrap().mode
    }

    pub async fn set_mode(&mut self, mode: Mode) -> Result<()> {
        let was = self.mode();
        self.state.lock().unwrap().mode = mode;
        if mode == Mode::Refuse && was != Mode::Refuse {
            // Dropping the listener closes the port: connections are refused.
            if let Some(task) = self.accepting.take() {
                task.stop().await;
            }
        } else if mode != Mode::Refuse && was == Mode::Refuse {
            self.listen().await?;
        }
        Ok(())
    }

    /// The API requests seen so far.
    pub fn api_requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().api.clone()
    }
}

async fn handle(mut client: TcpStream, upstream: u16, state: Arc<Mutex<State>>) {
    let Ok(Ok(Some((head, rest)))) =
        tokio::time::timeout(Duration::from_secs(60), read_head(&mut client)).await
    else {
        return;
    };
    let head_text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head_text.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let is_api = path.starts_with("/api/");
    let mode = state.lock().unwrap().mode;
    let record = |outcome, body: &[u8]| {
        if is_api {
            let body = String::from_utf8_lossy(body).into_owned();
            state.lock().unwrap().api.push(Seen {
                method: method.clone(),
                path: path.clone(),
                outcome,
                body,
            });
        }
    };

    if mode == Mode::Refuse {
        // A connection the browser opened before the port closed: drop it
        // unanswered, as a server that went away would.
        record(Outcome::ServerDown, &[]);
        return;
    }
    if mode == Mode::Api503 && is_api {
        // Read the body first: closing on unread data would reset the
        // connection and the browser would see a network error, not a 503.
        let length = headers
            .iter()
            .find_map(|h| {
                let (name, value) = h.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            })
            .unwrap_or(0);
        let mut body = rest;
        while body.len() < length {
            let mut buf = [0u8; 8192];
            match tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => body.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        record(Outcome::Answered503, &body);
        let body = r#"{"error":"service unavailable (the check's proxy says so)"}"#;
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = client.write_all(response.as_bytes()).await;
        let _ = client.shutdown().await;
        return;
    }

    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        // Server down: the browser sees the connection close with no answer.
        record(Outcome::ServerDown, &[]);
        return;
    };
    record(Outcome::Passed, &[]);
    let mut forwarded = format!("{request_line}\r\n");
    for header in &headers {
        let name = header.split(':').next().unwrap_or_default().trim();
        if !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive") {
            forwarded.push_str(header);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("connection: close\r\n\r\n");
    if server.write_all(forwarded.as_bytes()).await.is_err()
        || server.write_all(&rest).await.is_err()
    {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
}

/// Reads up to the end of an HTTP head; returns it and the bytes after it.
pub async fn read_head(stream: &mut TcpStream) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = data.split_off(end + 4);
            data.truncate(end);
            return Ok(Some((data, rest)));
        }
        if data.len() > 64 * 1024 {
            bail!("request head too large");
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        data.extend_from_slice(&buf[..n]);
    }
}

/// `GET path` on 127.0.0.1:`port`; the status and the body.
pub async fn http_get(port: u16, path: &str) -> Result<(u16, String)> {
    http_request(port, "GET", path, None).await
}

/// `method path` on 127.0.0.1:`port`, with a JSON body if one is given, on
/// a connection of its own; the status and the body of the answer (chunked
/// or not), within 10 s.
pub async fn http_request(
    port: u16,
    method: &str,
    path: &str,
    json: Option<&str>,
) -> Result<(u16, String)> {
    let fetch = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\naccept: application/json\r\nconnection: close\r\n"
        );
        match json {
            Some(body) => request.push_str(&format!(
                "content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )),
            None => request.push_str("\r\n"),
        }
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        anyhow::Ok(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(10), fetch)
        .await
        .with_context(|| format!("{method} {path}: no answer within 10 s"))?
        .with_context(|| format!("{method} {path} on 127.0.0.1:{port}"))?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the server's answer has no end of headers")?;
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the server's answer has no status")?;
    let mut body = response[end + 4..].to_vec();
    if head.lines().any(|l| {
        l.split_once(':').is_some_and(|(n, v)| {
            n.trim().eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")
        })
    }) {
        body = dechunk(&body)?;
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

pub(crate) fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("bad chunked body")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("bad chunk size")?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        anyhow::ensure!(data.len() >= size + 2, "truncated chunked body");
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An upstream that answers every request with 200 "hello".
    async fn upstream() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let _ = read_head(&mut stream).await;
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello")
                        .await;
                });
            }
        });
        port
    }

    #[tokio::test]
    async fn the_modes_do_what_they_say() {
        let mut proxy = Proxy::start(crate::util::free_port().unwrap(), upstream().await)
            .await
            .unwrap();
        assert_eq!(
            http_get(proxy.port, "/api/v1/articles").await.unwrap(),
            (200, "hello".into())
        );

        proxy.set_mode(Mode::Api503).await.unwrap();
        assert_eq!(
            http_get(proxy.port, "/api/v1/articles").await.unwrap().0,
            503
        );
        assert_eq!(
            http_get(proxy.port, "/index.html").await.unwrap(),
            (200, "hello".into())
        );

        proxy.set_mode(Mode::Refuse).await.unwrap();
        assert!(TcpStream::connect(("127.0.0.1", proxy.port)).await.is_err());

        proxy.set_mode(Mode::Pass).await.unwrap();
        assert_eq!(
            http_get(proxy.port, "/api/v1/articles").await.unwrap(),
            (200, "hello".into())
        );
        let outcomes: Vec<Outcome> = proxy.api_requests().iter().map(|s| s.outcome).collect();
        assert_eq!(
            outcomes,
            [Outcome::Passed, Outcome::Answered503, Outcome::Passed]
        );
    }

    #[test]
    fn dechunks() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
    }
}
