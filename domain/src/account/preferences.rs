//! A person's notification preferences: which notification types they turned off on
//! which channel, and quiet hours in their own time zone. Security mails (email
//! verification, password reset, contact-address confirmation) are not optional and
//! always go, at any hour.

use chrono::{DateTime, NaiveTime, TimeZone as _, Utc};
use serde::{Deserialize, Serialize};

use crate::values::TimeZone;

/// The notification type of class reminders.
pub const CLASS_REMINDER: &str = "class_reminder";

/// The notification type of appointment reminders.
pub const APPOINTMENT_REMINDER: &str = "appointment_reminder";

/// The notification type staff get of activity in their classes and calendar (a
/// booking, a cancellation, a waitlist change, an appointment): one per event, unless
/// they chose the [`DailyDigest`] for email.
pub const STAFF_ACTIVITY: &str = "staff_activity";

/// The notification type of the daily digest of staff activity.
pub const DAILY_DIGEST: &str = "daily_digest";

/// The notification type of a booking block starting (a strike reached the studio's
/// limit). Not optional: it tells why booking is refused and until when.
pub const BOOKING_BLOCKED: &str = "booking_blocked";

/// The notification type telling an account's owner its password was changed (or
/// reset). Not optional: it is how someone learns their account was taken over.
pub const PASSWORD_CHANGED: &str = "password_changed";

/// The notification type inviting someone to join a studio (mailed to the invited
/// address with the invitation's token). Not optional: it was asked for by the studio.
pub const INVITATION: &str = "invitation";

/// The notification type telling a studio's owners and admins that a webhook endpoint
/// was disabled (it answered `410 Gone` or kept failing). Not optional.
pub const WEBHOOK_DISABLED: &str = "webhook_disabled";

/// The notification type telling a client's assigned trainers that a recommendation
/// for the client's health intake is ready to review (it names the client, never their
/// health data).
pub const RECOMMENDATION_READY: &str = "recommendation_ready";

/// The notification types a person may turn off.
pub const OPTIONAL_KINDS: &[&str] = &[
    "booking_confirmed",
    "booking_waitlisted",
    "booking_cancelled",
    "waitlist_promoted",
    "class_cancelled",
    CLASS_REMINDER,
    "class_changed",
    "appointment_booked",
    "appointment_rescheduled",
    "appointment_cancelled",
    APPOINTMENT_REMINDER,
    STAFF_ACTIVITY,
    DAILY_DIGEST,
    RECOMMENDATION_READY,
];

/// A channel a notification goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum NotifyChannel {
    Email,
    InApp,
}

/// One notification type turned off on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Muted {
    /// One of the optional types (e.g. `class_reminder`).
    pub kind: String,
    pub channel: NotifyChannel,
}

/// No optional email between `start` and `end` (local times, `HH:MM`, in `timezone`; an
/// `end` before `start` spans midnight). Such emails wait until the quiet hours end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    #[schema(example = "22:00")]
    pub start: String,
    #[schema(example = "07:00")]
    pub end: String,
    #[schema(value_type = String, example = "Europe/Berlin")]
    pub timezone: TimeZone,
}

/// One email a day of the activity in the person's classes and calendar (per studio),
/// sent at local time `at` (`HH:MM` in `timezone`), instead of one email per event.
/// The in-app notices still come one per event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DailyDigest {
    #[schema(example = "07:00")]
    pub at: String,
    #[schema(value_type = String, example = "Europe/Berlin")]
    pub timezone: TimeZone,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationPreferences {
    /// Types turned off, per channel (everything else is on).
    #[serde(default)]
    pub muted: Vec<Muted>,
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
    /// Staff activity by email once a day instead of one email per event.
    #[serde(default)]
    pub digest: Option<DailyDigest>,
}

fn clock(raw: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(raw, "%H:%M").ok()
}

