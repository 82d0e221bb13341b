//! JSON request bodies: [`JsonBody`], the extractor a JSON route takes, and
//! [`FromJson`], what such a body decodes into.
//!
//! Why not axum's own `Json<T>`: its refusals are plain text in serde's
//! words. Ours are the API's: JSON, starting with the field at fault, and a
//! body that is not JSON at all (`400`) told apart from JSON of the wrong
//! shape (`422`).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};

use super::error::{ApiError, unprocessable};

/// What a JSON request body decodes into.
pub trait FromJson: Sized {
    /// Decodes the body's JSON. The error starts with the field at fault;
    /// the client gets it with `422 Unprocessable Entity`.
    fn from_json(value: serde_json::Value) -> Result<Self, String>;
}

/// A JSON request body, decoded into `T`. Before `T` sees anything, it
/// refuses a request that does not say it is JSON (`415`), a body past the
/// router's limit (`413`) and one that is not JSON (`400`).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: FromJson> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match media_type(request.headers()).as_deref() {
            Some("application/json") => {}
            other => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    format!(
                        "content-type: expected application/json, got {}",
                        other.unwrap_or("none")
                    ),
                ));
            }
        }
        // Reading fails only past the router's body limit (64 KiB).
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                ApiError::new(
                    rejection.status(),
                    format!("body: {}", rejection.body_text()),
                )
            })?;
        let value = parse_json(&body)?;
        T::from_json(value).map(JsonBody).map_err(unprocessable)
    }
}

/// Parses a body as JSON, of any shape; `400 Bad Request` when it is not.
pub(crate) fn parse_json(body: &[u8]) -> Result<serde_json::Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("body: not valid JSON: {e}"),
        )
    })
}

/// `application/json; charset=utf-8` → `application/json`.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let essence = value.split(';').next().unwrap_or_default().trim();
    Some(essence.to_ascii_lowercase())
}
