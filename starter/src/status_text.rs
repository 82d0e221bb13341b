//! The words the app shows about the outbox: the status line under the
//! page's form, and the text of the worker's notifications.
//!
//! Kept apart from the outbox's rules (`outbox.rs`) so that changing a
//! sentence never touches them, and tested natively like them: the page and
//! the worker only put these strings on screen.

/// The status line under the form once the worker has answered.
pub fn queued_status(pending: usize) -> String {
    match pending {
        0 => "Sent — nothing waiting".to_owned(),
        1 => "Queued — 1 waiting".to_owned(),
        n => format!("Queued — {n} waiting"),
    }
}

/// The status line once the worker reports that a sync delivered `count`
/// articles: "Queued — 1 waiting" is no longer true then.
pub fn sent_status(count: usize) -> String {
    match count {
        1 => "Sent — 1 delivered".to_owned(),
        n => format!("Sent — {n} delivered"),
    }
}

/// The text of the notification shown after a sync delivered `count` articles.
pub fn added_notification(count: usize) -> String {
    match count {
        1 => "Added 1 new article".to_owned(),
        n => format!("Added {n} new articles"),
    }
}

/// The text of the notification shown when `count` articles were dropped
/// because the server refused them for their age: queued longer than
/// `outbox::RETENTION_MS` (7 days) before they reached it, by its clock.
pub fn dropped_notification(count: usize) -> String {
    match count {
        1 => "1 article could not be sent within 7 days and was dropped".to_owned(),
        n => format!("{n} articles could not be sent within 7 days and were dropped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_well_in_singular_and_plural() {
        assert_eq!(added_notification(1), "Added 1 new article");
        assert_eq!(added_notification(3), "Added 3 new articles");
        assert_eq!(queued_status(1), "Queued — 1 waiting");
        assert_eq!(queued_status(2), "Queued — 2 waiting");
        assert_eq!(sent_status(1), "Sent — 1 delivered");
        assert_eq!(sent_status(3), "Sent — 3 delivered");
        assert_eq!(
            dropped_notification(1),
            "1 article could not be sent within 7 days and was dropped"
        );
        assert_eq!(
            dropped_notification(2),
            "2 articles could not be sent within 7 days and were dropped"
        );
    }
}
