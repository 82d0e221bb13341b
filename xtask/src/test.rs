//! `cargo xtask test`: every check the project has, in one command.
//!
//! The steps run in order, cheapest first, so a formatting slip fails in a
//! second rather than after a full build; the first failure stops the run
//! and names its step and the fix. CI runs exactly this (see `.ci/run`), so
//! a green run here means a green CI.

use std::time::Instant;

use platform::linux::{Distro, PackageManager};
use platform::{Machine, Os};

use crate::bench;
use crate::book;
use crate::build::{self, WASM_TARGET};
use crate::check::{self, Browser, CheckArgs};
use crate::command::{cargo, openssl_features, run as run_command};
use crate::copied;
use crate::demo;
use crate::room;
use crate::trail;
use lesson::Stage;

/// One step of the test suite.
struct Step {
    /// What the progress line says.
    what: String,
    /// What to do when it fails.
    fix: &'static str,
    run: Box<dyn Fn() -> anyhow::Result<()>>,
}

impl Step {
    fn new(
        what: impl Into<String>,
        fix: &'static str,
        run: impl Fn() -> anyhow::Result<()> + 'static,
    ) -> Step {
        Step {
            what: what.into(),
            fix,
            run: Box::new(run),
        }
    }

    /// A step that runs cargo with these arguments.
    fn cargo(what: &str, fix: &'static str, args: Vec<&'static str>) -> Step {
        Step::new(
            format!("{what}: cargo {}", args.join(" ")),
            fix,
            move || run_command(cargo().args(&args)),
        )
    }

    /// A step that builds the servers: cargo with these arguments, plus the
    /// vendored-OpenSSL feature where the machine has no OpenSSL.
    fn cargo_building_servers(
        what: &str,
        fix: &'static str,
        args: &'static [&'static str],
    ) -> Step {
        Step::new(
            format!("{what}: cargo {}", args.join(" ")),
            fix,
            move || {
                let packages = Stage::ALL.map(Stage::package);
                run_command(cargo().args(args).args(openssl_features(&packages)?))
            },
        )
    }
}

/// The test suite. A new kind of test (the browser checks, building the
/// book) is one more entry in one of these lists.
fn steps() -> Vec<Step> {
    let mut steps = code_checks();
    steps.extend(browser_checks());
    steps
}

/// What needs no browser: formatting, lints, the unit tests, the
/// workspace's copy and both sites built.
fn code_checks() -> Vec<Step> {
    let mut steps = vec![
        Step::new(
            format!("checking the {WASM_TARGET} target"),
            "see the line above",
            build::ensure_wasm_target,
        ),
        Step::cargo(
            "checking formatting",
            "run `cargo fmt --all` (and if cargo has no `fmt`: `rustup component add rustfmt`)",
            vec!["fmt", "--all", "--check"],
        ),
        Step::cargo_building_servers(
            "linting the native code",
            "fix the warnings above (and if cargo has no `clippy`: `rustup component add clippy`)",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
        ),
        Step::cargo(
            "linting the wasm code",
            "fix the warnings above",
            [
                vec!["clippy", "--target", WASM_TARGET],
                Stage::ALL
                    .into_iter()
                    .flat_map(|stage| ["-p", stage.package()])
                    .collect(),
                vec!["--lib", "--", "-D", "warnings"],
            ]
            .concat(),
        ),
        Step::cargo_building_servers(
            "running the unit tests",
            "fix the failing tests above",
            &["test", "--workspace"],
        ),
        // The tools find the workspace at run time, never where they were
        // compiled: an instructor's copy of a prepared workspace keeps its
        // book and its room to itself.
        Step::new(
            "a copied workspace (with its target/) writes only into itself: the book, the room and the harness run in a copy",
            "see the error above: a tool took its workspace from somewhere else than `lesson::workspace` (`cargo xtask copied` reruns this step)",
            copied::run,
        ),
    ];
    // The students' other systems, compiled for from this one (each is
    // skipped on its own system, where the steps above already compile
    // natively for it).
    if !cfg!(windows) {
        steps.push(Step::new(
            format!(
                "checking that the workspace compiles for Windows, lints included: cargo {}",
                WINDOWS_CHECK.join(" ")
            ),
            "fix the errors above: code for Windows too (`cfg` around anything Unix-only, with its Windows way beside it)",
            check_for_windows,
        ));
    }
    if !cfg!(target_os = "macos") {
        steps.push(Step::new(
            format!(
                "checking that the workspace compiles for macOS (the crates with no C inside), lints included: cargo {}",
                MACOS_CHECK.join(" ")
            ),
            "fix the errors above: code for macOS too",
            check_for_macos,
        ));
    }
    // Proves that each stage compiles to wasm and that wasm-bindgen accepts
    // what it exports.
    for stage in Stage::ALL {
        steps.push(Step::new(
            format!("building the {stage} site"),
            "fix the error above",
            move || build::build_site(stage).map(drop),
        ));
    }
    steps
}

