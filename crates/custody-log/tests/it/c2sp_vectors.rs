//! Runs the vectors imported into `testdata/c2sp/` (see its README for sources and commits):
//! the examples of the C2SP signed-note, tlog-checkpoint, tlog-cosignature and tlog-witness
//! specifications, Go's `sumdb/note` test vectors and transparency-dev's cosignature vectors.
//!
//! Each file's expected outcome is stated here, next to the file name.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_log::TreeSize;
use custody_log::checkpoint::SignedCheckpoint;
use custody_log::cosignature::{self, Cosignature};
use custody_log::note::{
    self, KeyHash, KeyName, Note, NoteSignature, NoteSigner, NoteVerifier, SignatureType,
    SignedNote,
};
use custody_log::witness::{self, AddCheckpointRequest};

fn path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/c2sp")
        .join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(path(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn text(name: &str) -> String {
    String::from_utf8(bytes(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A file holding one value and a newline (a key, a base64 string).
fn value(name: &str) -> String {
    let text = text(name);
    text.strip_suffix('\n')
        .unwrap_or_else(|| panic!("{name} does not end in a newline"))
        .to_owned()
}

fn verifier(name: &str) -> NoteVerifier {
    value(name)
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The name of an error's variant, to compare with an expected category.
fn variant(error: &dyn std::fmt::Debug) -> String {
    let debug = format!("{error:?}");
    debug
        .split([' ', '(', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Opens `note` with `known` and compares the outcome with `expect`: `Ok(n)` for `n`
/// verified keys, `Err(variant)` for a failure.
fn check_open(case: &str, note: &[u8], known: &[NoteVerifier], expect: Result<usize, &str>) {
    let got = note::open(note, known)
        .map(|verified| verified.verified().len())
        .map_err(|e| variant(&e));
    assert_eq!(
        got.as_ref().copied().map_err(String::as_str),
        expect,
        "{case}: {}",
        String::from_utf8_lossy(note)
    );
}

#[test]
fn signed_note_spec_verifier_key_example() {
    let vkey = verifier("signed-note/spec-verifier-key-example.vkey");
    assert_eq!(vkey.name().as_str(), "example.com/foo");
    assert_eq!(vkey.key_hash(), KeyHash::new(0x530d903a));
    assert_eq!(vkey.signature_type(), SignatureType::Ed25519);
    assert_eq!(
        vkey.to_string(),
        value("signed-note/spec-verifier-key-example.vkey")
    );

    let note = bytes("signed-note/spec-verifier-key-example.note");
    let verified = note::open(&note, std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(verified.text(), "This is an example message.\n");
    assert_eq!(verified.note().to_bytes(), note);

    // Tampering, on the spec's own note.
    let known = [vkey];
    let example = text("signed-note/spec-verifier-key-example.note");
    let mut flipped = note;
    flipped[0] ^= 0x20;
    check_open(
        "flipped bit in text",
        &flipped,
        &known,
        Err("InvalidSignature"),
    );
    let line_start = example.find('\u{2014}').unwrap();
    let signature_start = example[line_start..].rfind(' ').unwrap() + line_start + 1;
    let mut changed = example.clone().into_bytes();
    // Change one base64 digit after the key ID (the first 6 digits encode 4.5 bytes).
    let digit = signature_start + 10;
    changed[digit] = if changed[digit] == b'A' { b'B' } else { b'A' };
    check_open(
        "changed signature",
        &changed,
        &known,
        Err("InvalidSignature"),
    );
    check_open(
        "wrong key ID",
        example.replacen(" Uw2Q", " Uw2R", 1).as_bytes(),
        &known,
        Err("NoVerifiedSignature"),
    );
    check_open(
        "wrong name",
        example
            .replacen("example.com/foo ", "example.com/fop ", 1)
            .as_bytes(),
        &known,
        Err("NoVerifiedSignature"),
    );
    check_open(
        "extra blank line",
        example.replacen("\n\n", "\n\n\n", 1).as_bytes(),
        &known,
        Err("InvalidSignature"),
    );
    check_open(
        "CRLF",
        example.replace('\n', "\r\n").as_bytes(),
        &known,
        Err("ControlCharacter"),
    );
    check_open(
        "no final newline",
        example.trim_end_matches('\n').as_bytes(),
        &known,
        Err("MissingFinalNewline"),
    );
}

#[test]
fn signed_note_spec_example_without_a_key() {
    // No key is published for the spec's first example: it parses, and a reader that does
    // not know its key must reject it.
    let note = bytes("signed-note/spec-example.note");
    let parsed = SignedNote::parse(&note).unwrap();
    assert_eq!(
        parsed.text(),
        "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n"
    );
    assert_eq!(parsed.signatures().len(), 1);
    assert_eq!(
        parsed.signatures()[0].name().as_str(),
        "quasimodo.example/salvatore"
    );
    assert_eq!(parsed.to_bytes(), note);
    check_open(
        "unknown key",
        &note,
        &[verifier("signed-note/spec-verifier-key-example.vkey")],
        Err("NoVerifiedSignature"),
    );
}

#[test]
fn tlog_checkpoint_spec_example() {
    let bytes = bytes("tlog-checkpoint/spec-example.checkpoint");
    let signed = SignedCheckpoint::parse(&bytes).unwrap();
    let body = signed.unverified_checkpoint();
    assert_eq!(body.origin(), "example.com/behind-the-sofa");
    assert_eq!(body.size(), TreeSize::new(20_852_163));
    assert_eq!(
        STANDARD.encode(body.root().as_bytes()),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert_eq!(signed.to_bytes(), bytes);
    // No key is published for it: a log key of the same name but another key is unknown.
    let stranger = NoteSigner::new(
        KeyName::new("example.com/behind-the-sofa").unwrap(),
        custody_crypto::SigningKey::generate(custody_crypto::KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        signed.verify(stranger.verifier()),
        Err(custody_log::checkpoint::Error::Note(
            note::Error::NoVerifiedSignature { unknown: 1 }
        ))
    ));
}

#[test]
fn tlog_cosignature_spec_example() {
    let bytes = bytes("tlog-cosignature/spec-example.checkpoint");
    let signed = SignedCheckpoint::parse(&bytes).unwrap();
    assert_eq!(signed.to_bytes(), bytes);
    let lines = signed.note().signatures();
    assert_eq!(lines.len(), 2);

    // The witness line is a timestamped signature: key ID 8d66cf3f, time 1679315147.
    let cosignature = Cosignature::from_note_signature(&lines[1]).unwrap();
    assert_eq!(cosignature.name().as_str(), "witness.example.com/w1");
    assert_eq!(cosignature.key_hash(), KeyHash::new(0x8d66cf3f));
    assert_eq!(cosignature.timestamp().unix_seconds(), 1_679_315_147);
    assert_eq!(cosignature.to_note_signature(), lines[1]);
    // The log's line is a plain 64-byte Ed25519 signature, not a cosignature.
    assert!(matches!(
        Cosignature::from_note_signature(&lines[0]),
        Err(cosignature::Error::MalformedCosignature { length: 64, .. })
    ));

    // The message it signs is the spec's "Ed25519 signed message" example.
    assert_eq!(
        cosignature::signed_message(signed.unverified_checkpoint(), cosignature.timestamp()),
        self::bytes("tlog-cosignature/spec-signed-message.txt")
    );
}

#[test]
fn tlog_witness_spec_examples() {
    let body = bytes("tlog-witness/spec-add-checkpoint-request.body");
    let request = AddCheckpointRequest::parse(&body).unwrap();
    assert_eq!(request.old_size(), TreeSize::new(20_852_014));
    assert_eq!(request.proof().len(), 4);
    assert_eq!(
        STANDARD.encode(request.proof()[3].as_bytes()),
        "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0="
    );
    assert_eq!(request.checkpoint().origin(), "example.com/behind-the-sofa");
    assert_eq!(request.checkpoint().note().signatures().len(), 2);
    assert_eq!(request.to_bytes(), body);

    let response = bytes("tlog-witness/spec-add-checkpoint-response.body");
    let lines = witness::parse_response(&response).unwrap();
    let names: Vec<&str> = lines.iter().map(|l| l.name().as_str()).collect();
    assert_eq!(
        names,
        [
            "witness.example/w1",
            "witness.example/w1",
            "witness.example/w2"
        ]
    );
    let rewritten: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(rewritten.as_bytes(), response);
}

const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";

#[test]
fn go_keys() {
    let peter = verifier("go-sumdb-note/peter-neumann.vkey");
    assert_eq!(peter.name().as_str(), "PeterNeumann");
    assert_eq!(peter.key_hash(), KeyHash::new(0xc74f20a3));
    assert_eq!(peter.to_string(), value("go-sumdb-note/peter-neumann.vkey"));
    let enoch = verifier("go-sumdb-note/enoch-root.vkey");
    assert_eq!(enoch.key_hash(), KeyHash::new(0xaf0cfe78));

    // The signer key gives Peter's verifier, and signs exactly as Go's TestSign wants.
    let signer = NoteSigner::from_signer_key(&value("go-sumdb-note/peter-neumann.skey")).unwrap();
    assert_eq!(signer.verifier(), &peter);
    assert_eq!(text("go-sumdb-note/text.txt"), GO_TEXT);
    let signed = Note::new(GO_TEXT).unwrap().sign(&signer).unwrap();
    assert_eq!(signed.to_bytes(), bytes("go-sumdb-note/peter-neumann.note"));
    assert_eq!(
        signer.to_signer_key().unwrap().expose_secret(),
        value("go-sumdb-note/peter-neumann.skey")
    );

    // Go's bad keys.
    let bad = |name: &str| {
        value(name)
            .parse::<NoteVerifier>()
            .map(|_| ())
            .map_err(|e| variant(&e))
    };
    assert_eq!(
        bad("go-sumdb-note/wrong-key-length.vkey"),
        Err("MalformedVerifierKey".to_owned())
    );
    assert_eq!(
        bad("go-sumdb-note/unknown-algorithm.vkey"),
        Err("UnsupportedSignatureType".to_owned())
    );
}

/// Go's TestNewVerifier and TestNewSigner: no substring and no single-byte change of the
/// keys is accepted.
#[test]
fn go_key_manglings_are_rejected() {
    for name in [
        "go-sumdb-note/peter-neumann.vkey",
        "go-sumdb-note/peter-neumann.skey",
    ] {
        let key = value(name);
        let accepts = |candidate: &str| {
            if name.ends_with(".vkey") {
                candidate.parse::<NoteVerifier>().is_ok()
            } else {
                NoteSigner::from_signer_key(candidate).is_ok()
            }
        };
        assert!(accepts(&key), "{name}");
        let bytes = key.as_bytes();
        for start in 0..bytes.len() {
            for end in start + 1..=bytes.len() {
                if (start, end) != (0, bytes.len()) {
                    let part = String::from_utf8_lossy(&bytes[start..end]);
                    assert!(!accepts(&part), "{name}: {part:?}");
                }
            }
        }
        for i in 0..bytes.len() {
            let mut changed = bytes.to_vec();
            changed[i] = changed[i].wrapping_add(1);
            let changed = String::from_utf8_lossy(&changed);
            assert!(!accepts(&changed), "{name}: {changed:?}");
        }
    }
}

/// Go's TestOpen, on the imported notes.
#[test]
fn go_open() {
    let peter = verifier("go-sumdb-note/peter-neumann.vkey");
    let enoch = verifier("go-sumdb-note/enoch-root.vkey");
    let both = bytes("go-sumdb-note/peter-and-enoch.note");
    let only_peter = [peter.clone()];

    check_open("one verified", &both, &only_peter, Ok(1));
    check_open(
        "both verified",
        &both,
        &[peter.clone(), enoch.clone()],
        Ok(2),
    );
    check_open("none known", &both, &[], Err("NoVerifiedSignature"));
    check_open(
        "duplicated verifier",
        &both,
        &[enoch.clone(), peter.clone(), enoch],
        Ok(2),
    );
    let verified = note::open(&both, &only_peter).unwrap();
    assert_eq!(verified.text(), GO_TEXT);
    assert_eq!(verified.verified()[0].verifier(), &peter);

    let note = text("go-sumdb-note/peter-and-enoch.note");
    let (text, lines) = note.split_at(GO_TEXT.len() + 1);
    let mut lines = lines.lines();
    let peter_sig = format!("{}\n", lines.next().unwrap());
    let enoch_sig = format!("{}\n", lines.next().unwrap());
    assert_eq!(text, format!("{GO_TEXT}\n"));
    // Go counts bytes; the em dash is 3 of them.
    let corrupt = |sig: &str| format!("{}ABCD{}", &sig[..60], &sig[60..]);

    // Too many signatures.
    check_open(
        "101 signatures",
        format!("{GO_TEXT}\n{}", peter_sig.repeat(101)).as_bytes(),
        &only_peter,
        Err("TooManySignatures"),
    );
    check_open(
        "101 unknown signatures",
        format!("{GO_TEXT}\n{}", peter_sig.repeat(101)).as_bytes(),
        &[],
        Err("TooManySignatures"),
    );
    // Invalid signature by a known key.
    check_open(
        "invalid signature",
        format!("{GO_TEXT}\n{}", corrupt(&peter_sig)).as_bytes(),
        &only_peter,
        Err("InvalidSignature"),
    );
    // Duplicated verified and unverified signatures, and an unknown corrupt one.
    check_open(
        "duplicates",
        format!(
            "{GO_TEXT}\n{peter_sig}{peter_sig}{enoch_sig}{enoch_sig}{}",
            corrupt(&enoch_sig)
        )
        .as_bytes(),
        &only_peter,
        Ok(1),
    );
    // Go's malformed messages.
    let bad_messages = [
        (GO_TEXT.to_owned(), "MissingSignatureBlock"),
        (format!("{GO_TEXT}\n"), "NoSignatureLines"),
        (
            format!("{GO_TEXT}\n{}", peter_sig.trim_end()),
            "MissingFinalNewline",
        ),
        (format!("\u{1}{GO_TEXT}\n{peter_sig}"), "ControlCharacter"),
        (
            format!(
                "{GO_TEXT}\n{}",
                peter_sig.replacen("PeterNeumann", "Bad Name", 1)
            ),
            "MalformedSignatureLine",
        ),
        (
            format!("{GO_TEXT}\n{peter_sig}Unexpected line.\n"),
            "MalformedSignatureLine",
        ),
    ];
    for (message, expect) in bad_messages {
        check_open("malformed", message.as_bytes(), &only_peter, Err(expect));
    }
    let mut invalid_utf8 = vec![0xff];
    invalid_utf8.extend_from_slice(&both);
    check_open("invalid UTF-8", &invalid_utf8, &[peter], Err("NotUtf8"));
}

#[test]
fn transparency_dev_cosignature_keys() {
    let remora = verifier("transparency-dev-formats/remora-cosignature-v1.vkey");
    assert_eq!(remora.signature_type(), SignatureType::CosignatureV1);
    assert_eq!(remora.key_hash(), KeyHash::new(0xda77ade7));
    assert_eq!(
        remora.to_string(),
        value("transparency-dev-formats/remora-cosignature-v1.vkey")
    );
    let plain = verifier("transparency-dev-formats/test-ed25519.vkey");
    assert_eq!(plain.signature_type(), SignatureType::Ed25519);
    // A witness policy takes the type 0x04 key and refuses the plain one.
    assert!(cosignature::WitnessPolicy::new(vec![remora], 1).is_ok());
    assert!(matches!(
        cosignature::WitnessPolicy::new(vec![plain], 1),
        Err(cosignature::Error::NotCosignatureKey { .. })
    ));
    assert!(matches!(
        value("transparency-dev-formats/invalid-algorithm.vkey").parse::<NoteVerifier>(),
        Err(note::Error::UnsupportedSignatureType(0x03))
    ));
}

#[test]
fn transparency_dev_cosignature_timestamps() {
    let line = |name: &str| {
        let raw = STANDARD.decode(value(name)).unwrap();
        NoteSignature::new(
            KeyName::new("w").unwrap(),
            KeyHash::new(u32::from_be_bytes(raw[..4].try_into().unwrap())),
            raw[4..].to_vec(),
        )
        .unwrap()
    };
    let cosignature = Cosignature::from_note_signature(&line(
        "transparency-dev-formats/cosignature-1727964367.b64",
    ))
    .unwrap();
    assert_eq!(cosignature.timestamp().unix_seconds(), 1_727_964_367);
    assert!(matches!(
        Cosignature::from_note_signature(&line("transparency-dev-formats/ed25519-signature.b64")),
        Err(cosignature::Error::MalformedCosignature { length: 64, .. })
    ));
}
