use custody_crypto::KeyAlgorithm;
use proptest::prelude::*;

use super::*;

const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";

fn seeded(name: &str, seed: u8) -> NoteSigner<SigningKey> {
    let key = signing_key_from_seed(&[seed; 32]).unwrap();
    NoteSigner::new(KeyName::new(name).unwrap(), key).unwrap()
}

fn signed(signer: &NoteSigner<SigningKey>) -> Vec<u8> {
    Note::new(TEXT).unwrap().sign(signer).unwrap().to_bytes()
}

fn parse_str(note: &str) -> Result<SignedNote, Error> {
    SignedNote::parse(note.as_bytes())
}

#[test]
fn key_names() {
    for good in [
        "a",
        "example.com/log42",
        "PeterNeumann",
        "oid/1.3.6.1",
        "ünïcødé—name",
    ] {
        assert_eq!(KeyName::new(good).unwrap().as_str(), good);
    }
    let cases = [
        ("", "it is empty"),
        ("a b", "it contains a Unicode space"),
        ("a\u{2003}b", "it contains a Unicode space"),
        ("a\u{a0}b", "it contains a Unicode space"),
        ("a\nb", "it contains a Unicode space"),
        ("a+b", "it contains '+'"),
        ("a\u{1}b", "it contains a control character"),
    ];
    for (name, want) in cases {
        match KeyName::new(name) {
            Err(Error::InvalidKeyName { reason, .. }) => assert_eq!(reason, want, "{name:?}"),
            other => panic!("{name:?}: {other:?}"),
        }
    }
}

#[test]
fn key_hash_text_is_eight_lowercase_hex_digits() {
    assert_eq!(KeyHash::new(0xc74f20a3).to_string(), "c74f20a3");
    assert_eq!(KeyHash::new(1).to_string(), "00000001");
    assert_eq!(
        "c74f20a3".parse::<KeyHash>().unwrap(),
        KeyHash::new(0xc74f20a3)
    );
    for bad in [
        "C74F20A3",
        "c74f20a",
        "c74f20a30",
        "+74f20a3",
        "c74f20g3",
        "",
    ] {
        assert!(bad.parse::<KeyHash>().is_err(), "{bad:?}");
    }
}

/// The key ID of the spec's "Verifier keys" example, computed from its parts.
#[test]
fn key_hash_of_the_spec_example() {
    let vkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let material = STANDARD.decode(vkey.rsplit('+').next().unwrap()).unwrap();
    let name = KeyName::new("example.com/foo").unwrap();
    assert_eq!(
        KeyHash::compute(&name, SignatureType::Ed25519, &material[1..]),
        KeyHash::new(0x530d903a)
    );
    let verifier: NoteVerifier = vkey.parse().unwrap();
    assert_eq!(verifier.to_string(), vkey);
    assert_eq!(verifier.signature_type(), SignatureType::Ed25519);
    // The same key as a cosignature key has another key ID.
    assert_ne!(
        KeyHash::compute(&name, SignatureType::CosignatureV1, &material[1..]),
        KeyHash::new(0x530d903a)
    );
}

#[test]
fn verifier_keys_round_trip_and_reject_mangling() {
    let signer = seeded("example.com/log", 7);
    let vkey = signer.verifier().to_string();
    let parsed: NoteVerifier = vkey.parse().unwrap();
    assert_eq!(&parsed, signer.verifier());

    // Every proper substring and every single-byte change is rejected (as Go's
    // TestNewVerifier does for its own key).
    let bytes = vkey.as_bytes();
    for start in 0..bytes.len() {
        for end in start + 1..=bytes.len() {
            if (start, end) != (0, bytes.len()) {
                let part = String::from_utf8_lossy(&bytes[start..end]);
                assert!(part.parse::<NoteVerifier>().is_err(), "{part:?}");
            }
        }
    }
    for i in 0..bytes.len() {
        let mut changed = bytes.to_vec();
        changed[i] = changed[i].wrapping_add(1);
        let changed = String::from_utf8_lossy(&changed);
        assert!(changed.parse::<NoteVerifier>().is_err(), "{changed:?}");
    }
}

