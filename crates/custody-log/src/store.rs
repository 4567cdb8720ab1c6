//! The storage a log's sequencer and readers need, as a trait the storage crates implement.
//!
//! The embedded default (`custody-store`'s SQLite store) and later scale-out backends implement
//! [`LogStore`]; the sequencer in `custody-app` only sees this trait.

use crate::integrate::TileSource;
use crate::{Error, Hash, TreeSize};

/// The latest published checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Its tree size.
    pub size: TreeSize,
    /// The signed note text.
    pub note: String,
}

/// Everything one sequencing step writes, committed atomically.
#[derive(Debug, Default)]
pub struct LogBatch {
    /// Tiles that changed, with their full current contents (tile bytes).
    pub tiles: Vec<(crate::tile::Tile, Vec<u8>)>,
    /// Entry bundles that changed, by bundle index, with their full current contents.
    pub bundles: Vec<(u64, Vec<u8>)>,
    /// New leaves' hashes and indexes, for de-duplication.
    pub leaves: Vec<(Hash, u64)>,
    /// The checkpoint that publishes the batch.
    pub checkpoint: Option<StoredCheckpoint>,
}

/// Durable storage behind a transparency log.
///
/// Contract: [`LogStore::commit`] is atomic and durable — when it returns `Ok`, the whole batch
/// survives a crash; when it fails or the process dies first, none of it is visible. Tiles and
/// bundles are stored at their widest version (they only grow). Failures are
/// [`Error::Storage`].
pub trait LogStore: TileSource + Send {
    /// The latest committed checkpoint, if any.
    fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, Error>;
    /// Commits a batch atomically and durably.
    fn commit(&mut self, batch: &LogBatch) -> Result<(), Error>;
    /// Replaces the note of the stored checkpoint of size `size` (adding cosignatures); does
    /// nothing if the stored checkpoint has another size.
    fn set_checkpoint_note(&mut self, size: TreeSize, note: &str) -> Result<(), Error>;
    /// The index of a logged leaf, by leaf hash.
    fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>, Error>;
    /// The bytes of tile (level, index), at its widest stored version.
    fn tile_bytes(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Error>;
    /// The bytes of entry bundle `index`, at its widest stored version.
    fn bundle_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, Error>;
}
