//! Property tests of the Merkle tree invariants.
//!
//! Leaves are distinct (each starts with its index), as in any real log: a proof's hashes then
//! pin down the leaf, its position and the tree size, so every mutation must be rejected.

use custody_log::{
    Error, Frontier, Hash, LeafIndex, MemoryTree, Subtree, SubtreeHashes, TreeSize, leaf_hash,
    node_hash, proof, root_hash,
};
use proptest::prelude::*;

/// Distinct leaf hashes for a tree of `size` leaves; `salt` varies the contents.
fn leaves(size: u64, salt: u64) -> Vec<Hash> {
    (0..size)
        .map(|i| {
            let mut data = i.to_be_bytes().to_vec();
            data.extend_from_slice(&salt.to_be_bytes());
            leaf_hash(&data)
        })
        .collect()
}

fn tree(size: u64, salt: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes(leaves(size, salt))
}

/// The largest power of two smaller than `n` (`n > 1`), the `k` of RFC 9162 §2.1.1.
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// `MTH(D[n])`, straight from the recursive definition in RFC 9162 §2.1.1.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => custody_log::EMPTY_TREE_HASH,
        1 => d[0],
        n => {
            let k = split(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// `PATH(m, D[n])`, straight from RFC 9162 §2.1.3.1.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    let (mut sub, sibling) = if m < k {
        (path(m, &d[..k]), mth(&d[k..]))
    } else {
        (path(m - k, &d[k..]), mth(&d[..k]))
    };
    sub.push(sibling);
    sub
}

/// `SUBPROOF(m, D[n], b)`, straight from RFC 9162 §2.1.4.1.
fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(d)] };
    }
    let k = split(n);
    let (mut sub, sibling) = if m <= k {
        (subproof(m, &d[..k], b), mth(&d[k..]))
    } else {
        (subproof(m - k, &d[k..], false), mth(&d[..k]))
    };
    sub.push(sibling);
    sub
}

fn flip(hash: &Hash, bit: u8) -> Hash {
    let mut bytes = hash.to_bytes();
    bytes[usize::from(bit / 8)] ^= 1 << (bit % 8);
    Hash::from_bytes(bytes)
}

/// Which part of a claim to change by one bit.
#[derive(Clone, Debug)]
enum Flip {
    /// A hash of the proof (chosen modulo its length), at a bit 0..256.
    ProofHash(usize, u8),
    /// The root (for consistency: the first root), at a bit.
    Root(u8),
    /// The leaf hash (for consistency: the second root), at a bit.
    Leaf(u8),
    /// The leaf index (for consistency: the first size), at a bit 0..64.
    Index(u8),
    /// The tree size (for consistency: the second size), at a bit 0..64.
    Size(u8),
}

fn flips() -> impl Strategy<Value = Flip> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, bit)| Flip::ProofHash(i, bit)),
        any::<u8>().prop_map(Flip::Root),
        any::<u8>().prop_map(Flip::Leaf),
        (0..64u8).prop_map(Flip::Index),
        (0..64u8).prop_map(Flip::Size),
    ]
}

/// Flips one bit of a proof hash; `false` if the proof is empty.
fn flip_proof(path: &mut [Hash], i: usize, bit: u8) -> bool {
    if path.is_empty() {
        return false;
    }
    let i = i % path.len();
    path[i] = flip(&path[i], bit);
    true
}

/// A tree with twice as many leaves as needed (rounded up to a power of two), so that the
/// root of any size reachable by flipping a bit below the top bit of `size` is known.
fn big_tree(size: u64, salt: u64) -> MemoryTree {
    tree((size + 1).next_power_of_two() * 2, salt)
}

/// The root of the first `size` leaves of `tree`, if the tree has that many.
///
/// A tree size is only ever checked together with its root (both come from one checkpoint),
/// so a changed size is checked with the root of that size where one exists.
/// Sizes beyond the tree are far larger than the original (a flip of a high bit), and are
/// checked with the original root.
fn root_for(tree: &MemoryTree, size: TreeSize, fallback: Hash) -> Hash {
    if size <= tree.size() {
        root_hash(tree, size).expect("root of a prefix")
    } else {
        fallback
    }
}

