//! Finding Firefox (or installing it) and starting it on a profile with both
//! remote protocols on: WebDriver BiDi, and Marionette beside it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::Command;

use crate::browsers::process::{Process, Tail};
use crate::util::Installable;

/// The longest Firefox may take to start listening.
pub(super) const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to find Firefox, and how to get it.
const FIREFOX: Installable = Installable {
    product: "Firefox ESR",
    env: "FIREFOX",
    names: &["firefox-esr", "firefox"],
    debian_package: "firefox-esr",
    how_to_install: "Debian: `sudo apt-get install firefox-esr`; macOS: `brew install --cask firefox@esr`",
};

/// `FIREFOX`, else firefox-esr / firefox on `PATH`; else, as root on Debian
/// or Ubuntu, installs the `firefox-esr` package (and says so); else one line
/// saying how to install it.
pub fn find_or_install() -> Result<PathBuf> {
    FIREFOX.find_or_install()
}

/// The endpoint in Firefox's `WebDriver BiDi listening on ws://…` line.
fn endpoint(line: &str) -> Option<String> {
    line.trim()
        .strip_prefix("WebDriver BiDi listening on ")
        .map(|url| url.trim().to_owned())
}

/// Where Marionette writes the port it listens on (with `marionette.port`
/// 0) once it accepts connections.
const MARIONETTE_PORT_FILE: &str = "MarionetteActivePort";

/// Starts Firefox on `profile` with both remote protocols on, and waits until
/// both listen; returns the process and Marionette's port.
pub(super) async fn launch(
    exe: &Path,
    profile: &Path,
    stdout_tail: Tail,
) -> Result<(Process, u16)> {
    // A port file left by the last run names a port nobody listens on now:
    // only a file this launch writes may be read.
    let port_file = profile.join(MARIONETTE_PORT_FILE);
    match std::fs::remove_file(&port_file) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(error).with_context(|| format!("cannot remove {}", port_file.display()));
        }
    }
    let mut command = Command::new(exe);
    command
        .args(["--headless", "--no-remote", "--profile"])
        .arg(profile)
        .arg("--remote-debugging-port=0")
        // Marionette, and with it scripts in Firefox's own (chrome) windows:
        // without this flag ESR 140 refuses `Marionette:SetContext` to
        // "chrome" ("System access is required").
        .args(["--marionette", "--remote-allow-system-access"])
        .env("MOZ_CRASHREPORTER_DISABLE", "1");
    let (mut process, url_rx) = Process::start(command, exe, endpoint, Some(stdout_tail))?;
    let deadline = tokio::time::Instant::now() + LAUNCH_TIMEOUT;
    // BiDi first: a Marionette session made before the Remote Agent runs
    // would come without a `webSocketUrl`.
    match tokio::time::timeout_at(deadline, url_rx).await {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => bail!(
            "Firefox ({}) exited before printing its WebDriver BiDi endpoint:\n{}",
            exe.display(),
            process.stderr_text()
        ),
        Err(_) => bail!(
            "timed out after {LAUNCH_TIMEOUT:?} waiting for Firefox to print `WebDriver BiDi listening on ws://…`"
        ),
    }
    loop {
        if let Ok(text) = std::fs::read_to_string(&port_file)
            && let Ok(port) = text.trim().parse::<u16>()
            && port != 0
        {
            return Ok((process, port));
        }
        if let Ok(Some(status)) = process.child.try_wait() {
            bail!(
                "Firefox ({}) exited ({status}) before Marionette wrote its port to {}:\n{}",
                exe.display(),
                port_file.display(),
                process.stderr_text()
            );
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "timed out after {LAUNCH_TIMEOUT:?} waiting for Marionette to write its port to {} (started with --marionette)",
                port_file.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