/// The browser checks. The harness first proves itself on a tiny app of its
/// own; then the solution must pass every checkpoint, and the starter
/// exactly the pre-lesson ones — never solved, never broken.
fn browser_checks() -> Vec<Step> {
    let mut steps = Vec::new();
    steps.push(Step::new(
        "checking the browser harness itself",
        "see the report above",
        check::selftest,
    ));
    // The instructor's room: its page follows three students' reports
    // without a reload, and refuses a bad one.
    steps.push(Step::new(
        "the room: its page in headless Chromium while students report (harness room-test)",
        "see the report above; `cargo run -p harness -- room-test` reruns it",
        room::browser_test,
    ));
    // The book as readers and instructors use it: every slide fits the
    // projector, the speaker view fits and follows, no accessibility
    // violation of ours, and it reads offline after a first visit.
    steps.push(Step::new(
        "the book in headless Chromium: slides that fit, the speaker view, an accessibility audit, offline reading (harness book-test)",
        "see the report above; `cargo xtask book && cargo run -p harness -- book-test` reruns it",
        book::browser_test,
    ));
    steps.push(Step::new(
        "checking the solution in headless Chromium",
        "see the report above: the solution must pass every checkpoint",
        || check::run(&CheckArgs::new(Stage::Solution)),
    ));
    steps.push(Step::new(
        "check --watch: a breaking save, then its fix, each judged in one warm browser (headless Chromium)",
        "see the lines above; `cargo xtask watch-test` reruns this step",
        check::watch_test,
    ));
    // The instructor guide's demo script, step by step, as the guide says.
    steps.push(Step::new(
        "the instructor's demo script in headless Chromium (cargo xtask demo)",
        "see the step that failed above: the app, or book/src/instructor-guide.md's demo script, is wrong",
        || demo::test(Browser::Chromium),
    ));
    // Faults at random while four clients in both browsers add articles,
    // every kind of fault this machine can do; a new seed each run (printed,
    // to rerun it with `cargo xtask chaos --seed N ...`).
    steps.push(Step::new(
        "the chaos test: clients in both browsers adding articles while faults happen, none lost, duplicated or reordered",
        "see the report above, and rerun it with the line it printed (`cargo xtask chaos --seed N ...`)",
        || check::chaos(&check::ChaosArgs::default()),
    ));
    // Firefox has no Background Sync: the same checkpoints prove the app's
    // fallback there (Chromium-only ones are listed, not run).
    steps.push(Step::new(
        "checking the solution in headless Firefox",
        "see the report above: the solution must pass every checkpoint that applies in Firefox (install it with `apt-get install firefox-esr`, or set FIREFOX)",
        || {
            check::run(&CheckArgs {
                browser: Browser::Firefox,
                ..CheckArgs::new(Stage::Solution)
            })
        },
    ));
    steps.push(Step::new(
        "the instructor's demo script in headless Firefox (cargo xtask demo --browser firefox)",
        "see the step that failed above: the app, or book/src/instructor-guide.md's demo script, is wrong",
        || demo::test(Browser::Firefox),
    ));
    steps.push(Step::new(
        "checking that the starter's TODOs lead to the solution",
        "see the report above: a starter with the solution's lesson files must pass every checkpoint",
        trail::run,
    ));
    steps.push(Step::new(
        "walking the trail one checkpoint at a time: each checkpoint's `reveal` turns exactly it green (headless Chromium)",
        "see the step that failed above; each lesson checkpoint's `reveal` in checkpoints.toml must bring exactly its code, and the checkpoints must come in an order a student can follow",
        trail::steps,
    ));
    steps.push(Step::new(
        "checking that the starter is as a student finds it",
        "see the report above: pre-lesson checkpoints must pass, lesson ones fail",
        || {
            check::run(&CheckArgs {
                expect_starter: true,
                ..CheckArgs::new(Stage::Starter)
            })
        },
    ));
    // The benchmarks in smoke mode: tiny sizes, one run each, so that they
    // cannot rot. Speed goals are judged by `cargo xtask bench`, never here.
    steps.push(Step::new(
        "the benchmarks in smoke mode: cargo xtask bench --quick",
        "see the output above; `cargo xtask bench <name> --quick` reruns one",
        || {
            bench::run(&bench::BenchArgs {
                name: None,
                quick: true,
            })
        },
    ));
    steps
}

