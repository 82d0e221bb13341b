//! `harness selftest`: the harness's own plumbing (launcher, DevTools client,
//! flat sessions to the worker, proxy modes, sync, notifications, restart on
//! the same profile) against a tiny built-in app, independent of the lesson's
//! app.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

use crate::browsers::chromium::Chromium;
use crate::browsers::{Browser, PageId, truthy};
use crate::standins::proxy::{Mode, Outcome, Proxy, read_head};
use crate::util::free_port;

const INDEX: &str =
    r#"<!doctype html><title>selftest</title><p id="ok">shell</p><script src="/page.js"></script>"#;
const PAGE: &str = r#"navigator.serviceWorker.register('/sw.js', {scope: '/'});"#;
const WORKER: &str = r#"
const SHELL = ['/', '/page.js'];
self.addEventListener('install', e => e.waitUntil(caches.open('s').then(c => c.addAll(SHELL)).then(() => self.skipWaiting())));
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => {
  if (e.request.method !== 'GET') return;
  e.respondWith(fetch(e.request).catch(() => caches.match(e.request)));
});
self.addEventListener('sync', e => e.waitUntil(
  fetch('/api/v1/articles', {method: 'POST', body: JSON.stringify({tag: e.tag})}).then(r => {
    if (!r.ok) throw new Error('status ' + r.status);
    return self.registration.showNotification('Added 1 new articles', {body: e.tag});
  })));
"#;

