//! A sliding-window rate limit: at most `max` hits per `window` per key.
//!
//! The room keys it two ways (see `app.rs`): per client address, before a
//! report is even decoded, so that a flood of garbage is cut off cheaply;
//! and per address and name, so that one student's `--watch` loop cannot
//! drown the others who share a NAT'd address. Pure logic, with the clock
//! passed in, so the tests need no sleeping.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Keys kept at most; beyond that, keys with no recent hit are forgotten.
const PRUNE_ABOVE: usize = 4096;

#[derive(Debug)]
pub struct RateLimiter<K> {
    max: usize,
    window: Duration,
    hits: HashMap<K, VecDeque<Instant>>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    pub fn new(max: usize, window: Duration) -> Self {
        RateLimiter {
            max: max.max(1),
            window,
            hits: HashMap::new(),
        }
    }

    /// Records a hit for `key` at `now`, or, when `key` has had `max` hits
    /// within the window already, records nothing and says how long until
    /// the next one is allowed (for `Retry-After`). A refused hit does not
    /// count: a client that waits as told gets through.
    pub fn hit(&mut self, key: K, now: Instant) -> Result<(), Duration> {
        if self.hits.len() > PRUNE_ABOVE {
            let window = self.window;
            self.hits.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|last| now.saturating_duration_since(*last) < window)
            });
        }
        let times = self.hits.entry(key).or_default();
        while times
            .front()
            .is_some_and(|first| now.saturating_duration_since(*first) >= self.window)
        {
            times.pop_front();
        }
        if times.len() >= self.max {
            let oldest = times.front().copied().unwrap_or(now);
            return Err(self.window - now.saturating_duration_since(oldest));
        }
        times.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(10);

    #[test]
    fn allows_max_hits_per_window_then_says_when_to_retry() {
        let mut limiter = RateLimiter::new(3, WINDOW);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(limiter.hit("ada", t0 + Duration::from_secs(i)), Ok(()));
        }
        // The oldest hit (t0) leaves the window at t0 + 10 s.
        assert_eq!(
            limiter.hit("ada", t0 + Duration::from_secs(4)),
            Err(Duration::from_secs(6))
        );
        // Refused hits do not count: at t0 + 10 s one slot is free again.
        assert_eq!(limiter.hit("ada", t0 + WINDOW), Ok(()));
        assert!(limiter.hit("ada", t0 + WINDOW).is_err());
    }

    #[test]
    fn keys_are_limited_separately() {
        let mut limiter = RateLimiter::new(1, WINDOW);
        let t0 = Instant::now();
        assert!(limiter.hit("ada", t0).is_ok());
        assert!(limiter.hit("ada", t0).is_err());
        assert!(limiter.hit("bo", t0).is_ok());
    }

    #[test]
    fn forgets_idle_keys_when_it_holds_many() {
        let mut limiter = RateLimiter::new(1, WINDOW);
        let t0 = Instant::now();
        for key in 0..=PRUNE_ABOVE {
            limiter.hit(key, t0).unwrap();
        }
        limiter.hit(usize::MAX, t0 + WINDOW).unwrap();
        assert_eq!(limiter.hits.len(), 1);
    }
}
