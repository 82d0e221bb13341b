//! Where things are in the workspace.

/// The lesson's checkpoints, from the workspace root.
pub const CHECKPOINTS: &str = "lessons/background-sync/checkpoints.toml";
