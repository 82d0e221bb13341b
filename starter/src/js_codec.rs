//! Our types as plain JS objects — `{"type": "queued", "pending": 2}` —
//! converted by hand.
//!
//! The page, the worker and IndexedDB pass plain objects around:
//! `postMessage` and IndexedDB copy them (the structured clone algorithm), and
//! a `fetch` body is their JSON. serde and serde_json could convert them, but
//! in the `.wasm` that costs more than the app's own code does (a JSON parser,
//! float formatting, serde's buffering of `type`-tagged enums), and the
//! `.wasm` is what a browser must download and compile before the worker's
//! first handler can run. So each type lists its fields here, once, for any
//! JSON-shaped [`Value`]: `JsValue` in the browser, and `serde_json::Value` in
//! the tests below, which check that these are exactly the shapes the
//! server's serde derives read and write.

use crate::article::{Article, ArticleDraft, NewArticle};
use crate::message::{PageMessage, WorkerBroadcast, WorkerReply};
use crate::outbox::Queued;
use crate::push_payload::PushPayload;

/// What the conversions need of a JSON-shaped value.
pub trait Value: Sized {
    /// Field `key` of an object; `None` when it is absent, `null` or
    /// `undefined` — the three mean the same to us.
    fn field(&self, key: &str) -> Option<Self>;
    fn as_text(&self) -> Option<String>;
    fn as_number(&self) -> Option<f64>;
    fn as_items(&self) -> Option<Vec<Self>>;
    fn text(text: &str) -> Self;
    fn number(number: f64) -> Self;
    fn items(items: Vec<Self>) -> Self;
    fn object(fields: Vec<(&'static str, Self)>) -> Self;
}

/// A type that has a plain-object form.
pub trait Plain: Sized {
    fn to_plain<V: Value>(&self) -> V;
    /// Fails with a message that names the field that is wrong.
    fn from_plain<V: Value>(value: &V) -> Result<Self, String>;
}

fn text<V: Value>(value: &V, key: &str) -> Result<String, String> {
    optional_text(value, key)?.ok_or_else(|| format!("`{key}` is missing"))
}

fn optional_text<V: Value>(value: &V, key: &str) -> Result<Option<String>, String> {
    value
        .field(key)
        .map(|field| {
            field
                .as_text()
                .ok_or_else(|| format!("`{key}` is not a string"))
        })
        .transpose()
}

fn number<V: Value>(value: &V, key: &str) -> Result<f64, String> {
    value
        .field(key)
        .ok_or_else(|| format!("`{key}` is missing"))?
        .as_number()
        .ok_or_else(|| format!("`{key}` is not a number"))
}

/// A count: a whole number ≥ 0.
fn count<V: Value>(value: &V, key: &str) -> Result<usize, String> {
    let number = number(value, key)?;
    // Not formatted into the message: `f64`'s `Display` alone would add
    // 16 kB to the `.wasm`.
    if number < 0.0 || number.fract() != 0.0 {
        return Err(format!("`{key}` is not a whole number ≥ 0"));
    }
    Ok(number as usize)
}

fn nested<T: Plain, V: Value>(value: &V, key: &str) -> Result<T, String> {
    let field = value
        .field(key)
        .ok_or_else(|| format!("`{key}` is missing"))?;
    T::from_plain(&field).map_err(|error| format!("in `{key}`: {error}"))
}

/// The `type` of a message: the enum's variant, in kebab-case.
fn message_type<V: Value>(value: &V) -> Result<String, String> {
    text(value, "type")
}

fn unknown(kind: &str, message_type: &str) -> String {
    // Quoted by hand: `{:?}` would bring `str`'s escaping code and Unicode
    // tables into the `.wasm` for this one message.
    format!("unknown {kind} type \"{message_type}\"")
}

impl<T: Plain> Plain for Vec<T> {
    fn to_plain<V: Value>(&self) -> V {
        V::items(self.iter().map(T::to_plain).collect())
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        let items = value.as_items().ok_or("not an array")?;
        items
            .iter()
            .enumerate()
            .map(|(index, item)| T::from_plain(item).map_err(|e| format!("item {index}: {e}")))
            .collect()
    }
}

impl Plain for Article {
    fn to_plain<V: Value>(&self) -> V {
        V::object(vec![
            ("id", V::text(&self.id)),
            ("headline", V::text(&self.headline)),
            ("byline", V::text(&self.byline)),
            ("created_at", V::text(&self.created_at)),
        ])
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        Ok(Article {
            id: text(value, "id")?,
            headline: text(value, "headline")?,
            byline: text(value, "byline")?,
            created_at: text(value, "created_at")?,
        })
    }
}

impl Plain for NewArticle {
    fn to_plain<V: Value>(&self) -> V {
        V::object(vec![
            ("id", V::text(&self.id)),
            ("headline", V::text(&self.headline)),
            ("byline", V::text(&self.byline)),
        ])
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        Ok(NewArticle {
            id: text(value, "id")?,
            headline: text(value, "headline")?,
            byline: text(value, "byline")?,
        })
    }
}

/// Every field is optional: [`ArticleDraft::validate`] says what is missing.
impl Plain for ArticleDraft {
    fn to_plain<V: Value>(&self) -> V {
        let fields = [
            ("id", &self.id),
            ("headline", &self.headline),
            ("byline", &self.byline),
        ];
        V::object(
            fields
                .into_iter()
                .filter_map(|(key, field)| Some((key, V::text(field.as_deref()?))))
                .collect(),
        )
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        Ok(ArticleDraft {
            id: optional_text(value, "id")?,
            headline: optional_text(value, "headline")?,
            byline: optional_text(value, "byline")?,
        })
    }
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

impl Plain for PageMessage {
    fn to_plain<V: Value>(&self) -> V {
        match self {
            PageMessage::AddArticle { article } => V::object(vec![
                ("type", V::text("add-article")),
                ("article", article.to_plain()),
            ]),
            PageMessage::Online => V::object(vec![("type", V::text("online"))]),
        }
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        match message_type(value)?.as_str() {
            "add-article" => Ok(PageMessage::AddArticle {
                article: nested(value, "article")?,
            }),
            "online" => Ok(PageMessage::Online),
            other => Err(unknown("page message", other)),
        }
    }
}

impl Plain for WorkerReply {
    fn to_plain<V: Value>(&self) -> V {
        match self {
            WorkerReply::Queued { pending } => V::object(vec![
                ("type", V::text("queued")),
                ("pending", V::number(*pending as f64)),
            ]),
            WorkerReply::Error { message } => V::object(vec![
                ("type", V::text("error")),
                ("message", V::text(message)),
            ]),
        }
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        match message_type(value)?.as_str() {
            "queued" => Ok(WorkerReply::Queued {
                pending: count(value, "pending")?,
            }),
            "error" => Ok(WorkerReply::Error {
                message: text(value, "message")?,
            }),
            other => Err(unknown("worker reply", other)),
        }
    }
}

impl Plain for WorkerBroadcast {
    fn to_plain<V: Value>(&self) -> V {
        match self {
            WorkerBroadcast::Articles {
                articles,
                delivered,
            } => V::object(vec![
                ("type", V::text("articles")),
                ("articles", articles.to_plain()),
                ("delivered", V::number(*delivered as f64)),
            ]),
            WorkerBroadcast::Rejected { article, reason } => V::object(vec![
                ("type", V::text("rejected")),
                ("article", article.to_plain()),
                ("reason", V::text(reason)),
            ]),
        }
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        match message_type(value)?.as_str() {
            "articles" => Ok(WorkerBroadcast::Articles {
                articles: nested(value, "articles")?,
                delivered: count(value, "delivered")?,
            }),
            "rejected" => Ok(WorkerBroadcast::Rejected {
                article: nested(value, "article")?,
                reason: text(value, "reason")?,
            }),
            other => Err(unknown("worker broadcast", other)),
        }
    }
}

impl Plain for PushPayload {
    fn to_plain<V: Value>(&self) -> V {
        V::object(vec![
            ("title", V::text(&self.title)),
            ("body", V::text(&self.body)),
            ("url", V::text(&self.url)),
        ])
    }

    fn from_plain<V: Value>(value: &V) -> Result<Self, String> {
        Ok(PushPayload {
            title: text(value, "title")?,
            body: text(value, "body")?,
            url: text(value, "url")?,
        })
    }
}

#[cfg(target_arch = "wasm32")]
mod js {
    use js_sys::{Array, Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};

    impl super::Value for JsValue {
        fn field(&self, key: &str) -> Option<Self> {
            // `Reflect.get` throws on a non-object (a string, a number).
            Reflect::get(self, &JsValue::from_str(key))
                .ok()
                .filter(|field| !field.is_undefined() && !field.is_null())
        }

        fn as_text(&self) -> Option<String> {
            self.as_string()
        }

        fn as_number(&self) -> Option<f64> {
            self.as_f64()
        }

        fn as_items(&self) -> Option<Vec<Self>> {
            self.dyn_ref::<Array>().map(|array| array.iter().collect())
        }

        fn text(text: &str) -> Self {
            JsValue::from_str(text)
        }

        fn number(number: f64) -> Self {
            JsValue::from_f64(number)
        }

        fn items(items: Vec<Self>) -> Self {
            items.into_iter().collect::<Array>().into()
        }

        fn object(fields: Vec<(&'static str, Self)>) -> Self {
            let object = Object::new();
            for (key, value) in fields {
                // Cannot fail: `object` is a fresh, extensible plain object.
                let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
            }
            object.into()
        }
    }
}

/// The tests' stand-in for `JsValue`.
#[cfg(test)]
impl Value for serde_json::Value {
    fn field(&self, key: &str) -> Option<Self> {
        self.get(key).filter(|field| !field.is_null()).cloned()
    }
    fn as_text(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn as_number(&self) -> Option<f64> {
        self.as_f64()
    }
    fn as_items(&self) -> Option<Vec<Self>> {
        self.as_array().cloned()
    }
    fn text(text: &str) -> Self {
        serde_json::Value::from(text)
    }
    fn number(number: f64) -> Self {
        // JSON has one number type; write whole numbers as integers, as
        // JavaScript's `JSON.stringify` does.
        if number.fract() == 0.0 && number.abs() < 9e15 {
            serde_json::Value::from(number as i64)
        } else {
            serde_json::Value::from(number)
        }
    }
    fn items(items: Vec<Self>) -> Self {
        serde_json::Value::Array(items)
    }
    fn object(fields: Vec<(&'static str, Self)>) -> Self {
        serde_json::Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::{Value as Json, json};

    use super::*;

    /// The hand-written shape and serde's agree, both ways.
    fn agrees_with_serde<T>(value: &T)
    where
        T: Plain + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let by_serde = serde_json::to_value(value).unwrap();
        assert_eq!(value.to_plain::<Json>(), by_serde);
        assert_eq!(&T::from_plain(&by_serde).unwrap(), value);
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z <>\"\\\\é\n]{0,12}"
    }

    proptest! {
        #[test]
        fn articles_have_the_servers_shape(
            id in text(), headline in text(), byline in text(), created_at in text()
        ) {
            agrees_with_serde(&Article {
                id: id.clone(),
                headline: headline.clone(),
                byline: byline.clone(),
                created_at,
            });
            agrees_with_serde(&NewArticle { id, headline, byline });
        }

        #[test]
        fn drafts_leave_out_what_is_missing(
            id in proptest::option::of(text()),
            headline in proptest::option::of(text()),
            byline in proptest::option::of(text()),
        ) {
            agrees_with_serde(&ArticleDraft { id, headline, byline });
        }

        #[test]
        fn push_payloads_have_the_servers_shape(title in text(), body in text(), url in text()) {
            agrees_with_serde(&PushPayload { title, body, url });
        }
    }

    fn round_trip<T: Plain + PartialEq + std::fmt::Debug>(value: T, shape: Json) {
        assert_eq!(value.to_plain::<Json>(), shape);
        assert_eq!(T::from_plain(&shape).unwrap(), value);
    }

    fn article() -> NewArticle {
        NewArticle {
            id: "1d6a0c2e-7b0f-4a55-9b8e-0c3c1f7d2a10".into(),
            headline: "h".into(),
            byline: "b".into(),
        }
    }

    #[test]
    fn messages_have_the_shapes_in_the_design() {
        round_trip(
            PageMessage::AddArticle {
                article: ArticleDraft {
                    headline: Some("h".into()),
                    byline: Some("b".into()),
                    ..ArticleDraft::default()
                },
            },
            json!({"type": "add-article", "article": {"headline": "h", "byline": "b"}}),
        );
        round_trip(PageMessage::Online, json!({"type": "online"}));
        round_trip(
            WorkerReply::Queued { pending: 2 },
            json!({"type": "queued", "pending": 2}),
        );
        round_trip(
            WorkerReply::Error {
                message: "no".into(),
            },
            json!({"type": "error", "message": "no"}),
        );
        round_trip(
            WorkerBroadcast::Articles {
                articles: vec![],
                delivered: 2,
            },
            json!({"type": "articles", "articles": [], "delivered": 2}),
        );
        round_trip(
            WorkerBroadcast::Rejected {
                article: article(),
                reason: "too long".into(),
            },
            json!({"type": "rejected", "article": article().to_plain::<Json>(), "reason": "too long"}),
        );
    }

    #[test]
    fn outbox_entries_have_the_shape_the_harness_writes() {
        let stored = Queued {
            seq: Some(7.0),
            article: article(),
            queued_at: 1_700_000_000_000.0,
        };
        round_trip(
            stored.clone(),
            json!({"seq": 7, "article": article().to_plain::<Json>(), "queued_at": 1_700_000_000_000_i64}),
        );
        // Before IndexedDB has given it a key.
        round_trip(
            Queued {
                seq: None,
                ..stored
            },
            json!({"article": article().to_plain::<Json>(), "queued_at": 1_700_000_000_000_i64}),
        );
    }

    #[test]
    fn bad_shapes_are_errors_that_name_the_field() {
        let cases = [
            (
                PageMessage::from_plain(&json!({"type": "add-articel"})).map(drop),
                "unknown page message type \"add-articel\"",
            ),
            (
                PageMessage::from_plain(&json!({"article": {}})).map(drop),
                "`type` is missing",
            ),
            (
                PageMessage::from_plain(
                    &json!({"type": "add-article", "article": {"headline": 5}}),
                )
                .map(drop),
                "in `article`: `headline` is not a string",
            ),
            (
                WorkerReply::from_plain(&json!({"type": "queued", "pending": -1})).map(drop),
                "`pending` is not a whole number ≥ 0",
            ),
            (
                WorkerBroadcast::from_plain(
                    &json!({"type": "articles", "articles": [{"id": "x"}]}),
                )
                .map(drop),
                "in `articles`: item 0: `headline` is missing",
            ),
            (
                Queued::from_plain(&json!({"article": article().to_plain::<Json>()})).map(drop),
                "`queued_at` is missing",
            ),
            (
                PushPayload::from_plain(&json!("a string")).map(drop),
                "`title` is missing",
            ),
        ];
        for (result, expected) in cases {
            assert_eq!(result, Err(expected.to_owned()));
        }
    }
}
