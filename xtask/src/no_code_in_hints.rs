//! The hints and the starter's TODOs teach; they do not dictate.
//!
//! A student who is handed the code token by token copies it and learns
//! neither the idea nor the browser's rules behind it. So the first two
//! levels of help — a checkpoint's `hint` and `hint_more` in
//! `lessons/background-sync/checkpoints.toml` (their Firefox variants too)
//! — and every `TODO(..)` comment in the starter's lesson files say what to
//! achieve, why, and which given helpers exist, by name; the code is level
//! 3, `cargo xtask reveal`.
//!
//! These tests hold them to it:
//!
//! - [`hints_and_todos_share_no_code_with_the_solution`]: no run of tokens
//!   of 12 characters or more (whitespace aside) stands both in one of those
//!   texts and in a lesson checkpoint's solution code (its `reveal` regions
//!   in `solution/`, comments left out), unless the run is only a name — a
//!   path such as `delivery::sync_manager()` or `idb::OUTBOX`, a field such
//!   as `flushed.stopped`, a kebab-case id such as `articles-added` — or
//!   plain words, as a message the code shows the user may share with a
//!   hint.
//! - [`code_spans_in_hints_and_todos_are_names`]: what those texts put in
//!   backticks is a name, never an expression: no call with arguments, no
//!   struct literal or pattern, no `?`, `.await`, `&`, `=>` or turbofish.
//! - [`the_book_shows_the_lessons_code_after_try_it_yourself`]: the book's
//!   walk-through (`lessons/background-sync/*.md`) includes a lesson
//!   checkpoint's code only in a folded solution block (`<details
//!   class="solution">`) right under a "Try it yourself first" heading, after
//!   the idea, the rules and the pitfalls; and every such region is shown
//!   there once.

use std::collections::BTreeMap;
use std::fs;

use lesson::anchors;
use lesson::checkpoints::Checkpoint;

use crate::workspace::project_root;

/// The shortest run of shared tokens counted as code (characters of its
/// tokens, whitespace aside).
const MIN_RUN: usize = 12;

