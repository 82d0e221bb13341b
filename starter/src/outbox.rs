//! The outbox's bookkeeping, free of any browser API so that it can be tested
//! natively: how queued articles are cut into requests, and what the worker
//! does with each answer from the server.
//!
//! The rule that makes Background Sync work: the worker deletes an article
//! from the outbox only once the server has *confirmed* it, and the sync
//! handler's promise rejects whenever something is left to retry. A rejected
//! promise is how the browser learns to fire `sync` again later; a resolved
//! one tells it the work is done, and it never asks again.
//!
//! What the page and the notifications *say* about the outbox is in
//! `status_text.rs`; the worker's IndexedDB store and its delivery to the
//! server, in `idb.rs` and `delivery.rs`. The order in which a delivery sends
//! the outbox and what it makes of each answer ([`send_in_order`]) is here,
//! written over two functions it is given (one POST, one delete), so that the
//! tests can play the server.

use std::ops::Range;

use crate::article::{Article, NewArticle};
use crate::js_codec::{Plain, Value, nested, number};

/// One entry of the worker's outbox, as IndexedDB keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Queued {
    /// IndexedDB's auto-increment key: the order articles were added in.
    /// Absent until IndexedDB has stored the entry.
    pub seq: Option<f64>,
    pub article: NewArticle,
    /// When it was queued, in milliseconds since the epoch.
    pub queued_at: f64,
}

/// Most articles in one POST. The server refuses bigger batches.
pub const MAX_BATCH_ARTICLES: usize = 100;
/// Largest request body the server accepts, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the worker does with an article after one attempt to deliver it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// 2xx: the server has it (perhaps from an earlier try: ids make the POST
    /// idempotent). Delete it from the outbox.
    Stored,
    /// 4xx: the server will never take this request as it is. Retrying would
    /// block the queue forever, so take it out and tell the user.
    Refused,
    /// Network error, 408, 429 or 5xx: the server may take it later. Keep it
    /// and make the sync fail so the browser retries.
    RetryLater,
}

impl Delivery {
    /// Classifies an HTTP status. `None` means the fetch itself failed (no
    /// network, connection refused) — the commonest case while offline.
    pub fn from_status(status: Option<u16>) -> Self {
        match status {
            Some(200..=299) => Delivery::Stored,
            // Timeouts and rate limits are the server asking us to come back.
            Some(408 | 429) => Delivery::RetryLater,
            Some(400..=499) => Delivery::Refused,
            _ => Delivery::RetryLater,
        }
    }
}

/// An outbox entry as a POST carries it: the article's fields, and when it
/// was queued (`{"id", "headline", "byline", "queued_at"}`). The server, not
/// the worker, judges an article's age by `queued_at` ([`RETENTION_MS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    pub article: NewArticle,
    /// When it was queued, in whole milliseconds since the epoch; `None`
    /// for a time no server could read (not finite, or beyond the integers
    /// JSON numbers hold exactly), which then goes without its age.
    pub queued_at: Option<f64>,
}

impl From<&Queued> for Posted {
    fn from(entry: &Queued) -> Self {
        const LARGEST_EXACT: f64 = 9_007_199_254_740_991.0; // 2^53 - 1
        let queued_at = entry.queued_at.floor();
        Posted {
            article: entry.article.clone(),
            queued_at: (queued_at.abs() <= LARGEST_EXACT).then_some(queued_at),
        }
    }
}

/// Cuts the queue into consecutive batches, in order, each within the
/// server's limits on count and on body size. An article too big for any
/// batch still gets one of its own: the server will refuse it with a clear
/// error, and it is then dropped rather than stuck forever.
pub fn batches(queue: &[Queued]) -> Vec<Range<usize>> {
    // The JSON array adds `[`, `]` and a comma per article; leave room.
    const BUDGET: usize = MAX_BODY_BYTES - 64;
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, entry) in queue.iter().enumerate() {
        let size = encoded_len(&Posted::from(entry)) + 1;
        let full = index - start == MAX_BATCH_ARTICLES || bytes + size > BUDGET;
        if index > start && full {
            ranges.push(start..index);
            start = index;
            bytes = 0;
        }
        bytes += size;
    }
    if start < queue.len() {
        ranges.push(start..queue.len());
    }
    ranges
}

