//! IndexedDB, through web-sys, with one small helper: [`done`] turns a
//! request or a transaction into a future.
//!
//! Why IndexedDB and not a Rust `Vec`: the browser stops an idle service
//! worker after about 30 seconds, and may stop it at any moment. Whatever the
//! worker keeps in memory is then gone. IndexedDB is the storage a worker can
//! reach that outlives it (`localStorage` is not available in workers).

use wasm_bindgen::prelude::*;
use web_sys::{
    IdbDatabase, IdbObjectStoreParameters, IdbOpenDbRequest, IdbRequest, IdbTransaction,
};

use crate::web_api::{JsResult, indexed_db, next_event};

const NAME: &str = "offline-news";
const VERSION: u32 = 1;
/// Articles waiting to be sent, oldest first (the key is a counter).
pub const OUTBOX: &str = "outbox";
/// Articles the reader keeps for offline reading, by id.
pub const STARRED: &str = "starred";

/// Opens the database, creating its stores the first time.
pub async fn open() -> JsResult<IdbDatabase> {
    let request: IdbOpenDbRequest = indexed_db()?.open_with_u32(NAME, VERSION)?;
    // `upgradeneeded` fires before `success` when the database is new (or
    // older than VERSION): the only moment stores may be created.
    let upgrade_request = request.clone();
    let on_upgrade = Closure::<dyn FnMut()>::new(move || {
        if let Ok(result) = upgrade_request.result() {
            let db: IdbDatabase = result.unchecked_into();
            let outbox = IdbObjectStoreParameters::new();
            outbox.set_key_path(&"seq".into());
            outbox.set_auto_increment(true);
            let _ = db.create_object_store_with_optional_parameters(OUTBOX, &outbox);
            let starred = IdbObjectStoreParameters::new();
            starred.set_key_path(&"id".into());
            let _ = db.create_object_store_with_optional_parameters(STARRED, &starred);
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.as_ref().unchecked_ref()));
    next_event(&request, "success", &["error", "blocked"], Some(10_000)).await?;
    request.set_onupgradeneeded(None);
    Ok(request.result()?.unchecked_into())
}

/// Waits for a request to succeed and returns its result.
pub async fn done(request: &IdbRequest) -> JsResult<JsValue> {
    next_event(request, "success", &["error"], Some(10_000)).await?;
    request.result()
}

/// Waits for a transaction to commit. A write is only safe once its
/// transaction has fired `complete`: a request's `success` means the change
/// is in the transaction, not that the transaction will commit.
pub async fn committed(transaction: &IdbTransaction) -> JsResult<()> {
    next_event(transaction, "complete", &["error", "abort"], Some(10_000)).await?;
    Ok(())
}
