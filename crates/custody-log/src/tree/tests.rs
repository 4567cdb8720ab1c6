use super::*;
use crate::hash::leaf_hash;

#[test]
fn decimal_parsing_is_canonical() {
    assert_eq!(parse_decimal("0"), Some(0));
    assert_eq!(parse_decimal("10"), Some(10));
    assert_eq!(parse_decimal("18446744073709551615"), Some(u64::MAX));
    for bad in [
        "",
        "00",
        "01",
        "+1",
        "-1",
        " 1",
        "1 ",
        "1_0",
        "18446744073709551616",
        "٣",
    ] {
        assert_eq!(parse_decimal(bad), None, "{bad:?}");
    }
    assert_eq!("42".parse::<TreeSize>().ok(), Some(TreeSize::new(42)));
    assert_eq!("42".parse::<LeafIndex>().ok(), Some(LeafIndex::new(42)));
    assert!(matches!(
        "042".parse::<TreeSize>(),
        Err(Error::InvalidDecimal { .. })
    ));
    assert_eq!(TreeSize::new(7).to_string(), "7");
    assert_eq!(u64::from(LeafIndex::from(9)), 9);
    assert!(TreeSize::new(3).contains(LeafIndex::new(2)));
    assert!(!TreeSize::new(3).contains(LeafIndex::new(3)));
}

#[test]
fn subtree_bounds() {
    assert_eq!(Subtree::new(0, 5).map(Subtree::leaves).ok(), Some(5..6));
    assert_eq!(Subtree::new(3, 2).map(Subtree::leaves).ok(), Some(16..24));
    assert!(Subtree::new(63, 0).is_ok());
    assert!(Subtree::new(63, 1).is_err());
    assert!(Subtree::new(64, 0).is_err());
    assert!(Subtree::new(255, 0).is_err());
    assert!(Subtree::new(0, u64::MAX - 1).is_ok());
    assert!(Subtree::new(0, u64::MAX).is_err());
    assert!(Subtree::leaf(LeafIndex::new(u64::MAX)).is_err());
    assert!(Subtree::new(1, u64::MAX / 2 - 1).is_ok());
    assert!(Subtree::new(1, u64::MAX / 2).is_err());
    assert_eq!(Subtree::new_unchecked(2, 1).to_string(), "level 2 index 1");
}

#[test]
fn range_subtrees_follow_the_largest_power_of_two_split() {
    let pairs = |start, end| -> Vec<(u8, u64)> {
        range_subtrees(start, end)
            .into_iter()
            .map(|s| (s.level(), s.index()))
            .collect()
    };
    assert!(pairs(0, 0).is_empty());
    assert_eq!(pairs(0, 1), [(0, 0)]);
    assert_eq!(pairs(0, 7), [(2, 0), (1, 2), (0, 6)]);
    assert_eq!(pairs(4, 7), [(1, 2), (0, 6)]);
    assert_eq!(pairs(8, 16), [(3, 1)]);
    assert_eq!(pairs(0, u64::MAX).len(), 64);
}

#[test]
fn fold_of_nothing_is_the_empty_tree() {
    assert_eq!(fold_from_right(&[]), EMPTY_TREE_HASH);
    let one = leaf_hash(b"one");
    assert_eq!(fold_from_right(&[one]), one);
}

/// The roots of the first 1 to 8 leaves of the RFC 6962 test tree (as published with
/// Certificate Transparency implementations' tests).
#[test]
fn roots_of_the_rfc6962_test_tree() {
    let leaves: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let tree = MemoryTree::from_leaf_hashes(leaves.iter().map(|leaf| leaf_hash(leaf)));
    for (size, root) in (1..).zip(roots) {
        let computed = root_hash(&tree, TreeSize::new(size)).map(|h| h.to_string());
        assert_eq!(computed.ok().as_deref(), Some(root), "size {size}");
    }
    assert_eq!(tree.root().to_string(), roots[7]);
    assert_eq!(
        root_hash(&tree, TreeSize::new(0)).ok(),
        Some(EMPTY_TREE_HASH)
    );
}

#[test]
fn memory_tree_stores_complete_subtrees_only() {
    let tree = MemoryTree::from_leaf_hashes((0..5u8).map(|i| leaf_hash(&[i])));
    assert_eq!(tree.size(), TreeSize::new(5));
    assert!(tree.subtree_hash(Subtree::new_unchecked(2, 0)).is_ok());
    assert!(tree.subtree_hash(Subtree::new_unchecked(0, 4)).is_ok());
    for missing in [(0, 5), (1, 2), (2, 1), (3, 0), (40, 0)] {
        let subtree = Subtree::new_unchecked(missing.0, missing.1);
        assert!(
            matches!(tree.subtree_hash(subtree), Err(Error::SubtreeUnavailable { subtree: s }) if s == subtree),
            "{subtree}"
        );
    }
    let mut grown = tree;
    assert_eq!(grown.append(leaf_hash(&[5])), LeafIndex::new(5));
    assert!(grown.subtree_hash(Subtree::new_unchecked(1, 2)).is_ok());
    assert_eq!(MemoryTree::new().root(), EMPTY_TREE_HASH);
}
