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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::checkpoints::Checkpoint;
use crate::report::{DoctorLine, Failure, Outcome, Report};

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

/// A hint the student asked for, at the highest level they reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hint {
    pub id: String,
    pub level: u8,
}

/// The student's last `cargo xtask doctor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doctor {
    /// Unix seconds.
    pub at: i64,
    pub lines: Vec<DoctorLine>,
}

/// One student's row, as the page and `/api/table` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Student {
    /// As the room shows it: the name they typed, with a suffix (" (2)")
    /// when another machine had it first. Unique in the room.
    pub name: String,
    /// The name they typed.
    pub asked_name: String,
    /// Empty until their first check (a doctor report comes first).
    pub stage: String,
    pub browser: String,
    pub build_id: String,
    /// Each checkpoint's latest result, by id.
    pub results: BTreeMap<String, Outcome>,
    /// Every hint the student asked for, first asked first, at the highest
    /// level reached.
    pub hints: Vec<Hint>,
    /// The first failing checkpoint of their last check, as `check` printed
    /// it.
    pub failure: Option<Failure>,
    pub doctor: Option<Doctor>,
    /// The checkpoint they are on (the first that fails), since when (unix
    /// seconds) and how many checks they have reported on it.
    pub on: Option<String>,
    pub on_since: Option<i64>,
    pub checks_here: u32,
    /// Every check they have reported.
    pub checks: u32,
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
    /// The lesson plan's minutes for each checkpoint (from the lesson's
    /// timing): how long a student may be on it before the row is marked
    /// stuck, unless the instructor sets another threshold on the page.
    pub minutes: BTreeMap<String, u32>,
    pub students: Vec<Student>,
}

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

/// How often the write-ahead log is copied into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(5);

/// The columns of a row, in the order [`raw_student`] reads them.
const COLUMNS: &str = "key, name, asked_name, stage, browser, build_id, results, hints, failure, doctor, \
     on_checkpoint, on_since, checks_here, checks, first_seen, last_report, last_progress";

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

