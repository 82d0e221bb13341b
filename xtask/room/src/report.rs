//! A student's report: what `room send` posts and the room accepts.
//!
//! The wire format is deliberately small and closed (`deny_unknown_fields`):
//! checkpoint results, the hints the student asked for, the first failure's
//! one line each of what was expected and what was seen, the lines of
//! `cargo xtask doctor`, the stage, the browser, the stage's build id and a
//! random id of the machine. A report carrying anything else — a file, a
//! snippet of code — is refused, and every text field has a length limit,
//! so the room can never become a place where students' code ends up.
//!
//! A report carries check results, doctor lines, or both; a report with
//! neither is refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checkpoints::Catalogue;

/// The longest name shown in the room, in characters.
pub const MAX_NAME: usize = 40;
/// The most hints a report may list.
const MAX_HINTS: usize = 64;
/// The longest stage, browser or hint id.
const MAX_TOKEN: usize = 64;
/// The longest build id.
const MAX_BUILD_ID: usize = 128;
/// A machine id's length, in characters: at least, at most. `room send`
/// makes 32 hexadecimal digits.
const MACHINE_ID: (usize, usize) = (8, 64);
/// The longest "expected" or "seen" of a failure, in characters: one line
/// on the instructor's screen. `room send` shortens longer ones.
pub const MAX_FAILURE_TEXT: usize = 300;
/// The most doctor lines, and the longest check name and detail.
pub const MAX_DOCTOR_LINES: usize = 40;
pub const MAX_DOCTOR_CHECK: usize = 80;
pub const MAX_DOCTOR_DETAIL: usize = 300;
/// Hint levels (TEAM.md): 1 the hint, 2 `hint --more`, 3 `reveal`.
pub const MAX_HINT_LEVEL: u8 = 3;

/// A checkpoint's result, as `cargo xtask check` records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Pass,
    Fail,
    NotRun,
    NotApplicable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointResult {
    pub id: String,
    pub result: Outcome,
}

/// The first failing checkpoint, as `check` printed it: what was expected
/// and what was seen, one line each. Never code: the harness writes these
/// lines, from what the browser and the server showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub id: String,
    pub expected: String,
    pub seen: String,
}

/// One line of `cargo xtask doctor`: a check of the student's machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoctorLine {
    pub check: String,
    pub ok: bool,
    #[serde(default)]
    pub detail: String,
}

/// A report as it arrives: decoded, not yet validated.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub code: String,
    pub name: String,
    /// The random id kept in the student's `target/xtask/machine-id`: the
    /// room keys rows by it. A client from before it existed sends none,
    /// and its row is keyed by its name, as then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub stage: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub browser: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub build_id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checkpoints: Vec<CheckpointResult>,
    /// The checkpoints whose hint was shown, as a client without hint
    /// levels sends them: each counts as level 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints_seen: Vec<String>,
    /// The highest hint level reached, by checkpoint.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hints: BTreeMap<String, u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctor: Option<Vec<DoctorLine>>,
}

/// Why a report was refused. Each message names what is wrong, for the
/// student's terminal.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("the report is not JSON: {0}")]
    Syntax(String),
    #[error("the report is not a report: {0}")]
    Shape(String),
    #[error("wrong room code `{0}`: ask the instructor for the room's code")]
    WrongCode(String),
    #[error("the name is empty: pass --name with your name")]
    EmptyName,
    #[error("the name is longer than {MAX_NAME} characters")]
    NameTooLong,
    #[error("the name contains a control character")]
    NameControl,
    #[error("unknown checkpoint id `{0}` (not in this room's lesson)")]
    UnknownCheckpoint(String),
    #[error("checkpoint `{0}` is listed twice")]
    DuplicateCheckpoint(String),
    #[error("the report holds neither checkpoint results nor doctor lines")]
    Empty,
    #[error("`{field}` is not valid: {why}")]
    Field { field: &'static str, why: String },
}

impl ReportError {
    /// The HTTP status the room answers with.
    pub fn status(&self) -> u16 {
        match self {
            ReportError::Syntax(_) => 400,
            ReportError::WrongCode(_) => 403,
            _ => 422,
        }
    }
}

