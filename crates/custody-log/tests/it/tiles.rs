//! C2SP tlog-tiles: path round trips, rejected paths, the tiles of a tree size, and a
//! tile-backed `SubtreeHashes` built only from the tiles a tree size needs.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use custody_log::tile::{EntryBundle, FULL_TILE_WIDTH, Tile, tiles_for_size, tiles_to_publish};
use custody_log::{
    Error, Hash, LeafIndex, MemoryTree, Subtree, SubtreeHashes, TreeSize, leaf_hash, node_hash,
    proof, root_hash,
};
use proptest::prelude::*;

/// Checks that `path` parses as a tile with these coordinates and formats back unchanged.
fn check_tile(path: &str, level: u8, index: u64, width: u16) {
    let tile: Tile = path.parse().unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(
        (tile.level(), tile.index(), tile.width()),
        (level, index, width),
        "{path}"
    );
    assert_eq!(tile.is_partial(), width < 256, "{path}");
    assert_eq!(tile.to_string(), path);
    assert_eq!(Tile::new(level, index, width).ok(), Some(tile));
}

fn check_bundle(path: &str, index: u64, width: u16) {
    let bundle: EntryBundle = path.parse().unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!((bundle.index(), bundle.width()), (index, width), "{path}");
    assert_eq!(bundle.to_string(), path);
    assert_eq!(EntryBundle::new(index, width).ok(), Some(bundle));
}

#[test]
fn tile_paths() {
    check_tile("tile/0/000", 0, 0, 256);
    check_tile("tile/0/001", 0, 1, 256);
    check_tile("tile/0/999", 0, 999, 256);
    check_tile("tile/0/x001/000", 0, 1000, 256);
    check_tile("tile/0/x001/x234/067", 0, 1_234_067, 256);
    check_tile("tile/0/x001/x234/067.p/8", 0, 1_234_067, 8);
    check_tile("tile/1/000.p/1", 1, 0, 1);
    check_tile("tile/2/x010/000.p/255", 2, 10_000, 255);
    check_tile("tile/63/000", 63, 0, 256);
    check_tile("tile/0/x018/x446/x744/x073/x709/x551/615", 0, u64::MAX, 256);
    check_bundle("tile/entries/000", 0, 256);
    check_bundle("tile/entries/x001/x234/067.p/8", 1_234_067, 8);
    check_bundle(
        "tile/entries/x018/x446/x744/x073/x709/x551/615.p/255",
        u64::MAX,
        255,
    );
}

#[test]
fn malformed_tile_paths_are_rejected() {
    let rejected = [
        "",
        "tile",
        "tile/",
        "tile/0",
        "tile/0/",
        "/tile/0/000",
        "TILE/0/000",
        "tiles/0/000",
        "tile/0/000/",
        "tile/0//000",
        // Level: decimal 0..=63 without leading zeroes.
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/255/000",
        "tile/256/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/ 1/000",
        "tile/a/000",
        "tile/x0/000",
        "tile/entries/000",
        // Index: three-digit groups, `x` on all but the last, no leading zero group.
        "tile/0/0",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/1",
        "tile/0/00a",
        "tile/0/abc",
        "tile/0/x001",
        "tile/0/001/002",
        "tile/0/x1/002",
        "tile/0/x0001/002",
        "tile/0/X001/002",
        "tile/0/x000/001",
        "tile/0/x000/x001/002",
        "tile/0/x001/x002",
        "tile/0/x001//002",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
        "tile/0/\u{ff10}00",
        // Partial width: decimal 1..=255 without leading zeroes.
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/300",
        "tile/0/000.p/08",
        "tile/0/000.p/",
        "tile/0/000.p",
        "tile/0/000.p/+8",
        "tile/0/000.p/8/",
        "tile/0/000.p/1/2",
        "tile/0/000.p/1.p/2",
        "tile/0/000.P/8",
        "tile/0/000.q/8",
        "tile/0/000p/8",
        "tile/0/.p/8",
    ];
    for path in rejected {
        match path.parse::<Tile>() {
            Err(Error::MalformedTilePath { .. }) => {}
            other => panic!("{path:?} as a tile: {other:?}"),
        }
    }
    let rejected_bundles = [
        "",
        "tile/entries",
        "tile/entries/",
        "tile/0/000",
        "tile/entries/00",
        "tile/entries/x000/000",
        "tile/entries/000.p/0",
        "tile/entries/000.p/256",
        "tile/entries/000.p/007",
        "tile/entries/x001",
        "tile/entries/entries/000",
    ];
    for path in rejected_bundles {
        match path.parse::<EntryBundle>() {
            Err(Error::MalformedTilePath { .. }) => {}
            other => panic!("{path:?} as an entry bundle: {other:?}"),
        }
    }
}

