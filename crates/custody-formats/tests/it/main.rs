//! The integration tests of custody-formats: published vectors, attacks and properties.

mod attacks;
mod bundle_vectors;
mod dsse_vectors;
mod intoto_vectors;
mod properties;
mod support;
mod trust_root_vectors;