#[test]
fn verifier_key_errors_name_the_problem() {
    let signer = seeded("example.com/log", 7);
    let vkey = signer.verifier().to_string();
    let (_, material) = vkey.rsplit_once('+').unwrap();
    let other_hash = format!("example.com/log+00000000+{material}");
    assert!(matches!(
        other_hash.parse::<NoteVerifier>(),
        Err(Error::KeyHashMismatch { .. })
    ));
    let other_name = vkey.replacen("example.com/log", "example.com/lag", 1);
    assert!(matches!(
        other_name.parse::<NoteVerifier>(),
        Err(Error::KeyHashMismatch { .. })
    ));
    // Type 0x02 (ECDSA) is not supported, whatever the key ID.
    let mut raw = STANDARD.decode(material).unwrap();
    raw[0] = 0x02;
    let ecdsa = format!("example.com/log+00000000+{}", STANDARD.encode(&raw));
    assert!(matches!(
        ecdsa.parse::<NoteVerifier>(),
        Err(Error::UnsupportedSignatureType(0x02))
    ));
    assert!(matches!(
        "example.com/log+00000000".parse::<NoteVerifier>(),
        Err(Error::MalformedVerifierKey { .. })
    ));
}

#[test]
fn signer_keys_round_trip() {
    let signer = seeded("example.com/log", 9);
    let skey = signer.to_signer_key().unwrap();
    assert!(
        skey.expose_secret()
            .starts_with("PRIVATE+KEY+example.com/log+")
    );
    let again = NoteSigner::from_signer_key(skey.expose_secret()).unwrap();
    assert_eq!(again.verifier(), signer.verifier());
    // Ed25519 is deterministic: the same key signs the same text identically.
    assert_eq!(signed(&again), signed(&signer));
}

#[test]
fn signer_key_errors_never_show_the_key() {
    let signer = seeded("example.com/log", 9);
    let skey = signer.to_signer_key().unwrap();
    let text = skey.expose_secret();
    let (_, seed) = text.rsplit_once('+').unwrap();
    let mangled = [
        text.replacen("PRIVATE+KEY+", "PRIVATE+KEX+", 1),
        text.replacen("example.com/log", "example.com/lag", 1),
        format!("{text}A"),
        text[..text.len() - 4].to_owned(),
    ];
    for bad in &mangled {
        let err = NoteSigner::from_signer_key(bad).map(|_| ()).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains(seed), "{shown}");
    }
    assert!(matches!(
        NoteSigner::from_signer_key(&mangled[1]),
        Err(Error::KeyHashMismatch { .. })
    ));
    // Debug shows the name and key ID only.
    let debug = format!("{signer:?}");
    assert!(
        debug.contains("example.com/log") && !debug.contains(seed),
        "{debug}"
    );
}

#[test]
fn signers_need_ed25519_keys() {
    let p256 = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    assert!(matches!(
        NoteSigner::new(KeyName::new("a").unwrap(), p256),
        Err(Error::NotEd25519 { .. })
    ));
}

#[test]
fn note_texts() {
    assert!(Note::new("a\n").is_ok());
    assert!(Note::new("\n").is_ok());
    assert!(Note::new("a\n\n\nb\n\n").is_ok());
    for bad in ["", "a", "a\r\n", "a\tb\n", "a\u{0}\n"] {
        assert!(
            matches!(Note::new(bad), Err(Error::InvalidText { .. })),
            "{bad:?}"
        );
    }
}

#[test]
fn sign_and_open() {
    let signer = seeded("PeterNeumann", 1);
    let bytes = signed(&signer);
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with(TEXT));
    assert!(text[TEXT.len()..].starts_with("\n\u{2014} PeterNeumann "));
    assert!(text.ends_with('\n'));

    let verified = open(&bytes, &[signer.verifier().clone()]).unwrap();
    assert_eq!(verified.text(), TEXT);
    assert_eq!(verified.verified().len(), 1);
    assert_eq!(verified.verified()[0].verifier(), signer.verifier());
    assert_eq!(verified.verified()[0].timestamp(), None);
    assert_eq!(verified.note().to_bytes(), bytes);
}

#[test]
fn texts_with_blank_lines_sign_and_open() {
    let signer = seeded("a", 1);
    for text in ["\n", "a\n\nb\n", "a\n\n\n", "\u{2014} a AAAAAAA=\n\n"] {
        let note = Note::new(text).unwrap().sign(&signer).unwrap();
        let verified = open(&note.to_bytes(), &[signer.verifier().clone()]).unwrap();
        assert_eq!(verified.text(), text);
    }
}

