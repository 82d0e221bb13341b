//! Goal 4, Web Push: the server pushes a new article to a subscribed browser,
//! and the worker shows it.
//!
//! The harness stands in for the browser's push service (see
//! `standins/push_service.rs`): it subscribes keys of its own, receives the server's
//! push on 127.0.0.1, checks its VAPID header and decrypts it, then hands the
//! plaintext to the app's worker through the browser — which is where the
//! student's `on_push` runs.
//!
//! The page's half, `subscribe_push`, is proven too: Chromium's own
//! `pushManager.subscribe` needs Google's push service, so the harness puts
//! a stand-in in its place that records the options the page gives it and
//! answers with a subscription at the harness's push service. The page,
//! its toggle pressed, must subscribe promising visible pushes with the
//! server's VAPID key, and give that subscription to the server — the one
//! the server then pushes to.

use serde_json::{Value, json};

use super::context::{ARRIVAL, Ctx, vapid_public_key};
use super::failed::failed;
use super::page::{PAYLOAD_HINT, UI, close_notifications, expect_notification};
use crate::app::{ARTICLES, NEW_ARTICLES_PATH, PUSH_TAG, PUSH_TOGGLE, SUBSCRIPTIONS};
use crate::browsers::{Browser, PageId, js_str};
use crate::standins::push_service::{
    PushService, Received, Subscriber, check_vapid, delivery_headers, http_json, unb64, uuid,
};

pub(super) async fn push<B: Browser>(cx: &mut Ctx<B>) -> anyhow::Result<()> {
    let tab = cx.ready().await?;
    let port = cx.server.port;
    let mut service = PushService::start().await?;
    let subscriber = Subscriber::new()?;
    let endpoint = service.endpoint(&uuid()?);

    // The server's VAPID public key, to compare with the push's `k`.
    let (_, server_key) = vapid_public_key(port).await?;

    let subscribed = page_subscribes(cx, tab, &subscriber.json(&endpoint), &server_key).await;
    let result = match subscribed {
        Ok(()) => push_and_show(cx, tab, &mut service, &subscriber, &endpoint, &server_key).await,
        Err(error) => Err(error),
    };
    // Leave no subscription behind whose push service is gone.
    let _ = http_json(
        port,
        "DELETE",
        SUBSCRIPTIONS,
        &json!({ "endpoint": endpoint }),
    )
    .await;
    result
}

async fn push_and_show<B: Browser>(
    cx: &mut Ctx<B>,
    tab: crate::browsers::PageId,
    service: &mut PushService,
    subscriber: &Subscriber,
    endpoint: &str,
    server_key: &[u8],
) -> anyhow::Result<()> {
    // Earlier checkpoints may have shown notifications: start from none.
    close_notifications(&mut cx.browser, tab).await?;

    // Publish an article straight to the server, as another reader would.
    let headline = cx.headline("pushed to every subscriber");
    let article = json!({ "id": uuid()?, "headline": headline, "byline": "The Harness" });
    let (status, body) = http_json(cx.server.port, "POST", ARTICLES, &article).await?;
    anyhow::ensure!(status == 201, "POST {ARTICLES} answered {status}: {body}");

    // The server's push, at the push service.
    let Some(push) = service.next(ARRIVAL).await else {
        return Err(failed(
            format!(
                "a push request at the subscribed endpoint within {ARRIVAL:?} of publishing \"{headline}\""
            ),
            "none arrived (does the server send to every subscription after an article is stored?)",
        ));
    };
    let expected = "a push the browser's push service would accept (RFC 8030/8291/8292)";
    acceptable(&push, expected, endpoint, server_key, &service.origin)?;
    let plain = subscriber.decrypt(&push.body).map_err(|why| {
        failed(
            format!("{expected}: an aes128gcm body for this subscription"),
            why,
        )
    })?;
    let plain = String::from_utf8(plain)
        .map_err(|_| failed("a UTF-8 payload", "bytes that are not UTF-8"))?;
    let payload: Value = serde_json::from_str(&plain).unwrap_or(Value::Null);
    let link = new_articles_link(&cx.url());
    let title = match declarative(&payload, &headline, &link) {
        Ok(title) => title,
        Err(why) => {
            return Err(failed(
                format!(
                    "a declarative push message {{\"web_push\": 8030, \"notification\": {{\"title\", \"body\", \"navigate\"}}, \"mutable\": true}} whose body names \"{headline}\" and whose navigate is {link}"
                ),
                format!("{why}: {plain}"),
            ));
        }
    };

    // Now the browser's part: hand the plaintext to the worker.
    let mark = cx.browser.mark();
    cx.browser.deliver_push(&plain).await?;
    let expected = format!(
        "a notification \"{title}\" naming \"{headline}\" when the worker receives the push"
    );
    if cx
        .browser
        .wait_service_event(mark, "notifications", "Notification displayed", UI)
        .await
        .is_err()
    {
        return Err(failed(
            expected,
            format!("the browser showed no notification within {UI:?} of delivering the push"),
        ));
    }
    expect_notification(&mut cx.browser, tab, &expected, PAYLOAD_HINT, |t, b| {
        t == title && b.contains(&headline)
    })
    .await?;
    tagged_as_the_sync(cx, tab, &title).await
}

