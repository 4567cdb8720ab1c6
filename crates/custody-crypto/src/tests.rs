use proptest::prelude::*;
use secrecy::SecretString;

use crate::*;

const ALGORITHMS: [KeyAlgorithm; 2] = [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256];

// FIPS 180-4 / NIST CSRC example: SHA-256("abc") and SHA-512("abc").
#[test]
fn sha_known_answers() {
    assert_eq!(
        sha256(b"abc").to_string(),
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        sha512(b"abc").hex(),
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
         2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    );
}

#[test]
fn streaming_equals_one_shot() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
        let mut h = Hasher::new(alg);
        for chunk in data.chunks(4093) {
            h.update(chunk);
        }
        let one_shot = match alg {
            DigestAlgorithm::Sha256 => sha256(&data),
            _ => sha512(&data),
        };
        assert_eq!(h.finalize(), one_shot);
    }
}

#[test]
fn digest_grammar() {
    let good = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let d: Digest = good.parse().unwrap();
    assert_eq!(d.to_string(), good);
    assert_eq!(d.algorithm(), DigestAlgorithm::Sha256);
    let bad = [
        "",
        "sha256",
        "sha256:",
        "md5:d41d8cd98f00b204e9800998ecf8427e",
        "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015zz",
        "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        "sha256:../../../etc/passwd",
    ];
    for b in bad {
        assert!(b.parse::<Digest>().is_err(), "accepted {b:?}");
    }
    assert!(matches!(
        Digest::from_bytes(DigestAlgorithm::Sha512, &[0; 32]),
        Err(DigestError::WrongLength {
            expected: 64,
            actual: 32,
            ..
        })
    ));
}

#[test]
fn digests_of_different_algorithms_differ() {
    let a = Digest::Sha256([1; 32]);
    let b = Digest::Sha512([1; 64]);
    assert_ne!(a, b);
    assert_ne!(Digest::Sha256([1; 32]), Digest::Sha256([2; 32]));
}

#[test]
fn key_id_is_sha256_of_spki() {
    for alg in ALGORITHMS {
        let key = SigningKey::generate(alg).unwrap();
        let public = key.public_key();
        assert_eq!(
            public.key_id().as_bytes(),
            sha256(public.spki_der()).as_bytes()
        );
        let parsed: KeyId = public.key_id().to_string().parse().unwrap();
        assert_eq!(parsed, public.key_id());
    }
    assert!("ABCD".parse::<KeyId>().is_err());
    assert!("g".repeat(64).parse::<KeyId>().is_err());
}

#[test]
fn public_pem_round_trip() {
    for alg in ALGORITHMS {
        let key = SigningKey::generate(alg).unwrap();
        let pem = key.public_key().to_pem();
        assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
        let back = PublicKey::from_pem(&pem).unwrap();
        assert_eq!(&back, key.public_key());
        assert_eq!(back.algorithm(), alg);
    }
}

#[test]
fn private_pem_round_trip_encrypted_and_plain() {
    let pass = SecretString::from("correct horse battery staple");
    let wrong = SecretString::from("incorrect horse");
    for alg in ALGORITHMS {
        let key = SigningKey::generate(alg).unwrap();
        let enc = key.to_pkcs8_pem(KeyProtection::Passphrase(&pass)).unwrap();
        assert!(enc.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        let back = SigningKey::from_pkcs8_pem(&enc, Some(&pass)).unwrap();
        assert_eq!(back.public_key(), key.public_key());
        assert!(matches!(
            SigningKey::from_pkcs8_pem(&enc, Some(&wrong)),
            Err(KeyError::WrongPassphrase)
        ));
        assert!(matches!(
            SigningKey::from_pkcs8_pem(&enc, None),
            Err(KeyError::PassphraseRequired)
        ));

        let plain = key.to_pkcs8_pem(KeyProtection::Unencrypted).unwrap();
        assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = SigningKey::from_pkcs8_pem(&plain, None).unwrap();
        assert_eq!(back.public_key(), key.public_key());
    }
}

#[test]
fn malformed_keys_are_rejected() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let public_pem = key.public_key().to_pem();
    // A public key is not a private key and vice versa.
    assert!(matches!(
        SigningKey::from_pkcs8_pem(&public_pem, None),
        Err(KeyError::MalformedPrivateKey(_))
    ));
    let private_pem = key.to_pkcs8_pem(KeyProtection::Unencrypted).unwrap();
    assert!(matches!(
        PublicKey::from_pem(&private_pem),
        Err(KeyError::MalformedPublicKey(_))
    ));
    assert!(PublicKey::from_pem("not pem").is_err());
    assert!(PublicKey::from_spki_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
    // Truncated DER.
    let der = key.public_key().spki_der();
    assert!(PublicKey::from_spki_der(&der[..der.len() - 1]).is_err());
    assert!(PublicKey::from_ed25519_bytes(&[0u8; 31]).is_err());
}

#[test]
fn ed25519_raw_bytes_round_trip() {
    let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let raw = key.public_key().ed25519_bytes().unwrap();
    assert_eq!(
        &PublicKey::from_ed25519_bytes(&raw).unwrap(),
        key.public_key()
    );
    let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert!(p256.public_key().ed25519_bytes().is_none());
}

/// An Ed25519 key from its 32-byte seed, through the RFC 8410 PKCS#8 encoding.
fn key_from_seed(seed: &[u8]) -> SigningKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    let pem = pkcs8::der::pem::encode_string("PRIVATE KEY", pkcs8::LineEnding::LF, &der).unwrap();
    SigningKey::from_pkcs8_pem(&pem, None).unwrap()
}

