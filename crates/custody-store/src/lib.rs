//! Storage backends for custody: the embedded default (one SQLite database in WAL mode in the
//! server's data directory).
//!
//! What it is: implementations of the domain crates' storage needs — the transparency log's
//! tiles, entry bundles, de-duplication index and published checkpoint ([`SqliteLogStore`]),
//! scoped API tokens, stored hashed ([`SqliteTokenStore`]), and the OCI registry's metadata
//! ([`SqliteRegistryStore`]) and content-addressed blob files ([`FsBlobStore`]).
//! Every write is one SQLite transaction with `synchronous = FULL`: after `commit` returns, the
//! batch survives a crash or `kill -9`; before, none of it is visible.
//!
//! The registry's hash-chained audit log is stored here too ([`SqliteAuditStore`]), and so are
//! the environments' append-only promotion histories ([`SqliteEnvironmentStore`]).
//!
//! What it is not: the sequencer (which decides what to write) or the HTTP server.

mod audit;
mod blobs;
mod environments;
mod error;
mod log;
mod registry;
mod sqlite;
mod tokens;

pub use crate::audit::{AuditHeadRow, AuditRow, SqliteAuditStore};
pub use crate::blobs::FsBlobStore;
pub use crate::environments::SqliteEnvironmentStore;
pub use crate::error::Error;
pub use crate::log::{LogBatch, SqliteLogStore, StoredCheckpoint};
pub use crate::registry::SqliteRegistryStore;
pub use crate::tokens::{SqliteTokenStore, TokenRecord};
