//! Checking a remote log from its tiles: its verified checkpoint, inclusion and consistency
//! proofs computed from the tiles it serves (never taken from a bundle or from the log's word),
//! and monitoring: following the log, proving each new checkpoint consistent with the last one
//! seen, and listing new entries signed by watched keys.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use custody_crypto::{Digest, KeyId};
use custody_formats::Limits;
use custody_formats::bundle::Bundle;
use custody_formats::rekor::Record;
use custody_log::checkpoint::{SignedCheckpoint, TreeHead, VerifiedCheckpoint};
use custody_log::integrate::{MemoTree, split_bundle};
use custody_log::note::NoteVerifier;
use custody_log::tile::EntryBundle;
use custody_log::{Hash, LeafIndex, TreeSize, leaf_hash, proof};

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, read_limited, write_atomic};
use crate::remote::{LogClient, RemoteTiles};

/// Checkpoint files (and monitor state files) larger than this are refused.
const CHECKPOINT_FILE_LIMIT: u64 = 64 * 1024;

/// A remote log, read through its tiles and checked against its verifier key.
pub struct RemoteLog {
    tiles: RemoteTiles,
    vkey: NoteVerifier,
}

/// A checkpoint verified with the log's key, with the exact bytes that were verified.
pub struct FetchedCheckpoint {
    /// The verified checkpoint.
    pub checkpoint: VerifiedCheckpoint,
    /// The signed note as served.
    pub note: String,
}

/// One entry proven included in the log's current checkpoint.
#[derive(Debug)]
pub struct ProvenEntry {
    /// The entry's index.
    pub index: u64,
    /// The signing key's id.
    pub key_id: KeyId,
    /// The signed digest (for a `dsse` entry, the SHA-256 of the envelope's payload).
    pub digest: Digest,
}

/// An entry signed by a watched key.
pub type Match = ProvenEntry;

/// What one monitoring round found.
pub struct MonitorReport {
    /// The checkpoint verified and stored in this round.
    pub current: FetchedCheckpoint,
    /// The previously stored tree head; `None` on a first run (the current checkpoint is
    /// trusted as the starting point and no entries are read).
    pub previous: Option<TreeHead>,
    /// New entries read (and proven included).
    pub entries_read: u64,
    /// New entries that are not hashedrekord entries custody can parse.
    pub unparsed: u64,
    /// New entries signed by a watched key, by index.
    pub matches: Vec<Match>,
}

fn checkpoint_invalid(why: impl Into<String>) -> Error {
    Error::new(Code::LogCheckpointInvalid, why)
}

fn inconsistent(why: impl Into<String>) -> Error {
    Error::new(Code::LogInconsistent, why)
}

/// Parses a tree head written as `SIZE:ROOT`, ROOT in base64 (as in a checkpoint) or hex.
pub fn parse_tree_head(text: &str) -> Result<TreeHead> {
    let bad = |why: &str| {
        Error::new(
            Code::InvalidArgument,
            format!("'{text}' is not SIZE:ROOT ({why})"),
        )
        .with_hint("Write the tree size and its root hash (base64, as in a checkpoint), e.g. 12:3q2+7w...=")
    };
    let (size, root) = text.split_once(':').ok_or_else(|| bad("no ':'"))?;
    let size: u64 = size.parse().map_err(|_| bad("the size is not a number"))?;
    let root = if root.len() == 2 * Hash::LEN {
        root.parse::<Hash>()
            .map_err(|_| bad("the root is not hex"))?
    } else {
        let bytes = STANDARD
            .decode(root)
            .map_err(|_| bad("the root is not base64"))?;
        Hash::try_from(bytes.as_slice()).map_err(|_| bad("the root is not 32 bytes"))?
    };
    Ok(TreeHead::new(TreeSize::new(size), root))
}

/// A hash as written in checkpoints: standard base64.
pub fn root_base64(hash: &Hash) -> String {
    STANDARD.encode(hash.as_bytes())
}

impl RemoteLog {
    /// The log at `url`, whose checkpoints must be signed by `vkey` (a C2SP vkey line).
    pub fn new(url: &str, vkey: &str) -> Result<Self> {
        let vkey = vkey.trim().parse::<NoteVerifier>().map_err(|e| {
            Error::new(
                Code::InvalidArgument,
                format!("--vkey is not a verifier key: {e}"),
            )
            .with_hint("Pass the log's vkey line, as printed by 'custody log vkey --data DIR'.")
        })?;
        let tiles = RemoteTiles::new(LogClient::new(url, None)?)?;
        Ok(Self { tiles, vkey })
    }

