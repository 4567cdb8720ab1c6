//! The attacks on the gate, each with real signatures and real inclusion proofs from a
//! transparency log in a temporary database.

use std::path::Path;
use std::sync::Arc;

use custody_crypto::{KeyAlgorithm, SigningKey, sha256};
use custody_formats::bundle::{InclusionProof, TlogEntry};
use custody_formats::intoto::{Statement, Subject};
use custody_formats::rekor::Record;
use custody_formats::slsa::{BuildDefinition, Builder, Provenance, RunDetails};
use custody_formats::trust_root::{SignedTrustRoot, TrustRootBody, TrustedKey};
use custody_log::note::{KeyName, NoteSigner};
use time::Duration;

use super::*;
use crate::fs::Overwrite;
use crate::log::{Log, SequencerConfig};
use crate::registry::config::{RegistryConfig, RepositoryPolicy};
use crate::registry::policy::{Evidence, Gate, GateAction, SubjectDigests};
use crate::sign::{sign_file, sign_statement};

const ORIGIN: &str = "log.registry.test/gate";
const BUILDER: &str = "https://ci.example.test/builders/hermetic@v1";

fn p256() -> SigningKey {
    SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap()
}

fn copy(key: &SigningKey) -> SigningKey {
    let pem = key
        .to_pkcs8_pem(custody_crypto::KeyProtection::Unencrypted)
        .unwrap();
    SigningKey::from_pkcs8_pem(&pem, None).unwrap()
}

struct Fixture {
    dir: tempfile::TempDir,
    now: OffsetDateTime,
    build: SigningKey,
    /// An Ed25519 build key (it signs SHA-512 pre-hashes).
    ed_build: SigningKey,
    release: SigningKey,
    revoked: SigningKey,
    expiring: SigningKey,
    unknown: SigningKey,
    root: SigningKey,
    log_public: custody_crypto::PublicKey,
    list_log: bool,
    log: Log,
    log_id: Vec<u8>,
    runtime: tokio::runtime::Runtime,
    trust_root: PathBuf,
    counter: std::cell::Cell<u32>,
}

impl Fixture {
    fn new() -> Self {
        Self::with_log_in_trust_root(true)
    }

    fn with_log_in_trust_root(list_log: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let root = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let log_key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let (build, release, revoked, unknown) = (p256(), p256(), p256(), p256());
        let expiring = p256();
        let ed_build = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let trust_root = dir.path().join("trust-root.json");
        let log_id = sha256(log_key.public_key().spki_der()).as_bytes().to_vec();
        let signer = NoteSigner::new(KeyName::new(ORIGIN).unwrap(), copy(&log_key)).unwrap();
        let log = Log::open(
            &dir.path().join("custody.db"),
            Box::new(signer),
            SequencerConfig::default(),
        )
        .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let fixture = Self {
            dir,
            now,
            build,
            ed_build,
            release,
            revoked,
            expiring,
            unknown,
            log_public: log_key.public_key().clone(),
            root,
            list_log,
            log,
            log_id,
            runtime,
            trust_root,
            counter: std::cell::Cell::new(0),
        };
        fixture.write_trust_root(&[]);
        fixture
    }

    /// Writes the trust root: root, build, release, a revoked build key, a build key valid
    /// for 30 more seconds, and (unless left out) the log key; `revoke` revokes more keys.
    fn write_trust_root(&self, revoke: &[&SigningKey]) {
        let since = self.now - Duration::days(1);
        let key = |k: &SigningKey, role| {
            let revoked = revoke
                .iter()
                .any(|r| r.public_key() == k.public_key())
                .then_some(self.now - Duration::minutes(1));
            TrustedKey::new(k.public_key().clone(), role, since, None, revoked).unwrap()
        };
        let mut keys = vec![
            key(&self.root, Role::Root),
            key(&self.build, Role::Build),
            key(&self.ed_build, Role::Build),
            key(&self.release, Role::Release),
            TrustedKey::new(
                self.revoked.public_key().clone(),
                Role::Build,
                since,
                None,
                Some(self.now - Duration::hours(1)),
            )
            .unwrap(),
            TrustedKey::new(
                self.expiring.public_key().clone(),
                Role::Build,
                since,
                Some(self.now + Duration::seconds(30)),
                None,
            )
            .unwrap(),
        ];
        if self.list_log {
            keys.push(
                TrustedKey::new(self.log_public.clone(), Role::Log, since, None, None)
                    .unwrap()
                    .with_name(ORIGIN)
                    .unwrap(),
            );
        }
        let body = TrustRootBody::new(1, self.now + Duration::days(30), 1, keys).unwrap();
        let mut signed = SignedTrustRoot::new(body);
        signed.sign(&self.root).unwrap();
        crate::trust::write_trust_root(&self.trust_root, &signed, Overwrite::Replace).unwrap();
    }

