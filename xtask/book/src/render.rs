//! One build of the book, with what mdBook logs caught and checked.
//!
//! mdBook reports a broken `{{#include}}` by logging an ERROR and carrying on
//! (it leaves the directive in the page and the build succeeds), so the logs
//! are part of the result here: every WARN or ERROR it logs is a problem.

use std::fmt::{self, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use anyhow::Context;
use mdbook_driver::MDBook;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Subscriber;
use tracing::{Event, Level, Metadata};

use crate::lesson::Lesson;
use crate::paths::Paths;
use crate::verify;

/// Builds the book into `dest`, prints what went wrong, and fails if
/// anything did.
pub fn build_and_report(paths: &Paths, dest: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let problems = build(paths, dest)?;
    if problems.is_empty() {
        eprintln!(
            "book: built and checked in {:.1}s",
            started.elapsed().as_secs_f32()
        );
        return Ok(());
    }
    for problem in &problems {
        eprintln!("book: {problem}");
    }
    anyhow::bail!(
        "the book has {} problem(s), listed above; it was written to {} anyway",
        problems.len(),
        dest.display()
    )
}

/// Builds the book into `dest` and returns every problem found: in the
/// sources (includes and anchors), in mdBook's log, and in the output
/// (links, fragments, left-over directives, empty code blocks). An `Err` is a
/// build that could not finish at all.
pub fn build(paths: &Paths, dest: &Path) -> anyhow::Result<Vec<String>> {
    let mut problems = verify::sources(&paths.book.join("src"))?;
    let logged = Logged::default();
    let built = tracing::subscriber::with_default(logged.clone(), || -> anyhow::Result<()> {
        let mut book = MDBook::load(&paths.book)
            .with_context(|| format!("cannot load the book in {}", paths.book.display()))?;
        book.config.build.build_dir = dest.to_owned();
        book.with_preprocessor(Lesson::new(&paths.checkpoints, &paths.plan));
        book.build().context("mdBook could not build the book")
    });
    problems.extend(
        logged
            .take()
            .into_iter()
            .map(|line| format!("mdBook: {line}")),
    );
    built?;
    problems.extend(verify::output(dest)?);
    Ok(problems)
}

/// A `tracing` subscriber that keeps every WARN and ERROR event as a line of
/// text. mdBook logs through `tracing`; installed with `with_default`, this
/// only sees the build running on the same thread.
#[derive(Clone, Default)]
struct Logged {
    lines: Arc<Mutex<Vec<String>>>,
}

impl Logged {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Subscriber for Logged {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::WARN
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::WARN)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = Text(String::new());
        event.record(&mut text);
        let line = format!("{} {}", event.metadata().level(), text.0.trim());
        self.lines
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(line);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// An event's message, then its other fields as `name=value`.
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?} ");
        } else {
            let _ = write!(self.0, "{}={value:?} ", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// The real book: every include, anchor and link resolves, and mdBook
    /// logs nothing worse than INFO. Part of `cargo xtask test`.
    #[test]
    fn the_book_builds_without_a_problem() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .canonicalize()
            .unwrap();
        let paths = Paths::in_workspace(&workspace);
        let dest = tempfile::tempdir().unwrap();
        let problems = build(&paths, dest.path()).unwrap();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let table = fs::read_to_string(dest.path().join("checkpoints.html")).unwrap();
        let checkpoints = ::lesson::checkpoints::load(&paths.checkpoints).unwrap();
        for checkpoint in checkpoints {
            let id = format!("<code>{}</code>", checkpoint.id);
            assert!(table.contains(&id), "{} is not in the table", checkpoint.id);
        }
    }

    /// A small book with every kind of breakage the checks exist for: each
    /// must be reported (mdBook itself would exit 0 on all of them).
    #[test]
    fn every_kind_of_breakage_is_reported() {
        let root = tempfile::tempdir().unwrap();
        let book = root.path().join("book");
        fs::create_dir_all(book.join("src/part")).unwrap();
        fs::write(
            book.join("book.toml"),
            "[book]\ntitle = \"t\"\n[build]\ncreate-missing = false\n",
        )
        .unwrap();
        fs::write(
            book.join("src/SUMMARY.md"),
            "# Summary\n\n- [One](one.md)\n- [Two](part/two.md)\n",
        )
        .unwrap();
        fs::write(
            root.path().join("code.rs"),
            "// ANCHOR: good\nfn good() {}\n// ANCHOR_END: good\n// ANCHOR: hollow\n// ANCHOR_END: hollow\n",
        )
        .unwrap();
        fs::write(
            book.join("src/one.md"),
            "# One\n\n## Here\n\n\
             ```rust\n{{#include ../../code.rs:good}}\n```\n\n\
             ```rust\n{{#include ../../missing.rs}}\n```\n\n\
             ```rust\n{{#include ../../code.rs:nowhere}}\n```\n\n\
             ```rust\n{{#include ../../code.rs:hollow}}\n```\n\n\
             [fine](part/two.md#there) [gone](part/three.md) [wrong](part/two.md#nowhere) \
             [self](#here) [self-wrong](#nothere)\n\n{{#checkpoints}}\n",
        )
        .unwrap();
        fs::write(
            book.join("src/part/two.md"),
            "# Two\n\n## There\n\n[back](../one.md#here)\n",
        )
        .unwrap();
        let checkpoints = root.path().join("checkpoints.toml");
        fs::write(
            &checkpoints,
            "[[checkpoint]]\nid = \"c\"\ntitle = \"C\"\ngoal = 1\npre_lesson = false\nhint = \"h\"\nbook = \"part/two.html#gone\"\n",
        )
        .unwrap();
        let paths = Paths {
            workspace: root.path().to_owned(),
            book,
            checkpoints,
            plan: root.path().join("lesson.toml"),
        };
        let dest = root.path().join("out");
        let problems = build(&paths, &dest).unwrap().join("\n");
        for expected in [
            "{{#include ../../missing.rs}}: there is no file",
            "{{#include ../../code.rs:nowhere}}: there is no anchor `nowhere`",
            "{{#include ../../code.rs:hollow}}: the anchor `hollow` is empty",
            "mdBook: ERROR",
            "one.html: a directive was left in the page: {{#include ../../missing.rs}}",
            "one.html: an empty code block",
            "one.html: broken link `part/three.html`: no such file in the book",
            "one.html: broken link `part/two.html#nowhere`: no id `nowhere` in that page",
            "one.html: broken link `#nothere`: no id `nothere` in that page",
            "one.html: broken link `part/two.html#gone`: no id `gone` in that page",
        ] {
            assert!(
                problems.contains(expected),
                "`{expected}` was not reported; the report was:\n{problems}"
            );
        }
        for fine in ["code.rs:good", "#there`", "#here`"] {
            assert!(
                !problems.contains(fine),
                "`{fine}` was reported:\n{problems}"
            );
        }
    }
}
