//! Web Push, proven without the internet: the server's routes, and a push
//! service of our own on 127.0.0.1 that receives what the server sends,
//! checks its VAPID header (RFC 8292) and decrypts it (RFC 8291) with a
//! browser's keys made here — through RustCrypto, not the `ece`/OpenSSL code
//! the server encrypts with.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead, KeyInit};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use ct_codecs::{Base64UrlSafeNoPadding, Decoder, Encoder};
use hkdf::Hkdf;
use jwt_simple::prelude::ES256KeyPair;
use p256::ecdsa::signature::Verifier;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::{APP_ORIGIN, TestServer, article};
use crate::push::keys::{KEY_FILE, VapidKeys};
use crate::push::send::SendConfig;
use crate::push::subscription::SubscriptionDraft;
use crate::push::{EndpointPolicy, FanOut};
use crate::shared::push_payload::{DeclarativePush, PushPayload};

// ---------------------------------------------------------------------------
// A browser's side of a subscription
// ---------------------------------------------------------------------------

/// What a browser keeps for a subscription: its P-256 key pair and the auth
/// secret. The public half and the secret go to the server.
struct Subscriber {
    secret: p256::SecretKey,
    auth: [u8; 16],
    endpoint: String,
}

impl Subscriber {
    fn new(endpoint: String) -> Self {
        // jwt-simple's generator is a convenient CSPRNG source here.
        let secret = p256::SecretKey::from_slice(&ES256KeyPair::generate().to_bytes()).unwrap();
        let mut auth = [0; 16];
        auth.copy_from_slice(&ES256KeyPair::generate().to_bytes()[..16]);
        Subscriber {
            secret,
            auth,
            endpoint,
        }
    }

    fn public_key(&self) -> Vec<u8> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        self.secret
            .public_key()
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// `PushSubscription.toJSON()`, as the page sends it.
    fn json(&self) -> Value {
        json!({
            "endpoint": self.endpoint,
            "expirationTime": null,
            "keys": {"p256dh": b64(&self.public_key()), "auth": b64(&self.auth)},
        })
    }

    fn decrypt(&self, body: &[u8]) -> Vec<u8> {
        self.try_decrypt(body).expect("the payload decrypts")
    }

    /// Decrypts an `aes128gcm` body (RFC 8188 framing, RFC 8291 keys);
    /// `None` if it was not encrypted for this browser.
    fn try_decrypt(&self, body: &[u8]) -> Option<Vec<u8>> {
        // Header: salt (16) ‖ record size (4) ‖ key id length (1) ‖ key id,
        // where the key id is the sender's one-time public key.
        let salt = &body[..16];
        let record_size = u32::from_be_bytes(body[16..20].try_into().unwrap()) as usize;
        let id_length = body[20] as usize;
        assert_eq!(
            id_length, 65,
            "the key id is the sender's uncompressed public key"
        );
        let sender_public = &body[21..21 + id_length];
        let ciphertext = &body[21 + id_length..];
        assert!(ciphertext.len() <= record_size, "one record");

        let sender_public = p256::PublicKey::from_sec1_bytes(sender_public).unwrap();
        let shared =
            p256::ecdh::diffie_hellman(self.secret.to_nonzero_scalar(), sender_public.as_affine());
        // IKM = HKDF(auth, ECDH secret, "WebPush: info\0" ‖ ua_public ‖ as_public)
        let mut key_info = b"WebPush: info\0".to_vec();
        key_info.extend_from_slice(&self.public_key());
        key_info.extend_from_slice(&body[21..21 + id_length]);
        let mut ikm = [0; 32];
        Hkdf::<Sha256>::new(Some(&self.auth), shared.raw_secret_bytes())
            .expand(&key_info, &mut ikm)
            .unwrap();
        // CEK and nonce from the salt.
        let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
        let mut cek = [0; 16];
        content
            .expand(b"Content-Encoding: aes128gcm\0", &mut cek)
            .unwrap();
        let mut nonce = [0; 12];
        content
            .expand(b"Content-Encoding: nonce\0", &mut nonce)
            .unwrap();

        let cipher = Aes128Gcm::new_from_slice(&cek).unwrap();
        let nonce = aes_gcm::Nonce::try_from(&nonce[..]).unwrap();
        let mut plain = cipher.decrypt(&nonce, ciphertext).ok()?;
        // The last record ends with the delimiter 0x02, then zero padding.
        while plain.last() == Some(&0) {
            plain.pop();
        }
        assert_eq!(plain.pop(), Some(2), "last-record delimiter");
        Some(plain)
    }
}

