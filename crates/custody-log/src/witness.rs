//! The pure parts of the C2SP transparency log witness protocol
//! (<https://c2sp.org/tlog-witness>), `add-checkpoint` call: the request body, the witness's
//! decision and the response bodies.
//!
//! A log sends a witness the size of the last checkpoint the witness cosigned for it, a
//! consistency proof from that size, and a new signed checkpoint:
//!
//! ```text
//! old 20852014
//! PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=
//! jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=
//!
//! example.com/behind-the-sofa
//! 20852163
//! CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=
//!
//! — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=
//! ```
//!
//! - [`AddCheckpointRequest`] parses and writes that body, with at most [`MAX_PROOF_LINES`]
//!   proof lines.
//! - [`decide`] is the witness's decision once the checkpoint's signature is verified: given
//!   the latest tree head the witness cosigned for the origin (if any), it returns
//!   [`Accepted`] or a [`Rejection`], each with the spec's HTTP status code.
//! - [`process_add_checkpoint`] runs every step, from the raw body to the decision.
//! - [`response_body`], [`parse_response`] and [`parse_conflict_body`] handle the bodies of
//!   the 200 and 409 responses.
//!
//! Storing the witness's record, which the spec requires to be updated atomically with the
//! check, and reading the clock for the cosignature's timestamp are the caller's job.
//!
//! ```
//! use custody_crypto::{KeyAlgorithm, SigningKey};
//! use custody_log::checkpoint::{Checkpoint, TreeHead};
//! use custody_log::cosignature::{Cosigner, Timestamp};
//! use custody_log::note::{KeyName, NoteSigner};
//! use custody_log::witness::{self, AddCheckpointRequest, Rejection};
//! use custody_log::{MemoryTree, TreeSize, leaf_hash, proof, root_hash};
//!
//! let ed25519 = || SigningKey::generate(KeyAlgorithm::Ed25519);
//! let log = NoteSigner::new(KeyName::new("example.com/log")?, ed25519()?)?;
//! let witness = Cosigner::new(KeyName::new("witness.example/w1")?, ed25519()?)?;
//!
//! // The witness last cosigned the log at size 2.
//! let tree = MemoryTree::from_leaf_hashes((0..5u8).map(|i| leaf_hash(&[i])));
//! let latest = TreeHead::new(TreeSize::new(2), root_hash(&tree, TreeSize::new(2))?);
//!
//! // The log asks it to cosign size 5.
//! let checkpoint = Checkpoint::new("example.com/log", tree.size(), tree.root())?.sign(&log)?;
//! let path = proof::consistency_proof(&tree, TreeSize::new(2), tree.size())?;
//! let body = AddCheckpointRequest::new(TreeSize::new(2), path, checkpoint)?.to_bytes();
//!
//! let accepted = witness::process_add_checkpoint(&body, &[log.verifier().clone()], |_| {
//!     Some(latest)
//! })?;
//! assert_eq!(accepted.status(), 200);
//! let cosignature =
//!     witness.cosign(accepted.checkpoint(), Timestamp::from_unix_seconds(1_700_000_000)?)?;
//! let response = witness::response_body(&[cosignature]);
//! assert!(response.starts_with("— witness.example/w1 "));
//!
//! // A log that forgot about the witness's record is told the size to use.
//! let rejection = witness::process_add_checkpoint(&body, &[log.verifier().clone()], |_| None)
//!     .unwrap_err();
//! assert!(matches!(rejection, Rejection::Conflict { .. }));
//! assert_eq!(rejection.status(), 409);
//! assert_eq!(rejection.body().as_deref(), Some("0\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::checkpoint::{self, SignedCheckpoint, TreeHead, VerifiedCheckpoint};
use crate::cosignature::Cosignature;
use crate::hash::{EMPTY_TREE_HASH, Hash};
use crate::note::{self, Limits, NoteSignature, NoteVerifier};
use crate::proof;
use crate::tree::TreeSize;

/// The most consistency proof lines a request may carry: "The client MUST NOT send more than
/// 63 consistency proof lines."
pub const MAX_PROOF_LINES: usize = 63;

/// The `Content-Type` of a 409 Conflict response.
pub const CONFLICT_CONTENT_TYPE: &str = "text/x.tlog.size";

/// The longest proof line: 44 base64 characters and a newline.
const PROOF_LINE_LEN: usize = 45;

/// The longest old size line: `old `, 20 digits and a newline.
const OLD_SIZE_LINE_LEN: usize = 25;

