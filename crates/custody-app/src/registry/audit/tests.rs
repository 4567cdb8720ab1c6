//! The audit chain under attack: edited, deleted, reordered, re-chained and truncated
//! records, in the database and in exports.

use custody_formats::trust_root::{Role, SignedTrustRoot, TrustRootBody, TrustedKey};
use custody_log::note::{KeyName, NoteSigner};
use rusqlite::{Connection, params};
use time::Duration as TimeDuration;

use super::*;
use crate::log::SequencerConfig;

const ORIGIN: &str = "log.audit.test/heads";

fn event(i: usize) -> AuditEvent {
    AuditEvent {
        actor: format!("token-{}", i % 3),
        action: "push-manifest".into(),
        repository: "app/web".into(),
        target: format!(
            "sha256:{}",
            hex::encode(sha256(&i.to_le_bytes()).as_bytes())
        ),
        outcome: if i.is_multiple_of(2) {
            Outcome::Allowed
        } else {
            Outcome::Denied {
                code: Code::SignatureMissing,
                reason: format!("no signature bundle among {i} referrer(s)"),
            }
        },
    }
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("custody.db")
}

/// An audit log with `n` records.
fn filled(n: usize) -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let audit = AuditLog::open(&db(&dir)).unwrap();
    for i in 0..n {
        assert_eq!(audit.append(&event(i)).unwrap(), i as u64 + 1);
    }
    (dir, audit)
}

fn sql(dir: &tempfile::TempDir) -> Connection {
    Connection::open(db(dir)).unwrap()
}

fn stored(dir: &tempfile::TempDir, seq: u64) -> Vec<u8> {
    sql(dir)
        .query_row(
            "SELECT record FROM audit_records WHERE seq = ?1",
            [seq as i64],
            |r| r.get(0),
        )
        .unwrap()
}