/// Windows, from Linux or macOS: `x86_64-pc-windows-gnu`, whose C parts
/// (SQLite, and OpenSSL built from source, as a Windows laptop builds it)
/// mingw-w64's gcc compiles. Every crate, its tests too, linted as the
/// native code is: code under `cfg(windows)` is compiled nowhere else.
/// (A laptop's MSVC toolchain, `x86_64-pc-windows-msvc`, sees the same
/// `cfg(windows)` code; nothing here depends on the C toolchain's kind.)
const WINDOWS_TARGET: &str = "x86_64-pc-windows-gnu";
const WINDOWS_CHECK: &[&str] = &[
    "clippy",
    "--target",
    WINDOWS_TARGET,
    "--workspace",
    "--all-targets",
    "--features",
    "after-sync-lesson/vendored-openssl,before-sync-lesson/vendored-openssl",
    "--",
    "-D",
    "warnings",
];
/// mingw-w64's C compiler for 64-bit Windows.
const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// macOS on Apple silicon, from Linux or Windows: only the crates with no C
/// inside, because C for macOS needs Apple's SDK, which only a Mac has. Not
/// checked: the stages (SQLite, ring and OpenSSL are C), the room (SQLite)
/// and the book (mdBook's `psm`, through pest, is assembly for Apple's
/// assembler).
const MACOS_TARGET: &str = "aarch64-apple-darwin";
const MACOS_CHECK: &[&str] = &[
    "clippy",
    "--target",
    MACOS_TARGET,
    "-p",
    "xtask",
    "-p",
    "harness",
    "-p",
    "platform",
    "-p",
    "lesson",
    "--all-targets",
    "--",
    "-D",
    "warnings",
];

fn check_for_windows() -> anyhow::Result<()> {
    build::ensure_target(WINDOWS_TARGET)?;
    ensure_mingw(&Machine::this())?;
    run_command(cargo().args(WINDOWS_CHECK))
}

fn check_for_macos() -> anyhow::Result<()> {
    build::ensure_target(MACOS_TARGET)?;
    run_command(cargo().args(MACOS_CHECK))
}

/// mingw-w64's gcc, found on `PATH`; else, as root on Debian or Ubuntu (as
/// in CI), installed with apt-get, as the harness installs the browsers;
/// else one line saying how to install it here.
fn ensure_mingw(machine: &Machine) -> anyhow::Result<()> {
    if machine.find_program(MINGW_GCC).is_some() {
        return Ok(());
    }
    if platform::tools::apt_get_install(machine, "gcc-mingw-w64-x86-64").is_ok()
        && Machine::this().find_program(MINGW_GCC).is_some()
    {
        return Ok(());
    }
    anyhow::bail!(
        "no {MINGW_GCC}, which compiles the C inside the Windows build; install it: {}",
        mingw_install_line(machine)
    )
}

