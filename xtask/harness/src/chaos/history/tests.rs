//! The history checker, tested on hand-made histories that break each rule.

use super::*;

/// A seed article of the server, not the run's.
fn seed() -> Article {
    Article {
        id: "seed".into(),
        headline: "Local man discovers offline mode".into(),
        created_ms: None,
    }
}

fn article(headline: &str) -> Article {
    Article {
        id: format!("id-{headline}"),
        headline: format!("Run {headline}"),
        created_ms: None,
    }
}

fn add(client: usize, headline: &str, outcome: AddOutcome) -> Add {
    Add {
        client,
        headline: format!("Run {headline}"),
        outcome,
    }
}

fn page_showing(name: &str, server: &[Article]) -> PageList {
    PageList {
        page: name.into(),
        items: server
            .iter()
            .rev()
            .map(|a| Shown {
                id: a.id.clone(),
                headline: a.headline.clone(),
                state: None,
            })
            .collect(),
    }
}

/// Two clients, a0 a1 from client 0 and b0 b1 from client 1, stored in
/// an interleaving that keeps each client's order, both pages showing
/// the list, both outboxes empty; one batch retried after its answer
/// was lost, one refused article sent once alone.
fn clean() -> History {
    let server = vec![
        seed(),
        article("a0"),
        article("b0"),
        article("a1"),
        article("b1"),
    ];
    History {
        prefix: "Run ".into(),
        clients: vec!["chromium-a tab 0".into(), "firefox tab 0".into()],
        adds: vec![
            add(0, "a0", AddOutcome::Confirmed),
            add(1, "b0", AddOutcome::Confirmed),
            add(0, "a1", AddOutcome::Confirmed),
            add(1, "b1", AddOutcome::Unknown),
            add(1, "stale", AddOutcome::MustBeRefused),
        ],
        posts: vec![
            Post {
                via: "chromium-a".into(),
                articles: vec![article("a0")],
                answer: Answer::Unheard(201),
                taken_ms: None,
                answered_ms: None,
            },
            Post {
                via: "chromium-a".into(),
                articles: vec![article("a0")],
                answer: Answer::Status(200),
                taken_ms: None,
                answered_ms: None,
            },
            Post {
                via: "firefox".into(),
                articles: vec![article("stale"), article("b0")],
                answer: Answer::Status(422),
                taken_ms: None,
                answered_ms: None,
            },
            Post {
                via: "firefox".into(),
                articles: vec![article("stale")],
                answer: Answer::Status(422),
                taken_ms: None,
                answered_ms: None,
            },
            Post {
                via: "firefox".into(),
                articles: vec![article("b0")],
                answer: Answer::Status(201),
                taken_ms: None,
                answered_ms: None,
            },
            Post {
                via: "chromium-a".into(),
                articles: vec![article("a1")],
                answer: Answer::FromProxy(503),
                taken_ms: None,
                answered_ms: None,
            },
            Post {
                via: "chromium-a".into(),
                articles: vec![article("a1")],
                answer: Answer::Status(201),
                taken_ms: None,
                answered_ms: None,
            },
            Post {
                via: "firefox".into(),
                articles: vec![article("b1")],
                answer: Answer::Status(201),
                taken_ms: None,
                answered_ms: None,
            },
        ],
        pages: vec![
            page_showing("chromium-a tab 0", &server),
            page_showing("firefox tab 0", &server),
        ],
        server,
        outboxes: vec![
            Outbox {
                browser: "chromium-a".into(),
                headlines: vec![],
            },
            Outbox {
                browser: "firefox".into(),
                headlines: vec![],
            },
        ],
    }
}

#[test]
fn a_history_that_keeps_every_rule_is_ok() {
    let verdict = check(&clean());
    assert!(verdict.ok(), "{verdict}");
    assert_eq!(verdict.confirmed, 3);
    assert_eq!(verdict.to_string(), "ok");
}

#[test]
fn a_confirmed_article_missing_from_the_server_is_lost() {
    let mut history = clean();
    history.server.retain(|a| a.headline != "Run a1");
    let verdict = check(&history);
    assert_eq!(verdict.lost, ["Run a1"]);
    // It was acknowledged too; the pages, built from the old list, no
    // longer match.
    assert_eq!(verdict.acknowledged_missing, ["Run a1"]);
    assert!(!verdict.ok());
}

