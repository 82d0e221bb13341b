//! The room's HTTP side: one `Router`, built in [`router`], and a small
//! handler per route.
//!
//! - `GET /` (with `/room.js` and `/room.css`): the room page.
//! - `GET /api/table`: the table as JSON (the page's first paint, tests).
//! - `GET /api/events`: server-sent events, the table again after stored
//!   reports: at most every [`PUBLISH_EVERY`], so that a room of hundreds
//!   reporting at once costs the page a few tables a second, not one per
//!   report, and a report's answer never waits for the table to be built.
//! - `POST /api/report`: a student's report (`room send`).
//!
//! Students only ever POST. The page and its data are for the instructor's
//! own machine: they answer only to a loopback client, so that a room opened
//! to the LAN with `--host` does not show everyone's names and progress to
//! everyone on it.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use serde_json::json;
use tokio::sync::watch;

use crate::checkpoints::Catalogue;
use crate::rate::RateLimiter;
use crate::report::{self, ReportError};
use crate::store::{Store, StoreError, Table};

/// The largest report body accepted. A report of every checkpoint and every
/// hint is about 2 KiB.
pub const MAX_BODY: usize = 16 * 1024;
/// How many reports per window: per address and name, and per address.
pub const PER_NAME: usize = 5;
pub const PER_ADDRESS: usize = 60;
pub const WINDOW: Duration = Duration::from_secs(10);
/// The open pages get the table at most this often.
pub const PUBLISH_EVERY: Duration = Duration::from_millis(250);

const INDEX: &str = include_str!("../static/index.html");
const SCRIPT: &str = include_str!("../static/room.js");
const STYLE: &str = include_str!("../static/room.css");
/// The page loads only its own script and style, and never frames or is
/// framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
}

struct Shared {
    code: String,
    catalogue: Catalogue,
    /// The lesson plan's minutes per checkpoint (`lesson::plan`).
    minutes: BTreeMap<String, u32>,
    /// A room is a few dozen students reporting every few minutes (the
    /// load benchmark sends 200 every 10 s): one connection behind a mutex,
    /// used for well under a millisecond per report, is plenty, and simpler
    /// than a pool or `spawn_blocking`.
    store: Mutex<Store>,
    limits: Mutex<Limits>,
    /// The latest table (as JSON) for every open page: only the latest
    /// matters, so a page that falls behind skips to it.
    updates: watch::Sender<Arc<str>>,
    publishing: Mutex<Publishing>,
}

struct Limits {
    per_address: RateLimiter<IpAddr>,
    /// By address and student: their machine id, or the name an older
    /// client sends.
    per_student: RateLimiter<(IpAddr, String)>,
}

/// When the table was last sent to the pages, and whether a send is
/// already on its way (then a new report rides along with it).
#[derive(Default)]
struct Publishing {
    last: Option<Instant>,
    scheduled: bool,
}

impl AppState {
    pub fn new(
        store: Store,
        code: String,
        catalogue: Catalogue,
        minutes: BTreeMap<String, u32>,
    ) -> Self {
        let (updates, _) = watch::channel(Arc::from(""));
        AppState {
            shared: Arc::new(Shared {
                code,
                catalogue,
                minutes,
                store: Mutex::new(store),
                limits: Mutex::new(Limits {
                    per_address: RateLimiter::new(PER_ADDRESS, WINDOW),
                    per_student: RateLimiter::new(PER_NAME, WINDOW),
                }),
                updates,
                publishing: Mutex::new(Publishing::default()),
            }),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves SQLite consistent (each
        // write is one transaction): go on with it.
        self.shared
            .store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn limits(&self) -> MutexGuard<'_, Limits> {
        self.shared
            .limits
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn publishing(&self) -> MutexGuard<'_, Publishing> {
        self.shared
            .publishing
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn table(&self) -> Result<Table, StoreError> {
        Ok(Table {
            code: self.shared.code.clone(),
            now: unix_now(),
            checkpoints: self.shared.catalogue.checkpoints.clone(),
            minutes: self.shared.minutes.clone(),
            students: self.store().students()?,
        })
    }

    fn table_json(&self) -> Result<String, StoreError> {
        Ok(serde_json::to_string(&self.table()?)?)
    }

    /// The table changed: sends it to the open pages, now if the last send
    /// was at least [`PUBLISH_EVERY`] ago, else once that time is up. The
    /// table is read after `scheduled` is cleared, so a report stored
    /// before then is in it, and one stored after schedules the next send.
    fn table_changed(&self) {
        let wait = {
            let mut publishing = self.publishing();
            if publishing.scheduled {
                return;
            }
            publishing.scheduled = true;
            publishing.last.map_or(Duration::ZERO, |last| {
                PUBLISH_EVERY.saturating_sub(last.elapsed())
            })
        };
        let state = self.clone();
        tokio::spawn(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            {
                let mut publishing = state.publishing();
                publishing.scheduled = false;
                publishing.last = Some(Instant::now());
            }
            // A table of 200 students is some 200 KiB of JSON: written on a
            // thread of its own, not on one that answers reports.
            let built = tokio::task::spawn_blocking({
                let state = state.clone();
                move || state.table_json()
            })
            .await;
            match built {
                // No open page is not an error.
                Ok(Ok(json)) => {
                    state.shared.updates.send_replace(Arc::from(json));
                }
                Ok(Err(error)) => tracing::error!(
                    "cannot send the table to the pages: {:#}",
                    anyhow::Error::new(error)
                ),
                Err(error) => tracing::error!("the table was not built: {error}"),
            }
        });
    }
}

/// The room's one `Router`.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/room.js", get(script))
        .route("/room.css", get(style))
        .route("/api/table", get(table))
        .route("/api/events", get(events))
        .route("/api/report", post(receive_report))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// A refusal: its status and `{"error": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    retry_after: Option<Duration>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    fn internal(error: StoreError) -> Self {
        tracing::error!("{:#}", anyhow::Error::new(error));
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the room could not store or read its table; see the room's terminal",
        )
    }
}

