use chrono::{DateTime, Duration, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{
    DisableReason, EndpointChanges, EndpointDetails, WebhookEndpointCommand, WebhookEndpointError,
    WebhookEndpointEvent, WebhookEndpointId, ALL_EVENTS, EVENT_TYPES, MAX_URL_CHARS,
    ROTATION_OVERLAP_HOURS,
};
use crate::studio::StudioId;

/// The details in their one stored form (event types sorted, deduplicated, `*` alone),
/// or the first rule they break. The URL's scheme is checked here; what it resolves to
/// is checked by the caller, which can do DNS.
fn normalize(mut d: EndpointDetails) -> Result<EndpointDetails, WebhookEndpointError> {
    let invalid = |field, message: &str| {
        Err(WebhookEndpointError::Invalid {
            field,
            message: message.to_owned(),
        })
    };
    if d.url.chars().count() > MAX_URL_CHARS {
        return invalid("url", "at most 2048 characters");
    }
    let scheme_ok = ["https://", "http://"].iter().any(|s| {
        d.url
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    if !scheme_ok {
        return invalid("url", "must be an https:// URL");
    }
    if d.event_types.is_empty() {
        return invalid(
            "event_types",
            "subscribe to at least one event type (or \"*\")",
        );
    }
    if let Some(bad) = d
        .event_types
        .iter()
        .find(|t| t.as_str() != ALL_EVENTS && !EVENT_TYPES.contains(&t.as_str()))
    {
        let message = format!("unknown event type `{bad}`");
        return Err(WebhookEndpointError::Invalid {
            field: "event_types",
            message,
        });
    }
    if d.event_types.iter().any(|t| t == ALL_EVENTS) {
        d.event_types = vec![ALL_EVENTS.to_owned()];
    }
    d.event_types.sort();
    d.event_types.dedup();
    if d.description
        .as_ref()
        .is_some_and(|s| s.chars().count() > 500)
    {
        return invalid("description", "at most 500 characters");
    }
    Ok(d)
}

/// One webhook endpoint of one studio.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    registered: Option<(StudioId, EndpointDetails)>,
    /// The version of the secret deliveries are signed with (1 from registration).
    secret_version: u32,
    disabled: Option<DisableReason>,
    deleted: bool,
}

impl WebhookEndpoint {
    /// The endpoint's details if it belongs to `studio` and is not deleted.
    pub fn details_in(&self, studio: StudioId) -> Option<&EndpointDetails> {
        self.registered
            .as_ref()
            .filter(|(s, _)| *s == studio && !self.deleted)
            .map(|(_, d)| d)
    }

    pub fn secret_version(&self) -> u32 {
        self.secret_version
    }

    /// The live endpoint's details; `NotFound` before registration and after deletion.
    fn live(&self) -> Result<&EndpointDetails, WebhookEndpointError> {
        match &self.registered {
            Some((_, d)) if !self.deleted => Ok(d),
            _ => Err(WebhookEndpointError::NotFound),
        }
    }
}

impl Aggregate for WebhookEndpoint {
    const TYPE: &'static str = "webhook_endpoint";
    type Command = WebhookEndpointCommand;
    type Event = WebhookEndpointEvent;
    type Error = WebhookEndpointError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        match command {
            WebhookEndpointCommand::Register {
                id,
                studio_id,
                details,
            } => self.register(id, studio_id, details, sink).await,
            WebhookEndpointCommand::Update { changes } => self.update(changes, sink).await,
            WebhookEndpointCommand::RotateSecret { now } => self.rotate(now, sink).await,
            WebhookEndpointCommand::Disable { reason } => self.disable(reason, sink).await,
            WebhookEndpointCommand::Enable => self.enable(sink).await,
            WebhookEndpointCommand::Delete => self.delete(sink).await,
        }
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            WebhookEndpointEvent::WebhookEndpointRegistered {
                studio_id, details, ..
            } => {
                self.registered = Some((studio_id, details));
                self.secret_version = 1;
            }
            WebhookEndpointEvent::WebhookEndpointUpdated { details } => {
                if let Some((_, d)) = &mut self.registered {
                    *d = details;
                }
            }
            WebhookEndpointEvent::WebhookSecretRotated { version, .. } => {
                self.secret_version = version;
            }
            WebhookEndpointEvent::WebhookEndpointDisabled { reason } => {
                self.disabled = Some(reason);
            }
            WebhookEndpointEvent::WebhookEndpointEnabled => self.disabled = None,
            WebhookEndpointEvent::WebhookEndpointDeleted => self.deleted = true,
        }
    }
}

/// One handler per command: each checks the rules against the current state and
/// writes the resulting events (none for a no-op retry).
impl WebhookEndpoint {
    async fn register(
        &mut self,
        id: WebhookEndpointId,
        studio_id: StudioId,
        details: EndpointDetails,
        sink: &EventSink<Self>,
    ) -> Result<(), WebhookEndpointError> {
        let details = normalize(details)?;
        match &self.registered {
            // A retried registration with the same content is a no-op.
            Some((s, d)) if *s == studio_id && *d == details && !self.deleted => {}
            Some(_) => return Err(WebhookEndpointError::AlreadyExists),
            None => {
                sink.write(
                    WebhookEndpointEvent::WebhookEndpointRegistered {
                        id,
                        studio_id,
                        details,
                    },
                    self,
                )
                .await
            }
        }
        Ok(())
    }

    async fn update(
        &mut self,
        changes: EndpointChanges,
        sink: &EventSink<Self>,
    ) -> Result<(), WebhookEndpointError> {
        let current = self.live()?;
        let details = normalize(EndpointDetails {
            url: changes.url.unwrap_or_else(|| current.url.clone()),
            event_types: changes
                .event_types
                .unwrap_or_else(|| current.event_types.clone()),
            description: changes
                .description
                .unwrap_or_else(|| current.description.clone()),
        })?;
        if *current != details {
            sink.write(
                WebhookEndpointEvent::WebhookEndpointUpdated { details },
                self,
            )
            .await;
        }
        Ok(())
    }

    async fn rotate(
        &mut self,
        now: DateTime<Utc>,
        sink: &EventSink<Self>,
    ) -> Result<(), WebhookEndpointError> {
        self.live()?;
        sink.write(
            WebhookEndpointEvent::WebhookSecretRotated {
                version: self.secret_version.saturating_add(1),
                previous_valid_until: now + Duration::hours(ROTATION_OVERLAP_HOURS),
            },
            self,
        )
        .await;
        Ok(())
    }

    async fn disable(
        &mut self,
        reason: DisableReason,
        sink: &EventSink<Self>,
    ) -> Result<(), WebhookEndpointError> {
        self.live()?;
        if self.disabled.is_none() {
            sink.write(
                WebhookEndpointEvent::WebhookEndpointDisabled { reason },
                self,
            )
            .await;
        }
        Ok(())
    }

    async fn enable(&mut self, sink: &EventSink<Self>) -> Result<(), WebhookEndpointError> {
        self.live()?;
        if self.disabled.is_some() {
            sink.write(WebhookEndpointEvent::WebhookEndpointEnabled, self)
                .await;
        }
        Ok(())
    }

    async fn delete(&mut self, sink: &EventSink<Self>) -> Result<(), WebhookEndpointError> {
        self.live()?;
        sink.write(WebhookEndpointEvent::WebhookEndpointDeleted, self)
            .await;
        Ok(())
    }
}
