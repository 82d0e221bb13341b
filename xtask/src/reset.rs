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

use anyhow::{Context, bail};

use crate::clock::Utc;
use crate::command::git;
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
        let original = original(&root, &rev, &format!("{starter}/{file}"))?;
        let path = root.join(starter).join(&file);
        let current = fs::read_to_string(&path).unwrap_or_default();
        if same_text(&current, &original) {
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
    let backups = fresh_dir(
        &xtask_dir().join("backups"),
        &Utc::at(progress::now()).file_name(),
    );
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

/// `file` (relative to `root`) as git checks it out from `rev`: with the
/// line endings this checkout's attributes and settings give it (the
/// repository's `.gitattributes` asks for LF; a checkout made otherwise may
/// have CRLF), not as the repository stores it.
fn original(root: &Path, rev: &str, file: &str) -> anyhow::Result<String> {
    git(root, &["cat-file", "--filters", &format!("{rev}:./{file}")])
        .with_context(|| format!("cannot read {file} as it is in git ({rev})"))
}

/// Whether two versions of a file say the same, whatever their line
/// endings: an editor that saved the starter's file with CRLF changed
/// nothing a reset would put back.
fn same_text(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n") == b.replace("\r\n", "\n")
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
    fn the_original_comes_from_this_checkouts_git() {
        // In a git checkout of the workshop, the starter's lesson files are
        // in its base commit.
        let root = project_root();
        if git(&root, &["rev-parse", "--is-inside-work-tree"]).is_err() {
            println!("skipped: not a git checkout");
            return;
        }
        let rev = base_revision(&root).unwrap();
        let text = original(&root, &rev, "starter/src/worker.rs").unwrap();
        assert!(
            text.contains("TODO("),
            "the starter's worker.rs has its TODOs"
        );
    }

    /// A checkout whose attributes ask for CRLF (as Git for Windows' own
    /// default would, without the repository's `.gitattributes`) gets its
    /// originals back with CRLF, as git itself would check them out; and a
    /// file that differs only in its line endings needs no reset.
    #[test]
    fn the_original_has_the_checkouts_line_endings() {
        let dir = crate::build::tests::TempDir::new();
        let root = &dir.0;
        let run = |args: &[&str]| {
            git(root, args).unwrap_or_else(|e| panic!("{e:#}"));
        };
        if git(root, &["--version"]).is_err() {
            println!("skipped: no git");
            return;
        }
        run(&["init", "-q"]);
        dir.write(".gitattributes", "*.rs text eol=crlf\n");
        dir.write(
            "starter/src/worker.rs",
            "fn on_sync() {\n    // TODO(sync)\n}\n",
        );
        run(&["add", "."]);
        run(&[
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
            "commit",
            "-q",
            "-m",
            "starter",
        ]);
        let text = original(root, "HEAD", "starter/src/worker.rs").unwrap();
        assert_eq!(text, "fn on_sync() {\r\n    // TODO(sync)\r\n}\r\n");
        assert!(same_text(&text, "fn on_sync() {\n    // TODO(sync)\n}\n"));
        assert!(!same_text(
            &text,
            "fn on_sync() {\r\n    deliver();\r\n}\r\n"
        ));
    }
}
