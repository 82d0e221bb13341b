//! The run's browsers and their tabs, the clients: two Chromium profiles and
//! one Firefox, each behind a proxy of its own (so that one can be cut off
//! while the others go on), each tab adding articles through the page's form
//! the way a user does.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::history::{Article, Shown};
use crate::app::{
    ARTICLE_ITEMS, BYLINE_INPUT, DB_NAME, DB_VERSION, FORM_STATUS, HEADLINE_INPUT, OUTBOX_STORE,
    SUBMIT, SYNC_TAG,
};
use crate::browsers::chromium::Chromium;
use crate::browsers::firefox::Firefox;
use crate::browsers::{Browser, PageId, js_str};
use crate::standins::proxy::Proxy;

pub const UI: Duration = Duration::from_secs(10);
/// How long an add may wait for the worker's answer.
const ANSWER: Duration = Duration::from_secs(15);

/// One browser, whichever it is: each call goes to the browser it is (the
/// [`Browser`] trait's async methods cannot be called through a `dyn`).
pub enum Driver {
    Chromium(Chromium),
    Firefox(Firefox),
}

macro_rules! each {
    ($driver:expr, $browser:ident => $call:expr) => {
        match $driver {
            Driver::Chromium($browser) => $call,
            Driver::Firefox($browser) => $call,
        }
    };
}

impl Driver {
    pub fn is_chromium(&self) -> bool {
        matches!(self, Driver::Chromium(_))
    }

    pub async fn open_page(&mut self, url: &str) -> Result<PageId> {
        each!(self, b => b.open_page(url).await)
    }

    pub async fn reload(&mut self, page: PageId) -> Result<()> {
        each!(self, b => b.reload(page).await)
    }

    pub async fn eval(&mut self, page: PageId, js: &str, timeout: Duration) -> Result<Value> {
        each!(self, b => b.eval(page, js, timeout).await)
    }

    pub async fn wait_until(
        &mut self,
        page: PageId,
        condition: &str,
        what: &str,
        timeout: Duration,
    ) -> Result<Value> {
        each!(self, b => b.wait_until(page, condition, what, timeout).await)
    }

    pub async fn fill(&mut self, page: PageId, selector: &str, text: &str) -> Result<()> {
        each!(self, b => b.fill(page, selector, text).await)
    }

    pub async fn click(&mut self, page: PageId, selector: &str) -> Result<()> {
        each!(self, b => b.click(page, selector).await)
    }

    pub async fn set_offline(&mut self, offline: bool) -> Result<()> {
        each!(self, b => b.set_offline(offline).await)
    }

    pub async fn stop_workers(&mut self) -> Result<()> {
        each!(self, b => b.stop_workers().await)
    }

    pub async fn fire_sync(&mut self, last_chance: bool) -> Result<()> {
        each!(self, b => b.fire_sync(SYNC_TAG, last_chance).await)
    }

    pub async fn restart(&mut self) -> Result<()> {
        each!(self, b => b.restart().await)
    }

    pub async fn kill_and_restart(&mut self) -> Result<()> {
        each!(self, b => b.kill_and_restart().await)
    }

    pub fn recent_logs(&self, lines: usize) -> Vec<String> {
        each!(self, b => b.recent_logs(lines))
    }

    /// Evaluates `js` in the running service worker (Chromium only: the
    /// DevTools protocol reaches a worker's realm, WebDriver BiDi in Firefox
    /// does not reach a service worker's).
    pub async fn eval_worker(&mut self, js: &str) -> Result<Value> {
        match self {
            Driver::Chromium(b) => b.eval_worker(js, UI).await,
            Driver::Firefox(_) => bail!("the harness cannot reach Firefox's service worker"),
        }
    }
}

/// A browser of the run, the proxy it reaches the server through, and its
/// tabs (one for each of its clients).
pub struct Machine {
    /// "chromium-a", "chromium-b", "firefox".
    pub name: String,
    pub driver: Driver,
    pub proxy: Proxy,
    pub tabs: Vec<PageId>,
}

impl Machine {
    pub fn url(&self) -> String {
        format!("{}/", self.proxy.origin())
    }