fn b64(bytes: &[u8]) -> String {
    Base64UrlSafeNoPadding::encode_to_string(bytes).unwrap()
}

fn unb64(text: &str) -> Vec<u8> {
    Base64UrlSafeNoPadding::decode_to_vec(text, None).unwrap()
}

// ---------------------------------------------------------------------------
// A push service on 127.0.0.1
// ---------------------------------------------------------------------------

/// The answers a push service gives next: a status, and a `Retry-After`.
type Script = Arc<Mutex<VecDeque<(StatusCode, Option<&'static str>)>>>;

/// One request the push service received.
struct Received {
    headers: HeaderMap,
    body: Bytes,
    at: Instant,
}

/// A push service: records every request, answers each with the next
/// scripted status (201 once the script is done).
struct PushService {
    origin: String,
    received: mpsc::UnboundedReceiver<Received>,
    script: Script,
}

impl PushService {
    async fn start() -> Self {
        Self::start_holding(Duration::ZERO).await
    }

    /// A push service that keeps every request `hold` before answering.
    async fn start_holding(hold: Duration) -> Self {
        let (sender, received) = mpsc::unbounded_channel();
        let script: Script = Arc::default();
        let answers = Arc::clone(&script);
        let service = axum::Router::new().route(
            "/push/{id}",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let sender = sender.clone();
                let answers = Arc::clone(&answers);
                async move {
                    let _ = sender.send(Received {
                        headers,
                        body,
                        at: Instant::now(),
                    });
                    tokio::time::sleep(hold).await;
                    let (status, retry_after) = answers
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or((StatusCode::CREATED, None));
                    let mut response = axum::response::Response::new(Body::from("{}"));
                    *response.status_mut() = status;
                    if let Some(seconds) = retry_after {
                        response
                            .headers_mut()
                            .insert(header::RETRY_AFTER, seconds.parse().unwrap());
                    }
                    response
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, service).await });
        PushService {
            origin,
            received,
            script,
        }
    }

    fn endpoint(&self, id: &str) -> String {
        format!("{}/push/{id}", self.origin)
    }

    fn answer_next(&self, status: StatusCode, retry_after: Option<&'static str>) {
        self.script.lock().unwrap().push_back((status, retry_after));
    }

    async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .expect("a push within 10 s")
            .expect("the push service is running")
    }

    async fn nothing_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.received.recv())
            .await
            .is_err()
    }
}

