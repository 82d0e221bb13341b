//! The worker's outbox in IndexedDB, and its delivery to the server: the
//! plumbing under the lesson's sync handler, given so that the lesson's code
//! can be about *when* to store, send, retry and tell, not about IndexedDB
//! transactions and request batching.
//!
//! What the lesson's code calls:
//!
//! - [`store`]: put an article in the outbox; returns once it is on disk.
//! - [`pending`]: how many articles wait.
//! - [`deliver`]: send the outbox to the server, oldest first, and delete
//!   what the server answered for; returns what happened ([`Flushed`]). The
//!   order it sends in and what it makes of each answer are the outbox's
//!   rules, in `outbox.rs` ([`outbox::send_in_order`]), tested natively.
//! - [`one_at_a_time`]: run a flush only after the one before it has ended.
//! - [`sync_manager`]: `registration.sync`, where the browser has Background
//!   Sync (web-sys has no binding for it: see [`SyncManager`]).
//!
//! The rules it keeps (the `outbox` and `sync` checkpoints and the chaos test
//! prove them): an article leaves the outbox only after the server confirmed
//! it (2xx) or refused it for good (4xx: bad, stale, or its id already used
//! for a different article); a network error or a 5xx stops the delivery
//! with everything from that article on still queued, in order. The worker
//! never drops an article by its own clock (`outbox::RETENTION_MS` says why).

use std::cell::RefCell;
use std::future::Future;

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{
    ExtendableEvent, IdbDatabase, IdbKeyRange, IdbTransactionMode, ServiceWorkerGlobalScope,
};

use crate::idb;
pub use crate::outbox::Flushed;
use crate::outbox::{self, Answer, Delivery, Posted, Queued};
use crate::web_api::{
    JsResult, api_error, describe, fetch, from_js, json_request, response_json, response_value,
    show_app_badge, to_js, to_json,
};

const ARTICLES_URL: &str = "/api/v1/articles";

// ---------------------------------------------------------------------------
// Background Sync's bindings
// ---------------------------------------------------------------------------

// ANCHOR: sync_bindings
// web-sys has no bindings for Background Sync (the spec is a draft that only
// Chromium ships), so we declare the little we use. `extends` lets a
// `SyncEvent` be used wherever an `ExtendableEvent` is expected. We never
// check `instanceof SyncEvent`: Firefox has no such global, and the value is
// cast with `unchecked_into` instead.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = ExtendableEvent)]
    pub type SyncEvent;
    /// The tag the worker registered (`SYNC_TAG`).
    #[wasm_bindgen(method, getter)]
    pub fn tag(this: &SyncEvent) -> String;

    pub type SyncManager;
    /// Asks for a `sync` event with this tag. The Promise resolves once the
    /// browser has recorded the request, not when the sync has run.
    #[wasm_bindgen(method, catch)]
    pub fn register(this: &SyncManager, tag: &str) -> Result<Promise, JsValue>;
}

/// `registration.sync`, or `None` where the browser has no Background Sync
/// (Firefox, Safari).
pub fn sync_manager() -> Option<SyncManager> {
    let scope: ServiceWorkerGlobalScope = js_sys::global().unchecked_into();
    Reflect::get(&scope.registration(), &"sync".into())
        .ok()
        .filter(|sync| !sync.is_undefined())
        .map(JsCast::unchecked_into)
}
// ANCHOR_END: sync_bindings

// ---------------------------------------------------------------------------
// The outbox in IndexedDB
// ---------------------------------------------------------------------------

// ANCHOR: store
/// Adds an entry to the outbox and returns how many articles wait, once the
/// write has *committed*: a request's `success` only means the change is in
/// the transaction, and the browser may stop the worker at any moment after.
pub async fn store(entry: &Queued) -> JsResult<usize> {
    let db = idb::open().await?;
    let transaction =
        db.transaction_with_str_and_mode(idb::OUTBOX, IdbTransactionMode::Readwrite)?;
    let outbox = transaction.object_store(idb::OUTBOX)?;
    outbox.add(&to_js(entry))?;
    let count = outbox.count()?;
    idb::committed(&transaction).await?;
    db.close();
    let count = count.result()?.as_f64().unwrap_or_default() as usize;
    show_app_badge(count);
    Ok(count)
}
// ANCHOR_END: store

/// How many articles wait in the outbox.
pub async fn pending() -> JsResult<usize> {
    let db = idb::open().await?;
    let transaction = db.transaction_with_str(idb::OUTBOX)?;
    let count = idb::done(&transaction.object_store(idb::OUTBOX)?.count()?).await?;
    db.close();
    Ok(count.as_f64().unwrap_or_default() as usize)
}

