//! The first-week template: three sessions of slots, each slot a list of exercises in
//! order of preference. The engine takes, per slot, the first exercise the client's
//! fitness level allows that involves no avoided movement. The last option of every
//! slot involves no movement at all and suits every level (a test checks it), so a
//! slot always has something safe to offer.

use super::Movement::{
    self, DeepLoadedKneeFlexion, HeavyAxialLoading, HighImpact, IntraAbdominalPressure, Jumping,
    LoadedHipHinge, LoadedShoulderEndRange, LoadedSpinalFlexion, OverheadPressing, ProlongedSupine,
};
use crate::health::FitnessLevel::{self, Advanced, Beginner, Intermediate, Sedentary};

/// One exercise the plan can use.
#[derive(Debug, Clone, Copy)]
pub(super) struct ExerciseDef {
    pub(super) name: &'static str,
    /// Every restricted movement the exercise involves.
    pub(super) movements: &'static [Movement],
    /// The lowest fitness level it suits.
    pub(super) min_level: FitnessLevel,
    pub(super) dose: Dose,
    pub(super) rest_seconds: u32,
}

/// How an exercise is prescribed. Sets come from the client's fitness level.
#[derive(Debug, Clone, Copy)]
pub(super) enum Dose {
    /// Sets of this many reps.
    Reps(&'static str),
    /// Sets of a hold or carry of this many seconds.
    Hold(u32),
    /// One continuous block of this many seconds (warm-up, cardio).
    Continuous(u32),
}

/// One session of the first week.
#[derive(Debug, Clone, Copy)]
pub(super) struct SessionTemplate {
    pub(super) day: u8,
    pub(super) title: &'static str,
    /// Each slot: options in order of preference.
    pub(super) slots: &'static [&'static [ExerciseDef]],
}

const fn ex(
    name: &'static str,
    movements: &'static [Movement],
    min_level: FitnessLevel,
    dose: Dose,
    rest_seconds: u32,
) -> ExerciseDef {
    ExerciseDef {
        name,
        movements,
        min_level,
        dose,
        rest_seconds,
    }
}

const WARM_UP: &[ExerciseDef] = &[ex(
    "Brisk walk or easy cycling (warm-up)",
    &[],
    Sedentary,
    Dose::Continuous(300),
    0,
)];
const COOL_DOWN: &[ExerciseDef] = &[ex(
    "Easy walk and relaxed breathing (cool-down)",
    &[],
    Sedentary,
    Dose::Continuous(180),
    0,
)];
const HINGE: &[ExerciseDef] = &[
    ex(
        "Dumbbell Romanian deadlift",
        &[LoadedHipHinge],
        Beginner,
        Dose::Reps("8-10"),
        90,
    ),
    ex(
        "Glute bridge",
        &[ProlongedSupine],
        Sedentary,
        Dose::Reps("10-12"),
        60,
    ),
    ex(
        "Side-lying clamshell",
        &[],
        Sedentary,
        Dose::Reps("12 each side"),
        45,
    ),
];

