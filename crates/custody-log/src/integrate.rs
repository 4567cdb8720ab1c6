//! Appending leaves tile by tile, and reading subtree hashes back from tiles.
//!
//! A sequencer keeps an [`Integrator`]: the tree's right edge ([`Frontier`]) plus the partial
//! tile at each tile level. Appending a batch of leaf hashes yields exactly the tiles whose
//! contents changed (C2SP tlog-tiles: a tile at level L holds up to 256 consecutive hashes of
//! complete subtrees at tree level 8·L), ready to be stored in one atomic write.
//! [`TiledTree`] answers [`SubtreeHashes`] from stored tiles, so proofs need no per-leaf state.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::tile::{FULL_TILE_WIDTH, TILE_HEIGHT, Tile};
use crate::{Error, Frontier, Hash, LeafIndex, Subtree, SubtreeHashes, TreeSize, node_hash};

const FULL: usize = FULL_TILE_WIDTH as usize;

/// The write side of a tiled log: the right edge of the tree and its partial tiles.
///
/// Memory is O(log n): one frontier hash per level and at most 255 hashes per tile level.
#[derive(Clone, Debug, Default)]
pub struct Integrator {
    frontier: Frontier,
    /// `edge[l]` holds the hashes of the current partial tile at tile level `l`.
    edge: Vec<Vec<Hash>>,
    /// Tiles changed since the last [`Integrator::take_changes`], with their contents.
    changed: BTreeMap<(u8, u64), Vec<Hash>>,
}

impl Integrator {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes the log of size `size` from its stored tiles.
    ///
    /// Reads the partial tile of each level and the frontier's subtrees (at most one tile per
    /// level and O(log n) hashes).
    pub fn resume<S: TileSource + ?Sized>(source: &S, size: TreeSize) -> Result<Self, Error> {
        let tree = TiledTree::new(source, size);
        let frontier = Frontier::from_tree(&tree, size)?;
        let mut edge = Vec::new();
        let mut level = 0u8;
        // At tile level l the tree has size >> (8·l) complete hashes; the partial tile holds
        // the ones past the last multiple of 256.
        loop {
            let shift = u32::from(level) * u32::from(TILE_HEIGHT);
            let count = if shift >= 64 { 0 } else { size.get() >> shift };
            if count == 0 {
                break;
            }
            let partial = (count % FULL as u64) as usize;
            if partial == 0 {
                edge.push(Vec::new());
            } else {
                let tile = Tile::new(level, count / FULL as u64, partial as u16)?;
                let hashes = source.tile_hashes(tile)?;
                if hashes.len() < partial {
                    return Err(Error::Storage(
                        format!(
                            "tile {tile} has {} hashes, expected at least {partial}",
                            hashes.len()
                        )
                        .into(),
                    ));
                }
                edge.push(hashes[..partial].to_vec());
            }
            level += 1;
        }
        Ok(Self {
            frontier,
            edge,
            changed: BTreeMap::new(),
        })
    }

    /// The number of leaves.
    pub fn size(&self) -> TreeSize {
        self.frontier.size()
    }

    /// The current root hash.
    pub fn root(&self) -> Hash {
        self.frontier.root()
    }

    /// Appends one leaf hash and returns its index.
    pub fn append(&mut self, leaf_hash: Hash) -> Result<LeafIndex, Error> {
        let index = LeafIndex::new(self.frontier.size().get());
        for (subtree, hash) in self.frontier.append(leaf_hash)? {
            if subtree.level().is_multiple_of(TILE_HEIGHT) {
                self.push_to_tile(subtree.level() / TILE_HEIGHT, subtree.index(), hash);
            }
        }
        Ok(index)
    }

    fn push_to_tile(&mut self, level: u8, position: u64, hash: Hash) {
        let l = usize::from(level);
        if self.edge.len() <= l {
            self.edge.resize_with(l + 1, Vec::new);
        }
        let tile_index = position / FULL as u64;
        let edge = &mut self.edge[l];
        edge.push(hash);
        self.changed.insert((level, tile_index), edge.clone());
        if edge.len() == FULL {
            edge.clear();
        }
    }

    /// The tiles whose contents changed since the last call (full or partial), with their
    /// contents; a tile that filled up appears once, as a full tile.
    pub fn take_changes(&mut self) -> Vec<(Tile, Vec<Hash>)> {
        std::mem::take(&mut self.changed)
            .into_iter()
            .filter_map(|((level, index), hashes)| {
                let width = u16::try_from(hashes.len()).ok()?;
                Tile::new(level, index, width)
                    .ok()
                    .map(|tile| (tile, hashes))
            })
            .collect()
    }

