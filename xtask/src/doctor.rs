//! `cargo xtask doctor`: is this machine ready for the workshop?
//!
//! The first thing a student runs, a week before the session (the
//! instructor's email says so): every piece the workshop needs, one line
//! each, ✓ or ✗, and for each ✗ the one thing to do about it on *this*
//! system. It installs nothing and needs no network, so that it answers
//! the same in a hotel room as in the workshop room.
//!
//! It writes its lines to `target/xtask/doctor.json` as
//! `{"lines": [{"check", "ok", "detail"}]}`; with `--room URL --name NAME
//! --code CODE` it also sends them (only them) to the instructor's room
//! (`room send --doctor`), so that the instructor sees before the session
//! who is not set up yet.
//!
//! The checks themselves are in the `platform` crate, which is std-only:
//! `doctor` adds nothing to xtask's build.

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use platform::browsers::{self, Family, NotFound};
use platform::tools::{ANSWER_TIMEOUT, answer};
use platform::{Line, Machine, openssl, tools};

use crate::build::{WASM_TARGET, target_installed};
use crate::command::{cargo, show};
use crate::workspace::{project_root, target_dir};

/// The port `cargo xtask serve` listens on unless told otherwise.
const SERVE_PORT: u16 = 3000;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// Also send these lines (and nothing else) to the instructor's room
    /// at this URL.
    #[arg(long, value_name = "URL", requires_all = ["name", "code"])]
    pub room: Option<String>,
    /// Your name, as the room shows it (with --room).
    #[arg(long, requires = "room")]
    pub name: Option<String>,
    /// The room's code, as the instructor gave it (with --room).
    #[arg(long, requires = "room")]
    pub code: Option<String>,
}

/// One check, and whether the workshop can do without it.
struct Checked {
    line: Line,
    /// Only `check --browser firefox` needs Firefox.
    optional: bool,
}

pub fn run(args: &DoctorArgs) -> anyhow::Result<()> {
    let machine = Machine::this();
    println!(
        "==> is this machine ready for the workshop? ({})",
        machine.os.name()
    );
    let checked = checks(&machine);
    let width = checked
        .iter()
        .map(|c| c.line.check.chars().count())
        .max()
        .unwrap_or(0);
    for Checked { line, .. } in &checked {
        let mark = if line.ok { '✓' } else { '✗' };
        println!("  {mark} {:width$}  {}", line.check, line.detail);
    }
    let lines: Vec<&Line> = checked.iter().map(|c| &c.line).collect();
    let file = doctor_file();
    write(&file, &lines)?;
    let missing = checked.iter().filter(|c| !c.line.ok && !c.optional).count();
    if missing == 0 {
        println!("==> ready for the workshop (written to {})", file.display());
    } else {
        println!(
            "==> {missing} thing{} to fix before the workshop: the lines with ✗ say how (written to {})",
            if missing == 1 { "" } else { "s" },
            file.display()
        );
    }
    if let (Some(url), Some(name), Some(code)) = (&args.room, &args.name, &args.code) {
        send_to_room(url, name, code)?;
    }
    anyhow::ensure!(
        missing == 0,
        "this machine is not ready yet: fix the lines marked ✗ above, then run `cargo xtask doctor` again"
    );
    Ok(())
}

/// Every check, in the order a student fixes them: the toolchain, then
/// what the build compiles, then what the checks drive.
fn checks(machine: &Machine) -> Vec<Checked> {
    let required = |line| Checked {
        line,
        optional: false,
    };
    vec![
        required(rust()),
        required(wasm_target()),
        required(tools::c_compiler(machine)),
        required(openssl::line(&openssl::source(machine))),
        required(browser(machine, Family::Chromium)),
        Checked {
            line: browser(machine, Family::Firefox),
            optional: true,
        },
        required(port(SERVE_PORT)),
    ]
}

