//! The whole recommendation: plan, intensity, summary, determinism.

use std::collections::BTreeSet;

use super::*;
use crate::health::rules::recommend;

#[test]
fn an_empty_intake_gets_a_sensible_beginner_plan_without_clearance() {
    let r = recommend(&empty());
    assert!(!r.medical_clearance.required);
    assert!(r.contraindications.is_empty());
    assert!(r.follow_up_questions.is_empty());
    assert_eq!((r.intensity.rpe_min, r.intensity.rpe_max), (3, 5));
    assert_eq!(
        r.first_week.iter().map(|s| s.day).collect::<Vec<_>>(),
        [1, 3, 5]
    );
    // Whole body: a squat, a push, a pull, a hinge, core, conditioning, a carry.
    let plan = planned(&r);
    for exercise in [
        "Goblet squat",
        "Incline push-up (hands on a bench)",
        "Single-arm dumbbell row",
        "Dumbbell Romanian deadlift",
        "Dead bug",
        "Jog intervals (1 min easy jog, 1 min walk)",
        "Suitcase carry",
    ] {
        assert!(plan.contains(&exercise), "{exercise} missing from {plan:?}");
    }
    // Beginner sets, and nothing advanced.
    assert!(r
        .first_week
        .iter()
        .flat_map(|s| &s.exercises)
        .all(|e| e.sets.is_none_or(|sets| sets == 2)));
    assert!(!plan.iter().any(|name| name.starts_with("Barbell")));
    assert!(r
        .first_week
        .iter()
        .flat_map(|s| &s.exercises)
        .all(|e| e.modifications.is_empty()));
    assert_eq!(
        r.summary,
        "No answer calls for medical clearance. All seven PAR-Q+ answers are no, and no \
         condition, injury, surgery, pregnancy or severe pain that changes the plan was \
         reported. The first week has 3 sessions at RPE 3-5, pitched for a beginner (no \
         fitness level was given)."
    );
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn intensity_and_sets_follow_the_fitness_level() {
    for (level, rpe, sets) in [
        (FitnessLevel::Sedentary, (3, 5), 1),
        (FitnessLevel::Beginner, (3, 5), 2),
        (FitnessLevel::Intermediate, (5, 7), 3),
        (FitnessLevel::Advanced, (6, 8), 3),
    ] {
        let r = recommend(&with(|s| s.fitness_level = Some(level)));
        assert_eq!((r.intensity.rpe_min, r.intensity.rpe_max), rpe, "{level:?}");
        let squat = &r.first_week[0].exercises[1];
        assert_eq!(squat.sets, Some(sets), "{level:?}");
        assert_eq!(r.validate(), Ok(()), "{level:?}");
    }
    let advanced = recommend(&with(|s| s.fitness_level = Some(FitnessLevel::Advanced)));
    assert!(planned(&advanced).contains(&"Barbell back squat"));
    assert!(planned(&advanced).contains(&"Box jump"));
    let sedentary = recommend(&with(|s| s.fitness_level = Some(FitnessLevel::Sedentary)));
    assert!(planned(&sedentary).contains(&"Box squat to parallel"));
    assert!(sedentary
        .focus_areas
        .iter()
        .any(|f| f.area == "Building the habit"));
}

#[test]
fn a_heavy_multi_condition_intake_never_plans_a_contraindicated_movement() {
    let r = recommend(&heavy());
    let avoid: BTreeSet<&str> = avoided(&r).into_iter().collect();
    assert!(avoid.len() >= 10, "{avoid:?}");
    for session in &r.first_week {
        for exercise in &session.exercises {
            for movement in &exercise.movements {
                assert!(
                    !avoid.contains(movement.as_str()),
                    "{} uses {movement}",
                    exercise.name
                );
            }
        }
    }
    // Substituted, not dropped: every slot still has an exercise.
    assert_eq!(
        r.first_week
            .iter()
            .map(|s| s.exercises.len())
            .collect::<Vec<_>>(),
        [6, 7, 7]
    );
    assert!(r.medical_clearance.required);
    assert_eq!((r.intensity.rpe_min, r.intensity.rpe_max), (3, 5));
    assert!(r.intensity.heart_rate_guidance.is_some());
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn every_intake_the_engine_can_see_gets_a_plan_with_no_contraindicated_movement() {
    // Every level × every single rule trigger used in the rule tests, plus all at once.
    let triggers: Vec<HealthSubmission> = vec![
        heavy(),
        with(|s| s.maternity = Some(pregnant(30))),
        with(|s| s.injuries = vec![injury(BodyArea::Knee, InjuryStatus::Acute)]),
        with(|s| s.injuries = vec![injury(BodyArea::Shoulder, InjuryStatus::Acute)]),
        with(|s| s.conditions = vec![condition(MedicalCondition::Osteoporosis)]),
        with(|s| {
            s.pain = vec![PainArea {
                area: BodyArea::LowerBack,
                level: 9,
            }]
        }),
        with(|s| {
            s.maternity = Some(Maternity::Postpartum {
                weeks_since_birth: 6,
                delivery: Delivery::Caesarean,
                complications: true,
            })
        }),
    ];
    for base in triggers {
        for level in [
            FitnessLevel::Sedentary,
            FitnessLevel::Beginner,
            FitnessLevel::Intermediate,
            FitnessLevel::Advanced,
        ] {
            let mut submission = base.clone();
            submission.fitness_level = Some(level);
            let r = recommend(&submission);
            assert_eq!(r.validate(), Ok(()), "{level:?}: {}", r.summary);
            assert!(r.first_week.iter().all(|s| !s.exercises.is_empty()));
        }
    }
}

#[test]
fn the_same_movement_from_two_rules_is_listed_once_with_both_sources() {
    let r = recommend(&with(|s| {
        s.maternity = Some(pregnant(20));
        s.conditions = vec![condition(MedicalCondition::HypertensionUncontrolled)];
    }));
    let valsalva: Vec<&Contraindication> = r
        .contraindications
        .iter()
        .filter(|c| c.movement == "heavy_valsalva")
        .collect();
    assert_eq!(valsalva.len(), 1);
    assert!(valsalva[0].source.contains("ACOG Committee Opinion 804"));
    assert!(valsalva[0].source.contains("ACSM's Guidelines"));
    assert!(
        valsalva[0].reason.contains("Pregnancy") && valsalva[0].reason.contains("blood pressure")
    );
    // The lower cap wins.
    assert_eq!(r.intensity.rpe_max, 5);
}

#[test]
fn the_same_intake_always_gives_the_same_recommendation_whatever_the_list_order() {
    let submission = heavy();
    let first = serde_json::to_string(&recommend(&submission)).expect("json");
    for _ in 0..20 {
        assert_eq!(
            serde_json::to_string(&recommend(&submission)).expect("json"),
            first
        );
    }
    let mut reordered = submission.clone();
    reordered.conditions.reverse();
    reordered.injuries.reverse();
    reordered.medications.reverse();
    assert_eq!(
        serde_json::to_string(&recommend(&reordered)).expect("json"),
        first
    );
}

#[test]
fn follow_up_questions_cover_uncleared_yes_answers_and_severe_pain() {
    let r = recommend(&with(|s| {
        s.parq.dizziness_or_loss_of_consciousness = ParqAnswer::yes("fainted in May", false);
        s.parq.other_chronic_condition = ParqAnswer::yes("asthma", true);
        s.pain = vec![
            PainArea {
                area: BodyArea::Hip,
                level: 8,
            },
            PainArea {
                area: BodyArea::Hip,
                level: 3,
            },
            PainArea {
                area: BodyArea::Neck,
                level: 6,
            },
        ];
    }));
    assert_eq!(
        r.follow_up_questions[..2],
        [
            "PAR-Q+ question 3 (dizziness or loss of consciousness): has a doctor or \
             qualified exercise professional cleared you for more activity, and with what \
             limits?",
            "You rated your hip pain 8/10: what makes it worse or better, and has a doctor \
             or physiotherapist assessed it?",
        ]
    );
    assert!(!r.follow_up_questions.iter().any(|q| q.contains("neck")));
    assert!(!r
        .follow_up_questions
        .iter()
        .any(|q| q.contains("question 4")));
}

#[test]
fn the_summary_names_what_was_found() {
    let r = recommend(&heavy());
    for phrase in [
        "Medical clearance is needed before training starts, because of",
        "high blood pressure that is not under control",
        "an acute knee injury",
        "a pregnancy past the first trimester",
        "osteoporosis",
        "abdominal surgery in the last 12 weeks",
        "For now the plan avoids deep loaded knee flexion, plyometric jumping, high-impact work",
        "pitched for an advanced client",
    ] {
        assert!(
            r.summary.contains(phrase),
            "{phrase} missing from {}",
            r.summary
        );
    }
}