    /// Verifies a signed checkpoint note with the log's key.
    pub fn verify_note(&self, note: &str) -> Result<VerifiedCheckpoint> {
        SignedCheckpoint::parse(note.as_bytes())
            .map_err(|e| checkpoint_invalid(format!("the checkpoint is malformed: {e}")))?
            .verify(&self.vkey)
            .map_err(|e| {
                checkpoint_invalid(format!(
                    "the checkpoint is not signed by the given log key: {e}"
                ))
            })
    }

    /// Reads a signed checkpoint file and verifies it with the log's key.
    pub fn read_checkpoint_file(&self, path: &Path) -> Result<VerifiedCheckpoint> {
        let bytes = read_limited(path, CHECKPOINT_FILE_LIMIT)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            checkpoint_invalid(format!("'{}' is not a UTF-8 checkpoint", path.display()))
        })?;
        self.verify_note(&text)
    }

    /// Fetches the log's current checkpoint and verifies its signature.
    pub fn checkpoint(&self) -> Result<FetchedCheckpoint> {
        let note = self.tiles.checkpoint()?;
        let checkpoint = self.verify_note(&note)?;
        Ok(FetchedCheckpoint { checkpoint, note })
    }

    /// Maps a proof failure over the tiles: a fetch failure keeps its own code.
    fn tile_failure(&self, e: &custody_log::Error, what: &str, code: Code) -> Error {
        self.tiles
            .take_error()
            .unwrap_or_else(|| Error::new(code, format!("{what}: {e}")))
    }

    /// Proves from the log's tiles that `body` is the entry at `index` in `current`.
    fn prove_entry(
        &self,
        tree: &MemoTree<'_, RemoteTiles>,
        current: &VerifiedCheckpoint,
        index: u64,
        body: &[u8],
        mismatch: Code,
    ) -> Result<()> {
        let path =
            proof::inclusion_proof(tree, LeafIndex::new(index), current.size()).map_err(|e| {
                self.tile_failure(
                    &e,
                    "cannot compute the inclusion proof",
                    Code::LogInconsistent,
                )
            })?;
        proof::verify_inclusion(
            &leaf_hash(body),
            LeafIndex::new(index),
            current.size(),
            &path,
            &current.root(),
        )
        .map_err(|e| {
            Error::new(
                mismatch,
                format!(
                    "entry {index} is not included in the log's checkpoint of size {}: {e}",
                    current.size()
                ),
            )
        })
    }

    /// Proves that every tlog entry of `bundle` is included in the log's current checkpoint,
    /// from the log's tiles (the bundle's own proof and checkpoint are not used).
    pub fn prove_inclusion(
        &self,
        bundle: &Bundle,
    ) -> Result<(FetchedCheckpoint, Vec<ProvenEntry>)> {
        if bundle.tlog_entries().is_empty() {
            return Err(Error::new(
                Code::LogInclusionMissing,
                "the bundle has no transparency-log entry",
            ));
        }
        let current = self.checkpoint()?;
        let tree = MemoTree::new(&self.tiles, current.checkpoint.size());
        let mut proven = Vec::new();
        for entry in bundle.tlog_entries() {
            if !current
                .checkpoint
                .size()
                .contains(LeafIndex::new(entry.log_index))
            {
                return Err(Error::new(
                    Code::LogInclusionMissing,
                    format!(
                        "entry {} is beyond the log's current checkpoint (size {})",
                        entry.log_index,
                        current.checkpoint.size()
                    ),
                ));
            }
            let body = &entry.canonicalized_body;
            self.prove_entry(
                &tree,
                &current.checkpoint,
                entry.log_index,
                body,
                Code::LogProofInvalid,
            )?;
            let record = Record::from_canonical_entry(body, &Limits::default()).map_err(|e| {
                Error::new(
                    Code::LogProofInvalid,
                    format!("the logged entry is not a record custody reads: {e}"),
                )
            })?;
            let (key_id, digest) = facts(&record)
                .into_iter()
                .next()
                .ok_or_else(|| Error::new(Code::LogProofInvalid, "the logged entry has no key"))?;
            proven.push(ProvenEntry {
                index: entry.log_index,
                key_id,
                digest,
            });
        }
        Ok((current, proven))
    }

    /// Proves, from the log's tiles, that its current checkpoint extends `old`.
    pub fn prove_consistency(&self, old: TreeHead) -> Result<FetchedCheckpoint> {
        let current = self.checkpoint()?;
        self.check_extends(old, &current.checkpoint)?;
        Ok(current)
    }

    fn check_extends(&self, old: TreeHead, current: &VerifiedCheckpoint) -> Result<()> {
        if current.size() < old.size() {
            return Err(inconsistent(format!(
                "the log's tree shrank from {} to {} entries (a rollback)",
                old.size(),
                current.size()
            )));
        }
        if old.size().get() == 0 {
            return Ok(());
        }
        let tree = MemoTree::new(&self.tiles, current.size());
        let path = proof::consistency_proof(&tree, old.size(), current.size()).map_err(|e| {
            self.tile_failure(
                &e,
                "cannot compute the consistency proof",
                Code::LogInconsistent,
            )
        })?;
        proof::verify_consistency(
            old.size(),
            current.size(),
            &old.root(),
            &current.root(),
            &path,
        )
        .map_err(|e| {
            inconsistent(format!(
                "the log's checkpoint of size {} is not consistent with the earlier one of size {} (a split view or fork): {e}",
                current.size(),
                old.size()
            ))
        })
    }

    /// One monitoring round: loads the last verified checkpoint from `state` (none on a first
    /// run), fetches and verifies the current one, proves it consistent, reads the new
    /// entries (each proven included), lists those signed by a `watched` key, and only then
    /// stores the current checkpoint in `state` atomically.
    pub fn monitor_once(&self, state: &Path, watched: &[KeyId]) -> Result<MonitorReport> {
        let exists = state.try_exists().map_err(|e| {
            Error::new(
                Code::ReadFailed,
                format!("cannot read '{}': {e}", state.display()),
            )
        })?;
        let previous = if exists {
            Some(self.read_checkpoint_file(state)?.tree_head())
        } else {
            None
        };
        let current = self.checkpoint()?;
        let mut report = MonitorReport {
            current,
            previous,
            entries_read: 0,
            unparsed: 0,
            matches: Vec::new(),
        };
        if let Some(old) = previous {
            let checkpoint = &report.current.checkpoint;
            self.check_extends(old, checkpoint)?;
            let tree = MemoTree::new(&self.tiles, checkpoint.size());
            let mut index = old.size().get();
            while index < checkpoint.size().get() {
                let (bundle, start) =
                    EntryBundle::for_leaf(LeafIndex::new(index), checkpoint.size())
                        .map_err(|e| inconsistent(e.to_string()))?;
                let bytes = self.tiles.entry_bundle(bundle)?;
                let entries = split_bundle(&bytes).map_err(|e| {
                    inconsistent(format!("the log served a malformed {bundle}: {e}"))
                })?;
                if entries.len() < usize::from(bundle.width()) {
                    return Err(inconsistent(format!(
                        "the log's {bundle} holds {} entries, fewer than its width",
                        entries.len()
                    )));
                }
                for body in entries.iter().take(usize::from(bundle.width())).skip(start) {
                    self.prove_entry(&tree, checkpoint, index, body, Code::LogInconsistent)?;
                    report.entries_read += 1;
                    match Record::from_canonical_entry(body, &Limits::default()) {
                        Ok(record) => {
                            if let Some((key_id, digest)) = facts(&record)
                                .into_iter()
                                .find(|(k, _)| watched.contains(k))
                            {
                                report.matches.push(ProvenEntry {
                                    index,
                                    key_id,
                                    digest,
                                });
                            }
                        }
                        Err(_) => report.unparsed += 1,
                    }
                    index += 1;
                }
            }
        }
        write_atomic(
            state,
            report.current.note.as_bytes(),
            Overwrite::Replace,
            Visibility::Public,
        )?;
        Ok(report)
    }
}

/// The (signing key, signed digest) pairs a logged record holds: a `hashedrekord`'s key and
/// digest; for a `dsse` entry, every signature's key with the SHA-256 of the payload.
fn facts(record: &Record) -> Vec<(KeyId, Digest)> {
    match record {
        Record::HashedRekord(r) => vec![(r.key().key_id(), *r.digest())],
        Record::Dsse(r) => r
            .signatures()
            .iter()
            .map(|(_, key)| (key.key_id(), *r.payload_hash()))
            .collect(),
    }
}