proptest! {
    #[test]
    fn every_leaf_proves_inclusion(size in 1..300u64, salt in any::<u64>()) {
        let tree = tree(size, salt);
        let root = tree.root();
        for (i, leaf) in leaves(size, salt).iter().enumerate() {
            let index = LeafIndex::new(i as u64);
            let path = proof::inclusion_proof(&tree, index, tree.size()).expect("proof");
            prop_assert_eq!(proof::verify_inclusion(leaf, index, tree.size(), &path, &root).ok(), Some(()));
        }
    }

    #[test]
    fn proofs_in_a_larger_tree_match_the_rfc_definitions(
        (size, m) in (1..200u64).prop_flat_map(|n| (Just(n), 0..n)),
        extra in 0..50u64,
        salt in any::<u64>(),
    ) {
        // The stored tree may be larger than the tree size asked about.
        let tree = tree(size + extra, salt);
        let d = leaves(size, salt);
        let size_t = TreeSize::new(size);
        prop_assert_eq!(root_hash(&tree, size_t).expect("root"), mth(&d));
        prop_assert_eq!(
            proof::inclusion_proof(&tree, LeafIndex::new(m), size_t).expect("inclusion"),
            path(m as usize, &d)
        );
        let first = m + 1;
        prop_assert_eq!(
            proof::consistency_proof(&tree, TreeSize::new(first), size_t).expect("consistency"),
            subproof(first as usize, &d, true)
        );
    }

    #[test]
    fn random_pairs_of_sizes_are_consistent(
        (second, first) in (1..3000u64).prop_flat_map(|n| (Just(n), 1..=n)),
        salt in any::<u64>(),
    ) {
        let tree = tree(second, salt);
        let (first, second) = (TreeSize::new(first), TreeSize::new(second));
        let first_hash = root_hash(&tree, first).expect("first root");
        let path = proof::consistency_proof(&tree, first, second).expect("proof");
        prop_assert_eq!(
            proof::verify_consistency(first, second, &first_hash, &tree.root(), &path).ok(),
            Some(())
        );
    }

    #[test]
    fn inclusion_rejects_any_single_bit_flip(
        (size, index) in (1..300u64).prop_flat_map(|n| (Just(n), 0..n)),
        salt in any::<u64>(),
        flip_at in flips(),
    ) {
        let tree = big_tree(size, salt);
        let size_t = TreeSize::new(size);
        let mut index = LeafIndex::new(index);
        let mut tree_size = size_t;
        let mut root = root_hash(&tree, size_t).expect("root");
        let mut leaf = leaves(size, salt)[index.get() as usize];
        let mut path = proof::inclusion_proof(&tree, index, size_t).expect("proof");
        prop_assert!(proof::verify_inclusion(&leaf, index, tree_size, &path, &root).is_ok());
        match flip_at {
            Flip::ProofHash(i, bit) => {
                if !flip_proof(&mut path, i, bit) {
                    root = flip(&root, bit);
                }
            }
            Flip::Root(bit) => root = flip(&root, bit),
            Flip::Leaf(bit) => leaf = flip(&leaf, bit),
            Flip::Index(bit) => index = LeafIndex::new(index.get() ^ (1 << bit)),
            Flip::Size(bit) => {
                tree_size = TreeSize::new(size ^ (1 << bit));
                root = root_for(&tree, tree_size, root);
            }
        }
        prop_assert!(proof::verify_inclusion(&leaf, index, tree_size, &path, &root).is_err());
    }

    #[test]
    fn consistency_rejects_any_single_bit_flip(
        (second, first) in (1..300u64).prop_flat_map(|n| (Just(n), 1..=n)),
        salt in any::<u64>(),
        flip_at in flips(),
    ) {
        let tree = big_tree(second, salt);
        let (mut first, mut second) = (TreeSize::new(first), TreeSize::new(second));
        let mut first_hash = root_hash(&tree, first).expect("first root");
        let mut second_hash = root_hash(&tree, second).expect("second root");
        let mut path = proof::consistency_proof(&tree, first, second).expect("proof");
        prop_assert!(proof::verify_consistency(first, second, &first_hash, &second_hash, &path).is_ok());
        match flip_at {
            Flip::ProofHash(i, bit) => {
                if !flip_proof(&mut path, i, bit) {
                    second_hash = flip(&second_hash, bit);
                }
            }
            Flip::Root(bit) => first_hash = flip(&first_hash, bit),
            Flip::Leaf(bit) => second_hash = flip(&second_hash, bit),
            Flip::Index(bit) => {
                first = TreeSize::new(first.get() ^ (1 << bit));
                first_hash = root_for(&tree, first, first_hash);
            }
            Flip::Size(bit) => {
                second = TreeSize::new(second.get() ^ (1 << bit));
                second_hash = root_for(&tree, second, second_hash);
            }
        }
        prop_assert!(proof::verify_consistency(first, second, &first_hash, &second_hash, &path).is_err());
    }

    #[test]
    fn verification_never_panics_on_arbitrary_claims(
        index in any::<u64>(),
        size in any::<u64>(),
        first in any::<u64>(),
        hashes in proptest::collection::vec(any::<[u8; 32]>(), 0..80),
    ) {
        let hashes: Vec<Hash> = hashes.into_iter().map(Hash::from_bytes).collect();
        let some = Hash::from_bytes([7; 32]);
        // The outcome is almost surely an error; what matters is that it is returned.
        let _ = proof::verify_inclusion(&some, LeafIndex::new(index), TreeSize::new(size), &hashes, &some);
        let _ = proof::verify_consistency(TreeSize::new(first), TreeSize::new(size), &some, &some, &hashes);
    }
}