/// Fails unless the push's notification (titled `title`) has the tag the
/// sync's "Added N" has: a push about the same articles replaces that one
/// instead of stacking beside it.
async fn tagged_as_the_sync<B: Browser>(
    cx: &mut Ctx<B>,
    tab: crate::browsers::PageId,
    title: &str,
) -> anyhow::Result<()> {
    let js = format!(
        "(async () => {{ const r = await navigator.serviceWorker.ready;
           return (await r.getNotifications()).filter(n => n.title === {}).map(n => n.tag); }})()",
        js_str(title)
    );
    let tags = cx.browser.eval(tab, &js, UI).await?;
    if tags
        .as_array()
        .is_some_and(|t| !t.is_empty() && t.iter().all(|t| t == PUSH_TAG))
    {
        return Ok(());
    }
    Err(failed(
        format!(
            "the push's notification tagged \"{PUSH_TAG}\", as the sync's \"Added N\" is: a notification with the tag of one still shown replaces it, where another tag stacks a second one beside it"
        ),
        format!("its tags: {tags}"),
    ))
}

/// Fails unless `push` is a request the browser's push service would
/// accept: a POST to the `endpoint`, aes128gcm, a TTL, the delivery headers
/// and a valid VAPID header for `server_key` (`expected` says so).
fn acceptable(
    push: &Received,
    expected: &str,
    endpoint: &str,
    server_key: &[u8],
    origin: &str,
) -> anyhow::Result<()> {
    if push.method != "POST" || !endpoint.ends_with(&push.path) {
        return Err(failed(
            format!("{expected}: POST to the endpoint {endpoint}"),
            format!("{} {}", push.method, push.path),
        ));
    }
    if push.header("content-encoding") != Some("aes128gcm") {
        return Err(failed(
            expected,
            format!(
                "Content-Encoding {:?}, not aes128gcm",
                push.header("content-encoding")
            ),
        ));
    }
    if push
        .header("ttl")
        .and_then(|t| t.parse::<u64>().ok())
        .is_none()
    {
        return Err(failed(
            expected,
            format!(
                "TTL {:?}: the header is mandatory, in seconds",
                push.header("ttl")
            ),
        ));
    }
    if let Err(why) = delivery_headers(|name| push.header(name)) {
        return Err(failed(expected, why));
    }
    check_vapid(push.header("authorization"), server_key, origin)
        .map_err(|why| failed(format!("{expected}: a valid VAPID header"), why))?;
    Ok(())
}

/// Where a click on a push about new articles must lead, for the app at
/// `app` (`http://127.0.0.1:<proxy>/`): an absolute URL at the origin the
/// browser knows the app by, the harness's proxy — which the server only
/// knows from its `--public-origin`.
pub(super) fn new_articles_link(app: &str) -> String {
    format!("{}{NEW_ARTICLES_PATH}", app.trim_end_matches('/'))
}

/// A declarative push message naming `headline`, whose click leads to
/// `link`; its title.
fn declarative(payload: &Value, headline: &str, link: &str) -> Result<String, String> {
    if payload["web_push"] != 8030 {
        return Err("no `web_push: 8030`".into());
    }
    let notification = &payload["notification"];
    let title = notification["title"].as_str().unwrap_or_default();
    if title.is_empty() {
        return Err("no `notification.title`".into());
    }
    match notification["navigate"].as_str() {
        None | Some("") => return Err("no `notification.navigate`".into()),
        Some(navigate) if navigate != link => {
            return Err(format!(
                "`notification.navigate` is {navigate:?}, not the absolute URL {link:?} (a browser showing the message by itself has no page to resolve a path against)"
            ));
        }
        Some(_) => {}
    }
    if !notification["body"]
        .as_str()
        .unwrap_or_default()
        .contains(headline)
    {
        return Err(format!("`notification.body` does not name \"{headline}\""));
    }
    if payload["mutable"] != true {
        return Err("not `mutable: true` (the worker's `push` handler would not run)".into());
    }
    Ok(title.to_owned())
}

