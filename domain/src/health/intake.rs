//! The health intake form's content, version [`FORM_VERSION`]. Parsed at the boundary
//! (serde refuses unknown fields), then [`HealthSubmission::validate`] checks every
//! bound and the one cross-field rule: a PAR-Q+ "yes" needs its follow-up.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::{check, redacted_debug, Consent, FieldError};

/// The version of the form these types describe. A change to the questions is a new
/// version (and, for stored events, a new event version with an upcaster).
pub const FORM_VERSION: u32 = 1;

/// Longest a pregnancy can be, in weeks.
const MAX_PREGNANCY_WEEKS: u8 = 45;
/// After this many weeks since birth the form no longer asks about postpartum.
const MAX_POSTPARTUM_WEEKS: u16 = 104;
/// "Months ago" further back than this is a typo.
const MAX_MONTHS_AGO: u16 = 1200;

/// A client's answers to the health intake form.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct HealthSubmission {
    /// The form version the client filled in; only [`FORM_VERSION`] is accepted.
    pub form_version: u32,
    /// The consent this submission was given under.
    pub consent: Consent,
    /// The seven PAR-Q+ 2023 general health questions, all answered.
    pub parq: ParqAnswers,
    /// Diagnosed conditions (at most 50).
    #[serde(default)]
    pub conditions: Vec<ConditionEntry>,
    /// Injuries, current or past (at most 50).
    #[serde(default)]
    pub injuries: Vec<Injury>,
    /// Surgeries (at most 50).
    #[serde(default)]
    pub surgeries: Vec<Surgery>,
    /// Medications taken now (at most 50).
    #[serde(default)]
    pub medications: Vec<Medication>,
    /// Pregnant now or recently given birth; absent otherwise.
    #[serde(default)]
    pub maternity: Option<Maternity>,
    /// Where it hurts now, and how much (at most 50).
    #[serde(default)]
    pub pain: Vec<PainArea>,
    /// Self-assessed; absent when the client did not say (treated as beginner).
    #[serde(default)]
    pub fitness_level: Option<FitnessLevel>,
    /// Anything else that limits what the client can do (up to 4000 characters).
    #[serde(default)]
    pub limitations: Option<String>,
    /// What the client wants to achieve (up to 4000 characters).
    #[serde(default)]
    pub goals: Option<String>,
}

impl HealthSubmission {
    /// A submission with every PAR-Q+ answer "no" and nothing else declared.
    pub fn new(consent: Consent) -> Self {
        Self {
            form_version: FORM_VERSION,
            consent,
            parq: ParqAnswers::default(),
            conditions: Vec::new(),
            injuries: Vec::new(),
            surgeries: Vec::new(),
            medications: Vec::new(),
            maternity: None,
            pain: Vec::new(),
            fitness_level: None,
            limitations: None,
            goals: None,
        }
    }

    /// The day recency is measured from: the day consent was given (see
    /// [`Consent::given_at`]).
    pub fn as_of(&self) -> NaiveDate {
        self.consent.given_at.date_naive()
    }

