//! Which Linux this is, and so which package manager installs what the
//! workshop needs: `apt`, `dnf`, `pacman` or `zypper`.
//!
//! Every current distribution describes itself in `/etc/os-release`
//! (systemd's format, read by shell scripts: `KEY=value` lines, values
//! optionally quoted). `ID` names the distribution (`debian`, `fedora`);
//! `ID_LIKE` the ones it derives from (Linux Mint says `ubuntu debian`), so
//! a derivative we have never heard of still finds its family.

use std::fs;

use crate::Machine;

/// A Linux distribution, as `/etc/os-release` describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Distro {
    /// `ID`: `debian`, `ubuntu`, `fedora`, `arch`, `opensuse-tumbleweed`...
    pub id: String,
    /// `ID_LIKE`, split: the distributions this one derives from.
    pub id_like: Vec<String>,
    /// `PRETTY_NAME` (or `NAME`), for messages.
    pub name: String,
}

/// The package managers the workshop knows how to ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageManager {
    /// Debian and its derivatives.
    Apt,
    /// Ubuntu itself, for the browsers only: its `chromium-browser` and
    /// `firefox` apt packages are stubs that install the snaps.
    Snap,
    /// Fedora, RHEL and their rebuilds.
    Dnf,
    /// Arch and its derivatives.
    Pacman,
    /// openSUSE and SLES.
    Zypper,
}

impl Distro {
    /// This machine's distribution: `/etc/os-release`, else
    /// `/usr/lib/os-release` (where the file really lives on some systems);
    /// `None` when neither can be read.
    pub fn of(machine: &Machine) -> Option<Distro> {
        ["etc/os-release", "usr/lib/os-release"]
            .iter()
            .find_map(|path| fs::read_to_string(machine.at(path)).ok())
            .map(|text| Distro::parse(&text))
    }

    /// Reads the `KEY=value` lines of an os-release file (CRLF or LF;
    /// comments, blank lines and unknown keys ignored).
    pub fn parse(text: &str) -> Distro {
        let mut distro = Distro::default();
        let mut pretty = None;
        for line in text.lines() {
            let line = line.trim();
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match key.trim() {
                "ID" => distro.id = value.to_ascii_lowercase(),
                "ID_LIKE" => {
                    distro.id_like = value
                        .split_whitespace()
                        .map(str::to_ascii_lowercase)
                        .collect()
                }
                "PRETTY_NAME" => pretty = Some(value),
                "NAME" if distro.name.is_empty() => distro.name = value,
                _ => {}
            }
        }
        if let Some(pretty) = pretty {
            distro.name = pretty;
        }
        distro
    }

    /// Whether this is `id`, or derives from it.
    pub fn is(&self, id: &str) -> bool {
        self.id == id || self.id_like.iter().any(|like| like == id)
    }

    /// The package manager that installs system packages here, judged by
    /// the distribution first and then by what it derives from.
    pub fn package_manager(&self) -> Option<PackageManager> {
        let families: [(&[&str], PackageManager); 4] = [
            (&["debian", "ubuntu"], PackageManager::Apt),
            (&["fedora", "rhel", "centos"], PackageManager::Dnf),
            (&["arch"], PackageManager::Pacman),
            (&["suse", "opensuse"], PackageManager::Zypper),
        ];
        let own = |distro: &str| {
            families
                .iter()
                .find(|(ids, _)| ids.contains(&distro))
                .map(|(_, manager)| *manager)
        };
        // openSUSE's IDs are `opensuse-leap`, `opensuse-tumbleweed`, `sles`.
        let own_or_suse = |distro: &str| {
            own(distro).or_else(|| {
                (distro.starts_with("opensuse") || distro == "sles")
                    .then_some(PackageManager::Zypper)
            })
        };
        own_or_suse(&self.id).or_else(|| self.id_like.iter().find_map(|like| own_or_suse(like)))
    }

    /// The manager for a browser: Ubuntu itself gets its browsers as snaps.
    pub fn browser_manager(&self) -> Option<PackageManager> {
        if self.id == "ubuntu" {
            return Some(PackageManager::Snap);
        }
        self.package_manager()
    }

    /// Whether this is Debian or derives from it (where `cargo xtask test`,
    /// as root, installs what it needs with apt-get).
    pub fn is_debian_like(&self) -> bool {
        self.is("debian") || self.is("ubuntu")
    }
}

impl PackageManager {
    /// The command that installs these packages, as a user types it.
    pub fn install(self, packages: &str) -> String {
        match self {
            PackageManager::Apt => format!("sudo apt-get install {packages}"),
            PackageManager::Snap => format!("sudo snap install {packages}"),
            PackageManager::Dnf => format!("sudo dnf install {packages}"),
            PackageManager::Pacman => format!("sudo pacman -S {packages}"),
            PackageManager::Zypper => format!("sudo zypper install {packages}"),
        }
    }
}