    fn gate(&self, config: &str) -> TrustRootGate {
        let config = RegistryConfig::parse(config, self.dir.path()).unwrap();
        let now = self.now;
        TrustRootGate::new(Arc::new(config), &self.trust_root).with_clock(Box::new(move || now))
    }

    fn fresh_path(&self, name: &str) -> PathBuf {
        let n = self.counter.get() + 1;
        self.counter.set(n);
        self.dir.path().join(format!("{n}-{name}"))
    }

    /// Logs `record` in the fixture's log and returns the bundle's entry.
    fn log_record(&self, record: &Record) -> Result<TlogEntry> {
        let entry = record.canonical_entry().unwrap();
        let receipt = self.runtime.block_on(self.log.submit(entry.clone()))?;
        Ok(TlogEntry {
            log_index: receipt.index.get(),
            log_id: self.log_id.clone(),
            kind: record.kind().to_owned(),
            version: record.api_version().to_owned(),
            integrated_time: None,
            inclusion_promise: None,
            inclusion_proof: Some(InclusionProof {
                log_index: receipt.index.get(),
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
        })
    }

    /// A manifest (distinct per call) and its digest.
    fn manifest(&self) -> (PathBuf, Digest) {
        let (path, digest, _) = self.manifest_bytes();
        (path, digest)
    }

    /// [`Self::manifest`] with its bytes.
    fn manifest_bytes(&self) -> (PathBuf, Digest, Vec<u8>) {
        let path = self.fresh_path("manifest.json");
        let bytes = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.example+type","config":{{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2}},"layers":[],"annotations":{{"n":"{}"}}}}"#,
            self.counter.get()
        );
        std::fs::write(&path, &bytes).unwrap();
        (path, sha256(bytes.as_bytes()), bytes.into_bytes())
    }

    /// Signs the manifest file with `key`, logging the signature when `logged`.
    fn signature(&self, manifest: &Path, key: &SigningKey, logged: bool) -> Evidence {
        let out = self.fresh_path("sig.sigstore.json");
        let mut logger = |r: &Record| self.log_record(r);
        let signed = sign_file(
            manifest,
            key,
            &out,
            if logged { Some(&mut logger) } else { None },
        )
        .unwrap();
        evidence(&signed.bundle.to_json())
    }

    /// A logged SLSA provenance attestation about `about`, naming `builder`.
    fn provenance(&self, about: Digest, key: &SigningKey, builder: &str) -> Evidence {
        let predicate = Provenance {
            build_definition: BuildDefinition {
                build_type: "https://ci.example.test/build/v1".into(),
                ..BuildDefinition::default()
            },
            run_details: RunDetails {
                builder: Builder {
                    id: builder.into(),
                    ..Builder::default()
                },
                ..RunDetails::default()
            },
        }
        .to_value();
        self.attestation(about, key, PREDICATE_TYPE_V1, predicate)
    }

    fn attestation(
        &self,
        about: Digest,
        key: &SigningKey,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Evidence {
        let statement = Statement::new(
            vec![Subject::new("manifest", &[about])],
            predicate_type,
            predicate,
        )
        .unwrap();
        let out = self.fresh_path("att.sigstore.json");
        let mut logger = |r: &Record| self.log_record(r);
        let signed = sign_statement(&statement, key, about, &out, Some(&mut logger)).unwrap();
        evidence(&signed.bundle.to_json())
    }
}

fn evidence(bundle: &[u8]) -> Evidence {
    Evidence {
        referrer: sha256(bundle),
        bundle: bundle.to_vec(),
    }
}

const ENFORCE_ALL: &str = "";

const WITH_PROVENANCE: &str = r#"
[[repository]]
pattern = "app/*"
[[repository.attestation]]
predicate_type = "https://slsa.dev/provenance/v1"
builder_ids = ["https://ci.example.test/builders/hermetic@v1"]
"#;

fn refused(gate: &TrustRootGate, subject: &Digest, evidence: &[Evidence], code: Code) -> Error {
    let err = gate
        .admit("app/web", subject, evidence, GateAction::Push)
        .expect_err("must be refused");
    assert_eq!(err.code(), code, "{err}");
    assert!(
        err.message().starts_with("app/web@sha256:"),
        "the refusal names the manifest: {err}"
    );
    assert!(!err.hint().is_empty());
    assert!(!err.message().contains('\n'), "one line: {err}");
    let pulled = gate
        .admit("app/web", subject, evidence, GateAction::Pull)
        .expect_err("pull is enforced too");
    assert_eq!(pulled.code(), code);
    err
}

#[test]
fn an_ed25519_signature_over_the_manifests_sha512_digest_is_admitted_with_its_bytes() {
    let f = Fixture::new();
    let (manifest, digest, bytes) = f.manifest_bytes();
    // Ed25519ph signs the SHA-512 of the manifest; the manifest is named by its sha256.
    let sig = f.signature(&manifest, &f.ed_build, true);
    let gate = f.gate(ENFORCE_ALL);
    let subject = SubjectDigests::of(digest, &bytes);
    assert_eq!(subject.name(), &digest);
    assert_eq!(subject.digests().len(), 2);
    for action in [GateAction::Push, GateAction::Pull] {
        gate.admit_subject("app/web", &subject, std::slice::from_ref(&sig), action)
            .unwrap();
    }
    // Known only by its name digest, the sha512 signature cannot be matched: refused.
    refused(
        &gate,
        &digest,
        std::slice::from_ref(&sig),
        Code::ArtifactDigestMismatch,
    );
    // The digests of other bytes do not admit it either.
    let (_, _, other) = f.manifest_bytes();
    let err = gate
        .admit_subject(
            "app/web",
            &SubjectDigests::of(digest, &other),
            &[sig],
            GateAction::Push,
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::ArtifactDigestMismatch, "{err}");
}

#[test]
fn a_logged_signature_by_the_build_key_is_admitted() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let gate = f.gate(ENFORCE_ALL);
    gate.admit(
        "app/web",
        &digest,
        std::slice::from_ref(&sig),
        GateAction::Push,
    )
    .unwrap();
    gate.admit("app/web", &digest, &[sig], GateAction::Pull)
        .unwrap();
}

#[test]
fn unsigned_is_refused() {
    let f = Fixture::new();
    let (_, digest) = f.manifest();
    refused(&f.gate(ENFORCE_ALL), &digest, &[], Code::SignatureMissing);
}

#[test]
fn unparseable_evidence_never_counts() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let good = f.signature(&manifest, &f.build, true);
    let mut garbage = good.bundle;
    garbage.truncate(garbage.len() / 2);
    let err = refused(
        &f.gate(ENFORCE_ALL),
        &digest,
        &[evidence(&garbage), evidence(b"not json")],
        Code::SignatureMissing,
    );
    assert!(
        err.message().contains("2 referrer(s) could not be parsed"),
        "{err}"
    );
}