    /// Checks every bound; returns the first offending field by its path.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.form_version != FORM_VERSION {
            return Err(FieldError::new(
                "form_version",
                "unsupported_version",
                format!("only form version {FORM_VERSION} is accepted"),
            ));
        }
        check::range(
            "consent.text_version",
            self.consent.text_version,
            1,
            u32::MAX,
        )?;
        self.parq.validate()?;
        let as_of = self.as_of();

        check::list("conditions", &self.conditions)?;
        for (i, c) in self.conditions.iter().enumerate() {
            let path = format!("conditions[{i}]");
            optional_short(&format!("{path}.detail"), c.detail.as_deref())?;
            if c.kind == MedicalCondition::Other && c.detail.is_none() {
                return Err(FieldError::new(
                    format!("{path}.detail"),
                    "required",
                    "name the condition when it is `other`",
                ));
            }
        }

        check::list("injuries", &self.injuries)?;
        for (i, injury) in self.injuries.iter().enumerate() {
            let path = format!("injuries[{i}]");
            optional_short(&format!("{path}.note"), injury.note.as_deref())?;
            if injury.area == BodyArea::Other && injury.note.is_none() {
                return Err(FieldError::new(
                    format!("{path}.note"),
                    "required",
                    "say where the injury is when the area is `other`",
                ));
            }
            if let Some(when) = &injury.when {
                when.validate(&format!("{path}.when"), as_of)?;
            }
        }

        check::list("surgeries", &self.surgeries)?;
        for (i, surgery) in self.surgeries.iter().enumerate() {
            let path = format!("surgeries[{i}]");
            check::short_text(&format!("{path}.description"), &surgery.description)?;
            surgery.when.validate(&format!("{path}.when"), as_of)?;
        }

        check::list("medications", &self.medications)?;
        for (i, m) in self.medications.iter().enumerate() {
            let path = format!("medications[{i}]");
            check::short_text(&format!("{path}.name"), &m.name)?;
            optional_short(&format!("{path}.purpose"), m.purpose.as_deref())?;
            check::list(&format!("{path}.flags"), &m.flags)?;
        }

        if let Some(maternity) = &self.maternity {
            match maternity {
                Maternity::Pregnancy { weeks, .. } => {
                    check::range("maternity.weeks", *weeks, 0, MAX_PREGNANCY_WEEKS)?;
                }
                Maternity::Postpartum {
                    weeks_since_birth, ..
                } => check::range(
                    "maternity.weeks_since_birth",
                    *weeks_since_birth,
                    0,
                    MAX_POSTPARTUM_WEEKS,
                )?,
            }
        }

        check::list("pain", &self.pain)?;
        for (i, p) in self.pain.iter().enumerate() {
            check::range(&format!("pain[{i}].level"), p.level, 0, 10)?;
        }

        if let Some(text) = &self.limitations {
            check::long_text("limitations", text)?;
        }
        if let Some(text) = &self.goals {
            check::long_text("goals", text)?;
        }
        Ok(())
    }
}

fn optional_short(path: &str, text: Option<&str>) -> Result<(), FieldError> {
    text.map_or(Ok(()), |t| check::short_text(path, t))
}

/// Prints counts only: a submission is health data from top to bottom, and `Debug` is
/// what ends up in logs and panic messages.
impl std::fmt::Debug for HealthSubmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fn count(n: usize, one: &str, many: &str) -> String {
            format!("{n} {}", if n == 1 { one } else { many })
        }
        write!(
            f,
            "HealthSubmission {{ form_version: {}, consent_version: {}, {}, {}, {}, {}, {}, .. }}",
            self.form_version,
            self.consent.text_version,
            count(self.conditions.len(), "condition", "conditions"),
            count(self.injuries.len(), "injury", "injuries"),
            count(self.surgeries.len(), "surgery", "surgeries"),
            count(self.medications.len(), "medication", "medications"),
            count(self.pain.len(), "pain area", "pain areas"),
        )
    }
}

redacted_debug!(
    ParqAnswers,
    ParqAnswer,
    ParqFollowUp,
    ConditionEntry,
    Injury,
    Surgery,
    Medication,
    Maternity,
    PainArea,
    DateOrMonthsAgo,
);

// ---------------------------------------------------------------------------------------
// PAR-Q+

/// The seven general health questions of the PAR-Q+ 2023. Every one must be answered;
/// a "yes" needs a follow-up.
#[derive(
    Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ParqAnswers {
    /// Question 1: Has your doctor ever said that you have a heart condition or high blood
    /// pressure?
    pub heart_condition: ParqAnswer,
    /// Question 2: Do you feel pain in your chest at rest, during daily activities or when you do
    /// physical activity?
    pub chest_pain: ParqAnswer,
    /// Question 3: Do you lose balance because of dizziness, or have you lost consciousness in the
    /// last 12 months?
    pub dizziness_or_loss_of_consciousness: ParqAnswer,
    /// Question 4: Have you ever been diagnosed with another chronic medical condition (other
    /// than heart disease or high blood pressure)?
    pub other_chronic_condition: ParqAnswer,
    /// Question 5: Are you currently taking prescribed medication for a chronic medical
    /// condition?
    pub chronic_condition_medication: ParqAnswer,
    /// Question 6: Do you have (or have you had in the past 12 months) a bone, joint or soft
    /// tissue problem that could be made worse by becoming more physically active?
    pub bone_joint_or_soft_tissue_problem: ParqAnswer,
    /// Question 7: Has your doctor ever said that you should only do medically supervised
    /// physical activity?
    pub medically_supervised_only: ParqAnswer,
}

