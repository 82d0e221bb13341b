//! `cargo xtask check`'s arguments, and the browsers it checks in.

use lesson::Stage;
use platform::browsers::Family;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[arg(value_enum, default_value_t)]
    pub stage: Stage,
    /// Check again after every save in the stage's crate.
    #[arg(long)]
    pub watch: bool,
    /// Run every checkpoint. By default the lesson's checkpoints stop at
    /// the first that fails (those after it cannot pass before it, and are
    /// reported as not yet); the pre-lesson ones always run.
    #[arg(long, visible_alias = "keep-going")]
    pub all: bool,
    /// Only these checkpoints (ids, comma-separated); the others are
    /// reported as not run.
    #[arg(long, value_name = "IDS")]
    pub only: Option<String>,
    /// Show the full error of every failed checkpoint.
    #[arg(long, short)]
    pub verbose: bool,
    /// Pass only when the starter is exactly as a student finds it: every
    /// pre-lesson checkpoint passes and every lesson checkpoint fails (what
    /// `cargo xtask test` asserts).
    #[arg(long, hide = true)]
    pub expect_starter: bool,
    /// The headless browser to check in. Firefox has no Background Sync:
    /// there the checkpoints prove the app's fallback instead.
    #[arg(long, value_enum, default_value_t)]
    pub browser: Browser,
    #[command(flatten)]
    pub room: RoomArgs,
}

/// `--room URL --name NAME --code CODE`: all three or none. Without them
/// nothing leaves this machine.
#[derive(Debug, Default, clap::Args)]
pub struct RoomArgs {
    /// After each check, send your checkpoint results, the hints you asked
    /// for and the first failure's expected and seen lines (never your
    /// code) to the instructor's room at this URL.
    #[arg(long, value_name = "URL", requires_all = ["name", "code"])]
    pub room: Option<String>,
    /// Your name, as the room shows it (with --room).
    #[arg(long, requires = "room")]
    pub name: Option<String>,
    /// The room's code, as the instructor gave it (with --room).
    #[arg(long, requires = "room")]
    pub code: Option<String>,
}

/// The browsers the harness drives (its `--browser`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Browser {
    /// Chromium, over the DevTools protocol.
    #[default]
    Chromium,
    /// Firefox ESR, over WebDriver BiDi.
    Firefox,
}

impl Browser {
    pub fn name(self) -> &'static str {
        match self {
            Browser::Chromium => "chromium",
            Browser::Firefox => "firefox",
        }
    }

    pub(crate) fn family(self) -> Family {
        match self {
            Browser::Chromium => Family::Chromium,
            Browser::Firefox => Family::Firefox,
        }
    }

    pub(crate) fn product(self) -> &'static str {
        match self {
            Browser::Chromium => "Chromium",
            Browser::Firefox => "Firefox",
        }
    }
}

impl CheckArgs {
    /// A plain check of `stage`, as `cargo xtask check <stage>` runs it.
    pub fn new(stage: Stage) -> Self {
        CheckArgs {
            stage,
            watch: false,
            all: false,
            only: None,
            verbose: false,
            expect_starter: false,
            browser: Browser::Chromium,
            room: RoomArgs::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        check: CheckArgs,
    }

    #[test]
    fn room_flags_come_all_three_or_not_at_all() {
        let cli = Cli::try_parse_from(["check"]).unwrap();
        assert!(cli.check.room.room.is_none());
        let cli = Cli::try_parse_from([
            "check",
            "--room",
            "http://10.0.0.1:4000",
            "--name",
            "Ada",
            "--code",
            "K7Q2",
        ])
        .unwrap();
        assert_eq!(cli.check.room.room.as_deref(), Some("http://10.0.0.1:4000"));
        assert_eq!(cli.check.room.name.as_deref(), Some("Ada"));
        assert_eq!(cli.check.room.code.as_deref(), Some("K7Q2"));
        for partial in [
            &["check", "--room", "http://x"][..],
            &["check", "--room", "http://x", "--name", "Ada"],
            &["check", "--name", "Ada", "--code", "K7Q2"],
            &["check", "--code", "K7Q2"],
        ] {
            assert!(Cli::try_parse_from(partial).is_err(), "{partial:?}");
        }
    }
}