/// In place of `PushManager.prototype.subscribe` (given the subscription's
/// JSON, `{subscription}`): records each call's `userVisibleOnly` and
/// application server key (base64url, as given or encoded from its bytes)
/// in `window.__harnessSubscribe`, and answers with a subscription whose
/// JSON is the harness's.
const SUBSCRIBE_STAND_IN_JS: &str = "(() => {
    const json = {subscription};
    const asBase64url = (key) => {
        if (key == null || typeof key === 'string') return key ?? null;
        const bytes = key instanceof ArrayBuffer ? new Uint8Array(key)
            : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
        return btoa(String.fromCharCode(...bytes))
            .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
    };
    window.__harnessSubscribe = [];
    PushManager.prototype.subscribe = function (options) {
        window.__harnessSubscribe.push({
            userVisibleOnly: !!options && options.userVisibleOnly === true,
            key: asBase64url(options && options.applicationServerKey),
        });
        const subscription = Object.create(PushSubscription.prototype);
        Object.defineProperty(subscription, 'endpoint', { value: json.endpoint });
        Object.defineProperty(subscription, 'expirationTime', { value: null });
        subscription.toJSON = () => json;
        subscription.unsubscribe = () => Promise.resolve(true);
        return Promise.resolve(subscription);
    };
    PushManager.prototype.getSubscription = () => Promise.resolve(null);
    return true;
})()";

/// Presses the page's push toggle with the stand-in `subscribe` in place,
/// and fails unless the page subscribed promising visible pushes with the
/// server's key (`server_key`) and gave the subscription to the server.
async fn page_subscribes<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    subscription: &Value,
    server_key: &[u8],
) -> anyhow::Result<()> {
    let spy = SUBSCRIBE_STAND_IN_JS.replace("{subscription}", &subscription.to_string());
    cx.browser.eval(tab, &spy, UI).await?;
    let shown = format!(
        "(() => {{ const b = document.querySelector({}); return !!b && !b.hidden; }})()",
        js_str(PUSH_TOGGLE)
    );
    cx.browser
        .wait_until(tab, &shown, "the push toggle", UI)
        .await
        .map_err(|_| {
            failed(
                format!("the push toggle {PUSH_TOGGLE} shown"),
                "it stayed hidden",
            )
        })?;
    let before = cx.proxy.api_requests().len();
    cx.browser.click(tab, PUSH_TOGGLE).await?;

    let expected = format!(
        "pressing {PUSH_TOGGLE} (permission granted) to subscribe at the browser's push service: `subscribe_push` calls `pushManager.subscribe` with user-visible-only true and the server's VAPID key as the application server key (`push_subscription::server_key`)"
    );
    let called = "window.__harnessSubscribe.length > 0";
    if cx
        .browser
        .wait_until(tab, called, "the subscribe call", UI)
        .await
        .is_err()
    {
        return Err(failed(
            expected,
            format!("no call to `pushManager.subscribe` within {UI:?}"),
        ));
    }
    let calls = cx
        .browser
        .eval(tab, "window.__harnessSubscribe", UI)
        .await?;
    let call = &calls[0];
    if call["userVisibleOnly"] != Value::Bool(true) {
        return Err(failed(
            expected,
            "`userVisibleOnly` was not true: browsers allow no silent pushes, and refuse the subscription",
        ));
    }
    let key_matches = call["key"]
        .as_str()
        .and_then(|key| unb64("the key", key).ok())
        .is_some_and(|key| key == server_key);
    if !key_matches {
        return Err(failed(
            expected,
            format!(
                "the application server key {}: the push service would refuse the server's pushes, signed with its own key",
                call["key"]
            ),
        ));
    }

    let stored = given_to_server(cx, tab, before).await?;
    if !stored {
        return Err(failed(
            format!(
                "the subscription given to the server (POST {SUBSCRIPTIONS}, `push_subscription::send_to_server`), and the toggle then pressed (aria-pressed=\"true\")"
            ),
            format!("not within {UI:?}"),
        ));
    }
    Ok(())
}

/// Whether, within [`UI`], the page POSTed a subscription to the server
/// (after the first `before` API requests) and shows the toggle pressed.
async fn given_to_server<B: Browser>(
    cx: &mut Ctx<B>,
    tab: PageId,
    before: usize,
) -> anyhow::Result<bool> {
    let pressed = format!(
        "document.querySelector({})?.getAttribute('aria-pressed') === 'true'",
        js_str(PUSH_TOGGLE)
    );
    let deadline = tokio::time::Instant::now() + UI;
    loop {
        let sent = cx.proxy.api_requests()[before..]
            .iter()
            .any(|r| r.method == "POST" && r.path == SUBSCRIPTIONS);
        if sent && cx.browser.eval(tab, &pressed, UI).await? == Value::Bool(true) {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
