//! `recommend`: every matching rule applied, merged, and turned into a plan.
//!
//! Determinism: rules are walked in table order, merges keep first-seen order (a
//! `Vec` with a membership check) or the order of an ordered key (`BTreeMap` by
//! [`Movement`], by body area), and nothing iterates a hash map.

use std::collections::BTreeMap;

use super::library::{sets_for, Dose, ExerciseDef, FIRST_WEEK};
use super::{Movement, Rule, RULES};
use crate::health::{
    BodyArea, ClearanceReason, Contraindication, Exercise, FitnessLevel, FocusArea,
    HealthSubmission, Intensity, MedicalClearance, ParqQuestion, Recommendation, Session, MAX_LIST,
};

/// Pain at this level or above gets a follow-up question.
const SEVERE_PAIN: u8 = 7;

/// The rules engine's recommendation for a (validated) submission. Applies every rule
/// of [`RULES`] that matches; see the module docs for how they combine.
pub fn recommend(submission: &HealthSubmission) -> Recommendation {
    let rules = matching(submission);
    let level = submission.fitness_level.unwrap_or(FitnessLevel::Beginner);
    let avoided = avoided(&rules);
    let medical_clearance = clearance(&rules);
    let intensity = intensity(&rules, level, medical_clearance.required);
    let first_week = first_week(level, &avoided);
    let summary = summary(
        submission,
        &rules,
        &avoided,
        &medical_clearance,
        &intensity,
        &first_week,
    );
    Recommendation {
        summary,
        medical_clearance,
        contraindications: avoided
            .into_values()
            .map(Merged::into_contraindication)
            .collect(),
        focus_areas: focus_areas(&rules, level),
        intensity,
        first_week,
        follow_up_questions: follow_up_questions(submission, &rules),
    }
}

/// The rules that apply, in table order.
pub(super) fn matching(submission: &HealthSubmission) -> Vec<&'static Rule> {
    RULES.iter().filter(|r| r.applies_to(submission)).collect()
}

/// One avoided movement with every rule's reason and source behind it.
pub(super) struct Merged {
    pub(super) movement: Movement,
    pub(super) reasons: Vec<&'static str>,
    pub(super) alternatives: Vec<&'static str>,
    pub(super) sources: Vec<&'static str>,
}

impl Merged {
    fn into_contraindication(self) -> Contraindication {
        Contraindication {
            movement: self.movement.code().to_owned(),
            description: self.movement.description().to_owned(),
            reason: self.reasons.join(" "),
            alternatives: self.alternatives.iter().map(|&a| a.to_owned()).collect(),
            source: self.sources.join("; "),
        }
    }
}

/// The avoided movements, merged across rules by movement (ordered by [`Movement`]).
pub(super) fn avoided(rules: &[&'static Rule]) -> BTreeMap<Movement, Merged> {
    let mut avoided: BTreeMap<Movement, Merged> = BTreeMap::new();
    for rule in rules {
        for &(movement, reason) in rule.contraindications {
            let merged = avoided.entry(movement).or_insert_with(|| Merged {
                movement,
                reasons: Vec::new(),
                alternatives: Vec::new(),
                sources: Vec::new(),
            });
            push_unique(&mut merged.reasons, reason);
            push_unique(&mut merged.sources, rule.source);
        }
    }
    // Alternatives from every rule, also one that does not rule the movement out itself.
    for rule in rules {
        for &(movement, alternative) in rule.modifications {
            if let Some(merged) = avoided.get_mut(&movement) {
                push_unique(&mut merged.alternatives, alternative);
            }
        }
    }
    avoided
}

fn push_unique<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if !items.contains(&item) {
        items.push(item);
    }
}

