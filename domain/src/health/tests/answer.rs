//! Trainer Q&A.

use super::*;
use crate::health::rules::{answer, recommend, Verdict};

fn knee() -> HealthSubmission {
    with(|s| s.injuries = vec![injury(BodyArea::Knee, InjuryStatus::Recovering)])
}

fn ask(question: &str, submission: &HealthSubmission) -> crate::health::rules::Answer {
    answer(question, submission, &recommend(submission))
}

#[test]
fn box_jumps_are_not_yet_for_a_knee_injury_with_the_rules_source() {
    let a = ask("Can she do box jumps?", &knee());
    assert_eq!(a.verdict, Verdict::NotYet);
    assert_eq!(
        a.text,
        "Not yet: box jumps involve plyometric jumping, which this client should avoid \
         for now. A knee injury that has not resolved: landings load the knee several times \
         body weight. Instead, try: step-ups onto a low box."
    );
    assert_eq!(
        a.sources,
        ["ACSM's Guidelines for Exercise Testing and Prescription, 11th ed. (2021)"]
    );
}

#[test]
fn a_safe_variation_is_allowed_at_the_planned_effort() {
    let a = ask("What about box squats, or step-ups?", &knee());
    assert_eq!(a.verdict, Verdict::Yes);
    assert!(a
        .text
        .starts_with("Box squats to parallel involve none of the movements"));
    assert!(a.text.contains("Step-ups involve none"));
    assert!(a.text.contains("RPE 3-5"));
}

#[test]
fn one_restricted_exercise_in_a_question_makes_it_not_yet() {
    let a = ask("Lunges and rows on Tuesday?", &knee());
    assert_eq!(a.verdict, Verdict::NotYet);
    assert!(a
        .text
        .starts_with("Not yet: lunges involve deep loaded knee flexion"));
    assert!(a
        .text
        .contains("Instead, try: box squats to a knee-height box"));
    assert!(a.text.contains("Rows involve none"));
}

#[test]
fn an_unknown_activity_gets_a_careful_answer_listing_what_to_avoid() {
    let a = ask("Is aqua aerobics OK for her?", &knee());
    assert_eq!(a.verdict, Verdict::Unsure);
    assert!(a
        .text
        .starts_with("I can't match that to an exercise I know"));
    assert!(a
        .text
        .contains("deep loaded knee flexion and plyometric jumping."));
    assert!(a.text.contains("ask the client"));
    assert!(a.text.contains("doctor or physiotherapist"));
    assert_eq!(a.sources.len(), 1);

    let nothing_to_avoid = ask("Is aqua aerobics OK for her?", &empty());
    assert_eq!(nothing_to_avoid.verdict, Verdict::Unsure);
    assert!(nothing_to_avoid.text.contains("start it light (RPE 3-5)"));
}

#[test]
fn words_match_whole_words_with_ordinary_endings() {
    let knee = knee();
    assert_eq!(ask("jumping jacks?", &knee).verdict, Verdict::NotYet);
    assert_eq!(ask("Farmer carries", &knee).verdict, Verdict::Yes);
    // "hope" is not "hop", "shop" is not "hop".
    assert_eq!(
        ask("I hope the shop is open", &knee).verdict,
        Verdict::Unsure
    );
}

#[test]
fn the_rules_still_apply_when_the_recommendation_missed_a_movement() {
    let submission = knee();
    let mut careless = recommend(&submission);
    careless.contraindications.clear();
    let a = answer("Can he do jump squats?", &submission, &careless);
    assert_eq!(a.verdict, Verdict::NotYet);
    assert!(a.text.contains("plyometric jumping"));
}

#[test]
fn medical_clearance_comes_first_in_every_answer() {
    let submission = with(|s| s.parq.chest_pain = ParqAnswer::yes("when running", false));
    for question in ["Can she do push-ups?", "Zumba?"] {
        // Push-ups are fine, but only once cleared; Zumba is unknown.
        let a = ask(question, &submission);
        assert!(
            a.text.starts_with("Medical clearance comes first"),
            "{}",
            a.text
        );
        assert!(a.sources.iter().any(|s| s.starts_with("PAR-Q+ 2023")));
        assert!(!a.text.contains("so they can go in"), "{}", a.text);
    }
}

#[test]
fn pregnancy_rules_out_lying_flat_for_the_bench_but_not_the_incline() {
    let submission = with(|s| s.maternity = Some(pregnant(22)));
    assert_eq!(ask("bench press?", &submission).verdict, Verdict::NotYet);
    let incline = ask("incline bench press?", &submission);
    assert_eq!(incline.verdict, Verdict::Yes, "{}", incline.text);
}