impl ParqAnswers {
    /// The answer to one question.
    pub fn get(&self, question: ParqQuestion) -> &ParqAnswer {
        match question {
            ParqQuestion::HeartCondition => &self.heart_condition,
            ParqQuestion::ChestPain => &self.chest_pain,
            ParqQuestion::DizzinessOrLossOfConsciousness => {
                &self.dizziness_or_loss_of_consciousness
            }
            ParqQuestion::OtherChronicCondition => &self.other_chronic_condition,
            ParqQuestion::ChronicConditionMedication => &self.chronic_condition_medication,
            ParqQuestion::BoneJointOrSoftTissueProblem => &self.bone_joint_or_soft_tissue_problem,
            ParqQuestion::MedicallySupervisedOnly => &self.medically_supervised_only,
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        for question in ParqQuestion::ALL {
            let answer = self.get(question);
            let path = format!("parq.{}.follow_up", question.field());
            match (&answer.answer, &answer.follow_up) {
                (true, None) => {
                    return Err(FieldError::new(
                        path,
                        "required",
                        "a yes needs a follow-up: details and whether a professional cleared you",
                    ))
                }
                (false, Some(_)) => {
                    return Err(FieldError::new(
                        path,
                        "not_allowed",
                        "a follow-up belongs to a yes answer only",
                    ))
                }
                (true, Some(follow_up)) => {
                    check::long_text(&format!("{path}.detail"), &follow_up.detail)?;
                }
                (false, None) => {}
            }
        }
        Ok(())
    }
}

/// One PAR-Q+ question, for code that walks all seven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParqQuestion {
    HeartCondition,
    ChestPain,
    DizzinessOrLossOfConsciousness,
    OtherChronicCondition,
    ChronicConditionMedication,
    BoneJointOrSoftTissueProblem,
    MedicallySupervisedOnly,
}

impl ParqQuestion {
    /// The seven questions in the form's order.
    pub const ALL: [Self; 7] = [
        Self::HeartCondition,
        Self::ChestPain,
        Self::DizzinessOrLossOfConsciousness,
        Self::OtherChronicCondition,
        Self::ChronicConditionMedication,
        Self::BoneJointOrSoftTissueProblem,
        Self::MedicallySupervisedOnly,
    ];

    /// The question's number on the form, 1..=7.
    pub fn number(self) -> u8 {
        match self {
            Self::HeartCondition => 1,
            Self::ChestPain => 2,
            Self::DizzinessOrLossOfConsciousness => 3,
            Self::OtherChronicCondition => 4,
            Self::ChronicConditionMedication => 5,
            Self::BoneJointOrSoftTissueProblem => 6,
            Self::MedicallySupervisedOnly => 7,
        }
    }

    /// The field's name in [`ParqAnswers`].
    pub fn field(self) -> &'static str {
        match self {
            Self::HeartCondition => "heart_condition",
            Self::ChestPain => "chest_pain",
            Self::DizzinessOrLossOfConsciousness => "dizziness_or_loss_of_consciousness",
            Self::OtherChronicCondition => "other_chronic_condition",
            Self::ChronicConditionMedication => "chronic_condition_medication",
            Self::BoneJointOrSoftTissueProblem => "bone_joint_or_soft_tissue_problem",
            Self::MedicallySupervisedOnly => "medically_supervised_only",
        }
    }

    /// What the question is about, to finish a sentence ("answered yes about ...").
    pub fn topic(self) -> &'static str {
        match self {
            Self::HeartCondition => "a heart condition or high blood pressure",
            Self::ChestPain => "chest pain at rest, in daily life or during activity",
            Self::DizzinessOrLossOfConsciousness => "dizziness or loss of consciousness",
            Self::OtherChronicCondition => "another diagnosed chronic condition",
            Self::ChronicConditionMedication => "prescribed medication for a chronic condition",
            Self::BoneJointOrSoftTissueProblem => {
                "a bone, joint or soft-tissue problem that activity could worsen"
            }
            Self::MedicallySupervisedOnly => {
                "being told to exercise only under medical supervision"
            }
        }
    }
}