/// Checks a push's VAPID `Authorization` header by hand (RFC 8292): an
/// ES256 JWT signed by `k`, for this push service, expiring within 24 h, with
/// a contact. Returns the token.
fn check_vapid(headers: &HeaderMap, server_key: &[u8], audience: &str) -> String {
    let authorization = headers[header::AUTHORIZATION].to_str().unwrap();
    let rest = authorization.strip_prefix("vapid ").expect("vapid scheme");
    let mut token = None;
    let mut key = None;
    for part in rest.split(',') {
        let (name, value) = part.trim().split_once('=').unwrap();
        match name {
            "t" => token = Some(value.to_owned()),
            "k" => key = Some(unb64(value)),
            _ => panic!("unexpected {name} in {authorization}"),
        }
    }
    let (token, key) = (token.expect("t="), key.expect("k="));
    assert_eq!(key, server_key, "k is the server's public key");

    let (signed, signature) = token.rsplit_once('.').unwrap();
    let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key).unwrap();
    let signature = p256::ecdsa::Signature::from_slice(&unb64(signature)).unwrap();
    verifying
        .verify(signed.as_bytes(), &signature)
        .expect("the JWT is signed with k");
    let (header_part, claims_part) = signed.split_once('.').unwrap();
    let jwt_header: Value = serde_json::from_slice(&unb64(header_part)).unwrap();
    assert_eq!(jwt_header["alg"], "ES256");
    let claims: Value = serde_json::from_slice(&unb64(claims_part)).unwrap();
    assert_eq!(
        claims["aud"], audience,
        "aud is the push service's origin, port included"
    );
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let exp = claims["exp"].as_u64().expect("exp");
    assert!(
        exp > now && exp <= now + 24 * 3600,
        "exp {exp} within 24 h of {now}"
    );
    assert!(
        claims["sub"].as_str().unwrap().starts_with("mailto:"),
        "{claims}"
    );
    token
}

async fn subscribe(server: &TestServer, subscription: &Value) -> (StatusCode, Value) {
    request(server, "POST", subscription).await
}

async fn request(server: &TestServer, method: &str, body: &Value) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri("/api/v1/push/subscriptions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let (status, _, body) = server.send(request).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn stored(server: &TestServer) -> Vec<String> {
    server
        .store
        .subscriptions()
        .unwrap()
        .into_iter()
        .map(|s| s.endpoint)
        .collect()
}

// ---------------------------------------------------------------------------
// The key pair
// ---------------------------------------------------------------------------

#[tokio::test]
async fn the_public_key_route_gives_the_uncompressed_point() {
    let server = TestServer::new();
    let (status, _, body) = server.get("/api/v1/push/public-key").await;
    assert_eq!(status, StatusCode::OK);
    let body: Value = serde_json::from_slice(&body).unwrap();
    let key = unb64(body["public_key"].as_str().unwrap());
    assert_eq!(key.len(), 65);
    assert_eq!(key[0], 0x04);
    assert_eq!(body["public_key"], server.push.keys().public_key_base64());
}

