//! The outbox's rules, tested natively: the statuses, the batches, the
//! shapes IndexedDB and the server see, and a delivery against a server the
//! tests play.

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

/// An outbox entry, queued at 1 000 000 ms.
fn entry(n: usize, headline_len: usize) -> Queued {
    Queued {
        seq: Some(n as f64 + 1.0),
        article: article(n, headline_len),
        queued_at: 1_000_000.0,
    }
}

/// The JSON body a POST of `batch` carries.
fn body(batch: &[Queued]) -> Vec<u8> {
    let posted: Vec<Posted> = batch.iter().map(Posted::from).collect();
    serde_json::to_vec(&posted.to_plain::<serde_json::Value>()).unwrap()
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
    let queue: Vec<_> = (0..250).map(|n| entry(n, 10)).collect();
    assert_eq!(batches(&queue), vec![0..100, 100..200, 200..250]);
    assert!(batches(&[]).is_empty());
}

#[test]
fn batches_respect_the_body_limit() {
    // ~800-byte articles: 64 KiB holds about 80 of them.
    let queue: Vec<_> = (0..100).map(|n| entry(n, 800)).collect();
    let ranges = batches(&queue);
    assert!(ranges.len() >= 2, "{ranges:?}");
    for range in &ranges {
        let body = body(&queue[range.clone()]);
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
        id in "\\PC{0,40}", headline in "(\\PC|\\pC){0,60}", byline in ".{0,20}",
        queued_at in proptest::option::of(-8_999_999_999_999_999_i64..8_999_999_999_999_999),
    ) {
        let posted = Posted {
            article: NewArticle { id, headline, byline },
            queued_at: queued_at.map(|at| at as f64),
        };
        proptest::prop_assert_eq!(
            encoded_len(&posted),
            serde_json::to_vec(&posted.to_plain::<serde_json::Value>()).unwrap().len()
        );
    }
}

#[test]
fn an_oversized_article_gets_a_batch_of_its_own() {
    let queue = vec![entry(0, 10), entry(1, MAX_BODY_BYTES), entry(2, 10)];
    assert_eq!(batches(&queue), vec![0..1, 1..2, 2..3]);
}

#[test]
fn an_article_expires_seven_days_after_it_was_queued() {
    let day = 24.0 * 60.0 * 60.0 * 1000.0;
    assert!(!expired(1_000.0, 1_000.0 + 7.0 * day));
    assert!(expired(1_000.0, 1_000.0 + 7.0 * day + 1.0));
    // Queued "in the future" by a clock running ahead: not stale.
    assert!(!expired(1_000.0 + day, 1_000.0));
}

#[test]
fn posted_articles_carry_when_they_were_queued() {
    let posted = Posted::from(&entry(1, 1));
    round_trip(
        posted.clone(),
        json!({
            "id": article(1, 1).id, "headline": "h", "byline": "b", "queued_at": 1_000_000
        }),
    );
    round_trip(
        Posted {
            queued_at: None,
            ..posted
        },
        json!({"id": article(1, 1).id, "headline": "h", "byline": "b"}),
    );
    // Whole milliseconds; a time JSON cannot hold exactly is left out.
    let at = |queued_at| {
        Posted::from(&Queued {
            queued_at,
            ..entry(1, 1)
        })
        .queued_at
    };
    assert_eq!(at(1_700_000_000_000.75), Some(1_700_000_000_000.0));
    assert_eq!(at(f64::NAN), None);
    assert_eq!(at(f64::INFINITY), None);
    assert_eq!(at(1e300), None);
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

/// A server as the worker sees it: it stores a request whole or not at
/// all, refuses an id already used for a different article (`409`) and
/// an article queued over 7 days before its own clock (`422`, expired),
/// and can go down (no answer) from a given POST on.
struct FakeServer {
    stored: Vec<NewArticle>,
    now: f64,
    /// The ids each POST carried, in order.
    posts: Vec<Vec<String>>,
    /// From this many POSTs on, no answer.
    down_after: usize,
}

impl FakeServer {
    fn new() -> Self {
        FakeServer {
            stored: Vec::new(),
            now: 1_000_000.0,
            posts: Vec::new(),
            down_after: usize::MAX,
        }
    }

    fn answer(&mut self, batch: &[Queued]) -> Answer {
        self.posts
            .push(batch.iter().map(|q| q.article.id.clone()).collect());
        if self.posts.len() > self.down_after {
            return Answer::RetryLater("the server could not be reached".into());
        }
        let mut new: Vec<NewArticle> = Vec::new();
        for (index, entry) in batch.iter().enumerate() {
            if expired(entry.queued_at, self.now) {
                return Answer::Refused {
                    reason: format!("[{index}].queued_at: queued too long ago"),
                    expired: true,
                };
            }
            let id = &entry.article.id;
            match self.stored.iter().chain(&new).find(|a| &a.id == id) {
                Some(known) if *known != entry.article => {
                    return Answer::Refused {
                        reason: format!("[{index}].id: {id} names a different article"),
                        expired: false,
                    };
                }
                Some(_) => {}
                None => new.push(entry.article.clone()),
            }
        }
        self.stored.extend(new);
        Answer::Stored(None)
    }
}

/// Polls a future that never waits (the fake server answers at once).
fn run<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the delivery waited on something the test never wakes"),
    }
}

