//! A student's report: what `room send` posts and the room accepts.
//!
//! The wire format is deliberately small and closed (`deny_unknown_fields`):
//! checkpoint results, the hints the student has seen, the stage, the browser
//! and the stage's build id. A report carrying anything else — a file, a
//! snippet of code — is refused, so the room can never become a place where
//! students' code ends up.

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

/// A report as it arrives: decoded, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub code: String,
    pub name: String,
    pub stage: String,
    pub browser: String,
    #[serde(default)]
    pub build_id: String,
    pub checkpoints: Vec<CheckpointResult>,
    #[serde(default)]
    pub hints_seen: Vec<String>,
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
        token("stage", &self.stage)?;
        token("browser", &self.browser)?;
        if self.build_id.chars().count() > MAX_BUILD_ID {
            return Err(ReportError::Field {
                field: "build_id",
                why: format!("longer than {MAX_BUILD_ID} characters"),
            });
        }
        if self.build_id.chars().any(char::is_control) {
            return Err(ReportError::Field {
                field: "build_id",
                why: "contains a control character".into(),
            });
        }
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
        if self.hints_seen.len() > MAX_HINTS {
            return Err(ReportError::Field {
                field: "hints_seen",
                why: format!("more than {MAX_HINTS} hints"),
            });
        }
        for hint in &self.hints_seen {
            token("hints_seen", hint)?;
        }
        Ok(self)
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
}
