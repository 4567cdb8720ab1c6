//! RFC 9162 inclusion proofs (§2.1.3) and consistency proofs (§2.1.4): generation from stored
//! subtree hashes, and verification.
//!
//! Generation follows the RFC's recursive definitions (`PATH` and `SUBPROOF`), computing
//! each proof hash from the complete subtrees that make it up.
//! Verification follows the RFC's step-by-step algorithms (§2.1.3.2 and §2.1.4.2); the
//! comments quote the step numbers.
//!
//! Proofs are plain slices of [`Hash`](struct@Hash)es, ordered as in the RFC: from the leaf (or the
//! first tree) upwards.
//!
//! ```
//! use custody_log::{MemoryTree, TreeSize, leaf_hash, proof, root_hash};
//!
//! let mut tree = MemoryTree::new();
//! for entry in [&b"a"[..], b"b", b"c"] {
//!     tree.append(leaf_hash(entry));
//! }
//! let old_root = root_hash(&tree, TreeSize::new(2))?;
//! tree.append(leaf_hash(b"d"));
//!
//! let path = proof::consistency_proof(&tree, TreeSize::new(2), tree.size())?;
//! proof::verify_consistency(TreeSize::new(2), tree.size(), &old_root, &tree.root(), &path)?;
//! # Ok::<(), custody_log::Error>(())
//! ```

use std::ops::Range;

use crate::error::Error;
use crate::hash::{Hash, node_hash};
use crate::tree::{
    LeafIndex, SubtreeHashes, TreeSize, fold_from_right, range_subtrees, read_subtrees,
};

