//! The search for a browser on a machine: the one `CHROME` / `FIREFOX`
//! names, else the first of the system's places that has it.

use std::path::PathBuf;

use super::family::{Family, Product};
use super::places::{Base, Location, places};
use crate::Machine;

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

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::Os;
    use crate::browsers::Place;
    use crate::browsers::Product::{Brave, Chrome, Chromium, Edge, Firefox, FirefoxEsr};
    use crate::browsers::tests::layout;
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
}
