//! The browsers the lesson's checks drive, where each system keeps them,
//! which version one is, and how to install one.
//!
//! Two families: the Chromium family (Google Chrome, Chromium, Microsoft
//! Edge, Brave), driven over the DevTools protocol, and the Firefox family
//! (ESR or release), driven over WebDriver BiDi. A student has at least one
//! of them somewhere; this finds it:
//!
//! 1. `CHROME` (or `FIREFOX`) names the executable, and wins: a path, or a
//!    name looked up on `PATH`. When it names nothing, that is an error,
//!    not a reason to look elsewhere.
//! 2. Otherwise the places of [`places`], in order: one table per system.
//!    macOS keeps applications as bundles in `/Applications` or
//!    `~/Applications`; Windows in `Program Files`, `Program Files (x86)`
//!    or, for a per-user install, `%LOCALAPPDATA%`; Linux on `PATH`, in
//!    `/snap/bin`, under `/opt` (Google's, Microsoft's and Brave's own
//!    packages) and in the flatpak exports.
//!
//! When nothing is found, [`install_line`] is the one line that installs a
//! browser on that system.

use std::cmp::Ordering;
use std::fs;
use std::path::{Path, PathBuf};

use crate::linux::{Distro, PackageManager};
use crate::tools::{ANSWER_TIMEOUT, answer};
use crate::{Machine, Os};

/// The two kinds of browser the harness can drive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// Chrome, Chromium, Edge, Brave: the DevTools protocol.
    Chromium,
    /// Firefox, ESR or release: WebDriver BiDi.
    Firefox,
}

impl Family {
    /// The environment variable that names the executable, and wins.
    pub fn env(self) -> &'static str {
        match self {
            Family::Chromium => "CHROME",
            Family::Firefox => "FIREFOX",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Chromium => "Chromium-family browser",
            Family::Firefox => "Firefox",
        }
    }

    /// The oldest major version the lesson's checks can drive.
    ///
    /// **Chromium 132.** The harness starts Chromium with `--headless`; only
    /// from Chrome 132 on does that flag always mean the *new* headless
    /// mode, the real browser without windows. Before 132 the old headless
    /// mode, a separate and smaller browser built on Chromium's content
    /// layer, was still in the same binary and (up to the releases that
    /// switched the default) what `--headless` started; the checks were
    /// never run there. Everything else is older: the DevTools commands the
    /// harness needs (`ServiceWorker.dispatchSyncEvent`,
    /// `ServiceWorker.deliverPushMessage`, `ServiceWorker.stopAllWorkers`,
    /// the `BackgroundService` domain, `Browser.grantPermissions`, flat
    /// sessions through `Target.setAutoAttach`) have all been there for
    /// years, `Network.overrideNetworkState` (about 137) is optional, and the
    /// app's own `.wasm` needs reference types (Chrome 96), which Rust emits
    /// for `wasm32-unknown-unknown` since 1.82. Edge and Brave number their
    /// releases by the Chromium they are built on.
    ///
    /// **Firefox 119.** The harness's WebDriver BiDi commands, with the
    /// release that first had each (MDN's browser-compat-data):
    /// `browsingContext.reload` 119, `script.evaluate` 106,
    /// `browsingContext.create` with `referenceContext` 107,
    /// `browsingContext.navigate`, `close` and `getTree` 100-101,
    /// `session.subscribe` 93, `log.entryAdded` 94. `permissions.
    /// setPermission` (127), `emulation.setNetworkConditions` (150) and
    /// `script.addPreloadScript` (112) are used where present, with a
    /// fallback otherwise. The oldest ESR with 119 is ESR 128; the harness's
    /// notes name ESR 140 and Firefox 153 as the releases it was run on.
    pub fn oldest_major(self) -> u32 {
        match self {
            Family::Chromium => 132,
            Family::Firefox => 119,
        }
    }
}

/// A browser product, as the places name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Product {
    Chrome,
    Chromium,
    Edge,
    Brave,
    FirefoxEsr,
    Firefox,
}