    /// Opens `count` tabs of the app, each controlled by its worker and
    /// showing the list.
    pub async fn open_tabs(&mut self, count: usize) -> Result<()> {
        self.tabs.clear();
        let url = self.url();
        for _ in 0..count {
            let tab = self.driver.open_page(&url).await?;
            self.tabs.push(tab);
        }
        for tab in self.tabs.clone() {
            let d = &mut self.driver;
            d.wait_until(
                tab,
                "navigator.serviceWorker.ready.then(r => !!r.active)",
                "an active service worker",
                Duration::from_secs(20),
            )
            .await?;
            let controlled = "navigator.serviceWorker.controller !== null";
            if d.eval(tab, controlled, UI).await? != Value::Bool(true) {
                d.reload(tab).await?;
            }
            d.wait_until(tab, controlled, "the tab controlled by the worker", UI)
                .await?;
            let listed = format!(
                "document.querySelectorAll({}).length >= 1",
                js_str(ARTICLE_ITEMS)
            );
            d.wait_until(tab, &listed, "the list", UI).await?;
        }
        Ok(())
    }

    /// Fills tab `tab`'s form with `headline` and submits it.
    pub async fn submit(&mut self, tab: usize, headline: &str, byline: &str) -> Result<()> {
        let page = self.tabs[tab];
        let d = &mut self.driver;
        d.eval(
            page,
            &format!(
                "(() => {{ document.querySelector({}).textContent = ''; return true; }})()",
                js_str(FORM_STATUS)
            ),
            UI,
        )
        .await?;
        d.fill(page, HEADLINE_INPUT, headline).await?;
        d.fill(page, BYLINE_INPUT, byline).await?;
        d.click(page, SUBMIT).await
    }

