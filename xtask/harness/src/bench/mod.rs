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

mod inner;
mod inner_check;
mod load;
mod node;
mod push;
mod replay;
mod room;
mod worker;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::browser::{Browser, PageId};
use crate::chromium::{self, Chromium};
use crate::server::Server;

/// The benchmarks, in report order.
pub const NAMES: [&str; 7] = [
    "replay",
    "server",
    "push",
    "worker",
    "inner",
    "inner-check",
    "room",
];

/// What every benchmark gets.
pub struct Setup {
    pub root: PathBuf,
    pub site: PathBuf,
    pub server_bin: PathBuf,
    /// The xtask binary, for the inner-loop benchmark's `serve --watch`.
    pub xtask_bin: Option<PathBuf>,
    /// Where Node's packages are installed (`target/bench/node`).
    pub node_dir: PathBuf,
    /// The room's binary, for the room's benchmark [default: built then
    /// with `cargo build -p room`].
    pub room_bin: Option<PathBuf>,
    pub quick: bool,
}

impl Setup {
    /// `full` in a full run, `quick` in smoke mode.
    pub fn size(&self, full: usize, quick: usize) -> usize {
        if self.quick { quick } else { full }
    }
}

/// The app started from `setup` (quiet logging) and open in a fresh headless
/// Chromium, its service worker in control of the page.
async fn app_in_chromium(setup: &Setup) -> Result<(Server, Chromium, PageId)> {
    site_in_chromium(setup, &setup.site).await
}

/// `site` served by the app's server and open in a fresh headless Chromium,
/// its service worker in control of the page.
async fn site_in_chromium(setup: &Setup, site: &Path) -> Result<(Server, Chromium, PageId)> {
    let app = Server::start_logging(&setup.server_bin, site, "warn").await?;
    let mut browser = Chromium::launch(chromium::find_or_install()?, &app.origin())
        .await
        .context("starting Chromium")?;
    let tab = browser.open_page(&format!("{}/", app.origin())).await?;
    browser
        .wait_until(
            tab,
            "(async () => { await navigator.serviceWorker.ready; return !!navigator.serviceWorker.controller; })()",
            "the service worker to control the page",
            Duration::from_secs(30),
        )
        .await?;
    Ok((app, browser, tab))
}

/// Which way is better for a figure.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
}

/// Several measurements of one figure.
#[derive(Clone)]
pub struct Sample {
    pub values: Vec<f64>,
    pub unit: &'static str,
    pub better: Better,
}

impl Sample {
    pub fn new(unit: &'static str, better: Better) -> Self {
        Sample {
            values: Vec::new(),
            unit,
            better,
        }
    }

    pub fn push(&mut self, value: f64) {
        self.values.push(value);
    }

    pub fn median(&self) -> f64 {
        median(&self.values)
    }

    fn show(&self) -> String {
        let mut sorted = self.values.clone();
        sorted.sort_by(f64::total_cmp);
        match sorted.as_slice() {
            [] => "—".into(),
            [one] => format!("{} {}", number(*one), self.unit),
            [first, .., last] => format!(
                "**{}** {} ({}–{}, n={})",
                number(self.median()),
                self.unit,
                number(*first),
                number(*last),
                sorted.len()
            ),
        }
    }
}

/// The machine's load while something was measured: the 1-minute load
/// average (Linux's `/proc/loadavg`) before and after, as a note says it.
/// On a shared machine a build's time depends on what else runs.
pub struct Load(Option<f64>);

impl Load {
    pub fn now() -> Self {
        let text = std::fs::read_to_string("/proc/loadavg").ok();
        Load(text.and_then(|t| t.split_whitespace().next()?.parse().ok()))
    }

