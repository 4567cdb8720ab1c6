//! custody-server over `Router::oneshot`: the log API's honest paths and its refusals.

mod log_api;
mod witness_api;
