//! `cargo xtask reset [file] [--yes]`: puts a lesson file of `starter/` back
//! as the starter had it, for a student who wants to start a step again.
//!
//! The original comes from git — the starter as it is in the commit this
//! checkout is based on (where it branched from its upstream, or `HEAD`
//! without one), so a student's own commits do not count as the original.
//! It asks first, and keeps the student's version under
//! `target/xtask/backups/<time>/`: nothing is ever lost by a reset.

use std::fs;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use crate::command::show;
use crate::progress::{self, xtask_dir};
use crate::trail;
use crate::workspace::project_root;
use lesson::Stage;

#[derive(Debug, clap::Args)]
pub struct ResetArgs {
    /// The lesson file, as `src/worker.rs` (or `starter/src/worker.rs`, or
    /// `worker.rs`) [default: every lesson file].
    pub file: Option<String>,
    /// Do not ask first.
    #[arg(long, short)]
    pub yes: bool,
}

pub fn run(args: &ResetArgs) -> anyhow::Result<()> {
    let root = project_root();
    let allowed = trail::read_lesson_files(&root)?;
    let files = match &args.file {
        Some(asked) => vec![pick(asked, &allowed)?],
        None => allowed,
    };
    let rev = base_revision(&root)?;
    let starter = Stage::Starter.name();
    let mut changed = Vec::new();
    for file in files {
        let original = git(&root, &["show", &format!("{rev}:./{starter}/{file}")])
            .with_context(|| format!("cannot read {starter}/{file} as it is in git ({rev})"))?;
        let path = root.join(starter).join(&file);
        let current = fs::read_to_string(&path).unwrap_or_default();
        if current == original {
            println!("{starter}/{file} is as the starter has it: nothing to reset");
        } else {
            changed.push((file, original));
        }
    }
    if changed.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = changed
        .iter()
        .map(|(file, _)| format!("{starter}/{file}"))
        .collect();
    if !args.yes && !confirm(&names)? {
        println!("nothing reset");
        return Ok(());
    }
    let backups = fresh_dir(&xtask_dir().join("backups"), &timestamp(progress::now()));
    for (file, original) in changed {
        let path = root.join(starter).join(&file);
        let backup = backups.join(starter).join(&file);
        if path.exists() {
            if let Some(dir) = backup.parent() {
                fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            fs::copy(&path, &backup).with_context(|| {
                format!("cannot back up {} to {}", path.display(), backup.display())
            })?;
        }
        fs::write(&path, original).with_context(|| format!("cannot write {}", path.display()))?;
        println!(
            "reset {starter}/{file}; your version is in {}",
            relative(&root, &backup)
        );
    }
    Ok(())
}

/// The lesson file `asked` names, in `allowed`'s spelling.
fn pick(asked: &str, allowed: &[String]) -> anyhow::Result<String> {
    let asked = asked.replace('\\', "/");
    let asked = asked.trim_start_matches("./");
    let asked = asked.strip_prefix("starter/").unwrap_or(asked);
    let by_name = |file: &&String| file.rsplit('/').next() == Some(asked);
    if let Some(file) = allowed.iter().find(|file| *file == asked) {
        return Ok(file.clone());
    }
    let matching: Vec<&String> = allowed.iter().filter(by_name).collect();
    match matching[..] {
        [file] => Ok(file.clone()),
        _ => bail!(
            "`{asked}` is not a lesson file; reset works on these (from lessons/background-sync/lesson.toml): {}",
            allowed.join(", ")
        ),
    }
}

/// Asks on the terminal; refuses when there is none to ask on.
fn confirm(files: &[String]) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not resetting {} without asking, and there is no terminal to ask on: add `--yes` to reset anyway",
            files.join(", ")
        );
    }
    print!(
        "Reset {} to the starter's original? Your version is kept in target/xtask/backups/. [y/N] ",
        files.join(" and ")
    );
    std::io::stdout()
        .flush()
        .context("cannot write to the terminal")?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(is_yes(&answer))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_lowercase().as_str(), "y" | "yes")
}

