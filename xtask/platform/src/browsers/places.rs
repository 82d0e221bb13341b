//! Where each system keeps the browsers: one table per system and family,
//! best first, as data.

use super::family::{Family, Product};
use crate::Os;

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
