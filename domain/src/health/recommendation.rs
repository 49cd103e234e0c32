//! The recommendation every provider returns, LLM or rules engine. The doc comments on
//! these types are the field descriptions in [`Recommendation::json_schema`], so they are
//! written for the model as much as for the reader.

use std::collections::BTreeSet;

use schemars::generate::SchemaSettings;
use schemars::transform::{RecursiveTransform, RestrictFormats};
use schemars::Schema;
use serde::{Deserialize, Serialize};

use super::{check, redacted_debug, FieldError};

/// Most sessions in a first week.
const MAX_SESSIONS: usize = 7;
/// Most exercises in one session.
const MAX_EXERCISES: usize = 20;

/// A trainer-facing recommendation for a new client, derived from their health intake.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Recommendation {
    /// Two to five plain-English sentences for the trainer: what the intake shows, what
    /// to avoid and how hard to train. No diagnosis.
    pub summary: String,
    /// Whether the client must be cleared by a doctor before training, and why.
    pub medical_clearance: MedicalClearance,
    /// Movements to avoid for now, one entry per movement code.
    pub contraindications: Vec<Contraindication>,
    /// What the first weeks of training should emphasise.
    pub focus_areas: Vec<FocusArea>,
    /// How hard the client should work.
    pub intensity: Intensity,
    /// The first week's sessions (1 to 7), none using a contraindicated movement.
    pub first_week: Vec<Session>,
    /// Questions the trainer should ask the client before or at the first session.
    pub follow_up_questions: Vec<String>,
}

/// Whether medical clearance is needed before training.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct MedicalClearance {
    /// True exactly when `reasons` is not empty.
    pub required: bool,
    /// Why clearance is needed, one entry per reason.
    pub reasons: Vec<ClearanceReason>,
}

/// One reason medical clearance is needed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ClearanceReason {
    /// Stable snake_case code, e.g. `parq_chest_pain`.
    pub code: String,
    /// The reason in plain English.
    pub text: String,
    /// The guideline or screening tool this follows, e.g. `PAR-Q+ 2023`.
    pub source: String,
}

/// A movement to avoid for now.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Contraindication {
    /// Stable snake_case movement code, e.g. `deep_loaded_knee_flexion`, `jumping`.
    pub movement: String,
    /// What the movement is, with examples of exercises that involve it.
    pub description: String,
    /// Why this client should avoid it.
    pub reason: String,
    /// What to do instead, one alternative per entry; may be empty.
    pub alternatives: Vec<String>,
    /// The guideline this follows.
    pub source: String,
}

/// Something the first weeks should emphasise.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct FocusArea {
    /// A short name, e.g. `Balance`.
    pub area: String,
    /// Why it matters for this client.
    pub why: String,
}

/// How hard to train, as rating of perceived exertion (RPE, 1 = resting, 10 = maximal).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Intensity {
    /// Lowest target RPE, 1..=10, at most `rpe_max`.
    #[schemars(range(min = 1, max = 10))]
    pub rpe_min: u8,
    /// Highest target RPE, 1..=10.
    #[schemars(range(min = 1, max = 10))]
    pub rpe_max: u8,
    /// How to use (or not use) heart rate, when it matters; null otherwise.
    pub heart_rate_guidance: Option<String>,
    /// Cues about effort, breathing and warning signs, one per entry.
    pub notes: Vec<String>,
}

/// One session of the first week.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Session {
    /// Day of the week, 1..=7 (1 = the first training day); one session per day.
    #[schemars(range(min = 1, max = 7))]
    pub day: u8,
    /// A short title, e.g. `Full-body strength A`.
    pub title: String,
    /// The exercises in order (1 to 20).
    pub exercises: Vec<Exercise>,
}