    /// "1-minute load average 2.1 at the start, 3.4 at the end", or that it
    /// is unknown.
    pub fn until_now(&self) -> String {
        match (self.0, Load::now().0) {
            (Some(start), Some(end)) => format!(
                "1-minute load average {start:.1} at the start, {end:.1} at the end, on {} CPU(s)",
                std::thread::available_parallelism().map_or(1, |n| n.get())
            ),
            _ => "load average unknown (no /proc/loadavg)".into(),
        }
    }
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Three significant digits, without exponent notation.
fn number(x: f64) -> String {
    let magnitude = x.abs();
    if magnitude >= 100.0 {
        format!("{x:.0}")
    } else if magnitude >= 10.0 {
        format!("{x:.1}")
    } else if magnitude >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// The goal a figure is held to.
pub enum Goal {
    /// Ours must be at least this many times better than the baseline.
    Ratio(f64),
    /// Ours (median) must be at most this.
    AtMost(f64),
    /// Both: at most this, and at least that ratio.
    AtMostAndRatio(f64, f64),
    /// Reported only.
    None,
}

/// A baseline figure, or why there is none in this run.
pub enum Baseline {
    Measured(Sample),
    Skipped(String),
    /// This figure has no baseline (a size, say); the text says so.
    NotApplicable(&'static str),
}

pub struct Row {
    pub figure: String,
    pub ours: Sample,
    pub baseline: Baseline,
    pub goal: Goal,
}

impl Row {
    /// A figure with nothing to set it beside: `baseline` is what the
    /// report's baseline column says instead (`—`, `none (reported)`,
    /// `none (goal: absolute)`).
    pub fn without_baseline(
        figure: impl Into<String>,
        ours: Sample,
        baseline: &'static str,
        goal: Goal,
    ) -> Self {
        Row {
            figure: figure.into(),
            ours,
            baseline: Baseline::NotApplicable(baseline),
            goal,
        }
    }

    fn ratio(&self) -> Option<f64> {
        let Baseline::Measured(base) = &self.baseline else {
            return None;
        };
        let (ours, base) = (self.ours.median(), base.median());
        let ratio = match self.ours.better {
            Better::Lower => base / ours,
            Better::Higher => ours / base,
        };
        ratio.is_finite().then_some(ratio)
    }

    /// `Some(met)` when the goal could be judged in this run.
    fn met(&self) -> Option<bool> {
        let ours = self.ours.median();
        match self.goal {
            Goal::Ratio(want) => self.ratio().map(|r| r >= want),
            Goal::AtMost(limit) => Some(ours <= limit),
            Goal::AtMostAndRatio(limit, want) => self
                .ratio()
                .map(|r| r >= want && ours <= limit)
                .or((ours > limit).then_some(false)),
            Goal::None => None,
        }
    }

    fn goal_text(&self) -> String {
        let unit = self.ours.unit;
        match self.goal {
            Goal::Ratio(want) => format!("≥ {want}× baseline"),
            Goal::AtMost(limit) => format!("≤ {} {unit}", number(limit)),
            Goal::AtMostAndRatio(limit, want) => {
                format!("< {} {unit} and ≥ {want}×", number(limit))
            }
            Goal::None => "(reported)".into(),
        }
    }
}

/// One benchmark's part of the report.
pub struct Section {
    pub title: String,
    /// What exactly was measured, and how: shown above the table.
    pub method: Vec<String>,
    pub rows: Vec<Row>,
    /// Anything else worth saying (a skipped part and why).
    pub notes: Vec<String>,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Self {
        Section {
            title: title.into(),
            method: Vec::new(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "## {}\n", self.title);
        for line in &self.method {
            let _ = writeln!(out, "{line}");
        }
        if !self.method.is_empty() {
            out.push('\n');
        }
        if !self.rows.is_empty() {
            out.push_str("| figure | ours | baseline | ratio | goal | met |\n");
            out.push_str("| --- | --- | --- | --- | --- | --- |\n");
            for row in &self.rows {
                let baseline = match &row.baseline {
                    Baseline::Measured(sample) => sample.show(),
                    Baseline::Skipped(why) => format!("skipped: {why}"),
                    Baseline::NotApplicable(what) => (*what).to_owned(),
                };
                let ratio = row
                    .ratio()
                    .map(|r| format!("{}×", number(r)))
                    .unwrap_or_else(|| "—".into());
                let met = match row.met() {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                };
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} |",
                    row.figure,
                    row.ours.show(),
                    baseline,
                    ratio,
                    row.goal_text(),
                    met
                );
            }
            out.push('\n');
        }
        for note in &self.notes {
            let _ = writeln!(out, "- {note}");
        }
        if !self.notes.is_empty() {
            out.push('\n');
        }
    }
}

/// Runs the benchmarks named (all when none), writes the report to `out`
/// and prints it. Fails when a benchmark could not run.
pub async fn run(setup: &Setup, only: Option<&str>, out: &Path) -> Result<bool> {
    let names: Vec<&str> = match only {
        Some(name) if NAMES.contains(&name) => vec![name],
        Some(name) => bail!(
            "no benchmark `{name}`; the benchmarks are: {}",
            NAMES.join(", ")
        ),
        None => NAMES.to_vec(),
    };
    let started = Instant::now();
    let mut sections = Vec::new();
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
            _ => unreachable!("checked above"),
        };
        match result {
            Ok(section) => {
                println!("bench: {name} done in {:.1} s", t.elapsed().as_secs_f64());
                sections.push(section);
            }
            Err(error) => {
                eprintln!("bench: {name} failed: {error:#}");
                let mut section = Section::new(format!("{name}: could not run"));
                section.notes.push(format!("error: {error:#}"));
                sections.push(section);
                failures.push(name);
            }
        }
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
         same run (above 1: ours is better). Machine: {} CPU(s), {}; took {:.0} s. \
         Figures on a shared machine are noisy: read the ratios, and the min–max.\n",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        node::version().unwrap_or_else(|| "no Node".into()),
        started.elapsed().as_secs_f64()
    );
    for section in &sections {
        section.markdown(&mut report);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let mut ours = Sample::new("ms", Better::Lower);
        ours.push(100.0);
        let mut base = Sample::new("ms", Better::Lower);
        base.push(1000.0);
        let row = Row {
            figure: "drain".into(),
            ours,
            baseline: Baseline::Measured(base),
            goal: Goal::AtMostAndRatio(1000.0, 10.0),
        };
        assert_eq!(row.ratio(), Some(10.0));
        assert_eq!(row.met(), Some(true));
        let mut fast = Sample::new("req/s", Better::Higher);
        fast.push(50.0);
        let mut slow = Sample::new("req/s", Better::Higher);
        slow.push(100.0);
        let row = Row {
            figure: "get".into(),
            ours: fast,
            baseline: Baseline::Measured(slow),
            goal: Goal::Ratio(1.0),
        };
        assert_eq!(row.ratio(), Some(0.5));
        assert_eq!(row.met(), Some(false));
    }

