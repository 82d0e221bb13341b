//! The checkpoints, one file each, written once against [`Browser`].
//! Titles and hints live in `lessons/<lesson>/checkpoints.toml`; [`Id`]
//! binds each id there to the function that checks what the browser must
//! show and the server must store, and the compiler sees that none is
//! missing.
//!
//! The checkpoints run in order in one browser, and each starts by putting
//! the app back in a known state (proxy passing, network on, the first tab
//! loaded and controlled), so that with `--keep-going` a later checkpoint can
//! run after an earlier one failed. What they share is in [`context`] (the
//! browser, the proxy, the server, the tabs), [`page`] (the page's waits and
//! the form) and [`failed`] (what was expected and what was seen).

use std::fmt;

use anyhow::Result;

use crate::browsers::Browser;

pub mod context;
pub mod failed;
pub mod page;

mod app_loads;
mod fallback;
mod notification;
mod notification_click;
mod offline_shell;
mod outbox;
mod page_worker;
mod pending_visible;
mod push;
mod push_declarative;
mod push_expired;
mod push_subscribe;
mod refused;
mod starred_offline;
mod status_true;
mod sync;
mod sync_when_online;
mod text_not_html;
mod update_pages;
mod worker_controls;

use context::Ctx;

/// Every check the harness knows. The checkpoint file names them by
/// [`Id::as_str`], in the order of [`Id::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Id {
    AppLoads,
    WorkerControls,
    OfflineShell,
    StarredOffline,
    TextNotHtml,
    PushExpired,
    NotificationClick,
    PageWorker,
    Outbox,
    SyncWhenOnline,
    Sync,
    UpdatePages,
    PendingVisible,
    StatusTrue,
    Notification,
    Refused,
    Push,
    PushSubscribe,
    PushDeclarative,
}

impl Id {
    /// Every check, in the order the lesson file should list them.
    pub const ALL: [Id; 19] = [
        Id::AppLoads,
        Id::WorkerControls,
        Id::OfflineShell,
        Id::StarredOffline,
        Id::TextNotHtml,
        Id::PushExpired,
        Id::NotificationClick,
        Id::PageWorker,
        Id::Outbox,
        Id::SyncWhenOnline,
        Id::Sync,
        Id::UpdatePages,
        Id::PendingVisible,
        Id::StatusTrue,
        Id::Notification,
        Id::Refused,
        Id::Push,
        Id::PushSubscribe,
        Id::PushDeclarative,
    ];

    /// The id as the checkpoint file writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Id::AppLoads => "app-loads",
            Id::WorkerControls => "worker-controls",
            Id::OfflineShell => "offline-shell",
            Id::StarredOffline => "starred-offline",
            Id::TextNotHtml => "text-not-html",
            Id::PushExpired => "push-expired",
            Id::NotificationClick => "notification-click",
            Id::PageWorker => "page-worker",
            Id::Outbox => "outbox",
            Id::SyncWhenOnline => "sync-when-online",
            Id::Sync => "sync",
            Id::UpdatePages => "update-pages",
            Id::PendingVisible => "pending-visible",
            Id::StatusTrue => "status-true",
            Id::Notification => "notification",
            Id::Refused => "refused",
            Id::Push => "push",
            Id::PushSubscribe => "push-subscribe",
            Id::PushDeclarative => "push-declarative",
        }
    }

    /// The check whose id the checkpoint file writes as `id`, if there is one.
    pub fn parse(id: &str) -> Option<Id> {
        Id::ALL.into_iter().find(|known| known.as_str() == id)
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Runs the check `id` in `cx`'s browser.
pub async fn run<B: Browser>(id: Id, cx: &mut Ctx<B>) -> Result<()> {
    match id {
        Id::AppLoads => app_loads::app_loads(cx).await,
        Id::WorkerControls => worker_controls::worker_controls(cx).await,
        Id::OfflineShell => offline_shell::offline_shell(cx).await,
        Id::StarredOffline => starred_offline::starred_offline(cx).await,
        Id::TextNotHtml => text_not_html::text_not_html(cx).await,
        Id::PushExpired => push_expired::push_expired(cx).await,
        Id::NotificationClick => notification_click::notification_click(cx).await,
        Id::PageWorker => page_worker::page_worker(cx).await,
        Id::Outbox => outbox::outbox(cx).await,
        Id::SyncWhenOnline => sync_when_online::sync_when_online(cx).await,
        Id::Sync => sync::sync(cx).await,
        Id::UpdatePages => update_pages::update_pages(cx).await,
        Id::PendingVisible => pending_visible::pending_visible(cx).await,
        Id::StatusTrue => status_true::status_true(cx).await,
        Id::Notification => notification::notification(cx).await,
        Id::Refused => refused::refused_never_blocks(cx).await,
        Id::Push => push::push(cx).await,
        Id::PushSubscribe => push_subscribe::push_subscribe(cx).await,
        Id::PushDeclarative => push_declarative::push_declarative(cx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_is_written_once_and_read_back() {
        for id in Id::ALL {
            assert_eq!(Id::parse(id.as_str()), Some(id));
            assert_eq!(Id::ALL.iter().filter(|other| **other == id).count(), 1);
        }
        assert_eq!(Id::parse("no-such-check"), None);
    }
}
