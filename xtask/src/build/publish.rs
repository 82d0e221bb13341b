//! The new site swapped in where the old one was, so that a server running
//! from it never serves half of one build and half of another, and the
//! build id written last.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, SystemTime};

use anyhow::Context;

/// The file in the site that holds the build id. The server's live-reload
/// long poll (`/__dev/reload`) watches it, so it must change only when a
/// whole new site is in place.
pub const BUILD_ID_FILE: &str = "build-id";

/// A staging directory that deletes itself unless it was swapped in, so a
/// failed build leaves nothing behind.
pub(super) struct Staging(pub(super) PathBuf);

impl Staging {
    pub(super) fn create(path: PathBuf) -> anyhow::Result<Self> {
        // Left over from a build that was interrupted at this very spot.
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Staging(path))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // After a successful swap there is nothing here any more.
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Removes staging and old directories that an interrupted build (Ctrl-C
/// in `serve --watch`, say) left next to the site. Only old ones: a fresh
/// one may belong to a build that is running right now in another terminal.
pub(super) fn remove_leftovers(sites: &Path, name: &str) {
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(sites) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .is_some_and(|age| age > Duration::from_secs(600));
        if stale && entry.file_name().to_string_lossy().starts_with(&prefix) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// Puts `staging` where `site` is, moving the old site out of the way to
/// `old` and deleting it.
///
/// A rename within one directory is atomic, but no portable call swaps two
/// directories at once, so for a moment there is no site at all: a request
/// in that instant gets a 404, never a mix of two builds.
pub(super) fn swap_in(staging: &Path, site: &Path, old: &Path) -> anyhow::Result<()> {
    // Windows refuses to rename a directory while a file in it is open — the
    // server may be sending one — so try again for a moment.
    let mut attempts = 0;
    loop {
        match fs::rename(site, old) {
            Ok(()) => break,
            Err(error) if error.kind() == io::ErrorKind::NotFound => break,
            Err(_) if attempts < 20 => {
                attempts += 1;
                thread::sleep(Duration::from_millis(100));
            }
            Err(error) => {
                return Err(error).with_context(|| {
                    format!(
                        "cannot move {} out of the way; is a file in it open?",
                        site.display()
                    )
                });
            }
        }
    }
    fs::rename(staging, site)
        .with_context(|| format!("cannot rename {} to {}", staging.display(), site.display()))?;
    let _ = fs::remove_dir_all(old);
    Ok(())
}

/// Writes the build id into the site: to a temporary file first, renamed
/// into place, so the server never reads half an id.
pub(super) fn write_build_id(site: &Path, build_id: &str) -> anyhow::Result<()> {
    let temporary = site.join(format!(".{BUILD_ID_FILE}.tmp"));
    let file = site.join(BUILD_ID_FILE);
    fs::write(&temporary, build_id)
        .and_then(|()| fs::rename(&temporary, &file))
        .with_context(|| format!("cannot write {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::super::assemble::list_files;
    use crate::build::tests::TempDir;

    use super::*;

    #[test]
    fn swapping_replaces_the_whole_site() {
        let sites = TempDir::new();
        sites.write("site/stale.txt", "deleted from static/ since");
        sites.write("site/build-id", "old");
        sites.write("new/index.html", "new");
        let (site, old) = (sites.0.join("site"), sites.0.join("old"));
        swap_in(&sites.0.join("new"), &site, &old).unwrap();
        write_build_id(&site, "0123").unwrap();
        assert_eq!(
            list_files(&sites.0).unwrap(),
            [Path::new("site/build-id"), Path::new("site/index.html")]
        );
        assert_eq!(sites.read("site/build-id"), "0123");

        // The very first build has no old site to move away.
        sites.write("newer/index.html", "newer");
        fs::remove_dir_all(&site).unwrap();
        swap_in(&sites.0.join("newer"), &site, &old).unwrap();
        assert_eq!(sites.read("site/index.html"), "newer");
    }
}
