//! C2SP transparency log cosignatures (<https://c2sp.org/tlog-cosignature>), Ed25519 version
//! (signature type `0x04`): a witness's timestamped statement that a checkpoint is consistent
//! with everything it has seen from that log.
//!
//! A cosignature is a note signature line on the checkpoint ("Format"):
//!
//! - its key ID is `SHA-256(<name> || "\n" || 0x04 || 32-byte Ed25519 public key)[:4]`;
//! - its signature bytes are a `timestamped_signature`: the POSIX timestamp as a big-endian
//!   `u64`, then the 64-byte Ed25519 signature;
//! - the signed message ("Ed25519 signed message") is `cosignature/v1\n`, then
//!   `time <timestamp>\n`, then the whole checkpoint body, extension lines included.
//!
//! Witness keys are [`NoteVerifier`]s of type [`SignatureType::CosignatureV1`], whose vkey is
//! `<name>+<hex key ID>+<base64(0x04 || public key)>`.
//!
//! - [`Cosigner`] makes cosignatures on a [`VerifiedCheckpoint`].
//! - [`Cosignature`] reads and writes one cosignature line.
//! - [`WitnessPolicy`] checks that at least `threshold` distinct witness keys cosigned a
//!   checkpoint, and returns a [`WitnessedCheckpoint`] with their timestamps.
//!
//! The ML-DSA-44 cosignatures (type `0x06`) of the same spec are not supported.
//! Time is a parameter here: this module never reads a clock.
//!
//! ```
//! use custody_crypto::{KeyAlgorithm, SigningKey};
//! use custody_log::checkpoint::{Checkpoint, SignedCheckpoint};
//! use custody_log::cosignature::{Cosigner, Timestamp, WitnessPolicy};
//! use custody_log::note::{KeyName, NoteSigner};
//! use custody_log::{MemoryTree, leaf_hash};
//!
//! let ed25519 = || SigningKey::generate(KeyAlgorithm::Ed25519);
//! let log = NoteSigner::new(KeyName::new("example.com/log")?, ed25519()?)?;
//! let witness = Cosigner::new(KeyName::new("witness.example/w1")?, ed25519()?)?;
//!
//! let tree = MemoryTree::from_leaf_hashes([leaf_hash(b"hello")]);
//! let signed = Checkpoint::new("example.com/log", tree.size(), tree.root())?.sign(&log)?;
//! let mut checkpoint = signed.verify(log.verifier())?;
//!
//! // The witness cosigns at a time the caller supplies.
//! let cosignature = witness.cosign(&checkpoint, Timestamp::from_unix_seconds(1_700_000_000)?)?;
//! checkpoint.add_signature(cosignature.to_note_signature());
//!
//! // A client requires one cosignature from the witnesses it trusts.
//! let policy = WitnessPolicy::new(vec![witness.verifier().clone()], 1)?;
//! let witnessed = policy.check(&checkpoint)?;
//! assert_eq!(witnessed.cosignatures()[0].timestamp().unix_seconds(), 1_700_000_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use custody_crypto::{PublicKey, SignatureError, Signer, Verifier as _};

use crate::checkpoint::{Checkpoint, VerifiedCheckpoint};
use crate::note::{
    self, ED25519_SIGNATURE_LEN, KeyHash, KeyName, NoteSignature, NoteVerifier, SignatureType,
};

/// The header line of the signed message ("Ed25519 signed message").
const HEADER: &str = "cosignature/v1\n";

/// The length of a `timestamped_signature` with an Ed25519 signature.
const TIMESTAMPED_SIGNATURE_LEN: usize = 8 + ED25519_SIGNATURE_LEN;