/// One delivery of `queue` to `server`: what it did, and how much of
/// the front of the queue it settled (took out of the outbox).
fn deliver(server: &mut FakeServer, queue: &[Queued]) -> (Flushed, usize) {
    let server = std::cell::RefCell::new(server);
    let settled = std::cell::Cell::new(0);
    let flushed = run(send_in_order(
        queue,
        async |batch: &[Queued]| server.borrow_mut().answer(batch),
        async |front: &[Queued]| {
            assert!(front.len() >= settled.get(), "settled went backwards");
            settled.set(front.len());
            Ok::<(), ()>(())
        },
    ))
    .unwrap();
    (flushed, settled.get())
}

fn reusing(n: usize, headline: &str) -> Queued {
    let mut entry = entry(n, 1);
    entry.article.headline = headline.into();
    entry
}

fn articles(queue: &[&Queued]) -> Vec<NewArticle> {
    queue.iter().map(|q| q.article.clone()).collect()
}

#[test]
fn an_id_reused_for_another_article_is_refused_and_the_rest_delivered_in_order() {
    let mut server = FakeServer::new();
    server.stored.push(reusing(1, "First").article);
    let (before, reused, after) = (entry(0, 5), reusing(1, "Different"), entry(2, 5));
    let queue = [before.clone(), reused.clone(), after.clone()];

    let (flushed, settled) = deliver(&mut server, &queue);
    assert_eq!(flushed.delivered, articles(&[&before, &after]));
    assert_eq!(flushed.refused.len(), 1, "{flushed:?}");
    assert_eq!(flushed.refused[0].0, reused.article);
    assert!(flushed.refused[0].1.contains(&reused.article.id));
    assert!(flushed.dropped.is_empty() && flushed.stopped.is_none());
    assert_eq!(settled, 3, "all three are answered for");
    // The batch, then each article alone: none judged by its batch.
    assert_eq!(server.posts.len(), 4);
    let headlines: Vec<_> = server.stored.iter().map(|a| &a.headline).collect();
    assert_eq!(headlines, ["First", "hhhhh", "hhhhh"], "never overwritten");
}

#[test]
fn an_id_twice_in_one_batch_with_different_text_keeps_the_first() {
    let mut server = FakeServer::new();
    let (first, second) = (reusing(1, "First"), reusing(1, "Different"));
    let (flushed, settled) = deliver(&mut server, &[first.clone(), second.clone()]);
    assert_eq!(flushed.delivered, articles(&[&first]));
    assert_eq!(
        flushed.refused.iter().map(|r| &r.0).collect::<Vec<_>>(),
        [&second.article]
    );
    assert_eq!(settled, 2);
    assert_eq!(server.stored, articles(&[&first]));
}

