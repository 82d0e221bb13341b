//! The lesson plan: the `[timing]` of `lessons/background-sync/lesson.toml`,
//! section by section, which the instructor guide's timing table is
//! rendered from (`{{#timing}}`, in `lesson.rs`), and the session it
//! promises (`{{#timing session}}`).
//!
//! The plan is checked as it is read: the sections must add up to the
//! session, and every checkpoint must be turned green in exactly one
//! section, so that the table can neither promise a session it overruns nor
//! leave out a checkpoint that was added since. The instructor's room reads
//! the same sections (through `lesson::plan`, where the plan is read) for
//! when a student is stuck.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, ensure};

use ::lesson::checkpoints::Checkpoint;

/// The browser `cargo xtask check` uses unless told otherwise: the counts
/// in the table are its.
const DEFAULT_BROWSER: &str = "chromium";
const OTHER_BROWSER: &str = "firefox";

pub use ::lesson::plan::Timing;

/// The lesson file's `[timing]`, or `None` when it has none.
pub fn load(path: &Path) -> anyhow::Result<Option<Timing>> {
    Ok(::lesson::plan::load(path)?)
}

/// What the book makes of the plan: it checks it against the checkpoints
/// and renders it for the instructor guide.
pub trait Guide {
    /// The plan against the checkpoints: it adds up to the session, and
    /// each checkpoint has exactly one section.
    fn check(&self, checkpoints: &[Checkpoint]) -> anyhow::Result<()>;
    /// The session in words, as the guide promises it: "two hours".
    fn session_words(&self) -> String;
    /// The timing table, with the links relative to the chapter (`to_root`
    /// is `../` once per directory it is below `src/`), then what it adds
    /// up to.
    fn table(&self, checkpoints: &[Checkpoint], to_root: &str) -> anyhow::Result<String>;
}

impl Guide for Timing {
    fn check(&self, checkpoints: &[Checkpoint]) -> anyhow::Result<()> {
        ensure!(
            !self.section.is_empty(),
            "[timing] has no [[timing.section]]"
        );
        if let Some(empty) = self.section.iter().find(|s| s.minutes == 0) {
            bail!("the section \"{}\" has no minutes", empty.title);
        }
        let total = self.total();
        ensure!(
            total == self.session_minutes,
            "the sections of [timing] add up to {total} minutes, not the {} of `session_minutes` that the instructor guide promises",
            self.session_minutes
        );
        for section in &self.section {
            for id in &section.checkpoints {
                ensure!(
                    checkpoints.iter().any(|c| &c.id == id),
                    "the section \"{}\" lists `{id}`, which is not a checkpoint",
                    section.title
                );
            }
        }
        for checkpoint in checkpoints {
            let sections: Vec<&str> = self
                .section
                .iter()
                .filter(|s| s.checkpoints.contains(&checkpoint.id))
                .map(|s| s.title.as_str())
                .collect();
            ensure!(
                sections.len() == 1,
                "the checkpoint `{}` must be in exactly one section of [timing], not in {}",
                checkpoint.id,
                if sections.is_empty() {
                    "none".to_owned()
                } else {
                    sections.join(" and ")
                }
            );
        }
        Ok(())
    }

    fn session_words(&self) -> String {
        in_words(self.session_minutes)
    }

