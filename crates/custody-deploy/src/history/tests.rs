use custody_crypto::{Digest, sha256};
use proptest::prelude::*;
use time::OffsetDateTime;

use crate::{
    DeployError, EnvironmentEvent, EventKind, Promotion, StoreError, check_next,
    check_rollback_target, current, rollback_candidates,
};

fn digest(n: u8) -> Digest {
    sha256(&[n])
}

/// A history of `prod` whose events make `digests` current in turn.
fn history(digests: &[u8]) -> Vec<EnvironmentEvent> {
    let mut events: Vec<EnvironmentEvent> = Vec::new();
    for (i, n) in digests.iter().enumerate() {
        events.push(EnvironmentEvent {
            environment: "prod".into(),
            sequence: i as u64 + 1,
            kind: EventKind::Promote,
            repository: format!("repo{n}"),
            digest: digest(*n),
            previous: events.last().map(|e| e.digest),
            signer: "key".into(),
            log_index: i as u64,
            bundle: b"{}".to_vec(),
            recorded_at: OffsetDateTime::UNIX_EPOCH,
        });
    }
    events
}

fn next(history: &[EnvironmentEvent]) -> Promotion {
    Promotion {
        environment: "prod".into(),
        kind: EventKind::Promote,
        repository: "app".into(),
        sequence: history.len() as u64 + 1,
        previous: history.last().map(|e| e.digest),
        reason: None,
    }
}

#[test]
fn current_is_the_last_event() {
    assert!(current(&[]).is_none());
    let h = history(&[1, 2, 3]);
    assert_eq!(current(&h).unwrap().digest, digest(3));
}

#[test]
fn rollback_candidates_are_newest_first_deduplicated_and_exclude_the_current_digest() {
    assert!(rollback_candidates(&[]).is_empty());
    assert!(rollback_candidates(&history(&[1])).is_empty());
    assert_eq!(
        rollback_candidates(&history(&[1, 2, 3])),
        vec![(digest(2), "repo2".into()), (digest(1), "repo1".into())]
    );
    // 1 → 2 → 1 → 3 → 2: current is 2; before it 3, then 1 (newest occurrence), never 2.
    assert_eq!(
        rollback_candidates(&history(&[1, 2, 1, 3, 2])),
        vec![(digest(3), "repo3".into()), (digest(1), "repo1".into())]
    );
    // The same digest re-promoted is not a candidate of itself.
    assert!(rollback_candidates(&history(&[4, 4, 4])).is_empty());
}

#[test]
fn rollback_target_must_have_been_current_before() {
    let h = history(&[1, 2, 3]);
    check_rollback_target(&h, "prod", &digest(1)).unwrap();
    check_rollback_target(&h, "prod", &digest(2)).unwrap();
    for target in [digest(3), digest(9)] {
        assert!(matches!(
            check_rollback_target(&h, "prod", &target),
            Err(DeployError::NotARollbackCandidate { digest, .. }) if digest == target
        ));
    }
    assert!(check_rollback_target(&[], "prod", &digest(1)).is_err());
}

#[test]
fn check_next_accepts_exactly_the_next_position() {
    check_next(&[], &next(&[])).unwrap();
    let h = history(&[1, 2]);
    check_next(&h, &next(&h)).unwrap();
}

#[test]
fn check_next_refuses_stale_and_replayed_sequences() {
    let h = history(&[1, 2]);
    for sequence in [1, 2, 4, 100] {
        let p = Promotion {
            sequence,
            ..next(&h)
        };
        assert!(matches!(
            check_next(&h, &p),
            Err(DeployError::Conflict { expected: 3, found, ref environment })
                if found == sequence && environment == "prod"
        ));
    }
}

#[test]
fn check_next_refuses_a_wrong_previous() {
    let h = history(&[1, 2]);
    for previous in [None, Some(digest(1)), Some(digest(9))] {
        let p = Promotion {
            previous,
            ..next(&h)
        };
        assert!(matches!(
            check_next(&h, &p),
            Err(DeployError::PreviousMismatch { expected: Some(e), found, .. })
                if e == digest(2).to_string() && found == previous.map(|d| d.to_string())
        ));
    }
    let p = Promotion {
        previous: Some(digest(1)),
        ..next(&[])
    };
    assert!(matches!(
        check_next(&[], &p),
        Err(DeployError::PreviousMismatch { expected: None, .. })
    ));
}

#[test]
fn check_next_refuses_another_environments_history() {
    let h = history(&[1]);
    let p = Promotion {
        environment: "staging".into(),
        ..next(&h)
    };
    assert!(matches!(
        check_next(&h, &p),
        Err(DeployError::EnvironmentMismatch { expected, found }) if expected == "prod" && found == "staging"
    ));
}

#[test]
fn store_errors_become_deploy_errors() {
    let e: DeployError = StoreError::Conflict {
        environment: "prod".into(),
        expected: 3,
        found: 2,
    }
    .into();
    assert!(matches!(
        e,
        DeployError::Conflict {
            expected: 3,
            found: 2,
            ..
        }
    ));
    let e: DeployError = StoreError::Storage("disk full".into()).into();
    assert!(matches!(e, DeployError::Storage(m) if m == "disk full"));
}

proptest! {
    #[test]
    fn candidates_are_distinct_earlier_digests_never_the_current_one(
        digests in proptest::collection::vec(0u8..6, 0..30),
    ) {
        let h = history(&digests);
        let candidates = rollback_candidates(&h);
        let mut seen = std::collections::HashSet::new();
        for (d, _) in &candidates {
            prop_assert!(seen.insert(*d));
            prop_assert!(Some(d) != current(&h).map(|e| &e.digest));
            prop_assert!(h.iter().any(|e| e.digest == *d));
        }
        // Every digest of an earlier event other than the current one is a candidate.
        let earlier: std::collections::HashSet<_> = h
            .iter()
            .rev()
            .skip(1)
            .map(|e| e.digest)
            .filter(|d| Some(d) != current(&h).map(|e| &e.digest))
            .collect();
        prop_assert_eq!(seen, earlier);
        // A chain built by check_next always accepts its own next step.
        prop_assert!(check_next(&h, &next(&h)).is_ok());
    }
}
