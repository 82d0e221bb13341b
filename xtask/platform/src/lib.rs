//! What a student's machine has: its browsers, its C compiler, its OpenSSL
//! (or what builds one), and for whatever is missing, the one line that
//! installs it on *that* system.
//!
//! A workshop room is mostly macOS and Windows laptops, with a few Linux
//! ones of every distribution. Each system keeps things in its own places,
//! so those places are data, one table per system ([`browsers`]), and every
//! search takes a [`Machine`]: which system it is, where its file system
//! starts and what its environment says. The real one is
//! [`Machine::this`]; the tests build a fake one per system in a temporary
//! directory, so that the macOS and Windows layouts are tested on the Linux
//! machine CI runs on.
//!
//! - [`browsers`]: where each system keeps Chrome, Chromium, Edge, Brave and
//!   Firefox, which version one is, the oldest the lesson's checks can
//!   drive, and how to install one.
//! - [`linux`]: which distribution this is (`/etc/os-release`) and so which
//!   package manager installs things.
//! - [`openssl`]: how the servers get the OpenSSL their Web Push encryption
//!   links: an installed one, or one built from source, and what that needs.
//! - [`tools`]: the C compiler, and running a program briefly for its answer.
//!
//! `cargo xtask doctor` turns these into its lines; the harness uses the
//! browser search. Only the standard library: `doctor` is the first command
//! a student runs, and this crate must not slow its build.

pub mod browsers;
pub mod linux;
pub mod openssl;
pub mod tools;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The systems a student's laptop runs. Any other Unix is searched as Linux
/// is (`PATH` and the usual directories).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    /// The system this program was built for.
    pub fn this() -> Os {
        if cfg!(windows) {
            Os::Windows
        } else if cfg!(target_os = "macos") {
            Os::MacOs
        } else {
            Os::Linux
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::MacOs => "macOS",
            Os::Windows => "Windows",
        }
    }

    /// What separates the directories in `PATH`: `;` on Windows, where a
    /// directory itself has a `:` (`C:\...`).
    fn path_separator(self) -> char {
        match self {
            Os::Windows => ';',
            Os::Linux | Os::MacOs => ':',
        }
    }

    /// A program's file name: `chrome.exe` on Windows, `chromium` elsewhere.
    pub fn program(self, name: &str) -> String {
        match self {
            Os::Windows if Path::new(name).extension().is_none() => format!("{name}.exe"),
            _ => name.to_owned(),
        }
    }
}

/// A machine as the searches see it: its system, where its file system
/// starts, and its environment.
#[derive(Clone, Debug)]
pub struct Machine {
    pub os: Os,
    /// `/` on macOS and Linux, the system drive (`C:\`) on Windows; a
    /// temporary directory in the tests. The fixed places (`/Applications`,
    /// `/snap/bin`, `C:\Strawberry`) are found under it.
    pub root: PathBuf,
    /// The environment variables. On Windows their names are matched
    /// without regard to case, as Windows does (`Path`, `LOCALAPPDATA`).
    pub env: Vec<(OsString, OsString)>,
}

impl Machine {
    /// The machine this program runs on.
    pub fn this() -> Machine {
        let os = Os::this();
        let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
        let root = match os {
            Os::Windows => {
                let drive = std::env::var("SystemDrive").unwrap_or_else(|_| "C:".to_owned());
                PathBuf::from(format!("{drive}\\"))
            }
            Os::Linux | Os::MacOs => PathBuf::from("/"),
        };
        Machine { os, root, env }
    }

    /// An environment variable, `None` when it is unset or empty.
    pub fn var(&self, name: &str) -> Option<&OsStr> {
        let same = |key: &OsStr| match self.os {
            Os::Windows => key
                .to_str()
                .is_some_and(|key| key.eq_ignore_ascii_case(name)),
            Os::Linux | Os::MacOs => key == name,
        };
        self.env
            .iter()
            .find(|(key, _)| same(key))
            .map(|(_, value)| value.as_os_str())
            .filter(|value| !value.is_empty())
    }

    /// A fixed place on this machine, written with `/` whatever the system:
    /// `at("Applications")` is `/Applications`, `at("Strawberry/perl/bin")`
    /// is `C:\Strawberry\perl\bin`.
    pub fn at(&self, relative: &str) -> PathBuf {
        join(&self.root, relative)
    }

    /// The user's home directory: `HOME`, or on Windows `USERPROFILE`.
    pub fn home(&self) -> Option<PathBuf> {
        let name = match self.os {
            Os::Windows => "USERPROFILE",
            Os::Linux | Os::MacOs => "HOME",
        };
        self.var(name).map(PathBuf::from)
    }

