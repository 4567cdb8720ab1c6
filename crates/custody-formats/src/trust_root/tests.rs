use custody_crypto::{KeyAlgorithm, SigningKey};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::{Role, SignedTrustRoot, TRUST_ROOT_TYPE_V1, TrustRootBody, TrustedKey};
use crate::{Error, ErrorKind, Limits};

const T0: OffsetDateTime = datetime!(2026-01-01 00:00:00 UTC);
const EXPIRES: OffsetDateTime = datetime!(2027-01-01 00:00:00 UTC);

fn generate() -> SigningKey {
    SigningKey::generate(KeyAlgorithm::Ed25519).unwrap()
}

fn trusted(key: &SigningKey, role: Role) -> TrustedKey {
    TrustedKey::new(key.public_key().clone(), role, T0, None, None).unwrap()
}

/// A signed one-root-key trust root and its document as a JSON value.
fn document() -> (SigningKey, Value) {
    let root = generate();
    let body = TrustRootBody::new(1, EXPIRES, 1, vec![trusted(&root, Role::Root)]).unwrap();
    let mut signed = SignedTrustRoot::new(body);
    signed.sign(&root).unwrap();
    (root, serde_json::from_slice(&signed.to_json()).unwrap())
}

fn parse(value: &Value) -> Result<SignedTrustRoot, Error> {
    SignedTrustRoot::from_json(value.to_string().as_bytes(), &Limits::default())
}

#[test]
fn roles_parse_and_print_lowercase() {
    for role in Role::ALL {
        assert_eq!(role.to_string().parse::<Role>().unwrap(), role);
        assert_eq!(role.to_string(), role.to_string().to_lowercase());
    }
    for bad in ["Root", "admin", "", "root "] {
        assert_eq!(
            bad.parse::<Role>().unwrap_err().kind(),
            ErrorKind::InvalidField
        );
    }
}

#[test]
fn key_times_are_normalized_to_utc_whole_seconds() {
    let key = generate();
    let local = datetime!(2026-01-01 02:00:00.75 +02:00);
    let trusted =
        TrustedKey::new(key.public_key().clone(), Role::Build, local, None, None).unwrap();
    assert_eq!(trusted.valid_from(), T0);
    assert_eq!(trusted.valid_from().offset(), time::UtcOffset::UTC);
}

#[test]
fn key_validity_must_be_a_forward_window_in_writable_years() {
    let key = generate();
    let public = || key.public_key().clone();
    assert_eq!(
        TrustedKey::new(public(), Role::Build, T0, Some(T0), None).unwrap_err(),
        Error::invalid("validUntil", "must be after validFrom")
    );
    let far = datetime!(9999-12-31 23:00:00 -05:00);
    assert_eq!(
        TrustedKey::new(public(), Role::Build, far, None, None)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidField
    );
}

#[test]
fn body_checks_version_threshold_and_duplicates() {
    let a = generate();
    let b = generate();
    let keys = || vec![trusted(&a, Role::Root), trusted(&b, Role::Build)];
    assert!(TrustRootBody::new(1, EXPIRES, 1, keys()).is_ok());
    for (version, threshold) in [(0, 1), (1 << 53, 1), (1, 0), (1, 2)] {
        assert_eq!(
            TrustRootBody::new(version, EXPIRES, threshold, keys())
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidField,
            "{version} {threshold}"
        );
    }
    let same_key_twice = vec![trusted(&a, Role::Root), trusted(&a, Role::Build)];
    assert_eq!(
        TrustRootBody::new(1, EXPIRES, 1, same_key_twice).unwrap_err(),
        Error::DuplicateTrustRootKey {
            key_id: a.public_key().key_id()
        }
    );
}

#[test]
fn only_root_keys_of_the_body_may_sign() {
    let root = generate();
    let build = generate();
    let body = TrustRootBody::new(
        1,
        EXPIRES,
        1,
        vec![trusted(&root, Role::Root), trusted(&build, Role::Build)],
    )
    .unwrap();
    let mut signed = SignedTrustRoot::new(body);
    assert_eq!(
        signed.sign(&build).unwrap_err(),
        Error::WrongRole {
            key_id: build.public_key().key_id(),
            role: Role::Build,
            required: Role::Root
        }
    );
    let stranger = generate();
    assert_eq!(
        signed.sign(&stranger).unwrap_err(),
        Error::UnknownKey {
            key_id: stranger.public_key().key_id()
        }
    );
    signed.sign(&root).unwrap();
    signed.sign(&root).unwrap();
    assert_eq!(signed.signatures().len(), 1, "re-signing replaces");
}