#[test]
fn the_same_article_sent_again_is_delivered_not_refused() {
    // The server stored the batch and died before it answered: the
    // next sync sends it again, and it is the same content.
    let mut server = FakeServer::new();
    let queue = [entry(0, 5), entry(1, 5)];
    server.stored.push(queue[0].article.clone());
    let (flushed, settled) = deliver(&mut server, &queue);
    assert_eq!(flushed.delivered, articles(&[&queue[0], &queue[1]]));
    assert!(flushed.refused.is_empty());
    assert_eq!((settled, server.posts.len()), (2, 1));
}

#[test]
fn a_stale_article_is_dropped_and_does_not_block_the_next() {
    let mut server = FakeServer::new();
    let mut stale = entry(0, 5);
    stale.queued_at = server.now - RETENTION_MS - 1.0;
    let fresh = entry(1, 5);
    let (flushed, settled) = deliver(&mut server, &[stale.clone(), fresh.clone()]);
    assert_eq!(flushed.dropped, articles(&[&stale]));
    assert_eq!(flushed.delivered, articles(&[&fresh]));
    assert!(flushed.refused.is_empty());
    assert_eq!(settled, 2);
}

#[test]
fn a_client_clock_that_jumped_forward_loses_nothing() {
    // One queued an hour ago (by the server's clock), one queued after
    // the client's clock jumped eight days ahead: the worker drops
    // neither by its own clock, and the server, by its clock, takes both.
    let mut server = FakeServer::new();
    let hour = 60.0 * 60.0 * 1000.0;
    let mut before_jump = entry(0, 5);
    before_jump.queued_at = server.now - hour;
    let mut after_jump = entry(1, 5);
    after_jump.queued_at = server.now + 8.0 * 24.0 * hour;
    let queue = [before_jump.clone(), after_jump.clone()];
    let (flushed, _) = deliver(&mut server, &queue);
    assert_eq!(flushed.delivered, articles(&[&before_jump, &after_jump]));
    assert!(flushed.dropped.is_empty() && flushed.refused.is_empty());
}

#[test]
fn no_answer_stops_delivery_with_everything_still_queued() {
    let mut server = FakeServer::new();
    server.down_after = 0;
    let (flushed, settled) = deliver(&mut server, &[entry(0, 5), entry(1, 5)]);
    assert!(flushed.stopped.is_some());
    assert!(flushed.delivered.is_empty() && flushed.refused.is_empty());
    assert_eq!(settled, 0);
}

#[test]
fn no_answer_while_a_refused_batch_is_split_keeps_the_rest_queued_in_order() {
    let mut server = FakeServer::new();
    server.stored.push(reusing(1, "First").article);
    let queue = [
        entry(0, 5),
        reusing(1, "Different"),
        entry(2, 5),
        entry(3, 5),
    ];
    // The batch, [0] alone and [1] alone are answered; [2] is not.
    server.down_after = 3;
    let (flushed, settled) = deliver(&mut server, &queue);
    assert_eq!(flushed.delivered, articles(&[&queue[0]]));
    assert_eq!(flushed.refused.len(), 1);
    assert!(flushed.stopped.is_some());
    assert_eq!(settled, 2, "[2] and [3] stay queued");

    // The next sync, with the server back, sends the rest in order.
    server.down_after = usize::MAX;
    let (flushed, settled) = deliver(&mut server, &queue[settled..]);
    assert_eq!(flushed.delivered, articles(&[&queue[2], &queue[3]]));
    assert_eq!(settled, 2);
}

#[test]
fn only_the_refused_batch_is_split() {
    let mut server = FakeServer::new();
    server.stored.push(reusing(120, "First").article);
    let mut queue: Vec<Queued> = (0..150).map(|n| entry(n, 5)).collect();
    queue[120] = reusing(120, "Different");
    let (flushed, settled) = deliver(&mut server, &queue);
    let expected: Vec<NewArticle> = queue
        .iter()
        .filter(|q| q.article.headline != "Different")
        .map(|q| q.article.clone())
        .collect();
    assert_eq!(flushed.delivered, expected);
    assert_eq!(flushed.refused.len(), 1);
    assert_eq!(settled, 150);
    // 0..100 in one POST; 100..150 refused, then its 50 one by one.
    assert_eq!(server.posts.len(), 1 + 1 + 50);
}