#[test]
fn the_key_pair_is_made_once_kept_owner_only_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested");
    let first = VapidKeys::load_or_create(&data).unwrap();
    let path = data.join(KEY_FILE);
    assert_eq!(first.path(), path);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "owner-only: {mode:o}");
        // A copy with loose permissions is tightened when loaded.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let again = VapidKeys::load_or_create(&data).unwrap();
    assert_eq!(
        again.public_key_base64(),
        first.public_key_base64(),
        "a restart keeps the key"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert!(
        !data.join("vapid-private-key.new").exists(),
        "no temporary file left"
    );

    std::fs::write(&path, "not a key\n").unwrap();
    let error = VapidKeys::load_or_create(&data).err().unwrap().to_string();
    assert!(
        error.contains(&path.display().to_string()) && error.contains("delete it"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------

#[tokio::test]
async fn bad_subscriptions_are_refused_naming_the_field() {
    let strict = TestServer::with_push(SendConfig::default());
    let good = Subscriber::new("https://push.example/push/1".into());
    let with = |path: &[&str], value: Value| {
        let mut subscription = good.json();
        let mut target = &mut subscription;
        for key in &path[..path.len() - 1] {
            target = &mut target[*key];
        }
        let last = path[path.len() - 1];
        if value.is_null() {
            target.as_object_mut().unwrap().remove(last);
        } else {
            target[last] = value;
        }
        subscription
    };
    let not_on_curve = b64(&[&[4u8][..], &[0; 64]].concat());
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "body: expected a PushSubscription object"),
        (with(&["endpoint"], Value::Null), "endpoint: is missing"),
        (with(&["endpoint"], json!(5)), "endpoint: invalid type"),
        (
            with(&["endpoint"], json!("push.example/1")),
            "endpoint: is not a URL",
        ),
        (
            with(&["endpoint"], json!("http://push.example/1")),
            "endpoint: must be an https URL, not http",
        ),
        (
            with(&["endpoint"], json!("ftp://push.example/1")),
            "endpoint: must be an https URL, not ftp",
        ),
        (
            with(
                &["endpoint"],
                json!(format!("https://push.example/{}", "x".repeat(2048))),
            ),
            "endpoint: must be at most 2048",
        ),
        (
            with(&["endpoint"], json!("https://me:pw@push.example/1")),
            "endpoint: must not contain a user name",
        ),
        (
            with(&["endpoint"], json!("https://127.0.0.1/push/1")),
            "a loopback address",
        ),
        (
            with(&["endpoint"], json!("https://[::1]:8443/push/1")),
            "a loopback address",
        ),
        (
            with(&["endpoint"], json!("https://localhost/push/1")),
            "a loopback address",
        ),
        (
            with(&["endpoint"], json!("https://10.0.0.7/push/1")),
            "a private address",
        ),
        (
            with(&["endpoint"], json!("https://192.168.1.1/push/1")),
            "a private address",
        ),
        (
            with(&["endpoint"], json!("https://169.254.169.254/latest")),
            "a link-local address",
        ),
        (
            with(&["endpoint"], json!("https://[fe80::1]/push/1")),
            "a link-local address",
        ),
        (with(&["keys"], Value::Null), "keys: is missing"),
        (
            with(&["keys", "p256dh"], Value::Null),
            "keys.p256dh: is missing",
        ),
        (
            with(&["keys", "p256dh"], json!(65)),
            "keys.p256dh: invalid type",
        ),
        (
            with(&["keys", "p256dh"], json!("not+base64/url")),
            "keys.p256dh: is not base64url",
        ),
        (
            with(&["keys", "p256dh"], json!(b64(&good.public_key()[..33]))),
            "keys.p256dh: must be an uncompressed P-256 point",
        ),
        (
            with(&["keys", "p256dh"], json!(not_on_curve)),
            "keys.p256dh: is not a point on the P-256 curve",
        ),
        (
            with(&["keys", "auth"], Value::Null),
            "keys.auth: is missing",
        ),
        (
            with(&["keys", "auth"], json!("***")),
            "keys.auth: is not base64url",
        ),
        (
            with(&["keys", "auth"], json!(b64(&[1; 15]))),
            "keys.auth: must be 16 bytes, got 15",
        ),
    ];
    for (body, expected) in cases {
        let (status, error) = subscribe(&strict, &body).await;
        let shown: String = body.to_string().chars().take(90).collect();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{shown}: {error}");
        let message = error["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{shown}: no error in {error}"));
        assert!(
            message.contains(expected),
            "{shown}: {message:?} lacks {expected:?}"
        );
    }
    // Not JSON, or not said to be JSON.
    let request = Request::post("/api/v1/push/subscriptions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{nope"))
        .unwrap();
    let (status, _, body) = strict.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("body: not valid JSON"));
    let request = Request::post("/api/v1/push/subscriptions")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(good.json().to_string()))
        .unwrap();
    let (status, _, body) = strict.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(String::from_utf8_lossy(&body).contains("content-type:"));
    assert!(stored(&strict).is_empty(), "nothing refused was stored");

    // A public https endpoint is fine (an address literal: no DNS needed,
    // and no push is sent in this test).
    let public = Subscriber::new("https://142.250.1.1/push/abc".into());
    assert_eq!(
        subscribe(&strict, &public.json()).await.0,
        StatusCode::CREATED
    );
    // Padding is accepted and dropped.
    let padded = with(&["endpoint"], json!("https://142.250.1.1/push/padded"));
    let mut padded = padded;
    padded["keys"]["auth"] = json!(format!("{}==", b64(&good.auth)));
    assert_eq!(subscribe(&strict, &padded).await.0, StatusCode::CREATED);
    assert_eq!(
        strict.store.subscriptions().unwrap()[1].auth,
        b64(&good.auth)
    );
}

