//! What the harness runs in place of the world around the app, all on
//! 127.0.0.1: the stage's server, started from its binary ([`server`]); the
//! proxy in front of it that can answer 503, refuse or pass ([`proxy`]); and
//! the push services a browser would reach on the internet — Chromium's,
//! which decrypts what the server sends ([`push_service`]), and Firefox's
//! autopush, which the browser itself connects to ([`autopush`]).

pub mod autopush;
pub mod proxy;
pub mod push_service;
pub mod server;
