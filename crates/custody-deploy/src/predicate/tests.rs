use custody_crypto::{Digest, sha256};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::{
    Approval, DeployError, EventKind, MAX_SEQUENCE, MAX_TEXT_CHARS, Promotion, parse_predicate,
};

fn field_of(err: DeployError) -> String {
    match err {
        DeployError::InvalidPredicate { field, .. } => field,
        other => panic!("expected InvalidPredicate, got {other:?}"),
    }
}

fn digest(n: u8) -> Digest {
    sha256(&[n])
}

fn promotion(sequence: u64, previous: Option<Digest>) -> Promotion {
    Promotion {
        environment: "prod".into(),
        kind: EventKind::Promote,
        repository: "team/app".into(),
        sequence,
        previous,
        reason: None,
    }
}

#[test]
fn approval_round_trips_and_omits_an_unset_comment() {
    let bare = Approval {
        environment: "prod".into(),
        comment: None,
    };
    assert_eq!(bare.to_predicate(), json!({"environment": "prod"}));
    assert_eq!(
        Approval::from_predicate(&bare.to_predicate()).unwrap(),
        bare
    );
    let commented = Approval {
        environment: "staging".into(),
        comment: Some("looks good".into()),
    };
    assert_eq!(
        commented.to_predicate(),
        json!({"environment": "staging", "comment": "looks good"})
    );
    assert_eq!(
        Approval::from_predicate(&commented.to_predicate()).unwrap(),
        commented
    );
}

#[test]
fn approval_is_read_strictly() {
    let cases: &[(Value, &str)] = &[
        (json!(["prod"]), "(predicate)"),
        (json!("prod"), "(predicate)"),
        (json!(null), "(predicate)"),
        (json!({}), "environment"),
        (json!({"environment": 1}), "environment"),
        (json!({"environment": "Prod"}), "environment"),
        (
            json!({"environment": "prod", "digest": "sha256:00"}),
            "digest",
        ),
        (json!({"environment": "prod", "comment": null}), "comment"),
        (json!({"environment": "prod", "comment": 5}), "comment"),
        (
            json!({"environment": "prod", "comment": "x".repeat(MAX_TEXT_CHARS + 1)}),
            "comment",
        ),
    ];
    for (value, field) in cases {
        let err = Approval::from_predicate(value).unwrap_err();
        assert_eq!(field_of(err), *field, "{value}");
    }
    // The limit counts characters, not bytes.
    let long = "é".repeat(MAX_TEXT_CHARS);
    Approval::from_predicate(&json!({"environment": "prod", "comment": long})).unwrap();
}

#[test]
fn event_kind_text_form() {
    for kind in [EventKind::Promote, EventKind::Rollback] {
        assert_eq!(kind.as_str().parse::<EventKind>().unwrap(), kind);
        assert_eq!(kind.to_string(), kind.as_str());
    }
    assert_eq!(
        field_of("Promote".parse::<EventKind>().unwrap_err()),
        "kind"
    );
    assert_eq!(field_of("".parse::<EventKind>().unwrap_err()), "kind");
}

#[test]
fn promotion_round_trips_with_optional_fields_absent() {
    let first = promotion(1, None);
    assert_eq!(
        first.to_predicate(),
        json!({"environment": "prod", "kind": "promote", "repository": "team/app", "sequence": 1})
    );
    assert_eq!(
        Promotion::from_predicate(&first.to_predicate()).unwrap(),
        first
    );

    let rollback = Promotion {
        kind: EventKind::Rollback,
        reason: Some("bad release".into()),
        ..promotion(7, Some(digest(1)))
    };
    let value = rollback.to_predicate();
    assert_eq!(value["previous"], json!(digest(1).to_string()));
    assert_eq!(value["reason"], json!("bad release"));
    assert_eq!(value["kind"], json!("rollback"));
    assert_eq!(Promotion::from_predicate(&value).unwrap(), rollback);
}

