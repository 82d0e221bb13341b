//! The history of a chaos run, and the rules it must keep.
//!
//! While the run goes on, the harness records what each client saw (the
//! articles its page confirmed, in the order that client added them), what
//! went over the wire (every POST a proxy saw, and the answer, if any, that
//! reached the client), and at the end what the server, every open page and
//! every outbox hold. [`check`] judges that history knowing nothing of the
//! faults: a fault is seen only through what it did to the history, the way
//! a Jepsen checker reads a database's.
//!
//! The rules:
//!
//! 1. every confirmed article is on the server exactly once (none *lost*,
//!    none *duplicated*), and so is every article a `2xx` acknowledged;
//! 2. every client's articles are on the server in that client's order;
//! 3. every open page converges to the server's list: the same articles, in
//!    the same order (newest first), none still marked as waiting;
//! 4. every outbox ends empty;
//! 5. no article the server refused is sent again after it was refused on
//!    its own, nor refused more than twice (a refused batch is sent again
//!    one article at a time, once), and none the server must refuse is
//!    stored;
//! 6. a request the server refused or failed stored nothing: no article of
//!    it was stored while the server was answering it (nothing
//!    half-written stays).
//!
//! Articles are told apart by headline: the harness makes each one unique
//! (the run's prefix, the client, a counter), and the page, not the harness,
//! gives an article its id. An article stored twice under two ids is the
//! duplicate this check exists for.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// What one run saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// What each of this run's headlines starts with. The server's other
    /// articles (its seed articles, earlier runs') are not the run's, and
    /// only count where a page must show the whole list.
    pub prefix: String,
    /// The clients, by index: e.g. "chromium-a tab 1".
    pub clients: Vec<String>,
    /// Every article a client added, in the order each client added them.
    pub adds: Vec<Add>,
    /// Every POST of articles the proxies saw, in the order they came.
    pub posts: Vec<Post>,
    /// The end: the server's list, oldest first.
    pub server: Vec<Article>,
    /// The end: the list each open page shows, newest first.
    pub pages: Vec<PageList>,
    /// The end: what each browser's outbox still holds, oldest first.
    pub outboxes: Vec<Outbox>,
}

/// One article a client added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Add {
    /// Index into [`History::clients`].
    pub client: usize,
    pub headline: String,
    pub outcome: AddOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddOutcome {
    /// The page said "Queued" (or "Sent"): the app promised to deliver it.
    Confirmed,
    /// No answer reached the harness (the browser was killed, the page was
    /// gone): it may be on the server, at most once and in order.
    Unknown,
    /// Written into the outbox by the harness, as one the server must refuse
    /// (an id already used for another article, or queued eight days ago):
    /// it must leave the outbox without being stored or retried forever.
    MustBeRefused,
}

/// One POST of articles, as a proxy saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Which client's proxy (a browser's name).
    pub via: String,
    /// The articles in its body, in order.
    pub articles: Vec<Article>,
    pub answer: Answer,
    /// When the proxy took it, and when the server's answer came, in ms
    /// since 1970 (the server's clock is this machine's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_ms: Option<f64>,
}

/// What became of a POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "status")]
pub enum Answer {
    /// The server answered, and the client got the answer.
    Status(u16),
    /// The server answered (it may have committed), but the client never got
    /// the answer: the proxy dropped the connection.
    Unheard(u16),
    /// The proxy answered in the server's place (a `503`); the server never
    /// saw the request.
    FromProxy(u16),
    /// Nobody answered: the server was down, or the client cut off.
    None,
}

impl Answer {
    /// A `2xx` from the server: the articles are stored, whether or not the
    /// client heard it.
    fn stored(self) -> bool {
        matches!(self, Answer::Status(s) | Answer::Unheard(s) if (200..300).contains(&s))
    }

    /// A refusal for good that the client heard: a `4xx` from the server,
    /// but a `408` or a `429` (which ask the client to come back).
    fn refused(self) -> bool {
        matches!(self, Answer::Status(s) if (400..500).contains(&s) && s != 408 && s != 429)
    }

    /// The server itself said no (a `4xx` or a `5xx`), heard or not: it
    /// must have stored nothing of the request.
    fn failed(self) -> bool {
        matches!(self, Answer::Status(s) | Answer::Unheard(s) if s >= 400)
    }
}

/// An article as the server lists it, or as a POST carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub headline: String,
    /// On the server's list: when it stored it, in ms since 1970.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_ms: Option<f64>,
}

/// The list an open page shows, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageList {
    /// E.g. "chromium-a tab 1".
    pub page: String,
    pub items: Vec<Shown>,
}

/// One item of a page's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shown {
    pub id: String,
    pub headline: String,
    /// `None` for an article of the server's list; `"waiting"` for one
    /// still in the outbox, `"refused"` for one the server refused.
    pub state: Option<String>,
}

