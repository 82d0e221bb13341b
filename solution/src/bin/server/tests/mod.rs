//! The server's routes, driven in-process through `tower::ServiceExt`:
//! no port, no browser, just requests and responses.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::api::AppState;
use crate::app;
use crate::push::send::SendConfig;
use crate::push::{EndpointPolicy, Push};
use crate::store::Store;

// The push routes and sending, against a push service of the test's own.
mod push;

/// The public origin test servers are configured with: the link in their
/// pushes.
pub(crate) const APP_ORIGIN: &str = "https://news.example";

/// The app on an in-memory database, with a site and a VAPID key in
/// temporary directories. (The push tests in `tests/push.rs` use it too.)
pub(crate) struct TestServer {
    pub(crate) store: Arc<Store>,
    pub(crate) push: Arc<Push>,
    pub(crate) site: tempfile::TempDir,
    /// Holds the VAPID key; deleted when the server is dropped.
    _data: tempfile::TempDir,
}

impl TestServer {
    /// Push endpoints on this machine are allowed, as with
    /// `--allow-local-push-endpoints`: the push tests run their own push
    /// service on 127.0.0.1, and retries come quickly.
    pub(crate) fn new() -> Self {
        Self::with_push(SendConfig {
            policy: EndpointPolicy::AllowLocal,
            first_backoff: std::time::Duration::from_millis(50),
            ..SendConfig::default()
        })
    }