#[test]
fn unknown_keys_are_ignored_and_known_keys_must_verify() {
    let peter = seeded("PeterNeumann", 1);
    let enoch = seeded("EnochRoot", 2);
    let mut note = Note::new(TEXT).unwrap().sign(&peter).unwrap();
    note.sign(&enoch).unwrap();
    let bytes = note.to_bytes();

    // One known key: the other line is ignored.
    let verified = open(&bytes, &[peter.verifier().clone()]).unwrap();
    assert_eq!(verified.verified().len(), 1);
    // Both known.
    let both = [peter.verifier().clone(), enoch.verifier().clone()];
    assert_eq!(open(&bytes, &both).unwrap().verified().len(), 2);
    // None known.
    assert!(matches!(
        open(&bytes, &[]),
        Err(Error::NoVerifiedSignature { unknown: 2 })
    ));

    // A key with the same name but another key (so another key ID) is unknown, and so is one
    // with the same key under another name.
    let other_peter = seeded("PeterNeumann", 3);
    let renamed = NoteVerifier::ed25519(
        KeyName::new("PeterNewman").unwrap(),
        peter.verifier().public_key().clone(),
    )
    .unwrap();
    assert!(matches!(
        open(&bytes, &[other_peter.verifier().clone(), renamed]),
        Err(Error::NoVerifiedSignature { unknown: 2 })
    ));
}

#[test]
fn a_bad_signature_from_a_known_key_rejects_the_note() {
    let peter = seeded("PeterNeumann", 1);
    let enoch = seeded("EnochRoot", 2);
    let mut note = Note::new(TEXT).unwrap().sign(&peter).unwrap();
    // A line claiming Peter's name and key ID, with Enoch's signature.
    let forged = NoteSignature::new(
        peter.name().clone(),
        peter.key_hash(),
        enoch.sign_text(TEXT).unwrap().signature().to_vec(),
    )
    .unwrap();
    note.add_signature(forged);
    assert!(matches!(
        note.verify(&[peter.verifier().clone()]),
        Err(Error::InvalidSignature { .. })
    ));
    // Both of Peter's lines are unknown to a reader that trusts only Enoch, so ignored there;
    // Enoch did not sign.
    assert!(matches!(
        note.verify(&[enoch.verifier().clone()]),
        Err(Error::NoVerifiedSignature { unknown: 2 })
    ));
}

#[test]
fn tampering_is_detected() {
    let signer = seeded("example.com/log", 1);
    let known = [signer.verifier().clone()];
    let bytes = signed(&signer);
    let text = String::from_utf8(bytes.clone()).unwrap();

    // A flipped bit anywhere in the text.
    for i in 0..TEXT.len() {
        let mut changed = bytes.clone();
        changed[i] ^= 0x01;
        assert!(open(&changed, &known).is_err(), "byte {i}");
    }
    // A flipped bit in every signature byte (after the key ID).
    let line = parse_str(&text).unwrap().signatures()[0].clone();
    for i in 0..line.signature().len() {
        let mut signature = line.signature().to_vec();
        signature[i] ^= 0x01;
        let mut note = parse_str(&text).unwrap();
        note.signatures =
            vec![NoteSignature::new(line.name().clone(), line.key_hash(), signature).unwrap()];
        assert!(
            matches!(note.verify(&known), Err(Error::InvalidSignature { .. })),
            "signature byte {i}"
        );
    }
    // A wrong key ID or name makes the line unknown.
    let wrong_hash = NoteSignature::new(
        line.name().clone(),
        KeyHash::new(line.key_hash().get() ^ 1),
        line.signature().to_vec(),
    )
    .unwrap();
    let wrong_name = NoteSignature::new(
        KeyName::new("example.com/lag").unwrap(),
        line.key_hash(),
        line.signature().to_vec(),
    )
    .unwrap();
    for other in [wrong_hash, wrong_name] {
        let mut note = parse_str(&text).unwrap();
        note.signatures = vec![other];
        assert!(matches!(
            note.verify(&known),
            Err(Error::NoVerifiedSignature { unknown: 1 })
        ));
    }
    // An extra blank line moves the split: the text changes and the signature fails.
    let extra = text.replacen("\n\n", "\n\n\n", 1);
    assert!(matches!(
        open(extra.as_bytes(), &known),
        Err(Error::InvalidSignature { .. })
    ));
    // CRLF line endings are control characters.
    let crlf = text.replace('\n', "\r\n");
    assert!(matches!(
        open(crlf.as_bytes(), &known),
        Err(Error::ControlCharacter {
            character: 0x0d,
            ..
        })
    ));
}