/// The length of `posted` as JSON,
/// `{"id":"…","headline":"…","byline":"…","queued_at":…}`, counted rather
/// than written out: the worker has no JSON encoder of its own (`js_codec.rs`
/// says why).
fn encoded_len(posted: &Posted) -> usize {
    const FRAME: usize = r#"{"id":"","headline":"","byline":""}"#.len();
    const QUEUED_AT: usize = r#","queued_at":"#.len();
    let article = &posted.article;
    FRAME
        + json_string_len(&article.id)
        + json_string_len(&article.headline)
        + json_string_len(&article.byline)
        + posted
            .queued_at
            .map_or(0, |at| QUEUED_AT + whole_number_len(at))
}

/// The bytes of `text` inside a JSON string, escapes included. JavaScript's
/// `JSON.stringify`, which writes the worker's request bodies, escapes what
/// RFC 8259 requires and nothing more: `"`, `\\` and control characters,
/// with a two-byte short form (`\n`) where there is one, else `\u00XX`.
fn json_string_len(text: &str) -> usize {
    text.chars()
        .map(|c| match c {
            '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
            '\0'..='\u{1f}' => 6,
            _ => c.len_utf8(),
        })
        .sum()
}

/// The digits (and sign) of a whole number below 2^53, as `JSON.stringify`
/// writes it. Counted, not formatted: `f64`'s `Display` alone would add
/// 16 kB to the `.wasm`.
fn whole_number_len(number: f64) -> usize {
    let mut magnitude = number.abs() as u64;
    let mut digits = 1;
    while magnitude >= 10 {
        magnitude /= 10;
        digits += 1;
    }
    digits + usize::from(number < 0.0)
}

/// How long after it was queued an article is still taken, in milliseconds:
/// 7 days. News that could not be sent for a week is stale.
///
/// The *server* applies this rule, by its own clock, to the `queued_at` each
/// article carries ([`expired`]); the worker never drops an article by its
/// own clock. A client's clock can jump: were the worker to judge, a clock
/// that jumped eight days forward would drop an article the user confirmed
/// an hour ago — data loss. Judged by the server's clock, that article is an
/// hour old, and stored. A truly stale one is refused (a `422` whose `code`
/// is [`EXPIRED_CODE`]) and the worker reports it as dropped for its age, to
/// the pages and with a notification: never silently.
///
/// What `queued_at` cannot tell: a clock already wrong when the article was
/// queued. One running days behind makes a fresh article look stale (it is
/// refused, and the user is told), one running ahead makes a stale one look
/// fresh (it is published): neither is lost without a word.
pub const RETENTION_MS: f64 = 7.0 * 24.0 * 60.0 * 60.0 * 1000.0;

/// The `code` of the server's refusal of an article queued longer than
/// [`RETENTION_MS`] before it arrived.
pub const EXPIRED_CODE: &str = "expired";

/// Whether an article queued at `queued_at_ms` is past [`RETENTION_MS`] at
/// `now_ms`: on the server, by the server's clock.
pub fn expired(queued_at_ms: f64, now_ms: f64) -> bool {
    now_ms - queued_at_ms > RETENTION_MS
}

/// An outbox entry. `seq` is IndexedDB's key: absent until it is stored.
impl Plain for Queued {
    fn to_plain<V: Value>(&self) -> V {
        let mut fields = vec![
            ("article", self.article.to_plain()),
            ("queued_at", V::number(self.queued_at)),
        ];
        if let Some(seq) = self.seq {
            fields.push(("seq", V::number(seq)));
        }
        V::object(fields)
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        Ok(Queued {
            seq: value
                .field("seq")
                .map(|_| number(value, "seq"))
                .transpose()?,
            article: nested(value, "article")?,
            queued_at: number(value, "queued_at")?,
        })
    }
}

