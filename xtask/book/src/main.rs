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
//! - [`serve`]: a small static server that rebuilds on change and reloads
//!   the open pages.
//! - [`paths`]: where the book's sources are and where it is built, in the
//!   workspace found at run time.

mod lesson;
mod paths;
mod render;
mod serve;
mod timing;
mod verify;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::paths::Paths;

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
    let result = Paths::of_workspace().and_then(|paths| match cli.command {
        Cmd::Build { dest, open } => {
            let dest = dest.unwrap_or_else(|| paths.default_dest());
            render::build_and_report(&paths, &dest).map(|()| {
                println!("book: {}", dest.join("index.html").display());
                if open {
                    serve::open_in_browser(&dest.join("index.html").to_string_lossy());
                }
            })
        }
        Cmd::Serve { host, port, open } => serve::run(&paths, host, port, open),
    });
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
