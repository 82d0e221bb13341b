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
//! server, in `idb.rs` and `delivery.rs`.

use crate::article::NewArticle;
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

/// Cuts the queue into consecutive batches, in order, each within the
/// server's limits on count and on body size. An article too big for any
/// batch still gets one of its own: the server will refuse it with a clear
/// error, and it is then dropped rather than stuck forever.
pub fn batches(queue: &[NewArticle]) -> Vec<std::ops::Range<usize>> {
    // The JSON array adds `[`, `]` and a comma per article; leave room.
    const BUDGET: usize = MAX_BODY_BYTES - 64;
    let mut ranges = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, article) in queue.iter().enumerate() {
        let size = encoded_len(article) + 1;
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

/// The length of `article` as JSON, `{"id":"…","headline":"…","byline":"…"}`,
/// counted rather than written out: the worker has no JSON encoder of its own
/// (`js_codec.rs` says why).
fn encoded_len(article: &NewArticle) -> usize {
    const FRAME: usize = r#"{"id":"","headline":"","byline":""}"#.len();
    FRAME
        + json_string_len(&article.id)
        + json_string_len(&article.headline)
        + json_string_len(&article.byline)
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

/// How long an article may wait in the outbox, in milliseconds: 7 days.
/// News that could not be sent for a week is stale; the worker drops it and
/// tells the user (never silently), rather than keep trying forever.
pub const RETENTION_MS: f64 = 7.0 * 24.0 * 60.0 * 60.0 * 1000.0;

/// Whether an entry has waited longer than [`RETENTION_MS`] at `now_ms`.
pub fn expired(entry: &Queued, now_ms: f64) -> bool {
    now_ms - entry.queued_at > RETENTION_MS
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::js_codec::shapes::round_trip;

    fn article(n: usize, headline_len: usize) -> NewArticle {
        NewArticle {
            id: format!("00000000-0000-4000-8000-{n:012}"),
            headline: "h".repeat(headline_len),
            byline: "b".into(),
        }
    }

    #[test]
    fn statuses_decide_what_happens_to_an_article() {
        use Delivery::*;
        let cases = [
            (Some(200), Stored),
            (Some(201), Stored),
            (Some(400), Refused),
            (Some(413), Refused),
            (Some(422), Refused),
            (Some(408), RetryLater),
            (Some(429), RetryLater),
            (Some(500), RetryLater),
            (Some(503), RetryLater),
            (None, RetryLater),
        ];
        for (status, expected) in cases {
            assert_eq!(Delivery::from_status(status), expected, "{status:?}");
        }
    }

    #[test]
    fn batches_keep_order_and_respect_the_count_limit() {
        let queue: Vec<_> = (0..250).map(|n| article(n, 10)).collect();
        assert_eq!(batches(&queue), vec![0..100, 100..200, 200..250]);
        assert!(batches(&[]).is_empty());
    }

    #[test]
    fn batches_respect_the_body_limit() {
        // ~800-byte articles: 64 KiB holds about 80 of them.
        let queue: Vec<_> = (0..100).map(|n| article(n, 800)).collect();
        let ranges = batches(&queue);
        assert!(ranges.len() >= 2, "{ranges:?}");
        for range in &ranges {
            let body = serde_json::to_vec(&queue[range.clone()]).unwrap();
            assert!(
                body.len() <= MAX_BODY_BYTES,
                "{range:?} is {} bytes",
                body.len()
            );
        }
        let covered: usize = ranges.iter().map(|r| r.len()).sum();
        assert_eq!(covered, queue.len());
    }

    proptest::proptest! {
        #[test]
        fn the_counted_length_is_what_json_takes(
            id in "\\PC{0,40}", headline in "(\\PC|\\pC){0,60}", byline in ".{0,20}"
        ) {
            let article = NewArticle { id, headline, byline };
            proptest::prop_assert_eq!(
                encoded_len(&article),
                serde_json::to_vec(&article).unwrap().len()
            );
        }
    }

    #[test]
    fn an_oversized_article_gets_a_batch_of_its_own() {
        let queue = vec![article(0, 10), article(1, MAX_BODY_BYTES), article(2, 10)];
        assert_eq!(batches(&queue), vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn an_entry_expires_after_seven_days() {
        let day = 24.0 * 60.0 * 60.0 * 1000.0;
        let entry = Queued {
            seq: Some(1.0),
            article: article(1, 10),
            queued_at: 1_000.0,
        };
        assert!(!expired(&entry, 1_000.0 + 7.0 * day));
        assert!(expired(&entry, 1_000.0 + 7.0 * day + 1.0));
    }

    #[test]
    fn outbox_entries_have_the_shape_the_harness_writes() {
        let stored = Queued {
            seq: Some(7.0),
            article: article(1, 1),
            queued_at: 1_700_000_000_000.0,
        };
        let plain_article = || article(1, 1).to_plain::<serde_json::Value>();
        round_trip(
            stored.clone(),
            json!({"seq": 7, "article": plain_article(), "queued_at": 1_700_000_000_000_i64}),
        );
        // Before IndexedDB has given it a key.
        round_trip(
            Queued {
                seq: None,
                ..stored
            },
            json!({"article": plain_article(), "queued_at": 1_700_000_000_000_i64}),
        );
        assert_eq!(
            Queued::from_plain(&json!({"article": plain_article()})),
            Err("`queued_at` is missing".to_owned())
        );
    }
}
