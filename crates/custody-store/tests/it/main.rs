//! custody-store integration tests: the log store's atomicity and durability, and the
//! registry's blob and metadata stores.

mod audit_store;
mod environment_store;
mod log_store;
mod registry_store;
