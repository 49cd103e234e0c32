//! Tests of the health module, one file per part. The fixtures here build submissions
//! the way a form would send them.

mod answer;
mod evaluation;
mod intake;
mod plan;
mod recommendation;
mod rule_by_rule;

use chrono::{NaiveDate, TimeZone, Utc};

use super::*;

/// When every fixture's consent was given: the submissions' "today".
fn submitted_on() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).expect("date")
}

fn consent() -> Consent {
    Consent {
        text_version: 1,
        given_at: Utc
            .with_ymd_and_hms(2026, 3, 2, 9, 30, 0)
            .single()
            .expect("time"),
    }
}

/// Every PAR-Q+ answer no, nothing declared.
fn empty() -> HealthSubmission {
    HealthSubmission::new(consent())
}

/// An empty submission changed by `change`.
fn with(change: impl FnOnce(&mut HealthSubmission)) -> HealthSubmission {
    let mut submission = empty();
    change(&mut submission);
    submission
}

fn injury(area: BodyArea, status: InjuryStatus) -> Injury {
    Injury {
        area,
        side: Side::Left,
        when: Some(DateOrMonthsAgo::MonthsAgo(2)),
        status,
        note: None,
    }
}

fn condition(kind: MedicalCondition) -> ConditionEntry {
    ConditionEntry { kind, detail: None }
}

fn medication(name: &str, flag: MedicationFlag) -> Medication {
    Medication {
        name: name.to_owned(),
        purpose: None,
        flags: vec![flag],
    }
}

fn pregnant(weeks: u8) -> Maternity {
    Maternity::Pregnancy {
        weeks,
        complications: false,
    }
}

/// Many things at once, at the level whose plan has the most to substitute.
fn heavy() -> HealthSubmission {
    with(|s| {
        s.fitness_level = Some(FitnessLevel::Advanced);
        s.parq.bone_joint_or_soft_tissue_problem = ParqAnswer::yes("knee and shoulder", true);
        s.conditions = vec![
            condition(MedicalCondition::Osteoporosis),
            condition(MedicalCondition::HypertensionUncontrolled),
            condition(MedicalCondition::Type1Diabetes),
        ];
        s.injuries = vec![
            injury(BodyArea::Knee, InjuryStatus::Acute),
            injury(BodyArea::Shoulder, InjuryStatus::Recovering),
            injury(BodyArea::LowerBack, InjuryStatus::Acute),
        ];
        s.surgeries = vec![Surgery {
            description: "hernia repair".into(),
            kind: SurgeryKind::Abdominal,
            area: None,
            when: DateOrMonthsAgo::Date(submitted_on() - chrono::Days::new(30)),
        }];
        s.medications = vec![
            medication("bisoprolol", MedicationFlag::BetaBlocker),
            medication("apixaban", MedicationFlag::Anticoagulant),
        ];
        s.maternity = Some(pregnant(20));
        s.pain = vec![PainArea {
            area: BodyArea::LowerBack,
            level: 8,
        }];
    })
}

/// The contraindicated movement codes, in order.
fn avoided(r: &Recommendation) -> Vec<&str> {
    r.contraindications
        .iter()
        .map(|c| c.movement.as_str())
        .collect()
}

fn contraindication(
    r: &Recommendation,
    movement: crate::health::rules::Movement,
) -> &Contraindication {
    r.contraindications
        .iter()
        .find(|c| c.movement == movement.code())
        .unwrap_or_else(|| panic!("{} is not contraindicated", movement.code()))
}

fn clearance_codes(r: &Recommendation) -> Vec<&str> {
    r.medical_clearance
        .reasons
        .iter()
        .map(|c| c.code.as_str())
        .collect()
}

/// Every planned exercise's name.
fn planned(r: &Recommendation) -> Vec<&str> {
    r.first_week
        .iter()
        .flat_map(|s| &s.exercises)
        .map(|e| e.name.as_str())
        .collect()
}
