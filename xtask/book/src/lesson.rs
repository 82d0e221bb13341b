//! The `lesson` preprocessor: the directives this book adds to Markdown.
//!
//! - `{{#checkpoints}}`: the table of every checkpoint, rendered from
//!   `checkpoints.toml`, each linked to the section that explains it.
//!   `{{#checkpoints goal=2}}` (or `{{#checkpoints id other-id}}`) lists only
//!   some, with the hint `cargo xtask check` prints when one fails.
//! - `{{#screenshot NAME CAPTION}}`: `src/screenshots/NAME.png` with its
//!   caption, or, until the browser harness has made it, a marked placeholder.
//! - `{{#slides}}`: marks a chapter as a slide deck (see `theme/slides.js`)
//!   and puts the "Present" button on it.
//! - `{{#timing}}`: the instructor guide's timing table, rendered from the
//!   `[timing]` of the lesson's `lesson.toml` (see `timing.rs`), which
//!   must add up to the session; `{{#timing session}}`: that session in
//!   words ("two hours").
//!
//! mdBook's own `{{#include}}` runs before this, so these work in included
//! files too. A `\` before `{{#` leaves a directive as it is written.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use mdbook_driver::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};

use crate::timing::{self, Guide, Timing};
use ::lesson::checkpoints::{self, Checkpoint};

/// The stage a student works in; hints name it where they say `{stage}`.
const STUDENT_STAGE: &str = "starter";

pub struct Lesson {
    checkpoints: PathBuf,
    /// `lesson.toml`, for its `[timing]`.
    plan: PathBuf,
}

impl Lesson {
    pub fn new(checkpoints: &Path, plan: &Path) -> Lesson {
        Lesson {
            checkpoints: checkpoints.to_owned(),
            plan: plan.to_owned(),
        }
    }
}

impl Preprocessor for Lesson {
    fn name(&self) -> &str {
        "lesson"
    }

    fn run(&self, ctx: &PreprocessorContext, mut book: Book) -> anyhow::Result<Book> {
        let checkpoints = checkpoints::load(&self.checkpoints)?;
        // Only a book that uses `{{#timing}}` needs the plan.
        let timing = if self.plan.is_file() {
            timing::load(&self.plan)?
        } else {
            None
        };
        let src = ctx.root.join(&ctx.config.book.src);
        let chapters: HashMap<PathBuf, Chapter> = book
            .iter()
            .filter_map(|item| match item {
                BookItem::Chapter(chapter) => Some((
                    chapter.path.clone()?,
                    Chapter {
                        name: chapter.name.clone(),
                        headings: headings(&chapter.content),
                    },
                )),
                _ => None,
            })
            .collect();
        let mut errors = Vec::new();
        book.for_each_chapter_mut(|chapter| {
            let Some(path) = chapter.path.clone() else {
                return;
            };
            let page = Page {
                path: &path,
                src: &src,
                checkpoints: &checkpoints,
                chapters: &chapters,
                timing: timing.as_ref(),
            };
            match expand(&chapter.content, &page) {
                Ok(content) => chapter.content = content,
                Err(error) => errors.push(format!("{}: {error:#}", path.display())),
            }
        });
        ensure!(errors.is_empty(), "{}", errors.join("\n"));
        Ok(book)
    }
}

/// What a directive needs to know about the chapter it is in.
struct Page<'a> {
    /// The chapter, relative to `src/`.
    path: &'a Path,
    src: &'a Path,
    checkpoints: &'a [Checkpoint],
    chapters: &'a HashMap<PathBuf, Chapter>,
    timing: Option<&'a Timing>,
}

/// What a checkpoint's link needs to know about the chapter it points to.
struct Chapter {
    name: String,
    /// Each heading's `id` (as mdBook makes it) and text.
    headings: HashMap<String, String>,
}

/// The headings of a chapter's Markdown, by the `id` mdBook gives them:
/// lowercase, spaces to `-`, only letters, digits, `-` and `_` kept.
fn headings(markdown: &str) -> HashMap<String, String> {
    let mut found = HashMap::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        let Some(text) = line.strip_prefix('#').filter(|_| !in_fence) else {
            continue;
        };
        let text = text
            .trim_start_matches('#')
            .trim()
            .trim_end_matches('#')
            .trim();
        let id: String = text
            .chars()
            .filter_map(|c| match c {
                c if c.is_whitespace() => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .flat_map(char::to_lowercase)
            .collect();
        found.entry(id).or_insert_with(|| text.replace('`', ""));
    }
    found
}

impl Page<'_> {
    /// `../` once per directory the chapter is below `src/`: links and
    /// images in generated Markdown are relative to the chapter.
    fn to_root(&self) -> String {
        let depth = self.path.components().count().saturating_sub(1);
        "../".repeat(depth)
    }
}

