//! custody-store integration tests: the log store's atomicity and durability.

mod log_store;