/// What a browser's outbox holds at the end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    /// The browser's name.
    pub browser: String,
    /// The headlines still queued, oldest first.
    pub headlines: Vec<String>,
}

/// What the history shows, rule by rule. Empty lists: nothing wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// Articles the clients' pages confirmed.
    pub confirmed: usize,
    /// Rule 1: confirmed, and not on the server.
    pub lost: Vec<String>,
    /// Rule 1: acknowledged with a `2xx`, and not on the server (not under
    /// its id, or another text under its id).
    pub acknowledged_missing: Vec<String>,
    /// Rule 1: on the server more than once, with how many times.
    pub duplicated: Vec<(String, usize)>,
    /// On the server under the run's prefix, and no client ever added it.
    pub unexpected: Vec<String>,
    /// Rule 2: for each client whose articles were stored out of its order,
    /// how many are out of place (the fewest that would have to move).
    pub out_of_order: Vec<(String, usize)>,
    /// Rule 3: each page that does not show the server's list, and how.
    pub diverged: Vec<(String, String)>,
    /// Rule 4: each outbox that is not empty, and what it holds.
    pub left: Vec<(String, Vec<String>)>,
    /// Rule 5: articles sent again after the server refused them alone.
    pub retried_after_refusal: Vec<String>,
    /// Rule 5: articles the server had to refuse, and stored.
    pub stored_though_refused: Vec<String>,
    /// Rule 6: articles stored while the server was answering a request
    /// of theirs with a `4xx` or a `5xx`.
    pub half_written: Vec<String>,
}

impl Verdict {
    /// No rule broken.
    pub fn ok(&self) -> bool {
        self.problems().is_empty()
    }

    /// Copies on the server beyond the first, all articles together.
    pub fn duplicates(&self) -> usize {
        self.duplicated.iter().map(|(_, times)| times - 1).sum()
    }

    /// Articles out of their client's order, all clients together.
    pub fn misordered(&self) -> usize {
        self.out_of_order.iter().map(|(_, n)| n).sum()
    }

    /// One line per broken rule, saying what broke it.
    pub fn problems(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.lost.is_empty() {
            lines.push(format!(
                "lost (confirmed, not on the server): {}",
                quoted(&self.lost)
            ));
        }
        if !self.acknowledged_missing.is_empty() {
            lines.push(format!(
                "acknowledged with a 2xx, not on the server: {}",
                quoted(&self.acknowledged_missing)
            ));
        }
        for (headline, times) in &self.duplicated {
            lines.push(format!("duplicated: \"{headline}\" stored {times} times"));
        }
        if !self.unexpected.is_empty() {
            lines.push(format!(
                "unexpected (stored, never added): {}",
                quoted(&self.unexpected)
            ));
        }
        for (client, n) in &self.out_of_order {
            lines.push(format!("out of order: {n} of {client}'s articles"));
        }
        for (page, how) in &self.diverged {
            lines.push(format!("{page} does not show the server's list: {how}"));
        }
        for (browser, headlines) in &self.left {
            lines.push(format!(
                "{browser}'s outbox is not empty: {}",
                quoted(headlines)
            ));
        }
        if !self.retried_after_refusal.is_empty() {
            lines.push(format!(
                "sent again after the server refused it: {}",
                quoted(&self.retried_after_refusal)
            ));
        }
        if !self.stored_though_refused.is_empty() {
            lines.push(format!(
                "stored, though the server had to refuse it: {}",
                quoted(&self.stored_though_refused)
            ));
        }
        if !self.half_written.is_empty() {
            lines.push(format!(
                "stored by a request the server refused or failed (half-written): {}",
                quoted(&self.half_written)
            ));
        }
        lines
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems().as_slice() {
            [] => write!(f, "ok"),
            problems => write!(f, "{}", problems.join("; ")),
        }
    }
}

fn quoted(headlines: &[String]) -> String {
    let shown: Vec<String> = headlines
        .iter()
        .take(5)
        .map(|h| format!("\"{h}\""))
        .collect();
    match headlines.len() {
        n if n > 5 => format!("{} and {} more", shown.join(", "), n - 5),
        _ => shown.join(", "),
    }
}