    /// Waits for the worker's answer in tab `tab`: whether it said the
    /// article `headline` is queued (or sent). The page's list showing it
    /// says so too (the page lists what it reads in the outbox, or the
    /// server's list): the status line may already tell of another
    /// article, refused meanwhile.
    pub async fn answer(&mut self, tab: usize, headline: &str) -> Result<bool> {
        let js = format!(
            "(() => {{ const t = document.querySelector({status}).textContent.trim();
               if (/^(Queued|Sent)/.test(t) || /^Not added/.test(t)) return t;
               const listed = Array.from(document.querySelectorAll({items}))
                 .some(li => (li.querySelector('.headline') || {{}}).textContent === {headline});
               return listed ? 'listed' : null; }})()",
            status = js_str(FORM_STATUS),
            items = js_str(ARTICLE_ITEMS),
            headline = js_str(headline),
        );
        let status = self
            .driver
            .wait_until(self.tabs[tab], &js, "the worker's answer", ANSWER)
            .await?;
        Ok(!status.as_str().unwrap_or_default().starts_with("Not added"))
    }

    /// Has the app send what waits in its outbox, the way it would by
    /// itself: Chromium fires the `sync` it registered; Firefox, which has
    /// no Background Sync, sends when a page says it is online.
    pub async fn nudge(&mut self) -> Result<()> {
        if self.driver.is_chromium() {
            self.driver.fire_sync(false).await
        } else {
            self.page_online(0).await
        }
    }

    /// Tab `tab` hears that the network is back (its `online` event): the
    /// page reloads the list and tells the worker to send what waits.
    pub async fn page_online(&mut self, tab: usize) -> Result<()> {
        self.driver
            .eval(
                self.tabs[tab],
                "(() => { window.dispatchEvent(new Event('online')); return true; })()",
                UI,
            )
            .await
            .map(drop)
    }

    /// Makes sure the worker runs: a fetch from a tab goes through it.
    pub async fn wake_worker(&mut self) -> Result<()> {
        self.driver
            .eval(
                self.tabs[0],
                "fetch('/manifest.webmanifest').then(r => r.status)",
                UI,
            )
            .await
            .map(drop)
    }

    /// The headlines in the worker's outbox, oldest first (read from the
    /// first tab, in the worker's own IndexedDB).
    pub async fn outbox(&mut self) -> Result<Vec<String>> {
        let js = format!(
            "(async () => {{
                const dbs = indexedDB.databases ? await indexedDB.databases() : [{{name: {db}}}];
                if (!dbs.some(d => d.name === {db})) return [];
                return await new Promise((resolve, reject) => {{
                    const open = indexedDB.open({db});
                    open.onerror = () => reject(String(open.error));
                    open.onsuccess = () => {{
                        const db = open.result;
                        if (!db.objectStoreNames.contains({store})) {{ db.close(); resolve([]); return; }}
                        const all = db.transaction({store}).objectStore({store}).getAll();
                        all.onerror = () => {{ db.close(); reject(String(all.error)); }};
                        all.onsuccess = () => {{
                            db.close();
                            resolve(all.result.map(e => e && e.article ? e.article.headline : JSON.stringify(e)));
                        }};
                    }};
                }});
            }})()",
            db = js_str(DB_NAME),
            store = js_str(OUTBOX_STORE),
        );
        let value = self.driver.eval(self.tabs[0], &js, UI).await?;
        Ok(value
            .as_array()
            .context("the outbox did not read as a list")?
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect())
    }

    /// Writes entries into the worker's outbox from the first tab, in the
    /// worker's own format (`src/idb.rs`), as an older version of the app
    /// would have left them: `(id, headline, queued_at)`, `queued_at` a
    /// JavaScript expression.
    pub async fn queue_directly(&mut self, entries: &[(String, String, String)]) -> Result<()> {
        let adds: String = entries
            .iter()
            .map(|(id, headline, at)| {
                format!(
                    "store.add({{ article: {{ id: {}, headline: {}, byline: 'Chaos' }}, queued_at: {at} }});",
                    js_str(id),
                    js_str(headline)
                )
            })
            .collect();
        let js = format!(
            "new Promise((resolve, reject) => {{
               const open = indexedDB.open({db}, {version});
               open.onerror = () => reject(String(open.error));
               open.onsuccess = () => {{
                 const db = open.result;
                 const tx = db.transaction({store}, 'readwrite');
                 const store = tx.objectStore({store});
                 {adds}
                 tx.oncomplete = () => {{ db.close(); resolve(true); }};
                 tx.onerror = () => reject(String(tx.error));
               }};
             }})",
            db = js_str(DB_NAME),
            version = DB_VERSION,
            store = js_str(OUTBOX_STORE),
        );
        self.driver.eval(self.tabs[0], &js, UI).await.map(drop)
    }

    /// What tab `tab`'s list shows, newest first.
    pub async fn shown(&mut self, tab: usize) -> Result<Vec<Shown>> {
        let js = format!(
            "Array.from(document.querySelectorAll({})).map(li => ({{
                id: li.dataset.id,
                headline: (li.querySelector('.headline') || {{}}).textContent || '',
                state: li.dataset.state || null,
            }}))",
            js_str(ARTICLE_ITEMS)
        );
        let value = self.driver.eval(self.tabs[tab], &js, UI).await?;
        serde_json::from_value(value).context("the page's list did not read as items")
    }
}

/// The articles a POST's JSON body carries (an object or an array), by id
/// and headline; none if it is not such a body.
pub fn posted_articles(body: &str) -> Vec<Article> {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let items = match value {
        Value::Array(items) => items,
        item @ Value::Object(_) => vec![item],
        _ => Vec::new(),
    };
    items
        .iter()
        .filter_map(|item| {
            Some(Article {
                id: item["id"].as_str()?.to_owned(),
                headline: item["headline"].as_str()?.to_owned(),
                created_ms: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posts_articles_are_read_from_its_body() {
        let one = r#"{"id":"a","headline":"A","byline":"b","queued_at":1}"#;
        let two = r#"[{"id":"a","headline":"A"},{"id":"b","headline":"B"}]"#;
        assert_eq!(posted_articles(one).len(), 1);
        let read = posted_articles(two);
        assert_eq!((read[1].id.as_str(), read[1].headline.as_str()), ("b", "B"));
        assert!(posted_articles("not json").is_empty());
        assert!(posted_articles("").is_empty());
    }
}
