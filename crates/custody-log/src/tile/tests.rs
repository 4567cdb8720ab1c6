use super::*;

#[test]
fn index_groups() {
    assert_eq!(parse_index("000"), Ok(0));
    assert_eq!(parse_index("x001/000"), Ok(1000));
    assert_eq!(parse_index("x001/x234/067"), Ok(1_234_067));
    assert_eq!(
        parse_index("x018/x446/x744/x073/x709/x551/615"),
        Ok(u64::MAX)
    );
    assert!(parse_index("x018/x446/x744/x073/x709/x551/616").is_err());
    assert!(parse_index("x000/001").is_err());
    assert!(parse_index("").is_err());
    assert!(parse_index("/000").is_err());
    assert!(parse_index("x001/").is_err());
    for (index, text) in [
        (0, "000"),
        (999, "999"),
        (1000, "x001/000"),
        (1_234_067, "x001/x234/067"),
    ] {
        assert_eq!(
            Tile::new(0, index, FULL_TILE_WIDTH)
                .map(|t| t.to_string())
                .ok()
                .as_deref(),
            Some(&*format!("tile/0/{text}"))
        );
    }
}

#[test]
fn widths_per_level() {
    let size = TreeSize::new(70_000);
    assert_eq!(level_hashes(0, size), 70_000);
    assert_eq!(level_hashes(1, size), 273);
    assert_eq!(level_hashes(2, size), 1);
    assert_eq!(level_hashes(3, size), 0);
    assert_eq!(level_hashes(8, TreeSize::new(u64::MAX)), 0);
    assert_eq!(level_hashes(63, TreeSize::new(u64::MAX)), 0);
    assert_eq!(width_at(0, 0, size), 256);
    assert_eq!(width_at(0, 273, size), 112);
    assert_eq!(width_at(1, 1, size), 17);
    assert_eq!(width_at(2, 0, size), 1);
}

#[test]
fn tiles_hold_their_subtrees() {
    let tile = Tile::new(1, 2, 3).unwrap_or_else(|_| unreachable!());
    let subtrees: Vec<(u8, u64)> = tile.subtrees().map(|s| (s.level(), s.index())).collect();
    assert_eq!(subtrees, [(8, 512), (8, 513), (8, 514)]);
    assert_eq!(tile.entry_bundle(), None);
    let level0 = Tile::new(0, 7, 9).unwrap_or_else(|_| unreachable!());
    assert_eq!(
        level0.entry_bundle().map(|b| (b.index(), b.width())),
        Some((7, 9))
    );
    // Tiles above level 7 would hold subtrees larger than any u64-sized tree.
    assert_eq!(
        Tile::new(8, 0, 256).map(|t| t.subtrees().count()).ok(),
        Some(0)
    );
    let last = Tile::new(0, u64::MAX >> 8, 256).unwrap_or_else(|_| unreachable!());
    assert_eq!(last.subtrees().count(), 255);
}
