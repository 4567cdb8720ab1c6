use std::collections::HashMap;

use super::*;
use crate::{MemoryTree, leaf_hash, proof, root_hash};

/// Tiles kept in a map, updated from `take_changes`, as a store would.
#[derive(Default)]
struct MapTiles(HashMap<(u8, u64), Vec<Hash>>);

impl TileSource for MapTiles {
    fn tile_hashes(&self, tile: Tile) -> Result<Arc<[Hash]>, Error> {
        self.0
            .get(&(tile.level(), tile.index()))
            .filter(|h| h.len() >= usize::from(tile.width()))
            .map(|h| Arc::from(h.as_slice()))
            .ok_or(Error::Storage(format!("missing {tile}").into()))
    }
}

fn grow(
    integrator: &mut Integrator,
    tiles: &mut MapTiles,
    memory: &mut MemoryTree,
    from: u64,
    to: u64,
) {
    for i in from..to {
        let h = leaf_hash(&i.to_be_bytes());
        assert_eq!(integrator.append(h).unwrap().get(), i);
        memory.append(h);
    }
    for (tile, hashes) in integrator.take_changes() {
        assert_eq!(usize::from(tile.width()), hashes.len());
        tiles.0.insert((tile.level(), tile.index()), hashes);
    }
}

#[test]
fn tiles_reproduce_the_tree_at_every_batch_boundary() {
    let mut integrator = Integrator::new();
    let mut tiles = MapTiles::default();
    let mut memory = MemoryTree::new();
    let boundaries = [
        1u64, 2, 255, 256, 257, 511, 512, 1000, 65_535, 65_536, 65_537, 70_000,
    ];
    let mut from = 0;
    for to in boundaries {
        grow(&mut integrator, &mut tiles, &mut memory, from, to);
        from = to;
        let size = TreeSize::new(to);
        assert_eq!(integrator.root(), memory.root(), "root at {to}");
        let tiled = TiledTree::new(&tiles, size);
        assert_eq!(root_hash(&tiled, size).unwrap(), memory.root());
        // Proofs from tiles equal proofs from the full in-memory tree.
        let memo = MemoTree::new(&tiles, size);
        for leaf in [0, to / 2, to - 1] {
            let leaf = LeafIndex::new(leaf);
            let expected = proof::inclusion_proof(&memory, leaf, size).unwrap();
            assert_eq!(
                proof::inclusion_proof(&tiled, leaf, size).unwrap(),
                expected
            );
            assert_eq!(proof::inclusion_proof(&memo, leaf, size).unwrap(), expected);
        }
        assert_eq!(root_hash(&memo, size).unwrap(), memory.root());
        if to > 1 {
            let old = TreeSize::new(to / 3 + 1);
            assert_eq!(
                proof::consistency_proof(&tiled, old, size).unwrap(),
                proof::consistency_proof(&memory, old, size).unwrap()
            );
        }
    }
}

#[test]
fn resume_continues_exactly_where_it_stopped() {
    let mut tiles = MapTiles::default();
    let mut memory = MemoryTree::new();
    let mut first = Integrator::new();
    grow(&mut first, &mut tiles, &mut memory, 0, 66_000);
    let mut resumed = Integrator::resume(&tiles, TreeSize::new(66_000)).unwrap();
    assert_eq!(resumed.root(), first.root());
    for level in 0..3 {
        assert_eq!(resumed.edge_tile(level), first.edge_tile(level));
    }
    grow(&mut resumed, &mut tiles, &mut memory, 66_000, 66_600);
    assert_eq!(resumed.root(), memory.root());
}

#[test]
fn changed_tiles_are_only_the_touched_ones() {
    let mut integrator = Integrator::new();
    for i in 0..300u64 {
        integrator.append(leaf_hash(&i.to_be_bytes())).unwrap();
    }
    let changes = integrator.take_changes();
    let names: Vec<String> = changes.iter().map(|(t, _)| t.to_string()).collect();
    // One full level-0 tile, the partial level-0 tile after it, and the level-1 partial tile.
    assert_eq!(names.len(), 3, "{names:?}");
    assert!(
        changes
            .iter()
            .any(|(t, h)| t.level() == 0 && t.index() == 0 && h.len() == 256)
    );
    assert!(
        changes
            .iter()
            .any(|(t, h)| t.level() == 0 && t.index() == 1 && h.len() == 44)
    );
    assert!(
        changes
            .iter()
            .any(|(t, h)| t.level() == 1 && t.index() == 0 && h.len() == 1)
    );
    assert!(integrator.take_changes().is_empty());
}

#[test]
fn tile_and_bundle_encodings_round_trip_and_reject_damage() {
    let hashes: Vec<Hash> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
    let bytes = encode_tile(&hashes);
    assert_eq!(decode_tile(&bytes).unwrap(), hashes);
    assert!(decode_tile(&bytes[..bytes.len() - 1]).is_err());
    assert!(decode_tile(&vec![0u8; 257 * 32]).is_err());

    let mut bundle = Vec::new();
    for e in [&b"alpha"[..], b"", &[7u8; 300]] {
        push_bundle_entry(&mut bundle, e).unwrap();
    }
    let entries = split_bundle(&bundle).unwrap();
    assert_eq!(entries, vec![&b"alpha"[..], b"", &[7u8; 300]]);
    assert!(split_bundle(&bundle[..bundle.len() - 1]).is_err());
    assert!(split_bundle(&[0]).is_err());
    assert!(push_bundle_entry(&mut Vec::new(), &vec![0u8; 70_000]).is_err());
}
