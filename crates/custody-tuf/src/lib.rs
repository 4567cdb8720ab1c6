//! TUF 1.0 for custody: metadata, a repository writer and the client workflow.
//!
//! What it is:
//! - [`metadata`]: root, targets (with delegations by `paths`, `path_hash_prefixes` and TAP 15
//!   succinct hashed bins), snapshot and timestamp, read strictly and signed over OLPC
//!   canonical JSON ([`cjson`]); keys are `ed25519` and `ecdsa-sha2-nistp256`, and key ids are
//!   SHA-256 of the canonical key object ([`TufKey`]). Thresholds count distinct keys.
//! - [`writer`]: a repository of consistent snapshots in which adding a target rewrites one
//!   bin, the snapshot and the timestamp.
//! - [`client`]: the specification's client workflow (§5) over a [`client::Fetcher`] and a
//!   [`client::MetadataCache`], with time as a parameter.
//!
//! What it is not: a transport or a file store. This crate does no I/O; the application reads
//! and writes files and speaks HTTP.
//!
//! ```
//! use custody_crypto::{KeyAlgorithm, Signer, SigningKey};
//! use custody_tuf::writer::{Expiries, RepoConfig, Repository};
//!
//! let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
//! let pk = key.public_key().clone();
//! let config = RepoConfig {
//!     root_keys: vec![pk.clone()],
//!     root_threshold: 1,
//!     targets_key: pk.clone(),
//!     snapshot_key: pk.clone(),
//!     timestamp_key: pk.clone(),
//!     bins_key: pk,
//!     bit_length: 4,
//!     name_prefix: "bins".into(),
//! };
//! let mut repo = Repository::create(&config, Expiries::default()).unwrap();
//! let files = repo.commit(&[&key as &dyn Signer], time::OffsetDateTime::now_utc()).unwrap();
//! assert!(files.iter().any(|f| f.name == "1.root.json"));
//! assert!(files.iter().any(|f| f.name == "1.bins-f.json"));
//! ```

pub mod cjson;
mod error;
mod expiry;
mod keys;

pub mod client;
pub mod metadata;
pub mod writer;

pub use crate::error::{Error, ErrorKind};
pub use crate::keys::TufKey;
