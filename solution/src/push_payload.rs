//! The push message's payload, [`PushPayload`]: what a Web Push carries. The
//! server encrypts this JSON for each browser, the browser's push service
//! delivers it, and the service worker decrypts nothing — the browser has
//! already done that — but parses it and shows it as a notification.
//!
//! The server sends a *declarative* push message (the Push API's Declarative
//! Web Push, first in Safari 18.4): JSON that names the notification itself,
//! so a browser that supports it shows it with no service worker running,
//! and, being `mutable`, still hands it to our worker's `push` handler where
//! the browser has a worker to run. Browsers without it give the JSON to the
//! worker as any payload, so the worker reads both that form and the plain
//! `{title, body, url}` an older server sent.
//!
//! Shared by both ends so that the server and the worker can never disagree
//! about a field's name.

use serde::{Deserialize, Serialize};

use crate::js_codec::{Plain, Value, text};

/// The title of every push about new articles.
pub const NEW_ARTICLES_TITLE: &str = "New on Offline News";

/// How many headlines one notification lists; the rest are counted.
const MAX_HEADLINES: usize = 3;

/// Where a click on a push about new articles leads: the app, scrolled to
/// its list. The server sends it as an absolute URL, at the app's public
/// origin (`--public-origin`): a browser that shows a declarative push by
/// itself has no page to resolve a path against.
pub const NEW_ARTICLES_PATH: &str = "/#latest-headlines";

/// The `web_push` member that marks a push message as declarative: the
/// number of RFC 8030, the Web Push protocol.
pub const DECLARATIVE_WEB_PUSH: u16 = 8030;

/// The decrypted payload of a push message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushPayload {
    pub title: String,
    pub body: String,
    /// The page a click on the notification opens: an absolute URL in the
    /// app (the worker's `notificationclick` keeps a click inside its origin
    /// whatever a payload says).
    pub url: String,
}

impl PushPayload {
    /// The push announcing newly published articles; a click opens `link`,
    /// the absolute URL of [`NEW_ARTICLES_PATH`] at the app's origin. A push
    /// message holds at most about 3 KB, and a notification shows a few
    /// lines, so only the first headlines are listed: headlines are at most
    /// 200 characters, so three of them always fit.
    pub fn new_articles(headlines: &[String], link: String) -> Self {
        let mut lines: Vec<String> = headlines.iter().take(MAX_HEADLINES).cloned().collect();
        if headlines.len() > MAX_HEADLINES {
            lines.push(format!("…and {} more", headlines.len() - MAX_HEADLINES));
        }
        PushPayload {
            title: NEW_ARTICLES_TITLE.into(),
            body: lines.join("\n"),
            url: link,
        }
    }

    /// The declarative push message that shows this payload.
    pub fn declarative(&self) -> DeclarativePush {
        DeclarativePush {
            web_push: DECLARATIVE_WEB_PUSH,
            notification: DeclarativeNotification {
                title: self.title.clone(),
                body: self.body.clone(),
                navigate: self.url.clone(),
                lang: "en".into(),
            },
            mutable: true,
        }
    }

    /// What the worker shows when a push arrives without a payload it can
    /// read. With `userVisibleOnly` the browser requires a notification for
    /// every push, so there must always be something to show. Only our
    /// worker shows it, so its link can be a path: the worker resolves it
    /// against its scope.
    pub fn fallback() -> Self {
        PushPayload {
            title: NEW_ARTICLES_TITLE.into(),
            body: "There is news. Open the app to read it.".into(),
            url: "/".into(),
        }
    }

    // ANCHOR: parse
    /// Reads a push message's JSON (already parsed: `event.data().json()` in
    /// the worker), declarative or plain; anything missing or unreadable
    /// gives [`Self::fallback`], never nothing: every push must show a
    /// notification.
    pub fn parse_or_fallback<V: Value>(json: Option<V>) -> Self {
        json.and_then(|json| Self::parse(&json).ok())
            .unwrap_or_else(Self::fallback)
    }

    /// Reads either form, saying what is wrong with one it cannot read.
    pub fn parse<V: Value>(json: &V) -> Result<Self, String> {
        match json.field("web_push") {
            Some(_) => Self::from_declarative(json),
            None => Self::from_plain(json),
        }
    }

    /// A declarative push message: `web_push` must be 8030 (anything else is
    /// a future version we cannot read), and its `notification` must have
    /// the `title` and `navigate` the Push API requires; `body` is optional.
    fn from_declarative<V: Value>(json: &V) -> Result<Self, String> {
        let version = json.field("web_push").and_then(|v| v.as_number());
        if version != Some(f64::from(DECLARATIVE_WEB_PUSH)) {
            return Err("`web_push` is not 8030".into());
        }
        let notification = json
            .field("notification")
            .ok_or("`notification` is missing")?;
        let text = |key: &str| {
            notification
                .field(key)
                .map(|field| field.as_text().ok_or(format!("`{key}` is not a string")))
                .transpose()
        };
        let title = text("title")?.ok_or("`title` is missing")?;
        let url = text("navigate")?.ok_or("`navigate` is missing")?;
        let body = text("body")?.unwrap_or_default();
        if title.is_empty() {
            return Err("`title` is empty".into());
        }
        Ok(PushPayload { title, body, url })
    }
    // ANCHOR_END: parse
}

// ANCHOR: declarative
/// A declarative push message (W3C Push API, "declarative push message"):
/// `{"web_push": 8030, "notification": {...}, "mutable": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarativePush {
    /// Always 8030: what tells a browser this JSON describes a notification.
    pub web_push: u16,
    pub notification: DeclarativeNotification,
    /// `true`: where the browser has a service worker for the scope, it
    /// still fires `push` there (with the proposed notification), so our
    /// worker can show it its own way (tag, icon); without `mutable`, or
    /// without a worker, the browser shows it as it is.
    pub mutable: bool,
}

