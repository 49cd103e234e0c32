//! `Recommendation::validate` (for LLM answers) and the JSON Schema an LLM fills.

use super::*;
use crate::health::rules::recommend;

/// A valid recommendation to break one field at a time.
fn valid() -> Recommendation {
    recommend(&with(|s| {
        s.injuries = vec![injury(BodyArea::Knee, InjuryStatus::Recovering)];
        s.parq.chest_pain = ParqAnswer::yes("on exertion", false);
    }))
}

fn refused(change: impl FnOnce(&mut Recommendation)) -> (String, &'static str) {
    let mut r = valid();
    change(&mut r);
    match r.validate() {
        Ok(()) => panic!("expected a refusal"),
        Err(e) => (e.path, e.code),
    }
}

fn path(p: &str, code: &'static str) -> (String, &'static str) {
    (p.to_owned(), code)
}

#[test]
fn a_rules_engine_recommendation_passes_validation() {
    assert_eq!(valid().validate(), Ok(()));
    assert_eq!(recommend(&empty()).validate(), Ok(()));
    assert_eq!(recommend(&heavy()).validate(), Ok(()));
}

#[test]
fn texts_must_be_present_and_bounded() {
    assert_eq!(
        refused(|r| r.summary = " ".into()),
        path("summary", "blank")
    );
    assert_eq!(
        refused(|r| r.summary = "x".repeat(4001)),
        path("summary", "too_long")
    );
    assert_eq!(
        refused(|r| r.first_week[0].title = "Day\u{1b}[31m".into()),
        path("first_week[0].title", "control_characters")
    );
    assert_eq!(
        refused(|r| r.first_week[0].exercises[0].name = "x".repeat(201)),
        path("first_week[0].exercises[0].name", "too_long")
    );
    assert_eq!(
        refused(|r| r.contraindications[0].reason = String::new()),
        path("contraindications[0].reason", "blank")
    );
    assert_eq!(
        refused(|r| r.contraindications[1].alternatives.push("x".repeat(201))),
        path("contraindications[1].alternatives[1]", "too_long")
    );
    assert_eq!(
        refused(|r| r.follow_up_questions.push("\t".into())),
        path(
            &format!("follow_up_questions[{}]", valid().follow_up_questions.len()),
            "blank"
        )
    );
    assert_eq!(
        refused(|r| r.intensity.heart_rate_guidance = Some(String::new())),
        path("intensity.heart_rate_guidance", "blank")
    );
}

#[test]
fn lists_are_bounded() {
    assert_eq!(
        refused(|r| r.follow_up_questions = vec!["Why?".into(); 51]),
        path("follow_up_questions", "too_many")
    );
    assert_eq!(
        refused(|r| {
            let focus = r.focus_areas[0].clone();
            r.focus_areas = vec![focus; 51];
        }),
        path("focus_areas", "too_many")
    );
    assert_eq!(
        refused(|r| r.first_week[0].exercises[0].modifications = vec!["Go slow".into(); 51]),
        path("first_week[0].exercises[0].modifications", "too_many")
    );
}

#[test]
fn rpe_is_an_ordered_range_within_1_to_10() {
    assert_eq!(
        refused(|r| r.intensity.rpe_min = 0),
        path("intensity.rpe_min", "out_of_range")
    );
    assert_eq!(
        refused(|r| r.intensity.rpe_max = 11),
        path("intensity.rpe_max", "out_of_range")
    );
    assert_eq!(
        refused(|r| {
            r.intensity.rpe_min = 6;
            r.intensity.rpe_max = 4;
        }),
        path("intensity.rpe_max", "out_of_range")
    );
}

#[test]
fn the_first_week_has_one_to_seven_sessions_on_distinct_days() {
    assert_eq!(
        refused(|r| r.first_week.clear()),
        path("first_week", "required")
    );
    assert_eq!(
        refused(|r| {
            let session = r.first_week[0].clone();
            r.first_week = (1..=8)
                .map(|day| Session {
                    day: day.min(7),
                    ..session.clone()
                })
                .collect();
        }),
        path("first_week", "too_many")
    );
    assert_eq!(
        refused(|r| r.first_week[1].day = 1),
        path("first_week[1].day", "duplicate")
    );
    assert_eq!(
        refused(|r| r.first_week[0].day = 0),
        path("first_week[0].day", "out_of_range")
    );
    assert_eq!(
        refused(|r| r.first_week[2].day = 8),
        path("first_week[2].day", "out_of_range")
    );
    assert_eq!(
        refused(|r| r.first_week[0].exercises.clear()),
        path("first_week[0].exercises", "required")
    );
}

