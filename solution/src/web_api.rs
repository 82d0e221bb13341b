//! Small wrappers over the browser's Web APIs, shared by the page and the
//! worker: `fetch` and JSON requests to our API, `crypto.randomUUID`, timers
//! ([`sleep`]), the app badge, events as futures ([`next_event`]), a readable
//! sentence for whatever a browser API threw ([`describe`]), and [`to_js`] /
//! [`from_js`], our types to and from plain JS objects (`js_codec.rs`).
//!
//! Most browser APIs come in two shapes: Promises, which `JsFuture` turns into
//! Rust futures, and older event-based ones (IndexedDB requests, message
//! ports), for which [`next_event`] does the same job.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Event, EventTarget, Request, Response};

use crate::js_codec::Plain;

pub type JsResult<T> = Result<T, JsValue>;

// `fetch`, `setTimeout` and `crypto` exist both on `Window` and on
// `ServiceWorkerGlobalScope`, which web-sys models as unrelated types. Binding
// the global functions directly gives one import that works in both places.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_request(request: &Request) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, milliseconds: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// A property of the global object (`window` on the page, `self` in the
/// worker), if it is there.
fn global_property(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &name.into())
        .ok()
        .filter(|value| !value.is_undefined() && !value.is_null())
}

/// `fetch(request)`: resolves with any HTTP answer, 503 included; fails only
/// when no answer came (offline, connection refused).
pub async fn fetch(request: &Request) -> JsResult<Response> {
    Ok(JsFuture::from(fetch_request(request))
        .await?
        .unchecked_into())
}

/// A fresh random UUID, the idempotency key of a new article.
pub fn random_uuid() -> JsResult<String> {
    let crypto: web_sys::Crypto = global_property("crypto")
        .ok_or("crypto is not available here")?
        .unchecked_into();
    Ok(crypto.random_uuid())
}

pub fn indexed_db() -> JsResult<web_sys::IdbFactory> {
    Ok(global_property("indexedDB")
        .ok_or("IndexedDB is not available here")?
        .unchecked_into())
}

/// Shows how many articles wait on the app's icon, or clears it at zero: the
/// Badging API, `navigator.setAppBadge` (on the page's `navigator` and the
/// worker's alike). Only Chromium-based browsers have it, and they show the
/// badge only for an installed app; elsewhere the method is missing and this
/// does nothing. The Promise it returns may reject (the browser did not allow
/// it): a badge is a hint, so that is ignored.
pub fn show_app_badge(count: usize) {
    let Some(navigator) = global_property("navigator") else {
        return;
    };
    let method = if count == 0 {
        "clearAppBadge"
    } else {
        "setAppBadge"
    };
    let Some(badge) = Reflect::get(&navigator, &method.into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return;
    };
    let answer = badge.call1(&navigator, &JsValue::from_f64(count as f64));
    if let Ok(answer) = answer.and_then(|a| a.dyn_into::<Promise>()) {
        wasm_bindgen_futures::spawn_local(async move {
            let _ = JsFuture::from(answer).await;
        });
    }
}

/// Resolves after `milliseconds`.
pub async fn sleep(milliseconds: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, milliseconds);
    });
    let _ = JsFuture::from(promise).await;
}

/// Rust value → plain JS object, ready for `postMessage` or IndexedDB.
pub fn to_js<T: Plain>(value: &T) -> JsValue {
    value.to_plain()
}

/// Plain JS object → Rust value; the error names the field that is wrong.
pub fn from_js<T: Plain>(value: &JsValue) -> Result<T, String> {
    T::from_plain(value)
}

/// Rust value → the JSON text of a request body.
pub fn to_json<T: Plain>(value: &T) -> String {
    // `stringify` throws only on cycles and BigInts, which plain values never
    // hold.
    js_sys::JSON::stringify(&to_js(value))
        .map(String::from)
        .unwrap_or_default()
}

