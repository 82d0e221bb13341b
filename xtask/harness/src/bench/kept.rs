//! The report's sections, kept between runs: `cargo xtask bench push`
//! measures the push fan-out again without dropping what the last full run
//! measured of everything else. Each benchmark's section is its own file
//! beside the report, and says when, at which commit, and how long it took;
//! the report is always every kept section, in the benchmarks' order.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// `report.md` → `report.sections/`.
fn dir(report: &Path) -> PathBuf {
    report.with_extension("sections")
}

/// The file of one benchmark's section (`3-push.md`: the number keeps the
/// files in report order in a listing too).
fn file(report: &Path, names: &[&str], name: &str) -> PathBuf {
    let index = names.iter().position(|n| *n == name).unwrap_or(names.len());
    dir(report).join(format!("{}-{name}.md", index + 1))
}

/// Keeps `markdown` as the section of `name`, replacing the one before.
pub fn keep(report: &Path, names: &[&str], name: &str, markdown: &str) -> Result<()> {
    let dir = dir(report);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = file(report, names, name);
    std::fs::write(&file, markdown).with_context(|| format!("cannot write {}", file.display()))
}

/// Every kept section, in the order of `names`; a benchmark never run has
/// none.
pub fn all(report: &Path, names: &[&str]) -> Result<Vec<String>> {
    let mut sections = Vec::new();
    for name in names {
        let file = file(report, names, name);
        match std::fs::read_to_string(&file) {
            Ok(text) => sections.push(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        }
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::TempDir;

    /// Measuring one benchmark again replaces its own section and keeps
    /// the others, in report order whatever order they were measured in.
    #[test]
    fn one_benchmark_run_again_keeps_the_others() {
        let tmp = TempDir::new("bench-kept").unwrap();
        let report = tmp.path().join("report.md");
        let names = ["replay", "server", "push"];
        keep(&report, &names, "push", "push, first\n").unwrap();
        keep(&report, &names, "replay", "replay\n").unwrap();
        keep(&report, &names, "push", "push, again\n").unwrap();
        assert_eq!(all(&report, &names).unwrap(), ["replay\n", "push, again\n"]);
        assert!(tmp.path().join("report.sections/3-push.md").is_file());
    }
}
