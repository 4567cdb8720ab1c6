//! The distribution spec's error codes and error body.

use std::fmt;

/// An error code of the OCI distribution spec (v1.1, "Error Codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OciCode {
    /// Blob unknown to registry.
    BlobUnknown,
    /// Blob upload invalid.
    BlobUploadInvalid,
    /// Blob upload unknown to registry.
    BlobUploadUnknown,
    /// Provided digest did not match uploaded content.
    DigestInvalid,
    /// Manifest references a manifest or blob unknown to registry.
    ManifestBlobUnknown,
    /// Manifest invalid.
    ManifestInvalid,
    /// Manifest unknown to registry.
    ManifestUnknown,
    /// Invalid repository name.
    NameInvalid,
    /// Repository name not known to registry.
    NameUnknown,
    /// Provided length did not match content length (or exceeds a limit).
    SizeInvalid,
    /// Authentication required.
    Unauthorized,
    /// Requested access to the resource is denied.
    Denied,
    /// The operation is unsupported.
    Unsupported,
    /// Too many requests.
    TooManyRequests,
}

impl OciCode {
    /// The code as the spec spells it (`BLOB_UNKNOWN`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BlobUnknown => "BLOB_UNKNOWN",
            Self::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            Self::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            Self::DigestInvalid => "DIGEST_INVALID",
            Self::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            Self::ManifestInvalid => "MANIFEST_INVALID",
            Self::ManifestUnknown => "MANIFEST_UNKNOWN",
            Self::NameInvalid => "NAME_INVALID",
            Self::NameUnknown => "NAME_UNKNOWN",
            Self::SizeInvalid => "SIZE_INVALID",
            Self::Unauthorized => "UNAUTHORIZED",
            Self::Denied => "DENIED",
            Self::Unsupported => "UNSUPPORTED",
            Self::TooManyRequests => "TOOMANYREQUESTS",
        }
    }

    /// The HTTP status the spec pairs with this code in the usual case.
    pub fn status(self) -> u16 {
        match self {
            Self::BlobUnknown
            | Self::BlobUploadUnknown
            | Self::ManifestUnknown
            | Self::NameUnknown => 404,
            Self::Unauthorized => 401,
            Self::Denied => 403,
            Self::Unsupported => 415,
            Self::TooManyRequests => 429,
            Self::BlobUploadInvalid
            | Self::DigestInvalid
            | Self::ManifestBlobUnknown
            | Self::ManifestInvalid
            | Self::NameInvalid
            | Self::SizeInvalid => 400,
        }
    }
}

impl fmt::Display for OciCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Input that breaks a rule of the spec: the spec's code and a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Invalid {
    /// The spec's code.
    pub code: OciCode,
    /// Why.
    pub message: String,
}

impl Invalid {
    /// A new refusal.
    pub fn new(code: OciCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The spec's error body: `{"errors":[{"code","message","detail"}]}`.
pub fn error_body(code: OciCode, message: &str, detail: Option<serde_json::Value>) -> String {
    let mut error = serde_json::json!({ "code": code.as_str(), "message": message });
    if let Some(detail) = detail {
        error["detail"] = detail;
    }
    serde_json::json!({ "errors": [error] }).to_string()
}
