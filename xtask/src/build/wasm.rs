//! The stage's library compiled to WebAssembly, once for each part (the page's
//! `.wasm` and the worker's), and wasm-bindgen's JavaScript glue for it: the
//! wasm target made sure of, `cargo build`, and the bindings generated.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, bail, ensure};

use crate::command::{cargo, run as run_command};
use crate::workspace::target_dir;

/// The target for code that runs in a browser: no operating system, the
/// browser's APIs reached through imported JavaScript functions.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// Makes sure rustup has the standard library for the wasm target, adding it
/// if it is missing, so that a fresh Rust install needs no set-up step.
pub fn ensure_wasm_target() -> anyhow::Result<()> {
    ensure_target(WASM_TARGET)
}

/// Makes sure rustup has the standard library for `target`, adding it if it
/// is missing (the wasm target for every build; the Windows and macOS ones
/// for `cargo xtask test`'s cross-target checks).
pub fn ensure_target(target: &str) -> anyhow::Result<()> {
    if target_installed(target)? {
        return Ok(());
    }
    println!("==> the {target} target is not installed; adding it with rustup");
    run_command(Command::new("rustup").args(["target", "add", target])).with_context(|| {
        format!("could not add the {target} target (are you online?); try `rustup target add {target}` yourself")
    })
}

/// Whether the active toolchain has the standard library for `target`:
/// rustup's list of installed targets, or, for a toolchain that rustup does
/// not manage (a Linux distribution's, say), its sysroot; an error when
/// neither can say and rustup is needed to add it.
pub fn target_installed(target: &str) -> anyhow::Result<bool> {
    let how_to = format!(
        "install Rust with rustup (https://rustup.rs), then run `rustup target add {target}`"
    );
    let output = match Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    {
        Ok(output) => output,
        // Without rustup the toolchain came from somewhere else (a Linux
        // distribution, say), which may still ship the target.
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            if sysroot_has_target(target) {
                return Ok(true);
            }
            bail!("rustup is not installed, so the {target} target cannot be added: {how_to}");
        }
        Err(error) => {
            return Err(error).context("cannot run `rustup target list --installed`");
        }
    };
    ensure!(
        output.status.success(),
        "`rustup target list --installed` failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let installed = String::from_utf8_lossy(&output.stdout);
    Ok(installed.lines().any(|line| line.trim() == target))
}

/// Whether the active toolchain has `target`'s standard library, found by
/// looking in its sysroot: the check for toolchains rustup does not manage.
pub(super) fn sysroot_has_target(target: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Ok(output) = Command::new(rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = String::from_utf8_lossy(&output.stdout);
    Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(target)
        .is_dir()
}

/// What a site is built from: a stage crate, named by its package in the
/// workspace `manifest`. (The trail test builds a copy of the starter from
/// a workspace of its own.)
pub struct SiteSource<'a> {
    /// The site's name: it is built into `target/site/<name>/`.
    pub name: &'a str,
    pub manifest: PathBuf,
    pub package: &'a str,
    pub lib_name: &'a str,
    pub static_dir: PathBuf,
}

/// The stage crate's features that each make one `.wasm`: `page` and
/// `worker` (its default features are both, for the editor and clippy).
pub const WASM_PARTS: [&str; 2] = ["page", "worker"];

/// The cargo profile both `.wasm` files are built in (see the workspace's
/// `Cargo.toml`).
pub(super) const WASM_PROFILE: &str = "wasm";

/// Both `.wasm` files are built in one profile, to one file name: another
/// xtask (a `check` beside a `serve --watch`) building the other part between
/// our build and our reading of the file would hand us its `.wasm`. So each
/// build and the reading of its file (and of its dep-info) happen under this
/// lock, released when the file is dropped.
pub(super) fn lock_wasm_builds() -> anyhow::Result<fs::File> {
    let dir = wasm_target_dir();
    let path = dir.join(".xtask-wasm.lock");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    file.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    Ok(file)
}

