//! The real server binary, over real sockets.
//!
//! - A POST answered 2xx is on disk: the server, killed with SIGKILL the
//!   moment it has answered, started again on the same database, still has
//!   every article it confirmed.
//! - Bad input gets a 4xx whose JSON `error` names the problem, nothing is
//!   stored, and the server stays healthy.
//!
//! The first is the promise the worker's outbox relies on: it deletes an article
//! once the server answered 2xx, so an answer given before the article is
//! durable would lose it for good. (`store.rs` says why `synchronous = FULL`.)

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The stage's server, as cargo built it for these tests: the binary is named
/// after the package, so this file reads the same in both stages.
const SERVER_BIN: &str = env!(concat!("CARGO_BIN_EXE_", env!("CARGO_PKG_NAME")));

/// The server binary of this stage, started on `db` and an empty site.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(db: &Path, site: &Path, log: &Path) -> Server {
        let port = free_port();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("the log file opens");
        let child = Command::new(SERVER_BIN)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--db")
            .arg(db)
            .arg("--site")
            .arg(site)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file clones"))
            .stderr(log)
            .spawn()
            .expect("the server binary starts");
        let mut server = Server { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = request(port, "GET", "/api/v1/articles", None) {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("the server exited ({status}) before answering");
            }
            assert!(
                Instant::now() < deadline,
                "the server did not answer within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no graceful shutdown, no chance to flush anything.
    fn kill(mut self) {
        self.child.kill().expect("the server can be killed");
        self.child.wait().expect("the killed server is reaped");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One HTTP/1.1 request on its own connection; the status and the body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    request_as(port, method, path, "application/json", body)
}

/// [`request`] with a content type of the caller's choosing.
fn request_as(
    port: u16,
    method: &str,
    path: &str,
    content_type: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: {content_type}\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no end of headers"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status"))?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

fn dechunk(mut data: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = data.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        data = rest[size..].trim_start_matches("\r\n");
    }
    out
}

fn id(n: usize) -> String {
    format!("d0000000-0000-4000-8000-{n:012}")
}

fn article(n: usize) -> String {
    format!(
        r#"{{"id":"{}","headline":"Durable {n}","byline":"The durability test"}}"#,
        id(n)
    )
}

/// The ids the server lists.
fn ids(server: &Server) -> Vec<String> {
    let (status, body) = request(server.port, "GET", "/api/v1/articles", None).expect("GET");
    assert_eq!(status, 200, "{body}");
    let list: Vec<serde_json::Value> = serde_json::from_str(&body).expect("a JSON list");
    list.iter()
        .filter_map(|a| a["id"].as_str().map(str::to_owned))
        .collect()
}

/// A temporary directory with an empty site, and where the database and the
/// log go.
struct Setup {
    _dir: tempfile::TempDir,
    site: PathBuf,
    db: PathBuf,
    log: PathBuf,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let site: PathBuf = dir.path().join("site");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("index.html"), "<!doctype html><title>t</title>").unwrap();
    Setup {
        db: dir.path().join("data").join("articles.sqlite3"),
        log: dir.path().join("server.log"),
        site,
        _dir: dir,
    }
}