impl NotificationPreferences {
    /// The first problem, as (field, message).
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.muted.len() > OPTIONAL_KINDS.len() * 2 {
            return Err((
                "muted",
                "lists a type and channel more than once".to_owned(),
            ));
        }
        for (i, m) in self.muted.iter().enumerate() {
            if !OPTIONAL_KINDS.contains(&m.kind.as_str()) {
                return Err((
                    "muted",
                    format!(
                        "`{}` is not a type that can be turned off; those are: {}",
                        m.kind.chars().take(64).collect::<String>(),
                        OPTIONAL_KINDS.join(", ")
                    ),
                ));
            }
            if self.muted[..i].contains(m) {
                return Err((
                    "muted",
                    "lists a type and channel more than once".to_owned(),
                ));
            }
        }
        if let Some(q) = &self.quiet_hours {
            let (Some(start), Some(end)) = (clock(&q.start), clock(&q.end)) else {
                return Err((
                    "quiet_hours",
                    "start and end are local times as HH:MM".to_owned(),
                ));
            };
            if start == end {
                return Err(("quiet_hours", "start and end must differ".to_owned()));
            }
        }
        if let Some(d) = &self.digest {
            if clock(&d.at).is_none() {
                return Err(("digest", "`at` is a local time as HH:MM".to_owned()));
            }
        }
        Ok(())
    }

    /// Does the person want `kind` by email one at a time? Staff activity goes into the
    /// digest instead when they chose one.
    pub fn mails_each(&self, kind: &str) -> bool {
        kind != STAFF_ACTIVITY || self.digest.is_none()
    }

    /// The digest's latest send time at or before `now` (`None`: no digest chosen). A
    /// digest sent at that time covers the activity of the day before it.
    pub fn digest_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let d = self.digest.as_ref()?;
        let at = clock(&d.at)?;
        let zone = d.timezone.tz();
        let today = now.with_timezone(&zone).date_naive();
        [Some(today), today.pred_opt()]
            .into_iter()
            .flatten()
            .filter_map(|day| {
                // A daylight-saving gap at `at`: an hour later.
                zone.from_local_datetime(&day.and_time(at))
                    .earliest()
                    .or_else(|| {
                        zone.from_local_datetime(&day.and_time(at + chrono::Duration::hours(1)))
                            .earliest()
                    })
            })
            .map(|t| t.with_timezone(&Utc))
            .find(|t| *t <= now)
    }

    /// Does the person want `kind` on `channel`? Types that are not optional always go.
    pub fn allows(&self, kind: &str, channel: NotifyChannel) -> bool {
        !OPTIONAL_KINDS.contains(&kind)
            || !self
                .muted
                .iter()
                .any(|m| m.kind == kind && m.channel == channel)
    }

    /// If `now` is within the quiet hours, when they end.
    pub fn quiet_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let q = self.quiet_hours.as_ref()?;
        let (start, end) = (clock(&q.start)?, clock(&q.end)?);
        let zone = q.timezone.tz();
        let local = now.with_timezone(&zone);
        let t = local.time();
        let quiet = if start < end {
            start <= t && t < end
        } else {
            t >= start || t < end
        };
        if !quiet {
            return None;
        }
        let mut day = local.date_naive();
        if t >= end {
            day = day.succ_opt()?;
        }
        // A daylight-saving gap at `end`: the first valid instant after it.
        let ends = zone
            .from_local_datetime(&day.and_time(end))
            .earliest()
            .or_else(|| {
                zone.from_local_datetime(&day.and_time(end + chrono::Duration::hours(1)))
                    .earliest()
            })?;
        Some(ends.with_timezone(&Utc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quiet(start: &str, end: &str) -> NotificationPreferences {
        NotificationPreferences {
            muted: Vec::new(),
            quiet_hours: Some(QuietHours {
                start: start.to_owned(),
                end: end.to_owned(),
                timezone: TimeZone::parse("Europe/Berlin").expect("zone"),
            }),
            digest: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_span_midnight_in_the_persons_zone() {
        let p = quiet("22:00", "07:00");
        // 23:30 in Berlin (winter, UTC+1): quiet until 07:00 Berlin the next morning.
        assert_eq!(
            p.quiet_until(at("2026-12-08T22:30:00Z")),
            Some(at("2026-12-09T06:00:00Z"))
        );
        // 05:00 Berlin: quiet until 07:00 the same morning.
        assert_eq!(
            p.quiet_until(at("2026-12-09T04:00:00Z")),
            Some(at("2026-12-09T06:00:00Z"))
        );
        // 12:00 Berlin: not quiet.
        assert_eq!(p.quiet_until(at("2026-12-09T11:00:00Z")), None);
        let day = quiet("12:00", "14:00");
        assert_eq!(
            day.quiet_until(at("2026-12-09T11:30:00Z")),
            Some(at("2026-12-09T13:00:00Z"))
        );
    }

    #[test]
    fn only_optional_types_can_be_muted_and_security_mail_always_goes() {
        let mut p = NotificationPreferences::default();
        p.muted.push(Muted {
            kind: "class_reminder".to_owned(),
            channel: NotifyChannel::Email,
        });
        assert!(p.validate().is_ok());
        assert!(!p.allows("class_reminder", NotifyChannel::Email));
        assert!(p.allows("class_reminder", NotifyChannel::InApp));
        assert!(p.allows("password_reset", NotifyChannel::Email));
        p.muted.push(Muted {
            kind: "password_reset".to_owned(),
            channel: NotifyChannel::Email,
        });
        assert!(p.validate().is_err());
        p.muted.pop();
        p.muted.push(p.muted[0].clone());
        assert!(p.validate().is_err(), "duplicates");
        assert!(quiet("25:00", "07:00").validate().is_err());
        assert!(quiet("07:00", "07:00").validate().is_err());
    }

    #[test]
    fn the_digest_is_due_at_its_latest_local_time_and_replaces_staff_activity_mails() {
        let p = NotificationPreferences {
            digest: Some(DailyDigest {
                at: "07:00".to_owned(),
                timezone: TimeZone::parse("Europe/Berlin").expect("zone"),
            }),
            ..NotificationPreferences::default()
        };
        // 07:00 in Berlin is 06:00Z in winter.
        assert_eq!(
            p.digest_due(at("2026-12-08T06:30:00Z")),
            Some(at("2026-12-08T06:00:00Z"))
        );
        assert_eq!(
            p.digest_due(at("2026-12-08T05:59:00Z")),
            Some(at("2026-12-07T06:00:00Z"))
        );
        assert!(!p.mails_each(STAFF_ACTIVITY));
        assert!(p.mails_each("booking_confirmed"));
        assert!(NotificationPreferences::default().mails_each(STAFF_ACTIVITY));
        assert_eq!(
            NotificationPreferences::default().digest_due(at("2026-12-08T06:30:00Z")),
            None
        );
        let bad = NotificationPreferences {
            digest: Some(DailyDigest {
                at: "7 am".to_owned(),
                timezone: TimeZone::parse("UTC").expect("zone"),
            }),
            ..NotificationPreferences::default()
        };
        assert_eq!(bad.validate().map_err(|e| e.0), Err("digest"));
    }
}