proptest! {
    // Comparing with the from-scratch root after every append is quadratic: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn frontier_root_equals_the_root_from_scratch(size in 0..600u64, salt in any::<u64>()) {
        let d = leaves(size, salt);
        let mut frontier = Frontier::new();
        let mut tree = MemoryTree::new();
        prop_assert_eq!(frontier.root(), mth(&[]));
        for (i, leaf) in d.iter().enumerate() {
            let completed = frontier.append(*leaf).expect("append");
            tree.append(*leaf);
            prop_assert_eq!(frontier.root(), mth(&d[..=i]));
            prop_assert_eq!(frontier.size(), TreeSize::new(i as u64 + 1));
            // Each completed subtree's hash is MTH of its leaves.
            for (subtree, hash) in completed {
                let leaves = subtree.leaves();
                prop_assert_eq!(leaves.end, i as u64 + 1);
                prop_assert_eq!(hash, mth(&d[leaves.start as usize..leaves.end as usize]));
            }
        }
        prop_assert_eq!(&frontier, tree.frontier());
        prop_assert_eq!(frontier.root(), root_hash(&tree, frontier.size()).expect("root"));
        // The frontier's subtrees are the stored ones.
        for (subtree, hash) in frontier.subtrees() {
            prop_assert_eq!(tree.subtree_hash(subtree).ok(), Some(hash));
        }
        // The frontier can be rebuilt from storage, or from its parts, and continues alike.
        let size_t = TreeSize::new(size);
        let mut rebuilt = Frontier::from_tree(&tree, size_t).expect("from tree");
        prop_assert_eq!(&rebuilt, &frontier);
        let mut from_parts = Frontier::from_parts(size_t, frontier.hashes().to_vec()).expect("parts");
        let next = leaf_hash(b"next");
        rebuilt.append(next).expect("append");
        from_parts.append(next).expect("append");
        frontier.append(next).expect("append");
        prop_assert_eq!(&rebuilt, &frontier);
        prop_assert_eq!(&from_parts, &frontier);
    }
}

/// Every pair of sizes `0 < m <= n <= 70` of one tree is consistent, and every leaf of every
/// one of those trees proves inclusion (exhaustive, beside the random pairs above).
#[test]
fn every_pair_of_small_sizes_is_consistent() {
    let tree = tree(70, 1);
    let roots: Vec<Hash> = (0..=70)
        .map(|n| root_hash(&tree, TreeSize::new(n)).expect("root"))
        .collect();
    for n in 1..=70u64 {
        let second = TreeSize::new(n);
        for m in 1..=n {
            let first = TreeSize::new(m);
            let path = proof::consistency_proof(&tree, first, second).expect("consistency");
            proof::verify_consistency(first, second, &roots[m as usize], &roots[n as usize], &path)
                .unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
        }
        for i in 0..n {
            let index = LeafIndex::new(i);
            let leaf = tree
                .subtree_hash(Subtree::leaf(index).expect("leaf"))
                .expect("leaf hash");
            let path = proof::inclusion_proof(&tree, index, second).expect("inclusion");
            proof::verify_inclusion(&leaf, index, second, &path, &roots[n as usize])
                .unwrap_or_else(|e| panic!("leaf {i} of {n}: {e}"));
        }
    }
}