/// A `{{#name args}}` found in a text.
#[derive(Debug, PartialEq, Eq)]
pub struct Directive<'a> {
    /// Byte range of the whole `{{#…}}`.
    pub start: usize,
    pub end: usize,
    pub name: &'a str,
    pub args: &'a str,
}

/// Every `{{#name …}}` in `text`, in order, except escaped ones (`\{{#`).
pub fn directives(text: &str) -> Vec<Directive<'_>> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(offset) = text[from..].find("{{#") {
        let start = from + offset;
        from = start + 3;
        if text[..start].ends_with('\\') {
            continue;
        }
        let Some(length) = text[from..].find("}}") else {
            break;
        };
        let inner = &text[from..from + length];
        let (name, args) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
            continue;
        }
        let end = from + length + 2;
        found.push(Directive {
            start,
            end,
            name,
            args: args.trim(),
        });
        from = end;
    }
    found
}

fn expand(content: &str, page: &Page<'_>) -> anyhow::Result<String> {
    let mut out = String::with_capacity(content.len());
    let mut done = 0;
    for directive in directives(content) {
        let replacement = match directive.name {
            "checkpoints" => checkpoints_directive(directive.args, page),
            "screenshot" => screenshot(directive.args, page),
            "slides" => Ok(slides_marker()),
            "timing" => timing_directive(directive.args, page),
            _ => continue,
        }
        .with_context(|| format!("in {}", &content[directive.start..directive.end]))?;
        out.push_str(&content[done..directive.start]);
        out.push_str(&replacement);
        done = directive.end;
    }
    out.push_str(&content[done..]);
    Ok(out)
}

fn checkpoints_directive(args: &str, page: &Page<'_>) -> anyhow::Result<String> {
    if args.is_empty() {
        return table(page);
    }
    let chosen: Vec<&Checkpoint> = if let Some(goal) = args.strip_prefix("goal=") {
        let goal: u8 = goal.parse().context("`goal=` takes a number")?;
        page.checkpoints.iter().filter(|c| c.goal == goal).collect()
    } else {
        args.split_whitespace()
            .map(|id| {
                page.checkpoints
                    .iter()
                    .find(|c| c.id == id)
                    .with_context(|| format!("no checkpoint has the id `{id}`"))
            })
            .collect::<anyhow::Result<_>>()?
    };
    ensure!(!chosen.is_empty(), "no checkpoint matches `{args}`");
    let mut out = String::new();
    for checkpoint in chosen {
        let hint = checkpoint.hint.replace("{stage}", STUDENT_STAGE);
        writeln!(
            out,
            "- **`{}`** — {}{}  \n  *If it fails:* {hint}",
            checkpoint.id,
            checkpoint.title,
            browsers_note(checkpoint),
        )?;
        if let Some(more) = &checkpoint.hint_more {
            // Folded, as `cargo xtask hint --more` is a second step: the
            // shape of the solution, for when the hint was not enough. One
            // line of HTML inside the item (a blank line would end it).
            let more = inline_code(&html_escape(&more.replace("{stage}", STUDENT_STAGE)));
            writeln!(
                out,
                "  <details class=\"hint-more\"><summary>Still stuck? The shape of the solution (<code>cargo xtask hint --more {}</code>)</summary><p>{more}</p></details>",
                checkpoint.id
            )?;
        }
    }
    Ok(out)
}

/// Text with Markdown's `code` spans as HTML `<code>` (already escaped:
/// inside HTML, Markdown is not read).
fn inline_code(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    for (i, part) in escaped.split('`').enumerate() {
        if i % 2 == 1 {
            write!(out, "<code>{part}</code>").unwrap_or_default();
        } else {
            out.push_str(part);
        }
    }
    out
}

fn browsers_note(checkpoint: &Checkpoint) -> String {
    match &checkpoint.browsers {
        Some(browsers) => format!(" *(only in {})*", browsers.join(", ")),
        None => String::new(),
    }
}

