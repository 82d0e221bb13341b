//! Which version a browser found is (`140.0.7339.127`, `140.3.0esr`), read
//! without opening a window.

use std::cmp::Ordering;
use std::fs;
use std::path::Path;

use super::family::Family;
use super::find::Found;
use crate::tools::{ANSWER_TIMEOUT, answer};
use crate::{Machine, Os};

/// A browser's version, as it reports it: `140.0.7339.127`, `140.3.0esr`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub text: String,
    pub major: u32,
}

impl Version {
    /// The first word that starts with a number and has a dot, in a line
    /// such as `Chromium 140.0.7339.127 built on Debian GNU/Linux 12` or
    /// `Mozilla Firefox 140.3.0esr`.
    pub fn find_in(line: &str) -> Option<Version> {
        line.split_whitespace().find_map(Version::parse)
    }

    /// A version written alone: `140.0.7339.127`, `128.3.0esr`.
    pub fn parse(word: &str) -> Option<Version> {
        let (major, rest) = word.split_once('.')?;
        let major = major.parse().ok()?;
        rest.starts_with(|c: char| c.is_ascii_digit())
            .then(|| Version {
                text: word.to_owned(),
                major,
            })
    }

    /// The numbers, for ordering `140.0.7339.128` after `140.0.7339.80`.
    fn numbers(&self) -> Vec<u64> {
        self.text
            .split('.')
            .map(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().unwrap_or(0)
            })
            .collect()
    }

    fn cmp_numbers(&self, other: &Version) -> Ordering {
        self.numbers().cmp(&other.numbers())
    }
}

/// Which version `found` is, read without opening a window.
///
/// - **macOS and Linux:** `<browser> --version`, which prints one line and
///   exits, for every browser here, a snap's or a flatpak's wrapper too.
///   Firefox's `application.ini` (beside the real executable, or in the
///   bundle's `Resources`) is read first when it is there, so that no
///   Firefox process is started at all.
/// - **Windows:** the browsers are GUI programs there: `chrome.exe
///   --version` prints nothing to a console and may start the browser
///   instead. So it is read from the install: Chrome, Chromium, Edge and
///   Brave keep each version's files in a folder named after it beside
///   the `.exe` (`Application\140.0.7339.128\`); the highest one is the
///   version installed (during an update, the new one, which the next
///   start runs). Firefox's `application.ini`, beside `firefox.exe`, says
///   `Version=`. Nothing is started.
pub fn version(machine: &Machine, found: &Found) -> Result<Version, String> {
    if found.family == Family::Firefox
        && let Some(version) = firefox_application_ini(&found.path)
    {
        return Ok(version);
    }
    match machine.os {
        Os::Windows => match found.family {
            Family::Chromium => version_folder(&found.path),
            Family::Firefox => Err(format!(
                "no application.ini with a Version beside {}",
                found.path.display()
            )),
        },
        Os::Linux | Os::MacOs => {
            let answer = answer(&found.path, &["--version"], ANSWER_TIMEOUT)?;
            Version::find_in(answer.first_line()).ok_or_else(|| {
                format!(
                    "`{} --version` printed no version: {:?}",
                    found.path.display(),
                    answer.first_line()
                )
            })
        }
    }
}

/// The highest version-named folder beside a Chromium-family `.exe`.
fn version_folder(exe: &Path) -> Result<Version, String> {
    let dir = exe
        .parent()
        .ok_or_else(|| format!("{} has no folder", exe.display()))?;
    let entries =
        fs::read_dir(dir).map_err(|error| format!("cannot list {}: {error}", dir.display()))?;
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            // Only all-number names: `140.0.7339.128`, never `Locales`.
            let numeric = name.split('.').count() >= 3
                && name
                    .split('.')
                    .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
            numeric.then(|| Version::parse(&name)).flatten()
        })
        .max_by(Version::cmp_numbers)
        .ok_or_else(|| format!("no version folder beside {}", exe.display()))
}

