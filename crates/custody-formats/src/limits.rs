//! Bounds on untrusted input.

/// Bounds applied to every untrusted document before and while it is parsed.
///
/// The defaults are generous for real documents and small enough to keep a hostile one cheap.
/// Start from [`Limits::default`] and change single fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest document accepted, in bytes (default 32 MiB).
    pub max_document_bytes: usize,
    /// The deepest nesting of JSON arrays and objects accepted (default 64).
    ///
    /// The outermost array or object is level 1. The JSON reader underneath stops at 128
    /// levels in any case (also reported as [`crate::Error::TooDeep`]), so larger values act
    /// as 128.
    pub max_depth: usize,
    /// The most signatures accepted on one document (default 32).
    pub max_signatures: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_document_bytes: 32 * 1024 * 1024,
            max_depth: 64,
            max_signatures: 32,
        }
    }
}
