use super::*;

fn refusal(submission: &HealthSubmission) -> (String, &'static str) {
    match submission.validate() {
        Ok(()) => panic!("expected a refusal"),
        Err(e) => (e.path, e.code),
    }
}

fn refused(change: impl FnOnce(&mut HealthSubmission)) -> (String, &'static str) {
    refusal(&with(change))
}

#[test]
fn an_empty_submission_is_valid() {
    assert_eq!(empty().validate(), Ok(()));
    assert_eq!(heavy().validate(), Ok(()));
}

#[test]
fn a_submission_reads_as_snake_case_json_with_tagged_maternity() {
    let json = serde_json::json!({
        "form_version": 1,
        "consent": { "text_version": 3, "given_at": "2026-03-02T09:30:00Z" },
        "parq": {
            "heart_condition": { "answer": false },
            "chest_pain": { "answer": false },
            "dizziness_or_loss_of_consciousness": { "answer": false },
            "other_chronic_condition": { "answer": true, "follow_up": {
                "detail": "asthma", "cleared_by_professional": true } },
            "chronic_condition_medication": { "answer": false },
            "bone_joint_or_soft_tissue_problem": { "answer": false },
            "medically_supervised_only": { "answer": false }
        },
        "conditions": [{ "kind": "hypertension_controlled" }, { "kind": "other", "detail": "IBS" }],
        "injuries": [{ "area": "wrist_hand", "side": "right", "when": { "months_ago": 4 },
                       "status": "recovering" }],
        "surgeries": [{ "description": "ACL reconstruction", "kind": "orthopaedic",
                        "area": "knee", "when": { "date": "2020-05-01" } }],
        "medications": [{ "name": "bisoprolol", "flags": ["beta_blocker"] }],
        "maternity": { "stage": "postpartum", "weeks_since_birth": 10,
                       "delivery": "caesarean", "complications": false },
        "pain": [{ "area": "lower_back", "level": 4 }],
        "fitness_level": "beginner",
        "goals": "Run 5 km\nand carry my kid"
    });
    let submission: HealthSubmission = serde_json::from_value(json.clone()).expect("parses");
    assert_eq!(submission.validate(), Ok(()));
    assert_eq!(
        submission.maternity,
        Some(Maternity::Postpartum {
            weeks_since_birth: 10,
            delivery: Delivery::Caesarean,
            complications: false
        })
    );
    let back = serde_json::to_value(&submission).expect("serialises");
    let again: HealthSubmission = serde_json::from_value(back).expect("parses again");
    assert_eq!(again, submission);
}

#[test]
fn unknown_fields_are_refused_at_every_level() {
    let mut json = serde_json::to_value(empty()).expect("serialises");
    json["shoe_size"] = 42.into();
    assert!(serde_json::from_value::<HealthSubmission>(json).is_err());

    let mut json = serde_json::to_value(empty()).expect("serialises");
    json["parq"]["chest_pain"]["severity"] = 3.into();
    assert!(serde_json::from_value::<HealthSubmission>(json).is_err());

    let mut json = serde_json::to_value(with(|s| s.maternity = Some(pregnant(10)))).expect("json");
    json["maternity"]["due"] = "soon".into();
    assert!(serde_json::from_value::<HealthSubmission>(json).is_err());
}

#[test]
fn every_parq_question_must_be_answered() {
    let mut json = serde_json::to_value(empty()).expect("serialises");
    json["parq"]
        .as_object_mut()
        .expect("object")
        .remove("medically_supervised_only");
    assert!(serde_json::from_value::<HealthSubmission>(json).is_err());
}

#[test]
fn a_parq_yes_needs_a_follow_up() {
    assert_eq!(
        refused(|s| s.parq.chest_pain = ParqAnswer {
            answer: true,
            follow_up: None
        }),
        ("parq.chest_pain.follow_up".into(), "required")
    );
}

