//! The rules, as data. Order matters only for reading and for ties: the engine applies
//! every matching row, and where two rows say something about the same thing (a
//! movement, a clearance code, a focus area) the first row's wording leads.
//!
//! Wording: reasons and notes are sentences a trainer can read to a client; nothing
//! here diagnoses. When a guideline is paraphrased, `source` names it so a trainer can
//! look it up.

use super::Condition::{
    AcuteInjury, All, Any, Diagnosis, FitnessLevel as Level, Injury, MaternityComplications,
    Medication, Not, PainAtLeast, ParqYes, ParqYesWithoutClearance, Postpartum, Pregnancy,
    RecentSurgery,
};
use super::Movement::{
    ContactOrFallRisk, DeepLoadedKneeFlexion, HeavyAxialLoading, HeavyValsalva, HighImpact,
    IntraAbdominalPressure, Jumping, LoadedHipHinge, LoadedShoulderEndRange, LoadedSpinalFlexion,
    LoadedSpinalRotation, MaximalIsometric, OverheadPressing, ProlongedSupine,
};
use super::Rule;
use crate::health::{
    BodyArea, Delivery, FitnessLevel, MedicalCondition, MedicationFlag, ParqQuestion, SurgeryKind,
};

const PARQ: &str = "PAR-Q+ 2023 (Physical Activity Readiness Questionnaire for Everyone)";
const ACSM: &str = "ACSM's Guidelines for Exercise Testing and Prescription, 11th ed. (2021)";
const ACOG: &str = "ACOG Committee Opinion 804, Physical Activity and Exercise During \
                    Pregnancy and the Postpartum Period (2020)";
const NICE_CAESAREAN: &str = "NICE guideline NG192, Caesarean birth (2021); ACOG Committee \
                              Opinion 804 (2020)";
const POSTNATAL: &str = "Goom, Donnelly & Brockwell, Returning to running postnatal: \
                         guidelines for medical, health and fitness professionals (2019)";
const BONE: &str = "Giangregorio et al., Too Fit To Fracture: exercise recommendations for \
                    individuals with osteoporosis, Osteoporosis International (2014)";
const ADA: &str = "ADA position statement, Physical Activity/Exercise and Diabetes \
                   (Colberg et al., Diabetes Care, 2016)";
const ILAE: &str = "ILAE Task Force on Sports and Epilepsy (Capovilla et al., Epilepsia, 2016)";
const GINA: &str = "Global Initiative for Asthma (GINA), Global Strategy for Asthma \
                    Management and Prevention (2024)";
const NICE_OA: &str = "NICE guideline NG226, Osteoarthritis in over 16s (2022)";
const NICE_BACK: &str = "NICE guideline NG59, Low back pain and sciatica in over 16s (2016, \
                         updated 2020); ACSM's Guidelines, 11th ed. (2021)";
const SURGERY: &str = "Royal College of Surgeons of England, Get Well Soon patient guides \
                       (recovery after abdominal surgery)";
const CARDIAC: &str = "AACVPR Guidelines for Cardiac Rehabilitation Programs, 6th ed. \
                       (2021); ACSM's Guidelines, 11th ed. (2021)";
const WHO: &str = "WHO guidelines on physical activity and sedentary behaviour (2020)";

const CHEST_PAIN_WARNING: &str = "Stop at once and call emergency services for chest pain, \
                                  pressure or tightness, or pain spreading to the arm, neck or \
                                  jaw.";

/// Alternatives several rules offer, worded once so they merge.
const WALK_OR_CYCLE: &str = "Brisk walking or cycling.";
const MODERATE_LOADS: &str = "Moderate loads for 10-15 reps, breathing out on the effort.";

const PARQ_FOLLOW_UP: &str = "Ask for the PAR-Q+ follow-up pages, or a note from a doctor or \
                              qualified exercise professional, before the first session.";

