//! The registry's audit log: every write and every denial, as an append-only, hash-chained
//! sequence of records in the data directory's database, with chain heads anchored in the
//! server's transparency log. docs/registry-audit.md describes the format.
//!
//! ## Records
//!
//! Record `N` is the RFC 8785 (JCS) canonical JSON of an object with exactly these members:
//!
//! ```text
//! type        "https://custody.dev/audit-record/v1"
//! seq         N (1, 2, 3, ...)
//! time        RFC 3339 UTC with milliseconds, e.g. "2026-11-22T05:00:00.123Z"
//! actor       token id, or "anonymous"
//! action      push-blob, push-manifest, tag, delete-manifest, ..., log-audit-head
//! repository  repository name ("" for server-wide events)
//! target      digest or tag acted on
//! outcome     "allowed" or "denied"
//! code        "CUSTODY-Exxxx" when denied, null when allowed
//! reason      the one-line reason when denied, null when allowed
//! prev        lowercase hex SHA-256 of record N-1's bytes; 64 zeros for record 1
//! ```
//!
//! The stored bytes are exactly the canonical bytes, so the hash of a record is the SHA-256 of
//! what is stored (and exported): a verifier re-canonicalises each record it parses and
//! refuses any that is not byte-identical, so there is one reading of every record.
//!
//! ## Chain heads
//!
//! With a transparency log configured ([`AuditLog::with_anchor`]), [`AuditLog::log_head`]
//! signs the digest of the last record with the server's audit key (ECDSA P-256,
//! `DIR/keys/audit.key`), logs that signature as a `hashedrekord` entry in the server's own
//! log, stores the bundle (with its inclusion proof) beside the chain, and appends a
//! `log-audit-head` record naming it. [`verify_store`] and [`verify_export`] then require that
//! every logged head is still in the chain with the same hash (so truncating or rewriting
//! history before a logged head is detected), that the chain's own `log-audit-head` records
//! all have their stored heads, and, given the trust root and audit key, that each head's
//! signature and inclusion proof verify offline.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use custody_crypto::{Digest, KeyAlgorithm, PublicKey, Signer, SigningKey, sha256};
use custody_formats::bundle::{Bundle, Content, InclusionProof, KeyMaterial, TlogEntry};
use custody_formats::trust_root::TrustRoot;
use custody_formats::{Limits, Verified, json};
use custody_store::{AuditHeadRow, AuditRow, SqliteAuditStore};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, write_atomic_with};
use crate::log::Log;
use crate::registry::enforce::Clock;
use crate::registry::policy::{AuditEvent, AuditSink, Outcome};
use crate::verify::{BUNDLE_LIMIT, Trust, verify_bundle_digests};

/// The `type` member of every record.
pub const RECORD_TYPE_V1: &str = "https://custody.dev/audit-record/v1";

/// The action of the record that notes a logged chain head.
pub const ACTION_LOG_HEAD: &str = "log-audit-head";

/// The actor of records the server writes on its own behalf.
pub const SERVER_ACTOR: &str = "custody-server";

/// Export lines (records and heads) longer than this are refused.
pub const EXPORT_LINE_LIMIT: u64 = BUNDLE_LIMIT + 64 * 1024;

const GENESIS: [u8; 32] = [0; 32];

const MEMBERS: [&str; 11] = [
    "action",
    "actor",
    "code",
    "outcome",
    "prev",
    "reason",
    "repository",
    "seq",
    "target",
    "time",
    "type",
];

/// `DIR/keys/audit` (prefix of `.key` and `.pub`) in the data directory `data_dir`.
pub fn audit_key_prefix(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("audit")
}

/// A record as read back from its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Its sequence number.
    pub seq: u64,
    /// When it was recorded (RFC 3339 UTC).
    pub time: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Where.
    pub repository: String,
    /// On what.
    pub target: String,
    /// Allowed, or denied with a code and reason.
    pub outcome: Outcome,
    /// SHA-256 of the previous record's bytes (zeros for the first).
    pub prev: [u8; 32],
}

fn storage(e: &custody_store::Error) -> Error {
    Error::new(Code::AuditStorage, format!("audit log storage: {e}"))
}

fn broken(message: String) -> Error {
    Error::new(Code::AuditChainBroken, message)
}

fn head_mismatch(message: String) -> Error {
    Error::new(Code::AuditHeadMismatch, message)
}

