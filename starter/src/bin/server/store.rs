//! The server's data — the articles and the push subscriptions — kept in an
//! embedded SQLite file so that a restart loses nothing.
//!
//! This is the bottom of the server: it knows the rows it stores and nothing
//! of HTTP or of Web Push. SQLite calls block, so the async code above calls
//! them through [`with_store`], which runs them on tokio's blocking pool,
//! never on the worker threads that serve requests.

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::shared::article::{Article, NewArticle};
use axum::body::Bytes;
use rusqlite::{Connection, params};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory for the database {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database lock was poisoned by a panic in another request")]
    Poisoned,
    #[error("cannot serialize the articles: {0}")]
    Json(#[from] serde_json::Error),
    #[error("database task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// Not a failure of the database: the request reuses an id for a
    /// different article, and nothing of it was stored.
    #[error(transparent)]
    IdReused(#[from] IdReused),
    /// The commit of a group of requests failed (see
    /// [`Store::insert_durably`]): every request of the group gets its text.
    #[error("cannot store the articles: {0}")]
    Group(String),
}

/// An id sent again with a different headline or byline. The id is the
/// idempotency key: the same id must always mean the same article, so a
/// reused one is refused (as payment APIs refuse a reused idempotency key
/// with other content) rather than silently dropping the new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdReused {
    /// Where in the request the article that reuses the id is.
    pub index: usize,
    pub id: String,
    /// `Some(i)` when the id first came at `[i]` of the same request;
    /// `None` when it was stored before.
    pub earlier: Option<usize>,
}

impl std::fmt::Display for IdReused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = &self.id;
        match self.earlier {
            Some(earlier) => write!(f, "{id} is also the id of [{earlier}] in this request"),
            None => write!(f, "{id} is already stored"),
        }?;
        write!(
            f,
            ", with a different headline or byline; a new article needs a new id"
        )
    }
}

impl std::error::Error for IdReused {}

/// A browser's push subscription, as stored (`push::subscription` checks one
/// before it gets here). The keys stay base64url (no padding), the form the
/// web-push crate reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub endpoint: String,
    /// The browser's public key for this subscription: the payload is
    /// encrypted to it (ECDH, RFC 8291).
    pub p256dh: String,
    /// A secret shared with the browser, mixed into the encryption key.
    pub auth: String,
}

/// The original lesson's front page, so a new database is not empty.
const SEED_ARTICLES: [(&str, &str, &str); 3] = [
    (
        "5a3b7c1e-8d2f-4e6a-9b0c-1d2e3f4a5b6c",
        "Local man discovers offline mode, refuses to reconnect",
        "Ima Reporter",
    ),
    (
        "6b4c8d2f-9e3a-4f7b-8c1d-2e3f4a5b6c7d",
        "Service worker caught caching things it was never asked to cache",
        "Sal T. Shaker",
    ),
    (
        "7c5d9e3a-af4b-4a8c-9d2e-3f4a5b6c7d8e",
        "Area browser fires sync event, nobody notices",
        "Justin Case",
    ),
];

/// What a POST's articles came to, once committed.
#[derive(Debug)]
pub struct Stored {
    /// The headlines of the articles that were new, in the order posted
    /// (those already stored with the same text are not among them).
    pub new_headlines: Vec<String>,
    /// The whole list right after the commit, as JSON.
    pub list_json: Bytes,
}

/// A request's articles waiting for the next group commit, and where its
/// outcome goes.
struct Waiting {
    articles: Vec<NewArticle>,
    answer: std::sync::mpsc::Sender<Result<Stored, StoreError>>,
}

pub struct Store {
    conn: Mutex<Connection>,
    /// Requests waiting for the connection; whoever takes it next commits
    /// them all (see [`Store::insert_durably`]).
    waiting: Mutex<Vec<Waiting>>,
    /// The list as `GET /api/v1/articles` sends it, serialized once per
    /// change: a news site is read far more often than it is written.
    /// Replaced only while `conn` is locked, so it never lags an insert.
    list_json: Mutex<Option<Bytes>>,
}

