//! custody's sandboxed build runner.
//!
//! What it is: the pieces of `custody build` that do not sign anything.
//!
//! - Pure parts (no I/O): [`env`](mod@env) (the environment allow-list), [`lockfile`] (Cargo.lock pins),
//!   [`sandbox`] (the sandbox's settings and the `bwrap` command line they become) and
//!   [`provenance`] (the in-toto Statement v1 with its SLSA Provenance v1 predicate), [`sbom`]
//!   (a CycloneDX 1.6 SBOM from a Cargo.lock) and [`scan`] (matching packages against OSV
//!   advisories), [`link`] (legacy in-toto v0.9 link metadata), [`vary`] (the perturbations of
//!   `custody rebuild --vary`).
//! - [`host`]: everything that touches the machine: git queries and checkouts, running the
//!   sandbox (bubblewrap under `prlimit`), probing tool versions inside the sandbox. It is the
//!   only module in custody that spawns processes.
//!
//! What it is not: key handling. The signing key is loaded and used by `custody-app` after
//! the build process has exited; nothing in this crate ever sees it.

mod error;

pub mod env;
pub mod host;
pub mod link;
pub mod lockfile;
pub mod provenance;
pub mod rebuild;
pub mod sandbox;
pub mod sbom;
pub mod scan;
pub mod vary;

pub use crate::error::{Error, ErrorKind};