/// A request or response body that does not follow the protocol.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The body is larger than the limit derived from the note limits.
    #[error("the body is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// The body's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// A line before the checkpoint is malformed.
    #[error("request line {line} is malformed: {reason}")]
    Malformed {
        /// The 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// The request has more than [`MAX_PROOF_LINES`] consistency proof lines.
    #[error("the request has more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,

    /// The checkpoint in the request is malformed.
    #[error("the checkpoint in the request is malformed")]
    Checkpoint(#[source] checkpoint::Error),

    /// A response body is not a list of note signature lines.
    #[error("the response is not a list of signature lines")]
    Response(#[source] note::Error),
}

/// The body of an `add-checkpoint` request: the old size, a consistency proof and a signed
/// checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    old_size: TreeSize,
    proof: Vec<Hash>,
    checkpoint: SignedCheckpoint,
}

impl AddCheckpointRequest {
    /// A request; fails with [`Error::TooManyProofLines`] for a proof of more than 63 hashes.
    pub fn new(
        old_size: TreeSize,
        proof: Vec<Hash>,
        checkpoint: SignedCheckpoint,
    ) -> Result<Self, Error> {
        if proof.len() > MAX_PROOF_LINES {
            return Err(Error::TooManyProofLines);
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint,
        })
    }

    /// Parses a request body under the default note [`Limits`].
    pub fn parse(body: &[u8]) -> Result<Self, Error> {
        Self::parse_with_limits(body, &Limits::default())
    }

    /// Parses a request body ("add-checkpoint"): "a sequence of an old size line, zero or more
    /// consistency proof lines, and an empty line, followed by a checkpoint", each line
    /// ending in a newline.
    ///
    /// 1. The old size line is `old <size>`, the size in ASCII decimal with no leading
    ///    zeroes (unless it is `0`).
    /// 2. Each proof line is one hash in padded standard base64; more than 63 is an error.
    /// 3. The checkpoint is parsed under `limits`; its signatures are not verified here.
    pub fn parse_with_limits(body: &[u8], limits: &Limits) -> Result<Self, Error> {
        let limit = limits
            .max_note_size
            .saturating_add(OLD_SIZE_LINE_LEN + (MAX_PROOF_LINES + 1) * PROOF_LINE_LEN);
        if body.len() > limit {
            return Err(Error::TooLarge {
                size: body.len(),
                limit,
            });
        }
        let mut lines = Lines {
            rest: body,
            number: 0,
        };

        // Step 1.
        let (number, line) = lines.next_line()?;
        let old_size = line
            .strip_prefix("old ")
            .and_then(|size| TreeSize::from_str(size).ok())
            .ok_or(Error::Malformed {
                line: number,
                reason: "it is not 'old' and a decimal size without leading zeroes",
            })?;

        // Step 2.
        let mut proof = Vec::new();
        loop {
            let (number, line) = lines.next_line()?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(Error::TooManyProofLines);
            }
            let hash = STANDARD
                .decode(line)
                .ok()
                .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
                .ok_or(Error::Malformed {
                    line: number,
                    reason: "it is not a 32-byte hash in padded standard base64",
                })?;
            proof.push(hash);
        }

        // Step 3.
        let checkpoint =
            SignedCheckpoint::parse_with_limits(lines.rest, limits).map_err(Error::Checkpoint)?;
        Ok(Self {
            old_size,
            proof,
            checkpoint,
        })
    }

    /// The size of the checkpoint the log believes the witness cosigned last.
    pub fn old_size(&self) -> TreeSize {
        self.old_size
    }

    /// The consistency proof from the old size to the checkpoint's size.
    pub fn proof(&self) -> &[Hash] {
        &self.proof
    }

    /// The signed checkpoint, not verified.
    pub fn checkpoint(&self) -> &SignedCheckpoint {
        &self.checkpoint
    }

    /// The encoded request body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut head = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            head.push_str(&STANDARD.encode(hash.as_bytes()));
            head.push('\n');
        }
        head.push('\n');
        let mut body = head.into_bytes();
        body.extend_from_slice(&self.checkpoint.to_bytes());
        body
    }
}

/// Reads newline-terminated lines off the front of a body.
struct Lines<'a> {
    rest: &'a [u8],
    number: usize,
}

impl<'a> Lines<'a> {
    fn next_line(&mut self) -> Result<(usize, &'a str), Error> {
        self.number += 1;
        let malformed = |reason| Error::Malformed {
            line: self.number,
            reason,
        };
        let end = self
            .rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| malformed("the body ends before the empty line"))?;
        let line = std::str::from_utf8(&self.rest[..end])
            .map_err(|_| malformed("it is not valid UTF-8"))?;
        self.rest = &self.rest[end + 1..];
        Ok((self.number, line))
    }
}

/// The checkpoint passed every check: the witness records its tree head and cosigns it
/// ("200 Success").
#[derive(Clone, Debug)]
pub struct Accepted {
    checkpoint: VerifiedCheckpoint,
}

impl Accepted {
    /// The HTTP status code: 200.
    pub const fn status(&self) -> u16 {
        200
    }

