use super::*;

#[test]
fn split_point_is_the_largest_smaller_power_of_two() {
    let cases = [
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 4),
        (8, 4),
        (9, 8),
        (u64::MAX, 1 << 63),
    ];
    for (n, k) in cases {
        assert_eq!(split_point(n), k, "n = {n}");
    }
    assert_eq!(split_point(1 << 63), 1 << 62);
    assert_eq!(split_point((1 << 63) + 1), 1 << 63);
}

/// RFC 9162 §2.1.5: the tree of seven leaves d0..d6.
#[test]
fn ranges_of_the_rfc9162_examples() {
    // The inclusion proof for d0 is [b, h, l]; for d3 [c, g, l]; for d4 [f, j, k]; for d6 [i, k].
    assert_eq!(inclusion_ranges(0, 7), [1..2, 2..4, 4..7]);
    assert_eq!(inclusion_ranges(3, 7), [2..3, 0..2, 4..7]);
    assert_eq!(inclusion_ranges(4, 7), [5..6, 6..7, 0..4]);
    assert_eq!(inclusion_ranges(6, 7), [4..6, 0..4]);
    // The consistency proof between hash0 (3 leaves) and hash is [c, d, g, l]; between hash1
    // (4 leaves) and hash it is [l]; between hash2 (6 leaves) and hash it is [i, j, k].
    assert_eq!(consistency_ranges(3, 7), [2..3, 3..4, 0..2, 4..7]);
    assert_eq!(consistency_ranges(4, 7), vec![Range { start: 4, end: 7 }]);
    assert_eq!(consistency_ranges(6, 7), [4..6, 6..7, 0..4]);
}

#[test]
fn ranges_at_the_edges() {
    assert!(inclusion_ranges(0, 1).is_empty());
    assert!(consistency_ranges(5, 5).is_empty());
    assert_eq!(consistency_ranges(1, 2), vec![Range { start: 1, end: 2 }]);
    assert_eq!(inclusion_ranges(u64::MAX - 1, u64::MAX).len(), 63);
    assert_eq!(inclusion_ranges(0, u64::MAX).len(), 64);
    assert_eq!(consistency_ranges(1, u64::MAX).len(), 64);
    assert_eq!(consistency_ranges(u64::MAX - 1, u64::MAX).len(), 64);
}

#[test]
fn verification_of_huge_claims_does_not_overflow() {
    let hash = Hash::from_bytes([1; 32]);
    let path = vec![hash; 64];
    let max = TreeSize::new(u64::MAX);
    // The last leaf of the largest tree has one sibling per one bit of its size but the last.
    assert!(matches!(
        verify_inclusion(&hash, LeafIndex::new(u64::MAX - 1), max, &path[..63], &hash),
        Err(Error::RootMismatch { .. })
    ));
    assert!(matches!(
        verify_inclusion(&hash, LeafIndex::new(u64::MAX - 1), max, &path, &hash),
        Err(Error::WrongProofLength {
            expected: 63,
            actual: 64
        })
    ));
    assert!(matches!(
        verify_consistency(TreeSize::new(1), max, &hash, &hash, &path),
        Err(Error::RootMismatch { .. })
    ));
    assert!(matches!(
        verify_inclusion(&hash, LeafIndex::new(0), max, &path[..63], &hash),
        Err(Error::WrongProofLength {
            expected: 64,
            actual: 63
        })
    ));
}
