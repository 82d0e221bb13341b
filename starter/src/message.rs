//! The messages that the page and the service worker send each other.
//!
//! `postMessage` carries any structured-cloneable value; we send JSON-shaped
//! objects with a `type` field and decode them with serde on both sides, so a
//! typo in a message name is a compile error, not a silent no-op.

use serde::{Deserialize, Serialize};

use crate::article::{Article, ArticleDraft, NewArticle};

/// The Background Sync tag the worker registers. Registering a tag that is
/// already pending does not add a second sync: the browser coalesces them, so
/// one `sync` event flushes the whole outbox however many articles wait.
pub const SYNC_TAG: &str = "add-article";

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WorkerReply {
    /// The article is in the outbox; `pending` articles wait in all.
    Queued { pending: usize },
    /// The article was not queued, and why.
    Error { message: String },
}

/// Worker → every open page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WorkerBroadcast {
    /// A sync delivered articles: here is the server's list, oldest first.
    Articles { articles: Vec<Article> },
    /// A queued article will never be delivered — the server refused it for
    /// good (a 4xx), or it waited past the retention limit. It is out of the
    /// outbox, so it does not block the others, and the page says why.
    Rejected { article: NewArticle, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_have_the_shapes_in_the_design() {
        let add: PageMessage = serde_json::from_value(json!({
            "type": "add-article",
            "article": {"headline": "h", "byline": "b"}
        }))
        .unwrap();
        assert!(matches!(add, PageMessage::AddArticle { article } if article.id.is_none()));

        assert_eq!(
            serde_json::to_value(WorkerReply::Queued { pending: 2 }).unwrap(),
            json!({"type": "queued", "pending": 2})
        );
        assert_eq!(
            serde_json::to_value(WorkerBroadcast::Articles { articles: vec![] }).unwrap(),
            json!({"type": "articles", "articles": []})
        );
        assert_eq!(
            serde_json::from_value::<PageMessage>(json!({"type": "online"})).unwrap(),
            PageMessage::Online
        );
    }

    #[test]
    fn an_unknown_message_is_an_error_not_a_default() {
        assert!(serde_json::from_value::<PageMessage>(json!({"type": "add-articel"})).is_err());
    }
}