/// A readable sentence for whatever a browser API threw or rejected with.
pub fn describe(error: &JsValue) -> String {
    if let Some(text) = error.as_string() {
        return text;
    }
    if let Some(event) = error.dyn_ref::<Event>() {
        // IndexedDB and message ports fail with an event; the reason is the
        // `error` of its target.
        let reason = event
            .target()
            .and_then(|target| Reflect::get(&target, &"error".into()).ok())
            .filter(|e| !e.is_null() && !e.is_undefined())
            .map(|e| describe(&e))
            .unwrap_or_default();
        return format!("{} event {reason}", event.type_())
            .trim_end()
            .to_owned();
    }
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        return format!(
            "{}: {}",
            String::from(error.name()),
            String::from(error.message())
        );
    }
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}

/// Waits for `target` to fire `success` (resolves with that event) or one of
/// `failures` (rejects with that event), giving up after `timeout_ms`.
///
/// The listeners and the timer are removed afterwards, so nothing leaks.
pub async fn next_event(
    target: &EventTarget,
    success: &str,
    failures: &[&str],
    timeout_ms: Option<i32>,
) -> JsResult<Event> {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let (resolve, reject) = settle.ok_or("the Promise executor did not run")?;

    let on_success = Closure::<dyn FnMut(JsValue)>::new(move |event| {
        let _ = resolve.call1(&JsValue::NULL, &event);
    });
    let reject_on_failure = reject.clone();
    let on_failure = Closure::<dyn FnMut(JsValue)>::new(move |event| {
        let _ = reject_on_failure.call1(&JsValue::NULL, &event);
    });
    let waited_for = format!(
        "timed out after {} ms waiting for a {success} event",
        timeout_ms.unwrap_or(0)
    );
    let on_timeout = Closure::<dyn FnMut()>::new(move || {
        let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(&waited_for));
    });

    target.add_event_listener_with_callback(success, on_success.as_ref().unchecked_ref())?;
    for failure in failures {
        target.add_event_listener_with_callback(failure, on_failure.as_ref().unchecked_ref())?;
    }
    let timer = timeout_ms.map(|ms| set_timeout(on_timeout.as_ref().unchecked_ref(), ms));

    let outcome = JsFuture::from(promise).await;

    if let Some(timer) = timer {
        clear_timeout(&timer);
    }
    let _ =
        target.remove_event_listener_with_callback(success, on_success.as_ref().unchecked_ref());
    for failure in failures {
        let _ = target
            .remove_event_listener_with_callback(failure, on_failure.as_ref().unchecked_ref());
    }
    outcome.map(JsCast::unchecked_into)
}

/// A JSON request to our own API.
pub fn json_request(method: &str, url: &str, body: Option<&str>) -> JsResult<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method(method);
    let headers = web_sys::Headers::new()?;
    headers.set("accept", "application/json")?;
    if let Some(body) = body {
        headers.set("content-type", "application/json")?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    Request::new_with_str_and_init(url, &init)
}

/// Reads a response body as JSON into a Rust value.
pub async fn response_json<T: Plain>(response: &Response) -> Result<T, String> {
    from_js(&response_value(response).await?)
}

/// Reads a response body as JSON, with the browser's parser. An empty body
/// (a `204`) reads as `null`.
pub async fn response_value(response: &Response) -> Result<JsValue, String> {
    let text = JsFuture::from(response.text().map_err(|e| describe(&e))?)
        .await
        .map_err(|e| describe(&e))?
        .as_string()
        .unwrap_or_default();
    if text.is_empty() {
        return Ok(JsValue::NULL);
    }
    js_sys::JSON::parse(&text).map_err(|e| format!("the answer is not JSON: {}", describe(&e)))
}

/// The `error` the API puts in every non-2xx answer, if `body` has one.
pub fn api_error(body: &JsValue) -> Option<String> {
    Reflect::get(body, &"error".into()).ok()?.as_string()
}
