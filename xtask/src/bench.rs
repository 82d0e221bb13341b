//! `cargo xtask bench [name] [--quick]`: the figures that matter, each
//! beside its baseline measured in the same run, as a Markdown report in
//! `target/bench/report.md` (`smoke.md` with `--quick`; printed too). A run
//! of one benchmark keeps the others' sections as they were last measured.
//!
//! This side only builds: the solution's site, and its server and the
//! instructor's room in the `bench-server` profile (release with
//! `opt-level = 3`: the release profile itself is tuned for the wasm's
//! size). The harness (`xtask/harness`, its
//! `bench` subcommand) drives the server, Chromium and the Node baselines.
//! `--quick` is the smoke mode `cargo xtask test` runs so the benchmarks
//! cannot rot: tiny sizes, one run each, the dev-profile server and harness
//! that the other test steps have built already.

use crate::build::build_site;
use crate::clock::Utc;
use crate::command::{cargo, git, openssl_features, run as run_command, step};
use crate::serve::{build_server, server_binary};
use crate::workspace::{project_root, target_dir};
use lesson::Stage;

/// The cargo profile the benchmarked server (and the harness driving it)
/// is built in; see the workspace's `Cargo.toml`.
const PROFILE: &str = "bench-server";

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Run only this benchmark: replay, server, push, worker, inner,
    /// inner-check, room or chaos.
    pub name: Option<String>,
    /// Smoke mode: tiny sizes, one run each (the figures mean nothing).
    #[arg(long)]
    pub quick: bool,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let room = room_binary(args)?;
    // The room's benchmark alone drives no app: nothing of it to build.
    let app = if args.name.as_deref() == Some("room") {
        None
    } else {
        Some((build_site(Stage::Solution)?, app_server(args)?))
    };
    let mut harness = cargo();
    harness.args(["run", "-q"]);
    if !args.quick {
        // The load generator runs in the harness: optimised too.
        harness.args(["--profile", PROFILE]);
    }
    harness.args(["-p", "harness", "--", "bench"]);
    if let Some(name) = &args.name {
        harness.arg(name);
    }
    if args.quick {
        harness.arg("--quick");
    }
    if let Some((site, server)) = &app {
        harness.arg("--site").arg(site);
        harness.arg("--server-bin").arg(server);
    }
    // Where cargo puts us (not `current_exe`, which names a deleted file
    // once a concurrent build has replaced the binary).
    let xtask = target_dir()
        .join("debug")
        .join(format!("xtask{}", std::env::consts::EXE_SUFFIX));
    harness.arg("--xtask-bin").arg(xtask);
    if let Some(room) = room {
        harness.arg("--room-bin").arg(room);
    }
    harness.arg("--measured").arg(measured_at());
    step(
        &format!(
            "running the benchmarks{}",
            if args.quick { " (smoke mode)" } else { "" }
        ),
        || {
            run_command(&mut harness).map_err(|_| {
                anyhow::anyhow!("a benchmark could not run; the output above says why")
            })
        },
    )
}

/// The solution's server: the dev build in smoke mode, else built in this
/// profile.
fn app_server(args: &BenchArgs) -> anyhow::Result<std::path::PathBuf> {
    if args.quick {
        build_server(Stage::Solution)?;
        return Ok(server_binary(Stage::Solution));
    }
    let package = Stage::Solution.package();
    step(
        &format!("building the server for speed (profile {PROFILE})"),
        || {
            run_command(
                cargo()
                    .args([
                        "build",
                        "--profile",
                        PROFILE,
                        "-p",
                        package,
                        "--bin",
                        package,
                    ])
                    .args(openssl_features(&[package])?),
            )
        },
    )?;
    Ok(target_dir()
        .join(PROFILE)
        .join(format!("{package}{}", std::env::consts::EXE_SUFFIX)))
}

/// The room's binary for its benchmark (`None` when that benchmark does not
/// run): in the dev profile in smoke mode, as the room test built it,
/// else in this profile.
fn room_binary(args: &BenchArgs) -> anyhow::Result<Option<std::path::PathBuf>> {
    if args.name.as_deref().is_some_and(|name| name != "room") {
        return Ok(None);
    }
    let profile = if args.quick { "dev" } else { PROFILE };
    step(&format!("building the room (profile {profile})"), || {
        run_command(cargo().args(["build", "-q", "--profile", profile, "-p", "room"]))
    })?;
    let dir = if args.quick { "debug" } else { PROFILE };
    Ok(Some(
        target_dir()
            .join(dir)
            .join(format!("room{}", std::env::consts::EXE_SUFFIX)),
    ))
}

/// `2026-12-06 07:12 UTC at 0a1b2c3` (`+ uncommitted changes` when the
/// checkout has some): what each section of the report says of when it was
/// measured. Without git, only the time.
fn measured_at() -> String {
    let now = Utc::at(crate::progress::now());
    let root = project_root();
    match git(&root, &["rev-parse", "--short", "HEAD"]) {
        Ok(commit) => {
            let dirty = git(&root, &["status", "--porcelain", "--untracked-files=no"])
                .is_ok_and(|changes| !changes.trim().is_empty());
            format!(
                "{now} at {}{}",
                commit.trim(),
                if dirty { " + uncommitted changes" } else { "" }
            )
        }
        Err(_) => now.to_string(),
    }
}
