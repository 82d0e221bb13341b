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
            let distro = Distro::of(machine);
            let manager = distro.as_ref().and_then(Distro::browser_manager);
            // Debian itself has only the ESR; Ubuntu's derivatives (Linux
            // Mint, say) ship `firefox`.
            let esr = distro.as_ref().is_some_and(|distro| !distro.is("ubuntu"));
            match (manager, family) {
                (Some(manager @ PackageManager::Apt), Family::Firefox) if esr => {
                    manager.install("firefox-esr")
                }
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
}
