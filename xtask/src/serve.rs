//! `cargo xtask serve [starter|solution] [--port 3000] [--host 127.0.0.1]
//! [--db PATH] [--watch]`: build a stage and run its server.
//!
//! With `--watch` it keeps going: every change under the stage's `src/` or
//! `static/` (or to its `Cargo.toml`) rebuilds the site and the server,
//! restarts the server if its binary changed, and the open pages reload
//! themselves (the server's `/__dev/reload` long poll sees the new build id).
//!
//! The watching is plain polling of modification times with std: a few
//! hundred files checked ten times a second costs nothing measurable, and
//! it works the same on every OS and file system (network drives and
//! containers included) without a file-notification crate.

use std::collections::BTreeMap;
use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::build::{WASM_TARGET, WasmBuild, build_site, build_site_as, ensure_wasm_target};
use crate::command::{cargo, openssl_features, report, run as run_command, step};
use crate::workspace::{project_root, target_dir};
use lesson::Stage;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[arg(value_enum, default_value_t)]
    pub stage: Stage,
    /// The port to listen on.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// The address to listen on; the default, loopback, keeps the server
    /// private to this machine.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub host: IpAddr,
    /// The SQLite file for the articles (the server's default is under
    /// `target/`; `OFFLINE_NEWS_DB` in the environment works too).
    #[arg(long)]
    pub db: Option<PathBuf>,
    /// The origin browsers open the app at, when it is not
    /// `http://<host>:<port>` (behind a proxy or a tunnel): a push's link
    /// points there (`OFFLINE_NEWS_PUBLIC_ORIGIN` in the environment works
    /// too).
    #[arg(long, value_name = "URL")]
    pub public_origin: Option<String>,
    /// Rebuild on every change to the stage, restart the server when it
    /// changed, and reload the open pages.
    #[arg(long)]
    pub watch: bool,
}

/// How often `--watch` looks for changes: quick enough to feel immediate,
/// slow enough to cost nothing (a snapshot of a stage's files takes well
/// under a millisecond). Noticing a save takes half of this on average, and
/// [`settle`] one more: at 300 ms that was ~0.45 s of the 3 s a save may
/// take until the page reloads; at 100 ms ~0.15 s of ~2.3 s; at 50 ms it is
/// ~0.075 s, some twenty snapshots a second.
pub(crate) const POLL: Duration = Duration::from_millis(50);

pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    step(
        &format!("checking the {WASM_TARGET} target"),
        ensure_wasm_target,
    )?;
    if args.watch {
        return watch(args);
    }
    // Both at once: the wasm compiles in a target directory of its own (see
    // `build/wasm.rs`), so cargo does not make one build wait for the other, and
    // a first build keeps both cores busy.
    let (site, server) = thread::scope(|scope| {
        let server = scope.spawn(|| build_server(args.stage));
        (build_site(args.stage), server.join())
    });
    let site = site?;
    server.map_err(|_| anyhow::anyhow!("building the server panicked"))??;
    let mut server = Server::start(args, &site)?;
    let status = server.wait()?;
    anyhow::ensure!(status.success(), "the server stopped: {status}");
    Ok(())
}

/// `cargo build -p <package> --bin <package>`: the native server, in the dev
/// profile (quick to rebuild; its dependencies are optimised anyway, see the
/// workspace's `Cargo.toml`).
pub(crate) fn build_server(stage: Stage) -> anyhow::Result<()> {
    step(&format!("building the server ({stage})"), || {
        run_command(
            cargo()
                .args(["build", "-p", stage.package(), "--bin", stage.package()])
                .args(openssl_features(&[stage.package()])?),
        )
    })
}

/// Where cargo puts the stage's server binary (named after its package).
pub(crate) fn server_binary(stage: Stage) -> PathBuf {
    target_dir().join("debug").join(format!(
        "{}{}",
        stage.package(),
        std::env::consts::EXE_SUFFIX
    ))
}

/// The running server. Dropping it stops the process, so that no error
/// path — nor a panic — leaves a server behind holding the port.
///
/// (Ctrl-C needs no help: the terminal sends it to every process in the
/// foreground group, the server included, which then shuts down cleanly.)
struct Server {
    child: Child,
}