/// Everything that can go wrong making or checking cosignatures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key or signature line is malformed, or a key is not Ed25519.
    #[error(transparent)]
    Note(#[from] note::Error),

    /// A timestamp is above 2^63 - 1, which the spec forbids ("Format").
    #[error("timestamp {0} is above 2^63 - 1")]
    TimestampOutOfRange(u64),

    /// A cosignature line's signature is not a 72-byte `timestamped_signature`.
    #[error("the cosignature by {name}+{key_hash} is {length} bytes, not 72")]
    MalformedCosignature {
        /// The key name.
        name: KeyName,
        /// The key ID.
        key_hash: KeyHash,
        /// The length of the signature after the key ID.
        length: usize,
    },

    /// A cosignature from a known witness key does not verify.
    #[error("the cosignature by witness {name}+{key_hash} does not verify")]
    InvalidCosignature {
        /// The witness's key name.
        name: KeyName,
        /// The key ID.
        key_hash: KeyHash,
    },

    /// A cosignature carries a timestamp later than the caller allows.
    #[error("the cosignature by witness {name} is dated {timestamp}, after {latest}")]
    FutureTimestamp {
        /// The witness's key name.
        name: KeyName,
        /// The cosignature's timestamp.
        timestamp: Timestamp,
        /// The latest timestamp accepted.
        latest: Timestamp,
    },

    /// A key given as a witness key is not a cosignature key (type `0x04`).
    #[error("witness key {name} has signature type {signature_type}, not cosignature/v1")]
    NotCosignatureKey {
        /// The key name.
        name: KeyName,
        /// The key's signature type.
        signature_type: SignatureType,
    },

    /// Two different witness keys have the same name and key ID.
    #[error("two different witness keys are named {name}+{key_hash}")]
    AmbiguousKey {
        /// The key name.
        name: KeyName,
        /// The key ID.
        key_hash: KeyHash,
    },

    /// A witness policy's threshold is zero or larger than its number of distinct keys.
    #[error("a threshold of {threshold} cannot be met by {witnesses} distinct witness keys")]
    InvalidThreshold {
        /// The threshold asked for.
        threshold: usize,
        /// The number of distinct witness public keys.
        witnesses: usize,
    },

    /// Fewer distinct witness keys cosigned the checkpoint than the policy requires.
    #[error("{verified} of the required {threshold} witnesses cosigned the checkpoint")]
    ThresholdNotMet {
        /// The threshold.
        threshold: usize,
        /// The number of distinct witness keys whose cosignature verified.
        verified: usize,
    },

    /// The signer failed, or returned something that is not an Ed25519 signature.
    #[error("cosigning failed")]
    Signing(#[source] SignatureError),
}

/// A POSIX timestamp in seconds, at most 2^63 - 1 ("Conventions used in this document",
/// "Format").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The largest timestamp the spec allows: 2^63 - 1.
    pub const MAX: Self = Self(i64::MAX as u64);

    /// A timestamp of `seconds` since the POSIX epoch.
    ///
    /// Fails with [`Error::TimestampOutOfRange`] above 2^63 - 1.
    pub const fn from_unix_seconds(seconds: u64) -> Result<Self, Error> {
        if seconds > Self::MAX.0 {
            return Err(Error::TimestampOutOfRange(seconds));
        }
        Ok(Self(seconds))
    }

    /// The seconds since the POSIX epoch.
    pub const fn unix_seconds(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The message a v1 cosignature signs ("Ed25519 signed message"): `cosignature/v1\n`,
/// `time <timestamp>\n` (ASCII decimal, no leading zeroes), then the checkpoint body.
pub fn signed_message(checkpoint: &Checkpoint, timestamp: Timestamp) -> Vec<u8> {
    message_for_text(checkpoint.to_text().as_bytes(), timestamp)
}

fn message_for_text(text: &[u8], timestamp: Timestamp) -> Vec<u8> {
    let time_line = format!("time {timestamp}\n");
    let mut message = Vec::with_capacity(HEADER.len() + time_line.len() + text.len());
    message.extend_from_slice(HEADER.as_bytes());
    message.extend_from_slice(time_line.as_bytes());
    message.extend_from_slice(text);
    message
}

/// Checks a type `0x04` signature (the bytes after the key ID) over a note text, returning its
/// timestamp.
pub(crate) fn check_v1(key: &PublicKey, text: &[u8], signature: &[u8]) -> Option<Timestamp> {
    let (timestamp, signature) = split_timestamped(signature)?;
    let timestamp = Timestamp::from_unix_seconds(timestamp).ok()?;
    key.verify(&message_for_text(text, timestamp), signature)
        .ok()
        .map(|()| timestamp)
}

/// Splits a `timestamped_signature` into its timestamp and Ed25519 signature.
fn split_timestamped(bytes: &[u8]) -> Option<(u64, &[u8])> {
    if bytes.len() != TIMESTAMPED_SIGNATURE_LEN {
        return None;
    }
    let (timestamp, signature) = bytes.split_at(8);
    let timestamp = u64::from_be_bytes(timestamp.try_into().ok()?);
    Some((timestamp, signature))
}

/// A witness key that cosigns checkpoints: a key name and a [`Signer`] holding an Ed25519
/// key.
///
/// Its `Debug` shows only the name and key ID.
pub struct Cosigner<S> {
    signer: S,
    verifier: NoteVerifier,
}

impl<S: Signer> Cosigner<S> {
    /// A cosigner named `name` signing with `signer`, whose key must be Ed25519.
    ///
    /// The spec's "Ed25519 signed message" section: an operator running several cosigners
    /// "MUST use distinct public keys for each cosigner", since the message does not name the
    /// cosigner.
    pub fn new(name: KeyName, signer: S) -> Result<Self, Error> {
        let verifier = NoteVerifier::new(
            name,
            SignatureType::CosignatureV1,
            signer.public_key().clone(),
        )?;
        Ok(Self { signer, verifier })
    }

    /// The matching verifier, whose text form is the witness vkey to publish.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Cosigns a checkpoint whose log signature was verified, dated `timestamp`.
    ///
    /// A witness cosigns only after checking consistency with its record of the log (see
    /// [`crate::witness`]).
    pub fn cosign(
        &self,
        checkpoint: &VerifiedCheckpoint,
        timestamp: Timestamp,
    ) -> Result<Cosignature, Error> {
        let message = signed_message(checkpoint.checkpoint(), timestamp);
        let signature = self.signer.sign(&message).map_err(Error::Signing)?;
        let signature: [u8; ED25519_SIGNATURE_LEN] = signature
            .as_slice()
            .try_into()
            .map_err(|_| Error::Signing(SignatureError::Malformed("ed25519")))?;
        Ok(Cosignature {
            name: self.verifier.name().clone(),
            key_hash: self.verifier.key_hash(),
            timestamp,
            signature,
        })
    }
}

impl<S> fmt::Debug for Cosigner<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", self.verifier.name())
            .field("key_hash", &self.verifier.key_hash())
            .finish_non_exhaustive()
    }
}

