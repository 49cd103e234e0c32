//! Weekly recurrence (an RRULE subset: `FREQ=WEEKLY;BYDAY=…;UNTIL=…|COUNT=…`) expanded
//! in the studio's time zone. Times are computed as *local* wall-clock times and only
//! then converted to UTC, so a 07:00 class stays at 07:00 across daylight-saving
//! changes (its UTC time moves instead).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How a weekly series ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesEnd {
    /// Last local date (inclusive).
    Until(NaiveDate),
    /// Number of occurrences.
    Count(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyRule {
    pub weekdays: Vec<Weekday>,
    pub local_time: NaiveTime,
    /// First local date considered.
    pub starts_on: NaiveDate,
    pub end: SeriesEnd,
}

/// Longest series expanded at once.
pub const MAX_OCCURRENCES: usize = 366;

/// The series' start instants in UTC, in order (at most [`MAX_OCCURRENCES`], within two
/// years of `starts_on`). A local time that does not exist on a spring-forward day moves
/// one hour later; an ambiguous one on a fall-back day takes the first occurrence.
pub fn occurrences(rule: &WeeklyRule, tz: Tz) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    let limit = match rule.end {
        SeriesEnd::Count(n) => (n as usize).min(MAX_OCCURRENCES),
        SeriesEnd::Until(_) => MAX_OCCURRENCES,
    };
    let mut date = rule.starts_on;
    let last = rule.starts_on + Duration::days(731);
    while out.len() < limit && date <= last {
        if let SeriesEnd::Until(until) = rule.end {
            if date > until {
                break;
            }
        }
        if rule.weekdays.contains(&date.weekday()) {
            let local = date.and_time(rule.local_time);
            let instant = tz.from_local_datetime(&local).earliest().or_else(|| {
                tz.from_local_datetime(&(local + Duration::hours(1)))
                    .earliest()
            });
            if let Some(at) = instant {
                out.push(at.with_timezone(&Utc));
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    fn rule(starts_on: NaiveDate, end: SeriesEnd) -> WeeklyRule {
        WeeklyRule {
            weekdays: vec![Weekday::Mon, Weekday::Thu],
            local_time: NaiveTime::from_hms_opt(7, 0, 0).expect("time"),
            starts_on,
            end,
        }
    }

    #[test]
    fn a_weekly_series_crossing_a_dst_change_keeps_its_local_start_time() {
        // Europe/Berlin leaves summer time on 2026-10-25.
        let tz: Tz = "Europe/Berlin".parse().expect("tz");
        let start = NaiveDate::from_ymd_opt(2026, 10, 15).expect("date");
        let all = occurrences(&rule(start, SeriesEnd::Count(6)), tz);
        assert_eq!(all.len(), 6);
        for at in &all {
            let local = at.with_timezone(&tz);
            assert_eq!(
                (local.hour(), local.minute()),
                (7, 0),
                "{at} is {local} locally"
            );
            assert!(matches!(local.weekday(), Weekday::Mon | Weekday::Thu));
        }
        // Before the change 07:00 is 05:00 UTC, after it 06:00 UTC.
        assert_eq!(all[0].hour(), 5);
        assert_eq!(all[5].hour(), 6);
    }

    #[test]
    fn a_series_ends_on_its_until_date() {
        let tz: Tz = "America/New_York".parse().expect("tz");
        let start = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let until = NaiveDate::from_ymd_opt(2026, 3, 31).expect("date");
        let all = occurrences(&rule(start, SeriesEnd::Until(until)), tz);
        assert_eq!(all.len(), 9); // Mondays and Thursdays in March 2026
        for at in &all {
            assert_eq!(at.with_timezone(&tz).hour(), 7);
        }
    }

    #[test]
    fn a_local_time_skipped_by_spring_forward_moves_an_hour_later() {
        let tz: Tz = "Europe/Berlin".parse().expect("tz");
        let rule = WeeklyRule {
            weekdays: vec![Weekday::Sun],
            local_time: NaiveTime::from_hms_opt(2, 30, 0).expect("time"),
            starts_on: NaiveDate::from_ymd_opt(2026, 3, 29).expect("date"),
            end: SeriesEnd::Count(1),
        };
        let all = occurrences(&rule, tz);
        assert_eq!(all[0].with_timezone(&tz).hour(), 3);
    }

    #[test]
    fn series_are_bounded() {
        let tz: Tz = "UTC".parse().expect("tz");
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let mut r = rule(start, SeriesEnd::Count(100_000));
        r.weekdays = vec![
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
            Weekday::Sat,
            Weekday::Sun,
        ];
        assert_eq!(occurrences(&r, tz).len(), MAX_OCCURRENCES);
    }
}