#[test]
fn duplicate_lines_are_counted_once() {
    let signer = seeded("a", 1);
    let line = signer.sign_text(TEXT).unwrap();
    let note = SignedNote {
        text: TEXT.to_owned(),
        signatures: vec![line.clone(), line.clone(), line],
    };
    let bytes = note.to_bytes();
    let parsed = SignedNote::parse(&bytes).unwrap();
    assert_eq!(
        parsed.signatures().len(),
        3,
        "parsing keeps the lines as they are"
    );
    assert_eq!(parsed.to_bytes(), bytes);
    let verified = parsed.verify(&[signer.verifier().clone()]).unwrap();
    assert_eq!(verified.verified().len(), 1);
}

#[test]
fn ambiguous_known_keys_are_an_error() {
    let signer = seeded("a", 1);
    let note = Note::new(TEXT).unwrap().sign(&signer).unwrap();
    // The same key twice is fine.
    let twice = [signer.verifier().clone(), signer.verifier().clone()];
    assert!(note.verify(&twice).is_ok());
    // Another key claiming the same name and key ID is not.
    let impostor = NoteVerifier {
        key: seeded("a", 2).verifier().key.clone(),
        raw: seeded("a", 2).verifier().raw,
        ..signer.verifier().clone()
    };
    assert!(matches!(
        note.verify(&[signer.verifier().clone(), impostor]),
        Err(Error::AmbiguousKey { .. })
    ));
}

#[test]
fn signing_again_replaces_the_line_of_the_same_key() {
    let a = seeded("a", 1);
    let b = seeded("b", 2);
    let mut note = Note::new(TEXT).unwrap().sign(&a).unwrap();
    note.sign(&b).unwrap();
    note.sign(&a).unwrap();
    let names: Vec<&str> = note
        .signatures()
        .iter()
        .map(|s| s.name().as_str())
        .collect();
    assert_eq!(names, ["b", "a"]);
}

fn check_malformed(note: &str, want: &str) {
    match parse_str(note) {
        Ok(parsed) => panic!("{note:?} parsed: {parsed:?}"),
        Err(err) => assert_eq!(
            format!("{err:?}").split([' ', '{', '(']).next(),
            Some(want),
            "{note:?}: {err}"
        ),
    }
}

#[test]
fn malformed_notes_are_rejected() {
    let signer = seeded("a", 1);
    let line = signer.sign_text(TEXT).unwrap().to_string();
    let ok = format!("{TEXT}\n{line}\n");
    assert!(parse_str(&ok).is_ok());

    check_malformed(TEXT, "MissingSignatureBlock");
    check_malformed(&format!("{TEXT}\n"), "NoSignatureLines");
    check_malformed(&format!("{TEXT}\n{line}"), "MissingFinalNewline");
    check_malformed(&format!("\u{1}{ok}"), "ControlCharacter");
    check_malformed(&format!("a\tb\n\n{line}\n"), "ControlCharacter");
    check_malformed(&format!("{ok}Unexpected line.\n"), "MalformedSignatureLine");
    check_malformed(
        &format!("{TEXT}\n{}\n", line.replacen('\u{2014}', "-", 1)),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n{}\n", line.replacen("\u{2014} ", "\u{2014}", 1)),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n{}\n", line.replacen(" a ", " a+b ", 1)),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n{}\n", line.replacen(" a ", " Bad Name ", 1)),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n{}\n", line.replacen(" a ", " ", 1)),
        "MalformedSignatureLine",
    );
    check_malformed(&format!("{TEXT}\n\u{2014} a\n"), "MalformedSignatureLine");
    check_malformed(&format!("{TEXT}\n\u{2014} a \n"), "MalformedSignatureLine");
    // Not base64, base64 without padding, non-canonical trailing bits, too short.
    check_malformed(
        &format!("{TEXT}\n\u{2014} a !!!!\n"),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n\u{2014} a AAAAAAA\n"),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n\u{2014} a AAAAAAB=\n"),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n\u{2014} a AAAAAA==\n"),
        "MalformedSignatureLine",
    );
    check_malformed(
        &format!("{TEXT}\n\u{2014} a AAAAAAA= \n"),
        "MalformedSignatureLine",
    );
    assert!(matches!(
        SignedNote::parse(b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n"),
        Err(Error::NotUtf8 { offset: 0 })
    ));
}