/// Judges a history by the rules (see the module's documentation).
pub fn check(history: &History) -> Verdict {
    let places = Places::of(history);
    let with = |outcome: AddOutcome| {
        history
            .adds
            .iter()
            .filter(move |a| a.outcome == outcome)
            .map(|a| a.headline.clone())
    };
    let (duplicated, unexpected) = once_and_expected(history, &places);
    Verdict {
        confirmed: with(AddOutcome::Confirmed).count(),
        lost: with(AddOutcome::Confirmed)
            .filter(|h| !places.first.contains_key(h.as_str()))
            .collect(),
        acknowledged_missing: acknowledged_missing(history),
        duplicated,
        unexpected,
        out_of_order: out_of_order(history, &places),
        diverged: diverged_pages(history),
        left: history
            .outboxes
            .iter()
            .filter(|o| !o.headlines.is_empty())
            .map(|o| (o.browser.clone(), o.headlines.clone()))
            .collect(),
        retried_after_refusal: retried_after_refusal(history),
        stored_though_refused: with(AddOutcome::MustBeRefused)
            .filter(|h| places.first.contains_key(h.as_str()))
            .collect(),
        half_written: half_written(history),
    }
}

/// Where each of the run's headlines is on the server (its first place),
/// and how many times.
struct Places<'a> {
    first: HashMap<&'a str, usize>,
    times: HashMap<&'a str, usize>,
}

impl<'a> Places<'a> {
    fn of(history: &'a History) -> Self {
        let mut places = Places {
            first: HashMap::new(),
            times: HashMap::new(),
        };
        for (index, article) in history.server.iter().enumerate() {
            if article.headline.starts_with(&history.prefix) {
                places.first.entry(&article.headline).or_insert(index);
                *places.times.entry(&article.headline).or_default() += 1;
            }
        }
        places
    }
}

/// Rule 1, acknowledged writes: every article of a 2xx is stored, under its
/// id and with its text (not an older text under the same id, which a server
/// that ignores a reused id would answer 2xx for).
fn acknowledged_missing(history: &History) -> Vec<String> {
    let stored: HashMap<&str, &str> = history
        .server
        .iter()
        .map(|a| (a.id.as_str(), a.headline.as_str()))
        .collect();
    let mut missing: Vec<String> = history
        .posts
        .iter()
        .filter(|post| post.answer.stored())
        .flat_map(|post| &post.articles)
        .filter(|a| stored.get(a.id.as_str()) != Some(&a.headline.as_str()))
        .map(|a| a.headline.clone())
        .collect();
    dedup_in_order(&mut missing);
    missing
}

/// Rule 1, once; and nothing the clients did not add: the headlines stored
/// more than once (with how many times), and those no client added, in the
/// server's order.
fn once_and_expected(history: &History, places: &Places) -> (Vec<(String, usize)>, Vec<String>) {
    let added: HashSet<&str> = history.adds.iter().map(|a| a.headline.as_str()).collect();
    let (mut duplicated, mut unexpected) = (Vec::new(), Vec::new());
    for (index, article) in history.server.iter().enumerate() {
        let headline = article.headline.as_str();
        // Each of the run's headlines once, where it first is.
        if places.first.get(headline) != Some(&index) {
            continue;
        }
        if places.times[headline] > 1 {
            duplicated.push((headline.to_owned(), places.times[headline]));
        }
        if !added.contains(headline) {
            unexpected.push(headline.to_owned());
        }
    }
    (duplicated, unexpected)
}

/// Rule 2: each client's stored articles, in the order it added them, must
/// have increasing places on the server; how many are out of place.
fn out_of_order(history: &History, places: &Places) -> Vec<(String, usize)> {
    let mut misordered = Vec::new();
    for (client, name) in history.clients.iter().enumerate() {
        let mine: Vec<usize> = history
            .adds
            .iter()
            .filter(|a| a.client == client && a.outcome != AddOutcome::MustBeRefused)
            .filter_map(|a| places.first.get(a.headline.as_str()).copied())
            .collect();
        let misplaced = mine.len() - longest_increasing(&mine);
        if misplaced > 0 {
            misordered.push((name.clone(), misplaced));
        }
    }
    misordered
}

/// Rule 3: every page shows the server's list, newest first.
fn diverged_pages(history: &History) -> Vec<(String, String)> {
    let newest_first: Vec<&str> = history.server.iter().rev().map(|a| a.id.as_str()).collect();
    history
        .pages
        .iter()
        .filter_map(|page| {
            diverges(page, &newest_first, &history.server).map(|how| (page.page.clone(), how))
        })
        .collect()
}

/// Rule 5: once an article was refused on its own, no POST carries it
/// again; and none is refused more than twice (in its batch, then alone).
fn retried_after_refusal(history: &History) -> Vec<String> {
    let mut refused_alone: HashSet<&str> = HashSet::new();
    let mut refusals: HashMap<&str, usize> = HashMap::new();
    let mut retried: Vec<String> = Vec::new();
    for post in &history.posts {
        for article in &post.articles {
            if refused_alone.contains(article.headline.as_str()) {
                retried.push(article.headline.clone());
            }
        }
        if !post.answer.refused() {
            continue;
        }
        for article in &post.articles {
            let times = refusals.entry(&article.headline).or_default();
            *times += 1;
            if *times > 2 {
                retried.push(article.headline.clone());
            }
        }
        if let [alone] = post.articles.as_slice() {
            refused_alone.insert(&alone.headline);
        }
    }
    dedup_in_order(&mut retried);
    retried
}