/// One v1 cosignature: the witness's name and key ID, the timestamp and the Ed25519 signature.
///
/// Its text form ([`Display`](fmt::Display)) is the note signature line without its newline.
#[derive(Clone, PartialEq, Eq)]
pub struct Cosignature {
    name: KeyName,
    key_hash: KeyHash,
    timestamp: Timestamp,
    signature: [u8; ED25519_SIGNATURE_LEN],
}

impl Cosignature {
    /// Reads a cosignature from a note signature line, checking only its shape: 72 bytes, a
    /// timestamp of at most 2^63 - 1.
    pub fn from_note_signature(line: &NoteSignature) -> Result<Self, Error> {
        let (timestamp, signature) =
            split_timestamped(line.signature()).ok_or_else(|| Error::MalformedCosignature {
                name: line.name().clone(),
                key_hash: line.key_hash(),
                length: line.signature().len(),
            })?;
        let timestamp = Timestamp::from_unix_seconds(timestamp)?;
        let mut bytes = [0u8; ED25519_SIGNATURE_LEN];
        bytes.copy_from_slice(signature);
        Ok(Self {
            name: line.name().clone(),
            key_hash: line.key_hash(),
            timestamp,
            signature: bytes,
        })
    }

    /// The note signature line.
    pub fn to_note_signature(&self) -> NoteSignature {
        let mut bytes = Vec::with_capacity(TIMESTAMPED_SIGNATURE_LEN);
        bytes.extend_from_slice(&self.timestamp.0.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        NoteSignature::from_parts(self.name.clone(), self.key_hash, bytes)
    }

    /// The witness's key name.
    pub fn name(&self) -> &KeyName {
        &self.name
    }

    /// The witness's key ID.
    pub fn key_hash(&self) -> KeyHash {
        self.key_hash
    }

    /// When the witness cosigned.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// Verifies the cosignature on `checkpoint` with the witness key `witness`.
    ///
    /// Fails with [`Error::NotCosignatureKey`] if `witness` is not a type `0x04` key, and with
    /// [`Error::InvalidCosignature`] if the name, key ID or signature do not match.
    pub fn verify(&self, witness: &NoteVerifier, checkpoint: &Checkpoint) -> Result<(), Error> {
        require_cosignature_key(witness)?;
        let invalid = || Error::InvalidCosignature {
            name: self.name.clone(),
            key_hash: self.key_hash,
        };
        if *witness.name() != self.name || witness.key_hash() != self.key_hash {
            return Err(invalid());
        }
        witness
            .public_key()
            .verify(&signed_message(checkpoint, self.timestamp), &self.signature)
            .map_err(|_| invalid())
    }
}

impl fmt::Display for Cosignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_note_signature(), f)
    }
}

