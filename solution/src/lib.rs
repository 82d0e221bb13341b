//! Offline News — the code that runs in the browser, and the rules it shares
//! with the server.
//!
//! Natively this crate is a library of pure logic (articles, messages, the
//! outbox's bookkeeping), tested with `cargo test` and used by the server in
//! `src/bin/server/`. Compiled to `wasm32-unknown-unknown` it is also the
//! page (`page.rs`) and the service worker (`worker.rs`): two `.wasm` files,
//! one built with the feature `page` and one with `worker`, whose exported
//! functions `page.js` and `sw.js` call.
//!
//! Shared by the server, the page and the worker: `article.rs` (an article
//! and the rules a valid one follows), `message.rs` (what the page and the
//! worker say to each other), `outbox.rs` (the outbox's rules),
//! `status_text.rs` (what the page and the notifications say about it),
//! `push_payload.rs` (what a push message carries) and `js_codec.rs` (our
//! types as plain JS objects). In the browser only: `web_api.rs` (wrappers
//! over the browser's APIs), `idb.rs` (IndexedDB), `delivery.rs` (the
//! worker's outbox and its delivery), `push_subscription.rs` (the page's
//! side of Web Push), and the page and the worker themselves.

pub mod article;
pub mod js_codec;
pub mod message;
pub mod outbox;
pub mod push_payload;
pub mod status_text;

// Shared by the page and the worker; a build of one of them leaves some of
// it unused.
#[cfg(target_arch = "wasm32")]
#[cfg_attr(not(all(feature = "page", feature = "worker")), allow(dead_code))]
mod idb;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
mod page;
#[cfg(target_arch = "wasm32")]
#[cfg_attr(not(all(feature = "page", feature = "worker")), allow(dead_code))]
mod web_api;
// The plumbing the lesson's code calls (in the starter, before the lesson's
// TODOs are done, nothing calls some of it yet): the page's side of Web Push,
// and the worker's outbox in IndexedDB and its delivery to the server.
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
#[allow(dead_code)]
mod delivery;
#[cfg(all(target_arch = "wasm32", feature = "page"))]
#[allow(dead_code)]
mod push_subscription;
#[cfg(all(target_arch = "wasm32", feature = "worker"))]
mod worker;

// The allocator of the `.wasm` files: talc rather than Rust's default,
// dlmalloc, which is twice its size in the `.wasm` — the worker's file is
// downloaded with every new build and compiled every time the browser starts
// the worker.
//
// SAFETY: `new_global` requires single-threaded WebAssembly, and
// `wasm32-unknown-unknown` without the `atomics` feature is just that: the
// page and the worker each run one thread.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };
