//! Notification templates: one subject, plain-text body and HTML body per notification
//! type (`templates/<type>.{subject,txt,html}`, compiled into the binary), rendered with
//! minijinja. HTML escapes every value; a template that names a value the job does not
//! carry fails to render (strict), so a job never goes out half-filled: it fails and,
//! after its retries, lands in the DLQ.
//!
//! Every template sees the job's `data`, plus `when` (the class or appointment time,
//! `starts_at`, in the studio's `timezone`) and, for link mails and invitations, `link`
//! and `token`. Other times are shown with the `local` filter:
//! `{{ blocked_until | local(timezone) }}`.

use std::sync::OnceLock;

use anyhow::Context;
use chrono::{DateTime, Utc};
use minijinja::{Environment, UndefinedBehavior};

/// Declares [`TYPES`] and the template sources compiled in, from one list.
macro_rules! notification_types {
    ($($name:literal),* $(,)?) => {
        /// Every notification type with its templates.
        pub const TYPES: &[&str] = &[$($name),*];

        const SOURCES: &[(&str, &str)] = &[
            ("layout.html", include_str!("../templates/layout.html")),
            $(
                (concat!($name, ".subject"), include_str!(concat!("../templates/", $name, ".subject"))),
                (concat!($name, ".txt"), include_str!(concat!("../templates/", $name, ".txt"))),
                (concat!($name, ".html"), include_str!(concat!("../templates/", $name, ".html"))),
            )*
        ];
    };
}

notification_types!(
    "booking_confirmed",
    "booking_waitlisted",
    "booking_cancelled",
    "waitlist_promoted",
    "class_cancelled",
    "class_reminder",
    "class_changed",
    "no_show_recorded",
    "appointment_booked",
    "appointment_rescheduled",
    "appointment_cancelled",
    "appointment_reminder",
    "staff_activity",
    "daily_digest",
    "booking_blocked",
    "webhook_disabled",
    "recommendation_ready",
    "studio_contact_email_confirmation",
    "email_verification",
    "password_reset",
    "password_changed",
    "invitation",
);

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        // `{{ at | local(timezone) }}`: an RFC 3339 time as mails show it (see [`local`]).
        env.add_filter("local", |raw: String, timezone: Option<String>| {
            local(&raw, timezone.as_deref())
        });
        for (name, source) in SOURCES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("template {name} does not compile: {e}"));
        }
        env
    })
}

/// A rendered message's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Renders notification type `kind` with `data` (an object).
pub fn render(kind: &str, mut data: serde_json::Value) -> anyhow::Result<Rendered> {
    anyhow::ensure!(
        TYPES.contains(&kind),
        "unknown notification template `{kind}`"
    );
    if let Some(object) = data.as_object_mut() {
        if let Some(when) = local_time(object) {
            object.insert("when".to_owned(), when.into());
        }
    }
    let env = environment();
    let part = |suffix: &str| -> anyhow::Result<String> {
        env.get_template(&format!("{kind}.{suffix}"))?
            .render(&data)
            .with_context(|| format!("rendering {kind}.{suffix}"))
    };
    let subject = part("subject")?.trim().to_owned();
    // Header injection guard: nothing that lands in a header may break the line.
    anyhow::ensure!(
        !subject.contains(['\r', '\n']),
        "the subject of {kind} contains a line break"
    );
    Ok(Rendered {
        subject,
        text: part("txt")?,
        html: part("html")?,
    })
}

/// `starts_at` in the studio's time zone, e.g. `Tue 8 Dec 2026, 09:30 (Europe/Berlin)`;
/// a `starts_at` that is not a timestamp is shown as it is.
fn local_time(data: &serde_json::Map<String, serde_json::Value>) -> Option<String> {
    let raw = data.get("starts_at")?.as_str()?;
    Some(local(raw, data.get("timezone").and_then(|z| z.as_str())))
}