/// RFC 9162 §2.1.5 example tree of seven leaves d0..d6: the proofs listed in the RFC, by name.
#[test]
fn rfc9162_example_proofs() {
    let tree = tree(7, 0);
    let d: Vec<Hash> = leaves(7, 0);
    let (a, b, c, dd, e, f) = (d[0], d[1], d[2], d[3], d[4], d[5]);
    let d6 = d[6];
    let g = node_hash(&a, &b);
    let h = node_hash(&c, &dd);
    let i = node_hash(&e, &f);
    let j = d6;
    let k = node_hash(&g, &h);
    let l = node_hash(&i, &j);
    assert_eq!(tree.root(), node_hash(&k, &l));
    let seven = TreeSize::new(7);
    let inclusion =
        |m: u64| proof::inclusion_proof(&tree, LeafIndex::new(m), seven).expect("inclusion");
    assert_eq!(inclusion(0), [b, h, l]);
    assert_eq!(inclusion(3), [c, g, l]);
    assert_eq!(inclusion(4), [f, j, k]);
    assert_eq!(inclusion(6), [i, k]);
    let consistency =
        |m: u64| proof::consistency_proof(&tree, TreeSize::new(m), seven).expect("consistency");
    assert_eq!(consistency(3), [c, dd, g, l]);
    assert_eq!(consistency(4), [l]);
    assert_eq!(consistency(6), [i, j, k]);
}

/// The size is authenticated only through the root: a proof for leaf 0 of a 5-leaf tree also
/// fits the shape of a 7-leaf tree, so with the 5-leaf root it "verifies" for size 7.
/// Callers must take size and root from the same verified checkpoint.
#[test]
fn tree_size_is_bound_only_through_the_root() {
    let tree = tree(7, 3);
    let five = TreeSize::new(5);
    let seven = TreeSize::new(7);
    let leaf = leaves(1, 3)[0];
    let path = proof::inclusion_proof(&tree, LeafIndex::new(0), five).expect("proof");
    let root5 = root_hash(&tree, five).expect("root");
    assert!(proof::verify_inclusion(&leaf, LeafIndex::new(0), seven, &path, &root5).is_ok());
    assert!(matches!(
        proof::verify_inclusion(&leaf, LeafIndex::new(0), seven, &path, &tree.root()),
        Err(Error::RootMismatch { .. })
    ));
}

#[test]
fn typed_errors_for_impossible_requests() {
    let tree = tree(5, 0);
    let five = TreeSize::new(5);
    assert!(matches!(
        proof::inclusion_proof(&tree, LeafIndex::new(5), five),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        proof::inclusion_proof(&tree, LeafIndex::new(0), TreeSize::new(0)),
        Err(Error::IndexOutOfRange { .. })
    ));
    assert!(matches!(
        proof::consistency_proof(&tree, five, TreeSize::new(4)),
        Err(Error::SizeDecreased { .. })
    ));
    assert!(matches!(
        proof::consistency_proof(&tree, TreeSize::new(0), five),
        Err(Error::ConsistencyFromEmptyTree)
    ));
    // The stored tree is smaller than the tree asked about.
    assert!(matches!(
        proof::inclusion_proof(&tree, LeafIndex::new(0), TreeSize::new(6)),
        Err(Error::SubtreeUnavailable { .. })
    ));
    assert!(matches!(
        root_hash(&tree, TreeSize::new(6)),
        Err(Error::SubtreeUnavailable { .. })
    ));
    assert!(
        proof::consistency_proof(&tree, five, five)
            .expect("equal sizes")
            .is_empty()
    );
    let root = tree.root();
    let leaf = leaves(1, 0)[0];
    let path = proof::inclusion_proof(&tree, LeafIndex::new(0), five).expect("proof");
    match proof::verify_inclusion(&leaf, LeafIndex::new(0), five, &path[..2], &root) {
        Err(Error::WrongProofLength {
            expected: 3,
            actual: 2,
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
    let mut long = path;
    long.push(root);
    match proof::verify_inclusion(&leaf, LeafIndex::new(0), five, &long, &root) {
        Err(Error::WrongProofLength {
            expected: 3,
            actual: 4,
        }) => {}
        other => panic!("unexpected {other:?}"),
    }
}

/// A `SubtreeHashes` implementation that returns too few hashes from its batch method is
/// reported, not trusted.
#[test]
fn short_batch_reads_are_reported() {
    struct Short(MemoryTree);
    impl SubtreeHashes for Short {
        fn subtree_hash(&self, subtree: Subtree) -> Result<Hash, Error> {
            self.0.subtree_hash(subtree)
        }
        fn subtree_hashes(&self, subtrees: &[Subtree]) -> Result<Vec<Hash>, Error> {
            let mut all = self.0.subtree_hashes(subtrees)?;
            all.pop();
            Ok(all)
        }
    }
    let short = Short(tree(7, 0));
    assert!(matches!(
        root_hash(&short, TreeSize::new(7)),
        Err(Error::SubtreeUnavailable { .. })
    ));
    assert!(matches!(
        proof::inclusion_proof(&short, LeafIndex::new(1), TreeSize::new(7)),
        Err(Error::SubtreeUnavailable { .. })
    ));
}
