//! The storage traits: content-addressed blobs ([`BlobStore`]) and registry metadata
//! ([`MetaStore`]). The embedded default implements them over files and SQLite; the scale-out
//! backend will implement them over S3 and PostgreSQL.
//!
//! Both traits are synchronous: the server calls them off the async workers (blocking tasks),
//! so that file and database I/O never stalls the request loop.
//!
//! Garbage collection runs online, and relies on three guarantees of these traits:
//! 1. [`MetaStore::put_manifest`] checks, inside the transaction that stores the manifest, that
//!    every referenced blob is linked to the repository (and every child manifest is stored), so
//!    a manifest can never be committed over a blob whose rows GC has already removed.
//! 2. [`MetaStore::gc_remove_blob`] re-checks, inside its own transaction, that the blob is still
//!    unreferenced and that no link to it is younger than the grace period, before it removes
//!    the rows; only then is the file deleted.
//! 3. The caller serialises the file step of a commit (rename + link) and of a removal (rows +
//!    unlink) per digest, so that a blob re-uploaded while GC removes it is never left with rows
//!    but no file.

use std::collections::BTreeMap;
use std::io::{Read, Seek};

use custody_crypto::Digest;

use crate::name::Reference;
use crate::referrers::Referrer;

/// A storage failure, or a storage-level refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not read or write.
    #[error("storage failed: {0}")]
    Io(String),
    /// Stored data is not what was written.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// No upload session with this id.
    #[error("no such upload session")]
    UploadUnknown,
    /// A chunk does not start where the upload ends.
    #[error("the chunk starts at byte {got}, but the upload has {expected} bytes")]
    OutOfOrder {
        /// The upload's current length.
        expected: u64,
        /// Where the chunk claimed to start.
        got: u64,
    },
    /// The uploaded bytes do not have the digest the client named.
    #[error("the uploaded content has digest {actual}, not {expected}")]
    DigestMismatch {
        /// What the client said.
        expected: String,
        /// What the bytes hash to.
        actual: String,
    },
    /// The upload grew beyond the configured limit.
    #[error("the upload exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// The tag is immutable and already names another manifest (or would be deleted).
    #[error("tag '{0}' is immutable")]
    TagImmutable(String),
    /// The manifest references a blob or manifest that the repository does not hold.
    #[error("the manifest references {0}, which this repository does not hold")]
    ReferenceUnknown(String),
}

/// Result of a storage call.
pub type StoreResult<T> = Result<T, StoreError>;

/// A readable, seekable blob.
pub trait BlobRead: Read + Seek + Send {}

impl<T: Read + Seek + Send> BlobRead for T {}

/// Content-addressed blob storage with upload sessions.
pub trait BlobStore: Send + Sync {
    /// Starts an empty upload session `id` (the caller makes ids unguessable).
    fn create_upload(&self, id: &str) -> StoreResult<()>;
    /// The number of bytes the session holds.
    fn upload_len(&self, id: &str) -> StoreResult<u64>;
    /// Appends everything `data` yields to the session, hashing as it goes. With `offset`, the
    /// session must hold exactly that many bytes first ([`StoreError::OutOfOrder`]). The session
    /// may not grow past `max_len` ([`StoreError::TooLarge`]). Returns the new length.
    fn append(
        &self,
        id: &str,
        offset: Option<u64>,
        data: &mut dyn Read,
        max_len: u64,
    ) -> StoreResult<u64>;
    /// Verifies that the session's bytes have digest `expected` and, if so, makes them the blob
    /// `expected` atomically and durably (deduplicated), and ends the session. On a mismatch
    /// the session's bytes are discarded and nothing is stored. Returns the blob's size.
    fn commit_upload(&self, id: &str, expected: &Digest) -> StoreResult<u64>;
    /// Ends a session and discards its bytes (no error if it does not exist).
    fn remove_upload(&self, id: &str) -> StoreResult<()>;
    /// Every session id present.
    fn list_uploads(&self) -> StoreResult<Vec<String>>;
    /// Opens a blob for reading, with its size.
    fn open(&self, digest: &Digest) -> StoreResult<Option<(Box<dyn BlobRead>, u64)>>;
    /// The size of a blob, if stored.
    fn size(&self, digest: &Digest) -> StoreResult<Option<u64>>;
    /// Deletes a blob (no error if absent).
    fn delete(&self, digest: &Digest) -> StoreResult<()>;
    /// Every stored blob with its last-modified time (Unix seconds).
    fn list(&self) -> StoreResult<Vec<(Digest, i64)>>;
}