/// Encodes a record (RFC 8785 canonical JSON).
fn encode(seq: u64, time: &str, event: &AuditEvent, prev: &[u8; 32]) -> Result<Vec<u8>> {
    let (outcome, code, reason) = match &event.outcome {
        Outcome::Allowed => ("allowed", Value::Null, Value::Null),
        Outcome::Denied { code, reason } => (
            "denied",
            Value::String(code.to_string()),
            Value::String(reason.clone()),
        ),
    };
    let value = json!({
        "type": RECORD_TYPE_V1,
        "seq": seq,
        "time": time,
        "actor": event.actor,
        "action": event.action,
        "repository": event.repository,
        "target": event.target,
        "outcome": outcome,
        "code": code,
        "reason": reason,
        "prev": hex::encode(prev),
    });
    json::canonicalize(&value).map_err(|e| {
        Error::new(
            Code::Internal,
            format!("cannot encode an audit record: {e}"),
        )
    })
}

/// Decodes a record, requiring exactly the canonical encoding.
pub fn decode(bytes: &[u8]) -> std::result::Result<AuditRecord, String> {
    let value = json::parse_strict(bytes, &Limits::default()).map_err(|e| e.to_string())?;
    let canonical = json::canonicalize(&value).map_err(|e| e.to_string())?;
    if canonical != bytes {
        return Err("not in canonical form (RFC 8785)".into());
    }
    let Value::Object(map) = &value else {
        return Err("not a JSON object".into());
    };
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    if keys != MEMBERS {
        return Err(format!("members are {keys:?}, expected {MEMBERS:?}"));
    }
    let text = |name: &str| -> std::result::Result<String, String> {
        map[name]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("'{name}' is not a string"))
    };
    if text("type")? != RECORD_TYPE_V1 {
        return Err(format!("type is not {RECORD_TYPE_V1}"));
    }
    let seq = map["seq"]
        .as_u64()
        .filter(|s| *s >= 1)
        .ok_or("'seq' is not a positive integer")?;
    let time = text("time")?;
    OffsetDateTime::parse(&time, &Rfc3339).map_err(|e| format!("'time': {e}"))?;
    let prev_hex = text("prev")?;
    let mut prev = [0u8; 32];
    if prev_hex.len() != 64 || prev_hex.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("'prev' is not 64 lowercase hex digits".into());
    }
    hex::decode_to_slice(&prev_hex, &mut prev).map_err(|e| format!("'prev': {e}"))?;
    let outcome = match (text("outcome")?.as_str(), &map["code"], &map["reason"]) {
        ("allowed", Value::Null, Value::Null) => Outcome::Allowed,
        ("denied", Value::String(code), Value::String(reason)) => Outcome::Denied {
            code: code
                .parse()
                .map_err(|()| format!("unknown code '{code}'"))?,
            reason: reason.clone(),
        },
        _ => return Err("'outcome', 'code' and 'reason' do not agree".into()),
    };
    Ok(AuditRecord {
        seq,
        time,
        actor: text("actor")?,
        action: text("action")?,
        repository: text("repository")?,
        target: text("target")?,
        outcome,
        prev,
    })
}

fn record_hash(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0; 32];
    out.copy_from_slice(sha256(bytes).as_bytes());
    out
}

/// The audit log of a server: an [`AuditSink`] over the data directory's database.
pub struct AuditLog {
    store: Mutex<SqliteAuditStore>,
    anchor: Option<Anchor>,
    clock: Clock,
}

struct Anchor {
    log: Arc<Log>,
    signer: SigningKey,
    log_id: Vec<u8>,
}

/// A chain head that [`AuditLog::log_head`] logged.
#[derive(Debug, Clone)]
pub struct LoggedHead {
    /// The sequence number of the head record.
    pub seq: u64,
    /// The SHA-256 of its bytes.
    pub digest: Digest,
    /// The transparency-log index of the signed head.
    pub log_index: u64,
}

impl AuditLog {
    /// Opens (creating the tables if needed) the audit log in the database at `database`.
    pub fn open(database: &Path) -> Result<Self> {
        Ok(Self {
            store: Mutex::new(SqliteAuditStore::open(database).map_err(|e| storage(&e))?),
            anchor: None,
            clock: Box::new(OffsetDateTime::now_utc),
        })
    }