impl Server {
    fn start(args: &ServeArgs, site: &Path) -> anyhow::Result<Server> {
        let mut command = Command::new(server_binary(args.stage));
        command
            .args(["--host", &args.host.to_string()])
            .args(["--port", &args.port.to_string()])
            .arg("--site")
            .arg(site);
        // Only when given: otherwise the server's own default applies, or
        // `OFFLINE_NEWS_DB`, which the child inherits from us.
        if let Some(db) = &args.db {
            command.arg("--db").arg(db);
        }
        if let Some(origin) = &args.public_origin {
            command.args(["--public-origin", origin]);
        }
        if args.watch {
            command.arg("--live-reload");
        }
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", server_binary(args.stage).display()))?;
        // `SocketAddr` writes an IPv6 address in brackets, as a URL needs.
        let address = SocketAddr::new(args.host, args.port);
        if args.host.is_unspecified() {
            println!(
                "==> serving {} on every interface, port {}: open http://localhost:{}/",
                args.stage, args.port, args.port
            );
        } else {
            println!("==> serving {} at http://{address}/", args.stage);
        }
        Ok(Server { child })
    }

    fn wait(&mut self) -> anyhow::Result<ExitStatus> {
        self.child.wait().context("cannot wait for the server")
    }

    /// `Some(status)` once the server has stopped by itself.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Killing is abrupt, but the server loses nothing by it: SQLite
        // commits every write atomically. Waiting reaps the process and
        // makes sure the port is free before a new server takes it.
        if self.exited().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `serve --watch`: build, serve, and on every change build again.
///
/// A failed build never ends the loop: it prints the error and the server
/// goes on serving the last good build until the next change fixes it —
/// even the very first build, so `serve --watch` can be started on code
/// that does not compile yet.
fn watch(args: &ServeArgs) -> anyhow::Result<()> {
    let mut server: Option<Server> = None;
    // The modification time of the binary the server runs from, to tell
    // whether a build changed it.
    let mut running_binary: Option<SystemTime> = None;
    let mut files = snapshot(args.stage);
    // The first build is the site as shipped; the rebuilds after a save
    // skip the wasm's link-time optimisation (cargo applies it only to a
    // library built as a cdylib alone, rust-lang/cargo#9672): ~1.2 s less
    // a save, for a larger `.wasm` that only this browser loads. The inner
    // loop's speed is what a student feels; the shipped size is measured on
    // `build`, `serve` and `check` (see `build/wasm.rs`, `WasmBuild`).
    let mut how = WasmBuild::Shipped;
    loop {
        rebuild(args, how, &mut server, &mut running_binary);
        how = WasmBuild::Quick;
        println!(
            "==> watching {stage}/src, {stage}/static and {stage}/Cargo.toml (Ctrl-C to stop)",
            stage = args.stage
        );
        loop {
            thread::sleep(POLL);
            if let Some(status) = server.as_mut().and_then(Server::exited) {
                println!("==> the server stopped ({status}); it restarts after your next change");
                server = None;
            }
            let now = snapshot(args.stage);
            if let Some(changed) = first_difference(&files, &now) {
                println!("==> changed: {}", display_relative(&changed));
                files = settle(args.stage, now);
                break;
            }
        }
    }
}

/// One round of `--watch`: rebuild the site and the server; (re)start the
/// server if it is not running or its binary changed.
fn rebuild(
    args: &ServeArgs,
    how: WasmBuild,
    server: &mut Option<Server>,
    running_binary: &mut Option<SystemTime>,
) {
    let built = build_site_as(args.stage, how).and_then(|site| {
        build_server(args.stage)?;
        Ok(site)
    });
    let site = match built {
        Ok(site) => site,
        Err(error) => {
            report(&error);
            let keeping = if server.is_some() {
                "still serving the last good build; "
            } else {
                ""
            };
            println!("==> {keeping}fix the error and save to try again");
            return;
        }
    };
    let binary = modified(&server_binary(args.stage));
    if server.is_some() && binary == *running_binary {
        // Only the site changed: the running server serves the new files
        // already, and the pages reload through the long poll.
        return;
    }
    if server.take().is_some() {
        println!("==> restarting the server");
    }
    match Server::start(args, &site) {
        Ok(started) => {
            *server = Some(started);
            *running_binary = binary;
        }
        Err(error) => report(&error),
    }
}

/// What `--watch` compares: each watched file's modification time and size.
pub(crate) type Snapshot = BTreeMap<PathBuf, (Option<SystemTime>, u64)>;

pub(crate) fn snapshot(stage: Stage) -> Snapshot {
    let dir = stage.dir(&project_root());
    let mut files = Snapshot::new();
    add_file(&mut files, dir.join("Cargo.toml"));
    for sub in ["src", "static"] {
        add_dir(&mut files, &dir.join(sub));
    }
    files
}

/// Adds every file under `dir`. Errors are skipped, not reported: a file
/// that an editor is replacing this very moment is simply seen next time.
fn add_dir(files: &mut Snapshot, dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        // Editors' swap, backup and lock files (`.page.rs.swp`, `page.rs~`,
        // `#page.rs#`) change while you type, not when you save.
        if name.starts_with('.') || name.starts_with('#') || name.ends_with('~') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            add_dir(files, &path);
        } else {
            add_file(files, path);
        }
    }
}

