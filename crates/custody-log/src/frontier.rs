//! The right edge of a tree, for appending leaves in O(log n).

use crate::error::Error;
use crate::hash::{EMPTY_TREE_HASH, Hash, node_hash};
use crate::tree::{
    Subtree, SubtreeHashes, TreeSize, fold_from_right, range_subtrees, read_subtrees,
};

/// The hashes of the complete subtrees along the right edge of a tree (its "frontier" or
/// compact range `[0, size)`).
///
/// A tree of size n is the concatenation of one complete subtree per one bit of n, largest
/// first; their hashes are all that is needed to compute the root and to append.
/// Appending a leaf and computing the new root both take O(log n) time, which is what a
/// sequencer does for each new entry.
///
/// ```
/// use custody_log::{Frontier, MemoryTree, leaf_hash, root_hash};
///
/// let mut frontier = Frontier::new();
/// for i in 0..6u8 {
///     frontier.append(leaf_hash(&[i]))?;
/// }
/// let tree = MemoryTree::from_leaf_hashes((0..6u8).map(|i| leaf_hash(&[i])));
/// assert_eq!(frontier.root(), root_hash(&tree, frontier.size())?);
/// # Ok::<(), custody_log::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: TreeSize,
    /// One hash per one bit of `size`, for the highest bit (the leftmost, largest subtree)
    /// first.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from its size and hashes, as returned by [`size`](Self::size) and
    /// [`hashes`](Self::hashes).
    ///
    /// Fails with [`Error::WrongFrontierLength`] unless there is exactly one hash per one bit
    /// of `size`.
    pub fn from_parts(size: TreeSize, hashes: Vec<Hash>) -> Result<Self, Error> {
        let expected = size.get().count_ones() as usize;
        if hashes.len() != expected {
            return Err(Error::WrongFrontierLength {
                size,
                expected,
                actual: hashes.len(),
            });
        }
        Ok(Self { size, hashes })
    }

    /// Reads the frontier of the first `size` leaves from stored subtree hashes, for example
    /// to resume appending after a restart.
    pub fn from_tree<T: SubtreeHashes + ?Sized>(tree: &T, size: TreeSize) -> Result<Self, Error> {
        let hashes = read_subtrees(tree, &range_subtrees(0, size.get()))?;
        Self::from_parts(size, hashes)
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The hashes of the complete subtrees on the right edge, largest (leftmost) first.
    pub fn hashes(&self) -> &[Hash] {
        &self.hashes
    }

    /// The complete subtrees on the right edge with their hashes, largest (leftmost) first.
    pub fn subtrees(&self) -> impl Iterator<Item = (Subtree, Hash)> + '_ {
        range_subtrees(0, self.size.get())
            .into_iter()
            .zip(self.hashes.iter().copied())
    }

    /// The root hash of the tree (RFC 9162 §2.1.1 `MTH`).
    pub fn root(&self) -> Hash {
        if self.hashes.is_empty() {
            return EMPTY_TREE_HASH;
        }
        fold_from_right(&self.hashes)
    }

    /// Appends a leaf hash.
    ///
    /// Returns every complete subtree that the new leaf completes, with its hash, from the
    /// leaf itself (level 0) upwards: the hashes a log stores (for example in tiles).
    /// Fails with [`Error::TreeFull`] if the tree already has `u64::MAX` leaves.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<Vec<(Subtree, Hash)>, Error> {
        let index = self.size.get();
        let new_size = index.checked_add(1).ok_or(Error::TreeFull)?;
        // The new leaf completes one subtree per trailing one bit of `index`, plus itself.
        let mut completed = Vec::with_capacity(index.trailing_ones() as usize + 1);
        // `index < u64::MAX`, so every subtree below ends at or before `index + 1`.
        completed.push((Subtree::new_unchecked(0, index), leaf_hash));
        let mut hash = leaf_hash;
        let mut level = 0u8;
        while (index >> level) & 1 == 1 {
            // `hashes` has one entry per one bit of `index`, so this pop succeeds; the
            // `else` keeps a broken invariant from becoming a panic.
            let Some(left) = self.hashes.pop() else {
                debug_assert!(false, "frontier shorter than its size's one bits");
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            completed.push((Subtree::new_unchecked(level, index >> level), hash));
        }
        self.hashes.push(hash);
        self.size = TreeSize::new(new_size);
        Ok(completed)
    }
}

#[cfg(test)]
mod tests;
