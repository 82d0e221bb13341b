//! Browsers installed as a snap or a flatpak, which run in a sandbox that
//! sees only part of the host's files.
//!
//! The harness starts each browser on a fresh profile directory of its own
//! making: it writes Firefox's `user.js` there, and reads back the port
//! file Firefox's Marionette writes there. In the system's temp directory
//! that fails for a sandboxed browser: a snap and a flatpak each get a
//! private `/tmp`, so the browser would start on an empty profile the
//! harness never sees. Each sandbox has one place it always shares with the
//! host, at the same path on both sides, whatever the user has granted:
//!
//! - a snap, its own directory in the user's home: `~/snap/<name>/common`
//!   (`$SNAP_USER_COMMON` inside it);
//! - a flatpak, its own directory under `~/.var/app/<app id>/`, whose
//!   `cache` folder is its `$XDG_CACHE_HOME`.
//!
//! So a sandboxed browser's profiles go there ([`Sandbox::shared_dir`]).
//! Which browser is sandboxed is read from the path that runs it: a snap
//! runs from `/snap/bin` (or `/var/lib/snapd/snap/bin` where snapd is not
//! the distribution's own), a flatpak from its `exports/bin`; and Ubuntu's
//! `/usr/bin/firefox` and `/usr/bin/chromium-browser` are short scripts
//! that start the snap.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::Machine;

/// A browser's sandbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sandbox {
    /// A snap, by its name (`firefox`, `chromium`).
    Snap { name: String },
    /// A flatpak, by its application id (`org.mozilla.firefox`).
    Flatpak { app: String },
}

impl Sandbox {
    /// The directory the sandboxed browser reads and writes at the same path
    /// as the host; `None` without a home directory.
    pub fn shared_dir(&self, machine: &Machine) -> Option<PathBuf> {
        let home = machine.home()?;
        Some(match self {
            Sandbox::Snap { name } => home.join("snap").join(name).join("common"),
            Sandbox::Flatpak { app } => home.join(".var").join("app").join(app).join("cache"),
        })
    }

    /// How a message names it: "the snap `firefox`".
    pub fn describe(&self) -> String {
        match self {
            Sandbox::Snap { name } => format!("the snap `{name}`"),
            Sandbox::Flatpak { app } => format!("the flatpak `{app}`"),
        }
    }
}

/// The sandbox `program` runs its browser in, if any: judged by where it is,
/// where it links to, or (for a short script) which snap it starts.
pub fn sandbox(program: &Path) -> Option<Sandbox> {
    from_path(program)
        .or_else(|| fs::read_link(program).ok().and_then(|to| from_path(&to)))
        .or_else(|| from_script(program))
}

/// A snap's or a flatpak's own launcher, by the directory it is in.
fn from_path(program: &Path) -> Option<Sandbox> {
    let name = program.file_name()?.to_str()?;
    let dirs: Vec<&str> = program
        .parent()?
        .components()
        .rev()
        .take(3)
        .filter_map(|part| part.as_os_str().to_str())
        .collect();
    match dirs[..] {
        ["bin", "exports", "flatpak", ..] => Some(Sandbox::Flatpak {
            app: name.to_owned(),
        }),
        // `/snap/bin/chromium`; an app of a snap is `<snap>.<app>`.
        ["bin", "snap", ..] => Some(Sandbox::Snap {
            name: name.split('.').next()?.to_owned(),
        }),
        _ => None,
    }
}

