//! The steps of the instructor guide's demo script
//! (`book/src/instructor-guide.md`, "Demo script"), as the demo plays them:
//! each step's number and bold title, the browsers it is played in, and the
//! words the guide quotes that the step must show. A test holds the guide
//! and this list together: a step renamed, added or reworded in one is
//! reworded in the other.

use crate::app;

/// A step of the guide's demo script.
pub struct Step {
    pub number: usize,
    /// Its bold title in the guide.
    pub title: &'static str,
    /// The browsers it is played in.
    pub browsers: &'static [&'static str],
    /// What the guide says the step shows, word for word.
    pub quotes: &'static [&'static str],
}

const BOTH: &[&str] = &["chromium", "firefox"];
const CHROMIUM: &[&str] = &["chromium"];
const FIREFOX: &[&str] = &["firefox"];

pub const QUEUED_1: &str = "Queued — 1 waiting";
pub const QUEUED_2: &str = "Queued — 2 waiting";
pub const WAITING: &str = "Waiting to send";
pub const SENT_1: &str = "Sent — 1 delivered";
pub const SENT_2: &str = "Sent — 2 delivered";
pub const ADDED_1: &str = "Added 1 new article";
pub const ADDED_2: &str = "Added 2 new articles";
pub const OFFLINE: &str = "Offline";
pub const SYNC_TAG: &str = app::SYNC_TAG;
pub const ARTICLES: &str = app::ARTICLES;
pub const NO_PUSH_SERVICE: &str =
    "Could not turn on notifications: the browser's push service did not answer";
pub const PUSH_ON: &str = "You will be notified of new articles";
pub const PUSH_TITLE: &str = app::PUSH_TITLE;

pub const STEPS: [Step; 8] = [
    Step {
        number: 1,
        title: "The app.",
        browsers: BOTH,
        quotes: &[QUEUED_1, WAITING, SENT_1, ADDED_1],
    },
    Step {
        number: 2,
        title: "Offline.",
        browsers: CHROMIUM,
        quotes: &[OFFLINE, QUEUED_1, QUEUED_2],
    },
    Step {
        number: 3,
        title: "Back online.",
        browsers: CHROMIUM,
        quotes: &[SENT_2, ADDED_2],
    },
    Step {
        number: 4,
        title: "Every page.",
        browsers: CHROMIUM,
        quotes: &[],
    },
    Step {
        number: 5,
        title: "The worker is stopped.",
        browsers: CHROMIUM,
        quotes: &[QUEUED_1, SYNC_TAG, SENT_1],
    },
    Step {
        number: 6,
        title: "Exactly once.",
        browsers: BOTH,
        quotes: &[ARTICLES],
    },
    Step {
        number: 7,
        title: "Another browser.",
        browsers: FIREFOX,
        quotes: &[QUEUED_1, SENT_1],
    },
    Step {
        number: 8,
        title: "Push.",
        browsers: BOTH,
        quotes: &[NO_PUSH_SERVICE, PUSH_ON, PUSH_TITLE, ARTICLES],
    },
];

/// The numbers of the steps played in `browser`, as the guide lists them:
/// "1, 6, 7 and 8".
pub fn numbers_in(browser: &str) -> String {
    let numbers: Vec<String> = STEPS
        .iter()
        .filter(|s| s.browsers.contains(&browser))
        .map(|s| s.number.to_string())
        .collect();
    match numbers.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guide's demo script: each numbered item's text, whitespace made
    /// single spaces (the Markdown wraps lines anywhere).
    fn guide_steps() -> Vec<String> {
        let guide = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../book/src/instructor-guide.md");
        let text = std::fs::read_to_string(&guide).unwrap();
        let start = text
            .find("## Demo script")
            .expect("the guide has a Demo script");
        let section = &text[start..];
        let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
        let mut steps: Vec<String> = Vec::new();
        for line in section[..end].lines() {
            let numbered = line
                .split_once(". **")
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            if numbered {
                steps.push(String::new());
            }
            if let Some(step) = steps.last_mut() {
                step.push_str(line);
                step.push(' ');
            }
        }
        steps
            .into_iter()
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn the_guide_says_what_the_demo_plays() {
        let guide = guide_steps();
        assert_eq!(
            guide.len(),
            STEPS.len(),
            "the guide's demo script has {} steps",
            guide.len()
        );
        for (step, text) in STEPS.iter().zip(&guide) {
            let heading = format!("{}. **{}**", step.number, step.title);
            assert!(
                text.starts_with(&heading),
                "step {} of the guide is not {heading}: {text}",
                step.number
            );
            for quote in step.quotes {
                assert!(
                    text.contains(quote),
                    "step {} of the guide does not say \"{quote}\"",
                    step.number
                );
            }
        }
    }

    #[test]
    fn the_guide_names_the_firefox_steps() {
        assert_eq!(numbers_in("firefox"), "1, 6, 7 and 8");
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../book/src/instructor-guide.md"),
        )
        .unwrap();
        let said = format!("Firefox's ({})", numbers_in("firefox"));
        assert!(
            text.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .contains(&said),
            "the guide does not say {said}"
        );
    }
}
