//! # The rules engine
//!
//! The deterministic provider: turns a [`HealthSubmission`] into a [`Recommendation`]
//! without any model, and answers trainers' "can she do X?" questions. It is the default
//! when no LLM is configured, and the floor under one: [`answer`] never clears a
//! movement that these rules rule out, whatever the recommendation says.
//!
//! Every rule is data: a row of [`RULES`] (in `table.rs`) saying *when* it applies (a
//! [`Condition`] on the intake), which movements to avoid, what to do instead, whether
//! to ask for medical clearance, what to focus on, how to cap effort, and the guideline
//! it follows. The engine (`engine.rs`) applies every matching row, merges them, and
//! builds the first week from a small exercise library (`library.rs`) whose exercises
//! carry the [`Movement`]s they involve, so no planned exercise uses an avoided one.
//!
//! ```text
//! HealthSubmission ──► RULES matching (table order) ──► merge by movement / code
//!   ──► intensity from fitness level, capped ──► first week: per slot, the first
//!       option the client's level allows that involves no avoided movement
//!   ──► Recommendation (same input, same output: no hash-map order anywhere)
//! ```

mod answer;
mod engine;
mod library;
mod movement;
mod table;

pub use answer::{answer, Answer, Verdict};
pub use engine::recommend;
pub use movement::{Movement, Term, VOCABULARY};
pub use table::RULES;

#[cfg(doc)]
use super::Recommendation;
use super::{
    BodyArea, Delivery, FitnessLevel, HealthSubmission, InjuryStatus, Maternity, MedicalCondition,
    MedicationFlag, ParqQuestion, SurgeryKind,
};

/// One rule: when it applies and what it changes. Every field but `id`, `finding`,
/// `when` and `source` is optional; [`Rule::NONE`] fills them in table rows.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable, unique snake_case id.
    pub id: &'static str,
    /// What the rule found, to finish "The intake shows ..." in the summary: "a knee
    /// injury that has not resolved".
    pub finding: &'static str,
    /// The id of a broader rule this one narrows (pregnancy past week 13 narrows
    /// pregnancy). When both apply, the summary names only this one's finding.
    pub refines: Option<&'static str>,
    /// When the rule applies.
    pub when: Condition,
    /// Movements to avoid, each with why (a sentence).
    pub contraindications: &'static [(Movement, &'static str)],
    /// What to do instead of a movement: an alternative, listed with the movement's
    /// contraindication and offered in answers about it.
    pub modifications: &'static [(Movement, &'static str)],
    /// Reasons medical clearance is required: (stable code, sentence).
    pub flags: &'static [(&'static str, &'static str)],
    /// What to focus on: (area, why).
    pub focus: &'static [(&'static str, &'static str)],
    /// Highest RPE allowed while this rule applies.
    pub rpe_cap: Option<u8>,
    /// How to use heart rate, when the rule changes that.
    pub heart_rate_guidance: Option<&'static str>,
    /// Cues for effort, breathing and warning signs.
    pub notes: &'static [&'static str],
    /// Questions for the trainer to ask.
    pub follow_up: &'static [&'static str],
    /// The guideline or screening tool the rule follows.
    pub source: &'static str,
}

impl Rule {
    /// A rule that changes nothing, to fill in the optional fields of a table row.
    pub const NONE: Self = Self {
        id: "",
        finding: "",
        refines: None,
        when: Condition::Never,
        contraindications: &[],
        modifications: &[],
        flags: &[],
        focus: &[],
        rpe_cap: None,
        heart_rate_guidance: None,
        notes: &[],
        follow_up: &[],
        source: "",
    };

    /// Whether the rule applies to this submission.
    pub fn applies_to(&self, submission: &HealthSubmission) -> bool {
        self.when.matches(submission)
    }
}

/// When a rule applies, matched against the intake.
#[derive(Debug, Clone, Copy)]
pub enum Condition {
    /// Never (the default of [`Rule::NONE`]).
    Never,
    /// The PAR-Q+ question was answered yes and no professional has cleared it.
    ParqYesWithoutClearance(ParqQuestion),
    /// The PAR-Q+ question was answered yes, cleared or not.
    ParqYes(ParqQuestion),
    /// The condition was declared.
    Diagnosis(MedicalCondition),
    /// An injury in this area; with `active_only`, one that has not resolved.
    Injury { area: BodyArea, active_only: bool },
    /// An acute injury in this area.
    AcuteInjury(BodyArea),
    /// Pain in this area at `level` or more (0..=10).
    PainAtLeast { area: BodyArea, level: u8 },
    /// Pregnant, at `from_week` completed weeks or later.
    Pregnancy { from_week: u8 },
    /// Complications of a pregnancy or birth were reported.
    MaternityComplications,
    /// Gave birth at most `within_weeks` ago; by this delivery, or any when `None`.
    Postpartum {
        delivery: Option<Delivery>,
        within_weeks: u16,
    },
    /// A surgery of this kind at most `within_weeks` before the submission.
    RecentSurgery {
        kind: SurgeryKind,
        within_weeks: i64,
    },
    /// A medication with this flag.
    Medication(MedicationFlag),
    /// This self-assessed fitness level.
    FitnessLevel(FitnessLevel),
    /// Any of these.
    Any(&'static [Condition]),
    /// All of these.
    All(&'static [Condition]),
    /// Not this.
    Not(&'static Condition),
}

impl Condition {
    /// Whether the submission meets the condition.
    pub fn matches(&self, s: &HealthSubmission) -> bool {
        match *self {
            Self::Never => false,
            Self::ParqYesWithoutClearance(q) => s.parq.get(q).is_uncleared_yes(),
            Self::ParqYes(q) => s.parq.get(q).answer,
            Self::Diagnosis(kind) => s.conditions.iter().any(|c| c.kind == kind),
            Self::Injury { area, active_only } => s
                .injuries
                .iter()
                .any(|i| i.area == area && (!active_only || i.is_active())),
            Self::AcuteInjury(area) => s
                .injuries
                .iter()
                .any(|i| i.area == area && i.status == InjuryStatus::Acute),
            Self::PainAtLeast { area, level } => {
                s.pain.iter().any(|p| p.area == area && p.level >= level)
            }
            Self::Pregnancy { from_week } => matches!(
                s.maternity,
                Some(Maternity::Pregnancy { weeks, .. }) if weeks >= from_week
            ),
            Self::MaternityComplications => {
                s.maternity.as_ref().is_some_and(Maternity::complications)
            }
            Self::Postpartum {
                delivery,
                within_weeks,
            } => matches!(
                s.maternity,
                Some(Maternity::Postpartum { weeks_since_birth, delivery: d, .. })
                    if weeks_since_birth <= within_weeks && delivery.is_none_or(|want| want == d)
            ),
            Self::RecentSurgery { kind, within_weeks } => {
                let as_of = s.as_of();
                s.surgeries.iter().any(|surgery| {
                    surgery.kind == kind && surgery.when.weeks_before(as_of) <= within_weeks
                })
            }
            Self::Medication(flag) => s.medications.iter().any(|m| m.flags.contains(&flag)),
            Self::FitnessLevel(level) => s.fitness_level == Some(level),
            Self::Any(conditions) => conditions.iter().any(|c| c.matches(s)),
            Self::All(conditions) => conditions.iter().all(|c| c.matches(s)),
            Self::Not(condition) => !condition.matches(s),
        }
    }
}