/// One row per PAR-Q+ question: a yes nobody has cleared means clearance first.
const fn parq(
    question: ParqQuestion,
    id: &'static str,
    finding: &'static str,
    flags: &'static [(&'static str, &'static str)],
) -> Rule {
    Rule {
        id,
        finding,
        when: ParqYesWithoutClearance(question),
        flags,
        follow_up: &[PARQ_FOLLOW_UP],
        source: PARQ,
        ..Rule::NONE
    }
}

/// Every rule the engine knows, applied in this order.
pub static RULES: &[Rule] = &[
    // --- PAR-Q+: one clearance reason per uncleared yes ---------------------------------
    parq(
        ParqQuestion::HeartCondition,
        "parq_heart_condition",
        "an uncleared PAR-Q+ yes about a heart condition or high blood pressure",
        &[(
            "parq_heart_condition",
            "Answered yes to PAR-Q+ question 1 (heart condition or high blood pressure) \
             without clearance from a doctor or qualified exercise professional.",
        )],
    ),
    Rule {
        notes: &[CHEST_PAIN_WARNING],
        ..parq(
            ParqQuestion::ChestPain,
            "parq_chest_pain",
            "an uncleared PAR-Q+ yes about chest pain",
            &[(
                "parq_chest_pain",
                "Answered yes to PAR-Q+ question 2 (chest pain at rest, in daily life or \
                 during activity) without clearance. Chest pain must be assessed by a \
                 doctor before any exercise.",
            )],
        )
    },
    parq(
        ParqQuestion::DizzinessOrLossOfConsciousness,
        "parq_dizziness",
        "an uncleared PAR-Q+ yes about dizziness or loss of consciousness",
        &[(
            "parq_dizziness_or_loss_of_consciousness",
            "Answered yes to PAR-Q+ question 3 (dizziness or loss of consciousness in the \
             last 12 months) without clearance.",
        )],
    ),
    parq(
        ParqQuestion::OtherChronicCondition,
        "parq_chronic_condition",
        "an uncleared PAR-Q+ yes about another chronic condition",
        &[(
            "parq_other_chronic_condition",
            "Answered yes to PAR-Q+ question 4 (another diagnosed chronic condition) \
             without clearance.",
        )],
    ),
    parq(
        ParqQuestion::ChronicConditionMedication,
        "parq_medication",
        "an uncleared PAR-Q+ yes about medication for a chronic condition",
        &[(
            "parq_chronic_condition_medication",
            "Answered yes to PAR-Q+ question 5 (prescribed medication for a chronic \
             condition) without clearance.",
        )],
    ),
    parq(
        ParqQuestion::BoneJointOrSoftTissueProblem,
        "parq_musculoskeletal",
        "an uncleared PAR-Q+ yes about a bone or joint problem",
        &[(
            "parq_bone_joint_or_soft_tissue_problem",
            "Answered yes to PAR-Q+ question 6 (a bone, joint or soft-tissue problem that \
             activity could worsen) without clearance.",
        )],
    ),
    parq(
        ParqQuestion::MedicallySupervisedOnly,
        "parq_supervised_only",
        "a PAR-Q+ yes about exercising only under medical supervision",
        &[(
            "parq_medically_supervised_only",
            "Answered yes to PAR-Q+ question 7: a doctor said to exercise only under \
             medical supervision.",
        )],
    ),
    Rule {
        id: "chest_pain_cleared",
        finding: "chest pain on the PAR-Q+, cleared by a professional",
        // Cleared or not, the warning signs stay in the notes.
        when: All(&[
            ParqYes(ParqQuestion::ChestPain),
            Not(&ParqYesWithoutClearance(ParqQuestion::ChestPain)),
        ]),
        notes: &[CHEST_PAIN_WARNING],
        source: ACSM,
        ..Rule::NONE
    },
    // --- Heart and blood pressure -------------------------------------------------------
    Rule {
        id: "heart_disease_not_on_parq",
        finding: "heart disease",
        // A declared heart disease with a "no" to PAR-Q+ question 1 contradicts itself:
        // ask for clearance. With a yes, the PAR-Q+ rows above decide.
        when: All(&[
            Diagnosis(MedicalCondition::HeartDisease),
            Not(&ParqYes(ParqQuestion::HeartCondition)),
        ]),
        flags: &[(
            "heart_disease",
            "Heart disease was declared: ACSM pre-participation screening asks for medical \
             clearance before starting an exercise programme.",
        )],
        source: ACSM,
        ..Rule::NONE
    },
    Rule {
        id: "hypertension_uncontrolled",
        finding: "high blood pressure that is not under control",
        when: Diagnosis(MedicalCondition::HypertensionUncontrolled),
        contraindications: &[
            (
                HeavyValsalva,
                "Uncontrolled high blood pressure: breath-held straining spikes blood \
                 pressure sharply.",
            ),
            (
                MaximalIsometric,
                "Uncontrolled high blood pressure: maximal holds raise blood pressure more \
                 than dynamic work.",
            ),
        ],
        modifications: &[
            (HeavyValsalva, MODERATE_LOADS),
            (MaximalIsometric, "Short, easy holds with steady breathing."),
        ],
        flags: &[(
            "uncontrolled_hypertension",
            "Blood pressure is not under control: see a doctor before starting an exercise \
             programme.",
        )],
        rpe_cap: Some(5),
        notes: &[
            "Breathe out on the effort and never hold the breath; stop for headache, \
                  dizziness or blurred vision.",
        ],
        source: ACSM,
        ..Rule::NONE
    },
    Rule {
        id: "hypertension_controlled",
        finding: "high blood pressure under treatment",
        when: Diagnosis(MedicalCondition::HypertensionControlled),
        rpe_cap: Some(7),
        notes: &[
            "Breathe out on the effort and never hold the breath; stop sets short of \
                  straining.",
        ],
        source: ACSM,
        ..Rule::NONE
    },
    Rule {
        id: "beta_blocker",
        finding: "beta-blocker medication",
        when: Medication(MedicationFlag::BetaBlocker),
        heart_rate_guidance: Some(
            "Beta blockers lower and cap the heart rate, so heart-rate zones and \
             age-predicted maximums do not apply: steer by RPE and the talk test instead.",
        ),
        source: ACSM,
        ..Rule::NONE
    },
    Rule {
        id: "cardiac_surgery_recent",
        finding: "heart surgery in the last six months",
        when: RecentSurgery {
            kind: SurgeryKind::Cardiac,
            within_weeks: 26,
        },
        flags: &[(
            "recent_cardiac_surgery",
            "Heart surgery in the last six months: training should follow cardiac \
             rehabilitation and the cardiology team's clearance.",
        )],
        source: CARDIAC,
        ..Rule::NONE
    },
    // --- Pregnancy and postpartum -------------------------------------------------------
    Rule {
        id: "pregnancy",
        finding: "a pregnancy",
        when: Pregnancy { from_week: 0 },
        contraindications: &[
            (
                ContactOrFallRisk,
                "Pregnancy: a fall or a blow to the abdomen risks the pregnancy.",
            ),
            (
                HeavyValsalva,
                "Pregnancy: breath-held straining raises abdominal and blood pressure.",
            ),
        ],
        modifications: &[(HeavyValsalva, MODERATE_LOADS)],
        focus: &[(
            "Pelvic floor and posture",
            "Pelvic-floor work and upper-back strength ease the changes pregnancy brings.",
        )],
        rpe_cap: Some(6),
        notes: &[
            "Use the talk test: she should be able to hold a conversation throughout.",
            "Stop and seek medical advice for vaginal bleeding, regular painful \
             contractions, fluid leaking, dizziness or feeling faint, chest pain, headache, \
             calf pain or swelling, or breathlessness before exertion.",
        ],
        follow_up: &[
            "Has your midwife or doctor said anything about exercise in this \
                      pregnancy?",
        ],
        source: ACOG,
        ..Rule::NONE
    },
    Rule {
        id: "pregnancy_after_first_trimester",
        finding: "a pregnancy past the first trimester",
        refines: Some("pregnancy"),
        // From week 13, where the first trimester ends: a week early rather than late.
        when: Pregnancy { from_week: 13 },
        contraindications: &[(
            ProlongedSupine,
            "Past the first trimester, lying flat on the back lets the uterus press on the \
             vena cava and can cause dizziness.",
        )],
        modifications: &[(
            ProlongedSupine,
            "An incline bench, or a side-lying or seated position.",
        )],
        source: ACOG,
        ..Rule::NONE
    },
    Rule {
        id: "maternity_complications",
        finding: "complications of pregnancy or birth",
        when: MaternityComplications,
        flags: &[(
            "pregnancy_complications",
            "Complications of the pregnancy or birth were reported: the obstetric care \
             provider should clear exercise first.",
        )],
        source: ACOG,
        ..Rule::NONE
    },
    Rule {
        id: "postpartum_early",
        finding: "a birth in the last 12 weeks",
        when: Postpartum {
            delivery: None,
            within_weeks: 12,
        },
        contraindications: &[
            (
                HighImpact,
                "Less than 12 weeks after giving birth: the pelvic floor is not ready for \
                 impact.",
            ),
            (
                Jumping,
                "Less than 12 weeks after giving birth: the pelvic floor is not ready for \
                 landings.",
            ),
        ],
        modifications: &[(HighImpact, WALK_OR_CYCLE), (Jumping, "Step-ups.")],
        focus: &[(
            "Pelvic floor",
            "Pelvic-floor and deep-core rehabilitation comes before impact and heavy lifting.",
        )],
        follow_up: &[
            "Have you had your postnatal check, and were you told of any \
                      restrictions?",
        ],
        source: POSTNATAL,
        ..Rule::NONE
    },
    Rule {
        id: "caesarean_recent",
        finding: "a caesarean birth in the last 12 weeks",
        refines: Some("postpartum_early"),
        when: Postpartum {
            delivery: Some(Delivery::Caesarean),
            within_weeks: 12,
        },
        contraindications: &[(
            IntraAbdominalPressure,
            "A caesarean in the last 12 weeks: heavy bracing, crunches and heavy lifts \
             strain the healing abdominal wall.",
        )],
        modifications: &[(
            IntraAbdominalPressure,
            "Diaphragmatic breathing and gentle deep-core activation.",
        )],
        source: NICE_CAESAREAN,
        ..Rule::NONE
    },
    // --- Surgery --------------------------------------------------------------------------
    Rule {
        id: "abdominal_surgery_recent",
        finding: "abdominal surgery in the last 12 weeks",
        when: RecentSurgery {
            kind: SurgeryKind::Abdominal,
            within_weeks: 12,
        },
        contraindications: &[(
            IntraAbdominalPressure,
            "Abdominal surgery in the last 12 weeks: heavy bracing, crunches and heavy \
             lifts strain the healing wound and risk a hernia.",
        )],
        modifications: &[(
            IntraAbdominalPressure,
            "Diaphragmatic breathing and gentle deep-core activation.",
        )],
        follow_up: &["What lifting limits did the surgeon give, and until when?"],
        source: SURGERY,
        ..Rule::NONE
    },
    Rule {
        id: "orthopaedic_surgery_recent",
        finding: "orthopaedic surgery in the last six months",
        when: RecentSurgery {
            kind: SurgeryKind::Orthopaedic,
            within_weeks: 26,
        },
        notes: &[
            "Follow the surgeon's or physiotherapist's restrictions for the operated \
                  area; they override this plan.",
        ],
        follow_up: &[
            "What restrictions did the surgeon or physiotherapist give for the \
                      operated area?",
        ],
        source: ACSM,
        ..Rule::NONE
    },
    // --- Joints and back ----------------------------------------------------------------
    Rule {
        id: "knee_injury",
        finding: "a knee injury that has not resolved",
        when: Injury {
            area: BodyArea::Knee,
            active_only: true,
        },
        contraindications: &[
            (
                DeepLoadedKneeFlexion,
                "A knee injury that has not resolved: deep knee bends under load strain \
                 the healing joint.",
            ),
            (
                Jumping,
                "A knee injury that has not resolved: landings load the knee several times \
                 body weight.",
            ),
        ],
        modifications: &[
            (
                DeepLoadedKneeFlexion,
                "Box squats to a knee-height box (parallel), no deeper, pain-free.",
            ),
            (Jumping, "Step-ups onto a low box."),
        ],
        focus: &[(
            "Knee-friendly strength",
            "Quadriceps and hip strength through a pain-free range supports the knee while \
             it recovers.",
        )],
        follow_up: &[
            "Has a physiotherapist or doctor set limits for the knee (depth, load, \
                      running)?",
        ],
        source: ACSM,
        ..Rule::NONE
    },
    Rule {
        id: "knee_injury_acute",
        finding: "an acute knee injury",
        refines: Some("knee_injury"),
        when: AcuteInjury(BodyArea::Knee),
        contraindications: &[(
            HighImpact,
            "An acute knee injury: running and other impact load it before it has settled.",
        )],
        modifications: &[(HighImpact, WALK_OR_CYCLE)],
        source: ACSM,
        ..Rule::NONE
    },
    Rule {
        id: "shoulder_injury",
        finding: "a shoulder injury that has not resolved",
        when: Injury {
            area: BodyArea::Shoulder,
            active_only: true,
        },
        contraindications: &[
            (
                OverheadPressing,
                "A shoulder injury that has not resolved: pressing overhead loads the \
                 shoulder where it is least stable.",
            ),
            (
                LoadedShoulderEndRange,
                "A shoulder injury that has not resolved: load at the end of the range \
                 strains the healing tissue.",
            ),
        ],
        modifications: &[
            (
                OverheadPressing,
                "Landmine press, or pressing below shoulder height.",
            ),
            (LoadedShoulderEndRange, "Rows in the shoulder's mid-range."),
        ],
        focus: &[(
            "Shoulder-blade control",
            "Rows and rotator-cuff work in a pain-free range support the shoulder.",
        )],
        follow_up: &["Has a physiotherapist or doctor set limits for the shoulder?"],
        source: ACSM,
        ..Rule::NONE
    },
    Rule {
        id: "lower_back_severe",
        finding: "severe or acute lower back pain",
        when: Any(&[
            PainAtLeast {
                area: BodyArea::LowerBack,
                level: 7,
            },
            AcuteInjury(BodyArea::LowerBack),
        ]),
        contraindications: &[
            (
                LoadedSpinalFlexion,
                "Severe or acute lower back pain: bending the spine under load aggravates \
                 it.",
            ),
            (
                HeavyAxialLoading,
                "Severe or acute lower back pain: heavy loads compress the painful spine.",
            ),
            (
                LoadedHipHinge,
                "Severe or acute lower back pain: loaded hinges load the lower back until \
                 the pain settles.",
            ),
        ],
        modifications: &[
            (
                LoadedHipHinge,
                "Unloaded hip-hinge drills and side-lying hip work until the pain settles.",
            ),
            (
                HeavyAxialLoading,
                "Light, supported variations: box squats, machines.",
            ),
        ],
        focus: &[(
            "Gentle, regular movement",
            "Staying active with low-load exercise helps back pain settle better than rest.",
        )],
        source: NICE_BACK,
        ..Rule::NONE
    },
    Rule {
        id: "osteoporosis",
        finding: "osteoporosis",
        when: Diagnosis(MedicalCondition::Osteoporosis),
        contraindications: &[
            (
                LoadedSpinalFlexion,
                "Osteoporosis: bending the spine forward under load risks a vertebral \
                 fracture.",
            ),
            (
                LoadedSpinalRotation,
                "Osteoporosis: twisting under load risks a vertebral fracture.",
            ),
            (
                HighImpact,
                "Osteoporosis: high impact risks fracture until bone strength is known.",
            ),
        ],
        modifications: &[
            (
                LoadedSpinalFlexion,
                "Bending at the hips with a neutral spine, not rounding the back.",
            ),
            (HighImpact, WALK_OR_CYCLE),
        ],
        focus: &[
            (
                "Balance",
                "Falls cause most fractures; balance training makes them less likely.",
            ),
            (
                "Progressive strength",
                "Progressively loaded strength work with a neutral spine builds and keeps \
                 bone.",
            ),
        ],
        source: BONE,
        ..Rule::NONE
    },
    Rule {
        id: "osteoarthritis",
        finding: "osteoarthritis",
        when: Diagnosis(MedicalCondition::Osteoarthritis),
        focus: &[(
            "Strength around the affected joints",
            "Muscle strength and low-impact aerobic work are the core treatment for \
             osteoarthritis.",
        )],
        notes: &[
            "Mild joint discomfort during exercise is expected and safe if it settles \
                  by the next day; sharper or lasting pain means lowering the load.",
        ],
        source: NICE_OA,
        ..Rule::NONE
    },
    // --- Other conditions and medication ------------------------------------------------
    Rule {
        id: "hypoglycaemia_risk",
        finding: "type 1 diabetes or glucose-lowering medication",
        when: Any(&[
            Diagnosis(MedicalCondition::Type1Diabetes),
            Medication(MedicationFlag::Insulin),
            Medication(MedicationFlag::GlucoseLowering),
        ]),
        notes: &[
            "Check blood glucose before training: below 5 mmol/L (90 mg/dL), take 15-30 g \
             of fast carbohydrate and recheck before starting.",
            "Keep fast-acting carbohydrate at hand; at shakiness, sweating, confusion or \
             blurred vision, stop, treat and do not resume the session.",
            "Hypoglycaemia can follow hours after exercise, overnight too: check again \
             after training.",
            "Above 14 mmol/L (250 mg/dL) with ketones present, skip vigorous work that day.",
        ],
        follow_up: &[
            "How do you usually adjust insulin or food around exercise, and have \
                      you had a hypo during exercise before?",
        ],
        source: ADA,
        ..Rule::NONE
    },
    Rule {
        id: "asthma",
        finding: "asthma",
        when: Any(&[
            Diagnosis(MedicalCondition::Asthma),
            Medication(MedicationFlag::Bronchodilator),
        ]),
        notes: &[
            "Keep the reliever inhaler within reach and warm up for at least 10 \
                  minutes; stop and use the reliever at wheeze, chest tightness or unusual \
                  breathlessness.",
        ],
        source: GINA,
        ..Rule::NONE
    },
    Rule {
        id: "epilepsy",
        finding: "epilepsy",
        when: Diagnosis(MedicalCondition::Epilepsy),
        notes: &[
            "Use machines or a spotter for loads over the face and chest; no training \
                  at height or in water alone; make sure staff know the seizure plan.",
        ],
        follow_up: &[
            "How well controlled are your seizures, and what should staff do if \
                      one happens?",
        ],
        source: ILAE,
        ..Rule::NONE
    },
    Rule {
        id: "anticoagulant",
        finding: "blood-thinning medication",
        when: Medication(MedicationFlag::Anticoagulant),
        contraindications: &[(
            ContactOrFallRisk,
            "A blood thinner: knocks and falls cause heavy bruising or bleeding.",
        )],
        notes: &[
            "Bruises and cuts bleed more on a blood thinner: report any knock to the \
                  head at once.",
        ],
        source: ACSM,
        ..Rule::NONE
    },
    // --- Fitness level ------------------------------------------------------------------
    Rule {
        id: "sedentary",
        finding: "little regular activity so far",
        when: Level(FitnessLevel::Sedentary),
        focus: &[(
            "Building the habit",
            "Starting from little activity, short regular sessions matter more than \
             intensity; any activity beats none.",
        )],
        source: WHO,
        ..Rule::NONE
    },
];
