//! The movement vocabulary: what rules forbid, what exercises involve, and what the
//! words in a trainer's question mean. One code per movement, stable, because
//! recommendations store it and an LLM is asked to use it.

/// A movement pattern that some health situations rule out. Ordered: recommendations
/// list contraindications in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Movement {
    DeepLoadedKneeFlexion,
    Jumping,
    HighImpact,
    ProlongedSupine,
    ContactOrFallRisk,
    HeavyValsalva,
    MaximalIsometric,
    LoadedSpinalFlexion,
    LoadedSpinalRotation,
    HeavyAxialLoading,
    LoadedHipHinge,
    IntraAbdominalPressure,
    OverheadPressing,
    LoadedShoulderEndRange,
}

impl Movement {
    /// Every movement, in order.
    pub const ALL: [Self; 14] = [
        Self::DeepLoadedKneeFlexion,
        Self::Jumping,
        Self::HighImpact,
        Self::ProlongedSupine,
        Self::ContactOrFallRisk,
        Self::HeavyValsalva,
        Self::MaximalIsometric,
        Self::LoadedSpinalFlexion,
        Self::LoadedSpinalRotation,
        Self::HeavyAxialLoading,
        Self::LoadedHipHinge,
        Self::IntraAbdominalPressure,
        Self::OverheadPressing,
        Self::LoadedShoulderEndRange,
    ];

    /// The stable code, as stored in recommendations.
    pub fn code(self) -> &'static str {
        self.info().0
    }

    /// A lower-case name for sentences: "deep loaded knee flexion".
    pub fn label(self) -> &'static str {
        self.info().1
    }

    /// What the movement is, with examples.
    pub fn description(self) -> &'static str {
        self.info().2
    }

    /// The movement with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }

    fn info(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Self::DeepLoadedKneeFlexion => (
                "deep_loaded_knee_flexion",
                "deep loaded knee flexion",
                "Squatting or lunging below parallel under load: deep squats, lunges, split \
                 squats, pistol squats, leg press.",
            ),
            Self::Jumping => (
                "jumping",
                "plyometric jumping",
                "Jumps, hops and landings: box jumps, jump squats, skipping, burpees.",
            ),
            Self::HighImpact => (
                "high_impact",
                "high-impact work",
                "Repeated impact through the legs and spine: running, jumping, bounding, \
                 impact aerobics.",
            ),
            Self::ProlongedSupine => (
                "prolonged_supine",
                "lying flat on the back",
                "Lying flat on the back for more than a few minutes: flat bench press, dead \
                 bugs, glute bridges, supine core work.",
            ),
            Self::ContactOrFallRisk => (
                "contact_or_fall_risk",
                "contact or fall-risk activities",
                "Contact, collisions and a high risk of falling: sparring, contact sports, \
                 skating, climbing, trampolines.",
            ),
            Self::HeavyValsalva => (
                "heavy_valsalva",
                "heavy breath-held efforts",
                "Near-maximal lifts with the breath held (Valsalva): heavy singles, one-rep \
                 maxes, grinding reps to failure.",
            ),
            Self::MaximalIsometric => (
                "maximal_isometric",
                "maximal isometric holds",
                "Holding a maximal or near-maximal contraction: wall sits or planks to \
                 failure, heavy static holds.",
            ),
            Self::LoadedSpinalFlexion => (
                "loaded_spinal_flexion",
                "loaded spinal flexion",
                "Bending the spine forward against load or repeatedly: sit-ups, crunches, \
                 leg raises, weighted toe touches, rounded-back lifting.",
            ),
            Self::LoadedSpinalRotation => (
                "loaded_spinal_rotation",
                "loaded spinal twisting",
                "Twisting the spine against load: Russian twists, loaded woodchops.",
            ),
            Self::HeavyAxialLoading => (
                "heavy_axial_loading",
                "heavy spinal loading",
                "Heavy load compressing the spine: barbell back and front squats, barbell \
                 deadlifts.",
            ),
            Self::LoadedHipHinge => (
                "loaded_hip_hinge",
                "loaded hip hinging",
                "Bending at the hips under load: deadlift variations, Romanian deadlifts, \
                 kettlebell swings, good mornings.",
            ),
            Self::IntraAbdominalPressure => (
                "intra_abdominal_pressure",
                "high intra-abdominal pressure",
                "Work that drives pressure into the abdomen: heavy bracing, crunches and \
                 sit-ups, planks, heavy lifts.",
            ),
            Self::OverheadPressing => (
                "overhead_pressing",
                "overhead pressing",
                "Pressing or holding load overhead: shoulder press, push press, snatches, \
                 handstands.",
            ),
            Self::LoadedShoulderEndRange => (
                "loaded_shoulder_end_range",
                "loaded end-range shoulder positions",
                "Load at the end of the shoulder's range: dips, pull-ups and lat pulldowns, \
                 behind-the-neck work, deep flyes.",
            ),
        }
    }
}

/// What a word in a trainer's question means: the keywords that name it and the
/// movements it involves (none for a movement no rule restricts).
#[derive(Debug, Clone, Copy)]
pub struct Term {
    /// Lower-case keywords; one matches at the start of a word, with an ordinary
    /// English ending (`jump` matches "jumps" and "jumping", not "jumpsuit"). Spaces and
    /// hyphens are interchangeable.
    pub keywords: &'static [&'static str],
    /// The plural name for sentences: "box jumps".
    pub name: &'static str,
    pub movements: &'static [Movement],
}

