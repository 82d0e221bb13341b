//! The messages that the page and the service worker send each other.
//!
//! `postMessage` carries any structured-cloneable value; we send plain
//! objects with a `type` field (their shapes are the `impl Plain`s at the end
//! of this file; `js_codec.rs` says why they are written by hand) and decode
//! them into these enums on both sides, so a typo in a message name is a
//! compile error, not a silent no-op.

use crate::article::{Article, ArticleDraft, NewArticle};
use crate::js_codec::{Plain, Value, count, message_type, nested, text, unknown};

/// The Background Sync tag the worker registers. Registering a tag that is
/// already pending does not add a second sync: the browser coalesces them, so
/// one `sync` event flushes the whole outbox however many articles wait.
pub const SYNC_TAG: &str = "add-article";

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageMessage {
    /// Queue this article and deliver it when the network allows.
    AddArticle { article: ArticleDraft },
    /// The page is open and online: it just loaded, or saw the `online`
    /// event. The worker then makes sure whatever waits in the outbox is on
    /// its way. Browsers without Background Sync never wake the worker when
    /// the network returns, and a sync whose last retry failed is never fired
    /// again; this message covers both.
    Online,
}

/// Worker → the page that asked, on the `MessageChannel` port it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerReply {
    /// The article is in the outbox; `pending` articles wait in all.
    Queued { pending: usize },
    /// The article was not queued, and why.
    Error { message: String },
}

/// Worker → every open page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkerBroadcast {
    /// A sync delivered articles: here is the server's list, oldest first
    /// (the page shows it newest first), and how many this sync delivered.
    Articles {
        articles: Vec<Article>,
        delivered: usize,
    },
    /// A queued article will never be delivered — the server refused it for
    /// good (a 4xx), or it waited past the retention limit. It is out of the
    /// outbox, so it does not block the others, and the page says why.
    Rejected { article: NewArticle, reason: String },
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

#[cfg(test)]
mod tests {
    use serde_json::{Value as Json, json};

    use super::*;
    use crate::js_codec::shapes::round_trip;

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
        ];
        for (result, expected) in cases {
            assert_eq!(result, Err(expected.to_owned()));
        }
    }
}
