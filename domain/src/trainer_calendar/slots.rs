use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use super::{Appointment, Busy, Rules, TimeOff};

/// Free slots in `[from, to)` given `rules`, time off, other commitments (`busy`) and
/// booked appointments (each blocking its buffer too), not earlier than the minimum
/// notice. At most 2000.
pub fn slots(
    rules: &Rules,
    time_off: &[TimeOff],
    busy: &[Busy],
    booked: &[Appointment],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let Ok(tz) = rules.timezone.parse::<chrono_tz::Tz>() else {
        return Vec::new();
    };
    let slot = Duration::minutes(i64::from(rules.slot_minutes.max(5)));
    let buffer = Duration::minutes(i64::from(rules.buffer_minutes));
    let earliest = now + Duration::minutes(i64::from(rules.min_notice_minutes));
    let mut out = Vec::new();
    let mut date = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = to.with_timezone(&tz).date_naive();
    while date <= last && out.len() < 2000 {
        for w in rules.weekly.iter().filter(|w| w.weekday == date.weekday()) {
            let (Some(mut start), Some(end)) = (
                tz.from_local_datetime(&date.and_time(w.start)).earliest(),
                tz.from_local_datetime(&date.and_time(w.end)).earliest(),
            ) else {
                continue;
            };
            while start + slot <= end && out.len() < 2000 {
                let s = start.with_timezone(&Utc);
                let e = s + slot;
                let free = s >= from
                    && e <= to
                    && s >= earliest
                    && !time_off.iter().any(|t| s < t.to && e > t.from)
                    && !busy
                        .iter()
                        .any(|b| s < b.to + buffer && e + buffer > b.from)
                    && !booked
                        .iter()
                        .any(|a| s < a.ends_at + buffer && e + buffer > a.starts_at);
                if free {
                    out.push((s, e));
                }
                start += slot + buffer;
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    out.sort();
    out
}