/// `rustc --version` against the workspace's `rust-version`.
fn rust() -> Line {
    const CHECK: &str = "Rust";
    let needed = fs::read_to_string(project_root().join("Cargo.toml"))
        .ok()
        .and_then(|manifest| rust_version(&manifest));
    let rustc = answer(Path::new("rustc"), &["--version"], ANSWER_TIMEOUT);
    let found = match &rustc {
        Ok(answer) if answer.success => answer.first_line().to_owned(),
        Ok(answer) => {
            return Line::wrong(
                CHECK,
                format!(
                    "`rustc --version` failed: {}; fix: rustup update stable",
                    answer.first_line()
                ),
            );
        }
        Err(why) => {
            return Line::wrong(
                CHECK,
                format!("{why}; fix: install Rust with rustup (https://rustup.rs)"),
            );
        }
    };
    let Some(needed) = needed else {
        return Line::ok(CHECK, found);
    };
    // `rustc 1.95.0 (59807616e 2026-04-14)`
    let version = found.split_whitespace().nth(1).unwrap_or_default();
    if older_than(version, &needed) {
        Line::wrong(
            CHECK,
            format!(
                "{found}, older than the {needed} the workshop needs; fix: rustup update stable"
            ),
        )
    } else {
        Line::ok(
            CHECK,
            format!("{found} (the workshop needs {needed} or newer)"),
        )
    }
}

/// `rust-version = "1.89"` in the workspace's `[workspace.package]`.
fn rust_version(manifest: &str) -> Option<String> {
    manifest.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        (key.trim() == "rust-version").then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Whether `version` (`1.95.0`, `1.90.0-nightly`) is older than `needed`
/// (`1.89`, `1.89.1`).
fn older_than(version: &str, needed: &str) -> bool {
    let numbers = |text: &str| -> Vec<u64> {
        text.split(['.', '-'])
            .take(3)
            .map_while(|part| part.parse().ok())
            .collect()
    };
    let (mut version, mut needed) = (numbers(version), numbers(needed));
    version.resize(3, 0);
    needed.resize(3, 0);
    version < needed
}

/// The wasm target, which `serve` would add by itself, but only online.
fn wasm_target() -> Line {
    let check = format!("{WASM_TARGET} target");
    match target_installed(WASM_TARGET) {
        Ok(true) => Line::ok(&check, "installed"),
        Ok(false) => Line::wrong(
            &check,
            format!(
                "not installed (`cargo xtask serve` adds it, but needs the network then); fix: rustup target add {WASM_TARGET}"
            ),
        ),
        Err(error) => Line::wrong(&check, format!("{error:#}")),
    }
}

/// A browser of `family`, its version, and whether the checks can drive it.
fn browser(machine: &Machine, family: Family) -> Line {
    let check = match family {
        Family::Chromium => "Chromium-family browser".to_owned(),
        Family::Firefox => "Firefox (optional)".to_owned(),
    };
    // Only `cargo xtask check --browser firefox` needs it.
    let optional = match family {
        Family::Chromium => "",
        Family::Firefox => " (only `check --browser firefox` uses it)",
    };
    let install = browsers::install_line(machine, family);
    let found = match browsers::find(machine, family) {
        Ok(found) => found,
        Err(NotFound::Nowhere) => {
            return Line::wrong(&check, format!("none found{optional}; fix: {install}"));
        }
        Err(NotFound::BadVariable { variable, value }) => {
            return Line::wrong(
                &check,
                format!(
                    "{variable} is set to {value}, which is not a program; fix: unset {variable}, or set it to the browser's executable"
                ),
            );
        }
    };
    let name = found.name();
    let at = found.path.display();
    match browsers::version(machine, &found) {
        Ok(version) if version.major < family.oldest_major() => Line::wrong(
            &check,
            format!(
                "{name} {} ({at}) is older than the checks can drive ({} or newer){optional}; fix: update it, or {install}",
                version.text,
                family.oldest_major()
            ),
        ),
        Ok(version) => Line::ok(&check, format!("{name} {} ({at})", version.text)),
        // Found, but its version could not be read: it may well work.
        Err(why) => Line::ok(
            &check,
            format!("{name} ({at}); its version is unknown: {why}"),
        ),
    }
}

/// Whether `cargo xtask serve` can listen on its port.
fn port(port: u16) -> Line {
    let check = format!("port {port}");
    match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
        Ok(_) => Line::ok(&check, "free for `cargo xtask serve`"),
        Err(error) => Line::wrong(
            &check,
            format!(
                "in use ({error}): another program, or a `cargo xtask serve` still running; fix: stop it, or serve elsewhere with `cargo xtask serve --port 3001`"
            ),
        ),
    }
}

/// `target/xtask/doctor.json`, which `room send --doctor` reads.
pub fn doctor_file() -> PathBuf {
    target_dir().join("xtask").join("doctor.json")
}

