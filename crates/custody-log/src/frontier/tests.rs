use super::*;
use crate::hash::leaf_hash;

#[test]
fn append_reports_the_subtrees_it_completes() {
    let mut frontier = Frontier::new();
    for i in 0..3u8 {
        frontier.append(leaf_hash(&[i])).ok();
    }
    let completed = frontier.append(leaf_hash(&[3])).unwrap_or_default();
    let coordinates: Vec<(u8, u64)> = completed
        .iter()
        .map(|(s, _)| (s.level(), s.index()))
        .collect();
    assert_eq!(coordinates, [(0, 3), (1, 1), (2, 0)]);
    assert_eq!(
        completed.last().map(|(_, hash)| *hash),
        Some(frontier.root())
    );
    assert_eq!(frontier.hashes().len(), 1);
    let completed = frontier.append(leaf_hash(&[4])).unwrap_or_default();
    assert_eq!(completed.len(), 1);
    assert_eq!(frontier.hashes().len(), 2);
}

#[test]
fn from_parts_checks_the_number_of_hashes() {
    let hash = leaf_hash(b"h");
    assert!(Frontier::from_parts(TreeSize::new(0), Vec::new()).is_ok());
    assert!(Frontier::from_parts(TreeSize::new(5), vec![hash, hash]).is_ok());
    assert!(matches!(
        Frontier::from_parts(TreeSize::new(5), vec![hash]),
        Err(Error::WrongFrontierLength {
            expected: 2,
            actual: 1,
            ..
        })
    ));
    assert!(Frontier::from_parts(TreeSize::new(0), vec![hash]).is_err());
}

#[test]
fn a_full_tree_refuses_more_leaves() {
    let hash = leaf_hash(b"h");
    let mut almost =
        Frontier::from_parts(TreeSize::new(u64::MAX - 1), vec![hash; 63]).unwrap_or_default();
    assert_eq!(almost.size(), TreeSize::new(u64::MAX - 1));
    assert!(almost.append(hash).is_ok());
    assert_eq!(almost.hashes().len(), 64);
    assert_eq!(almost.subtrees().count(), 64);
    assert!(matches!(almost.append(hash), Err(Error::TreeFull)));
    assert_eq!(almost.size(), TreeSize::new(u64::MAX));
}

#[test]
fn empty_frontier() {
    let frontier = Frontier::new();
    assert_eq!(frontier.root(), EMPTY_TREE_HASH);
    assert_eq!(frontier.size(), TreeSize::new(0));
    assert_eq!(frontier.subtrees().count(), 0);
}
