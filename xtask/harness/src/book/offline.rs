//! The book reads offline: after a first visit its worker keeps every file
//! of the build; a new build replaces them whole; then, with the host gone
//! and the browser offline, three chapters open with their pictures, the
//! search finds words, and the slides present.
//!
//! The new build is the built book with every page marked as the next
//! build's, and its worker's build hash changed (a real rebuild changes the
//! hash the same way: `xtask/book/src/offline.rs`, whose tests check that it
//! follows the files). The host lets browsers keep every file for an hour,
//! so that a page of the old build is there in the HTTP cache to be mixed
//! in by mistake.

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};

use crate::browsers::{Browser, PageId};

use super::host::Host;
use super::page::{WAIT, navigate, truthy_eval};
use super::slides::{SLIDES, press};

/// The worker the book crate writes into each build.
const WORKER: &str = "book-worker.js";
/// What marks a page of the next build.
const NEXT_BUILD: &str = r#"<meta name="book-build" content="next">"#;
/// Three chapters to read offline, and a word the search must find.
const CHAPTERS: [&str; 3] = [
    "background-sync/outbox.html",
    "background-sync/sync.html",
    "instructor-guide.html",
];
const SEARCHED: &str = "IndexedDB";

/// How many files the worker must keep: every file of the build but
/// itself and dotfiles (the book crate's rule).
fn files_to_keep(book: &Path) -> Result<usize> {
    let mut count = 0;
    let mut pending = vec![book.to_owned()];
    while let Some(dir) = pending.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?
        {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else if entry.path() != book.join(WORKER) {
                count += 1;
            }
        }
    }
    Ok(count)
}

/// A copy of `book` in `dest` as the next build: each page marked, the
/// worker's build hash changed.
pub fn next_build(book: &Path, dest: &Path) -> Result<()> {
    let mut pending = vec![(book.to_owned(), dest.to_owned())];
    while let Some((from, to)) = pending.pop() {
        std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
        for entry in std::fs::read_dir(&from)? {
            let entry = entry?;
            let (source, target) = (entry.path(), to.join(entry.file_name()));
            if entry.file_type()?.is_dir() {
                pending.push((source, target));
            } else if source.extension().is_some_and(|e| e == "html") {
                let page = std::fs::read_to_string(&source)?;
                let marked = page.replacen("<head>", &format!("<head>\n{NEXT_BUILD}"), 1);
                ensure!(marked != page, "{} has no <head>", source.display());
                std::fs::write(&target, marked)?;
            } else if source.file_name().is_some_and(|n| n == WORKER) {
                let worker = std::fs::read_to_string(&source)?;
                let changed = worker.replacen("const BUILD = '", "const BUILD = 'next-", 1);
                ensure!(changed != worker, "{WORKER} names no BUILD");
                std::fs::write(&target, changed)?;
            } else {
                std::fs::copy(&source, &target)?;
            }
        }
    }
    Ok(())
}

/// The book's caches in this browser: `{name: file count}`.
const CACHES: &str = r#"(async () => {
  const kept = {};
  for (const name of await caches.keys()) {
    if (name.startsWith('offline-book ')) { kept[name] = (await (await caches.open(name)).keys()).length; }
  }
  return kept;
})()"#;

/// A first visit to the book, a new build, then the book offline.
pub async fn reads_offline<B: Browser>(
    b: &mut B,
    host: &mut Host,
    book: &Path,
    next: &Path,
) -> Result<()> {
    let origin = host.origin();
    let files = files_to_keep(book)?;

    // The first visit: the worker takes the page over and keeps every file.
    let tab = b.open_page(&format!("{origin}/index.html")).await?;
    let complete = format!(
        "navigator.serviceWorker.controller !== null && ({CACHES}).then(kept => \
           Object.values(kept).length === 1 && Object.values(kept)[0] === {files})"
    );
    b.wait_until(
        tab,
        &complete,
        &format!("the book's worker to control the page and keep its {files} files"),
        WAIT,
    )
    .await?;

    // A new build on the host: the next visit installs its worker, which
    // takes over; the page reloads itself into the new build, and only the
    // new build's cache is left.
    host.switch_to(next);
    b.reload(tab).await?;
    b.wait_until(
        tab,
        IS_NEXT_BUILD,
        "the open page to reload itself into the new build once its worker took over",
        WAIT,
    )
    .await?;
    let kept = b.eval(tab, CACHES, WAIT).await?;
    let kept = kept.as_object().context("the caches")?;
    ensure!(
        kept.len() == 1 && kept.keys().all(|name| name.contains(" next-")),
        "after the new build took over, the book's caches are {kept:?}: the old build's cache should be gone"
    );

    // Offline: the host is gone, and the browser offline.
    host.stop().await;
    b.set_offline(true).await?;
    for chapter in CHAPTERS {
        read(b, tab, &format!("{origin}/{chapter}"), chapter).await?;
    }
    search(b, tab, &origin).await?;
    present(b, tab, &origin).await
}

/// Whether the page is the new build's, and loaded.
const IS_NEXT_BUILD: &str = "document.querySelector('meta[name=book-build]')?.content === 'next' \
     && document.readyState === 'complete'";

/// Opens `url` offline: a page of the new build, its pictures shown.
async fn read<B: Browser>(b: &mut B, tab: PageId, url: &str, what: &str) -> Result<()> {
    navigate(b, tab, url)
        .await
        .with_context(|| format!("opening {what} offline"))?;
    if !truthy_eval(b, tab, IS_NEXT_BUILD).await? {
        bail!("offline, {what} is not the new build's page: the cache mixes two builds");
    }
    let broken = b
        .eval(
            tab,
            "Promise.all(Array.from(document.images).map(i => i.decode().then(() => null, () => i.getAttribute('src'))))
               .then(srcs => srcs.filter(s => s !== null))",
            WAIT,
        )
        .await?;
    ensure!(
        broken.as_array().is_some_and(Vec::is_empty),
        "offline, {what} shows broken pictures: {broken}"
    );
    Ok(())
}

/// mdBook's search, offline: its index comes from the worker's cache.
async fn search<B: Browser>(b: &mut B, tab: PageId, origin: &str) -> Result<()> {
    navigate(b, tab, &format!("{origin}/index.html?search={SEARCHED}")).await?;
    b.wait_until(
        tab,
        "document.querySelectorAll('#mdbook-searchresults li').length > 0",
        &format!("the search, offline, to find \"{SEARCHED}\""),
        WAIT,
    )
    .await
    .map(drop)
}

/// The slides, offline: presented, and on to the next slide.
async fn present<B: Browser>(b: &mut B, tab: PageId, origin: &str) -> Result<()> {
    navigate(b, tab, &format!("{origin}/{SLIDES}")).await?;
    b.eval(tab, &press("p"), WAIT).await?;
    b.eval(tab, &press("ArrowRight"), WAIT).await?;
    let counter = b
        .eval(
            tab,
            "document.querySelector('.slides-overlay .slides-counter')?.textContent ?? null",
            WAIT,
        )
        .await?;
    ensure!(
        counter.as_str().is_some_and(|c| c.starts_with("2 / ")),
        "offline, the slides do not present (their counter: {counter})"
    );
    Ok(())
}
