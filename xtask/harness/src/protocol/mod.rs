//! The wire protocols the harness speaks to a browser, each a thin client
//! of our own: JSON-RPC over one websocket ([`rpc`]), and on it the
//! DevTools protocol for Chromium ([`cdp`]) and WebDriver BiDi for Firefox
//! ([`bidi`]); beside them Marionette ([`marionette`]), Firefox's older
//! protocol, over plain TCP.

pub mod bidi;
pub mod cdp;
pub mod marionette;
pub mod rpc;