#[test]
fn a_parq_no_may_not_carry_a_follow_up() {
    assert_eq!(
        refused(|s| s.parq.heart_condition = ParqAnswer {
            answer: false,
            follow_up: Some(ParqFollowUp {
                detail: "stale".into(),
                cleared_by_professional: false
            })
        }),
        ("parq.heart_condition.follow_up".into(), "not_allowed")
    );
}

#[test]
fn a_parq_follow_up_detail_is_bounded() {
    assert_eq!(
        refused(|s| s.parq.other_chronic_condition = ParqAnswer::yes("  ", false)),
        (
            "parq.other_chronic_condition.follow_up.detail".into(),
            "blank"
        )
    );
    assert_eq!(
        refused(|s| s.parq.other_chronic_condition = ParqAnswer::yes("x".repeat(4001), false)),
        (
            "parq.other_chronic_condition.follow_up.detail".into(),
            "too_long"
        )
    );
    assert!(
        with(|s| s.parq.other_chronic_condition = ParqAnswer::yes("x".repeat(4000), false))
            .validate()
            .is_ok()
    );
}

#[test]
fn lists_hold_at_most_50_entries() {
    let pain = PainArea {
        area: BodyArea::Neck,
        level: 2,
    };
    let surgery = Surgery {
        description: "appendix".into(),
        kind: SurgeryKind::Abdominal,
        area: None,
        when: DateOrMonthsAgo::MonthsAgo(100),
    };
    let cases: Vec<(&str, HealthSubmission)> = vec![
        (
            "conditions",
            with(|s| s.conditions = vec![condition(MedicalCondition::Asthma); 51]),
        ),
        (
            "injuries",
            with(|s| s.injuries = vec![injury(BodyArea::Hip, InjuryStatus::Chronic); 51]),
        ),
        (
            "surgeries",
            with(|s| s.surgeries = vec![surgery.clone(); 51]),
        ),
        (
            "medications",
            with(|s| s.medications = vec![medication("m", MedicationFlag::Insulin); 51]),
        ),
        (
            "medications[0].flags",
            with(|s| {
                s.medications = vec![Medication {
                    name: "m".into(),
                    purpose: None,
                    flags: vec![MedicationFlag::Insulin; 51],
                }]
            }),
        ),
        ("pain", with(|s| s.pain = vec![pain.clone(); 51])),
    ];
    for (path, submission) in cases {
        assert_eq!(
            refusal(&submission),
            (path.to_owned(), "too_many"),
            "{path}"
        );
    }
    assert!(with(|s| s.pain = vec![pain; 50]).validate().is_ok());
}

#[test]
fn short_texts_are_bounded_and_free_of_control_characters() {
    let long = "x".repeat(201);
    assert_eq!(
        refused(|s| s.conditions = vec![ConditionEntry {
            kind: MedicalCondition::Asthma,
            detail: Some(long.clone())
        }]),
        ("conditions[0].detail".into(), "too_long")
    );
    assert_eq!(
        refused(|s| {
            let mut i = injury(BodyArea::Knee, InjuryStatus::Acute);
            i.note = Some("torn\tmeniscus".into());
            s.injuries = vec![i];
        }),
        ("injuries[0].note".into(), "control_characters")
    );
    assert_eq!(
        refused(|s| s.surgeries = vec![Surgery {
            description: " ".into(),
            kind: SurgeryKind::Other,
            area: None,
            when: DateOrMonthsAgo::MonthsAgo(1),
        }]),
        ("surgeries[0].description".into(), "blank")
    );
    assert_eq!(
        refused(|s| s.medications = vec![medication(&long, MedicationFlag::Insulin)]),
        ("medications[0].name".into(), "too_long")
    );
    assert_eq!(
        refused(|s| s.medications = vec![Medication {
            name: "metformin".into(),
            purpose: Some("sugar\u{0}".into()),
            flags: vec![],
        }]),
        ("medications[0].purpose".into(), "control_characters")
    );
    assert!(
        with(|s| s.medications = vec![medication(&"é".repeat(200), MedicationFlag::Insulin)])
            .validate()
            .is_ok()
    );
}

