//! The OCI distribution-spec v1.1 registry's pure logic: repository-name and tag grammar,
//! references, the spec's error codes and JSON error body, manifest parsing (OCI image manifest
//! and index, Docker schema2 manifest and manifest list), the referrers index, tag-list paging,
//! `Content-Range`/`Range` parsing, and the storage traits ([`store::BlobStore`],
//! [`store::MetaStore`]) that the embedded default (custody-store) and later the scale-out
//! backend implement.
//!
//! What it is not: HTTP (custody-server), authorization and policy (custody-app), or I/O of any
//! kind.

mod error;
pub mod manifest;
pub mod name;
pub mod range;
pub mod referrers;
pub mod store;
pub mod tags;

pub use crate::error::{Invalid, OciCode, error_body};
pub use crate::name::{Reference, validate_repository, validate_tag};

#[cfg(test)]
mod tests;
