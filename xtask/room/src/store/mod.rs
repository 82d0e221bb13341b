//! The room's memory: its code and one row per student, in SQLite.
//!
//! Everything the page shows is rebuilt from here, so a room server that is
//! restarted (a closed laptop lid, a Ctrl-C) comes back with its code and
//! its table; what changed meanwhile arrives with each student's next check.
//! The rows are also kept in memory, read from the database once at start:
//! the table the page is sent several times a second is read from there,
//! and SQLite is only written to.
//!
//! A row is keyed by the student's machine (the random id `room send` keeps
//! in `target/xtask/machine-id`), not by the name they typed: two students
//! who both type "Ada" get two rows, the second shown as "Ada (2)", and
//! neither report ever lands in the other's row. A client too old to send a
//! machine id is keyed by its name, as every client was before.
//!
//! Here, the store and how a report changes a student's row; in
//! `student.rs`, the row and the table the page draws; in `rows.rs`, a row
//! written to SQLite and read back; in `migrate.rs`, a room kept by an
//! earlier version brought forward; in `wal.rs`, the write-ahead log
//! copied into the database file by a thread of its own; in `error.rs`,
//! what can fail.

mod error;
mod migrate;
mod rows;
mod student;
mod wal;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::report::{Outcome, Report};
use migrate::migrate_students;
use rows::{read_rows, write_row};
use wal::{CHECKPOINT_EVERY, checkpoint_in_background};

pub use error::StoreError;
use student::{Doctor, Hint};
pub use student::{Student, Table};

/// What storing a report did, for the answer to the student.
#[derive(Debug, PartialEq, Eq)]
pub struct Stored {
    /// The name the room shows.
    pub name: String,
}

pub struct Store {
    db: Connection,
    /// Every row, by key, as in the database.
    rows: HashMap<String, Student>,
    /// Dropped with the store, which ends the checkpointing thread.
    _checkpoints: Option<mpsc::Sender<()>>,
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_checkpointing(path, CHECKPOINT_EVERY)
    }

    /// [`Store::open`], with the log checkpointed `every` so long.
    fn open_checkpointing(path: &Path, every: Duration) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Dir {
                path: dir.to_owned(),
                source,
            })?;
        }
        let db = Connection::open(path)?;
        // A report costs a transaction. Write-ahead logging without a sync
        // on each commit keeps that well under a millisecond; what a power
        // cut could lose is the last few reports, which each student's next
        // check sends again.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        // The log is copied into the database (and that synced) by a thread
        // of its own, not by whichever report fills it: a sync can take
        // tens of milliseconds on a busy disk, and a report would wait.
        db.pragma_update(None, "wal_autocheckpoint", 0)?;
        let checkpoints = checkpoint_in_background(path, every)?;
        let mut store = Self::init(db)?;
        store._checkpoints = Some(checkpoints);
        Ok(store)
    }

    #[cfg(test)]
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut db: Connection) -> Result<Self, StoreError> {
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS settings (
                 key   TEXT PRIMARY KEY,
                 value TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS rows (
                 key           TEXT PRIMARY KEY, -- 'machine:<id>', or 'name:<name>' from an older client
                 name          TEXT NOT NULL UNIQUE, -- as shown
                 asked_name    TEXT NOT NULL,
                 stage         TEXT NOT NULL,
                 browser       TEXT NOT NULL,
                 build_id      TEXT NOT NULL,
                 results       TEXT NOT NULL, -- JSON: {checkpoint id: outcome}
                 hints         TEXT NOT NULL, -- JSON: [{id, level}]
                 failure       TEXT,          -- JSON: {id, expected, seen}
                 doctor        TEXT,          -- JSON: {at, lines}
                 on_checkpoint TEXT,
                 on_since      INTEGER,
                 checks_here   INTEGER NOT NULL,
                 checks        INTEGER NOT NULL,
                 first_seen    INTEGER NOT NULL,
                 last_report   INTEGER NOT NULL,
                 last_progress INTEGER
             );",
        )?;
        migrate_students(&mut db)?;
        let rows = read_rows(&db)?;
        Ok(Store {
            db,
            rows,
            _checkpoints: None,
        })
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

    /// Stores a (validated) report received at `now` (unix seconds).
    ///
    /// A check's results replace the earlier ones; the time of progress
    /// moves when a checkpoint passes that did not pass before; the time
    /// on a checkpoint starts when it becomes the first failing one, and
    /// each check on it is counted. Hints add up, each at its highest
    /// level. A doctor report replaces the earlier doctor lines and leaves
    /// the results as they were.
    pub fn record(&mut self, report: &Report, now: i64) -> Result<Stored, StoreError> {
        let key = match &report.machine {
            Some(machine) => format!("machine:{machine}"),
            None => format!("name:{}", report.name),
        };
        let earlier = self.rows.get(&key).cloned();
        let name = match &earlier {
            Some(e) if e.asked_name == report.name => e.name.clone(),
            _ => self.free_name(&report.name, &key),
        };
        let mut row = earlier.unwrap_or_else(|| Student {
            name: name.clone(),
            asked_name: report.name.clone(),
            stage: String::new(),
            browser: String::new(),
            build_id: String::new(),
            results: BTreeMap::new(),
            hints: Vec::new(),
            failure: None,
            doctor: None,
            on: None,
            on_since: None,
            checks_here: 0,
            checks: 0,
            first_seen: now,
            last_report: now,
            last_progress: None,
        });
        row.name = name;
        row.asked_name = report.name.clone();
        row.last_report = now;
        if !report.checkpoints.is_empty() {
            apply_check(&mut row, report, now);
        }
        for (id, level) in report.hint_levels() {
            match row.hints.iter_mut().find(|h| h.id == id) {
                Some(hint) => hint.level = hint.level.max(level),
                None => row.hints.push(Hint { id, level }),
            }
        }
        if let Some(lines) = &report.doctor {
            row.doctor = Some(Doctor {
                at: now,
                lines: lines.clone(),
            });
        }
        // One statement, so one transaction: the row is in the database
        // whole or not at all, and only then in memory.
        write_row(&self.db, &key, &row)?;
        let stored = Stored {
            name: row.name.clone(),
        };
        self.rows.insert(key, row);
        Ok(stored)
    }

    /// Every student, in the order they joined.
    pub fn students(&self) -> Result<Vec<Student>, StoreError> {
        let mut students: Vec<Student> = self.rows.values().cloned().collect();
        students.sort_by(|a, b| (a.first_seen, &a.name).cmp(&(b.first_seen, &b.name)));
        Ok(students)
    }

    /// `asked`, or `asked (2)`, `asked (3)`, …: the first that no other row
    /// shows.
    fn free_name(&self, asked: &str, key: &str) -> String {
        let taken = |name: &str| {
            self.rows
                .iter()
                .any(|(other, row)| other != key && row.name == name)
        };
        let mut n = 1;
        loop {
            let candidate = if n == 1 {
                asked.to_owned()
            } else {
                format!("{asked} ({n})")
            };
            if !taken(&candidate) {
                return candidate;
            }
            n += 1;
        }
    }
}