    /// The directories of `PATH`, in order.
    pub fn path_dirs(&self) -> Vec<PathBuf> {
        let Some(path) = self.var("PATH") else {
            return Vec::new();
        };
        path.to_string_lossy()
            .split(self.os.path_separator())
            .map(|dir| dir.trim().trim_matches('"'))
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
            .collect()
    }

    /// The first file called `name` (`name.exe` on Windows) in a directory
    /// of `PATH`; or `name` itself when it is a path to a file.
    pub fn find_program(&self, name: &str) -> Option<PathBuf> {
        let given = Path::new(name);
        if given.components().count() > 1 {
            return given.is_file().then(|| given.to_owned());
        }
        let file = self.os.program(name);
        self.path_dirs()
            .into_iter()
            .map(|dir| dir.join(&file))
            .find(|candidate| candidate.is_file())
    }
}

/// `base` joined with a relative path written with `/`, one component at a
/// time, so that the same table reads right on every system.
pub fn join(base: &Path, relative: &str) -> PathBuf {
    let mut path = base.to_owned();
    path.extend(relative.split('/').filter(|part| !part.is_empty()));
    path
}

/// A line that is wrong (✗) or right (✓), and what it says. `doctor` prints
/// these and sends them to the room as `{check, ok, detail}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// What was checked: "Rust", "C compiler", "Chromium-family browser"...
    pub check: String,
    pub ok: bool,
    /// What was found; when not ok, why, then the one thing to do about it.
    pub detail: String,
}

impl Line {
    pub fn ok(check: &str, detail: impl Into<String>) -> Line {
        Line {
            check: check.to_owned(),
            ok: true,
            detail: detail.into(),
        }
    }

    pub fn wrong(check: &str, detail: impl Into<String>) -> Line {
        Line {
            check: check.to_owned(),
            ok: false,
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake machine in a temporary directory, for the tests of every
    //! system's layout.

    use std::ffi::OsString;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::{Machine, Os};

    /// A directory under the system's temp dir, removed on drop.
    pub struct Root(PathBuf);

    impl Root {
        pub fn new() -> Root {
            static COUNTER: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "platform-test-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).unwrap();
            Root(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }

        /// Creates a file (and its directories) at a `/`-separated path
        /// under the root, and returns its full path.
        pub fn file(&self, relative: &str, contents: &str) -> PathBuf {
            let path = super::join(&self.0, relative);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, contents).unwrap();
            path
        }

        /// A machine of this system on this root, with this environment;
        /// values may say `{root}` for the root's path.
        pub fn machine(&self, os: Os, env: &[(&str, &str)]) -> Machine {
            let root = self.0.to_string_lossy();
            Machine {
                os,
                root: self.0.clone(),
                env: env
                    .iter()
                    .map(|(key, value)| {
                        (
                            OsString::from(key),
                            OsString::from(value.replace("{root}", &root)),
                        )
                    })
                    .collect(),
            }
        }
    }

    #[cfg(unix)]
    pub fn make_executable(path: &Path) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_names_its_variables_in_any_case_and_its_programs_with_exe() {
        let root = fake::Root::new();
        let windows = root.machine(
            Os::Windows,
            &[("Path", "{root}/bin;{root}/other"), ("LOCALAPPDATA", "x")],
        );
        assert_eq!(
            windows.var("PATH").unwrap(),
            "{root}/bin;{root}/other"
                .replace("{root}", &root.path().to_string_lossy())
                .as_str()
        );
        assert_eq!(windows.var("LocalAppData").unwrap(), "x");
        assert_eq!(windows.path_dirs().len(), 2);
        let chrome = root.file("other/chrome.exe", "");
        assert_eq!(windows.find_program("chrome"), Some(chrome));

        let linux = root.machine(Os::Linux, &[("Path", "{root}/bin"), ("HOME", "")]);
        assert_eq!(linux.var("PATH"), None, "Linux's names are case-sensitive");
        assert_eq!(linux.home(), None, "an empty variable is an unset one");
    }

    #[test]
    fn a_path_splits_on_the_systems_own_separator() {
        let root = fake::Root::new();
        let linux = root.machine(Os::Linux, &[("PATH", "/usr/bin:/bin::")]);
        assert_eq!(
            linux.path_dirs(),
            [PathBuf::from("/usr/bin"), PathBuf::from("/bin")]
        );
        let windows = root.machine(Os::Windows, &[("PATH", r#"C:\bin;"C:\Program Files\x";"#)]);
        assert_eq!(
            windows.path_dirs(),
            [
                PathBuf::from(r"C:\bin"),
                PathBuf::from(r"C:\Program Files\x")
            ]
        );
    }
}
