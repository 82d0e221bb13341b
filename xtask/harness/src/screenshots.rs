//! `cargo xtask screenshots`: the book's pictures of the real app, made by
//! driving the solution in headless Chromium through the lesson's story —
//! start, go offline, add an article, come back, see the list and the
//! notification, two windows updated by one sync.
//!
//! Each picture is written to `book/src/screenshots/<name>.png`, the names
//! the chapters use in `{{#screenshot NAME CAPTION}}`. Headless Chromium
//! draws no system notifications, and a screenshot shows one tab: the
//! `notification` and `two-pages` pictures are composed by the harness in a
//! blank tab from real screenshots and from what
//! `registration.getNotifications()` returned.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64ct::{Base64, Encoding};
use serde_json::Value;

use crate::app::{ARTICLE_ITEMS, CONNECTION_STATUS, FORM_STATUS, LIST, PUSH_TOGGLE, SYNC_TAG};
use crate::browsers::chromium::{self, Chromium};
use crate::browsers::{Browser, PageId, js_str};
use crate::checkpoints::page::add_article_by;
use crate::standins::proxy::{Mode, Proxy};
use crate::standins::server::Server;

const WIDTH: u32 = 900;
const HEIGHT: u32 = 700;
const WAIT: Duration = Duration::from_secs(15);

pub async fn run(site: &Path, server_bin: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let exe = chromium::find_or_install()?;
    let (_server, mut proxy) = Server::behind_proxy(server_bin, site).await?;
    let origin = proxy.origin();
    let url = format!("{origin}/");
    let mut b = Chromium::launch(exe, &origin)
        .await
        .context("starting Chromium")?;
    let mut shots = Shots { out, written: 0 };

    let tab = app_start(&mut b, &mut shots, &url).await?;
    let headline = "Local man's umbrella predicts rain, again";
    offline_and_queued(&mut b, &mut shots, tab, headline).await?;
    let updated = back_online(&mut b, &mut shots, tab, headline).await?;
    let canvas = notification(&mut b, &mut shots, tab, &updated).await?;
    two_pages(&mut b, &mut proxy, &mut shots, &url, tab, canvas).await?;

    println!(
        "wrote {} screenshots ({WIDTH}×{HEIGHT}) to {}",
        shots.written,
        out.canonicalize().as_deref().unwrap_or(out).display()
    );
    Ok(())
}

/// The app as it opens, controlled by its worker: `app-start`.
async fn app_start(b: &mut Chromium, shots: &mut Shots<'_>, url: &str) -> Result<PageId> {
    let tab = b.open_page(url).await?;
    b.wait_until(
        tab,
        "navigator.serviceWorker.getRegistration('/').then(r => !!(r && r.active))",
        "an active service worker",
        WAIT,
    )
    .await?;
    b.reload(tab).await?;
    b.wait_until(
        tab,
        "navigator.serviceWorker.controller !== null",
        "the page controlled by the worker",
        WAIT,
    )
    .await?;
    wait_text(b, tab, ARTICLE_ITEMS, "", "the list").await?;
    // Before the lesson the page has no push button (the starter keeps it
    // hidden): hide it for this one picture, so that it shows the starter.
    let toggle = format!("document.querySelector({})", js_str(PUSH_TOGGLE));
    b.eval(tab, &format!("{toggle}.hidden = true"), WAIT)
        .await?;
    shots.take(b, tab, "app-start").await?;
    b.eval(tab, &format!("{toggle}.hidden = false"), WAIT)
        .await?;
    Ok(tab)
}

/// Offline, the badge says so (`offline-badge`); an article added offline,
/// the worker keeps it (`queued-article`).
async fn offline_and_queued(
    b: &mut Chromium,
    shots: &mut Shots<'_>,
    tab: PageId,
    headline: &str,
) -> Result<()> {
    b.set_offline(true).await?;
    wait_text(b, tab, CONNECTION_STATUS, "Offline", "the offline badge").await?;
    shots.take(b, tab, "offline-badge").await?;
    add_article_by(b, tab, headline, "Ada Lovelace").await?;
    wait_text(b, tab, FORM_STATUS, "Queued", "the worker's answer").await?;
    wait_text(
        b,
        tab,
        &format!("{LIST} li[data-state=waiting]"),
        headline,
        "the article in the list, waiting",
    )
    .await?;
    shots.take(b, tab, "queued-article").await?;
    Ok(())
}