/// Where cargo compiles the wasm: a target directory of its own, inside
/// ours. Cargo locks a target directory for the whole of a build, so in one
/// directory the server's build would wait for the wasm's; apart, `serve`
/// runs both at once, and on 2 cores the wasm's mostly serial chain
/// (proc macros, js-sys, web-sys, then the LTO) overlaps the server's.
pub(super) fn wasm_target_dir() -> PathBuf {
    target_dir().join("wasm")
}

/// How a part's `.wasm` is compiled: for the smallest file, or for the
/// quickest build.
///
/// Cargo does not LTO a library that is also an rlib (rust-lang/cargo#9672),
/// and the stage's library is both (the server links it as an rlib). Built
/// alone as a cdylib, the wasm profile's `lto` applies, and the link-time
/// optimisation across crates lets the linker drop the parts of
/// wasm-bindgen, js-sys and std we never call: the worker's `.wasm` 41,365 →
/// 36,919 B gzip. That link costs ~1.2 s of CPU a part, which a student pays
/// at every save under `serve --watch` and at every `check`: there the inner loop's speed matters
/// more than the size of a site only their own browser loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WasmBuild {
    /// As the site is shipped and measured (`build`, `serve`, `bench`, and
    /// `serve --watch`'s first build): `cargo rustc --crate-type cdylib`,
    /// with LTO.
    Shipped,
    /// `serve --watch`'s rebuilds after a save, and `check`'s builds (a
    /// verdict does not depend on how the code was optimised): `cargo
    /// rustc` of the library as cdylib and rlib, so without LTO, and its
    /// own code compiled as a dev build would be, unoptimised, in 16 units,
    /// incrementally (`-C opt-level=0 -C codegen-units=16 -C incremental`).
    /// Its dependencies are the very files the shipped build compiled: only
    /// the library is compiled again, as it is after every save anyway. A
    /// save of `page.rs` (an exported function added, then removed) costs
    /// the page's compile 1.7 s of CPU at `opt-level = "z"` in one unit,
    /// 1.1 s unoptimised, 0.73 s unoptimised and incremental; the `.wasm`
    /// cargo makes grows 1.17 → 1.41 MB, which only this machine loads.
    Quick,
}

/// Compiles the stage's library for the browser with only the feature
/// `part`, in the profile [`WASM_PROFILE`], as `how` says, and returns where
/// the `.wasm` is (until the other part is built: see [`lock_wasm_builds`]).
pub(super) fn build_wasm(
    source: &SiteSource,
    part: &str,
    how: WasmBuild,
) -> anyhow::Result<PathBuf> {
    let mut command = cargo();
    // `cargo rustc`: for the shipped build, to build the library as a
    // cdylib alone; for the quick one, to hand flags to the library's
    // compile alone (see [`WasmBuild`]).
    command
        .arg("rustc")
        .arg("--manifest-path")
        .arg(&source.manifest)
        // Always ours, also for a manifest elsewhere.
        .env("CARGO_TARGET_DIR", wasm_target_dir())
        // Its progress bar would fight the server's build for the line.
        .env("CARGO_TERM_PROGRESS_WHEN", "never")
        .args([
            "--target",
            WASM_TARGET,
            "--profile",
            WASM_PROFILE,
            "-p",
            source.package,
            "--lib",
            "--no-default-features",
            "--features",
            part,
        ]);
    match how {
        WasmBuild::Shipped => {
            command.args(["--crate-type", "cdylib"]);
        }
        WasmBuild::Quick => {
            // After the profile's own flags, so these win; for this crate
            // only, whose dependencies stay as the shipped build compiled
            // them. Each part keeps its own incremental state: the two are
            // compiled with different features, and one's would be of
            // little use to the other.
            let incremental = wasm_target_dir()
                .join(WASM_TARGET)
                .join(WASM_PROFILE)
                .join("incremental-quick")
                .join(format!("{}-{part}", source.lib_name));
            command
                .args(["--", "-C", "opt-level=0", "-C", "codegen-units=16", "-C"])
                .arg(format!("incremental={}", incremental.display()));
        }
    }
    run_command(&mut command)?;
    let built = wasm_target_dir()
        .join(WASM_TARGET)
        .join(WASM_PROFILE)
        .join(format!("{}.wasm", source.lib_name));
    ensure!(
        built.is_file(),
        "cargo did not produce {}; is the library a `cdylib`?",
        built.display()
    );
    Ok(built)
}