/// An article as a POST carries it: `queued_at` beside the article's fields,
/// and left out when there is no time to send.
impl Plain for Posted {
    fn to_plain<V: Value>(&self) -> V {
        let mut fields = vec![
            ("id", V::text(&self.article.id)),
            ("headline", V::text(&self.article.headline)),
            ("byline", V::text(&self.article.byline)),
        ];
        if let Some(queued_at) = self.queued_at {
            fields.push(("queued_at", V::number(queued_at)));
        }
        V::object(fields)
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        Ok(Posted {
            article: NewArticle::from_plain(value)?,
            queued_at: value
                .field("queued_at")
                .map(|_| number(value, "queued_at"))
                .transpose()?,
        })
    }
}

/// The server's answer to one POST, as the worker reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// 2xx: every article of the request is stored (perhaps by an earlier
    /// try), with the server's list if it could be read.
    Stored(Option<Vec<Article>>),
    /// 4xx: the server stored none of the request, and never will as it is;
    /// `expired` when the reason is the article's age ([`EXPIRED_CODE`]).
    Refused { reason: String, expired: bool },
    /// No answer, 408, 429 or 5xx: the server may take it later.
    RetryLater(String),
}

/// What one delivery of the outbox did.
#[derive(Debug, Default, PartialEq)]
pub struct Flushed {
    /// Stored by the server, in the order they were queued.
    pub delivered: Vec<NewArticle>,
    /// Refused for good by the server (a 4xx), with its reason: a bad
    /// article, or an id already used for a different one (`409`). Out of
    /// the outbox: retrying would block the queue forever.
    pub refused: Vec<(NewArticle, String)>,
    /// Refused by the server because it was queued more than
    /// [`RETENTION_MS`] before it arrived: stale news, out of the outbox.
    pub dropped: Vec<NewArticle>,
    /// The server's list after the last successful POST.
    pub articles: Option<Vec<Article>>,
    /// Why delivery stopped early, if it did (no network, a 5xx): the rest
    /// is still in the outbox, and the caller should have it retried.
    pub stopped: Option<String>,
}

impl Flushed {
    /// Takes in the server's answer for `sent`. `false` when delivery must
    /// stop here, with `sent` and everything after it still queued.
    fn take(&mut self, sent: &[Queued], answer: Answer) -> bool {
        let articles = sent.iter().map(|entry| entry.article.clone());
        match answer {
            Answer::Stored(list) => {
                self.delivered.extend(articles);
                self.articles = list.or(self.articles.take());
            }
            Answer::Refused { expired: true, .. } => self.dropped.extend(articles),
            Answer::Refused { reason, .. } => {
                self.refused
                    .extend(articles.map(|article| (article, reason.clone())));
            }
            Answer::RetryLater(reason) => {
                self.stopped = Some(reason);
                return false;
            }
        }
        true
    }
}

// ANCHOR: send_in_order
/// Sends `queue` (the outbox, oldest first) with `post`, in batches the
/// server accepts ([`batches`]), and after each batch calls `settle` with
/// the front of the queue the server has answered for, which the caller
/// deletes from the outbox. A no-answer or a 5xx stops it there, with the
/// rest still queued, in order.
///
/// The server takes a request whole or not at all: a 4xx means none of it
/// was stored. One bad article in a batch (refused for what it says, for its
/// age, or for an id already used for a different article: a `409`) must not
/// take the good ones down with it, so a refused batch is sent again one
/// article at a time, and each article is delivered or refused on its own
/// answer, never on its batch's.
pub async fn send_in_order<E>(
    queue: &[Queued],
    mut post: impl AsyncFnMut(&[Queued]) -> Answer,
    mut settle: impl AsyncFnMut(&[Queued]) -> Result<(), E>,
) -> Result<Flushed, E> {
    let mut flushed = Flushed::default();
    for batch in batches(queue) {
        let sent = &queue[batch.clone()];
        let answer = post(sent).await;
        if sent.len() > 1 && matches!(answer, Answer::Refused { .. }) {
            for index in batch.clone() {
                let one = &queue[index..=index];
                let answer = post(one).await;
                if !flushed.take(one, answer) {
                    settle(&queue[..index]).await?;
                    return Ok(flushed);
                }
            }
        } else if !flushed.take(sent, answer) {
            return Ok(flushed);
        }
        settle(&queue[..batch.end]).await?;
    }
    Ok(flushed)
}
// ANCHOR_END: send_in_order

#[cfg(test)]
mod tests;
