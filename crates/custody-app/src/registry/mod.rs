//! The OCI registry use cases: the service over the storage traits, repository settings,
//! signature and provenance enforcement, and the audit log.

pub mod audit;
pub mod client;
pub mod config;
pub mod enforce;
pub mod policy;
pub mod ratelimit;
pub mod service;