/// Decodes a report's JSON body: a syntax error is a 400, JSON of the wrong
/// shape (a missing or unknown field, an unknown result) a 422.
pub fn decode(body: &[u8]) -> Result<Report, ReportError> {
    serde_json::from_slice(body).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => ReportError::Shape(error.to_string()),
            Category::Syntax | Category::Eof | Category::Io => {
                ReportError::Syntax(error.to_string())
            }
        }
    })
}

/// A room code as people type it: case and the spaces or dashes someone may
/// add when reading it aloud do not matter.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

impl Report {
    /// Checks the report against the room: its code, then every field. On
    /// success the name is trimmed.
    pub fn validate(mut self, code: &str, catalogue: &Catalogue) -> Result<Report, ReportError> {
        if normalize_code(&self.code) != normalize_code(code) {
            let shown: String = self.code.chars().take(16).collect();
            return Err(ReportError::WrongCode(shown));
        }
        self.name = validate_name(&self.name)?;
        if let Some(machine) = &self.machine {
            machine_id(machine)?;
        }
        if self.checkpoints.is_empty() && self.doctor.is_none() {
            return Err(ReportError::Empty);
        }
        if !self.checkpoints.is_empty() || !self.stage.is_empty() {
            token("stage", &self.stage)?;
        }
        if !self.checkpoints.is_empty() || !self.browser.is_empty() {
            token("browser", &self.browser)?;
        }
        text("build_id", &self.build_id, MAX_BUILD_ID)?;
        for (i, c) in self.checkpoints.iter().enumerate() {
            if !catalogue.contains(&c.id) {
                let shown: String = c.id.chars().take(MAX_TOKEN).collect();
                return Err(ReportError::UnknownCheckpoint(shown));
            }
            if self.checkpoints[..i]
                .iter()
                .any(|earlier| earlier.id == c.id)
            {
                return Err(ReportError::DuplicateCheckpoint(c.id.clone()));
            }
        }
        if self.hints_seen.len() > MAX_HINTS || self.hints.len() > MAX_HINTS {
            return Err(ReportError::Field {
                field: if self.hints.len() > MAX_HINTS {
                    "hints"
                } else {
                    "hints_seen"
                },
                why: format!("more than {MAX_HINTS} hints"),
            });
        }
        for hint in &self.hints_seen {
            token("hints_seen", hint)?;
        }
        for (hint, level) in &self.hints {
            token("hints", hint)?;
            if !(1..=MAX_HINT_LEVEL).contains(level) {
                return Err(ReportError::Field {
                    field: "hints",
                    why: format!("`{hint}` is at level {level}; levels are 1 to {MAX_HINT_LEVEL}"),
                });
            }
        }
        if let Some(failure) = &self.failure {
            self.validate_failure(failure)?;
        }
        if let Some(lines) = &self.doctor {
            validate_doctor(lines)?;
        }
        Ok(self)
    }

    /// A failure names a checkpoint this report says failed, in one line
    /// each of what was expected and seen.
    fn validate_failure(&self, failure: &Failure) -> Result<(), ReportError> {
        let failed = self
            .checkpoints
            .iter()
            .any(|c| c.id == failure.id && c.result == Outcome::Fail);
        if !failed {
            let shown: String = failure.id.chars().take(MAX_TOKEN).collect();
            return Err(ReportError::Field {
                field: "failure",
                why: format!("it names `{shown}`, which this report does not say failed"),
            });
        }
        text("failure.expected", &failure.expected, MAX_FAILURE_TEXT)?;
        text("failure.seen", &failure.seen, MAX_FAILURE_TEXT)
    }

    /// The first checkpoint that failed, in the lesson's order: where the
    /// student is.
    pub fn first_failing(&self) -> Option<&str> {
        self.checkpoints
            .iter()
            .find(|c| c.result == Outcome::Fail)
            .map(|c| c.id.as_str())
    }