impl Store {
    /// Opens (or creates) the database at `path`, creating its directory, the
    /// schema and the seed articles as needed.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Self::setup(conn)
    }

    /// A private in-memory database, for tests.
    #[cfg(test)]
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Self, StoreError> {
        // WAL lets readers go on while a write commits. `synchronous = FULL`
        // makes SQLite fsync the WAL at every commit: when the server has
        // answered 2xx to a POST, the article is on the disk, and neither a
        // killed server nor a power cut can take it back. (`NORMAL` would
        // survive a killed process but may lose the last commits on power
        // loss; an answered POST is a promise we keep.) A batch is one
        // transaction, so a sync of 100 articles costs one fsync, not 100.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS articles (
                 seq        INTEGER PRIMARY KEY AUTOINCREMENT,
                 id         TEXT NOT NULL UNIQUE,
                 headline   TEXT NOT NULL,
                 byline     TEXT NOT NULL,
                 created_at TEXT NOT NULL
                            DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             );
             -- One row per browser subscription; the endpoint is unique to
             -- it, so a browser that subscribes again replaces its row.
             CREATE TABLE IF NOT EXISTS push_subscriptions (
                 endpoint   TEXT PRIMARY KEY,
                 p256dh     TEXT NOT NULL,
                 auth       TEXT NOT NULL,
                 created_at TEXT NOT NULL
                            DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
             );",
        )?;
        let store = Store {
            conn: Mutex::new(conn),
            waiting: Mutex::new(Vec::new()),
            list_json: Mutex::new(None),
        };
        let empty: bool =
            store
                .lock()?
                .query_row("SELECT NOT EXISTS (SELECT 1 FROM articles)", [], |row| {
                    row.get(0)
                })?;
        if empty {
            let seed = SEED_ARTICLES.map(|(id, headline, byline)| NewArticle {
                id: id.into(),
                headline: headline.into(),
                byline: byline.into(),
            });
            store.insert(&seed)?;
        }
        Ok(store)
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    fn waiting(&self) -> Result<MutexGuard<'_, Vec<Waiting>>, StoreError> {
        self.waiting.lock().map_err(|_| StoreError::Poisoned)
    }

    fn list_json(&self) -> Result<MutexGuard<'_, Option<Bytes>>, StoreError> {
        self.list_json.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The list as JSON if it is cached and current. It touches no database,
    /// so it may be called from async code, unlike everything else here.
    pub fn cached_articles_json(&self) -> Result<Option<Bytes>, StoreError> {
        Ok(self.list_json()?.clone())
    }

    /// Every article, oldest first, as JSON: from the cache when nothing was
    /// stored since the last time.
    pub fn articles_json(&self) -> Result<Bytes, StoreError> {
        if let Some(json) = self.cached_articles_json()? {
            return Ok(json);
        }
        // Both locks, in the order `insert` takes them: an insert cannot
        // slip in between reading the list and caching it.
        let conn = self.lock()?;
        self.articles_json_locked(&conn)
    }

    /// [`Store::articles_json`], the connection locked by the caller.
    fn articles_json_locked(&self, conn: &Connection) -> Result<Bytes, StoreError> {
        let mut cached = self.list_json()?;
        if let Some(json) = cached.as_ref() {
            return Ok(json.clone());
        }
        let json = Bytes::from(serde_json::to_vec(&list(conn)?)?);
        *cached = Some(json.clone());
        Ok(json)
    }

    /// Every article, oldest first.
    pub fn articles(&self) -> Result<Vec<Article>, StoreError> {
        let conn = self.lock()?;
        list(&conn)
    }

    /// Stores the articles in one transaction, in the order given. An id that
    /// is already stored with the same headline and byline is skipped: the id
    /// is the idempotency key that makes a retried sync harmless. An id that
    /// is stored (or comes earlier in `articles`) with a different headline
    /// or byline is [`StoreError::IdReused`], and nothing is stored. Returns
    /// how many were new.
    pub fn insert(&self, articles: &[NewArticle]) -> Result<usize, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let added = insert_rows(&tx, articles)?.len();
        tx.commit()?;
        if added > 0 {
            *self.list_json()? = None;
        }
        Ok(added)
    }

    /// [`Store::insert`] for a POST, committed together with the POSTs that
    /// arrive while another commit is on its way to the disk (group commit).
    ///
    /// With `synchronous = FULL` every commit waits for an fsync, about a
    /// millisecond here and far more on a slow disk: one per request would
    /// cap the server at a thousand POSTs a second however many cores it
    /// has. So a request queues its articles and takes the connection; if
    /// the writer before it already stored them, its answer is ready; if
    /// not, it writes every queued request in one transaction (each in a
    /// savepoint of its own, so a refused one stores nothing and holds up
    /// no other) and commits once. Every request still learns its outcome
    /// only after the commit that stored it: an answered POST is on disk.
    pub fn insert_durably(&self, articles: Vec<NewArticle>) -> Result<Stored, StoreError> {
        let (answer, outcome) = std::sync::mpsc::channel();
        self.waiting()?.push(Waiting { articles, answer });
        let mut conn = self.lock()?;
        if let Ok(stored) = outcome.try_recv() {
            // Committed by the writer before us, along with its own.
            return stored;
        }
        let group = std::mem::take(&mut *self.waiting()?);
        self.commit_group(&mut conn, group);
        drop(conn);
        outcome.recv().map_err(|_| StoreError::Poisoned)?
    }

    /// Writes every request of `group` in one transaction and answers each,
    /// after the commit, with its own outcome (or with the commit's error).
    fn commit_group(&self, conn: &mut Connection, group: Vec<Waiting>) {
        let mut outcomes = Vec::with_capacity(group.len());
        let committed = (|| {
            let mut tx = conn.transaction()?;
            for waiting in &group {
                let savepoint = tx.savepoint()?;
                match insert_rows(&savepoint, &waiting.articles) {
                    Ok(new) => {
                        savepoint.commit()?;
                        outcomes.push(Ok(new));
                    }
                    // Dropping the savepoint rolls back this request alone.
                    Err(error) => outcomes.push(Err(error)),
                }
            }
            tx.commit()?;
            Ok::<_, StoreError>(())
        })();
        let added_any = outcomes
            .iter()
            .any(|o| matches!(o, Ok(new) if !new.is_empty()));
        // The list right after the commit, serialized once for the group.
        let list_json = committed.and_then(|()| {
            if added_any {
                *self.list_json()? = None;
            }
            self.articles_json_locked(conn)
        });
        let list_json = match list_json {
            Ok(json) => json,
            Err(error) => {
                let error = error.to_string();
                for waiting in group {
                    let _ = waiting.answer.send(Err(StoreError::Group(error.clone())));
                }
                return;
            }
        };
        for (waiting, outcome) in group.into_iter().zip(outcomes) {
            let stored = outcome.map(|new| Stored {
                new_headlines: new,
                list_json: list_json.clone(),
            });
            // A request that gave up waiting (its client left) is fine.
            let _ = waiting.answer.send(stored);
        }
    }

    /// Stores a push subscription, or updates the keys of the one with the
    /// same endpoint. Returns whether it was new.
    pub fn save_subscription(&self, subscription: &Subscription) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let known: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM push_subscriptions WHERE endpoint = ?1)",
            [&subscription.endpoint],
            |row| row.get(0),
        )?;
        conn.prepare_cached(
            "INSERT INTO push_subscriptions (endpoint, p256dh, auth) VALUES (?1, ?2, ?3)
             ON CONFLICT (endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth",
        )?
        .execute(params![
            subscription.endpoint,
            subscription.p256dh,
            subscription.auth
        ])?;
        Ok(!known)
    }

    /// Forgets a push subscription. Returns whether there was one.
    pub fn delete_subscription(&self, endpoint: &str) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let deleted = conn
            .prepare_cached("DELETE FROM push_subscriptions WHERE endpoint = ?1")?
            .execute([endpoint])?;
        Ok(deleted > 0)
    }

    /// Every push subscription, oldest first.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let conn = self.lock()?;
        let mut select = conn.prepare_cached(
            "SELECT endpoint, p256dh, auth FROM push_subscriptions ORDER BY rowid",
        )?;
        let rows = select.query_map([], |row| {
            Ok(Subscription {
                endpoint: row.get(0)?,
                p256dh: row.get(1)?,
                auth: row.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Runs a blocking database call on tokio's blocking pool.
pub async fn with_store<T: Send + 'static>(
    store: &Arc<Store>,
    call: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || call(&store)).await?
}

/// Inserts `articles` in the transaction (or savepoint) `conn` is in, in
/// the order given, each id once (see [`Store::insert`]); the headlines of
/// those that were new. An [`IdReused`] leaves the rows it added for the
/// caller to roll back.
fn insert_rows(conn: &Connection, articles: &[NewArticle]) -> Result<Vec<String>, StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO articles (id, headline, byline) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO NOTHING",
    )?;
    let mut stored =
        conn.prepare_cached("SELECT seq, headline, byline FROM articles WHERE id = ?1")?;
    // Rows these articles added start after the last seq before them.
    let first_new_seq: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM articles",
        [],
        |row| row.get(0),
    )?;
    let mut new = Vec::new();
    for (index, article) in articles.iter().enumerate() {
        if insert.execute(params![article.id, article.headline, article.byline])? == 1 {
            new.push(article.headline.clone());
            continue;
        }
        let (seq, headline, byline): (i64, String, String) = stored
            .query_row([&article.id], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?;
        if headline != article.headline || byline != article.byline {
            let earlier = (seq >= first_new_seq)
                .then(|| articles.iter().position(|a| a.id == article.id))
                .flatten();
            return Err(IdReused {
                index,
                id: article.id.clone(),
                earlier,
            }
            .into());
        }
    }
    Ok(new)
}