/// The whole table, in the order the checks run.
fn table(page: &Page<'_>) -> anyhow::Result<String> {
    let mut out = String::from(
        "| # | Checkpoint | What it proves | Goal | In the starter | Browsers | Explained in |\n\
         | --: | --- | --- | --- | --- | --- | --- |\n",
    );
    for (number, checkpoint) in page.checkpoints.iter().enumerate() {
        let (page_name, fragment) = checkpoint
            .book
            .split_once('#')
            .unwrap_or((&checkpoint.book, ""));
        // `check` and `hint` print this link for the student to open: it
        // names the page as rendered (`outbox.html`), not its Markdown.
        let Some(chapter) = page_name.strip_suffix(".html") else {
            bail!(
                "checkpoint `{}` points to `{}`: name the rendered page (`….html#section`), which `cargo xtask check` prints for the student to open",
                checkpoint.id,
                checkpoint.book
            );
        };
        let chapter = format!("{chapter}.md");
        let Some(target) = page.chapters.get(Path::new(&chapter)) else {
            bail!(
                "checkpoint `{}` points to `{}`, which is not a chapter of the book",
                checkpoint.id,
                checkpoint.book
            );
        };
        // The section's own heading, when the link names one that exists
        // (a wrong fragment is reported by the link check after the build).
        let section = target
            .headings
            .get(fragment)
            .filter(|_| !fragment.is_empty())
            .unwrap_or(&target.name);
        let goal = match checkpoint.goal {
            0 => "before the lesson".to_owned(),
            n => format!("goal {n}"),
        };
        let starter = if checkpoint.pre_lesson {
            "passes"
        } else {
            "to do"
        };
        let browsers = checkpoint
            .browsers
            .as_ref()
            .map_or_else(|| "all".to_owned(), |b| b.join(", "));
        writeln!(
            out,
            "| {} | `{}` | {} | {goal} | {starter} | {browsers} | [{}]({}{} \"{}\") |",
            number + 1,
            checkpoint.id,
            cell(&checkpoint.title),
            cell(section),
            page.to_root(),
            checkpoint.book,
            cell(&target.name).replace('"', "'"),
        )?;
    }
    Ok(out)
}

/// Text that is safe in a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn screenshot(args: &str, page: &Page<'_>) -> anyhow::Result<String> {
    let (name, caption) = args
        .split_once(char::is_whitespace)
        .context("write `{{#screenshot NAME CAPTION}}`")?;
    ensure!(
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        "a screenshot's name is lowercase letters, digits and `-`, not `{name}`"
    );
    let caption = html_escape(caption.trim());
    let file = format!("screenshots/{name}.png");
    // One line of HTML: a blank line would end mdBook's HTML block.
    Ok(if page.src.join(&file).is_file() {
        format!(
            "<figure class=\"screenshot\"><img src=\"{}{file}\" alt=\"{caption}\"><figcaption>{caption}</figcaption></figure>",
            page.to_root()
        )
    } else {
        format!(
            "<figure class=\"screenshot screenshot-missing\"><div class=\"screenshot-placeholder\">Screenshot to come: <code>book/src/{file}</code>, made by the browser harness (<code>cargo xtask screenshots</code>).</div><figcaption>{caption}</figcaption></figure>"
        )
    })
}

fn timing_directive(args: &str, page: &Page<'_>) -> anyhow::Result<String> {
    let timing = page
        .timing
        .context("the lesson's lesson.toml has no [timing] to render")?;
    match args {
        "" => timing.table(page.checkpoints, &page.to_root()),
        "session" => {
            timing.check(page.checkpoints)?;
            Ok(timing.session_words())
        }
        other => bail!("`{{{{#timing}}}}` takes nothing or `session`, not `{other}`"),
    }
}

