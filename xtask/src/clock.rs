//! A Unix time as a UTC calendar time, without a date crate: xtask names
//! `reset`'s backups by it, and the bench says when each part of its report
//! was measured.

use std::fmt;

/// A UTC calendar time, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    year: u64,
    month: u64,
    day: u64,
    seconds_of_day: u64,
}

impl Utc {
    /// `unix` seconds since 1970-01-01T00:00:00Z.
    pub fn at(unix: u64) -> Self {
        let (year, month, day) = civil_from_days(unix / 86_400);
        Utc {
            year,
            month,
            day,
            seconds_of_day: unix % 86_400,
        }
    }

    /// `2026-12-03T09-12-44Z`: a name that sorts by time and is a valid
    /// file or directory name everywhere (Windows refuses `:`).
    pub fn file_name(&self) -> String {
        let s = self.seconds_of_day;
        format!(
            "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z",
            self.year,
            self.month,
            self.day,
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }
}

/// `2026-12-03 09:12 UTC`, for a reader.
impl fmt::Display for Utc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds_of_day;
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02} UTC",
            self.year,
            self.month,
            self.day,
            s / 3600,
            s / 60 % 60
        )
    }
}

/// The calendar date of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_as_file_names_and_for_readers() {
        assert_eq!(Utc::at(0).file_name(), "1970-01-01T00-00-00Z");
        // `date -u -d @1796290364`: Thu Dec  3 09:32:44 UTC 2026.
        let time = Utc::at(1_796_290_364);
        assert_eq!(time.file_name(), "2026-12-03T09-32-44Z");
        assert_eq!(time.to_string(), "2026-12-03 09:32 UTC");
        // A leap day.
        assert_eq!(Utc::at(951_782_400).file_name(), "2000-02-29T00-00-00Z");
    }
}