fn list(conn: &Connection) -> Result<Vec<Article>, StoreError> {
    let mut select =
        conn.prepare_cached("SELECT id, headline, byline, created_at FROM articles ORDER BY seq")?;
    let rows = select.query_map([], |row| {
        Ok(Article {
            id: row.get(0)?,
            headline: row.get(1)?,
            byline: row.get(2)?,
            created_at: row.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn article(n: u32) -> NewArticle {
        NewArticle {
            id: format!("00000000-0000-4000-8000-{n:012}"),
            headline: format!("headline {n}"),
            byline: "b".into(),
        }
    }

    #[test]
    fn a_new_database_has_the_three_seed_articles() {
        let store = Store::in_memory().unwrap();
        let articles = store.articles().unwrap();
        assert_eq!(articles.len(), 3);
        assert!(articles[0].created_at.ends_with('Z'));
    }

    #[test]
    fn the_same_id_is_stored_once() {
        let store = Store::in_memory().unwrap();
        assert_eq!(store.insert(&[article(1), article(2)]).unwrap(), 2);
        assert_eq!(
            store.insert(&[article(2), article(3), article(3)]).unwrap(),
            1
        );
        let ids: Vec<_> = store
            .articles()
            .unwrap()
            .into_iter()
            .skip(3)
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, [article(1).id, article(2).id, article(3).id]);
    }

    #[test]
    fn an_id_reused_for_other_text_stores_nothing() {
        let store = Store::in_memory().unwrap();
        store.insert(&[article(1)]).unwrap();
        let reworded = |n| NewArticle {
            headline: "other".into(),
            ..article(n)
        };
        let error = store.insert(&[article(2), reworded(1)]).unwrap_err();
        assert!(
            matches!(&error, StoreError::IdReused(r) if *r == IdReused { index: 1, id: article(1).id, earlier: None }),
            "{error:?}"
        );
        let error = store
            .insert(&[article(3), article(4), reworded(4)])
            .unwrap_err();
        assert!(
            matches!(&error, StoreError::IdReused(r) if *r == IdReused { index: 2, id: article(4).id, earlier: Some(1) }),
            "{error:?}"
        );
        // Neither transaction left anything behind.
        assert_eq!(store.articles().unwrap().len(), 4);
        assert_eq!(store.insert(&[article(2), article(3)]).unwrap(), 2);
    }

    #[test]
    fn the_cached_list_follows_every_insert() {
        let store = Store::in_memory().unwrap();
        let before: Vec<Article> = serde_json::from_slice(&store.articles_json().unwrap()).unwrap();
        assert_eq!(before, store.articles().unwrap());
        store.insert(&[article(1)]).unwrap();
        let after: Vec<Article> = serde_json::from_slice(&store.articles_json().unwrap()).unwrap();
        assert_eq!(after.len(), before.len() + 1);
        assert_eq!(after, store.articles().unwrap());
    }

    /// Requests that queue while the connection is busy are committed
    /// together, each in its own savepoint: one whose id is reused stores
    /// nothing and holds up no other, and every answer comes after the
    /// commit, with a list that holds its articles.
    #[test]
    fn a_group_commit_keeps_each_request_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("news.sqlite3");
        let store = Arc::new(Store::open(&path).unwrap());
        store.insert(&[article(1)]).unwrap();
        let reworded = NewArticle {
            headline: "other".into(),
            ..article(1)
        };
        let requests = [
            vec![article(2), article(3)],
            vec![article(4), reworded],
            vec![article(3), article(5)],
        ];
        // Hold the connection, as a commit on its way to the disk does,
        // until all three requests wait for it.
        let busy = store.lock().unwrap();
        let threads: Vec<_> = requests
            .into_iter()
            .map(|articles| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || store.insert_durably(articles))
            })
            .collect();
        while store.waiting().unwrap().len() < 3 {
            std::thread::yield_now();
        }
        drop(busy);
        let mut outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let refused = outcomes.iter().position(Result::is_err).unwrap();
        assert!(
            matches!(outcomes.remove(refused), Err(StoreError::IdReused(r)) if r.index == 1),
            "the request that reuses an id is refused"
        );
        let mut headlines: Vec<String> = Vec::new();
        for stored in outcomes {
            let stored = stored.unwrap();
            let list: Vec<Article> = serde_json::from_slice(&stored.list_json).unwrap();
            assert_eq!(list.len(), 3 + 4, "the answer is the list after the commit");
            headlines.extend(stored.new_headlines);
        }
        headlines.sort();
        let expected = [2, 3, 5].map(|n| article(n).headline);
        assert_eq!(
            headlines, expected,
            "each new article is new to one request"
        );
        drop(store);
        let ids: Vec<_> = Store::open(&path).unwrap().articles().unwrap()[3..]
            .iter()
            .map(|a| a.id.clone())
            .collect();
        assert!(
            !ids.contains(&article(4).id),
            "a refused request stored nothing"
        );
        assert_eq!(ids.len(), 4, "on disk: 1, 2, 3, 5");
    }

    #[test]
    fn articles_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/news.sqlite3");
        Store::open(&path).unwrap().insert(&[article(7)]).unwrap();
        let reopened = Store::open(&path).unwrap();
        let articles = reopened.articles().unwrap();
        assert_eq!(articles.len(), 4, "seeds are not added twice");
        assert_eq!(articles[3].id, article(7).id);
    }
}
