use chrono::{DateTime, Utc};
use cqrs_es::test::TestFramework;
use uuid::Uuid;

use super::aggregate::MAX_LOCATIONS;
use super::*;
use crate::account::AccountId;
use crate::policy::Role;
use crate::values::{Currency, DisplayName, Email, TimeZone};

type StudioTest = TestFramework<Studio>;

fn name(s: &str) -> DisplayName {
    DisplayName::parse(s).expect("valid name")
}

fn studio_id() -> StudioId {
    StudioId(Uuid::from_u128(1))
}

fn created() -> StudioEvent {
    StudioEvent::StudioCreated {
        studio_id: studio_id(),
        name: name("Core Pilates"),
        timezone: TimeZone::parse("Europe/Berlin").expect("tz"),
        currency: Currency::parse("EUR").expect("currency"),
        owner_id: owner(),
    }
}

fn owner() -> AccountId {
    AccountId(Uuid::from_u128(500))
}

fn person(n: u128) -> AccountId {
    AccountId(Uuid::from_u128(600 + n))
}

fn added(n: u128, role: Role) -> StudioEvent {
    StudioEvent::MemberAdded {
        account_id: person(n),
        role,
    }
}

fn location(n: u128, label: &str) -> StudioEvent {
    StudioEvent::LocationAdded {
        location_id: LocationId(Uuid::from_u128(n)),
        name: name(label),
        address: None,
        timezone: None,
    }
}

#[tokio::test]
async fn a_new_studio_is_created() {
    let StudioEvent::StudioCreated {
        studio_id,
        name,
        timezone,
        currency,
        owner_id,
    } = created()
    else {
        unreachable!()
    };
    StudioTest::with(())
        .given_no_previous_events()
        .when_async(StudioCommand::CreateStudio {
            studio_id,
            name,
            timezone,
            currency,
            owner: owner_id,
        })
        .await
        .then_expect_events(vec![created()]);
}

#[tokio::test]
async fn a_studio_cannot_be_created_twice() {
    let StudioEvent::StudioCreated {
        studio_id,
        name,
        timezone,
        currency,
        owner_id,
    } = created()
    else {
        unreachable!()
    };
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::CreateStudio {
            studio_id,
            name,
            timezone,
            currency,
            owner: owner_id,
        })
        .await
        .then_expect_error(StudioError::AlreadyExists);
}

#[tokio::test]
async fn commands_on_a_missing_studio_are_refused() {
    StudioTest::with(())
        .given_no_previous_events()
        .when_async(StudioCommand::RenameStudio { name: name("X") })
        .await
        .then_expect_error(StudioError::NotFound);
}

#[tokio::test]
async fn a_studio_is_renamed() {
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::RenameStudio {
            name: name("Core Reformer"),
        })
        .await
        .then_expect_events(vec![StudioEvent::StudioRenamed {
            name: name("Core Reformer"),
        }]);
}