impl fmt::Debug for Cosignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cosignature({self})")
    }
}

fn require_cosignature_key(key: &NoteVerifier) -> Result<(), Error> {
    if key.signature_type() == SignatureType::CosignatureV1 {
        Ok(())
    } else {
        Err(Error::NotCosignatureKey {
            name: key.name().clone(),
            signature_type: key.signature_type(),
        })
    }
}

/// Which witnesses a client trusts, and how many of them must cosign a checkpoint.
///
/// Witnesses are counted by public key: two entries with the same Ed25519 key count once,
/// since a v1 cosignature does not commit to the cosigner's name.
#[derive(Clone, Debug)]
pub struct WitnessPolicy {
    witnesses: Vec<NoteVerifier>,
    threshold: usize,
}

impl WitnessPolicy {
    /// A policy requiring `threshold` distinct keys among `witnesses` to cosign.
    ///
    /// Fails with [`Error::NotCosignatureKey`] if a key is not of type `0x04`, and with
    /// [`Error::InvalidThreshold`] if `threshold` is zero or above the number of distinct
    /// public keys.
    pub fn new(witnesses: Vec<NoteVerifier>, threshold: usize) -> Result<Self, Error> {
        for witness in &witnesses {
            require_cosignature_key(witness)?;
        }
        let distinct = distinct_keys(witnesses.iter());
        if threshold == 0 || threshold > distinct {
            return Err(Error::InvalidThreshold {
                threshold,
                witnesses: distinct,
            });
        }
        Ok(Self {
            witnesses,
            threshold,
        })
    }

    /// The witness keys.
    pub fn witnesses(&self) -> &[NoteVerifier] {
        &self.witnesses
    }

    /// The number of distinct witness keys that must cosign.
    pub fn threshold(&self) -> usize {
        self.threshold
    }

    /// Checks the cosignatures on a checkpoint (C2SP signed-note "Signatures" rules):
    ///
    /// - lines whose name and key ID match no witness are ignored (the log's own signature,
    ///   other witnesses);
    /// - a line from a known witness must verify, or the check fails with
    ///   [`Error::InvalidCosignature`];
    /// - each distinct witness public key counts once (identical lines are checked once; of
    ///   several valid cosignatures by one key, the latest timestamp is kept);
    /// - at least [`threshold`](Self::threshold) keys must have cosigned, or the check fails
    ///   with [`Error::ThresholdNotMet`].
    pub fn check(&self, checkpoint: &VerifiedCheckpoint) -> Result<WitnessedCheckpoint, Error> {
        self.check_inner(checkpoint, None)
    }