fn read(relative: &str) -> String {
    let path = project_root().join(relative);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A text a student reads before `reveal`, and where it is.
struct Said {
    what: String,
    text: String,
}

/// A lesson checkpoint's solution code, and where it is.
struct Code {
    what: String,
    tokens: Vec<String>,
}

fn checkpoints() -> Vec<Checkpoint> {
    let path = project_root().join(lesson::workspace::CHECKPOINTS);
    lesson::checkpoints::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every lesson checkpoint's `reveal` regions of the solution, tokenized
/// without their comments.
fn solution_code(checkpoints: &[Checkpoint]) -> Vec<Code> {
    let mut code = Vec::new();
    for checkpoint in checkpoints.iter().filter(|c| !c.pre_lesson) {
        for entry in &checkpoint.reveal {
            let (file, anchor) = anchors::split_entry(entry).unwrap();
            let text = read(&format!("solution/{file}"));
            let (_, region) =
                anchors::region(&text, anchor).unwrap_or_else(|e| panic!("solution/{file}: {e}"));
            code.push(Code {
                what: format!("solution/{file}:{anchor} (`{}`)", checkpoint.id),
                tokens: tokens(&without_comments(&region)),
            });
        }
    }
    code
}

/// The hints (levels 1 and 2, their Firefox variants), and every TODO
/// comment of the starter's lesson files.
fn said(checkpoints: &[Checkpoint]) -> Vec<Said> {
    let mut said = Vec::new();
    for c in checkpoints.iter().filter(|c| !c.pre_lesson) {
        let firefox = c.firefox.as_ref();
        let texts = [
            ("hint", Some(&c.hint)),
            ("hint_more", c.hint_more.as_ref()),
            ("firefox hint", firefox.and_then(|f| f.hint.as_ref())),
            (
                "firefox hint_more",
                firefox.and_then(|f| f.hint_more.as_ref()),
            ),
        ];
        for (name, text) in texts {
            if let Some(text) = text {
                said.push(Said {
                    what: format!("the {name} of `{}`", c.id),
                    text: text.clone(),
                });
            }
        }
    }
    for file in crate::trail::read_lesson_files(&project_root()).unwrap() {
        let text = read(&format!("starter/{file}"));
        for (line, todo) in todos(&text) {
            said.push(Said {
                what: format!("starter/{file}:{line}, a TODO"),
                text: todo,
            });
        }
    }
    said
}

/// Each `TODO(..)` comment of a Rust file, with the `//` comment lines that
/// follow it: its first line's number (from 1) and its text, markers left
/// out.
fn todos(rust: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in rust.lines().enumerate() {
        let comment = line
            .trim_start()
            .strip_prefix("//")
            .map(|c| c.trim_start_matches(['/', '!']).trim());
        match comment {
            Some(comment) if comment.contains("TODO(") => {
                found.extend(current.take());
                current = Some((i + 1, comment.to_owned()));
            }
            Some(comment) if !comment.contains("ANCHOR") => {
                if let Some((_, text)) = &mut current {
                    text.push('\n');
                    text.push_str(comment);
                }
            }
            _ => found.extend(current.take()),
        }
    }
    found.extend(current);
    found
}

/// Rust code without its `//` comments (strings kept whole, so a `//`
/// inside one is not a comment).
fn without_comments(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                while let Some(s) = chars.next() {
                    out.push(s);
                    match s {
                        '\\' => out.extend(chars.next()),
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Tokens as a reader sees them, whitespace aside: words (identifiers,
/// numbers), the two-character operators, and every other character on its
/// own. Quotes and backticks are left out, so a string in the code and the
/// same words quoted in a hint meet.
fn tokens(text: &str) -> Vec<String> {
    const PAIRS: [&str; 10] = ["::", "->", "=>", "==", "!=", "&&", "||", "..", "<=", ">="];
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(chars[start..i].iter().collect());
            continue;
        }
        i += 1;
        if c.is_whitespace() || matches!(c, '"' | '\'' | '`') {
            continue;
        }
        let pair: String = [c, chars.get(i).copied().unwrap_or(' ')].iter().collect();
        if PAIRS.contains(&pair.as_str()) {
            i += 1;
            out.push(pair);
        } else {
            out.push(c.to_string());
        }
    }
    out
}

fn is_word(token: &str) -> bool {
    token.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether a run of tokens is only a name: words joined by `::`, `.` or
/// `-` (`delivery::sync_manager`, `flushed.stopped`, `form-status`), with
/// at most one `()` at its very end and none after a `.` (a method call
/// is code).
fn is_name(run: &[String]) -> bool {
    let (run, called) = match run {
        [rest @ .., open, close] if open == "(" && close == ")" => (rest, true),
        _ => (run, false),
    };
    let mut dotted = false;
    for (i, token) in run.iter().enumerate() {
        let word = i % 2 == 0;
        if word != is_word(token) {
            return false;
        }
        if !word {
            match token.as_str() {
                "::" | "-" => {}
                "." => dotted = true,
                _ => return false,
            }
        }
    }
    !run.is_empty() && is_word(&run[run.len() - 1]) && !(called && dotted)
}

/// Whether a run is plain words, none of them code's (no `_`, no capital
/// inside a word, no keyword): words a hint shares with a message the code
/// shows the user ("to the service worker"), not code.
fn is_prose(run: &[String]) -> bool {
    const KEYWORDS: [&str; 14] = [
        "fn", "let", "mut", "impl", "async", "await", "pub", "dyn", "match", "Some", "None", "Ok",
        "Err", "self",
    ];
    run.iter().all(|word| {
        is_word(word)
            && !word.contains('_')
            && !word.chars().skip(1).any(char::is_uppercase)
            && !KEYWORDS.contains(&word.as_str())
    })
}

/// The runs of `said` that also stand in `code`, at least [`MIN_RUN`]
/// characters long and more than a name, each as written (tokens joined by
/// one space).
fn shared_code(said: &[String], code: &[String]) -> Vec<String> {
    let mut found = Vec::new();
    // lengths[j]: how many tokens end at said[i] and code[j] in common.
    let mut previous = vec![0usize; code.len() + 1];
    for i in 0..said.len() {
        let mut lengths = vec![0usize; code.len() + 1];
        for j in 0..code.len() {
            if said[i] == code[j] {
                lengths[j + 1] = previous[j] + 1;
            }
        }
        for j in 0..code.len() {
            let n = lengths[j + 1];
            let maximal =
                n > 0 && (i + 1 == said.len() || j + 1 == code.len() || said[i + 1] != code[j + 1]);
            if !maximal {
                continue;
            }
            let run = trim_punctuation(&said[i + 1 - n..=i]);
            let chars: usize = run.iter().map(|t| t.chars().count()).sum();
            if chars >= MIN_RUN && !is_name(run) && !is_prose(run) {
                found.push(run.join(" "));
            }
        }
        previous = lengths;
    }
    found.sort();
    found.dedup();
    found
}

/// A run without the punctuation at its ends (but a final `()`).
fn trim_punctuation(mut run: &[String]) -> &[String] {
    while let [first, rest @ ..] = run {
        if is_word(first) {
            break;
        }
        run = rest;
    }
    while let [rest @ .., last] = run {
        let call = last == ")" && rest.last().is_some_and(|t| t == "(");
        if is_word(last) || call {
            break;
        }
        run = rest;
    }
    run
}

/// What is wrong with each text: the code it shares with the solution.
fn shared_with_solution(said: &[Said], code: &[Code]) -> Vec<String> {
    let mut problems = Vec::new();
    for text in said {
        let mut runs: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        let said_tokens = tokens(&text.text);
        for region in code {
            for run in shared_code(&said_tokens, &region.tokens) {
                runs.entry(run).or_default().push(&region.what);
            }
        }
        for (run, wheres) in runs {
            problems.push(format!(
                "{} states the solution's code `{run}` (in {})",
                text.what,
                wheres.join(", ")
            ));
        }
    }
    problems
}

#[test]
fn hints_and_todos_share_no_code_with_the_solution() {
    let checkpoints = checkpoints();
    let code = solution_code(&checkpoints);
    let said = said(&checkpoints);
    assert!(
        said.iter().any(|s| s.what.contains("a TODO")),
        "no TODO found in the starter's lesson files"
    );
    let problems = shared_with_solution(&said, &code);
    assert!(
        problems.is_empty(),
        "the hints and TODOs should say what to do and why, and name the helpers; the code is `cargo xtask reveal`'s. Code they state:\n{}",
        problems.join("\n")
    );
}

/// Why the code in backticks `span` is an expression rather than a name,
/// if it is.
fn expression(span: &str) -> Option<&'static str> {
    let chars: Vec<char> = span.chars().collect();
    let called = chars.windows(2).any(|w| w[0] == '(' && w[1] != ')');
    // `Queued { seq: … }`: a type's name, then a brace.
    let struct_literal = span.match_indices(" {").any(|(at, _)| {
        span[..at]
            .rsplit([' ', ':'])
            .next()
            .is_some_and(|name| name.starts_with(char::is_uppercase))
    });
    if called {
        Some("a call with arguments")
    } else if struct_literal {
        Some("a struct literal or pattern")
    } else if span.contains('?') {
        Some("a `?`")
    } else if span.contains(".await") {
        Some("an `.await`")
    } else if span.contains('&') {
        Some("a borrow")
    } else if span.contains("=>") {
        Some("a match arm")
    } else if span.contains("::<") {
        Some("a turbofish")
    } else {
        None
    }
}

/// The spans of `text` in backticks.
fn code_spans(text: &str) -> impl Iterator<Item = &str> {
    text.split('`').skip(1).step_by(2)
}

#[test]
fn code_spans_in_hints_and_todos_are_names() {
    let mut problems = Vec::new();
    for said in said(&checkpoints()) {
        // A TODO's backticks may span its comment lines.
        let text = said.text.replace('\n', " ");
        for span in code_spans(&text) {
            if let Some(why) = expression(span) {
                problems.push(format!("{}: `{span}` is {why}", said.what));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "hints and TODOs name helpers; they do not write expressions:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_shared_run_is_found_unless_it_is_a_name() {
    let code = tokens(&without_comments(
        "if let Some(sync) = delivery::sync_manager() { // a comment: flush_outbox().await\n\
         JsFuture::from(sync.register(SYNC_TAG)?).await?; }\n\
         let entry = Queued { seq: None, article, queued_at: js_sys::Date::now() };\n\
         let url = \"http://x/\"; tell(\"it could not be sent within 7 days\");",
    ));
    let shared = |said: &str| shared_code(&tokens(said), &code);
    // Names, however long, and short runs are fine.
    assert!(shared("call `delivery::sync_manager()`, if it is Some").is_empty());
    assert!(shared("as `js_sys::Date::now()` says").is_empty());
    assert!(shared("`sync.register` then").is_empty());
    assert!(shared("call `sync.register(SYNC_TAG)`").len() == 1);
    // Comments are not the code.
    assert!(shared("then `flush_outbox().await` it").is_empty());
    // Code is, whitespace and quotes aside.
    assert_eq!(
        shared("store an `outbox::Queued { seq: None, article, queued_at: … }`"),
        ["Queued { seq : None , article , queued_at"]
    );
    assert_eq!(
        shared("`JsFuture::from(sync.register(SYNC_TAG)?).await`"),
        ["JsFuture :: from ( sync . register ( SYNC_TAG ) ? ) . await"]
    );
    // Words the code shows the user are words, not code.
    assert!(shared("with the reason \"it could not be sent within 7 days\"").is_empty());
    // A `//` in a string is not a comment.
    assert_eq!(
        without_comments("a(\"http://x\"); // b"),
        "a(\"http://x\"); "
    );
}

#[test]
fn a_todo_is_its_comment_lines() {
    let rust = "\
fn a() {
    // ANCHOR: x
    // TODO(one): first line,
    // second line.
    let _ = 1;
    // TODO(two): alone
    // ANCHOR_END: x
}
";
    assert_eq!(
        todos(rust),
        [
            (3, "TODO(one): first line,\nsecond line.".to_owned()),
            (6, "TODO(two): alone".to_owned())
        ]
    );
}

#[test]
fn expressions_in_backticks_are_told_from_names() {
    for name in [
        "delivery::sync_manager()",
        "idb::OUTBOX",
        "#form-status",
        "WorkerReply::Queued",
        "cargo xtask hint --more",
        "navigator.serviceWorker.ready",
    ] {
        assert_eq!(expression(name), None, "{name}");
    }
    for (code, why) in [
        ("queued_status(pending)", "a call with arguments"),
        (
            "WorkerReply::Queued { pending }",
            "a struct literal or pattern",
        ),
        ("service_worker()?", "a `?`"),
        ("flush_outbox().await", "an `.await`"),
        ("to_js(&message)", "a call with arguments"),
        ("Some(x) => y", "a call with arguments"),
        ("from_js::<Queued>", "a turbofish"),
    ] {
        assert_eq!(expression(code), Some(why), "{code}");
    }
}

/// The lesson's chapters of the book, with their text.
fn chapters() -> Vec<(String, String)> {
    let dir = project_root().join("lessons/background-sync");
    let mut found: Vec<(String, String)> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = fs::read_to_string(&path).unwrap();
            (name, text)
        })
        .collect();
    found.sort();
    found
}

/// Where a chapter includes the solution's lesson files: the `file:anchor`
/// of each include and whether it stands in a solution block right under a
/// "Try it yourself first" heading (or why not).
fn lesson_includes(markdown: &str) -> Vec<(String, Result<(), &'static str>)> {
    let mut found = Vec::new();
    let mut heading_is_try_it = false;
    let mut in_solution: Option<bool> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') && in_solution.is_none() {
            heading_is_try_it = trimmed.contains("Try it yourself first");
        }
        if trimmed.starts_with("<details class=\"solution\">") {
            in_solution = Some(heading_is_try_it);
        }
        if trimmed.starts_with("</details>") {
            in_solution = None;
        }
        let Some(at) = line.find("{{#include ../../solution/src/") else {
            continue;
        };
        let rest = &line[at + "{{#include ../../solution/".len()..];
        let entry = rest.split("}}").next().unwrap_or(rest).trim().to_owned();
        let placed = match in_solution {
            Some(true) => Ok(()),
            Some(false) => Err(
                "in a solution block that is not right under a \"Try it yourself first\" heading",
            ),
            None => Err("outside a folded solution block"),
        };
        found.push((entry, placed));
    }
    found
}

#[test]
fn the_book_shows_the_lessons_code_after_try_it_yourself() {
    let lesson: std::collections::BTreeSet<String> = checkpoints()
        .iter()
        .filter(|c| !c.pre_lesson)
        .flat_map(|c| c.reveal.clone())
        .collect();
    let mut problems = Vec::new();
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    for (chapter, text) in chapters() {
        for (entry, placed) in lesson_includes(&text) {
            if !lesson.contains(&entry) {
                continue;
            }
            *shown.entry(entry.clone()).or_default() += 1;
            if let Err(why) = placed {
                problems.push(format!(
                    "{chapter}: the lesson's code {entry} is shown {why}"
                ));
            }
        }
    }
    for entry in &lesson {
        match shown.get(entry) {
            Some(1) => {}
            None => problems.push(format!("the book never shows the lesson's code {entry}")),
            Some(n) => problems.push(format!(
                "the book shows the lesson's code {entry} {n} times"
            )),
        }
    }
    assert!(
        problems.is_empty(),
        "the book gives the idea, the rules and the pitfalls first; a step's code comes after its \"Try it yourself first\", folded:\n{}",
        problems.join("\n")
    );
}

#[test]
fn an_include_is_placed_by_the_heading_above_its_block() {
    let markdown = "\
## The idea
```rust
{{#include ../../solution/src/worker.rs:early}}
```
### Try it yourself first
<details class=\"solution\"><summary>The solution</summary>

```rust
{{#include ../../solution/src/worker.rs:good}}
```
## Not a heading: inside the block, a line of code
</details>

## Later
<details class=\"solution\"><summary>The solution</summary>
{{#include ../../solution/src/page.rs:unannounced}}
</details>
";
    let found = lesson_includes(markdown);
    let placed: Vec<(&str, bool)> = found
        .iter()
        .map(|(entry, placed)| (entry.as_str(), placed.is_ok()))
        .collect();
    assert_eq!(
        placed,
        [
            ("src/worker.rs:early", false),
            ("src/worker.rs:good", true),
            ("src/page.rs:unannounced", false)
        ]
    );
}
