use custody_log::integrate::{Integrator, TiledTree, encode_tile};
use custody_log::{TreeSize, leaf_hash, root_hash};
use custody_store::{LogBatch, SqliteLogStore, StoredCheckpoint};

fn batch_of(integrator: &mut Integrator, from: u64, to: u64) -> LogBatch {
    let mut leaves = Vec::new();
    for i in from..to {
        let h = leaf_hash(&i.to_be_bytes());
        integrator.append(h).unwrap();
        leaves.push((h, i));
    }
    LogBatch {
        tiles: integrator
            .take_changes()
            .into_iter()
            .map(|(t, h)| (t, encode_tile(&h)))
            .collect(),
        bundles: Vec::new(),
        leaves,
        checkpoint: Some(StoredCheckpoint {
            size: TreeSize::new(to),
            note: format!("size {to}\n"),
        }),
    }
}

#[test]
fn committed_batches_are_read_back_and_resume_the_tree() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let mut integrator = Integrator::new();
    {
        let mut store = SqliteLogStore::open(&path).unwrap();
        assert_eq!(store.checkpoint().unwrap(), None);
        store.commit(&batch_of(&mut integrator, 0, 1000)).unwrap();
        store
            .commit(&batch_of(&mut integrator, 1000, 1300))
            .unwrap();
    }
    let store = SqliteLogStore::open(&path).unwrap();
    let cp = store.checkpoint().unwrap().unwrap();
    assert_eq!(cp.size, TreeSize::new(1300));
    let root = root_hash(&TiledTree::new(&store, cp.size), cp.size).unwrap();
    assert_eq!(root, integrator.root());
    let resumed = Integrator::resume(&store, cp.size).unwrap();
    assert_eq!(resumed.root(), integrator.root());
    assert_eq!(
        store
            .leaf_index(&leaf_hash(&1234u64.to_be_bytes()))
            .unwrap(),
        Some(1234)
    );
    assert_eq!(store.leaf_index(&leaf_hash(b"never logged")).unwrap(), None);
}

#[test]
fn a_failed_batch_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("custody.db");
    let mut store = SqliteLogStore::open(&path).unwrap();
    let mut integrator = Integrator::new();
    store.commit(&batch_of(&mut integrator, 0, 10)).unwrap();
    // A batch re-inserting an existing leaf violates the primary key: the whole batch must roll
    // back, including its tiles and checkpoint.
    let mut bad = batch_of(&mut integrator, 10, 20);
    bad.leaves.push((leaf_hash(&3u64.to_be_bytes()), 3));
    assert!(store.commit(&bad).is_err());
    assert_eq!(store.checkpoint().unwrap().unwrap().size, TreeSize::new(10));
    assert_eq!(
        store.leaf_index(&leaf_hash(&15u64.to_be_bytes())).unwrap(),
        None
    );
}