fn slides_marker() -> String {
    "<div class=\"slide-deck\"><button type=\"button\" class=\"present-button\">▶ Present</button> \
     <span class=\"slide-deck-help\">or press <kbd>P</kbd>. While presenting: <kbd>→</kbd> / <kbd>←</kbd> \
     move, <kbd>S</kbd> opens the speaker view with the notes, <kbd>F</kbd> fullscreen, <kbd>Esc</kbd> ends.</span></div>"
        .to_owned()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKPOINTS: &str = r#"
[[checkpoint]]
id = "one"
title = "First | thing"
goal = 0
pre_lesson = true
hint = "Look at {stage}/src/page.rs."
book = "ch/a.html#first"

[[checkpoint]]
id = "two"
title = "Second"
goal = 2
pre_lesson = false
hint = "Look at {stage}/src/worker.rs."
book = "ch/a.html#the-first-one"
hint_more = "First `a()`, then <b>."
browsers = ["chromium"]
"#;

    fn with_page<T>(path: &str, f: impl FnOnce(&Page<'_>) -> T) -> T {
        let checkpoints = checkpoints::parse(CHECKPOINTS, Path::new("checkpoints.toml")).unwrap();
        let chapters = HashMap::from([(
            PathBuf::from("ch/a.md"),
            Chapter {
                name: "Chapter A".to_owned(),
                headings: headings("# Chapter A\n\n## The `first`: one\n```\n# not\n```\n"),
            },
        )]);
        f(&Page {
            path: Path::new(path),
            src: Path::new("/nonexistent"),
            checkpoints: &checkpoints,
            chapters: &chapters,
            timing: None,
        })
    }

    #[test]
    fn directives_are_found_unless_escaped() {
        let text = r"a {{#slides}} b \{{#checkpoints}} {{#screenshot x Cap tion}} {{ not }}";
        let found = directives(text);
        let names: Vec<_> = found.iter().map(|d| (d.name, d.args)).collect();
        assert_eq!(names, [("slides", ""), ("screenshot", "x Cap tion")]);
        assert_eq!(&text[found[0].start..found[0].end], "{{#slides}}");
    }

    #[test]
    fn the_table_links_every_checkpoint_relative_to_the_chapter() {
        let table = with_page("ch/b.md", |page| expand("{{#checkpoints}}", page)).unwrap();
        assert!(
            table.contains("[Chapter A](../ch/a.html#first \"Chapter A\")"),
            "{table}"
        );
        assert!(table.contains("First \\| thing"), "{table}");
        assert!(table.contains("| goal 2 | to do | chromium |"), "{table}");
        let root = with_page("top.md", |page| expand("{{#checkpoints}}", page)).unwrap();
        assert!(
            root.contains("[The first: one](ch/a.html#the-first-one"),
            "{root}"
        );
    }

    #[test]
    fn a_filtered_list_shows_the_hint_for_the_students_stage() {
        let list = with_page("ch/a.md", |page| expand("{{#checkpoints goal=2}}", page)).unwrap();
        assert!(list.contains("**`two`**"), "{list}");
        assert!(list.contains("Look at starter/src/worker.rs."), "{list}");
        assert!(!list.contains("`one`"), "{list}");
        // Level 2 folded under it, as HTML (Markdown is not read there).
        assert!(
            list.contains("<details class=\"hint-more\"><summary>Still stuck? The shape of the solution (<code>cargo xtask hint --more two</code>)</summary><p>First <code>a()</code>, then &lt;b&gt;.</p></details>"),
            "{list}"
        );
        let one = with_page("ch/a.md", |page| expand("{{#checkpoints one}}", page)).unwrap();
        assert!(!one.contains("<details"), "{one}");
    }

    #[test]
    fn a_checkpoint_links_the_rendered_page() {
        let checkpoints = checkpoints::parse(
            &CHECKPOINTS.replace("ch/a.html#first", "ch/a.md#first"),
            Path::new("checkpoints.toml"),
        )
        .unwrap();
        let chapters = HashMap::from([(
            PathBuf::from("ch/a.md"),
            Chapter {
                name: "Chapter A".to_owned(),
                headings: HashMap::new(),
            },
        )]);
        let page = Page {
            path: Path::new("top.md"),
            src: Path::new("/nonexistent"),
            checkpoints: &checkpoints,
            chapters: &chapters,
            timing: None,
        };
        let error = format!("{:#}", expand("{{#checkpoints}}", &page).unwrap_err());
        assert!(error.contains("`one` points to `ch/a.md#first`"), "{error}");
        assert!(error.contains("rendered page"), "{error}");
    }

    #[test]
    fn unknown_checkpoints_and_bad_screenshots_are_errors() {
        with_page("ch/a.md", |page| {
            assert!(expand("{{#checkpoints nope}}", page).is_err());
            assert!(expand("{{#checkpoints goal=9}}", page).is_err());
            assert!(expand("{{#screenshot Bad_Name caption}}", page).is_err());
            assert!(expand("{{#screenshot lonely}}", page).is_err());
        });
    }

    #[test]
    fn a_missing_screenshot_is_a_marked_placeholder() {
        let html = with_page("ch/a.md", |page| {
            expand("{{#screenshot offline-badge The <b>badge</b>}}", page)
        })
        .unwrap();
        assert!(html.contains("Screenshot to come"), "{html}");
        assert!(
            html.contains("book/src/screenshots/offline-badge.png"),
            "{html}"
        );
        assert!(html.contains("The &lt;b&gt;badge&lt;/b&gt;"), "{html}");
    }
}