impl Product {
    pub fn name(self) -> &'static str {
        match self {
            Product::Chrome => "Google Chrome",
            Product::Chromium => "Chromium",
            Product::Edge => "Microsoft Edge",
            Product::Brave => "Brave",
            Product::FirefoxEsr => "Firefox ESR",
            Product::Firefox => "Firefox",
        }
    }

    pub fn family(self) -> Family {
        match self {
            Product::Chrome | Product::Chromium | Product::Edge | Product::Brave => {
                Family::Chromium
            }
            Product::FirefoxEsr | Product::Firefox => Family::Firefox,
        }
    }
}

/// Where a place's path starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base {
    /// The file system's root: `/` (or on Windows the system drive).
    Root,
    /// The user's home directory.
    Home,
    /// `%ProgramFiles%` (64-bit programs on 64-bit Windows).
    ProgramFiles,
    /// `%ProgramFiles(x86)%`, where Edge lives even on 64-bit Windows.
    ProgramFilesX86,
    /// `%LOCALAPPDATA%`, where per-user installs go (Chrome without admin
    /// rights, Chromium's installer, Firefox's per-user install).
    LocalAppData,
}

/// One place a browser may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A program found on `PATH` by this name (`.exe` added on Windows).
    OnPath(&'static str),
    /// A file at this path (written with `/`) under a base directory.
    At(Base, &'static str),
}

/// A place to look, and what is found there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    pub product: Product,
    pub location: Location,
}

const fn on_path(product: Product, name: &'static str) -> Place {
    Place {
        product,
        location: Location::OnPath(name),
    }
}

const fn at(product: Product, base: Base, path: &'static str) -> Place {
    Place {
        product,
        location: Location::At(base, path),
    }
}

use Base::{Home, LocalAppData, ProgramFiles, ProgramFilesX86, Root};
use Product::{Brave, Chrome, Chromium, Edge, Firefox, FirefoxEsr};

/// Linux: the distribution's package first (on `PATH`, the names Debian,
/// Ubuntu, Fedora and Arch give it; CI's Debian has `chromium`), then the
/// vendors' own packages under `/opt`, then snaps (on `PATH` too, usually,
/// but not in every shell), then flatpaks, system-wide and per user.
const LINUX_CHROMIUM: &[Place] = &[
    on_path(Chromium, "chromium"),
    on_path(Chromium, "chromium-browser"),
    on_path(Chrome, "google-chrome"),
    on_path(Chrome, "google-chrome-stable"),
    on_path(Edge, "microsoft-edge"),
    on_path(Edge, "microsoft-edge-stable"),
    on_path(Brave, "brave-browser"),
    on_path(Brave, "brave"),
    at(Chrome, Root, "opt/google/chrome/google-chrome"),
    at(Edge, Root, "opt/microsoft/msedge/microsoft-edge"),
    at(Brave, Root, "opt/brave.com/brave/brave-browser"),
    at(Chromium, Root, "snap/bin/chromium"),
    at(Brave, Root, "snap/bin/brave"),
    at(
        Chrome,
        Root,
        "var/lib/flatpak/exports/bin/com.google.Chrome",
    ),
    at(
        Chromium,
        Root,
        "var/lib/flatpak/exports/bin/org.chromium.Chromium",
    ),
    at(Edge, Root, "var/lib/flatpak/exports/bin/com.microsoft.Edge"),
    at(Brave, Root, "var/lib/flatpak/exports/bin/com.brave.Browser"),
    at(
        Chrome,
        Home,
        ".local/share/flatpak/exports/bin/com.google.Chrome",
    ),
    at(
        Chromium,
        Home,
        ".local/share/flatpak/exports/bin/org.chromium.Chromium",
    ),
    at(
        Edge,
        Home,
        ".local/share/flatpak/exports/bin/com.microsoft.Edge",
    ),
    at(
        Brave,
        Home,
        ".local/share/flatpak/exports/bin/com.brave.Browser",
    ),
];

