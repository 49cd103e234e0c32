//! `answer`: a trainer's question about one client ("Can she do box jumps?"), answered
//! from the [`VOCABULARY`] table, the client's recommendation and the rules.
//!
//! The recommendation may come from an LLM, so the rules are consulted too: a movement
//! the rules rule out for this submission is avoided even if the recommendation missed
//! it. An exercise the vocabulary does not know is never declared safe.

use serde::{Deserialize, Serialize};

use super::engine::{avoided, join_and, lower_first, matching};
use super::{Movement, Rule, Term, VOCABULARY};
use crate::health::{redacted_debug, HealthSubmission, Recommendation};

/// The answer to a trainer's question.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub struct Answer {
    pub verdict: Verdict,
    /// The answer in plain English.
    pub text: String,
    /// The guidelines the answer rests on.
    pub sources: Vec<String>,
}

redacted_debug!(Answer);

impl Answer {
    /// The schema an LLM is asked to answer a question in (strict structured output).
    pub fn json_schema() -> serde_json::Value {
        crate::health::recommendation::strict_schema::<Self>()
    }

    /// A model's answer held to the rules: if the rules say "not yet", so does the
    /// answer (the model's words are kept, the rules' reasons and sources added), and
    /// every source of both is listed. A model may be more careful than the rules,
    /// never less.
    pub fn within(mut self, rules: &Answer) -> Answer {
        if rules.verdict == Verdict::NotYet && self.verdict != Verdict::NotYet {
            self.verdict = Verdict::NotYet;
            self.text = format!("{} {}", rules.text, self.text);
        }
        for source in &rules.sources {
            if !self.sources.contains(source) {
                self.sources.push(source.clone());
            }
        }
        self
    }
}

/// The gist of an [`Answer`].
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
pub enum Verdict {
    /// Something asked about involves a movement to avoid for now.
    NotYet,
    /// Everything asked about avoids the restricted movements (after medical clearance,
    /// where the recommendation requires it: the text says so).
    Yes,
    /// The question names nothing the vocabulary knows: check by hand.
    Unsure,
}

/// One movement to avoid, from the recommendation or the rules.
struct Avoid {
    code: String,
    label: String,
    reason: String,
    alternatives: Vec<String>,
    source: String,
}

/// Answers `question` about the client behind `submission` and `recommendation`.
pub fn answer(
    question: &str,
    submission: &HealthSubmission,
    recommendation: &Recommendation,
) -> Answer {
    let avoid = avoid_list(recommendation, &matching(submission));
    let terms = terms_in(question);
    let clearance = &recommendation.medical_clearance;

    let mut sentences: Vec<String> = Vec::new();
    let mut sources: Vec<String> = Vec::new();
    if clearance.required {
        sentences.push(
            "Medical clearance comes first: this client should not start training until \
             they are medically cleared."
                .to_owned(),
        );
        for reason in &clearance.reasons {
            push_unique(&mut sources, &reason.source);
        }
    }

    if terms.is_empty() {
        sentences.push(unsure(&avoid, recommendation));
        for a in &avoid {
            push_unique(&mut sources, &a.source);
        }
        return Answer {
            verdict: Verdict::Unsure,
            text: sentences.join(" "),
            sources,
        };
    }

    let mut blocked_any = false;
    for term in terms {
        let blocked: Vec<&Avoid> = avoid
            .iter()
            .filter(|a| term.movements.iter().any(|m| m.code() == a.code))
            .collect();
        if blocked.is_empty() {
            sentences.push(format!(
                "{} involve none of the movements this client should avoid, so {}they can go \
                 in at RPE {}-{}; stop if they cause pain.",
                capitalise(term.name),
                if clearance.required {
                    "once cleared, "
                } else {
                    ""
                },
                recommendation.intensity.rpe_min,
                recommendation.intensity.rpe_max
            ));
            continue;
        }
        blocked_any = true;
        let labels: Vec<&str> = blocked.iter().map(|a| a.label.as_str()).collect();
        sentences.push(format!(
            "Not yet: {} involve {}, which this client should avoid for now.",
            term.name,
            join_and(&labels)
        ));
        for a in &blocked {
            push_unique(&mut sentences, &a.reason);
            push_unique(&mut sources, &a.source);
        }
        let mut instead: Vec<String> = Vec::new();
        for a in &blocked {
            for alternative in &a.alternatives {
                push_unique(&mut instead, alternative);
            }
        }
        if instead.is_empty() {
            sentences.push(format!(
                "Instead, choose a variation without {}.",
                join_and(&labels)
            ));
        } else {
            sentences.push(format!("Instead, try: {}", lower_first(&instead.join(" "))));
        }
    }
    Answer {
        verdict: if blocked_any {
            Verdict::NotYet
        } else {
            Verdict::Yes
        },
        text: sentences.join(" "),
        sources,
    }
}