    fn table(&self, checkpoints: &[Checkpoint], to_root: &str) -> anyhow::Result<String> {
        self.check(checkpoints)?;
        let applies = |c: &Checkpoint, browser: &str| {
            c.browsers
                .as_ref()
                .is_none_or(|b| b.iter().any(|b| b == browser))
        };
        let total = checkpoints
            .iter()
            .filter(|c| applies(c, DEFAULT_BROWSER))
            .count();
        let mut out = String::from(
            "| section | minutes | what the student writes | the room is at |\n\
             | --- | --: | --- | --- |\n",
        );
        let mut passed = 0;
        for section in &self.section {
            let title = match &section.book {
                Some(book) => format!("[{}]({to_root}{book})", section.title),
                None => section.title.clone(),
            };
            let listed: Vec<&Checkpoint> = section
                .checkpoints
                .iter()
                .filter_map(|id| checkpoints.iter().find(|c| &c.id == id))
                .collect();
            passed += listed
                .iter()
                .filter(|c| applies(c, DEFAULT_BROWSER))
                .count();
            let at = if listed.is_empty() {
                "—".to_owned()
            } else if listed.iter().all(|c| c.pre_lesson) {
                format!("the pre-lesson checkpoints: {passed}/{total} ✓")
            } else {
                let ids = |keep: &dyn Fn(&Checkpoint) -> bool| {
                    listed
                        .iter()
                        .filter(|c| keep(c))
                        .map(|c| format!("`{}`", c.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                let here = ids(&|c| applies(c, DEFAULT_BROWSER));
                // Those that stand in for them in the other browser.
                let there = ids(&|c| !applies(c, DEFAULT_BROWSER) && applies(c, OTHER_BROWSER));
                let mut at = here;
                if !there.is_empty() {
                    write!(at, " (in Firefox: {there})")?;
                }
                write!(at, ": {passed}/{total} ✓")?;
                at
            };
            writeln!(
                out,
                "| {title} | {} | {} | {at} |",
                section.minutes,
                section.writes.as_deref().unwrap_or("—"),
            )?;
        }
        let slides: u32 = self
            .section
            .iter()
            .filter(|s| s.slides)
            .map(|s| s.minutes)
            .sum();
        let firefox: Vec<&Checkpoint> = checkpoints
            .iter()
            .filter(|c| applies(c, OTHER_BROWSER))
            .collect();
        write!(
            out,
            "\nThat is {} minutes: {}, as promised above. A room that has seen the slides in an \
             earlier session needs {}. The counts are `cargo xtask check`'s in Chromium; in \
             Firefox the trail is {} checkpoints, {} of them passing before the lesson.\n",
            self.total(),
            self.session_words(),
            self.total() - slides,
            firefox.len(),
            firefox.iter().filter(|c| c.pre_lesson).count()
        )?;
        Ok(out)
    }
}

/// Minutes as the guide says them: "two hours", "an hour and a half",
/// "two and a half hours", "95 minutes".
fn in_words(minutes: u32) -> String {
    const NUMBERS: [&str; 9] = [
        "", "one", "two", "three", "four", "five", "six", "seven", "eight",
    ];
    let (hours, rest) = (minutes / 60, minutes % 60);
    match (hours, rest) {
        (1, 0) => "an hour".to_owned(),
        (1, 30) => "an hour and a half".to_owned(),
        (2..=8, 0) => format!("{} hours", NUMBERS[hours as usize]),
        (2..=8, 30) => format!("{} and a half hours", NUMBERS[hours as usize]),
        _ => format!("{minutes} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::lesson::checkpoints;

    const CHECKPOINTS: &str = r#"
[[checkpoint]]
id = "loads"
title = "Loads"
goal = 0
pre_lesson = true
hint = "h"
book = "a.md"

[[checkpoint]]
id = "sync"
title = "Syncs"
goal = 2
pre_lesson = false
hint = "h"
book = "a.md"
browsers = ["chromium"]

[[checkpoint]]
id = "fallback"
title = "Falls back"
goal = 2
pre_lesson = false
hint = "h"
book = "a.md"
browsers = ["firefox"]
"#;

    fn plan(minutes: [u32; 3]) -> Timing {
        let text = format!(
            r#"
[timing]
session_minutes = 60
[[timing.section]]
title = "Slides"
minutes = {}
slides = true
[[timing.section]]
title = "Set-up"
minutes = {}
checkpoints = ["loads"]
[[timing.section]]
title = "Sync"
minutes = {}
book = "ch/sync.md#top"
writes = "`on_sync`"
checkpoints = ["sync", "fallback"]
"#,
            minutes[0], minutes[1], minutes[2]
        );
        ::lesson::plan::parse(&text, Path::new("lesson.toml"))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn the_table_counts_what_the_room_has_passed_after_each_section() {
        let checkpoints = checkpoints::parse(CHECKPOINTS, Path::new("checkpoints.toml")).unwrap();
        let table = plan([10, 20, 30]).table(&checkpoints, "../").unwrap();
        assert!(table.contains("| Slides | 10 | — | — |"), "{table}");
        assert!(
            table.contains("| Set-up | 20 | — | the pre-lesson checkpoints: 1/2 ✓ |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| [Sync](../ch/sync.md#top) | 30 | `on_sync` | `sync` (in Firefox: `fallback`): 2/2 ✓ |"
            ),
            "{table}"
        );
        assert!(
            table.contains("That is 60 minutes: an hour, as promised above."),
            "{table}"
        );
        assert!(table.contains("needs 50"), "{table}");
        assert!(
            table.contains("in Firefox the trail is 2 checkpoints, 1 of them"),
            "{table}"
        );
    }

    #[test]
    fn a_plan_that_overruns_the_session_or_misses_a_checkpoint_is_refused() {
        let checkpoints = checkpoints::parse(CHECKPOINTS, Path::new("checkpoints.toml")).unwrap();
        let error = plan([10, 20, 40]).check(&checkpoints).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("add up to 70 minutes, not the 60"),
            "{error}"
        );
        let mut missing = plan([10, 20, 30]);
        missing.section[2].checkpoints.pop();
        let error = missing.check(&checkpoints).unwrap_err();
        assert!(error.to_string().contains("`fallback`"), "{error}");
        let mut twice = plan([10, 20, 30]);
        twice.section[0].checkpoints.push("sync".into());
        let error = twice.check(&checkpoints).unwrap_err();
        assert!(error.to_string().contains("Slides and Sync"), "{error}");
        let mut unknown = plan([10, 20, 30]);
        unknown.section[1].checkpoints.push("teleport".into());
        let error = unknown.check(&checkpoints).unwrap_err();
        assert!(error.to_string().contains("`teleport`"), "{error}");
    }

    /// The lesson's own plan: it fits the session the guide promises, and
    /// times every checkpoint.
    #[test]
    fn the_lessons_plan_adds_up_to_the_session() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lessons/background-sync");
        let checkpoints = checkpoints::load(&root.join("checkpoints.toml")).unwrap();
        let timing = load(&root.join("lesson.toml")).unwrap().unwrap();
        timing.check(&checkpoints).unwrap();
        assert_eq!(timing.total(), timing.session_minutes);
    }

    #[test]
    fn sessions_are_said_in_words() {
        assert_eq!(in_words(120), "two hours");
        assert_eq!(in_words(90), "an hour and a half");
        assert_eq!(in_words(150), "two and a half hours");
        assert_eq!(in_words(60), "an hour");
        assert_eq!(in_words(135), "135 minutes");
    }
}
