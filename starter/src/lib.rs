//! Offline News — the code that runs in the browser, and the rules it shares
//! with the server.
//!
//! Natively this crate is a library of pure logic (articles, messages, the
//! outbox's bookkeeping), tested with `cargo test` and used by the server in
//! `src/bin/server.rs`. Compiled to `wasm32-unknown-unknown` it is also the
//! page (`page.rs`) and the service worker (`worker.rs`): one `.wasm` file,
//! whose exported functions `index.html` and `sw.js` call.

pub mod article;
pub mod message;
pub mod outbox;
pub mod push;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod idb;
#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(target_arch = "wasm32")]
mod worker;
