//! The transparency log's embedded store.

use std::path::Path;

use custody_log::integrate::{TileSource, decode_tile};
use custody_log::store::LogStore;
use custody_log::tile::Tile;
use custody_log::{Hash, TreeSize};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log_tiles (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    data  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_bundles (
    idx  INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS log_leaves (
    leaf_hash BLOB PRIMARY KEY,
    idx       INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_checkpoint (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL,
    note TEXT NOT NULL
);
";

pub use custody_log::store::{LogBatch, StoredCheckpoint};

/// The log's tables in a SQLite database (WAL mode, `synchronous = FULL`).
pub struct SqliteLogStore {
    conn: Connection,
}

impl SqliteLogStore {
    /// Opens (creating if needed) the store in the database file at `path`, for writing.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let conn = crate::sqlite::open_durable(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Opens an existing store read-only (for serving reads beside the writer).
    pub fn open_read_only(path: &Path) -> Result<Self, Error> {
        let conn = crate::sqlite::open_read_only(path)?;
        Ok(Self { conn })
    }

    /// The latest published checkpoint, if any batch was ever committed.
    pub fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, Error> {
        self.conn
            .query_row(
                "SELECT size, note FROM log_checkpoint WHERE id = 1",
                [],
                |row| {
                    let size: i64 = row.get(0)?;
                    Ok((size, row.get::<_, String>(1)?))
                },
            )
            .optional()?
            .map(|(size, note)| {
                let size = u64::try_from(size)
                    .map_err(|_| Error::Corrupt(format!("negative tree size {size}")))?;
                Ok(StoredCheckpoint {
                    size: TreeSize::new(size),
                    note,
                })
            })
            .transpose()
    }

    /// Writes a batch in one transaction; when this returns `Ok`, the batch is durable.
    pub fn commit(&mut self, batch: &LogBatch) -> Result<(), Error> {
        let tx = self.conn.transaction()?;
        {
            let mut tile = tx.prepare_cached(
                "INSERT INTO log_tiles (level, idx, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (level, idx) DO UPDATE SET data = excluded.data",
            )?;
            for (t, data) in &batch.tiles {
                tile.execute(params![t.level(), to_i64(t.index())?, data])?;
            }
            let mut bundle = tx.prepare_cached(
                "INSERT INTO log_bundles (idx, data) VALUES (?1, ?2)
                 ON CONFLICT (idx) DO UPDATE SET data = excluded.data",
            )?;
            for (index, data) in &batch.bundles {
                bundle.execute(params![to_i64(*index)?, data])?;
            }
            let mut leaf =
                tx.prepare_cached("INSERT INTO log_leaves (leaf_hash, idx) VALUES (?1, ?2)")?;
            for (hash, index) in &batch.leaves {
                leaf.execute(params![&hash.as_bytes()[..], to_i64(*index)?])?;
            }
            if let Some(cp) = &batch.checkpoint {
                tx.execute(
                    "INSERT INTO log_checkpoint (id, size, note) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET size = excluded.size, note = excluded.note",
                    params![to_i64(cp.size.get())?, cp.note],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces the stored note of the checkpoint of size `size` (to add witness cosignatures);
    /// does nothing if the stored checkpoint has another size.
    pub fn set_checkpoint_note(&mut self, size: TreeSize, note: &str) -> Result<(), Error> {
        self.conn.execute(
            "UPDATE log_checkpoint SET note = ?2 WHERE id = 1 AND size = ?1",
            params![to_i64(size.get())?, note],
        )?;
        Ok(())
    }

    /// The index of a leaf already in the log, by its leaf hash.
    pub fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT idx FROM log_leaves WHERE leaf_hash = ?1")?;
        let found: Option<i64> = stmt
            .query_row([&leaf_hash.as_bytes()[..]], |r| r.get(0))
            .optional()?;
        found
            .map(|i| {
                u64::try_from(i).map_err(|_| Error::Corrupt(format!("negative leaf index {i}")))
            })
            .transpose()
    }

    /// The stored bytes of a tile (its widest version so far).
    pub fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM log_tiles WHERE level = ?1 AND idx = ?2")?;
        Ok(stmt
            .query_row(params![level, to_i64(index)?], |r| r.get(0))
            .optional()?)
    }

    /// The stored bytes of an entry bundle (its widest version so far).
    pub fn bundle(&self, index: u64) -> Result<Option<Vec<u8>>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT data FROM log_bundles WHERE idx = ?1")?;
        Ok(stmt.query_row([to_i64(index)?], |r| r.get(0)).optional()?)
    }
}

impl TileSource for SqliteLogStore {
    fn tile_hashes(&self, tile: Tile) -> Result<std::sync::Arc<[Hash]>, custody_log::Error> {
        let bytes = self
            .tile(tile.level(), tile.index())
            .map_err(|e| custody_log::Error::Storage(Box::new(e)))?
            .ok_or_else(|| {
                custody_log::Error::Storage(format!("tile {tile} is not stored").into())
            })?;
        decode_tile(&bytes).map(std::sync::Arc::from)
    }
}

fn to_i64(v: u64) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::Corrupt(format!("{v} does not fit a SQLite integer")))
}

fn storage(e: Error) -> custody_log::Error {
    custody_log::Error::Storage(Box::new(e))
}

impl LogStore for SqliteLogStore {
    fn checkpoint(&self) -> Result<Option<StoredCheckpoint>, custody_log::Error> {
        Self::checkpoint(self).map_err(storage)
    }

    fn commit(&mut self, batch: &LogBatch) -> Result<(), custody_log::Error> {
        Self::commit(self, batch).map_err(storage)
    }

    fn set_checkpoint_note(
        &mut self,
        size: TreeSize,
        note: &str,
    ) -> Result<(), custody_log::Error> {
        Self::set_checkpoint_note(self, size, note).map_err(storage)
    }

    fn leaf_index(&self, leaf_hash: &Hash) -> Result<Option<u64>, custody_log::Error> {
        Self::leaf_index(self, leaf_hash).map_err(storage)
    }

    fn tile_bytes(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>, custody_log::Error> {
        self.tile(level, index).map_err(storage)
    }

    fn bundle_bytes(&self, index: u64) -> Result<Option<Vec<u8>>, custody_log::Error> {
        self.bundle(index).map_err(storage)
    }
}