#[test]
fn written_documents_read_back_identically() {
    let (_, value) = document();
    let text = value.to_string();
    let parsed = parse(&value).unwrap();
    assert_eq!(parsed.body().version(), 1);
    assert_eq!(parsed.body().expires(), EXPIRES);
    assert_eq!(value["signed"]["_type"], TRUST_ROOT_TYPE_V1);
    assert_eq!(value["signed"]["keys"][0]["algorithm"], "ed25519");
    assert_eq!(
        value["signed"]["keys"][0]["validFrom"],
        "2026-01-01T00:00:00Z"
    );
    let again: Value = serde_json::from_slice(&parsed.to_json()).unwrap();
    assert_eq!(again.to_string(), text);
    assert!(parsed.to_json().ends_with(b"}\n"));
}

fn rejects(mutate: impl FnOnce(&mut Value), expected: ErrorKind, field: &str) {
    let (_, mut value) = document();
    mutate(&mut value);
    let err = parse(&value).unwrap_err();
    assert_eq!(err.kind(), expected, "{err}");
    assert!(err.to_string().contains(field), "{err} should name {field}");
}

#[test]
fn unknown_fields_are_rejected_everywhere() {
    rejects(|v| v["extra"] = json!(1), ErrorKind::UnknownField, "extra");
    rejects(
        |v| v["signed"]["extra"] = json!(1),
        ErrorKind::UnknownField,
        "signed.extra",
    );
    rejects(
        |v| v["signed"]["keys"][0]["comment"] = json!("x"),
        ErrorKind::UnknownField,
        "signed.keys[0].comment",
    );
    rejects(
        |v| v["signatures"][0]["method"] = json!("x"),
        ErrorKind::UnknownField,
        "signatures[0].method",
    );
}

#[test]
fn every_field_is_checked() {
    rejects(
        |v| v["signed"]["_type"] = json!("https://custody.dev/trust-root/v2"),
        ErrorKind::InvalidField,
        "signed._type",
    );
    rejects(
        |v| v["signed"]["version"] = json!(-1),
        ErrorKind::InvalidField,
        "signed.version",
    );
    rejects(
        |v| v["signed"]["version"] = json!("1"),
        ErrorKind::InvalidField,
        "signed.version",
    );
    rejects(
        |v| v["signed"]["version"] = json!(0),
        ErrorKind::InvalidField,
        "signed.version",
    );
    rejects(
        |v| v["signed"]["version"] = json!(1.5),
        ErrorKind::InvalidField,
        "signed.version",
    );
    rejects(
        |v| v["signed"]["rootThreshold"] = json!(0),
        ErrorKind::InvalidField,
        "signed.rootThreshold",
    );
    rejects(
        |v| v["signed"]["rootThreshold"] = json!(1_u64 << 40),
        ErrorKind::InvalidField,
        "signed.rootThreshold",
    );
    rejects(
        |v| v["signed"]["expires"] = json!("2027-01-01T00:00:00.5Z"),
        ErrorKind::InvalidField,
        "signed.expires",
    );
    rejects(
        |v| v["signed"]["expires"] = json!("2027-01-01T01:00:00+01:00"),
        ErrorKind::InvalidField,
        "signed.expires",
    );
    rejects(
        |v| v["signed"]["expires"] = json!("2027-01-01"),
        ErrorKind::InvalidField,
        "signed.expires",
    );
    rejects(
        |v| v["signed"]["keys"][0]["role"] = json!("admin"),
        ErrorKind::InvalidField,
        "signed.keys[0].role",
    );
    rejects(
        |v| v["signed"]["keys"][0]["algorithm"] = json!("ecdsa-p256"),
        ErrorKind::InvalidField,
        "signed.keys[0].algorithm",
    );
    rejects(
        |v| {
            v["signed"]["keys"][0]["publicKey"] =
                json!("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")
        },
        ErrorKind::InvalidField,
        "signed.keys[0].publicKey",
    );
    rejects(
        |v| v["signed"]["keys"][0]["validUntil"] = v["signed"]["keys"][0]["validFrom"].clone(),
        ErrorKind::InvalidField,
        "signed.keys[0].validUntil",
    );
    rejects(
        |v| {
            drop(
                v["signed"]["keys"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("validFrom"),
            )
        },
        ErrorKind::MissingField,
        "signed.keys[0].validFrom",
    );
    rejects(
        |v| drop(v["signed"].as_object_mut().unwrap().remove("keys")),
        ErrorKind::MissingField,
        "signed.keys",
    );
    rejects(
        |v| drop(v.as_object_mut().unwrap().remove("signatures")),
        ErrorKind::MissingField,
        "signatures",
    );
    rejects(
        |v| v["signed"] = json!([]),
        ErrorKind::InvalidField,
        "signed",
    );
    rejects(
        |v| v["signatures"][0]["keyId"] = json!("ABC"),
        ErrorKind::InvalidField,
        "signatures[0].keyId",
    );
    rejects(
        |v| v["signatures"][0]["sig"] = json!("AAA"),
        ErrorKind::InvalidBase64,
        "signatures[0].sig",
    );
    rejects(
        |v| v["signatures"][0]["sig"] = json!("AA-_"),
        ErrorKind::InvalidBase64,
        "signatures[0].sig",
    );
    rejects(
        |v| {
            let copy = v["signatures"][0].clone();
            v["signatures"].as_array_mut().unwrap().push(copy);
        },
        ErrorKind::InvalidField,
        "signatures[1].keyId",
    );
}

#[test]
fn key_id_must_be_the_key_id_of_the_public_key() {
    let other = generate().public_key().key_id().to_string();
    let (_, mut value) = document();
    value["signed"]["keys"][0]["keyId"] = json!(other);
    let err = parse(&value).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TrustRootKeyIdMismatch);
}

