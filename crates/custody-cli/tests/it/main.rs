//! End-to-end tests of the `custody` binary: every command, every refusal with its code and
//! exit status, and interop with OpenSSL and securesystemslib.

mod attacks;
mod crash;
mod interop;
mod keys;
mod log;
mod log_read;
mod monitor;
mod support;
mod trust_root;
mod usage;
mod witness;
mod witnessed;