/// The tiny app: the shell, the worker, and an API that counts POSTs.
async fn serve(listener: TcpListener, posts: Arc<AtomicUsize>) {
    while let Ok((mut stream, _)) = listener.accept().await {
        let posts = posts.clone();
        tokio::spawn(async move {
            let Ok(Some((head, _))) = read_head(&mut stream).await else {
                return;
            };
            let head = String::from_utf8_lossy(&head).into_owned();
            let mut parts = head.split(' ');
            let method = parts.next().unwrap_or_default();
            let path = parts.next().unwrap_or_default();
            let (status, kind, body) = match (method, path) {
                ("GET", "/") => ("200 OK", "text/html", INDEX),
                ("GET", "/page.js") => ("200 OK", "text/javascript", PAGE),
                ("GET", "/sw.js") => ("200 OK", "text/javascript", WORKER),
                ("POST", "/api/v1/articles") => {
                    posts.fetch_add(1, Ordering::SeqCst);
                    ("201 Created", "application/json", "[]")
                }
                _ => ("404 Not Found", "text/plain", "not found"),
            };
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

fn step(started: Instant, what: &str) {
    println!("  ✓ {what} ({} ms)", started.elapsed().as_millis());
}

/// The harness against the tiny app, one step after the other; each step
/// says what it proved.
pub async fn run() -> Result<()> {
    let started = Instant::now();
    let exe = crate::browsers::chromium::find_or_install()?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let upstream = listener.local_addr()?.port();
    let posts = Arc::new(AtomicUsize::new(0));
    let server = tokio::spawn(serve(listener, posts.clone()));
    let proxy = Proxy::start(free_port()?, upstream).await?;
    let origin = proxy.origin();
    let b = Chromium::launch(exe, &origin).await?;
    step(started, "launched Chromium and granted permissions");
    let mut t = SelfTest {
        b,
        proxy,
        posts,
        origin,
        started,
    };

    let tab = t.worker_controls().await?;
    t.offline_reload(tab).await?;
    t.stopped_worker(tab).await?;
    t.sync_during_503().await?;
    t.sync_with_the_server_back(tab).await?;
    t.proxy_refuses().await?;
    t.browsers_own_sync(tab).await?;
    t.restart().await?;

    server.abort();
    // The built-in worker throws on a 503 on purpose (so the browser
    // retries); anything else uncaught is a surprise.
    let logs = t.b.recent_logs(50);
    if let Some(error) = logs
        .iter()
        .find(|l| l.contains("uncaught") && !l.contains("status 503"))
    {
        bail!("uncaught error: {error}");
    }
    println!(
        "selftest: all good in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The browser, the proxy in front of the tiny app, and how many POSTs the
/// app has counted.
struct SelfTest {
    b: Chromium,
    proxy: Proxy,
    posts: Arc<AtomicUsize>,
    origin: String,
    started: Instant,
}

impl SelfTest {
    async fn worker_controls(&mut self) -> Result<PageId> {
        let b = &mut self.b;
        let tab = b.open_page(&format!("{}/", self.origin)).await?;
        b.wait_until(
            tab,
            "navigator.serviceWorker.controller !== null",
            "a controller",
            Duration::from_secs(10),
        )
        .await?;
        step(self.started, "the worker controls the page");
        Ok(tab)
    }

    async fn offline_reload(&mut self, tab: PageId) -> Result<()> {
        let b = &mut self.b;
        b.set_offline(true).await?;
        b.reload(tab).await?;
        b.wait_until(
            tab,
            "!!document.querySelector('#ok')",
            "the shell offline",
            Duration::from_secs(5),
        )
        .await?;
        let online = b
            .eval(tab, "navigator.onLine", Duration::from_secs(5))
            .await?;
        ensure!(
            online == Value::Bool(false),
            "the page thinks it is online while emulated offline"
        );
        b.set_offline(false).await?;
        step(
            self.started,
            "offline reload served from the worker's cache",
        );
        Ok(())
    }

    async fn stopped_worker(&mut self, tab: PageId) -> Result<()> {
        let b = &mut self.b;
        b.stop_workers().await?;
        b.reload(tab).await?;
        b.wait_until(
            tab,
            "navigator.serviceWorker.controller !== null",
            "a controller",
            Duration::from_secs(10),
        )
        .await?;
        step(
            self.started,
            "stopped the worker; a reload started it again",
        );
        Ok(())
    }

    async fn sync_during_503(&mut self) -> Result<()> {
        let (b, proxy) = (&mut self.b, &mut self.proxy);
        proxy.set_mode(Mode::Api503).await?;
        let seen = proxy.api_requests().len();
        let mark = b.mark();
        b.fire_sync("selftest", false).await?;
        wait(
            || {
                proxy.api_requests()[seen..]
                    .iter()
                    .any(|s| s.outcome == Outcome::Answered503)
            },
            "a 503'd POST",
        )
        .await?;
        let done = b
            .wait_service_event(mark, "backgroundSync", "", Duration::from_secs(10))
            .await;
        println!("    background sync events: {:?}", b.service_events(mark));
        step(
            self.started,
            &format!(
                "a sync during 503 ({})",
                if done.is_ok() {
                    "observed"
                } else {
                    "not observed"
                }
            ),
        );
        Ok(())
    }

    async fn sync_with_the_server_back(&mut self, tab: PageId) -> Result<()> {
        let (b, posts) = (&mut self.b, &self.posts);
        self.proxy.set_mode(Mode::Pass).await?;
        let mark = b.mark();
        b.fire_sync("selftest", false).await?;
        wait(
            || posts.load(Ordering::SeqCst) >= 1,
            "the POST on the server",
        )
        .await?;
        b.wait_service_event(mark, "notifications", "", Duration::from_secs(10))
            .await?;
        let titles = b
            .eval(
                tab,
                "(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map(n => n.title))()",
                Duration::from_secs(5),
            )
            .await?;
        println!("    events: {:?}", b.service_events(mark));
        ensure!(
            titles.to_string().contains("Added 1"),
            "getNotifications() gave {titles}"
        );
        step(
            self.started,
            "a sync with the server back; notification shown and read",
        );
        Ok(())
    }

    async fn proxy_refuses(&mut self) -> Result<()> {
        let proxy = &mut self.proxy;
        proxy.set_mode(Mode::Refuse).await?;
        let refused = tokio::net::TcpStream::connect(("127.0.0.1", proxy.port))
            .await
            .is_err();
        ensure!(
            refused,
            "the proxy still accepts connections in Refuse mode"
        );
        proxy.set_mode(Mode::Pass).await?;
        step(self.started, "proxy refuses connections, then passes again");
        Ok(())
    }

    async fn browsers_own_sync(&mut self, tab: PageId) -> Result<()> {
        let (b, posts) = (&mut self.b, &self.posts);
        let before = posts.load(Ordering::SeqCst);
        b.set_offline(true).await?;
        b.eval(
            tab,
            "(async () => { await (await navigator.serviceWorker.ready).sync.register('natural'); return true; })()",
            Duration::from_secs(5),
        )
        .await?;
        tokio::task::yield_now().await;
        ensure!(
            posts.load(Ordering::SeqCst) == before,
            "a sync fired while offline"
        );
        let mark = b.mark();
        b.set_offline(false).await?;
        wait(
            || posts.load(Ordering::SeqCst) > before,
            "the browser's own sync after going online",
        )
        .await?;
        println!("    events: {:?}", b.service_events(mark));
        step(
            self.started,
            "back online, Chromium fired the registered sync by itself",
        );
        Ok(())
    }

    async fn restart(&mut self) -> Result<()> {
        let b = &mut self.b;
        b.restart().await?;
        let tab = b.open_page(&format!("{}/", self.origin)).await?;
        let controlled = b
            .eval(
                tab,
                "navigator.serviceWorker.controller !== null",
                Duration::from_secs(5),
            )
            .await?;
        ensure!(
            truthy(&controlled),
            "after a restart on the same profile, the worker no longer controls the page"
        );
        step(
            self.started,
            "restarted Chromium on the same profile; the worker is still there",
        );
        Ok(())
    }
}

async fn wait(mut condition: impl FnMut() -> bool, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !condition() {
        if Instant::now() >= deadline {
            bail!("timed out after 10 s waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
