//! A refusal as the client sees it: [`ApiError`], a status and a sentence,
//! sent as `{"error": "..."}` (with a `code` beside it where a program must
//! tell one refusal from the others).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StoreError;

/// An error as the client sees it: a status and a sentence.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    /// A word a program reads (the sentence is for people), such as
    /// `outbox::EXPIRED_CODE`.
    code: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            code: None,
        }
    }

    pub(crate) fn with_code(self, code: &'static str) -> Self {
        ApiError {
            code: Some(code),
            ..self
        }
    }

    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    #[cfg(test)]
    pub(crate) fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.code {
            None => Json(serde_json::json!({ "error": self.message })),
            Some(code) => Json(serde_json::json!({ "error": self.message, "code": code })),
        };
        (self.status, body).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if let StoreError::IdReused(reused) = error {
            return ApiError::new(StatusCode::CONFLICT, format!("id: {reused}"));
        }
        // The details go to the log, not to the client.
        tracing::error!("{error}");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the database failed; try again",
        )
    }
}

/// `422 Unprocessable Entity`: well-formed JSON (or form) whose content is
/// wrong; `message` names the field.
pub(crate) fn unprocessable(message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message)
}
