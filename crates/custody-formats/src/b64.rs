//! Base64 as the formats use it: read leniently where the spec says so, always write standard
//! padded base64.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

use crate::Error;

/// Decodes standard or URL-safe base64, with canonical padding or none (DSSE envelope.md; the
/// protobuf JSON mapping for `bytes`). Partial padding, whitespace, mixed alphabets and
/// non-zero trailing bits are rejected, so each byte string has at most two accepted
/// spellings per alphabet.
pub(crate) fn decode_lenient(text: &str, field: &str) -> Result<Vec<u8>, Error> {
    let decoded = if text.ends_with('=') {
        STANDARD.decode(text).or_else(|_| URL_SAFE.decode(text))
    } else {
        STANDARD_NO_PAD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
    };
    decoded.map_err(|_| Error::InvalidBase64 {
        field: field.to_owned(),
    })
}

/// Decodes standard, padded base64 only (custody's own documents).
pub(crate) fn decode_strict(text: &str, field: &str) -> Result<Vec<u8>, Error> {
    STANDARD.decode(text).map_err(|_| Error::InvalidBase64 {
        field: field.to_owned(),
    })
}

/// Encodes as standard, padded base64.
pub(crate) fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}
