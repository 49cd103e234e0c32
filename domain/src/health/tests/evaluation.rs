//! A small evaluation set: realistic intakes, each with the clearance decision and the
//! movements it must rule out, so a change to the rule table that weakens any of them
//! fails here, not in a studio.

use super::*;
use crate::health::rules::recommend;

struct Case {
    who: &'static str,
    intake: HealthSubmission,
    clearance: bool,
    must_avoid: &'static [&'static str],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            who: "a new mother eight weeks after a caesarean, back pain 5/10",
            intake: with(|s| {
                s.maternity = Some(Maternity::Postpartum {
                    weeks_since_birth: 8,
                    delivery: Delivery::Caesarean,
                    complications: false,
                });
                s.pain = vec![PainArea {
                    area: BodyArea::LowerBack,
                    level: 5,
                }];
            }),
            clearance: false,
            must_avoid: &["intra_abdominal_pressure"],
        },
        Case {
            who: "a 64-year-old with osteoporosis and controlled hypertension on beta blockers",
            intake: with(|s| {
                s.conditions = vec![
                    condition(MedicalCondition::Osteoporosis),
                    condition(MedicalCondition::HypertensionControlled),
                ];
                s.medications = vec![medication("bisoprolol", MedicationFlag::BetaBlocker)];
            }),
            clearance: false,
            must_avoid: &["loaded_spinal_flexion", "high_impact"],
        },
        Case {
            who: "a runner with an acute knee injury and a cleared PAR-Q+ joint answer",
            intake: with(|s| {
                s.fitness_level = Some(FitnessLevel::Advanced);
                s.parq.bone_joint_or_soft_tissue_problem = ParqAnswer::yes("knee", true);
                s.injuries = vec![injury(BodyArea::Knee, InjuryStatus::Acute)];
            }),
            clearance: false,
            must_avoid: &["deep_loaded_knee_flexion", "jumping"],
        },
        Case {
            who: "a client 20 weeks pregnant without complications",
            intake: with(|s| s.maternity = Some(pregnant(20))),
            clearance: false,
            must_avoid: &["prolonged_supine", "contact_or_fall_risk", "heavy_valsalva"],
        },
        Case {
            who: "a client with uncontrolled blood pressure and chest pain on exertion",
            intake: with(|s| {
                s.conditions = vec![condition(MedicalCondition::HypertensionUncontrolled)];
                s.parq.chest_pain = ParqAnswer::yes("tightness when climbing stairs", false);
            }),
            clearance: true,
            must_avoid: &["heavy_valsalva", "maximal_isometric"],
        },
        Case {
            who: "an office worker with a sore shoulder and severe lower back pain",
            intake: with(|s| {
                s.injuries = vec![injury(BodyArea::Shoulder, InjuryStatus::Recovering)];
                s.pain = vec![PainArea {
                    area: BodyArea::LowerBack,
                    level: 8,
                }];
            }),
            clearance: false,
            must_avoid: &[
                "overhead_pressing",
                "loaded_spinal_flexion",
                "heavy_axial_loading",
            ],
        },
    ]
}

#[test]
fn each_realistic_intake_gets_its_clearance_decision_and_rules_out_what_it_must() {
    for case in cases() {
        let r = recommend(&case.intake);
        assert_eq!(
            r.medical_clearance.required, case.clearance,
            "{}: clearance",
            case.who
        );
        let avoided = avoided(&r);
        for movement in case.must_avoid {
            assert!(
                avoided.contains(movement),
                "{} must avoid {movement}: {avoided:?}",
                case.who
            );
        }
        assert!(r.validate().is_ok(), "{}: {:?}", case.who, r.validate());
        for session in &r.first_week {
            for exercise in &session.exercises {
                for m in &exercise.movements {
                    assert!(
                        !avoided.contains(&m.as_str()),
                        "{}: {} uses {m}",
                        case.who,
                        exercise.name
                    );
                }
            }
        }
    }
}
