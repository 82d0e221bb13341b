//! The chaos run's script, decided by its seed alone: which tab adds each
//! article, which fault comes when, and each fault's timings.

use std::fmt;

/// The tabs that add articles.
pub const PAGES: usize = 2;

/// SplitMix64: small, seedable, and the same on every platform.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    ServerKilled,
    Server503,
    WorkerStopped,
    WorkerOffline,
    BrowserRestarted,
    LastChanceSync,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::ServerKilled,
        Kind::Server503,
        Kind::WorkerStopped,
        Kind::WorkerOffline,
        Kind::BrowserRestarted,
        Kind::LastChanceSync,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::ServerKilled => "server killed (SIGKILL) mid-replay",
            Kind::Server503 => "server answering 503",
            Kind::WorkerStopped => "worker stopped",
            Kind::WorkerOffline => "worker offline, then online",
            Kind::BrowserRestarted => "browser restarted",
            Kind::LastChanceSync => "sync with lastChance",
        }
    }
}

/// One fault and the timings the seed chose for it.
#[derive(Debug, Clone, Copy)]
pub struct Fault {
    pub kind: Kind,
    /// Articles added while the fault lasts (taken from the run's total).
    pub during: usize,
    /// ServerKilled: ms after a POST reached the server; WorkerStopped: ms
    /// after a sync was fired (when `with_sync`).
    pub delay_ms: u64,
    /// ServerKilled: ms the server stays down.
    pub down_ms: u64,
    /// WorkerStopped: stop it during a replay; LastChanceSync: with the
    /// server answering 503, so that the last chance fails.
    pub with_sync: bool,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::ServerKilled => write!(
                f,
                "{} ({} queued first; killed {} ms after a POST reached it, down {} ms)",
                self.kind.label(),
                self.during,
                self.delay_ms,
                self.down_ms
            ),
            Kind::Server503 | Kind::WorkerOffline => {
                write!(f, "{} ({} added meanwhile)", self.kind.label(), self.during)
            }
            Kind::BrowserRestarted if self.with_sync => write!(
                f,
                "{} ({} ms into a replay)",
                self.kind.label(),
                self.delay_ms
            ),
            Kind::WorkerStopped if self.with_sync => write!(
                f,
                "{} ({} ms into a replay)",
                self.kind.label(),
                self.delay_ms
            ),
            Kind::LastChanceSync if self.with_sync => {
                write!(f, "{} (while the server answers 503)", self.kind.label())
            }
            _ => f.write_str(self.kind.label()),
        }
    }
}

/// One step of the schedule.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    /// An article added from this tab.
    Add(usize),
    /// Two articles submitted from the two tabs at the same moment, before
    /// either has its answer.
    Together(usize, usize),
    /// A fault begins; its `during` adds follow it; then it ends.
    Fault(Fault),
}

/// The whole run, decided by the seed alone.
pub fn schedule(seed: u64, articles: usize, faults: usize) -> Vec<Step> {
    let mut rng = Rng(seed);
    // Every kind at least once (when there are enough faults), the rest at
    // random, in random order.
    let mut kinds: Vec<Kind> = (0..faults)
        .map(|i| match Kind::ALL.get(i) {
            Some(kind) => *kind,
            None => Kind::ALL[rng.below(Kind::ALL.len() as u64) as usize],
        })
        .collect();
    for i in (1..kinds.len()).rev() {
        kinds.swap(i, rng.below(i as u64 + 1) as usize);
    }
    // What each fault takes: the articles added while it lasts come out of
    // the run's total (a replay to kill needs something to replay).
    let mut left = articles;
    let faults: Vec<Fault> = kinds
        .into_iter()
        .map(|kind| {
            let wanted = match kind {
                Kind::ServerKilled => 1 + rng.below(3) as usize,
                Kind::Server503 | Kind::WorkerOffline => rng.below(4) as usize,
                _ => 0,
            };
            let during = wanted.min(left);
            left -= during;
            Fault {
                kind,
                during,
                delay_ms: rng.below(40),
                down_ms: rng.below(400),
                with_sync: rng.coin(),
            }
        })
        .collect();
    // The other articles spread over the gaps before, between and after.
    let mut gaps = vec![0usize; faults.len() + 1];
    for _ in 0..left {
        gaps[rng.below(faults.len() as u64 + 1) as usize] += 1;
    }
    let mut steps = Vec::new();
    for (gap, adds) in gaps.into_iter().enumerate() {
        if gap > 0 {
            let fault = faults[gap - 1];
            steps.push(Step::Fault(fault));
            for _ in 0..fault.during {
                steps.push(Step::Add(rng.below(PAGES as u64) as usize));
            }
        }
        let mut adds = adds;
        while adds > 0 {
            // Now and then both tabs at once.
            if adds >= 2 && rng.below(3) == 0 {
                let first = rng.below(PAGES as u64) as usize;
                steps.push(Step::Together(first, (first + 1) % PAGES));
                adds -= 2;
            } else {
                steps.push(Step::Add(rng.below(PAGES as u64) as usize));
                adds -= 1;
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adds(steps: &[Step]) -> usize {
        steps
            .iter()
            .map(|s| match s {
                Step::Add(_) => 1,
                Step::Together(..) => 2,
                Step::Fault(_) => 0,
            })
            .sum()
    }

    #[test]
    fn a_seed_gives_one_schedule() {
        let a = format!("{:?}", schedule(42, 50, 20));
        let b = format!("{:?}", schedule(42, 50, 20));
        let c = format!("{:?}", schedule(43, 50, 20));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_schedule_has_every_article_and_every_kind_of_fault() {
        for seed in 0..200 {
            let steps = schedule(seed, 50, 20);
            assert_eq!(adds(&steps), 50, "seed {seed}");
            let faults: Vec<Fault> = steps
                .iter()
                .filter_map(|s| match s {
                    Step::Fault(f) => Some(*f),
                    Step::Add(_) | Step::Together(..) => None,
                })
                .collect();
            assert_eq!(faults.len(), 20, "seed {seed}");
            for kind in Kind::ALL {
                assert!(
                    faults.iter().any(|f| f.kind == kind),
                    "seed {seed}: no {kind:?}"
                );
            }
            // A fault's adds follow it directly.
            for (i, step) in steps.iter().enumerate() {
                if let Step::Fault(f) = step {
                    assert!(
                        steps[i + 1..i + 1 + f.during]
                            .iter()
                            .all(|s| matches!(s, Step::Add(_)))
                    );
                }
            }
        }
    }
}
