//! `book`: builds the lesson's mdBook with the mdBook libraries (no `mdbook`
//! CLI to install), checks it, and serves it while you write.
//!
//! `cargo xtask book` runs it as `cargo run -q -p book -- build|serve …`.
//!
//! - [`lesson`]: a preprocessor for the directives this book adds to
//!   Markdown — `{{#checkpoints}}` (the table rendered from the same
//!   `checkpoints.toml` that `cargo xtask check` runs), `{{#screenshot}}`,
//!   `{{#slides}}` and `{{#timing}}` (the instructor guide's timing table,
//!   from the lesson plan in `lesson.toml`).
//! - [`render`]: one build, with everything mdBook logs caught.
//! - [`verify`]: what mdBook lets through — a missing include, a missing or
//!   empty anchor, a broken link or `#fragment` — found in the sources and
//!   in the output. A build with any problem fails.
//! - [`offline`]: the book's service worker, written into each build with
//!   the list of its files, so that the book reads offline.
//! - [`serve`]: a small static server that rebuilds on change and reloads
//!   the open pages.

mod checkpoints;
mod lesson;
mod offline;
mod render;
mod serve;
mod timing;
mod verify;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "book", about = "Build, check and serve the lesson's book")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Build the book into `target/book/` and check it: fails on a missing
    /// include or anchor, a broken link, or an error logged by mdBook.
    Build {
        /// Where to write the book [default: target/book].
        #[arg(long)]
        dest: Option<PathBuf>,
        /// Open the built book in the default browser.
        #[arg(long)]
        open: bool,
    },
    /// Build the book, serve it, and rebuild (and reload open pages) when a
    /// file of the book, the lesson or the solution changes.
    Serve {
        /// Address to listen on (loopback unless you say otherwise).
        #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
        host: IpAddr,
        #[arg(long, default_value_t = 3001)]
        port: u16,
        /// Open the book in the default browser once it is served.
        #[arg(long)]
        open: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let paths = Paths::of_workspace();
    let result = match cli.command {
        Cmd::Build { dest, open } => {
            let dest = dest.unwrap_or_else(|| paths.default_dest());
            render::build_and_report(&paths, &dest).map(|()| {
                println!("book: {}", dest.join("index.html").display());
                if open {
                    open_in_browser(&dest.join("index.html").to_string_lossy());
                }
            })
        }
        Cmd::Serve { host, port, open } => serve::run(&paths, host, port, open),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Where the book's sources are.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The workspace root.
    pub workspace: PathBuf,
    /// `book/`: `book.toml`, `src/`, the theme additions.
    pub book: PathBuf,
    /// The checkpoints that the table is rendered from.
    pub checkpoints: PathBuf,
    /// The lesson's `lesson.toml`, whose `[timing]` the instructor guide's
    /// timing table is rendered from.
    pub plan: PathBuf,
}

impl Paths {
    fn of_workspace() -> Paths {
        // This crate is `xtask/book`.
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let workspace = here
            .ancestors()
            .nth(2)
            .expect("the book crate lives two directories below the workspace root")
            .to_owned();
        Paths::in_workspace(&workspace)
    }

    pub fn in_workspace(workspace: &Path) -> Paths {
        Paths {
            workspace: workspace.to_owned(),
            book: workspace.join("book"),
            checkpoints: workspace.join("lessons/background-sync/checkpoints.toml"),
            plan: workspace.join("lessons/background-sync/lesson.toml"),
        }
    }

    /// `target/book`, or under `CARGO_TARGET_DIR` when that is set.
    fn default_dest(&self) -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(|dir| self.workspace.join(dir))
            .unwrap_or_else(|| self.workspace.join("target"));
        target.join("book")
    }

    /// Where a change should rebuild the book: its own sources, the
    /// lesson's text and checkpoints, and the code it includes.
    pub fn watched(&self) -> Vec<PathBuf> {
        vec![
            self.book.clone(),
            self.workspace.join("lessons"),
            self.workspace.join("solution/src"),
            self.workspace.join("solution/static"),
        ]
    }
}

/// Opens a file or URL with the desktop's default handler. Failing to is not
/// an error: the address has been printed anyway.
pub fn open_in_browser(target: &str) {
    let mut command = if cfg!(target_os = "macos") {
        Command::new("open")
    } else if cfg!(windows) {
        let mut start = Command::new("cmd");
        start.args(["/C", "start", ""]);
        start
    } else {
        Command::new("xdg-open")
    };
    if let Err(error) = command.arg(target).spawn() {
        eprintln!("could not open a browser ({error}); open {target} yourself");
    }
}
