//! custody's use cases: the operations the CLI (and later the server) expose, built from the
//! domain crates, with file I/O at this edge and every failure mapped to a stable [`Code`].
//!
//! What it is: key files, signing and attesting artifacts, offline verification, trust roots.
//! What it is not: a user interface. Prompting, printing and exit statuses belong to
//! `custody-cli`; this crate returns values and [`Error`]s.

pub mod build;
mod codes;
pub mod datadir;
pub mod deploy;
mod error;
pub mod fs;
pub mod keys;
pub mod log;
pub mod monitor;
pub mod policy;
pub mod registry;
pub mod remote;
pub mod sbom;
pub mod sign;
pub mod tlog;
pub mod tokens;
pub mod trust;
pub mod tuf;
pub mod verify;
pub mod witness;
pub mod witnessing;

pub use crate::codes::{Code, markdown as errors_markdown};
pub use crate::error::{Document, Error, Result};

#[cfg(test)]
mod tests;
