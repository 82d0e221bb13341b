//! The page's side of Web Push, below the lesson: the browser's
//! `PushManager`, the server's key, and telling the server about a
//! subscription. The lesson's code (`subscribe_push` in `page.rs`) calls
//! these.
//!
//! A push subscription is an endpoint at the browser's push service (a URL
//! only that browser can be reached through) plus two keys the server
//! encrypts with. The browser makes it; our server only keeps it, and posts
//! to the endpoint when there is news.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};
use web_sys::{PushManager, PushSubscription, ServiceWorkerRegistration};

use crate::web_api::{JsResult, api_error, fetch, json_request, response_value, sleep};

const PUBLIC_KEY_URL: &str = "/api/v1/push/public-key";
const SUBSCRIPTIONS_URL: &str = "/api/v1/push/subscriptions";

/// `registration.pushManager`, once a worker is active (an error after 10 s
/// without one); `None` where the browser has no Push API.
pub async fn push_manager() -> JsResult<Option<PushManager>> {
    let container = web_sys::window()
        .ok_or("no window")?
        .navigator()
        .service_worker();
    // `ready` never settles if registering the worker failed: bounded, as
    // every wait of the page is.
    let ready = container.ready()?;
    let no_worker = "no service worker is active for this page";
    let registration: ServiceWorkerRegistration = with_timeout(ready, 10_000, no_worker)
        .await?
        .unchecked_into();
    let manager = Reflect::get(&registration, &"pushManager".into())?;
    Ok((!manager.is_undefined()).then(|| manager.unchecked_into()))
}

/// This browser's subscription, if it has one.
pub async fn current(manager: &PushManager) -> JsResult<Option<PushSubscription>> {
    // `getSubscription()` resolves with null when there is none.
    let subscription = JsFuture::from(manager.get_subscription()?).await?;
    Ok((!subscription.is_null() && !subscription.is_undefined())
        .then(|| subscription.unchecked_into()))
}

/// The server's VAPID public key (base64url), which the browser's push
/// service will check every push against: only our server can push to the
/// subscription made with it.
pub async fn server_key() -> JsResult<String> {
    let answer = api_json("GET", PUBLIC_KEY_URL, None).await?;
    Reflect::get(&answer, &"public_key".into())?
        .as_string()
        .ok_or_else(|| "the server sent no public key".into())
}

/// Gives a subscription (`subscription.toJSON()`: `{endpoint,
/// expirationTime, keys: {p256dh, auth}}`) to the server. The server keeps
/// one per endpoint, so sending it again is harmless.
pub async fn send_to_server(subscription: &PushSubscription) -> JsResult<()> {
    let json: String = js_sys::JSON::stringify(subscription)?.into();
    api_json("POST", SUBSCRIPTIONS_URL, Some(&json)).await?;
    Ok(())
}

/// Ends the subscription in the browser (its push service drops the
/// endpoint), then tells the server to forget it. If the server cannot be
/// reached now, its next push to the endpoint gets `410 Gone` and it forgets
/// it then; so that failure is only logged.
pub async fn unsubscribe(subscription: &PushSubscription) -> JsResult<()> {
    let endpoint = subscription.endpoint();
    JsFuture::from(subscription.unsubscribe()?).await?;
    let body = js_sys::Object::new();
    Reflect::set(&body, &"endpoint".into(), &endpoint.into())?;
    let body: String = js_sys::JSON::stringify(&body)?.into();
    if let Err(error) = api_json("DELETE", SUBSCRIPTIONS_URL, Some(&body)).await {
        web_sys::console::warn_1(
            &format!(
                "the server was not told: {}",
                crate::web_api::describe(&error)
            )
            .into(),
        );
    }
    Ok(())
}

/// `promise`, or a rejection with `message` after `milliseconds`. The
/// browser's `pushManager.subscribe` asks its push service for an endpoint,
/// which can take a while, or forever with no route to it.
pub async fn with_timeout(
    promise: Promise,
    milliseconds: i32,
    message: &'static str,
) -> JsResult<JsValue> {
    let timer = future_to_promise(async move {
        sleep(milliseconds).await;
        Err(JsValue::from_str(message))
    });
    JsFuture::from(Promise::race(&Array::of2(&promise, &timer))).await
}

/// A request to our API, answered with its JSON; a non-2xx answer fails with
/// the server's `error`. An empty answer (`204`) reads as `null`.
async fn api_json(method: &str, url: &str, body: Option<&str>) -> JsResult<JsValue> {
    let response = fetch(&json_request(method, url, body)?).await?;
    let value = response_value(&response).await?;
    if !response.ok() {
        let reason = api_error(&value).unwrap_or_else(|| format!("HTTP {}", response.status()));
        return Err(reason.into());
    }
    Ok(value)
}
