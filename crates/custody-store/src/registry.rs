//! [`SqliteRegistryStore`]: the registry's metadata in the data directory's SQLite database.
//!
//! One writer connection (every write is one `IMMEDIATE` transaction, so checks and writes are
//! atomic with respect to other writers, garbage collection included) and a few reader
//! connections for the read path (WAL lets them read while the writer writes).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use custody_crypto::Digest;
use custody_registry::Reference;
use custody_registry::referrers::Referrer;
use custody_registry::store::{
    MetaStore, NewManifest, StoreError, StoreResult, StoredManifest, UploadRecord,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS reg_blobs (
    digest TEXT PRIMARY KEY,
    size   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reg_blob_links (
    repo      TEXT NOT NULL,
    digest    TEXT NOT NULL REFERENCES reg_blobs (digest),
    linked_at INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reg_blob_links_digest ON reg_blob_links (digest);
CREATE TABLE IF NOT EXISTS reg_manifests (
    repo          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    subject       TEXT,
    artifact_type TEXT,
    annotations   TEXT NOT NULL,
    first_layer   TEXT,
    created       INTEGER NOT NULL,
    PRIMARY KEY (repo, digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reg_manifests_subject ON reg_manifests (repo, subject);
CREATE TABLE IF NOT EXISTS reg_manifest_refs (
    repo     TEXT NOT NULL,
    manifest TEXT NOT NULL,
    digest   TEXT NOT NULL,
    PRIMARY KEY (repo, manifest, digest)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reg_manifest_refs_digest ON reg_manifest_refs (digest);
CREATE TABLE IF NOT EXISTS reg_tags (
    repo   TEXT NOT NULL,
    tag    TEXT NOT NULL,
    digest TEXT NOT NULL,
    PRIMARY KEY (repo, tag)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reg_tags_digest ON reg_tags (repo, digest);
CREATE TABLE IF NOT EXISTS reg_uploads (
    id      TEXT PRIMARY KEY,
    repo    TEXT NOT NULL,
    created INTEGER NOT NULL
) WITHOUT ROWID;
";

const READERS: usize = 4;

/// Registry metadata in SQLite (WAL, `synchronous = FULL`).
pub struct SqliteRegistryStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Io(format!("registry database: {e}"))
}

fn open_conn(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = crate::sqlite::open_durable(path)?;
    // Plans must not depend on bound values: otherwise SQLite re-prepares a cached statement
    // on every bind of a value it peeked at (bundled builds have STAT4), which costs more than
    // the query itself on the hot read path.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(conn)
}

fn parse_digest(s: &str) -> StoreResult<Digest> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("stored digest '{s}' does not parse")))
}

fn to_i64(v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{v} does not fit an integer")))
}

impl SqliteRegistryStore {
    /// Opens (creating the tables if needed) the registry tables in the database at `path`.
    pub fn open(path: &Path) -> StoreResult<Self> {
        let writer = open_conn(path).map_err(db)?;
        writer.execute_batch(SCHEMA).map_err(db)?;
        let readers = (0..READERS)
            .map(|_| open_conn(path).map(Mutex::new))
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        Ok(Self {
            writer: Mutex::new(writer),
            readers,
            next: AtomicUsize::new(0),
        })
    }

    fn writer(&self) -> StoreResult<MutexGuard<'_, Connection>> {
        self.writer
            .lock()
            .map_err(|_| StoreError::Io("registry database lock poisoned".into()))
    }

    fn reader(&self) -> StoreResult<MutexGuard<'_, Connection>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..self.readers.len() {
            if let Ok(guard) = self.readers[(start + i) % self.readers.len()].try_lock() {
                return Ok(guard);
            }
        }
        self.readers[start % self.readers.len()]
            .lock()
            .map_err(|_| StoreError::Io("registry database lock poisoned".into()))
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut conn = self.writer()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let out = f(&tx)?;
        tx.commit().map_err(db)?;
        Ok(out)
    }
}