#[test]
fn free_texts_allow_line_breaks_but_are_bounded() {
    assert!(
        with(|s| s.goals = Some("Get strong\r\n\tand stay well".into()))
            .validate()
            .is_ok()
    );
    assert_eq!(
        refused(|s| s.goals = Some("x".repeat(4001))),
        ("goals".into(), "too_long")
    );
    assert_eq!(
        refused(|s| s.limitations = Some("bell\u{7}".into())),
        ("limitations".into(), "control_characters")
    );
    assert_eq!(
        refused(|s| s.limitations = Some("".into())),
        ("limitations".into(), "blank")
    );
}

#[test]
fn pain_is_rated_from_0_to_10() {
    assert_eq!(
        refused(|s| s.pain = vec![PainArea {
            area: BodyArea::Knee,
            level: 11
        }]),
        ("pain[0].level".into(), "out_of_range")
    );
    assert!(with(|s| s.pain = vec![PainArea {
        area: BodyArea::Knee,
        level: 10
    }])
    .validate()
    .is_ok());
}

#[test]
fn pregnancy_weeks_run_from_0_to_45_and_postpartum_weeks_to_104() {
    assert_eq!(
        refused(|s| s.maternity = Some(pregnant(46))),
        ("maternity.weeks".into(), "out_of_range")
    );
    assert!(with(|s| s.maternity = Some(pregnant(45)))
        .validate()
        .is_ok());
    assert!(with(|s| s.maternity = Some(pregnant(0))).validate().is_ok());
    assert_eq!(
        refused(|s| s.maternity = Some(Maternity::Postpartum {
            weeks_since_birth: 105,
            delivery: Delivery::Vaginal,
            complications: false
        })),
        ("maternity.weeks_since_birth".into(), "out_of_range")
    );
}

#[test]
fn an_other_condition_or_injury_area_must_be_named() {
    assert_eq!(
        refused(|s| s.conditions = vec![condition(MedicalCondition::Other)]),
        ("conditions[0].detail".into(), "required")
    );
    assert_eq!(
        refused(|s| s.injuries = vec![injury(BodyArea::Other, InjuryStatus::Chronic)]),
        ("injuries[0].note".into(), "required")
    );
}

#[test]
fn dates_are_not_after_the_submission_nor_before_1900() {
    let tomorrow = submitted_on() + chrono::Days::new(1);
    assert_eq!(
        refused(|s| {
            let mut i = injury(BodyArea::Knee, InjuryStatus::Acute);
            i.when = Some(DateOrMonthsAgo::Date(tomorrow));
            s.injuries = vec![i];
        }),
        ("injuries[0].when.date".into(), "in_the_future")
    );
    assert_eq!(
        refused(|s| s.surgeries = vec![Surgery {
            description: "hip".into(),
            kind: SurgeryKind::Orthopaedic,
            area: Some(BodyArea::Hip),
            when: DateOrMonthsAgo::Date(NaiveDate::from_ymd_opt(1899, 12, 31).expect("date")),
        }]),
        ("surgeries[0].when.date".into(), "out_of_range")
    );
    assert_eq!(
        refused(|s| s.surgeries = vec![Surgery {
            description: "hip".into(),
            kind: SurgeryKind::Orthopaedic,
            area: None,
            when: DateOrMonthsAgo::MonthsAgo(1201),
        }]),
        ("surgeries[0].when.months_ago".into(), "out_of_range")
    );
    assert!(with(|s| s.surgeries = vec![Surgery {
        description: "hip".into(),
        kind: SurgeryKind::Orthopaedic,
        area: None,
        when: DateOrMonthsAgo::Date(submitted_on()),
    }])
    .validate()
    .is_ok());
}

