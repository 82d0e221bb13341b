//! A small HTTP proxy in front of the app's server. The browser only ever
//! talks to the proxy, so a checkpoint can make "the server" answer 503 to the
//! API, or refuse connections, without touching the app or the server; and
//! the chaos test can cut one browser off (a partition) or lose the answer
//! to a POST the server has already committed.
//!
//! Every request gets its own upstream connection (`Connection: close`), so a
//! mode change applies to the very next request. Every API request is
//! recorded with its body and the server's answer: the chaos test's history.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// A partition: connections are accepted and held, never forwarded, and
    /// closed unanswered when the mode changes, as a client cut off from the
    /// server sees them time out.
    Partitioned,
}

/// One API request the proxy saw, and what became of it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub outcome: Outcome,
    /// The request body (empty for a GET).
    pub body: String,
    /// The server's status, once it answered (`None`: not yet, or never).
    pub status: Option<u16>,
    /// When the proxy took the request.
    pub at: Instant,
    /// The same, and when the server's answer came, in milliseconds since
    /// 1970 (the server's clock too, on this machine): what the server
    /// stored in between, it stored while answering this request.
    pub taken_ms: f64,
    pub answered_ms: Option<f64>,
}

/// Now, in milliseconds since 1970.
pub fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded to the server; its answer, if any, went to the client.
    Passed,
    Answered503,
    /// Nobody answered: the server was down, or the proxy refused.
    ServerDown,
    /// Forwarded, and the server answered (see `status`), but the proxy
    /// closed the client's connection instead of passing the answer on
    /// ([`Proxy::lose_next_answer`]).
    AnswerLost,
    /// Held during a partition, then closed unanswered.
    Partitioned,
}

struct State {
    mode: Mode,
    api: Vec<Seen>,
    /// Lose the answer to the next API POST the server answers `2xx`.
    lose_next_answer: bool,
    /// Answers lost so far.
    answers_lost: usize,
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
                lose_next_answer: false,
                answers_lost: 0,
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

    /// From now on, the next API POST that the server answers with a `2xx`
    /// is not answered: the proxy closes the client's connection, so that
    /// the client retries what the server has committed. Undone by
    /// [`Proxy::keep_answers`], or once one answer was lost.
    pub fn lose_next_answer(&self) {
        self.state.lock().unwrap().lose_next_answer = true;
    }

    /// Passes every answer on again.
    pub fn keep_answers(&self) {
        self.state.lock().unwrap().lose_next_answer = false;
    }

    /// How many answers the proxy has lost so far.
    pub fn answers_lost(&self) -> usize {
        self.state.lock().unwrap().answers_lost
    }
}

/// A request's head, as the proxy read it, and when it was taken.
struct Head {
    request_line: String,
    method: String,
    path: String,
    headers: Vec<String>,
    /// What came after the head: the start of the body.
    rest: Vec<u8>,
    at: Instant,
    taken_ms: f64,
}

impl Head {
    async fn read(client: &mut TcpStream) -> Option<Self> {
        let Ok(Ok(Some((head, rest)))) =
            tokio::time::timeout(Duration::from_secs(60), read_head(client)).await
        else {
            return None;
        };
        let (at, taken_ms) = (Instant::now(), unix_ms());
        let text = String::from_utf8_lossy(&head).into_owned();
        let mut lines = text.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let headers = lines.filter(|l| !l.is_empty()).map(str::to_owned).collect();
        Some(Head {
            request_line,
            method,
            path,
            headers,
            rest,
            at,
            taken_ms,
        })
    }

    fn is_api(&self) -> bool {
        self.path.starts_with("/api/")
    }

    /// Records this API request; its index in the record.
    fn record(&self, state: &Mutex<State>, outcome: Outcome, body: &[u8]) -> usize {
        let mut state = state.lock().unwrap();
        state.api.push(Seen {
            method: self.method.clone(),
            path: self.path.clone(),
            outcome,
            body: String::from_utf8_lossy(body).into_owned(),
            status: None,
            at: self.at,
            taken_ms: self.taken_ms,
            answered_ms: None,
        });
        state.api.len() - 1
    }
}

async fn handle(mut client: TcpStream, upstream: u16, state: Arc<Mutex<State>>) {
    let Some(mut head) = Head::read(&mut client).await else {
        return;
    };
    let mode = state.lock().unwrap().mode;
    if mode == Mode::Partitioned {
        // Held, unanswered, until the partition ends; then closed.
        while state.lock().unwrap().mode == Mode::Partitioned {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if head.is_api() {
            let body = read_body(&mut client, &mut head).await;
            head.record(&state, Outcome::Partitioned, &body);
        }
        return;
    }
    if !head.is_api() {
        // The app's files: passed on as they come, unrecorded.
        let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
            return;
        };
        let start = std::mem::take(&mut head.rest);
        if forward(&mut server, &head, &start).await.is_ok() {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        }
        return;
    }
    // Read the body first, whatever comes next: closing on unread data would
    // reset the connection, and the browser would see a network error, not
    // the answer.
    let body = read_body(&mut client, &mut head).await;
    match mode {
        Mode::Refuse => {
            // A connection the browser opened before the port closed: drop
            // it unanswered, as a server that went away would.
            head.record(&state, Outcome::ServerDown, &body);
        }
        Mode::Api503 => {
            head.record(&state, Outcome::Answered503, &body);
            answer_503(&mut client).await;
        }
        Mode::Pass | Mode::Partitioned => {
            pass_api(&mut client, upstream, &state, &head, &body).await;
        }
    }
}