/// A shell-style value without its quotes.
fn unquote(value: &str) -> String {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner.replace("\\\"", "\"").replace("\\\\", "\\");
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Os;
    use crate::fake::Root;

    /// The os-release files of the distributions a room sees, abridged.
    const DEBIAN: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
    const UBUNTU: &str = "NAME=\"Ubuntu\"\nVERSION=\"24.04 LTS (Noble Numbat)\"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME=\"Ubuntu 24.04 LTS\"\n";
    const MINT: &str = "NAME=\"Linux Mint\"\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\nPRETTY_NAME=\"Linux Mint 22\"\n";
    const FEDORA: &str = "NAME=\"Fedora Linux\"\nVERSION=\"40 (Workstation Edition)\"\nID=fedora\nPRETTY_NAME=\"Fedora Linux 40 (Workstation Edition)\"\n";
    const ROCKY: &str = "NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n";
    const ARCH: &str =
        "NAME=\"Arch Linux\"\nPRETTY_NAME=\"Arch Linux\"\nID=arch\nBUILD_ID=rolling\n";
    const MANJARO: &str = "NAME=\"Manjaro Linux\"\nID=manjaro\nID_LIKE=arch\n";
    const TUMBLEWEED: &str =
        "NAME=\"openSUSE Tumbleweed\"\nID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n";
    const LEAP: &str = "NAME=\"openSUSE Leap\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n";
    const NIXOS: &str = "NAME=NixOS\nID=nixos\n";

    #[test]
    fn each_distribution_finds_its_package_manager() {
        let cases = [
            (DEBIAN, Some(PackageManager::Apt), Some(PackageManager::Apt)),
            (
                UBUNTU,
                Some(PackageManager::Apt),
                Some(PackageManager::Snap),
            ),
            (MINT, Some(PackageManager::Apt), Some(PackageManager::Apt)),
            (FEDORA, Some(PackageManager::Dnf), Some(PackageManager::Dnf)),
            (ROCKY, Some(PackageManager::Dnf), Some(PackageManager::Dnf)),
            (
                ARCH,
                Some(PackageManager::Pacman),
                Some(PackageManager::Pacman),
            ),
            (
                MANJARO,
                Some(PackageManager::Pacman),
                Some(PackageManager::Pacman),
            ),
            (
                TUMBLEWEED,
                Some(PackageManager::Zypper),
                Some(PackageManager::Zypper),
            ),
            (
                LEAP,
                Some(PackageManager::Zypper),
                Some(PackageManager::Zypper),
            ),
            (NIXOS, None, None),
        ];
        for (text, system, browsers) in cases {
            let distro = Distro::parse(text);
            assert_eq!(distro.package_manager(), system, "{distro:?}");
            assert_eq!(distro.browser_manager(), browsers, "{distro:?}");
        }
        assert!(Distro::parse(MINT).is_debian_like());
        assert!(!Distro::parse(FEDORA).is_debian_like());
    }

    #[test]
    fn os_release_is_read_with_quotes_and_crlf() {
        let distro = Distro::parse(&MINT.replace('\n', "\r\n"));
        assert_eq!(distro.id, "linuxmint");
        assert_eq!(distro.id_like, ["ubuntu", "debian"]);
        assert_eq!(distro.name, "Linux Mint 22");
        let distro = Distro::parse("# a comment\n\nID='arch'\nNAME=Arch\n");
        assert_eq!(distro.id, "arch");
        assert_eq!(distro.name, "Arch");
    }

    #[test]
    fn the_file_is_found_under_the_machines_root() {
        let root = Root::new();
        let machine = root.machine(Os::Linux, &[]);
        assert_eq!(Distro::of(&machine), None);
        root.file("usr/lib/os-release", FEDORA);
        assert_eq!(Distro::of(&machine).unwrap().id, "fedora");
        root.file("etc/os-release", DEBIAN);
        assert_eq!(Distro::of(&machine).unwrap().id, "debian", "/etc first");
    }

    #[test]
    fn install_lines_are_typed_as_each_manager_wants() {
        assert_eq!(
            PackageManager::Apt.install("chromium"),
            "sudo apt-get install chromium"
        );
        assert_eq!(
            PackageManager::Pacman.install("chromium"),
            "sudo pacman -S chromium"
        );
        assert_eq!(PackageManager::Zypper.install("x"), "sudo zypper install x");
        assert_eq!(PackageManager::Dnf.install("x"), "sudo dnf install x");
        assert_eq!(PackageManager::Snap.install("x"), "sudo snap install x");
    }
}
