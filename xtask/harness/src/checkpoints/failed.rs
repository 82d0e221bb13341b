//! A checkpoint's verdict when the app did not do what it should: what was
//! expected and what was seen, in words a student can act on.

use std::fmt;

/// A checkpoint's verdict when the app did not do what it should: what was
/// expected and what was seen. Any other error is the harness's or the
/// environment's, and is reported as what was seen.
#[derive(Debug)]
pub struct Failed {
    pub expected: String,
    pub seen: String,
}

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected {}; seen {}", self.expected, self.seen)
    }
}

impl std::error::Error for Failed {}

/// A [`Failed`], as the error a checkpoint returns.
pub fn failed(expected: impl Into<String>, seen: impl Into<String>) -> anyhow::Error {
    Failed {
        expected: expected.into(),
        seen: seen.into(),
    }
    .into()
}

/// The headlines, each in quotes, for a message.
pub fn quote_all(headlines: &[String]) -> String {
    headlines
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
