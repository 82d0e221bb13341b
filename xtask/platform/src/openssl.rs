//! The OpenSSL the servers link, on every laptop.
//!
//! The servers send Web Push with the `web-push` crate, which encrypts each
//! message (RFC 8291) through `ece`, whose only backend is OpenSSL. The
//! `openssl-sys` crate links an installed OpenSSL where it finds one, and
//! where there is none, the stages' `vendored-openssl` feature has
//! `openssl-src` build OpenSSL from source instead. That build runs
//! OpenSSL's `Configure`, a Perl script, then `make` (`nmake` with MSVC) and
//! the C compiler. So, per system:
//!
//! - **Linux:** the distribution's OpenSSL (`libssl-dev`, `openssl-devel`),
//!   found by `pkg-config`, as `openssl-sys` finds it. Without it, built
//!   from source: perl and make are there on nearly every Linux (Fedora's
//!   minimal perl lacks two modules `Configure` needs, and is named).
//! - **macOS:** Homebrew's `openssl@3` where it is, which `openssl-sys`
//!   finds by itself in Homebrew's prefix (no `pkg-config` needed);
//!   MacPorts' and pkgsrc's too. Without one, built from source: macOS has
//!   perl, and the Xcode command-line tools bring make and clang.
//! - **Windows (MSVC):** no OpenSSL comes with Windows, so it is built from
//!   source: Visual Studio's Build Tools bring `cl` and `nmake`, and the
//!   one thing to install is a Windows perl, Strawberry Perl (the perl in
//!   Git for Windows is MSYS's, which OpenSSL's `Configure` refuses for
//!   MSVC builds). Where Strawberry Perl sits in its usual place but Git
//!   Bash puts MSYS's perl first on `PATH`, xtask points `openssl-src` at
//!   Strawberry's (`OPENSSL_SRC_PERL`). Without NASM, `openssl-src` builds
//!   OpenSSL without its assembly, which is slower but changes nothing here.
//!
//! `OPENSSL_DIR` (or `OPENSSL_LIB_DIR` with `OPENSSL_INCLUDE_DIR`), as
//! `openssl-sys` reads it, always wins.

use std::path::PathBuf;

use crate::linux::{Distro, PackageManager};
use crate::tools::{ANSWER_TIMEOUT, answer};
use crate::{Line, Machine, Os};

/// Where the servers' OpenSSL comes from on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// One is installed where `openssl-sys` finds it: this says where.
    Installed(String),
    /// None is installed: the `vendored-openssl` feature builds it, with
    /// this perl. `name_perl`: xtask must name it to `openssl-src`
    /// (`OPENSSL_SRC_PERL`), because it is not the `perl` on `PATH`.
    FromSource { perl: PathBuf, name_perl: bool },
    /// None is installed and it cannot be built here: why, and the fix.
    Missing { why: String, fix: String },
}

/// What the decision rests on, found by [`probe`] (or made up, in tests).
#[derive(Clone, Debug)]
pub struct Facts {
    pub os: Os,
    /// The variable naming an OpenSSL, when one is set.
    pub variable: Option<&'static str>,
    /// Whether `pkg-config` knows an `openssl`.
    pub pkg_config: bool,
    /// An OpenSSL where `openssl-sys` looks on macOS (Homebrew's prefix,
    /// MacPorts', pkgsrc's).
    pub prefix: Option<PathBuf>,
    /// A perl that can run OpenSSL's `Configure`, or why there is none;
    /// and whether it came from `OPENSSL_SRC_PERL` / `PERL` or the `PATH`
    /// (which `openssl-src` finds by itself).
    pub perl: Result<(PathBuf, bool), String>,
    /// Whether `make` is on `PATH` (Unix; MSVC's `nmake` comes with the
    /// Build Tools, which the C compiler's line checks).
    pub make: bool,
    /// The line that installs an OpenSSL (Linux, macOS) or a perl
    /// (Windows) here.
    pub fix: String,
}

/// Where the servers' OpenSSL comes from on this machine.
pub fn source(machine: &Machine) -> Source {
    decide(&probe(machine))
}

