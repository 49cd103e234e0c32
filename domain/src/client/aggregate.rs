use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use serde::{Deserialize, Serialize};

use super::ClientId;
use crate::account::AccountId;
use crate::studio::StudioId;
use crate::values::{DisplayName, Email};

/// Most trainers assigned to one client at once.
pub const MAX_TRAINERS: usize = 10;

/// Health and medical information from the intake form. Visible only per policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthIntake {
    #[serde(default)]
    pub medical_conditions: Vec<String>,
    #[serde(default)]
    pub injuries: Vec<String>,
    #[serde(default)]
    pub medications: Vec<String>,
    #[serde(default)]
    pub allergies: Vec<String>,
    /// Free text for the trainer (up to 4000 characters).
    #[serde(default)]
    pub notes: Option<String>,
}

impl HealthIntake {
    /// Checks sizes; returns the offending field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        for (field, items) in [
            ("medical_conditions", &self.medical_conditions),
            ("injuries", &self.injuries),
            ("medications", &self.medications),
            ("allergies", &self.allergies),
        ] {
            if items.len() > 50 {
                return Err((field, "at most 50 entries".into()));
            }
            if items.iter().any(|i| {
                i.trim().is_empty() || i.chars().count() > 200 || i.chars().any(char::is_control)
            }) {
                return Err((
                    field,
                    "entries must be 1..=200 characters without control characters".into(),
                ));
            }
        }
        if self
            .notes
            .as_ref()
            .is_some_and(|n| n.chars().count() > 4000)
        {
            return Err(("notes", "at most 4000 characters".into()));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    Register {
        client_id: ClientId,
        studio_id: StudioId,
        full_name: DisplayName,
        email: Option<Email>,
        account_id: Option<AccountId>,
    },
    RecordHealthIntake {
        intake: HealthIntake,
    },
    AssignTrainer {
        trainer_id: AccountId,
    },
    UnassignTrainer {
        trainer_id: AccountId,
    },
    /// Ties the record to the person's account (they joined the studio as a client and
    /// an unlinked record with their email existed). Linking the same account again is
    /// a no-op; a record linked to another account is refused.
    LinkAccount {
        account_id: AccountId,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum ClientEvent {
    ClientRegistered {
        client_id: ClientId,
        studio_id: StudioId,
        full_name: DisplayName,
        email: Option<Email>,
        account_id: Option<AccountId>,
    },
    HealthIntakeRecorded {
        intake: HealthIntake,
    },
    TrainerAssigned {
        trainer_id: AccountId,
    },
    TrainerUnassigned {
        trainer_id: AccountId,
    },
    AccountLinked {
        account_id: AccountId,
    },
}

impl DomainEvent for ClientEvent {
    fn event_type(&self) -> String {
        match self {
            Self::ClientRegistered { .. } => "ClientRegistered",
            Self::HealthIntakeRecorded { .. } => "HealthIntakeRecorded",
            Self::TrainerAssigned { .. } => "TrainerAssigned",
            Self::TrainerUnassigned { .. } => "TrainerUnassigned",
            Self::AccountLinked { .. } => "AccountLinked",
        }
        .to_owned()
    }
    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("a client with this id already exists")]
    AlreadyExists,
    #[error("client not found")]
    NotFound,
    #[error("a client may have at most {max} assigned trainers")]
    TooManyTrainers { max: usize },
    #[error("this client record belongs to another account")]
    LinkedElsewhere,
    #[error("{field}: {message}")]
    InvalidIntake {
        field: &'static str,
        message: String,
    },
}

impl ClientError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyExists => "client_already_exists",
            Self::NotFound => "client_not_found",
            Self::TooManyTrainers { .. } => "too_many_trainers",
            Self::LinkedElsewhere => "client_linked_elsewhere",
            Self::InvalidIntake { .. } => "invalid_health_intake",
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Client {
    id: Option<ClientId>,
    #[serde(default)]
    account: Option<AccountId>,
    trainers: Vec<AccountId>,
    intake: Option<HealthIntake>,
}

impl Aggregate for Client {
    const TYPE: &'static str = "client";
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = ClientError;
    type Services = ();

    async fn handle(
        &mut self,
        command: Self::Command,
        _services: &Self::Services,
        sink: &EventSink<Self>,
    ) -> Result<(), Self::Error> {
        if !matches!(command, ClientCommand::Register { .. }) && self.id.is_none() {
            return Err(ClientError::NotFound);
        }
        match command {
            ClientCommand::Register {
                client_id,
                studio_id,
                full_name,
                email,
                account_id,
            } => {
                if self.id.is_some() {
                    return Err(ClientError::AlreadyExists);
                }
                let event = ClientEvent::ClientRegistered {
                    client_id,
                    studio_id,
                    full_name,
                    email,
                    account_id,
                };
                sink.write(event, self).await;
            }
            ClientCommand::RecordHealthIntake { intake } => {
                intake
                    .validate()
                    .map_err(|(field, message)| ClientError::InvalidIntake { field, message })?;
                if self.intake.as_ref() != Some(&intake) {
                    sink.write(ClientEvent::HealthIntakeRecorded { intake }, self)
                        .await;
                }
            }
            ClientCommand::AssignTrainer { trainer_id } => {
                if self.trainers.contains(&trainer_id) {
                    return Ok(());
                }
                if self.trainers.len() >= MAX_TRAINERS {
                    return Err(ClientError::TooManyTrainers { max: MAX_TRAINERS });
                }
                sink.write(ClientEvent::TrainerAssigned { trainer_id }, self)
                    .await;
            }
            ClientCommand::UnassignTrainer { trainer_id } => {
                if self.trainers.contains(&trainer_id) {
                    sink.write(ClientEvent::TrainerUnassigned { trainer_id }, self)
                        .await;
                }
            }
            ClientCommand::LinkAccount { account_id } => match self.account {
                Some(a) if a == account_id => {}
                Some(_) => return Err(ClientError::LinkedElsewhere),
                None => {
                    sink.write(ClientEvent::AccountLinked { account_id }, self)
                        .await
                }
            },
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            ClientEvent::ClientRegistered {
                client_id,
                account_id,
                ..
            } => {
                self.id = Some(client_id);
                self.account = account_id;
            }
            ClientEvent::AccountLinked { account_id } => self.account = Some(account_id),
            ClientEvent::HealthIntakeRecorded { intake } => self.intake = Some(intake),
            ClientEvent::TrainerAssigned { trainer_id } => self.trainers.push(trainer_id),
            ClientEvent::TrainerUnassigned { trainer_id } => {
                self.trainers.retain(|t| *t != trainer_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cqrs_es::test::TestFramework;
    use uuid::Uuid;

    fn registered() -> ClientEvent {
        ClientEvent::ClientRegistered {
            client_id: ClientId(Uuid::from_u128(1)),
            studio_id: StudioId(Uuid::from_u128(2)),
            full_name: DisplayName::parse("Cleo Client").expect("name"),
            email: None,
            account_id: None,
        }
    }
    fn trainer(n: u128) -> AccountId {
        AccountId(Uuid::from_u128(100 + n))
    }

    #[tokio::test]
    async fn commands_on_a_missing_client_are_refused() {
        TestFramework::<Client>::with(())
            .given_no_previous_events()
            .when_async(ClientCommand::AssignTrainer {
                trainer_id: trainer(1),
            })
            .await
            .then_expect_error(ClientError::NotFound);
    }

    #[tokio::test]
    async fn a_client_is_registered_once() {
        let ClientEvent::ClientRegistered {
            client_id,
            studio_id,
            full_name,
            email,
            account_id,
        } = registered()
        else {
            unreachable!()
        };
        let cmd = ClientCommand::Register {
            client_id,
            studio_id,
            full_name,
            email,
            account_id,
        };
        TestFramework::<Client>::with(())
            .given(vec![registered()])
            .when_async(cmd)
            .await
            .then_expect_error(ClientError::AlreadyExists);
    }

    #[tokio::test]
    async fn trainers_are_assigned_idempotently_and_bounded() {
        TestFramework::<Client>::with(())
            .given(vec![
                registered(),
                ClientEvent::TrainerAssigned {
                    trainer_id: trainer(1),
                },
            ])
            .when_async(ClientCommand::AssignTrainer {
                trainer_id: trainer(1),
            })
            .await
            .then_expect_events(vec![]);
        let mut given = vec![registered()];
        given.extend(
            (0..MAX_TRAINERS as u128).map(|n| ClientEvent::TrainerAssigned {
                trainer_id: trainer(n),
            }),
        );
        TestFramework::<Client>::with(())
            .given(given)
            .when_async(ClientCommand::AssignTrainer {
                trainer_id: trainer(99),
            })
            .await
            .then_expect_error(ClientError::TooManyTrainers { max: MAX_TRAINERS });
    }

    #[tokio::test]
    async fn an_oversized_intake_is_refused() {
        let intake = HealthIntake {
            injuries: vec!["x".repeat(201)],
            ..HealthIntake::default()
        };
        let result = TestFramework::<Client>::with(())
            .given(vec![registered()])
            .when_async(ClientCommand::RecordHealthIntake { intake })
            .await
            .inspect_result();
        assert!(matches!(
            result,
            Err(ClientError::InvalidIntake {
                field: "injuries",
                ..
            })
        ));
    }

    #[tokio::test]
    async fn unassigning_records_only_a_real_change() {
        TestFramework::<Client>::with(())
            .given(vec![
                registered(),
                ClientEvent::TrainerAssigned {
                    trainer_id: trainer(1),
                },
            ])
            .when_async(ClientCommand::UnassignTrainer {
                trainer_id: trainer(1),
            })
            .await
            .then_expect_events(vec![ClientEvent::TrainerUnassigned {
                trainer_id: trainer(1),
            }]);
    }
}