#[test]
fn invalid_tile_coordinates_are_rejected() {
    assert!(matches!(
        Tile::new(64, 0, 1),
        Err(Error::InvalidTile { .. })
    ));
    assert!(matches!(Tile::new(0, 0, 0), Err(Error::InvalidTile { .. })));
    assert!(matches!(
        Tile::new(0, 0, 257),
        Err(Error::InvalidTile { .. })
    ));
    assert!(matches!(
        EntryBundle::new(0, 0),
        Err(Error::InvalidTile { .. })
    ));
    assert!(matches!(
        EntryBundle::new(0, 257),
        Err(Error::InvalidTile { .. })
    ));
}

fn names(tiles: impl Iterator<Item = Tile>) -> Vec<String> {
    tiles.map(|tile| tile.to_string()).collect()
}

/// The examples of C2SP tlog-tiles "Partial Tiles".
#[test]
fn tiles_for_the_spec_examples() {
    let tiles: Vec<Tile> = tiles_for_size(TreeSize::new(70_000)).collect();
    let level0: Vec<&Tile> = tiles.iter().filter(|t| t.level() == 0).collect();
    assert_eq!(level0.len(), 274);
    assert!(level0[..273].iter().all(|t| !t.is_partial()));
    assert_eq!(level0[273].to_string(), "tile/0/273.p/112");
    let above: Vec<String> = tiles[274..].iter().map(Tile::to_string).collect();
    assert_eq!(above, ["tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1"]);

    assert_eq!(
        names(tiles_for_size(TreeSize::new(256))),
        ["tile/0/000", "tile/1/000.p/1"]
    );
    assert!(tiles_for_size(TreeSize::new(0)).next().is_none());
    assert_eq!(names(tiles_for_size(TreeSize::new(1))), ["tile/0/000.p/1"]);
    assert_eq!(
        names(tiles_for_size(TreeSize::new(257))),
        ["tile/0/000", "tile/0/001.p/1", "tile/1/000.p/1"]
    );
    // The largest tree: the list is produced lazily, and its last leaf changes only the
    // last level-0 tile, which is partial.
    assert_eq!(
        names(tiles_for_size(TreeSize::new(u64::MAX)).take(2)),
        ["tile/0/000", "tile/0/001"]
    );
    assert_eq!(
        names(
            tiles_to_publish(TreeSize::new(u64::MAX - 1), TreeSize::new(u64::MAX)).expect("growth")
        ),
        ["tile/0/x072/x057/x594/x037/x927/935.p/255"]
    );
}

#[test]
fn tiles_to_publish_when_growing() {
    let grow = |from: u64, to: u64| {
        names(tiles_to_publish(TreeSize::new(from), TreeSize::new(to)).expect("growth"))
    };
    assert!(grow(5, 5).is_empty());
    assert_eq!(grow(5, 6), ["tile/0/000.p/6"]);
    assert_eq!(grow(255, 256), ["tile/0/000", "tile/1/000.p/1"]);
    assert_eq!(grow(256, 300), ["tile/0/001.p/44"]);
    assert_eq!(
        grow(300, 600),
        ["tile/0/001", "tile/0/002.p/88", "tile/1/000.p/2"]
    );
    assert!(matches!(
        tiles_to_publish(TreeSize::new(6), TreeSize::new(5)).map(|_| ()),
        Err(Error::SizeDecreased { .. })
    ));
}