const GC_CANDIDATE: &str = "NOT EXISTS (SELECT 1 FROM reg_manifest_refs r WHERE r.digest = b.digest)
     AND NOT EXISTS (SELECT 1 FROM reg_blob_links l WHERE l.digest = b.digest AND l.linked_at >= ?1)";

impl MetaStore for SqliteRegistryStore {
    fn link_blob(&self, repository: &str, digest: &Digest, size: u64, now: i64) -> StoreResult<()> {
        let d = digest.to_string();
        let size = to_i64(size)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO reg_blobs (digest, size) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![d, size],
            )
            .map_err(db)?;
            tx.execute(
                "INSERT INTO reg_blob_links (repo, digest, linked_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (repo, digest) DO UPDATE SET linked_at = excluded.linked_at",
                params![repository, d, now],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn linked_blob(&self, repository: &str, digest: &Digest) -> StoreResult<Option<u64>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT b.size FROM reg_blob_links l JOIN reg_blobs b ON b.digest = l.digest
                 WHERE l.repo = ?1 AND l.digest = ?2",
            )
            .map_err(db)?;
        let size: Option<i64> = stmt
            .query_row(params![repository, digest.to_string()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        Ok(size.map(|s| u64::try_from(s).unwrap_or(0)))
    }

    fn unlink_blob(&self, repository: &str, digest: &Digest) -> StoreResult<bool> {
        let d = digest.to_string();
        self.write(|tx| {
            let n = tx
                .execute(
                    "DELETE FROM reg_blob_links WHERE repo = ?1 AND digest = ?2",
                    params![repository, d],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
    }

    fn put_manifest(&self, m: &NewManifest<'_>) -> StoreResult<()> {
        let digest = m.digest.to_string();
        let annotations = serde_json_annotations(&m.annotations);
        self.write(|tx| {
            {
                let mut blob = tx
                    .prepare_cached(
                        "SELECT 1 FROM reg_blob_links WHERE repo = ?1 AND digest = ?2",
                    )
                    .map_err(db)?;
                for b in &m.blobs {
                    let found: Option<i64> = blob
                        .query_row(params![m.repository, b.to_string()], |r| r.get(0))
                        .optional()
                        .map_err(db)?;
                    if found.is_none() {
                        return Err(StoreError::ReferenceUnknown(b.to_string()));
                    }
                }
                let mut child = tx
                    .prepare_cached("SELECT 1 FROM reg_manifests WHERE repo = ?1 AND digest = ?2")
                    .map_err(db)?;
                for c in &m.children {
                    let found: Option<i64> = child
                        .query_row(params![m.repository, c.to_string()], |r| r.get(0))
                        .optional()
                        .map_err(db)?;
                    if found.is_none() {
                        return Err(StoreError::ReferenceUnknown(c.to_string()));
                    }
                }
            }
            if let Some(tag) = m.tag {
                let current: Option<String> = tx
                    .query_row(
                        "SELECT digest FROM reg_tags WHERE repo = ?1 AND tag = ?2",
                        params![m.repository, tag],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db)?;
                if m.tag_immutable && current.as_deref().is_some_and(|c| c != digest) {
                    return Err(StoreError::TagImmutable(tag.to_owned()));
                }
            }
            tx.execute(
                "INSERT INTO reg_manifests
                   (repo, digest, media_type, bytes, subject, artifact_type, annotations, first_layer, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                params![
                    m.repository,
                    digest,
                    m.media_type,
                    m.bytes,
                    m.subject.map(|s| s.to_string()),
                    m.artifact_type,
                    annotations,
                    m.first_layer.map(|f| f.to_string()),
                    m.now
                ],
            )
            .map_err(db)?;
            {
                let mut r = tx
                    .prepare_cached(
                        "INSERT INTO reg_manifest_refs (repo, manifest, digest) VALUES (?1, ?2, ?3)
                         ON CONFLICT DO NOTHING",
                    )
                    .map_err(db)?;
                for d in m.blobs.iter().chain(&m.children) {
                    r.execute(params![m.repository, digest, d.to_string()])
                        .map_err(db)?;
                }
            }
            if let Some(tag) = m.tag {
                tx.execute(
                    "INSERT INTO reg_tags (repo, tag, digest) VALUES (?1, ?2, ?3)
                     ON CONFLICT (repo, tag) DO UPDATE SET digest = excluded.digest",
                    params![m.repository, tag, digest],
                )
                .map_err(db)?;
            }
            Ok(())
        })
    }

    fn manifest(
        &self,
        repository: &str,
        reference: &Reference,
    ) -> StoreResult<Option<StoredManifest>> {
        let conn = self.reader()?;
        let row = match reference {
            Reference::Tag(tag) => {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT m.digest, m.media_type, m.bytes, m.subject FROM reg_tags t
                         JOIN reg_manifests m ON m.repo = t.repo AND m.digest = t.digest
                         WHERE t.repo = ?1 AND t.tag = ?2",
                    )
                    .map_err(db)?;
                stmt.query_row(params![repository, tag], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })
                .optional()
                .map_err(db)?
            }
            Reference::Digest(d) => {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT digest, media_type, bytes, subject FROM reg_manifests
                         WHERE repo = ?1 AND digest = ?2",
                    )
                    .map_err(db)?;
                stmt.query_row(params![repository, d.to_string()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                })
                .optional()
                .map_err(db)?
            }
        };
        row.map(|(digest, media_type, bytes, subject)| {
            Ok(StoredManifest {
                digest: parse_digest(&digest)?,
                media_type,
                bytes,
                subject: subject.as_deref().map(parse_digest).transpose()?,
            })
        })
        .transpose()
    }

    fn delete_manifest(
        &self,
        repository: &str,
        digest: &Digest,
        immutable: &dyn Fn(&str) -> bool,
    ) -> StoreResult<bool> {
        let d = digest.to_string();
        self.write(|tx| {
            let tags: Vec<String> = {
                let mut stmt = tx
                    .prepare_cached("SELECT tag FROM reg_tags WHERE repo = ?1 AND digest = ?2")
                    .map_err(db)?;
                stmt.query_map(params![repository, d], |r| r.get(0))
                    .map_err(db)?
                    .collect::<Result<_, _>>()
                    .map_err(db)?
            };
            if let Some(t) = tags.iter().find(|t| immutable(t)) {
                return Err(StoreError::TagImmutable(t.clone()));
            }
            tx.execute(
                "DELETE FROM reg_tags WHERE repo = ?1 AND digest = ?2",
                params![repository, d],
            )
            .map_err(db)?;
            tx.execute(
                "DELETE FROM reg_manifest_refs WHERE repo = ?1 AND manifest = ?2",
                params![repository, d],
            )
            .map_err(db)?;
            let n = tx
                .execute(
                    "DELETE FROM reg_manifests WHERE repo = ?1 AND digest = ?2",
                    params![repository, d],
                )
                .map_err(db)?;
            Ok(n > 0)
        })
    }

    fn delete_tag(&self, repository: &str, tag: &str, immutable: bool) -> StoreResult<bool> {
        self.write(|tx| {
            let exists: Option<i64> = tx
                .query_row(
                    "SELECT 1 FROM reg_tags WHERE repo = ?1 AND tag = ?2",
                    params![repository, tag],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if exists.is_none() {
                return Ok(false);
            }
            if immutable {
                return Err(StoreError::TagImmutable(tag.to_owned()));
            }
            tx.execute(
                "DELETE FROM reg_tags WHERE repo = ?1 AND tag = ?2",
                params![repository, tag],
            )
            .map_err(db)?;
            Ok(true)
        })
    }

    fn tags(
        &self,
        repository: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT tag FROM reg_tags WHERE repo = ?1 AND tag > ?2 ORDER BY tag LIMIT ?3",
            )
            .map_err(db)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        stmt.query_map(params![repository, after.unwrap_or(""), limit], |r| {
            r.get(0)
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)
    }

    fn repository_exists(&self, repository: &str) -> StoreResult<bool> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM reg_manifests WHERE repo = ?1)
                     OR EXISTS (SELECT 1 FROM reg_blob_links WHERE repo = ?1)",
            )
            .map_err(db)?;
        stmt.query_row([repository], |r| r.get(0)).map_err(db)
    }

