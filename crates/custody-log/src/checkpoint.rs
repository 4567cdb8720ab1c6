//! C2SP transparency log checkpoints (<https://c2sp.org/tlog-checkpoint>): a log's signed tree
//! head, as a [signed note](crate::note).
//!
//! ```text
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
//! ```
//!
//! - [`Checkpoint`] is the note text ("Note text"): origin, tree size, root hash and optional
//!   extension lines, parsed strictly and written canonically.
//! - [`SignedCheckpoint`] is a parsed checkpoint note whose signatures are not verified yet.
//! - [`VerifiedCheckpoint`] is one whose log signature verified; only
//!   [`SignedCheckpoint::verify`] makes one, so code that takes a `VerifiedCheckpoint` cannot
//!   be handed an unchecked tree head.
//!
//! The spec's "Signatures" section says the log's key name SHOULD match the origin line.
//! custody makes that a rule: a log signs only checkpoints whose origin is its key name, and
//! a checkpoint verifies only under a key named after its origin.
//! So a key for one log can never vouch for another log's checkpoints.
//!
//! ```
//! use custody_crypto::{KeyAlgorithm, SigningKey};
//! use custody_log::checkpoint::{Checkpoint, SignedCheckpoint};
//! use custody_log::note::{KeyName, NoteSigner};
//! use custody_log::{MemoryTree, leaf_hash};
//!
//! let log_key = NoteSigner::new(
//!     KeyName::new("example.com/log")?,
//!     SigningKey::generate(KeyAlgorithm::Ed25519)?,
//! )?;
//! let tree = MemoryTree::from_leaf_hashes([leaf_hash(b"hello")]);
//! let checkpoint = Checkpoint::new("example.com/log", tree.size(), tree.root())?;
//! let bytes = checkpoint.sign(&log_key)?.to_bytes();
//!
//! // A client that trusts the log's vkey.
//! let vkey = log_key.verifier().to_string().parse()?;
//! let verified = SignedCheckpoint::parse(&bytes)?.verify(&vkey)?;
//! assert_eq!(verified.size(), tree.size());
//! assert_eq!(verified.root(), tree.root());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_crypto::Signer;

use crate::error::truncate;
use crate::hash::Hash;
use crate::note::{
    self, Limits, NoteSignature, NoteSigner, NoteVerifier, SignedNote, VerifiedNote,
};
use crate::tree::TreeSize;

/// Everything that can go wrong reading, signing or verifying a checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The signed note around the checkpoint is malformed or did not verify.
    #[error(transparent)]
    Note(#[from] note::Error),

    /// The note text is not a checkpoint body ("Note text").
    #[error("checkpoint line {line} is malformed: {reason}")]
    Malformed {
        /// The 1-based line number in the note text.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A log key was used with a checkpoint of another origin: custody requires the log's key
    /// name to be the origin line.
    #[error("the checkpoint's origin is '{origin}' but the log key is named '{key_name}'")]
    OriginMismatch {
        /// The checkpoint's origin, truncated to 200 characters.
        origin: String,
        /// The key's name, truncated to 200 characters.
        key_name: String,
    },

    /// An origin or extension line given to [`Checkpoint::new`] or
    /// [`Checkpoint::with_extensions`] cannot be written as a checkpoint line.
    #[error("invalid checkpoint field: {reason}")]
    InvalidField {
        /// What is wrong.
        reason: &'static str,
    },
}

/// The size and root hash of a log's tree: the essential part of a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TreeHead {
    size: TreeSize,
    root: Hash,
}

impl TreeHead {
    /// A tree head.
    pub const fn new(size: TreeSize, root: Hash) -> Self {
        Self { size, root }
    }

    /// The number of leaves.
    pub const fn size(&self) -> TreeSize {
        self.size
    }

    /// The root hash.
    pub const fn root(&self) -> Hash {
        self.root
    }
}

/// The body of a checkpoint ("Note text"): origin, tree size, root hash and extension lines.
#[derive(Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: TreeSize,
    root: Hash,
    extensions: Vec<String>,
}

