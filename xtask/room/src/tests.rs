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
    let minutes = [("app-loads".to_owned(), 5), ("sync".to_owned(), 15)].into();
    AppState::new(Store::in_memory().unwrap(), CODE.into(), catalogue, minutes)
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
    assert_eq!(students[0]["hints"], json!([{"id": "sync", "level": 1}]));
    assert_eq!(students[0]["build_id"], "build-1");
    assert_eq!(students[0]["on"], "sync");
    assert_eq!(students[0]["checks_here"], 1);
}

/// A report from a machine with an id, as `room send` sends it now.
fn from_machine(machine: &str, name: &str) -> Value {
    let mut body = report(name);
    body["machine"] = json!(machine);
    body
}

#[tokio::test]
async fn the_row_says_why_the_student_is_stuck_and_since_when() {
    let state = state();
    let mut body = from_machine("machine-ada-1", "Ada");
    body["failure"] = json!({
        "id": "sync",
        "expected": "the article on the server exactly once",
        "seen": "no POST reached the server"
    });
    body["hints"] = json!({"sync": 2});
    for _ in 0..3 {
        let (status, answer) = post(&state, STUDENT, body.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let ada = &students(&state).await[0];
    assert_eq!(ada["failure"]["seen"], "no POST reached the server");
    assert_eq!(ada["on"], "sync");
    assert_eq!(ada["checks_here"], 3);
    assert!(ada["on_since"].as_i64().unwrap() > 0);
    assert_eq!(ada["hints"], json!([{"id": "sync", "level": 2}]));
    // The machine id is the row's key, not something the page shows.
    assert!(!ada.to_string().contains("machine-ada-1"), "{ada}");
}

#[tokio::test]
async fn the_table_gives_the_lesson_plans_minutes() {
    let state = state();
    let request = Request::get("/api/table").body(Body::empty()).unwrap();
    let (_, _, table) = send(&state, INSTRUCTOR, request).await;
    assert_eq!(table["minutes"], json!({"app-loads": 5, "sync": 15}));
}

#[tokio::test]
async fn a_second_machine_with_a_taken_name_gets_a_suffix_and_its_own_row() {
    let state = state();
    let (_, first) = post(
        &state,
        STUDENT,
        from_machine("machine-one", "Ada").to_string(),
    )
    .await;
    assert_eq!(first["name"], "Ada");
    let mut other = from_machine("machine-two", "Ada");
    other["checkpoints"][0]["result"] = json!("fail");
    let (status, second) = post(&state, "10.0.0.8:50000", other.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["name"], "Ada (2)");
    assert_eq!(second["asked_name"], "Ada");
    let rows = students(&state).await;
    assert_eq!(rows.len(), 2);
    // The first student's row is as they sent it.
    assert_eq!(rows[0]["name"], "Ada");
    assert_eq!(rows[0]["results"]["app-loads"], "pass");
    assert_eq!(rows[1]["name"], "Ada (2)");
    assert_eq!(rows[1]["results"]["app-loads"], "fail");
}

#[tokio::test]
async fn a_doctor_report_makes_a_row_before_any_check() {
    let state = state();
    let body = json!({
        "code": CODE,
        "name": "Bo",
        "machine": "machine-bo-1",
        "doctor": [
            {"check": "rust", "ok": true, "detail": "1.89.0"},
            {"check": "chromium", "ok": false, "detail": "not found"}
        ]
    });
    let (status, answer) = post(&state, STUDENT, body.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["doctor"], 2);
    let bo = &students(&state).await[0];
    assert_eq!(bo["doctor"]["lines"][1]["detail"], "not found");
    assert_eq!(bo["checks"], 0);
    assert_eq!(bo["results"], json!({}));
}

#[tokio::test]
async fn new_fields_have_limits_and_the_format_stays_closed() {
    let mut long = report("Ada");
    long["checkpoints"][1]["result"] = json!("fail");
    long["failure"] = json!({"id": "sync", "expected": "x".repeat(301), "seen": "y"});
    refused(
        &state(),
        long.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "`failure.expected` is not valid: longer than 300",
    )
    .await;
    refused(
        &state(),
        from_machine("a b", "Ada").to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "`machine` is not valid",
    )
    .await;
    let mut code = report("Ada");
    code["failure"] = json!({"id": "sync", "expected": "e", "seen": "s", "source": "fn x() {}"});
    refused(
        &state(),
        code.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown field `source`",
    )
    .await;
    let mut levels = report("Ada");
    levels["hints"] = json!({"sync": 7});
    refused(
        &state(),
        levels.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "level 7",
    )
    .await;
    let empty = json!({"code": CODE, "name": "Ada", "machine": "machine-ada-1"});
    refused(
        &state(),
        empty.to_string(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "neither checkpoint results nor doctor lines",
    )
    .await;
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
    // Another student behind the same address is not held up, nor is a
    // second machine that typed the same name.
    let (status, _) = post(&state, STUDENT, report("Bo").to_string()).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = post(
        &state,
        STUDENT,
        from_machine("machine-two", "Ada").to_string(),
    )
    .await;
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