    /// The hint levels the report gives, `hints_seen` counted as level 1.
    pub fn hint_levels(&self) -> Vec<(String, u8)> {
        let mut levels: Vec<(String, u8)> = Vec::new();
        let seen = self.hints_seen.iter().map(|id| (id, 1));
        for (id, level) in seen.chain(self.hints.iter().map(|(id, level)| (id, *level))) {
            match levels.iter_mut().find(|(known, _)| known == id) {
                Some((_, known)) => *known = (*known).max(level),
                None => levels.push((id.clone(), level)),
            }
        }
        levels
    }

    /// How many checkpoints passed.
    pub fn passed(&self) -> usize {
        self.count(Outcome::Pass)
    }

    /// How many checkpoints do not apply in the student's browser.
    pub fn not_applicable(&self) -> usize {
        self.count(Outcome::NotApplicable)
    }

    fn count(&self, outcome: Outcome) -> usize {
        self.checkpoints
            .iter()
            .filter(|c| c.result == outcome)
            .count()
    }
}

fn validate_doctor(lines: &[DoctorLine]) -> Result<(), ReportError> {
    if lines.is_empty() || lines.len() > MAX_DOCTOR_LINES {
        return Err(ReportError::Field {
            field: "doctor",
            why: format!("{} lines; 1 to {MAX_DOCTOR_LINES} are allowed", lines.len()),
        });
    }
    for line in lines {
        if line.check.trim().is_empty() {
            return Err(ReportError::Field {
                field: "doctor.check",
                why: "empty".into(),
            });
        }
        text("doctor.check", &line.check, MAX_DOCTOR_CHECK)?;
        text("doctor.detail", &line.detail, MAX_DOCTOR_DETAIL)?;
    }
    Ok(())
}

/// A name as the room shows it: trimmed, not empty, at most [`MAX_NAME`]
/// characters, no control characters. Markup is fine: the page sets it as
/// text.
pub fn validate_name(name: &str) -> Result<String, ReportError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(ReportError::EmptyName);
    }
    if name.chars().count() > MAX_NAME {
        return Err(ReportError::NameTooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(ReportError::NameControl);
    }
    Ok(name.to_owned())
}

/// A machine id: letters, digits and `-`, of a length between the two of
/// [`MACHINE_ID`].
fn machine_id(id: &str) -> Result<(), ReportError> {
    let (least, most) = MACHINE_ID;
    let why = if !(least..=most).contains(&id.len()) {
        format!("{} characters; {least} to {most} are allowed", id.len())
    } else if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        "only letters, digits and `-` are allowed".to_owned()
    } else {
        return Ok(());
    };
    Err(ReportError::Field {
        field: "machine",
        why,
    })
}

/// Free text shown as one line: at most `max` characters, no control
/// characters (a newline included).
fn text(field: &'static str, value: &str, max: usize) -> Result<(), ReportError> {
    let why = if value.chars().count() > max {
        format!("longer than {max} characters")
    } else if value.chars().any(char::is_control) {
        "contains a control character".to_owned()
    } else {
        return Ok(());
    };
    Err(ReportError::Field { field, why })
}

