//! The lines `check` and `hint` print about a checkpoint: its title, its
//! hint at the level asked for, the book's section, and where more help is.

use super::report::Entry;

/// Where `cargo xtask book --serve` shows the book (the `book` crate's
/// default address).
pub const BOOK_ADDRESS: &str = "http://127.0.0.1:3001/";

impl Entry {
    /// Where the book shows its section: the rendered page, at the address
    /// `cargo xtask book --serve` serves it on.
    pub fn book_line(&self) -> String {
        format!(
            "{BOOK_ADDRESS}{} (the book's page, with `cargo xtask book --serve` running)",
            self.book
        )
    }

    /// The lines `check` and `hint` print about a checkpoint, the first
    /// after `label` (`next: `, or nothing when it was asked for by name):
    /// its title, the level-1 hint and the book's section, then where more
    /// help is.
    pub fn hint_lines(&self, label: &str) -> String {
        let mut lines = format!(
            "{label}{} — {}\n{}\n  read: {}",
            self.id,
            self.title,
            wrap("  hint: ", &self.hint),
            self.book_line()
        );
        if !self.pre_lesson {
            lines.push_str(&format!(
                "\n  more: `cargo xtask hint --more {id}` gives the solution's steps; `cargo xtask reveal {id}` its code",
                id = self.id
            ));
        }
        lines
    }

    /// The lines `hint --more` prints: the level-1 lines with the level-2
    /// hint under the first, and the last step, `reveal`.
    pub fn hint_more_lines(&self, label: &str) -> String {
        let more = match (&self.hint_more, self.pre_lesson) {
            (_, true) => "none: this checkpoint passes before the lesson, so there is no solution to shape (if it fails, something else broke it)".to_owned(),
            (None, false) => format!(
                "none written for `{}`; `cargo xtask reveal {}` shows the code",
                self.id, self.id
            ),
            (Some(more), false) => more.clone(),
        };
        let mut lines = format!(
            "{label}{} — {}\n{}\n{}\n  read: {}",
            self.id,
            self.title,
            wrap("  hint: ", &self.hint),
            wrap("  steps: ", &more),
            self.book_line()
        );
        if !self.pre_lesson {
            lines.push_str(&format!(
                "\n  last: `cargo xtask reveal {}` shows the solution's code for it (level 3)",
                self.id
            ));
        }
        lines
    }
}

/// `text` after `first`, in lines of at most [`WIDTH`] characters (a
/// longer word stands alone), the later lines indented like the first's
/// text: a hint is a paragraph, read in a terminal.
fn wrap(first: &str, text: &str) -> String {
    const WIDTH: usize = 88;
    let indent = " ".repeat(first.chars().count());
    let mut out = first.to_owned();
    let mut line = first.chars().count();
    let mut fresh = true;
    for word in text.split_whitespace() {
        let len = word.chars().count();
        if !fresh && line + 1 + len > WIDTH {
            out.push('\n');
            out.push_str(&indent);
            line = indent.len();
            fresh = true;
        }
        if !fresh {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += len;
        fresh = false;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::tests::report;

    #[test]
    fn a_long_hint_is_wrapped_under_its_label() {
        let text = "word ".repeat(40);
        let wrapped = wrap("  hint: ", &text);
        let lines: Vec<&str> = wrapped.lines().collect();
        assert!(lines.len() > 1, "{wrapped}");
        assert!(lines[0].starts_with("  hint: word"), "{wrapped}");
        assert!(
            lines[1..].iter().all(|l| l.starts_with("        word")),
            "{wrapped}"
        );
        assert!(lines.iter().all(|l| l.chars().count() <= 88), "{wrapped}");
        assert_eq!(
            wrapped.split_whitespace().filter(|w| *w == "word").count(),
            40
        );
    }

    #[test]
    fn the_second_level_shows_the_steps_and_names_the_third() {
        let catalogue = report(&[("app-loads", true, true, None), ("sync", false, true, None)]);
        let sync = catalogue.find("sync").unwrap().hint_more_lines("");
        assert!(sync.starts_with("sync — the sync title"), "{sync}");
        assert!(sync.contains("  hint: the sync hint"), "{sync}");
        assert!(sync.contains("  steps: the sync steps"), "{sync}");
        assert!(sync.contains("`cargo xtask reveal sync`"), "{sync}");
        let before = catalogue.find("app-loads").unwrap().hint_more_lines("");
        assert!(before.contains("passes before the lesson"), "{before}");
        assert!(!before.contains("reveal"), "{before}");
    }
}
