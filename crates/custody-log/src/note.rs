//! C2SP signed notes (<https://c2sp.org/signed-note>): text signed by one or more keys.
//!
//! A signed note is a text ending in a newline, a blank line, and one or more signature lines
//! `— <key name> <base64(key ID || signature)>`:
//!
//! ```text
//! This is an example message.
//!
//! — example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=
//! ```
//!
//! The module has three layers:
//!
//! 1. **Keys.** [`KeyName`] and [`KeyHash`] (the spec's 32-bit "key ID"); [`NoteVerifier`], a
//!    public key with its name and [`SignatureType`], read from and written as a verifier key
//!    (*vkey*) `<name>+<hex key ID>+<base64(type || public key)>`; [`NoteSigner`], which signs
//!    with any [`custody_crypto::Signer`] holding an Ed25519 key, and reads and writes Go's
//!    `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>` signer key text
//!    ([`SignerKey`]).
//! 2. **Parsing.** [`SignedNote::parse`] checks the format strictly, under [`Limits`] on the
//!    size and the number of signatures, and keeps the bytes: [`SignedNote::to_bytes`] gives
//!    back exactly what was parsed.
//! 3. **Verification.** [`SignedNote::verify`] (or [`open`]) checks the signatures from known
//!    keys and returns a [`VerifiedNote`], which can be built no other way.
//!    As the spec's "Signatures" section requires, signatures from unknown keys are ignored,
//!    a signature from a known key that fails to verify rejects the whole note, and a note
//!    with no verified signature is rejected.
//!
//! Two signature types are supported: Ed25519 (`0x01`, "Ed25519 signatures") and the
//! timestamped Ed25519 cosignatures of C2SP tlog-cosignature (`0x04`, see
//! [`crate::cosignature`]).
//!
//! ```
//! use custody_crypto::{KeyAlgorithm, SigningKey};
//! use custody_log::note::{self, KeyName, Note, NoteSigner};
//!
//! let signer = NoteSigner::new(
//!     KeyName::new("example.com/foo")?,
//!     SigningKey::generate(KeyAlgorithm::Ed25519)?,
//! )?;
//! let signed = Note::new("This is an example message.\n")?.sign(&signer)?;
//! let bytes = signed.to_bytes();
//!
//! // A reader that knows the vkey opens the note.
//! let vkey = signer.verifier().to_string();
//! let verified = note::open(&bytes, &[vkey.parse()?])?;
//! assert_eq!(verified.text(), "This is an example message.\n");
//!
//! // A flipped character in the text makes the known key's signature fail.
//! let tampered = String::from_utf8(bytes.clone())?.replacen("an example", "an exemple", 1);
//! assert!(matches!(
//!     note::open(tampered.as_bytes(), &[vkey.parse()?]),
//!     Err(note::Error::InvalidSignature { .. })
//! ));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_crypto::{
    KeyError, KeyProtection, PublicKey, SignatureError, Signer, SigningKey, Verifier as _, sha256,
};
use zeroize::Zeroizing;

use crate::cosignature::{self, Timestamp};
use crate::error::truncate;

/// The default limit on the size of a signed note: 1 MiB.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// The default limit on the number of signature lines in a note.
pub const MAX_SIGNATURES: usize = 100;

/// The smallest signature limit the spec allows: "verifiers … MUST accept at least up to 16
/// signatures" ("Format").
pub const MIN_SIGNATURES_LIMIT: usize = 16;

/// The start of every signature line: an em dash (U+2014) and a space.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The length of an Ed25519 public key and of an Ed25519 seed.
const ED25519_KEY_LEN: usize = 32;

/// The length of an Ed25519 signature.
pub(crate) const ED25519_SIGNATURE_LEN: usize = 64;