/// The line that installs mingw-w64's x86_64 C compiler on this system.
fn mingw_install_line(machine: &Machine) -> String {
    match machine.os {
        Os::MacOs => "brew install mingw-w64".to_owned(),
        Os::Windows => "not needed on Windows".to_owned(),
        Os::Linux => match Distro::of(machine).and_then(|d| d.package_manager()) {
            Some(manager @ PackageManager::Apt) => manager.install("gcc-mingw-w64-x86-64"),
            Some(manager @ PackageManager::Dnf) => manager.install("mingw64-gcc"),
            Some(manager @ PackageManager::Pacman) => manager.install("mingw-w64-gcc"),
            Some(manager @ PackageManager::Zypper) => manager.install("mingw64-cross-gcc"),
            Some(PackageManager::Snap) | None => {
                format!(
                    "install mingw-w64's gcc for x86_64 ({MINGW_GCC}) with your distribution's package manager"
                )
            }
        },
    }
}

pub fn run() -> anyhow::Result<()> {
    let steps = steps();
    let total = steps.len();
    let started = Instant::now();
    for (i, step) in steps.iter().enumerate() {
        let n = i + 1;
        println!("==> [{n}/{total}] {}", step.what);
        let step_started = Instant::now();
        (step.run)().map_err(|error| {
            error.context(format!(
                "step {n}/{total} failed: {}; to fix: {}, then run `cargo xtask test` again",
                step.what, step.fix
            ))
        })?;
        // What each step costs, for whoever keeps CI within its budget.
        println!(
            "==> [{n}/{total}] passed in {:.0?} ({:.0?} so far)",
            step_started.elapsed(),
            started.elapsed()
        );
    }
    println!("==> all {total} steps passed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheap_checks_come_first() {
        let steps = steps();
        let position = |what: &str| {
            steps
                .iter()
                .position(|s| s.what.contains(what))
                .unwrap_or_else(|| panic!("no step {what}"))
        };
        assert_eq!(position("target"), 0);
        assert!(position("cargo fmt") < position("cargo clippy --workspace"));
        assert!(position("cargo clippy --workspace") < position("cargo test"));
        assert!(position("cargo test") < position("building the starter site"));
        assert!(position("cargo test") < position("building the solution site"));
        assert!(
            position("solution in headless Chromium") < position("solution in headless Firefox")
        );
        // The cross-target checks are cargo checks, after the unit tests
        // and before any site is built.
        if !cfg!(windows) {
            assert!(position("compiles for Windows") > position("cargo test"));
            assert!(position("compiles for Windows") < position("building the starter site"));
        }
        // The wasm lint names the packages by hand; it must name both.
        let wasm_lint = &steps[position("linting the wasm code")].what;
        for stage in Stage::ALL {
            assert!(wasm_lint.contains(stage.package()), "{wasm_lint}");
        }
    }

    #[test]
    fn the_windows_check_covers_every_crate_and_its_lints() {
        let check = WINDOWS_CHECK.join(" ");
        assert!(check.contains("--workspace --all-targets"), "{check}");
        assert!(!check.contains("--exclude"), "{check}");
        assert!(check.ends_with("-- -D warnings"), "{check}");
        for stage in Stage::ALL {
            assert!(
                check.contains(&format!("{}/vendored-openssl", stage.package())),
                "{check}"
            );
        }
    }

    #[test]
    fn mingw_is_installed_as_each_system_does() {
        let dir = std::env::temp_dir().join(format!("mingw-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("etc")).unwrap();
        let machine = |os| Machine {
            os,
            root: dir.clone(),
            env: Vec::new(),
        };
        let line = |os_release: &str| {
            std::fs::write(dir.join("etc/os-release"), os_release).unwrap();
            mingw_install_line(&machine(Os::Linux))
        };
        assert_eq!(
            line("ID=debian"),
            "sudo apt-get install gcc-mingw-w64-x86-64"
        );
        assert_eq!(line("ID=fedora"), "sudo dnf install mingw64-gcc");
        assert_eq!(line("ID=arch"), "sudo pacman -S mingw-w64-gcc");
        assert!(line("ID=nixos").contains("x86_64-w64-mingw32-gcc"));
        assert_eq!(
            mingw_install_line(&machine(Os::MacOs)),
            "brew install mingw-w64"
        );
        // With no PATH, no gcc, and not as root on Debian: the one line.
        std::fs::write(dir.join("etc/os-release"), "ID=fedora").unwrap();
        let error = ensure_mingw(&machine(Os::Linux)).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            error.ends_with("install it: sudo dnf install mingw64-gcc"),
            "{error}"
        );
    }
}
