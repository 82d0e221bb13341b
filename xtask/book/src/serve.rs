//! `book serve`: the built book over HTTP on loopback, rebuilt when a source
//! changes, with open pages reloading themselves after each rebuild.
//!
//! A few threads and `std::net` are all it takes for one reader's browser; a
//! page learns of a rebuild by polling `/__book/build`, a line of script added
//! to every HTML page served (never to the built files).

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::paths::Paths;
use crate::render;

const RELOAD_SCRIPT: &str = r#"<script>
(function () {
  let seen = null;
  setInterval(function () {
    fetch('/__book/build', { cache: 'no-store' })
      .then(function (r) { return r.text(); })
      .then(function (build) {
        if (seen !== null && build !== seen) { location.reload(); }
        seen = build;
      })
      .catch(function () {});
  }, 1000);
})();
</script>
"#;

pub fn run(paths: &Paths, host: IpAddr, port: u16, open: bool) -> anyhow::Result<()> {
    let dest = paths.default_dest();
    // A first build with problems is still served: the problems are printed,
    // and fixing them rebuilds.
    if let Err(error) = render::build_and_report(paths, &dest) {
        eprintln!("book: {error:#}");
        anyhow::ensure!(
            dest.join("index.html").is_file(),
            "there is no book to serve"
        );
    }
    let address = SocketAddr::new(host, port);
    let listener = TcpListener::bind(address)
        .with_context(|| format!("cannot listen on {address}; is another server using it?"))?;
    let url = format!("http://{address}/");
    println!("book: serving {url} (Ctrl-C stops)");
    if open {
        open_in_browser(&url);
    }

    let build = Arc::new(AtomicU64::new(1));
    {
        let (paths, dest, build) = (paths.clone(), dest.clone(), Arc::clone(&build));
        thread::spawn(move || watch(&paths, &dest, &build));
    }
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let (dest, build) = (dest.clone(), Arc::clone(&build));
        thread::spawn(move || {
            if let Err(error) = answer(stream, &dest, build.load(Ordering::SeqCst)) {
                eprintln!("book: {error:#}");
            }
        });
    }
    Ok(())
}

/// Polls the sources' modification times and rebuilds when one changes.
fn watch(paths: &Paths, dest: &Path, build: &AtomicU64) {
    let mut last = newest(&paths.watched());
    loop {
        thread::sleep(Duration::from_millis(700));
        let now = newest(&paths.watched());
        if now == last {
            continue;
        }
        last = now;
        eprintln!("book: a source changed; rebuilding");
        if let Err(error) = render::build_and_report(paths, dest) {
            eprintln!("book: {error:#}");
        }
        build.fetch_add(1, Ordering::SeqCst);
    }
}

/// The newest modification time under these directories, and how many files
/// there are (so that a deletion counts as a change too).
fn newest(dirs: &[PathBuf]) -> (Option<SystemTime>, usize) {
    let mut newest = None;
    let mut count = 0;
    let mut pending = dirs.to_vec();
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                count += 1;
                newest = newest.max(meta.modified().ok());
            }
        }
    }
    (newest, count)
}

fn answer(mut stream: TcpStream, root: &Path, build: u64) -> anyhow::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request_line = String::new();
    let mut reader = BufReader::new(&stream);
    reader.read_line(&mut request_line)?;
    // Read (and ignore) the headers, so the client sees a clean close.
    let mut header = String::new();
    while reader.read_line(&mut header)? > 2 {
        header.clear();
    }
    let mut words = request_line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or("/"));
    if method != "GET" && method != "HEAD" {
        return respond(&mut stream, 405, "text/plain", b"only GET\n", method);
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    if path == "/__book/build" {
        return respond(
            &mut stream,
            200,
            "text/plain",
            build.to_string().as_bytes(),
            method,
        );
    }
    let Some(file) = resolve(root, path) else {
        let page = fs::read(root.join("404.html")).unwrap_or_else(|_| b"not found\n".to_vec());
        return respond(&mut stream, 404, "text/html; charset=utf-8", &page, method);
    };
    let body = fs::read(&file)?;
    let kind = content_type(&file);
    if kind.starts_with("text/html") {
        let mut html = String::from_utf8_lossy(&body).into_owned();
        match html.rfind("</body>") {
            Some(at) => html.insert_str(at, RELOAD_SCRIPT),
            None => html.push_str(RELOAD_SCRIPT),
        }
        respond(&mut stream, 200, kind, html.as_bytes(), method)
    } else {
        respond(&mut stream, 200, kind, &body, method)
    }
}

/// The file a URL path names under `root`, if it exists; `..` is refused.
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
        "jpg" | "jpeg" => "image/jpeg",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "txt" | "rs" | "toml" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    kind: &str,
    body: &[u8],
    method: &str,
) -> anyhow::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Method Not Allowed",
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        stream.write_all(body)?;
    }
    stream.flush()?;
    Ok(())
}

/// Opens a file or URL with the desktop's default handler. Failing to is not
/// an error: the address has been printed anyway.
pub fn open_in_browser(target: &str) {
    let mut command = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut start = Command::new("cmd");
        start.args(["/C", "start", ""]);
        start
    } else {
        Command::new("xdg-open")
    };
    if let Err(error) = command.arg(target).spawn() {
        eprintln!("could not open a browser ({error}); open {target} yourself");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_outside_the_book_are_refused() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        assert_eq!(resolve(root, "/Cargo.toml"), Some(root.join("Cargo.toml")));
        assert_eq!(
            resolve(root, "/src"),
            None,
            "a directory without index.html"
        );
        assert_eq!(resolve(root, "/../book/Cargo.toml"), None);
        assert_eq!(resolve(root, "/nope.html"), None);
    }
}