#[tokio::test]
async fn renaming_to_the_same_name_emits_nothing() {
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::RenameStudio {
            name: name("Core Pilates"),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn settings_are_updated() {
    let settings = StudioSettings {
        booking_window_days: 30,
        ..StudioSettings::default()
    };
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::UpdateSettings {
            settings: settings.clone(),
        })
        .await
        .then_expect_events(vec![StudioEvent::StudioSettingsUpdated { settings }]);
}

#[tokio::test]
async fn unchanged_settings_emit_nothing() {
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::UpdateSettings {
            settings: StudioSettings::default(),
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn out_of_range_settings_are_refused() {
    let cases = [
        StudioSettings {
            default_class_capacity: 0,
            ..StudioSettings::default()
        },
        StudioSettings {
            booking_window_days: 366,
            ..StudioSettings::default()
        },
        StudioSettings {
            cancellation_cutoff_hours: 169,
            ..StudioSettings::default()
        },
        StudioSettings {
            contact_email: Some("not-an-email".into()),
            ..StudioSettings::default()
        },
        StudioSettings {
            contact_phone: Some("call me".into()),
            ..StudioSettings::default()
        },
        // The findings: a window that made every booking 500, a block that panicked
        // chrono, a contact "address" that mailed two people.
        StudioSettings {
            strike_window_days: 2_000_000_000,
            ..StudioSettings::default()
        },
        StudioSettings {
            strike_block_days: u32::MAX,
            ..StudioSettings::default()
        },
        StudioSettings {
            strike_limit: 0,
            ..StudioSettings::default()
        },
        StudioSettings {
            reminder_minutes: vec![60, 60],
            ..StudioSettings::default()
        },
        StudioSettings {
            reminder_minutes: vec![5],
            ..StudioSettings::default()
        },
        StudioSettings {
            reminder_minutes: vec![60, 120, 180, 240],
            ..StudioSettings::default()
        },
        StudioSettings {
            contact_email: Some("a@x.example,b@y.example".into()),
            ..StudioSettings::default()
        },
        StudioSettings {
            contact_email: Some("Boss <boss@x.example>".into()),
            ..StudioSettings::default()
        },
    ];
    for settings in cases {
        let result = StudioTest::with(())
            .given(vec![created()])
            .when_async(StudioCommand::UpdateSettings { settings })
            .await
            .inspect_result();
        assert!(
            matches!(result, Err(StudioError::InvalidSettings { .. })),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn a_location_is_added() {
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::AddLocation {
            location_id: LocationId(Uuid::from_u128(10)),
            name: name("Downtown"),
            address: None,
            timezone: None,
        })
        .await
        .then_expect_events(vec![location(10, "Downtown")]);
}

#[tokio::test]
async fn adding_the_same_location_id_twice_is_idempotent() {
    StudioTest::with(())
        .given(vec![created(), location(10, "Downtown")])
        .when_async(StudioCommand::AddLocation {
            location_id: LocationId(Uuid::from_u128(10)),
            name: name("Downtown"),
            address: None,
            timezone: None,
        })
        .await
        .then_expect_events(vec![]);
}

#[tokio::test]
async fn location_names_are_unique_case_insensitively() {
    StudioTest::with(())
        .given(vec![created(), location(10, "Downtown")])
        .when_async(StudioCommand::AddLocation {
            location_id: LocationId(Uuid::from_u128(11)),
            name: name("DOWNTOWN"),
            address: None,
            timezone: None,
        })
        .await
        .then_expect_error(StudioError::LocationNameTaken("DOWNTOWN".into()));
}

#[tokio::test]
async fn a_studio_has_a_bounded_number_of_locations() {
    let mut given = vec![created()];
    given.extend((0..MAX_LOCATIONS as u128).map(|i| location(100 + i, &format!("L{i}"))));
    StudioTest::with(())
        .given(given)
        .when_async(StudioCommand::AddLocation {
            location_id: LocationId(Uuid::from_u128(99)),
            name: name("One too many"),
            address: None,
            timezone: None,
        })
        .await
        .then_expect_error(StudioError::TooManyLocations { max: MAX_LOCATIONS });
}

#[tokio::test]
async fn a_location_is_renamed() {
    StudioTest::with(())
        .given(vec![created(), location(10, "Downtown")])
        .when_async(StudioCommand::RenameLocation {
            location_id: LocationId(Uuid::from_u128(10)),
            name: name("Uptown"),
        })
        .await
        .then_expect_events(vec![StudioEvent::LocationRenamed {
            location_id: LocationId(Uuid::from_u128(10)),
            name: name("Uptown"),
        }]);
}

#[tokio::test]
async fn renaming_an_unknown_location_is_refused() {
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::RenameLocation {
            location_id: LocationId(Uuid::from_u128(10)),
            name: name("Uptown"),
        })
        .await
        .then_expect_error(StudioError::LocationNotFound);
}

#[tokio::test]
async fn renaming_a_location_onto_another_locations_name_is_refused() {
    StudioTest::with(())
        .given(vec![
            created(),
            location(10, "Downtown"),
            location(11, "Uptown"),
        ])
        .when_async(StudioCommand::RenameLocation {
            location_id: LocationId(Uuid::from_u128(10)),
            name: name("uptown"),
        })
        .await
        .then_expect_error(StudioError::LocationNameTaken("uptown".into()));
}

#[tokio::test]
async fn owners_and_admins_add_members() {
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::AddMember {
            actor: owner(),
            account_id: person(1),
            role: Role::Trainer,
        })
        .await
        .then_expect_events(vec![added(1, Role::Trainer)]);
    StudioTest::with(())
        .given(vec![created(), added(1, Role::Admin)])
        .when_async(StudioCommand::AddMember {
            actor: person(1),
            account_id: person(2),
            role: Role::Client,
        })
        .await
        .then_expect_events(vec![added(2, Role::Client)]);
}

#[tokio::test]
async fn other_roles_and_strangers_may_not_manage_members() {
    for role in [Role::Trainer, Role::FrontDesk, Role::Client] {
        StudioTest::with(())
            .given(vec![created(), added(1, role)])
            .when_async(StudioCommand::AddMember {
                actor: person(1),
                account_id: person(2),
                role: Role::Client,
            })
            .await
            .then_expect_error(StudioError::Forbidden);
    }
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::AddMember {
            actor: person(9),
            account_id: person(2),
            role: Role::Client,
        })
        .await
        .then_expect_error(StudioError::Forbidden);
}

#[tokio::test]
async fn admins_may_not_grant_ownership() {
    StudioTest::with(())
        .given(vec![
            created(),
            added(1, Role::Admin),
            added(2, Role::Trainer),
        ])
        .when_async(StudioCommand::ChangeMemberRole {
            actor: person(1),
            account_id: person(2),
            role: Role::Owner,
        })
        .await
        .then_expect_error(StudioError::Forbidden);
}

#[tokio::test]
async fn a_member_is_added_only_once() {
    StudioTest::with(())
        .given(vec![created(), added(1, Role::Trainer)])
        .when_async(StudioCommand::AddMember {
            actor: owner(),
            account_id: person(1),
            role: Role::Admin,
        })
        .await
        .then_expect_error(StudioError::AlreadyMember);
}

#[tokio::test]
async fn the_last_owner_cannot_be_removed_or_demoted() {
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::RemoveMember {
            actor: owner(),
            account_id: owner(),
        })
        .await
        .then_expect_error(StudioError::LastOwner);
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::ChangeMemberRole {
            actor: owner(),
            account_id: owner(),
            role: Role::Admin,
        })
        .await
        .then_expect_error(StudioError::LastOwner);
    StudioTest::with(())
        .given(vec![created(), added(1, Role::Owner)])
        .when_async(StudioCommand::ChangeMemberRole {
            actor: person(1),
            account_id: owner(),
            role: Role::Admin,
        })
        .await
        .then_expect_events(vec![StudioEvent::MemberRoleChanged {
            account_id: owner(),
            role: Role::Admin,
        }]);
}

