//! The lesson's checkpoints, as `lessons/background-sync/checkpoints.toml`
//! writes them: read here once, for the harness (which checks them), the
//! book (which renders their table) and the room (whose columns they are).
//!
//! The file is strict: a field it does not know is an error, so that a typo
//! (`hint_mroe`) cannot pass unseen, and a field added to the file is added
//! here, where every tool sees it at once.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// One `[[checkpoint]]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    pub id: String,
    pub title: String,
    /// 0: works before the lesson; 1..=4: the lesson goal it proves.
    pub goal: u8,
    pub pre_lesson: bool,
    /// Level 1: the approach in words, the rule behind it and the helpers
    /// by name (what `check` and `hint` print). `{stage}` stands for the
    /// stage's directory.
    pub hint: String,
    /// Level 2: the shape of the solution, its steps in order, still no
    /// code (`hint --more`); level 3 is `reveal`.
    #[serde(default)]
    pub hint_more: Option<String>,
    /// The section that explains it, relative to the book's `src/`.
    pub book: String,
    /// The browsers it runs in; all when absent.
    #[serde(default)]
    pub browsers: Option<Vec<String>>,
    /// With `browsers`: why it does not run in the others, and what stands
    /// in for it there (a report says so instead of skipping silently).
    #[serde(default)]
    pub elsewhere: Option<String>,
    /// Where Firefox's way differs: what its variant checks.
    #[serde(default)]
    pub firefox: Option<Variant>,
    /// The solution's code that makes it pass, as `file:anchor` (the file
    /// relative to the stage crate, the anchor as the book's `// ANCHOR:`
    /// markers name it): what `cargo xtask reveal` prints and the trail's
    /// steps apply one checkpoint at a time. Empty for pre-lesson ones.
    #[serde(default)]
    pub reveal: Vec<String>,
}

/// A checkpoint as one browser checks it, where its way differs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub title: String,
    /// The hint, when it differs from the checkpoint's.
    #[serde(default)]
    pub hint: Option<String>,
    /// The level-2 hint, when it differs from the checkpoint's.
    #[serde(default)]
    pub hint_more: Option<String>,
}

impl Checkpoint {
    /// Whether it runs in `browser` ("chromium", "firefox").
    pub fn applies_to(&self, browser: &str) -> bool {
        self.browsers
            .as_ref()
            .is_none_or(|b| b.iter().any(|b| b == browser))
    }

    /// The checkpoint as `browser` checks it: its variant's title and hints
    /// where it has them.
    pub fn in_browser(mut self, browser: &str) -> Checkpoint {
        let variant = match browser {
            "firefox" => self.firefox.take(),
            _ => None,
        };
        if let Some(variant) = variant {
            self.title = variant.title;
            if let Some(hint) = variant.hint {
                self.hint = hint;
            }
            if let Some(more) = variant.hint_more {
                self.hint_more = Some(more);
            }
        }
        self
    }
}

/// What is wrong with a checkpoint file.
#[derive(Debug)]
pub enum CheckpointsError {
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Not TOML, or not the fields above.
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    /// No `[[checkpoint]]` at all.
    Empty { path: PathBuf },
    /// One checkpoint breaks a rule of the file; `why` says which.
    Invalid {
        path: PathBuf,
        id: String,
        why: String,
    },
}

impl fmt::Display for CheckpointsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointsError::Read { path, .. } => {
                write!(f, "cannot read the checkpoints file {}", path.display())
            }
            CheckpointsError::Parse { path, source } => write!(
                f,
                "the checkpoints file {} is not valid: {source}",
                path.display()
            ),
            CheckpointsError::Empty { path } => write!(
                f,
                "the checkpoints file {} lists no checkpoints",
                path.display()
            ),
            CheckpointsError::Invalid { path, id, why } => write!(
                f,
                "the checkpoints file {}: checkpoint `{id}` {why}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for CheckpointsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CheckpointsError::Read { source, .. } => Some(source),
            // Its text is already in the message.
            _ => None,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    checkpoint: Vec<Checkpoint>,
}

