//! Counts of checkpoints written in prose — the README's `6/16 ✓`, the
//! slides' "the first six checkpoints already pass" — checked against
//! `lessons/background-sync/checkpoints.toml`, as a tidy test: a checkpoint
//! added or moved makes every stale count fail here, by file and line,
//! with the number it should be. (The instructor guide's timing table
//! computes its counts from the data when the book is built.)
//!
//! What a count may be:
//!
//! - `N/M ✓`, a progress as `check` prints it: `M` is how many checkpoints
//!   run in one browser, and `N` what the starter shows on its first check
//!   there (the pre-lesson ones) or `M` (the lesson done).
//! - "the first N checkpoints", "N pre-lesson checkpoints": the pre-lesson
//!   ones in one browser; "N lesson checkpoints": those the student writes;
//!   "N checkpoints": all of them, or those of one browser. `N` in digits or
//!   in words.
//!
//! A count may be either browser's: which one a sentence speaks of is for a
//! reader to tell, and Chromium's and Firefox's differ.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use lesson::checkpoints::Checkpoint;

use crate::workspace::project_root;

const BROWSERS: [&str; 2] = ["chromium", "firefox"];

/// How many checkpoints there are, of each kind.
struct Counts {
    all: usize,
    /// Per browser, in [`BROWSERS`]' order: those that run, those that pass
    /// before the lesson, those the lesson adds.
    runs: [usize; 2],
    pre_lesson: [usize; 2],
    lesson: [usize; 2],
}

impl Counts {
    fn of(checkpoints: &[Checkpoint]) -> Counts {
        let runs_in = |c: &Checkpoint, b: &str| {
            c.browsers
                .as_ref()
                .is_none_or(|list| list.iter().any(|x| x == b))
        };
        let count = |f: &dyn Fn(&Checkpoint) -> bool| {
            BROWSERS.map(|b| checkpoints.iter().filter(|c| runs_in(c, b) && f(c)).count())
        };
        Counts {
            all: checkpoints.len(),
            runs: count(&|_| true),
            pre_lesson: count(&|c| c.pre_lesson),
            lesson: count(&|c| !c.pre_lesson),
        }
    }

    /// What is wrong with the counts in `line`, if anything.
    fn problems(&self, line: &str) -> Vec<String> {
        let mut problems = Vec::new();
        for (n, m) in progress_counts(line) {
            let fits = (0..BROWSERS.len())
                .any(|b| m == self.runs[b] && (n == self.pre_lesson[b] || n == self.runs[b]));
            if !fits {
                let right: Vec<String> = (0..BROWSERS.len())
                    .map(|b| {
                        let (start, total) = (self.pre_lesson[b], self.runs[b]);
                        format!(
                            "`{start}/{total} ✓` or `{total}/{total} ✓` in {}",
                            BROWSERS[b]
                        )
                    })
                    .collect();
                problems.push(format!(
                    "`{n}/{m} ✓` should be the starter's first check or the lesson done: {}",
                    right.join("; ")
                ));
            }
        }
        for (n, kind) in named_counts(line) {
            let (allowed, what): (BTreeSet<usize>, &str) = match kind {
                Kind::First | Kind::PreLesson => (
                    self.pre_lesson.into_iter().collect(),
                    "pre-lesson checkpoints",
                ),
                Kind::Lesson => (self.lesson.into_iter().collect(), "lesson checkpoints"),
                Kind::Plain => (
                    self.runs.into_iter().chain([self.all]).collect(),
                    "checkpoints (in one browser, or in all)",
                ),
            };
            if !allowed.contains(&n) {
                problems.push(format!(
                    "{n} {what}: there are {}",
                    allowed
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ")
                ));
            }
        }
        problems
    }
}

/// Every `N/M ✓` in a line.
fn progress_counts(line: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (at, _) in line.match_indices('✓') {
        let before = line[..at].trim_end();
        let digits_end = before.len();
        let m_start = before.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let Some(rest) = before[..m_start].strip_suffix('/') else {
            continue;
        };
        let n_start = rest.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if let (Ok(n), Ok(m)) = (rest[n_start..].parse(), before[m_start..digits_end].parse()) {
            found.push((n, m));
        }
    }
    found
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// "the first N checkpoints"
    First,
    PreLesson,
    Lesson,
    Plain,
}

const WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// Every "N [pre-lesson|lesson] checkpoints" in a line, with N above one.
fn named_counts(line: &str) -> Vec<(usize, Kind)> {
    let words: Vec<String> = line
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let mut found = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if word != "checkpoints" || i == 0 {
            continue;
        }
        let (kind, number_at) = match words[i - 1].as_str() {
            "pre-lesson" => (Kind::PreLesson, i.checked_sub(2)),
            "lesson" => (Kind::Lesson, i.checked_sub(2)),
            _ => (Kind::Plain, Some(i - 1)),
        };
        let Some(number_at) = number_at else { continue };
        let number = &words[number_at];
        let Some(n) = number
            .parse()
            .ok()
            .or_else(|| WORDS.iter().position(|w| w == number))
        else {
            continue;
        };
        if n < 2 {
            continue;
        }
        let first = number_at > 0 && words[number_at - 1] == "first";
        found.push((n, if first { Kind::First } else { kind }));
    }
    found
}

/// The prose a reader or a student sees: the README, the book's pages and
/// the lesson's Markdown (slides and chapters).
fn prose() -> Vec<String> {
    let root = project_root();
    let mut files = vec!["README.md".to_owned()];
    for dir in ["book/src", "lessons"] {
        let mut pending = vec![root.join(dir)];
        while let Some(current) = pending.pop() {
            for entry in fs::read_dir(&current).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else if path.extension().is_some_and(|e| e == "md") {
                    let relative = path.strip_prefix(&root).unwrap();
                    files.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
    }
    files.sort();
    files
}

fn counts() -> Counts {
    let path = project_root().join(lesson::workspace::CHECKPOINTS);
    let checkpoints = lesson::checkpoints::load(&path).unwrap_or_else(|e| panic!("{e}"));
    Counts::of(&checkpoints)
}

/// Every count of checkpoints in the README, the book and the slides agrees
/// with `checkpoints.toml`.
#[test]
fn counts_in_the_prose_agree_with_the_checkpoints() {
    let counts = counts();
    let root = project_root();
    let mut stale = Vec::new();
    for file in prose() {
        let text = fs::read_to_string(root.join(&file)).unwrap();
        for (number, line) in text.lines().enumerate() {
            for problem in counts.problems(line) {
                stale.push(format!("{file}:{}: {problem}", number + 1));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "counts of checkpoints that disagree with lessons/background-sync/checkpoints.toml:\n{}",
        stale.join("\n")
    );
    // The search itself sees the counts it exists for.
    let readme = fs::read_to_string(root.join(Path::new("README.md"))).unwrap();
    assert!(
        readme.lines().any(|l| !progress_counts(l).is_empty()),
        "README.md no longer shows a progress like `6/16 ✓`: is the search still right?"
    );
}

#[test]
fn stale_counts_are_found_and_good_ones_pass() {
    let pre = |browsers: Option<Vec<&str>>| Checkpoint {
        id: "c".into(),
        title: "C".into(),
        goal: 0,
        pre_lesson: true,
        hint: "h".into(),
        hint_more: None,
        book: "b.html".into(),
        browsers: browsers.map(|b| b.into_iter().map(String::from).collect()),
        elsewhere: None,
        firefox: None,
        reveal: Vec::new(),
    };
    let lesson = |browsers: Option<Vec<&str>>| Checkpoint {
        pre_lesson: false,
        ..pre(browsers)
    };
    // Chromium: 2 run, 1 before the lesson; Firefox: 3 run, 2 before.
    let counts = Counts::of(&[
        pre(None),
        pre(Some(vec!["firefox"])),
        lesson(None),
        lesson(Some(vec!["firefox"])),
    ]);
    for good in [
        "your progress (`1/2 ✓`), then",
        "all done: 2/2 ✓",
        "in Firefox the starter shows 2/4 ✓",
        "The first checkpoint already passes",
        "the pre-lesson checkpoints: 1/2 ✓",
        "four checkpoints in all, two lesson checkpoints",
        "twelve o'clock, 3 hints, a 4/5 split",
    ] {
        assert!(
            counts.problems(good).is_empty(),
            "{good}: {:?}",
            counts.problems(good)
        );
    }
    for (stale, says) in [
        ("your progress (`6/14 ✓`)", "`1/2 ✓` or `2/2 ✓` in chromium"),
        ("your progress (`9/2 ✓`)", "`2/4 ✓` or `4/4 ✓` in firefox"),
        ("in Firefox: 1/4 ✓", "should be"),
        (
            "The first four checkpoints already pass",
            "there are 1 or 2",
        ),
        ("the trail is ten lesson checkpoints", "there are 1 or 2"),
        ("all 7 checkpoints", "there are 2 or 4"),
        ("3 pre-lesson checkpoints", "there are 1 or 2"),
    ] {
        let problems = counts.problems(stale).join("; ");
        assert!(problems.contains(says), "{stale}: {problems:?}");
    }
}
