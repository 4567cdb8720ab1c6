//! [`SqliteEnvironmentStore`]: the environments' promotion histories in the data directory's
//! SQLite database.
//!
//! The table is append-only: events are only ever inserted (no statement here changes or
//! removes one, and triggers refuse any `UPDATE` or `DELETE` that another tool might try).
//! An append counts the environment's events and inserts the new one in one `IMMEDIATE`
//! transaction, so of two concurrent promotions to the same position exactly one succeeds, even
//! across processes; `(environment, sequence)` is the primary key as a second guard. With WAL
//! and `synchronous = FULL`, an acknowledged append survives a crash or `kill -9`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use custody_crypto::Digest;
use custody_deploy::{EnvironmentEvent, EnvironmentStore, EventKind, StoreError};
use rusqlite::{Connection, TransactionBehavior, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS env_events (
    environment TEXT NOT NULL,
    sequence    INTEGER NOT NULL CHECK (sequence >= 1),
    kind        TEXT NOT NULL CHECK (kind IN ('promote', 'rollback')),
    repository  TEXT NOT NULL,
    digest      TEXT NOT NULL,
    previous    TEXT,
    signer      TEXT NOT NULL,
    log_index   INTEGER NOT NULL,
    bundle      BLOB NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (environment, sequence)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS env_events_digest ON env_events (digest);
CREATE TRIGGER IF NOT EXISTS env_events_append_only_update BEFORE UPDATE ON env_events
BEGIN
    SELECT RAISE(ABORT, 'environment histories are append-only');
END;
CREATE TRIGGER IF NOT EXISTS env_events_append_only_delete BEFORE DELETE ON env_events
BEGIN
    SELECT RAISE(ABORT, 'environment histories are append-only');
END;
";

const COLUMNS: &str = "environment, sequence, kind, repository, digest, previous, signer, \
                       log_index, bundle, recorded_at";

/// Environment histories in SQLite (WAL, `synchronous = FULL`): one writer connection and one
/// reader connection (WAL lets reads proceed while a promotion commits).
pub struct SqliteEnvironmentStore {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Storage(format!("environment database: {e}"))
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Storage(format!("environment database holds corrupt data: {what}"))
}

fn open_conn(path: &Path) -> Result<Connection, rusqlite::Error> {
    crate::sqlite::open_durable(path)
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Storage(format!("{v} does not fit an integer")))
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt(format!("negative number {v}")))
}

impl SqliteEnvironmentStore {
    /// Opens (creating the table if needed) the environment histories in the database at
    /// `path` (the data directory's `custody.db`, shared with the other stores).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let writer = open_conn(path).map_err(db)?;
        writer.execute_batch(SCHEMA).map_err(db)?;
        let reader = open_conn(path).map_err(db)?;
        Ok(Self {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    fn lock(conn: &Mutex<Connection>) -> Result<MutexGuard<'_, Connection>, StoreError> {
        conn.lock()
            .map_err(|_| StoreError::Storage("environment database lock poisoned".into()))
    }

    fn query(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<EnvironmentEvent>, StoreError> {
        let conn = Self::lock(&self.reader)?;
        let mut stmt = conn.prepare_cached(sql).map_err(db)?;
        let rows = stmt.query_map(params, Row::read).map_err(db)?;
        rows.map(|row| row.map_err(db)?.into_event()).collect()
    }
}

/// A row as stored, before its fields are parsed back.
struct Row {
    environment: String,
    sequence: i64,
    kind: String,
    repository: String,
    digest: String,
    previous: Option<String>,
    signer: String,
    log_index: i64,
    bundle: Vec<u8>,
    recorded_at: String,
}

impl Row {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            environment: row.get(0)?,
            sequence: row.get(1)?,
            kind: row.get(2)?,
            repository: row.get(3)?,
            digest: row.get(4)?,
            previous: row.get(5)?,
            signer: row.get(6)?,
            log_index: row.get(7)?,
            bundle: row.get(8)?,
            recorded_at: row.get(9)?,
        })
    }

    fn into_event(self) -> Result<EnvironmentEvent, StoreError> {
        let digest = |s: &str| {
            s.parse::<Digest>()
                .map_err(|e| corrupt(format!("digest '{s}': {e}")))
        };
        Ok(EnvironmentEvent {
            sequence: to_u64(self.sequence)?,
            kind: self
                .kind
                .parse::<EventKind>()
                .map_err(|_| corrupt(format!("event kind '{}'", self.kind)))?,
            digest: digest(&self.digest)?,
            previous: self.previous.as_deref().map(digest).transpose()?,
            log_index: to_u64(self.log_index)?,
            recorded_at: OffsetDateTime::parse(&self.recorded_at, &Rfc3339)
                .map_err(|e| corrupt(format!("time '{}': {e}", self.recorded_at)))?,
            environment: self.environment,
            repository: self.repository,
            signer: self.signer,
            bundle: self.bundle,
        })
    }
}

impl EnvironmentStore for SqliteEnvironmentStore {
    fn append(&self, event: &EnvironmentEvent) -> Result<(), StoreError> {
        let sequence = to_i64(event.sequence)?;
        let log_index = to_i64(event.log_index)?;
        let recorded_at = event
            .recorded_at
            .to_offset(time::UtcOffset::UTC)
            .format(&Rfc3339)
            .map_err(|e| StoreError::Storage(format!("recorded_at cannot be stored: {e}")))?;
        let mut conn = Self::lock(&self.writer)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let count: i64 = tx
            .query_row(
                "SELECT COUNT(*) FROM env_events WHERE environment = ?1",
                [&event.environment],
                |r| r.get(0),
            )
            .map_err(db)?;
        let count = to_u64(count)?;
        if event.sequence.checked_sub(1) != Some(count) {
            return Err(StoreError::Conflict {
                environment: event.environment.clone(),
                expected: count + 1,
                found: event.sequence,
            });
        }
        tx.execute(
            &format!("INSERT INTO env_events ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![
                event.environment,
                sequence,
                event.kind.as_str(),
                event.repository,
                event.digest.to_string(),
                event.previous.map(|d| d.to_string()),
                event.signer,
                log_index,
                event.bundle,
                recorded_at,
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)
    }

    fn history(&self, environment: &str) -> Result<Vec<EnvironmentEvent>, StoreError> {
        self.query(
            &format!("SELECT {COLUMNS} FROM env_events WHERE environment = ?1 ORDER BY sequence"),
            [environment],
        )
    }

    fn environments(&self) -> Result<Vec<String>, StoreError> {
        let conn = Self::lock(&self.reader)?;
        let mut stmt = conn
            .prepare_cached("SELECT DISTINCT environment FROM env_events ORDER BY environment")
            .map_err(db)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }

    fn events_for_digest(&self, digest: &Digest) -> Result<Vec<EnvironmentEvent>, StoreError> {
        self.query(
            &format!(
                "SELECT {COLUMNS} FROM env_events WHERE digest = ?1 ORDER BY environment, sequence"
            ),
            [digest.to_string()],
        )
    }
}