/// The checkpoints of the file at `path`, in its order.
pub fn load(path: &Path) -> Result<Vec<Checkpoint>, CheckpointsError> {
    let text = std::fs::read_to_string(path).map_err(|source| CheckpointsError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// The checkpoints of `text`, in its order, checked against the file's
/// rules (`path` only names the file in errors).
pub fn parse(text: &str, path: &Path) -> Result<Vec<Checkpoint>, CheckpointsError> {
    let file: File = toml::from_str(text).map_err(|source| CheckpointsError::Parse {
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    if file.checkpoint.is_empty() {
        return Err(CheckpointsError::Empty {
            path: path.to_owned(),
        });
    }
    for (i, c) in file.checkpoint.iter().enumerate() {
        let invalid = |why: String| CheckpointsError::Invalid {
            path: path.to_owned(),
            id: c.id.clone(),
            why,
        };
        if let Some(why) = problem(c) {
            return Err(invalid(why));
        }
        if file.checkpoint[..i]
            .iter()
            .any(|earlier| earlier.id == c.id)
        {
            return Err(invalid("is listed twice".to_owned()));
        }
    }
    Ok(file.checkpoint)
}

/// What breaks the file's rules in one checkpoint, if anything.
fn problem(c: &Checkpoint) -> Option<String> {
    if c.elsewhere.is_some() && c.browsers.is_none() {
        return Some(
            "has `elsewhere` (why it does not run in some browsers), so it needs `browsers`"
                .to_owned(),
        );
    }
    if c.pre_lesson && !c.reveal.is_empty() {
        return Some("passes before the lesson, so it has no solution code to `reveal`".to_owned());
    }
    if let Some(bad) = c.reveal.iter().find(|r| !is_file_and_anchor(r)) {
        return Some(format!(
            "has the `reveal` entry {bad:?}; it should be `path/in/the/stage.rs:anchor_name`"
        ));
    }
    if c.goal > 4 || (c.goal == 0) != c.pre_lesson {
        return Some(format!(
            "has goal {} and pre_lesson {}: goal 0 is exactly the pre-lesson checkpoints, the others 1 to 4",
            c.goal, c.pre_lesson
        ));
    }
    None
}

/// `src/worker.rs:on_sync`: a relative path, a colon, an anchor name as
/// mdBook reads one (letters, digits, `_` and `-`).
fn is_file_and_anchor(entry: &str) -> bool {
    entry.split_once(':').is_some_and(|(file, anchor)| {
        !file.is_empty()
            && !file.starts_with('/')
            && !file.contains("..")
            && !anchor.is_empty()
            && anchor
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = r#"
[[checkpoint]]
id = "b"
title = "B"
goal = 0
pre_lesson = true
hint = "look at {stage}/src/page.rs"
book = "background-sync/a.md"

[[checkpoint]]
id = "a"
title = "A"
goal = 2
pre_lesson = false
hint = "the approach"
hint_more = "the steps"
book = "background-sync/a.md#a"
browsers = ["chromium"]
elsewhere = "Firefox has no Background Sync"
reveal = ["src/worker.rs:on_sync"]

[checkpoint.firefox]
title = "A in Firefox"
hint_more = "the steps in Firefox"
"#;

    fn parsed(text: &str) -> Result<Vec<Checkpoint>, CheckpointsError> {
        parse(text, Path::new("c.toml"))
    }

    #[test]
    fn the_file_order_and_every_field_are_kept() {
        let list = parsed(TWO).unwrap();
        let ids: Vec<&str> = list.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        assert_eq!(list[1].hint_more.as_deref(), Some("the steps"));
        assert_eq!(list[1].reveal, ["src/worker.rs:on_sync"]);
        assert!(list[0].applies_to("firefox"));
        assert!(list[1].applies_to("chromium") && !list[1].applies_to("firefox"));
    }

    #[test]
    fn a_browser_sees_its_variant() {
        let a = parsed(TWO).unwrap().remove(1);
        let firefox = a.clone().in_browser("firefox");
        assert_eq!(firefox.title, "A in Firefox");
        assert_eq!(firefox.hint, "the approach");
        assert_eq!(firefox.hint_more.as_deref(), Some("the steps in Firefox"));
        let chromium = a.clone().in_browser("chromium");
        assert_eq!(chromium.title, "A");
        assert_eq!(chromium.hint_more.as_deref(), Some("the steps"));
    }

    #[test]
    fn an_unknown_field_is_an_error_that_names_it() {
        let error = parsed(&TWO.replace("hint_more = \"the steps\"", "hint_mroe = \"x\""))
            .unwrap_err()
            .to_string();
        assert!(error.contains("hint_mroe"), "{error}");
    }

    #[test]
    fn each_rule_of_the_file_is_said_with_the_checkpoint() {
        let cases = [
            (
                TWO.replace("browsers = [\"chromium\"]\n", ""),
                "needs `browsers`",
            ),
            (
                TWO.replace(
                    "goal = 0\npre_lesson = true",
                    "goal = 0\npre_lesson = true\nreveal = [\"src/a.rs:x\"]",
                ),
                "no solution code",
            ),
            (
                TWO.replace("src/worker.rs:on_sync", "src/worker.rs"),
                "`reveal` entry",
            ),
            (TWO.replace("goal = 2", "goal = 0"), "goal 0"),
            (TWO.replace("goal = 2", "goal = 5"), "goal 5"),
            (TWO.replace("id = \"a\"", "id = \"b\""), "listed twice"),
        ];
        for (text, expected) in cases {
            let error = parsed(&text).unwrap_err().to_string();
            assert!(error.contains(expected), "{expected}: {error}");
            assert!(error.contains("c.toml"), "{error}");
        }
        let error = parsed("").unwrap_err().to_string();
        assert!(error.contains("no checkpoints"), "{error}");
    }

    #[test]
    fn reveal_entries_name_a_file_and_an_anchor() {
        for good in ["src/worker.rs:on_sync", "src/page.rs:ask-worker2"] {
            assert!(is_file_and_anchor(good), "{good}");
        }
        for bad in [
            "src/worker.rs",
            "src/worker.rs:",
            ":on_sync",
            "/etc/passwd:x",
            "../solution/src/worker.rs:on_sync",
            "src/worker.rs:on sync",
        ] {
            assert!(!is_file_and_anchor(bad), "{bad}");
        }
    }

    #[test]
    fn the_lessons_file_is_valid() {
        // This crate is `xtask/lesson`.
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(crate::workspace::CHECKPOINTS);
        let list = load(&path).unwrap();
        assert!(list.iter().any(|c| c.id == "app-loads"));
        assert!(list.iter().all(|c| c.book.starts_with("background-sync/")));
    }
}