/// Rule 6: an article stored between the moment a request of its was taken
/// and the moment the server refused or failed it was stored by that
/// request, which then should have stored nothing.
fn half_written(history: &History) -> Vec<String> {
    let created: HashMap<&str, f64> = history
        .server
        .iter()
        .filter_map(|a| Some((a.id.as_str(), a.created_ms?)))
        .collect();
    let mut half: Vec<String> = Vec::new();
    for post in history.posts.iter().filter(|p| p.answer.failed()) {
        let (Some(taken), Some(answered)) = (post.taken_ms, post.answered_ms) else {
            continue;
        };
        for article in &post.articles {
            // The server's timestamps are to the millisecond: a whole one
            // of slack each side.
            if created
                .get(article.id.as_str())
                .is_some_and(|&at| at >= taken.floor() && at <= answered.ceil())
            {
                half.push(article.headline.clone());
            }
        }
    }
    dedup_in_order(&mut half);
    half
}

/// `2026-12-06T01:31:03.428Z` (the server's `created_at`) in ms since 1970.
pub fn rfc3339_ms(text: &str) -> Option<f64> {
    let (date, time) = text.strip_suffix('Z')?.split_once('T')?;
    let mut ymd = date.splitn(3, '-').map(str::parse::<i64>);
    let (year, month, day) = (ymd.next()?.ok()?, ymd.next()?.ok()?, ymd.next()?.ok()?);
    let mut hms = time.splitn(3, ':');
    let hours: f64 = hms.next()?.parse().ok()?;
    let minutes: f64 = hms.next()?.parse().ok()?;
    let seconds: f64 = hms.next()?.parse().ok()?;
    // Days since 1970-01-01 in the proleptic Gregorian calendar (Howard
    // Hinnant's `days_from_civil`).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    let days = era * 146_097 + day_of_era - 719_468;
    Some(((days as f64 * 24.0 + hours) * 60.0 + minutes) * 60_000.0 + seconds * 1000.0)
}

fn dedup_in_order(items: &mut Vec<String>) {
    let mut seen = HashSet::new();
    items.retain(|item| seen.insert(item.clone()));
}

/// How `page` differs from the server's list (`newest_first`, by id), if it
/// does.
fn diverges(page: &PageList, newest_first: &[&str], server: &[Article]) -> Option<String> {
    let waiting: Vec<&str> = page
        .items
        .iter()
        .filter(|i| i.state.as_deref() == Some("waiting"))
        .map(|i| i.headline.as_str())
        .collect();
    if !waiting.is_empty() {
        return Some(format!(
            "{} still marked as waiting (\"{}\"…)",
            waiting.len(),
            waiting[0]
        ));
    }
    let shown: Vec<&str> = page
        .items
        .iter()
        .filter(|i| i.state.is_none())
        .map(|i| i.id.as_str())
        .collect();
    if shown == newest_first {
        return None;
    }
    let on_page: HashSet<&str> = shown.iter().copied().collect();
    let on_server: HashSet<&str> = newest_first.iter().copied().collect();
    let headline = |id: &str| {
        server
            .iter()
            .find(|a| a.id == id)
            .map_or(id.to_owned(), |a| a.headline.clone())
    };
    let missing: Vec<&str> = newest_first
        .iter()
        .copied()
        .filter(|id| !on_page.contains(id))
        .collect();
    if let Some(first) = missing.first() {
        return Some(format!(
            "{} of the server's {} articles missing (\"{}\"…)",
            missing.len(),
            newest_first.len(),
            headline(first)
        ));
    }
    if let Some(extra) = shown.iter().find(|id| !on_server.contains(*id)) {
        return Some(format!("shows \"{}\", which the server does not have", {
            page.items
                .iter()
                .find(|i| i.id == *extra)
                .map_or(*extra, |i| i.headline.as_str())
        }));
    }
    if shown.len() != newest_first.len() {
        return Some(format!(
            "{} items for the server's {}",
            shown.len(),
            newest_first.len()
        ));
    }
    Some("the same articles, in another order".to_owned())
}

/// The length of the longest strictly increasing subsequence of `places`:
/// the articles that are in order; the others are out of place.
fn longest_increasing(places: &[usize]) -> usize {
    // `tails[k]`: the smallest last place of an increasing run of k + 1.
    let mut tails: Vec<usize> = Vec::new();
    for &place in places {
        let at = tails.partition_point(|&tail| tail < place);
        if at == tails.len() {
            tails.push(place);
        } else {
            tails[at] = place;
        }
    }
    tails.len()
}

#[cfg(test)]
mod tests;
