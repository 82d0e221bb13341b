//! The chaos run's verdict: what the server and the outbox hold once the
//! faults stopped, against what the form confirmed. Nothing may be lost,
//! duplicated or unexpected, each tab's articles stored in that tab's order,
//! and the outbox empty.

use std::collections::HashMap;

use super::schedule::PAGES;

/// What went wrong, if anything.
pub struct Tally<'a> {
    /// Confirmed by the form, not on the server.
    pub lost: Vec<&'a str>,
    /// How many times each headline is on the server.
    pub counts: HashMap<&'a str, usize>,
    /// Copies beyond the first, all headlines together.
    pub duplicated: usize,
    /// On the server, never confirmed by the form.
    pub unexpected: Vec<&'a str>,
    /// One line for each tab whose articles were stored out of its order.
    pub out_of_order: Vec<String>,
    /// What the first tab's view of the outbox still holds.
    pub left: &'a [String],
}

impl<'a> Tally<'a> {
    /// `added`: (tab, headline) in the order the form confirmed them;
    /// `server`: the run's headlines on the server, in its order; `outbox`:
    /// what the outbox still holds.
    pub fn of(added: &'a [(usize, String)], server: &'a [String], outbox: &'a [String]) -> Self {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for h in server {
            *counts.entry(h.as_str()).or_default() += 1;
        }
        let lost: Vec<&str> = added
            .iter()
            .map(|(_, h)| h.as_str())
            .filter(|h| !counts.contains_key(h))
            .collect();
        let duplicated: usize = counts.values().map(|c| c - 1).sum();
        let unexpected: Vec<&str> = counts
            .keys()
            .filter(|h| !added.iter().any(|(_, a)| a == *h))
            .copied()
            .collect();
        let out_of_order = (0..PAGES)
            .filter_map(|page| out_of_order(added, server, page))
            .collect();
        Tally {
            lost,
            counts,
            duplicated,
            unexpected,
            out_of_order,
            left: outbox,
        }
    }

    /// Nothing lost, duplicated, unexpected, out of order or left over.
    pub fn ok(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated == 0
            && self.unexpected.is_empty()
            && self.out_of_order.is_empty()
            && self.left.is_empty()
    }

    /// Each problem, one line each.
    pub fn print_problems(&self) {
        if !self.lost.is_empty() {
            println!("  lost: {:?}", self.lost);
        }
        for (h, n) in self.counts.iter().filter(|(_, n)| **n > 1) {
            println!("  duplicated: {h:?} stored {n} times");
        }
        if !self.unexpected.is_empty() {
            println!("  unexpected: {:?}", self.unexpected);
        }
        for line in &self.out_of_order {
            println!("  order: {line}");
        }
        if !self.left.is_empty() {
            println!("  left in the outbox: {:?}", self.left);
        }
    }
}

/// How `page`'s articles were stored, when not in the order it added them
/// (each by where it is first on the server).
fn out_of_order(added: &[(usize, String)], server: &[String], page: usize) -> Option<String> {
    let mine: Vec<&str> = added
        .iter()
        .filter(|(p, _)| *p == page)
        .map(|(_, h)| h.as_str())
        .collect();
    let stored: Vec<&str> = server
        .iter()
        .map(String::as_str)
        .filter(|h| mine.contains(h))
        .collect();
    let mut first_seen: Vec<&str> = Vec::new();
    for h in stored {
        if !first_seen.contains(&h) {
            first_seen.push(h);
        }
    }
    let expected: Vec<&str> = mine
        .iter()
        .copied()
        .filter(|h| first_seen.contains(h))
        .collect();
    (first_seen != expected).then(|| format!("tab {page}: stored as {first_seen:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn everything_once_in_order_is_ok() {
        let added = vec![
            (0, "a".to_owned()),
            (1, "b".to_owned()),
            (0, "c".to_owned()),
        ];
        let server = strings(&["b", "a", "c"]);
        assert!(Tally::of(&added, &server, &[]).ok());
    }

    #[test]
    fn each_kind_of_problem_is_found() {
        let added = vec![
            (0, "a".to_owned()),
            (0, "b".to_owned()),
            (1, "c".to_owned()),
        ];
        let server = strings(&["b", "a", "a", "x"]);
        let outbox = strings(&["c"]);
        let tally = Tally::of(&added, &server, &outbox);
        assert!(!tally.ok());
        assert_eq!(tally.lost, ["c"]);
        assert_eq!(tally.duplicated, 1);
        assert_eq!(tally.unexpected, ["x"]);
        assert_eq!(tally.out_of_order, ["tab 0: stored as [\"b\", \"a\"]"]);
        assert_eq!(tally.left, ["c"]);
    }
}
