//! The book's anchors in the stages' code: `// ANCHOR: name` ...
//! `// ANCHOR_END: name`, as mdBook reads them (`{{#include file:name}}`).
//!
//! `cargo xtask reveal` prints a solution's region, and the trail's steps
//! (`cargo xtask trail --steps`) put the solution's region in place of the
//! starter's region of the same name; the book checks that every region it
//! includes is there and not empty, and the tidy tests that every region a
//! checkpoint's `reveal` names exists in both stages. All of it is plain
//! text work, kept here apart from the I/O so that it is tested natively.
//!
//! As in mdBook: a region runs from the first `ANCHOR: name` line to the
//! next `ANCHOR_END: name` line; the name is letters, digits, `_` and `-`;
//! regions may nest or overlap, and when one is shown the lines holding any
//! marker are left out.

use std::fmt;

const START: &str = "ANCHOR:";
const END: &str = "ANCHOR_END:";

/// The anchor name after `marker` on `line`, if the line has that marker.
fn marker<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let rest = line[line.find(marker)? + marker.len()..].trim_start();
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}

/// Whether a line holds a marker of any region (mdBook leaves those out).
fn is_marker(line: &str) -> bool {
    marker(line, START).is_some() || marker(line, END).is_some()
}

/// What is wrong with a region, or with a `reveal` entry naming one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnchorError {
    /// No `ANCHOR: name` line.
    NoStart { name: String },
    /// `ANCHOR: name` on `line` (from 1), and no `ANCHOR_END: name` after it.
    NoEnd { name: String, line: usize },
    /// A `reveal` entry that is not `file:anchor`.
    NotFileAndAnchor { entry: String },
    /// [`replace`]: the region is wrong in `side` ("the source", "the file
    /// it goes into"); the cause says how.
    Replacing {
        side: &'static str,
        cause: Box<AnchorError>,
    },
}

impl fmt::Display for AnchorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnchorError::NoStart { name } => write!(f, "no `ANCHOR: {name}`"),
            AnchorError::NoEnd { name, line } => write!(
                f,
                "`ANCHOR: {name}` (line {line}) has no `ANCHOR_END: {name}` after it"
            ),
            AnchorError::NotFileAndAnchor { entry } => write!(
                f,
                "`{entry}` should be `file:anchor`, as `src/worker.rs:on_sync`"
            ),
            // The cause is the error's source: printed after it, as `in the
            // source: no `ANCHOR: x``.
            AnchorError::Replacing { side, .. } => write!(f, "in {side}"),
        }
    }
}

impl std::error::Error for AnchorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AnchorError::Replacing { cause, .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}

/// Where the region `name` is: the indices (from 0) of its `ANCHOR` line and
/// of its `ANCHOR_END` line.
fn span(lines: &[&str], name: &str) -> Result<(usize, usize), AnchorError> {
    let Some(start) = lines.iter().position(|l| marker(l, START) == Some(name)) else {
        return Err(AnchorError::NoStart {
            name: name.to_owned(),
        });
    };
    let Some(len) = lines[start + 1..]
        .iter()
        .position(|l| marker(l, END) == Some(name))
    else {
        return Err(AnchorError::NoEnd {
            name: name.to_owned(),
            line: start + 1,
        });
    };
    Ok((start, start + 1 + len))
}

/// The region `name` of `text` as the book shows it: its first line's
/// number (from 1) and its lines, without any marker lines.
pub fn region(text: &str, name: &str) -> Result<(usize, String), AnchorError> {
    let lines: Vec<&str> = text.lines().collect();
    let (start, end) = span(&lines, name)?;
    let inside = &lines[start + 1..end];
    let first = inside
        .iter()
        .position(|l| !is_marker(l))
        .map_or(start + 2, |i| start + 2 + i);
    let shown: Vec<&str> = inside.iter().copied().filter(|l| !is_marker(l)).collect();
    Ok((first, shown.join("\n")))
}