    /// The checkpoint to cosign.
    pub fn checkpoint(&self) -> &VerifiedCheckpoint {
        &self.checkpoint
    }

    /// The tree head to record as the latest cosigned for the origin, before responding.
    pub fn tree_head(&self) -> TreeHead {
        self.checkpoint.tree_head()
    }

    /// The checkpoint, by value.
    pub fn into_checkpoint(self) -> VerifiedCheckpoint {
        self.checkpoint
    }
}

/// Why a witness refuses to cosign, with the HTTP status code the spec assigns
/// ([`status`](Self::status)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The request body is malformed (400 Bad Request).
    #[error("the request is malformed")]
    MalformedRequest(#[source] Error),

    /// The old size is larger than the checkpoint's size: "The old size MUST be equal to or
    /// lower than the checkpoint size. Otherwise, the witness MUST respond with a '400 Bad
    /// Request'".
    /// When the old size is the witness's record, this is a log trying to roll it back.
    #[error("the old size {old_size} is larger than the checkpoint size {checkpoint_size}")]
    RollbackRefused {
        /// The request's old size.
        old_size: TreeSize,
        /// The checkpoint's size.
        checkpoint_size: TreeSize,
    },

    /// No log key for the checkpoint's origin is configured (404 Not Found).
    #[error("the origin '{origin}' is not a known log")]
    UnknownOrigin {
        /// The origin, truncated to 200 characters.
        origin: String,
    },

    /// No signature from the log's key, or a signature by it that does not verify
    /// (403 Forbidden).
    #[error("the checkpoint's log signature was not verified")]
    SignatureRejected(#[source] checkpoint::Error),

    /// The old size is not the size of the latest checkpoint the witness cosigned for the
    /// origin, or 0 if none (409 Conflict); the response body gives the witness's size.
    #[error("the old size does not match the latest cosigned size {latest_size}")]
    Conflict {
        /// The size of the latest checkpoint the witness cosigned for the origin.
        latest_size: TreeSize,
    },

    /// A checkpoint of size zero does not have the root hash of the empty tree
    /// (422 Unprocessable Entity).
    #[error("a checkpoint of size 0 has root {root}, not the empty tree's")]
    EmptyTreeRootMismatch {
        /// The checkpoint's root hash.
        root: Hash,
    },

    /// The old size is zero but the proof is not empty (422 Unprocessable Entity).
    #[error("the old size is 0 but the request has {lines} proof lines")]
    UnexpectedProof {
        /// The number of proof lines.
        lines: usize,
    },

    /// The consistency proof does not verify (422 Unprocessable Entity).
    #[error("the consistency proof does not verify")]
    InvalidProof(#[source] crate::Error),

    /// The old size is the checkpoint's size but the root hashes differ: a fork
    /// (409 Conflict, tlog-witness: "If the old size matches the checkpoint size, the witness
    /// MUST check that the root hashes are also identical. If they don't match, the witness
    /// MUST respond with a 409 Conflict").
    #[error(
        "size {size} was cosigned with root {latest_root}, the checkpoint has {checkpoint_root}"
    )]
    RootMismatch {
        /// The size.
        size: TreeSize,
        /// The root hash the witness cosigned.
        latest_root: Hash,
        /// The checkpoint's root hash.
        checkpoint_root: Hash,
    },
}

impl Rejection {
    /// The HTTP status code the spec assigns to this outcome.
    pub const fn status(&self) -> u16 {
        match self {
            Self::MalformedRequest(_) | Self::RollbackRefused { .. } => 400,
            Self::SignatureRejected(_) => 403,
            Self::UnknownOrigin { .. } => 404,
            Self::Conflict { .. } | Self::RootMismatch { .. } => 409,
            Self::EmptyTreeRootMismatch { .. }
            | Self::UnexpectedProof { .. }
            | Self::InvalidProof(_) => 422,
        }
    }

    /// The response body the spec requires, if any: for 409 Conflict, the latest cosigned
    /// size in decimal and a newline, sent with [`CONFLICT_CONTENT_TYPE`].
    pub fn body(&self) -> Option<String> {
        match self {
            Self::Conflict { latest_size } => Some(format!("{latest_size}\n")),
            _ => None,
        }
    }
}

