//! The C2SP tlog-tiles layout (<https://c2sp.org/tlog-tiles>): which tiles and entry bundles
//! a tree has, and their paths.
//!
//! A tile at level L and index N holds up to 256 consecutive hashes of the complete subtrees
//! at tree level `8·L`: indices `256·N ..= 256·N + 255`.
//! A level-0 tile holds leaf hashes; a hash in a level-L tile is the root of a full tile at
//! level L - 1.
//! A *partial* tile holds the first W < 256 of those hashes; it is served only for tree sizes
//! that need it and is never hashed into the level above.
//! Entry bundle N holds the entries whose leaf hashes are in level-0 tile N.
//!
//! Paths are relative to the log's URL prefix:
//!
//! - `tile/<L>/<N>[.p/<W>]` for tiles;
//! - `tile/entries/<N>[.p/<W>]` for entry bundles.
//!
//! `<N>` is written in zero-padded groups of three digits, all but the last prefixed with
//! `x`: 1234067 is `x001/x234/067`.
//! Parsing accepts only the canonical form, so every resource has exactly one path.
//!
//! ```
//! use custody_log::TreeSize;
//! use custody_log::tile::{Tile, tiles_for_size};
//!
//! let tile: Tile = "tile/0/x001/x234/067.p/8".parse()?;
//! assert_eq!((tile.level(), tile.index(), tile.width()), (0, 1_234_067, 8));
//! assert_eq!(tile.to_string(), "tile/0/x001/x234/067.p/8");
//!
//! // A tree of 70,000 leaves: 273 full and one partial (width 112) level-0 tiles, one full
//! // and one partial (width 17) level-1 tile, and one partial (width 1) level-2 tile.
//! let tiles: Vec<Tile> = tiles_for_size(TreeSize::new(70_000)).collect();
//! assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
//! assert_eq!(tiles.last().map(Tile::to_string).as_deref(), Some("tile/2/000.p/1"));
//! # Ok::<(), custody_log::Error>(())
//! ```

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::error::{Error, truncate};
use crate::tree::{LeafIndex, Subtree, TreeSize, parse_decimal};

/// The number of tree levels one tile spans.
pub const TILE_HEIGHT: u8 = 8;

/// The number of hashes in a full tile (2^[`TILE_HEIGHT`]); also the number of entries in a
/// full entry bundle.
pub const FULL_TILE_WIDTH: u16 = 1 << TILE_HEIGHT;

/// The highest tile level a path may name.
const MAX_LEVEL: u8 = 63;

/// A tile: up to 256 consecutive subtree hashes at tree level `8 · level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tile {
    level: u8,
    index: u64,
    width: u16,
}

/// An entry bundle: up to 256 consecutive log entries, matching level-0 tile `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryBundle {
    index: u64,
    width: u16,
}

impl Tile {
    /// The tile at `level` (0 to 63) and `index` holding `width` (1 to 256) hashes.
    pub fn new(level: u8, index: u64, width: u16) -> Result<Self, Error> {
        if level > MAX_LEVEL {
            return Err(Error::InvalidTile {
                reason: "the level must be between 0 and 63",
            });
        }
        check_width(width)?;
        Ok(Self {
            level,
            index,
            width,
        })
    }

    /// The tile that holds `subtree`'s hash, or the hashes it is computed from, as published
    /// for a tree of size `tree_size`, and the range of hashes in that tile to combine.
    ///
    /// A subtree at level `8·L + r` is the root of the `2^r` hashes in the returned range of a
    /// level-L tile; for `r = 0` the range holds the subtree's own hash.
    /// The subtree's hash is the root of the perfect binary tree with those hashes as its
    /// leaves: combine them pairwise with [`node_hash`](crate::node_hash), level by level.
    ///
    /// Fails with [`Error::SubtreeUnavailable`] if the subtree is not complete in a tree of
    /// size `tree_size`.
    pub fn for_subtree(
        subtree: Subtree,
        tree_size: TreeSize,
    ) -> Result<(Self, Range<usize>), Error> {
        if subtree.leaves().end > tree_size.get() {
            return Err(Error::SubtreeUnavailable { subtree });
        }
        let level = subtree.level() / TILE_HEIGHT;
        let rise = subtree.level() % TILE_HEIGHT;
        // The subtree spans hashes [first, first + 2^rise) at tree level 8·level.
        let first = subtree.index() << rise;
        let index = first >> TILE_HEIGHT;
        let start = (first & u64::from(FULL_TILE_WIDTH - 1)) as usize;
        let range = start..start + (1usize << rise);
        let width = width_at(level, index, tree_size);
        Ok((
            Self {
                level,
                index,
                width,
            },
            range,
        ))
    }

    /// The tile's level: 0 for leaf hashes.
    pub const fn level(self) -> u8 {
        self.level
    }

    /// The tile's index within its level.
    pub const fn index(self) -> u64 {
        self.index
    }

    /// The number of hashes in the tile, 1 to 256.
    pub const fn width(self) -> u16 {
        self.width
    }

    /// Whether the tile holds fewer than 256 hashes.
    pub const fn is_partial(self) -> bool {
        self.width < FULL_TILE_WIDTH
    }

