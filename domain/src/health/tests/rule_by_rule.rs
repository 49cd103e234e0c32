//! One test per rule: the contraindication, flag or cap appears, with its source.

use super::*;
use crate::health::rules::{recommend, Movement, RULES};

const PARQ: &str = "PAR-Q+ 2023";
const ACSM: &str = "ACSM's Guidelines for Exercise Testing and Prescription, 11th ed.";
const ACOG: &str = "ACOG Committee Opinion 804";

#[test]
fn every_uncleared_parq_yes_requires_clearance_with_one_reason_each() {
    let submission = with(|s| {
        for q in ParqQuestion::ALL {
            let answer = ParqAnswer::yes("details", false);
            match q {
                ParqQuestion::HeartCondition => s.parq.heart_condition = answer,
                ParqQuestion::ChestPain => s.parq.chest_pain = answer,
                ParqQuestion::DizzinessOrLossOfConsciousness => {
                    s.parq.dizziness_or_loss_of_consciousness = answer
                }
                ParqQuestion::OtherChronicCondition => s.parq.other_chronic_condition = answer,
                ParqQuestion::ChronicConditionMedication => {
                    s.parq.chronic_condition_medication = answer
                }
                ParqQuestion::BoneJointOrSoftTissueProblem => {
                    s.parq.bone_joint_or_soft_tissue_problem = answer
                }
                ParqQuestion::MedicallySupervisedOnly => s.parq.medically_supervised_only = answer,
            }
        }
    });
    let r = recommend(&submission);
    assert!(r.medical_clearance.required);
    assert_eq!(
        clearance_codes(&r),
        [
            "parq_heart_condition",
            "parq_chest_pain",
            "parq_dizziness_or_loss_of_consciousness",
            "parq_other_chronic_condition",
            "parq_chronic_condition_medication",
            "parq_bone_joint_or_soft_tissue_problem",
            "parq_medically_supervised_only",
        ]
    );
    assert!(r
        .medical_clearance
        .reasons
        .iter()
        .all(|reason| reason.source.starts_with(PARQ)));
    assert!(r
        .summary
        .starts_with("Medical clearance is needed before training starts"));
    assert_eq!(r.validate(), Ok(()));
}

#[test]
fn a_parq_yes_cleared_by_a_professional_needs_no_clearance() {
    let r = recommend(&with(|s| {
        s.parq.other_chronic_condition = ParqAnswer::yes("asthma, managed", true);
    }));
    assert!(!r.medical_clearance.required);
    assert!(r.medical_clearance.reasons.is_empty());
}

#[test]
fn chest_pain_requires_clearance_and_always_adds_the_warning_signs() {
    let uncleared = recommend(&with(|s| {
        s.parq.chest_pain = ParqAnswer::yes("on stairs", false)
    }));
    assert_eq!(clearance_codes(&uncleared), ["parq_chest_pain"]);
    assert!(uncleared.medical_clearance.reasons[0]
        .text
        .contains("assessed by a doctor"));

    let cleared = recommend(&with(|s| {
        s.parq.chest_pain = ParqAnswer::yes("reflux", true)
    }));
    assert!(!cleared.medical_clearance.required);
    for r in [&uncleared, &cleared] {
        assert!(r
            .intensity
            .notes
            .iter()
            .any(|n| n.contains("call emergency services")));
    }
}

#[test]
fn a_knee_injury_that_has_not_resolved_rules_out_deep_loaded_knee_flexion_and_jumping() {
    let r = recommend(&with(|s| {
        s.injuries = vec![injury(BodyArea::Knee, InjuryStatus::Recovering)];
        s.fitness_level = Some(FitnessLevel::Intermediate);
    }));
    assert_eq!(avoided(&r), ["deep_loaded_knee_flexion", "jumping"]);
    for movement in [Movement::DeepLoadedKneeFlexion, Movement::Jumping] {
        let c = contraindication(&r, movement);
        assert!(c.source.starts_with(ACSM), "{}", c.source);
        assert!(c.reason.contains("knee injury"));
    }
    assert_eq!(
        contraindication(&r, Movement::DeepLoadedKneeFlexion).alternatives,
        ["Box squats to a knee-height box (parallel), no deeper, pain-free."]
    );
    assert_eq!(
        contraindication(&r, Movement::Jumping).alternatives,
        ["Step-ups onto a low box."]
    );
    // The plan substitutes, and says why.
    let plan = planned(&r);
    assert!(plan.contains(&"Box squat to parallel"));
    assert!(plan.contains(&"Step-up onto a low box"));
    assert!(!plan.contains(&"Goblet squat") && !plan.contains(&"Box jump"));
    let box_squat = r.first_week[0]
        .exercises
        .iter()
        .find(|e| e.name == "Box squat to parallel")
        .expect("planned");
    assert_eq!(
        box_squat.modifications,
        ["Replaces goblet squat for now (avoid deep loaded knee flexion)."]
    );
}

