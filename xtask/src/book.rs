//! `cargo xtask book [--serve] [--open]`: the lesson's mdBook, built by the
//! `book` crate (its own crate, so that the mdBook libraries are never
//! compiled on the way to `serve`); and the book's browser test, one step
//! of `cargo xtask test`.

use crate::check::harness;
use crate::command::{cargo, run as run_command, step};
use crate::workspace::target_dir;

/// Runs the `book` crate, which renders `book/` with the mdBook libraries.
pub fn run(serve: bool, open: bool) -> anyhow::Result<()> {
    let mut command = cargo();
    command.args(["run", "-q", "-p", "book", "--"]);
    command.arg(if serve { "serve" } else { "build" });
    if open {
        command.arg("--open");
    }
    step("building the book", || run_command(&mut command))
}

/// Builds the book into `target/book/`, then has the harness present its
/// slides, audit its pages for accessibility and read it offline, in
/// headless Chromium (`harness book-test`).
pub fn browser_test() -> anyhow::Result<()> {
    let book = target_dir().join("book");
    run_command(
        cargo()
            .args(["run", "-q", "-p", "book", "--", "build", "--dest"])
            .arg(&book),
    )?;
    run_command(
        harness()
            .args(["book-test", "--book"])
            .arg(&book)
            .arg("--node-dir")
            .arg(target_dir().join("audit/node")),
    )
}