fn write_row(db: &Connection, key: &str, row: &Student) -> Result<(), StoreError> {
    let failure = row
        .failure
        .as_ref()
        .map(serde_json::to_string)
        .transpose()?;
    let doctor = row.doctor.as_ref().map(serde_json::to_string).transpose()?;
    db.prepare_cached(&format!(
        "INSERT OR REPLACE INTO rows ({COLUMNS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    ))?
    .execute(params![
        key,
        row.name,
        row.asked_name,
        row.stage,
        row.browser,
        row.build_id,
        serde_json::to_string(&row.results)?,
        serde_json::to_string(&row.hints)?,
        failure,
        doctor,
        row.on,
        row.on_since,
        row.checks_here,
        row.checks,
        row.first_seen,
        row.last_report,
        row.last_progress,
    ])?;
    Ok(())
}

/// A row before its JSON columns are parsed.
struct RawStudent {
    name: String,
    asked_name: String,
    stage: String,
    browser: String,
    build_id: String,
    results: String,
    hints: String,
    failure: Option<String>,
    doctor: Option<String>,
    on: Option<String>,
    on_since: Option<i64>,
    checks_here: u32,
    checks: u32,
    first_seen: i64,
    last_report: i64,
    last_progress: Option<i64>,
}

impl RawStudent {
    fn parse(self) -> Result<Student, StoreError> {
        Ok(Student {
            name: self.name,
            asked_name: self.asked_name,
            stage: self.stage,
            browser: self.browser,
            build_id: self.build_id,
            results: serde_json::from_str(&self.results)?,
            hints: serde_json::from_str(&self.hints)?,
            failure: self
                .failure
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            doctor: self
                .doctor
                .as_deref()
                .map(serde_json::from_str)
                .transpose()?,
            on: self.on,
            on_since: self.on_since,
            checks_here: self.checks_here,
            checks: self.checks,
            first_seen: self.first_seen,
            last_report: self.last_report,
            last_progress: self.last_progress,
        })
    }
}

/// Reads [`COLUMNS`] (the key, first, is not shown).
fn raw_student(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawStudent> {
    Ok(RawStudent {
        name: row.get(1)?,
        asked_name: row.get(2)?,
        stage: row.get(3)?,
        browser: row.get(4)?,
        build_id: row.get(5)?,
        results: row.get(6)?,
        hints: row.get(7)?,
        failure: row.get(8)?,
        doctor: row.get(9)?,
        on: row.get(10)?,
        on_since: row.get(11)?,
        checks_here: row.get(12)?,
        checks: row.get(13)?,
        first_seen: row.get(14)?,
        last_report: row.get(15)?,
        last_progress: row.get(16)?,
    })
}

/// Copies the write-ahead log of the database at `path` into it `every` so
/// long, on a connection and a thread of its own (a passive
/// checkpoint never blocks the store's writes), until the returned sender
/// is dropped. A failed checkpoint is tried again the next time; the log
/// meanwhile only grows.
fn checkpoint_in_background(path: &Path, every: Duration) -> Result<mpsc::Sender<()>, StoreError> {
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

/// Every row in the database, by key.
fn read_rows(db: &Connection) -> Result<HashMap<String, Student>, StoreError> {
    let mut statement = db.prepare(&format!("SELECT {COLUMNS} FROM rows"))?;
    let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, raw_student(row)?)))?;
    let mut by_key = HashMap::new();
    for row in rows {
        let (key, raw) = row?;
        by_key.insert(key, raw.parse()?);
    }
    Ok(by_key)
}

/// A room kept by an earlier version (one `students` table keyed by name,
/// hints as a list of ids) comes back with its rows: each keyed by its name,
/// as those clients were, its hints at level 1.
fn migrate_students(db: &mut Connection) -> Result<(), StoreError> {
    let old: bool = db.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'students'",
        [],
        |row| row.get(0),
    )?;
    if !old {
        return Ok(());
    }
    let tx = db.transaction()?;
    let rows: Vec<(String, Student)> = {
        let mut statement = tx.prepare(
            "SELECT name, stage, browser, build_id, results, hints_seen, first_seen, last_report, last_progress
             FROM students",
        )?;
        let rows = statement.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, i64>(7)?,
                row.get::<_, Option<i64>>(8)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (name, stage, browser, build_id, results, hints_seen, first, last, progress) = row?;
            let hints: Vec<String> = serde_json::from_str(&hints_seen)?;
            out.push((
                format!("name:{name}"),
                Student {
                    asked_name: name.clone(),
                    name,
                    stage,
                    browser,
                    build_id,
                    results: serde_json::from_str(&results)?,
                    hints: hints.into_iter().map(|id| Hint { id, level: 1 }).collect(),
                    failure: None,
                    doctor: None,
                    on: None,
                    on_since: None,
                    checks_here: 0,
                    checks: 0,
                    first_seen: first,
                    last_report: last,
                    last_progress: progress,
                },
            ));
        }
        out
    };
    for (key, row) in &rows {
        write_row(&tx, key, row)?;
    }
    tx.execute_batch("DROP TABLE students")?;
    tx.commit()?;
    Ok(())
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
            ..Report::default()
        }
    }

    fn from(machine: &str, report: Report) -> Report {
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

    #[test]
    fn a_room_kept_by_the_earlier_version_comes_back_with_its_rows() {
        let db = Connection::open_in_memory().unwrap();
        db.execute_batch(
            "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO settings VALUES ('code', 'OLD234');
             CREATE TABLE students (
                 name TEXT PRIMARY KEY, stage TEXT NOT NULL, browser TEXT NOT NULL,
                 build_id TEXT NOT NULL, results TEXT NOT NULL, hints_seen TEXT NOT NULL,
                 first_seen INTEGER NOT NULL, last_report INTEGER NOT NULL, last_progress INTEGER);
             INSERT INTO students VALUES
                 ('Ada', 'starter', 'chromium', 'b1', '{\"a\":\"pass\"}', '[\"a\"]', 1, 2, 2);",
        )
        .unwrap();
        let mut store = Store::init(db).unwrap();
        assert_eq!(store.code(|| "NEW234".into()).unwrap(), "OLD234");
        let ada = store.students().unwrap().remove(0);
        assert_eq!(
            (ada.name.as_str(), ada.results["a"]),
            ("Ada", Outcome::Pass)
        );
        assert_eq!(
            ada.hints,
            [Hint {
                id: "a".into(),
                level: 1
            }]
        );
        // The same older client lands in the same row.
        store
            .record(&report("Ada", &[("a", Outcome::Fail)], &[]), 3)
            .unwrap();
        let rows = store.students().unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].results["a"], Outcome::Fail);
    }
}