/// The literal start of a signer key.
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// The DER prefix of a version 1 PKCS#8 `PrivateKeyInfo` holding an Ed25519 seed (RFC 8410 §7):
/// the seed follows as the last 32 bytes.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// Everything that can go wrong reading, writing, signing or verifying a signed note.
///
/// The variants fall into three groups:
///
/// - **Rejected input**: a note, vkey or signer key that does not follow the spec
///   ([`Error::TooLarge`] to [`Error::UnsupportedSignatureType`]);
/// - **Failed verification**: [`Error::InvalidSignature`], [`Error::NoVerifiedSignature`],
///   and [`Error::AmbiguousKey`] (two different known keys with the same name and key ID,
///   which is a configuration mistake);
/// - **API misuse and signer failures**: [`Error::InvalidText`], [`Error::NotEd25519`],
///   [`Error::Signing`] and [`Error::Key`].
///
/// No variant ever carries secret key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The note is larger than [`Limits::max_note_size`].
    #[error("the note is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The size of the note in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// The note has more signature lines than [`Limits::max_signatures`].
    #[error("the note has more than {limit} signature lines")]
    TooManySignatures {
        /// The limit.
        limit: usize,
    },

    /// The note is not valid UTF-8.
    #[error("the note is not valid UTF-8 (from byte {offset})")]
    NotUtf8 {
        /// The offset of the first byte that is not valid UTF-8.
        offset: usize,
    },

    /// The note holds an ASCII control character other than newline, such as a carriage
    /// return or a tab ("Format").
    #[error("the note contains control character U+{character:04X} at byte {offset}")]
    ControlCharacter {
        /// The offset of the character in bytes.
        offset: usize,
        /// The character's code point.
        character: u32,
    },

    /// The note has no blank line separating the text from the signatures.
    #[error("the note has no blank line before its signature lines")]
    MissingSignatureBlock,

    /// The note has nothing after its last blank line.
    #[error("the note has no signature lines")]
    NoSignatureLines,

    /// The note does not end in a newline.
    #[error("the note does not end in a newline")]
    MissingFinalNewline,

    /// A signature line is not `— <key name> <base64 signature>`.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// The 1-based number of the line among the signature lines.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A key name is empty, or holds a space, a plus sign or a control character.
    #[error("key name '{name}' is invalid: {reason}")]
    InvalidKeyName {
        /// The rejected name, truncated to 80 characters.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A verifier key is not `<name>+<8 lowercase hex digits>+<base64>`.
    #[error("verifier key is malformed: {reason}")]
    MalformedVerifierKey {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A signer key is not `PRIVATE+KEY+<name>+<8 lowercase hex digits>+<base64>`.
    ///
    /// The key text is never included.
    #[error("signer key is malformed: {reason}")]
    MalformedSignerKey {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The key ID written in a vkey or signer key is not the one computed from the key.
    #[error(
        "key ID {stated} written for key '{name}' does not match the key, whose key ID is {computed}"
    )]
    KeyHashMismatch {
        /// The key name.
        name: String,
        /// The key ID written in the key text.
        stated: KeyHash,
        /// The key ID computed from the name, type and public key.
        computed: KeyHash,
    },

    /// A key's signature type is not one custody supports (0x01 or 0x04).
    #[error("signature type 0x{0:02x} is not supported")]
    UnsupportedSignatureType(u8),

    /// A signature line names a known key (name and key ID), but its signature does not
    /// verify: the spec's "Signatures" section says to reject the whole note.
    #[error("the signature by known key {name}+{key_hash} does not verify")]
    InvalidSignature {
        /// The key name.
        name: KeyName,
        /// The key ID.
        key_hash: KeyHash,
    },

    /// No signature line is from a known key, so the note must be rejected ("Signatures").
    #[error(
        "the note has no signature from a known key ({unknown} signature lines from unknown keys)"
    )]
    NoVerifiedSignature {
        /// The number of distinct signature lines from unknown keys.
        unknown: usize,
    },

    /// Two different known keys have the same name and key ID, and a signature line names them.
    #[error("two different known keys are named {name}+{key_hash}")]
    AmbiguousKey {
        /// The key name.
        name: KeyName,
        /// The key ID.
        key_hash: KeyHash,
    },

    /// A note text to sign does not follow the format: it must end in a newline and hold no
    /// control character other than newline.
    #[error("invalid note text: {reason}")]
    InvalidText {
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A key given to sign or verify notes is not an Ed25519 key.
    #[error("signed notes need an Ed25519 key, not {algorithm}")]
    NotEd25519 {
        /// The key's algorithm.
        algorithm: &'static str,
    },

    /// The signer failed, or returned something that is not an Ed25519 signature.
    #[error("signing the note failed")]
    Signing(#[source] SignatureError),

    /// A key could not be converted to or from its seed.
    #[error("the Ed25519 key could not be converted")]
    Key(#[source] KeyError),
}

/// Limits on untrusted notes.
///
/// The defaults are a note of at most [`MAX_NOTE_SIZE`] bytes and at most [`MAX_SIGNATURES`]
/// signature lines.
/// A signature limit below [`MIN_SIGNATURES_LIMIT`] is raised to it, since the spec requires
/// verifiers to accept at least 16 signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest note accepted, in bytes.
    pub max_note_size: usize,
    /// The most signature lines accepted, counting duplicates.
    pub max_signatures: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_note_size: MAX_NOTE_SIZE,
            max_signatures: MAX_SIGNATURES,
        }
    }
}

