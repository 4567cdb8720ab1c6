//! The Merkle tree core of custody's transparency log.
//!
//! This crate is pure: it does no file, network or clock I/O and has no async code.
//! It computes and checks; storing and serving is the job of the crates built on it.
//!
//! What it is:
//! - [`hash`]: RFC 9162 §2.1.1 tree hashing with SHA-256 (the RFC 6962 construction):
//!   [`Hash`](struct@Hash), [`leaf_hash`], [`node_hash`], [`EMPTY_TREE_HASH`].
//! - Tree coordinates: [`LeafIndex`], [`TreeSize`] and [`Subtree`] (a complete subtree at a
//!   level and index).
//! - [`SubtreeHashes`]: the small trait a log's storage implements to hand out the hashes of
//!   complete subtrees; [`MemoryTree`] implements it in memory.
//! - [`root_hash`]: the RFC 9162 Merkle Tree Hash of the first n leaves.
//! - [`Frontier`]: the right edge of the tree, to append a leaf and get the new root in
//!   O(log n), as a sequencer does.
//! - [`proof`]: RFC 9162 inclusion and consistency proofs, generated from [`SubtreeHashes`]
//!   and verified step by step as the RFC describes.
//! - [`tile`]: the C2SP tlog-tiles layout: tile and entry-bundle coordinates, their paths, and
//!   which tiles a tree size needs.
//! - Signed tree heads and witnessing, following the C2SP specifications: [`note`] (signed
//!   notes), [`checkpoint`] (checkpoints and their verification), [`cosignature`] (witness
//!   cosignatures and witness policies) and [`witness`] (the `add-checkpoint` request and the
//!   witness's decision), each with an error type of its own.
//!
//! What it is not: it does not sequence entries, read and write tiles, or talk HTTP.
//! Those build on this crate.
//!
//! Every failure is an [`Error`]; verification never panics on untrusted input.
//!
//! # Example
//!
//! ```
//! use custody_log::{Frontier, LeafIndex, MemoryTree, TreeSize, leaf_hash, proof, root_hash};
//!
//! // A log of five entries.
//! let entries: [&[u8]; 5] = [b"alpha", b"bravo", b"charlie", b"delta", b"echo"];
//! let mut tree = MemoryTree::new();
//! for entry in entries {
//!     tree.append(leaf_hash(entry));
//! }
//! let size = tree.size();
//! let root = tree.root();
//!
//! // The log proves that "charlie" is entry 2 of the tree with that root ...
//! let path = proof::inclusion_proof(&tree, LeafIndex::new(2), size)?;
//! // ... and a client checks it against the root and size of a checkpoint it trusts.
//! proof::verify_inclusion(&leaf_hash(b"charlie"), LeafIndex::new(2), size, &path, &root)?;
//!
//! // The tree of the first three entries is a prefix of the current one.
//! let old_root = root_hash(&tree, TreeSize::new(3))?;
//! let path = proof::consistency_proof(&tree, TreeSize::new(3), size)?;
//! proof::verify_consistency(TreeSize::new(3), size, &old_root, &root, &path)?;
//!
//! // A sequencer keeps only the right edge of the tree.
//! let mut frontier = Frontier::new();
//! for entry in entries {
//!     frontier.append(leaf_hash(entry))?;
//! }
//! assert_eq!(frontier.root(), root);
//!
//! // A tampered proof is rejected with a typed error.
//! let mut bad = proof::inclusion_proof(&tree, LeafIndex::new(2), size)?;
//! bad[0] = leaf_hash(b"mallory");
//! assert!(matches!(
//!     proof::verify_inclusion(&leaf_hash(b"charlie"), LeafIndex::new(2), size, &bad, &root),
//!     Err(custody_log::Error::RootMismatch { .. })
//! ));
//! # Ok::<(), custody_log::Error>(())
//! ```
//!
//! # Specifications
//!
//! - RFC 9162, Certificate Transparency Version 2.0, §2.1 (Merkle trees and proofs).
//! - RFC 6962 §2.1 (the same hashing, with SHA-256).
//! - C2SP tlog-tiles (<https://c2sp.org/tlog-tiles>).

pub mod checkpoint;
pub mod cosignature;
mod error;
mod frontier;
pub mod hash;
pub mod integrate;
pub mod note;
pub mod proof;
pub mod store;
pub mod tile;
mod tree;
pub mod witness;

pub use crate::error::Error;
pub use crate::frontier::Frontier;
pub use crate::hash::{EMPTY_TREE_HASH, Hash, leaf_hash, node_hash};
pub use crate::tree::{LeafIndex, MemoryTree, Subtree, SubtreeHashes, TreeSize, root_hash};
