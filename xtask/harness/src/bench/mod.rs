//! `cargo xtask bench`: the figures that matter, each beside a baseline
//! measured in the same run, on the same machine.
//!
//! xtask builds the site and a release-optimised server and runs
//! `harness bench [name] [--quick]`; everything that drives a browser, a
//! server or Node lives here, one module per benchmark. Each figure is the
//! median of several runs with their min–max; a ratio says how many times
//! better ours is than the baseline (above 1: ours is better). Speed targets
//! live here and only here, never as timed assertions in the tests: the
//! report says which goals are met, and the command fails only when a
//! benchmark cannot run at all.

mod chaos;
mod drain_profile;
mod goals;
mod inner;
mod inner_check;
mod kept;
mod load;
mod node;
mod push;
mod replay;
mod room;
mod wasm_budget;
mod worker;

pub mod report;
pub mod setup;

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use report::Section;
pub use setup::Setup;

/// The benchmarks, in report order.
pub const NAMES: [&str; 8] = [
    "replay",
    "server",
    "push",
    "worker",
    "inner",
    "inner-check",
    "room",
    "chaos",
];

/// The report, under the target directory: a smoke run's figures mean
/// nothing, so they never replace a real run's.
pub fn report_file(quick: bool) -> &'static str {
    if quick {
        "bench/smoke.md"
    } else {
        "bench/report.md"
    }
}

/// Runs the benchmarks named (all when none), keeps their sections, writes
/// the report to `out` (every section kept there, the ones not run this
/// time as they were last measured) and prints it. `measured` says when and
/// at which commit (xtask knows both). Fails when a benchmark could not run.
pub async fn run(
    setup: &Setup,
    only: Option<&str>,
    measured: Option<&str>,
    out: &Path,
) -> Result<bool> {
    let names: Vec<&str> = match only {
        Some(name) if NAMES.contains(&name) => vec![name],
        Some(name) => bail!(
            "no benchmark `{name}`; the benchmarks are: {}",
            NAMES.join(", ")
        ),
        None => NAMES.to_vec(),
    };
    let run_started = Instant::now();
    let mut failures = Vec::new();
    for name in names {
        println!("bench: {name}…");
        let t = Instant::now();
        let result = match name {
            "replay" => replay::run(setup).await,
            "server" => load::run(setup).await,
            "push" => push::run(setup).await,
            "worker" => worker::run(setup).await,
            "inner" => inner::run(setup).await,
            "inner-check" => inner_check::run(setup).await,
            "room" => room::run(setup).await,
            "chaos" => chaos::run(setup).await,
            _ => unreachable!("checked above"),
        };
        let took = t.elapsed().as_secs_f64();
        let mut section = match result {
            Ok(section) => {
                println!("bench: {name} done in {took:.1} s");
                section
            }
            Err(error) => {
                eprintln!("bench: {name} failed: {error:#}");
                let mut section = Section::new(format!("{name}: could not run"));
                section.notes.push(format!("error: {error:#}"));
                failures.push(name);
                section
            }
        };
        // The run's start is all xtask knows: a section says how far into
        // the run it began, so that the chaos seeds measured twenty minutes
        // in do not read as measured at the start.
        let into = t.duration_since(run_started).as_secs_f64();
        let span = format!("from {into:.0} s into it, for {took:.0} s");
        section.measured = Some(match measured {
            Some(when) => format!("in the run started {when}: {span}"),
            None => format!("in a run: {span}"),
        });
        let mut markdown = String::new();
        section.markdown(&mut markdown);
        kept::keep(out, &NAMES, name, &markdown)?;
    }

    let mut report = String::new();
    let _ = writeln!(
        report,
        "# Benchmarks{}\n",
        if setup.quick {
            " (smoke mode: tiny sizes, one run each — the figures mean nothing)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        report,
        "Each figure is the median of its runs, with min–max and the number of runs; \
         the ratio is how many times better ours is than the baseline measured in the \
         same run (above 1: ours is better). Machine: {} CPU(s), {}. Each section \
         says when it was measured: `cargo xtask bench <name>` measures one again and \
         keeps the others. Figures on a shared machine are noisy: read the ratios, \
         and the min–max.\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        node::version().unwrap_or_else(|| "no Node".into()),
    );
    for section in kept::all(out, &NAMES)? {
        report.push_str(&section);
    }
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(out, &report).with_context(|| format!("cannot write {}", out.display()))?;
    println!("\n{report}");
    let shown = out.canonicalize().unwrap_or_else(|_| out.to_owned());
    println!("bench: report written to {}", shown.display());
    if !failures.is_empty() {
        eprintln!("bench: could not run: {}", failures.join(", "));
    }
    Ok(failures.is_empty())
}