#[test]
fn a_resolved_knee_injury_changes_nothing_and_an_acute_one_also_rules_out_impact() {
    let resolved = recommend(&with(|s| {
        s.injuries = vec![injury(BodyArea::Knee, InjuryStatus::Resolved)];
    }));
    assert!(resolved.contraindications.is_empty());

    let acute = recommend(&with(|s| {
        s.injuries = vec![injury(BodyArea::Knee, InjuryStatus::Acute)];
    }));
    assert_eq!(
        avoided(&acute),
        ["deep_loaded_knee_flexion", "jumping", "high_impact"]
    );
}

#[test]
fn pregnancy_from_week_13_rules_out_lying_flat_contact_and_heavy_straining() {
    let r = recommend(&with(|s| s.maternity = Some(pregnant(13))));
    assert_eq!(
        avoided(&r),
        ["prolonged_supine", "contact_or_fall_risk", "heavy_valsalva"]
    );
    for movement in [
        Movement::ProlongedSupine,
        Movement::ContactOrFallRisk,
        Movement::HeavyValsalva,
    ] {
        assert!(contraindication(&r, movement).source.starts_with(ACOG));
    }
    assert!(r.intensity.rpe_max <= 6);
    assert!(r.intensity.notes.iter().any(|n| n.contains("talk test")));
    assert!(r
        .intensity
        .notes
        .iter()
        .any(|n| n.contains("vaginal bleeding")));
    // Nothing supine in the plan: the dead bug and glute bridge give way.
    assert!(planned(&r).contains(&"Bird dog"));
    assert!(!planned(&r).contains(&"Dead bug"));
    assert!(!r.medical_clearance.required);

    let early = recommend(&with(|s| s.maternity = Some(pregnant(12))));
    assert_eq!(avoided(&early), ["contact_or_fall_risk", "heavy_valsalva"]);
}

#[test]
fn pregnancy_complications_require_clearance() {
    let r = recommend(&with(|s| {
        s.maternity = Some(Maternity::Pregnancy {
            weeks: 24,
            complications: true,
        })
    }));
    assert_eq!(clearance_codes(&r), ["pregnancy_complications"]);
    assert!(r.medical_clearance.reasons[0].source.starts_with(ACOG));
}

#[test]
fn uncontrolled_hypertension_requires_clearance_and_rules_out_straining_and_maximal_holds() {
    let r = recommend(&with(|s| {
        s.conditions = vec![condition(MedicalCondition::HypertensionUncontrolled)];
        s.fitness_level = Some(FitnessLevel::Advanced);
    }));
    assert_eq!(clearance_codes(&r), ["uncontrolled_hypertension"]);
    assert_eq!(avoided(&r), ["heavy_valsalva", "maximal_isometric"]);
    assert!(contraindication(&r, Movement::HeavyValsalva)
        .source
        .starts_with(ACSM));
    assert_eq!((r.intensity.rpe_min, r.intensity.rpe_max), (3, 5));
}

#[test]
fn controlled_hypertension_caps_effort_and_adds_a_breathing_cue() {
    let r = recommend(&with(|s| {
        s.conditions = vec![condition(MedicalCondition::HypertensionControlled)];
        s.fitness_level = Some(FitnessLevel::Advanced);
    }));
    assert!(!r.medical_clearance.required);
    assert!(r.contraindications.is_empty());
    assert_eq!((r.intensity.rpe_min, r.intensity.rpe_max), (5, 7));
    assert!(r
        .intensity
        .notes
        .iter()
        .any(|n| n.contains("never hold the breath")));
    assert!(r
        .intensity
        .notes
        .iter()
        .any(|n| n.contains("at or below RPE 7")));
}

