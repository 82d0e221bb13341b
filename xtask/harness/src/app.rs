//! What the harness knows about the app it checks: the page's selectors (the
//! original lesson's DOM ids, which the slides name too), the API's paths,
//! the sync tag and what a push shows. Written here once; the checkpoints,
//! chaos, the screenshots, the benchmarks and the stand-in server name them
//! from here, so that a renamed id or route is one edit.

// ---------------------------------------------------------------- the page

/// The form that adds an article.
pub const FORM: &str = "#add-article";
/// Its headline field.
pub const HEADLINE_INPUT: &str = "#headline-input";
/// Its byline field.
pub const BYLINE_INPUT: &str = "#byline-input";
/// Its submit button.
pub const SUBMIT: &str = "#submit-article";
/// Where the page says what became of the article submitted (an ARIA live
/// region): the worker's answer, then sent or refused.
pub const FORM_STATUS: &str = "#form-status";
/// Where the page says whether it is online.
pub const CONNECTION_STATUS: &str = "#connection-status";
/// The list of articles: each item an `li`, delivered or waiting.
pub const LIST: &str = "#latest-headlines";
/// The list's delivered and waiting articles, each with its id.
pub const ARTICLE_ITEMS: &str = "#latest-headlines li[data-id]";
/// What the page says about its list when it cannot show one.
pub const LIST_NOTE: &str = "#list-note";
/// The star button in each list item.
pub const STAR: &str = "button.star";
/// The button that subscribes to pushes and unsubscribes.
pub const PUSH_TOGGLE: &str = "#push-toggle";

// ---------------------------------------------------------------- the API

/// `GET` the articles, oldest first; `POST` one or several.
pub const ARTICLES: &str = "/api/v1/articles";
/// `GET` the server's VAPID public key.
pub const PUBLIC_KEY: &str = "/api/v1/push/public-key";
/// `POST` a browser's push subscription; `DELETE` it.
pub const SUBSCRIPTIONS: &str = "/api/v1/push/subscriptions";

// ---------------------------------------------------------------- the worker

/// The tag the app registers its sync with, when `getTags()` cannot tell.
pub const SYNC_TAG: &str = "add-article";
/// Where a push's link points, after the server's public origin (the
/// app's `NEW_ARTICLES_PATH`).
pub const NEW_ARTICLES_PATH: &str = "/#latest-headlines";
/// The title of the notification a push shows (the app's
/// `NEW_ARTICLES_TITLE`).
pub const PUSH_TITLE: &str = "New on Offline News";
/// The tag the worker's `on_push` gives that notification: a newer push
/// replaces it rather than adding another.
pub const PUSH_TAG: &str = "articles-added";

// ---------------------------------------------------------------- its storage

/// The worker's IndexedDB database (the app's `src/idb.rs`), at this version.
pub const DB_NAME: &str = "offline-news";
pub const DB_VERSION: u32 = 1;
/// Its store of queued articles, `{article, queued_at}` keyed by an
/// auto-increment `seq`.
pub const OUTBOX_STORE: &str = "outbox";
/// Its store of starred articles, keyed by `id`.
pub const STARRED_STORE: &str = "starred";
