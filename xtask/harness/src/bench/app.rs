//! The app's server for the benchmarks: started on a free port, and started
//! again on the *same* port with a *fresh* database whenever a run must
//! begin from an empty article list (the browser's origin, and so its
//! service worker and IndexedDB, stay the same).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::process::{Child, Command};

use crate::proxy::http_get;
use crate::util::{TempDir, free_port, tail_file};

pub struct App {
    child: Option<Child>,
    pub port: u16,
    bin: PathBuf,
    site: PathBuf,
    generation: u32,
    // Declared last: removed after the process is gone.
    dir: TempDir,
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

impl App {
    pub async fn start(bin: &Path, site: &Path) -> Result<Self> {
        anyhow::ensure!(bin.is_file(), "no server binary at {}", bin.display());
        let mut app = App {
            child: None,
            port: free_port()?,
            bin: bin.to_owned(),
            site: site.to_owned(),
            generation: 0,
            dir: TempDir::new("bench-server")?,
        };
        app.spawn().await?;
        Ok(app)
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())?;
        let db = self
            .dir
            .path()
            .join(format!("articles-{}.sqlite3", self.generation));
        let child = Command::new(&self.bin)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--db")
            .arg(&db)
            .arg("--site")
            .arg(&self.site)
            .arg("--allow-local-push-endpoints")
            // A log line per request would be part of what is measured.
            .env("RUST_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start the server {}", self.bin.display()))?;
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = http_get(self.port, "/api/v1/articles").await {
                return Ok(());
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "the server exited ({status}):\n{}",
                    tail_file(&self.log(), 15).join("\n")
                );
            }
            if tokio::time::Instant::now() >= deadline {
                bail!("the server did not answer within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops the server and starts it on the same port with an empty
    /// database.
    pub async fn reset(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
        }
        self.generation += 1;
        self.spawn().await
    }

    /// How many articles the server has.
    pub async fn count(&self) -> Result<usize> {
        let (status, body) = http_get(self.port, "/api/v1/articles").await?;
        anyhow::ensure!(status == 200, "GET /api/v1/articles answered {status}");
        let list: Vec<serde_json::Value> =
            serde_json::from_str(&body).context("GET /api/v1/articles is not a list")?;
        Ok(list.len())
    }
}
