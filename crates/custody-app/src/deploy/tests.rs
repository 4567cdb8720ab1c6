//! The decision's fail-closed paths without a server: unverifiable evidence never becomes a
//! fact, and custody's own denials apply whatever the policy says.

use custody_crypto::{KeyAlgorithm, SigningKey};
use custody_formats::Verified;
use custody_formats::trust_root::TrustRoot;
use custody_formats::trust_root::{Role, SignedTrustRoot, TrustRootBody, TrustedKey};
use custody_policy::PolicySet;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::registry::policy::Evidence;

const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","artifactType":"application/vnd.custody.artifact.v1","config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[{"mediaType":"application/octet-stream","digest":"sha256:0000000000000000000000000000000000000000000000000000000000000001","size":5,"annotations":{"org.opencontainers.image.title":"hello"}}]}"#;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000).unwrap()
}

fn artifact() -> Artifact {
    let bytes = MANIFEST.as_bytes().to_vec();
    Artifact::new("acme/hello", custody_crypto::sha256(&bytes), bytes).unwrap()
}

/// A trust root with a root key and a release key, and no transparency log.
fn trust_root(release: &SigningKey) -> Verified<TrustRoot> {
    let root = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let from = now() - Duration::days(1);
    let body = TrustRootBody::new(
        1,
        now() + Duration::days(30),
        1,
        vec![
            TrustedKey::new(root.public_key().clone(), Role::Root, from, None, None).unwrap(),
            TrustedKey::new(
                release.public_key().clone(),
                Role::Release,
                from,
                None,
                None,
            )
            .unwrap()
            .with_owner("carol@example.com")
            .unwrap(),
        ],
    )
    .unwrap();
    let mut signed = SignedTrustRoot::new(body);
    signed.sign(&root).unwrap();
    signed.verify(now()).unwrap()
}

/// A message-signature bundle over the manifest by `key`.
fn signature(key: &SigningKey, artifact: &Artifact) -> Evidence {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(&manifest, &artifact.manifest).unwrap();
    let bundle = dir.path().join("manifest.json.sigstore.json");
    let signed = crate::sign::sign_file(&manifest, key, &bundle, None).unwrap();
    Evidence {
        referrer: custody_crypto::sha256(b"referrer"),
        bundle: signed.bundle.to_json(),
    }
}

fn policies(text: &str) -> PolicySet {
    PolicySet::from_sources(vec![("prod.rego".into(), text.into())]).unwrap()
}

const ALLOW_ALL: &str = "package custody.env.prod\n\ndeny := set()\n";

fn facts(root: &Verified<TrustRoot>, artifact: &Artifact, evidence: &[Evidence]) -> Facts {
    gather(&FactsRequest {
        action: Action::Deploy,
        environment: "prod",
        artifact,
        evidence,
        history: &[],
        trust_root: root,
        advisories: None,
        now: now(),
    })
}

#[test]
fn an_artifact_must_hash_to_its_digest_and_names_its_files() {
    let a = artifact();
    assert_eq!(a.files()[0].name, "hello");
    let err =
        Artifact::new("acme/hello", custody_crypto::sha256(b"other"), a.manifest).unwrap_err();
    assert_eq!(err.code(), Code::ArtifactDigestMismatch);
}

#[test]
fn unparsable_unknown_and_unlogged_evidence_is_rejected_with_its_code_never_a_fact() {
    let release = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let rogue = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let root = trust_root(&release);
    let a = artifact();
    let evidence = vec![
        Evidence {
            referrer: custody_crypto::sha256(b"junk"),
            bundle: b"{not json".to_vec(),
        },
        signature(&rogue, &a),
        // A key of the trust root, but the trust root names no log: nothing can be proven
        // logged, so it is rejected too.
        signature(&release, &a),
    ];
    let f = facts(&root, &a, &evidence);
    assert!(!f.release_signed());
    assert_eq!(f.input()["signatures"], serde_json::json!([]));
    let codes: Vec<&str> = f.input()["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["CUSTODY-E1014", "CUSTODY-E1004", "CUSTODY-E1020"]);

    // custody's own denials apply even under a policy that allows everything.
    let d = decide(&f, Action::Deploy, "prod", &a, &policies(ALLOW_ALL));
    assert!(!d.allowed);
    assert!(
        d.reasons[0].starts_with("no verified, logged signature"),
        "{:?}",
        d.reasons
    );
    assert!(d.reasons[0].contains("CUSTODY-E1004"), "{:?}", d.reasons);
    assert!(
        d.reasons
            .iter()
            .any(|r| r == "nothing has been promoted to 'prod'")
    );
}

#[test]
fn a_missing_or_failing_policy_denies() {
    let release = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let root = trust_root(&release);
    let a = artifact();
    let f = facts(&root, &a, &[]);
    let d = decide(&f, Action::Promote, "staging", &a, &policies(ALLOW_ALL));
    assert!(!d.allowed);
    assert!(
        d.reasons.iter().any(|r| r.contains("staging")),
        "{:?}",
        d.reasons
    );
    let failing = policies("package custody.env.prod\n\ndeny contains x if { x := 1 / 0 }\n");
    let d = decide(&f, Action::Promote, "prod", &a, &failing);
    assert!(!d.allowed);
    assert!(
        d.reasons.iter().any(|r| r.starts_with("policy error")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn a_history_that_is_not_a_chain_is_refused() {
    let release = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let root = trust_root(&release);
    let event = |sequence: u64, previous: Option<Digest>| EnvironmentEvent {
        environment: "prod".into(),
        sequence,
        kind: EventKind::Promote,
        repository: "acme/hello".into(),
        digest: custody_crypto::sha256(&sequence.to_be_bytes()),
        previous,
        signer: String::new(),
        log_index: 0,
        bundle: b"{}".to_vec(),
        recorded_at: now(),
    };
    // Record 2 does not extend record 1.
    let history = [
        event(1, None),
        event(2, Some(custody_crypto::sha256(b"elsewhere"))),
    ];
    let err = verify_current("prod", &history, &root, now()).unwrap_err();
    assert_eq!(err.code(), Code::PromotionInvalid);
    // A gap.
    let history = [
        event(1, None),
        event(3, Some(custody_crypto::sha256(&1u64.to_be_bytes()))),
    ];
    assert_eq!(
        verify_current("prod", &history, &root, now())
            .unwrap_err()
            .code(),
        Code::PromotionInvalid
    );
    // Another environment's record.
    assert_eq!(
        verify_current("staging", &[event(1, None)], &root, now())
            .unwrap_err()
            .code(),
        Code::PromotionInvalid
    );
    // An empty history has no current artifact.
    assert_eq!(verify_current("prod", &[], &root, now()).unwrap(), None);
}
