//! The stage's server: started on a free port with a fresh database, stopped
//! and started again on the same database, killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use tokio::process::{Child, Command};

use crate::app::ARTICLES;
use crate::standins::proxy::{Proxy, http_get};
use crate::util::{TempDir, free_port, tail_file};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// An article as the server lists it.
#[derive(Debug, Clone, Deserialize)]
pub struct Article {
    pub id: String,
    pub headline: String,
    /// When the server stored it (RFC 3339, UTC, to the millisecond).
    pub created_at: String,
}

pub struct Server {
    child: Option<Child>,
    pub port: u16,
    bin: PathBuf,
    site: PathBuf,
    /// `RUST_LOG` for the server: `info` for checks (its log is shown with
    /// a failure), `warn` for benchmarks (a line per request would be part
    /// of what is measured).
    log_level: &'static str,
    /// `--public-origin`, when the browser reaches the server through
    /// something else (the harness's proxy): the origin its pushes link to.
    public_origin: Option<String>,
    /// Which database: [`Server::reset`] moves to a fresh one.
    generation: u32,
    // Declared last: removed after the process is gone.
    dir: TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

impl Server {
    /// The server with the harness's proxy in front of it, as the checks,
    /// the chaos test and the screenshots run it: the browser only ever
    /// sees the proxy, so the proxy's origin is the app's public origin, the
    /// one the server's pushes link to.
    pub async fn behind_proxy(bin: &Path, site: &Path) -> Result<(Self, Proxy)> {
        // The proxy's port is held while the server picks its own, so that
        // the two cannot be the same free port.
        let reserved = std::net::TcpListener::bind(("127.0.0.1", 0))
            .context("cannot find a free port for the proxy")?;
        let proxy_port = reserved.local_addr()?.port();
        let public_origin = Proxy::origin_at(proxy_port);
        let server = Self::launch(bin, site, "info", Some(public_origin))
            .await
            .context("starting the server")?;
        drop(reserved);
        let proxy = Proxy::start(proxy_port, server.port).await?;
        Ok((server, proxy))
    }

    /// A new proxy, on a new port, in front of this server, which starts
    /// again on an empty database with the proxy's origin as its public
    /// origin, and from its binary as it is now (rebuilt, maybe): to the
    /// browser, a new origin, with nothing stored for it (`check --watch`'s
    /// next round).
    pub async fn behind_new_proxy(&mut self) -> Result<Proxy> {
        let reserved = std::net::TcpListener::bind(("127.0.0.1", 0))
            .context("cannot find a free port for the proxy")?;
        let proxy_port = reserved.local_addr()?.port();
        self.public_origin = Some(Proxy::origin_at(proxy_port));
        self.reset().await.context("starting the server again")?;
        drop(reserved);
        Proxy::start(proxy_port, self.port).await
    }

    /// The server alone, the browser talking to it directly (the benchmarks).
    pub async fn start_logging(bin: &Path, site: &Path, log_level: &'static str) -> Result<Self> {
        Self::launch(bin, site, log_level, None).await
    }