#[tokio::test]
async fn subscriptions_are_unique_by_endpoint_and_can_be_deleted() {
    let server = TestServer::new();
    let mut browser = Subscriber::new("http://127.0.0.1:9/push/a".into());
    let (status, body) = subscribe(&server, &browser.json()).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["endpoint"], browser.endpoint);
    // The same endpoint again, with renewed keys: stored once, keys updated.
    browser.auth = [7; 16];
    assert_eq!(subscribe(&server, &browser.json()).await.0, StatusCode::OK);
    let other = Subscriber::new("http://127.0.0.1:9/push/b".into());
    assert_eq!(
        subscribe(&server, &other.json()).await.0,
        StatusCode::CREATED
    );
    let all = server.store.subscriptions().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].auth, b64(&[7; 16]));

    let (status, _) = request(&server, "DELETE", &json!({"endpoint": browser.endpoint})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(stored(&server), std::slice::from_ref(&other.endpoint));
    // Deleting again changes nothing and is not an error.
    let (status, _) = request(&server, "DELETE", &json!({"endpoint": browser.endpoint})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, error) = request(&server, "DELETE", &json!({})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(error["error"], "endpoint: is missing");
    let (status, error) = request(&server, "PUT", &json!({})).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{error}");
    assert_eq!(stored(&server), [other.endpoint]);
}

// ---------------------------------------------------------------------------
// Sending
// ---------------------------------------------------------------------------

#[tokio::test]
async fn a_new_article_is_pushed_signed_and_encrypted_without_delaying_the_post() {
    let server = TestServer::new();
    // The push service takes its time answering; the POST must not wait.
    let mut service = PushService::start_holding(Duration::from_millis(1500)).await;
    let browser = Subscriber::new(service.endpoint("browser-1"));
    assert_eq!(
        subscribe(&server, &browser.json()).await.0,
        StatusCode::CREATED
    );

    let started = Instant::now();
    assert_eq!(server.post_json(article(1)).await.0, StatusCode::CREATED);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "the POST waited for the push"
    );

    let push = service.next().await;
    let server_key = unb64(&server.push.keys().public_key_base64());
    check_vapid(&push.headers, &server_key, &service.origin);
    assert_eq!(push.headers["content-encoding"], "aes128gcm");
    // RFC 8030's delivery headers: kept a day, no hurry, and a newer
    // announcement replaces this one while it waits.
    assert_eq!(push.headers["ttl"], "86400");
    assert_eq!(push.headers["urgency"], "normal");
    assert_eq!(push.headers["topic"], crate::push::TOPIC);
    // The payload is a declarative push message.
    let payload: Value = serde_json::from_slice(&browser.decrypt(&push.body)).unwrap();
    let link = format!("{APP_ORIGIN}/#latest-headlines");
    assert_eq!(
        payload,
        serde_json::to_value(PushPayload::new_articles(&["Headline 1".into()], link).declarative())
            .unwrap()
    );
    assert_eq!(payload["web_push"], 8030);
    assert_eq!(payload["mutable"], true);
    // An absolute link at the configured origin: a browser showing the
    // message by itself has no page to resolve a path against.
    assert_eq!(
        payload["notification"]["navigate"],
        "https://news.example/#latest-headlines"
    );

    // The same article again stores nothing new, and pushes nothing.
    assert_eq!(server.post_json(article(1)).await.0, StatusCode::OK);
    assert!(service.nothing_within(Duration::from_millis(500)).await);
}