fn write(file: &Path, lines: &[&Line]) -> anyhow::Result<()> {
    let json = serde_json::json!({
        "lines": lines
            .iter()
            .map(|line| serde_json::json!({
                "check": line.check,
                "ok": line.ok,
                "detail": line.detail,
            }))
            .collect::<Vec<_>>(),
    });
    if let Some(dir) = file.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&json)?;
    fs::write(file, text + "\n").with_context(|| format!("cannot write {}", file.display()))
}

/// `cargo run -q -p room -- send --doctor --url URL --code CODE --name
/// NAME`: the room reads `target/xtask/doctor.json` and sends only that.
fn send_to_room(url: &str, name: &str, code: &str) -> anyhow::Result<()> {
    let mut command = room_send(url, name, code);
    let shown = show(&command);
    println!("==> sending these lines to the room at {url}");
    command.stdout(Stdio::inherit()).stderr(Stdio::piped());
    let output = command
        .output()
        .with_context(|| format!("cannot run `{shown}`"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    anyhow::bail!("not sent to the room: {}", why_not_sent(&stderr))
}

fn room_send(url: &str, name: &str, code: &str) -> Command {
    let mut command = cargo();
    command
        .args(["run", "-q", "-p", "room", "--", "send", "--doctor"])
        .args(["--url", url, "--code", code, "--name", name]);
    command
}

/// One line from `room send`'s errors: a room crate that does not know
/// `--doctor` yet says so plainly; anything else, its last line.
fn why_not_sent(stderr: &str) -> String {
    if stderr.contains("unexpected argument '--doctor'") {
        return "this version of the room has no `room send --doctor` yet (update the workshop: `git pull`)".to_owned();
    }
    stderr
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("`room send` failed with no message")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workspace_names_its_rust_version() {
        let manifest = fs::read_to_string(project_root().join("Cargo.toml")).unwrap();
        let needed = rust_version(&manifest).expect("rust-version in the workspace's Cargo.toml");
        assert!(needed.starts_with("1."), "{needed}");
        assert_eq!(
            rust_version("[package]\nname = \"x\"\nrust-version = \"1.89\"\n").as_deref(),
            Some("1.89")
        );
    }

    #[test]
    fn rust_versions_compare_by_number() {
        assert!(older_than("1.88.0", "1.89"));
        assert!(older_than("1.9.0", "1.89"));
        assert!(!older_than("1.89.0", "1.89"));
        assert!(!older_than("1.95.0", "1.89"));
        assert!(!older_than("1.100.0", "1.89"));
        assert!(!older_than("1.90.0-nightly", "1.89"));
        assert!(older_than("1.89.0", "1.89.1"));
    }

    #[test]
    fn a_port_in_use_is_named_with_its_fix() {
        let taken = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let line = port(taken.local_addr().unwrap().port());
        assert!(!line.ok, "{line:?}");
        assert!(
            line.detail.contains("cargo xtask serve --port 3001"),
            "{line:?}"
        );
        let free = taken.local_addr().unwrap().port();
        drop(taken);
        assert!(port(free).ok);
    }

    #[test]
    fn the_file_has_one_object_per_line() {
        let dir = std::env::temp_dir().join(format!("doctor-test-{}", std::process::id()));
        let file = dir.join("xtask").join("doctor.json");
        let lines = [
            Line::ok("Rust", "rustc 1.95.0"),
            Line::wrong("port 3000", "in use; fix: stop it"),
        ];
        write(&file, &lines.iter().collect::<Vec<_>>()).unwrap();
        let read: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            read,
            serde_json::json!({"lines": [
                {"check": "Rust", "ok": true, "detail": "rustc 1.95.0"},
                {"check": "port 3000", "ok": false, "detail": "in use; fix: stop it"},
            ]})
        );
    }

    #[test]
    fn the_room_is_sent_only_the_doctors_file() {
        let command = room_send("http://10.0.0.2:3030", "Ada", "K7Q2");
        assert_eq!(
            show(&command),
            "cargo run -q -p room -- send --doctor --url http://10.0.0.2:3030 --code K7Q2 --name Ada"
        );
    }

    #[test]
    fn a_room_without_doctor_reports_says_so_in_one_line() {
        let clap = "error: unexpected argument '--doctor' found\n\nUsage: room send --url <URL> --code <CODE> --name <NAME> --progress <PROGRESS> --stage <STAGE>\n\nFor more information, try '--help'.\n";
        assert!(why_not_sent(clap).contains("has no `room send --doctor` yet"));
        assert_eq!(
            why_not_sent("error: cannot reach the room at http://x: connection refused\n"),
            "error: cannot reach the room at http://x: connection refused"
        );
    }
}