/// `into` with the lines inside its region `name` replaced by the lines
/// inside the region of the same name in `from`, markers of nested regions
/// included (a later step may replace one of those); the two `name` marker
/// lines of `into` stay as they are.
pub fn replace(into: &str, from: &str, name: &str) -> Result<String, AnchorError> {
    let replacing = |side| {
        move |cause| AnchorError::Replacing {
            side,
            cause: Box::new(cause),
        }
    };
    let from_lines: Vec<&str> = from.lines().collect();
    let (from_start, from_end) = span(&from_lines, name).map_err(replacing("the source"))?;
    let into_lines: Vec<&str> = into.lines().collect();
    let (start, end) = span(&into_lines, name).map_err(replacing("the file it goes into"))?;
    let mut out: Vec<&str> = Vec::with_capacity(into_lines.len());
    out.extend_from_slice(&into_lines[..=start]);
    out.extend_from_slice(&from_lines[from_start + 1..from_end]);
    out.extend_from_slice(&into_lines[end..]);
    let mut text = out.join("\n");
    if into.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

/// A checkpoint's `reveal` entry, `src/worker.rs:on_sync`: the file
/// (relative to the stage crate) and the anchor.
pub fn split_entry(entry: &str) -> Result<(&str, &str), AnchorError> {
    match entry.rsplit_once(':') {
        Some((file, name)) if !file.is_empty() && !name.is_empty() => Ok((file, name)),
        _ => Err(AnchorError::NotFileAndAnchor {
            entry: entry.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOLUTION: &str = "\
fn a() {}
// ANCHOR: outer
fn outer() {
    // ANCHOR: inner
    inner();
    // ANCHOR_END: inner
}
// ANCHOR_END: outer
// ANCHOR: inner_more
fn inner_more() {}
// ANCHOR_END: inner_more
";

    #[test]
    fn a_region_is_shown_without_any_marker_line() {
        let (line, code) = region(SOLUTION, "outer").unwrap();
        assert_eq!(line, 3);
        assert_eq!(code, "fn outer() {\n    inner();\n}");
        assert_eq!(
            region(SOLUTION, "inner").unwrap(),
            (5, "    inner();".into())
        );
    }

    #[test]
    fn names_match_whole() {
        // `inner` is not `inner_more`, nor the other way round.
        assert_eq!(
            region(SOLUTION, "inner_more").unwrap().1,
            "fn inner_more() {}"
        );
        assert_eq!(marker("// ANCHOR: inner_more", START), Some("inner_more"));
        assert_eq!(marker("// ANCHOR_END: inner", START), None);
        assert_eq!(marker("    //ANCHOR:x-y z", START), Some("x-y"));
        assert_eq!(marker("// ANCHOR:", START), None);
    }

    #[test]
    fn a_missing_region_is_an_error_that_says_which() {
        let error = region(SOLUTION, "nowhere").unwrap_err().to_string();
        assert!(error.contains("ANCHOR: nowhere"), "{error}");
        let error = region("// ANCHOR: open\nx\n", "open")
            .unwrap_err()
            .to_string();
        assert!(error.contains("no `ANCHOR_END: open`"), "{error}");
    }

    #[test]
    fn replacing_swaps_only_the_inside_of_the_region() {
        let starter = "\
use x;
// ANCHOR: outer
fn outer() {
    // ANCHOR: inner
    // TODO(inner)
    // ANCHOR_END: inner
}
// ANCHOR_END: outer
fn after() {}
";
        let replaced = replace(starter, SOLUTION, "inner").unwrap();
        assert_eq!(
            replaced,
            starter.replace("    // TODO(inner)", "    inner();"),
            "{replaced}"
        );
        // The outer region brings the nested markers along, so a later step
        // can still find `inner`, and replacing it again changes nothing.
        let replaced = replace(starter, SOLUTION, "outer").unwrap();
        assert_eq!(
            replaced,
            "use x;\n// ANCHOR: outer\nfn outer() {\n    // ANCHOR: inner\n    inner();\n    // ANCHOR_END: inner\n}\n// ANCHOR_END: outer\nfn after() {}\n"
        );
        assert_eq!(replace(&replaced, SOLUTION, "inner").unwrap(), replaced);
    }

    #[test]
    fn replacing_needs_the_region_on_both_sides() {
        let error = replace("fn a() {}\n", SOLUTION, "outer").unwrap_err();
        assert_eq!(error.to_string(), "in the file it goes into");
        let cause = std::error::Error::source(&error).unwrap().to_string();
        assert_eq!(cause, "no `ANCHOR: outer`");
        let error = replace(SOLUTION, "fn a() {}\n", "outer").unwrap_err();
        assert_eq!(error.to_string(), "in the source");
    }

    #[test]
    fn entries_split_at_the_last_colon() {
        assert_eq!(
            split_entry("src/worker.rs:on_sync").unwrap(),
            ("src/worker.rs", "on_sync")
        );
        assert!(split_entry("src/worker.rs").is_err());
        assert!(split_entry("src/worker.rs:").is_err());
    }
}
