//! Demo data for `make run`: a studio with an owner, a trainer, a front-desk user and
//! two clients (one with a health intake and an assigned trainer). Idempotent: fixed
//! ids, lookups by email, and every command is a no-op or a tolerated refusal the
//! second time.

use std::sync::Arc;

use domain::account::{AccountCommand, AccountId, MailedLink, PLATFORM_TENANT};
use domain::class::{BookingId, ClassCommand, ClassError, ClassId};
use domain::class_type::{ClassTypeCommand, ClassTypeDetails, ClassTypeError, ClassTypeId};
use domain::client::{ClientCommand, ClientError, ClientId};
use domain::policy::Role;
use domain::scheduling::BookingPolicy;
use domain::studio::{LocationId, StudioCommand, StudioError, StudioId, StudioSettings};
use domain::values::{Currency, DisplayName, Email, TimeZone};
use infra::event_store::{CommandError, CommandMetadata};
use infra::inline::AccountState;
use uuid::Uuid;

use crate::state::AppState;

/// The demo studio's id (stable across runs).
pub const DEMO_STUDIO_ID: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);

/// A demo person: (role, email, password, full name).
pub const DEMO_PEOPLE: [(Role, &str, &str, &str); 5] = [
    (
        Role::Owner,
        "olivia@harbor-pilates.example",
        "Tide-Anchor-7731",
        "Olivia Harbor",
    ),
    (
        Role::Trainer,
        "theo@harbor-pilates.example",
        "Kettle-Swing-5520",
        "Theo Strand",
    ),
    (
        Role::FrontDesk,
        "fiona@harbor-pilates.example",
        "Welcome-Desk-2468",
        "Fiona Quay",
    ),
    (
        Role::Client,
        "cara@harbor-pilates.example",
        "Morning-Flow-1357",
        "Cara Lindqvist",
    ),
    (
        Role::Client,
        "colin@harbor-pilates.example",
        "Evening-Core-8642",
        "Colin Brandt",
    ),
];

/// What `seed` created or found.
#[derive(Debug)]
pub struct SeedReport {
    pub studio_id: Uuid,
    pub created: bool,
}

fn meta(tenant: Uuid, actor: &str) -> CommandMetadata {
    let mut m = CommandMetadata::system(tenant, "seed", None);
    m.actor = actor.to_owned();
    m
}

fn parse<T>(r: Result<T, domain::values::InvalidValue>) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::anyhow!("{e}"))
}