#[test]
fn signed_by_an_unknown_key_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.unknown, true);
    refused(&f.gate(ENFORCE_ALL), &digest, &[sig], Code::UnknownKey);
}

#[test]
fn a_valid_signature_that_is_not_logged_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, false);
    refused(
        &f.gate(ENFORCE_ALL),
        &digest,
        &[sig],
        Code::LogInclusionMissing,
    );
}

#[test]
fn a_trust_root_without_a_log_admits_nothing() {
    let f = Fixture::with_log_in_trust_root(false);
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    refused(
        &f.gate(ENFORCE_ALL),
        &digest,
        &[sig],
        Code::LogInclusionMissing,
    );
}

#[test]
fn a_signature_over_another_digest_is_refused() {
    let f = Fixture::new();
    let (_, digest) = f.manifest();
    let (other, _) = f.manifest();
    let sig = f.signature(&other, &f.build, true);
    refused(
        &f.gate(ENFORCE_ALL),
        &digest,
        &[sig],
        Code::ArtifactDigestMismatch,
    );
}

#[test]
fn a_signature_by_another_role_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.release, true);
    refused(
        &f.gate(ENFORCE_ALL),
        &digest,
        std::slice::from_ref(&sig),
        Code::WrongRole,
    );
    // The same signature is admitted where the release role is required.
    f.gate("[[repository]]\npattern = \"app/*\"\nsigner_role = \"release\"\n")
        .admit("app/web", &digest, &[sig], GateAction::Push)
        .unwrap();
}

#[test]
fn a_signature_by_a_revoked_key_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.revoked, true);
    refused(&f.gate(ENFORCE_ALL), &digest, &[sig], Code::KeyRevoked);
}

