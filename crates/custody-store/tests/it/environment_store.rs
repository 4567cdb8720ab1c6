//! The environment store: round trips, conflicts on the wrong sequence, one winner among
//! concurrent appends (threads sharing a store and separate connections alike), durability
//! across reopening, lookups by digest, and the table refusing changes to recorded events.

use std::sync::{Arc, Barrier};

use custody_crypto::{Digest, sha256};
use custody_deploy::{EnvironmentEvent, EnvironmentStore, EventKind, StoreError};
use custody_store::SqliteEnvironmentStore;
use time::macros::datetime;

fn digest(n: u64) -> Digest {
    sha256(&n.to_be_bytes())
}

fn event(environment: &str, sequence: u64, n: u64) -> EnvironmentEvent {
    EnvironmentEvent {
        environment: environment.into(),
        sequence,
        kind: if sequence.is_multiple_of(3) {
            EventKind::Rollback
        } else {
            EventKind::Promote
        },
        repository: "team/app".into(),
        digest: digest(n),
        previous: (sequence > 1).then(|| digest(n + 1000)),
        signer: format!("key-{n}"),
        log_index: 40 + n,
        bundle: format!("{{\"bundle\":{n}}}").into_bytes(),
        recorded_at: datetime!(2026-11-22 08:00:00.123456789 +02:00),
    }
}

fn is_conflict(result: Result<(), StoreError>, expected: u64, found: u64) -> bool {
    matches!(
        result,
        Err(StoreError::Conflict { expected: e, found: f, .. }) if e == expected && f == found
    )
}

#[test]
fn appended_events_come_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteEnvironmentStore::open(&dir.path().join("custody.db")).unwrap();
    assert!(store.history("prod").unwrap().is_empty());
    assert!(store.environments().unwrap().is_empty());

    let events: Vec<_> = (1..=4).map(|s| event("prod", s, s)).collect();
    for e in &events {
        store.append(e).unwrap();
    }
    store.append(&event("dev", 1, 9)).unwrap();
    let history = store.history("prod").unwrap();
    assert_eq!(history, events);
    // Times are stored in UTC, keeping the instant and its nanoseconds.
    assert_eq!(history[0].recorded_at.offset(), time::UtcOffset::UTC);
    assert_eq!(
        history[0].recorded_at,
        datetime!(2026-11-22 06:00:00.123456789 UTC)
    );
    assert_eq!(store.environments().unwrap(), vec!["dev", "prod"]);
    assert!(store.history("staging").unwrap().is_empty());
}

#[test]
fn an_append_at_the_wrong_position_conflicts_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteEnvironmentStore::open(&dir.path().join("custody.db")).unwrap();
    assert!(is_conflict(store.append(&event("prod", 2, 2)), 1, 2));
    assert!(is_conflict(store.append(&event("prod", 0, 2)), 1, 0));
    store.append(&event("prod", 1, 1)).unwrap();
    // A replay of the same position, a gap, and a stale position all conflict.
    assert!(is_conflict(store.append(&event("prod", 1, 5)), 2, 1));
    assert!(is_conflict(store.append(&event("prod", 3, 5)), 2, 3));
    store.append(&event("prod", 2, 2)).unwrap();
    assert!(is_conflict(store.append(&event("prod", 1, 1)), 3, 1));
    // Positions are per environment.
    store.append(&event("staging", 1, 1)).unwrap();
    assert_eq!(store.history("prod").unwrap().len(), 2);
    assert_eq!(store.history("staging").unwrap().len(), 1);
}

#[test]
fn concurrent_appends_have_exactly_one_winner_per_position() {
    const THREADS: usize = 8;
    const ROUNDS: u64 = 12;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let shared = Arc::new(SqliteEnvironmentStore::open(&path).unwrap());
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            // Half share one store (one writer connection), half have their own connections,
            // so both the store's lock and SQLite's IMMEDIATE transactions are exercised.
            let store: Arc<dyn EnvironmentStore> = if t % 2 == 0 {
                shared.clone()
            } else {
                Arc::new(SqliteEnvironmentStore::open(&path).unwrap())
            };
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut won = Vec::new();
                for sequence in 1..=ROUNDS {
                    barrier.wait();
                    let n = sequence * 100 + t as u64;
                    match store.append(&event("prod", sequence, n)) {
                        Ok(()) => won.push((sequence, n)),
                        Err(StoreError::Conflict {
                            expected, found, ..
                        }) => {
                            assert_eq!((expected, found), (sequence + 1, sequence));
                        }
                        Err(e) => panic!("thread {t}: {e}"),
                    }
                    barrier.wait();
                }
                won
            })
        })
        .collect();
    let mut winners: Vec<(u64, u64)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    winners.sort_unstable();
    assert_eq!(
        winners.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=ROUNDS).collect::<Vec<_>>(),
        "exactly one winner per position"
    );
    let history = shared.history("prod").unwrap();
    assert_eq!(history.len() as u64, ROUNDS);
    for ((event, (sequence, n)), position) in history.iter().zip(&winners).zip(1..) {
        assert_eq!(event.sequence, position);
        assert_eq!((event.sequence, event.digest), (*sequence, digest(*n)));
    }
}