#[test]
fn entry_bundles() {
    let (bundle, position) =
        EntryBundle::for_leaf(LeafIndex::new(1000), TreeSize::new(70_000)).expect("in range");
    assert_eq!(
        (bundle.to_string(), position),
        ("tile/entries/003".to_owned(), 232)
    );
    assert_eq!(bundle.leaves(), 768..1024);
    let (bundle, position) =
        EntryBundle::for_leaf(LeafIndex::new(69_999), TreeSize::new(70_000)).expect("in range");
    assert_eq!(
        (bundle.to_string(), position),
        ("tile/entries/273.p/112".to_owned(), 111)
    );
    assert_eq!(bundle.leaves(), 69_888..70_000);
    assert!(matches!(
        EntryBundle::for_leaf(LeafIndex::new(70_000), TreeSize::new(70_000)),
        Err(Error::IndexOutOfRange { .. })
    ));
    let bundles: Vec<String> = tiles_for_size(TreeSize::new(600))
        .filter_map(Tile::entry_bundle)
        .map(|bundle| bundle.to_string())
        .collect();
    assert_eq!(
        bundles,
        [
            "tile/entries/000",
            "tile/entries/001",
            "tile/entries/002.p/88"
        ]
    );
}

/// Subtree hashes served from nothing but the tiles of one tree size, as a tile-backed log
/// client or server would.
struct TileStore {
    size: TreeSize,
    tiles: HashMap<Tile, Vec<Hash>>,
}

impl TileStore {
    /// Writes out every tile of `size` from a tree holding at least that many leaves.
    fn new(tree: &MemoryTree, size: TreeSize) -> Self {
        let tiles = tiles_for_size(size)
            .map(|tile| {
                let hashes = tile
                    .subtrees()
                    .map(|subtree| tree.subtree_hash(subtree).expect("tile hash"))
                    .collect::<Vec<_>>();
                assert_eq!(hashes.len(), usize::from(tile.width()));
                (tile, hashes)
            })
            .collect();
        Self { size, tiles }
    }
}

impl SubtreeHashes for TileStore {
    fn subtree_hash(&self, subtree: Subtree) -> Result<Hash, Error> {
        let (tile, range) = Tile::for_subtree(subtree, self.size)?;
        let hashes = self
            .tiles
            .get(&tile)
            .and_then(|hashes| hashes.get(range))
            .ok_or(Error::SubtreeUnavailable { subtree })?;
        // The subtree is the perfect tree over the range's hashes.
        let mut level = hashes.to_vec();
        while level.len() > 1 {
            level = level
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
        }
        level
            .first()
            .copied()
            .ok_or(Error::SubtreeUnavailable { subtree })
    }
}

/// One tree large enough to have level-2 tiles, built once.
static BIG: LazyLock<MemoryTree> = LazyLock::new(|| {
    MemoryTree::from_leaf_hashes((0..70_000u64).map(|i| leaf_hash(&i.to_be_bytes())))
});