#[tokio::test]
async fn one_signature_per_push_service_and_each_its_own_audience() {
    let server = TestServer::new();
    let mut first = PushService::start().await;
    let mut second = PushService::start().await;
    let browsers = [
        Subscriber::new(first.endpoint("a")),
        Subscriber::new(first.endpoint("b")),
        Subscriber::new(second.endpoint("c")),
    ];
    for browser in &browsers {
        assert_eq!(
            subscribe(&server, &browser.json()).await.0,
            StatusCode::CREATED
        );
    }
    let fan_out = server
        .push
        .send_to_all(
            &server.store,
            &PushPayload::new_articles(&["Hi".into()], format!("{APP_ORIGIN}/")),
        )
        .await;
    assert_eq!(
        fan_out,
        FanOut {
            delivered: 3,
            removed: 0,
            failed: 0
        }
    );

    let key = unb64(&server.push.keys().public_key_base64());
    let (a, b) = (first.next().await, first.next().await);
    let c = second.next().await;
    let token_a = check_vapid(&a.headers, &key, &first.origin);
    let token_b = check_vapid(&b.headers, &key, &first.origin);
    let token_c = check_vapid(&c.headers, &key, &second.origin);
    assert_eq!(token_a, token_b, "signed once for the service, then reused");
    assert_ne!(token_a, token_c);
    // Each browser decrypts its own copy, and only its own.
    for received in [a, b] {
        let readable = browsers[..2]
            .iter()
            .filter(|browser| browser.try_decrypt(&received.body).is_some())
            .count();
        assert_eq!(readable, 1);
    }
    let payload: DeclarativePush = serde_json::from_slice(&browsers[2].decrypt(&c.body)).unwrap();
    assert_eq!(payload.notification.body, "Hi");
}

/// `server` with one subscription, `name`, at a push service of its own
/// whose answers the test scripts.
async fn one_subscriber(server: TestServer, name: &str) -> (TestServer, PushService) {
    let service = PushService::start().await;
    let browser = Subscriber::new(service.endpoint(name));
    assert_eq!(
        subscribe(&server, &browser.json()).await.0,
        StatusCode::CREATED
    );
    (server, service)
}

/// Sends the generic payload to every subscription of `server`.
async fn send_fallback(server: &TestServer) -> FanOut {
    server
        .push
        .send_to_all(&server.store, &PushPayload::fallback())
        .await
}

#[tokio::test]
async fn a_gone_subscription_is_deleted() {
    let server = TestServer::new();
    let mut service = PushService::start().await;
    let gone = Subscriber::new(service.endpoint("gone"));
    let missing = Subscriber::new(service.endpoint("missing"));
    for browser in [&gone, &missing] {
        assert_eq!(
            subscribe(&server, &browser.json()).await.0,
            StatusCode::CREATED
        );
    }
    service.answer_next(StatusCode::GONE, None);
    service.answer_next(StatusCode::NOT_FOUND, None);
    let fan_out = send_fallback(&server).await;
    assert_eq!(
        fan_out,
        FanOut {
            delivered: 0,
            removed: 2,
            failed: 0
        }
    );
    assert!(stored(&server).is_empty());
    service.next().await;
    service.next().await;
    // Nothing is retried.
    assert!(service.nothing_within(Duration::from_millis(300)).await);
}

#[tokio::test]
async fn a_busy_push_service_gets_the_message_again_later() {
    let (server, mut service) = one_subscriber(TestServer::new(), "busy").await;

    // 429 with Retry-After: 1 s; then a 503 without one: the backoff (50 ms
    // in tests); then accepted.
    service.answer_next(StatusCode::TOO_MANY_REQUESTS, Some("1"));
    service.answer_next(StatusCode::SERVICE_UNAVAILABLE, None);
    let fan_out = send_fallback(&server).await;
    assert_eq!(
        fan_out,
        FanOut {
            delivered: 1,
            removed: 0,
            failed: 0
        }
    );
    let tries = [
        service.next().await,
        service.next().await,
        service.next().await,
    ];
    let waited = tries[1].at - tries[0].at;
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After honoured: {waited:?}"
    );
    assert!(tries[2].at - tries[1].at < Duration::from_millis(900));
    // The same message every time.
    assert!(tries.iter().all(|t| t.body == tries[0].body));
    assert_eq!(stored(&server).len(), 1, "kept");
}