/// One exercise with its prescription: sets and reps, or a duration, or both.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Exercise {
    /// The exercise's common name.
    pub name: String,
    /// Movement codes this exercise involves, from the same vocabulary as
    /// `contraindications[].movement`; empty when it involves none of them. No code here
    /// may be contraindicated.
    pub movements: Vec<String>,
    /// Number of sets, 1..=20; null for continuous work.
    #[schemars(range(min = 1, max = 20))]
    pub sets: Option<u8>,
    /// Repetitions per set, e.g. `8-10` or `5 each side`; null for timed work.
    pub reps: Option<String>,
    /// Seconds per set (holds) or in total (continuous work), 1..=7200; null otherwise.
    #[schemars(range(min = 1, max = 7200))]
    pub duration_seconds: Option<u32>,
    /// Rest after each set, in seconds, 0..=600.
    #[schemars(range(max = 600))]
    pub rest_seconds: u32,
    /// Adjustments for this client, one per entry.
    pub modifications: Vec<String>,
}

redacted_debug!(
    MedicalClearance,
    ClearanceReason,
    Contraindication,
    FocusArea,
    Intensity,
    Session,
    Exercise,
);

/// Counts only: a recommendation reveals the health data it was derived from.
impl std::fmt::Debug for Recommendation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Recommendation {{ {} contraindications, {} sessions, .. }}",
            self.contraindications.len(),
            self.first_week.len()
        )
    }
}

impl Recommendation {
    /// Checks an answer, typically from an LLM, before it is recorded: every text
    /// non-blank and bounded, every list bounded, codes well-formed and unique, RPE
    /// ordered within 1..=10, 1..=7 sessions on distinct days, every exercise
    /// prescribed, and no planned exercise using a contraindicated movement.
    pub fn validate(&self) -> Result<(), FieldError> {
        check::long_text("summary", &self.summary)?;

        let clearance = &self.medical_clearance;
        check::list("medical_clearance.reasons", &clearance.reasons)?;
        if clearance.required == clearance.reasons.is_empty() {
            return Err(FieldError::new(
                "medical_clearance.required",
                "not_allowed",
                "clearance is required exactly when there are reasons for it",
            ));
        }
        let mut codes = BTreeSet::new();
        for (i, reason) in clearance.reasons.iter().enumerate() {
            let path = format!("medical_clearance.reasons[{i}]");
            check::code(&format!("{path}.code"), &reason.code)?;
            check::long_text(&format!("{path}.text"), &reason.text)?;
            check::long_text(&format!("{path}.source"), &reason.source)?;
            if !codes.insert(reason.code.as_str()) {
                return Err(duplicate(format!("{path}.code")));
            }
        }

        check::list("contraindications", &self.contraindications)?;
        let mut avoided = BTreeSet::new();
        for (i, c) in self.contraindications.iter().enumerate() {
            let path = format!("contraindications[{i}]");
            check::code(&format!("{path}.movement"), &c.movement)?;
            check::long_text(&format!("{path}.description"), &c.description)?;
            check::long_text(&format!("{path}.reason"), &c.reason)?;
            check::list(&format!("{path}.alternatives"), &c.alternatives)?;
            for (k, alternative) in c.alternatives.iter().enumerate() {
                check::short_text(&format!("{path}.alternatives[{k}]"), alternative)?;
            }
            check::long_text(&format!("{path}.source"), &c.source)?;
            if !avoided.insert(c.movement.as_str()) {
                return Err(duplicate(format!("{path}.movement")));
            }
        }

        check::list("focus_areas", &self.focus_areas)?;
        for (i, focus) in self.focus_areas.iter().enumerate() {
            check::short_text(&format!("focus_areas[{i}].area"), &focus.area)?;
            check::long_text(&format!("focus_areas[{i}].why"), &focus.why)?;
        }

        let intensity = &self.intensity;
        check::range("intensity.rpe_min", intensity.rpe_min, 1, 10)?;
        check::range(
            "intensity.rpe_max",
            intensity.rpe_max,
            intensity.rpe_min,
            10,
        )?;
        if let Some(text) = &intensity.heart_rate_guidance {
            check::long_text("intensity.heart_rate_guidance", text)?;
        }
        check::list("intensity.notes", &intensity.notes)?;
        for (i, note) in intensity.notes.iter().enumerate() {
            check::long_text(&format!("intensity.notes[{i}]"), note)?;
        }

        check::list_between("first_week", &self.first_week, 1, MAX_SESSIONS)?;
        let mut days = BTreeSet::new();
        for (i, session) in self.first_week.iter().enumerate() {
            let path = format!("first_week[{i}]");
            check::range(&format!("{path}.day"), session.day, 1, 7)?;
            if !days.insert(session.day) {
                return Err(duplicate(format!("{path}.day")));
            }
            check::short_text(&format!("{path}.title"), &session.title)?;
            check::list_between(
                &format!("{path}.exercises"),
                &session.exercises,
                1,
                MAX_EXERCISES,
            )?;
            for (j, exercise) in session.exercises.iter().enumerate() {
                exercise.validate(&format!("{path}.exercises[{j}]"), &avoided)?;
            }
        }

        check::list("follow_up_questions", &self.follow_up_questions)?;
        for (i, q) in self.follow_up_questions.iter().enumerate() {
            check::long_text(&format!("follow_up_questions[{i}]"), q)?;
        }
        Ok(())
    }

