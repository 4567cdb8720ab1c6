//! Signed-document formats for custody: strict JSON, DSSE envelopes, in-toto statements,
//! SLSA provenance, Sigstore bundles, and custody's own trust root.
//!
//! What it is:
//! - [`json`]: a strict JSON reader (no duplicate keys, bounded size and depth) and RFC 8785
//!   canonical JSON.
//! - [`dsse`]: the DSSE envelope and its pre-authentication encoding (PAE).
//! - [`intoto`]: the in-toto Statement v1.
//! - [`slsa`]: SLSA Provenance v1 as typed values.
//! - [`bundle`]: Sigstore bundles (read v0.1 to v0.3, write v0.3).
//! - [`trust_root`]: custody's signed list of trusted keys and their roles.
//!
//! Every format is read in two steps: parsing checks structure and gives a plain value;
//! verification checks signatures and gives a [`Verified`] value, which only this crate can
//! make. Code that acts on a document should accept `Verified<T>` only.
//!
//! What it is not: a transport or a store. This crate does no file, network or clock I/O:
//! callers pass bytes in, and pass the current time where it matters.
//!
//! ```
//! use custody_crypto::{KeyAlgorithm, Signer, SigningKey};
//! use custody_formats::{Limits, dsse::Envelope};
//!
//! let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
//! let envelope = Envelope::sign("text/plain", b"hello".to_vec(), &[&key]).unwrap();
//! let bytes = envelope.to_json();
//!
//! let parsed = Envelope::from_json(&bytes, &Limits::default()).unwrap();
//! let verified = parsed.verify(&[key.public_key().clone()], 1).unwrap();
//! assert_eq!(verified.payload(), b"hello");
//! ```

mod b64;
mod error;
mod fields;
mod limits;
mod rfc3339;
mod uri;
mod verified;

pub mod bundle;
pub mod dsse;
pub mod intoto;
pub mod json;
pub mod rekor;
pub mod slsa;
pub mod trust_root;

pub use crate::error::{Error, ErrorKind};
pub use crate::limits::Limits;
pub use crate::verified::Verified;