#[test]
fn an_unconfirmed_article_may_be_missing() {
    let mut history = clean();
    history.server.retain(|a| a.headline != "Run b1");
    history.posts.retain(|p| p.articles != [article("b1")]);
    let server = history.server.clone();
    history.pages = vec![page_showing("chromium-a tab 0", &server)];
    assert!(check(&history).ok(), "{}", check(&history));
}

#[test]
fn an_unconfirmed_article_stored_once_in_its_order_is_fine() {
    // In `clean`, "b1" never reached a confirmation (the page was gone), and
    // its worker delivered it anyway: that is the outbox doing its job.
    let history = clean();
    let b1 = history.adds.iter().find(|a| a.headline == "Run b1");
    assert_eq!(b1.map(|a| a.outcome), Some(AddOutcome::Unknown));
    assert!(history.server.iter().any(|a| a.headline == "Run b1"));
    let verdict = check(&history);
    assert!(verdict.unexpected.is_empty() && verdict.lost.is_empty());
    assert!(verdict.ok(), "{verdict}");
}

#[test]
fn a_2xx_that_did_not_store_is_caught_even_unconfirmed() {
    let mut history = clean();
    history.server.retain(|a| a.headline != "Run b1");
    let server = history.server.clone();
    history.pages = vec![page_showing("p", &server)];
    let verdict = check(&history);
    assert!(verdict.lost.is_empty());
    assert_eq!(verdict.acknowledged_missing, ["Run b1"]);
}

#[test]
fn a_2xx_for_an_id_stored_with_other_text_is_caught() {
    // A server that answers 200 for an id it has under another
    // headline, silently dropping the new text.
    let mut history = clean();
    history
        .adds
        .push(add(0, "reused", AddOutcome::MustBeRefused));
    history.posts.push(Post {
        via: "chromium-a".into(),
        articles: vec![Article {
            id: "id-a0".into(),
            headline: "Run reused".into(),
            created_ms: None,
        }],
        answer: Answer::Status(200),
        taken_ms: None,
        answered_ms: None,
    });
    let verdict = check(&history);
    assert_eq!(verdict.acknowledged_missing, ["Run reused"]);
    assert!(verdict.stored_though_refused.is_empty());
}

#[test]
fn an_article_stored_twice_is_duplicated() {
    let mut history = clean();
    // The same headline under a second id: the retry made a new one.
    history.server.push(Article {
        id: "other".into(),
        headline: "Run a0".into(),
        created_ms: None,
    });
    let server = history.server.clone();
    history.pages = vec![page_showing("p", &server)];
    let verdict = check(&history);
    assert_eq!(verdict.duplicated, [("Run a0".to_owned(), 2)]);
    assert_eq!(verdict.duplicates(), 1);
    assert!(verdict.out_of_order.is_empty(), "first places count");
    assert!(!verdict.ok());
}

#[test]
fn a_clients_articles_stored_out_of_its_order_are_counted() {
    let mut history = clean();
    // a1 before a0.
    history.server.swap(1, 3);
    let server = history.server.clone();
    history.pages = vec![page_showing("p", &server)];
    let verdict = check(&history);
    assert_eq!(verdict.out_of_order, [("chromium-a tab 0".to_owned(), 1)]);
    assert_eq!(verdict.misordered(), 1);
    assert!(verdict.lost.is_empty() && verdict.duplicated.is_empty());
}

#[test]
fn the_fewest_moves_are_counted_as_out_of_order() {
    assert_eq!(longest_increasing(&[]), 0);
    assert_eq!(longest_increasing(&[1, 2, 3]), 3);
    // One article moved to the end: one out of place, not four.
    assert_eq!(5 - longest_increasing(&[9, 1, 2, 3, 4]), 1);
    assert_eq!(longest_increasing(&[3, 2, 1]), 1);
}

