//! Starting the harness: its command and options, the server binary it
//! runs, and the browser it needs, found before anything is built.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use platform::Machine;
use platform::browsers::{self, Family, NotFound};

use super::args::CheckArgs;
use crate::command::{cargo, run as run_command};
use crate::serve::{build_server, server_binary};
use crate::workspace::target_dir;
use lesson::Stage;

/// The harness's options for `args`, its results written to `results`.
/// `--no-hint`: the next checkpoint's hint is printed once, with the
/// progress after the harness's report, not in that report too.
pub(super) fn harness_options<'a>(args: &'a CheckArgs, results: &'a str) -> Vec<&'a str> {
    let mut options = vec![
        "--browser",
        args.browser.name(),
        "--results",
        results,
        "--no-hint",
    ];
    if args.all {
        options.push("--all");
    }
    if let Some(only) = &args.only {
        options.extend(["--only", only.as_str()]);
    }
    if args.verbose {
        options.push("--verbose");
    }
    if args.expect_starter {
        options.push("--expect-starter");
    }
    options
}

/// Runs the checkpoints against a built site and server binary; `stage` is
/// the directory the hints name.
pub fn run_harness(
    stage: &str,
    site: &Path,
    server: &Path,
    options: &[&str],
) -> anyhow::Result<()> {
    let mut harness = harness();
    harness
        .args(["check", stage])
        .arg("--site")
        .arg(site)
        .arg("--server-bin")
        .arg(server)
        .args(options);
    run_command(&mut harness).map_err(|_| {
        anyhow::anyhow!("not every checkpoint passes; the report above says which, and why")
    })
}

/// Before anything is built: a check with no browser to drive stops here,
/// with the one line that installs one on this system (as root on Debian,
/// as in CI, the harness installs it). The harness itself names the
/// browser it drives, with its version.
pub(super) fn browser_first(machine: &Machine, family: Family) -> anyhow::Result<()> {
    match browsers::find(machine, family) {
        Ok(_) => Ok(()),
        Err(NotFound::Nowhere)
            if browsers::apt_package(machine, family).is_some()
                && platform::tools::apt_get_allowed(machine) =>
        {
            Ok(())
        }
        Err(not_found) => anyhow::bail!(not_found.message(machine, family)),
    }
}

/// `cargo run -p harness --`, quietly: its report is what the user reads.
pub(crate) fn harness() -> Command {
    let mut command = cargo();
    command.args(["run", "-q", "-p", "harness", "--"]);
    command
}

/// Builds the stage's server and returns a copy of it for this check to run:
/// a rebuild of the stage while the check still runs the server (another
/// check, a save) then never writes into the binary it is running.
pub(crate) fn stage_server(stage: Stage) -> anyhow::Result<PathBuf> {
    build_server(stage)?;
    copy_server(stage)
}

/// Copies the stage's server, as cargo last built it, to where checks run
/// it, and returns where that is.
pub(super) fn copy_server(stage: Stage) -> anyhow::Result<PathBuf> {
    let copy = target_dir().join("debug").join(format!(
        "{}-check{}",
        stage.package(),
        std::env::consts::EXE_SUFFIX
    ));
    // Copied beside it, then renamed over it: writing into the binary itself
    // fails ("text file busy") while another check still runs it, but a
    // rename only repoints the name, and the running one keeps its file.
    let fresh = copy.with_extension(format!("new-{}", std::process::id()));
    fs::copy(server_binary(stage), &fresh)
        .with_context(|| format!("cannot copy the server binary to {}", fresh.display()))?;
    fs::rename(&fresh, &copy)
        .with_context(|| format!("cannot rename {} to {}", fresh.display(), copy.display()))?;
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::args::Browser;

    #[test]
    fn a_missing_browser_stops_the_check_with_this_systems_install_line() {
        let dir = std::env::temp_dir().join(format!("announce-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let mut mac = Machine {
            os: platform::Os::MacOs,
            root: dir.clone(),
            env: Vec::new(),
        };
        let error = browser_first(&mac, Family::Chromium)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "no Chromium-family browser found: install one (brew install --cask google-chrome), or set CHROME to its executable"
        );
        mac.env.push(("FIREFOX".into(), dir.join("nothing").into()));
        let error = browser_first(&mac, Family::Firefox)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("FIREFOX is set to "), "{error}");
        // Found: the check goes on (the harness names it).
        let app = dir.join("Applications/Google Chrome.app/Contents/MacOS");
        fs::create_dir_all(&app).unwrap();
        fs::write(app.join("Google Chrome"), "").unwrap();
        let found = browser_first(&mac, Family::Chromium);
        fs::remove_dir_all(&dir).unwrap();
        found.unwrap();
    }

    #[test]
    fn the_harness_leaves_the_hint_to_the_progress_after_it() {
        let mut args = CheckArgs::new(Stage::Starter);
        let options = harness_options(&args, "results.json");
        assert_eq!(
            options,
            [
                "--browser",
                "chromium",
                "--results",
                "results.json",
                "--no-hint"
            ]
        );
        args.all = true;
        args.expect_starter = true;
        args.browser = Browser::Firefox;
        let options = harness_options(&args, "r.json");
        assert!(options.contains(&"--no-hint"), "{options:?}");
        assert!(options.contains(&"--all"), "{options:?}");
        assert!(options.contains(&"--expect-starter"), "{options:?}");
        assert!(options.contains(&"firefox"), "{options:?}");
    }
}
