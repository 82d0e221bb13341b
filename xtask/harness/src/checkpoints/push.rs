//! Goal 4, Web Push: the server pushes a new article to a subscribed browser,
//! and the worker shows it.
//!
//! The harness stands in for the browser's push service (see
//! `standins/push_service.rs`): it subscribes keys of its own, receives the server's
//! push on 127.0.0.1, checks its VAPID header and decrypts it, then hands the
//! plaintext to the app's worker through the browser — which is where the
//! student's `on_push` runs.

use serde_json::{Value, json};

use super::context::{ARRIVAL, Ctx, vapid_public_key};
use super::failed::failed;
use super::page::{PAYLOAD_HINT, UI, close_notifications, expect_notification};
use crate::app::{ARTICLES, NEW_ARTICLES_PATH, SUBSCRIPTIONS};
use crate::browsers::Browser;
use crate::standins::push_service::{
    PushService, Received, Subscriber, check_vapid, delivery_headers, http_json, uuid,
};

pub(super) async fn push<B: Browser>(cx: &mut Ctx<B>) -> anyhow::Result<()> {
    let tab = cx.ready().await?;
    let port = cx.server.port;
    let mut service = PushService::start().await?;
    let subscriber = Subscriber::new()?;
    let endpoint = service.endpoint(&uuid()?);

    // The server's VAPID public key, to compare with the push's `k`.
    let (_, server_key) = vapid_public_key(port).await?;

    let (status, body) =
        http_json(port, "POST", SUBSCRIPTIONS, &subscriber.json(&endpoint)).await?;
    if !(200..300).contains(&status) {
        return Err(failed(
            format!(
                "POST {SUBSCRIPTIONS} to store a subscription (the server started with --allow-local-push-endpoints)"
            ),
            format!("{status} {body}"),
        ));
    }

    let result = push_and_show(cx, tab, &mut service, &subscriber, &endpoint, &server_key).await;
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
    .await
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