#[test]
fn too_many_signatures_are_rejected() {
    let (_, mut value) = document();
    let limits = Limits {
        max_signatures: 0,
        ..Limits::default()
    };
    value["signatures"] = json!([]);
    assert!(SignedTrustRoot::from_json(value.to_string().as_bytes(), &limits).is_ok());
    let (_, value) = document();
    assert_eq!(
        SignedTrustRoot::from_json(value.to_string().as_bytes(), &limits).unwrap_err(),
        Error::TooManySignatures { limit: 0, found: 1 }
    );
}

#[test]
fn key_for_role_reports_the_first_failed_check() {
    let revoked_at = datetime!(2026-06-01 00:00:00 UTC);
    let until = datetime!(2026-09-01 00:00:00 UTC);
    let root = generate();
    let build = generate();
    let build_key = TrustedKey::new(
        build.public_key().clone(),
        Role::Build,
        T0,
        Some(until),
        Some(revoked_at),
    )
    .unwrap();
    let body =
        TrustRootBody::new(1, EXPIRES, 1, vec![trusted(&root, Role::Root), build_key]).unwrap();
    let mut signed = SignedTrustRoot::new(body);
    signed.sign(&root).unwrap();
    let root_of_trust = signed.verify(T0).unwrap();
    let id = build.public_key().key_id();
    let at = |t| {
        root_of_trust
            .key_for_role(&id, Role::Build, t)
            .map(|k| k.key_id())
    };

    assert_eq!(at(datetime!(2026-03-01 00:00:00 UTC)), Ok(id));
    assert_eq!(
        at(datetime!(2025-12-31 23:59:59 UTC)).unwrap_err().kind(),
        ErrorKind::KeyNotYetValid
    );
    assert_eq!(
        at(revoked_at).unwrap_err(),
        Error::KeyRevoked {
            key_id: id,
            revoked_at
        }
    );
    // Revocation is reported before expiry.
    assert_eq!(at(until).unwrap_err().kind(), ErrorKind::KeyRevoked);
    assert_eq!(
        root_of_trust
            .key_for_role(&id, Role::Release, T0)
            .unwrap_err(),
        Error::WrongRole {
            key_id: id,
            role: Role::Build,
            required: Role::Release
        }
    );
    let stranger = generate().public_key().key_id();
    assert_eq!(
        root_of_trust
            .key_for_role(&stranger, Role::Build, T0)
            .unwrap_err(),
        Error::UnknownKey { key_id: stranger }
    );
    assert_eq!(root_of_trust.keys_with_role(Role::Build).count(), 1);
    assert_eq!(root_of_trust.root_threshold(), 1);
}