    /// Stamps records with the times `clock` returns instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Anchors chain heads in `log` (the server's own log), signed by the ECDSA P-256
    /// `signer` (the audit key).
    pub fn with_anchor(
        mut self,
        log: Arc<Log>,
        signer: SigningKey,
        log_id: Vec<u8>,
    ) -> Result<Self> {
        if signer.public_key().algorithm() != KeyAlgorithm::EcdsaP256 {
            return Err(Error::new(
                Code::KeyFileMalformed,
                "the audit key must be an ECDSA P-256 key (it signs SHA-256 record hashes)",
            ));
        }
        self.anchor = Some(Anchor {
            log,
            signer,
            log_id,
        });
        Ok(self)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, SqliteAuditStore>> {
        self.store
            .lock()
            .map_err(|_| Error::new(Code::Internal, "audit store lock poisoned"))
    }

    /// Appends `event` durably and returns its sequence number.
    pub fn append(&self, event: &AuditEvent) -> Result<u64> {
        let now = (self.clock)();
        let now = now.replace_millisecond(now.millisecond()).unwrap_or(now);
        let time = now
            .to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|e| Error::new(Code::Internal, format!("cannot format the time: {e}")))?;
        let mut failure = None;
        let seq = self
            .lock()?
            .append(|last: Option<&AuditRow>, seq| {
                let prev = last.map_or(GENESIS, |r| record_hash(&r.record));
                match encode(seq, &time, event, &prev) {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        failure = Some(e);
                        None
                    }
                }
            })
            .map_err(|e| storage(&e))?;
        match (seq, failure) {
            (Some(seq), _) => Ok(seq),
            (None, Some(e)) => Err(e),
            (None, None) => Err(Error::new(
                Code::Internal,
                "the audit record was not appended",
            )),
        }
    }

    /// Signs the current chain head with the audit key, logs it in the transparency log,
    /// stores the bundle and records a `log-audit-head` event. Returns `None` when there is no
    /// log anchor, no record yet, or nothing happened since the last logged head.
    pub async fn log_head(&self) -> Result<Option<LoggedHead>> {
        let Some(anchor) = &self.anchor else {
            return Ok(None);
        };
        let Some(last) = self.lock()?.last().map_err(|e| storage(&e))? else {
            return Ok(None);
        };
        let already = decode(&last.record).is_ok_and(|r| r.action == ACTION_LOG_HEAD);
        if already {
            return Ok(None);
        }
        let digest = sha256(&last.record);
        let signature = anchor
            .signer
            .sign_prehashed(&digest)
            .map_err(|e| Error::signing(&e))?;
        let mut bundle = Bundle::new(
            Content::MessageSignature { digest, signature },
            KeyMaterial::PublicKeyHint(anchor.signer.public_key().key_id().to_string()),
        );
        let record = crate::tlog::expected_records(&bundle, anchor.signer.public_key())?
            .into_iter()
            .next()
            .ok_or_else(|| Error::new(Code::Internal, "no log record for the audit head"))?;
        let entry = record
            .canonical_entry()
            .map_err(|e| Error::new(Code::Internal, e.to_string()))?;
        let receipt = anchor.log.submit(entry.clone()).await?;
        let log_index = receipt.index.get();
        bundle.add_tlog_entry(TlogEntry {
            log_index,
            log_id: anchor.log_id.clone(),
            kind: record.kind().to_owned(),
            version: record.api_version().to_owned(),
            integrated_time: None,
            inclusion_promise: None,
            inclusion_proof: Some(InclusionProof {
                log_index,
                root_hash: receipt.root.as_bytes().to_vec(),
                tree_size: receipt.tree_size.get(),
                hashes: receipt
                    .proof
                    .iter()
                    .map(|h| h.as_bytes().to_vec())
                    .collect(),
                checkpoint: receipt.checkpoint.to_string(),
            }),
            canonicalized_body: entry,
        });
        self.lock()?
            .insert_head(&AuditHeadRow {
                seq: last.seq,
                hash: digest.as_bytes().to_vec(),
                bundle: bundle.to_json(),
                logged_at: (self.clock)().unix_timestamp(),
            })
            .map_err(|e| storage(&e))?;
        self.append(&AuditEvent {
            actor: SERVER_ACTOR.into(),
            action: ACTION_LOG_HEAD.into(),
            repository: String::new(),
            target: format!("{} {digest} {log_index}", last.seq),
            outcome: Outcome::Allowed,
        })?;
        Ok(Some(LoggedHead {
            seq: last.seq,
            digest,
            log_index,
        }))
    }
}

impl AuditSink for AuditLog {
    fn record(&self, event: AuditEvent) -> Result<()> {
        self.append(&event).map(|_| ())
    }
}

/// The default interval between logged chain heads.
pub const DEFAULT_HEAD_INTERVAL: Duration = Duration::from_secs(300);