#[test]
fn only_the_current_form_version_and_a_real_consent_version_are_accepted() {
    assert_eq!(
        refused(|s| s.form_version = 2),
        ("form_version".into(), "unsupported_version")
    );
    assert_eq!(
        refused(|s| s.consent.text_version = 0),
        ("consent.text_version".into(), "out_of_range")
    );
}

#[test]
fn a_consent_text_is_versioned_from_1_and_bounded() {
    let text = ConsentText {
        version: 2,
        text: "I agree that Studio X stores my health answers.\n\nI can withdraw.".into(),
    };
    assert_eq!(text.validate(), Ok(()));
    let consent = text.given_at(consent().given_at);
    assert!(consent.is_for(&text));
    assert!(!consent.is_for(&ConsentText {
        version: 3,
        ..text.clone()
    }));
    let code = |t: ConsentText| t.validate().map_err(|e| (e.path, e.code));
    assert_eq!(
        code(ConsentText {
            version: 0,
            ..text.clone()
        }),
        Err(("version".into(), "out_of_range"))
    );
    assert_eq!(
        code(ConsentText {
            version: 1,
            text: "x".repeat(20_001)
        }),
        Err(("text".into(), "too_long"))
    );
    assert_eq!(
        code(ConsentText {
            version: 1,
            text: " \n ".into()
        }),
        Err(("text".into(), "blank"))
    );
}

#[test]
fn months_ago_err_toward_recent() {
    assert_eq!(
        DateOrMonthsAgo::MonthsAgo(3).weeks_before(submitted_on()),
        12
    );
    let date = DateOrMonthsAgo::Date(submitted_on() - chrono::Days::new(84));
    assert_eq!(date.weeks_before(submitted_on()), 12);
}

#[test]
fn debug_output_never_shows_health_content() {
    let secret = "Zyxvirin";
    let submission = with(|s| {
        s.parq.chest_pain = ParqAnswer::yes(format!("{secret} angina"), false);
        s.conditions = vec![
            ConditionEntry {
                kind: MedicalCondition::Other,
                detail: Some(secret.into()),
            },
            condition(MedicalCondition::Epilepsy),
            condition(MedicalCondition::Asthma),
        ];
        let mut knee = injury(BodyArea::Knee, InjuryStatus::Acute);
        knee.note = Some(secret.into());
        s.injuries = vec![knee];
        s.medications = vec![medication(secret, MedicationFlag::Insulin)];
        s.maternity = Some(pregnant(20));
        s.pain = vec![PainArea {
            area: BodyArea::LowerBack,
            level: 9,
        }];
        s.limitations = Some(secret.into());
        s.goals = Some(secret.into());
    });
    let recommendation = crate::health::rules::recommend(&submission);
    let answer =
        crate::health::rules::answer("Can she do box jumps?", &submission, &recommendation);

    let printed = [
        format!("{submission:?}"),
        format!("{submission:#?}"),
        format!("{:?}", submission.parq),
        format!("{:?}", submission.parq.chest_pain),
        format!("{:?}", submission.conditions),
        format!("{:?}", submission.injuries),
        format!("{:?}", submission.medications),
        format!("{:?}", submission.maternity),
        format!("{:?}", submission.pain),
        format!("{recommendation:?}"),
        format!("{:?}", recommendation.contraindications),
        format!("{:?}", recommendation.medical_clearance),
        format!("{:?}", recommendation.first_week),
        format!("{answer:?}"),
    ];
    for text in &printed {
        for leak in [
            secret,
            "Epilepsy",
            "Asthma",
            "Knee",
            "LowerBack",
            "angina",
            "knee",
            "20",
        ] {
            assert!(!text.contains(leak), "{leak} leaked in {text}");
        }
    }
    assert_eq!(
        printed[0],
        "HealthSubmission { form_version: 1, consent_version: 1, 3 conditions, 1 injury, \
         0 surgeries, 1 medication, 1 pain area, .. }"
    );
    assert_eq!(printed[5], "[Injury { .. }]");
}
