use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};

use super::{ClientCommand, ClientError, ClientEvent, ClientId, HealthIntake};
use crate::account::AccountId;
use crate::studio::StudioId;
use crate::values::{DisplayName, Email};

/// Most trainers assigned to one client at once.
pub const MAX_TRAINERS: usize = 10;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
                self.register(client_id, studio_id, full_name, email, account_id, sink)
                    .await
            }
            ClientCommand::RecordHealthIntake { intake } => {
                self.record_health_intake(intake, sink).await
            }
            ClientCommand::AssignTrainer { trainer_id } => {
                self.assign_trainer(trainer_id, sink).await
            }
            ClientCommand::UnassignTrainer { trainer_id } => {
                self.unassign_trainer(trainer_id, sink).await
            }
            ClientCommand::LinkAccount { account_id } => self.link_account(account_id, sink).await,
        }
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

/// One handler per command: each checks the rules against the current state and
/// writes the resulting events (none for a no-op retry).
impl Client {
    async fn register(
        &mut self,
        client_id: ClientId,
        studio_id: StudioId,
        full_name: DisplayName,
        email: Option<Email>,
        account_id: Option<AccountId>,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
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
        Ok(())
    }

    async fn record_health_intake(
        &mut self,
        intake: HealthIntake,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        intake
            .validate()
            .map_err(|(field, message)| ClientError::InvalidIntake { field, message })?;
        if self.intake.as_ref() != Some(&intake) {
            sink.write(ClientEvent::HealthIntakeRecorded { intake }, self)
                .await;
        }
        Ok(())
    }

    async fn assign_trainer(
        &mut self,
        trainer_id: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        if self.trainers.contains(&trainer_id) {
            return Ok(());
        }
        if self.trainers.len() >= MAX_TRAINERS {
            return Err(ClientError::TooManyTrainers { max: MAX_TRAINERS });
        }
        sink.write(ClientEvent::TrainerAssigned { trainer_id }, self)
            .await;
        Ok(())
    }

    async fn unassign_trainer(
        &mut self,
        trainer_id: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        if self.trainers.contains(&trainer_id) {
            sink.write(ClientEvent::TrainerUnassigned { trainer_id }, self)
                .await;
        }
        Ok(())
    }

    async fn link_account(
        &mut self,
        account_id: AccountId,
        sink: &EventSink<Self>,
    ) -> Result<(), ClientError> {
        match self.account {
            Some(a) if a == account_id => {}
            Some(_) => return Err(ClientError::LinkedElsewhere),
            None => {
                sink.write(ClientEvent::AccountLinked { account_id }, self)
                    .await
            }
        }
        Ok(())
    }
}
