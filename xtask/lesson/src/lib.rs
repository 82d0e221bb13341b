//! What the lesson is, written once for every tool of the workshop: xtask,
//! the harness, the book and the room.
//!
//! - [`stage`]: the two copies of the app, before the lesson and after it —
//!   each one's directory, cargo package and server binary.
//! - [`anchors`]: the regions of the stages' code that the book includes by
//!   `// ANCHOR: name` and that `reveal` and the trail cut out.
//! - `checkpoints` (with the `checkpoints` feature): the checkpoint type
//!   read from `lessons/background-sync/checkpoints.toml`, and the file's
//!   rules.
//! - `plan` (with the `checkpoints` feature): the session's minutes,
//!   section by section, from `lessons/background-sync/lesson.toml`.
//! - [`workspace`]: where the workspace is, found at run time (never baked
//!   in at build time), and where things are in it.
//!
//! std only unless a feature asks for more, so that `cargo xtask serve`,
//! which uses [`Stage`], compiles nothing else for it.

pub mod anchors;
#[cfg(feature = "checkpoints")]
pub mod checkpoints;
#[cfg(feature = "checkpoints")]
pub mod plan;
pub mod stage;
pub mod workspace;

pub use stage::Stage;