/// Loads the data directory's audit key (`DIR/keys/audit.key`), creating it on first use as an
/// ECDSA P-256 key protected like the log key: written unencrypted only if the log key at
/// `log_key` is unencrypted (the operator chose `--no-passphrase`), else encrypted with
/// `passphrase()`, which is asked at most once.
pub fn load_or_create_audit_key(
    data_dir: &Path,
    log_key: &Path,
    passphrase: &mut dyn FnMut() -> Result<secrecy::SecretString>,
) -> Result<SigningKey> {
    let mut asked: Option<secrecy::SecretString> = None;
    let mut once = || -> Result<secrecy::SecretString> {
        if let Some(p) = &asked {
            return Ok(p.clone());
        }
        let p = passphrase()?;
        asked = Some(p.clone());
        Ok(p)
    };
    let prefix = audit_key_prefix(data_dir);
    let (private, _) = crate::keys::key_paths(&prefix);
    if !private.exists() {
        let log_pem = crate::fs::read_text(log_key, 64 * 1024)?;
        let protection = if crate::keys::is_encrypted_pem(&log_pem) {
            crate::keys::NewKeyProtection::Passphrase(once()?)
        } else {
            crate::keys::NewKeyProtection::Unencrypted
        };
        crate::keys::generate_key_files(&prefix, KeyAlgorithm::EcdsaP256, &protection)?;
    }
    crate::keys::load_signing_key(&private, &mut once)
}

impl AuditLog {
    /// Logs the chain head now, blocking (for shutdown, or outside any async runtime).
    pub fn log_head_now(&self) -> Result<Option<LoggedHead>> {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| Error::new(Code::Internal, format!("cannot start a runtime: {e}")))?
            .block_on(self.log_head())
    }
}

/// A background thread that logs the chain head every `interval`; stopped on drop.
pub struct HeadLogger {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    last_error: Arc<Mutex<Option<Error>>>,
}

impl HeadLogger {
    /// Starts logging `audit`'s chain head every `interval`.
    pub fn spawn(audit: Arc<AuditLog>, interval: Duration) -> Result<Self> {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let last_error = Arc::new(Mutex::new(None));
        let errors = Arc::clone(&last_error);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|e| Error::new(Code::Internal, format!("cannot start a runtime: {e}")))?;
        let thread = std::thread::Builder::new()
            .name("custody-audit-heads".into())
            .spawn(move || {
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(interval)
                {
                    let result = runtime.block_on(audit.log_head());
                    if let Ok(mut slot) = errors.lock() {
                        *slot = result.err();
                    }
                }
            })
            .map_err(|e| Error::new(Code::Internal, format!("cannot start a thread: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
            last_error,
        })
    }

    /// Logs `audit`'s chain head every `interval` for the rest of the process (a server's
    /// background duty, like garbage collection); a failed attempt is retried next time.
    pub fn spawn_detached(audit: Arc<AuditLog>, interval: Duration) -> Result<()> {
        std::thread::Builder::new()
            .name("custody-audit-heads".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(interval);
                    let _ = audit.log_head_now();
                }
            })
            .map(|_| ())
            .map_err(|e| Error::new(Code::Internal, format!("cannot start a thread: {e}")))
    }

    /// The error of the last attempt, if it failed (it is retried at the next interval).
    pub fn last_error(&self) -> Option<Error> {
        self.last_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for HeadLogger {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What a verification proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// The number of records, all chained from the first.
    pub records: u64,
    /// The last record's sequence number and hash (the chain head).
    pub head: Option<(u64, Digest)>,
    /// Logged heads whose signature and log inclusion were verified.
    pub heads_verified: u64,
    /// Logged heads matched against the chain, but whose signature and log inclusion were
    /// not checked (no trust root and audit key given).
    pub heads_unchecked: u64,
}

/// What logged heads are checked against: the trust root naming the log, and the audit key.
pub struct HeadCheck<'a> {
    /// The trust root whose log key signs checkpoints.
    pub trust_root: &'a Verified<TrustRoot>,
    /// The audit public key.
    pub audit_key: &'a PublicKey,
    /// The time of verification.
    pub now: OffsetDateTime,
}

struct StoredHead {
    hash: [u8; 32],
    seen: bool,
}

/// Walks a chain record by record (memory does not grow with the chain).
struct ChainVerifier {
    next_seq: u64,
    prev: [u8; 32],
    heads: BTreeMap<u64, StoredHead>,
    report: ChainReport,
}

