//! What the demo's steps share: the browser, the app behind the harness's
//! proxy, the tabs, where the pictures go, and the waits and reads the
//! steps are written with.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use base64ct::{Base64, Encoding};
use serde_json::Value;

use crate::app::{ARTICLE_ITEMS, DB_NAME, FORM_STATUS, LIST, OUTBOX_STORE};
use crate::browsers::{Browser, PageId, js_str};
use crate::screenshots::{compose, two_pages_html};
use crate::standins::autopush::Autopush;
use crate::standins::proxy::Proxy;
use crate::standins::server::Server;

/// How long a page, the worker or the server may take to show a step.
pub const WAIT: Duration = Duration::from_secs(20);
/// The pictures' size: the app's page, as the book's other screenshots.
const PICTURE: (u32, u32) = (900, 640);

/// What the steps share: the browser, the app behind the harness's proxy,
/// the browser's push service where the harness plays it (Firefox), the
/// app's tabs, and where the pictures go.
pub struct Demo<B: Browser> {
    pub b: B,
    pub server: Server,
    pub proxy: Proxy,
    pub autopush: Option<Autopush>,
    pub tabs: Vec<PageId>,
    pictures: Option<PathBuf>,
    /// Every headline the demo added, in order.
    pub added: Vec<String>,
    /// Those added offline in step 2, for step 3 to see delivered.
    pub waiting: Vec<String>,
}

/// A line saying what a step showed.
pub fn shown(what: &str) {
    println!("   ✓ {what}");
}

/// A line saying what the instructor rehearses in a real browser.
pub fn rehearse(what: &str) {
    println!("   rehearse: {what}");
}

impl<B: Browser> Demo<B> {
    pub fn new(
        b: B,
        server: Server,
        proxy: Proxy,
        autopush: Option<Autopush>,
        out: Option<&Path>,
    ) -> Result<Self> {
        if let Some(out) = out {
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
        }
        Ok(Demo {
            b,
            server,
            proxy,
            autopush,
            tabs: Vec::new(),
            pictures: out.map(Path::to_owned),
            added: Vec::new(),
            waiting: Vec::new(),
        })
    }

    fn url(&self) -> String {
        format!("{}/", self.proxy.origin())
    }

    /// A new tab on the app, controlled by its worker, showing the list
    /// and the outbox, with what the status line says recorded as it
    /// changes (some texts last a moment only).
    pub async fn open_app(&mut self) -> Result<PageId> {
        let url = self.url();
        let tab = self.b.open_page(&url).await?;
        let controlled = self
            .b
            .eval(tab, "navigator.serviceWorker.controller !== null", WAIT)
            .await?;
        if controlled != Value::Bool(true) {
            self.b
                .wait_until(
                    tab,
                    "navigator.serviceWorker.getRegistration('/').then(r => !!(r && r.active))",
                    "the app's worker to be active",
                    WAIT,
                )
                .await?;
            self.b.reload(tab).await?;
        }
        self.wait(
            tab,
            "navigator.serviceWorker.controller !== null",
            "the page controlled by the worker",
        )
        .await?;
        let listed = format!(
            "document.querySelectorAll({}).length > 0",
            js_str(ARTICLE_ITEMS)
        );
        self.wait(tab, &listed, "the list").await?;
        self.record(tab).await?;
        self.tabs.push(tab);
        Ok(tab)
    }