/// The decision, from the facts.
pub fn decide(facts: &Facts) -> Source {
    if let Some(variable) = facts.variable {
        return Source::Installed(format!("installed, at {variable}"));
    }
    if facts.pkg_config {
        return Source::Installed("installed, found by pkg-config".to_owned());
    }
    if let Some(prefix) = &facts.prefix {
        return Source::Installed(format!("installed, in {}", prefix.display()));
    }
    let missing = |why: String| Source::Missing {
        why,
        fix: facts.fix.clone(),
    };
    match &facts.perl {
        Err(why) => missing(why.clone()),
        Ok(_) if facts.os != Os::Windows && !facts.make => {
            missing("none installed, and no make to build one with".to_owned())
        }
        Ok((perl, from_path_or_variable)) => Source::FromSource {
            perl: perl.clone(),
            name_perl: facts.os == Os::Windows && !from_path_or_variable,
        },
    }
}

/// The `doctor` line.
pub fn line(source: &Source) -> Line {
    const CHECK: &str = "OpenSSL";
    match source {
        Source::Installed(where_) => Line::ok(CHECK, where_.clone()),
        Source::FromSource { perl, .. } => Line::ok(
            CHECK,
            format!(
                "none installed: the first build compiles it from source (a few minutes more), with {}",
                perl.display()
            ),
        ),
        Source::Missing { why, fix } => Line::wrong(CHECK, format!("{why}; fix: {fix}")),
    }
}

/// The modules OpenSSL's `Configure` and build scripts `use` that a
/// minimal perl (Fedora's `perl-interpreter`) may lack.
const PERL_MODULES: [&str; 4] = ["FindBin", "IPC::Cmd", "File::Compare", "File::Copy"];

/// Looks at this machine: the variables, `pkg-config`, the well-known
/// prefixes, perl and make.
pub fn probe(machine: &Machine) -> Facts {
    let variable = ["OPENSSL_DIR", "OPENSSL_LIB_DIR"]
        .into_iter()
        .find(|name| machine.var(name).is_some());
    let pkg_config = machine.os != Os::Windows
        && machine.find_program("pkg-config").is_some_and(|program| {
            answer(&program, &["--exists", "openssl"], ANSWER_TIMEOUT)
                .is_ok_and(|answer| answer.success)
        });
    Facts {
        os: machine.os,
        variable,
        pkg_config,
        prefix: known_prefix(machine, std::env::consts::ARCH),
        perl: perl(machine),
        make: machine.find_program("make").is_some(),
        fix: fix(machine),
    }
}

/// An OpenSSL where `openssl-sys` looks for one on macOS before
/// `pkg-config`: Homebrew's prefix for this processor (`/opt/homebrew` on
/// Apple silicon, `/usr/local` on Intel), then pkgsrc's and MacPorts'.
pub fn known_prefix(machine: &Machine, arch: &str) -> Option<PathBuf> {
    if machine.os != Os::MacOs {
        return None;
    }
    let homebrew = if arch == "aarch64" {
        "opt/homebrew"
    } else {
        "usr/local"
    };
    let formulas = ["openssl@4", "openssl@3", "openssl@3.0"]
        .map(|formula| machine.at(&format!("{homebrew}/opt/{formula}")));
    let others = ["opt/pkg", "opt/local"].map(|dir| machine.at(dir));
    formulas.into_iter().find(|dir| dir.exists()).or_else(|| {
        others
            .into_iter()
            .find(|dir| dir.join("include").join("openssl").is_dir())
    })
}

/// A perl that can run OpenSSL's `Configure`: the one `openssl-src` would
/// use (`OPENSSL_SRC_PERL`, `PERL`, else `perl` on `PATH`), or on Windows
/// Strawberry Perl in its usual place when that one is MSYS's.
fn perl(machine: &Machine) -> Result<(PathBuf, bool), String> {
    let named = ["OPENSSL_SRC_PERL", "PERL"]
        .into_iter()
        .find_map(|name| machine.var(name))
        .map(PathBuf::from);
    let on_path = machine.find_program("perl");
    match machine.os {
        Os::Windows => {
            // The one a variable names is the one `openssl-src` will use.
            if let Some(perl) = named {
                return windows_perl(&perl).map(|()| (perl, true));
            }
            // Else the one on PATH, when it is a Windows perl; else
            // Strawberry Perl in its usual place, which xtask then names.
            let path_error = match on_path {
                Some(perl) => match windows_perl(&perl) {
                    Ok(()) => return Ok((perl, true)),
                    Err(why) => Some(why),
                },
                None => None,
            };
            let strawberry = machine.at("Strawberry/perl/bin/perl.exe");
            if strawberry.is_file() {
                return windows_perl(&strawberry).map(|()| (strawberry, false));
            }
            Err(path_error.unwrap_or_else(|| {
                "none installed, and no perl to build one with (Windows has none)".to_owned()
            }))
        }
        Os::Linux | Os::MacOs => {
            let perl = named
                .or(on_path)
                .ok_or_else(|| "none installed, and no perl to build one with".to_owned())?;
            let modules: Vec<String> = PERL_MODULES.iter().map(|m| format!("-M{m}")).collect();
            let mut args: Vec<&str> = modules.iter().map(String::as_str).collect();
            args.extend(["-e", "1"]);
            match answer(&perl, &args, ANSWER_TIMEOUT) {
                Ok(answer) if answer.success => Ok((perl, true)),
                Ok(_) => Err(format!(
                    "none installed, and {} lacks modules OpenSSL's build uses ({})",
                    perl.display(),
                    PERL_MODULES.join(", ")
                )),
                Err(why) => Err(format!("none installed, and perl does not run: {why}")),
            }
        }
    }
}

