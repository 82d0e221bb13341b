//! The room's memory: its code and one row per student, in SQLite.
//!
//! Everything the page shows is rebuilt from here, so a room server that is
//! restarted (a closed laptop lid, a Ctrl-C) comes back with its code and
//! its table; what changed meanwhile arrives with each student's next check.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::checkpoints::Checkpoint;
use crate::report::{Outcome, Report};

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
}

/// One student's row, as the page and `/api/table` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Student {
    pub name: String,
    pub stage: String,
    pub browser: String,
    pub build_id: String,
    /// Each checkpoint's latest result, by id.
    pub results: BTreeMap<String, Outcome>,
    /// Every hint the student has been shown, first seen first.
    pub hints_seen: Vec<String>,
    /// Unix seconds.
    pub first_seen: i64,
    pub last_report: i64,
    /// When a checkpoint last newly passed; `None` until one does.
    pub last_progress: Option<i64>,
}

/// What the page draws: the columns, the rows and the server's clock (so
/// that "3 min ago" does not depend on the viewer's clock).
#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub code: String,
    pub now: i64,
    pub checkpoints: Vec<Checkpoint>,
    pub students: Vec<Student>,
}

pub struct Store {
    db: Connection,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        }
        Self::init(Connection::open(path)?)
    }

    #[cfg(test)]
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(db: Connection) -> Result<Self, StoreError> {
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS settings (
                 key   TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS students (
                 name          TEXT PRIMARY KEY,
                 stage         TEXT NOT NULL,
                 browser       TEXT NOT NULL,
                 build_id      TEXT NOT NULL,
                 results       TEXT NOT NULL, -- JSON: {checkpoint id: outcome}
                 hints_seen    TEXT NOT NULL, -- JSON: [hint id]
                 first_seen    INTEGER NOT NULL,
                 last_report   INTEGER NOT NULL,
                 last_progress INTEGER
             );",
        )?;
        Ok(Store { db })
    }

    /// The room's code: the stored one, or `fresh()` stored now. A restarted
    /// room keeps its code, so students need not be told a new one.
    pub fn code(&self, fresh: impl FnOnce() -> String) -> Result<String, StoreError> {
        let stored: Option<String> = self
            .db
            .query_row("SELECT value FROM settings WHERE key = 'code'", [], |row| {
                row.get(0)
            })
            .optional()?;
        if let Some(code) = stored {
            return Ok(code);
        }
        let code = fresh();
        self.db.execute(
            "INSERT INTO settings (key, value) VALUES ('code', ?1)",
            params![code],
        )?;
        Ok(code)
    }

    /// Stores a (validated) report received at `now` (unix seconds): the
    /// latest results replace the earlier ones, hints add up, and the time of
    /// progress moves when a checkpoint passes that did not pass before.
    pub fn record(&mut self, report: &Report, now: i64) -> Result<(), StoreError> {
        let tx = self.db.transaction()?;
        let earlier = read_student(&tx, &report.name)?;
        let results: BTreeMap<String, Outcome> = report
            .checkpoints
            .iter()
            .map(|c| (c.id.clone(), c.result))
            .collect();
        let progressed = results.iter().any(|(id, outcome)| {
            *outcome == Outcome::Pass
                && earlier
                    .as_ref()
                    .is_none_or(|e| e.results.get(id) != Some(&Outcome::Pass))
        });
        let mut hints = earlier
            .as_ref()
            .map(|e| e.hints_seen.clone())
            .unwrap_or_default();
        let mut known: HashSet<String> = hints.iter().cloned().collect();
        for hint in &report.hints_seen {
            if known.insert(hint.clone()) {
                hints.push(hint.clone());
            }
        }
        let last_progress = if progressed {
            Some(now)
        } else {
            earlier.as_ref().and_then(|e| e.last_progress)
        };
        let first_seen = earlier.as_ref().map_or(now, |e| e.first_seen);
        tx.execute(
            "INSERT OR REPLACE INTO students
                 (name, stage, browser, build_id, results, hints_seen, first_seen, last_report, last_progress)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                report.name,
                report.stage,
                report.browser,
                report.build_id,
                serde_json::to_string(&results)?,
                serde_json::to_string(&hints)?,
                first_seen,
                now,
                last_progress,
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Every student, in the order they joined.
    pub fn students(&self) -> Result<Vec<Student>, StoreError> {
        let mut statement = self.db.prepare(
            "SELECT name, stage, browser, build_id, results, hints_seen, first_seen, last_report, last_progress
             FROM students ORDER BY first_seen, name",
        )?;
        let rows = statement.query_map([], raw_student)?;
        let mut students = Vec::new();
        for row in rows {
            students.push(row?.parse()?);
        }
        Ok(students)
    }
}

/// A row before its JSON columns are parsed.
struct RawStudent {
    name: String,
    stage: String,
    browser: String,
    build_id: String,
    results: String,
    hints_seen: String,
    first_seen: i64,
    last_report: i64,
    last_progress: Option<i64>,
}

impl RawStudent {
    fn parse(self) -> Result<Student, StoreError> {
        Ok(Student {
            name: self.name,
            stage: self.stage,
            browser: self.browser,
            build_id: self.build_id,
            results: serde_json::from_str(&self.results)?,
            hints_seen: serde_json::from_str(&self.hints_seen)?,
            first_seen: self.first_seen,
            last_report: self.last_report,
            last_progress: self.last_progress,
        })
    }
}

fn raw_student(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawStudent> {
    Ok(RawStudent {
        name: row.get(0)?,
        stage: row.get(1)?,
        browser: row.get(2)?,
        build_id: row.get(3)?,
        results: row.get(4)?,
        hints_seen: row.get(5)?,
        first_seen: row.get(6)?,
        last_report: row.get(7)?,
        last_progress: row.get(8)?,
    })
}

fn read_student(db: &Connection, name: &str) -> Result<Option<Student>, StoreError> {
    let raw = db
        .query_row(
            "SELECT name, stage, browser, build_id, results, hints_seen, first_seen, last_report, last_progress
             FROM students WHERE name = ?1",
            params![name],
            raw_student,
        )
        .optional()?;
    raw.map(RawStudent::parse).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CheckpointResult;

    fn report(name: &str, results: &[(&str, Outcome)], hints: &[&str]) -> Report {
        Report {
            code: "ABC234".into(),
            name: name.into(),
            stage: "starter".into(),
            browser: "chromium".into(),
            build_id: "b1".into(),
            checkpoints: results
                .iter()
                .map(|(id, result)| CheckpointResult {
                    id: (*id).into(),
                    result: *result,
                })
                .collect(),
            hints_seen: hints.iter().map(|h| (*h).into()).collect(),
        }
    }

    #[test]
    fn progress_moves_only_when_a_checkpoint_newly_passes() {
        let mut store = Store::in_memory().unwrap();
        store
            .record(&report("Ada", &[("a", Outcome::Fail)], &["a"]), 100)
            .unwrap();
        assert_eq!(store.students().unwrap()[0].last_progress, None);
        store
            .record(&report("Ada", &[("a", Outcome::Pass)], &["b", "a"]), 200)
            .unwrap();
        store
            .record(&report("Ada", &[("a", Outcome::Pass)], &[]), 300)
            .unwrap();
        let ada = &store.students().unwrap()[0];
        assert_eq!(ada.last_progress, Some(200));
        assert_eq!(ada.last_report, 300);
        assert_eq!(ada.first_seen, 100);
        assert_eq!(ada.hints_seen, ["a", "b"]);
    }

    #[test]
    fn the_code_and_the_rows_survive_a_restart() {
        let dir = std::env::temp_dir().join(format!("room-store-test-{}", std::process::id()));
        let path = dir.join("room.sqlite");
        let _ = std::fs::remove_dir_all(&dir);
        {
            let mut store = Store::open(&path).unwrap();
            assert_eq!(store.code(|| "FIRST2".into()).unwrap(), "FIRST2");
            store
                .record(&report("Bo", &[("a", Outcome::Pass)], &[]), 5)
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.code(|| "OTHER3".into()).unwrap(), "FIRST2");
        assert_eq!(store.students().unwrap()[0].name, "Bo");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