#[tokio::test]
async fn members_may_leave_and_managers_remove_others() {
    StudioTest::with(())
        .given(vec![created(), added(1, Role::Client)])
        .when_async(StudioCommand::RemoveMember {
            actor: person(1),
            account_id: person(1),
        })
        .await
        .then_expect_events(vec![StudioEvent::MemberRemoved {
            account_id: person(1),
        }]);
    StudioTest::with(())
        .given(vec![
            created(),
            added(1, Role::Trainer),
            added(2, Role::Client),
        ])
        .when_async(StudioCommand::RemoveMember {
            actor: person(1),
            account_id: person(2),
        })
        .await
        .then_expect_error(StudioError::Forbidden);
    StudioTest::with(())
        .given(vec![created()])
        .when_async(StudioCommand::RemoveMember {
            actor: owner(),
            account_id: person(3),
        })
        .await
        .then_expect_error(StudioError::MemberNotFound);
}

fn invited(email: &str, expires_at: DateTime<Utc>) -> StudioEvent {
    StudioEvent::MemberInvited {
        invitation_id: Uuid::from_u128(900),
        email: Email::parse(email).expect("email"),
        role: Role::Trainer,
        token_hash: "hash".into(),
        expires_at,
    }
}

fn accept(email: &str, now: DateTime<Utc>) -> StudioCommand {
    StudioCommand::AcceptInvitation {
        token_hash: "hash".into(),
        account_id: person(5),
        email: Email::parse(email).expect("email"),
        now,
    }
}

#[tokio::test]
async fn an_invitation_is_accepted_once_before_it_expires_by_its_addressee() {
    let now = Utc::now();
    let later = now + chrono::Duration::days(7);
    StudioTest::with(())
        .given(vec![created(), invited("new@example.com", later)])
        .when_async(accept("new@example.com", now))
        .await
        .then_expect_events(vec![StudioEvent::InvitationAccepted {
            invitation_id: Uuid::from_u128(900),
            account_id: person(5),
            role: Role::Trainer,
        }]);
    let accepted = StudioEvent::InvitationAccepted {
        invitation_id: Uuid::from_u128(900),
        account_id: person(5),
        role: Role::Trainer,
    };
    StudioTest::with(())
        .given(vec![created(), invited("new@example.com", later), accepted])
        .when_async(accept("new@example.com", now))
        .await
        .then_expect_error(StudioError::InvitationUsed);
    StudioTest::with(())
        .given(vec![created(), invited("new@example.com", now)])
        .when_async(accept("new@example.com", later))
        .await
        .then_expect_error(StudioError::InvitationExpired);
    StudioTest::with(())
        .given(vec![created(), invited("new@example.com", later)])
        .when_async(accept("other@example.com", now))
        .await
        .then_expect_error(StudioError::InvitationEmailMismatch);
}

#[tokio::test]
async fn only_one_open_invitation_per_email() {
    StudioTest::with(())
        .given(vec![
            created(),
            invited("new@example.com", Utc::now() + chrono::Duration::days(1)),
        ])
        .when_async(StudioCommand::InviteMember {
            actor: owner(),
            invitation_id: Uuid::from_u128(901),
            email: Email::parse("new@example.com").expect("email"),
            role: Role::Client,
            token_hash: "other".into(),
            expires_at: Utc::now() + chrono::Duration::days(1),
        })
        .await
        .then_expect_error(StudioError::AlreadyInvited);
}
