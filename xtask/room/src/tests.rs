//! The room's routes, driven in-process through `tower::ServiceExt`: each
//! bad input gets its 4xx and `{"error": ...}`, nothing is stored, and the
//! room goes on serving.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::MockConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::app::{AppState, MAX_BODY, PER_NAME, router};
use crate::checkpoints::Catalogue;
use crate::store::Store;

const CODE: &str = "ABC234";
const INSTRUCTOR: &str = "127.0.0.1:50000";
const STUDENT: &str = "10.0.0.7:50000";

fn state() -> AppState {
    let catalogue = Catalogue::of(&[("app-loads", "The app loads"), ("sync", "It syncs")]);
    AppState::new(Store::in_memory().unwrap(), CODE.into(), catalogue)
}

fn app(state: &AppState, from: &str) -> Router {
    let peer: SocketAddr = from.parse().unwrap();
    router(state.clone()).layer(MockConnectInfo(peer))
}

fn report(name: &str) -> Value {
    json!({
        "code": CODE,
        "name": name,
        "stage": "starter",
        "browser": "chromium",
        "build_id": "build-1",
        "checkpoints": [
            {"id": "app-loads", "result": "pass"},
            {"id": "sync", "result": "fail"}
        ],
        "hints_seen": ["sync"]
    })
}

async fn send(
    state: &AppState,
    from: &str,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app(state, from).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

async fn post(state: &AppState, from: &str, body: impl Into<Body>) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/report")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap();
    let (status, _, body) = send(state, from, request).await;
    (status, body)
}

async fn students(state: &AppState) -> Vec<Value> {
    let request = Request::get("/api/table").body(Body::empty()).unwrap();
    let (status, _, table) = send(state, INSTRUCTOR, request).await;
    assert_eq!(status, StatusCode::OK, "{table}");
    table["students"].as_array().unwrap().clone()
}

/// A refusal: the status, an error naming `what`, and nothing stored.
async fn refused(state: &AppState, body: impl Into<Body>, status: StatusCode, what: &str) {
    let (got, answer) = post(state, STUDENT, body).await;
    assert_eq!(got, status, "{answer}");
    let error = answer["error"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(error.contains(what), "{error:?} does not name {what:?}");
    assert!(students(state).await.is_empty());
    // The room still serves.
    let (ok, answer) = post(state, STUDENT, report("After").to_string()).await;
    assert_eq!(ok, StatusCode::OK, "{answer}");
}

#[tokio::test]
async fn a_report_is_stored_and_shown() {
    let state = state();
    let (status, answer) = post(&state, STUDENT, report("Ada").to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["passed"], 1);
    let students = students(&state).await;
    assert_eq!(students[0]["name"], "Ada");
    assert_eq!(students[0]["results"]["sync"], "fail");
    assert_eq!(students[0]["hints_seen"], json!(["sync"]));
    assert_eq!(students[0]["build_id"], "build-1");
}

#[tokio::test]
async fn the_total_counts_only_the_checkpoints_that_apply() {
    let state = state();
    let mut body = report("Ada");
    body["checkpoints"][1]["result"] = json!("not-applicable");
    let (status, answer) = post(&state, STUDENT, body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        (answer["passed"].clone(), answer["checkpoints"].clone()),
        (json!(1), json!(1))
    );
}

#[tokio::test]
async fn a_wrong_code_is_a_403() {
    let mut body = report("Ada");
    body["code"] = json!("ZZZ999");
    refused(
        &state(),
        body.to_string(),
        StatusCode::FORBIDDEN,
        "wrong room code",
    )
    .await;
}

#[tokio::test]
async fn an_oversized_report_is_a_413() {
    let mut body = report("Ada");
    body["build_id"] = json!("x".repeat(MAX_BODY));
    refused(
        &state(),
        body.to_string(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "larger than 16 KiB",
    )
    .await;
}

#[tokio::test]
async fn malformed_json_is_a_400_and_the_wrong_shape_a_422() {
    refused(&state(), "{\"code\": ", StatusCode::BAD_REQUEST, "not JSON").await;
    refused(
        &state(),
        "{\"code\": \"ABC234\"}",
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing field `name`",
    )
    .await;
    let mut body = report("Ada");
    body["source"] = json!("fn main() {}");
    refused(
        &state(),
        body.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown field `source`",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_checkpoint_is_a_422_naming_it() {
    let mut body = report("Ada");
    body["checkpoints"][1]["id"] = json!("teleport");
    refused(
        &state(),
        body.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "`teleport`",
    )
    .await;
}

#[tokio::test]
async fn bad_names_are_a_422() {
    for (name, what) in [
        ("  ", "empty"),
        (&"x".repeat(41) as &str, "longer than 40"),
        ("Ada\u{1b}[31m", "control character"),
    ] {
        refused(
            &state(),
            report(name).to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
            what,
        )
        .await;
    }
}

#[tokio::test]
async fn a_name_with_markup_is_stored_as_it_is() {
    let state = state();
    let (status, _) = post(&state, STUDENT, report("<b>Bo</b>").to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(students(&state).await[0]["name"], "<b>Bo</b>");
}

#[tokio::test]
async fn a_flood_from_one_client_is_a_429_with_retry_after() {
    let state = state();
    for _ in 0..PER_NAME {
        let (status, _) = post(&state, STUDENT, report("Ada").to_string()).await;
        assert_eq!(status, StatusCode::OK);
    }
    let request = Request::post("/api/report")
        .body(Body::from(report("Ada").to_string()))
        .unwrap();
    let (status, headers, answer) = send(&state, STUDENT, request).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    let retry: u64 = headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=10).contains(&retry), "{retry}");
    assert!(answer["error"].as_str().unwrap().contains("too many"));
    // Another student behind the same address is not held up.
    let (status, _) = post(&state, STUDENT, report("Bo").to_string()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_page_and_its_data_are_for_the_instructors_machine_only() {
    let state = state();
    for uri in ["/", "/api/table", "/api/events"] {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let (status, _, answer) = send(&state, STUDENT, request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{uri}: {answer}");
    }
    let request = Request::get("/").body(Body::empty()).unwrap();
    let (status, headers, page) = send(&state, INSTRUCTOR, request).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("id=\"students\""));
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"), "{csp}");
}

#[tokio::test]
async fn events_push_the_table_after_each_report() {
    let state = state();
    let request = Request::get("/api/events").body(Body::empty()).unwrap();
    let response = app(&state, INSTRUCTOR).oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut body = response.into_body();
    let mut next_event = async || loop {
        let frame = body.frame().await.unwrap().unwrap();
        if let Ok(data) = frame.into_data() {
            let text = String::from_utf8(data.to_vec()).unwrap();
            if text.starts_with("event: table") {
                return text;
            }
        }
    };
    let first = next_event().await;
    assert!(first.contains("\"students\":[]"), "{first}");
    let (status, _) = post(&state, STUDENT, report("<b>Bo</b>").to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let second = next_event().await;
    assert!(second.contains("<b>Bo</b>"), "{second}");
}