impl From<ReportError> for ApiError {
    fn from(error: ReportError) -> Self {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        ApiError::new(status, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up: never ask to come back too early.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// Refuses a client that is not on this machine (see the module's doc).
fn instructor_only(peer: SocketAddr) -> Result<(), ApiError> {
    if peer.ip().to_canonical().is_loopback() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the room page is shown only on the instructor's machine; students report with `cargo xtask check --room`",
        ))
    }
}

async fn page(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Result<Response, ApiError> {
    instructor_only(peer)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        INDEX,
    )
        .into_response())
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STYLE,
    )
}

async fn table(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Json<Table>, ApiError> {
    instructor_only(peer)?;
    state.table().map(Json).map_err(ApiError::internal)
}

/// The table now, then again whenever it changes. A page that fell behind
/// gets the latest table, not the ones it missed: only the latest matters.
async fn events(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    instructor_only(peer)?;
    let mut receiver = state.shared.updates.subscribe();
    // Read after subscribing: a change from now on is sent after this.
    receiver.mark_unchanged();
    let first: Arc<str> = Arc::from(state.table_json().map_err(ApiError::internal)?);
    let stream =
        futures_util::stream::unfold((Some(first), receiver), |(next, mut receiver)| async move {
            let json = match next {
                Some(json) => json,
                None => {
                    receiver.changed().await.ok()?;
                    receiver.borrow_and_update().clone()
                }
            };
            let event = Event::default().event("table").data(&*json);
            Some((Ok(event), (None, receiver)))
        });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A student's report: limited, decoded, checked, stored, then sent on to
/// every open page. Anything wrong is refused before anything is stored.
async fn receive_report(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let ip = peer.ip().to_canonical();
    let outcome = store_report(&state, ip, body);
    if let Err(refused) = &outcome {
        // The instructor sees who is knocking with a wrong code.
        tracing::info!("refused a report from {ip}: {}", refused.message);
    }
    outcome
}

fn store_report(
    state: &AppState,
    ip: IpAddr,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let now = Instant::now();
    limited(
        state.limits().per_address.hit(ip, now),
        PER_ADDRESS,
        "from one address",
    )?;
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("the report is larger than {} KiB", MAX_BODY / 1024)
        } else {
            format!("the report could not be read: {}", rejection.body_text())
        };
        ApiError::new(status, message)
    })?;
    let report = report::decode(&body)?;
    let student = match &report.machine {
        Some(machine) => machine.clone(),
        None => report.name.trim().to_owned(),
    };
    limited(
        state.limits().per_student.hit((ip, student), now),
        PER_NAME,
        "for one student",
    )?;
    let report = report.validate(&state.shared.code, &state.shared.catalogue)?;
    let stored = state
        .store()
        .record(&report, unix_now())
        .map_err(ApiError::internal)?;
    state.table_changed();
    tracing::info!(name = %stored.name, passed = report.passed(), "report from {ip}");
    let mut answer = json!({
        "stored": true,
        "name": stored.name,
        "asked_name": report.name,
    });
    if !report.checkpoints.is_empty() {
        // Out of the checkpoints that apply in the student's browser, as
        // their check counts them.
        let applicable = state.shared.catalogue.checkpoints.len() - report.not_applicable();
        answer["passed"] = json!(report.passed());
        answer["checkpoints"] = json!(applicable);
    }
    if let Some(lines) = &report.doctor {
        answer["doctor"] = json!(lines.len());
    }
    Ok(Json(answer))
}

fn limited(outcome: Result<(), Duration>, max: usize, per: &str) -> Result<(), ApiError> {
    outcome.map_err(|wait| ApiError {
        retry_after: Some(wait),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many reports: at most {max} {per} in {} s; try again in {} s",
                WINDOW.as_secs(),
                wait.as_secs().max(1)
            ),
        )
    })
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