    /// The current partial tile at `level` (empty when the last tile there is full).
    pub fn edge_tile(&self, level: u8) -> &[Hash] {
        self.edge
            .get(usize::from(level))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Where [`TiledTree`] and [`Integrator::resume`] read tiles from.
pub trait TileSource {
    /// The hashes of `tile`: at least `tile.width()` of them (a stored tile may be wider than
    /// asked, since tiles only grow); fewer is [`Error::SubtreeUnavailable`] or
    /// [`Error::Storage`].
    fn tile_hashes(&self, tile: Tile) -> Result<Arc<[Hash]>, Error>;
}

/// The tree of size `size` whose hashes live in tiles.
pub struct TiledTree<'a, S: ?Sized> {
    source: &'a S,
    size: TreeSize,
}

impl<'a, S: TileSource + ?Sized> TiledTree<'a, S> {
    /// The tree of size `size` over `source`.
    pub fn new(source: &'a S, size: TreeSize) -> Self {
        Self { source, size }
    }
}

impl<S: TileSource + ?Sized> SubtreeHashes for TiledTree<'_, S> {
    fn subtree_hash(&self, subtree: Subtree) -> Result<Hash, Error> {
        let (tile, range) = Tile::for_subtree(subtree, self.size)?;
        let hashes = self.source.tile_hashes(tile)?;
        if hashes.len() < range.end {
            return Err(Error::SubtreeUnavailable { subtree });
        }
        perfect_root(&hashes[range]).ok_or(Error::SubtreeUnavailable { subtree })
    }
}

/// Tiles read so far, by (level, index).
type TileCache = HashMap<(u8, u64), Arc<[Hash]>>;

/// A tile-backed tree that remembers every tile and node it computed, for generating many
/// proofs against one tree size (a sequencer answering a whole batch).
///
/// Each tile is read once and each interior node hashed once, so proofs for neighbouring
/// leaves share their work. Not `Sync`: use one per batch, on one thread.
pub struct MemoTree<'a, S: ?Sized> {
    source: &'a S,
    size: TreeSize,
    tiles: RefCell<TileCache>,
    nodes: RefCell<HashMap<Subtree, Hash>>,
}

impl<'a, S: TileSource + ?Sized> MemoTree<'a, S> {
    /// The tree of size `size` over `source`.
    pub fn new(source: &'a S, size: TreeSize) -> Self {
        Self {
            source,
            size,
            tiles: RefCell::default(),
            nodes: RefCell::default(),
        }
    }

    fn tile_hash(&self, subtree: Subtree) -> Result<Hash, Error> {
        let (tile, range) = Tile::for_subtree(subtree, self.size)?;
        let key = (tile.level(), tile.index());
        let cached = self
            .tiles
            .borrow()
            .get(&key)
            .filter(|h| h.len() >= range.end)
            .cloned();
        let hashes = match cached {
            Some(h) => h,
            None => {
                let h = self.source.tile_hashes(tile)?;
                self.tiles.borrow_mut().insert(key, Arc::clone(&h));
                h
            }
        };
        hashes
            .get(range.start)
            .copied()
            .ok_or(Error::SubtreeUnavailable { subtree })
    }
}

impl<S: TileSource + ?Sized> SubtreeHashes for MemoTree<'_, S> {
    fn subtree_hash(&self, subtree: Subtree) -> Result<Hash, Error> {
        if subtree.level().is_multiple_of(TILE_HEIGHT) {
            return self.tile_hash(subtree);
        }
        if let Some(h) = self.nodes.borrow().get(&subtree) {
            return Ok(*h);
        }
        let level = subtree.level() - 1;
        let left = self.subtree_hash(Subtree::new(level, subtree.index() * 2)?)?;
        let right = self.subtree_hash(Subtree::new(level, subtree.index() * 2 + 1)?)?;
        let hash = node_hash(&left, &right);
        self.nodes.borrow_mut().insert(subtree, hash);
        Ok(hash)
    }
}

/// The root of the perfect binary tree over `hashes` (a power-of-two count, at least one).
fn perfect_root(hashes: &[Hash]) -> Option<Hash> {
    let mut level = hashes.to_vec();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|pair| node_hash(&pair[0], &pair[1]))
            .collect();
    }
    level.first().copied()
}

/// Encodes tile contents as C2SP tlog-tiles bytes: the hashes, concatenated.
pub fn encode_tile(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * Hash::LEN);
    for h in hashes {
        out.extend_from_slice(h.as_bytes());
    }
    out
}

/// Decodes tile bytes (a multiple of 32 bytes) into hashes.
pub fn decode_tile(bytes: &[u8]) -> Result<Vec<Hash>, Error> {
    if !bytes.len().is_multiple_of(Hash::LEN) || bytes.len() > FULL * Hash::LEN {
        return Err(Error::Storage(
            format!("tile data of {} bytes is not 1 to 256 hashes", bytes.len()).into(),
        ));
    }
    Ok(bytes
        .chunks_exact(Hash::LEN)
        .filter_map(|c| <[u8; Hash::LEN]>::try_from(c).ok().map(Hash::from_bytes))
        .collect())
}

/// Appends one entry to a C2SP tlog-tiles entry bundle: a big-endian u16 length, then the bytes.
pub fn push_bundle_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(entry.len()).map_err(|_| {
        Error::Storage(format!("entry of {} bytes exceeds 65535", entry.len()).into())
    })?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits an entry bundle into its entries.
pub fn split_bundle(mut bundle: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut out = Vec::new();
    while !bundle.is_empty() {
        let [hi, lo, rest @ ..] = bundle else {
            return Err(Error::Storage("truncated entry bundle length".into()));
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        if rest.len() < len {
            return Err(Error::Storage("truncated entry bundle entry".into()));
        }
        out.push(&rest[..len]);
        bundle = &rest[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
