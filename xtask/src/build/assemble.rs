//! The site put together: the static files beside wasm-bindgen's output, the
//! worker's glue and `.wasm` moved into `sw.js`, and the build id (a hash of
//! every file) stamped in.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use base64ct::{Base64, Encoding as _};

/// The text in `sw.js` that becomes the build id.
pub const BUILD_ID_PLACEHOLDER: &str = "%BUILD_ID%";

/// The text in `sw.js` that becomes the worker's `.wasm`, in base64.
const WORKER_WASM_PLACEHOLDER: &str = "%WORKER_WASM%";

/// The line in `sw.js` that becomes the worker's wasm-bindgen glue.
const WORKER_GLUE_PLACEHOLDER: &str = "// %WORKER_GLUE%";

/// Copies the static files next to the generated ones, puts the worker's
/// glue and `.wasm` into `sw.js`, works out the build id from everything,
/// stamps it into `sw.js`, and returns it.
pub(super) fn assemble(static_dir: &Path, site: &Path) -> anyhow::Result<String> {
    ensure!(
        static_dir.is_dir(),
        "{} is missing: a stage needs its static files (index.html, sw.js, ...)",
        static_dir.display()
    );
    copy_dir(static_dir, site)?;
    inline_worker(site)?;
    let build_id = hash_dir(site)?;
    let sw = site.join("sw.js");
    if sw.is_file() {
        let text =
            fs::read_to_string(&sw).with_context(|| format!("cannot read {}", sw.display()))?;
        fs::write(&sw, stamp(&text, &build_id))
            .with_context(|| format!("cannot write {}", sw.display()))?;
    }
    Ok(build_id)
}