    fn referrers(&self, repository: &str, subject: &Digest) -> StoreResult<Vec<Referrer>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT digest, media_type, length(bytes), artifact_type, annotations, first_layer
                 FROM reg_manifests WHERE repo = ?1 AND subject = ?2 ORDER BY created, digest",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![repository, subject.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(
                |(digest, media_type, size, artifact_type, annotations, first)| {
                    Ok(Referrer {
                        digest: parse_digest(&digest)?,
                        media_type,
                        size: u64::try_from(size).unwrap_or(0),
                        artifact_type,
                        annotations: parse_annotations(&annotations)?,
                        first_layer: first.as_deref().map(parse_digest).transpose()?,
                    })
                },
            )
            .collect()
    }

    fn create_upload(&self, id: &str, repository: &str, now: i64) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO reg_uploads (id, repo, created) VALUES (?1, ?2, ?3)",
                params![id, repository, now],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn upload(&self, id: &str) -> StoreResult<Option<UploadRecord>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached("SELECT repo, created FROM reg_uploads WHERE id = ?1")
            .map_err(db)?;
        stmt.query_row([id], |r| {
            Ok(UploadRecord {
                repository: r.get(0)?,
                created: r.get(1)?,
            })
        })
        .optional()
        .map_err(db)
    }

    fn delete_upload(&self, id: &str) -> StoreResult<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM reg_uploads WHERE id = ?1", [id])
                .map_err(db)?;
            Ok(())
        })
    }

    fn uploads_before(&self, cutoff: i64) -> StoreResult<Vec<String>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached("SELECT id FROM reg_uploads WHERE created < ?1")
            .map_err(db)?;
        stmt.query_map([cutoff], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)
    }

    fn gc_candidates(&self, linked_before: i64) -> StoreResult<Vec<Digest>> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare(&format!(
                "SELECT b.digest FROM reg_blobs b WHERE {GC_CANDIDATE}"
            ))
            .map_err(db)?;
        let rows: Vec<String> = stmt
            .query_map([linked_before], |r| r.get(0))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        rows.iter().map(|d| parse_digest(d)).collect()
    }

    fn gc_remove_blob(&self, digest: &Digest, linked_before: i64) -> StoreResult<bool> {
        let d = digest.to_string();
        self.write(|tx| {
            let still: Option<i64> = tx
                .query_row(
                    &format!("SELECT 1 FROM reg_blobs b WHERE b.digest = ?2 AND {GC_CANDIDATE}"),
                    params![linked_before, d],
                    |r| r.get(0),
                )
                .optional()
                .map_err(db)?;
            if still.is_none() {
                return Ok(false);
            }
            tx.execute("DELETE FROM reg_blob_links WHERE digest = ?1", [&d])
                .map_err(db)?;
            tx.execute("DELETE FROM reg_blobs WHERE digest = ?1", [&d])
                .map_err(db)?;
            Ok(true)
        })
    }

    fn blob_known(&self, digest: &Digest) -> StoreResult<bool> {
        let conn = self.reader()?;
        let mut stmt = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM reg_blobs WHERE digest = ?1)")
            .map_err(db)?;
        stmt.query_row([digest.to_string()], |r| r.get(0))
            .map_err(db)
    }
}

fn serde_json_annotations(a: &BTreeMap<String, String>) -> String {
    serde_json::to_string(a).unwrap_or_else(|_| "{}".to_owned())
}

fn parse_annotations(s: &str) -> StoreResult<BTreeMap<String, String>> {
    serde_json::from_str(s)
        .map_err(|_| StoreError::Corrupt("stored annotations do not parse".into()))
}