impl ChainVerifier {
    fn new(heads: &[AuditHeadRow], check: Option<&HeadCheck<'_>>) -> Result<Self> {
        let mut report = ChainReport {
            records: 0,
            head: None,
            heads_verified: 0,
            heads_unchecked: 0,
        };
        let mut map = BTreeMap::new();
        for head in heads {
            let hash: [u8; 32] = head.hash.as_slice().try_into().map_err(|_| {
                head_mismatch(format!(
                    "the head logged for record {} has no SHA-256 hash",
                    head.seq
                ))
            })?;
            match check {
                Some(check) => {
                    verify_head_bundle(head.seq, &hash, &head.bundle, check)?;
                    report.heads_verified += 1;
                }
                None => report.heads_unchecked += 1,
            }
            map.insert(head.seq, StoredHead { hash, seen: false });
        }
        Ok(Self {
            next_seq: 1,
            prev: GENESIS,
            heads: map,
            report,
        })
    }

    fn feed(&mut self, stored_seq: Option<u64>, bytes: &[u8]) -> Result<()> {
        let expected = self.next_seq;
        let record = decode(bytes).map_err(|why| {
            broken(format!(
                "the chain breaks at record {expected}: not a valid audit record: {why}"
            ))
        })?;
        let found = match stored_seq {
            Some(s) if s != expected => s,
            _ => record.seq,
        };
        if found != expected {
            return Err(broken(format!(
                "the chain breaks at record {expected}: found record {found} in its place (records were deleted, reordered or inserted)"
            )));
        }
        if record.prev != self.prev {
            return Err(broken(if expected == 1 {
                "the chain breaks at record 1: its prev is not the genesis value (earlier records were removed)".to_owned()
            } else {
                format!(
                    "the chain breaks at record {expected}: its prev is not the hash of record {} (record {} was altered or replaced)",
                    expected - 1,
                    expected - 1
                )
            }));
        }
        let hash = record_hash(bytes);
        if let Some(head) = self.heads.get_mut(&expected) {
            if head.hash != hash {
                return Err(head_mismatch(format!(
                    "record {expected} differs from the chain head logged for it (history up to it was rewritten)"
                )));
            }
            head.seen = true;
        }
        if record.action == ACTION_LOG_HEAD {
            let logged: Option<u64> = record.target.split(' ').next().and_then(|s| s.parse().ok());
            match logged {
                Some(seq) if seq < expected && self.heads.contains_key(&seq) => {}
                _ => {
                    return Err(head_mismatch(format!(
                        "record {expected} notes a logged chain head ({}) that is not stored with the audit log (logged heads were removed)",
                        record.target
                    )));
                }
            }
        }
        self.prev = hash;
        self.next_seq += 1;
        self.report.records += 1;
        self.report.head = Some((expected, sha256(bytes)));
        Ok(())
    }

    fn finish(self) -> Result<ChainReport> {
        if let Some((seq, _)) = self.heads.iter().find(|(_, h)| !h.seen) {
            return Err(head_mismatch(format!(
                "record {seq} was logged as a chain head, but the audit log ends at record {} (its tail was truncated)",
                self.next_seq - 1
            )));
        }
        Ok(self.report)
    }
}

fn verify_head_bundle(
    seq: u64,
    hash: &[u8; 32],
    bundle: &[u8],
    check: &HeadCheck<'_>,
) -> Result<()> {
    let fail = |e: Error| {
        head_mismatch(format!(
            "the chain head logged for record {seq} does not verify: {} ({})",
            e.message(),
            e.code()
        ))
    };
    let bundle = Bundle::from_json(bundle, &Limits::default())
        .map_err(|e| fail(Error::new(Code::BundleMalformed, e.to_string())))?;
    let digest = match bundle.content() {
        Content::MessageSignature { digest, .. } if digest.as_bytes() == hash => *digest,
        _ => {
            return Err(fail(Error::new(
                Code::ArtifactDigestMismatch,
                "the bundle does not sign the head's hash",
            )));
        }
    };
    verify_bundle_digests(&bundle, &[digest], &Trust::Key(check.audit_key), check.now)
        .map_err(fail)?;
    match crate::tlog::check_inclusion(&bundle, check.trust_root, check.audit_key, check.now)
        .map_err(fail)?
    {
        Some(_) => Ok(()),
        None => Err(fail(Error::new(
            Code::LogInclusionMissing,
            "the trust root names no transparency log",
        ))),
    }
}