/// The snap a short shell script starts (`exec /snap/bin/firefox "$@"`).
fn from_script(program: &Path) -> Option<Sandbox> {
    // A browser's real executable is megabytes of machine code; a wrapper
    // script is a few lines. Only the start of a file is read.
    let mut start = Vec::new();
    fs::File::open(program)
        .ok()?
        .take(16 * 1024)
        .read_to_end(&mut start)
        .ok()?;
    let text = String::from_utf8(start).ok()?;
    if !text.starts_with("#!") {
        return None;
    }
    let after = &text[text.find("/snap/bin/")? + "/snap/bin/".len()..];
    let name: String = after
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
        .collect();
    (!name.is_empty()).then_some(Sandbox::Snap { name })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Os;
    use crate::browsers::tests::layout;
    use crate::browsers::{Family, find};
    use crate::fake::Root;

    #[test]
    fn snaps_and_flatpaks_are_known_by_where_they_run_from() {
        let root = Root::new();
        let machine = layout(&root, Os::Linux);
        let cases = [
            (
                "snap/bin/chromium",
                Some(Sandbox::Snap {
                    name: "chromium".into(),
                }),
            ),
            (
                "snap/bin/firefox",
                Some(Sandbox::Snap {
                    name: "firefox".into(),
                }),
            ),
            (
                "var/lib/snapd/snap/bin/brave",
                Some(Sandbox::Snap {
                    name: "brave".into(),
                }),
            ),
            (
                "var/lib/flatpak/exports/bin/org.mozilla.firefox",
                Some(Sandbox::Flatpak {
                    app: "org.mozilla.firefox".into(),
                }),
            ),
            (
                "home/ada/.local/share/flatpak/exports/bin/com.google.Chrome",
                Some(Sandbox::Flatpak {
                    app: "com.google.Chrome".into(),
                }),
            ),
            ("usr/bin/chromium", None),
            ("opt/google/chrome/google-chrome", None),
            ("usr/lib/firefox-esr/firefox-esr", None),
        ];
        for (path, expected) in cases {
            let program = root.file(path, "\x7fELF");
            assert_eq!(sandbox(&program), expected, "{path}");
        }
        let firefox = Sandbox::Snap {
            name: "firefox".into(),
        };
        assert_eq!(
            firefox.shared_dir(&machine),
            Some(root.path().join("home/ada/snap/firefox/common"))
        );
        let chrome = Sandbox::Flatpak {
            app: "com.google.Chrome".into(),
        };
        assert_eq!(
            chrome.shared_dir(&machine),
            Some(
                root.path()
                    .join("home/ada/.var/app/com.google.Chrome/cache")
            )
        );
    }

    /// Ubuntu's `firefox` and `chromium-browser` packages put a script on
    /// `PATH` that starts the snap; it is found first, and is a snap.
    #[test]
    fn ubuntus_wrapper_scripts_are_their_snaps() {
        let root = Root::new();
        let machine = layout(&root, Os::Linux);
        root.file(
            "usr/bin/firefox",
            "#!/bin/sh\n# The firefox package now installs the snap.\nexec /snap/bin/firefox \"$@\"\n",
        );
        let found = find(&machine, Family::Firefox).unwrap();
        assert_eq!(
            sandbox(&found.path),
            Some(Sandbox::Snap {
                name: "firefox".into()
            })
        );
        root.file(
            "usr/bin/chromium-browser",
            "#!/bin/sh\nif [ -x /snap/bin/chromium ]; then\n  exec /snap/bin/chromium \"$@\"\nfi\n",
        );
        assert_eq!(
            sandbox(&root.path().join("usr/bin/chromium-browser")),
            Some(Sandbox::Snap {
                name: "chromium".into()
            })
        );
        // A script that starts something else is no sandbox.
        let own = root.file(
            "usr/local/bin/chrome",
            "#!/bin/sh\nexec /opt/chrome/chrome \"$@\"\n",
        );
        assert_eq!(sandbox(&own), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_snap_is_the_snap() {
        let root = Root::new();
        let snap = root.file("snap/bin/chromium", "");
        let link = root.path().join("chromium");
        std::os::unix::fs::symlink(&snap, &link).unwrap();
        assert_eq!(
            sandbox(&link),
            Some(Sandbox::Snap {
                name: "chromium".into()
            })
        );
    }
}