/// One PAR-Q+ answer.
#[derive(
    Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ParqAnswer {
    /// `true` for "yes".
    pub answer: bool,
    /// Required for a yes, refused for a no.
    #[serde(default)]
    pub follow_up: Option<ParqFollowUp>,
}

impl ParqAnswer {
    /// A "no".
    pub fn no() -> Self {
        Self::default()
    }

    /// A "yes" with its follow-up.
    pub fn yes(detail: impl Into<String>, cleared_by_professional: bool) -> Self {
        Self {
            answer: true,
            follow_up: Some(ParqFollowUp {
                detail: detail.into(),
                cleared_by_professional,
            }),
        }
    }

    /// A yes that no doctor or qualified exercise professional has cleared.
    pub fn is_uncleared_yes(&self) -> bool {
        self.answer
            && !self
                .follow_up
                .as_ref()
                .is_some_and(|f| f.cleared_by_professional)
    }
}

/// What the client adds to a PAR-Q+ yes.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ParqFollowUp {
    /// Details in the client's words (1..=4000 characters).
    pub detail: String,
    /// A doctor or qualified exercise professional has cleared the client for
    /// unrestricted activity despite this.
    pub cleared_by_professional: bool,
}

// ---------------------------------------------------------------------------------------
// Conditions, injuries, surgeries, medications

/// A diagnosed condition.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct ConditionEntry {
    pub kind: MedicalCondition,
    /// Details (1..=200 characters); required for `other`.
    #[serde(default)]
    pub detail: Option<String>,
}

/// The common conditions that change how someone should train.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MedicalCondition {
    /// High blood pressure, kept in range by treatment.
    HypertensionControlled,
    /// High blood pressure that is not (yet) under control.
    HypertensionUncontrolled,
    Type1Diabetes,
    Type2Diabetes,
    Asthma,
    Osteoporosis,
    Osteoarthritis,
    HeartDisease,
    Epilepsy,
    /// Named in `detail`.
    Other,
}

/// An injury, current or past.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Injury {
    pub area: BodyArea,
    pub side: Side,
    /// When it happened; absent if the client does not know.
    #[serde(default)]
    pub when: Option<DateOrMonthsAgo>,
    pub status: InjuryStatus,
    /// Details (1..=200 characters); required when the area is `other`.
    #[serde(default)]
    pub note: Option<String>,
}

impl Injury {
    /// Still affecting training: anything but resolved.
    pub fn is_active(&self) -> bool {
        self.status != InjuryStatus::Resolved
    }
}

/// Where in the body.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BodyArea {
    Neck,
    Shoulder,
    Elbow,
    WristHand,
    UpperBack,
    LowerBack,
    Hip,
    Knee,
    AnkleFoot,
    Other,
}

impl BodyArea {
    /// Lower-case name for sentences ("lower back").
    pub fn label(self) -> &'static str {
        match self {
            Self::Neck => "neck",
            Self::Shoulder => "shoulder",
            Self::Elbow => "elbow",
            Self::WristHand => "wrist or hand",
            Self::UpperBack => "upper back",
            Self::LowerBack => "lower back",
            Self::Hip => "hip",
            Self::Knee => "knee",
            Self::AnkleFoot => "ankle or foot",
            Self::Other => "other area",
        }
    }
}

/// Which side of the body.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Left,
    Right,
    Both,
    /// Not sided (spine, neck).
    None,
}

/// How an injury stands now.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum InjuryStatus {
    /// Recent, painful or swollen.
    Acute,
    /// Healing, under treatment or in rehab.
    Recovering,
    /// Long-standing, comes and goes.
    Chronic,
    /// Healed; no longer limits activity.
    Resolved,
}

/// A past moment, as precisely as the client remembers it: `{"date": "2024-05-01"}` or
/// `{"months_ago": 3}`. Not after the submission, not before 1900.
#[derive(
    Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DateOrMonthsAgo {
    Date(NaiveDate),
    /// 0..=1200.
    MonthsAgo(u16),
}

