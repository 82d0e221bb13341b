//! `cargo xtask room`: the instructor's room view (the `room` crate in
//! `xtask/room`), and its browser test, one step of `cargo xtask test`.
//!
//! The room is its own crate, outside the workspace's default members:
//! `cargo xtask serve` never compiles it, and a student compiles it only
//! when they opt in with `cargo xtask check --room`.

use crate::command::{cargo, run as run_command, step};
use crate::workspace::target_dir;

#[derive(Debug, clap::Args)]
pub struct RoomArgs {
    /// Passed to `room serve`: `--host 0.0.0.0` to let students on your
    /// network report, `--port P` (default 3030), `--db PATH` (default
    /// target/room/room.sqlite).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

/// `cargo run -q -p room -- serve <args>`: prints the room's code and what
/// students run, then serves the room until Ctrl-C.
pub fn run(args: &RoomArgs) -> anyhow::Result<()> {
    let mut command = cargo();
    command
        .args(["run", "-q", "-p", "room", "--", "serve"])
        .args(&args.args);
    step("starting the room (Ctrl-C to stop)", || {
        run_command(&mut command)
    })
}

/// Builds the room, then has the harness open its page in headless
/// Chromium while simulated students report (`harness room-test`).
pub fn browser_test() -> anyhow::Result<()> {
    run_command(cargo().args(["build", "-q", "-p", "room"]))?;
    let room = target_dir()
        .join("debug")
        .join(format!("room{}", std::env::consts::EXE_SUFFIX));
    run_command(
        cargo()
            .args([
                "run",
                "-q",
                "-p",
                "harness",
                "--",
                "room-test",
                "--room-bin",
            ])
            .arg(room),
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        room: RoomArgs,
    }

    #[test]
    fn every_argument_goes_to_room_serve() {
        let cli = Cli::try_parse_from([
            "room", "--host", "0.0.0.0", "--port", "4000", "--db", "x.sqlite",
        ])
        .unwrap();
        assert_eq!(
            cli.room.args,
            ["--host", "0.0.0.0", "--port", "4000", "--db", "x.sqlite"]
        );
        assert!(Cli::try_parse_from(["room"]).unwrap().room.args.is_empty());
    }
}
