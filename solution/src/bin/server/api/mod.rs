//! The JSON API: everything under `/api/`. (`main.rs` builds the one router,
//! which adds the static files and `dev.rs`'s live reload.)
//!
//! - `articles.rs`: `GET` and `POST /api/v1/articles`;
//! - `push.rs`: `GET /api/v1/push/public-key`, `POST` and `DELETE
//!   /api/v1/push/subscriptions`;
//! - `json.rs`: the JSON request body every route but the articles' POST
//!   takes ([`json::JsonBody`]);
//! - `error.rs`: a refusal as the client sees it ([`error::ApiError`]);
//! - here: the state the routes share, and the answers for a path or a
//!   method the API does not have.
//!
//! Every refusal is a 4xx with a JSON body `{"error": "..."}` whose message
//! starts with the field at fault, and a refused request stores nothing.

pub mod articles;
pub mod error;
pub mod json;
pub mod push;

use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::{Method, StatusCode, Uri};

use crate::push::Push;
use crate::store::Store;
use error::ApiError;

/// What the routes share. Each handler asks only for the part it uses
/// (`State<Arc<Store>>`, `State<Arc<Push>>`); `FromRef` hands it over.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<Store>,
    pub push: Arc<Push>,
}

impl FromRef<AppState> for Arc<Store> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.store)
    }
}

impl FromRef<AppState> for Arc<Push> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(&state.push)
    }
}

/// Any path under `/api/` that is not a route.
pub async fn no_such_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("path: no route for {method} {}", uri.path()),
    )
}

/// A route that exists, asked with a method it does not take.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method: {} does not take {method}", uri.path()),
    )
}
