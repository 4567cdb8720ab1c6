//! Scoped API tokens, stored hashed.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id          TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    scopes      TEXT NOT NULL,
    description TEXT NOT NULL,
    created     INTEGER NOT NULL,
    revoked     INTEGER
);
";

/// A stored token: never the secret itself, only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The public token id (the part of the token before the secret).
    pub id: String,
    /// SHA-256 of the token's secret part.
    pub secret_hash: Vec<u8>,
    /// Space-separated scopes.
    pub scopes: String,
    /// What the token is for, as its creator described it.
    pub description: String,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Revocation time, Unix seconds, if revoked.
    pub revoked: Option<i64>,
}

/// Tokens in the data directory's SQLite database.
pub struct SqliteTokenStore {
    conn: Connection,
}

impl SqliteTokenStore {
    /// Opens (creating if needed) the token table in the database at `path`.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let conn = crate::sqlite::open_durable(path)?;
        // Plans must not depend on bound values, so the cached lookup is not re-prepared on
        // every request (bundled SQLite has STAT4).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self { conn })
    }

    /// Stores a new token.
    pub fn insert(&self, record: &TokenRecord) -> Result<(), Error> {
        self.conn.execute(
            "INSERT INTO tokens (id, secret_hash, scopes, description, created, revoked) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![record.id, record.secret_hash, record.scopes, record.description, record.created, record.revoked],
        )?;
        Ok(())
    }

    /// A token by id.
    pub fn get(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, secret_hash, scopes, description, created, revoked FROM tokens WHERE id = ?1",
        )?;
        Ok(stmt.query_row([id], row_to_record).optional()?)
    }

    /// Every token, oldest first.
    pub fn list(&self) -> Result<Vec<TokenRecord>, Error> {
        let mut stmt = self.conn.prepare(
            "SELECT id, secret_hash, scopes, description, created, revoked FROM tokens ORDER BY created, id",
        )?;
        let rows = stmt.query_map([], row_to_record)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Marks a token revoked at `at`; returns false if no such token exists. Revoking twice
    /// keeps the first time.
    pub fn revoke(&self, id: &str, at: i64) -> Result<bool, Error> {
        let changed = self.conn.execute(
            "UPDATE tokens SET revoked = COALESCE(revoked, ?2) WHERE id = ?1",
            params![id, at],
        )?;
        Ok(changed > 0)
    }
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.get(0)?,
        secret_hash: row.get(1)?,
        scopes: row.get(2)?,
        description: row.get(3)?,
        created: row.get(4)?,
        revoked: row.get(5)?,
    })
}