    /// The complete subtrees whose hashes the tile holds, in order.
    pub fn subtrees(self) -> impl Iterator<Item = Subtree> {
        let level = self.level.saturating_mul(TILE_HEIGHT);
        let first = u128::from(self.index) * u128::from(FULL_TILE_WIDTH);
        (0..self.width).map_while(move |offset| {
            let index = u64::try_from(first + u128::from(offset)).ok()?;
            Subtree::new(level, index).ok()
        })
    }

    /// The entry bundle with the entries behind this tile's hashes, for a level-0 tile.
    pub const fn entry_bundle(self) -> Option<EntryBundle> {
        if self.level == 0 {
            Some(EntryBundle {
                index: self.index,
                width: self.width,
            })
        } else {
            None
        }
    }
}

impl EntryBundle {
    /// The entry bundle at `index` holding `width` (1 to 256) entries.
    pub fn new(index: u64, width: u16) -> Result<Self, Error> {
        check_width(width)?;
        Ok(Self { index, width })
    }

    /// The entry bundle holding the entry at `leaf_index`, as published for a tree of size
    /// `tree_size`, and the entry's position in it.
    ///
    /// Fails with [`Error::IndexOutOfRange`] if `leaf_index >= tree_size`.
    pub fn for_leaf(leaf_index: LeafIndex, tree_size: TreeSize) -> Result<(Self, usize), Error> {
        if !tree_size.contains(leaf_index) {
            return Err(Error::IndexOutOfRange {
                index: leaf_index,
                size: tree_size,
            });
        }
        let index = leaf_index.get() >> TILE_HEIGHT;
        let position = (leaf_index.get() & u64::from(FULL_TILE_WIDTH - 1)) as usize;
        let width = width_at(0, index, tree_size);
        Ok((Self { index, width }, position))
    }

    /// The bundle's index: it matches level-0 tile `index`.
    pub const fn index(self) -> u64 {
        self.index
    }

    /// The number of entries in the bundle, 1 to 256.
    pub const fn width(self) -> u16 {
        self.width
    }

    /// Whether the bundle holds fewer than 256 entries.
    pub const fn is_partial(self) -> bool {
        self.width < FULL_TILE_WIDTH
    }

    /// The leaf indices of the entries in the bundle.
    pub fn leaves(self) -> Range<u64> {
        let start = self.index.saturating_mul(u64::from(FULL_TILE_WIDTH));
        start..start.saturating_add(u64::from(self.width))
    }
}

/// The width of tile `index` at `level` in a tree of size `tree_size`, which must have at
/// least one hash in that tile.
fn width_at(level: u8, index: u64, tree_size: TreeSize) -> u16 {
    let hashes = level_hashes(level, tree_size);
    let start = u128::from(index) << TILE_HEIGHT;
    let width = (u128::from(hashes) - start).min(u128::from(FULL_TILE_WIDTH));
    width as u16
}

/// The number of complete subtrees at tree level `8 · level` in a tree of size `tree_size`:
/// the number of hashes across all the level's tiles.
fn level_hashes(level: u8, tree_size: TreeSize) -> u64 {
    tree_size
        .get()
        .checked_shr(u32::from(level) * u32::from(TILE_HEIGHT))
        .unwrap_or(0)
}

fn check_width(width: u16) -> Result<(), Error> {
    if width == 0 || width > FULL_TILE_WIDTH {
        return Err(Error::InvalidTile {
            reason: "the width must be between 1 and 256",
        });
    }
    Ok(())
}

/// Every tile of a tree of size `tree_size` (C2SP tlog-tiles "Partial Tiles"): by level from
/// 0, then by index, with the partial tile (if any) last in each level.
///
/// The count grows linearly with the tree size (about `tree_size / 255`), so iterate rather
/// than collect for large trees.
/// Entry bundles match the level-0 tiles ([`Tile::entry_bundle`]).
pub fn tiles_for_size(tree_size: TreeSize) -> impl Iterator<Item = Tile> {
    TileIter::new(TreeSize::new(0), tree_size)
}

/// The tiles that are new or have grown when a tree grows from `from` to `to` leaves: what a
/// log must publish for the checkpoint of size `to`, given those of size `from`.
///
/// `tiles_to_publish(TreeSize::new(0), n)` is [`tiles_for_size`]`(n)`.
/// Fails with [`Error::SizeDecreased`] if `to < from`.
pub fn tiles_to_publish(from: TreeSize, to: TreeSize) -> Result<impl Iterator<Item = Tile>, Error> {
    if to < from {
        return Err(Error::SizeDecreased {
            first: from,
            second: to,
        });
    }
    Ok(TileIter::new(from, to))
}

/// Walks the changed tiles level by level.
struct TileIter {
    from: TreeSize,
    to: TreeSize,
    level: u8,
    /// The next tile index in `level`, and the last one (inclusive).
    next: u64,
    last: u64,
    done: bool,
}