/// Why `line` cannot be a line of a checkpoint, if it cannot.
fn line_problem(line: &str) -> Option<&'static str> {
    if line.is_empty() {
        Some("it is empty")
    } else if line.chars().any(|c| c < ' ') {
        Some("it contains a newline or another control character")
    } else {
        None
    }
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    ///
    /// The origin must be non-empty and hold no newline or other control character.
    pub fn new(origin: impl Into<String>, size: TreeSize, root: Hash) -> Result<Self, Error> {
        let origin = origin.into();
        if let Some(reason) = line_problem(&origin) {
            return Err(Error::InvalidField {
                reason: origin_reason(reason),
            });
        }
        Ok(Self {
            origin,
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Replaces the extension lines ("Note text", item 4: "opaque and OPTIONAL", "MUST be
    /// non-empty"; their use is NOT RECOMMENDED).
    pub fn with_extensions(mut self, extensions: Vec<String>) -> Result<Self, Error> {
        if extensions.iter().any(|line| line_problem(line).is_some()) {
            return Err(Error::InvalidField {
                reason: "an extension line is empty or holds a control character",
            });
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// Parses a checkpoint body ("Note text"), strictly:
    ///
    /// 1. the origin, a non-empty line;
    /// 2. the tree size in ASCII decimal, with no leading zeroes unless it is `0`;
    /// 3. the root hash in padded standard base64, 32 bytes;
    /// 4. any extension lines, each non-empty;
    ///
    /// each line ending in a newline, with no control character other than newline.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let malformed = |line, reason| Error::Malformed { line, reason };
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed(1, "the text does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if let Some(reason) = line_problem(origin) {
            return Err(malformed(1, origin_reason(reason)));
        }
        let size = lines
            .next()
            .ok_or_else(|| malformed(2, "the tree size line is missing"))?;
        let size = TreeSize::from_str(size).map_err(|_| {
            malformed(
                2,
                "the tree size is not a decimal number without sign or leading zeroes",
            )
        })?;
        let root = lines
            .next()
            .ok_or_else(|| malformed(3, "the root hash line is missing"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
            .ok_or_else(|| {
                malformed(3, "the root hash is not 32 bytes in padded standard base64")
            })?;
        let mut extensions = Vec::new();
        for (index, line) in lines.enumerate() {
            if line_problem(line).is_some() {
                return Err(malformed(
                    index + 4,
                    "an extension line is empty or holds a control character",
                ));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The origin: the log's identity.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The root hash of the tree of that size.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The size and root hash.
    pub fn tree_head(&self) -> TreeHead {
        TreeHead::new(self.size, self.root)
    }

    /// The extension lines, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: origin, size, base64 root hash and extensions, each line ending in a
    /// newline.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root.as_bytes())
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Signs the checkpoint as its log.
    ///
    /// Fails with [`Error::OriginMismatch`] unless the signer's key name is the origin.
    pub fn sign<S: Signer>(&self, log_key: &NoteSigner<S>) -> Result<SignedCheckpoint, Error> {
        if log_key.name().as_str() != self.origin {
            return Err(self.origin_mismatch(log_key.name().as_str()));
        }
        let note = note::Note::new(self.to_text())?.sign(log_key)?;
        Ok(SignedCheckpoint {
            checkpoint: self.clone(),
            note,
        })
    }

    fn origin_mismatch(&self, key_name: &str) -> Error {
        Error::OriginMismatch {
            origin: truncate(&self.origin, 200),
            key_name: truncate(key_name, 200),
        }
    }
}

/// Adapts a line problem to the origin line.
fn origin_reason(reason: &'static str) -> &'static str {
    if reason == "it is empty" {
        "the origin is empty"
    } else {
        "the origin contains a control character"
    }
}

impl FromStr for Checkpoint {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::parse(text)
    }
}

impl fmt::Display for Checkpoint {
    /// Writes the note text ([`Checkpoint::to_text`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

impl fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checkpoint")
            .field("origin", &self.origin)
            .field("size", &self.size)
            .field("root", &self.root)
            .field("extensions", &self.extensions)
            .finish()
    }
}

/// A parsed checkpoint note whose signatures have not been verified.
///
/// Read its fields only to decide which keys to verify it with (the origin); everything else
/// is attacker-controlled until [`verify`](Self::verify) succeeds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    note: SignedNote,
}

impl SignedCheckpoint {
    /// Parses a checkpoint note under the default note [`Limits`].
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        Self::parse_with_limits(bytes, &Limits::default())
    }

    /// Parses a checkpoint note: a signed note (C2SP signed-note "Format") whose text is a
    /// checkpoint body ([`Checkpoint::parse`]).
    pub fn parse_with_limits(bytes: &[u8], limits: &Limits) -> Result<Self, Error> {
        let note = SignedNote::parse_with_limits(bytes, limits)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        Ok(Self { checkpoint, note })
    }

    /// The origin line, unverified: use it only to look up the log's keys.
    pub fn origin(&self) -> &str {
        &self.checkpoint.origin
    }

    /// The checkpoint body, unverified.
    pub fn unverified_checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The signed note, with all its signature lines.
    pub fn note(&self) -> &SignedNote {
        &self.note
    }

    /// Adds a signature line, such as a witness cosignature, unless an identical one is there.
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.note.add_signature(signature);
    }

    /// The encoded checkpoint note.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note.to_bytes()
    }

    /// Verifies the log's signature.
    ///
    /// The key must be named after the origin ([`Error::OriginMismatch`] otherwise), and the
    /// note must carry a valid signature by it; other signature lines (witness cosignatures,
    /// other keys) are ignored, as C2SP tlog-checkpoint "Signatures" requires.
    pub fn verify(&self, log_key: &NoteVerifier) -> Result<VerifiedCheckpoint, Error> {
        self.verify_any(std::slice::from_ref(log_key))
    }

    /// Verifies the log's signature with any of several keys, for example during a key
    /// rotation.
    ///
    /// Every key must be named after the origin; at least one must have signed, and every
    /// signature line by one of them must verify.
    pub fn verify_any(&self, log_keys: &[NoteVerifier]) -> Result<VerifiedCheckpoint, Error> {
        if let Some(other) = log_keys
            .iter()
            .find(|key| key.name().as_str() != self.checkpoint.origin)
        {
            return Err(self.checkpoint.origin_mismatch(other.name().as_str()));
        }
        let verified = self.note.verify(log_keys)?;
        Ok(VerifiedCheckpoint {
            checkpoint: self.checkpoint.clone(),
            verified,
        })
    }
}

impl fmt::Display for SignedCheckpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.note, f)
    }
}

/// A checkpoint whose log signature verified under a key named after its origin.
///
/// Only [`SignedCheckpoint::verify`] and [`SignedCheckpoint::verify_any`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedCheckpoint {
    checkpoint: Checkpoint,
    verified: VerifiedNote,
}

