//! The push routes: the server's VAPID public key, and a browser's push
//! subscription stored or forgotten. Sending to the subscriptions is
//! `crate::push`'s job, which knows nothing of HTTP requests.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::error::{ApiError, unprocessable};
use super::json::{FromJson, JsonBody};
use crate::push::Push;
use crate::push::subscription::{self, SubscriptionDraft};
use crate::store::{Store, with_store};

/// `GET /api/v1/push/public-key`: `{"public_key": "<base64url>"}`.
pub async fn public_key(State(push): State<Arc<Push>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "public_key": push.keys().public_key_base64() }))
}

// ANCHOR: subscribe
/// `POST /api/v1/push/subscriptions`: stores a browser's subscription.
/// `201` when it is new, `200` when that endpoint was already stored (its
/// keys are updated: a browser may renew them).
pub async fn subscribe(
    State(push): State<Arc<Push>>,
    State(store): State<Arc<Store>>,
    JsonBody(draft): JsonBody<SubscriptionDraft>,
) -> Result<Response, ApiError> {
    let (subscription, url) = draft.check(push.policy()).map_err(unprocessable)?;
    subscription::check_destination(&url, push.policy())
        .await
        .map_err(unprocessable)?;
    let endpoint = subscription.endpoint.clone();
    let added = with_store(&store, move |s| s.save_subscription(&subscription)).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(serde_json::json!({ "endpoint": endpoint }))).into_response())
}
// ANCHOR_END: subscribe

/// `DELETE /api/v1/push/subscriptions` with `{"endpoint": "…"}`: forgets a
/// subscription. `204` whether or not it was stored: either way, the server
/// will not push to it.
pub async fn unsubscribe(
    State(store): State<Arc<Store>>,
    JsonBody(Unsubscription { endpoint }): JsonBody<Unsubscription>,
) -> Result<StatusCode, ApiError> {
    with_store(&store, move |s| s.delete_subscription(&endpoint)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A `PushSubscription` as the page sends it (`subscription.toJSON()`), its
/// fields of the right types; [`SubscriptionDraft::check`] checks the rest.
impl FromJson for SubscriptionDraft {
    fn from_json(value: serde_json::Value) -> Result<Self, String> {
        SubscriptionDraft::from_value(value)
    }
}

/// The body of `DELETE /api/v1/push/subscriptions`.
pub struct Unsubscription {
    endpoint: String,
}

impl FromJson for Unsubscription {
    fn from_json(value: serde_json::Value) -> Result<Self, String> {
        match value.get("endpoint") {
            Some(serde_json::Value::String(endpoint)) if !endpoint.is_empty() => {
                Ok(Unsubscription {
                    endpoint: endpoint.clone(),
                })
            }
            Some(_) => Err("endpoint: must be a non-empty string".into()),
            None => Err("endpoint: is missing".into()),
        }
    }
}