#[test]
fn racing_appenders_without_rounds_build_a_gapless_history() {
    const THREADS: usize = 6;
    const TARGET: u64 = 60;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let store = SqliteEnvironmentStore::open(&path).unwrap();
            std::thread::spawn(move || {
                let mut wins = 0;
                loop {
                    let next = store.history("prod").unwrap().len() as u64 + 1;
                    if next > TARGET {
                        return wins;
                    }
                    match store.append(&event("prod", next, next * 10 + t as u64)) {
                        Ok(()) => wins += 1,
                        Err(StoreError::Conflict { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            })
        })
        .collect();
    let wins: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(wins, TARGET);
    let store = SqliteEnvironmentStore::open(&path).unwrap();
    let sequences: Vec<u64> = store
        .history("prod")
        .unwrap()
        .iter()
        .map(|e| e.sequence)
        .collect();
    assert_eq!(sequences, (1..=TARGET).collect::<Vec<_>>());
}

#[test]
fn a_reopened_store_keeps_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let events: Vec<_> = (1..=3).map(|s| event("prod", s, s)).collect();
    {
        let store = SqliteEnvironmentStore::open(&path).unwrap();
        for e in &events {
            store.append(e).unwrap();
        }
        store.append(&event("dev", 1, 7)).unwrap();
    }
    let store = SqliteEnvironmentStore::open(&path).unwrap();
    assert_eq!(store.history("prod").unwrap(), events);
    assert_eq!(store.environments().unwrap(), vec!["dev", "prod"]);
    // It continues where it stopped.
    assert!(is_conflict(store.append(&event("prod", 3, 9)), 4, 3));
    store.append(&event("prod", 4, 4)).unwrap();
}

#[test]
fn events_are_found_by_digest_across_environments() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteEnvironmentStore::open(&dir.path().join("custody.db")).unwrap();
    store.append(&event("staging", 1, 1)).unwrap();
    store.append(&event("staging", 2, 2)).unwrap();
    store.append(&event("prod", 1, 1)).unwrap();
    store.append(&event("prod", 2, 3)).unwrap();
    store.append(&event("prod", 3, 1)).unwrap();
    let found: Vec<(String, u64)> = store
        .events_for_digest(&digest(1))
        .unwrap()
        .into_iter()
        .map(|e| (e.environment, e.sequence))
        .collect();
    assert_eq!(
        found,
        vec![
            ("prod".into(), 1),
            ("prod".into(), 3),
            ("staging".into(), 1)
        ]
    );
    assert!(store.events_for_digest(&digest(99)).unwrap().is_empty());
}

#[test]
fn recorded_events_cannot_be_changed_or_removed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let store = SqliteEnvironmentStore::open(&path).unwrap();
    store.append(&event("prod", 1, 1)).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE env_events SET digest = 'sha256:00' WHERE environment = 'prod'",
        "DELETE FROM env_events",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(store.history("prod").unwrap(), vec![event("prod", 1, 1)]);
}

#[test]
fn corrupt_rows_are_reported_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let store = SqliteEnvironmentStore::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "INSERT INTO env_events (environment, sequence, kind, repository, digest, previous, signer, log_index, bundle, recorded_at)
         VALUES ('prod', 1, 'promote', 'app', 'sha256:nothex', NULL, 'k', 1, x'00', '2026-11-22T08:00:00Z')",
        [],
    )
    .unwrap();
    assert!(matches!(
        store.history("prod"),
        Err(StoreError::Storage(m)) if m.contains("corrupt")
    ));
}