    /// Keeps every text the status line and the waiting items show, from
    /// now on, in `window.demoSeen`.
    pub async fn record(&mut self, tab: PageId) -> Result<()> {
        let js = format!(
            "(() => {{ window.demoSeen = [];
               const note = () => {{
                 const texts = [document.querySelector({status})?.textContent ?? ''];
                 for (const li of document.querySelectorAll({waiting})) {{ texts.push(li.textContent); }}
                 for (const t of texts) {{ if (t && !window.demoSeen.includes(t)) {{ window.demoSeen.push(t); }} }}
               }};
               new MutationObserver(note).observe(document.body, {{ subtree: true, childList: true, characterData: true, attributes: true }});
               return true; }})()",
            status = js_str(FORM_STATUS),
            waiting = js_str(&format!("{LIST} li[data-state]"))
        );
        self.b.eval(tab, &js, WAIT).await.map(drop)
    }

    /// Whether the page has shown a text containing `text` since it was
    /// recorded.
    pub async fn has_shown(&mut self, tab: PageId, text: &str) -> Result<bool> {
        let js = format!(
            "(window.demoSeen || []).some(t => t.includes({}))",
            js_str(text)
        );
        Ok(self.b.eval(tab, &js, WAIT).await? == Value::Bool(true))
    }

    pub async fn wait(&mut self, tab: PageId, condition: &str, what: &str) -> Result<()> {
        self.b
            .wait_until(tab, condition, what, WAIT)
            .await
            .map(drop)
    }

    /// Waits until the status line under the form says `text`.
    pub async fn wait_status(&mut self, tab: PageId, text: &str) -> Result<()> {
        let js = format!(
            "document.querySelector({})?.textContent.trim() === {}",
            js_str(FORM_STATUS),
            js_str(text)
        );
        self.wait(tab, &js, &format!("the status line to say \"{text}\""))
            .await
    }

    /// The list's headlines from the top, each with its state (`waiting`,
    /// or empty once delivered).
    pub async fn list(&mut self, tab: PageId) -> Result<Vec<(String, String)>> {
        let js = format!(
            "Array.from(document.querySelectorAll({}))
               .map(li => [li.querySelector('.headline')?.textContent ?? li.textContent, li.dataset.state ?? ''])",
            js_str(ARTICLE_ITEMS)
        );
        let items = self.b.eval(tab, &js, WAIT).await?;
        serde_json::from_value(items).context("the page's list")
    }

    /// Waits until `headline` is in the list as an ordinary, delivered item.
    pub async fn wait_delivered(&mut self, tab: PageId, headline: &str) -> Result<()> {
        let js = format!(
            "(() => {{ const items = Array.from(document.querySelectorAll({}))
                         .filter(li => li.textContent.includes({}));
                       return items.length === 1 && !items[0].hasAttribute('data-state'); }})()",
            js_str(&format!("{LIST} li")),
            js_str(headline)
        );
        self.wait(tab, &js, &format!("\"{headline}\" in the list, delivered"))
            .await
    }

    /// The headlines in the worker's outbox, read from IndexedDB by the page
    /// (Application → IndexedDB → offline-news → outbox).
    pub async fn outbox(&mut self, tab: PageId) -> Result<Vec<String>> {
        let js = format!(
            "new Promise((ok, no) => {{ const open = indexedDB.open({db});
               open.onerror = () => no(open.error);
               open.onsuccess = () => {{ const db = open.result;
                 if (!db.objectStoreNames.contains({store})) {{ db.close(); ok([]); return; }}
                 const all = db.transaction({store}).objectStore({store}).getAll();
                 all.onsuccess = () => {{ db.close(); ok(all.result.map(e => e.article.headline)); }};
                 all.onerror = () => no(all.error); }}; }})",
            db = js_str(DB_NAME),
            store = js_str(OUTBOX_STORE)
        );
        let headlines = self.b.eval(tab, &js, WAIT).await?;
        serde_json::from_value(headlines).context("the outbox's entries")
    }

    /// Waits for a notification titled `title` whose body names each of
    /// `headlines`.
    pub async fn wait_notification(
        &mut self,
        tab: PageId,
        title: &str,
        headlines: &[String],
    ) -> Result<()> {
        let js = format!(
            "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(shown =>
               shown.some(n => n.title === {} && {}.every(h => n.body.includes(h))))",
            js_str(title),
            serde_json::to_string(headlines)?
        );
        self.wait(tab, &js, &format!("a notification \"{title}\""))
            .await
    }

    /// Closes the notifications shown so far, so that the next one is seen
    /// on its own.
    pub async fn close_notifications(&mut self, tab: PageId) -> Result<()> {
        self.b
            .eval(
                tab,
                "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => { ns.forEach(n => n.close()); return true; })",
                WAIT,
            )
            .await
            .map(drop)
    }

    /// Each of `headlines` on the server: how many times.
    pub async fn on_server(&self, headlines: &[String]) -> Result<Vec<usize>> {
        let articles = self.server.articles().await?;
        Ok(headlines
            .iter()
            .map(|h| articles.iter().filter(|a| &a.headline == h).count())
            .collect())
    }

    /// A headline for the demo, named for its step, never used before.
    pub fn headline(&mut self, what: &str) -> String {
        let headline = format!("Demo {}: {what}", self.added.len() + 1);
        self.added.push(headline.clone());
        headline
    }

    /// The tab's picture, `demo-<name>.png`, where pictures are taken
    /// (Chromium: headless Firefox takes none).
    pub async fn picture(&mut self, tab: PageId, name: &str) -> Result<()> {
        let Some(out) = self.pictures.clone() else {
            return Ok(());
        };
        self.b
            .eval(tab, "document.activeElement?.blur(), true", WAIT)
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.b.screenshot(tab, PICTURE.0, PICTURE.1).await?;
        let file = out.join(format!("demo-{name}.png"));
        std::fs::write(&file, &png).with_context(|| format!("cannot write {}", file.display()))?;
        println!(
            "   picture: {} ({} KB)",
            file.display(),
            png.len().div_ceil(1024)
        );
        Ok(())
    }

    /// Half a picture's width of the tab, with `headline` in view, for
    /// [`Demo::compose_two`] (base64); none where no pictures are taken.
    pub async fn picture_half(&mut self, tab: PageId, headline: &str) -> Result<Option<String>> {
        if self.pictures.is_none() {
            return Ok(None);
        }
        let (width, height) = (PICTURE.0 / 2 - 12, PICTURE.1 - 40);
        // Narrow the window first, then bring the article into view.
        self.b.screenshot(tab, width, height).await?;
        let js = format!(
            "(() => {{ const li = Array.from(document.querySelectorAll({}))
                 .find(li => li.textContent.includes({}));
               if (li) li.scrollIntoView({{block: 'center'}}); document.activeElement?.blur(); return true; }})()",
            js_str(&format!("{LIST} li")),
            js_str(headline)
        );
        self.b.eval(tab, &js, WAIT).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.b.screenshot(tab, width, height).await?;
        Ok(Some(Base64::encode_string(&png)))
    }

    /// Two windows side by side, as one picture `demo-<name>.png`.
    pub async fn compose_two(&mut self, left: &str, right: &str, name: &str) -> Result<()> {
        let canvas = self.b.open_page("about:blank").await?;
        let html = two_pages_html(
            left,
            right,
            [
                "Window 1: the article added here, offline",
                "Window 2: updated by the same sync",
            ],
        );
        compose(&mut self.b, canvas, &html).await?;
        self.picture(canvas, name).await
    }
}

/// Fails with what was expected and what was seen.
fn expected(what: &str, seen: impl std::fmt::Debug) -> anyhow::Error {
    anyhow::anyhow!("expected {what}; seen: {seen:?}")
}

pub fn ensure_shown(ok: bool, what: &str, seen: impl std::fmt::Debug) -> Result<()> {
    if !ok {
        bail!(expected(what, seen));
    }
    Ok(())
}