impl TileIter {
    fn new(from: TreeSize, to: TreeSize) -> Self {
        let mut iter = Self {
            from,
            to,
            level: 0,
            next: 1,
            last: 0,
            done: false,
        };
        iter.enter_level(0);
        iter
    }

    /// Sets up the index range of `level`, or ends the walk if it has no changed tile.
    fn enter_level(&mut self, level: u8) {
        let old = level_hashes(level, self.from);
        let new = level_hashes(level, self.to);
        if new == old || level > MAX_LEVEL {
            // Higher levels have no more hashes than this one, so none of them changed.
            self.done = true;
            return;
        }
        self.level = level;
        // Tiles from the one holding hash `old` (the first new hash) to the one holding hash
        // `new - 1` (the last hash) changed.
        self.next = old >> TILE_HEIGHT;
        self.last = (new - 1) >> TILE_HEIGHT;
    }
}

impl Iterator for TileIter {
    type Item = Tile;

    fn next(&mut self) -> Option<Tile> {
        if self.done {
            return None;
        }
        let tile = Tile {
            level: self.level,
            index: self.next,
            width: width_at(self.level, self.next, self.to),
        };
        if self.next < self.last {
            self.next += 1;
        } else {
            self.enter_level(self.level + 1);
        }
        Some(tile)
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tile/{}/", self.level)?;
        write_index_and_width(f, self.index, self.width)
    }
}

impl fmt::Display for EntryBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tile/entries/")?;
        write_index_and_width(f, self.index, self.width)
    }
}

/// Writes `<N>[.p/<W>]`.
fn write_index_and_width(f: &mut fmt::Formatter<'_>, index: u64, width: u16) -> fmt::Result {
    // A u64 has at most 20 decimal digits: 7 groups of three.
    let mut groups = [0u16; 7];
    let mut count = 0;
    let mut rest = index;
    loop {
        groups[count] = (rest % 1000) as u16;
        count += 1;
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    for group in groups[1..count].iter().rev() {
        write!(f, "x{group:03}/")?;
    }
    write!(f, "{:03}", groups[0])?;
    if width < FULL_TILE_WIDTH {
        write!(f, ".p/{width}")?;
    }
    Ok(())
}

impl FromStr for Tile {
    type Err = Error;

    /// Parses `tile/<L>/<N>[.p/<W>]`.
    fn from_str(path: &str) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedTilePath {
            path: truncate(path, 200),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| malformed("it does not start with 'tile/'"))?;
        let (level, rest) = rest
            .split_once('/')
            .ok_or_else(|| malformed("it has no index after the level"))?;
        let level = parse_decimal(level)
            .and_then(|level| u8::try_from(level).ok())
            .filter(|&level| level <= MAX_LEVEL)
            .ok_or_else(|| {
                malformed("the level is not a decimal number from 0 to 63 without leading zeroes")
            })?;
        let (index, width) = parse_index_and_width(rest).map_err(malformed)?;
        Ok(Self {
            level,
            index,
            width,
        })
    }
}

impl FromStr for EntryBundle {
    type Err = Error;

    /// Parses `tile/entries/<N>[.p/<W>]`.
    fn from_str(path: &str) -> Result<Self, Error> {
        let malformed = |reason| Error::MalformedTilePath {
            path: truncate(path, 200),
            reason,
        };
        let rest = path
            .strip_prefix("tile/entries/")
            .ok_or_else(|| malformed("it does not start with 'tile/entries/'"))?;
        let (index, width) = parse_index_and_width(rest).map_err(malformed)?;
        Ok(Self { index, width })
    }
}

/// Parses `<N>[.p/<W>]`, returning the index and the width (256 without `.p/`).
fn parse_index_and_width(text: &str) -> Result<(u64, u16), &'static str> {
    let (index, width) = match text.split_once(".p/") {
        Some((index, width)) => {
            let width = parse_decimal(width)
                .filter(|width| (1..u64::from(FULL_TILE_WIDTH)).contains(width))
                .ok_or(
                    "the partial width is not a decimal number from 1 to 255 without leading zeroes",
                )?;
            // The filter above bounds the width below 256.
            (index, width as u16)
        }
        None => (text, FULL_TILE_WIDTH),
    };
    Ok((parse_index(index)?, width))
}

/// Parses `<N>`: groups of three digits, all but the last prefixed with `x`, with no leading
/// all-zero group.
fn parse_index(text: &str) -> Result<u64, &'static str> {
    let mut groups = text.split('/').peekable();
    let mut value = 0u64;
    let mut first = true;
    while let Some(group) = groups.next() {
        let last = groups.peek().is_none();
        let digits = if last {
            group
        } else {
            group
                .strip_prefix('x')
                .ok_or("an index group other than the last does not start with 'x'")?
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("an index group is not three decimal digits");
        }
        if first && !last && digits == "000" {
            return Err("the index has a leading all-zero group");
        }
        first = false;
        // Three ASCII digits always parse and fit in a u64.
        let group_value: u64 = digits
            .parse()
            .map_err(|_| "an index group is not three decimal digits")?;
        value = value
            .checked_mul(1000)
            .and_then(|value| value.checked_add(group_value))
            .ok_or("the index does not fit in 64 bits")?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
