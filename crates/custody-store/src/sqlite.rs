//! The one way custody-store opens a SQLite database for writing.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

/// Opens (creating if needed) the database at `path` for reading and writing: WAL journal,
/// `synchronous = FULL` (a committed transaction is on disk before commit returns, so it
/// survives kill -9 and power loss), a 10 s busy timeout (the stores share one file), and
/// `foreign_keys` on. The connection is used from one thread at a time (`NO_MUTEX`; callers
/// guard it).
pub(crate) fn open_durable(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// Opens an existing database read-only, with the same busy timeout.
pub(crate) fn open_read_only(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}
