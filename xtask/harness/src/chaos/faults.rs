//! Each kind of fault: what begins it, and what ends it. The adds the script
//! has for the time between happen while it is on.

use std::time::Duration;

use anyhow::{Context, Result};

use super::run::Run;
use super::schedule::{Fault, Kind};
use crate::standins::proxy::{Mode, Outcome};

/// How far the clock jumps: past the 7 days an article may wait.
const EIGHT_DAYS_MS: u64 = 8 * 24 * 60 * 60 * 1000;

impl Run {
    /// Turns the fault on; then the target's first tab adds
    /// `fault.queued_first` articles and the target tries to send them, so
    /// that the fault meets some whatever the script's adds, and what ends
    /// it (a kill, a restart, a clock that jumps) has articles queued or on
    /// their way.
    pub(super) async fn begin(&mut self, fault: Fault) -> Result<()> {
        let target = fault.target;
        match fault.kind {
            // The target cannot deliver yet.
            Kind::ServerKilled
            | Kind::AnswerLost
            | Kind::BrowserRestarted
            | Kind::BrowserKilled
            | Kind::ClockJumped
            | Kind::WorkerStopped
            | Kind::Server503 => self.browsers[target].proxy.set_mode(Mode::Api503).await?,
            Kind::LastChanceSync if fault.mid_replay => {
                self.browsers[target].proxy.set_mode(Mode::Api503).await?;
            }
            Kind::LastChanceSync => {}
            Kind::WorkerOffline => {
                // Offline emulation is set on the running worker's target.
                let machine = &mut self.browsers[target];
                machine.wake_worker().await?;
                machine.driver.set_offline(true).await?;
            }
            Kind::DiskRefusesWrites => {
                // Every write refused, or (half the time) room left for a
                // few pages past the end of the write-ahead log: a request
                // that writes more fails part of the way through, and what
                // it had written must not stay.
                const WAL_FRAME: u64 = 24 + 4096;
                let limit = if fault.mid_replay {
                    let wal = self.server.wal_len();
                    let frames = 2 + fault.delay_ms % 7;
                    self.log(format!(
                        "  room for {frames} pages past the log's {wal} bytes"
                    ));
                    wal + WAL_FRAME * frames
                } else {
                    0
                };
                self.refuse_writes(Some(limit))?;
            }
            Kind::Partitioned => {
                self.browsers[target]
                    .proxy
                    .set_mode(Mode::Partitioned)
                    .await?;
            }
            Kind::RefusedQueued => self.queue_refused(target).await?,
        }
        let client = self.first_client_of(target);
        for _ in 0..fault.queued_first {
            self.add(client).await?;
        }
        // And it tries to send them now, into the fault: a browser whose
        // sync failed before waits minutes for its retry.
        self.browsers[target].nudge().await
    }

    pub(super) async fn end(&mut self, fault: Fault) -> Result<()> {
        let target = fault.target;
        match fault.kind {
            Kind::ServerKilled => self.kill_during_replay(fault).await?,
            Kind::AnswerLost => self.kill_after_commit(fault).await?,
            Kind::Server503 | Kind::Partitioned => {
                self.browsers[target].proxy.set_mode(Mode::Pass).await?;
            }
            Kind::WorkerStopped => {
                // Stopped with articles queued, or during their replay.
                let machine = &mut self.browsers[target];
                if fault.mid_replay {
                    machine.proxy.set_mode(Mode::Pass).await?;
                    machine.driver.fire_sync(false).await?;
                    tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
                }
                machine.driver.stop_workers().await?;
                machine.proxy.set_mode(Mode::Pass).await?;
            }
            Kind::WorkerOffline => self.browsers[target].driver.set_offline(false).await?,
            Kind::BrowserRestarted | Kind::BrowserKilled => self.restart_browser(fault).await?,
            Kind::LastChanceSync => {
                let machine = &mut self.browsers[target];
                let since = machine.proxy.api_requests().len();
                machine.driver.fire_sync(true).await?;
                // Its replay, if the outbox holds anything.
                let _ = self.any_post(target, since, Duration::from_secs(1)).await;
                self.browsers[target].proxy.set_mode(Mode::Pass).await?;
            }
            Kind::DiskRefusesWrites => self.refuse_writes(None)?,
            Kind::ClockJumped => self.jump_clock(target).await?,
            Kind::RefusedQueued => self.browsers[target].nudge().await?,
        }
        Ok(())
    }

    /// The target sends what it queued; the server is killed as the POST
    /// reaches it, and started again on the same database.
    async fn kill_during_replay(&mut self, fault: Fault) -> Result<()> {
        let target = fault.target;
        let since = self.browsers[target].proxy.api_requests().len();
        self.browsers[target].proxy.set_mode(Mode::Pass).await?;
        self.browsers[target].nudge().await?;
        if !self.post_reaches_server(target, since).await {
            self.log("  (no POST reached the server before the kill)");
        }
        tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        self.server.stop().await?;
        tokio::time::sleep(Duration::from_millis(fault.down_ms)).await;
        self.server.restart().await
    }

