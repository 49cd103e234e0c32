use chrono::{Duration, TimeZone, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::view::WebhookEndpointView;
use super::*;
use crate::studio::StudioId;
use crate::view::View;

fn details() -> EndpointDetails {
    EndpointDetails {
        url: "https://hooks.example.com/repstream".into(),
        event_types: vec!["booking.created".into(), "class.cancelled".into()],
        description: None,
    }
}
fn register(details: EndpointDetails) -> WebhookEndpointCommand {
    WebhookEndpointCommand::Register {
        id: WebhookEndpointId(Uuid::nil()),
        studio_id: StudioId(Uuid::nil()),
        details,
    }
}
fn registered() -> WebhookEndpointEvent {
    WebhookEndpointEvent::WebhookEndpointRegistered {
        id: WebhookEndpointId(Uuid::nil()),
        studio_id: StudioId(Uuid::nil()),
        details: details(),
    }
}

#[tokio::test]
async fn an_endpoint_is_registered_once_and_a_retry_is_a_no_op() {
    TestFramework::<WebhookEndpoint>::with(())
        .given_no_previous_events()
        .when_async(register(details()))
        .await
        .then_expect_events(vec![registered()]);
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered()])
        .when_async(register(details()))
        .await
        .then_expect_events(vec![]);
    let mut other = details();
    other.url = "https://other.example.com/".into();
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered()])
        .when_async(register(other))
        .await
        .then_expect_error(WebhookEndpointError::AlreadyExists);
}

#[tokio::test]
async fn event_types_come_from_the_catalogue_and_a_star_stands_alone() {
    let mut d = details();
    d.event_types = vec!["booking.exploded".into()];
    TestFramework::<WebhookEndpoint>::with(())
        .given_no_previous_events()
        .when_async(register(d))
        .await
        .then_expect_error(WebhookEndpointError::Invalid {
            field: "event_types",
            message: "unknown event type `booking.exploded`".into(),
        });
    let mut d = details();
    d.event_types = vec![];
    let r = TestFramework::<WebhookEndpoint>::with(())
        .given_no_previous_events()
        .when_async(register(d))
        .await
        .inspect_result();
    assert!(
        matches!(
            r,
            Err(WebhookEndpointError::Invalid {
                field: "event_types",
                ..
            })
        ),
        "{r:?}"
    );
    let mut d = details();
    d.event_types = vec![
        "booking.created".into(),
        "*".into(),
        "booking.created".into(),
    ];
    let mut stored = details();
    stored.event_types = vec!["*".into()];
    TestFramework::<WebhookEndpoint>::with(())
        .given_no_previous_events()
        .when_async(register(d))
        .await
        .then_expect_events(vec![WebhookEndpointEvent::WebhookEndpointRegistered {
            id: WebhookEndpointId(Uuid::nil()),
            studio_id: StudioId(Uuid::nil()),
            details: stored,
        }]);
}

#[tokio::test]
async fn urls_must_be_web_urls_of_bounded_length() {
    for url in [
        "ftp://example.com/".to_owned(),
        "example.com".to_owned(),
        format!("https://example.com/{}", "a".repeat(2048)),
    ] {
        let mut d = details();
        d.url = url;
        let r = TestFramework::<WebhookEndpoint>::with(())
            .given_no_previous_events()
            .when_async(register(d))
            .await
            .inspect_result();
        assert!(
            matches!(r, Err(WebhookEndpointError::Invalid { field: "url", .. })),
            "{r:?}"
        );
    }
}

#[tokio::test]
async fn an_update_changes_only_what_it_names() {
    let mut expected = details();
    expected.description = Some("CRM".into());
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered()])
        .when_async(WebhookEndpointCommand::Update {
            changes: EndpointChanges {
                description: Some(Some("CRM".into())),
                ..EndpointChanges::default()
            },
        })
        .await
        .then_expect_events(vec![WebhookEndpointEvent::WebhookEndpointUpdated {
            details: expected,
        }]);
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered()])
        .when_async(WebhookEndpointCommand::Update {
            changes: EndpointChanges::default(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn rotation_bumps_the_version_and_keeps_the_old_secret_a_day() {
    let now = Utc
        .with_ymd_and_hms(2030, 1, 1, 12, 0, 0)
        .single()
        .expect("time");
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered()])
        .when_async(WebhookEndpointCommand::RotateSecret { now })
        .await
        .then_expect_events(vec![WebhookEndpointEvent::WebhookSecretRotated {
            version: 2,
            previous_valid_until: now + Duration::hours(24),
        }]);
}

#[tokio::test]
async fn disable_enable_and_delete_follow_the_state() {
    let disabled = WebhookEndpointEvent::WebhookEndpointDisabled {
        reason: DisableReason::Gone,
    };
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered()])
        .when_async(WebhookEndpointCommand::Disable {
            reason: DisableReason::Gone,
        })
        .await
        .then_expect_events(vec![disabled.clone()]);
    // A second 410 while disabled writes nothing.
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered(), disabled.clone()])
        .when_async(WebhookEndpointCommand::Disable {
            reason: DisableReason::Staff,
        })
        .await
        .then_expect_events(vec![]);
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered(), disabled])
        .when_async(WebhookEndpointCommand::Enable)
        .await
        .then_expect_events(vec![WebhookEndpointEvent::WebhookEndpointEnabled]);
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![registered()])
        .when_async(WebhookEndpointCommand::Enable)
        .await
        .then_expect_events(vec![]);
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![
            registered(),
            WebhookEndpointEvent::WebhookEndpointDeleted,
        ])
        .when_async(WebhookEndpointCommand::Enable)
        .await
        .then_expect_error(WebhookEndpointError::NotFound);
    TestFramework::<WebhookEndpoint>::with(())
        .given(vec![
            registered(),
            WebhookEndpointEvent::WebhookEndpointDeleted,
        ])
        .when_async(register(details()))
        .await
        .then_expect_error(WebhookEndpointError::AlreadyExists);
    TestFramework::<WebhookEndpoint>::with(())
        .given_no_previous_events()
        .when_async(WebhookEndpointCommand::Delete)
        .await
        .then_expect_error(WebhookEndpointError::NotFound);
}

#[test]
fn the_view_follows_the_stream_and_never_holds_a_secret() {
    let now = Utc::now();
    let v = WebhookEndpointView::apply(None, &registered(), 1, now).expect("registered");
    assert!(v.enabled && v.secret_version == 1);
    let rotated = WebhookEndpointEvent::WebhookSecretRotated {
        version: 2,
        previous_valid_until: now,
    };
    let v = WebhookEndpointView::apply(Some(v), &rotated, 2, now).expect("view");
    let v = WebhookEndpointView::apply(
        Some(v),
        &WebhookEndpointEvent::WebhookEndpointDisabled {
            reason: DisableReason::Gone,
        },
        3,
        now,
    )
    .expect("view");
    assert_eq!(
        (v.secret_version, v.enabled, v.disabled_reason, v.version),
        (2, false, Some(DisableReason::Gone), 3)
    );
    let doc = serde_json::to_string(&v).expect("json");
    assert!(
        !doc.contains("whsec_") && !doc.contains("secret\":\""),
        "{doc}"
    );
    assert!(WebhookEndpointView::apply(
        None,
        &WebhookEndpointEvent::WebhookEndpointEnabled,
        1,
        now
    )
    .is_none());
}
