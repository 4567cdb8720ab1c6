//! Tree coordinates ([`LeafIndex`], [`TreeSize`], [`Subtree`]), the [`SubtreeHashes`] storage
//! trait, the in-memory [`MemoryTree`] and the RFC 9162 Merkle Tree Hash [`root_hash`].
//!
//! A *complete subtree* at `level` h and `index` k is the perfect binary tree over the
//! 2^h leaves `D[k·2^h : (k+1)·2^h]`; its hash is `MTH` of those leaves.
//! Level 0 subtrees are single leaves, whose hash is the leaf hash.
//! Everything else in this crate (roots, proofs, tiles, the frontier) is computed from the
//! hashes of complete subtrees, which is what a log stores.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::error::{Error, truncate};
use crate::frontier::Frontier;
use crate::hash::{EMPTY_TREE_HASH, Hash, node_hash};

/// The position of a leaf (an entry) in the log, counting from zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafIndex(u64);

/// The number of leaves in a tree, as carried by a checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TreeSize(u64);

macro_rules! number_newtype {
    ($name:ident) => {
        impl $name {
            /// Wraps a number.
            pub const fn new(value: u64) -> Self {
                Self(value)
            }

            /// Returns the number.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(value: u64) -> Self {
                Self(value)
            }
        }

        impl From<$name> for u64 {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        /// Parses ASCII decimal digits with no sign and no leading zeroes (the form used by
        /// C2SP tlog-checkpoint).
        impl FromStr for $name {
            type Err = Error;

            fn from_str(text: &str) -> Result<Self, Error> {
                parse_decimal(text)
                    .map(Self)
                    .ok_or_else(|| Error::InvalidDecimal {
                        text: truncate(text, 40),
                    })
            }
        }
    };
}

number_newtype!(LeafIndex);
number_newtype!(TreeSize);

impl TreeSize {
    /// Whether the tree has a leaf at `index` (`index < self`).
    pub const fn contains(self, index: LeafIndex) -> bool {
        index.0 < self.0
    }
}

/// Parses canonical ASCII decimal: digits only, no leading zeroes, no overflow.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    let canonical = !bytes.is_empty()
        && bytes.iter().all(u8::is_ascii_digit)
        && (bytes[0] != b'0' || bytes.len() == 1);
    if !canonical {
        return None;
    }
    text.parse().ok()
}

/// A complete subtree: the perfect binary tree over leaves `[index·2^level, (index+1)·2^level)`.
///
/// Only subtrees whose leaves all have `u64` indices can be built, so `level <= 63`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Subtree {
    level: u8,
    index: u64,
}

impl Subtree {
    /// The subtree at `level` (height above the leaves) and `index` (position among the
    /// subtrees of that level, from the left).
    ///
    /// Fails with [`Error::InvalidSubtree`] if the subtree's leaves would not fit in a tree
    /// whose size is a `u64`.
    pub fn new(level: u8, index: u64) -> Result<Self, Error> {
        let end = (u128::from(index) + 1) << level.min(64);
        if level > 63 || end > u128::from(u64::MAX) {
            return Err(Error::InvalidSubtree { level, index });
        }
        Ok(Self { level, index })
    }

    /// The single-leaf subtree (level 0) of a leaf.
    ///
    /// Fails only for the index `u64::MAX`, which no `u64`-sized tree contains.
    pub fn leaf(index: LeafIndex) -> Result<Self, Error> {
        Self::new(0, index.get())
    }

    /// Builds a subtree that the caller knows to be valid.
    pub(crate) const fn new_unchecked(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// The height of the subtree above the leaves; 0 for a single leaf.
    pub const fn level(self) -> u8 {
        self.level
    }

    /// The position of the subtree among the subtrees of its level, from the left.
    pub const fn index(self) -> u64 {
        self.index
    }

    /// The leaf indices the subtree covers.
    pub const fn leaves(self) -> Range<u64> {
        // `new` checked that the end fits in a u64.
        (self.index << self.level)..((self.index + 1) << self.level)
    }
}

impl fmt::Display for Subtree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "level {} index {}", self.level, self.index)
    }
}

/// A source of complete-subtree hashes: the storage behind roots and proofs.
///
/// Implementations answer for the subtrees of one tree (for example, the tree of the latest
/// checkpoint).
/// [`MemoryTree`] keeps every level in memory; a tile-backed implementation maps each subtree
/// to a hash range in a tile with [`Tile::for_subtree`](crate::tile::Tile::for_subtree).
///
/// The trait is synchronous and does no I/O itself: a storage layer fetches what it needs
/// first (for example, the tiles for a tree size) and then answers from that.
pub trait SubtreeHashes {
    /// Returns the hash of a complete subtree.
    ///
    /// Return [`Error::SubtreeUnavailable`] for a subtree that is not complete or not stored,
    /// and [`Error::Storage`] for a failure of the implementation's own.
    fn subtree_hash(&self, subtree: Subtree) -> Result<Hash, Error>;

    /// Returns the hashes of several complete subtrees, in the order asked.
    ///
    /// Roots and proofs ask for all the hashes they need in one call, so that an
    /// implementation can batch its reads.
    /// The default asks [`subtree_hash`](Self::subtree_hash) for each one.
    fn subtree_hashes(&self, subtrees: &[Subtree]) -> Result<Vec<Hash>, Error> {
        subtrees
            .iter()
            .map(|&subtree| self.subtree_hash(subtree))
            .collect()
    }
}

