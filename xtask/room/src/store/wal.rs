//! The database's write-ahead log, copied into the database file by a
//! thread of its own.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::Connection;

use super::error::StoreError;

/// How often the write-ahead log is copied into the database file.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// Copies the write-ahead log of the database at `path` into it `every` so
/// long, on a connection and a thread of its own (a passive
/// checkpoint never blocks the store's writes), until the returned sender
/// is dropped. A failed checkpoint is tried again the next time; the log
/// meanwhile only grows.
pub(super) fn checkpoint_in_background(
    path: &Path,
    every: Duration,
) -> Result<mpsc::Sender<()>, StoreError> {
    let db = Connection::open(path)?;
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("room-checkpoints".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if let Err(error) = db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!("the room's database log was not checkpointed: {error}");
                }
            }
        })
        .map_err(|source| StoreError::Thread { source })?;
    Ok(stop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;
    use crate::store::Store;
    use crate::store::tests::{from, report};

    #[test]
    fn the_log_is_copied_into_the_database_file_in_the_background() {
        let dir = std::env::temp_dir().join(format!("room-wal-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("room.sqlite");
        let mut store = Store::open_checkpointing(&path, Duration::from_millis(20)).unwrap();
        for n in 0..20 {
            let report = from(
                &format!("machine-{n:02}"),
                report("Ada", &[("a", Outcome::Pass)], &[]),
            );
            store.record(&report, n).unwrap();
        }
        // The database file alone, without its log, holds every row once a
        // checkpoint has run.
        let alone = dir.join("alone.sqlite");
        let rows_alone = || {
            std::fs::copy(&path, &alone).unwrap();
            let db = Connection::open(&alone).unwrap();
            let n: i64 = db
                .query_row("SELECT count(*) FROM rows", [], |row| row.get(0))
                .unwrap_or(0);
            n
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while rows_alone() < 20 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint copied the rows into {}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
