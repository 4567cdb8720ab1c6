//! The integration tests of custody-formats: published vectors, attacks and properties.

mod bundle_vectors;
mod dsse_vectors;
mod intoto_vectors;
mod support;