/// The whole outbox, oldest first (the key is an auto-increment counter).
async fn read_outbox(db: &IdbDatabase) -> JsResult<Vec<Queued>> {
    let transaction = db.transaction_with_str(idb::OUTBOX)?;
    let all: Array = idb::done(&transaction.object_store(idb::OUTBOX)?.get_all()?)
        .await?
        .unchecked_into();
    // An entry that does not decode (written by some other version) is
    // skipped rather than allowed to block the whole queue.
    Ok(all
        .iter()
        .filter_map(|entry| from_js(&entry).ok())
        .collect())
}

/// Deletes every outbox entry up to and including the last of `settled`.
/// Keys only grow, so everything at or below that key was in this flush.
async fn delete_through(db: &IdbDatabase, settled: &[Queued]) -> JsResult<()> {
    let Some(last) = settled.last().and_then(|q| q.seq) else {
        return Ok(());
    };
    let transaction =
        db.transaction_with_str_and_mode(idb::OUTBOX, IdbTransactionMode::Readwrite)?;
    transaction
        .object_store(idb::OUTBOX)?
        .delete(&IdbKeyRange::upper_bound(&last.into())?.into())?;
    idb::committed(&transaction).await
}

// ---------------------------------------------------------------------------
// Sending it
// ---------------------------------------------------------------------------

// ANCHOR: deliver
/// Sends the outbox to the server, oldest first (`outbox::send_in_order`:
/// in batches the server accepts, a refused batch again one article at a
/// time), deleting each part of it only once the server has answered for it.
pub async fn deliver() -> JsResult<Flushed> {
    let db = idb::open().await?;
    let queue = read_outbox(&db).await?;
    let flushed = outbox::send_in_order(&queue, post, async |settled: &[Queued]| {
        delete_through(&db, settled).await
    })
    .await?;
    // What is left waits for a later try: its number on the app's badge
    // (a page need not be open for the badge to be right).
    let left = idb::done(
        &db.transaction_with_str(idb::OUTBOX)?
            .object_store(idb::OUTBOX)?
            .count()?,
    )
    .await?;
    show_app_badge(left.as_f64().unwrap_or_default() as usize);
    db.close();
    Ok(flushed)
}
// ANCHOR_END: deliver

/// POSTs `batch`, each article with the time it was queued (the server
/// judges its age by its own clock), and reads the answer.
async fn post(batch: &[Queued]) -> Answer {
    let posted: Vec<Posted> = batch.iter().map(Posted::from).collect();
    let response = match json_request("POST", ARTICLES_URL, Some(&to_json(&posted))) {
        Ok(request) => fetch(&request).await,
        Err(error) => Err(error),
    };
    let response = match response {
        Ok(response) => response,
        Err(error) => {
            return Answer::RetryLater(format!(
                "the server could not be reached: {}",
                describe(&error)
            ));
        }
    };
    let status = response.status();
    match Delivery::from_status(Some(status)) {
        Delivery::Stored => Answer::Stored(response_json(&response).await.ok()),
        Delivery::Refused => {
            let body = response_value(&response).await.ok();
            let reason = body
                .as_ref()
                .and_then(api_error)
                .unwrap_or_else(|| format!("HTTP {status}"));
            let code = body.and_then(|body| Reflect::get(&body, &"code".into()).ok());
            Answer::Refused {
                reason,
                expired: code.and_then(|code| code.as_string()).as_deref()
                    == Some(outbox::EXPIRED_CODE),
            }
        }
        Delivery::RetryLater => Answer::RetryLater(format!("the server answered HTTP {status}")),
    }
}

// ---------------------------------------------------------------------------
// One flush at a time
// ---------------------------------------------------------------------------

thread_local! {
    /// The flush in progress, if any.
    static LAST_FLUSH: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

/// Runs `flush` once the flush before it (if any) has ended, and returns its
/// result. A sync, a page coming online and the worker starting may all ask
/// for a flush at once; running them one after another means no article is
/// ever sent by two flushes at the same time.
pub async fn one_at_a_time(flush: impl Future<Output = JsResult<()>> + 'static) -> JsResult<()> {
    let previous = LAST_FLUSH.with_borrow_mut(Option::take);
    let this_flush = future_to_promise(async move {
        if let Some(previous) = previous {
            let _ = JsFuture::from(previous).await;
        }
        flush.await.map(|()| JsValue::UNDEFINED)
    });
    LAST_FLUSH.with_borrow_mut(|last| *last = Some(this_flush.clone()));
    JsFuture::from(this_flush).await.map(|_| ())
}
