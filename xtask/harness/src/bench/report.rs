//! The figures of a benchmark and how the report shows them: samples and
//! their medians, a baseline beside each, the goal it is held to, and a
//! section of Markdown per benchmark.

use std::fmt::Write as _;

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

    pub fn show(&self) -> String {
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
pub fn number(x: f64) -> String {
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
#[derive(Clone, Copy)]
pub enum Goal {
    /// Ours must be at least this many times better than the baseline.
    Ratio(f64),
    /// Ours (median) must be at most this.
    AtMost(f64),
    /// Ours (median) must be at least this.
    AtLeast(f64),
    /// Both: below this (strictly), and at least that ratio.
    BelowAndRatio(f64, f64),
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

    pub fn ratio(&self) -> Option<f64> {
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
    pub fn met(&self) -> Option<bool> {
        let ours = self.ours.median();
        match self.goal {
            Goal::Ratio(want) => self.ratio().map(|r| r >= want),
            Goal::AtMost(limit) => Some(ours <= limit),
            Goal::AtLeast(floor) => Some(ours >= floor),
            Goal::BelowAndRatio(limit, want) => self
                .ratio()
                .map(|r| r >= want && ours < limit)
                .or((ours >= limit).then_some(false)),
            Goal::None => None,
        }
    }

    pub fn goal_text(&self) -> String {
        let unit = self.ours.unit;
        match self.goal {
            Goal::Ratio(want) => format!("≥ {want}× baseline"),
            Goal::AtMost(limit) => format!("≤ {} {unit}", number(limit)),
            Goal::AtLeast(floor) => format!("≥ {} {unit}", number(floor)),
            Goal::BelowAndRatio(limit, want) => {
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
    /// When, at which commit and in how long it was measured: the report
    /// keeps each section until its benchmark is run again.
    pub measured: Option<String>,
}

impl Section {
    pub fn new(title: impl Into<String>) -> Self {
        Section {
            title: title.into(),
            method: Vec::new(),
            rows: Vec::new(),
            notes: Vec::new(),
            measured: None,
        }
    }

    pub fn markdown(&self, out: &mut String) {
        let _ = writeln!(out, "## {}\n", self.title);
        if let Some(measured) = &self.measured {
            let _ = writeln!(out, "*Measured {measured}.*\n");
        }
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
            goal: Goal::BelowAndRatio(1000.0, 10.0),
        };
        assert_eq!(row.ratio(), Some(10.0));
        assert_eq!(row.met(), Some(true));
        // "< 100 ms": a figure of exactly the limit does not meet it.
        let mut at_the_limit = Sample::new("ms", Better::Lower);
        at_the_limit.push(100.0);
        let row = Row {
            ours: at_the_limit,
            goal: Goal::BelowAndRatio(100.0, 1.0),
            ..row
        };
        assert_eq!(row.met(), Some(false));
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