fn overwrite(dir: &tempfile::TempDir, seq: u64, bytes: &[u8]) {
    let changed = sql(dir)
        .execute(
            "UPDATE audit_records SET record = ?2 WHERE seq = ?1",
            params![seq as i64, bytes],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

fn expect_err(result: Result<ChainReport>, code: Code, needle: &str) {
    let err = result.expect_err("must be detected");
    assert_eq!(err.code(), code, "{err}");
    assert!(err.message().contains(needle), "'{err}' lacks '{needle}'");
}

#[test]
fn records_chain_and_verify() {
    let (dir, _audit) = filled(5);
    let report = verify_store(&db(&dir), None).unwrap();
    assert_eq!(report.records, 5);
    assert_eq!(report.head.as_ref().unwrap().0, 5);
    let first = decode(&stored(&dir, 1)).unwrap();
    assert_eq!(first.prev, GENESIS);
    assert_eq!(first.outcome, Outcome::Allowed);
    let second = decode(&stored(&dir, 2)).unwrap();
    assert_eq!(second.prev, record_hash(&stored(&dir, 1)));
    assert_eq!(second.actor, "token-1");
    assert_eq!(
        second.outcome,
        Outcome::Denied {
            code: Code::SignatureMissing,
            reason: "no signature bundle among 1 referrer(s)".into()
        }
    );
    assert!(second.time.ends_with('Z'), "{}", second.time);
    // The stored bytes are the canonical JSON, with exactly the documented members.
    let text = String::from_utf8(stored(&dir, 2)).unwrap();
    assert!(
        text.starts_with(
            "{\"action\":\"push-manifest\",\"actor\":\"token-1\",\"code\":\"CUSTODY-E1050\""
        ),
        "{text}"
    );
}

#[test]
fn an_empty_log_verifies_as_empty() {
    let (dir, _audit) = filled(0);
    let report = verify_store(&db(&dir), None).unwrap();
    assert_eq!(report.records, 0);
    assert_eq!(report.head, None);
}

#[test]
fn an_edited_record_breaks_the_chain_after_it() {
    let (dir, _audit) = filled(6);
    // Record 4 is a denial; the forger turns it into another reason.
    let original = String::from_utf8(stored(&dir, 4)).unwrap();
    let forged = original.replace("no signature bundle among 3", "no signature bundle among 4");
    assert_ne!(forged, original);
    overwrite(&dir, 4, forged.as_bytes());
    expect_err(
        verify_store(&db(&dir), None),
        Code::AuditChainBroken,
        "breaks at record 5: its prev is not the hash of record 4",
    );
}

#[test]
fn a_deleted_record_breaks_the_chain() {
    let (dir, _audit) = filled(6);
    sql(&dir)
        .execute("DELETE FROM audit_records WHERE seq = 4", [])
        .unwrap();
    expect_err(
        verify_store(&db(&dir), None),
        Code::AuditChainBroken,
        "breaks at record 4: found record 5",
    );
}

#[test]
fn a_deleted_first_record_breaks_the_chain() {
    let (dir, _audit) = filled(3);
    sql(&dir)
        .execute("DELETE FROM audit_records WHERE seq = 1", [])
        .unwrap();
    expect_err(
        verify_store(&db(&dir), None),
        Code::AuditChainBroken,
        "breaks at record 1",
    );
}

#[test]
fn reordered_records_break_the_chain() {
    let (dir, _audit) = filled(6);
    let (two, three) = (stored(&dir, 2), stored(&dir, 3));
    overwrite(&dir, 2, &three);
    overwrite(&dir, 3, &two);
    expect_err(
        verify_store(&db(&dir), None),
        Code::AuditChainBroken,
        "breaks at record 2: found record 3",
    );
}

#[test]
fn a_renumbered_record_breaks_the_chain() {
    let (dir, _audit) = filled(4);
    // Move record 4 to row 7: the rows are no longer contiguous.
    sql(&dir)
        .execute("UPDATE audit_records SET seq = 7 WHERE seq = 4", [])
        .unwrap();
    sql(&dir)
        .execute("DELETE FROM audit_records WHERE seq = 3", [])
        .unwrap();
    expect_err(
        verify_store(&db(&dir), None),
        Code::AuditChainBroken,
        "breaks at record 3: found record 7",
    );
}

#[test]
fn a_non_canonical_record_breaks_the_chain() {
    let (dir, _audit) = filled(3);
    let mut spaced = stored(&dir, 2);
    spaced.insert(1, b' ');
    overwrite(&dir, 2, &spaced);
    expect_err(
        verify_store(&db(&dir), None),
        Code::AuditChainBroken,
        "canonical",
    );
}

#[test]
fn export_verifies_offline_and_detects_edits() {
    let (dir, _audit) = filled(5);
    let out = dir.path().join("audit.jsonl");
    assert_eq!(export_to_file(&db(&dir), &out).unwrap(), 5);
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(text.lines().count(), 5);
    let report = verify_export(&mut text.as_bytes(), None).unwrap();
    assert_eq!(report, verify_store(&db(&dir), None).unwrap());

    let edited = text.replacen("token-1", "token-2", 1);
    expect_err(
        verify_export(&mut edited.as_bytes(), None),
        Code::AuditChainBroken,
        "breaks at record 3",
    );
    let lines: Vec<&str> = text.lines().collect();
    let dropped = [lines[0], lines[2], lines[3], lines[4]].join("\n");
    expect_err(
        verify_export(&mut dropped.as_bytes(), None),
        Code::AuditChainBroken,
        "breaks at record 2: found record 3",
    );
}

/// A server's log, audit key and trust root.
struct Anchored {
    dir: tempfile::TempDir,
    audit: Arc<AuditLog>,
    runtime: tokio::runtime::Runtime,
    trust_root: Verified<TrustRoot>,
    audit_key: PublicKey,
    now: OffsetDateTime,
}

fn anchored(n: usize) -> Anchored {
    let dir = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let root = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let log_key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let audit_key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let since = now - TimeDuration::days(1);
    let body = TrustRootBody::new(
        1,
        now + TimeDuration::days(30),
        1,
        vec![
            TrustedKey::new(root.public_key().clone(), Role::Root, since, None, None).unwrap(),
            TrustedKey::new(log_key.public_key().clone(), Role::Log, since, None, None)
                .unwrap()
                .with_name(ORIGIN)
                .unwrap(),
        ],
    )
    .unwrap();
    let mut signed = SignedTrustRoot::new(body);
    signed.sign(&root).unwrap();
    let trust_root = signed.verify(now).unwrap();
    let log_id = sha256(log_key.public_key().spki_der()).as_bytes().to_vec();
    let log = Arc::new(
        Log::open(
            &db(&dir),
            Box::new(NoteSigner::new(KeyName::new(ORIGIN).unwrap(), log_key).unwrap()),
            SequencerConfig::default(),
        )
        .unwrap(),
    );
    let public = audit_key.public_key().clone();
    let audit = AuditLog::open(&db(&dir))
        .unwrap()
        .with_anchor(log, audit_key, log_id)
        .unwrap();
    for i in 0..n {
        audit.append(&event(i)).unwrap();
    }
    Anchored {
        dir,
        audit: Arc::new(audit),
        runtime: tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
        trust_root,
        audit_key: public,
        now,
    }
}

impl Anchored {
    fn check(&self) -> HeadCheck<'_> {
        HeadCheck {
            trust_root: &self.trust_root,
            audit_key: &self.audit_key,
            now: self.now,
        }
    }

    fn log_head(&self) -> Option<LoggedHead> {
        self.runtime.block_on(self.audit.log_head()).unwrap()
    }
}

#[test]
fn logged_heads_verify_and_are_noted_in_the_chain() {
    let a = anchored(5);
    let head = a.log_head().unwrap();
    assert_eq!(head.seq, 5);
    assert_eq!(head.digest, sha256(&stored(&a.dir, 5)));
    // Nothing happened since: no new head.
    assert!(a.log_head().is_none());
    let noted = decode(&stored(&a.dir, 6)).unwrap();
    assert_eq!(noted.action, ACTION_LOG_HEAD);
    assert!(noted.target.starts_with("5 sha256:"), "{}", noted.target);
    a.audit.append(&event(9)).unwrap();
    assert_eq!(a.log_head().unwrap().seq, 7);

    let report = verify_store(&db(&a.dir), Some(&a.check())).unwrap();
    assert_eq!(report.records, 8);
    assert_eq!(report.heads_verified, 2);
    let unchecked = verify_store(&db(&a.dir), None).unwrap();
    assert_eq!(unchecked.heads_unchecked, 2);

    let out = a.dir.path().join("audit.jsonl");
    export_to_file(&db(&a.dir), &out).unwrap();
    let file = std::fs::read(&out).unwrap();
    let offline = verify_export(&mut file.as_slice(), Some(&a.check())).unwrap();
    assert_eq!(offline, report);
}

#[test]
fn truncating_the_tail_after_a_logged_head_is_detected() {
    let a = anchored(5);
    a.log_head().unwrap();
    for i in 0..3 {
        a.audit.append(&event(i)).unwrap();
    }
    // Cut the history back to record 3: records 1..3 still chain perfectly.
    sql(&a.dir)
        .execute("DELETE FROM audit_records WHERE seq > 3", [])
        .unwrap();
    expect_err(
        verify_store(&db(&a.dir), Some(&a.check())),
        Code::AuditHeadMismatch,
        "record 5 was logged as a chain head, but the audit log ends at record 3",
    );
}

#[test]
fn rewriting_and_rechaining_history_is_detected_by_the_logged_head() {
    let a = anchored(5);
    a.log_head().unwrap();
    // The attacker edits record 2 and recomputes every later record's prev, so the chain
    // itself is consistent again.
    let total = 6;
    let mut prev = record_hash(&stored(&a.dir, 1));
    for seq in 2..=total {
        let record = decode(&stored(&a.dir, seq)).unwrap();
        let mut ev = AuditEvent {
            actor: record.actor,
            action: record.action,
            repository: record.repository,
            target: record.target,
            outcome: record.outcome,
        };
        if seq == 2 {
            ev.outcome = Outcome::Allowed;
        }
        let bytes = encode(seq, &record.time, &ev, &prev).unwrap();
        prev = record_hash(&bytes);
        overwrite(&a.dir, seq, &bytes);
    }
    // Without the heads the rewrite would pass; with them it does not.
    sql(&a.dir).execute("DELETE FROM audit_heads", []).unwrap();
    expect_err(
        verify_store(&db(&a.dir), None),
        Code::AuditHeadMismatch,
        "notes a logged chain head",
    );
    let b = anchored(5);
    b.log_head().unwrap();
    let original = stored(&b.dir, 5);
    let rewritten = String::from_utf8(original)
        .unwrap()
        .replace("token-1", "token-0");
    // Re-chain record 6 onto the rewritten record 5.
    let six = decode(&stored(&b.dir, 6)).unwrap();
    let ev = AuditEvent {
        actor: six.actor,
        action: six.action,
        repository: six.repository,
        target: six.target,
        outcome: six.outcome,
    };
    let new_six = encode(6, &six.time, &ev, &record_hash(rewritten.as_bytes())).unwrap();
    overwrite(&b.dir, 5, rewritten.as_bytes());
    overwrite(&b.dir, 6, &new_six);
    expect_err(
        verify_store(&db(&b.dir), Some(&b.check())),
        Code::AuditHeadMismatch,
        "record 5 differs from the chain head logged for it",
    );
}

#[test]
fn a_head_signed_by_another_key_does_not_verify() {
    let a = anchored(3);
    a.log_head().unwrap();
    let other = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let check = HeadCheck {
        trust_root: &a.trust_root,
        audit_key: other.public_key(),
        now: a.now,
    };
    expect_err(
        verify_store(&db(&a.dir), Some(&check)),
        Code::AuditHeadMismatch,
        "the chain head logged for record 3 does not verify",
    );
}

#[test]
fn a_head_logger_logs_periodically_and_stops_on_drop() {
    let a = anchored(2);
    let logger = HeadLogger::spawn(Arc::clone(&a.audit), Duration::from_millis(20)).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while verify_store(&db(&a.dir), None).unwrap().heads_unchecked == 0 {
        assert!(std::time::Instant::now() < deadline, "no head was logged");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(logger.last_error().is_none());
    drop(logger);
    let report = verify_store(&db(&a.dir), Some(&a.check())).unwrap();
    assert_eq!(report.heads_verified, 1);
    assert_eq!(report.records, 3);
}

#[test]
fn the_sink_records_events() {
    let (dir, audit) = filled(0);
    let sink: &dyn AuditSink = &audit;
    sink.record(event(1)).unwrap();
    sink.record(event(2)).unwrap();
    assert_eq!(verify_store(&db(&dir), None).unwrap().records, 2);
}
