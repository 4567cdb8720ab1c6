//! Integration tests of custody-tuf: the writer, the client, and the attacks on both.

mod client;
mod interop;
mod sim;
mod writer;