impl Limits {
    /// The signature limit actually applied.
    fn signatures(&self) -> usize {
        self.max_signatures.max(MIN_SIGNATURES_LIMIT)
    }
}

/// The name of a key: non-empty, with no Unicode space, no plus sign (U+002B) and no control
/// character ("Format").
///
/// The spec recommends schema-less URLs such as `example.com/log42`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyName(String);

impl KeyName {
    /// Checks and wraps a key name.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        match key_name_problem(&name) {
            None => Ok(Self(name)),
            Some(reason) => Err(Error::InvalidKeyName {
                name: truncate(&name, 80),
                reason,
            }),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why `name` is not a valid key name, if it is not.
fn key_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name.chars().any(char::is_whitespace) {
        Some("it contains a Unicode space")
    } else if name.contains('+') {
        Some("it contains '+'")
    } else if name.chars().any(|c| c < ' ') {
        Some("it contains a control character")
    } else {
        None
    }
}

impl FromStr for KeyName {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self, Error> {
        Self::new(name)
    }
}

impl fmt::Display for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyName({:?})", self.0)
    }
}

impl AsRef<str> for KeyName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The 32-bit key ID that starts every signature ("Signatures"), called the key hash in Go's
/// `sumdb/note`.
///
/// For the signature types custody supports it is the first four bytes, big-endian, of
/// `SHA-256(key name || 0x0A || signature type || public key)`.
/// Its text form is 8 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyHash(u32);

impl KeyHash {
    /// Wraps a key ID.
    pub const fn new(value: u32) -> Self {
        Self(value)
    }

    /// The key ID as a number.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The key ID of a key: `SHA-256(name || 0x0A || type || public key)[:4]` ("Signatures").
    pub fn compute(name: &KeyName, signature_type: SignatureType, public_key: &[u8]) -> Self {
        let mut input = Vec::with_capacity(name.0.len() + 2 + public_key.len());
        input.extend_from_slice(name.0.as_bytes());
        input.push(b'\n');
        input.push(signature_type.byte());
        input.extend_from_slice(public_key);
        let digest = sha256(&input);
        let bytes = digest.as_bytes();
        Self(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
}

impl fmt::Display for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyHash({self})")
    }
}

impl FromStr for KeyHash {
    type Err = Error;

    /// Parses exactly 8 lowercase hex digits (the spec's "Conventions": "the fixed length
    /// lowercase Base 16 encoding").
    fn from_str(text: &str) -> Result<Self, Error> {
        parse_key_hash(text).ok_or(Error::MalformedVerifierKey {
            reason: "the key ID is not 8 lowercase hex digits",
        })
    }
}

fn parse_key_hash(text: &str) -> Option<KeyHash> {
    let canonical = text.len() == 8
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !canonical {
        return None;
    }
    u32::from_str_radix(text, 16).ok().map(KeyHash)
}

/// A signature type identifier byte ("Signature types") that custody supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureType {
    /// `0x01`: Ed25519 signatures over the note text ("Ed25519 signatures").
    Ed25519,
    /// `0x04`: timestamped Ed25519 checkpoint cosignatures (C2SP tlog-cosignature).
    CosignatureV1,
}

impl SignatureType {
    /// The identifier byte.
    pub const fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }

    /// The type with identifier byte `byte`.
    pub fn from_byte(byte: u8) -> Result<Self, Error> {
        match byte {
            0x01 => Ok(Self::Ed25519),
            0x04 => Ok(Self::CosignatureV1),
            other => Err(Error::UnsupportedSignatureType(other)),
        }
    }
}

impl fmt::Display for SignatureType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ed25519 => f.write_str("ed25519"),
            Self::CosignatureV1 => f.write_str("cosignature/v1"),
        }
    }
}

