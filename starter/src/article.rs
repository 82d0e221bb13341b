//! Articles: the one piece of data the app is about, and the rules a valid one
//! follows.
//!
//! This module is compiled twice: into the server, which must never trust what
//! it is sent, and into the service worker, which checks an article *before*
//! queueing it. A mistake caught in the worker is reported to the user at once;
//! one caught only by the server would be discovered during a background sync,
//! long after the user has moved on. Both sides run the very same function.

use serde::{Deserialize, Serialize};

use crate::js_codec::{Plain, Value, optional_text, text};

/// Longest headline accepted, in characters, after trimming.
pub const HEADLINE_MAX_CHARS: usize = 200;
/// Longest byline accepted, in characters, after trimming.
pub const BYLINE_MAX_CHARS: usize = 100;

/// An article as the server stores and returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Article {
    pub id: String,
    pub headline: String,
    pub byline: String,
    /// When the server stored it (RFC 3339, UTC).
    pub created_at: String,
}

/// An article as a client sends it, before anyone has checked it.
///
/// Every field is optional here so that a missing field is reported by
/// [`ArticleDraft::validate`] in the same words as an empty one, instead of by
/// serde's generic "missing field" message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleDraft {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub byline: Option<String>,
}

/// A checked article, ready to be queued or stored: `id` is a lowercase UUID,
/// `headline` and `byline` are trimmed and within their limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewArticle {
    pub id: String,
    pub headline: String,
    pub byline: String,
}

