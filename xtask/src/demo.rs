//! `cargo xtask demo [--browser firefox]`: the instructor guide's demo
//! script, played in a headless browser against the finished app, each step
//! checked against what the guide says it shows (`harness demo`); its
//! pictures are the guide's. `cargo xtask test` plays it in both browsers.

use std::path::PathBuf;

use lesson::Stage;

use crate::build::build_site;
use crate::check::{Browser, harness, stage_server};
use crate::command::{run as run_command, step};
use crate::workspace::{project_root, target_dir};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Chromium plays the steps with DevTools' controls; Firefox the
    /// fallback without Background Sync, and the push, against a push
    /// service of the harness's.
    #[arg(long, value_enum, default_value_t)]
    pub browser: Browser,
    /// Where the pictures go (Chromium only) [default: book/src/screenshots,
    /// the guide's pictures].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let site = build_site(Stage::Solution)?;
    let server = stage_server(Stage::Solution)?;
    let mut harness = harness();
    harness
        .args(["demo", "--browser", args.browser.name()])
        .arg("--site")
        .arg(&site)
        .arg("--server-bin")
        .arg(&server);
    if args.browser == Browser::Chromium {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| project_root().join("book/src/screenshots"));
        harness.arg("--out").arg(out);
    }
    step(
        &format!(
            "playing the demo script in headless {}",
            args.browser.name()
        ),
        || run_command(&mut harness),
    )
}

/// The demo as `cargo xtask test` plays it: its pictures under `target/`,
/// so that a test run leaves the book's alone.
pub fn test(browser: Browser) -> anyhow::Result<()> {
    run(&DemoArgs {
        browser,
        out: Some(target_dir().join("demo")),
    })
}
