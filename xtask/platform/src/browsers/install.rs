//! The one line that installs a browser of a family on a machine: the
//! system's own package manager or installer, and the package it knows.

use super::family::Family;
use crate::linux::{Distro, PackageManager};
use crate::{Machine, Os};

/// The one line that installs a browser of `family` on this machine.
pub fn install_line(machine: &Machine, family: Family) -> String {
    match (machine.os, family) {
        (Os::Windows, Family::Chromium) => "winget install --exact --id Google.Chrome".to_owned(),
        (Os::Windows, Family::Firefox) => "winget install --exact --id Mozilla.Firefox".to_owned(),
        // Google's own signed app. (Homebrew's `chromium` cask is not signed:
        // macOS refuses to open it until its quarantine is removed by hand.)
        (Os::MacOs, Family::Chromium) => "brew install --cask google-chrome".to_owned(),
        (Os::MacOs, Family::Firefox) => "brew install --cask firefox".to_owned(),
        (Os::Linux, family) => {
            if let Some(package) = apt_package(machine, family) {
                return PackageManager::Apt.install(package);
            }
            let manager = Distro::of(machine).and_then(|distro| distro.browser_manager());
            match (manager, family) {
                (Some(manager @ PackageManager::Zypper), Family::Firefox) => {
                    manager.install("MozillaFirefox")
                }
                (Some(manager), Family::Chromium) => manager.install("chromium"),
                (Some(manager), Family::Firefox) => manager.install("firefox"),
                (None, Family::Chromium) => "install Chromium or Google Chrome with your distribution's package manager (or `flatpak install flathub org.chromium.Chromium`)".to_owned(),
                (None, Family::Firefox) => "install Firefox with your distribution's package manager (or `flatpak install flathub org.mozilla.firefox`)".to_owned(),
            }
        }
    }
}

/// The Debian package that installs a real browser of `family` here with
/// `apt-get`, where that is how this Linux gets its browsers: what the
/// harness installs as root on Debian (as in CI). `None` elsewhere, and on
/// Ubuntu, whose `chromium-browser` and `firefox` packages only install the
/// snap (which a container without snapd cannot run).
pub fn apt_package(machine: &Machine, family: Family) -> Option<&'static str> {
    if machine.os != Os::Linux {
        return None;
    }
    let distro = Distro::of(machine)?;
    if distro.browser_manager()? != PackageManager::Apt {
        return None;
    }
    Some(match family {
        Family::Chromium => "chromium",
        // Debian itself has only the ESR; Ubuntu's derivatives (Linux Mint,
        // say) ship `firefox`.
        Family::Firefox if distro.is("ubuntu") => "firefox",
        Family::Firefox => "firefox-esr",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Root;

    #[test]
    fn each_system_has_one_install_line() {
        let root = Root::new();
        let line = |os, family| install_line(&root.machine(os, &[]), family);
        assert_eq!(
            line(Os::Windows, Family::Chromium),
            "winget install --exact --id Google.Chrome"
        );
        assert_eq!(
            line(Os::Windows, Family::Firefox),
            "winget install --exact --id Mozilla.Firefox"
        );
        assert_eq!(
            line(Os::MacOs, Family::Chromium),
            "brew install --cask google-chrome"
        );
        assert_eq!(
            line(Os::MacOs, Family::Firefox),
            "brew install --cask firefox"
        );
        assert!(line(Os::Linux, Family::Chromium).starts_with(
            "install Chromium or Google Chrome with your distribution's package manager"
        ));
        let distros = [
            (
                "ID=debian",
                "sudo apt-get install chromium",
                "sudo apt-get install firefox-esr",
            ),
            (
                "ID=ubuntu\nID_LIKE=debian",
                "sudo snap install chromium",
                "sudo snap install firefox",
            ),
            (
                "ID=linuxmint\nID_LIKE=\"ubuntu debian\"",
                "sudo apt-get install chromium",
                "sudo apt-get install firefox",
            ),
            (
                "ID=fedora",
                "sudo dnf install chromium",
                "sudo dnf install firefox",
            ),
            (
                "ID=arch",
                "sudo pacman -S chromium",
                "sudo pacman -S firefox",
            ),
            (
                "ID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"",
                "sudo zypper install chromium",
                "sudo zypper install MozillaFirefox",
            ),
        ];
        for (os_release, chromium, firefox) in distros {
            root.file("etc/os-release", os_release);
            assert_eq!(line(Os::Linux, Family::Chromium), chromium, "{os_release}");
            assert_eq!(line(Os::Linux, Family::Firefox), firefox, "{os_release}");
        }
    }

    #[test]
    fn apt_installs_browsers_only_where_the_distribution_packages_them() {
        let root = Root::new();
        let package = |os, family| apt_package(&root.machine(os, &[]), family);
        let distros = [
            ("ID=debian", Some("chromium"), Some("firefox-esr")),
            (
                "ID=raspbian\nID_LIKE=debian",
                Some("chromium"),
                Some("firefox-esr"),
            ),
            (
                "ID=linuxmint\nID_LIKE=\"ubuntu debian\"",
                Some("chromium"),
                Some("firefox"),
            ),
            // Ubuntu's packages of both only install the snap.
            ("ID=ubuntu\nID_LIKE=debian", None, None),
            ("ID=fedora", None, None),
        ];
        for (os_release, chromium, firefox) in distros {
            root.file("etc/os-release", os_release);
            assert_eq!(
                package(Os::Linux, Family::Chromium),
                chromium,
                "{os_release}"
            );
            assert_eq!(package(Os::Linux, Family::Firefox), firefox, "{os_release}");
            assert_eq!(package(Os::Windows, Family::Chromium), None);
            assert_eq!(package(Os::MacOs, Family::Firefox), None);
        }
    }
}