/// Why an article was refused. Each message starts with the field it is about,
/// because that is what a person fixing the request needs to know first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    #[error("{field}: is missing")]
    Missing { field: &'static str },
    #[error("{field}: must not be empty")]
    Empty { field: &'static str },
    #[error("{field}: must be at most {max} characters, got {len}")]
    TooLong {
        field: &'static str,
        max: usize,
        len: usize,
    },
    #[error("{field}: must not contain control characters")]
    ControlCharacter { field: &'static str },
    #[error("id: must be a UUID such as 0b9e4d6a-2f3c-4e1a-9d8b-7c6f5e4d3c2b, got \"{got}\"")]
    NotUuid {
        /// The start of what was sent, escaped as ASCII so that a quote, a
        /// control character or an invisible one shows as what it is.
        got: String,
    },
}

impl ArticleDraft {
    /// Checks the draft. `id` must be present: the caller decides what to do
    /// with a draft that has none (the worker makes one, the server makes one
    /// for a plain HTML form post) before calling this.
    pub fn validate(&self) -> Result<NewArticle, ArticleError> {
        let id = self
            .id
            .as_deref()
            .ok_or(ArticleError::Missing { field: "id" })?;
        if !is_uuid(id) {
            return Err(ArticleError::NotUuid {
                // `escape_default`, not `{:?}`: the same job here, and
                // `{:?}`'s Unicode tables would be most of the size this
                // check adds to the worker's `.wasm`.
                got: id.chars().take(40).flat_map(char::escape_default).collect(),
            });
        }
        Ok(NewArticle {
            id: id.to_ascii_lowercase(),
            headline: checked_text("headline", self.headline.as_deref(), HEADLINE_MAX_CHARS)?,
            byline: checked_text("byline", self.byline.as_deref(), BYLINE_MAX_CHARS)?,
        })
    }
}

fn checked_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> Result<String, ArticleError> {
    let trimmed = value.ok_or(ArticleError::Missing { field })?.trim();
    if trimmed.is_empty() {
        return Err(ArticleError::Empty { field });
    }
    // Control characters (NUL, escape sequences, stray newlines) have no place
    // in a one-line headline and can hide what a headline really says.
    if trimmed.chars().any(char::is_control) {
        return Err(ArticleError::ControlCharacter { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(ArticleError::TooLong { field, max, len });
    }
    Ok(trimmed.to_owned())
}

/// `8-4-4-4-12` hexadecimal digits: the textual form of a UUID
/// (RFC 9562), which is what `crypto.randomUUID()` makes. Any version is
/// accepted; the id only has to be unique, not of a particular kind.
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::js_codec::shapes::{agrees_with_serde, any_text};

    const ID: &str = "0B9E4D6A-2F3C-4E1A-9D8B-7C6F5E4D3C2B";

    fn draft(headline: &str, byline: &str) -> ArticleDraft {
        ArticleDraft {
            id: Some(ID.into()),
            headline: Some(headline.into()),
            byline: Some(byline.into()),
        }
    }

    #[test]
    fn a_good_draft_is_trimmed_and_its_id_lowercased() {
        let article = draft("  Cats run the internet ", "\tA. Reporter")
            .validate()
            .unwrap();
        assert_eq!(article.id, ID.to_ascii_lowercase());
        assert_eq!(article.headline, "Cats run the internet");
        assert_eq!(article.byline, "A. Reporter");
    }

    #[test]
    fn each_problem_names_its_field() {
        let cases = [
            (
                ArticleDraft {
                    headline: None,
                    ..draft("", "b")
                },
                "headline: is missing",
            ),
            (draft("   ", "b"), "headline: must not be empty"),
            (draft("h", ""), "byline: must not be empty"),
            (
                draft("bell\u{7}", "b"),
                "headline: must not contain control characters",
            ),
            (
                draft("h", "line\nbreak"),
                "byline: must not contain control characters",
            ),
            (
                ArticleDraft {
                    id: None,
                    ..draft("h", "b")
                },
                "id: is missing",
            ),
        ];
        for (draft, expected) in cases {
            assert_eq!(draft.validate().unwrap_err().to_string(), expected);
        }
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        let at_limit = "é".repeat(HEADLINE_MAX_CHARS);
        assert!(draft(&at_limit, "b").validate().is_ok());
        let over = "é".repeat(HEADLINE_MAX_CHARS + 1);
        assert_eq!(
            draft(&over, "b").validate().unwrap_err(),
            ArticleError::TooLong {
                field: "headline",
                max: 200,
                len: 201
            }
        );
        let long_byline = "x".repeat(BYLINE_MAX_CHARS + 1);
        assert!(matches!(
            draft("h", &long_byline).validate(),
            Err(ArticleError::TooLong {
                field: "byline",
                ..
            })
        ));
    }

    #[test]
    fn ids_must_be_uuids() {
        assert!(is_uuid("0b9e4d6a-2f3c-4e1a-9d8b-7c6f5e4d3c2b"));
        for bad in [
            "",
            "42",
            "0b9e4d6a2f3c4e1a9d8b7c6f5e4d3c2b",
            "0b9e4d6a-2f3c-4e1a-9d8b-7c6f5e4d3c2g",
        ] {
            assert!(!is_uuid(bad), "{bad:?} is not a UUID");
            let mut d = draft("h", "b");
            d.id = Some(bad.into());
            assert!(matches!(d.validate(), Err(ArticleError::NotUuid { .. })));
        }
    }

    #[test]
    fn a_bad_id_is_shown_escaped() {
        let mut d = draft("h", "b");
        d.id = Some("x\"y\u{7}é".into());
        assert_eq!(
            d.validate().unwrap_err().to_string(),
            "id: must be a UUID such as 0b9e4d6a-2f3c-4e1a-9d8b-7c6f5e4d3c2b, got \"x\\\"y\\u{7}\\u{e9}\""
        );
    }

    #[test]
    fn markup_is_just_text() {
        // Headlines are shown with `textContent`, so markup is harmless text
        // and must not be refused or altered.
        let article = draft("<script>alert(1)</script>", "b").validate().unwrap();
        assert_eq!(article.headline, "<script>alert(1)</script>");
    }

    proptest::proptest! {
        #[test]
        fn articles_have_the_servers_shape(
            id in any_text(), headline in any_text(), byline in any_text(), created_at in any_text()
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
            id in proptest::option::of(any_text()),
            headline in proptest::option::of(any_text()),
            byline in proptest::option::of(any_text()),
        ) {
            agrees_with_serde(&ArticleDraft { id, headline, byline });
        }
    }
}
