//! The registry's audit log: an append-only sequence of records, and the chain heads that were
//! logged in the transparency log.
//!
//! The store keeps each record's bytes exactly as given (the hashed, canonical encoding is the
//! caller's: `custody_app::registry::audit`); it numbers records `1, 2, 3, ...` and hands the
//! previous record to the caller inside the appending transaction, so that chaining cannot
//! race another writer.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS audit_records (
    seq    INTEGER PRIMARY KEY,
    record BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_heads (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB NOT NULL,
    bundle    BLOB NOT NULL,
    logged_at INTEGER NOT NULL
);
";

/// One stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// Its sequence number (the first record is 1).
    pub seq: u64,
    /// Its bytes, as appended.
    pub record: Vec<u8>,
}

/// A chain head that was logged in the transparency log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHeadRow {
    /// The sequence number of the record that was the head.
    pub seq: u64,
    /// The hash of that record, as logged.
    pub hash: Vec<u8>,
    /// The Sigstore bundle over the hash, with its transparency-log entry.
    pub bundle: Vec<u8>,
    /// When it was logged, Unix seconds.
    pub logged_at: i64,
}

/// The audit tables in the data directory's SQLite database (WAL, `synchronous = FULL`).
pub struct SqliteAuditStore {
    conn: Connection,
}

impl SqliteAuditStore {
    /// Opens (creating the tables if needed) the audit log in the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        // Durable: an acknowledged record is on disk before the write it audits is acknowledged.
        let conn = crate::sqlite::open_durable(path)?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Opens an existing database read-only (for verification and export).
    pub fn open_read_only(path: &Path) -> Result<Self, Error> {
        let conn = crate::sqlite::open_read_only(path)?;
        let has_table: Option<i64> = conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'audit_records'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        if has_table.is_none() {
            return Err(Error::Database("the database has no audit log".into()));
        }
        Ok(Self { conn })
    }

    /// Appends one record in a single immediate transaction: `build` receives the current
    /// last record (`None` for an empty log) and the new record's sequence number, and returns
    /// the new record's bytes, or `None` to append nothing. Returns the new sequence number.
    pub fn append(
        &mut self,
        build: impl FnOnce(Option<&AuditRow>, u64) -> Option<Vec<u8>>,
    ) -> Result<Option<u64>, Error> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let last = last_row(&tx)?;
        let seq = last.as_ref().map_or(1, |r| r.seq + 1);
        let Some(record) = build(last.as_ref(), seq) else {
            return Ok(None);
        };
        tx.execute(
            "INSERT INTO audit_records (seq, record) VALUES (?1, ?2)",
            params![to_i64(seq)?, record],
        )?;
        tx.commit()?;
        Ok(Some(seq))
    }

    /// The last record, if any.
    pub fn last(&self) -> Result<Option<AuditRow>, Error> {
        last_row(&self.conn)
    }

    /// The record numbered `seq`.
    pub fn get(&self, seq: u64) -> Result<Option<AuditRow>, Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, record FROM audit_records WHERE seq = ?1")?;
        stmt.query_row([to_i64(seq)?], row_to_record)
            .optional()?
            .transpose()
    }

    /// Calls `f` with every record in sequence order, one at a time (memory does not grow with
    /// the log); stops at the first error `f` returns, which is returned inside `Ok`.
    pub fn for_each<E>(
        &self,
        mut f: impl FnMut(AuditRow) -> Result<(), E>,
    ) -> Result<Result<(), E>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, record FROM audit_records ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if let Err(e) = f(row_to_record(row)??) {
                return Ok(Err(e));
            }
        }
        Ok(Ok(()))
    }

    /// Stores a logged chain head.
    pub fn insert_head(&mut self, head: &AuditHeadRow) -> Result<(), Error> {
        self.conn.execute(
            "INSERT INTO audit_heads (seq, hash, bundle, logged_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (seq) DO NOTHING",
            params![to_i64(head.seq)?, head.hash, head.bundle, head.logged_at],
        )?;
        Ok(())
    }

    /// Every logged chain head, by sequence number.
    pub fn heads(&self) -> Result<Vec<AuditHeadRow>, Error> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, hash, bundle, logged_at FROM audit_heads ORDER BY seq")?;
        let rows = stmt.query_map([], |row| {
            let seq: i64 = row.get(0)?;
            Ok((seq, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
        rows.map(|r| {
            let (seq, hash, bundle, logged_at) = r?;
            Ok(AuditHeadRow {
                seq: to_u64(seq)?,
                hash,
                bundle,
                logged_at,
            })
        })
        .collect()
    }
}

fn last_row(conn: &Connection) -> Result<Option<AuditRow>, Error> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, record FROM audit_records ORDER BY seq DESC LIMIT 1")?;
    stmt.query_row([], row_to_record).optional()?.transpose()
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<AuditRow, Error>> {
    let seq: i64 = row.get(0)?;
    let record: Vec<u8> = row.get(1)?;
    Ok(to_u64(seq).map(|seq| AuditRow { seq, record }))
}

fn to_i64(v: u64) -> Result<i64, Error> {
    i64::try_from(v).map_err(|_| Error::Corrupt(format!("{v} does not fit a SQLite integer")))
}

fn to_u64(v: i64) -> Result<u64, Error> {
    u64::try_from(v).map_err(|_| Error::Corrupt(format!("negative sequence number {v}")))
}
