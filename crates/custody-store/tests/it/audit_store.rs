//! The audit store: numbering, the previous record handed to the appender inside the
//! transaction, aborted appends, ordered streaming, and stored heads.

use custody_store::{AuditHeadRow, SqliteAuditStore};

#[test]
fn appends_are_numbered_and_see_their_predecessor() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let mut store = SqliteAuditStore::open(&path).unwrap();
    assert_eq!(store.last().unwrap(), None);
    let first = store
        .append(|last, seq| {
            assert!(last.is_none());
            assert_eq!(seq, 1);
            Some(b"one".to_vec())
        })
        .unwrap();
    assert_eq!(first, Some(1));
    let second = store
        .append(|last, seq| {
            assert_eq!(seq, 2);
            assert_eq!(last.unwrap().record, b"one");
            Some(format!("two after {}", last.unwrap().seq).into_bytes())
        })
        .unwrap();
    assert_eq!(second, Some(2));
    // An appender that declines writes nothing.
    assert_eq!(store.append(|_, _| None).unwrap(), None);
    assert_eq!(store.last().unwrap().unwrap().seq, 2);
    assert_eq!(store.get(1).unwrap().unwrap().record, b"one");
    assert_eq!(store.get(3).unwrap(), None);

    let reader = SqliteAuditStore::open_read_only(&path).unwrap();
    let mut seen = Vec::new();
    let result = reader
        .for_each(|row| {
            seen.push((row.seq, row.record));
            Ok::<(), ()>(())
        })
        .unwrap();
    assert_eq!(result, Ok(()));
    assert_eq!(
        seen,
        vec![(1, b"one".to_vec()), (2, b"two after 1".to_vec())]
    );
    // The callback's error stops the walk and comes back as is.
    let mut calls = 0;
    let stopped = reader
        .for_each(|_| {
            calls += 1;
            Err("stop")
        })
        .unwrap();
    assert_eq!((stopped, calls), (Err("stop"), 1));
}

#[test]
fn heads_are_stored_once_per_sequence_number() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteAuditStore::open(&dir.path().join("custody.db")).unwrap();
    let head = AuditHeadRow {
        seq: 5,
        hash: vec![7; 32],
        bundle: b"{}".to_vec(),
        logged_at: 1_700_000_000,
    };
    store.insert_head(&head).unwrap();
    store
        .insert_head(&AuditHeadRow {
            hash: vec![8; 32],
            ..head.clone()
        })
        .unwrap();
    assert_eq!(store.heads().unwrap(), vec![head]);
}

#[test]
fn a_database_without_an_audit_log_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    create_unrelated_database(&path);
    assert!(SqliteAuditStore::open_read_only(&path).is_err());
}

/// Creates an SQLite database with an unrelated table, through the token store.
fn create_unrelated_database(path: &std::path::Path) {
    custody_store::SqliteTokenStore::open(path).unwrap();
}