/// The notification a declarative push message describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclarativeNotification {
    pub title: String,
    pub body: String,
    /// Where a click leads; required by the Push API.
    pub navigate: String,
    pub lang: String,
}
// ANCHOR_END: declarative

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js_codec::shapes::{agrees_with_serde, any_text};

    /// The link the server puts in its pushes, at an example public origin.
    fn link() -> String {
        format!("https://news.example{NEW_ARTICLES_PATH}")
    }

    #[test]
    fn the_payload_has_the_fields_the_worker_reads() {
        let payload = PushPayload::new_articles(&["One".into(), "Two".into()], link());
        assert_eq!(
            serde_json::to_value(&payload).unwrap(),
            serde_json::json!({"title": "New on Offline News", "body": "One\nTwo", "url": "https://news.example/#latest-headlines"})
        );
    }

    #[test]
    fn the_server_sends_a_declarative_push_message() {
        let payload = PushPayload::new_articles(&["Cats can vote".into()], link());
        // ANCHOR: declarative_example
        let expected = serde_json::json!({
            "web_push": 8030,
            "notification": {
                "title": "New on Offline News",
                "body": "Cats can vote",
                "navigate": "https://news.example/#latest-headlines",
                "lang": "en"
            },
            "mutable": true
        });
        // ANCHOR_END: declarative_example
        assert_eq!(
            serde_json::to_value(payload.declarative()).unwrap(),
            expected
        );
    }

    #[test]
    fn both_forms_read_back_as_what_was_sent() {
        let sent = PushPayload::new_articles(&["Hi".into(), "There".into()], link());
        let declarative = serde_json::to_value(sent.declarative()).unwrap();
        assert_eq!(PushPayload::parse(&declarative), Ok(sent.clone()));
        let plain = serde_json::to_value(&sent).unwrap();
        assert_eq!(PushPayload::parse(&plain), Ok(sent));
        // `body` is optional in the declarative form; unknown members (a
        // later version's `app_badge`, `actions`) are ignored.
        let minimal = serde_json::json!({
            "web_push": 8030,
            "notification": {"title": "T", "navigate": "https://news.example/", "silent": false},
            "app_badge": 3
        });
        assert_eq!(
            PushPayload::parse(&minimal),
            Ok(PushPayload {
                title: "T".into(),
                body: String::new(),
                url: "https://news.example/".into()
            })
        );
    }

    #[test]
    fn a_bad_declarative_message_says_why_and_falls_back() {
        let cases = [
            (
                serde_json::json!({"web_push": 8031, "notification": {"title": "T", "navigate": "/"}}),
                "`web_push` is not 8030",
            ),
            (
                serde_json::json!({"web_push": "8030", "notification": {"title": "T", "navigate": "/"}}),
                "`web_push` is not 8030",
            ),
            (
                serde_json::json!({"web_push": 8030}),
                "`notification` is missing",
            ),
            (
                serde_json::json!({"web_push": 8030, "notification": {"navigate": "/"}}),
                "`title` is missing",
            ),
            (
                serde_json::json!({"web_push": 8030, "notification": {"title": "", "navigate": "/"}}),
                "`title` is empty",
            ),
            (
                serde_json::json!({"web_push": 8030, "notification": {"title": 7, "navigate": "/"}}),
                "`title` is not a string",
            ),
            (
                serde_json::json!({"web_push": 8030, "notification": {"title": "T"}}),
                "`navigate` is missing",
            ),
            (
                serde_json::json!({"web_push": 8030, "notification": {"title": "T", "navigate": "/", "body": ["b"]}}),
                "`body` is not a string",
            ),
            (
                serde_json::json!({"web_push": 8030, "notification": "T"}),
                "`title` is missing",
            ),
        ];
        for (json, why) in cases {
            assert_eq!(PushPayload::parse(&json), Err(why.to_owned()), "{json}");
            // Never a silent push: the worker still shows something.
            assert_eq!(
                PushPayload::parse_or_fallback(Some(json)),
                PushPayload::fallback()
            );
        }
    }

    #[test]
    fn many_headlines_are_counted_not_listed() {
        let headlines: Vec<String> = (1..=5).map(|n| format!("H{n}")).collect();
        assert_eq!(
            PushPayload::new_articles(&headlines, link()).body,
            "H1\nH2\nH3\n…and 2 more"
        );
    }

    #[test]
    fn the_largest_payload_fits_in_one_push_message() {
        // 200 four-byte characters: the longest headline the API accepts.
        let widest = "😀".repeat(200);
        // At the longest host name DNS allows (253 characters).
        let longest = format!("https://{}:65535{NEW_ARTICLES_PATH}", "n".repeat(253));
        let payload = PushPayload::new_articles(&vec![widest; 10], longest);
        let bytes = serde_json::to_vec(&payload.declarative()).unwrap().len();
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
        assert_eq!(
            PushPayload::parse_or_fallback(parse("[1, 2]")),
            PushPayload::fallback()
        );
        let sent = PushPayload::new_articles(&["Hi".into()], link());
        let text = serde_json::to_string(&sent.declarative()).unwrap();
        assert_eq!(PushPayload::parse_or_fallback(parse(&text)), sent);
    }

    proptest::proptest! {
        #[test]
        fn the_plain_form_has_the_servers_shape(
            title in any_text(), body in any_text(), url in any_text()
        ) {
            agrees_with_serde(&PushPayload { title, body, url });
        }
    }

    #[test]
    fn a_plain_form_that_is_not_an_object_names_the_missing_field() {
        assert_eq!(
            PushPayload::from_plain(&serde_json::json!("a string")),
            Err("`title` is missing".to_owned())
        );
    }
}
