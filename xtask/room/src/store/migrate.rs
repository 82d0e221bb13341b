//! A room kept by an earlier version of the room, brought forward to the
//! rows of this one when it is opened.

use rusqlite::Connection;

use super::error::StoreError;
use super::rows::write_row;
use super::student::{Hint, Student};

/// A room kept by an earlier version (one `students` table keyed by name,
/// hints as a list of ids) comes back with its rows: each keyed by its name,
/// as those clients were, its hints at level 1.
pub(super) fn migrate_students(db: &mut Connection) -> Result<(), StoreError> {
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
    use crate::report::Outcome;
    use crate::store::Store;
    use crate::store::tests::report;

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
