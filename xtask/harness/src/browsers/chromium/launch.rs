//! Finding Chromium (or installing it) and starting it with the DevTools
//! protocol on, on a fresh profile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::process::Command;

use crate::browsers::process::Process;
use crate::util::Installable;

/// The longest Chromium may take to start listening.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to find Chromium, and how to get it.
const CHROMIUM: Installable = Installable {
    product: "Chromium",
    env: "CHROME",
    names: &[
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ],
    debian_package: "chromium",
    how_to_install: "Debian/Ubuntu: `sudo apt-get install chromium`; macOS: `brew install --cask chromium`",
};

/// `CHROME`, else chromium / chromium-browser / google-chrome on `PATH`;
/// else, as root on Debian or Ubuntu, installs the `chromium` package (and
/// says so); else one line saying how to install it.
pub fn find_or_install() -> Result<PathBuf> {
    CHROMIUM.find_or_install()
}

/// Starts Chromium on `profile`; the process and its DevTools endpoint.
pub(super) async fn launch(exe: &Path, profile: &Path) -> Result<(Process, String)> {
    let mut command = Command::new(exe);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank");
    let (process, url) = Process::start(command, exe, endpoint, None)?;
    match tokio::time::timeout(LAUNCH_TIMEOUT, url).await {
        Ok(Ok(url)) => Ok((process, url)),
        Ok(Err(_)) => bail!(
            "Chromium ({}) exited before printing its DevTools endpoint:\n{}",
            exe.display(),
            process.stderr_text()
        ),
        Err(_) => bail!(
            "timed out after {LAUNCH_TIMEOUT:?} waiting for Chromium to print `DevTools listening on ws://…`"
        ),
    }
}

/// The endpoint in Chromium's `DevTools listening on ws://…` line.
fn endpoint(line: &str) -> Option<String> {
    line.trim()
        .strip_prefix("DevTools listening on ")
        .map(|url| url.trim().to_owned())
}
