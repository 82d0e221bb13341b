//! The JS sampling profiler (`Profiler` domain) in the app's active service
//! worker and in one tab at once, for the benchmarks that must say where a
//! browser's time goes.

use anyhow::{Context, Result};
use serde_json::{Value, json};

use crate::browsers::PageId;

/// How often the profiler samples, in microseconds: fine enough to see a
/// 10 ms step, coarse enough not to slow it much.
const SAMPLING_INTERVAL_US: u32 = 100;

/// The `Profiler.Profile` objects of one profiled span.
pub struct Profiles {
    pub worker: Value,
    pub page: Value,
}

impl super::Chromium {
    /// The active worker's session and the tab's, in that order.
    async fn profiled_sessions(&mut self, page: PageId) -> Result<[String; 2]> {
        Ok([self.active_worker_session().await?, self.page(page)?])
    }

    /// Starts sampling in the active worker and in the tab `page`.
    pub async fn start_profiles(&mut self, page: PageId) -> Result<()> {
        for session in self.profiled_sessions(page).await? {
            let s = Some(session.as_str());
            self.call(s, "Profiler.enable", json!({})).await?;
            self.call(
                s,
                "Profiler.setSamplingInterval",
                json!({ "interval": SAMPLING_INTERVAL_US }),
            )
            .await?;
            self.call(s, "Profiler.start", json!({})).await?;
        }
        Ok(())
    }

    /// Stops what [`Self::start_profiles`] started; the two profiles.
    pub async fn stop_profiles(&mut self, page: PageId) -> Result<Profiles> {
        let [worker, tab] = self.profiled_sessions(page).await?;
        let stop = async |session: &str| -> Result<Value> {
            let mut stopped = self.call(Some(session), "Profiler.stop", json!({})).await?;
            self.call(Some(session), "Profiler.disable", json!({}))
                .await?;
            Ok(stopped["profile"].take())
        };
        let worker = stop(&worker).await.context("the worker's profile")?;
        let page = stop(&tab).await.context("the page's profile")?;
        Ok(Profiles { worker, page })
    }
}