async fn ensure_account(
    state: &AppState,
    email: &str,
    password: &str,
    name: &str,
) -> anyhow::Result<Uuid> {
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM account WHERE lower(email) = $1")
            .bind(email)
            .fetch_optional(&state.pool)
            .await?;
    if let Some(id) = existing {
        return Ok(id);
    }
    let id = Uuid::now_v7();
    let hash = state
        .passwords
        .hash(password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let command = AccountCommand::Register {
        account_id: AccountId(id),
        email: parse(Email::parse(email))?,
        full_name: parse(DisplayName::parse(name))?,
    };
    let hook = Arc::new(AccountState {
        password_hash: Some(hash),
        keep_session: None,
    });
    state
        .bus::<domain::account::Account>()
        .execute_with_hook(
            &id.to_string(),
            command,
            None,
            meta(PLATFORM_TENANT, "system:seed"),
            hook,
        )
        .await
        .map_err(|e| anyhow::anyhow!("seeding account {email}: {e}"))?;
    // The demo people's addresses are vouched for by the seed itself (a link that was
    // never mailed): they can be invited and join at once.
    let now = chrono::Utc::now();
    let link = MailedLink {
        id: Uuid::now_v7(),
        email: parse(Email::parse(email))?,
        expires_at: now + chrono::Duration::minutes(1),
        now,
    };
    let hook = Arc::new(AccountState::without_credentials());
    state
        .bus::<domain::account::Account>()
        .execute_with_hook(
            &id.to_string(),
            AccountCommand::VerifyEmail { link },
            None,
            meta(PLATFORM_TENANT, "system:seed"),
            hook,
        )
        .await
        .map_err(|e| anyhow::anyhow!("verifying account {email}: {e}"))?;
    Ok(id)
}

pub async fn seed(state: &AppState) -> anyhow::Result<SeedReport> {
    let mut ids = Vec::new();
    for (_, email, password, name) in DEMO_PEOPLE {
        ids.push(ensure_account(state, email, password, name).await?);
    }
    let owner = ids[0];
    let actor = format!("user:{owner}");
    let studio = DEMO_STUDIO_ID.to_string();
    let bus = &state.bus::<domain::studio::Studio>();
    let created = match bus
        .execute(
            &studio,
            StudioCommand::CreateStudio {
                studio_id: StudioId(DEMO_STUDIO_ID),
                name: parse(DisplayName::parse("Harbor Pilates & Strength"))?,
                timezone: parse(TimeZone::parse("Europe/Berlin"))?,
                currency: parse(Currency::parse("EUR"))?,
                owner: AccountId(owner),
            },
            None,
            meta(DEMO_STUDIO_ID, &actor),
        )
        .await
    {
        Ok(_) => true,
        Err(CommandError::Rejected(StudioError::AlreadyExists)) => false,
        Err(e) => anyhow::bail!("seeding the demo studio: {e}"),
    };
    for (i, (role, ..)) in DEMO_PEOPLE.iter().enumerate().skip(1) {
        let command = StudioCommand::AddMember {
            actor: AccountId(owner),
            account_id: AccountId(ids[i]),
            role: *role,
        };
        match bus
            .execute(&studio, command, None, meta(DEMO_STUDIO_ID, &actor))
            .await
        {
            Ok(_) | Err(CommandError::Rejected(StudioError::AlreadyMember)) => {}
            Err(e) => anyhow::bail!("seeding member: {e}"),
        }
    }
    for (n, label, address) in [
        (1u128, "Harbor Front", "Am Sandtorkai 1, 20457 Hamburg"),
        (2u128, "Old Town Loft", "Deichstraße 12, 20459 Hamburg"),
    ] {
        let command = StudioCommand::AddLocation {
            location_id: LocationId(Uuid::from_u128(DEMO_STUDIO_ID.as_u128() + n)),
            name: parse(DisplayName::parse(label))?,
            address: Some(address.to_owned()),
            timezone: None,
        };
        bus.execute(&studio, command, None, meta(DEMO_STUDIO_ID, &actor))
            .await
            .map_err(|e| anyhow::anyhow!("seeding location {label}: {e}"))?;
    }
    let settings = StudioSettings {
        contact_email: Some("hello@harbor-pilates.example".to_owned()),
        contact_phone: Some("+49 40 1234567".to_owned()),
        booking_window_days: 21,
        ..StudioSettings::default()
    };
    bus.execute(
        &studio,
        StudioCommand::UpdateSettings { settings },
        None,
        meta(DEMO_STUDIO_ID, &actor),
    )
    .await
    .map_err(|e| anyhow::anyhow!("seeding settings: {e}"))?;

    // Client records for the two client accounts; Cara has an intake and Theo as trainer.
    for (n, person) in [(3usize, 0x10u128), (4, 0x11)] {
        let (_, email, _, name) = DEMO_PEOPLE[n];
        let client_id = Uuid::from_u128(DEMO_STUDIO_ID.as_u128() + person);
        let key = client_id.to_string();
        let register = ClientCommand::Register {
            client_id: ClientId(client_id),
            studio_id: StudioId(DEMO_STUDIO_ID),
            full_name: parse(DisplayName::parse(name))?,
            email: Some(parse(Email::parse(email))?),
            account_id: Some(AccountId(ids[n])),
        };
        match state
            .bus::<domain::client::Client>()
            .execute(&key, register, None, meta(DEMO_STUDIO_ID, &actor))
            .await
        {
            Ok(_) | Err(CommandError::Rejected(ClientError::AlreadyExists)) => {}
            Err(e) => anyhow::bail!("seeding client {name}: {e}"),
        }
        if n == 3 {
            // Cara's intake: asthma, a recovering left knee, an inhaler; under the
            // studio's standard consent text.
            use domain::health::{
                BodyArea, ConditionEntry, DateOrMonthsAgo, FitnessLevel, HealthSubmission, Injury,
                InjuryStatus, MedicalCondition, Medication, Side,
            };
            let consent = domain::health::ConsentText::standard();
            let mut intake = HealthSubmission::new(consent.given_at(chrono::Utc::now()));
            intake.conditions.push(ConditionEntry {
                kind: MedicalCondition::Asthma,
                detail: Some("mild, exercise-induced".to_owned()),
            });
            intake.injuries.push(Injury {
                area: BodyArea::Knee,
                side: Side::Left,
                when: Some(DateOrMonthsAgo::MonthsAgo(8)),
                status: InjuryStatus::Recovering,
                note: Some("meniscus, physio cleared light training".to_owned()),
            });
            intake.medications.push(Medication {
                name: "salbutamol inhaler".to_owned(),
                purpose: Some("asthma, as needed".to_owned()),
                flags: Vec::new(),
            });
            intake.fitness_level = Some(FitnessLevel::Intermediate);
            intake.limitations = Some("Prefers low-impact progressions.".to_owned());
            for command in [
                ClientCommand::SubmitHealthIntake {
                    submission: Box::new(intake),
                    current_consent: consent.version,
                },
                ClientCommand::AssignTrainer {
                    trainer_id: AccountId(ids[1]),
                },
            ] {
                state
                    .bus::<domain::client::Client>()
                    .execute(&key, command, None, meta(DEMO_STUDIO_ID, &actor))
                    .await
                    .map_err(|e| anyhow::anyhow!("seeding client {name}: {e}"))?;
            }
        }
    }
    seed_week(state, &actor, &ids).await?;
    Ok(SeedReport {
        studio_id: DEMO_STUDIO_ID,
        created,
    })
}

/// A demo class: its id derives from `key`, so re-running the seed finds it.
struct DemoClass {
    key: String,
    title: &'static str,
    class_type_id: Option<Uuid>,
    starts_at: chrono::DateTime<chrono::Utc>,
    duration_minutes: u32,
    capacity: u32,
    location_id: LocationId,
    instructor: AccountId,
    policy: BookingPolicy,
}

/// Schedules `class` (unless an earlier run did) and books `bookers` into it in order
/// (the spots first, then the waitlist).
async fn seed_class(
    state: &AppState,
    actor: &str,
    class: &DemoClass,
    bookers: &[Uuid],
) -> anyhow::Result<()> {
    let class_id = Uuid::new_v5(&DEMO_STUDIO_ID, class.key.as_bytes());
    let bus = state.bus::<domain::class::Class>();
    let schedule = ClassCommand::Schedule {
        class_id: ClassId(class_id),
        studio_id: StudioId(DEMO_STUDIO_ID),
        title: class.title.to_owned(),
        class_type_id: class.class_type_id,
        starts_at: class.starts_at,
        duration_minutes: class.duration_minutes,
        capacity: class.capacity,
        location_id: Some(class.location_id),
        instructor_id: Some(class.instructor),
        schedule_id: None,
        policy: class.policy,
    };
    match bus
        .execute(
            &class_id.to_string(),
            schedule,
            None,
            meta(DEMO_STUDIO_ID, actor),
        )
        .await
    {
        Ok(_) | Err(CommandError::Rejected(ClassError::AlreadyExists)) => {}
        Err(e) => anyhow::bail!("seeding class {}: {e}", class.key),
    }
    for client in bookers {
        let book = ClassCommand::Book {
            booking_id: BookingId(Uuid::new_v5(&class_id, client.as_bytes())),
            client_id: ClientId(*client),
            now: chrono::Utc::now(),
            blocked_until: None,
        };
        match bus
            .execute(
                &class_id.to_string(),
                book,
                None,
                meta(DEMO_STUDIO_ID, actor),
            )
            .await
        {
            Ok(_) | Err(CommandError::Rejected(ClassError::AlreadyBooked)) => {}
            Err(e) => anyhow::bail!("seeding a booking for {}: {e}", class.key),
        }
    }
    Ok(())
}

/// A week of classes from tomorrow (studio time): Sunrise Reformer every morning, a
/// Strength Circuit on Tuesday and Thursday evenings. Cara books the mornings, Colin the
/// evenings; tomorrow's first class has one spot, so Colin is on its waitlist. Ids are
/// derived from the date, so re-running adds only the days not seeded yet.
async fn seed_week(state: &AppState, actor: &str, people: &[Uuid]) -> anyhow::Result<()> {
    use chrono::{Datelike, NaiveTime, TimeZone, Timelike, Weekday};
    let tz: chrono_tz::Tz = "Europe/Berlin"
        .parse()
        .map_err(|_| anyhow::anyhow!("zone"))?;
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let clients = [
        Uuid::from_u128(DEMO_STUDIO_ID.as_u128() + 0x10),
        Uuid::from_u128(DEMO_STUDIO_ID.as_u128() + 0x11),
    ];
    let location = Uuid::from_u128(DEMO_STUDIO_ID.as_u128() + 1);
    // No-shows cost no strike in the demo: the seeded clients never check in, and a dev
    // database kept for weeks would otherwise block them from booking. Late cancels do.
    let policy = BookingPolicy {
        opens_hours_before: 21 * 24,
        no_show_strike: false,
        ..BookingPolicy::default()
    };
    let mut types = std::collections::HashMap::new();
    for (name, minutes, capacity, description) in [
        (
            "Sunrise Reformer",
            50,
            6,
            "Early reformer flow for all levels.",
        ),
        (
            "Strength Circuit",
            45,
            10,
            "Kettlebells, sleds and body weight.",
        ),
    ] {
        let id = Uuid::new_v5(
            &DEMO_STUDIO_ID,
            format!("demo-class-type-{name}").as_bytes(),
        );
        let define = ClassTypeCommand::Define {
            id: ClassTypeId(id),
            studio_id: StudioId(DEMO_STUDIO_ID),
            details: ClassTypeDetails {
                name: name.to_owned(),
                description: Some(description.to_owned()),
                duration_minutes: minutes,
                default_capacity: capacity,
                policy,
            },
        };
        match state
            .bus::<domain::class_type::ClassType>()
            .execute(&id.to_string(), define, None, meta(DEMO_STUDIO_ID, actor))
            .await
        {
            // Defined by an earlier run (perhaps with other details since): keep it.
            Ok(_) | Err(CommandError::Rejected(ClassTypeError::AlreadyExists)) => {}
            Err(e) => anyhow::bail!("seeding class type {name}: {e}"),
        }
        types.insert(name, id);
    }
    let class =
        |key: String, title: &'static str, starts_at, minutes, capacity, instructor| DemoClass {
            key,
            title,
            class_type_id: types.get(title).copied(),
            starts_at,
            duration_minutes: minutes,
            capacity,
            location_id: LocationId(location),
            instructor: AccountId(instructor),
            policy,
        };
    // A class in a little over an hour, taught by Olivia, one spot: Cara is booked,
    // Colin waits. Within minutes of `make run` the mailbox holds Cara's 1 h reminder
    // besides the confirmations and the waitlist mail, and Olivia's inbox tells her who
    // booked and who waits. One per day (a re-run the same day finds it).
    let now = chrono::Utc::now();
    let soon = now + chrono::Duration::minutes(65 - i64::from(now.minute() % 5));
    let soon = soon.with_second(0).unwrap_or(soon);
    let express = class(
        format!("demo-express-{today}"),
        "Express Core",
        soon,
        30,
        1,
        people[0],
    );
    seed_class(state, actor, &express, &[clients[0], clients[1]]).await?;
    for day in 1..=7 {
        let date = today + chrono::Duration::days(day);
        let mut slots = vec![(
            "Sunrise Reformer",
            7,
            0,
            50,
            if day == 1 { 1 } else { 6 },
            vec![clients[0]],
        )];
        if matches!(date.weekday(), Weekday::Tue | Weekday::Thu) {
            slots.push(("Strength Circuit", 18, 30, 45, 10, vec![clients[1]]));
        }
        if day == 1 {
            slots[0].5.push(clients[1]); // Colin joins the waitlist of the full first class
        }
        for (title, h, m, minutes, capacity, bookers) in slots {
            let local = date.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or_default());
            let Some(starts_at) = tz.from_local_datetime(&local).earliest() else {
                continue;
            };
            let demo = class(
                format!("demo-class-{date}-{h:02}{m:02}"),
                title,
                starts_at.with_timezone(&chrono::Utc),
                minutes,
                capacity,
                people[1],
            );
            seed_class(state, actor, &demo, &bookers).await?;
        }
    }
    Ok(())
}