/// The commit whose starter is the original: where this checkout branched
/// from its upstream, or `HEAD` when it has none.
fn base_revision(root: &Path) -> anyhow::Result<String> {
    git(root, &["rev-parse", "--is-inside-work-tree"]).context(
        "not in a git checkout: reset takes the starter's original from git; get the workshop with `git clone`, or copy the file from a fresh copy of the workshop by hand",
    )?;
    match git(root, &["merge-base", "HEAD", "@{upstream}"]) {
        Ok(base) => Ok(base.trim().to_owned()),
        // No upstream (a fresh `git init`, a detached checkout): HEAD.
        Err(_) => {
            let head = git(root, &["rev-parse", "HEAD"]).context("git has no HEAD commit here")?;
            Ok(head.trim().to_owned())
        }
    }
}

/// Runs git in `root` and returns what it printed; its error message when
/// it fails.
fn git(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let mut command = Command::new("git");
    command.current_dir(root).args(args);
    let shown = show(&command);
    let output = command
        .output()
        .with_context(|| format!("cannot run `{shown}` (is git installed?)"))?;
    if !output.status.success() {
        bail!(
            "`{shown}` failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8(output.stdout).with_context(|| format!("`{shown}` printed what is not UTF-8"))
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `parent/name`, or `parent/name-2`, `-3`... if that is taken (two resets
/// in one second must not put their backups in one place).
fn fresh_dir(parent: &Path, name: &str) -> std::path::PathBuf {
    let mut dir = parent.join(name);
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = parent.join(format!("{name}-{n}"));
    }
    dir
}

/// `2026-12-03T09-12-44Z`: a UTC time that sorts, and that is a valid
/// directory name everywhere (no `:`).
fn timestamp(unix: u64) -> String {
    let days = unix / 86_400;
    let seconds = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The calendar date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["src/page.rs".into(), "src/worker.rs".into()]
    }

    #[test]
    fn a_lesson_file_is_named_in_any_of_its_spellings() {
        for asked in [
            "src/worker.rs",
            "starter/src/worker.rs",
            "./starter/src/worker.rs",
            "worker.rs",
        ] {
            assert_eq!(pick(asked, &allowed()).unwrap(), "src/worker.rs", "{asked}");
        }
        for asked in ["src/idb.rs", "lib.rs", "solution/src/worker.rs", ""] {
            let error = pick(asked, &allowed()).unwrap_err().to_string();
            assert!(error.contains("src/page.rs, src/worker.rs"), "{error}");
        }
    }

    #[test]
    fn only_yes_means_yes() {
        for yes in ["y\n", "Y", " yes \n"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "y y"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }

    #[test]
    fn a_second_backup_in_the_same_second_goes_elsewhere() {
        let dir = crate::build::tests::TempDir::new();
        let first = fresh_dir(&dir.0, "t");
        assert_eq!(first, dir.0.join("t"));
        fs::create_dir_all(&first).unwrap();
        assert_eq!(fresh_dir(&dir.0, "t"), dir.0.join("t-2"));
    }

    #[test]
    fn backups_are_named_by_utc_time() {
        assert_eq!(timestamp(0), "1970-01-01T00-00-00Z");
        // `date -u -d @1796290364`: Thu Dec  3 09:32:44 UTC 2026.
        assert_eq!(timestamp(1_796_290_364), "2026-12-03T09-32-44Z");
        // A leap day.
        assert_eq!(timestamp(951_782_400), "2000-02-29T00-00-00Z");
    }

    #[test]
    fn the_original_comes_from_this_checkouts_git() {
        // In a git checkout of the workshop, the starter's lesson files are
        // in its base commit.
        let root = project_root();
        if git(&root, &["rev-parse", "--is-inside-work-tree"]).is_err() {
            println!("skipped: not a git checkout");
            return;
        }
        let rev = base_revision(&root).unwrap();
        let text = git(&root, &["show", &format!("{rev}:./starter/src/worker.rs")]).unwrap();
        assert!(
            text.contains("TODO("),
            "the starter's worker.rs has its TODOs"
        );
    }
}
