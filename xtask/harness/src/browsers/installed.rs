//! Which browser the checks drive, and where its profiles go.
//!
//! The search is the `platform` crate's, the same one `cargo xtask doctor`
//! runs: `CHROME` / `FIREFOX` first, then each system's own places (a macOS
//! app bundle, `Program Files`, `PATH`, `/opt`, a snap, a flatpak). Never a
//! silent skip: a browser is found (and named, with its version), or
//! installed (as root on Debian, as in CI, and said so), or there is one
//! line saying how to install one on this system.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use platform::Machine;
use platform::browsers::{self, Family, Found, NotFound};
use platform::tools;

use crate::util::TempDir;

/// The browser of `family` on this machine, said in one line with its
/// version (and when it is older than the checks can drive, in one more).
pub fn find_or_install(family: Family) -> Result<PathBuf> {
    let machine = Machine::this();
    let found = match browsers::find(&machine, family) {
        Ok(found) => found,
        Err(NotFound::Nowhere) => install(&machine, family)?,
        Err(not_found) => return Err(anyhow!(not_found.message(&machine, family))),
    };
    println!("{}", describe(&machine, &found));
    Ok(found.path)
}

/// As root on Debian or a derivative that packages the browser, installs
/// it with apt-get; anywhere else, the error that says how to.
fn install(machine: &Machine, family: Family) -> Result<Found> {
    let not_found = || anyhow!(NotFound::Nowhere.message(machine, family));
    let Some(package) = browsers::apt_package(machine, family) else {
        return Err(not_found());
    };
    if !tools::apt_get_allowed(machine) {
        return Err(not_found());
    }
    tools::apt_get_install(machine, package).map_err(|why| anyhow!("{why}; {}", not_found()))?;
    browsers::find(&Machine::this(), family).map_err(|_| {
        anyhow!(
            "installed the Debian package `{package}`, but no {} is found where it should be",
            family.name()
        )
    })
}

/// `browser: Chromium 140.0.7339.127 (/usr/bin/chromium)`, and when it is
/// older than the checks can drive, a second line that says so and how to
/// update. (The version is read without starting the browser; the report's
/// heading then gives the one the browser itself reports.)
fn describe(machine: &Machine, found: &Found) -> String {
    let path = found.path.display();
    let name = match found.product {
        Some(product) => product.name().to_owned(),
        None => format!("{}'s browser", found.family.env()),
    };
    let family = found.family;
    match browsers::version(machine, found) {
        Ok(version) if version.major < family.oldest_major() => format!(
            "browser: {name} {} ({path})\nwarning: {name} {} is older than the checks can drive ({} or newer): update it, or {}",
            version.text,
            version.text,
            family.oldest_major(),
            browsers::install_line(machine, family)
        ),
        Ok(version) => format!("browser: {name} {} ({path})", version.text),
        Err(_) => format!("browser: {name} ({path})"),
    }
}

/// A fresh profile directory for the browser at `exe`: in the system's temp
/// directory, or for a snap or a flatpak, in the directory its sandbox
/// shares with the host (see `platform::browsers::Sandbox`), where it sees
/// the files the harness writes there and the harness sees its own.
pub fn profile_dir(exe: &Path, prefix: &str) -> Result<TempDir> {
    let machine = Machine::this();
    match browsers::sandbox(exe) {
        Some(sandbox) => {
            let dir = sandbox.shared_dir(&machine).ok_or_else(|| {
                anyhow!(
                    "{} is {}, which sees only its own folder in your home directory, and there is no home directory (HOME is not set)",
                    exe.display(),
                    sandbox.describe()
                )
            })?;
            TempDir::new_in(&dir, prefix)
        }
        None => TempDir::new(prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_browser_is_said_in_one_more_line() {
        let dir = TempDir::new("installed-test").unwrap();
        let machine = Machine {
            os: platform::Os::Windows,
            root: dir.path().to_owned(),
            env: Vec::new(),
        };
        let app = dir.path().join("Program Files/Google/Chrome/Application");
        std::fs::create_dir_all(app.join("120.0.6099.109")).unwrap();
        std::fs::write(app.join("chrome.exe"), "").unwrap();
        let found = browsers::find(&machine, Family::Chromium).unwrap();
        let said = describe(&machine, &found);
        let lines: Vec<&str> = said.lines().collect();
        assert_eq!(
            lines[0],
            format!(
                "browser: Google Chrome 120.0.6099.109 ({})",
                found.path.display()
            )
        );
        assert_eq!(
            lines[1],
            "warning: Google Chrome 120.0.6099.109 is older than the checks can drive (132 or newer): update it, or winget install --exact --id Google.Chrome"
        );
        std::fs::create_dir_all(app.join("140.0.7339.128")).unwrap();
        let said = describe(&machine, &found);
        assert_eq!(said.lines().count(), 1, "{said}");
        assert!(said.contains("Google Chrome 140.0.7339.128"), "{said}");
    }
}