#[test]
fn key_owner_round_trips_and_names_the_identity() {
    let root = generate();
    let approver = generate();
    let owned = trusted(&approver, Role::Approver)
        .with_owner("bob@example.com")
        .unwrap();
    assert_eq!(owned.owner(), Some("bob@example.com"));
    assert_eq!(owned.identity(), "bob@example.com");
    let unowned = trusted(&root, Role::Root);
    assert_eq!(unowned.owner(), None);
    assert_eq!(
        unowned.identity(),
        format!("key:{}", root.public_key().key_id())
    );

    let body = TrustRootBody::new(1, EXPIRES, 1, vec![unowned, owned.clone()]).unwrap();
    let mut signed = SignedTrustRoot::new(body);
    signed.sign(&root).unwrap();
    let json = signed.to_json();
    let value: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["signed"]["keys"][1]["owner"], "bob@example.com");
    assert!(
        value["signed"]["keys"][0].get("owner").is_none(),
        "written only when set"
    );
    let parsed = SignedTrustRoot::from_json(&json, &Limits::default()).unwrap();
    assert_eq!(parsed.body().keys()[1], owned);
    assert_eq!(parsed.to_json(), json);
    let verified = parsed.verify(T0).unwrap();
    assert_eq!(verified.keys()[1].owner(), Some("bob@example.com"));
    let by_id = verified.key(&approver.public_key().key_id()).unwrap();
    assert_eq!(by_id.identity(), "bob@example.com");
    assert!(verified.key(&generate().public_key().key_id()).is_none());
}

#[test]
fn key_owner_is_checked() {
    let key = generate();
    let long = "a".repeat(257);
    let max = "é".repeat(256);
    assert!(trusted(&key, Role::Approver).with_owner(&max).is_ok());
    for bad in ["", " bob", "bob ", "bob\n", "b\u{7}ob", "\tbob", &long] {
        assert_eq!(
            trusted(&key, Role::Approver)
                .with_owner(bad)
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidField,
            "{bad:?}"
        );
    }
    rejects(
        |v| v["signed"]["keys"][0]["owner"] = json!(""),
        ErrorKind::InvalidField,
        "signed.keys[0].owner",
    );
    rejects(
        |v| v["signed"]["keys"][0]["owner"] = json!("alice\u{0}@example.com"),
        ErrorKind::InvalidField,
        "signed.keys[0].owner",
    );
    rejects(
        |v| v["signed"]["keys"][0]["owner"] = json!(" alice"),
        ErrorKind::InvalidField,
        "signed.keys[0].owner",
    );
    rejects(
        |v| v["signed"]["keys"][0]["owner"] = json!(42),
        ErrorKind::InvalidField,
        "signed.keys[0].owner",
    );
    rejects(
        |v| v["signed"]["keys"][0]["owner"] = json!(null),
        ErrorKind::InvalidField,
        "signed.keys[0].owner",
    );
}

#[test]
fn documents_without_owner_are_unchanged_byte_for_byte() {
    // A vector written before keys had owners: it still parses, verifies, and re-serializes to
    // the same bytes, so its signatures (over the same canonical body) still hold.
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/trust-root/v1.json");
    let bytes = std::fs::read(path).unwrap();
    let parsed = SignedTrustRoot::from_json(&bytes, &Limits::default()).unwrap();
    assert!(parsed.body().keys().iter().all(|k| k.owner().is_none()));
    assert!(!String::from_utf8_lossy(parsed.signed_bytes()).contains("owner"));
    parsed.verify(datetime!(2026-06-01 00:00:00 UTC)).unwrap();
    let rebuilt = SignedTrustRoot::new(parsed.body().clone());
    assert_eq!(rebuilt.signed_bytes(), parsed.signed_bytes());
    assert_eq!(parsed.to_json(), bytes);
}
