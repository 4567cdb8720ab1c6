//! The crate's error type.

use crate::hash::Hash;
use crate::tree::{LeafIndex, Subtree, TreeSize};

/// Everything that can go wrong in `custody-log`.
///
/// Which variants a caller can see depends on what it called:
///
/// - **Verifying** a proof ([`proof::verify_inclusion`](crate::proof::verify_inclusion),
///   [`proof::verify_consistency`](crate::proof::verify_consistency)) fails only with
///   [`ConsistencyFromEmptyTree`](Error::ConsistencyFromEmptyTree),
///   [`IndexOutOfRange`](Error::IndexOutOfRange), [`RootMismatch`](Error::RootMismatch),
///   [`SizeDecreased`](Error::SizeDecreased) or [`WrongProofLength`](Error::WrongProofLength).
///   Each means the claim is not proven and must be rejected; the variant says why.
/// - **Parsing** untrusted text or bytes fails with [`InvalidDecimal`](Error::InvalidDecimal),
///   [`InvalidHashHex`](Error::InvalidHashHex), [`InvalidHashLength`](Error::InvalidHashLength)
///   or [`MalformedTilePath`](Error::MalformedTilePath).
/// - **API misuse**, arguments that cannot describe a tree: [`InvalidSubtree`](Error::InvalidSubtree),
///   [`InvalidTile`](Error::InvalidTile), [`TreeFull`](Error::TreeFull),
///   [`WrongFrontierLength`](Error::WrongFrontierLength); and, from proof generation, the
///   size and index variants above.
/// - **Storage**: a [`SubtreeHashes`](crate::SubtreeHashes) implementation could not supply a
///   hash: [`SubtreeUnavailable`](Error::SubtreeUnavailable) or [`Storage`](Error::Storage).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A consistency proof was asked for, or checked, from a tree of size zero.
    ///
    /// RFC 9162 §2.1.4 defines consistency proofs only for `0 < first`; every tree is an
    /// extension of the empty tree, so there is nothing to prove.
    #[error("a consistency proof from the empty tree is meaningless")]
    ConsistencyFromEmptyTree,

    /// The leaf index is not inside the tree (`leaf_index >= tree_size`).
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange {
        /// The leaf index that was given.
        index: LeafIndex,
        /// The tree size it was checked against.
        size: TreeSize,
    },

    /// Text that should be a canonical decimal number (digits only, no leading zeroes) is not.
    #[error("'{text}' is not a decimal number without sign or leading zeroes")]
    InvalidDecimal {
        /// The rejected text, truncated to 40 characters.
        text: String,
    },

    /// Hex text could not be parsed as a hash.
    #[error("hash '{text}' is not {expected} lowercase or uppercase hex characters")]
    InvalidHashHex {
        /// The rejected text, truncated to 80 characters.
        text: String,
        /// The number of hex characters a hash has.
        expected: usize,
    },

    /// Bytes could not be taken as a hash because they have the wrong length.
    #[error("a hash has {expected} bytes, got {actual}")]
    InvalidHashLength {
        /// The required length in bytes.
        expected: usize,
        /// The length that was given.
        actual: usize,
    },

    /// A subtree level or index does not describe a subtree of a tree with a `u64` size.
    #[error("no subtree at level {level} index {index}")]
    InvalidSubtree {
        /// The level that was given.
        level: u8,
        /// The index that was given.
        index: u64,
    },

    /// A tile level, index or width is outside what C2SP tlog-tiles allows.
    #[error("invalid tile: {reason}")]
    InvalidTile {
        /// What is wrong.
        reason: &'static str,
    },

    /// A tile or entry-bundle path does not follow C2SP tlog-tiles.
    #[error("tile path '{path}' is malformed: {reason}")]
    MalformedTilePath {
        /// The rejected path, truncated to 200 characters.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A hash computed from a proof does not match the root hash it was checked against.
    #[error("root hash mismatch for tree size {size}: expected {expected}, computed {computed}")]
    RootMismatch {
        /// The size of the tree whose root did not match.
        size: TreeSize,
        /// The root hash the caller supplied.
        expected: Hash,
        /// The root hash computed from the proof.
        computed: Hash,
    },

    /// The second tree of a consistency check is smaller than the first.
    #[error("tree size decreased from {first} to {second}")]
    SizeDecreased {
        /// The first (older) tree size.
        first: TreeSize,
        /// The second (newer) tree size.
        second: TreeSize,
    },

    /// A [`SubtreeHashes`](crate::SubtreeHashes) implementation failed for a reason of its own.
    #[error("reading subtree hashes failed")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// A [`SubtreeHashes`](crate::SubtreeHashes) implementation does not hold the hash of a
    /// subtree, for example because the subtree is not complete yet.
    #[error("the hash of subtree {subtree} is not available")]
    SubtreeUnavailable {
        /// The subtree that was asked for.
        subtree: Subtree,
    },

    /// The tree already has the largest size a `u64` can count, so no leaf can be appended.
    #[error("the tree is full")]
    TreeFull,

    /// [`Frontier::from_parts`](crate::Frontier::from_parts) was given a number of hashes that
    /// does not match the tree size.
    #[error("tree size {size} has {expected} full subtrees on its right edge, got {actual} hashes")]
    WrongFrontierLength {
        /// The tree size.
        size: TreeSize,
        /// The number of hashes that size needs (the number of one bits in it).
        expected: usize,
        /// The number of hashes given.
        actual: usize,
    },

    /// A proof has the wrong number of hashes for the leaf index and tree sizes it claims.
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength {
        /// The number of hashes the proof must have.
        expected: usize,
        /// The number of hashes it has.
        actual: usize,
    },
}

/// Cuts `text` to at most `max` characters for inclusion in an error.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