/// The first week: three sessions, a rest day between each.
pub(super) const FIRST_WEEK: &[SessionTemplate] = &[
    SessionTemplate {
        day: 1,
        title: "Full-body strength A",
        slots: &[
            WARM_UP,
            &[
                ex(
                    "Barbell back squat",
                    &[DeepLoadedKneeFlexion, HeavyAxialLoading],
                    Advanced,
                    Dose::Reps("5-6"),
                    120,
                ),
                ex(
                    "Goblet squat",
                    &[DeepLoadedKneeFlexion],
                    Beginner,
                    Dose::Reps("8-10"),
                    90,
                ),
                ex(
                    "Box squat to parallel",
                    &[],
                    Sedentary,
                    Dose::Reps("8-10"),
                    90,
                ),
            ],
            &[
                ex(
                    "Barbell bench press",
                    &[ProlongedSupine],
                    Advanced,
                    Dose::Reps("6-8"),
                    120,
                ),
                ex(
                    "Dumbbell bench press",
                    &[ProlongedSupine],
                    Intermediate,
                    Dose::Reps("8-10"),
                    90,
                ),
                ex(
                    "Incline push-up (hands on a bench)",
                    &[],
                    Sedentary,
                    Dose::Reps("6-10"),
                    60,
                ),
            ],
            &[ex(
                "Single-arm dumbbell row",
                &[],
                Sedentary,
                Dose::Reps("8-10 each side"),
                60,
            )],
            &[
                ex(
                    "Hanging leg raise",
                    &[LoadedSpinalFlexion, IntraAbdominalPressure],
                    Advanced,
                    Dose::Reps("6-8"),
                    60,
                ),
                ex(
                    "Dead bug",
                    &[ProlongedSupine],
                    Sedentary,
                    Dose::Reps("6 each side"),
                    45,
                ),
                ex("Bird dog", &[], Sedentary, Dose::Reps("6 each side"), 45),
            ],
            COOL_DOWN,
        ],
    },
    SessionTemplate {
        day: 3,
        title: "Conditioning and single-leg strength",
        slots: &[
            WARM_UP,
            &[
                ex(
                    "Box jump",
                    &[Jumping, HighImpact],
                    Intermediate,
                    Dose::Reps("5"),
                    90,
                ),
                ex(
                    "Step-up onto a low box",
                    &[],
                    Sedentary,
                    Dose::Reps("8 each side"),
                    60,
                ),
            ],
            &[
                ex(
                    "Walking lunge",
                    &[DeepLoadedKneeFlexion],
                    Intermediate,
                    Dose::Reps("8 each side"),
                    90,
                ),
                ex(
                    "Reverse lunge",
                    &[DeepLoadedKneeFlexion],
                    Beginner,
                    Dose::Reps("6 each side"),
                    60,
                ),
                ex(
                    "Lateral band walk",
                    &[],
                    Sedentary,
                    Dose::Reps("10 steps each way"),
                    45,
                ),
            ],
            HINGE,
            &[
                ex(
                    "Jog intervals (1 min easy jog, 1 min walk)",
                    &[HighImpact],
                    Beginner,
                    Dose::Continuous(720),
                    0,
                ),
                ex(
                    "Stationary bike intervals",
                    &[],
                    Sedentary,
                    Dose::Continuous(600),
                    0,
                ),
            ],
            &[
                ex(
                    "Front plank",
                    &[IntraAbdominalPressure],
                    Beginner,
                    Dose::Hold(20),
                    45,
                ),
                ex(
                    "Diaphragmatic breathing with gentle core activation",
                    &[],
                    Sedentary,
                    Dose::Continuous(120),
                    0,
                ),
            ],
            COOL_DOWN,
        ],
    },
    SessionTemplate {
        day: 5,
        title: "Full-body strength B",
        slots: &[
            WARM_UP,
            &[
                ex(
                    "Barbell deadlift",
                    &[LoadedHipHinge, HeavyAxialLoading],
                    Advanced,
                    Dose::Reps("5"),
                    120,
                ),
                HINGE[0],
                ex(
                    "Hip hinge drill with a dowel",
                    &[],
                    Sedentary,
                    Dose::Reps("10"),
                    45,
                ),
            ],
            &[
                ex(
                    "Standing barbell overhead press",
                    &[OverheadPressing],
                    Advanced,
                    Dose::Reps("6-8"),
                    120,
                ),
                ex(
                    "Half-kneeling dumbbell overhead press",
                    &[OverheadPressing],
                    Beginner,
                    Dose::Reps("8 each side"),
                    60,
                ),
                ex(
                    "Landmine press",
                    &[],
                    Sedentary,
                    Dose::Reps("8 each side"),
                    60,
                ),
            ],
            &[
                ex(
                    "Pull-up",
                    &[LoadedShoulderEndRange],
                    Advanced,
                    Dose::Reps("5-8"),
                    120,
                ),
                ex(
                    "Lat pulldown",
                    &[LoadedShoulderEndRange],
                    Intermediate,
                    Dose::Reps("8-10"),
                    90,
                ),
                ex("Seated cable row", &[], Sedentary, Dose::Reps("10-12"), 60),
            ],
            &[ex("Suitcase carry", &[], Sedentary, Dose::Hold(30), 60)],
            &[ex(
                "Single-leg balance near a wall",
                &[],
                Sedentary,
                Dose::Hold(20),
                30,
            )],
            COOL_DOWN,
        ],
    },
];

/// Sets per exercise by fitness level (absent: beginner).
pub(super) fn sets_for(level: FitnessLevel) -> u8 {
    match level {
        Sedentary => 1,
        Beginner => 2,
        Intermediate | Advanced => 3,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::answer::terms_in;
    use super::*;

    #[test]
    fn every_slot_ends_with_an_exercise_anyone_can_do() {
        for session in FIRST_WEEK {
            for slot in session.slots {
                let last = slot.last().expect("a slot has options");
                assert!(last.movements.is_empty(), "{}", last.name);
                assert_eq!(last.min_level, Sedentary, "{}", last.name);
            }
        }
    }

    #[test]
    fn every_planned_exercise_means_the_same_to_the_question_vocabulary() {
        for def in FIRST_WEEK
            .iter()
            .flat_map(|s| s.slots.iter().copied().flatten())
        {
            let terms = terms_in(def.name);
            assert!(!terms.is_empty(), "{} is not in the vocabulary", def.name);
            let understood: BTreeSet<Movement> = terms
                .iter()
                .flat_map(|t| t.movements.iter().copied())
                .collect();
            let involved: BTreeSet<Movement> = def.movements.iter().copied().collect();
            assert_eq!(understood, involved, "{}", def.name);
        }
    }
}