#[test]
fn a_tampered_signature_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let bundle = Bundle::from_json(&sig.bundle, &Limits::default()).unwrap();
    let Content::MessageSignature {
        digest: d,
        mut signature,
    } = bundle.content().clone()
    else {
        unreachable!("a message signature")
    };
    let last = signature.len() - 1;
    signature[last] ^= 1;
    let mut forged = Bundle::new(
        Content::MessageSignature {
            digest: d,
            signature,
        },
        bundle.key_material().clone(),
    );
    for entry in bundle.tlog_entries() {
        forged.add_tlog_entry(entry.clone());
    }
    refused(
        &f.gate(ENFORCE_ALL),
        &digest,
        &[evidence(&forged.to_json())],
        Code::SignatureInvalid,
    );
}

#[test]
fn one_good_signature_among_bad_ones_is_enough() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let bad = f.signature(&manifest, &f.unknown, true);
    let unlogged = f.signature(&manifest, &f.build, false);
    let good = f.signature(&manifest, &f.build, true);
    f.gate(ENFORCE_ALL)
        .admit("app/web", &digest, &[bad, unlogged, good], GateAction::Push)
        .unwrap();
}

#[test]
fn settings_that_do_not_enforce_admit_without_evidence() {
    let f = Fixture::new();
    let (_, digest) = f.manifest();
    let gate = f.gate("[[repository]]\npattern = \"app/*\"\nenforce_pull = false\n");
    gate.admit("app/web", &digest, &[], GateAction::Pull)
        .unwrap();
    let err = gate
        .admit("app/web", &digest, &[], GateAction::Push)
        .unwrap_err();
    assert_eq!(err.code(), Code::SignatureMissing);
    // Other repositories keep the safe default.
    let err = gate
        .admit("other", &digest, &[], GateAction::Pull)
        .unwrap_err();
    assert_eq!(err.code(), Code::SignatureMissing);
}

#[test]
fn an_unloadable_trust_root_refuses_everything() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let gate = f.gate(ENFORCE_ALL);
    gate.admit(
        "app/web",
        &digest,
        std::slice::from_ref(&sig),
        GateAction::Push,
    )
    .unwrap();
    // A change to the file is noticed; a broken trust root admits nothing.
    std::fs::write(&f.trust_root, b"{\"signed\": {}}").unwrap();
    let err = gate
        .admit(
            "app/web",
            &digest,
            std::slice::from_ref(&sig),
            GateAction::Push,
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::RegistryTrustRootUnavailable, "{err}");
    std::fs::remove_file(&f.trust_root).unwrap();
    let err = gate
        .admit("app/web", &digest, &[sig], GateAction::Push)
        .unwrap_err();
    assert_eq!(err.code(), Code::RegistryTrustRootUnavailable, "{err}");
}

#[test]
fn an_expired_trust_root_refuses_everything() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let later = f.now + Duration::days(31);
    let gate = f.gate(ENFORCE_ALL).with_clock(Box::new(move || later));
    let err = gate
        .admit("app/web", &digest, &[sig], GateAction::Push)
        .unwrap_err();
    assert_eq!(err.code(), Code::RegistryTrustRootUnavailable, "{err}");
}

#[test]
fn a_required_attestation_must_be_present() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let err = refused(
        &f.gate(WITH_PROVENANCE),
        &digest,
        &[sig],
        Code::AttestationMissing,
    );
    assert!(err.message().contains(PREDICATE_TYPE_V1), "{err}");
}

#[test]
fn an_attestation_of_another_predicate_type_does_not_count() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let sbom = f.attestation(
        digest,
        &f.build,
        "https://spdx.dev/Document",
        serde_json::json!({"spdxVersion": "SPDX-2.3"}),
    );
    refused(
        &f.gate(WITH_PROVENANCE),
        &digest,
        &[sig, sbom],
        Code::AttestationMissing,
    );
}

#[test]
fn an_attestation_from_a_disallowed_builder_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let att = f.provenance(digest, &f.build, "https://evil.example.test/runner");
    let err = refused(
        &f.gate(WITH_PROVENANCE),
        &digest,
        &[sig, att],
        Code::BuilderNotAllowed,
    );
    assert!(err.message().contains("evil.example.test"), "{err}");
}

#[test]
fn an_attestation_about_another_digest_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let (_, other) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let att = f.provenance(other, &f.build, BUILDER);
    refused(
        &f.gate(WITH_PROVENANCE),
        &digest,
        &[sig, att],
        Code::SubjectMismatch,
    );
}

#[test]
fn an_attestation_by_a_disallowed_role_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let att = f.provenance(digest, &f.release, BUILDER);
    refused(
        &f.gate(WITH_PROVENANCE),
        &digest,
        &[sig, att],
        Code::WrongRole,
    );
}

