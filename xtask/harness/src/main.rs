//! The browser harness: proves the lesson's checkpoints in a real headless
//! browser, judging only by what a user sees and what the server stores.
//!
//! `cargo xtask check` runs it as
//! `cargo run -q -p harness -- check <stage> --site <dir> --server-bin <path>`.
//! It is its own crate so that `cargo xtask serve` never compiles it.
//!
//! - [`check`] runs a check, [`report`] prints it, [`catalogue`] reads the
//!   checkpoint file (through the `lesson` crate) and tells xtask about it;
//! - [`checkpoints`]: one module per checkpoint, bound to its id by
//!   `checkpoints::Id`, and what they share;
//! - [`app`]: what the harness knows about the app (selectors, API paths,
//!   the sync tag);
//! - [`browsers`]: the `Browser` trait and its Chromium and Firefox drivers,
//!   over the clients of [`protocol`]; [`standins`]: the server, the proxy
//!   and the push services the harness runs on 127.0.0.1;
//! - [`bench`], [`chaos`], [`screenshots`], [`room`], [`book`], [`demo`],
//!   [`selftest`]: the other commands.

mod app;
mod bench;
mod book;
mod browsers;
mod catalogue;
mod chaos;
mod check;
mod checkpoints;
mod demo;
mod protocol;
mod report;
mod room;
mod screenshots;
mod selftest;
mod standins;
mod util;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use lesson::Stage;

use crate::check::{BrowserKind, CheckArgs};
use crate::util::server_of;