fn sizes() -> impl Strategy<Value = u64> {
    prop_oneof![1..600u64, 1..=70_000u64, (1..=273u64).prop_map(|n| n * 256)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn tile_backed_hashes_match_the_tree(size in sizes(), picks in proptest::collection::vec(any::<u64>(), 8)) {
        let size_t = TreeSize::new(size);
        let store = TileStore::new(&BIG, size_t);
        prop_assert_eq!(root_hash(&store, size_t).ok(), root_hash(&*BIG, size_t).ok());
        for pick in picks {
            let index = LeafIndex::new(pick % size);
            prop_assert_eq!(
                proof::inclusion_proof(&store, index, size_t).ok(),
                proof::inclusion_proof(&*BIG, index, size_t).ok()
            );
            let first = TreeSize::new(1 + pick % size);
            prop_assert_eq!(
                proof::consistency_proof(&store, first, size_t).ok(),
                proof::consistency_proof(&*BIG, first, size_t).ok()
            );
        }
    }
}

proptest! {
    #[test]
    fn tile_paths_round_trip(level in 0..=63u8, index in any::<u64>(), width in 1..=256u16) {
        let tile = Tile::new(level, index, width).expect("valid tile");
        prop_assert_eq!(tile.to_string().parse::<Tile>().ok(), Some(tile));
        let bundle = EntryBundle::new(index, width).expect("valid bundle");
        prop_assert_eq!(bundle.to_string().parse::<EntryBundle>().ok(), Some(bundle));
    }

    /// Parsing is canonical: whatever parses formats back to the same text.
    #[test]
    fn accepted_tile_paths_are_canonical(path in "tile/(entries|[0-9]{1,3})/((x[0-9]{3}|[0-9x]{1,4})/){0,3}[0-9]{1,4}(\\.p/[0-9]{1,3})?") {
        if let Ok(tile) = path.parse::<Tile>() {
            prop_assert_eq!(tile.to_string(), path.clone());
        }
        if let Ok(bundle) = path.parse::<EntryBundle>() {
            prop_assert_eq!(bundle.to_string(), path);
        }
    }

    #[test]
    fn parsing_never_panics(path in "\\PC{0,60}") {
        let _ = path.parse::<Tile>();
        let _ = path.parse::<EntryBundle>();
    }

    /// Growing from `from` to `to` publishes exactly the tiles of `to` that `from` lacks.
    #[test]
    fn tiles_to_publish_is_the_difference((from, to) in (0..300_000u64).prop_flat_map(|to| (0..=to, Just(to)))) {
        let old: BTreeSet<Tile> = tiles_for_size(TreeSize::new(from)).collect();
        let new: BTreeSet<Tile> = tiles_for_size(TreeSize::new(to)).collect();
        let published: Vec<Tile> = tiles_to_publish(TreeSize::new(from), TreeSize::new(to))
            .expect("growth")
            .collect();
        let published_set: BTreeSet<Tile> = published.iter().copied().collect();
        prop_assert_eq!(published.len(), published_set.len());
        prop_assert_eq!(published_set, new.difference(&old).copied().collect::<BTreeSet<_>>());
    }

    /// Every tile of a size is as wide as the spec says, and they cover each level exactly.
    #[test]
    fn tiles_for_size_follow_the_spec(size in any::<u64>().prop_map(|n| n >> (n % 64))) {
        let mut per_level: HashMap<u8, u64> = HashMap::new();
        for tile in tiles_for_size(TreeSize::new(size)).take(5000) {
            *per_level.entry(tile.level()).or_default() += u64::from(tile.width());
            if tile.is_partial() {
                // "The partial tile at level l for a tree of size s has floor(s / 256**l) mod 256 entries."
                let hashes = size >> (8 * u32::from(tile.level()));
                prop_assert_eq!(u64::from(tile.width()), hashes % u64::from(FULL_TILE_WIDTH));
            }
        }
        if size < 5000 * 255 {
            for (level, count) in per_level {
                prop_assert_eq!(count, size >> (8 * u32::from(level)));
            }
        }
    }
}

#[test]
fn subtrees_outside_the_tree_have_no_tile() {
    let subtree = Subtree::new(8, 1).expect("subtree");
    assert!(matches!(
        Tile::for_subtree(subtree, TreeSize::new(511)),
        Err(Error::SubtreeUnavailable { .. })
    ));
    let (tile, range) = Tile::for_subtree(subtree, TreeSize::new(512)).expect("in tree");
    assert_eq!(
        (tile.to_string(), range),
        ("tile/1/000.p/2".to_owned(), 1..2)
    );
    let (tile, range) =
        Tile::for_subtree(Subtree::new(3, 5).expect("subtree"), TreeSize::new(1000))
            .expect("in tree");
    assert_eq!((tile.to_string(), range), ("tile/0/000".to_owned(), 40..48));
}