/// Verifies the audit log in the database at `database`: the chain from the first record, the
/// stored heads against it, and (given `check`) the heads' signatures and log inclusion.
pub fn verify_store(database: &Path, check: Option<&HeadCheck<'_>>) -> Result<ChainReport> {
    let store = SqliteAuditStore::open_read_only(database).map_err(|e| storage(&e))?;
    let heads = store.heads().map_err(|e| storage(&e))?;
    let mut verifier = ChainVerifier::new(&heads, check)?;
    store
        .for_each(|row| verifier.feed(Some(row.seq), &row.record))
        .map_err(|e| storage(&e))??;
    verifier.finish()
}

/// Writes the audit log as JSON lines: first one `{"auditHead": {...}}` line per logged head,
/// then every record's canonical bytes, one per line, in order. Returns the number of records.
pub fn export(database: &Path, out: &mut dyn Write) -> Result<u64> {
    let store = SqliteAuditStore::open_read_only(database).map_err(|e| storage(&e))?;
    let write = |out: &mut dyn Write, bytes: &[u8]| {
        out.write_all(bytes)
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| Error::new(Code::WriteFailed, format!("cannot write the export: {e}")))
    };
    for head in store.heads().map_err(|e| storage(&e))? {
        let bundle: Value = serde_json::from_slice(&head.bundle).map_err(|e| {
            broken(format!(
                "the stored head for record {} is not JSON: {e}",
                head.seq
            ))
        })?;
        let mut inner = Map::new();
        inner.insert("seq".into(), head.seq.into());
        inner.insert("hash".into(), hex::encode(&head.hash).into());
        inner.insert("loggedAt".into(), head.logged_at.into());
        inner.insert("bundle".into(), bundle);
        let line = json!({ "auditHead": inner });
        write(out, line.to_string().as_bytes())?;
    }
    let mut count = 0;
    store
        .for_each(|row| {
            count += 1;
            write(out, &row.record)
        })
        .map_err(|e| storage(&e))??;
    Ok(count)
}

/// [`export`] into the file at `path`, written atomically.
pub fn export_to_file(database: &Path, path: &Path) -> Result<u64> {
    let mut count = 0;
    write_atomic_with(path, Overwrite::Replace, Visibility::OwnerOnly, &mut |w| {
        count = export(database, w)?;
        Ok(())
    })?;
    Ok(count)
}

/// Verifies an export made by [`export`], offline, streaming its records.
pub fn verify_export(
    input: &mut dyn BufRead,
    check: Option<&HeadCheck<'_>>,
) -> Result<ChainReport> {
    let mut line = Vec::new();
    let mut heads = Vec::new();
    let mut verifier: Option<ChainVerifier> = None;
    let mut number = 0u64;
    loop {
        line.clear();
        let read = std::io::Read::take(&mut *input, EXPORT_LINE_LIMIT + 1)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::new(Code::ReadFailed, format!("cannot read the export: {e}")))?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.last() == Some(&b'\n') {
            line.pop();
        } else if read as u64 > EXPORT_LINE_LIMIT {
            return Err(broken(format!("line {number} of the export is too long")));
        }
        if verifier.is_none() && line.starts_with(b"{\"auditHead\"") {
            heads.push(parse_head_line(&line, number)?);
            continue;
        }
        let chain = match &mut verifier {
            Some(v) => v,
            None => verifier.insert(ChainVerifier::new(&heads, check)?),
        };
        chain.feed(None, &line)?;
    }
    match verifier {
        Some(v) => v.finish(),
        None => ChainVerifier::new(&heads, check)?.finish(),
    }
}

fn parse_head_line(line: &[u8], number: u64) -> Result<AuditHeadRow> {
    let bad = |why: &str| {
        broken(format!(
            "line {number} of the export is not a valid head: {why}"
        ))
    };
    let value = json::parse_strict(line, &Limits::default()).map_err(|e| bad(&e.to_string()))?;
    let head = value.get("auditHead").ok_or_else(|| bad("no auditHead"))?;
    let seq = head
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| bad("no seq"))?;
    let hash = head
        .get("hash")
        .and_then(Value::as_str)
        .and_then(|h| hex::decode(h).ok())
        .ok_or_else(|| bad("no hash"))?;
    let logged_at = head
        .get("loggedAt")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("no loggedAt"))?;
    let bundle = head.get("bundle").ok_or_else(|| bad("no bundle"))?;
    Ok(AuditHeadRow {
        seq,
        hash,
        bundle: bundle.to_string().into_bytes(),
        logged_at,
    })
}

#[cfg(test)]
mod tests;