#[test]
fn osteoporosis_rules_out_loaded_flexion_and_impact_and_focuses_on_balance() {
    let r = recommend(&with(|s| {
        s.conditions = vec![condition(MedicalCondition::Osteoporosis)]
    }));
    assert_eq!(
        avoided(&r),
        [
            "high_impact",
            "loaded_spinal_flexion",
            "loaded_spinal_rotation"
        ]
    );
    assert!(contraindication(&r, Movement::LoadedSpinalFlexion)
        .source
        .contains("Too Fit To Fracture"));
    let areas: Vec<&str> = r.focus_areas.iter().map(|f| f.area.as_str()).collect();
    assert!(areas.contains(&"Balance") && areas.contains(&"Progressive strength"));
    assert!(planned(&r).contains(&"Single-leg balance near a wall"));
}

#[test]
fn abdominal_surgery_in_the_last_12_weeks_rules_out_intra_abdominal_pressure() {
    let surgery = |when| {
        with(|s| {
            s.surgeries = vec![Surgery {
                description: "gall bladder removed".into(),
                kind: SurgeryKind::Abdominal,
                area: None,
                when,
            }];
        })
    };
    let recent = recommend(&surgery(DateOrMonthsAgo::MonthsAgo(3)));
    assert_eq!(avoided(&recent), ["intra_abdominal_pressure"]);
    assert!(contraindication(&recent, Movement::IntraAbdominalPressure)
        .source
        .contains("Royal College of Surgeons"));
    assert!(planned(&recent).contains(&"Diaphragmatic breathing with gentle core activation"));

    let old = recommend(&surgery(DateOrMonthsAgo::Date(
        submitted_on() - chrono::Days::new(13 * 7),
    )));
    assert!(old.contraindications.is_empty());
}

#[test]
fn a_caesarean_in_the_last_12_weeks_rules_out_intra_abdominal_pressure() {
    let after = |weeks_since_birth| {
        recommend(&with(|s| {
            s.maternity = Some(Maternity::Postpartum {
                weeks_since_birth,
                delivery: Delivery::Caesarean,
                complications: false,
            })
        }))
    };
    let recent = after(8);
    assert!(avoided(&recent).contains(&"intra_abdominal_pressure"));
    assert!(contraindication(&recent, Movement::IntraAbdominalPressure)
        .source
        .contains("NICE guideline NG192"));
    // Early postpartum also keeps impact out, whatever the delivery.
    assert!(avoided(&recent).contains(&"high_impact"));
    assert!(after(13).contraindications.is_empty());

    let vaginal = recommend(&with(|s| {
        s.maternity = Some(Maternity::Postpartum {
            weeks_since_birth: 8,
            delivery: Delivery::Vaginal,
            complications: false,
        })
    }));
    assert_eq!(avoided(&vaginal), ["jumping", "high_impact"]);
}

#[test]
fn severe_or_acute_lower_back_pain_rules_out_loaded_flexion_and_heavy_axial_loading() {
    let pain = |level| {
        recommend(&with(|s| {
            s.pain = vec![PainArea {
                area: BodyArea::LowerBack,
                level,
            }];
            s.fitness_level = Some(FitnessLevel::Advanced);
        }))
    };
    let severe = pain(7);
    assert_eq!(
        avoided(&severe),
        [
            "loaded_spinal_flexion",
            "heavy_axial_loading",
            "loaded_hip_hinge"
        ]
    );
    assert!(contraindication(&severe, Movement::HeavyAxialLoading)
        .source
        .contains("NICE guideline NG59"));
    assert!(!planned(&severe).contains(&"Barbell back squat"));
    assert!(!planned(&severe).contains(&"Barbell deadlift"));
    assert!(pain(6).contraindications.is_empty());

    let acute = recommend(&with(|s| {
        s.injuries = vec![injury(BodyArea::LowerBack, InjuryStatus::Acute)];
    }));
    assert!(avoided(&acute).contains(&"loaded_spinal_flexion"));
}