    async fn launch(
        bin: &Path,
        site: &Path,
        log_level: &'static str,
        public_origin: Option<String>,
    ) -> Result<Self> {
        anyhow::ensure!(
            bin.is_file(),
            "no server binary at {}: build it first",
            bin.display()
        );
        anyhow::ensure!(
            site.join("index.html").is_file(),
            "no site at {} (no index.html): build it first with `cargo xtask build`",
            site.display()
        );
        let mut server = Self {
            child: None,
            port: free_port()?,
            bin: bin.to_owned(),
            site: site.to_owned(),
            log_level,
            public_origin,
            generation: 0,
            dir: TempDir::new("harness-server")?,
        };
        server.spawn().await?;
        Ok(server)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut command = Command::new(&self.bin);
        #[cfg(target_os = "linux")]
        // SAFETY: `signal` is async-signal-safe, as a `pre_exec` hook must
        // be; it only sets this child's disposition of one signal.
        unsafe {
            // A write past the file-size limit then fails (EFBIG), which the
            // database reports, instead of killing the server
            // (`refuse_writes`). An ignored signal stays ignored across
            // `exec`.
            command.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
        if let Some(origin) = &self.public_origin {
            command.args(["--public-origin", origin]);
        }
        let child = command
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--db")
            .arg(
                self.dir
                    .path()
                    .join(format!("articles-{}.sqlite3", self.generation)),
            )
            .arg("--site")
            .arg(&self.site)
            // The push checkpoints subscribe a push service of the harness's
            // own, on 127.0.0.1: a test mode the server refuses by default.
            .arg("--allow-local-push-endpoints")
            .env("RUST_LOG", self.log_level)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start the server {}", self.bin.display()))?;
        self.child = Some(child);

        // There is no event for "listening": ask until it answers.
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok((200, _)) = http_get(self.port, ARTICLES).await {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "the server exited ({status}) before answering:\n{}",
                    self.log_tail(15).join("\n")
                );
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "timed out after {READY_TIMEOUT:?} waiting for the server to answer GET {ARTICLES}:\n{}",
                    self.log_tail(15).join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The server process's id, while it runs (the push benchmark reads its
    /// CPU time).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Kills the server and waits until it is gone.
    pub async fn stop(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .context("timed out after 10 s waiting for the server to exit")??;
        }
        Ok(())
    }

    /// Makes the server's disk refuse writes past `limit` bytes into any
    /// file (`None`: takes them all again): its file-size limit
    /// (`RLIMIT_FSIZE`) set from outside, so that such a write fails (EFBIG)
    /// and SQLite's commit with it, as on a full or failing disk. At 0 every
    /// write fails; a little past the end of the write-ahead log
    /// ([`Server::wal_len`]) the first writes of a request may still go in,
    /// and the rest fail. Reads go on.
    #[cfg(target_os = "linux")]
    pub fn refuse_writes(&self, limit: Option<u64>) -> Result<()> {
        let pid = self.pid().context("the server is not running")?;
        let limit = libc::rlimit {
            rlim_cur: limit.unwrap_or(libc::RLIM_INFINITY),
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: `prlimit` reads `limit` and writes nothing (the old limit
        // is not asked for); `pid` is our own child.
        let result = unsafe {
            libc::prlimit(
                pid as libc::pid_t,
                libc::RLIMIT_FSIZE,
                &limit,
                std::ptr::null_mut(),
            )
        };
        if result != 0 {
            bail!(
                "cannot set the server's file-size limit: {}",
                std::io::Error::last_os_error()
            );
        }
        Ok(())
    }

    /// The length of the database's write-ahead log, where SQLite appends
    /// what a transaction writes.
    pub fn wal_len(&self) -> u64 {
        let wal = self
            .dir
            .path()
            .join(format!("articles-{}.sqlite3-wal", self.generation));
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    /// Starts it again on the same port and database.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop().await?;
        self.spawn().await
    }

    /// Stops the server and starts it on the same port with an empty
    /// database: the browser's origin, and so its service worker and
    /// IndexedDB, stay the same.
    pub async fn reset(&mut self) -> Result<()> {
        self.stop().await?;
        self.generation += 1;
        self.spawn().await
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many articles the server has.
    pub async fn count(&self) -> Result<usize> {
        Ok(self.articles().await?.len())
    }

    /// The articles, read from the server itself (not through the proxy).
    pub async fn articles(&self) -> Result<Vec<Article>> {
        let (status, body) = http_get(self.port, ARTICLES).await?;
        anyhow::ensure!(status == 200, "GET {ARTICLES} answered {status}: {body}");
        serde_json::from_str(&body)
            .with_context(|| format!("GET {ARTICLES} is not a list of articles: {body}"))
    }

    pub fn log_tail(&self, lines: usize) -> Vec<String> {
        tail_file(&self.log_path(), lines)
    }

    /// How many lines the server has logged so far: where a checkpoint's
    /// own lines start.
    pub fn log_mark(&self) -> usize {
        std::fs::read_to_string(self.log_path())
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }

    /// The server's log after its first `mark` lines, the last `lines` of it
    /// at most.
    pub fn log_since(&self, mark: usize, lines: usize) -> Vec<String> {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let own: Vec<&str> = text.lines().skip(mark).collect();
        own[own.len().saturating_sub(lines)..]
            .iter()
            .map(|l| l.to_string())
            .collect()
    }
}
