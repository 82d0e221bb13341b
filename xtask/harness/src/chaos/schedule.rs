//! A chaos run's script, decided by its seed alone: when each client adds
//! an article, which fault comes when and hits which browser, and each
//! fault's timings. The same seed (with the same clients, rate and
//! duration) gives the same script.

use std::fmt;

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
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// The browsers of a run, in this order: two Chromium profiles and one
/// Firefox. Client `i` is a tab of browser `i % 3`.
pub const BROWSERS: [BrowserKind; 3] = [
    BrowserKind::Chromium,
    BrowserKind::Chromium,
    BrowserKind::Firefox,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserKind {
    Chromium,
    Firefox,
}

/// The browser a client's tab is in.
pub fn browser_of(client: usize) -> usize {
    client % BROWSERS.len()
}

/// A kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// The server killed (SIGKILL) while a browser's replay is on its way,
    /// started again on the same database.
    ServerKilled,
    /// One browser's requests to the API answered `503`.
    Server503,
    /// The service workers stopped (Chromium), during a replay or not.
    WorkerStopped,
    /// A browser's network off, then on (Chromium: the worker's too).
    WorkerOffline,
    /// A browser closed and started again on the same profile, with
    /// articles queued (and, half the time, during their replay).
    BrowserRestarted,
    /// A `sync` fired with `lastChance` (Chromium), half the time while the
    /// server answers `503`, so that the last chance fails.
    LastChanceSync,
    /// The server killed after SQLite committed a POST and before the
    /// browser heard the answer: the browser sends again what is stored.
    AnswerLost,
    /// The server's disk refusing writes: every write fails, and the POSTs
    /// get `500` (Linux).
    DiskRefusesWrites,
    /// A browser killed (SIGKILL, not closed) with articles queued, and
    /// started again on the same profile.
    BrowserKilled,
    /// One browser cut off from the server while the others go on: its
    /// requests hang, then fail.
    Partitioned,
    /// A browser's clock (its service worker's) jumping 8 days forward, past
    /// the outbox's 7-day limit, with articles queued (Chromium).
    ClockJumped,
    /// Articles the server must refuse, in a browser's outbox: an id
    /// already used for another article (`409`) and one queued 8 days ago
    /// (`422`). Each must leave the outbox without blocking the others, and
    /// never be sent again.
    RefusedQueued,
}

impl Kind {
    pub const ALL: [Kind; 12] = [
        Kind::ServerKilled,
        Kind::Server503,
        Kind::WorkerStopped,
        Kind::WorkerOffline,
        Kind::BrowserRestarted,
        Kind::LastChanceSync,
        Kind::AnswerLost,
        Kind::DiskRefusesWrites,
        Kind::BrowserKilled,
        Kind::Partitioned,
        Kind::ClockJumped,
        Kind::RefusedQueued,
    ];

    /// Its name on the command line (`--kinds`) and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Kind::ServerKilled => "server-killed",
            Kind::Server503 => "server-503",
            Kind::WorkerStopped => "worker-stopped",
            Kind::WorkerOffline => "offline",
            Kind::BrowserRestarted => "browser-restarted",
            Kind::LastChanceSync => "last-chance-sync",
            Kind::AnswerLost => "answer-lost",
            Kind::DiskRefusesWrites => "disk-refuses-writes",
            Kind::BrowserKilled => "browser-killed",
            Kind::Partitioned => "partition",
            Kind::ClockJumped => "clock-jump",
            Kind::RefusedQueued => "refused-queued",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether it can hit a browser of this kind: the DevTools protocol
    /// alone can stop a worker, take its network, fire a sync and reach
    /// into a running worker.
    pub fn hits(self, browser: BrowserKind) -> bool {
        match self {
            Kind::WorkerStopped
            | Kind::WorkerOffline
            | Kind::LastChanceSync
            | Kind::ClockJumped => browser == BrowserKind::Chromium,
            _ => true,
        }
    }

    /// Whether this machine can do it: a disk that refuses writes is the
    /// server's file-size limit, which only Linux lets another process set
    /// (`prlimit`).
    pub fn available(self) -> bool {
        self != Kind::DiskRefusesWrites || cfg!(target_os = "linux")
    }
}

