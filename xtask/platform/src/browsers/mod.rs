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
//!
//! In `family.rs`, the two families and the products of each; in
//! `places.rs`, the tables of where each system keeps them; in `find.rs`,
//! the search, `CHROME` / `FIREFOX` first; in `version.rs`, which version a
//! browser found is, read without opening a window; in `install.rs`, the
//! line that installs one.

mod family;
mod find;
mod install;
mod places;
mod version;

pub use family::{Family, Product};
pub use find::{Found, NotFound, find};
pub use install::install_line;
pub use places::{Base, Location, Place, places};
pub use version::{Version, version};

#[cfg(test)]
mod tests {
    use crate::fake::Root;
    use crate::{Machine, Os};

    /// A fake machine of each system, with its variables pointing into
    /// the fake root, as a real one's point into its disk.
    pub(super) fn layout(root: &Root, os: Os) -> Machine {
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
}