#[test]
fn a_page_that_did_not_converge_is_named() {
    let mut history = clean();
    // An old list: without the last article.
    let old = &history.server[..history.server.len() - 1];
    history.pages[0] = page_showing("chromium-a tab 0", old);
    let verdict = check(&history);
    assert_eq!(verdict.diverged.len(), 1);
    assert_eq!(verdict.diverged[0].0, "chromium-a tab 0");
    assert!(
        verdict.diverged[0]
            .1
            .contains("1 of the server's 5 articles missing (\"Run b1\""),
        "{verdict}"
    );

    // The right articles, one still marked as waiting.
    let mut history = clean();
    history.pages[1].items.insert(
        0,
        Shown {
            id: "id-b2".into(),
            headline: "Run b2".into(),
            state: Some("waiting".into()),
        },
    );
    let verdict = check(&history);
    assert!(
        verdict.diverged[0].1.contains("1 still marked as waiting"),
        "{verdict}"
    );

    // In another order.
    let mut history = clean();
    history.pages[1].items.swap(0, 1);
    let verdict = check(&history);
    assert_eq!(verdict.diverged[0].1, "the same articles, in another order");

    // A refused article shown as refused is not a divergence.
    let mut history = clean();
    history.pages[1].items.insert(
        0,
        Shown {
            id: "id-stale".into(),
            headline: "Run stale".into(),
            state: Some("refused".into()),
        },
    );
    assert!(check(&history).ok());
}

#[test]
fn an_outbox_that_is_not_empty_is_named() {
    let mut history = clean();
    history.outboxes[1].headlines.push("Run b1".into());
    let verdict = check(&history);
    assert_eq!(
        verdict.left,
        [("firefox".to_owned(), vec!["Run b1".to_owned()])]
    );
    assert!(
        verdict
            .to_string()
            .contains("firefox's outbox is not empty: \"Run b1\"")
    );
}

#[test]
fn a_refused_article_sent_again_is_retried_forever() {
    let mut history = clean();
    let again = Post {
        via: "firefox".into(),
        articles: vec![article("stale")],
        answer: Answer::Status(422),
        taken_ms: None,
        answered_ms: None,
    };
    history.posts.push(again.clone());
    history.posts.push(again);
    let verdict = check(&history);
    assert_eq!(verdict.retried_after_refusal, ["Run stale"]);
}

#[test]
fn an_article_sent_again_after_it_was_refused_alone_is_a_retry_whatever_the_answer() {
    // In `clean`, "stale" was refused alone. Sent once more, it is a retry
    // even when the server never refuses it again: here the proxy answers
    // for a server that is down.
    let mut history = clean();
    history.posts.push(Post {
        via: "firefox".into(),
        articles: vec![article("stale")],
        answer: Answer::FromProxy(503),
        taken_ms: None,
        answered_ms: None,
    });
    let verdict = check(&history);
    assert_eq!(verdict.retried_after_refusal, ["Run stale"]);
    assert!(!verdict.ok());
}

#[test]
fn a_batch_refused_again_and_again_is_retried_forever() {
    // A worker that keeps a refused batch and sends it whole, again.
    let mut history = clean();
    let batch = Post {
        via: "firefox".into(),
        articles: vec![article("stale"), article("b0")],
        answer: Answer::Status(422),
        taken_ms: None,
        answered_ms: None,
    };
    // In `clean`, "stale" is refused twice (its batch, then alone) and
    // "b0" once: not yet retried for ever.
    assert!(check(&history).retried_after_refusal.is_empty());
    history.posts.insert(2, batch.clone());
    assert_eq!(check(&history).retried_after_refusal, ["Run stale"]);
    history.posts.insert(2, batch);
    assert_eq!(
        check(&history).retried_after_refusal,
        ["Run stale", "Run b0"]
    );
}

#[test]
fn a_refused_batch_may_be_sent_again_one_by_one_and_a_503_is_no_refusal() {
    // In `clean`: the 422 batch with "stale" and "b0", then each alone;
    // "a1" after a 503. Neither is a retry after a refusal.
    assert!(check(&clean()).retried_after_refusal.is_empty());
    // Nor after a 408 or a 429.
    let mut history = clean();
    history.posts.insert(
        0,
        Post {
            via: "chromium-a".into(),
            articles: vec![article("a0")],
            answer: Answer::Status(429),
            taken_ms: None,
            answered_ms: None,
        },
    );
    assert!(check(&history).ok());
}

#[test]
fn an_article_that_had_to_be_refused_and_was_stored_is_caught() {
    let mut history = clean();
    history.server.push(article("stale"));
    let server = history.server.clone();
    history.pages = vec![page_showing("p", &server)];
    let verdict = check(&history);
    assert_eq!(verdict.stored_though_refused, ["Run stale"]);
    assert!(
        verdict.unexpected.is_empty(),
        "it was added, by the harness"
    );
}