async fn answer_503(client: &mut TcpStream) {
    let body = r#"{"error":"service unavailable (the check's proxy says so)"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes()).await;
    let _ = client.shutdown().await;
}

/// An API request passed to the server, recorded with the server's answer,
/// which the client then gets, or not ([`Proxy::lose_next_answer`]).
async fn pass_api(
    client: &mut TcpStream,
    upstream: u16,
    state: &Mutex<State>,
    head: &Head,
    body: &[u8],
) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
        // Server down: the browser sees the connection close with no answer.
        head.record(state, Outcome::ServerDown, body);
        return;
    };
    // Recorded as it goes to the server: a check may wait for a POST to be
    // on its way before it kills the server.
    let index = head.record(state, Outcome::Passed, body);
    if forward(&mut server, head, body).await.is_err() {
        return;
    }
    // The whole answer (the server closes the connection after it).
    let mut answer = Vec::new();
    let _ = server.read_to_end(&mut answer).await;
    let status = status_of(&answer);
    let answered_ms = unix_ms();
    let lose = {
        let mut state = state.lock().unwrap();
        let lose = state.lose_next_answer
            && head.method == "POST"
            && status.is_some_and(|s| (200..300).contains(&s));
        if lose {
            state.lose_next_answer = false;
            state.answers_lost += 1;
        }
        let seen = &mut state.api[index];
        seen.status = status;
        seen.answered_ms = status.map(|_| answered_ms);
        if lose {
            seen.outcome = Outcome::AnswerLost;
        }
        lose
    };
    if !lose && !answer.is_empty() {
        let _ = client.write_all(&answer).await;
        let _ = client.shutdown().await;
    }
}

/// The request's body: what came after its head, read on up to its
/// `content-length`.
async fn read_body(client: &mut TcpStream, head: &mut Head) -> Vec<u8> {
    let length = head
        .headers
        .iter()
        .find_map(|h| {
            let (name, value) = h.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = std::mem::take(&mut head.rest);
    while body.len() < length {
        let mut buf = [0u8; 8192];
        match tokio::time::timeout(Duration::from_secs(10), client.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => body.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    body
}

/// Sends the request on to the server, on a connection of its own, with
/// `body` (or what of it has come so far).
async fn forward(server: &mut TcpStream, head: &Head, body: &[u8]) -> std::io::Result<()> {
    let mut forwarded = format!("{}\r\n", head.request_line);
    for header in &head.headers {
        let name = header.split(':').next().unwrap_or_default().trim();
        if !name.eq_ignore_ascii_case("connection") && !name.eq_ignore_ascii_case("keep-alive") {
            forwarded.push_str(header);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("connection: close\r\n\r\n");
    server.write_all(forwarded.as_bytes()).await?;
    server.write_all(body).await
}

/// The status of an HTTP answer (`HTTP/1.1 201 Created…`).
fn status_of(answer: &[u8]) -> Option<u16> {
    let line_end = answer.windows(2).position(|w| w == b"\r\n")?;
    let line = String::from_utf8_lossy(&answer[..line_end]);
    line.split(' ').nth(1)?.parse().ok()
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
        let statuses: Vec<Option<u16>> = proxy.api_requests().iter().map(|s| s.status).collect();
        assert_eq!(statuses, [Some(200), None, Some(200)]);
    }

    #[tokio::test]
    async fn a_partition_holds_requests_and_closes_them_unanswered() {
        let mut proxy = Proxy::start(crate::util::free_port().unwrap(), upstream().await)
            .await
            .unwrap();
        proxy.set_mode(Mode::Partitioned).await.unwrap();
        let held = tokio::spawn(http_request(
            proxy.port,
            "POST",
            "/api/v1/articles",
            Some("[1]"),
        ));
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!held.is_finished(), "answered during the partition");
        proxy.set_mode(Mode::Pass).await.unwrap();
        assert!(held.await.unwrap().is_err(), "closed without an answer");
        let seen = proxy.api_requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            (seen[0].outcome, seen[0].body.as_str()),
            (Outcome::Partitioned, "[1]")
        );
    }

    #[tokio::test]
    async fn a_lost_answer_reaches_the_server_and_not_the_client() {
        let proxy = Proxy::start(crate::util::free_port().unwrap(), upstream().await)
            .await
            .unwrap();
        proxy.lose_next_answer();
        // A GET is never the one.
        assert_eq!(
            http_get(proxy.port, "/api/v1/articles").await.unwrap().0,
            200
        );
        let lost = http_request(proxy.port, "POST", "/api/v1/articles", Some("[2]")).await;
        assert!(lost.is_err(), "{lost:?}");
        assert_eq!(proxy.answers_lost(), 1);
        // Only the next one.
        let kept = http_request(proxy.port, "POST", "/api/v1/articles", Some("[3]")).await;
        assert_eq!(kept.unwrap().0, 200);
        let seen: Vec<(Outcome, Option<u16>)> = proxy
            .api_requests()
            .iter()
            .map(|s| (s.outcome, s.status))
            .collect();
        assert_eq!(
            seen,
            [
                (Outcome::Passed, Some(200)),
                (Outcome::AnswerLost, Some(200)),
                (Outcome::Passed, Some(200)),
            ]
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
