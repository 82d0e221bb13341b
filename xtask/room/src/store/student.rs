//! A student's row as the page and `/api/table` show it, and the table the
//! page draws.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkpoints::Checkpoint;
use crate::report::{DoctorLine, Failure, Outcome};

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
