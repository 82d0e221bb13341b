//! Property tests of the two decoders that take input from anyone: the
//! article body and the push subscription. Whatever bytes arrive, they never
//! panic, and they either accept something valid or refuse with a message
//! that starts with the field at fault.

use axum::http::StatusCode;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::api::articles::decode_json;
use crate::push::EndpointPolicy;
use crate::push::subscription::SubscriptionDraft;
use crate::shared::article::is_uuid;

/// The prefixes every refusal starts with: a field, or an array index.
fn names_a_field(message: &str) -> bool {
    ["body:", "id:", "headline:", "byline:", "queued_at:", "["]
        .iter()
        .any(|prefix| message.starts_with(prefix))
}

fn check_decoding(body: &[u8]) -> Result<(), TestCaseError> {
    match decode_json(body) {
        Ok(posted) => {
            prop_assert!(!posted.posted.is_empty());
            for article in posted.posted.into_iter().map(|p| p.article) {
                prop_assert!(is_uuid(&article.id) && article.id == article.id.to_lowercase());
                prop_assert_eq!(article.headline.trim(), article.headline.as_str());
                prop_assert!(!article.headline.is_empty() && !article.byline.is_empty());
            }
        }
        Err(error) => {
            prop_assert!(error.status().is_client_error(), "{:?}", error.status());
            prop_assert!(names_a_field(error.message()), "{:?}", error.message());
        }
    }
    Ok(())
}

/// Text that is sometimes fine and often not: empty, blank, control
/// characters, markup, very long, non-ASCII.
fn text() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z <>/&é]{0,40}".prop_map(Value::from),
        "[ \t\n\u{0}\u{7f}a]{0,5}".prop_map(Value::from),
        (0usize..400).prop_map(|n| Value::from("x".repeat(n))),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
            .prop_map(Value::from),
        "[0-9a-z-]{0,40}".prop_map(Value::from),
        Just(Value::Null),
    ]
}

/// An object with some of the article's fields, and sometimes others.
fn article_like() -> impl Strategy<Value = Value> {
    (
        proptest::option::of(id()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(text()),
        proptest::option::of(prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            text(),
        ]),
    )
        .prop_map(|(id, headline, byline, extra, queued_at)| {
            let mut object = serde_json::Map::new();
            for (key, value) in [
                ("id", id),
                ("headline", headline),
                ("byline", byline),
                ("extra", extra),
                ("queued_at", queued_at),
            ] {
                if let Some(value) = value {
                    object.insert(key.to_owned(), value);
                }
            }
            Value::Object(object)
        })
}

proptest! {
    #[test]
    fn any_bytes_are_decoded_or_refused_by_field(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_decoding(&body)?;
    }

    #[test]
    fn article_shaped_json_is_decoded_or_refused_by_field(
        items in proptest::collection::vec(article_like(), 0..4),
        single in any::<bool>(),
    ) {
        let body = match (single, items.first()) {
            (true, Some(first)) => first.clone(),
            _ => Value::Array(items),
        };
        check_decoding(body.to_string().as_bytes())?;
    }

    #[test]
    fn any_subscription_is_parsed_or_refused_by_field(
        endpoint in prop_oneof![
            "https://push\\.example\\.com/[a-z0-9]{0,20}",
            "(http|ftp|https)://[a-z0-9.:\\[\\]@]{0,30}/?",
            ".{0,30}",
        ],
        p256dh in "[A-Za-z0-9_=-]{0,100}",
        auth in "[A-Za-z0-9_=-]{0,30}",
        drop_keys in any::<bool>(),
    ) {
        let value = if drop_keys {
            json!({ "endpoint": endpoint })
        } else {
            json!({ "endpoint": endpoint, "keys": { "p256dh": p256dh, "auth": auth } })
        };
        let checked = SubscriptionDraft::from_value(value)
            .and_then(|draft| draft.check(EndpointPolicy::PublicHttpsOnly));
        if let Err(message) = checked {
            prop_assert!(
                ["endpoint:", "keys:", "keys.p256dh:", "keys.auth:", "body:"]
                    .iter()
                    .any(|prefix| message.starts_with(prefix)),
                "{message:?}"
            );
        }
    }
}

#[test]
fn a_refusal_is_never_a_server_error() {
    // A few hand-picked bodies that once were easy to get wrong.
    for body in ["", "null", "[]", "[null]", "{\"id\":{}}", "\u{feff}{}"] {
        let error = decode_json(body.as_bytes()).unwrap_err();
        assert_ne!(
            error.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{body:?}"
        );
    }
}