/// The recommendation's contraindications, then any the rules add for this submission.
/// Where the recommendation offers no alternative, the rules' alternatives stand in.
fn avoid_list(recommendation: &Recommendation, rules: &[&'static Rule]) -> Vec<Avoid> {
    let mut own = avoided(rules);
    let mut list: Vec<Avoid> = recommendation
        .contraindications
        .iter()
        .map(|c| {
            let known = Movement::from_code(&c.movement);
            let alternatives = match known.and_then(|m| own.get(&m)) {
                Some(merged) if c.alternatives.is_empty() => {
                    merged.alternatives.iter().map(|&a| a.to_owned()).collect()
                }
                Some(_) | None => c.alternatives.clone(),
            };
            Avoid {
                code: c.movement.clone(),
                label: known.map_or_else(|| c.movement.replace('_', " "), |m| m.label().to_owned()),
                reason: c.reason.clone(),
                alternatives,
                source: c.source.clone(),
            }
        })
        .collect();
    own.retain(|movement, _| !list.iter().any(|a| a.code == movement.code()));
    for (movement, merged) in own {
        list.push(Avoid {
            code: movement.code().to_owned(),
            label: movement.label().to_owned(),
            reason: merged.reasons.join(" "),
            alternatives: merged.alternatives.iter().map(|&a| a.to_owned()).collect(),
            source: merged.sources.join("; "),
        });
    }
    list
}

fn unsure(avoid: &[Avoid], recommendation: &Recommendation) -> String {
    if avoid.is_empty() {
        return format!(
            "I can't match that to an exercise I know, so I can't say it is safe. Nothing \
             in the intake rules out a specific movement: start it light (RPE {}-{}), watch \
             how the client responds, and ask them about anything that hurts.",
            recommendation.intensity.rpe_min, recommendation.intensity.rpe_max
        );
    }
    let labels: Vec<&str> = avoid.iter().map(|a| a.label.as_str()).collect();
    format!(
        "I can't match that to an exercise I know, so I can't say it is safe. Check it \
         against what this client should avoid for now: {}. If it involves any of these, or \
         you are not sure, leave it out for now, ask the client how similar movements feel, \
         and check with their doctor or physiotherapist.",
        join_and(&labels)
    )
}

fn push_unique(items: &mut Vec<String>, item: &str) {
    if !items.iter().any(|i| i == item) {
        items.push(item.to_owned());
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Endings a keyword may take and still match: plurals, -ing, -er.
const ENDINGS: &[&str] = &[
    "", "s", "es", "ing", "ed", "er", "ers", "ning", "ping", "ming", "ging",
];

/// The vocabulary terms named in `text`, in the order they appear. Where two keywords
/// overlap ("box jump" and "jump"), the longer one wins.
pub(super) fn terms_in(text: &str) -> Vec<&'static Term> {
    let haystack = normalise(text);
    // (start, end, term) for every keyword occurrence at the start of a word.
    let mut found: Vec<(usize, usize, &'static Term)> = Vec::new();
    for term in VOCABULARY {
        for keyword in term.keywords {
            let needle = normalise(keyword);
            // "carry" also as "carries", with no further ending.
            let plural_y = needle.strip_suffix('y').map(|stem| format!("{stem}ies"));
            let forms = [
                Some((needle.as_str(), ENDINGS)),
                plural_y.as_deref().map(|p| (p, &[""][..])),
            ];
            for (form, endings) in forms.into_iter().flatten() {
                let mut from = 0;
                while let Some(at) = haystack[from..].find(form).map(|i| i + from) {
                    from = at + form.len();
                    if at > 0 && !haystack[..at].ends_with(' ') {
                        continue;
                    }
                    let ending = haystack[from..].split(' ').next().unwrap_or_default();
                    if endings.contains(&ending) {
                        found.push((at, from + ending.len(), term));
                    }
                }
            }
        }
    }
    // Longest first, then earliest; keep those that overlap nothing kept.
    found.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
    let mut kept: Vec<(usize, usize, &'static Term)> = Vec::new();
    for (start, end, term) in found {
        if kept.iter().all(|&(s, e, _)| end <= s || start >= e) {
            kept.push((start, end, term));
        }
    }
    kept.sort_by_key(|&(start, _, _)| start);
    let mut terms: Vec<&'static Term> = Vec::new();
    for (_, _, term) in kept {
        if !terms.iter().any(|t| t.name == term.name) {
            terms.push(term);
        }
    }
    terms
}

/// Lower case, every run of non-alphanumerics one space: "Step-ups!" → "step ups".
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}
