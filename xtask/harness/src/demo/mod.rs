//! `harness demo`: the instructor guide's demo script
//! (`book/src/instructor-guide.md`), played step by step in a headless
//! browser against the finished app, checking that each step shows what the
//! guide says; its screenshots are the guide's pictures.
//!
//! DevTools' controls are the DevTools protocol's: *Offline* in Application
//! → Service workers is the same network emulation on every tab and the
//! worker (`set_offline`), *Stop* is `ServiceWorker.stopAllWorkers`, *Sync*
//! is `ServiceWorker.dispatchSyncEvent`. Stopping the server is stopping
//! its process. What no headless browser shows (the permission prompt, a
//! system notification, DevTools' panels) the guide marks "rehearse", and
//! the demo checks what stands behind it: the permission is granted up
//! front, a notification is read from `registration.getNotifications()`,
//! the outbox from IndexedDB.
//!
//! [`guide`] lists the steps and what they show, [`steps`] plays them,
//! with what [`context`] gives them.

mod context;
mod guide;
mod steps;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use self::context::Demo;
use crate::browsers::Browser;
use crate::browsers::chromium::{self, Chromium};
use crate::browsers::firefox::{self, Firefox};
use crate::check::BrowserKind;
use crate::standins::autopush::Autopush;
use crate::standins::server::Server;

pub async fn run(
    kind: BrowserKind,
    site: &Path,
    server_bin: &Path,
    out: Option<&Path>,
) -> Result<()> {
    let started = Instant::now();
    let (server, proxy) = Server::behind_proxy(server_bin, site).await?;
    let origin = proxy.origin();
    match kind {
        BrowserKind::Chromium => {
            let exe = chromium::find_or_install()?;
            let b = Chromium::launch(exe, &origin)
                .await
                .context("starting Chromium")?;
            play(Demo::new(b, server, proxy, None, out)?, started).await
        }
        BrowserKind::Firefox => {
            let exe = firefox::find_or_install()?;
            // Started first: its URL is in the profile Firefox starts with.
            let autopush = Autopush::start().await?;
            let b = Firefox::launch(exe, &origin, Some(autopush.server_url()))
                .await
                .context("starting Firefox")?;
            play(Demo::new(b, server, proxy, Some(autopush), None)?, started).await
        }
    }
}

async fn play<B: Browser>(mut demo: Demo<B>, started: Instant) -> Result<()> {
    let browser = demo.b.name();
    println!(
        "The demo script of book/src/instructor-guide.md in {}",
        demo.b.version()
    );
    let mut played = 0;
    for step in &guide::STEPS {
        if !step.browsers.contains(&browser) {
            let other = step.browsers.first().copied().unwrap_or("another browser");
            println!(
                "{}. {} (not in {browser}: `cargo xtask demo --browser {other}`)",
                step.number, step.title
            );
            continue;
        }
        println!("{}. {}", step.number, step.title);
        let begun = Instant::now();
        steps::play(&mut demo, step.number).await.with_context(|| {
            format!(
                "step {} of the demo script, \"{}\", did not show what the guide says (it quotes {:?})",
                step.number, step.title, step.quotes
            )
        })?;
        println!("   ({:.1}s)", begun.elapsed().as_secs_f32());
        played += 1;
    }
    println!(
        "the {played} steps of the demo script that {browser} plays (steps {}) show what the guide says ({:.1}s)",
        guide::numbers_in(browser),
        started.elapsed().as_secs_f32()
    );
    Ok(())
}