/// Moves the worker's wasm-bindgen output, `pkg/worker.js` and
/// `pkg/worker_bg.wasm`, into `sw.js`, in place of its two placeholders.
///
/// Why one script: the browser keeps a service worker's scripts with its
/// registration and hands them to every fresh start of the worker — and a
/// worker is started for each event that finds it stopped (a push, a sync, a
/// message). Everything else it needs is one more round trip first: a second
/// script, the `.wasm` from Cache Storage. Inside `sw.js` the module is there
/// at once, and its compilation overlaps the glue's evaluation. The price is
/// base64 (a third larger) in the download of each new build; the benchmark
/// (`cargo xtask bench worker`) reports both.
///
/// A site without the worker's bindings (a test's) is left as it is.
pub(super) fn inline_worker(site: &Path) -> anyhow::Result<()> {
    let glue_path = site.join("pkg/worker.js");
    let wasm_path = site.join("pkg/worker_bg.wasm");
    if !glue_path.is_file() {
        return Ok(());
    }
    let sw = site.join("sw.js");
    ensure!(
        sw.is_file(),
        "the stage has no static/sw.js, and the worker's wasm goes into it"
    );
    let shim = fs::read_to_string(&sw).with_context(|| format!("cannot read {}", sw.display()))?;
    let glue = fs::read_to_string(&glue_path)
        .with_context(|| format!("cannot read {}", glue_path.display()))?;
    let wasm =
        fs::read(&wasm_path).with_context(|| format!("cannot read {}", wasm_path.display()))?;
    fs::write(&sw, with_worker(&shim, &glue, &wasm)?)
        .with_context(|| format!("cannot write {}", sw.display()))?;
    // Now in sw.js: nothing loads them any more.
    for path in [glue_path, wasm_path] {
        fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

/// `shim` with the worker's module (base64) and glue in place of their
/// placeholders, each of which must be there exactly once.
pub(super) fn with_worker(shim: &str, glue: &str, wasm: &[u8]) -> anyhow::Result<String> {
    for (placeholder, what) in [
        (
            WORKER_WASM_PLACEHOLDER,
            "the worker's .wasm (base64, in a comment)",
        ),
        (
            WORKER_GLUE_PLACEHOLDER,
            "the worker's glue (a line of its own)",
        ),
    ] {
        let found = shim.matches(placeholder).count();
        ensure!(
            found == 1,
            "sw.js must have `{placeholder}` exactly once, where {what} goes; it has it {found} times"
        );
    }
    Ok(shim
        .replace(WORKER_WASM_PLACEHOLDER, &Base64::encode_string(wasm))
        .replace(WORKER_GLUE_PLACEHOLDER, glue.trim_end()))
}

/// Replaces every build id placeholder in `text` with `build_id`.
pub(super) fn stamp(text: &str, build_id: &str) -> String {
    text.replace(BUILD_ID_PLACEHOLDER, build_id)
}

/// Every file under `dir`, as paths relative to it, sorted, so that
/// whatever walks them does so in the same order on every machine.
pub(super) fn list_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(root: &Path, relative: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let dir = root.join(relative);
        let entries =
            fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
            let path = relative.join(entry.file_name());
            // `metadata` follows symbolic links, so a linked file is copied
            // as the file it points to.
            if fs::metadata(entry.path())?.is_dir() {
                walk(root, &path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(dir, Path::new(""), &mut files)?;
    files.sort();
    Ok(files)
}

/// Copies every file under `from` into `to`, keeping the directory layout.
/// A file that is already there is an error: a static file must not
/// silently replace one that wasm-bindgen generated (or the other way).
pub(super) fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    for file in list_files(from)? {
        let source = from.join(&file);
        let target = to.join(&file);
        ensure!(
            !target.exists(),
            "{} would overwrite a generated file; rename it",
            source.display()
        );
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::copy(&source, &target)
            .with_context(|| format!("cannot copy {} to {}", source.display(), target.display()))?;
    }
    Ok(())
}

/// The build id: a hash of every file in the site, names and contents, as
/// 16 hex digits. The same files always give the same id, so rebuilding
/// without a change does not make browsers reinstall the worker.
pub(super) fn hash_dir(dir: &Path) -> anyhow::Result<String> {
    let mut hash = Fnv1a64::new();
    for file in list_files(dir)? {
        let path = dir.join(&file);
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        // The name with `/` on every platform, then a byte no name contains,
        // then the length: so that no two different sets of files can feed
        // the hash the same bytes just by moving data between name and
        // contents, or between one file and the next.
        let name = file
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        hash.write(name.as_bytes());
        hash.write(&[0]);
        hash.write(&(bytes.len() as u64).to_le_bytes());
        hash.write(&bytes);
    }
    Ok(format!("{:016x}", hash.finish()))
}

/// The 64-bit FNV-1a hash (<http://www.isthe.com/chongo/tech/comp/fnv/>).
///
/// Written out here rather than using std's `DefaultHasher`, whose output
/// may change between Rust releases: a build id must not change just
/// because someone updated Rust. FNV is not cryptographic, which is fine —
/// the id only has to change when the files do.
pub struct Fnv1a64(u64);

impl Fnv1a64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;

    pub fn new() -> Self {
        Fnv1a64(Self::OFFSET_BASIS)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use crate::build::tests::TempDir;

    use super::*;

    fn fnv(bytes: &[u8]) -> u64 {
        let mut hash = Fnv1a64::new();
        hash.write(bytes);
        hash.finish()
    }

    #[test]
    fn fnv1a64_matches_the_reference_values() {
        // From the FNV reference test suite.
        assert_eq!(fnv(b""), 0xcbf29ce484222325);
        assert_eq!(fnv(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn fnv1a64_can_be_fed_in_pieces() {
        let mut hash = Fnv1a64::new();
        hash.write(b"foo");
        hash.write(b"bar");
        assert_eq!(hash.finish(), fnv(b"foobar"));
    }

    #[test]
    fn stamping_replaces_every_placeholder() {
        let sw = "const CACHE = 'news-%BUILD_ID%';\n// build %BUILD_ID%\n";
        assert_eq!(
            stamp(sw, "0123abcd"),
            "const CACHE = 'news-0123abcd';\n// build 0123abcd\n"
        );
        assert_eq!(stamp("no placeholder", "x"), "no placeholder");
    }

    #[test]
    fn copying_keeps_every_file_and_the_layout() {
        let from = TempDir::new();
        from.write("index.html", "<!doctype html>");
        from.write("icons/192.png", "png");
        from.write("icons/deep/er.svg", "<svg/>");
        let to = TempDir::new();
        copy_dir(&from.0, &to.0).unwrap();
        assert_eq!(
            list_files(&to.0).unwrap(),
            [
                Path::new("icons/192.png"),
                Path::new("icons/deep/er.svg"),
                Path::new("index.html")
            ]
        );
        assert_eq!(to.read("icons/deep/er.svg"), "<svg/>");
    }

    #[test]
    fn copying_never_overwrites_a_generated_file() {
        let from = TempDir::new();
        from.write("pkg/app.js", "// hand-written");
        let to = TempDir::new();
        to.write("pkg/app.js", "// generated");
        let error = copy_dir(&from.0, &to.0).unwrap_err();
        assert!(error.to_string().contains("overwrite"), "{error}");
        assert_eq!(to.read("pkg/app.js"), "// generated");
    }

    #[test]
    fn the_build_id_depends_on_names_and_contents_only() {
        let a = TempDir::new();
        a.write("sw.js", "worker");
        a.write("pkg/app.js", "glue");
        let id = hash_dir(&a.0).unwrap();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));

        // The same files elsewhere, written in another order: the same id.
        let b = TempDir::new();
        b.write("pkg/app.js", "glue");
        b.write("sw.js", "worker");
        assert_eq!(hash_dir(&b.0).unwrap(), id);

        // One byte more, or a renamed file: another id.
        b.write("sw.js", "worker!");
        assert_ne!(hash_dir(&b.0).unwrap(), id);
        let c = TempDir::new();
        c.write("sw2.js", "worker");
        c.write("pkg/app.js", "glue");
        assert_ne!(hash_dir(&c.0).unwrap(), id);
    }

    #[test]
    fn assembling_stamps_the_worker_with_the_build_id() {
        let static_dir = TempDir::new();
        static_dir.write("index.html", "<script src=page.js></script>");
        static_dir.write("sw.js", "self.BUILD = '%BUILD_ID%';");
        let site = TempDir::new();
        site.write("pkg/app.js", "glue");
        let id = assemble(&static_dir.0, &site.0).unwrap();
        assert_eq!(site.read("sw.js"), format!("self.BUILD = '{id}';"));
        assert_eq!(site.read("index.html"), "<script src=page.js></script>");

        // The id is the hash of the files as they were before stamping, so
        // the same sources always give the same id.
        let again = TempDir::new();
        again.write("pkg/app.js", "glue");
        assert_eq!(assemble(&static_dir.0, &again.0).unwrap(), id);
    }

    #[test]
    fn assembling_puts_the_worker_into_its_script() {
        let static_dir = TempDir::new();
        static_dir.write(
            "sw.js",
            "const BUILD = '%BUILD_ID%';\nfunction wasm() {/*%WORKER_WASM%*/}\n// %WORKER_GLUE%\nstart();\n",
        );
        let site = TempDir::new();
        site.write("pkg/worker.js", "let wasm_bindgen = 1;\n");
        // Bytes that are not text, and that base64 must pad.
        fs::write(site.0.join("pkg/worker_bg.wasm"), b"\0asm\x01\0\0\0\xff\0").unwrap();
        site.write("pkg/page.js", "page glue");

        let id = assemble(&static_dir.0, &site.0).unwrap();
        assert_eq!(
            site.read("sw.js"),
            format!(
                "const BUILD = '{id}';\nfunction wasm() {{/*AGFzbQEAAAD/AA==*/}}\nlet wasm_bindgen = 1;\nstart();\n"
            )
        );
        // Inside sw.js now, and nothing else loads them.
        assert!(!site.0.join("pkg/worker.js").exists());
        assert!(!site.0.join("pkg/worker_bg.wasm").exists());
        assert_eq!(site.read("pkg/page.js"), "page glue");
    }

    #[test]
    fn a_worker_script_without_its_placeholders_is_refused() {
        for (shim, missing) in [
            ("// %WORKER_GLUE%\n", "%WORKER_WASM%"),
            ("function wasm() {/*%WORKER_WASM%*/}\n", "// %WORKER_GLUE%"),
        ] {
            let error = with_worker(shim, "glue", b"wasm").unwrap_err().to_string();
            assert!(error.contains(missing), "{error}");
            assert!(error.contains("0 times"), "{error}");
        }
        let twice = "/*%WORKER_WASM%*/ /*%WORKER_WASM%*/\n// %WORKER_GLUE%\n";
        let error = with_worker(twice, "glue", b"wasm").unwrap_err().to_string();
        assert!(error.contains("2 times"), "{error}");
    }

    #[test]
    fn a_missing_worker_script_is_named() {
        let static_dir = TempDir::new();
        static_dir.write("index.html", "");
        let site = TempDir::new();
        site.write("pkg/worker.js", "glue");
        site.write("pkg/worker_bg.wasm", "wasm");
        let error = assemble(&static_dir.0, &site.0).unwrap_err().to_string();
        assert!(error.contains("static/sw.js"), "{error}");
    }

    #[test]
    fn a_missing_static_dir_is_named() {
        let site = TempDir::new();
        let error = assemble(&site.0.join("static"), &site.0).unwrap_err();
        assert!(error.to_string().contains("static"), "{error}");
    }
}
