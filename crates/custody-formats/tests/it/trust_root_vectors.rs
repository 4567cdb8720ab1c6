//! custody's own trust-root vectors (testdata/trust-root), and their generator.
//!
//! The documents are a pure function of the checked-in test keys (Ed25519 and RFC 6979 ECDSA
//! signatures are deterministic), so this test regenerates them and compares byte for byte.
//! To rewrite them after a deliberate format change:
//!
//! ```text
//! CUSTODY_REGENERATE_VECTORS=1 cargo nextest run -p custody-formats trust_root_vectors
//! ```
//!
//! With the variable set and a key file missing, a new key is generated for it.

use custody_crypto::{KeyAlgorithm, KeyProtection, SigningKey};
use custody_formats::trust_root::{Role, SignedTrustRoot, TrustRootBody, TrustedKey};
use custody_formats::{Error, ErrorKind, Limits, Verified, trust_root::TrustRoot};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::support::testdata;

const FROM: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
const EXPIRES: OffsetDateTime = datetime!(2036-01-01 00:00:00 UTC);
const BUILD_REVOKED: OffsetDateTime = datetime!(2026-07-01 00:00:00 UTC);
/// The time at which the expectations in the README hold.
const NOW: OffsetDateTime = datetime!(2026-06-01 00:00:00 UTC);

fn regenerating() -> bool {
    std::env::var_os("CUSTODY_REGENERATE_VECTORS").is_some()
}