/// Firefox's own record of its version: `Version=` in the `[App]` section of
/// `application.ini`, beside the executable (Linux, Windows; symlinks such
/// as `/usr/bin/firefox-esr` followed) or in the bundle's `Resources`
/// (macOS).
fn firefox_application_ini(exe: &Path) -> Option<Version> {
    let exe = fs::canonicalize(exe).unwrap_or_else(|_| exe.to_owned());
    let dir = exe.parent()?;
    let candidates = [
        dir.join("application.ini"),
        dir.parent()?.join("Resources").join("application.ini"),
    ];
    candidates.iter().find_map(|ini| {
        let text = fs::read_to_string(ini).ok()?;
        let mut in_app = false;
        text.lines().map(str::trim).find_map(|line| {
            if line.starts_with('[') {
                in_app = line == "[App]";
                return None;
            }
            let value = line.strip_prefix("Version=")?;
            in_app.then(|| Version::parse(value.trim())).flatten()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browsers::Product::Edge;
    use crate::browsers::find;
    use crate::browsers::tests::layout;
    use crate::fake::Root;

    #[test]
    fn windows_versions_are_read_from_the_install_without_starting_it() {
        let root = Root::new();
        let windows = layout(&root, Os::Windows);
        let chrome = root.file("Program Files/Google/Chrome/Application/chrome.exe", "");
        fs::create_dir_all(chrome.with_file_name("Locales")).unwrap();
        fs::create_dir_all(chrome.with_file_name("140.0.7339.80")).unwrap();
        fs::create_dir_all(chrome.with_file_name("140.0.7339.128")).unwrap();
        fs::create_dir_all(chrome.with_file_name("SetupMetrics")).unwrap();
        let found = find(&windows, Family::Chromium).unwrap();
        let chrome_version = version(&windows, &found).unwrap();
        assert_eq!(
            chrome_version.text, "140.0.7339.128",
            "the highest, by number"
        );
        assert_eq!(chrome_version.major, 140);

        let firefox = root.file("Program Files/Mozilla Firefox/firefox.exe", "");
        root.file(
            "Program Files/Mozilla Firefox/application.ini",
            "[App]\r\nVendor=Mozilla\r\nName=Firefox\r\nVersion=128.3.0\r\n\r\n[Gecko]\r\nMinVersion=128.3.0\r\n",
        );
        let found = find(&windows, Family::Firefox).unwrap();
        assert_eq!(found.path, firefox);
        assert_eq!(version(&windows, &found).unwrap().major, 128);

        // An install with no version folder says so.
        let edge = root.file(
            "Program Files (x86)/Microsoft/Edge/Application/msedge.exe",
            "",
        );
        let found = Found {
            family: Family::Chromium,
            product: Some(Edge),
            path: edge,
        };
        assert!(
            version(&windows, &found)
                .unwrap_err()
                .starts_with("no version folder beside")
        );
    }

    #[test]
    fn a_mac_firefox_version_is_in_its_bundle() {
        let root = Root::new();
        let mac = layout(&root, Os::MacOs);
        root.file("Applications/Firefox.app/Contents/MacOS/firefox", "");
        root.file(
            "Applications/Firefox.app/Contents/Resources/application.ini",
            "[App]\nVersion=140.3.0esr\n",
        );
        let found = find(&mac, Family::Firefox).unwrap();
        let read = version(&mac, &found).unwrap();
        assert_eq!((read.text.as_str(), read.major), ("140.3.0esr", 140));
    }

    #[cfg(unix)]
    #[test]
    fn unix_versions_come_from_version_flag() {
        let root = Root::new();
        let linux = layout(&root, Os::Linux);
        let chromium = root.file(
            "usr/bin/chromium",
            "#!/bin/sh\n[ \"$1\" = --version ] && echo 'Chromium 140.0.7339.127 built on Debian GNU/Linux 12 (bookworm)'\n",
        );
        crate::fake::make_executable(&chromium);
        let found = find(&linux, Family::Chromium).unwrap();
        let read = version(&linux, &found).unwrap();
        assert_eq!((read.text.as_str(), read.major), ("140.0.7339.127", 140));

        let silent = root.file("usr/bin/firefox", "#!/bin/sh\necho 'Firefox is starting'\n");
        crate::fake::make_executable(&silent);
        let found = find(&linux, Family::Firefox).unwrap();
        let error = version(&linux, &found).unwrap_err();
        assert!(error.contains("printed no version"), "{error}");
    }

    #[test]
    fn versions_are_read_from_what_each_browser_prints() {
        let cases = [
            (
                "Chromium 140.0.7339.127 built on Debian GNU/Linux 12 (bookworm)",
                140,
            ),
            ("Google Chrome 141.0.7390.54 ", 141),
            ("Microsoft Edge 140.0.3485.66", 140),
            ("Brave Browser 140.1.82.166", 140),
            ("Mozilla Firefox 140.3.0esr", 140),
            ("Mozilla Firefox 153.0", 153),
        ];
        for (line, major) in cases {
            assert_eq!(
                Version::find_in(line).map(|v| v.major),
                Some(major),
                "{line}"
            );
        }
        assert_eq!(Version::find_in("Chromium 2 beta"), None);
        assert_eq!(Version::find_in(""), None);
    }
}
