//! End-to-end tests of the `custody` binary: every command, every refusal with its code and
//! exit status, and interop with OpenSSL and securesystemslib.

mod attacks;
mod audit;
mod build;
mod crash;
mod deploy;
mod interop;
mod keys;
mod log;
mod log_read;
mod monitor;
mod policy;
mod push_pull;
mod registry;
mod sbom;
mod support;
mod trust_root;
mod tuf;
mod tuf_publish;
mod usage;
mod witness;
mod witnessed;
