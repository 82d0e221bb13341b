//! A static web host for the built book on 127.0.0.1: what a reader's
//! browser meets when the book is put on any static host (GitHub Pages, a
//! department's server). Like those, it lets browsers keep every file for
//! an hour, so a stale copy of a page in the HTTP cache is a real risk here,
//! one the book's worker must not fall for. The test switches it to another
//! build, and stops it to take the book off the network.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::standins::proxy::read_head;
use crate::util::Background;

pub struct Host {
    port: u16,
    root: Arc<Mutex<PathBuf>>,
    task: Option<Background>,
}

impl Host {
    /// Serves `root` on a free port until stopped (or dropped).
    pub async fn start(root: &Path) -> Result<Host> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on 127.0.0.1 for the book")?;
        let port = listener.local_addr()?.port();
        let root = Arc::new(Mutex::new(root.to_owned()));
        let serving = Arc::clone(&root);
        let task = Background::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let root = serving.lock().unwrap().clone();
                tokio::spawn(answer(stream, root));
            }
        });
        Ok(Host {
            port,
            root,
            task: Some(task),
        })
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// From now on, serves the files of another build.
    pub fn switch_to(&self, root: &Path) {
        *self.root.lock().unwrap() = root.to_owned();
    }

    /// Stops listening: from now on, connections are refused, as when the
    /// network is gone.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.stop().await;
        }
    }
}

async fn answer(mut stream: TcpStream, root: PathBuf) {
    let Ok(Some((head, _))) = read_head(&mut stream).await else {
        return;
    };
    let head = String::from_utf8_lossy(&head);
    let mut words = head.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let file = (method == "GET").then(|| resolve(&root, path)).flatten();
    let (status, kind, body) = match file.and_then(|f| Some((std::fs::read(&f).ok()?, f))) {
        Some((body, file)) => ("200 OK", content_type(&file), body),
        None => ("404 Not Found", "text/plain", b"not found\n".to_vec()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\
         cache-control: max-age=3600\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// The file a URL path names under `root` (a directory is its
/// `index.html`); nothing outside it.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = Path::new(url_path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let mut file = root.join(relative);
    if file.is_dir() {
        file.push("index.html");
    }
    file.is_file().then_some(file)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