impl DateOrMonthsAgo {
    /// Whole weeks between this moment and `as_of`. A month counts 30 days, so a
    /// "3 months ago" is 12 weeks, not 13: a borderline answer errs toward recent, which
    /// is the cautious side for every rule that asks "within N weeks".
    pub fn weeks_before(&self, as_of: NaiveDate) -> i64 {
        match self {
            Self::Date(date) => (as_of - *date).num_weeks(),
            Self::MonthsAgo(months) => i64::from(*months) * 30 / 7,
        }
    }

    fn validate(&self, path: &str, as_of: NaiveDate) -> Result<(), FieldError> {
        match self {
            Self::Date(date) => {
                if *date > as_of {
                    return Err(FieldError::new(
                        format!("{path}.date"),
                        "in_the_future",
                        "must not be after the day the form was submitted",
                    ));
                }
                let earliest = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(NaiveDate::MIN);
                if *date < earliest {
                    return Err(FieldError::new(
                        format!("{path}.date"),
                        "out_of_range",
                        "must not be before 1900",
                    ));
                }
                Ok(())
            }
            Self::MonthsAgo(months) => {
                check::range(&format!("{path}.months_ago"), *months, 0, MAX_MONTHS_AGO)
            }
        }
    }
}

/// A surgery.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Surgery {
    /// What was done, in the client's words (1..=200 characters).
    pub description: String,
    pub kind: SurgeryKind,
    #[serde(default)]
    pub area: Option<BodyArea>,
    pub when: DateOrMonthsAgo,
}

/// The kinds of surgery that change what is safe afterwards.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SurgeryKind {
    /// Anything through the abdominal wall (hernia repair, appendix, gall bladder,
    /// hysterectomy, ..). A caesarean is recorded under `maternity`.
    Abdominal,
    Cardiac,
    Orthopaedic,
    Other,
}

/// A medication taken now.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Medication {
    /// 1..=200 characters.
    pub name: String,
    /// What it is for (1..=200 characters).
    #[serde(default)]
    pub purpose: Option<String>,
    /// What about it matters for exercise (at most 50).
    #[serde(default)]
    pub flags: Vec<MedicationFlag>,
}

/// Effects of a medication that change how someone should train.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum MedicationFlag {
    /// Caps and slows the heart rate: heart-rate zones stop meaning anything.
    BetaBlocker,
    /// Blood thinner: bruising and bleeding from knocks and falls.
    Anticoagulant,
    /// Insulin: hypoglycaemia during and after exercise.
    Insulin,
    /// Other glucose-lowering medication that can cause hypoglycaemia (sulfonylureas).
    GlucoseLowering,
    /// Reliever or preventer inhaler.
    Bronchodilator,
}

// ---------------------------------------------------------------------------------------
// Pregnancy, pain, fitness

/// Pregnant now, or given birth recently. Internally tagged:
/// `{"stage": "pregnancy", "weeks": 20, "complications": false}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(tag = "stage", rename_all = "snake_case", deny_unknown_fields)]
pub enum Maternity {
    Pregnancy {
        /// Completed weeks of pregnancy, 0..=45.
        weeks: u8,
        /// Any complication the midwife or doctor has mentioned.
        complications: bool,
    },
    Postpartum {
        /// Completed weeks since birth, 0..=104.
        weeks_since_birth: u16,
        delivery: Delivery,
        /// Any complication of the pregnancy or birth.
        complications: bool,
    },
}

impl Maternity {
    /// Whether any complication was reported.
    pub fn complications(&self) -> bool {
        match self {
            Self::Pregnancy { complications, .. } | Self::Postpartum { complications, .. } => {
                *complications
            }
        }
    }
}

/// How the baby was delivered.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Vaginal,
    Caesarean,
}

/// Pain in one area now.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct PainArea {
    pub area: BodyArea,
    /// 0 (none) ..= 10 (worst imaginable).
    pub level: u8,
}

/// Self-assessed fitness, in increasing order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FitnessLevel {
    /// Little or no planned activity.
    Sedentary,
    /// Some activity, new to structured training.
    Beginner,
    /// Trains regularly.
    Intermediate,
    /// Trains hard and knows the lifts.
    Advanced,
}

impl FitnessLevel {
    /// Lower-case name for sentences.
    pub fn label(self) -> &'static str {
        match self {
            Self::Sedentary => "sedentary",
            Self::Beginner => "beginner",
            Self::Intermediate => "intermediate",
            Self::Advanced => "advanced",
        }
    }
}