#[test]
fn a_post_answered_2xx_survives_sigkill_right_after_the_answer() {
    let Setup {
        site,
        db,
        log,
        _dir,
    } = setup();

    let mut confirmed: Vec<String> = Vec::new();
    let mut next = 0;
    // Single articles, then a batch: each answer is followed at once by
    // SIGKILL, and the next server starts on the same file.
    for round in 0..8 {
        let server = Server::start(&db, &site, &log);
        let listed = ids(&server);
        for id in &confirmed {
            assert!(
                listed.contains(id),
                "round {round}: {id} was answered 2xx, then lost when the server was killed"
            );
        }
        let (body, batch): (String, Vec<usize>) = if round % 4 == 3 {
            let batch: Vec<usize> = (next..next + 5).collect();
            let body = batch.iter().map(|n| article(*n)).collect::<Vec<_>>();
            (format!("[{}]", body.join(",")), batch)
        } else {
            (article(next), vec![next])
        };
        next += batch.len();
        let (status, answer) = request(server.port, "POST", "/api/v1/articles", Some(&body))
            .expect("the POST is answered");
        assert_eq!(status, 201, "{answer}");
        server.kill();
        confirmed.extend(batch.into_iter().map(id));
    }

    let server = Server::start(&db, &site, &log);
    let listed = ids(&server);
    for id in &confirmed {
        assert_eq!(
            listed.iter().filter(|l| *l == id).count(),
            1,
            "{id} must be stored exactly once after the restarts"
        );
    }
    // Sending them all again stores nothing new: `200`, not `201`.
    let again = format!("[{}]", (0..next).map(article).collect::<Vec<_>>().join(","));
    let (status, answer) = request(server.port, "POST", "/api/v1/articles", Some(&again))
        .expect("the POST is answered");
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn bad_input_gets_a_4xx_naming_the_problem_and_nothing_is_stored() {
    let Setup {
        site,
        db,
        log,
        _dir,
    } = setup();
    let server = Server::start(&db, &site, &log);
    let before = ids(&server);
    let json = "application/json";
    let long = "x".repeat(201);
    let too_many = format!("[{}]", (0..101).map(article).collect::<Vec<_>>().join(","));
    let huge = "x".repeat(70 * 1024);
    let good_key =
        "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM";
    let cases: Vec<(&str, &str, &str, String, u16, &str)> = vec![
        (
            "POST",
            "/api/v1/articles",
            json,
            "{not json".into(),
            400,
            "body: not valid JSON",
        ),
        (
            "POST",
            "/api/v1/articles",
            "text/plain",
            article(1),
            415,
            "content-type:",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            huge,
            413,
            "body: larger than the 64 KiB limit",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            too_many,
            422,
            "at most 100",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            format!(r#"{{"id":"{}","byline":"b"}}"#, id(1)),
            422,
            "headline: is missing",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            format!(r#"{{"id":"{}","headline":"","byline":"b"}}"#, id(1)),
            422,
            "headline: must not be empty",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            format!(r#"{{"id":"{}","headline":"   ","byline":"b"}}"#, id(1)),
            422,
            "headline: must not be empty",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            format!(r#"{{"id":"{}","headline":"{long}","byline":"b"}}"#, id(1)),
            422,
            "headline: must be at most 200",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            format!(r#"{{"id":"{}","headline":"h","byline":"a\u0007b"}}"#, id(1)),
            422,
            "byline: must not contain control characters",
        ),
        (
            "POST",
            "/api/v1/articles",
            json,
            r#"{"id":"42","headline":"h","byline":"b"}"#.into(),
            422,
            "id: must be a UUID",
        ),
        (
            "GET",
            "/api/v1/nope",
            json,
            String::new(),
            404,
            "path: no route",
        ),
        (
            "DELETE",
            "/api/v1/articles",
            json,
            String::new(),
            405,
            "method:",
        ),
        (
            "POST",
            "/api/v1/push/subscriptions",
            json,
            r#"{"endpoint":"https://push.example.com/x","keys":{"p256dh":"AAAA","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}"#
                .to_owned(),
            422,
            "keys.p256dh:",
        ),
        (
            "POST",
            "/api/v1/push/subscriptions",
            json,
            format!(
                r#"{{"endpoint":"not a url","keys":{{"p256dh":"{good_key}","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}}"#
            ),
            422,
            "endpoint:",
        ),
        (
            "POST",
            "/api/v1/push/subscriptions",
            json,
            format!(
                r#"{{"endpoint":"https://10.0.0.1/push","keys":{{"p256dh":"{good_key}","auth":"AAAAAAAAAAAAAAAAAAAAAA"}}}}"#
            ),
            422,
            "endpoint:",
        ),
    ];
    for (method, path, content_type, body, expected, message) in cases {
        let shown = format!("{method} {path} {}", &body[..body.len().min(60)]);
        let (status, answer) = request_as(server.port, method, path, content_type, Some(&body))
            .unwrap_or_else(|e| panic!("{shown}: no answer: {e}"));
        assert_eq!(status, expected, "{shown}: {answer}");
        let error: serde_json::Value =
            serde_json::from_str(&answer).unwrap_or_else(|_| panic!("{shown}: not JSON: {answer}"));
        let text = error["error"].as_str().unwrap_or_default();
        assert!(
            text.contains(message),
            "{shown}: {text:?} lacks {message:?}"
        );
        assert_eq!(ids(&server), before, "{shown}: something was stored");
    }
    // Still healthy, and markup is stored as text, unchanged.
    let markup = format!(
        r#"{{"id":"{}","headline":"<script>alert(1)</script>","byline":"b"}}"#,
        id(9)
    );
    let (status, answer) = request(server.port, "POST", "/api/v1/articles", Some(&markup)).unwrap();
    assert_eq!(status, 201, "{answer}");
    assert!(answer.contains("<script>alert(1)</script>"), "{answer}");
}