/// A check's results into `row`.
fn apply_check(row: &mut Student, report: &Report, now: i64) {
    let results: BTreeMap<String, Outcome> = report
        .checkpoints
        .iter()
        .map(|c| (c.id.clone(), c.result))
        .collect();
    let progressed = results.iter().any(|(id, outcome)| {
        *outcome == Outcome::Pass && row.results.get(id) != Some(&Outcome::Pass)
    });
    if progressed {
        row.last_progress = Some(now);
    }
    let on = report.first_failing().map(str::to_owned);
    if on.is_some() && on == row.on {
        row.checks_here += 1;
    } else {
        row.on_since = on.as_ref().map(|_| now);
        row.checks_here = u32::from(on.is_some());
    }
    row.on = on;
    row.checks += 1;
    row.results = results;
    row.failure = report.failure.clone();
    row.stage = report.stage.clone();
    row.browser = report.browser.clone();
    row.build_id = report.build_id.clone();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{CheckpointResult, DoctorLine, Failure};

    pub(super) fn report(name: &str, results: &[(&str, Outcome)], hints: &[&str]) -> Report {
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
            ..Report::default()
        }
    }

    pub(super) fn from(machine: &str, report: Report) -> Report {
        Report {
            machine: Some(machine.into()),
            ..report
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
        let hints: Vec<&str> = ada.hints.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(hints, ["a", "b"]);
        assert_eq!(ada.checks, 3);
    }

    #[test]
    fn the_time_and_the_checks_on_a_checkpoint_start_when_it_is_the_first_failing() {
        let mut store = Store::in_memory().unwrap();
        let on_b = report("Ada", &[("a", Outcome::Pass), ("b", Outcome::Fail)], &[]);
        let on_c = report(
            "Ada",
            &[
                ("a", Outcome::Pass),
                ("b", Outcome::Pass),
                ("c", Outcome::Fail),
            ],
            &[],
        );
        let done = report("Ada", &[("a", Outcome::Pass), ("b", Outcome::Pass)], &[]);
        let ada = |store: &Store| store.students().unwrap().remove(0);
        store.record(&on_b, 100).unwrap();
        store.record(&on_b, 160).unwrap();
        store.record(&on_b, 220).unwrap();
        let row = ada(&store);
        assert_eq!(
            (row.on.as_deref(), row.on_since, row.checks_here),
            (Some("b"), Some(100), 3)
        );
        store.record(&on_c, 300).unwrap();
        let row = ada(&store);
        assert_eq!(
            (row.on.as_deref(), row.on_since, row.checks_here),
            (Some("c"), Some(300), 1)
        );
        store.record(&done, 400).unwrap();
        let row = ada(&store);
        assert_eq!((row.on, row.on_since, row.checks_here), (None, None, 0));
        assert_eq!(row.checks, 5);
    }

    #[test]
    fn rows_are_keyed_by_machine_and_a_taken_name_gets_a_suffix() {
        let mut store = Store::in_memory().unwrap();
        let ada = |result| report("Ada", &[("a", result)], &[]);
        let first = store.record(&from("machine-one", ada(Outcome::Pass)), 1);
        assert_eq!(first.unwrap().name, "Ada");
        let second = store.record(&from("machine-two", ada(Outcome::Fail)), 2);
        assert_eq!(second.unwrap().name, "Ada (2)");
        // An older client without a machine id is a third row.
        let third = store.record(&ada(Outcome::NotRun), 3).unwrap();
        assert_eq!(third.name, "Ada (3)");
        // Each machine's next report lands in its own row, under the name
        // it was given.
        assert_eq!(
            store
                .record(&from("machine-two", ada(Outcome::Pass)), 4)
                .unwrap()
                .name,
            "Ada (2)"
        );
        let rows = store.students().unwrap();
        let shown: Vec<(&str, Outcome)> = rows
            .iter()
            .map(|r| (r.name.as_str(), r.results["a"]))
            .collect();
        assert_eq!(
            shown,
            [
                ("Ada", Outcome::Pass),
                ("Ada (2)", Outcome::Pass),
                ("Ada (3)", Outcome::NotRun)
            ]
        );
        // A machine that changes its name takes the new one if it is free…
        let renamed = store.record(&from("machine-two", report("Bo", &[], &[])), 5);
        assert_eq!(renamed.unwrap().name, "Bo");
        // …and the freed name goes to the next one who asks for it.
        let again = store.record(&from("machine-four", ada(Outcome::Fail)), 6);
        assert_eq!(again.unwrap().name, "Ada (2)");
        assert_eq!(store.students().unwrap().len(), 4);
    }

    #[test]
    fn hints_keep_their_highest_level() {
        let mut store = Store::in_memory().unwrap();
        let mut first = report("Ada", &[("a", Outcome::Fail)], &["a"]);
        first.hints = BTreeMap::from([("b".to_owned(), 2)]);
        store.record(&first, 1).unwrap();
        let mut second = report("Ada", &[("a", Outcome::Fail)], &[]);
        second.hints = BTreeMap::from([("a".to_owned(), 3), ("b".to_owned(), 1)]);
        store.record(&second, 2).unwrap();
        let hints = store.students().unwrap().remove(0).hints;
        assert_eq!(
            hints,
            [
                Hint {
                    id: "a".into(),
                    level: 3
                },
                Hint {
                    id: "b".into(),
                    level: 2
                }
            ]
        );
    }

    #[test]
    fn a_doctor_report_keeps_the_results_and_a_check_keeps_the_doctor() {
        let mut store = Store::in_memory().unwrap();
        let doctor = Report {
            code: "ABC234".into(),
            name: "Ada".into(),
            machine: Some("machine-one".into()),
            doctor: Some(vec![DoctorLine {
                check: "chromium".into(),
                ok: false,
                detail: "not found".into(),
            }]),
            ..Report::default()
        };
        store.record(&doctor, 10).unwrap();
        let row = store.students().unwrap().remove(0);
        assert_eq!(row.checks, 0);
        assert!(row.results.is_empty() && row.stage.is_empty());
        assert_eq!(row.doctor.as_ref().unwrap().at, 10);
        let mut check = from("machine-one", report("Ada", &[("a", Outcome::Fail)], &[]));
        check.failure = Some(Failure {
            id: "a".into(),
            expected: "x".into(),
            seen: "y".into(),
        });
        store.record(&check, 20).unwrap();
        store.record(&doctor, 30).unwrap();
        let row = store.students().unwrap().remove(0);
        assert_eq!(row.results["a"], Outcome::Fail);
        assert_eq!(row.failure.unwrap().seen, "y");
        assert_eq!(row.doctor.unwrap().at, 30);
        assert_eq!(row.checks, 1);
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