/// An RFC 3339 time as mails show it, in IANA zone `timezone` (UTC if unknown).
pub fn local(raw: &str, timezone: Option<&str>) -> String {
    let Ok(at) = DateTime::parse_from_rfc3339(raw).map(|t| t.with_timezone(&Utc)) else {
        return raw.to_owned();
    };
    let zone: chrono_tz::Tz = timezone
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    format!(
        "{} ({zone})",
        at.with_timezone(&zone).format("%a %-d %b %Y, %H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sample data for every type: what the projector puts into its jobs.
    fn sample(kind: &str) -> serde_json::Value {
        let class = serde_json::json!({
            "class_title": "Reformer <Level 2> & Core",
            "starts_at": "2026-12-08T08:30:00Z",
            "timezone": "Europe/Berlin",
            "studio_name": "Harbor Pilates",
            "position": 3,
            "late": true,
            "strike": false,
            "minutes": 45,
            "client_name": "Rita <R.>",
            "activity": "booked",
            "title": "Reformer",
            "items": [{"client_name": "Rita", "activity": "booked", "title": "Reformer", "when": "Tue 8 Dec 2026, 09:30 (Europe/Berlin)"}],
        });
        match kind {
            "studio_contact_email_confirmation" => {
                serde_json::json!({"studio_name": "Harbor Pilates"})
            }
            "booking_blocked" => {
                let mut data = class;
                if let Some(object) = data.as_object_mut() {
                    object.insert("reason".to_owned(), "no_show".into());
                    object.insert(
                        "blocked_until".to_owned(),
                        "2026-12-15T08:30:00+00:00".into(),
                    );
                    object.insert("strikes".to_owned(), 3.into());
                    object.insert("strike_window_days".to_owned(), 30.into());
                }
                data
            }
            "recommendation_ready" => serde_json::json!({
                "studio_name": "Harbor Pilates",
                "client_name": "Cara <L.>",
                "client_id": "0193a0e0-0000-7000-8000-000000000005",
                "intake_version": 2,
            }),
            "webhook_disabled" => serde_json::json!({
                "studio_name": "Harbor Pilates",
                "studio_id": "0193a0e0-0000-7000-8000-000000000001",
                "endpoint_id": "0193a0e0-0000-7000-8000-000000000002",
                "url": "https://hooks.example.com/<repstream>",
                "reason": "failing",
                "failing_since": "2026-12-03T08:30:00+00:00",
                "timezone": "Europe/Berlin",
            }),
            "password_changed" => serde_json::json!({
                "account_id": "0193a0e0-0000-7000-8000-000000000003",
                "changed_at": "2026-12-08T08:30:00+00:00",
            }),
            "invitation" => serde_json::json!({
                "studio_name": "Harbor Pilates",
                "role": "trainer",
                "invitation_id": "0193a0e0-0000-7000-8000-000000000004",
                "expires_at": "2026-12-15T08:30:00+00:00",
                "timezone": "Europe/Berlin",
                "link": "http://app.example/accept-invitation?token=abc",
                "token": "abc",
            }),
            "email_verification" | "password_reset" => serde_json::json!({
                "full_name": "Ada",
                "expires_at": "2026-12-09T08:30:00Z",
                "link": "http://app.example/verify-email?token=abc",
                "token": "abc",
            }),
            _ => class,
        }
    }

    #[test]
    fn every_template_renders_for_every_notification_type() {
        for kind in TYPES {
            let rendered = render(kind, sample(kind)).unwrap_or_else(|e| panic!("{kind}: {e:#}"));
            assert!(!rendered.subject.is_empty(), "{kind}");
            assert!(rendered.text.len() > 20, "{kind}");
            assert!(rendered.html.contains("<html"), "{kind}");
        }
    }

    #[test]
    fn every_type_a_person_may_turn_off_has_a_template() {
        for kind in domain::account::OPTIONAL_KINDS {
            assert!(TYPES.contains(kind), "{kind} has no template");
        }
    }

    #[test]
    fn times_are_local_to_the_studio_and_html_escapes_values() {
        let rendered = render("booking_confirmed", sample("booking_confirmed")).expect("renders");
        assert!(
            rendered
                .text
                .contains("Tue 8 Dec 2026, 09:30 (Europe/Berlin)"),
            "{}",
            rendered.text
        );
        assert!(rendered.text.contains("Reformer <Level 2> & Core"));
        assert!(rendered
            .html
            .contains("Reformer &lt;Level 2&gt; &amp; Core"));
        assert!(!rendered.html.contains("<Level 2>"));
        assert_eq!(
            rendered.subject,
            "Harbor Pilates: you are booked for Reformer <Level 2> & Core"
        );
    }

    #[test]
    fn other_times_are_shown_local_to_the_studio_too() {
        let rendered = render("booking_blocked", sample("booking_blocked")).expect("renders");
        assert!(
            rendered
                .subject
                .ends_with("paused until Tue 15 Dec 2026, 09:30 (Europe/Berlin)"),
            "{}",
            rendered.subject
        );
        let rendered = render("password_changed", sample("password_changed")).expect("renders");
        assert!(rendered.text.contains("Tue 8 Dec 2026, 08:30 (UTC)"));
    }

    #[test]
    fn a_job_missing_a_value_or_of_an_unknown_type_does_not_render() {
        let mut data = sample("booking_confirmed");
        if let Some(object) = data.as_object_mut() {
            object.remove("class_title");
        }
        assert!(render("booking_confirmed", data).is_err());
        assert!(render("no_such_type", serde_json::json!({})).is_err());
        let injected = serde_json::json!({"studio_name": "Evil\r\nBcc: everyone@example.com"});
        assert!(render("studio_contact_email_confirmation", injected).is_err());
    }
}
