use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};

use super::{Appointment, Busy, Rules, TimeOff};

/// The most slots [`slots`] returns.
pub const MAX_SLOTS: usize = 2000;
/// The most candidate slots [`slots`] looks at, however many windows overlap: with the
/// blocked time merged and searched by bisection, the work is bounded by
/// `MAX_CANDIDATES × log(blocked intervals)` plus one sort of the blocked intervals.
pub const MAX_CANDIDATES: usize = 20_000;

/// Free slots in `[from, to)` given `rules`, time off, other commitments (`busy`) and
/// booked appointments (each blocking its buffer too), not earlier than the minimum
/// notice. At most [`MAX_SLOTS`], from at most [`MAX_CANDIDATES`] candidates; slots of
/// overlapping windows are offered once.
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
    let blocked = Blocked::new(
        time_off
            .iter()
            .map(|t| (t.from, t.to))
            .chain(busy.iter().map(|b| (b.from - buffer, b.to + buffer)))
            .chain(
                booked
                    .iter()
                    .map(|a| (a.starts_at - buffer, a.ends_at + buffer)),
            )
            .filter(|(lo, hi)| lo < hi && *hi > from && *lo < to)
            .collect(),
    );
    let mut out = Vec::new();
    let mut candidates = 0usize;
    let mut date = from.with_timezone(&tz).date_naive() - Duration::days(1);
    let last = to.with_timezone(&tz).date_naive();
    'days: while date <= last {
        for w in rules.weekly.iter().filter(|w| w.weekday == date.weekday()) {
            let (Some(mut start), Some(end)) = (
                tz.from_local_datetime(&date.and_time(w.start)).earliest(),
                tz.from_local_datetime(&date.and_time(w.end)).earliest(),
            ) else {
                continue;
            };
            // Straight to the first slot of the grid at or after the range (and the
            // notice): only slots inside it count as candidates.
            let step = slot + buffer;
            let first = from.max(earliest);
            if start.with_timezone(&Utc) < first {
                let behind = (first - start.with_timezone(&Utc)).num_seconds();
                let step_secs = step.num_seconds().max(1);
                let steps = (behind + step_secs - 1) / step_secs;
                start += step * i32::try_from(steps).unwrap_or(i32::MAX);
            }
            while start + slot <= end && start.with_timezone(&Utc) < to {
                candidates += 1;
                if candidates > MAX_CANDIDATES || out.len() >= MAX_SLOTS {
                    break 'days;
                }
                let s = start.with_timezone(&Utc);
                let e = s + slot;
                if s >= from && e <= to && s >= earliest && !blocked.overlaps(s, e) {
                    out.push((s, e));
                }
                start += step;
            }
        }
        let Some(next) = date.succ_opt() else { break };
        date = next;
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Blocked time as sorted, disjoint intervals.
struct Blocked(Vec<(DateTime<Utc>, DateTime<Utc>)>);

impl Blocked {
    fn new(mut intervals: Vec<(DateTime<Utc>, DateTime<Utc>)>) -> Self {
        intervals.sort_unstable();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(intervals.len());
        for (lo, hi) in intervals {
            match merged.last_mut() {
                // Touching intervals merge too: no slot fits between them.
                Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        Self(merged)
    }

    /// Does `[s, e)` overlap any blocked interval?
    fn overlaps(&self, s: DateTime<Utc>, e: DateTime<Utc>) -> bool {
        let i = self.0.partition_point(|(_, hi)| *hi <= s);
        self.0.get(i).is_some_and(|(lo, _)| *lo < e)
    }
}
