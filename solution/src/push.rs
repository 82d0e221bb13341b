//! What a Web Push carries: the server encrypts this JSON for each browser,
//! the browser's push service delivers it, and the service worker decrypts
//! nothing — the browser has already done that — but parses it and shows it
//! as a notification.
//!
//! Shared by both ends so that the server and the worker can never disagree
//! about a field's name.

use serde::{Deserialize, Serialize};

use crate::plain::{Plain, Value};

/// The title of every push about new articles.
pub const NEW_ARTICLES_TITLE: &str = "New on Offline News";

/// How many headlines one notification lists; the rest are counted.
const MAX_HEADLINES: usize = 3;

/// The decrypted payload of a push message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    pub title: String,
    pub body: String,
    /// The page a click on the notification opens (same origin, a path).
    pub url: String,
}

impl PushPayload {
    /// The push announcing newly published articles. A push message holds at
    /// most about 3 KB, and a notification shows a few lines, so only the
    /// first headlines are listed: headlines are at most 200 characters, so
    /// three of them always fit.
    pub fn new_articles(headlines: &[String]) -> Self {
        let mut lines: Vec<String> = headlines.iter().take(MAX_HEADLINES).cloned().collect();
        if headlines.len() > MAX_HEADLINES {
            lines.push(format!("…and {} more", headlines.len() - MAX_HEADLINES));
        }
        PushPayload {
            title: NEW_ARTICLES_TITLE.into(),
            body: lines.join("\n"),
            url: "/".into(),
        }
    }

    /// What the worker shows when a push arrives without a payload it can
    /// read. With `userVisibleOnly` the browser requires a notification for
    /// every push, so there must always be something to show.
    pub fn fallback() -> Self {
        PushPayload {
            title: NEW_ARTICLES_TITLE.into(),
            body: "There is news. Open the app to read it.".into(),
            url: "/".into(),
        }
    }

    /// Reads a push message's JSON (already parsed: `event.data().json()` in
    /// the worker); anything missing or unreadable gives [`Self::fallback`].
    pub fn parse_or_fallback<V: Value>(json: Option<V>) -> Self {
        json.and_then(|json| Self::from_plain(&json).ok())
            .unwrap_or_else(Self::fallback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_has_the_fields_the_worker_reads() {
        let payload = PushPayload::new_articles(&["One".into(), "Two".into()]);
        assert_eq!(
            serde_json::to_value(&payload).unwrap(),
            serde_json::json!({"title": "New on Offline News", "body": "One\nTwo", "url": "/"})
        );
    }

    #[test]
    fn many_headlines_are_counted_not_listed() {
        let headlines: Vec<String> = (1..=5).map(|n| format!("H{n}")).collect();
        assert_eq!(
            PushPayload::new_articles(&headlines).body,
            "H1\nH2\nH3\n…and 2 more"
        );
    }

    #[test]
    fn the_largest_payload_fits_in_one_push_message() {
        // 200 four-byte characters: the longest headline the API accepts.
        let widest = "😀".repeat(200);
        let payload = PushPayload::new_articles(&vec![widest; 10]);
        let bytes = serde_json::to_vec(&payload).unwrap().len();
        // The web-push crate refuses payloads over 3052 bytes.
        assert!(bytes <= 3052, "{bytes} bytes");
    }

    #[test]
    fn an_unreadable_payload_falls_back_to_a_generic_text() {
        let parse = |text: &str| serde_json::from_str::<serde_json::Value>(text).ok();
        assert_eq!(
            PushPayload::parse_or_fallback::<serde_json::Value>(None),
            PushPayload::fallback()
        );
        assert_eq!(
            PushPayload::parse_or_fallback(parse("not json")),
            PushPayload::fallback()
        );
        assert_eq!(
            PushPayload::parse_or_fallback(parse(r#"{"title":"t"}"#)),
            PushPayload::fallback()
        );
        let sent = PushPayload::new_articles(&["Hi".into()]);
        let text = serde_json::to_string(&sent).unwrap();
        assert_eq!(PushPayload::parse_or_fallback(parse(&text)), sent);
    }
}
