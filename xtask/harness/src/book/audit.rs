//! An accessibility audit of the book's pages with axe-core (Deque's
//! engine, the one browsers' own audits build on), run in each page in
//! headless Chromium: every chapter as a reader sees it, the presented
//! slides and the speaker view.
//!
//! axe-core is installed with npm into `target/audit/node/` from
//! `xtask/harness/audit-node/package.json` (pinned), as the benchmarks
//! install their Node baselines. A violation in our own theme or content
//! fails the test. A violation in mdBook's own markup (its menu bar, which
//! the book does not template) is listed in [`MDBOOK`], with why; it is
//! printed, not failed, and a new one of those fails too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::browsers::Browser;

use super::page::{WAIT, navigate};
use super::slides::SLIDES;

/// mdBook's own markup that axe flags: (rule, the element's selector, why).
/// Each is mdBook's `index.hbs`, which this book uses unchanged.
pub const MDBOOK: &[(&str, &str, &str)] = &[
    (
        "aria-allowed-attr",
        "#mdbook-sidebar-toggle",
        "the menu bar's sidebar toggle is a <label> with aria-expanded, which a label cannot have",
    ),
    (
        "aria-prohibited-attr",
        "#mdbook-sidebar-toggle",
        "the same <label> has an aria-label, which its (generic) role does not allow",
    ),
    (
        "region",
        "#mdbook-sidebar-toggle",
        "the menu bar is a <div> before <main>, in no landmark (no <header> or <nav>)",
    ),
    ("region", ".menu-title", "the same: the menu bar's title"),
    (
        "region",
        ".right-buttons",
        "the same: the menu bar's print and search buttons",
    ),
];

#[derive(Debug, Deserialize)]
struct Violation {
    id: String,
    impact: Option<String>,
    help: String,
    nodes: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Node {
    target: String,
    html: String,
}

const RUN: &str = r#"axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map((n) => ({ target: n.target.join(' '), html: n.html.slice(0, 160) })),
})))"#;

/// What the audit found in mdBook's markup, for the report.
pub struct Audited {
    pub pages: usize,
    pub mdbook: Vec<String>,
}

/// Audits every page of the built book (but `print.html`, the chapters
/// again, and `toc.html`, the menu for browsers without JavaScript), and the
/// slides presented and in the speaker view.
pub async fn audit<B: Browser>(
    b: &mut B,
    origin: &str,
    book: &Path,
    axe: &Path,
) -> Result<Audited> {
    let engine = std::fs::read_to_string(axe)
        .with_context(|| format!("cannot read axe-core at {}", axe.display()))?;
    let mut pages: Vec<String> = html_pages(book)?
        .into_iter()
        .filter(|p| p != "print.html" && p != "toc.html")
        .collect();
    pages.push(format!("{SLIDES}#slide-1"));
    pages.push(format!("{SLIDES}#speaker-1"));
    let tab = b.open_page("about:blank").await?;
    let mut ours = Vec::new();
    let mut mdbook = Vec::new();
    for page in &pages {
        navigate(b, tab, &format!("{origin}/{page}")).await?;
        b.eval(tab, &format!("{engine};\ntrue"), WAIT).await?;
        let found = b.eval(tab, RUN, Duration::from_secs(60)).await?;
        let found: Vec<Violation> = serde_json::from_value(found).context("axe's report")?;
        for violation in found {
            for node in &violation.nodes {
                let known = MDBOOK
                    .iter()
                    .find(|(rule, target, _)| *rule == violation.id && *target == node.target);
                match known {
                    Some((rule, target, why)) => {
                        let line = format!("{rule} at {target}: {why}");
                        if !mdbook.contains(&line) {
                            mdbook.push(line);
                        }
                    }
                    None => ours.push(format!(
                        "{page}: {} ({}): {}\n      at {}: {}",
                        violation.id,
                        violation.impact.as_deref().unwrap_or("?"),
                        violation.help,
                        node.target,
                        node.html.replace('\n', " ")
                    )),
                }
            }
        }
    }
    if !ours.is_empty() {
        bail!(
            "{} accessibility violation(s) in the book's own theme or content (book/theme, the chapters); \
             https://dequeuniversity.com/rules/axe/ explains each rule:\n  {}",
            ours.len(),
            ours.join("\n  ")
        );
    }
    Ok(Audited {
        pages: pages.len(),
        mdbook,
    })
}

/// The book's HTML pages, as URL paths from its root, sorted.
fn html_pages(book: &Path) -> Result<Vec<String>> {
    let mut pages = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let full = book.join(&dir);
        for entry in
            std::fs::read_dir(&full).with_context(|| format!("listing {}", full.display()))?
        {
            let entry = entry?;
            let relative = dir.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                pending.push(relative);
            } else if relative.extension().is_some_and(|e| e == "html") {
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                pages.push(parts.join("/"));
            }
        }
    }
    pages.sort();
    Ok(pages)
}

/// `axe.min.js`, installed now if it is not yet; or why it cannot be.
pub async fn install_axe(root: &Path, dir: &Path) -> Result<PathBuf> {
    let axe = dir.join("node_modules/axe-core/axe.min.js");
    let manifest = std::fs::read(root.join("xtask/harness/audit-node/package.json"))
        .context("cannot read xtask/harness/audit-node/package.json")?;
    let installed = dir.join("package.json");
    if axe.is_file() && std::fs::read(&installed).ok().as_deref() == Some(&manifest[..]) {
        return Ok(axe);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&installed, &manifest)?;
    println!("  npm install axe-core in {}", dir.display());
    let mut npm = tokio::process::Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" });
    npm.args([
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--loglevel=error",
        "--fetch-retries=1",
        "--fetch-timeout=20000",
    ])
    .current_dir(dir)
    .stdin(std::process::Stdio::null())
    .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(180), npm.output())
        .await
        .context("`npm install axe-core` did not finish within 3 minutes")?
        .context(
            "cannot run npm, which installs axe-core for the book's accessibility audit: \
             install Node.js 18 or later (https://nodejs.org, or `apt-get install npm`)",
        )?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        bail!("`npm install axe-core` failed ({}): {last}", out.status);
    }
    anyhow::ensure!(axe.is_file(), "npm installed no {}", axe.display());
    Ok(axe)
}
