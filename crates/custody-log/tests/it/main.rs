//! The integration tests of `custody-log`: one binary, one module per topic.

mod c2sp_vectors;
mod go_interop;
mod properties;
mod tiles;
mod vectors;
mod witnessing;