/// The raw Ed25519 bytes of `key`, or [`Error::NotEd25519`].
fn ed25519_bytes(key: &PublicKey) -> Result<[u8; ED25519_KEY_LEN], Error> {
    key.ed25519_bytes().ok_or(Error::NotEd25519 {
        algorithm: key.algorithm().name(),
    })
}

/// A known public key that signs notes: its name, key ID, signature type and Ed25519 key.
///
/// Its text form ([`Display`](fmt::Display), [`FromStr`]) is the spec's verifier key
/// ("Verifier keys"): `<name>+<hex key ID>+<base64(type || public key)>`, for example
/// `example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k`.
/// Parsing checks that the key ID matches the name, type and key.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: KeyName,
    key_hash: KeyHash,
    signature_type: SignatureType,
    key: PublicKey,
    raw: [u8; ED25519_KEY_LEN],
}

impl NoteVerifier {
    /// A verifier for `key` under `name`, with the key ID the spec recommends.
    ///
    /// Fails with [`Error::NotEd25519`] for a key of another algorithm.
    pub fn new(
        name: KeyName,
        signature_type: SignatureType,
        key: PublicKey,
    ) -> Result<Self, Error> {
        let raw = ed25519_bytes(&key)?;
        let key_hash = KeyHash::compute(&name, signature_type, &raw);
        Ok(Self {
            name,
            key_hash,
            signature_type,
            key,
            raw,
        })
    }

    /// A verifier of plain Ed25519 note signatures (type `0x01`).
    pub fn ed25519(name: KeyName, key: PublicKey) -> Result<Self, Error> {
        Self::new(name, SignatureType::Ed25519, key)
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// The signature type.
    pub fn signature_type(&self) -> SignatureType {
        self.signature_type
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Whether a signature line with this name and key ID is from this key.
    fn names(&self, name: &KeyName, key_hash: KeyHash) -> bool {
        self.key_hash == key_hash && self.name == *name
    }

    /// Whether two verifiers hold the same key of the same type.
    fn same_key(&self, other: &Self) -> bool {
        self.signature_type == other.signature_type && self.raw == other.raw
    }

    /// The raw Ed25519 public key.
    pub(crate) fn raw_key(&self) -> &[u8; ED25519_KEY_LEN] {
        &self.raw
    }

    /// Checks `signature` (without the key ID) over `text`, returning the cosignature's
    /// timestamp for type `0x04`.
    fn check(&self, text: &[u8], signature: &[u8]) -> Option<Option<Timestamp>> {
        match self.signature_type {
            SignatureType::Ed25519 => self.key.verify(text, signature).ok().map(|()| None),
            SignatureType::CosignatureV1 => {
                cosignature::check_v1(&self.key, text, signature).map(Some)
            }
        }
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = Vec::with_capacity(1 + ED25519_KEY_LEN);
        material.push(self.signature_type.byte());
        material.extend_from_slice(&self.raw);
        write!(
            f,
            "{}+{}+{}",
            self.name,
            self.key_hash,
            STANDARD.encode(material)
        )
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({self})")
    }
}

impl FromStr for NoteVerifier {
    type Err = Error;

    /// Parses a verifier key ("Verifier keys").
    fn from_str(vkey: &str) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedVerifierKey { reason };
        // The key name holds no '+', and the key ID is hex, so the first two '+' are the
        // separators; the base64 part may hold more.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("it does not have three parts separated by '+'"));
        };
        let name = KeyName::new(name)?;
        let stated = parse_key_hash(hash)
            .ok_or_else(|| malformed("the key ID is not 8 lowercase hex digits"))?;
        let material = STANDARD
            .decode(material)
            .map_err(|_| malformed("the key is not padded standard base64"))?;
        let (&type_byte, key) = material
            .split_first()
            .ok_or_else(|| malformed("the key is empty"))?;
        let signature_type = SignatureType::from_byte(type_byte)?;
        if key.len() != ED25519_KEY_LEN {
            return Err(malformed("an Ed25519 public key is 32 bytes"));
        }
        let computed = KeyHash::compute(&name, signature_type, key);
        if computed != stated {
            return Err(Error::KeyHashMismatch {
                name: truncate(name.as_str(), 80),
                stated,
                computed,
            });
        }
        let key = PublicKey::from_ed25519_bytes(key)
            .map_err(|_| malformed("the key is not a valid Ed25519 public key"))?;
        Self::new(name, signature_type, key)
    }
}

