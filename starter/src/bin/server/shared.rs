//! The code this server shares with the page and the service worker: the
//! article rules, the message types, the outbox's limits.
//!
//! It lives in this stage's library crate, whose name differs between
//! `starter/` and `solution/`; naming it once, here, keeps every other server
//! file identical in both stages.
pub use before_sync_lesson::*;