#[test]
fn an_article_nobody_added_is_unexpected_and_other_articles_are_not_the_runs() {
    let mut history = clean();
    history.server.push(article("ghost"));
    history.server.push(Article {
        id: "x".into(),
        headline: "Another run's".into(),
        created_ms: None,
    });
    let server = history.server.clone();
    history.pages = vec![page_showing("p", &server)];
    let verdict = check(&history);
    assert_eq!(verdict.unexpected, ["Run ghost"]);
    assert_eq!(verdict.problems().len(), 1, "{verdict}");
}

#[test]
fn a_history_reads_back_from_json() {
    let history = clean();
    let json = serde_json::to_string(&history).unwrap();
    assert!(
        json.contains(r#""answer":{"kind":"unheard","status":201}"#),
        "{json}"
    );
    let back: History = serde_json::from_str(&json).unwrap();
    assert_eq!(back, history);
}

#[test]
fn an_article_stored_while_its_request_failed_is_half_written() {
    let mut history = clean();
    // "a1" was stored at 1 000 500 ms; a request with it and "b1" was
    // answered 500 between 1 000 000 and 1 001 000.
    history.server[3].created_ms = Some(1_000_500.0);
    history.posts.push(Post {
        via: "chromium-a".into(),
        articles: vec![article("a1"), article("b1")],
        answer: Answer::Status(500),
        taken_ms: Some(1_000_000.0),
        answered_ms: Some(1_001_000.0),
    });
    let verdict = check(&history);
    assert_eq!(verdict.half_written, ["Run a1"]);
    // Stored before that request (by an earlier one): fine.
    history.server[3].created_ms = Some(999_000.0);
    assert!(check(&history).ok());
    // A 503 from the proxy never reached the server: nothing to judge.
    history.server[3].created_ms = Some(1_000_500.0);
    history.posts.last_mut().unwrap().answer = Answer::FromProxy(503);
    assert!(check(&history).ok());
}

#[test]
fn the_servers_times_read_as_milliseconds_since_1970() {
    assert_eq!(rfc3339_ms("1970-01-01T00:00:00.000Z"), Some(0.0));
    assert_eq!(rfc3339_ms("1970-01-02T00:00:01.500Z"), Some(86_401_500.0));
    // 2026-12-06T01:31:03.428Z, as `date -d ... +%s%3N` says.
    assert_eq!(
        rfc3339_ms("2026-12-06T01:31:03.428Z"),
        Some(1_796_520_663_428.0)
    );
    assert_eq!(rfc3339_ms("2000-02-29T12:00:00Z"), Some(951_825_600_000.0));
    assert_eq!(rfc3339_ms("yesterday"), None);
}

#[test]
fn every_broken_rule_fails_the_verdict_with_a_line_of_its_own() {
    let named = |headline: &str| vec![headline.to_owned()];
    let broken: Vec<(&str, Verdict)> = vec![
        (
            "lost",
            Verdict {
                lost: named("x"),
                ..Verdict::default()
            },
        ),
        (
            "acknowledged",
            Verdict {
                acknowledged_missing: named("x"),
                ..Verdict::default()
            },
        ),
        (
            "duplicated",
            Verdict {
                duplicated: vec![("x".into(), 2)],
                ..Verdict::default()
            },
        ),
        (
            "unexpected",
            Verdict {
                unexpected: named("x"),
                ..Verdict::default()
            },
        ),
        (
            "out of order",
            Verdict {
                out_of_order: vec![("c".into(), 1)],
                ..Verdict::default()
            },
        ),
        (
            "does not show",
            Verdict {
                diverged: vec![("p".into(), "how".into())],
                ..Verdict::default()
            },
        ),
        (
            "outbox is not empty",
            Verdict {
                left: vec![("b".into(), named("x"))],
                ..Verdict::default()
            },
        ),
        (
            "sent again",
            Verdict {
                retried_after_refusal: named("x"),
                ..Verdict::default()
            },
        ),
        (
            "had to refuse",
            Verdict {
                stored_though_refused: named("x"),
                ..Verdict::default()
            },
        ),
        (
            "half-written",
            Verdict {
                half_written: named("x"),
                ..Verdict::default()
            },
        ),
    ];
    assert!(Verdict::default().ok());
    for (words, verdict) in broken {
        assert!(!verdict.ok(), "{words}: {verdict:?}");
        let problems = verdict.problems();
        assert_eq!(problems.len(), 1, "{words}: {problems:?}");
        assert!(problems[0].contains(words), "{words}: {problems:?}");
    }
}
