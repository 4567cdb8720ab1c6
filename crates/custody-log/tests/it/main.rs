//! The integration tests of `custody-log`: one binary, one module per topic.

mod properties;
mod tiles;
mod vectors;