const LINUX_FIREFOX: &[Place] = &[
    on_path(FirefoxEsr, "firefox-esr"),
    on_path(Firefox, "firefox"),
    at(Firefox, Root, "opt/firefox/firefox"),
    at(Firefox, Root, "snap/bin/firefox"),
    at(
        Firefox,
        Root,
        "var/lib/flatpak/exports/bin/org.mozilla.firefox",
    ),
    at(
        Firefox,
        Home,
        ".local/share/flatpak/exports/bin/org.mozilla.firefox",
    ),
];

/// macOS: the executable inside each app bundle, in `/Applications` and
/// then the user's own `~/Applications`; `PATH` last (a Homebrew formula or
/// a symlink someone made).
const MACOS_CHROMIUM: &[Place] = &[
    at(
        Chrome,
        Root,
        "Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    ),
    at(
        Chrome,
        Home,
        "Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    ),
    at(
        Chromium,
        Root,
        "Applications/Chromium.app/Contents/MacOS/Chromium",
    ),
    at(
        Chromium,
        Home,
        "Applications/Chromium.app/Contents/MacOS/Chromium",
    ),
    at(
        Edge,
        Root,
        "Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ),
    at(
        Edge,
        Home,
        "Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ),
    at(
        Brave,
        Root,
        "Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
    ),
    at(
        Brave,
        Home,
        "Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
    ),
    on_path(Chromium, "chromium"),
    on_path(Chrome, "google-chrome"),
];

const MACOS_FIREFOX: &[Place] = &[
    at(
        Firefox,
        Root,
        "Applications/Firefox.app/Contents/MacOS/firefox",
    ),
    at(
        Firefox,
        Home,
        "Applications/Firefox.app/Contents/MacOS/firefox",
    ),
    on_path(Firefox, "firefox"),
];

/// Windows: each vendor's installer layout, machine-wide (`Program Files`,
/// or `Program Files (x86)` for 32-bit installs and for Edge) and per user
/// (`%LOCALAPPDATA%`); `PATH` last. Edge comes with Windows, so a Windows
/// laptop always has one of the family; Chrome is preferred when present
/// because it is what most students use every day.
const WINDOWS_CHROMIUM: &[Place] = &[
    at(Chrome, ProgramFiles, "Google/Chrome/Application/chrome.exe"),
    at(
        Chrome,
        ProgramFilesX86,
        "Google/Chrome/Application/chrome.exe",
    ),
    at(Chrome, LocalAppData, "Google/Chrome/Application/chrome.exe"),
    at(Chromium, LocalAppData, "Chromium/Application/chrome.exe"),
    at(Chromium, ProgramFiles, "Chromium/Application/chrome.exe"),
    at(
        Brave,
        ProgramFiles,
        "BraveSoftware/Brave-Browser/Application/brave.exe",
    ),
    at(
        Brave,
        ProgramFilesX86,
        "BraveSoftware/Brave-Browser/Application/brave.exe",
    ),
    at(
        Brave,
        LocalAppData,
        "BraveSoftware/Brave-Browser/Application/brave.exe",
    ),
    at(
        Edge,
        ProgramFilesX86,
        "Microsoft/Edge/Application/msedge.exe",
    ),
    at(Edge, ProgramFiles, "Microsoft/Edge/Application/msedge.exe"),
    on_path(Chrome, "chrome"),
    on_path(Edge, "msedge"),
    on_path(Brave, "brave"),
];

const WINDOWS_FIREFOX: &[Place] = &[
    at(Firefox, ProgramFiles, "Mozilla Firefox/firefox.exe"),
    at(Firefox, ProgramFilesX86, "Mozilla Firefox/firefox.exe"),
    at(Firefox, LocalAppData, "Mozilla Firefox/firefox.exe"),
    on_path(Firefox, "firefox"),
];

/// Where `os` keeps the browsers of `family`, best first.
pub fn places(os: Os, family: Family) -> &'static [Place] {
    match (os, family) {
        (Os::Linux, Family::Chromium) => LINUX_CHROMIUM,
        (Os::Linux, Family::Firefox) => LINUX_FIREFOX,
        (Os::MacOs, Family::Chromium) => MACOS_CHROMIUM,
        (Os::MacOs, Family::Firefox) => MACOS_FIREFOX,
        (Os::Windows, Family::Chromium) => WINDOWS_CHROMIUM,
        (Os::Windows, Family::Firefox) => WINDOWS_FIREFOX,
    }
}

/// A browser found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub family: Family,
    /// What the place it was found in says it is; `None` when `CHROME` or
    /// `FIREFOX` named it.
    pub product: Option<Product>,
    pub path: PathBuf,
}

impl Found {
    /// How a message names it: "Google Chrome", or "CHROME's browser".
    pub fn name(&self) -> String {
        match self.product {
            Some(product) => product.name().to_owned(),
            None => format!("the browser in {}", self.family.env()),
        }
    }
}

/// Why no browser was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotFound {
    /// `CHROME` or `FIREFOX` is set, to something that is not a file.
    BadVariable {
        variable: &'static str,
        value: String,
    },
    /// Nothing in any of the system's places.
    Nowhere,
}

/// The browser of `family` on this machine: the one `CHROME` / `FIREFOX`
/// names, else the first of [`places`] that exists.
pub fn find(machine: &Machine, family: Family) -> Result<Found, NotFound> {
    let variable = family.env();
    if let Some(value) = machine.var(variable) {
        let value = value.to_string_lossy().into_owned();
        return match machine.find_program(&value) {
            Some(path) => Ok(Found {
                family,
                product: None,
                path,
            }),
            None => Err(NotFound::BadVariable { variable, value }),
        };
    }
    places(machine.os, family)
        .iter()
        .find_map(|place| {
            let path = match place.location {
                Location::OnPath(name) => machine.find_program(name)?,
                Location::At(base, relative) => {
                    let path = crate::join(&base_dir(machine, base)?, relative);
                    path.is_file().then_some(path)?
                }
            };
            Some(Found {
                family,
                product: Some(place.product),
                path,
            })
        })
        .ok_or(NotFound::Nowhere)
}

/// The directory a base stands for on this machine, when it has one.
fn base_dir(machine: &Machine, base: Base) -> Option<PathBuf> {
    // The Windows folders come from the environment, as every installer
    // reads them; the defaults are what a stock Windows has.
    let windows = |variable: &str, default: &str| {
        Some(
            machine
                .var(variable)
                .map(PathBuf::from)
                .unwrap_or_else(|| machine.at(default)),
        )
    };
    match base {
        Base::Root => Some(machine.root.clone()),
        Base::Home => machine.home(),
        Base::ProgramFiles => windows("ProgramFiles", "Program Files"),
        Base::ProgramFilesX86 => windows("ProgramFiles(x86)", "Program Files (x86)"),
        Base::LocalAppData => machine
            .var("LOCALAPPDATA")
            .map(PathBuf::from)
            .or_else(|| Some(machine.home()?.join("AppData").join("Local"))),
    }
}

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

    /// Every place of every system, installed one at a time on a fake
    /// machine, is found as the product its table says.
    #[test]
    fn every_place_of_every_system_is_found() {
        for os in [Os::Linux, Os::MacOs, Os::Windows] {
            for family in [Family::Chromium, Family::Firefox] {
                for place in places(os, family) {
                    let root = Root::new();
                    let machine = layout(&root, os);
                    let path = install(&root, &machine, place);
                    let found = find(&machine, family)
                        .unwrap_or_else(|e| panic!("{os:?}: {place:?} not found: {e:?}"));
                    assert_eq!(found.path, path, "{os:?} {place:?}");
                    assert_eq!(found.product, Some(place.product));
                    assert_eq!(place.product.family(), family);
                }
            }
        }
    }

    /// The paths the vendors' installers really use, written out here
    /// apart from the tables, so that a slip in a table shows.
    #[test]
    fn the_real_install_paths_are_found() {
        let cases: &[(Os, &str, Product)] = &[
            (
                Os::Windows,
                "Program Files/Google/Chrome/Application/chrome.exe",
                Chrome,
            ),
            (
                Os::Windows,
                "Program Files (x86)/Google/Chrome/Application/chrome.exe",
                Chrome,
            ),
            (
                Os::Windows,
                "Users/ada/AppData/Local/Google/Chrome/Application/chrome.exe",
                Chrome,
            ),
            (
                Os::Windows,
                "Users/ada/AppData/Local/Chromium/Application/chrome.exe",
                Chromium,
            ),
            (
                Os::Windows,
                "Program Files (x86)/Microsoft/Edge/Application/msedge.exe",
                Edge,
            ),
            (
                Os::Windows,
                "Program Files/BraveSoftware/Brave-Browser/Application/brave.exe",
                Brave,
            ),
            (
                Os::Windows,
                "Users/ada/AppData/Local/BraveSoftware/Brave-Browser/Application/brave.exe",
                Brave,
            ),
            (
                Os::Windows,
                "Program Files/Mozilla Firefox/firefox.exe",
                Firefox,
            ),
            (
                Os::Windows,
                "Program Files (x86)/Mozilla Firefox/firefox.exe",
                Firefox,
            ),
            (
                Os::Windows,
                "Users/ada/AppData/Local/Mozilla Firefox/firefox.exe",
                Firefox,
            ),
            (
                Os::MacOs,
                "Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                Chrome,
            ),
            (
                Os::MacOs,
                "Users/ada/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                Chrome,
            ),
            (
                Os::MacOs,
                "Applications/Chromium.app/Contents/MacOS/Chromium",
                Chromium,
            ),
            (
                Os::MacOs,
                "Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
                Edge,
            ),
            (
                Os::MacOs,
                "Applications/Brave Browser.app/Contents/MacOS/Brave Browser",
                Brave,
            ),
            (
                Os::MacOs,
                "Applications/Firefox.app/Contents/MacOS/firefox",
                Firefox,
            ),
            (Os::Linux, "usr/bin/chromium", Chromium),
            (Os::Linux, "usr/bin/chromium-browser", Chromium),
            (Os::Linux, "usr/bin/google-chrome-stable", Chrome),
            (Os::Linux, "usr/bin/microsoft-edge-stable", Edge),
            (Os::Linux, "usr/bin/brave-browser", Brave),
            (Os::Linux, "opt/google/chrome/google-chrome", Chrome),
            (Os::Linux, "opt/microsoft/msedge/microsoft-edge", Edge),
            (Os::Linux, "opt/brave.com/brave/brave-browser", Brave),
            (Os::Linux, "snap/bin/chromium", Chromium),
            (
                Os::Linux,
                "var/lib/flatpak/exports/bin/com.google.Chrome",
                Chrome,
            ),
            (
                Os::Linux,
                "var/lib/flatpak/exports/bin/org.chromium.Chromium",
                Chromium,
            ),
            (
                Os::Linux,
                "home/ada/.local/share/flatpak/exports/bin/com.brave.Browser",
                Brave,
            ),
            (Os::Linux, "usr/bin/firefox-esr", FirefoxEsr),
            (Os::Linux, "usr/bin/firefox", Firefox),
            (Os::Linux, "opt/firefox/firefox", Firefox),
            (Os::Linux, "snap/bin/firefox", Firefox),
            (
                Os::Linux,
                "var/lib/flatpak/exports/bin/org.mozilla.firefox",
                Firefox,
            ),
        ];
        for &(os, path, product) in cases {
            let root = Root::new();
            let machine = layout(&root, os);
            let path = root.file(path, "");
            let found = find(&machine, product.family());
            assert_eq!(
                found.map(|found| (found.path, found.product)),
                Ok((path.clone(), Some(product))),
                "{os:?}: {}",
                path.display()
            );
        }
    }

    /// A fake machine of each system, with its variables pointing into
    /// the fake root, as a real one's point into its disk.
    fn layout(root: &Root, os: Os) -> Machine {
        match os {
            Os::Windows => root.machine(
                os,
                &[
                    ("Path", "{root}/Windows/System32;{root}/bin"),
                    ("USERPROFILE", "{root}/Users/ada"),
                    ("ProgramFiles", "{root}/Program Files"),
                    ("ProgramFiles(x86)", "{root}/Program Files (x86)"),
                    ("LOCALAPPDATA", "{root}/Users/ada/AppData/Local"),
                ],
            ),
            Os::MacOs => root.machine(
                os,
                &[
                    ("PATH", "{root}/usr/bin:{root}/opt/homebrew/bin"),
                    ("HOME", "{root}/Users/ada"),
                ],
            ),
            Os::Linux => root.machine(
                os,
                &[
                    ("PATH", "{root}/usr/local/bin:{root}/usr/bin"),
                    ("HOME", "{root}/home/ada"),
                ],
            ),
        }
    }

    /// Puts a (fake) browser at a place, and returns the path `find` should
    /// give.
    fn install(root: &Root, machine: &Machine, place: &Place) -> PathBuf {
        match place.location {
            Location::OnPath(name) => {
                let dir = machine.path_dirs().pop().unwrap();
                let path = dir.join(machine.os.program(name));
                fs::create_dir_all(&dir).unwrap();
                fs::write(&path, "").unwrap();
                path
            }
            Location::At(base, relative) => {
                let path = crate::join(&base_dir(machine, base).unwrap(), relative);
                assert!(path.starts_with(root.path()), "{path:?}");
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                fs::write(&path, "").unwrap();
                path
            }
        }
    }

    #[test]
    fn the_best_place_wins_when_there_are_several() {
        let root = Root::new();
        let windows = layout(&root, Os::Windows);
        root.file(
            "Program Files (x86)/Microsoft/Edge/Application/msedge.exe",
            "",
        );
        assert_eq!(
            find(&windows, Family::Chromium).unwrap().product,
            Some(Edge)
        );
        root.file(
            "Users/ada/AppData/Local/Google/Chrome/Application/chrome.exe",
            "",
        );
        assert_eq!(
            find(&windows, Family::Chromium).unwrap().product,
            Some(Chrome)
        );

        let mac = layout(&root, Os::MacOs);
        root.file(
            "Users/ada/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "",
        );
        let found = find(&mac, Family::Chromium).unwrap();
        assert!(
            found
                .path
                .starts_with(root.path().join("Users/ada/Applications"))
        );
        root.file(
            "Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
            "",
        );
        let found = find(&mac, Family::Chromium).unwrap();
        assert!(
            found.path.starts_with(root.path().join("Applications")),
            "/Applications first"
        );
    }

    #[test]
    fn nothing_installed_is_nowhere() {
        for os in [Os::Linux, Os::MacOs, Os::Windows] {
            let root = Root::new();
            let machine = layout(&root, os);
            // A directory named like a browser is not one.
            fs::create_dir_all(root.path().join("usr/bin/chromium")).unwrap();
            for family in [Family::Chromium, Family::Firefox] {
                assert_eq!(find(&machine, family), Err(NotFound::Nowhere), "{os:?}");
            }
        }
    }

    #[test]
    fn the_variable_wins_and_must_name_a_browser() {
        let root = Root::new();
        let mut machine = layout(&root, Os::Linux);
        root.file("usr/bin/chromium", "");
        let mine = root.file("home/ada/chrome-for-testing/chrome", "");
        machine.env.push(("CHROME".into(), mine.clone().into()));
        let found = find(&machine, Family::Chromium).unwrap();
        assert_eq!(found.path, mine);
        assert_eq!(found.product, None);
        assert_eq!(found.name(), "the browser in CHROME");

        // A bare name is looked up on PATH.
        let esr = root.file("usr/bin/firefox-esr", "");
        machine.env.push(("FIREFOX".into(), "firefox-esr".into()));
        assert_eq!(find(&machine, Family::Firefox).unwrap().path, esr);

        // Set to nothing real: an error, never a quiet fallback.
        machine.env.retain(|(key, _)| key != "CHROME");
        machine
            .env
            .push(("CHROME".into(), "/nowhere/chrome".into()));
        assert_eq!(
            find(&machine, Family::Chromium),
            Err(NotFound::BadVariable {
                variable: "CHROME",
                value: "/nowhere/chrome".to_owned()
            })
        );
    }

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