// RFC 8032 §7.1 TEST 1: secret key, public key and the signature of the empty message.
#[test]
fn ed25519_rfc8032_test_1() {
    let secret =
        hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
    let key = key_from_seed(&secret);
    assert_eq!(
        hex::encode(key.public_key().ed25519_bytes().unwrap()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let sig = key.sign(b"").unwrap();
    assert_eq!(
        hex::encode(&sig),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
    key.public_key().verify(b"", &sig).unwrap();
}

// RFC 8032 §7.3 TEST abc (Ed25519ph): the signature of SHA-512("abc").
#[test]
fn ed25519ph_rfc8032_test_abc() {
    let secret =
        hex::decode("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42").unwrap();
    let key = key_from_seed(&secret);
    let sig = key.sign_prehashed(&sha512(b"abc")).unwrap();
    assert_eq!(
        hex::encode(&sig),
        "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406"
    );
    key.public_key()
        .verify_prehashed(&sha512(b"abc"), &sig)
        .unwrap();
}

#[test]
fn prehash_algorithm_is_enforced() {
    let ed = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    assert!(matches!(
        ed.sign_prehashed(&sha256(b"x")),
        Err(SignatureError::WrongPrehash { .. })
    ));
    let ec = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert!(matches!(
        ec.sign_prehashed(&sha512(b"x")),
        Err(SignatureError::WrongPrehash { .. })
    ));
}

#[test]
fn ecdsa_prehash_equals_message_signature_semantics() {
    // ECDSA P-256 over a message is ECDSA over SHA-256(message): each verifies the other.
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    let sig = key.sign(b"artifact").unwrap();
    key.public_key()
        .verify_prehashed(&sha256(b"artifact"), &sig)
        .unwrap();
    let sig = key.sign_prehashed(&sha256(b"artifact")).unwrap();
    key.public_key().verify(b"artifact", &sig).unwrap();
}

#[test]
fn signature_from_another_key_is_rejected() {
    for alg in ALGORITHMS {
        let a = SigningKey::generate(alg).unwrap();
        let b = SigningKey::generate(alg).unwrap();
        let sig = a.sign(b"m").unwrap();
        assert!(matches!(
            b.public_key().verify(b"m", &sig),
            Err(SignatureError::Invalid(_))
        ));
    }
}

#[test]
fn malformed_signatures_are_rejected_not_panicking() {
    for alg in ALGORITHMS {
        let key = SigningKey::generate(alg).unwrap();
        for sig in [
            &[][..],
            &[0u8; 3][..],
            &[0xffu8; 64][..],
            &[0x30u8; 200][..],
        ] {
            assert!(key.public_key().verify(b"m", sig).is_err());
        }
    }
}

#[test]
fn constant_time_eq_semantics() {
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}

fn flip(bytes: &[u8], bit: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let bit = bit % (out.len() * 8);
    out[bit / 8] ^= 1 << (bit % 8);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn sign_verify_round_trip(msg in proptest::collection::vec(any::<u8>(), 0..512), ec in any::<bool>()) {
        let alg = if ec { KeyAlgorithm::EcdsaP256 } else { KeyAlgorithm::Ed25519 };
        let key = SigningKey::generate(alg).unwrap();
        let sig = key.sign(&msg).unwrap();
        prop_assert!(key.public_key().verify(&msg, &sig).is_ok());
        let digest = match alg.prehash_algorithm() {
            DigestAlgorithm::Sha256 => sha256(&msg),
            _ => sha512(&msg),
        };
        let sig = key.sign_prehashed(&digest).unwrap();
        prop_assert!(key.public_key().verify_prehashed(&digest, &sig).is_ok());
    }

    #[test]
    fn single_bit_flips_are_rejected(
        msg in proptest::collection::vec(any::<u8>(), 1..256),
        bit in any::<usize>(),
        ec in any::<bool>(),
    ) {
        let alg = if ec { KeyAlgorithm::EcdsaP256 } else { KeyAlgorithm::Ed25519 };
        let key = SigningKey::generate(alg).unwrap();
        let sig = key.sign(&msg).unwrap();
        prop_assert!(key.public_key().verify(&flip(&msg, bit), &sig).is_err());
        prop_assert!(key.public_key().verify(&msg, &flip(&sig, bit)).is_err());
        let digest = match alg.prehash_algorithm() {
            DigestAlgorithm::Sha256 => sha256(&msg),
            _ => sha512(&msg),
        };
        let sig = key.sign_prehashed(&digest).unwrap();
        let tampered = Digest::from_bytes(digest.algorithm(), &flip(digest.as_bytes(), bit)).unwrap();
        prop_assert!(key.public_key().verify_prehashed(&tampered, &sig).is_err());
    }

    #[test]
    fn digest_text_round_trip(bytes in proptest::collection::vec(any::<u8>(), 32..=32)) {
        let d = Digest::from_bytes(DigestAlgorithm::Sha256, &bytes).unwrap();
        prop_assert_eq!(d.to_string().parse::<Digest>().unwrap(), d);
    }
}