fn key(name: &str, algorithm: KeyAlgorithm) -> SigningKey {
    let path = testdata(&format!("trust-root/keys/{name}.pem"));
    match std::fs::read_to_string(&path) {
        Ok(pem) => SigningKey::from_pkcs8_pem(&pem, None).unwrap(),
        Err(_) if regenerating() => {
            let key = SigningKey::generate(algorithm).unwrap();
            let pem = key.to_pkcs8_pem(KeyProtection::Unencrypted).unwrap();
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, pem.as_bytes()).unwrap();
            key
        }
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

struct TestKeys {
    root_a: SigningKey,
    root_b: SigningKey,
    build: SigningKey,
}

fn test_keys() -> TestKeys {
    TestKeys {
        root_a: key("root-a.ed25519", KeyAlgorithm::Ed25519),
        root_b: key("root-b.ecdsa-p256", KeyAlgorithm::EcdsaP256),
        build: key("build.ed25519", KeyAlgorithm::Ed25519),
    }
}

fn trusted(key: &SigningKey, role: Role, revoked_at: Option<OffsetDateTime>) -> TrustedKey {
    TrustedKey::new(key.public_key().clone(), role, FROM, None, revoked_at).unwrap()
}

fn document(
    version: u64,
    threshold: u32,
    keys: Vec<TrustedKey>,
    signers: &[&SigningKey],
) -> Vec<u8> {
    let mut root =
        SignedTrustRoot::new(TrustRootBody::new(version, EXPIRES, threshold, keys).unwrap());
    for signer in signers {
        root.sign(*signer).unwrap();
    }
    root.to_json()
}

/// Every generated file, by name.
fn generate_all() -> Vec<(&'static str, Vec<u8>)> {
    let k = test_keys();
    let v1_keys = || {
        vec![
            trusted(&k.root_a, Role::Root, None),
            trusted(&k.build, Role::Build, None),
        ]
    };
    let v2_keys = || {
        vec![
            trusted(&k.root_a, Role::Root, None),
            trusted(&k.root_b, Role::Root, None),
            trusted(&k.build, Role::Build, Some(BUILD_REVOKED)),
        ]
    };
    let v1 = document(1, 1, v1_keys(), &[&k.root_a]);
    let tampered = String::from_utf8(v1.clone())
        .unwrap()
        .replacen("\"role\": \"build\"", "\"role\": \"root\"", 1)
        .into_bytes();
    assert_ne!(tampered, v1);
    vec![
        ("v1.json", v1),
        (
            "v2.json",
            document(2, 2, v2_keys(), &[&k.root_a, &k.root_b]),
        ),
        ("v1-tampered-role.json", tampered),
        (
            "v2-threshold-not-met.json",
            document(2, 2, v2_keys(), &[&k.root_a]),
        ),
        (
            "v2-not-signed-by-v1.json",
            document(
                2,
                1,
                vec![trusted(&k.root_b, Role::Root, None)],
                &[&k.root_b],
            ),
        ),
        (
            "v3-skips-version.json",
            document(3, 2, v2_keys(), &[&k.root_a, &k.root_b]),
        ),
    ]
}

#[test]
fn trust_root_vectors_are_reproducible() {
    for (name, bytes) in generate_all() {
        let path = testdata(&format!("trust-root/{name}"));
        if regenerating() {
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            on_disk == bytes,
            "{name} differs from what the generator writes"
        );
    }
}

fn load(name: &str) -> SignedTrustRoot {
    let bytes = std::fs::read(testdata(&format!("trust-root/{name}"))).unwrap();
    SignedTrustRoot::from_json(&bytes, &Limits::default()).unwrap()
}

fn v1() -> Verified<TrustRoot> {
    load("v1.json").verify(NOW).unwrap()
}

#[test]
fn trust_root_vectors_verify_as_documented() {
    let v1 = v1();
    assert_eq!(v1.version(), 1);
    let v2 = load("v2.json").verify_successor(&v1, NOW).unwrap();
    assert_eq!(v2.version(), 2);
    assert_eq!(v2.root_threshold(), 2);

    let k = test_keys();
    let build = k.build.public_key().key_id();
    assert!(v1.key_for_role(&build, Role::Build, NOW).is_ok());
    assert!(v2.key_for_role(&build, Role::Build, NOW).is_ok());
    assert_eq!(
        v2.key_for_role(&build, Role::Build, BUILD_REVOKED)
            .unwrap_err()
            .kind(),
        ErrorKind::KeyRevoked
    );
    assert_eq!(
        v1.key_for_role(&build, Role::Root, NOW).unwrap_err().kind(),
        ErrorKind::WrongRole
    );

    assert_eq!(
        load("v1-tampered-role.json").verify(NOW).unwrap_err(),
        Error::NoValidSignature
    );
    assert_eq!(
        load("v2-threshold-not-met.json")
            .verify_successor(&v1, NOW)
            .unwrap_err(),
        Error::ThresholdNotMet {
            needed: 2,
            found: 1
        }
    );
    let not_by_v1 = load("v2-not-signed-by-v1.json");
    assert!(
        not_by_v1.verify(NOW).is_ok(),
        "self-signed, so valid on its own"
    );
    assert_eq!(
        not_by_v1.verify_successor(&v1, NOW).unwrap_err(),
        Error::NoValidSignature
    );
    assert_eq!(
        load("v3-skips-version.json")
            .verify_successor(&v1, NOW)
            .unwrap_err(),
        Error::TrustRootVersion {
            previous: 1,
            expected: 2,
            found: 3
        }
    );
    assert!(
        load("v3-skips-version.json")
            .verify_successor(&v2, NOW)
            .is_ok()
    );
    assert_eq!(
        load("v1.json").verify(EXPIRES).unwrap_err(),
        Error::TrustRootExpired { expires: EXPIRES }
    );
}

/// TUF 1.0 §5.3.10: an expired older version may still anchor a chain whose newest version is
/// current, but only when the caller says it is an intermediate; the default refuses it.
#[test]
fn expired_anchor_only_as_an_intermediate_of_a_chain() {
    use custody_formats::trust_root::Expiry;
    let later = EXPIRES + time::Duration::days(1);
    let v1 = load("v1.json");
    assert_eq!(
        v1.verify(later).unwrap_err().kind(),
        ErrorKind::TrustRootExpired
    );
    let anchor = v1.verify_with(later, Expiry::IntermediateOfChain).unwrap();
    // v2 expires at the same time, so as the newest version it is refused...
    assert_eq!(
        load("v2.json")
            .verify_successor(&anchor, later)
            .unwrap_err()
            .kind(),
        ErrorKind::TrustRootExpired
    );
    // ...and accepted only when it too is an intermediate.
    assert!(
        load("v2.json")
            .verify_successor_with(&anchor, later, Expiry::IntermediateOfChain)
            .is_ok()
    );
}