#[test]
fn limits() {
    let signer = seeded("a", 1);
    let line = signer.sign_text(TEXT).unwrap().to_string();
    let note = |lines: usize| format!("{TEXT}\n{}", format!("{line}\n").repeat(lines));

    // Go's note.Open accepts 100 signature lines and rejects 101.
    assert!(parse_str(&note(MAX_SIGNATURES)).is_ok());
    assert!(matches!(
        parse_str(&note(MAX_SIGNATURES + 1)),
        Err(Error::TooManySignatures {
            limit: MAX_SIGNATURES
        })
    ));

    // A lower limit is raised to the 16 the spec requires.
    let low = Limits {
        max_signatures: 2,
        ..Limits::default()
    };
    assert!(SignedNote::parse_with_limits(note(16).as_bytes(), &low).is_ok());
    assert!(matches!(
        SignedNote::parse_with_limits(note(17).as_bytes(), &low),
        Err(Error::TooManySignatures { limit: 16 })
    ));

    // The size limit is checked before anything else.
    let big = format!("{}\n\n{line}\n", "x".repeat(MAX_NOTE_SIZE));
    assert!(matches!(parse_str(&big), Err(Error::TooLarge { .. })));
    let small = Limits {
        max_note_size: 10,
        ..Limits::default()
    };
    assert!(matches!(
        SignedNote::parse_with_limits(note(1).as_bytes(), &small),
        Err(Error::TooLarge { limit: 10, .. })
    ));
}

#[test]
fn signature_lines_alone() {
    let a = seeded("a", 1).sign_text(TEXT).unwrap();
    let b = seeded("b", 2).sign_text(TEXT).unwrap();
    let body = format!("{a}\n{b}\n");
    let lines = NoteSignature::parse_lines(&body, &Limits::default()).unwrap();
    assert_eq!(lines, [a.clone(), b]);
    assert!(NoteSignature::parse_lines(&format!("{a}"), &Limits::default()).is_err());
    assert!(NoteSignature::parse_lines(&format!("{a}\n\n"), &Limits::default()).is_err());
    assert!(NoteSignature::parse_lines("\n", &Limits::default()).is_err());
}

/// Text made of characters a note may hold, ending in a newline.
fn note_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range(' ', '~'),
            1 => Just('\n'),
            1 => Just('\u{2014}'),
            1 => proptest::char::range('\u{a0}', '\u{10ffff}'),
        ],
        0..200,
    )
    .prop_map(|chars| {
        let mut text: String = chars.into_iter().collect();
        text.push('\n');
        text
    })
}

proptest! {
    #[test]
    fn sign_parse_verify_round_trip(text in note_text(), seed in any::<u8>()) {
        let signer = seeded("example.com/prop", seed);
        let signed = Note::new(text.clone()).unwrap().sign(&signer).unwrap();
        let bytes = signed.to_bytes();
        let parsed = SignedNote::parse(&bytes).unwrap();
        prop_assert_eq!(&parsed, &signed);
        prop_assert_eq!(parsed.to_bytes(), bytes);
        let verified = parsed.verify(&[signer.verifier().clone()]).unwrap();
        prop_assert_eq!(verified.text(), text.as_str());
    }

    #[test]
    fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = SignedNote::parse(&bytes);
        let _ = String::from_utf8(bytes).map(|text| text.parse::<NoteVerifier>());
    }

    #[test]
    fn parsed_notes_re_encode_to_the_same_bytes(
        text in note_text(),
        lines in proptest::collection::vec((0u32.., proptest::collection::vec(any::<u8>(), 1..80)), 1..5),
    ) {
        let mut note = text;
        note.push('\n');
        for (hash, signature) in lines {
            let line = NoteSignature::new(KeyName::new("k").unwrap(), KeyHash::new(hash), signature).unwrap();
            note.push_str(&format!("{line}\n"));
        }
        let parsed = SignedNote::parse(note.as_bytes()).unwrap();
        prop_assert_eq!(parsed.to_bytes(), note.into_bytes());
    }
}
