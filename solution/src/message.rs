//! The messages that the page and the service worker send each other.
//!
//! `postMessage` carries any structured-cloneable value; we send plain
//! objects with a `type` field (their shapes are in `js_codec.rs`) and decode
//! them into these enums on both sides, so a typo in a message name is a
//! compile error, not a silent no-op.

use crate::article::{Article, ArticleDraft, NewArticle};

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