/// A signer of notes: a key name and a [`Signer`] holding an Ed25519 key.
///
/// It makes Ed25519 note signatures (type `0x01`); witnesses cosign checkpoints with
/// [`Cosigner`](crate::cosignature::Cosigner) instead.
/// Its `Debug` shows only the name and key ID.
pub struct NoteSigner<S> {
    signer: S,
    verifier: NoteVerifier,
}

impl<S: Signer> NoteSigner<S> {
    /// A signer that signs as `name` with `signer`, whose key must be Ed25519.
    pub fn new(name: KeyName, signer: S) -> Result<Self, Error> {
        let verifier = NoteVerifier::ed25519(name, signer.public_key().clone())?;
        Ok(Self { signer, verifier })
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.verifier.name
    }

    /// The key ID.
    pub fn key_hash(&self) -> KeyHash {
        self.verifier.key_hash
    }

    /// The matching verifier, whose text form is the vkey to publish.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Signs `text`, which must be a valid note text, and returns the signature line.
    fn sign_text(&self, text: &str) -> Result<NoteSignature, Error> {
        let signature = self.signer.sign(text.as_bytes()).map_err(Error::Signing)?;
        if signature.len() != ED25519_SIGNATURE_LEN {
            return Err(Error::Signing(SignatureError::Malformed("ed25519")));
        }
        Ok(NoteSignature {
            name: self.verifier.name.clone(),
            key_hash: self.verifier.key_hash,
            signature,
        })
    }
}

impl NoteSigner<SigningKey> {
    /// Reads a signer key `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`, the form
    /// Go's `note.GenerateKey` writes.
    ///
    /// The key ID is checked against the public key derived from the seed.
    /// Errors never include the key text.
    pub fn from_signer_key(skey: &str) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedSignerKey { reason };
        let rest = skey
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or_else(|| malformed("it does not start with 'PRIVATE+KEY+'"))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(material)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("it does not have a name, a key ID and a key"));
        };
        let name = KeyName::new(name).map_err(|_| malformed("the key name is invalid"))?;
        let stated = parse_key_hash(hash)
            .ok_or_else(|| malformed("the key ID is not 8 lowercase hex digits"))?;
        let material = Zeroizing::new(
            STANDARD
                .decode(material)
                .map_err(|_| malformed("the key is not padded standard base64"))?,
        );
        let (&type_byte, seed) = material
            .split_first()
            .ok_or_else(|| malformed("the key is empty"))?;
        if type_byte != SignatureType::Ed25519.byte() {
            return Err(Error::UnsupportedSignatureType(type_byte));
        }
        let seed: &[u8; ED25519_KEY_LEN] = seed
            .try_into()
            .map_err(|_| malformed("an Ed25519 seed is 32 bytes"))?;
        let key = signing_key_from_seed(seed)?;
        let signer = Self::new(name, key)?;
        if signer.key_hash() != stated {
            return Err(Error::KeyHashMismatch {
                name: truncate(signer.name().as_str(), 80),
                stated,
                computed: signer.key_hash(),
            });
        }
        Ok(signer)
    }

    /// Writes the signer key text that [`from_signer_key`](Self::from_signer_key) reads.
    pub fn to_signer_key(&self) -> Result<SignerKey, Error> {
        let seed = ed25519_seed(&self.signer)?;
        let mut material = Zeroizing::new(Vec::with_capacity(1 + ED25519_KEY_LEN));
        material.push(SignatureType::Ed25519.byte());
        material.extend_from_slice(seed.as_slice());
        let mut text = Zeroizing::new(String::new());
        text.push_str(SIGNER_KEY_PREFIX);
        text.push_str(self.name().as_str());
        text.push('+');
        text.push_str(&self.key_hash().to_string());
        text.push('+');
        STANDARD.encode_string(material.as_slice(), &mut text);
        Ok(SignerKey(text))
    }
}

impl<S> fmt::Debug for NoteSigner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.verifier.name)
            .field("key_hash", &self.verifier.key_hash)
            .finish_non_exhaustive()
    }
}

/// A signer key text (`PRIVATE+KEY+…`): secret, so it has no `Debug` or `Display`, and its
/// memory is zeroed on drop.
pub struct SignerKey(Zeroizing<String>);