    /// Like [`check`](Self::check), and also rejects cosignatures dated after `latest`
    /// ("verifiers MAY reject cosignatures with timestamps in the future"): pass the current
    /// time plus the clock skew you allow.
    pub fn check_not_after(
        &self,
        checkpoint: &VerifiedCheckpoint,
        latest: Timestamp,
    ) -> Result<WitnessedCheckpoint, Error> {
        self.check_inner(checkpoint, Some(latest))
    }

    fn check_inner(
        &self,
        checkpoint: &VerifiedCheckpoint,
        latest: Option<Timestamp>,
    ) -> Result<WitnessedCheckpoint, Error> {
        let text = checkpoint.note().text().as_bytes();
        let mut cosignatures: Vec<WitnessCosignature> = Vec::new();
        let mut checked: Vec<&NoteSignature> = Vec::new();
        for line in checkpoint.note().signatures() {
            if checked.contains(&line) {
                continue;
            }
            checked.push(line);
            let mut matching = self
                .witnesses
                .iter()
                .filter(|w| *w.name() == *line.name() && w.key_hash() == line.key_hash());
            let Some(witness) = matching.next() else {
                continue;
            };
            if matching.any(|other| other.raw_key() != witness.raw_key()) {
                return Err(Error::AmbiguousKey {
                    name: line.name().clone(),
                    key_hash: line.key_hash(),
                });
            }
            let timestamp =
                check_v1(witness.public_key(), text, line.signature()).ok_or_else(|| {
                    Error::InvalidCosignature {
                        name: line.name().clone(),
                        key_hash: line.key_hash(),
                    }
                })?;
            if let Some(latest) = latest.filter(|&latest| timestamp > latest) {
                return Err(Error::FutureTimestamp {
                    name: line.name().clone(),
                    timestamp,
                    latest,
                });
            }
            match cosignatures
                .iter_mut()
                .find(|c| c.witness.raw_key() == witness.raw_key())
            {
                Some(existing) => existing.timestamp = existing.timestamp.max(timestamp),
                None => cosignatures.push(WitnessCosignature {
                    witness: witness.clone(),
                    timestamp,
                }),
            }
        }
        if cosignatures.len() < self.threshold {
            return Err(Error::ThresholdNotMet {
                threshold: self.threshold,
                verified: cosignatures.len(),
            });
        }
        Ok(WitnessedCheckpoint {
            checkpoint: checkpoint.clone(),
            cosignatures,
        })
    }
}

/// The number of distinct Ed25519 public keys among `keys`.
fn distinct_keys<'a>(keys: impl Iterator<Item = &'a NoteVerifier>) -> usize {
    let mut seen: Vec<&[u8; 32]> = Vec::new();
    for key in keys {
        if !seen.contains(&key.raw_key()) {
            seen.push(key.raw_key());
        }
    }
    seen.len()
}

/// A witness key whose cosignature on a checkpoint verified, and its timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessCosignature {
    witness: NoteVerifier,
    timestamp: Timestamp,
}

impl WitnessCosignature {
    /// The witness key.
    pub fn witness(&self) -> &NoteVerifier {
        &self.witness
    }

    /// When the witness cosigned.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }
}

/// A verified checkpoint cosigned by enough witnesses to meet a [`WitnessPolicy`].
///
/// Only [`WitnessPolicy::check`] and [`WitnessPolicy::check_not_after`] make one.
#[derive(Clone, Debug)]
pub struct WitnessedCheckpoint {
    checkpoint: VerifiedCheckpoint,
    cosignatures: Vec<WitnessCosignature>,
}

impl WitnessedCheckpoint {
    /// The checkpoint.
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }

    /// The witness keys whose cosignatures verified, each once, with their timestamps.
    pub fn cosignatures(&self) -> &[WitnessCosignature] {
        &self.cosignatures
    }
}

#[cfg(test)]
mod tests;