#[test]
fn every_exercise_is_prescribed_within_bounds() {
    assert_eq!(
        refused(|r| {
            let e = &mut r.first_week[0].exercises[1];
            e.reps = None;
            e.duration_seconds = None;
        }),
        path("first_week[0].exercises[1].reps", "required")
    );
    assert_eq!(
        refused(|r| r.first_week[0].exercises[1].sets = Some(0)),
        path("first_week[0].exercises[1].sets", "out_of_range")
    );
    assert_eq!(
        refused(|r| r.first_week[0].exercises[1].sets = Some(21)),
        path("first_week[0].exercises[1].sets", "out_of_range")
    );
    assert_eq!(
        refused(|r| r.first_week[0].exercises[1].rest_seconds = 601),
        path("first_week[0].exercises[1].rest_seconds", "out_of_range")
    );
    assert_eq!(
        refused(|r| r.first_week[0].exercises[0].duration_seconds = Some(7201)),
        path(
            "first_week[0].exercises[0].duration_seconds",
            "out_of_range"
        )
    );
}

#[test]
fn a_plan_may_not_use_a_movement_it_says_to_avoid() {
    assert_eq!(
        refused(|r| r.first_week[0].exercises[1]
            .movements
            .push("deep_loaded_knee_flexion".into())),
        path("first_week[0].exercises[1].movements[0]", "contraindicated")
    );
}

#[test]
fn codes_are_snake_case_and_unique() {
    assert_eq!(
        refused(|r| r.contraindications[0].movement = "Deep knee bends".into()),
        path("contraindications[0].movement", "invalid_code")
    );
    assert_eq!(
        refused(|r| {
            let first = r.contraindications[0].clone();
            r.contraindications.push(first);
        }),
        path("contraindications[2].movement", "duplicate")
    );
    assert_eq!(
        refused(|r| {
            let first = r.medical_clearance.reasons[0].clone();
            r.medical_clearance.reasons.push(first);
        }),
        path("medical_clearance.reasons[1].code", "duplicate")
    );
    assert_eq!(
        refused(|r| r.medical_clearance.reasons[0].code = "x".repeat(65)),
        path("medical_clearance.reasons[0].code", "invalid_code")
    );
}

#[test]
fn clearance_is_required_exactly_when_there_are_reasons() {
    assert_eq!(
        refused(|r| r.medical_clearance.required = false),
        path("medical_clearance.required", "not_allowed")
    );
    assert_eq!(
        refused(|r| r.medical_clearance.reasons.clear()),
        path("medical_clearance.required", "not_allowed")
    );
}

#[test]
fn an_llm_answer_reads_back_and_unknown_fields_are_refused() {
    let json = serde_json::to_value(valid()).expect("json");
    let back: Recommendation = serde_json::from_value(json.clone()).expect("parses");
    assert_eq!(back, valid());

    let mut extra = json;
    extra["intensity"]["zone"] = 2.into();
    assert!(serde_json::from_value::<Recommendation>(extra).is_err());
}

/// Every object schema in `schema`, wherever it is nested.
fn objects(schema: &serde_json::Value, out: &mut Vec<serde_json::Map<String, serde_json::Value>>) {
    match schema {
        serde_json::Value::Object(map) => {
            if map.contains_key("properties") {
                out.push(map.clone());
            }
            map.values().for_each(|v| objects(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| objects(v, out)),
        serde_json::Value::Null
        | serde_json::Value::Bool(_)
        | serde_json::Value::Number(_)
        | serde_json::Value::String(_) => {}
    }
}

#[test]
fn the_json_schema_is_a_closed_object_naming_every_top_level_field() {
    let schema = Recommendation::json_schema();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    let fields = [
        "summary",
        "medical_clearance",
        "contraindications",
        "focus_areas",
        "intensity",
        "first_week",
        "follow_up_questions",
    ];
    let properties = schema["properties"].as_object().expect("properties");
    let mut names: Vec<&str> = properties.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = fields.to_vec();
    expected.sort_unstable();
    assert_eq!(names, expected);
    assert!(properties["summary"]["description"]
        .as_str()
        .is_some_and(|d| d.contains("plain-English")));

    // Strict structured output: every object closed, every property required, no
    // references to resolve and no non-standard formats.
    let mut all = Vec::new();
    objects(&schema, &mut all);
    assert!(all.len() >= 8, "{} objects", all.len());
    for object in &all {
        assert_eq!(object["additionalProperties"], false);
        let required: Vec<&str> = object["required"]
            .as_array()
            .expect("required")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let properties: Vec<&str> = object["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(required, properties);
    }
    let text = schema.to_string();
    assert!(!text.contains("$ref") && !text.contains("$defs") && !text.contains("uint"));
    // Optional values stay optional by being nullable.
    let exercise = &schema["properties"]["first_week"]["items"]["properties"]["exercises"]["items"]
        ["properties"];
    assert_eq!(
        exercise["sets"]["type"],
        serde_json::json!(["integer", "null"])
    );
    assert_eq!(exercise["sets"]["minimum"], 1);
}
