//! The article routes: `GET` and `POST /api/v1/articles`.
//!
//! A refused POST stores nothing: a batch is checked whole before the first
//! article is written, and written in one transaction.

use std::sync::Arc;

use crate::shared::article::{ArticleDraft, NewArticle};
use crate::shared::outbox::{self, MAX_BATCH_ARTICLES, Posted};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::error::{ApiError, unprocessable};
use super::json::{FromJson, media_type, parse_json};
use crate::push::Push;
use crate::store::{IdReused, Store, StoreError, with_store};

// ANCHOR: list
/// `GET /api/v1/articles`: every article, oldest first.
pub async fn list_articles(State(store): State<Arc<Store>>) -> Result<Response, ApiError> {
    // Most GETs find the list cached: answer those right here. Handing work
    // to the blocking pool costs two thread switches, more than the whole
    // answer; only rebuilding the list needs SQLite, and so that pool.
    let json = match store.cached_articles_json()? {
        Some(json) => json,
        None => with_store(&store, Store::articles_json).await?,
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], json).into_response())
}
// ANCHOR_END: list

// ANCHOR: create
/// `POST /api/v1/articles`: one article or an array of them. `201` and the
/// whole list when something new was stored; `200` when every id was already
/// there with the same text (a retried sync); a plain HTML form post is sent
/// back to the page. An id already used for a different article is a `409`,
/// and an article queued more than 7 days before it arrived a `422`: then
/// nothing of the request is stored. Something new is also announced to
/// every push subscriber — after the commit, and without waiting for it.
pub async fn create_articles(
    State(store): State<Arc<Store>>,
    State(push): State<Arc<Push>>,
    submission: Submission,
) -> Result<Response, ApiError> {
    let posted = submission.articles;
    // Judged by this server's clock, never the client's, which may have
    // jumped since the article was queued (`outbox::RETENTION_MS`).
    posted.refuse_stale(unix_time_ms())?;
    let articles = posted.articles();
    // Answered only once the articles are on disk (`Store::insert_durably`).
    let stored = match with_store(&store, move |s| s.insert_durably(articles)).await {
        Err(StoreError::IdReused(reused)) => return Err(posted.id_reused(&reused)),
        stored => stored?,
    };
    let added = !stored.new_headlines.is_empty();
    if added {
        push.announce(Arc::clone(&store), stored.new_headlines);
    }
    if submission.from_html_form {
        return Ok(Redirect::to("/").into_response());
    }
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let json = [(header::CONTENT_TYPE, "application/json")];
    Ok((status, json, stored.list_json).into_response())
}
// ANCHOR_END: create

/// The checked articles of a POST body, JSON or urlencoded: an extractor of
/// its own rather than a [`super::json::JsonBody`], since a browser without
/// JavaScript posts the page's form.
pub struct Submission {
    articles: PostedArticles,
    /// A browser without JavaScript posted the page's form: answer with a
    /// redirect back to the page rather than with JSON.
    from_html_form: bool,
}

impl<S: Send + Sync> FromRequest<S> for Submission {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = media_type(request.headers());
        let wants_html = accepts_html(request.headers());
        // The body limit (64 KiB) is a layer on the router; going over it is
        // the only way reading the body can fail with 413.
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "body: larger than the 64 KiB limit; send fewer articles per request",
                    )
                } else {
                    ApiError::new(
                        rejection.status(),
                        format!("body: {}", rejection.body_text()),
                    )
                }
            })?;
        match content_type.as_deref() {
            Some("application/json") => Ok(Submission {
                articles: decode_json(&body)?,
                from_html_form: false,
            }),
            Some("application/x-www-form-urlencoded") => Ok(Submission {
                articles: PostedArticles {
                    posted: vec![Posted {
                        article: decode_form(&body)?,
                        queued_at: None,
                    }],
                    as_array: false,
                },
                from_html_form: wants_html,
            }),
            other => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "content-type: expected application/json or application/x-www-form-urlencoded, got {}",
                    other.unwrap_or("none")
                ),
            )),
        }
    }
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The checked articles of a POST, each with the time it was queued if the
/// client sent one (a worker's outbox does; a form or `curl` need not).
#[derive(Debug)]
pub struct PostedArticles {
    pub posted: Vec<Posted>,
    /// They came as a JSON array: a refusal names one as `[2].headline`
    /// there, and as `headline` alone in a single object.
    pub as_array: bool,
}