#[test]
fn an_attestation_by_an_unknown_key_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let att = f.provenance(digest, &f.unknown, BUILDER);
    refused(
        &f.gate(WITH_PROVENANCE),
        &digest,
        &[sig, att],
        Code::UnknownKey,
    );
}

#[test]
fn a_logged_provenance_from_an_allowed_builder_is_admitted() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let att = f.provenance(digest, &f.build, BUILDER);
    f.gate(WITH_PROVENANCE)
        .admit("app/web", &digest, &[att, sig], GateAction::Push)
        .unwrap();
}

#[test]
fn the_refusal_reported_is_the_closest_miss_whatever_the_order() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let unknown = f.signature(&manifest, &f.unknown, true);
    let unlogged = f.signature(&manifest, &f.build, false);
    let gate = f.gate(ENFORCE_ALL);
    for evidence in [[unknown.clone(), unlogged.clone()], [unlogged, unknown]] {
        refused(&gate, &digest, &evidence, Code::LogInclusionMissing);
    }
}

#[test]
fn an_unlogged_attestation_is_refused() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let logged = f.provenance(digest, &f.build, BUILDER);
    // The same statement without its log entry.
    let bundle = Bundle::from_json(&logged.bundle, &Limits::default()).unwrap();
    let unlogged = Bundle::new(bundle.content().clone(), bundle.key_material().clone());
    refused(
        &f.gate(WITH_PROVENANCE),
        &digest,
        &[sig, evidence(&unlogged.to_json())],
        Code::LogInclusionMissing,
    );
}

/// A clock the test moves.
fn movable(start: OffsetDateTime) -> (Arc<std::sync::atomic::AtomicI64>, Clock) {
    let offset = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let read = Arc::clone(&offset);
    let clock: Clock =
        Box::new(move || start + Duration::seconds(read.load(std::sync::atomic::Ordering::SeqCst)));
    (offset, clock)
}

#[test]
fn a_remembered_admission_ends_with_the_signing_key() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.expiring, true);
    let (offset, clock) = movable(f.now);
    let gate = f.gate(ENFORCE_ALL).with_clock(clock);
    for _ in 0..3 {
        gate.admit(
            "app/web",
            &digest,
            std::slice::from_ref(&sig),
            GateAction::Pull,
        )
        .unwrap();
    }
    offset.store(31, std::sync::atomic::Ordering::SeqCst);
    let err = gate
        .admit("app/web", &digest, &[sig], GateAction::Pull)
        .unwrap_err();
    assert_eq!(err.code(), Code::KeyExpired, "{err}");
}

#[test]
fn a_remembered_admission_ends_when_the_trust_root_revokes_the_key() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let gate = f.gate(ENFORCE_ALL);
    gate.admit(
        "app/web",
        &digest,
        std::slice::from_ref(&sig),
        GateAction::Pull,
    )
    .unwrap();
    f.write_trust_root(&[&f.build]);
    let err = gate
        .admit(
            "app/web",
            &digest,
            std::slice::from_ref(&sig),
            GateAction::Pull,
        )
        .unwrap_err();
    assert_eq!(err.code(), Code::KeyRevoked, "{err}");
    // Other evidence for the same subject is judged on its own, not remembered.
    let err = gate
        .admit("app/web", &digest, &[], GateAction::Pull)
        .unwrap_err();
    assert_eq!(err.code(), Code::SignatureMissing, "{err}");
}

#[test]
fn an_admission_is_remembered_for_the_same_referrers() {
    let f = Fixture::new();
    let (manifest, digest) = f.manifest();
    let sig = f.signature(&manifest, &f.build, true);
    let gate = f.gate(ENFORCE_ALL);
    gate.admit(
        "app/web",
        &digest,
        std::slice::from_ref(&sig),
        GateAction::Pull,
    )
    .unwrap();
    // Referrers are content-addressed, so the same referrer digest is the same evidence and
    // is not verified again (here its bytes are withheld to show it).
    let same = Evidence {
        referrer: sig.referrer,
        bundle: Vec::new(),
    };
    gate.admit(
        "app/web",
        &digest,
        std::slice::from_ref(&same),
        GateAction::Pull,
    )
    .unwrap();
    // `check` never remembers.
    let err = gate
        .check(&RepositoryPolicy::default(), &digest, &[same])
        .unwrap_err();
    assert_eq!(err.code(), Code::SignatureMissing, "{err}");
}
