//! `Content-Range` of chunked uploads and `Range` of blob reads.

use crate::error::{Invalid, OciCode};

fn number(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Parses a chunk's `Content-Range: <start>-<end>` (inclusive; a `bytes ` prefix and a `/<total>`
/// suffix are tolerated). Returns `(start, end)`.
pub fn parse_content_range(value: &str) -> Result<(u64, u64), Invalid> {
    let bad = || {
        Invalid::new(
            OciCode::BlobUploadInvalid,
            "Content-Range must read <start>-<end>",
        )
    };
    let v = value.trim();
    let v = v.strip_prefix("bytes ").unwrap_or(v).trim();
    let v = v.split_once('/').map_or(v, |(r, _)| r);
    let (start, end) = v.split_once('-').ok_or_else(bad)?;
    let start = number(start).ok_or_else(bad)?;
    let end = number(end).ok_or_else(bad)?;
    if end < start {
        return Err(bad());
    }
    Ok((start, end))
}

/// A satisfiable byte range of a blob of `size` bytes, from a `Range: bytes=...` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
}

impl ByteRange {
    /// Number of bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Always false: a satisfiable range has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Why a `Range` header cannot be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeError {
    /// Not a single `bytes=` range: serve the whole blob (RFC 9110 lets a server ignore it).
    Ignore,
    /// Syntactically fine but outside the blob: 416.
    Unsatisfiable,
}

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n` against a blob of `size` bytes.
pub fn parse_range(value: &str, size: u64) -> Result<ByteRange, RangeError> {
    let spec = value
        .trim()
        .strip_prefix("bytes=")
        .ok_or(RangeError::Ignore)?;
    if spec.contains(',') {
        return Err(RangeError::Ignore);
    }
    let (a, b) = spec.trim().split_once('-').ok_or(RangeError::Ignore)?;
    let (start, end) = match (a.is_empty(), b.is_empty()) {
        (true, true) => return Err(RangeError::Ignore),
        (true, false) => {
            let n = number(b).ok_or(RangeError::Ignore)?;
            if n == 0 || size == 0 {
                return Err(RangeError::Unsatisfiable);
            }
            (size.saturating_sub(n), size - 1)
        }
        (false, _) => {
            let start = number(a).ok_or(RangeError::Ignore)?;
            let end = if b.is_empty() {
                u64::MAX
            } else {
                number(b).ok_or(RangeError::Ignore)?
            };
            if end < start {
                return Err(RangeError::Ignore);
            }
            if start >= size {
                return Err(RangeError::Unsatisfiable);
            }
            (start, end.min(size - 1))
        }
    };
    Ok(ByteRange { start, end })
}