/// A manifest to store, with everything extracted from it.
#[derive(Debug, Clone)]
pub struct NewManifest<'a> {
    /// The repository.
    pub repository: &'a str,
    /// The manifest's digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: &'a str,
    /// Its bytes, exactly as pushed.
    pub bytes: &'a [u8],
    /// The tag to point at it, if pushed by tag.
    pub tag: Option<&'a str>,
    /// The tag may not be moved once set.
    pub tag_immutable: bool,
    /// Blobs it references (config, layers): each must be linked to the repository.
    pub blobs: Vec<Digest>,
    /// Child manifests (index): each must be stored in the repository.
    pub children: Vec<Digest>,
    /// Its subject, if it is a referrer.
    pub subject: Option<Digest>,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// Its annotations.
    pub annotations: BTreeMap<String, String>,
    /// Its first layer (a bundle referrer's bundle).
    pub first_layer: Option<Digest>,
    /// Now, Unix seconds.
    pub now: i64,
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    /// Its digest.
    pub digest: Digest,
    /// Its media type.
    pub media_type: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Its subject, if it is a referrer.
    pub subject: Option<Digest>,
}

/// An upload session's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// The repository it was started in.
    pub repository: String,
    /// When it was started, Unix seconds.
    pub created: i64,
}

/// Registry metadata: repositories, tags, manifests, referrers, blob links, upload sessions.
/// Every write is one transaction.
pub trait MetaStore: Send + Sync {
    /// Records that `repository` holds blob `digest` (created or refreshed at `now`).
    fn link_blob(&self, repository: &str, digest: &Digest, size: u64, now: i64) -> StoreResult<()>;
    /// The blob's size if `repository` holds it.
    fn linked_blob(&self, repository: &str, digest: &Digest) -> StoreResult<Option<u64>>;
    /// Removes the repository's link to a blob; false if there was none.
    fn unlink_blob(&self, repository: &str, digest: &Digest) -> StoreResult<bool>;

    /// Stores a manifest, its references, its referrer row and its tag in one transaction,
    /// after checking references ([`StoreError::ReferenceUnknown`]) and tag immutability
    /// ([`StoreError::TagImmutable`]).
    fn put_manifest(&self, manifest: &NewManifest<'_>) -> StoreResult<()>;
    /// A manifest by tag or digest.
    fn manifest(
        &self,
        repository: &str,
        reference: &Reference,
    ) -> StoreResult<Option<StoredManifest>>;
    /// Deletes a manifest and the tags that point at it; refuses if one of those tags is
    /// immutable. False if there was no such manifest.
    fn delete_manifest(
        &self,
        repository: &str,
        digest: &Digest,
        immutable: &dyn Fn(&str) -> bool,
    ) -> StoreResult<bool>;
    /// Deletes a tag (not the manifest); refuses if `immutable`. False if no such tag.
    fn delete_tag(&self, repository: &str, tag: &str, immutable: bool) -> StoreResult<bool>;
    /// Up to `limit` tags after `after` (exclusive), in lexical order.
    fn tags(&self, repository: &str, after: Option<&str>, limit: usize)
    -> StoreResult<Vec<String>>;
    /// Whether the repository holds any manifest or blob.
    fn repository_exists(&self, repository: &str) -> StoreResult<bool>;
    /// The manifests in `repository` whose subject is `subject`.
    fn referrers(&self, repository: &str, subject: &Digest) -> StoreResult<Vec<Referrer>>;

    /// Records an upload session.
    fn create_upload(&self, id: &str, repository: &str, now: i64) -> StoreResult<()>;
    /// An upload session.
    fn upload(&self, id: &str) -> StoreResult<Option<UploadRecord>>;
    /// Forgets an upload session.
    fn delete_upload(&self, id: &str) -> StoreResult<()>;
    /// Sessions started before `cutoff`.
    fn uploads_before(&self, cutoff: i64) -> StoreResult<Vec<String>>;

    /// Blobs that no manifest references and that no repository linked at or after
    /// `linked_before`.
    fn gc_candidates(&self, linked_before: i64) -> StoreResult<Vec<Digest>>;
    /// In one transaction: if the blob is still a candidate, removes its rows and returns true.
    fn gc_remove_blob(&self, digest: &Digest, linked_before: i64) -> StoreResult<bool>;
    /// Whether any row names the blob (a file without rows is an orphan of a crash).
    fn blob_known(&self, digest: &Digest) -> StoreResult<bool>;
}