/// Back online: the browser fires the sync, the list updates and the
/// worker shows a notification (`updated-list`, returned as base64).
async fn back_online(
    b: &mut Chromium,
    shots: &mut Shots<'_>,
    tab: PageId,
    headline: &str,
) -> Result<String> {
    let mark = b.mark();
    b.set_offline(false).await?;
    wait_delivered(b, tab, headline).await?;
    wait_text(b, tab, FORM_STATUS, "Sent", "the status saying sent").await?;
    b.wait_service_event(mark, "notifications", "Notification displayed", WAIT)
        .await?;
    scroll_to(b, tab, headline).await?;
    shots.take(b, tab, "updated-list").await
}

/// The notification, drawn over the page (`updated`, base64) from what the
/// browser holds, in a blank tab of its own (`notification`); that tab.
async fn notification(
    b: &mut Chromium,
    shots: &mut Shots<'_>,
    tab: PageId,
    updated: &str,
) -> Result<PageId> {
    let shown = b
        .eval(
            tab,
            "(async () => { const r = await navigator.serviceWorker.ready;
               return (await r.getNotifications()).map(n => ({title: n.title, body: n.body, icon: n.icon})); })()",
            WAIT,
        )
        .await?;
    let Some(notification) = shown.as_array().and_then(|a| a.last()).cloned() else {
        bail!("the browser reported a notification, but getNotifications() returned none");
    };
    // The icon as a data: URL: the blank tab is another origin.
    let icon = b
        .eval(
            tab,
            &format!(
                "fetch({}).then(r => r.blob()).then(b => new Promise(ok => {{
                   const f = new FileReader(); f.onload = () => ok(f.result); f.readAsDataURL(b); }}))",
                js_str(notification["icon"].as_str().unwrap_or("/icon.svg"))
            ),
            WAIT,
        )
        .await?;
    let canvas = b.open_page("about:blank").await?;
    compose(
        b,
        canvas,
        &notification_html(updated, &notification, icon.as_str().unwrap_or_default()),
    )
    .await?;
    shots.take(b, canvas, "notification").await?;
    Ok(canvas)
}

/// Two windows, one sync: the server answers 503 while the article is
/// added, then comes back and a sync delivers it to both lists
/// (`two-pages`, drawn side by side on `canvas`).
async fn two_pages(
    b: &mut Chromium,
    proxy: &mut Proxy,
    shots: &mut Shots<'_>,
    url: &str,
    tab: PageId,
    canvas: PageId,
) -> Result<()> {
    let second = b.open_page(url).await?;
    wait_text(
        b,
        second,
        ARTICLE_ITEMS,
        "",
        "the list in the second window",
    )
    .await?;
    proxy.set_mode(Mode::Api503).await?;
    let headline = "Cat elected mayor; promises more naps";
    add_article_by(b, tab, headline, "Grace Hopper").await?;
    wait_text(b, tab, FORM_STATUS, "Queued", "the worker's answer").await?;
    proxy.set_mode(Mode::Pass).await?;
    b.fire_sync(SYNC_TAG, false).await?;
    let mut halves = Vec::new();
    for page in [tab, second] {
        wait_delivered(b, page, headline).await?;
        // Narrow the window first, then bring the article into view.
        b.screenshot(page, WIDTH / 2 - 12, HEIGHT - 40).await?;
        scroll_to(b, page, headline).await?;
        b.eval(page, "document.activeElement?.blur(), true", WAIT)
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        halves.push(Base64::encode_string(
            &b.screenshot(page, WIDTH / 2 - 12, HEIGHT - 40).await?,
        ));
    }
    compose(b, canvas, &two_pages_html(&halves[0], &halves[1])).await?;
    shots.take(b, canvas, "two-pages").await?;
    Ok(())
}

struct Shots<'a> {
    out: &'a Path,
    written: usize,
}

impl Shots<'_> {
    /// Writes the tab's picture as `<name>.png`; returns it as base64.
    async fn take<B: Browser>(&mut self, b: &mut B, tab: PageId, name: &str) -> Result<String> {
        // No focus ring on the input the form left focused; let the last
        // change paint (and any transition settle).
        b.eval(tab, "document.activeElement?.blur(), true", WAIT)
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = b.screenshot(tab, WIDTH, HEIGHT).await?;
        let path = self.out.join(format!("{name}.png"));
        std::fs::write(&path, &png).with_context(|| format!("cannot write {}", path.display()))?;
        println!("  {name}.png ({} KB)", png.len().div_ceil(1024));
        self.written += 1;
        Ok(Base64::encode_string(&png))
    }
}