fn add_file(files: &mut Snapshot, path: PathBuf) {
    if let Ok(metadata) = fs::metadata(&path) {
        files.insert(path, (metadata.modified().ok(), metadata.len()));
    }
}

/// A file that was added, removed or modified between two snapshots.
pub(crate) fn first_difference(before: &Snapshot, after: &Snapshot) -> Option<PathBuf> {
    let changed = after
        .iter()
        .find(|&(path, stamp)| before.get(path) != Some(stamp));
    let removed = before.keys().find(|path| !after.contains_key(*path));
    changed.map(|(path, _)| path).or(removed).cloned()
}

/// Waits until the files stop changing (for at most 3 seconds), so that
/// saving several files at once, or an editor writing one in several steps,
/// makes one rebuild rather than a build of something half-saved. Those
/// writes come milliseconds apart: one [`POLL`] without a change is quiet
/// enough.
pub(crate) fn settle(stage: Stage, mut latest: Snapshot) -> Snapshot {
    for _ in 0..30 {
        thread::sleep(POLL);
        let now = snapshot(stage);
        if now == latest {
            break;
        }
        latest = now;
    }
    latest
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A path relative to the workspace, as the student sees it in the editor.
pub(crate) fn display_relative(path: &Path) -> String {
    let root = project_root();
    path.strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::tests::TempDir;

    #[test]
    fn a_changed_added_or_removed_file_is_noticed() {
        let dir = TempDir::new();
        dir.write("src/lib.rs", "// lib");
        dir.write("static/sw.js", "// worker");
        let mut before = Snapshot::new();
        add_dir(&mut before, &dir.0);
        assert_eq!(before.len(), 2);
        assert_eq!(first_difference(&before, &before.clone()), None);

        // A write that changes the size is seen even where the file
        // system's clock is too coarse to show a new modification time.
        dir.write("src/lib.rs", "// lib, edited");
        let mut after = Snapshot::new();
        add_dir(&mut after, &dir.0);
        assert_eq!(
            first_difference(&before, &after),
            Some(dir.0.join("src/lib.rs"))
        );

        fs::remove_file(dir.0.join("static/sw.js")).unwrap();
        dir.write("static/page.js", "// page");
        let mut later = Snapshot::new();
        add_dir(&mut later, &dir.0);
        assert!(first_difference(&after, &later).is_some());
        let mut removed_only = after.clone();
        removed_only.remove(&dir.0.join("static/sw.js"));
        assert_eq!(
            first_difference(&after, &removed_only),
            Some(dir.0.join("static/sw.js"))
        );
    }

    #[test]
    fn editor_scratch_files_are_not_watched() {
        let dir = TempDir::new();
        dir.write("src/.lib.rs.swp", "vim");
        dir.write("src/lib.rs~", "backup");
        dir.write("src/#lib.rs#", "emacs");
        dir.write("src/lib.rs", "// lib");
        let mut files = Snapshot::new();
        add_dir(&mut files, &dir.0);
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            [&dir.0.join("src/lib.rs")]
        );
    }
}