impl VerifiedCheckpoint {
    /// The checkpoint body.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        &self.checkpoint.origin
    }

    /// The tree size.
    pub fn size(&self) -> TreeSize {
        self.checkpoint.size
    }

    /// The root hash.
    pub fn root(&self) -> Hash {
        self.checkpoint.root
    }

    /// The size and root hash.
    pub fn tree_head(&self) -> TreeHead {
        self.checkpoint.tree_head()
    }

    /// The log key(s) whose signatures verified.
    pub fn log_keys(&self) -> impl Iterator<Item = &NoteVerifier> {
        self.verified
            .verified()
            .iter()
            .map(note::VerifiedSignature::verifier)
    }

    /// The signed note, with every signature line (including witness cosignatures).
    pub fn note(&self) -> &SignedNote {
        self.verified.note()
    }

    /// Adds a signature line, such as a witness cosignature, unless an identical one is there.
    ///
    /// The text is unchanged, so the log signature stays verified; the new line is not
    /// checked here (see [`crate::cosignature::WitnessPolicy`]).
    pub fn add_signature(&mut self, signature: NoteSignature) {
        self.verified.add_signature(signature);
    }

    /// The encoded checkpoint note, with every signature line.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.note().to_bytes()
    }
}

#[cfg(test)]
mod tests;