/// One fault and what the seed chose for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    pub kind: Kind,
    /// The browser it hits (for the disk, every browser feels it).
    pub target: usize,
    /// How long it lasts, in ms of the script: the adds scheduled meanwhile
    /// happen while it is on.
    pub lasts_ms: u64,
    /// Articles the target's first tab adds once it is on (beyond the
    /// script's), for the fault to meet: queued, or on their way when a
    /// kill or a restart comes.
    pub queued_first: usize,
    /// ms between a replay reaching the server and the kill, or between a
    /// sync and the worker's stop.
    pub delay_ms: u64,
    /// ms the server stays down once killed.
    pub down_ms: u64,
    /// During a replay (worker stopped, browser restarted or killed), with
    /// the server answering 503 (last-chance sync), or with room for a
    /// request's first writes (the disk).
    pub mid_replay: bool,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.kind.name())?;
        match self.kind {
            Kind::DiskRefusesWrites => write!(
                f,
                "(the server, {} ms, {}, {} added by browser {})",
                self.lasts_ms,
                if self.mid_replay {
                    "room for a few pages"
                } else {
                    "no room"
                },
                self.queued_first,
                self.target
            ),
            Kind::ServerKilled | Kind::AnswerLost => write!(
                f,
                "(browser {}, {} queued first, killed {} ms after, down {} ms)",
                self.target, self.queued_first, self.delay_ms, self.down_ms
            ),
            Kind::WorkerStopped | Kind::BrowserRestarted | Kind::BrowserKilled
                if self.mid_replay =>
            {
                write!(
                    f,
                    "(browser {}, {} ms into a replay)",
                    self.target, self.delay_ms
                )
            }
            Kind::LastChanceSync if self.mid_replay => {
                write!(f, "(browser {}, while the server answers 503)", self.target)
            }
            _ => write!(f, "(browser {}, {} ms)", self.target, self.lasts_ms),
        }
    }
}

/// What happens at a moment of the script.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum What {
    /// The client adds an article.
    Add(usize),
    /// Two clients (in two browsers) submit at the same moment, before
    /// either has its answer.
    Together(usize, usize),
    /// A fault begins; it ends `lasts_ms` later.
    Fault(Fault),
}

/// One step of the script, at `at_ms` after the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub at_ms: u64,
    pub what: What,
}

/// What a run is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub clients: usize,
    /// Articles a second, all clients together.
    pub rate: f64,
    pub duration_ms: u64,
    pub faults: usize,
    /// The kinds of fault to draw from.
    pub kinds: Vec<Kind>,
}

/// The whole run's script, in time order, decided by the seed alone.
pub fn script(seed: u64, shape: &Shape) -> Vec<Step> {
    let mut rng = Rng(seed);
    let mut steps = Vec::new();

    // The adds: at a steady rate, the clients taking turns in an order the
    // seed shuffles each round, so that each adds at rate / clients.
    let adds = (shape.rate * shape.duration_ms as f64 / 1000.0).round() as usize;
    let gap_ms = 1000.0 / shape.rate;
    let mut turn: Vec<usize> = Vec::new();
    let mut n = 0;
    while n < adds {
        if turn.is_empty() {
            turn = (0..shape.clients).collect();
            shuffle(&mut turn, &mut rng);
        }
        let client = turn.pop().unwrap_or_default();
        let at_ms = (n as f64 * gap_ms) as u64;
        // Now and then the next client at the same moment, from another
        // browser: two replays racing to the server.
        let other = turn.last().copied();
        match other {
            Some(other)
                if n + 1 < adds && browser_of(other) != browser_of(client) && rng.below(4) == 0 =>
            {
                turn.pop();
                steps.push(Step {
                    at_ms,
                    what: What::Together(client, other),
                });
                n += 2;
            }
            _ => {
                steps.push(Step {
                    at_ms,
                    what: What::Add(client),
                });
                n += 1;
            }
        }
    }

    // The faults: every kind asked for at least once (when there are
    // enough), the rest at random, in random order; one in each equal slot
    // of the run, so that two never overlap.
    let browsers = shape.clients.min(BROWSERS.len());
    let kinds: Vec<Kind> = shape
        .kinds
        .iter()
        .copied()
        .filter(|kind| (0..browsers).any(|b| kind.hits(BROWSERS[b])))
        .collect();
    if !kinds.is_empty() && shape.faults > 0 {
        let mut chosen: Vec<Kind> = (0..shape.faults)
            .map(|i| match kinds.get(i) {
                Some(kind) => *kind,
                None => kinds[rng.below(kinds.len() as u64) as usize],
            })
            .collect();
        shuffle(&mut chosen, &mut rng);
        let slot_ms = shape.duration_ms / shape.faults as u64;
        for (i, kind) in chosen.into_iter().enumerate() {
            let targets: Vec<usize> = (0..browsers).filter(|b| kind.hits(BROWSERS[*b])).collect();
            let starts_ms = i as u64 * slot_ms + rng.below(slot_ms / 4 + 1);
            let fault = Fault {
                kind,
                target: targets[rng.below(targets.len() as u64) as usize],
                // At least half a second, at most half the slot.
                lasts_ms: 500 + rng.below((slot_ms / 2).saturating_sub(500) + 1),
                queued_first: 1 + rng.below(3) as usize,
                delay_ms: rng.below(40),
                down_ms: rng.below(400),
                mid_replay: rng.coin(),
            };
            steps.push(Step {
                at_ms: starts_ms,
                what: What::Fault(fault),
            });
        }
    }
    // A fault before an add of the same moment: the add happens during it.
    steps.sort_by_key(|step| (step.at_ms, !matches!(step.what, What::Fault(_))));
    steps
}

