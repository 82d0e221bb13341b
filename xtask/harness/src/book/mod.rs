//! `harness book-test`: the built book in headless Chromium, as the
//! instructor and the readers use it.
//!
//! - [`slides`]: every slide fits the projector (1280×720 and 1024×768);
//!   the speaker view fits an 800×600 window and shows the current slide,
//!   the next one and the notes; the presenting window and the speaker view
//!   follow each other.
//! - [`audit`]: an accessibility audit (axe-core) of every page.
//! - [`offline`]: after a first visit the book reads offline, and a new
//!   build replaces the old one whole.
//!
//! The book is served by [`host`], a static host of our own on 127.0.0.1;
//! [`page`] opens its pages.

mod audit;
mod host;
mod offline;
mod page;
mod slides;

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::browsers::Browser;
use crate::browsers::chromium::{self, Chromium};
use crate::util::TempDir;

use self::host::Host;

/// Runs every part on the book built in `book`; `node` is where axe-core
/// is (or is to be) installed, `root` the workspace.
pub async fn run(book: &Path, node: &Path, root: &Path) -> Result<()> {
    anyhow::ensure!(
        book.join("index.html").is_file(),
        "no built book in {}: build it with `cargo xtask book`",
        book.display()
    );
    let exe = chromium::find_or_install()?;
    let axe = audit::install_axe(root, node).await?;
    let mut host = Host::start(book).await?;
    let origin = host.origin();
    let mut b = Chromium::launch(exe.clone(), &origin).await?;
    println!(
        "book-test: {} on {origin}, in {}",
        book.display(),
        b.version()
    );

    let started = Instant::now();
    let count = slides::fit(&mut b, &origin).await?;
    passed(
        started,
        &format!("all {count} slides fit at 1280×720 and at 1024×768"),
    );
    let started = Instant::now();
    slides::speaker_view(&mut b, &origin).await?;
    passed(
        started,
        "the speaker view fits 800×600: each slide, the next one and its notes",
    );
    let started = Instant::now();
    slides::windows_follow(&mut b, &origin).await?;
    passed(
        started,
        "the presented slides and the speaker view follow each other; S opens it",
    );
    let started = Instant::now();
    let audited = audit::audit(&mut b, &origin, book, &axe).await?;
    passed(
        started,
        &format!(
            "no accessibility violation of ours in {} pages (axe-core)",
            audited.pages
        ),
    );
    for line in &audited.mdbook {
        println!("      mdBook's own markup: {line}");
    }
    drop(b);

    // A reader's first visit, in a browser of its own.
    let started = Instant::now();
    let next = TempDir::new("book-test-next-build")?;
    offline::next_build(book, next.path()).context("making the next build")?;
    let mut b = Chromium::launch(exe, &origin).await?;
    offline::reads_offline(&mut b, &mut host, book, next.path()).await?;
    passed(
        started,
        "offline after a first visit: three chapters, the search and the slides; a new build replaced the cache whole",
    );
    Ok(())
}

fn passed(started: Instant, what: &str) {
    println!("  ✓ {what} ({:.1}s)", started.elapsed().as_secs_f32());
}