impl SignerKey {
    /// The key text, to write to a protected file or secret store.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

/// Builds an Ed25519 signing key from its seed through PKCS#8, the one way `custody-crypto`
/// takes private keys in.
pub(crate) fn signing_key_from_seed(seed: &[u8; ED25519_KEY_LEN]) -> Result<SigningKey, Error> {
    let mut der = Zeroizing::new(Vec::with_capacity(
        ED25519_PKCS8_PREFIX.len() + ED25519_KEY_LEN,
    ));
    der.extend_from_slice(&ED25519_PKCS8_PREFIX);
    der.extend_from_slice(seed);
    // 48 bytes are 64 base64 characters: one PEM line.
    let mut pem = Zeroizing::new(String::from("-----BEGIN PRIVATE KEY-----\n"));
    STANDARD.encode_string(der.as_slice(), &mut pem);
    pem.push_str("\n-----END PRIVATE KEY-----\n");
    SigningKey::from_pkcs8_pem(&pem, None).map_err(Error::Key)
}

/// Extracts the seed of an Ed25519 signing key from its unencrypted PKCS#8 encoding.
fn ed25519_seed(key: &SigningKey) -> Result<Zeroizing<[u8; ED25519_KEY_LEN]>, Error> {
    ed25519_bytes(key.public_key())?;
    let pem = key
        .to_pkcs8_pem(KeyProtection::Unencrypted)
        .map_err(Error::Key)?;
    let body: Zeroizing<String> = Zeroizing::new(
        pem.lines()
            .filter(|line| !line.starts_with("-----"))
            .collect(),
    );
    let der = Zeroizing::new(
        STANDARD
            .decode(body.as_bytes())
            .map_err(|_| Error::Key(KeyError::Internal("PKCS#8 PEM is not base64".into())))?,
    );
    let seed = der
        .strip_prefix(&ED25519_PKCS8_PREFIX[..])
        .filter(|seed| seed.len() == ED25519_KEY_LEN)
        .ok_or_else(|| {
            Error::Key(KeyError::Internal(
                "Ed25519 PKCS#8 is not the RFC 8410 version 1 form".into(),
            ))
        })?;
    let mut out = Zeroizing::new([0u8; ED25519_KEY_LEN]);
    out.copy_from_slice(seed);
    Ok(out)
}

/// One signature line of a note: the key name, the key ID and the signature bytes that
/// follow the key ID.
///
/// Its text form ([`Display`](fmt::Display)) is the line without its final newline:
/// `— <name> <base64(key ID || signature)>`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: KeyName,
    key_hash: KeyHash,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line from its parts; `signature` must not be empty.
    pub fn new(name: KeyName, key_hash: KeyHash, signature: Vec<u8>) -> Result<Self, Error> {
        if signature.is_empty() {
            return Err(Error::MalformedSignatureLine {
                line: 1,
                reason: "the signature is empty",
            });
        }
        Ok(Self {
            name,
            key_hash,
            signature,
        })
    }

    /// A signature line from parts the caller knows to be valid (a non-empty signature).
    pub(crate) fn from_parts(name: KeyName, key_hash: KeyHash, signature: Vec<u8>) -> Self {
        debug_assert!(!signature.is_empty());
        Self {
            name,
            key_hash,
            signature,
        }
    }

    /// Parses one line without its newline: `— <name> <base64(key ID || signature)>`.
    pub fn parse_line(line: &str) -> Result<Self, Error> {
        Self::parse_numbered(line, 1)
    }