fn clearance(rules: &[&'static Rule]) -> MedicalClearance {
    let mut reasons: Vec<ClearanceReason> = Vec::new();
    for rule in rules {
        for &(code, text) in rule.flags {
            if !reasons.iter().any(|r| r.code == code) {
                reasons.push(ClearanceReason {
                    code: code.to_owned(),
                    text: text.to_owned(),
                    source: rule.source.to_owned(),
                });
            }
        }
    }
    reasons.truncate(MAX_LIST);
    MedicalClearance {
        required: !reasons.is_empty(),
        reasons,
    }
}

/// Base RPE range for a fitness level: a first week is for learning the movements.
fn base_rpe(level: FitnessLevel) -> (u8, u8) {
    match level {
        FitnessLevel::Sedentary | FitnessLevel::Beginner => (3, 5),
        FitnessLevel::Intermediate => (5, 7),
        FitnessLevel::Advanced => (6, 8),
    }
}

fn intensity(rules: &[&'static Rule], level: FitnessLevel, clearance_required: bool) -> Intensity {
    let (base_min, base_max) = base_rpe(level);
    let cap = rules.iter().filter_map(|r| r.rpe_cap).min();
    let rpe_max = cap.map_or(base_max, |cap| base_max.min(cap)).max(1);
    // A cap below the base range keeps a two-point window under it.
    let rpe_min = base_min.min(rpe_max.saturating_sub(2)).max(1);

    let mut guidance: Vec<&str> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    if clearance_required {
        notes.push(
            "Medical clearance first: until it is given, no training beyond everyday \
             activity such as walking."
                .to_owned(),
        );
    }
    notes.push(
        "RPE is effort from 1 to 10: 3 is easy, 5 is moderate (still able to talk in \
         sentences), 7 is hard, 10 is maximal. End every set with a few reps to spare."
            .to_owned(),
    );
    if let Some(cap) = cap {
        notes.push(format!(
            "Keep effort at or below RPE {cap}, also as training progresses, because of the \
             client's health answers."
        ));
    }
    for rule in rules {
        if let Some(text) = rule.heart_rate_guidance {
            push_unique(&mut guidance, text);
        }
        for &note in rule.notes {
            if !notes.iter().any(|n| n == note) {
                notes.push(note.to_owned());
            }
        }
    }
    notes.truncate(MAX_LIST);
    Intensity {
        rpe_min,
        rpe_max,
        heart_rate_guidance: (!guidance.is_empty()).then(|| guidance.join(" ")),
        notes,
    }
}

fn focus_areas(rules: &[&'static Rule], level: FitnessLevel) -> Vec<FocusArea> {
    let mut areas: Vec<(&str, &str)> = Vec::new();
    for rule in rules {
        for &(area, why) in rule.focus {
            if !areas.iter().any(|(a, _)| *a == area) {
                areas.push((area, why));
            }
        }
    }
    areas.push((
        "Movement quality",
        "The first week teaches the basic patterns (squat, hinge, push, pull, carry) at \
         a comfortable effort, so load can grow safely from week two.",
    ));
    if level >= FitnessLevel::Intermediate {
        areas.push((
            "Finding working weights",
            "Use the first week to find loads that match the target RPE rather than to \
             test maximums.",
        ));
    }
    areas.truncate(MAX_LIST);
    areas
        .into_iter()
        .map(|(area, why)| FocusArea {
            area: area.to_owned(),
            why: why.to_owned(),
        })
        .collect()
}

fn first_week(level: FitnessLevel, avoided: &BTreeMap<Movement, Merged>) -> Vec<Session> {
    let is_avoided = |def: &ExerciseDef| def.movements.iter().any(|m| avoided.contains_key(m));
    FIRST_WEEK
        .iter()
        .map(|template| Session {
            day: template.day,
            title: template.title.to_owned(),
            exercises: template
                .slots
                .iter()
                .filter_map(|options| {
                    let mut suitable = options.iter().filter(|def| def.min_level <= level);
                    // The exercise the client would have done, had nothing been avoided.
                    let first = suitable.clone().next();
                    let chosen = suitable.find(|def| !is_avoided(def))?;
                    let replaced = first.filter(|def| is_avoided(def));
                    Some(planned(chosen, level, replaced, avoided))
                })
                .collect(),
        })
        .collect()
}

fn planned(
    def: &ExerciseDef,
    level: FitnessLevel,
    replaced: Option<&ExerciseDef>,
    avoided: &BTreeMap<Movement, Merged>,
) -> Exercise {
    let sets = sets_for(level);
    let (sets, reps, duration_seconds) = match def.dose {
        Dose::Reps(reps) => (Some(sets), Some(reps.to_owned()), None),
        Dose::Hold(seconds) => (Some(sets), None, Some(seconds)),
        Dose::Continuous(seconds) => (None, None, Some(seconds)),
    };
    let mut modifications = Vec::new();
    if let Some(replaced) = replaced {
        let labels: Vec<&str> = replaced
            .movements
            .iter()
            .filter(|m| avoided.contains_key(m))
            .map(|m| m.label())
            .collect();
        modifications.push(format!(
            "Replaces {} for now (avoid {}).",
            lower_first(replaced.name),
            join_and(&labels)
        ));
    }
    Exercise {
        name: def.name.to_owned(),
        movements: def.movements.iter().map(|m| m.code().to_owned()).collect(),
        sets,
        reps,
        duration_seconds,
        rest_seconds: def.rest_seconds,
        modifications,
    }
}

fn follow_up_questions(submission: &HealthSubmission, rules: &[&'static Rule]) -> Vec<String> {
    let mut questions: Vec<String> = Vec::new();
    for q in ParqQuestion::ALL {
        if submission.parq.get(q).is_uncleared_yes() {
            questions.push(format!(
                "PAR-Q+ question {} ({}): has a doctor or qualified exercise professional \
                 cleared you for more activity, and with what limits?",
                q.number(),
                q.topic()
            ));
        }
    }
    // Worst level per area, in body-area order.
    let mut worst: BTreeMap<BodyArea, u8> = BTreeMap::new();
    for p in &submission.pain {
        let level = worst.entry(p.area).or_insert(0);
        *level = (*level).max(p.level);
    }
    for (area, level) in worst {
        if level >= SEVERE_PAIN {
            questions.push(format!(
                "You rated your {} pain {level}/10: what makes it worse or better, and has \
                 a doctor or physiotherapist assessed it?",
                area.label()
            ));
        }
    }
    for rule in rules {
        for &q in rule.follow_up {
            if !questions.iter().any(|existing| existing == q) {
                questions.push(q.to_owned());
            }
        }
    }
    questions.truncate(MAX_LIST);
    questions
}

fn summary(
    submission: &HealthSubmission,
    rules: &[&'static Rule],
    avoided: &BTreeMap<Movement, Merged>,
    clearance: &MedicalClearance,
    intensity: &Intensity,
    first_week: &[Session],
) -> String {
    let mut sentences: Vec<String> = Vec::new();
    let (flagging, other): (Vec<&Rule>, Vec<&Rule>) =
        rules.iter().partition(|r| !r.flags.is_empty());
    // A rule that refines another (pregnancy past week 13, of pregnancy) speaks for
    // both when both apply.
    let narrowed = |id: &str| rules.iter().any(|other| other.refines == Some(id));
    let findings = |some: &[&Rule]| {
        let mut found: Vec<&str> = Vec::new();
        for rule in some {
            if !narrowed(rule.id) {
                push_unique(&mut found, rule.finding);
            }
        }
        found
    };
    if clearance.required {
        sentences.push(format!(
            "Medical clearance is needed before training starts, because of {}.",
            join_and(&findings(&flagging))
        ));
    } else {
        sentences.push("No answer calls for medical clearance.".to_owned());
    }
    let other = findings(&other);
    if other.is_empty() {
        if clearance.required {
            sentences.push("Nothing else in the intake changes the plan.".to_owned());
        } else {
            sentences.push(
                "All seven PAR-Q+ answers are no, and no condition, injury, surgery, \
                 pregnancy or severe pain that changes the plan was reported."
                    .to_owned(),
            );
        }
    } else {
        sentences.push(format!("The intake shows {}.", join_and(&other)));
    }
    if !avoided.is_empty() {
        let labels: Vec<&str> = avoided.keys().map(|m| m.label()).collect();
        sentences.push(format!("For now the plan avoids {}.", join_and(&labels)));
    }
    let level = match submission.fitness_level {
        Some(level) => {
            let label = level.label();
            let article = if label.starts_with(['a', 'e', 'i', 'o', 'u']) {
                "an"
            } else {
                "a"
            };
            format!("{article} {label} client")
        }
        None => "a beginner (no fitness level was given)".to_owned(),
    };
    sentences.push(format!(
        "The first week has {} sessions at RPE {}-{}, pitched for {level}.",
        first_week.len(),
        intensity.rpe_min,
        intensity.rpe_max
    ));
    sentences.join(" ")
}

/// "a", "a and b", "a, b and c".
pub(super) fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub(super) fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
