//! What can fail in the room's store, each naming what it was doing.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the directory {path} for the room's database")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the room's database failed")]
    Sql(#[from] rusqlite::Error),
    #[error("the room's database holds a row it cannot read")]
    Json(#[from] serde_json::Error),
    #[error("cannot start the thread that checkpoints the room's database")]
    Thread {
        #[source]
        source: std::io::Error,
    },
}