impl PostedArticles {
    /// The articles, in the order they came, ready to be stored.
    fn articles(&self) -> Vec<NewArticle> {
        self.posted.iter().map(|p| p.article.clone()).collect()
    }

    /// `field` of the article at `index`, as a refusal names it.
    fn field(&self, index: usize, field: &str) -> String {
        if self.as_array {
            format!("[{index}].{field}")
        } else {
            field.to_owned()
        }
    }

    /// `422`, with the code the worker reads as "dropped for its age", if
    /// an article was queued more than [`outbox::RETENTION_MS`] before
    /// `now_ms`.
    pub fn refuse_stale(&self, now_ms: f64) -> Result<(), ApiError> {
        const DAY_MS: f64 = 24.0 * 60.0 * 60.0 * 1000.0;
        let stale = self.posted.iter().enumerate().find_map(|(index, p)| {
            let queued_at = p.queued_at?;
            outbox::expired(queued_at, now_ms).then_some((index, queued_at))
        });
        match stale {
            None => Ok(()),
            Some((index, queued_at)) => Err(unprocessable(format!(
                "{}: queued {} days ago; an article is taken up to {} days after it was queued",
                self.field(index, "queued_at"),
                ((now_ms - queued_at) / DAY_MS).floor(),
                outbox::RETENTION_MS / DAY_MS,
            ))
            .with_code(outbox::EXPIRED_CODE)),
        }
    }

    /// `409`, naming the id that came again with a different article.
    fn id_reused(&self, reused: &IdReused) -> ApiError {
        let field = self.field(reused.index, "id");
        ApiError::new(StatusCode::CONFLICT, format!("{field}: {reused}"))
    }
}

/// Decodes and checks a JSON body: one article object, or an array of them.
pub fn decode_json(body: &[u8]) -> Result<PostedArticles, ApiError> {
    PostedArticles::from_json(parse_json(body)?).map_err(unprocessable)
}

/// One article object, or an array of at most [`MAX_BATCH_ARTICLES`], each
/// checked; an article's error says which one it is (`[2].headline: …`).
impl FromJson for PostedArticles {
    fn from_json(value: serde_json::Value) -> Result<Self, String> {
        match value {
            serde_json::Value::Array(items) => {
                if items.is_empty() {
                    return Err("body: the array is empty; send at least one article".into());
                }
                if items.len() > MAX_BATCH_ARTICLES {
                    return Err(format!(
                        "body: {} articles in one request; at most {MAX_BATCH_ARTICLES} are accepted",
                        items.len()
                    ));
                }
                let posted = items
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| decode_article(item).map_err(|e| format!("[{index}].{e}")))
                    .collect::<Result<_, _>>()?;
                Ok(PostedArticles {
                    posted,
                    as_array: true,
                })
            }
            item @ serde_json::Value::Object(_) => Ok(PostedArticles {
                posted: vec![decode_article(item)?],
                as_array: false,
            }),
            _ => Err("body: expected an article object or an array of articles".into()),
        }
    }
}

fn decode_article(value: serde_json::Value) -> Result<Posted, String> {
    let queued_at = match value.get("queued_at") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(number)) => number.as_f64(),
        Some(_) => {
            return Err(
                "queued_at: must be a number, the milliseconds since 1970 when the article was queued"
                    .into(),
            );
        }
    };
    // serde_path_to_error puts the field's name in front of a type error
    // ("headline: invalid type: integer `5`, expected a string").
    let draft: ArticleDraft = serde_path_to_error::deserialize(value).map_err(|e| e.to_string())?;
    let article = draft.validate().map_err(|e| e.to_string())?;
    Ok(Posted { article, queued_at })
}

/// Now, by this server's clock, in milliseconds since 1970.
fn unix_time_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |since| since.as_millis() as f64)
}

/// Decodes and checks an urlencoded form post. A form has no script to make
/// an id, so the server makes one; such a post is not idempotent, which is
/// the price of working without JavaScript.
fn decode_form(body: &[u8]) -> Result<NewArticle, ApiError> {
    let mut draft: ArticleDraft = serde_urlencoded::from_bytes(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body: not a valid form: {e}"),
        )
    })?;
    if draft.id.as_deref().is_none_or(str::is_empty) {
        draft.id = Some(uuid::Uuid::new_v4().to_string());
    }
    draft.validate().map_err(|e| unprocessable(e.to_string()))
}