    /// The target sends what it queued; the server commits it, the proxy
    /// loses the answer, and the server is killed before anything else.
    async fn kill_after_commit(&mut self, fault: Fault) -> Result<()> {
        let machine = &mut self.browsers[fault.target];
        let lost = machine.proxy.answers_lost();
        machine.proxy.lose_next_answer();
        machine.proxy.set_mode(Mode::Pass).await?;
        machine.nudge().await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while machine.proxy.answers_lost() == lost && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        machine.proxy.keep_answers();
        if machine.proxy.answers_lost() == lost {
            self.log("  (no answer to lose: nothing was sent)");
        }
        self.server.stop().await?;
        tokio::time::sleep(Duration::from_millis(fault.down_ms)).await;
        self.server.restart().await
    }

    /// The target closed, or killed, with articles queued (or during their
    /// replay), and started again on its profile.
    async fn restart_browser(&mut self, fault: Fault) -> Result<()> {
        let machine = &mut self.browsers[fault.target];
        if fault.mid_replay {
            machine.proxy.set_mode(Mode::Pass).await?;
            machine.nudge().await?;
            tokio::time::sleep(Duration::from_millis(fault.delay_ms)).await;
        }
        if fault.kind == Kind::BrowserKilled {
            machine.driver.kill_and_restart().await?;
        } else {
            machine.driver.restart().await?;
        }
        // Back with the network: a tab opened while the server answers 503
        // may have no list to show (the worker keeps the last one it
        // fetched, and a first visit's went around it).
        machine.proxy.set_mode(Mode::Pass).await?;
        let tabs = machine.tabs.len();
        machine.open_tabs(tabs).await
    }

    /// The target's worker's clock jumps 8 days forward; one more article
    /// is queued by it (8 days "ahead"), then the outbox goes out.
    async fn jump_clock(&mut self, target: usize) -> Result<()> {
        let machine = &mut self.browsers[target];
        machine.wake_worker().await?;
        let jump = format!(
            "(() => {{ if (!self.chaosClockJumped) {{
                 const now = Date.now;
                 Date.now = () => now() + {EIGHT_DAYS_MS};
                 self.chaosClockJumped = true;
               }} return Date.now(); }})()"
        );
        machine
            .driver
            .eval_worker(&jump)
            .await
            .context("jumping the worker's clock")?;
        let client = self.first_client_of(target);
        self.add(client).await?;
        let machine = &mut self.browsers[target];
        machine.proxy.set_mode(Mode::Pass).await?;
        machine.nudge().await
    }

    /// Two articles the server must refuse, written into the target's
    /// outbox: one under an id the server already has for another article
    /// (`409`), one queued 8 days ago (`422`).
    async fn queue_refused(&mut self, target: usize) -> Result<()> {
        self.refused += 1;
        let reused = format!("{}refused {} (reused id)", self.prefix(), self.refused);
        let stale = format!("{}refused {} (8 days old)", self.prefix(), self.refused);
        let fresh_id = crate::standins::push_service::uuid()?;
        let entries = [
            (
                self.reused_id.clone(),
                reused.clone(),
                "Date.now()".to_owned(),
            ),
            (
                fresh_id,
                stale.clone(),
                format!("Date.now() - {EIGHT_DAYS_MS}"),
            ),
        ];
        self.browsers[target].queue_directly(&entries).await?;
        let client = self.first_client_of(target);
        for headline in [reused, stale] {
            self.record_refused(client, headline);
        }
        Ok(())
    }

    pub(super) fn refuse_writes(&self, limit: Option<u64>) -> Result<()> {
        #[cfg(target_os = "linux")]
        return self.server.refuse_writes(limit);
        #[cfg(not(target_os = "linux"))]
        anyhow::bail!("a disk that refuses writes is Linux-only (it was asked for {limit:?} bytes)")
    }

    /// Waits (up to 3 s) for a POST of the target's, after its `since`-th
    /// request, to be on its way to the server.
    async fn post_reaches_server(&self, target: usize, since: usize) -> bool {
        let proxy = &self.browsers[target].proxy;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
        loop {
            let seen = proxy.api_requests();
            if seen
                .get(since..)
                .unwrap_or_default()
                .iter()
                .any(|s| s.method == "POST" && s.outcome == Outcome::Passed)
            {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// Waits for any POST of the target's after its `since`-th request,
    /// whatever became of it.
    async fn any_post(&self, target: usize, since: usize, timeout: Duration) -> bool {
        let proxy = &self.browsers[target].proxy;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if proxy
                .api_requests()
                .get(since..)
                .unwrap_or_default()
                .iter()
                .any(|s| s.method == "POST")
            {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}
