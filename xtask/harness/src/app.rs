//! What the harness knows about the app it checks: the selectors of the page
//! (the original lesson's DOM ids, which the slides name), the API's paths and
//! the sync tag. Written here once; the checkpoints, chaos, the benchmarks and
//! the screenshots name them from here.

/// The tag the app registers its sync with, when `getTags()` cannot tell.
pub const SYNC_TAG: &str = "add-article";

/// The list items of the articles shown, delivered or waiting.
pub const LIST: &str = "#latest-headlines li[data-id]";