fn shuffle<T>(items: &mut [T], rng: &mut Rng) {
    for i in (1..items.len()).rev() {
        items.swap(i, rng.below(i as u64 + 1) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            clients: 4,
            rate: 1.5,
            duration_ms: 40_000,
            faults: 12,
            kinds: Kind::ALL.to_vec(),
        }
    }

    fn adds(steps: &[Step]) -> Vec<usize> {
        steps
            .iter()
            .flat_map(|s| match s.what {
                What::Add(c) => vec![c],
                What::Together(a, b) => vec![a, b],
                What::Fault(_) => vec![],
            })
            .collect()
    }

    fn faults(steps: &[Step]) -> Vec<(u64, Fault)> {
        steps
            .iter()
            .filter_map(|s| match s.what {
                What::Fault(f) => Some((s.at_ms, f)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_seed_gives_one_script() {
        assert_eq!(script(42, &shape()), script(42, &shape()));
        assert_ne!(script(42, &shape()), script(43, &shape()));
    }

    #[test]
    fn the_script_has_every_add_every_kind_and_no_overlapping_faults() {
        for seed in 0..200 {
            let steps = script(seed, &shape());
            let adds = adds(&steps);
            assert_eq!(adds.len(), 60, "seed {seed}");
            // Every client adds, about as often as the others.
            for client in 0..4 {
                let n = adds.iter().filter(|c| **c == client).count();
                assert!(
                    (13..=17).contains(&n),
                    "seed {seed}: client {client} adds {n}"
                );
            }
            let faults = faults(&steps);
            assert_eq!(faults.len(), 12, "seed {seed}");
            for kind in Kind::ALL {
                assert!(
                    faults.iter().any(|(_, f)| f.kind == kind),
                    "seed {seed}: no {kind:?}"
                );
            }
            for pair in faults.windows(2) {
                let ((start, first), (next, _)) = (pair[0], pair[1]);
                assert!(
                    start + first.lasts_ms < next,
                    "seed {seed}: {pair:?} overlap"
                );
            }
            for (_, fault) in &faults {
                assert!(
                    fault.kind.hits(BROWSERS[fault.target]),
                    "seed {seed}: {fault}"
                );
            }
            assert!(steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        }
    }

    #[test]
    fn together_is_two_browsers() {
        for seed in 0..50 {
            for step in script(seed, &shape()) {
                if let What::Together(a, b) = step.what {
                    assert_ne!(browser_of(a), browser_of(b));
                }
            }
        }
    }

    #[test]
    fn only_the_kinds_asked_for_and_only_where_they_apply() {
        let shape = Shape {
            kinds: vec![Kind::ClockJumped],
            ..shape()
        };
        for (_, fault) in faults(&script(7, &shape)) {
            assert_eq!(fault.kind, Kind::ClockJumped);
            assert_eq!(BROWSERS[fault.target], BrowserKind::Chromium);
        }
        assert!(
            Kind::ALL
                .iter()
                .all(|k| Kind::from_name(k.name()) == Some(*k))
        );
    }
}
