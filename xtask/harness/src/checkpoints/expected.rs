//! Which lines of a checkpoint's own console output it caused on purpose.
//!
//! A checkpoint cuts the network, has the server answer 503 or nobody
//! answer, or stops the server: the app then logs failed fetches, and its
//! worker rejects the sync on purpose (so that the browser fires it again).
//! Those lines are the point, not a bug; a failure report marks them, so
//! that a student reads past them to the lines that are news.

/// What a checkpoint did on purpose that makes the app log errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The network off for the app.
    Offline,
    /// The proxy answering the API with 503.
    Answers503,
    /// The proxy refusing connections.
    Refused,
    /// The server itself stopped.
    ServerDown,
}

/// The lines each fault explains: a piece of the line, and which faults
/// explain it, with why it is there, in words for the report.
const EXPLAINED: &[(&str, &[Fault], &str)] = &[
    (
        "ERR_INTERNET_DISCONNECTED",
        &[Fault::Offline],
        "the check turned the network off",
    ),
    (
        "(Offline)",
        &[Fault::Offline],
        "the worker answers for the network while it is off",
    ),
    (
        "status of 503",
        &[Fault::Answers503],
        "the check had the server answer 503",
    ),
    (
        "HTTP 503",
        &[Fault::Answers503],
        "the check had the server answer 503, and the sync fails on purpose so that the browser fires it again",
    ),
    (
        "could not be reached",
        &[Fault::Offline, Fault::Refused, Fault::ServerDown],
        "the check cut the server off, and the sync fails on purpose so that the browser fires it again",
    ),
    (
        "Failed to fetch",
        &[Fault::Offline, Fault::Refused, Fault::ServerDown],
        "the check cut the server off",
    ),
    (
        "NetworkError",
        &[Fault::Offline, Fault::Refused, Fault::ServerDown],
        "the check cut the server off",
    ),
    (
        "ERR_CONNECTION_REFUSED",
        &[Fault::Refused, Fault::ServerDown],
        "the check cut the server off",
    ),
    (
        "ERR_EMPTY_RESPONSE",
        &[Fault::Refused, Fault::ServerDown],
        "the check cut the server off",
    ),
    (
        "ERR_CONNECTION_RESET",
        &[Fault::Refused, Fault::ServerDown],
        "the check cut the server off",
    ),
];

/// Why `line` is expected in a checkpoint that caused `faults`, if it is.
pub fn why(line: &str, faults: &[Fault]) -> Option<&'static str> {
    EXPLAINED
        .iter()
        .find(|(piece, explained_by, _)| {
            line.contains(piece) && explained_by.iter().any(|f| faults.contains(f))
        })
        .map(|(_, _, why)| *why)
}

/// `line` as the report shows it: marked when the checkpoint caused it.
pub fn mark(line: &str, faults: &[Fault]) -> String {
    match why(line, faults) {
        Some(why) => format!("{line}   [expected here: {why}]"),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_expected_only_where_the_checkpoint_caused_it() {
        let offline = "page error: Failed to load resource: net::ERR_INTERNET_DISCONNECTED";
        assert_eq!(
            why(offline, &[Fault::Offline]),
            Some("the check turned the network off")
        );
        // The same line where the checkpoint left the network on is news.
        assert_eq!(why(offline, &[Fault::Answers503]), None);
        assert_eq!(why(offline, &[]), None);

        let rejected = "worker uncaught: the server answered HTTP 503";
        assert!(
            why(rejected, &[Fault::Answers503])
                .unwrap()
                .contains("the sync fails on purpose")
        );
        assert_eq!(why(rejected, &[Fault::Offline]), None);

        let panic = "worker uncaught: RuntimeError: unreachable";
        assert_eq!(
            why(panic, &[Fault::Offline, Fault::Answers503, Fault::Refused]),
            None
        );
        assert_eq!(
            mark(panic, &[Fault::Offline]),
            "worker uncaught: RuntimeError: unreachable"
        );
        assert!(
            mark(offline, &[Fault::Offline])
                .ends_with("[expected here: the check turned the network off]")
        );
    }
}