/// Whether a perl is a Windows one (`$^O` is `MSWin32`), not MSYS's or
/// Cygwin's, which OpenSSL's `Configure` cannot use for an MSVC build.
fn windows_perl(perl: &std::path::Path) -> Result<(), String> {
    let answer = answer(perl, &["-e", "print $^O"], ANSWER_TIMEOUT)?;
    match answer.stdout.trim() {
        "MSWin32" => Ok(()),
        other => Err(format!(
            "none installed, and {} is a perl for {other}, not a Windows perl",
            perl.display()
        )),
    }
}

/// The one line that makes this machine able to build the servers.
fn fix(machine: &Machine) -> String {
    match machine.os {
        Os::Windows => "winget install --exact --id StrawberryPerl.StrawberryPerl, then open a new terminal".to_owned(),
        Os::MacOs => {
            if machine.find_program("make").is_some() {
                "brew install openssl@3".to_owned()
            } else {
                "xcode-select --install".to_owned()
            }
        }
        Os::Linux => match Distro::of(machine).and_then(|d| d.package_manager()) {
            Some(manager @ PackageManager::Apt) => manager.install("libssl-dev pkg-config"),
            Some(manager @ PackageManager::Dnf) => manager.install("openssl-devel pkgconf"),
            Some(manager @ PackageManager::Pacman) => manager.install("openssl pkgconf"),
            Some(manager @ PackageManager::Zypper) => manager.install("libopenssl-devel pkg-config"),
            Some(PackageManager::Snap) | None => {
                "install OpenSSL's development files and pkg-config with your distribution's package manager".to_owned()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Root;

    fn facts(os: Os) -> Facts {
        Facts {
            os,
            variable: None,
            pkg_config: false,
            prefix: None,
            perl: Ok((PathBuf::from("/usr/bin/perl"), true)),
            make: true,
            fix: "the fix".to_owned(),
        }
    }

    #[test]
    fn an_installed_openssl_is_used_first() {
        let installed = Facts {
            pkg_config: true,
            ..facts(Os::Linux)
        };
        assert_eq!(
            decide(&installed),
            Source::Installed("installed, found by pkg-config".to_owned())
        );
        let variable = Facts {
            variable: Some("OPENSSL_DIR"),
            perl: Err("no perl".to_owned()),
            ..facts(Os::Windows)
        };
        assert!(matches!(decide(&variable), Source::Installed(_)));
        let homebrew = Facts {
            prefix: Some(PathBuf::from("/opt/homebrew/opt/openssl@3")),
            ..facts(Os::MacOs)
        };
        assert_eq!(
            decide(&homebrew),
            Source::Installed("installed, in /opt/homebrew/opt/openssl@3".to_owned())
        );
    }

    #[test]
    fn without_one_it_is_built_from_source_when_it_can_be() {
        assert_eq!(
            decide(&facts(Os::Linux)),
            Source::FromSource {
                perl: PathBuf::from("/usr/bin/perl"),
                name_perl: false
            }
        );
        let no_make = Facts {
            make: false,
            ..facts(Os::MacOs)
        };
        assert!(matches!(decide(&no_make), Source::Missing { fix, .. } if fix == "the fix"));
        // Windows builds with nmake, which comes with the C compiler.
        let windows = Facts {
            make: false,
            perl: Ok((PathBuf::from(r"C:\Strawberry\perl\bin\perl.exe"), false)),
            ..facts(Os::Windows)
        };
        assert_eq!(
            decide(&windows),
            Source::FromSource {
                perl: PathBuf::from(r"C:\Strawberry\perl\bin\perl.exe"),
                name_perl: true
            }
        );
        let no_perl = Facts {
            perl: Err("no perl".to_owned()),
            ..facts(Os::Windows)
        };
        assert_eq!(
            line(&decide(&no_perl)),
            Line::wrong("OpenSSL", "no perl; fix: the fix")
        );
    }

    #[test]
    fn homebrew_is_looked_for_where_openssl_sys_looks() {
        let root = Root::new();
        let mac = root.machine(Os::MacOs, &[]);
        assert_eq!(known_prefix(&mac, "aarch64"), None);
        let intel = root.path().join("usr/local/opt/openssl@3");
        std::fs::create_dir_all(&intel).unwrap();
        assert_eq!(known_prefix(&mac, "x86_64"), Some(intel));
        assert_eq!(
            known_prefix(&mac, "aarch64"),
            None,
            "Apple silicon's Homebrew is /opt/homebrew"
        );
        let apple = root.path().join("opt/homebrew/opt/openssl@3");
        std::fs::create_dir_all(&apple).unwrap();
        assert_eq!(known_prefix(&mac, "aarch64"), Some(apple));
        let macports = root.path().join("opt/local");
        std::fs::create_dir_all(macports.join("include/openssl")).unwrap();
        std::fs::remove_dir_all(root.path().join("usr/local")).unwrap();
        assert_eq!(known_prefix(&mac, "x86_64"), Some(macports));
        // Linux has no such places: pkg-config it is.
        assert_eq!(known_prefix(&root.machine(Os::Linux, &[]), "x86_64"), None);
    }

    #[test]
    fn each_system_has_its_fix() {
        let root = Root::new();
        let windows = root.machine(Os::Windows, &[]);
        assert!(
            fix(&windows).starts_with("winget install --exact --id StrawberryPerl.StrawberryPerl")
        );
        let mac = root.machine(Os::MacOs, &[("PATH", "{root}/usr/bin")]);
        assert_eq!(fix(&mac), "xcode-select --install");
        root.file("usr/bin/make", "");
        assert_eq!(fix(&mac), "brew install openssl@3");
        let linux = root.machine(Os::Linux, &[]);
        for (os_release, line) in [
            ("ID=debian", "sudo apt-get install libssl-dev pkg-config"),
            ("ID=fedora", "sudo dnf install openssl-devel pkgconf"),
            ("ID=arch", "sudo pacman -S openssl pkgconf"),
            (
                "ID=opensuse-leap\nID_LIKE=\"suse opensuse\"",
                "sudo zypper install libopenssl-devel pkg-config",
            ),
        ] {
            root.file("etc/os-release", os_release);
            assert_eq!(fix(&linux), line);
        }
    }

    #[test]
    fn windows_without_perl_is_told_to_install_one() {
        let root = Root::new();
        let windows = root.machine(Os::Windows, &[("Path", "{root}/Windows")]);
        let facts = probe(&windows);
        assert!(!facts.pkg_config, "no pkg-config on Windows");
        let Source::Missing { why, fix } = decide(&facts) else {
            panic!("{facts:?}");
        };
        assert!(why.contains("no perl"), "{why}");
        assert!(fix.contains("StrawberryPerl"), "{fix}");
    }

    #[cfg(unix)]
    #[test]
    fn a_perl_without_configures_modules_is_named() {
        let root = Root::new();
        // A perl that fails as Fedora's minimal one does.
        let perl = root.file(
            "usr/bin/perl",
            "#!/bin/sh\necho \"Can't locate FindBin.pm in @INC\" >&2\nexit 2\n",
        );
        crate::fake::make_executable(&perl);
        root.file("usr/bin/make", "");
        root.file("etc/os-release", "ID=fedora\n");
        let linux = root.machine(Os::Linux, &[("PATH", "{root}/usr/bin")]);
        let line = line(&source(&linux));
        assert!(!line.ok);
        assert!(
            line.detail
                .contains("lacks modules OpenSSL's build uses (FindBin, IPC::Cmd"),
            "{line:?}"
        );
        assert!(
            line.detail
                .ends_with("fix: sudo dnf install openssl-devel pkgconf"),
            "{line:?}"
        );
    }
}