#[derive(Debug, Parser)]
#[command(
    name = "harness",
    about = "Check the lesson's checkpoints in headless Chromium"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the stage's server and Chromium, run the checkpoints, report.
    Check(CheckArgs),
    /// List the checkpoints.
    List {
        #[arg(long)]
        checkpoints: Option<PathBuf>,
        /// As JSON, with each checkpoint's hint, book section and `reveal`
        /// (what `cargo xtask hint` and `reveal` read).
        #[arg(long)]
        json: bool,
        /// With --json: the browser whose titles, hints and applicability.
        #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
        browser: BrowserKind,
        /// With --json: the stage directory the hints name.
        #[arg(long, default_value = "starter")]
        stage: String,
    },
    /// Check the harness itself against a tiny built-in app.
    Selftest,
    /// Clients in two Chromium profiles and one Firefox add articles at a
    /// steady rate while faults of twelve kinds happen (the server killed,
    /// before or after it committed, a 503, its disk refusing writes; a
    /// worker stopped or offline; a browser closed or killed; one browser
    /// cut off; its clock jumping 8 days; articles the server must refuse);
    /// then the run's history must show every confirmed article on the
    /// server once, in each client's order, every page showing the server's
    /// list, every outbox empty, no refusal retried. One line per run, and
    /// a total.
    Chaos(ChaosArgs),
    /// Run the benchmarks (`cargo xtask bench`) and write a Markdown report.
    Bench {
        /// One benchmark only: replay, server, push, worker, inner,
        /// inner-check, room or chaos.
        name: Option<String>,
        /// Smoke mode: tiny sizes, one run each (the figures mean nothing).
        #[arg(long)]
        quick: bool,
        /// The solution's built site [default: target/site/solution].
        #[arg(long)]
        site: Option<PathBuf>,
        /// The solution's server binary [default: target/debug/after-sync-lesson].
        #[arg(long)]
        server_bin: Option<PathBuf>,
        /// The xtask binary, for the inner loop's `serve --watch` (without
        /// it, that benchmark is not measured).
        #[arg(long)]
        xtask_bin: Option<PathBuf>,
        /// The room's binary, for the room's benchmark [default: built now
        /// with `cargo build -p room`].
        #[arg(long)]
        room_bin: Option<PathBuf>,
        /// The report [default: target/bench/report.md, or smoke.md with
        /// --quick]. Each benchmark's section is kept beside it, so that a
        /// run of one keeps the others' last figures.
        #[arg(long)]
        out: Option<PathBuf>,
        /// When and at which commit this run measures, said in each of
        /// its sections (`cargo xtask bench` passes both).
        #[arg(long)]
        measured: Option<String>,
    },
    /// Drive the solution through the lesson's story and write the book's
    /// screenshots (PNG, 900×700).
    Screenshots {
        /// The built site [default: target/site/solution].
        #[arg(long)]
        site: Option<PathBuf>,
        /// The solution's server binary [default: target/debug/after-sync-lesson].
        #[arg(long)]
        server_bin: Option<PathBuf>,
        /// Where to write them [default: book/src/screenshots].
        #[arg(long)]
        out: Option<PathBuf>,
        /// The room's binary, for the room page's picture [default: built
        /// now with `cargo build -p room`].
        #[arg(long)]
        room_bin: Option<PathBuf>,
    },
    /// Start the instructor's room, open its page, send three students'
    /// reports and two bad ones, and see the table follow without a reload.
    RoomTest {
        /// The room's binary [default: built now with `cargo build -p room`].
        #[arg(long)]
        room_bin: Option<PathBuf>,
    },
    /// Play the instructor guide's demo script against the solution,
    /// checking that each step shows what the guide says; the pictures go
    /// to --out (Chromium only).
    Demo {
        /// The browser: Chromium plays the steps with DevTools' controls,
        /// Firefox the fallback and the push.
        #[arg(long, value_enum, default_value_t = BrowserKind::Chromium)]
        browser: BrowserKind,
        /// The built site [default: target/site/solution].
        #[arg(long)]
        site: Option<PathBuf>,
        /// The solution's server binary [default: target/debug/after-sync-lesson].
        #[arg(long)]
        server_bin: Option<PathBuf>,
        /// Where the pictures go (`demo-*.png`); none are taken without it.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The built book in headless Chromium: every slide fits 1280×720 and
    /// 1024×768, the speaker view fits 800×600 and follows the presented
    /// slides, an accessibility audit of every page (axe-core, installed
    /// with npm), and the book read offline after a first visit.
    BookTest {
        /// The built book [default: target/book].
        #[arg(long)]
        book: Option<PathBuf>,
        /// Where axe-core is installed [default: target/audit/node].
        #[arg(long)]
        node_dir: Option<PathBuf>,
    },
    /// Only the room page's picture for the book (`screenshots` takes it
    /// too).
    RoomScreenshot {
        #[arg(long)]
        room_bin: Option<PathBuf>,
        /// Where to write room.png [default: book/src/screenshots].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `chaos`'s options.
#[derive(Debug, clap::Args)]
struct ChaosArgs {
    /// The first run's seed; the next runs take the next ones
    /// [default: a new one, printed].
    #[arg(long)]
    seed: Option<u64>,
    /// How many runs, each with its own seed.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Tabs adding articles, spread over the three browsers.
    #[arg(long, default_value_t = 4)]
    clients: usize,
    /// Articles a second, all clients together.
    #[arg(long, default_value_t = 1.5)]
    rate: f64,
    /// Seconds of adding.
    #[arg(long, default_value_t = 40.0)]
    duration: f64,
    /// Faults in each run.
    #[arg(long, default_value_t = 12)]
    faults: usize,
    /// Only these kinds of fault, comma-separated [default: every kind
    /// this machine can do]; `--kinds list` lists them.
    #[arg(long, value_delimiter = ',')]
    kinds: Vec<String>,
    /// The built site [default: target/site/solution].
    #[arg(long)]
    site: Option<PathBuf>,
    /// The solution's server binary [default: target/debug/after-sync-lesson].
    #[arg(long)]
    server_bin: Option<PathBuf>,
}
#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // When interrupted (Ctrl-C, SIGTERM) the work future is dropped, and
    // with it every guard: the browser, the proxy and the server are
    // stopped.
    let outcome = tokio::select! {
        outcome = run(cli.command) => outcome,
        () = interrupted() => {
            eprintln!("harness: interrupted; stopped the browser and the server");
            // Exited at once, not returned: with `check --watch`, tokio's
            // stdin reader is a blocking read on a thread of its own that
            // nothing can cancel, and the runtime would wait for it (for a
            // line that never comes) before the process ends. The guards
            // are dropped already, with the work future.
            std::process::exit(130);
        }
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("harness: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs one command; whether what it checked passed.
async fn run(command: Command) -> Result<bool> {
    // Where the workspace is: as `cargo xtask` says (or, run by hand, where
    // cargo runs it), never where this binary was compiled.
    let root = lesson::workspace::workspace_root()?;
    let target = lesson::workspace::target_dir(&root);
    let solution_site = || target.join("site").join(Stage::Solution.name());
    let solution_server = || server_of(&target, Stage::Solution);
    match command {
        Command::Check(args) => check::run(args, &root, &target).await,
        Command::List {
            checkpoints,
            json,
            browser,
            stage,
        } => {
            let file = checkpoints.unwrap_or_else(|| root.join(catalogue::DEFAULT));
            catalogue::list(&file, json.then_some((browser.name(), stage.as_str())))?;
            Ok(true)
        }
        Command::Selftest => selftest::run().await.map(|()| true),
        Command::Chaos(args) => chaos_command(args, &target).await,
        Command::Bench {
            name,
            quick,
            site,
            server_bin,
            xtask_bin,
            room_bin,
            out,
            measured,
        } => {
            let setup = bench::Setup {
                site: site.unwrap_or_else(solution_site),
                server_bin: server_bin.unwrap_or_else(solution_server),
                xtask_bin,
                node_dir: target.join("bench/node"),
                room_bin,
                quick,
                root: root.clone(),
                target: target.clone(),
            };
            let out = out.unwrap_or_else(|| target.join(bench::report_file(quick)));
            bench::run(&setup, name.as_deref(), measured.as_deref(), &out).await
        }
        Command::Screenshots {
            site,
            server_bin,
            out,
            room_bin,
        } => {
            let site = site.unwrap_or_else(solution_site);
            let server_bin = server_bin.unwrap_or_else(solution_server);
            let out = out.unwrap_or_else(|| root.join("book/src/screenshots"));
            screenshots::run(&site, &server_bin, &out).await?;
            let room_bin = room::room_bin(room_bin, &root)?;
            room::screenshot(&room_bin, &out).await.map(|()| true)
        }
        Command::RoomTest { room_bin } => {
            let room_bin = room::room_bin(room_bin, &root)?;
            room::test(&room_bin).await.map(|()| true)
        }
        Command::Demo {
            browser,
            site,
            server_bin,
            out,
        } => {
            let site = site.unwrap_or_else(solution_site);
            let server_bin = server_bin.unwrap_or_else(solution_server);
            demo::run(browser, &site, &server_bin, out.as_deref())
                .await
                .map(|()| true)
        }
        Command::BookTest { book, node_dir } => {
            let book = book.unwrap_or_else(|| target.join("book"));
            let node_dir = node_dir.unwrap_or_else(|| target.join("audit/node"));
            book::run(&book, &node_dir, &root).await.map(|()| true)
        }
        Command::RoomScreenshot { room_bin, out } => {
            let room_bin = room::room_bin(room_bin, &root)?;
            let out = out.unwrap_or_else(|| root.join("book/src/screenshots"));
            room::screenshot(&room_bin, &out).await.map(|()| true)
        }
    }
}

/// `chaos`: its options as the chaos test takes them, the solution's site
/// and server by default.
async fn chaos_command(args: ChaosArgs, target: &Path) -> Result<bool> {
    let ChaosArgs {
        seed,
        runs,
        clients,
        rate,
        duration,
        faults,
        kinds,
        site,
        server_bin,
    } = args;
    let site = site.unwrap_or_else(|| target.join("site").join(Stage::Solution.name()));
    let server_bin = server_bin.unwrap_or_else(|| server_of(target, Stage::Solution));
    let Some(kinds) = chaos::kinds(&kinds)? else {
        return Ok(true);
    };
    let options = chaos::Options {
        seed,
        runs,
        clients,
        rate,
        duration,
        faults,
        kinds,
        out: target.join("chaos"),
    };
    chaos::run(&site, &server_bin, options).await
}

/// When the harness is asked to stop: Ctrl-C on every system; on Unix also
/// SIGTERM (what `kill` and CI send); on Windows also Ctrl-Break and the
/// console window being closed (which leaves a few seconds to clean up).
async fn interrupted() {
    #[cfg(unix)]
    let terminated = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(windows)]
    let terminated = async {
        use tokio::signal::windows::{ctrl_break, ctrl_close};
        match (ctrl_break(), ctrl_close()) {
            (Ok(mut ctrl_break), Ok(mut close)) => {
                tokio::select! {
                    _ = ctrl_break.recv() => {}
                    _ = close.recv() => {}
                }
            }
            _ => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminated => {}
    }
}