#[test]
fn promotion_is_read_strictly() {
    let good = promotion(2, Some(digest(1))).to_predicate();
    let with = |field: &str, v: Value| {
        let mut value = good.clone();
        value[field] = v;
        value
    };
    let without = |field: &str| {
        let mut value = good.clone();
        value.as_object_mut().unwrap().remove(field);
        value
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!([]), "(predicate)"),
        (with("extra", json!(1)), "extra"),
        (without("environment"), "environment"),
        (with("environment", json!("PROD")), "environment"),
        (without("kind"), "kind"),
        (with("kind", json!("deploy")), "kind"),
        (with("kind", json!(1)), "kind"),
        (without("repository"), "repository"),
        (with("repository", json!("Team/App")), "repository"),
        (with("repository", json!("")), "repository"),
        (without("sequence"), "sequence"),
        (with("sequence", json!(0)), "sequence"),
        (with("sequence", json!(-1)), "sequence"),
        (with("sequence", json!(1.5)), "sequence"),
        (with("sequence", json!(2.0)), "sequence"),
        (with("sequence", json!("2")), "sequence"),
        (with("sequence", json!(MAX_SEQUENCE + 1)), "sequence"),
        (with("previous", json!("sha256:00")), "previous"),
        (with("previous", json!(digest(1).hex())), "previous"),
        (with("previous", json!(null)), "previous"),
        (with("reason", json!(null)), "reason"),
        (
            with("reason", json!("r".repeat(MAX_TEXT_CHARS + 1))),
            "reason",
        ),
        // Sequence rules: only the first event follows nothing, and it is never a rollback.
        (without("previous"), "previous"),
        (with("sequence", json!(1)), "previous"),
        (
            {
                let mut v = with("sequence", json!(1));
                v.as_object_mut().unwrap().remove("previous");
                v["kind"] = json!("rollback");
                v
            },
            "kind",
        ),
    ];
    for (value, field) in cases {
        let err = Promotion::from_predicate(&value).unwrap_err();
        assert_eq!(field_of(err), field, "{value}");
    }
    Promotion::from_predicate(&with("sequence", json!(MAX_SEQUENCE))).unwrap();
    Promotion::from_predicate(&with("kind", json!("rollback"))).unwrap();
}

#[test]
fn parse_predicate_rejects_duplicate_keys_and_junk() {
    let value = parse_predicate(br#"{"environment":"prod"}"#).unwrap();
    Approval::from_predicate(&value).unwrap();
    for bad in [
        &br#"{"environment":"prod","environment":"dev"}"#[..],
        b"{",
        b"{} {}",
        b"\xff",
    ] {
        assert!(matches!(
            parse_predicate(bad),
            Err(DeployError::MalformedJson(_))
        ));
    }
    let huge = format!(
        r#"{{"environment":"prod","comment":"{}"}}"#,
        "x".repeat(70_000)
    );
    assert!(matches!(
        parse_predicate(huge.as_bytes()),
        Err(DeployError::MalformedJson(_))
    ));
}

fn arb_promotion() -> impl Strategy<Value = Promotion> {
    (
        "[a-z][a-z0-9_]{0,20}",
        prop_oneof![Just(EventKind::Promote), Just(EventKind::Rollback)],
        "[a-z0-9]{1,8}(/[a-z0-9]{1,8}){0,2}",
        1..=MAX_SEQUENCE,
        any::<[u8; 32]>(),
        proptest::option::of(".{0,40}"),
    )
        .prop_map(|(environment, kind, repository, sequence, prev, reason)| {
            let first = sequence == 1;
            Promotion {
                environment,
                kind: if first { EventKind::Promote } else { kind },
                repository,
                sequence,
                previous: (!first).then_some(Digest::Sha256(prev)),
                reason,
            }
        })
}

proptest! {
    #[test]
    fn promotions_round_trip_through_json_text(promotion in arb_promotion()) {
        let text = serde_json::to_vec(&promotion.to_predicate()).unwrap();
        let value = parse_predicate(&text).unwrap();
        prop_assert_eq!(Promotion::from_predicate(&value).unwrap(), promotion);
    }

    #[test]
    fn approvals_round_trip_through_json_text(
        environment in "[a-z][a-z0-9_]{0,62}",
        comment in proptest::option::of(".{0,60}"),
    ) {
        let approval = Approval { environment, comment };
        let text = serde_json::to_vec(&approval.to_predicate()).unwrap();
        let value = parse_predicate(&text).unwrap();
        prop_assert_eq!(Approval::from_predicate(&value).unwrap(), approval);
    }
}