use Movement::{
    ContactOrFallRisk, DeepLoadedKneeFlexion, HeavyAxialLoading, HeavyValsalva, HighImpact,
    IntraAbdominalPressure, Jumping, LoadedHipHinge, LoadedShoulderEndRange, LoadedSpinalFlexion,
    LoadedSpinalRotation, MaximalIsometric, OverheadPressing, ProlongedSupine,
};

const fn term(
    keywords: &'static [&'static str],
    name: &'static str,
    movements: &'static [Movement],
) -> Term {
    Term {
        keywords,
        name,
        movements,
    }
}

/// Exercises and activities trainers ask about. A longer keyword wins over a shorter
/// one it overlaps ("box squat" over "squat"), so specific safe variations can sit
/// beside the general term. Every exercise in the first-week library is named here
/// (a test checks it), so an answer about a planned exercise agrees with the plan.
pub static VOCABULARY: &[Term] = &[
    // Jumping and impact.
    term(&["box jump"], "box jumps", &[Jumping, HighImpact]),
    term(
        &["jump squat", "squat jump"],
        "jump squats",
        &[Jumping, HighImpact],
    ),
    term(&["burpee"], "burpees", &[Jumping, HighImpact]),
    term(
        &["skipping", "jump rope", "double under"],
        "skipping",
        &[Jumping, HighImpact],
    ),
    term(
        &["plyometric", "plyo", "jump", "hop", "bounding"],
        "jumps",
        &[Jumping, HighImpact],
    ),
    term(
        &["hiit", "bootcamp", "boot camp"],
        "HIIT classes (usually jumps and impact)",
        &[Jumping, HighImpact],
    ),
    term(&["run", "jog", "sprint"], "running", &[HighImpact]),
    // Knees.
    term(
        &["back squat", "front squat"],
        "barbell squats",
        &[DeepLoadedKneeFlexion, HeavyAxialLoading],
    ),
    term(
        &["squat", "pistol", "leg press"],
        "squats",
        &[DeepLoadedKneeFlexion],
    ),
    term(&["box squat"], "box squats to parallel", &[]),
    term(
        &["lunge", "split squat"],
        "lunges",
        &[DeepLoadedKneeFlexion],
    ),
    term(&["step up"], "step-ups", &[]),
    term(&["band walk", "lateral walk"], "band walks", &[]),
    // Hinges and the back.
    term(
        &["deadlift"],
        "deadlifts",
        &[LoadedHipHinge, HeavyAxialLoading],
    ),
    term(
        &[
            "romanian deadlift",
            "rdl",
            "good morning",
            "kettlebell swing",
            "kb swing",
        ],
        "Romanian deadlifts and swings",
        &[LoadedHipHinge],
    ),
    term(&["hinge drill"], "unloaded hip-hinge drills", &[]),
    term(
        &["glute bridge", "bridge"],
        "glute bridges",
        &[ProlongedSupine],
    ),
    term(&["clamshell", "clam shell"], "clamshells", &[]),
    // Core.
    term(
        &[
            "sit up",
            "situp",
            "crunch",
            "v up",
            "toe touch",
            "leg raise",
            "toes to bar",
        ],
        "sit-ups and crunches",
        &[LoadedSpinalFlexion, IntraAbdominalPressure],
    ),
    term(
        &["russian twist", "woodchop", "wood chop"],
        "loaded twists",
        &[LoadedSpinalRotation],
    ),
    term(&["plank"], "planks", &[IntraAbdominalPressure]),
    term(&["dead bug"], "dead bugs", &[ProlongedSupine]),
    term(&["bird dog"], "bird dogs", &[]),
    term(&["breathing"], "breathing drills", &[]),
    term(&["wall sit"], "wall sits", &[MaximalIsometric]),
    // Upper body.
    term(
        &["bench press", "chest press", "floor press"],
        "bench presses",
        &[ProlongedSupine],
    ),
    term(
        &["chest fly", "flye", "flys"],
        "chest flyes",
        &[ProlongedSupine, LoadedShoulderEndRange],
    ),
    term(&["incline bench", "incline press"], "incline presses", &[]),
    term(&["push up", "pushup", "press up"], "push-ups", &[]),
    term(
        &[
            "overhead press",
            "shoulder press",
            "military press",
            "push press",
            "arnold press",
            "snatch",
            "jerk",
            "handstand",
            "overhead",
        ],
        "overhead presses",
        &[OverheadPressing],
    ),
    term(&["landmine press"], "landmine presses", &[]),
    term(&["dip"], "dips", &[LoadedShoulderEndRange]),
    term(
        &[
            "pull up",
            "pullup",
            "chin up",
            "chinup",
            "muscle up",
            "lat pulldown",
            "pulldown",
        ],
        "pull-ups and pulldowns",
        &[LoadedShoulderEndRange],
    ),
    term(&["row"], "rows", &[]),
    term(&["carry", "farmer"], "loaded carries", &[]),
    term(&["balance"], "balance work", &[]),
    // Maximal efforts.
    term(
        &[
            "maximal",
            "max lift",
            "max effort",
            "max out",
            "1rm",
            "one rep max",
            "heavy single",
        ],
        "maximal lifts",
        &[HeavyValsalva],
    ),
    // Sports and activities.
    term(
        &[
            "sparring",
            "contact sport",
            "rugby",
            "martial art",
            "judo",
            "wrestling",
        ],
        "contact sports",
        &[ContactOrFallRisk],
    ),
    term(
        &[
            "skating",
            "skiing",
            "climbing",
            "horse riding",
            "trampoline",
        ],
        "fall-risk activities",
        &[ContactOrFallRisk],
    ),
    term(
        &["bike", "cycling", "spin class", "spinning"],
        "cycling",
        &[],
    ),
    term(&["walk"], "walking", &[]),
    term(&["swim"], "swimming", &[]),
];