/// Runs wasm-bindgen, as a library: it reads the `.wasm` cargo made, and
/// writes `<part>.js` (the glue) and `<part>_bg.wasm` (the module, rewritten
/// to import that glue) into `out`. (From bytes, the name given with them is
/// the output's name.)
///
/// `no_modules` makes the glue a classic script that defines one global,
/// `wasm_bindgen`, rather than an ES module. A service worker can load a
/// classic script with `importScripts()` in every browser, while module
/// workers are not supported everywhere yet; the page uses the same file.
///
/// The same `.wasm` always gives the same glue and module, so this process
/// keeps what it generated and writes it again when it is given the very
/// same bytes: under `serve --watch`, a save of `page.rs` leaves the worker's
/// `.wasm` as it was (see `reuse.rs`), and its bindings then cost nothing
/// (xtask's own CPU a save of `page.rs` 0.34-0.37 → 0.29-0.32 s, measured
/// with the quick build below on 2 busy cores).
pub(super) fn bindgen(wasm: Vec<u8>, part: &str, out: &Path) -> anyhow::Result<()> {
    let files = [format!("{part}.js"), format!("{part}_bg.wasm")];
    if let Some(generated) = generated_before(part, &wasm) {
        fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        for (name, bytes) in files.iter().zip(generated) {
            let path = out.join(name);
            fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
        }
        return Ok(());
    }
    generate_bindings(wasm.clone(), part, out)?;
    let generated = files
        .iter()
        .map(|name| {
            let path = out.join(name);
            fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut cache = GENERATED.lock().unwrap_or_else(PoisonError::into_inner);
    cache.retain(|bindings| bindings.part != part);
    cache.push(Bindings {
        part: part.to_owned(),
        wasm,
        generated,
    });
    Ok(())
}

/// What wasm-bindgen made of one part's `.wasm` in this process: the glue
/// and the module, in that order.
struct Bindings {
    part: String,
    wasm: Vec<u8>,
    generated: Vec<Vec<u8>>,
}

/// The last bindings generated for each part (only a long-running process,
/// `serve --watch` or `check --watch`, asks twice).
static GENERATED: Mutex<Vec<Bindings>> = Mutex::new(Vec::new());

/// The glue and module generated before for `part` from these very bytes.
fn generated_before(part: &str, wasm: &[u8]) -> Option<Vec<Vec<u8>>> {
    let cache = GENERATED.lock().unwrap_or_else(PoisonError::into_inner);
    cache
        .iter()
        .find(|bindings| bindings.part == part && bindings.wasm == wasm)
        .map(|bindings| bindings.generated.clone())
}

fn generate_bindings(wasm: Vec<u8>, part: &str, out: &Path) -> anyhow::Result<()> {
    let mut output = wasm_bindgen_cli_support::Bindgen::new()
        .input_bytes(part, wasm)
        .no_modules(true)?
        .typescript(false)
        // Function names help only a debugger, and are half the file.
        .remove_name_section(true)
        .remove_producers_section(true)
        .generate_output()
        .with_context(|| format!("wasm-bindgen could not process the {part}'s .wasm"))?;
    // The features rustc compiled for: read by wasm-bindgen above, never by
    // a browser.
    output.wasm_mut().customs.remove_raw("target_features");
    output
        .emit(out)
        .with_context(|| format!("cannot write {part}'s wasm and glue to {}", out.display()))
}