#[tokio::test]
async fn a_push_service_that_keeps_failing_is_given_up_on_and_the_subscription_kept() {
    let server = TestServer::with_push(SendConfig {
        policy: EndpointPolicy::AllowLocal,
        first_backoff: Duration::from_millis(10),
        max_attempts: 3,
        ..SendConfig::default()
    });
    let (server, mut service) = one_subscriber(server, "down").await;
    for _ in 0..5 {
        service.answer_next(StatusCode::INTERNAL_SERVER_ERROR, None);
    }
    let fan_out = send_fallback(&server).await;
    assert_eq!(
        fan_out,
        FanOut {
            delivered: 0,
            removed: 0,
            failed: 1
        }
    );
    for _ in 0..3 {
        service.next().await;
    }
    assert!(
        service.nothing_within(Duration::from_millis(200)).await,
        "three tries, no more"
    );
    assert_eq!(stored(&server).len(), 1);

    // A 400 is our mistake: not retried.
    service.script.lock().unwrap().clear();
    service.answer_next(StatusCode::BAD_REQUEST, None);
    let fan_out = send_fallback(&server).await;
    assert_eq!(fan_out.failed, 1);
    service.next().await;
    assert!(service.nothing_within(Duration::from_millis(200)).await);
}

#[tokio::test]
async fn a_message_too_large_for_the_push_service_is_not_retried() {
    let (server, mut service) = one_subscriber(TestServer::new(), "small").await;
    // A push service that takes fewer bytes than this one message: 413.
    // Retrying would send the same bytes; the subscription itself is fine.
    service.answer_next(StatusCode::PAYLOAD_TOO_LARGE, None);
    let fan_out = send_fallback(&server).await;
    assert_eq!(
        fan_out,
        FanOut {
            delivered: 0,
            removed: 0,
            failed: 1
        }
    );
    service.next().await;
    assert!(
        service.nothing_within(Duration::from_millis(300)).await,
        "a 413 is not retried"
    );
    assert_eq!(stored(&server).len(), 1, "kept");
}

#[tokio::test]
async fn a_413_is_reported_with_the_size_it_refused() {
    use crate::push::send::{Outcome, Sender};
    let service = PushService::start().await;
    service.answer_next(StatusCode::PAYLOAD_TOO_LARGE, None);
    let sender = Sender::new(SendConfig {
        policy: EndpointPolicy::AllowLocal,
        ..SendConfig::default()
    })
    .unwrap();
    let mut request = reqwest::Request::new(
        reqwest::Method::POST,
        service.endpoint("x").parse().unwrap(),
    );
    *request.body_mut() = Some(vec![0u8; 5000].into());
    match sender.send(request).await {
        Outcome::Failed(reason) => assert!(
            reason.contains("413") && reason.contains("5000 bytes, not retried"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn without_the_test_flag_no_push_goes_to_a_local_address() {
    // Stored earlier in test mode, say, then the server restarted without it.
    let server = TestServer::with_push(SendConfig {
        max_attempts: 1,
        ..SendConfig::default()
    });
    let mut service = PushService::start().await;
    let browser = Subscriber::new(service.endpoint("local"));
    let (subscription, _) = SubscriptionDraft::from_value(browser.json())
        .and_then(|draft| draft.check(EndpointPolicy::AllowLocal))
        .unwrap();
    server.store.save_subscription(&subscription).unwrap();
    let fan_out = send_fallback(&server).await;
    assert_eq!(fan_out.failed, 1);
    assert!(service.nothing_within(Duration::from_millis(200)).await);
}