/// A tree held entirely in memory, storing the hash of every complete subtree.
///
/// It is the reference [`SubtreeHashes`] implementation, meant for tests, tools and small
/// logs: it uses about two hashes (64 bytes) of memory per leaf.
///
/// ```
/// use custody_log::{LeafIndex, MemoryTree, TreeSize, leaf_hash, proof};
///
/// let tree = MemoryTree::from_leaf_hashes((0..5u8).map(|i| leaf_hash(&[i])));
/// let path = proof::inclusion_proof(&tree, LeafIndex::new(3), tree.size())?;
/// proof::verify_inclusion(&leaf_hash(&[3]), LeafIndex::new(3), TreeSize::new(5), &path, &tree.root())?;
/// # Ok::<(), custody_log::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    /// `levels[h][k]` is the hash of the complete subtree at level h, index k.
    levels: Vec<Vec<Hash>>,
    /// The right edge, which gives the root in O(log n).
    frontier: Frontier,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree with the given leaf hashes, in order.
    pub fn from_leaf_hashes(leaf_hashes: impl IntoIterator<Item = Hash>) -> Self {
        let mut tree = Self::new();
        for leaf_hash in leaf_hashes {
            tree.append(leaf_hash);
        }
        tree
    }

    /// Appends a leaf hash and returns the new leaf's index.
    pub fn append(&mut self, leaf_hash: Hash) -> LeafIndex {
        let index = LeafIndex::new(self.frontier.size().get());
        // A tree in memory cannot reach 2^64 - 1 leaves, so `append` cannot report `TreeFull`.
        if let Ok(completed) = self.frontier.append(leaf_hash) {
            for (subtree, hash) in completed {
                let level = usize::from(subtree.level());
                if self.levels.len() <= level {
                    self.levels.resize_with(level + 1, Vec::new);
                }
                debug_assert_eq!(self.levels[level].len() as u64, subtree.index());
                self.levels[level].push(hash);
            }
        }
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        self.frontier.size()
    }

    /// The root hash of the whole tree (RFC 9162 §2.1.1 `MTH`).
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// The right edge of the tree, from which appends can continue in O(log n).
    pub fn frontier(&self) -> &Frontier {
        &self.frontier
    }
}

impl SubtreeHashes for MemoryTree {
    fn subtree_hash(&self, subtree: Subtree) -> Result<Hash, Error> {
        usize::try_from(subtree.index())
            .ok()
            .and_then(|index| self.levels.get(usize::from(subtree.level()))?.get(index))
            .copied()
            .ok_or(Error::SubtreeUnavailable { subtree })
    }
}

/// Returns the root hash of the tree of the first `size` leaves (RFC 9162 §2.1.1 `MTH`).
///
/// It reads one complete subtree per one bit of `size` (the RFC's split at the largest power
/// of two, applied recursively) and combines them from the right.
/// The tree behind `hashes` may be larger than `size`.
pub fn root_hash<T: SubtreeHashes + ?Sized>(hashes: &T, size: TreeSize) -> Result<Hash, Error> {
    let subtrees = range_subtrees(0, size.get());
    let read = read_subtrees(hashes, &subtrees)?;
    Ok(fold_from_right(&read))
}

/// The complete subtrees whose combination is `MTH(D[start:end])`, from left to right.
///
/// Requires `start` to be a multiple of the smallest power of two that is `>= end - start`,
/// which holds for every range that RFC 9162 roots and proofs hash.
/// Then the RFC's recursive split at the largest power of two smaller than the range length
/// yields one complete subtree per one bit of `end - start`, largest first.
pub(crate) fn range_subtrees(start: u64, end: u64) -> Vec<Subtree> {
    debug_assert!(start <= end);
    let len = end - start;
    debug_assert!(
        len == 0
            || len
                .checked_next_power_of_two()
                .map_or(start == 0, |alignment| start.is_multiple_of(alignment))
    );
    let mut subtrees = Vec::with_capacity(len.count_ones() as usize);
    let mut position = start;
    for level in (0..64u8).rev() {
        let size = 1u64 << level;
        if len & size != 0 {
            subtrees.push(Subtree::new_unchecked(level, position >> level));
            position += size;
        }
    }
    subtrees
}

/// Reads subtree hashes, checking that the implementation returned one per subtree.
pub(crate) fn read_subtrees<T: SubtreeHashes + ?Sized>(
    hashes: &T,
    subtrees: &[Subtree],
) -> Result<Vec<Hash>, Error> {
    if subtrees.is_empty() {
        return Ok(Vec::new());
    }
    let read = hashes.subtree_hashes(subtrees)?;
    if let Some(&missing) = subtrees.get(read.len()) {
        return Err(Error::SubtreeUnavailable { subtree: missing });
    }
    if read.len() > subtrees.len() {
        return Err(Error::Storage(
            format!(
                "asked for {} subtree hashes, got {}",
                subtrees.len(),
                read.len()
            )
            .into(),
        ));
    }
    Ok(read)
}

/// Combines the hashes of adjacent complete subtrees, largest (leftmost) first, into the
/// hash of the range they span: `node_hash(h0, node_hash(h1, … node_hash(hn-1, hn)))`.
///
/// An empty slice gives the empty-tree hash.
pub(crate) fn fold_from_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(&last) = iter.next() else {
        return EMPTY_TREE_HASH;
    };
    iter.fold(last, |right, left| node_hash(left, &right))
}

#[cfg(test)]
mod tests;
