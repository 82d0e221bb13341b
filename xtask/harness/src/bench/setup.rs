//! What every benchmark gets ([`Setup`]), and the app started for it in a
//! fresh headless Chromium.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::browsers::chromium::{self, Chromium};
use crate::browsers::{Browser, PageId};
use crate::standins::server::Server;

/// What every benchmark gets.
pub struct Setup {
    pub root: PathBuf,
    /// The workspace's target directory.
    pub target: PathBuf,
    pub site: PathBuf,
    pub server_bin: PathBuf,
    /// The xtask binary, for the inner-loop benchmark's `serve --watch`.
    pub xtask_bin: Option<PathBuf>,
    /// Where Node's packages are installed (`target/bench/node`).
    pub node_dir: PathBuf,
    /// The room's binary, for the room's benchmark.
    pub room_bin: Option<PathBuf>,
    pub quick: bool,
}

impl Setup {
    /// `full` in a full run, `quick` in smoke mode.
    pub fn size(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// The app started from `setup` (quiet logging) and open in a fresh headless
/// Chromium, its service worker in control of the page.
pub async fn app_in_chromium(setup: &Setup) -> Result<(Server, Chromium, PageId)> {
    site_in_chromium(setup, &setup.site).await
}

/// `site` served by the app's server and open in a fresh headless Chromium,
/// its service worker in control of the page.
pub async fn site_in_chromium(setup: &Setup, site: &Path) -> Result<(Server, Chromium, PageId)> {
    let app = Server::start_logging(&setup.server_bin, site, "warn").await?;
    let mut browser = Chromium::launch(chromium::find_or_install()?, &app.origin())
        .await
        .context("starting Chromium")?;
    let tab = browser.open_page(&format!("{}/", app.origin())).await?;
    browser
        .wait_until(
            tab,
            "(async () => { await navigator.serviceWorker.ready; return !!navigator.serviceWorker.controller; })()",
            "the service worker to control the page",
            Duration::from_secs(30),
        )
        .await?;
    Ok((app, browser, tab))
}
