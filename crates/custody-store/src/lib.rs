//! Storage backends for custody: the embedded default (one SQLite database in WAL mode in the
//! server's data directory).
//!
//! What it is: implementations of the domain crates' storage needs — the transparency log's
//! tiles, entry bundles, de-duplication index and published checkpoint ([`SqliteLogStore`]),
//! and scoped API tokens, stored hashed ([`SqliteTokenStore`]).
//! Every write is one SQLite transaction with `synchronous = FULL`: after `commit` returns, the
//! batch survives a crash or `kill -9`; before, none of it is visible.
//!
//! What it is not: the sequencer (which decides what to write) or the HTTP server.

mod error;
mod log;
mod tokens;

pub use crate::error::Error;
pub use crate::log::{LogBatch, SqliteLogStore, StoredCheckpoint};
pub use crate::tokens::{SqliteTokenStore, TokenRecord};
