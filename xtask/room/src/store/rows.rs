//! A student's row in SQLite: its columns, written in one statement and
//! read back, the JSON ones parsed.

use std::collections::HashMap;

use rusqlite::{Connection, params};

use super::error::StoreError;
use super::student::Student;

/// The columns of a row, in the order [`raw_student`] reads them.
const COLUMNS: &str = "key, name, asked_name, stage, browser, build_id, results, hints, failure, doctor, \
     on_checkpoint, on_since, checks_here, checks, first_seen, last_report, last_progress";

pub(super) fn write_row(db: &Connection, key: &str, row: &Student) -> Result<(), StoreError> {
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

/// Every row in the database, by key.
pub(super) fn read_rows(db: &Connection) -> Result<HashMap<String, Student>, StoreError> {
    let mut statement = db.prepare(&format!("SELECT {COLUMNS} FROM rows"))?;
    let rows = statement.query_map([], |row| Ok((row.get::<_, String>(0)?, raw_student(row)?)))?;
    let mut by_key = HashMap::new();
    for row in rows {
        let (key, raw) = row?;
        by_key.insert(key, raw.parse()?);
    }
    Ok(by_key)
}
