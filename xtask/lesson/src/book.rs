//! Where the lesson's book is read while it is served: `cargo xtask book
//! --serve` shows it at [`ADDRESS`], and `check`, `hint` and the harness's
//! own report name a checkpoint's section there.

/// The port `cargo xtask book --serve` listens on by default.
pub const PORT: u16 = 3001;

/// Where `cargo xtask book --serve` shows the book, by default.
pub const ADDRESS: &str = "http://127.0.0.1:3001/";

/// The line that sends a reader to `page` (a checkpoint's `book`, the
/// rendered page and section relative to the book's root): its address
/// while the book is served.
pub fn page_line(page: &str) -> String {
    format!("{ADDRESS}{page} (the book's page, with `cargo xtask book --serve` running)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_is_the_port_the_book_is_served_on() {
        assert_eq!(ADDRESS, format!("http://127.0.0.1:{PORT}/"));
        assert_eq!(
            page_line("background-sync/outbox.html#a-durable-outbox"),
            "http://127.0.0.1:3001/background-sync/outbox.html#a-durable-outbox (the book's page, with `cargo xtask book --serve` running)"
        );
    }
}
