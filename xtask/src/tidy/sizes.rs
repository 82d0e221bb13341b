//! Size limits: a file a reader opens fits in one sitting, a function in
//! one screenful or two. A non-test source file over 700 lines, or a
//! non-test function over 100, fails — unless it is on the short list
//! below, which says why.

use std::collections::BTreeSet;
use std::path::Path;

use super::modules::workspace_crates;
use super::rust::{blank, functions, without_tests};
use crate::workspace::project_root;

const MAX_FILE_LINES: usize = 700;
const MAX_FUNCTION_LINES: usize = 100;

/// The exceptions, each with its reason: a file by its path from the
/// workspace root, a function as `path/of/file.rs::name`.
const ALLOWED: &[(&str, &str)] = &[
    (
        "solution/src/page.rs",
        "the lesson's own file, the finished page: the app's page as it stood before the lesson (start-up, the list, starring) and then the lesson's functions in the order of the checkpoints, which the TODOs, the hints, `reveal` and the book name in this one file",
    ),
    (
        "starter/src/page.rs",
        "the lesson's own file, as a student finds it: the same page, with each lesson function's TODO saying the problem and the rule in words where the finished code will be",
    ),
];

/// What is over a limit, one line each, and which allowed exception is no
/// longer needed.
fn over_the_limits() -> (Vec<String>, Vec<String>) {
    let root = project_root();
    let allowed: BTreeSet<&str> = ALLOWED.iter().map(|(what, _)| *what).collect();
    let mut used = BTreeSet::new();
    let mut over = Vec::new();
    let mut seen = BTreeSet::new();
    for krate in workspace_crates() {
        for module in krate.modules.iter().filter(|m| m.own_file) {
            if !seen.insert(module.file.clone()) {
                continue;
            }
            let shown = relative(&root, &module.file);
            let text = std::fs::read_to_string(&module.file).unwrap_or_default();
            let lines = text.lines().count();
            if lines > MAX_FILE_LINES {
                if allowed.contains(shown.as_str()) {
                    used.insert(shown.clone());
                } else {
                    over.push(format!(
                        "{shown}: {lines} lines (at most {MAX_FILE_LINES}): split it by what its parts do"
                    ));
                }
            }
            for function in functions(&without_tests(&blank(&text))) {
                let name = format!("{shown}::{}", function.name);
                if function.lines <= MAX_FUNCTION_LINES {
                    continue;
                }
                if allowed.contains(name.as_str()) {
                    used.insert(name);
                } else {
                    over.push(format!(
                        "{shown}:{}: fn {} is {} lines (at most {MAX_FUNCTION_LINES}): give its steps names of their own",
                        function.line, function.name, function.lines
                    ));
                }
            }
        }
    }
    let unused = allowed
        .iter()
        .filter(|what| !used.contains(**what))
        .map(|what| (*what).to_owned())
        .collect();
    (over, unused)
}

fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn no_file_or_function_is_over_its_size_limit() {
    let (over, unused) = over_the_limits();
    assert!(
        over.is_empty(),
        "over the size limits (a non-test file {MAX_FILE_LINES} lines, a non-test function {MAX_FUNCTION_LINES}; \
         an exception goes in xtask/src/tidy/sizes.rs's ALLOWED, with why):\n  {}",
        over.join("\n  ")
    );
    assert!(
        unused.is_empty(),
        "allowed over the size limits but no longer over them: take them off ALLOWED in xtask/src/tidy/sizes.rs:\n  {}",
        unused.join("\n  ")
    );
}
