//! Benchmark 7, nothing lost at scale: twenty seeds of the chaos test
//! (`harness chaos`), four clients in two Chromium profiles and one
//! Firefox, every kind of fault this machine can do, and their total held
//! to the goal: at least 1,000 confirmed articles and 200 faults of 10
//! kinds, with none lost, duplicated or out of order. Correctness is the
//! chaos test's (one seed is a step of `cargo xtask test`); what only a
//! benchmark's time allows is the many seeds.

use anyhow::Result;

use super::report::{Better, Goal, Row, Sample, Section};
use super::setup::Setup;
use crate::chaos::{self, Kind, Options};

pub async fn run(setup: &Setup) -> Result<Section> {
    let options = Options {
        seed: None,
        runs: setup.size(20, 1),
        clients: 4,
        rate: 1.5,
        duration: if setup.quick { 8.0 } else { 40.0 },
        faults: setup.size(12, 2),
        kinds: chaos::kinds(&[])?.unwrap_or_default(),
        out: setup.target.join("chaos"),
    };
    let tallies = chaos::run_many(&setup.site, &setup.server_bin, &options).await?;
    let total = |f: fn(&chaos::Tally) -> usize| tallies.iter().map(f).sum::<usize>() as f64;
    let kinds: std::collections::BTreeSet<Kind> = tallies
        .iter()
        .flat_map(|t| t.faults.keys().copied())
        .collect();
    let one = |value: f64, unit: &'static str, better: Better| {
        let mut sample = Sample::new(unit, better);
        sample.push(value);
        sample
    };
    let at_least = |figure: &str, value: f64, unit: &'static str, goal: f64| {
        Row::without_baseline(
            figure,
            one(value, unit, Better::Higher),
            "— (goal: absolute)",
            Goal::AtLeast(goal),
        )
    };
    let none = |figure: &str, value: f64, unit: &'static str| {
        Row::without_baseline(
            figure,
            one(value, unit, Better::Lower),
            "— (goal: absolute)",
            Goal::AtMost(0.0),
        )
    };
    let mut section = Section::new(format!(
        "chaos: {} seeds, {} clients in two Chromium profiles and one Firefox",
        tallies.len(),
        options.clients
    ));
    section.method.push(format!(
        "Each seed: {} clients add {} articles a second for {} s while {} faults happen \
         (`cargo xtask chaos --clients {} --rate {} --duration {} --faults {} --runs {}`); \
         its history is then checked: every confirmed article on the server once, in each \
         client's order, every page showing the server's list, every outbox empty, no \
         refusal retried.",
        options.clients,
        options.rate,
        options.duration,
        options.faults,
        options.clients,
        options.rate,
        options.duration,
        options.faults,
        options.runs,
    ));
    section.rows = vec![
        at_least(
            "confirmed articles",
            total(|t| t.articles),
            "articles",
            1000.0,
        ),
        at_least(
            "faults",
            total(|t| t.faults.values().sum()),
            "faults",
            200.0,
        ),
        at_least("kinds of fault", kinds.len() as f64, "kinds", 10.0),
        none("lost", total(|t| t.lost), "articles"),
        none("duplicated", total(|t| t.duplicated), "articles"),
        none("out of order", total(|t| t.out_of_order), "articles"),
        none(
            "runs with another rule broken",
            tallies.iter().filter(|t| t.other_problems > 0).count() as f64,
            "runs",
        ),
    ];
    section
        .notes
        .push(format!("total: {}", chaos::total_line(&tallies)));
    for tally in tallies.iter().filter(|t| !t.ok()) {
        section.notes.push(format!(
            "seed {} failed: rerun it with `cargo xtask chaos --seed {} --clients {} --rate {} --duration {} --faults {}`",
            tally.seed, tally.seed, options.clients, options.rate, options.duration, options.faults
        ));
    }
    Ok(section)
}