/// The witness's decision on a checkpoint whose log signature verified, in the order of the
/// spec's "add-checkpoint" section:
///
/// 1. the old size must not exceed the checkpoint size (400);
/// 2. the old size must be the size of `latest`, the latest tree head the witness cosigned
///    for the origin, or 0 if it never cosigned one (409);
/// 3. a checkpoint of size 0 must have the empty tree's root hash (422);
/// 4. if the old size is 0 the proof must be empty; otherwise it must be a consistency proof
///    from `latest` to the checkpoint (422);
/// 5. if the old size is the checkpoint's size, the root hashes must be identical (422).
pub fn decide(
    latest: Option<TreeHead>,
    old_size: TreeSize,
    consistency_proof: &[Hash],
    checkpoint: VerifiedCheckpoint,
) -> Result<Accepted, Rejection> {
    let checkpoint_size = checkpoint.size();
    // Step 1.
    if old_size > checkpoint_size {
        return Err(Rejection::RollbackRefused {
            old_size,
            checkpoint_size,
        });
    }
    // Step 2.
    let latest_size = latest.map_or(TreeSize::new(0), |head| head.size());
    if old_size != latest_size {
        return Err(Rejection::Conflict { latest_size });
    }
    // Step 3.
    if checkpoint_size.get() == 0 && checkpoint.root() != EMPTY_TREE_HASH {
        return Err(Rejection::EmptyTreeRootMismatch {
            root: checkpoint.root(),
        });
    }
    // Step 4.
    match latest {
        // The old size is 0: "the empty tree is consistent with any tree".
        _ if old_size.get() == 0 => {
            if !consistency_proof.is_empty() {
                return Err(Rejection::UnexpectedProof {
                    lines: consistency_proof.len(),
                });
            }
        }
        Some(latest) => {
            // Step 5 comes first here, to name the failure; both are 422.
            if old_size == checkpoint_size && latest.root() != checkpoint.root() {
                return Err(Rejection::RootMismatch {
                    size: checkpoint_size,
                    latest_root: latest.root(),
                    checkpoint_root: checkpoint.root(),
                });
            }
            proof::verify_consistency(
                old_size,
                checkpoint_size,
                &latest.root(),
                &checkpoint.root(),
                consistency_proof,
            )
            .map_err(Rejection::InvalidProof)?;
        }
        // Unreachable: step 2 made the old size 0 when there is no record.
        None => return Err(Rejection::Conflict { latest_size }),
    }
    Ok(Accepted { checkpoint })
}

/// Runs an `add-checkpoint` request through every check of the spec, in order:
///
/// 1. the body must parse (400);
/// 2. the origin must be a known log: custody's log keys are named after their origin, so the
///    keys trusted for the origin are those in `log_keys` with that name (404);
/// 3. the checkpoint must carry a valid signature by one of them, and no invalid one (403);
/// 4. then [`decide`], given `latest(origin)`, the latest tree head the witness cosigned for
///    the origin.
pub fn process_add_checkpoint(
    body: &[u8],
    log_keys: &[NoteVerifier],
    latest: impl FnOnce(&str) -> Option<TreeHead>,
) -> Result<Accepted, Rejection> {
    // Step 1.
    let request = AddCheckpointRequest::parse(body).map_err(Rejection::MalformedRequest)?;
    // Step 2.
    let origin = request.checkpoint.origin();
    let keys: Vec<NoteVerifier> = log_keys
        .iter()
        .filter(|key| key.name().as_str() == origin)
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(Rejection::UnknownOrigin {
            origin: crate::error::truncate(origin, 200),
        });
    }
    // Step 3.
    let checkpoint = request
        .checkpoint
        .verify_any(&keys)
        .map_err(Rejection::SignatureRejected)?;
    // Step 4.
    let latest = latest(checkpoint.origin());
    decide(latest, request.old_size, &request.proof, checkpoint)
}

/// The body of a 200 response: one signature line per cosignature, each ending in a newline.
pub fn response_body(cosignatures: &[Cosignature]) -> String {
    let mut body = String::new();
    for cosignature in cosignatures {
        body.push_str(&cosignature.to_string());
        body.push('\n');
    }
    body
}

/// Parses the body of a 200 response (client side): "a sequence of one or more note signature
/// lines", under the default note [`Limits`].
///
/// The lines are not verified: add them to the checkpoint and check them with a
/// [`WitnessPolicy`](crate::cosignature::WitnessPolicy), which ignores unknown keys.
pub fn parse_response(body: &[u8]) -> Result<Vec<NoteSignature>, Error> {
    let text = std::str::from_utf8(body).map_err(|e| {
        Error::Response(note::Error::NotUtf8 {
            offset: e.valid_up_to(),
        })
    })?;
    NoteSignature::parse_lines(text, &Limits::default()).map_err(Error::Response)
}

/// Parses the body of a 409 response (client side): a tree size in decimal and a newline.
pub fn parse_conflict_body(body: &[u8]) -> Result<TreeSize, Error> {
    std::str::from_utf8(body)
        .ok()
        .and_then(|text| text.strip_suffix('\n'))
        .and_then(|size| TreeSize::from_str(size).ok())
        .ok_or(Error::Malformed {
            line: 1,
            reason: "a conflict body is a decimal size and a newline",
        })
}

#[cfg(test)]
mod tests;