/// A short identifier: a stage, a browser, a hint's id.
fn token(field: &'static str, value: &str) -> Result<(), ReportError> {
    let why = if value.is_empty() {
        "empty"
    } else if value.len() > MAX_TOKEN {
        "too long"
    } else if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        "only letters, digits, `-`, `_` and `.` are allowed"
    } else {
        return Ok(());
    };
    Err(ReportError::Field {
        field,
        why: why.into(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn catalogue() -> Catalogue {
        Catalogue::of(&[("app-loads", "A"), ("sync", "S")])
    }

    fn body() -> serde_json::Value {
        json!({
            "code": "ABC234",
            "name": "  Ada  ",
            "stage": "starter",
            "browser": "chromium",
            "build_id": "build-1",
            "checkpoints": [
                {"id": "app-loads", "result": "pass"},
                {"id": "sync", "result": "not-run"}
            ],
            "hints_seen": ["sync"]
        })
    }

    fn check(value: serde_json::Value) -> Result<Report, ReportError> {
        decode(value.to_string().as_bytes())?.validate("ABC234", &catalogue())
    }

    #[test]
    fn a_good_report_is_accepted_and_its_name_trimmed() {
        let report = check(body()).unwrap();
        assert_eq!(report.name, "Ada");
        assert_eq!(report.passed(), 1);
        assert_eq!(report.checkpoints[1].result, Outcome::NotRun);
    }

    #[test]
    fn the_code_is_read_as_people_type_it() {
        let mut value = body();
        value["code"] = json!("abc-234 ");
        assert!(check(value).is_ok());
        let mut value = body();
        value["code"] = json!("ABC235");
        assert_eq!(
            check(value).unwrap_err(),
            ReportError::WrongCode("ABC235".into())
        );
    }

    #[test]
    fn malformed_json_is_a_400_and_a_wrong_shape_a_422() {
        let error = decode(b"{\"code\": ").unwrap_err();
        assert_eq!(error.status(), 400);
        let error = decode(b"[1, 2]").unwrap_err();
        assert_eq!(error.status(), 422);
        let mut value = body();
        value["checkpoints"][0]["result"] = json!("maybe");
        let error = check(value).unwrap_err();
        assert_eq!(error.status(), 422);
        assert!(error.to_string().contains("maybe"), "{error}");
    }

    #[test]
    fn anything_beyond_results_and_hints_is_refused() {
        let mut value = body();
        value["source"] = json!("fn main() {}");
        let error = check(value).unwrap_err();
        assert_eq!(error.status(), 422);
        assert!(error.to_string().contains("source"), "{error}");
    }

    #[test]
    fn an_unknown_checkpoint_is_named() {
        let mut value = body();
        value["checkpoints"][1]["id"] = json!("teleport");
        assert_eq!(
            check(value).unwrap_err(),
            ReportError::UnknownCheckpoint("teleport".into())
        );
        let mut value = body();
        value["checkpoints"][1]["id"] = json!("app-loads");
        assert_eq!(
            check(value).unwrap_err(),
            ReportError::DuplicateCheckpoint("app-loads".into())
        );
    }

    #[test]
    fn names_must_be_short_printable_text() {
        assert_eq!(validate_name("   "), Err(ReportError::EmptyName));
        assert_eq!(
            validate_name(&"x".repeat(MAX_NAME + 1)),
            Err(ReportError::NameTooLong)
        );
        assert_eq!(validate_name(&"é".repeat(MAX_NAME)).unwrap().len(), 80);
        assert_eq!(validate_name("a\u{7}b"), Err(ReportError::NameControl));
        assert_eq!(validate_name("a\nb"), Err(ReportError::NameControl));
        // Markup is a name like any other: the page shows it as text.
        assert_eq!(validate_name("<b>Bo</b>").unwrap(), "<b>Bo</b>");
    }

    #[test]
    fn stages_browsers_and_hints_are_short_tokens() {
        let mut value = body();
        value["stage"] = json!("../etc");
        assert!(matches!(
            check(value),
            Err(ReportError::Field { field: "stage", .. })
        ));
        let mut value = body();
        value["hints_seen"] = json!(["<img>"]);
        assert!(matches!(
            check(value),
            Err(ReportError::Field {
                field: "hints_seen",
                ..
            })
        ));
        let mut value = body();
        value["build_id"] = json!("x".repeat(200));
        assert!(matches!(
            check(value),
            Err(ReportError::Field {
                field: "build_id",
                ..
            })
        ));
    }

    #[test]
    fn a_machine_id_is_a_short_token() {
        let mut value = body();
        value["machine"] = json!("3f9c2a7e5b104d8e9a6c1f2b3d4e5f60");
        assert!(check(value).is_ok());
        for (bad, why) in [
            ("short", "5 characters"),
            (&"a".repeat(65) as &str, "65 characters"),
            ("../../../etc/passwd", "only letters"),
        ] {
            let mut value = body();
            value["machine"] = json!(bad);
            match check(value) {
                Err(ReportError::Field {
                    field: "machine",
                    why: got,
                }) => assert!(got.contains(why), "{got}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn hints_come_in_levels_and_old_clients_count_as_level_one() {
        let mut value = body();
        value["hints"] = json!({"app-loads": 3, "sync": 2});
        value["hints_seen"] = json!(["outbox", "sync"]);
        let report = check(value).unwrap();
        assert_eq!(
            report.hint_levels(),
            [
                ("outbox".to_owned(), 1),
                ("sync".to_owned(), 2),
                ("app-loads".to_owned(), 3)
            ]
        );
        for (level, named) in [(0, "level 0"), (4, "level 4")] {
            let mut value = body();
            value["hints"] = json!({ "sync": level });
            match check(value) {
                Err(ReportError::Field {
                    field: "hints",
                    why,
                }) => {
                    assert!(why.contains("`sync`") && why.contains(named), "{why}")
                }
                other => panic!("{other:?}"),
            }
        }
        let mut value = body();
        value["hints"] = json!({ "sync": 300 });
        assert_eq!(check(value).unwrap_err().status(), 422);
    }

    #[test]
    fn a_failure_is_one_line_each_about_a_checkpoint_that_failed() {
        let failing = || {
            let mut value = body();
            value["checkpoints"][1]["result"] = json!("fail");
            value["failure"] = json!({
                "id": "sync",
                "expected": "the article on the server once",
                "seen": "no article"
            });
            value
        };
        let report = check(failing()).unwrap();
        assert_eq!(report.first_failing(), Some("sync"));
        assert_eq!(report.failure.unwrap().seen, "no article");

        let mut value = failing();
        value["failure"]["id"] = json!("app-loads");
        assert!(matches!(
            check(value),
            Err(ReportError::Field { field: "failure", why }) if why.contains("`app-loads`")
        ));
        let mut value = failing();
        value["failure"]["seen"] = json!("x".repeat(MAX_FAILURE_TEXT + 1));
        assert!(matches!(
            check(value),
            Err(ReportError::Field { field: "failure.seen", why }) if why.contains("longer than 300")
        ));
        let mut value = failing();
        value["failure"]["expected"] = json!("two\nlines");
        assert!(matches!(
            check(value),
            Err(ReportError::Field {
                field: "failure.expected",
                ..
            })
        ));
        let mut value = failing();
        value["failure"]["code"] = json!("fn main() {}");
        assert!(check(value).unwrap_err().to_string().contains("`code`"));
    }

    #[test]
    fn a_doctor_report_needs_no_check_and_an_empty_one_is_refused() {
        let doctor = json!({
            "code": "ABC234",
            "name": "Ada",
            "machine": "3f9c2a7e5b104d8e",
            "doctor": [
                {"check": "rustc", "ok": true, "detail": "1.89.0"},
                {"check": "chromium", "ok": false, "detail": "not found: apt-get install chromium"}
            ]
        });
        let report = check(doctor.clone()).unwrap();
        assert_eq!(report.doctor.as_ref().map(Vec::len), Some(2));
        assert!(report.checkpoints.is_empty());

        let mut empty = doctor.clone();
        empty.as_object_mut().unwrap().remove("doctor");
        assert_eq!(check(empty).unwrap_err(), ReportError::Empty);
        // Results need their stage and browser.
        let mut value = body();
        value.as_object_mut().unwrap().remove("stage");
        assert!(matches!(
            check(value),
            Err(ReportError::Field { field: "stage", .. })
        ));

        let mut long = doctor.clone();
        long["doctor"][1]["detail"] = json!("x".repeat(MAX_DOCTOR_DETAIL + 1));
        assert!(matches!(
            check(long),
            Err(ReportError::Field {
                field: "doctor.detail",
                ..
            })
        ));
        let mut many = doctor.clone();
        many["doctor"] = json!(vec![
            json!({"check": "c", "ok": true});
            MAX_DOCTOR_LINES + 1
        ]);
        assert!(matches!(
            check(many),
            Err(ReportError::Field {
                field: "doctor",
                ..
            })
        ));
        let mut extra = doctor;
        extra["doctor"][0]["path"] = json!("/home/ada");
        assert!(check(extra).unwrap_err().to_string().contains("`path`"));
    }
}