/// Waits until the first element matching `selector` exists and its text
/// contains `text`.
async fn wait_text<B: Browser>(
    b: &mut B,
    tab: PageId,
    selector: &str,
    text: &str,
    what: &str,
) -> Result<()> {
    let js = format!(
        "(() => {{ const el = document.querySelector({}); return !!el && el.textContent.includes({}); }})()",
        js_str(selector),
        js_str(text)
    );
    b.wait_until(tab, &js, what, WAIT).await.map(drop)
}

/// Waits until the list shows `headline` as an ordinary item: delivered,
/// no longer marked as waiting in the outbox.
async fn wait_delivered<B: Browser>(b: &mut B, tab: PageId, headline: &str) -> Result<()> {
    let js = format!(
        "(() => {{ const items = Array.from(document.querySelectorAll({}))
                     .filter(li => li.textContent.includes({}));
                   return items.length === 1 && !items[0].hasAttribute('data-state'); }})()",
        js_str(&format!("{LIST} li")),
        js_str(headline)
    );
    b.wait_until(tab, &js, "the synced article", WAIT)
        .await
        .map(drop)
}

/// Scrolls the list item with `headline` into the middle of the view.
async fn scroll_to<B: Browser>(b: &mut B, tab: PageId, headline: &str) -> Result<()> {
    let js = format!(
        "(() => {{ const li = Array.from(document.querySelectorAll({})).find(li => li.textContent.includes({}));
           if (li) li.scrollIntoView({{block: 'center'}}); return !!li; }})()",
        js_str(LIST),
        js_str(headline)
    );
    b.eval(tab, &js, WAIT).await.map(drop)
}

/// Replaces the blank tab's document with `html`, and waits for its images.
async fn compose<B: Browser>(b: &mut B, tab: PageId, html: &str) -> Result<()> {
    let js = format!(
        "(async () => {{ document.documentElement.innerHTML = {};
           await Promise.all(Array.from(document.images).map(i => i.decode().catch(() => null)));
           return true; }})()",
        js_str(html)
    );
    b.eval(tab, &js, WAIT).await.map(drop)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The page after the sync, dimmed, with the notification as a desktop
/// would show it: the worker's title, body and icon.
fn notification_html(page_png: &str, notification: &Value, icon: &str) -> String {
    let title = escape(notification["title"].as_str().unwrap_or_default());
    let body = escape(notification["body"].as_str().unwrap_or_default()).replace('\n', "<br>");
    let icon = escape(icon);
    format!(
        r#"<head><style>
  body {{ margin: 0; font: 15px system-ui, sans-serif; }}
  .page {{ position: absolute; inset: 0; filter: brightness(0.93); }}
  .card {{ position: absolute; top: 18px; right: 18px; width: 360px; display: flex; gap: 12px;
           padding: 14px 16px; background: #fff; border-radius: 10px;
           box-shadow: 0 6px 24px rgba(0,0,0,.28); border: 1px solid #d0d4da; }}
  .card img {{ width: 40px; height: 40px; flex: none; }}
  .from {{ color: #5f6368; font-size: 12px; margin-bottom: 2px; }}
  .title {{ font-weight: 600; margin-bottom: 2px; }}
  .body {{ color: #3c4043; }}
</style></head>
<body><img class="page" src="data:image/png;base64,{page_png}" alt="">
<div class="card"><img src="{icon}" alt=""><div>
  <div class="from">Offline News · 127.0.0.1</div><div class="title">{title}</div><div class="body">{body}</div>
</div></div></body>"#
    )
}

/// Two windows side by side, each labelled.
fn two_pages_html(left: &str, right: &str) -> String {
    format!(
        r#"<head><style>
  body {{ margin: 0; padding: 8px; background: #c9ced6; font: 13px system-ui, sans-serif;
          display: flex; gap: 8px; }}
  figure {{ margin: 0; background: #fff; border-radius: 6px; overflow: hidden;
            box-shadow: 0 2px 8px rgba(0,0,0,.2); }}
  figcaption {{ padding: 6px 10px; background: #e8eaed; color: #202124; }}
  img {{ display: block; }}
</style></head>
<body>
<figure><figcaption>Window 1: added the article while the server was down</figcaption>
<img src="data:image/png;base64,{left}" alt=""></figure>
<figure><figcaption>Window 2: updated by the same sync</figcaption>
<img src="data:image/png;base64,{right}" alt=""></figure>
</body>"#
    )
}