    fn parse_numbered(line: &str, number: usize) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedSignatureLine {
            line: number,
            reason,
        };
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or_else(|| malformed("it does not start with an em dash and a space"))?;
        let (name, encoded) = rest
            .split_once(' ')
            .ok_or_else(|| malformed("it has no space between the key name and the signature"))?;
        if key_name_problem(name).is_some() {
            return Err(malformed("the key name is invalid"));
        }
        let bytes = STANDARD
            .decode(encoded)
            .map_err(|_| malformed("the signature is not padded standard base64"))?;
        // A 4-byte key ID followed by a signature of at least one byte.
        if bytes.len() < 5 {
            return Err(malformed("the signature is shorter than 5 bytes"));
        }
        let (id, signature) = bytes.split_at(4);
        Ok(Self {
            name: KeyName(name.to_owned()),
            key_hash: KeyHash(u32::from_be_bytes([id[0], id[1], id[2], id[3]])),
            signature: signature.to_vec(),
        })
    }

    /// Parses signature lines, each ending in a newline, such as a witness's response to
    /// `add-checkpoint` (C2SP tlog-witness), under the signature limit of `limits`.
    pub fn parse_lines(text: &str, limits: &Limits) -> Result<Vec<Self>, Error> {
        if text.len() > limits.max_note_size {
            return Err(Error::TooLarge {
                size: text.len(),
                limit: limits.max_note_size,
            });
        }
        check_characters(text)?;
        let body = text.strip_suffix('\n').ok_or(Error::MissingFinalNewline)?;
        let max = limits.signatures();
        let mut signatures = Vec::new();
        for (index, line) in body.split('\n').enumerate() {
            if signatures.len() == max {
                return Err(Error::TooManySignatures { limit: max });
            }
            signatures.push(Self::parse_numbered(line, index + 1)?);
        }
        Ok(signatures)
    }

    /// The key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The key ID.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// The signature bytes after the key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }
}

impl fmt::Display for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_hash.0.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        write!(
            f,
            "{SIGNATURE_PREFIX}{} {}",
            self.name,
            STANDARD.encode(bytes)
        )
    }
}

impl fmt::Debug for NoteSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteSignature({self})")
    }
}

/// Checks the spec's character rule: no ASCII control character other than newline.
fn check_characters(text: &str) -> Result<(), Error> {
    match text.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        Some((offset, c)) => Err(Error::ControlCharacter {
            offset,
            character: u32::from(c),
        }),
        None => Ok(()),
    }
}

/// A note text, not yet signed: valid UTF-8, ending in a newline, with no control character
/// other than newline.
#[derive(Clone, PartialEq, Eq)]
pub struct Note {
    text: String,
}

impl Note {
    /// Checks and wraps a note text.
    pub fn new(text: impl Into<String>) -> Result<Self, Error> {
        let text = text.into();
        if !text.ends_with('\n') {
            return Err(Error::InvalidText {
                reason: "it does not end in a newline",
            });
        }
        if check_characters(&text).is_err() {
            return Err(Error::InvalidText {
                reason: "it contains a control character other than newline",
            });
        }
        Ok(Self { text })
    }

    /// The text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Signs the text, giving a signed note with one signature line.
    pub fn sign<S: Signer>(&self, signer: &NoteSigner<S>) -> Result<SignedNote, Error> {
        let signature = signer.sign_text(&self.text)?;
        Ok(SignedNote {
            text: self.text.clone(),
            signatures: vec![signature],
        })
    }
}

impl fmt::Debug for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Note").field("text", &self.text).finish()
    }
}

