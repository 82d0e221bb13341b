//! Live reload for `cargo xtask serve --watch`, off unless `--live-reload`.
//!
//! Off, `GET /__dev/reload` answers an empty `200` at once, which tells the
//! page to stop asking (a `404` would do too, but shows as an error in every
//! browser console). On, `GET /__dev/reload?build=ID` answers at once with the current build id if
//! it differs from `ID`, else waits (up to 25 s) until `cargo xtask` writes a
//! new one, and answers then: a long poll, which needs no streaming machinery
//! and reconnects by itself across a server restart. The page's code calls it
//! and reloads when the id changes. The service worker lets `/__dev/` go
//! straight to the network, so a reload is never answered from its cache.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Since {
    #[serde(default)]
    build: String,
}

/// The file `cargo xtask build` writes the build id to.
pub fn build_id_file(site: &std::path::Path) -> PathBuf {
    site.join("build-id")
}

/// `None` when live reload is off.
pub type ReloadState = Option<PathBuf>;

pub async fn reload(
    State(build_id_file): State<ReloadState>,
    Query(since): Query<Since>,
) -> Result<String, StatusCode> {
    let Some(build_id_file) = build_id_file else {
        return Ok(String::new());
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(25);
    loop {
        let current = tokio::fs::read_to_string(&build_id_file)
            .await
            .unwrap_or_default();
        let current = current.trim();
        if !current.is_empty() && current != since.build {
            return Ok(current.to_owned());
        }
        if tokio::time::Instant::now() >= deadline {
            // Nothing changed: the page asks again.
            return Err(StatusCode::NO_CONTENT);
        }
        // A read of a 16-byte file: cheap enough to do often, and a save's
        // reload waits on average half of this before the page hears of it.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