#[test]
fn a_shoulder_injury_rules_out_overhead_pressing_and_loaded_end_range() {
    let r = recommend(&with(|s| {
        s.injuries = vec![injury(BodyArea::Shoulder, InjuryStatus::Chronic)];
        s.fitness_level = Some(FitnessLevel::Advanced);
    }));
    assert_eq!(
        avoided(&r),
        ["overhead_pressing", "loaded_shoulder_end_range"]
    );
    assert!(contraindication(&r, Movement::OverheadPressing)
        .source
        .starts_with(ACSM));
    let plan = planned(&r);
    assert!(plan.contains(&"Landmine press") && plan.contains(&"Seated cable row"));
    assert!(!plan.contains(&"Pull-up"));
}

#[test]
fn beta_blockers_mean_steering_by_rpe_not_heart_rate() {
    let r = recommend(&with(|s| {
        s.medications = vec![medication("bisoprolol", MedicationFlag::BetaBlocker)];
    }));
    let guidance = r.intensity.heart_rate_guidance.expect("guidance");
    assert!(guidance.contains("steer by RPE"));
    assert!(empty_recommendation()
        .intensity
        .heart_rate_guidance
        .is_none());
}

#[test]
fn type_1_diabetes_or_insulin_brings_hypoglycaemia_guidance() {
    for submission in [
        with(|s| s.conditions = vec![condition(MedicalCondition::Type1Diabetes)]),
        with(|s| s.medications = vec![medication("insulin glargine", MedicationFlag::Insulin)]),
    ] {
        let r = recommend(&submission);
        assert!(r
            .intensity
            .notes
            .iter()
            .any(|n| n.contains("blood glucose")));
        assert!(r
            .intensity
            .notes
            .iter()
            .any(|n| n.contains("fast-acting carbohydrate")));
    }
    assert!(!recommend(&with(
        |s| s.conditions = vec![condition(MedicalCondition::Type2Diabetes)]
    ))
    .intensity
    .notes
    .iter()
    .any(|n| n.contains("blood glucose")));
}

#[test]
fn heart_disease_without_a_parq_yes_requires_clearance() {
    let contradicting = recommend(&with(|s| {
        s.conditions = vec![condition(MedicalCondition::HeartDisease)];
    }));
    assert_eq!(clearance_codes(&contradicting), ["heart_disease"]);

    let cleared = recommend(&with(|s| {
        s.conditions = vec![condition(MedicalCondition::HeartDisease)];
        s.parq.heart_condition = ParqAnswer::yes("stent 2019, cardiologist ok", true);
    }));
    assert!(!cleared.medical_clearance.required);
}

#[test]
fn a_blood_thinner_rules_out_contact_and_fall_risk() {
    let r = recommend(&with(|s| {
        s.medications = vec![medication("warfarin", MedicationFlag::Anticoagulant)];
    }));
    assert_eq!(avoided(&r), ["contact_or_fall_risk"]);
}

#[test]
fn recent_heart_surgery_requires_clearance() {
    let r = recommend(&with(|s| {
        s.surgeries = vec![Surgery {
            description: "bypass".into(),
            kind: SurgeryKind::Cardiac,
            area: None,
            when: DateOrMonthsAgo::MonthsAgo(4),
        }];
    }));
    assert_eq!(clearance_codes(&r), ["recent_cardiac_surgery"]);
}

#[test]
fn every_rule_has_a_unique_id_a_finding_a_source_and_something_to_say() {
    let mut ids = std::collections::BTreeSet::new();
    for rule in RULES {
        assert!(ids.insert(rule.id), "duplicate id {}", rule.id);
        assert!(
            !rule.finding.is_empty() && !rule.source.is_empty(),
            "{}",
            rule.id
        );
        let says_something = !rule.contraindications.is_empty()
            || !rule.flags.is_empty()
            || !rule.focus.is_empty()
            || !rule.notes.is_empty()
            || rule.rpe_cap.is_some()
            || rule.heart_rate_guidance.is_some();
        assert!(says_something, "{} changes nothing", rule.id);
        // A narrowing rule names a broader one listed before it.
        if let Some(broader) = rule.refines {
            assert!(
                ids.contains(broader),
                "{} refines unknown {broader}",
                rule.id
            );
        }
        // Modifications are offered instead of a movement the rule itself rules out.
        for (movement, _) in rule.modifications {
            assert!(
                rule.contraindications.iter().any(|(m, _)| m == movement),
                "{}: modification for {movement:?}, which it does not rule out",
                rule.id
            );
        }
    }
}

fn empty_recommendation() -> Recommendation {
    recommend(&empty())
}