    /// The JSON Schema of a recommendation, for an LLM's structured-output
    /// `response_format`. Shaped for OpenAI's strict mode, which the other providers'
    /// JSON modes also accept: one self-contained object schema (no `$ref`), every
    /// object closed (`additionalProperties: false`) with all its properties listed in
    /// `required` (optional values are nullable instead), and no `format` keywords
    /// beyond the standard ones (`uint8` and friends are refused there). Field
    /// descriptions come from the doc comments above.
    pub fn json_schema() -> serde_json::Value {
        strict_schema::<Self>()
    }
}

/// The JSON schema of `T` as strict structured output wants it: subschemas inlined,
/// every object closed with every property required, only the formats models know.
pub(crate) fn strict_schema<T: schemars::JsonSchema>() -> serde_json::Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .with_transform(RecursiveTransform(close_objects))
        .with_transform(RestrictFormats::default())
        .into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// Strict structured output wants every object closed and every property required.
fn close_objects(schema: &mut Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let Some(properties) = object.get("properties").and_then(|p| p.as_object()) else {
        return;
    };
    let required: Vec<serde_json::Value> = properties
        .keys()
        .map(|k| serde_json::Value::String(k.clone()))
        .collect();
    object.insert("required".into(), serde_json::Value::Array(required));
    object.insert(
        "additionalProperties".into(),
        serde_json::Value::Bool(false),
    );
}

impl Exercise {
    fn validate(&self, path: &str, avoided: &BTreeSet<&str>) -> Result<(), FieldError> {
        check::short_text(&format!("{path}.name"), &self.name)?;
        check::list(&format!("{path}.movements"), &self.movements)?;
        for (k, movement) in self.movements.iter().enumerate() {
            let movement_path = format!("{path}.movements[{k}]");
            check::code(&movement_path, movement)?;
            if avoided.contains(movement.as_str()) {
                return Err(FieldError::new(
                    movement_path,
                    "contraindicated",
                    "the plan uses a movement the recommendation says to avoid",
                ));
            }
        }
        if let Some(sets) = self.sets {
            check::range(&format!("{path}.sets"), sets, 1, 20)?;
        }
        if let Some(reps) = &self.reps {
            check::short_text(&format!("{path}.reps"), reps)?;
        }
        if let Some(seconds) = self.duration_seconds {
            check::range(&format!("{path}.duration_seconds"), seconds, 1, 7200)?;
        }
        if self.reps.is_none() && self.duration_seconds.is_none() {
            return Err(FieldError::new(
                format!("{path}.reps"),
                "required",
                "an exercise needs reps or a duration",
            ));
        }
        check::range(&format!("{path}.rest_seconds"), self.rest_seconds, 0, 600)?;
        check::list(&format!("{path}.modifications"), &self.modifications)?;
        for (k, m) in self.modifications.iter().enumerate() {
            check::short_text(&format!("{path}.modifications[{k}]"), m)?;
        }
        Ok(())
    }
}

fn duplicate(path: String) -> FieldError {
    FieldError::new(path, "duplicate", "appears more than once")
}