/// Generates the inclusion proof (RFC 9162 §2.1.3.1 `PATH(m, D[n])`) of the leaf at
/// `leaf_index` in the tree of the first `tree_size` leaves.
///
/// The tree behind `tree` may be larger than `tree_size`.
/// Fails with [`Error::IndexOutOfRange`] if `leaf_index >= tree_size`.
pub fn inclusion_proof<T: SubtreeHashes + ?Sized>(
    tree: &T,
    leaf_index: LeafIndex,
    tree_size: TreeSize,
) -> Result<Vec<Hash>, Error> {
    if !tree_size.contains(leaf_index) {
        return Err(Error::IndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    read_ranges(tree, &inclusion_ranges(leaf_index.get(), tree_size.get()))
}

/// Generates the consistency proof (RFC 9162 §2.1.4.1 `PROOF(m, D[n])`) between the tree of
/// the first `first` leaves and the tree of the first `second` leaves.
///
/// The proof is empty when `first == second`.
/// Fails with [`Error::SizeDecreased`] if `second < first`, and with
/// [`Error::ConsistencyFromEmptyTree`] if `first` is zero.
pub fn consistency_proof<T: SubtreeHashes + ?Sized>(
    tree: &T,
    first: TreeSize,
    second: TreeSize,
) -> Result<Vec<Hash>, Error> {
    if second < first {
        return Err(Error::SizeDecreased { first, second });
    }
    if first.get() == 0 {
        return Err(Error::ConsistencyFromEmptyTree);
    }
    read_ranges(tree, &consistency_ranges(first.get(), second.get()))
}

/// Verifies that `hash` is the leaf hash at `leaf_index` in the tree of size `tree_size` whose
/// root is `root_hash`, following RFC 9162 §2.1.3.2.
///
/// Fails with [`Error::IndexOutOfRange`] if `leaf_index >= tree_size`,
/// [`Error::WrongProofLength`] if `inclusion_path` is too short or too long, and
/// [`Error::RootMismatch`] if the computed root differs from `root_hash`.
///
/// The tree size is authenticated only through `root_hash`: callers must take both from the
/// same verified checkpoint.
pub fn verify_inclusion(
    hash: &Hash,
    leaf_index: LeafIndex,
    tree_size: TreeSize,
    inclusion_path: &[Hash],
    root_hash: &Hash,
) -> Result<(), Error> {
    let wrong_length = || Error::WrongProofLength {
        expected: inclusion_ranges(leaf_index.get(), tree_size.get()).len(),
        actual: inclusion_path.len(),
    };

    // Step 1: compare leaf_index against tree_size; fail if leaf_index >= tree_size.
    if !tree_size.contains(leaf_index) {
        return Err(Error::IndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    // Step 2: set fn to leaf_index and sn to tree_size - 1 (no underflow: tree_size > 0).
    let mut fn_ = leaf_index.get();
    let mut sn = tree_size.get() - 1;
    // Step 3: set r to hash.
    let mut r = *hash;
    // Step 4: for each value p in the inclusion_path array:
    for p in inclusion_path {
        // Step 4a: if sn is 0, stop the iteration and fail the proof verification.
        if sn == 0 {
            return Err(wrong_length());
        }
        // Step 4b: if LSB(fn) is set, or if fn is equal to sn, then:
        if lsb(fn_) || fn_ == sn {
            // Step 4b.i: set r to HASH(0x01 || p || r).
            r = node_hash(p, &r);
            // Step 4b.ii: if LSB(fn) is not set, right-shift both fn and sn equally until
            // either LSB(fn) is set or fn is 0.
            if !lsb(fn_) {
                while !lsb(fn_) && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            // Step 4b, otherwise, i: set r to HASH(0x01 || r || p).
            r = node_hash(&r, p);
        }
        // Step 4c: finally, right-shift both fn and sn one time.
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5: compare sn to 0, and r against root_hash; the proof holds only if sn is 0 and
    // r equals root_hash.
    if sn != 0 {
        return Err(wrong_length());
    }
    if r != *root_hash {
        return Err(Error::RootMismatch {
            size: tree_size,
            expected: *root_hash,
            computed: r,
        });
    }
    Ok(())
}

/// Verifies that the tree of size `second` with root `second_hash` extends the tree of size
/// `first` with root `first_hash`, following RFC 9162 §2.1.4.2.
///
/// The RFC algorithm covers `0 < first < second`. Around it:
/// - `second < first` fails with [`Error::SizeDecreased`];
/// - `first == 0` fails with [`Error::ConsistencyFromEmptyTree`] (there is nothing to prove);
/// - `first == second` needs an empty proof and `first_hash == second_hash`.
///
/// Otherwise it fails with [`Error::WrongProofLength`] if `consistency_path` is too short or
/// too long, and with [`Error::RootMismatch`] (naming the size) if either root differs.
pub fn verify_consistency(
    first: TreeSize,
    second: TreeSize,
    first_hash: &Hash,
    second_hash: &Hash,
    consistency_path: &[Hash],
) -> Result<(), Error> {
    if second < first {
        return Err(Error::SizeDecreased { first, second });
    }
    if first.get() == 0 {
        return Err(Error::ConsistencyFromEmptyTree);
    }
    let wrong_length = || Error::WrongProofLength {
        expected: consistency_ranges(first.get(), second.get()).len(),
        actual: consistency_path.len(),
    };
    if first == second {
        if !consistency_path.is_empty() {
            return Err(wrong_length());
        }
        if first_hash != second_hash {
            return Err(Error::RootMismatch {
                size: second,
                expected: *second_hash,
                computed: *first_hash,
            });
        }
        return Ok(());
    }

    // From here on, 0 < first < second as §2.1.4.2 requires.
    // Step 1: if consistency_path is an empty array, stop and fail the proof verification.
    if consistency_path.is_empty() {
        return Err(wrong_length());
    }
    // Step 2: if first is an exact power of 2, prepend first_hash to consistency_path.
    let prefix = first.get().is_power_of_two().then_some(first_hash);
    let mut path = prefix.into_iter().chain(consistency_path);
    // Step 3: set fn to first - 1 and sn to second - 1.
    let mut fn_ = first.get() - 1;
    let mut sn = second.get() - 1;
    // Step 4: if LSB(fn) is set, right-shift both fn and sn equally until LSB(fn) is not set.
    if lsb(fn_) {
        while lsb(fn_) {
            fn_ >>= 1;
            sn >>= 1;
        }
    }
    // Step 5: set both fr and sr to the first value in the consistency_path array.
    // (Step 1 made the array non-empty.)
    let Some(&seed) = path.next() else {
        return Err(wrong_length());
    };
    let mut fr = seed;
    let mut sr = seed;
    // Step 6: for each subsequent value c in the consistency_path array:
    for c in path {
        // Step 6a: if sn is 0, stop the iteration and fail the proof verification.
        if sn == 0 {
            return Err(wrong_length());
        }
        // Step 6b: if LSB(fn) is set, or if fn is equal to sn, then:
        if lsb(fn_) || fn_ == sn {
            // Step 6b.i: set fr to HASH(0x01 || c || fr).
            fr = node_hash(c, &fr);
            // Step 6b.ii: set sr to HASH(0x01 || c || sr).
            sr = node_hash(c, &sr);
            // Step 6b.iii: if LSB(fn) is not set, right-shift both fn and sn equally until
            // either LSB(fn) is set or fn is 0.
            if !lsb(fn_) {
                while !lsb(fn_) && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            // Step 6b, otherwise, i: set sr to HASH(0x01 || sr || c).
            sr = node_hash(&sr, c);
        }
        // Step 6c: finally, right-shift both fn and sn one time.
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7: verify that fr equals first_hash, that sr equals second_hash, and that sn is 0.
    if sn != 0 {
        return Err(wrong_length());
    }
    if fr != *first_hash {
        return Err(Error::RootMismatch {
            size: first,
            expected: *first_hash,
            computed: fr,
        });
    }
    if sr != *second_hash {
        return Err(Error::RootMismatch {
            size: second,
            expected: *second_hash,
            computed: sr,
        });
    }
    Ok(())
}

/// `LSB(x)` of RFC 9162: whether the least significant bit is set.
const fn lsb(x: u64) -> bool {
    x & 1 == 1
}

/// The largest power of two smaller than `n`, the `k` of RFC 9162 §2.1.1; `n` must be > 1.
const fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The leaf ranges whose `MTH` make up `PATH(m, D[0:n])` (RFC 9162 §2.1.3.1), in proof order
/// (from the leaf upwards). Requires `m < n`.
///
/// The RFC recursion is:
/// - `PATH(0, {d(0)}) = {}`;
/// - for `n > 1` and `k` the largest power of two smaller than `n`:
///   - if `m < k`, `PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n])`;
///   - if `m >= k`, `PATH(m, D[n]) = PATH(m - k, D[k:n]) : MTH(D[0:k])`.
///
/// Walking it from the top collects the hashes root-first; reversing gives proof order.
fn inclusion_ranges(m: u64, n: u64) -> Vec<Range<u64>> {
    let mut ranges = Vec::new();
    let (mut low, mut high) = (0u64, n);
    while high - low > 1 {
        let k = split_point(high - low);
        if m - low < k {
            ranges.push(low + k..high);
            high = low + k;
        } else {
            ranges.push(low..low + k);
            low += k;
        }
    }
    ranges.reverse();
    ranges
}

/// The leaf ranges whose `MTH` make up `PROOF(m, D[n])` (RFC 9162 §2.1.4.1), in proof order.
/// Requires `0 < m <= n`.
///
/// The RFC recursion is `PROOF(m, D[n]) = SUBPROOF(m, D[n], true)` with:
/// - `SUBPROOF(m, D[m], true) = {}` and `SUBPROOF(m, D[m], false) = {MTH(D[m])}`;
/// - for `m < n` and `k` the largest power of two smaller than `n`:
///   - if `m <= k`, `SUBPROOF(m, D[n], b) = SUBPROOF(m, D[0:k], b) : MTH(D[k:n])`;
///   - if `m > k`, `SUBPROOF(m, D[n], b) = SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])`.
fn consistency_ranges(m: u64, n: u64) -> Vec<Range<u64>> {
    let mut ranges = Vec::new();
    let (mut low, mut high) = (0u64, n);
    let mut b = true;
    while m != high {
        let k = split_point(high - low);
        if m - low <= k {
            ranges.push(low + k..high);
            high = low + k;
        } else {
            ranges.push(low..low + k);
            low += k;
            b = false;
        }
    }
    if !b {
        ranges.push(low..high);
    }
    ranges.reverse();
    ranges
}

/// Reads the complete subtrees of each range in one batch and combines them per range.
fn read_ranges<T: SubtreeHashes + ?Sized>(
    tree: &T,
    ranges: &[Range<u64>],
) -> Result<Vec<Hash>, Error> {
    let per_range: Vec<_> = ranges
        .iter()
        .map(|range| range_subtrees(range.start, range.end))
        .collect();
    let all: Vec<_> = per_range.iter().flatten().copied().collect();
    let hashes = read_subtrees(tree, &all)?;
    let mut rest = hashes.as_slice();
    let mut proof = Vec::with_capacity(ranges.len());
    for subtrees in &per_range {
        let (these, others) = rest.split_at(subtrees.len());
        proof.push(fold_from_right(these));
        rest = others;
    }
    Ok(proof)
}

#[cfg(test)]
mod tests;