/// A parsed signed note: its text and its signature lines, none of them verified yet.
///
/// It keeps the lines exactly as parsed, duplicates included, so that
/// [`to_bytes`](Self::to_bytes) gives back the parsed bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedNote {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl SignedNote {
    /// Parses a signed note under the default [`Limits`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        Self::parse_with_limits(bytes, &Limits::default())
    }

    /// Parses a signed note ("Format"):
    ///
    /// 1. the note must fit `limits.max_note_size`;
    /// 2. it "MUST be valid UTF-8 and MUST NOT contain any ASCII control characters … other
    ///    than newline";
    /// 3. "the text is separated from the signatures by the last empty line in the note";
    /// 4. after it come one or more lines `— <key name> <base64 signature>`, each ending in
    ///    a newline, at most `limits.max_signatures` of them.
    pub fn parse_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        // Step 1.
        if bytes.len() > limits.max_note_size {
            return Err(Error::TooLarge {
                size: bytes.len(),
                limit: limits.max_note_size,
            });
        }
        // Step 2.
        let note = std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        check_characters(note)?;
        // Step 3: the text keeps its final newline; the blank line belongs to neither part.
        let split = note.rfind("\n\n").ok_or(Error::MissingSignatureBlock)?;
        let (text, lines) = (&note[..=split], &note[split + 2..]);
        // Step 4.
        if lines.is_empty() {
            return Err(Error::NoSignatureLines);
        }
        let signatures = NoteSignature::parse_lines(lines, limits)?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order, as parsed or added.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line (for example a witness cosignature), unless an identical line is
    /// already there.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        if !self.signatures.contains(&signature) {
            self.signatures.push(signature);
        }
    }

    /// Signs the text with `signer` and adds the signature line, replacing any line with the
    /// same key name and key ID.
    pub fn sign<S: Signer>(&mut self, signer: &NoteSigner<S>) -> Result<(), Error> {
        let signature = signer.sign_text(&self.text)?;
        self.signatures
            .retain(|line| !(line.name == signature.name && line.key_hash == signature.key_hash));
        self.signatures.push(signature);
        Ok(())
    }

    /// The encoded note: the text, a blank line and the signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Verifies the note against known keys ("Signatures"):
    ///
    /// - signature lines whose key name and key ID match no known key are ignored;
    /// - a line that matches a known key must verify, or the whole note is rejected with
    ///   [`Error::InvalidSignature`];
    /// - identical lines are checked once, and each key is counted once;
    /// - if no known key signed, the note is rejected with [`Error::NoVerifiedSignature`].
    ///
    /// Fails with [`Error::AmbiguousKey`] if a line matches two different known keys.
    pub fn verify(&self, known: &[NoteVerifier]) -> Result<VerifiedNote, Error> {
        let mut seen: HashSet<&NoteSignature> = HashSet::new();
        let mut unknown = 0;
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for line in &self.signatures {
            if !seen.insert(line) {
                continue;
            }
            let mut matching = known
                .iter()
                .filter(|verifier| verifier.names(&line.name, line.key_hash));
            let Some(verifier) = matching.next() else {
                unknown += 1;
                continue;
            };
            if matching.any(|other| !other.same_key(verifier)) {
                return Err(Error::AmbiguousKey {
                    name: line.name.clone(),
                    key_hash: line.key_hash,
                });
            }
            let timestamp = verifier
                .check(self.text.as_bytes(), &line.signature)
                .ok_or_else(|| Error::InvalidSignature {
                    name: line.name.clone(),
                    key_hash: line.key_hash,
                })?;
            match verified.iter_mut().find(|v| v.verifier.same_key(verifier)) {
                // A second valid line from the same key: keep the latest timestamp.
                Some(existing) => existing.timestamp = existing.timestamp.max(timestamp),
                None => verified.push(VerifiedSignature {
                    verifier: verifier.clone(),
                    timestamp,
                }),
            }
        }
        if verified.is_empty() {
            return Err(Error::NoVerifiedSignature { unknown });
        }
        Ok(VerifiedNote {
            note: self.clone(),
            verified,
        })
    }
}

impl fmt::Display for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for line in &self.signatures {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SignedNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedNote")
            .field("text", &self.text)
            .field("signatures", &self.signatures)
            .finish()
    }
}

/// Parses a signed note under the default [`Limits`] and verifies it against known keys (see
/// [`SignedNote::verify`]).
pub fn open(bytes: &[u8], known: &[NoteVerifier]) -> Result<VerifiedNote, Error> {
    SignedNote::parse(bytes)?.verify(known)
}

/// A known key whose signature on a note verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    verifier: NoteVerifier,
    timestamp: Option<Timestamp>,
}

impl VerifiedSignature {
    /// The key that signed.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The signed timestamp, for a cosignature (type `0x04`); `None` for plain Ed25519.
    pub fn timestamp(&self) -> Option<Timestamp> {
        self.timestamp
    }
}

/// A signed note with at least one verified signature from a known key.
///
/// Only [`SignedNote::verify`] and [`open`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedNote {
    note: SignedNote,
    verified: Vec<VerifiedSignature>,
}

impl VerifiedNote {
    /// The verified text.
    pub fn text(&self) -> &str {
        &self.note.text
    }

    /// The known keys whose signatures verified, each once, in the order of their first
    /// signature line.
    pub fn verified(&self) -> &[VerifiedSignature] {
        &self.verified
    }

    /// The whole note, including the lines from unknown keys.
    pub fn note(&self) -> &SignedNote {
        &self.note
    }

    /// Adds a signature line without checking it; the text, and so the verified signatures,
    /// are unchanged.
    pub(crate) fn add_signature(&mut self, signature: NoteSignature) {
        self.note.add_signature(signature);
    }
}

#[cfg(test)]
mod tests;