    #[test]
    fn a_skipped_baseline_leaves_the_ratio_goal_unjudged() {
        let mut ours = Sample::new("ms", Better::Lower);
        ours.push(5.0);
        let row = Row {
            figure: "x".into(),
            ours,
            baseline: Baseline::Skipped("no npm".into()),
            goal: Goal::Ratio(5.0),
        };
        assert_eq!(row.met(), None);
        let mut report = String::new();
        let mut section = Section::new("t");
        section.rows.push(row);
        section.markdown(&mut report);
        assert!(report.contains("skipped: no npm"), "{report}");
    }

    #[test]
    fn a_row_without_baseline_is_reported_as_one_written_out() {
        let sample = || {
            let mut s = Sample::new("s", Better::Lower);
            s.push(3.0);
            s.push(4.5);
            s
        };
        let markdown = |row: Row| {
            let mut section = Section::new("t");
            section.rows.push(row);
            let mut out = String::new();
            section.markdown(&mut out);
            out
        };
        let helper = markdown(Row::without_baseline(
            "edit → check",
            sample(),
            "none (goal: absolute)",
            Goal::AtMost(20.0),
        ));
        let literal = markdown(Row {
            figure: "edit → check".into(),
            ours: sample(),
            baseline: Baseline::NotApplicable("none (goal: absolute)"),
            goal: Goal::AtMost(20.0),
        });
        assert_eq!(helper, literal);
        assert!(
            helper.contains(
                "| edit → check | **3.75** s (3.00–4.50, n=2) | none (goal: absolute) | — | ≤ 20.0 s | yes |"
            ),
            "{helper}"
        );
    }
}