    pub(crate) fn with_push(config: SendConfig) -> Self {
        let site = tempfile::tempdir().unwrap();
        std::fs::write(
            site.path().join("index.html"),
            "<!doctype html><title>t</title>",
        )
        .unwrap();
        std::fs::write(site.path().join("sw.js"), "// worker").unwrap();
        std::fs::create_dir(site.path().join("pkg")).unwrap();
        std::fs::write(site.path().join("pkg/page_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::write(site.path().join("build-id"), "build-1").unwrap();
        let data = tempfile::tempdir().unwrap();
        let push = Push::new(
            data.path(),
            "mailto:test@example.com".into(),
            APP_ORIGIN.parse().unwrap(),
            config,
        )
        .unwrap();
        TestServer {
            store: Arc::new(Store::in_memory().unwrap()),
            push: Arc::new(push),
            site,
            _data: data,
        }
    }

    /// The state the router runs on, sharing this server's store.
    pub(crate) fn state(&self) -> AppState {
        AppState {
            store: Arc::clone(&self.store),
            push: Arc::clone(&self.push),
        }
    }

    pub(crate) async fn send(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let state = AppState {
            store: Arc::clone(&self.store),
            push: Arc::clone(&self.push),
        };
        let response = app(state, self.site.path(), true)
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    pub(crate) async fn get(&self, path: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }

    pub(crate) async fn post(
        &self,
        content_type: &str,
        body: impl Into<Body>,
    ) -> (StatusCode, Value) {
        let request = Request::post("/api/v1/articles")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap();
        let (status, _, body) = self.send(request).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub(crate) async fn post_json(&self, body: Value) -> (StatusCode, Value) {
        self.post("application/json", body.to_string()).await
    }

    pub(crate) fn count(&self) -> usize {
        self.store.articles().unwrap().len()
    }
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

pub(crate) fn article(n: u32) -> Value {
    json!({"id": id(n), "headline": format!("Headline {n}"), "byline": "A. Reporter"})
}

#[tokio::test]
async fn get_lists_the_seed_articles_oldest_first() {
    let server = TestServer::new();
    let (status, headers, body) = server.get("/api/v1/articles").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    let articles: Vec<Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(articles.len(), 3);
    for field in ["id", "headline", "byline", "created_at"] {
        assert!(
            articles[0][field].is_string(),
            "{field} in {:?}",
            articles[0]
        );
    }
}

#[tokio::test]
async fn post_one_article_stores_it_and_returns_the_list() {
    let server = TestServer::new();
    let (status, list) = server.post_json(article(1)).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(list.as_array().unwrap().len(), 4);
    assert_eq!(list[3]["id"], id(1));
    assert_eq!(list[3]["headline"], "Headline 1");
}

#[tokio::test]
async fn the_same_id_twice_is_stored_once() {
    let server = TestServer::new();
    assert_eq!(server.post_json(article(1)).await.0, StatusCode::CREATED);
    let (status, list) = server.post_json(article(1)).await;
    assert_eq!(status, StatusCode::OK, "nothing new: 200, not 201");
    assert_eq!(list.as_array().unwrap().len(), 4);
    // Uppercase is the same UUID.
    let mut shouted = article(1);
    shouted["id"] = json!(id(1).to_uppercase());
    assert_eq!(server.post_json(shouted).await.0, StatusCode::OK);
    assert_eq!(server.count(), 4);
}

#[tokio::test]
async fn a_batch_is_stored_in_order_and_retrying_it_adds_nothing() {
    let server = TestServer::new();
    let batch = json!([article(3), article(1), article(2)]);
    let (status, list) = server.post_json(batch.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let ids: Vec<_> = list.as_array().unwrap()[3..]
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, [json!(id(3)), json!(id(1)), json!(id(2))]);
    // A sync retried after its answer was lost: same batch, nothing new.
    assert_eq!(server.post_json(batch).await.0, StatusCode::OK);
    // Partly new: 201, only the new one added.
    assert_eq!(
        server.post_json(json!([article(2), article(4)])).await.0,
        StatusCode::CREATED
    );
    assert_eq!(server.count(), 7);
}

/// `article(n)` with another headline: the same id for a different article.
fn reworded(n: u32) -> Value {
    json!({"id": id(n), "headline": "Different", "byline": "A. Reporter"})
}

fn headline_of(server: &TestServer, n: u32) -> String {
    let articles = server.store.articles().unwrap();
    let stored = articles.iter().find(|a| a.id == id(n)).unwrap();
    stored.headline.clone()
}

#[tokio::test]
async fn an_id_sent_again_with_other_text_is_a_conflict_that_names_it() {
    let server = TestServer::new();
    assert_eq!(server.post_json(article(1)).await.0, StatusCode::CREATED);
    // The same text (once trimmed) is the same article: still 200.
    let mut padded = article(1);
    padded["headline"] = json!("  Headline 1 ");
    assert_eq!(server.post_json(padded).await.0, StatusCode::OK);

    let (status, error) = server.post_json(reworded(1)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(
        error["error"],
        format!(
            "id: {} is already stored, with a different headline or byline; a new article needs a new id",
            id(1)
        )
    );
    // In a batch: nothing of it is stored, and the refusal says which one.
    let (status, error) = server.post_json(json!([article(2), reworded(1)])).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    let message = error["error"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("[1].id: {}", id(1))),
        "{message}"
    );
    assert_eq!(server.count(), 4, "article 2 came with the conflict");
    assert_eq!(headline_of(&server, 1), "Headline 1", "never overwritten");
}

#[tokio::test]
async fn an_id_twice_in_one_batch_with_other_text_is_a_conflict() {
    let server = TestServer::new();
    let (status, error) = server
        .post_json(json!([article(3), article(1), reworded(1)]))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(
        error["error"],
        format!(
            "[2].id: {} is also the id of [1] in this request, with a different headline or byline; a new article needs a new id",
            id(1)
        )
    );
    assert_eq!(server.count(), 3, "nothing of the batch is stored");
    // Twice with the same text is one article, stored once.
    let (status, _) = server.post_json(json!([article(1), article(1)])).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(server.count(), 4);
}

/// Milliseconds since 1970, `offset_ms` from now.
fn now_plus(offset_ms: f64) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (now.as_millis() as f64 + offset_ms).floor()
}

const DAY_MS: f64 = 24.0 * 60.0 * 60.0 * 1000.0;

fn queued(n: u32, queued_at: Value) -> Value {
    let mut article = article(n);
    article["queued_at"] = queued_at;
    article
}

#[tokio::test]
async fn an_article_queued_over_seven_days_ago_is_refused_by_the_servers_clock() {
    let server = TestServer::new();
    let (status, error) = server
        .post_json(queued(1, json!(now_plus(-8.0 * DAY_MS))))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(
        error,
        json!({
            "error": "queued_at: queued 8 days ago; an article is taken up to 7 days after it was queued",
            "code": "expired",
        })
    );
    let stale_in_a_batch = json!([
        queued(2, json!(now_plus(-60_000.0))),
        queued(1, json!(now_plus(-8.0 * DAY_MS))),
    ]);
    let (status, error) = server.post_json(stale_in_a_batch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with("[1].queued_at:"),
        "{error}"
    );
    assert_eq!(server.count(), 3, "nothing of it is stored");

    // Queued an hour ago by this clock: taken, whatever the client's clock
    // says now. Queued "in eight days" (a client clock that ran ahead when
    // it was queued): taken, not judged stale.
    for (n, queued_at) in [(3, -60.0 * 60_000.0), (4, 8.0 * DAY_MS)] {
        let (status, _) = server
            .post_json(queued(n, json!(now_plus(queued_at))))
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "queued {queued_at} ms from now"
        );
    }
    // Not a time at all: refused by name, with no `code`.
    let (status, error) = server.post_json(queued(5, json!("yesterday"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .starts_with("queued_at: must be a number"),
        "{error}"
    );
    assert!(error.get("code").is_none(), "{error}");
    assert_eq!(server.count(), 5);
}

#[tokio::test]
async fn a_form_post_works_without_javascript() {
    let server = TestServer::new();
    let (status, list) = server
        .post(
            "application/x-www-form-urlencoded",
            "headline=Hello+there&byline=Me",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(list[3]["headline"], "Hello there");
    assert!(crate::shared::article::is_uuid(
        list[3]["id"].as_str().unwrap()
    ));

    // A browser's own form submission is sent back to the page.
    let request = Request::post("/api/v1/articles")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html,application/xhtml+xml")
        .body(Body::from("headline=Again&byline=Me"))
        .unwrap();
    let (status, headers, _) = server.send(request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/");
    assert_eq!(server.count(), 5);
}

#[tokio::test]
async fn bad_input_is_refused_with_a_message_naming_the_field_and_nothing_is_stored() {
    let server = TestServer::new();
    let long = "x".repeat(201);
    let mut over_limit = Vec::new();
    for n in 0..101 {
        over_limit.push(article(n));
    }
    let cases: Vec<(&str, String, StatusCode, &str)> = vec![
        (
            "application/json",
            "{not json".into(),
            StatusCode::BAD_REQUEST,
            "body: not valid JSON",
        ),
        (
            "text/plain",
            article(1).to_string(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type:",
        ),
        (
            "application/json",
            "42".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body: expected an article",
        ),
        (
            "application/json",
            "[]".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "body: the array is empty",
        ),
        (
            "application/json",
            json!(over_limit).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "at most 100",
        ),
        (
            "application/json",
            json!({"id": id(1), "byline": "b"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "headline: is missing",
        ),
        (
            "application/json",
            json!({"id": id(1), "headline": "  ", "byline": "b"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "headline: must not be empty",
        ),
        (
            "application/json",
            json!({"id": id(1), "headline": long, "byline": "b"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "headline: must be at most 200",
        ),
        (
            "application/json",
            json!({"id": id(1), "headline": "h", "byline": ""}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "byline: must not be empty",
        ),
        (
            "application/json",
            json!({"id": id(1), "headline": "h", "byline": "x".repeat(101)}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "byline: must be at most 100",
        ),
        (
            "application/json",
            json!({"id": "42", "headline": "h", "byline": "b"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id: must be a UUID",
        ),
        (
            "application/json",
            json!({"headline": "h", "byline": "b"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "id: is missing",
        ),
        (
            "application/json",
            json!({"id": id(1), "headline": 5, "byline": "b"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "headline: invalid type",
        ),
        (
            "application/json",
            json!({"id": id(1), "headline": "a\u{0}b", "byline": "b"}).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "headline: must not contain control characters",
        ),
        // One bad article refuses the whole batch, and says which one.
        (
            "application/json",
            json!([article(1), {"id": id(2), "headline": "", "byline": "b"}]).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "[1].headline: must not be empty",
        ),
        (
            "application/x-www-form-urlencoded",
            "headline=&byline=b".into(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "headline: must not be empty",
        ),
        (
            "application/json",
            "x".repeat(70 * 1024),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body: larger than the 64 KiB limit",
        ),
    ];
    for (content_type, body, expected_status, expected_message) in cases {
        let (status, error) = server.post(content_type, body.clone()).await;
        let shown = &body[..body.len().min(80)];
        assert_eq!(status, expected_status, "{shown}: {error}");
        let message = error["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{shown}: no error field in {error}"));
        assert!(
            message.contains(expected_message),
            "{shown}: {message:?} lacks {expected_message:?}"
        );
        assert_eq!(server.count(), 3, "{shown}: something was stored");
    }
    // Still healthy afterwards.
    assert_eq!(server.post_json(article(9)).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn a_post_without_content_type_is_refused() {
    let server = TestServer::new();
    let request = Request::post("/api/v1/articles")
        .body(Body::from(article(1).to_string()))
        .unwrap();
    let (status, _, body) = server.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(String::from_utf8_lossy(&body).contains("got none"));
}

#[tokio::test]
async fn unknown_routes_and_methods_get_json_errors() {
    let server = TestServer::new();
    let (status, _, body) = server.get("/api/v1/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"], "path: no route for GET /api/v1/nope");

    let request = Request::builder()
        .method(Method::DELETE)
        .uri("/api/v1/articles")
        .body(Body::empty())
        .unwrap();
    let (status, _, body) = server.send(request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let error: Value = serde_json::from_slice(&body).unwrap();
    assert!(
        error["error"].as_str().unwrap().starts_with("method:"),
        "{error}"
    );

    let (status, _, _) = server.get("/no-such-file.txt").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn static_files_have_the_headers_the_browser_needs() {
    let server = TestServer::new();
    let (status, headers, _) = server.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");

    let (status, headers, _) = server.get("/sw.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .contains("javascript")
    );

    let (status, headers, _) = server.get("/pkg/page_bg.wasm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let server = TestServer::new();
    for n in 0..40 {
        server.post_json(article(n)).await;
    }
    let request = Request::get("/api/v1/articles")
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = server.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
}

#[tokio::test]
async fn live_reload_is_off_unless_asked_for() {
    let server = TestServer::new();
    let response = app(server.state(), server.site.path(), false)
        .oneshot(
            Request::get("/__dev/reload?build=")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(
        body.is_empty(),
        "an empty answer tells the page to stop asking"
    );
}

#[tokio::test]
async fn live_reload_answers_when_the_build_changes() {
    let server = TestServer::new();
    let (status, _, body) = server.get("/__dev/reload?build=").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"build-1");

    let build_file = server.site.path().join("build-id");
    let waiting = server.get("/__dev/reload?build=build-1");
    let rebuild = async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        std::fs::write(&build_file, "build-2").unwrap();
    };
    let ((status, _, body), ()) = tokio::join!(waiting, rebuild);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"build-2");
}

#[test]
fn a_public_origin_that_is_not_an_origin_is_refused_by_name() {
    use clap::Parser;
    let args =
        crate::Args::try_parse_from(["server", "--public-origin", "https://news.example"]).unwrap();
    assert_eq!(
        args.public_origin.map(|o| o.to_string()),
        Some("https://news.example".into())
    );
    let error =
        crate::Args::try_parse_from(["server", "--public-origin", "https://news.example/app"])
            .unwrap_err()
            .to_string();
    assert!(
        error.contains("--public-origin")
            && error.contains("`https://news.example/app` has a path"),
        "{error}"
    );
}
