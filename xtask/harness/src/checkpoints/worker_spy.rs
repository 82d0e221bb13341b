//! A spy in the running service worker, where the harness can put one
//! (Chromium: `supports(Feature::EvalInWorker)`): it records how each
//! `sync` event's promise settled (what `event.waitUntil` was given), when
//! each notification was shown, and each answer the worker posted on a
//! port, in order with the outbox's IndexedDB writes and its requests for a
//! `sync` (`SyncManager.register`); and it can make
//! `showNotification` fail or take its time.
//!
//! It lives in the worker's memory: a worker the browser stops and starts
//! again has none. A checkpoint installs it right before what it watches,
//! and [`read`] says when it is gone (`None`), so that a check never
//! mistakes a restarted worker for a well-behaved one.

use std::time::Duration;

use anyhow::Result;
use serde_json::Value;

use super::context::Ctx;
use crate::app::OUTBOX_STORE;
use crate::browsers::{Browser, Feature};

/// What `showNotification` does while the spy is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notifications {
    /// Shows it, but its promise resolves only after this many
    /// milliseconds: work that waits for it can be told from work that
    /// does not.
    ShowSlowly(u32),
    /// Rejects, as when the browser cannot show it.
    Fail,
}

/// The spy, installed once per worker run; `mode` (JSON) sets what
/// `showNotification` does. Every event it records is numbered in one
/// sequence (`at`), so their order can be compared.
fn install_js(mode: &str) -> String {
    format!(
        "(() => {{
  if (!self.__harness) {{
    const spy = self.__harness = {{ seq: 0, syncs: [], shown: [], events: [], notifications: null }};
    const next = () => ++spy.seq;
    const waitUntil = ExtendableEvent.prototype.waitUntil;
    spy.originals = {{ waitUntil, show: ServiceWorkerRegistration.prototype.showNotification,
                       post: MessagePort.prototype.postMessage, add: IDBObjectStore.prototype.add,
                       put: IDBObjectStore.prototype.put }};
    ExtendableEvent.prototype.waitUntil = function (promise) {{
      if (this.type === 'sync') {{
        const entry = {{ tag: this.tag, outcome: null, at: null }};
        spy.syncs.push(entry);
        Promise.resolve(promise).then(
          () => {{ entry.outcome = 'resolved'; entry.at = next(); }},
          (error) => {{ entry.outcome = 'rejected: ' + String(error); entry.at = next(); }});
      }}
      return waitUntil.call(this, promise);
    }};
    ServiceWorkerRegistration.prototype.showNotification = function (title, options) {{
      const mode = spy.notifications;
      if (mode === 'fail') {{
        return Promise.reject(new TypeError('the harness made showNotification fail'));
      }}
      const shown = spy.originals.show.call(this, title, options);
      if (typeof mode !== 'number') return shown;
      return new Promise((resolve, reject) => setTimeout(() => {{
        spy.shown.push({{ title, at: next() }});
        shown.then(resolve, reject);
      }}, mode));
    }};
    MessagePort.prototype.postMessage = function (message, ...rest) {{
      if (message && message.type) spy.events.push({{ what: 'answer ' + message.type, at: next() }});
      return spy.originals.post.call(this, message, ...rest);
    }};
    const writing = (original) => function (value, ...rest) {{
      if (this.name === '{OUTBOX_STORE}' && value && value.article) {{
        const headline = value.article.headline;
        spy.events.push({{ what: 'write ' + headline, at: next() }});
        const transaction = this.transaction;
        transaction.addEventListener('complete',
          () => spy.events.push({{ what: 'committed ' + headline, at: next() }}));
      }}
      return original.call(this, value, ...rest);
    }};
    IDBObjectStore.prototype.add = writing(spy.originals.add);
    IDBObjectStore.prototype.put = writing(spy.originals.put);
    if (self.SyncManager) {{
      spy.originals.register = SyncManager.prototype.register;
      SyncManager.prototype.register = function (tag, ...rest) {{
        spy.events.push({{ what: 'register ' + tag, at: next() }});
        return spy.originals.register.call(this, tag, ...rest);
      }};
    }}
  }}
  self.__harness.notifications = {mode};
  return true;
}})()"
    )
}

/// Puts the originals back.
const REMOVE_JS: &str = "(() => { const spy = self.__harness; if (!spy) return false;
    ExtendableEvent.prototype.waitUntil = spy.originals.waitUntil;
    ServiceWorkerRegistration.prototype.showNotification = spy.originals.show;
    MessagePort.prototype.postMessage = spy.originals.post;
    IDBObjectStore.prototype.add = spy.originals.add;
    IDBObjectStore.prototype.put = spy.originals.put;
    if (spy.originals.register) SyncManager.prototype.register = spy.originals.register;
    delete self.__harness; return true; })()";

/// Installs the spy in the running worker (starting its record afresh)
/// with `showNotification` doing `notifications`; false where the harness
/// cannot run script in the worker.
pub async fn install<B: Browser>(cx: &mut Ctx<B>, notifications: Notifications) -> Result<bool> {
    if !cx.browser.supports(Feature::EvalInWorker) {
        return Ok(false);
    }
    cx.browser
        .eval_worker(REMOVE_JS, Duration::from_secs(5))
        .await?;
    let mode = match notifications {
        Notifications::ShowSlowly(ms) => ms.to_string(),
        Notifications::Fail => "'fail'".to_owned(),
    };
    cx.browser
        .eval_worker(&install_js(&mode), Duration::from_secs(5))
        .await?;
    Ok(true)
}

/// What the spy recorded (`{syncs, shown, events}`), or `None` when the
/// worker it was in has stopped since.
pub async fn read<B: Browser>(cx: &mut Ctx<B>) -> Result<Option<Value>> {
    let record = cx
        .browser
        .eval_worker(
            "self.__harness ? { syncs: self.__harness.syncs, shown: self.__harness.shown, events: self.__harness.events } : null",
            Duration::from_secs(5),
        )
        .await?;
    Ok((!record.is_null()).then_some(record))
}

/// Waits up to `timeout` until what the spy recorded passes `done`; the
/// record then (or at the timeout), or `None` when the worker it was in has
/// stopped.
pub async fn wait_for<B: Browser>(
    cx: &mut Ctx<B>,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Result<Option<Value>> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let Some(record) = read(cx).await? else {
            return Ok(None);
        };
        if done(&record) || tokio::time::Instant::now() >= deadline {
            return Ok(Some(record));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the spy recorded a `sync` whose promise settled.
pub fn sync_settled(record: &Value) -> bool {
    record["syncs"]
        .as_array()
        .is_some_and(|syncs| syncs.iter().any(|s| !s["outcome"].is_null()))
}

/// Takes the spy out of the worker, if it is still there.
pub async fn remove<B: Browser>(cx: &mut Ctx<B>) -> Result<()> {
    if cx.browser.supports(Feature::EvalInWorker) {
        // A worker stopped meanwhile has nothing to remove.
        let _ = cx
            .browser
            .eval_worker(REMOVE_JS, Duration::from_secs(5))
            .await;
    }
    Ok(())
}
