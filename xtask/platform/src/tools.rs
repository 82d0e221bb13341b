//! The C compiler, and running a program briefly for its answer.
//!
//! Some of the workshop's dependencies have C inside: SQLite (compiled into
//! the servers by `rusqlite`'s `bundled` feature) and, where no OpenSSL is
//! installed, OpenSSL itself. The `cc` crate compiles them with the
//! platform's usual compiler: `cc` (gcc or clang) on Linux, Apple's clang
//! from the Xcode command-line tools on macOS, MSVC's `cl.exe` on Windows,
//! which it finds through the Visual Studio installer even when `cl.exe` is
//! not on `PATH`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::linux::{Distro, PackageManager};
use crate::{Line, Machine, Os};

/// How long a program asked for its version may take: a browser's
/// `--version` answers in well under a second, unless it hangs.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);

/// What a program printed before it exited.
#[derive(Debug)]
pub struct Answer {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Answer {
    /// The first non-empty line it printed, on stdout, else on stderr.
    pub fn first_line(&self) -> &str {
        [&self.stdout, &self.stderr]
            .into_iter()
            .flat_map(|text| text.lines())
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("")
    }
}

/// Runs `program args...` with no input and waits at most `timeout` for it
/// to exit, killing it after that. `Err` says why there is no answer (not
/// found, could not start, too slow).
pub fn answer(program: &Path, args: &[&str], timeout: Duration) -> Result<Answer, String> {
    let spawn = || {
        Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    };
    // A program written a moment ago may still be open for writing in a
    // child another thread is starting (Linux's "text file busy"): a
    // moment later it runs.
    let mut spawned = spawn();
    for _ in 0..20 {
        match &spawned {
            Err(error) if error.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(50));
                spawned = spawn();
            }
            _ => break,
        }
    }
    let mut child =
        spawned.map_err(|error| format!("cannot run {}: {error}", program.display()))?;
    // Read both pipes while waiting, so that a chatty program cannot block
    // on a full pipe.
    let read = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut text);
            }
            String::from_utf8_lossy(&text).into_owned()
        })
    };
    let stdout = read(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = read(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{} {} gave no answer in {timeout:?}",
                    program.display(),
                    args.join(" ")
                ));
            }
            Err(error) => return Err(format!("waiting for {}: {error}", program.display())),
        }
    };
    Ok(Answer {
        success: status.success(),
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

/// Whether this process runs as root on a Unix: where `cargo xtask test`
/// (in CI, say) may install what it needs with the package manager.
pub fn is_root() -> bool {
    if cfg!(windows) {
        return false;
    }
    answer(Path::new("id"), &["-u"], ANSWER_TIMEOUT)
        .is_ok_and(|answer| answer.success && answer.stdout.trim() == "0")
}

/// Whether this is a machine where the workshop's own commands install
/// what they need with apt-get: as root on Debian or a derivative, as in CI.
pub fn apt_get_allowed(machine: &Machine) -> bool {
    machine.os == Os::Linux
        && Distro::of(machine).is_some_and(|distro| distro.is_debian_like())
        && is_root()
}

/// As root on Debian or a derivative, installs `package` with apt-get (and
/// says so), reading the package lists first if a fresh machine has none.
/// `Err` when this machine is not one where that may be done, or it failed.
pub fn apt_get_install(machine: &Machine, package: &str) -> Result<(), String> {
    if !apt_get_allowed(machine) {
        return Err(format!(
            "not installing `{package}`: apt-get is used only as root on Debian or Ubuntu"
        ));
    }
    println!("==> installing the Debian package `{package}` with apt-get (as root)");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", package])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success())
    };
    if install() {
        return Ok(());
    }
    let _ = Command::new("apt-get").arg("update").status();
    if install() {
        Ok(())
    } else {
        Err(format!("`apt-get install -y {package}` failed"))
    }
}

/// The `doctor` line for the C compiler.
pub fn c_compiler(machine: &Machine) -> Line {
    const CHECK: &str = "C compiler";
    // `CC` is what the `cc` crate uses, when set.
    if let Some(cc) = machine.var("CC") {
        let cc = cc.to_string_lossy();
        let program = cc.split_whitespace().next().unwrap_or_default();
        return match machine
            .find_program(program)
            .map(|path| version_line(&path))
        {
            Some(Ok(line)) => Line::ok(CHECK, format!("{line} (CC={cc})")),
            Some(Err(why)) => Line::wrong(
                CHECK,
                format!(
                    "CC={cc}, which does not run ({why}); unset CC or point it at a C compiler"
                ),
            ),
            None => Line::wrong(
                CHECK,
                format!(
                    "CC={cc}, which is not a program on PATH; unset CC or point it at a C compiler"
                ),
            ),
        };
    }
    match machine.os {
        Os::MacOs => {
            // Without the command-line tools, `cc` is a stub that opens
            // Apple's install dialog; `xcode-select -p` only asks.
            let tools = answer(Path::new("xcode-select"), &["-p"], ANSWER_TIMEOUT);
            match tools {
                Ok(answer) if answer.success => match version_line(Path::new("cc")) {
                    Ok(line) => Line::ok(CHECK, format!("{line} (Xcode command-line tools)")),
                    Err(why) => Line::wrong(CHECK, format!("{why}; fix: xcode-select --install")),
                },
                _ => Line::wrong(
                    CHECK,
                    "no Xcode command-line tools; fix: xcode-select --install",
                ),
            }
        }
        Os::Windows => msvc(machine),
        Os::Linux => {
            let found = ["cc", "gcc", "clang"]
                .into_iter()
                .find_map(|name| machine.find_program(name));
            match found.map(|path| version_line(&path)) {
                Some(Ok(line)) => Line::ok(CHECK, line),
                Some(Err(why)) => Line::wrong(
                    CHECK,
                    format!("{why}; fix: {}", linux_compiler_fix(machine)),
                ),
                None => Line::wrong(
                    CHECK,
                    format!(
                        "no cc, gcc or clang on PATH; fix: {}",
                        linux_compiler_fix(machine)
                    ),
                ),
            }
        }
    }
}

/// The one line that installs a C compiler (and make) on this Linux.
pub fn linux_compiler_fix(machine: &Machine) -> String {
    match Distro::of(machine).and_then(|d| d.package_manager()) {
        Some(manager @ PackageManager::Apt) => manager.install("build-essential"),
        Some(manager @ PackageManager::Pacman) => manager.install("base-devel"),
        Some(manager @ (PackageManager::Dnf | PackageManager::Zypper)) => {
            manager.install("gcc make")
        }
        Some(PackageManager::Snap) | None => {
            "install gcc (or clang) and make with your distribution's package manager".to_owned()
        }
    }
}

/// Visual Studio's C++ build tools, with the workload Rust's MSVC
/// toolchain needs (the same one rustup-init offers to install).
pub const MSVC_FIX: &str = "winget install --id Microsoft.VisualStudio.2022.BuildTools --override \"--wait --passive --add Microsoft.VisualStudio.Workload.VCTools --includeRecommended\"";

/// MSVC's `cl.exe`: on `PATH` in a developer prompt; otherwise where the
/// Visual Studio installer's `vswhere` says the C++ tools are (which is how
/// the `cc` crate finds it).
fn msvc(machine: &Machine) -> Line {
    const CHECK: &str = "C compiler";
    if let Some(cl) = machine.find_program("cl") {
        return Line::ok(CHECK, format!("MSVC's cl.exe ({})", cl.display()));
    }
    let installer = machine
        .var("ProgramFiles(x86)")
        .map(PathBuf::from)
        .unwrap_or_else(|| machine.at("Program Files (x86)"))
        .join("Microsoft Visual Studio")
        .join("Installer")
        .join("vswhere.exe");
    if installer.is_file() {
        let args = [
            "-latest",
            "-products",
            "*",
            "-requires",
            "Microsoft.VisualStudio.Component.VC.Tools.x86.x64",
            "-property",
            "installationPath",
        ];
        if let Ok(answer) = answer(&installer, &args, ANSWER_TIMEOUT)
            && answer.success
            && !answer.first_line().is_empty()
        {
            return Line::ok(
                CHECK,
                format!("Visual Studio's C++ build tools ({})", answer.first_line()),
            );
        }
    }
    Line::wrong(
        CHECK,
        format!("no Visual Studio C++ build tools found; fix: {MSVC_FIX}"),
    )
}

/// The first line of `program --version`.
fn version_line(program: &Path) -> Result<String, String> {
    let answer = answer(program, &["--version"], ANSWER_TIMEOUT)?;
    if !answer.success {
        return Err(format!(
            "`{} --version` failed: {}",
            program.display(),
            answer.first_line()
        ));
    }
    Ok(answer.first_line().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Root;

    #[test]
    fn without_a_compiler_each_system_gets_its_own_fix() {
        let root = Root::new();
        root.file("etc/os-release", "ID=fedora\n");
        let linux = root.machine(Os::Linux, &[("PATH", "{root}/bin")]);
        let line = c_compiler(&linux);
        assert!(!line.ok);
        assert!(
            line.detail.ends_with("fix: sudo dnf install gcc make"),
            "{line:?}"
        );

        root.file("etc/os-release", "ID=debian\n");
        assert!(
            c_compiler(&linux)
                .detail
                .ends_with("sudo apt-get install build-essential")
        );

        let windows = root.machine(
            Os::Windows,
            &[
                ("PATH", "{root}/Windows"),
                ("ProgramFiles(x86)", "{root}/Program Files (x86)"),
            ],
        );
        let line = c_compiler(&windows);
        assert!(!line.ok);
        assert!(
            line.detail
                .contains("winget install --id Microsoft.VisualStudio.2022.BuildTools"),
            "{line:?}"
        );
        root.file("Windows/cl.exe", "");
        assert!(c_compiler(&windows).ok);
    }

    #[test]
    fn a_cc_that_is_not_there_is_named() {
        let root = Root::new();
        let linux = root.machine(Os::Linux, &[("PATH", "{root}/bin"), ("CC", "my-cc -O2")]);
        let line = c_compiler(&linux);
        assert!(!line.ok);
        assert!(
            line.detail
                .starts_with("CC=my-cc -O2, which is not a program on PATH"),
            "{line:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_compiler_on_path_is_named_by_its_version() {
        let root = Root::new();
        let cc = root.file(
            "bin/cc",
            "#!/bin/sh\necho 'cc (Debian 12.2.0-14) 12.2.0'\necho more\n",
        );
        crate::fake::make_executable(&cc);
        let linux = root.machine(Os::Linux, &[("PATH", "{root}/bin")]);
        assert_eq!(
            c_compiler(&linux),
            Line::ok("C compiler", "cc (Debian 12.2.0-14) 12.2.0")
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_program_that_hangs_is_stopped() {
        let root = Root::new();
        let slow = root.file("bin/slow", "#!/bin/sh\nsleep 30\n");
        crate::fake::make_executable(&slow);
        let started = Instant::now();
        let error = answer(&slow, &[], Duration::from_millis(200)).unwrap_err();
        assert!(error.contains("gave no answer"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
