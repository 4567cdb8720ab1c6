//! The registry's use cases over the storage traits: authorization with scoped tokens, uploads
//! (monolithic, chunked, streaming, cross-repository mount), manifests with enforcement and
//! immutable tags, tags, referrers, deletes, the audit trail, and online garbage collection.
//!
//! Every method is synchronous and may block on file or database I/O: the HTTP adapter calls
//! them on blocking threads.
//!
//! Garbage collection runs online. It removes (1) upload sessions older than the upload
//! lifetime, (2) blobs that no stored manifest (image manifest, index, referrer) references and
//! that no repository linked within the grace period, and (3) blob files without any row (left
//! by a crash between a commit's rename and its row). The protocol that keeps it from racing a
//! push is described in `custody_registry::store`: references are checked inside the manifest's
//! transaction, candidates are re-checked inside GC's transaction, and the file step of a commit
//! and of a removal hold the same per-digest lock.

use std::io::Read;
use std::sync::{Arc, Mutex, MutexGuard};

use custody_crypto::{Digest, DigestAlgorithm, Hasher, random_bytes};
use custody_registry::manifest::{self, MAX_MANIFEST_BYTES, Manifest};
use custody_registry::referrers::{Referrer, referrers_index};
use custody_registry::store::{
    BlobRead, BlobStore, MetaStore, NewManifest, StoreError, StoredManifest,
};
use custody_registry::tags::{TagPage, finish_page};
use custody_registry::{Invalid, OciCode, Reference, validate_repository};

use super::policy::{
    AuditEvent, AuditSink, BUNDLE_ARTIFACT_TYPE, Evidence, Gate, GateAction, Outcome, RepoSettings,
    RepoSettingsSource, SubjectDigests,
};
use crate::codes::Code;
use crate::error::Error;
use crate::tokens::{Scope, TokenChecker};

/// The registry's pure logic (grammar, manifests, ranges, error bodies), for the HTTP adapter.
pub use custody_registry as oci;

/// The largest bundle read from a referrer as evidence.
const MAX_EVIDENCE_BYTES: u64 = 4 << 20;

/// Number of per-digest locks (striped).
const LOCKS: usize = 64;

/// A refused or failed registry request: the spec's code, the HTTP status, and the custody
/// error (code, message, hint).
#[derive(Debug, Clone)]
pub struct RegistryError {
    /// The distribution spec's code.
    pub spec: OciCode,
    /// The HTTP status.
    pub status: u16,
    /// The custody error.
    pub error: Error,
}

impl RegistryError {
    /// A new error.
    pub fn new(spec: OciCode, status: u16, code: Code, message: impl Into<String>) -> Self {
        Self {
            spec,
            status,
            error: Error::new(code, message),
        }
    }

    fn not_found(spec: OciCode, message: impl Into<String>) -> Self {
        Self::new(spec, 404, Code::NotFound, message)
    }

    fn denied(error: Error) -> Self {
        Self {
            spec: OciCode::Denied,
            status: 403,
            error,
        }
    }
}

impl From<Invalid> for RegistryError {
    fn from(e: Invalid) -> Self {
        let code = match e.code {
            OciCode::NameInvalid => Code::RegistryNameInvalid,
            OciCode::DigestInvalid => Code::RegistryDigestInvalid,
            OciCode::ManifestInvalid => Code::RegistryManifestInvalid,
            OciCode::ManifestBlobUnknown => Code::RegistryManifestBlobUnknown,
            OciCode::SizeInvalid => Code::RegistryTooLarge,
            OciCode::BlobUploadInvalid | OciCode::BlobUploadUnknown => Code::RegistryUploadInvalid,
            OciCode::Unsupported => Code::RegistryUnsupported,
            _ => Code::InvalidArgument,
        };
        let status = if e.code == OciCode::Unsupported {
            400
        } else {
            e.code.status()
        };
        Self::new(e.code, status, code, e.message)
    }
}

impl From<StoreError> for RegistryError {
    fn from(e: StoreError) -> Self {
        let message = e.to_string();
        match e {
            StoreError::UploadUnknown => Self::new(
                OciCode::BlobUploadUnknown,
                404,
                Code::RegistryUploadInvalid,
                message,
            ),
            StoreError::OutOfOrder { .. } => Self::new(
                OciCode::BlobUploadInvalid,
                416,
                Code::RegistryUploadInvalid,
                message,
            ),
            StoreError::DigestMismatch { .. } => Self::new(
                OciCode::DigestInvalid,
                400,
                Code::RegistryDigestInvalid,
                message,
            ),
            StoreError::TooLarge { .. } => {
                Self::new(OciCode::SizeInvalid, 413, Code::RegistryTooLarge, message)
            }
            StoreError::TagImmutable(_) => {
                Self::new(OciCode::Denied, 403, Code::TagImmutable, message)
            }
            StoreError::ReferenceUnknown(_) => Self::new(
                OciCode::ManifestBlobUnknown,
                400,
                Code::RegistryManifestBlobUnknown,
                message,
            ),
            _ => Self::new(OciCode::Unsupported, 500, Code::RegistryStorage, message),
        }
    }
}

impl From<Error> for RegistryError {
    fn from(error: Error) -> Self {
        let (spec, status) = match error.code() {
            Code::TokenInvalid => (OciCode::Unauthorized, 401),
            Code::NotFound => (OciCode::NameUnknown, 404),
            Code::RateLimited => (OciCode::TooManyRequests, 429),
            c if c.exit_status() == 3 => (OciCode::Unsupported, 500),
            _ => (OciCode::Denied, 403),
        };
        Self {
            spec,
            status,
            error,
        }
    }
}

/// Result of a registry use case.
pub type RegistryResult<T> = Result<T, RegistryError>;

/// Limits and timings.
#[derive(Debug, Clone)]
pub struct ServiceLimits {
    /// The largest blob accepted, in bytes.
    pub max_blob_bytes: u64,
    /// The largest manifest accepted, in bytes (at most 4 MiB, the parser's own bound).
    pub max_manifest_bytes: u64,
    /// Upload sessions older than this (seconds) are refused and collected.
    pub upload_lifetime_secs: i64,
    /// Blobs linked within this many seconds are never collected, referenced or not.
    pub gc_grace_secs: i64,
    /// Requests per second per actor (token id; every anonymous client shares one budget).
    pub requests_per_second: u32,
}

impl Default for ServiceLimits {
    fn default() -> Self {
        Self {
            max_blob_bytes: 16 << 30,
            max_manifest_bytes: MAX_MANIFEST_BYTES as u64,
            upload_lifetime_secs: 24 * 3600,
            gc_grace_secs: 3600,
            requests_per_second: 1000,
        }
    }
}

/// What a request may do in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read blobs, manifests, tags, referrers.
    Pull,
    /// Upload blobs, push manifests and tags.
    Push,
    /// Delete blobs, manifests and tags.
    Delete,
}

impl Access {
    fn action(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
            Self::Delete => "delete",
        }
    }
}

/// Everything the registry is built from.
pub struct RegistryParts {
    /// Blob storage.
    pub blobs: Arc<dyn BlobStore>,
    /// Metadata storage.
    pub meta: Arc<dyn MetaStore>,
    /// Token checks.
    pub tokens: TokenChecker,
    /// Per-repository settings.
    pub settings: Arc<dyn RepoSettingsSource>,
    /// The enforcement gate.
    pub gate: Arc<dyn Gate>,
    /// The audit sink.
    pub audit: Arc<dyn AuditSink>,
    /// Limits and timings.
    pub config: ServiceLimits,
    /// The clock (Unix seconds); tests move it.
    pub clock: Arc<dyn Fn() -> i64 + Send + Sync>,
}

/// The registry service.
pub struct Registry {
    parts: RegistryParts,
    locks: Vec<Mutex<()>>,
    limiter: super::ratelimit::RateLimiter,
}

/// A manifest that was stored.
#[derive(Debug, Clone)]
pub struct PushedManifest {
    /// Its digest.
    pub digest: Digest,
    /// Its subject, for the `OCI-Subject` header.
    pub subject: Option<Digest>,
}

/// What a garbage collection removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Unreferenced blobs deleted.
    pub blobs: usize,
    /// Blob files without rows deleted.
    pub orphans: usize,
    /// Expired or orphaned upload sessions deleted.
    pub uploads: usize,
}

/// Where an upload stands after a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadStart {
    /// The blob was mounted from another repository (or the monolithic upload completed).
    Done(Digest),
    /// A session was opened.
    Session(String),
}

/// The system clock in Unix seconds.
pub fn system_clock() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn new_upload_id() -> RegistryResult<String> {
    let bytes = random_bytes::<16>()
        .map_err(|e| RegistryError::from(Error::new(Code::Internal, e.to_string())))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Builds the registry on the embedded default storage: blob files under `registry_dir`
/// (`DATA/registry`) and metadata in the SQLite database at `database`, with the system clock.
pub fn open_embedded(
    registry_dir: &std::path::Path,
    database: &std::path::Path,
    settings: Arc<dyn RepoSettingsSource>,
    gate: Arc<dyn Gate>,
    audit: Arc<dyn AuditSink>,
    config: ServiceLimits,
) -> crate::error::Result<Registry> {
    let storage = |e: StoreError| Error::new(Code::RegistryStorage, e.to_string());
    Ok(Registry::new(RegistryParts {
        blobs: Arc::new(custody_store::FsBlobStore::open(registry_dir).map_err(storage)?),
        meta: Arc::new(custody_store::SqliteRegistryStore::open(database).map_err(storage)?),
        tokens: TokenChecker::open(database)?,
        settings,
        gate,
        audit,
        config,
        clock: Arc::new(system_clock),
    }))
}

impl Registry {
    /// Builds the service.
    pub fn new(parts: RegistryParts) -> Self {
        Self {
            limiter: super::ratelimit::RateLimiter::new(parts.config.requests_per_second),
            parts,
            locks: (0..LOCKS).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Takes one request from `actor`'s per-second budget. The first refusal of a run is
    /// audited; the rest of a flood is refused without a durable write each.
    fn limit(&self, actor: &str, access: Access, repository: &str) -> RegistryResult<()> {
        self.limiter
            .take(actor, std::time::Instant::now())
            .map_err(|r| {
                if r.first {
                    self.deny(actor, access.action(), repository, "", r.error.into())
                } else {
                    r.error.into()
                }
            })
    }

    fn now(&self) -> i64 {
        (self.parts.clock)()
    }

    fn lock(&self, digest: &Digest) -> MutexGuard<'_, ()> {
        let i = usize::from(digest.as_bytes()[0]) % LOCKS;
        // A poisoned lock guards no data; keep going.
        self.locks[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The settings of a repository.
    pub fn settings(&self, repository: &str) -> RepoSettings {
        self.parts.settings.settings(repository)
    }

    fn audit(
        &self,
        actor: &str,
        action: &str,
        repository: &str,
        target: &str,
        outcome: Outcome,
    ) -> RegistryResult<()> {
        self.parts
            .audit
            .record(AuditEvent {
                actor: actor.to_owned(),
                action: action.to_owned(),
                repository: repository.to_owned(),
                target: target.to_owned(),
                outcome,
            })
            .map_err(RegistryError::from)
    }

    /// Records a refusal (best effort: the refusal stands even if the record fails) and returns it.
    fn deny(
        &self,
        actor: &str,
        action: &str,
        repository: &str,
        target: &str,
        e: RegistryError,
    ) -> RegistryError {
        let _ = self.audit(
            actor,
            action,
            repository,
            target,
            Outcome::Denied {
                code: e.error.code(),
                reason: e.error.message().to_owned(),
            },
        );
        e
    }

    /// `GET /v2/`: Ok if `token` is a valid token (any scope); the 401 otherwise.
    pub fn check_token(&self, token: Option<&str>) -> RegistryResult<()> {
        match self.parts.tokens.authorize(token, &Scope::Admin) {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Code::TokenScopeMissing => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks the name and that `token` grants `access` on it (anonymous pull where the
    /// settings allow). Returns the actor (token id or `anonymous`). Refusals of a presented
    /// token are audited.
    pub fn authorize(
        &self,
        token: Option<&str>,
        repository: &str,
        access: Access,
    ) -> RegistryResult<String> {
        validate_repository(repository)?;
        if token.is_none() && access == Access::Pull && self.settings(repository).anonymous_pull {
            self.limit("anonymous", access, repository)?;
            return Ok("anonymous".to_owned());
        }
        let scope = Scope::Repository {
            pattern: repository.to_owned(),
            actions: vec![access.action().to_owned()],
        };
        let actor = self.parts.tokens.authorize(token, &scope).map_err(|e| {
            // A request without credentials gets the 401 challenge that starts every client's
            // token dance; that is not a refusal of anyone, so it is not audited. A presented
            // token that is invalid or lacks the scope is.
            match token {
                None => e.into(),
                Some(t) => {
                    let actor = crate::tokens::token_id(t).unwrap_or("unknown-token");
                    self.deny(actor, access.action(), repository, "", e.into())
                }
            }
        })?;
        self.limit(&actor, access, repository)?;
        Ok(actor)
    }

    fn check_session(&self, repository: &str, id: &str) -> RegistryResult<()> {
        let record = self
            .parts
            .meta
            .upload(id)?
            .filter(|r| r.repository == repository)
            .ok_or(StoreError::UploadUnknown)?;
        if record.created < self.now() - self.parts.config.upload_lifetime_secs {
            return Err(RegistryError::new(
                OciCode::BlobUploadUnknown,
                404,
                Code::RegistryUploadInvalid,
                "the upload session has expired",
            ));
        }
        Ok(())
    }

    /// Opens an upload session.
    pub fn create_upload(&self, token: Option<&str>, repository: &str) -> RegistryResult<String> {
        self.authorize(token, repository, Access::Push)?;
        let id = new_upload_id()?;
        // The row first: a session file without a row is an orphan GC may remove.
        self.parts.meta.create_upload(&id, repository, self.now())?;
        self.parts.blobs.create_upload(&id)?;
        Ok(id)
    }

    /// Tries a cross-repository mount of `digest` from `from`: done only if the token may pull
    /// from `from` and `from` holds the blob; otherwise `Ok(false)` (the caller opens a session).
    pub fn mount(
        &self,
        token: Option<&str>,
        repository: &str,
        digest: &Digest,
        from: &str,
    ) -> RegistryResult<bool> {
        let actor = self.authorize(token, repository, Access::Push)?;
        if validate_repository(from).is_err() {
            return Ok(false);
        }
        let scope = Scope::Repository {
            pattern: from.to_owned(),
            actions: vec!["pull".to_owned()],
        };
        let may_pull = self.parts.tokens.authorize(token, &scope).is_ok()
            || (token.is_none() && self.settings(from).anonymous_pull);
        if !may_pull {
            return Ok(false);
        }
        let Some(size) = self.parts.meta.linked_blob(from, digest)? else {
            return Ok(false);
        };
        {
            let _guard = self.lock(digest);
            if self.parts.blobs.size(digest)?.is_none() {
                return Ok(false);
            }
            self.parts
                .meta
                .link_blob(repository, digest, size, self.now())?;
        }
        self.audit(
            &actor,
            "mount-blob",
            repository,
            &format!("{digest} from {from}"),
            Outcome::Allowed,
        )?;
        Ok(true)
    }

    /// Appends a chunk (or a whole streamed body) to a session; `offset` from `Content-Range`
    /// must equal the session's length. Returns the new length.
    pub fn append(
        &self,
        token: Option<&str>,
        repository: &str,
        id: &str,
        offset: Option<u64>,
        body: &mut dyn Read,
    ) -> RegistryResult<u64> {
        self.authorize(token, repository, Access::Push)?;
        self.check_session(repository, id)?;
        Ok(self
            .parts
            .blobs
            .append(id, offset, body, self.parts.config.max_blob_bytes)?)
    }

    /// The length of a session (`GET` on the upload URL).
    pub fn upload_status(
        &self,
        token: Option<&str>,
        repository: &str,
        id: &str,
    ) -> RegistryResult<u64> {
        self.authorize(token, repository, Access::Push)?;
        self.check_session(repository, id)?;
        Ok(self.parts.blobs.upload_len(id)?)
    }

    /// Finishes a session: appends `body` if given, verifies `digest`, stores the blob and links
    /// it to the repository. On a mismatch nothing is stored and the session is gone.
    pub fn finish_upload(
        &self,
        token: Option<&str>,
        repository: &str,
        id: &str,
        digest: &Digest,
        body: Option<&mut dyn Read>,
    ) -> RegistryResult<()> {
        let actor = self.authorize(token, repository, Access::Push)?;
        self.check_session(repository, id)?;
        if let Some(body) = body {
            self.parts
                .blobs
                .append(id, None, body, self.parts.config.max_blob_bytes)?;
        }
        let committed = {
            let _guard = self.lock(digest);
            self.parts.blobs.commit_upload(id, digest).and_then(|size| {
                self.parts
                    .meta
                    .link_blob(repository, digest, size, self.now())
            })
        };
        // The session is over either way (a mismatch discarded its bytes).
        let _ = self.parts.meta.delete_upload(id);
        committed?;
        self.audit(
            &actor,
            "push-blob",
            repository,
            &digest.to_string(),
            Outcome::Allowed,
        )
    }

    /// Ends a session without storing anything.
    pub fn cancel_upload(
        &self,
        token: Option<&str>,
        repository: &str,
        id: &str,
    ) -> RegistryResult<()> {
        self.authorize(token, repository, Access::Push)?;
        self.check_session(repository, id)?;
        self.parts.blobs.remove_upload(id)?;
        self.parts.meta.delete_upload(id)?;
        Ok(())
    }

    /// A blob's size, if the repository holds it.
    pub fn stat_blob(
        &self,
        token: Option<&str>,
        repository: &str,
        digest: &Digest,
    ) -> RegistryResult<u64> {
        self.authorize(token, repository, Access::Pull)?;
        self.parts
            .meta
            .linked_blob(repository, digest)?
            .ok_or_else(|| {
                RegistryError::not_found(
                    OciCode::BlobUnknown,
                    format!("blob {digest} is not in {repository}"),
                )
            })
    }

    /// Opens a blob of the repository.
    pub fn open_blob(
        &self,
        token: Option<&str>,
        repository: &str,
        digest: &Digest,
    ) -> RegistryResult<(Box<dyn BlobRead>, u64)> {
        self.stat_blob(token, repository, digest)?;
        self.parts.blobs.open(digest)?.ok_or_else(|| {
            RegistryError::not_found(OciCode::BlobUnknown, format!("blob {digest} is not stored"))
        })
    }

    /// Removes the repository's link to a blob (GC deletes the bytes once nothing needs them).
    pub fn delete_blob(
        &self,
        token: Option<&str>,
        repository: &str,
        digest: &Digest,
    ) -> RegistryResult<()> {
        let actor = self.authorize(token, repository, Access::Delete)?;
        if !self.parts.meta.unlink_blob(repository, digest)? {
            return Err(RegistryError::not_found(
                OciCode::BlobUnknown,
                format!("blob {digest} is not in {repository}"),
            ));
        }
        self.audit(
            &actor,
            "delete-blob",
            repository,
            &digest.to_string(),
            Outcome::Allowed,
        )
    }

    /// A subject manifest's bytes and its evidence, for custody's own decisions (the deploy
    /// gate, promotions), which authorize their callers themselves: no token check, no gate,
    /// no audit record. `None` when the repository has no manifest with this digest.
    pub fn manifest_with_evidence(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> crate::error::Result<Option<(Vec<u8>, Vec<Evidence>)>> {
        validate_repository(repository).map_err(|e| RegistryError::from(e).error)?;
        let found = self
            .parts
            .meta
            .manifest(repository, &Reference::Digest(*digest))
            .map_err(|e| RegistryError::from(e).error)?;
        let Some(found) = found else {
            return Ok(None);
        };
        let evidence = self.evidence(repository, digest).map_err(|e| e.error)?;
        Ok(Some((found.bytes, evidence)))
    }

    /// A blob of `repository`, open for reading, and its length: for the server's own use
    /// (no token; the caller decides who may see it). `None` when the repository has no such
    /// blob.
    pub fn stored_blob(
        &self,
        repository: &str,
        digest: &Digest,
    ) -> crate::error::Result<Option<(Box<dyn BlobRead>, u64)>> {
        validate_repository(repository).map_err(|e| RegistryError::from(e).error)?;
        let linked = self
            .parts
            .meta
            .linked_blob(repository, digest)
            .map_err(|e| RegistryError::from(e).error)?;
        if linked.is_none() {
            return Ok(None);
        }
        self.parts
            .blobs
            .open(digest)
            .map_err(|e| RegistryError::from(e).error)
    }

    /// The bundles of every bundle referrer of `subject`, digest-checked.
    pub fn evidence(&self, repository: &str, subject: &Digest) -> RegistryResult<Vec<Evidence>> {
        let mut out = Vec::new();
        for r in self.parts.meta.referrers(repository, subject)? {
            if r.artifact_type.as_deref() != Some(BUNDLE_ARTIFACT_TYPE) {
                continue;
            }
            let Some(layer) = r.first_layer else { continue };
            let Some((mut reader, size)) = self.parts.blobs.open(&layer)? else {
                continue;
            };
            if size > MAX_EVIDENCE_BYTES {
                continue;
            }
            let mut bundle = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            reader
                .by_ref()
                .take(MAX_EVIDENCE_BYTES)
                .read_to_end(&mut bundle)
                .map_err(|e| RegistryError::from(StoreError::Io(e.to_string())))?;
            let mut hasher = Hasher::new(layer.algorithm());
            hasher.update(&bundle);
            if hasher.finalize() != layer {
                // Damaged on disk: not evidence (fail closed).
                continue;
            }
            out.push(Evidence {
                referrer: r.digest,
                bundle,
            });
        }
        Ok(out)
    }

    fn admit(
        &self,
        actor: &str,
        repository: &str,
        digest: &Digest,
        bytes: &[u8],
        action: GateAction,
    ) -> RegistryResult<()> {
        let evidence = self.evidence(repository, digest)?;
        self.parts
            .gate
            .admit_subject(
                repository,
                &SubjectDigests::of(*digest, bytes),
                &evidence,
                action,
            )
            .map_err(|e| {
                let what = if action == GateAction::Push {
                    "push-manifest"
                } else {
                    "pull-manifest"
                };
                self.deny(
                    actor,
                    what,
                    repository,
                    &digest.to_string(),
                    RegistryError::denied(e),
                )
            })
    }

    /// Stores a manifest under `reference` (a tag or its digest).
    pub fn put_manifest(
        &self,
        token: Option<&str>,
        repository: &str,
        reference: &str,
        content_type: Option<&str>,
        bytes: &[u8],
    ) -> RegistryResult<PushedManifest> {
        let actor = self.authorize(token, repository, Access::Push)?;
        let reference = Reference::parse(reference)?;
        if bytes.len() as u64 > self.parts.config.max_manifest_bytes {
            return Err(RegistryError::new(
                OciCode::SizeInvalid,
                413,
                Code::RegistryTooLarge,
                format!(
                    "a manifest is at most {} bytes here",
                    self.parts.config.max_manifest_bytes
                ),
            ));
        }
        let parsed: Manifest = manifest::parse(bytes, content_type)?;
        let algorithm = match &reference {
            Reference::Digest(d) => d.algorithm(),
            Reference::Tag(_) => DigestAlgorithm::Sha256,
        };
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        let digest = hasher.finalize();
        if let Reference::Digest(d) = &reference
            && *d != digest
        {
            return Err(RegistryError::new(
                OciCode::DigestInvalid,
                400,
                Code::RegistryDigestInvalid,
                format!("the manifest's digest is {digest}, not {d}"),
            ));
        }
        let settings = self.settings(repository);
        let subject = parsed.subject.as_ref().map(|s| s.digest);
        if settings.enforce_push && subject.is_none() {
            self.admit(&actor, repository, &digest, bytes, GateAction::Push)?;
        }
        let tag = match &reference {
            Reference::Tag(t) => Some(t.as_str()),
            Reference::Digest(_) => None,
        };
        let record = NewManifest {
            repository,
            digest,
            media_type: &parsed.media_type,
            bytes,
            tag,
            tag_immutable: tag.is_some_and(|t| settings.tag_is_immutable(t)),
            blobs: parsed.blobs.iter().map(|d| d.digest).collect(),
            children: parsed.children.iter().map(|d| d.digest).collect(),
            subject,
            artifact_type: parsed.artifact_type.clone(),
            annotations: parsed.annotations.clone(),
            first_layer: parsed.first_layer().map(|d| d.digest),
            now: self.now(),
        };
        let (action, target) = match tag {
            Some(t) => ("tag", format!("{t}@{digest}")),
            None => ("push-manifest", digest.to_string()),
        };
        match self.parts.meta.put_manifest(&record) {
            Ok(()) => {}
            Err(e @ StoreError::TagImmutable(_)) => {
                return Err(self.deny(&actor, action, repository, &target, e.into()));
            }
            Err(e) => return Err(e.into()),
        }
        self.audit(&actor, action, repository, &target, Outcome::Allowed)?;
        Ok(PushedManifest { digest, subject })
    }

    /// A manifest by tag or digest (the gate decides when the repository enforces pulls).
    pub fn get_manifest(
        &self,
        token: Option<&str>,
        repository: &str,
        reference: &str,
    ) -> RegistryResult<StoredManifest> {
        let actor = self.authorize(token, repository, Access::Pull)?;
        let reference = Reference::parse(reference)?;
        let found = self
            .parts
            .meta
            .manifest(repository, &reference)?
            .ok_or_else(|| {
                RegistryError::not_found(
                    OciCode::ManifestUnknown,
                    format!("manifest {reference} is not in {repository}"),
                )
            })?;
        if self.settings(repository).enforce_pull && found.subject.is_none() {
            self.admit(
                &actor,
                repository,
                &found.digest,
                &found.bytes,
                GateAction::Pull,
            )?;
        }
        Ok(found)
    }

    /// Deletes a tag (by tag) or a manifest and its tags (by digest); immutable tags refuse.
    pub fn delete_manifest(
        &self,
        token: Option<&str>,
        repository: &str,
        reference: &str,
    ) -> RegistryResult<()> {
        let actor = self.authorize(token, repository, Access::Delete)?;
        let settings = self.settings(repository);
        let reference = Reference::parse(reference)?;
        let (action, result) = match &reference {
            Reference::Tag(t) => (
                "delete-tag",
                self.parts
                    .meta
                    .delete_tag(repository, t, settings.tag_is_immutable(t)),
            ),
            Reference::Digest(d) => (
                "delete-manifest",
                self.parts
                    .meta
                    .delete_manifest(repository, d, &|t| settings.tag_is_immutable(t)),
            ),
        };
        let target = reference.to_string();
        match result {
            Ok(true) => self.audit(&actor, action, repository, &target, Outcome::Allowed),
            Ok(false) => Err(RegistryError::not_found(
                OciCode::ManifestUnknown,
                format!("{reference} is not in {repository}"),
            )),
            Err(e @ StoreError::TagImmutable(_)) => {
                Err(self.deny(&actor, action, repository, &target, e.into()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A page of tags and the `Link` header for the next one.
    pub fn tags(
        &self,
        token: Option<&str>,
        repository: &str,
        n: Option<&str>,
        last: Option<&str>,
    ) -> RegistryResult<(Vec<String>, Option<String>)> {
        self.authorize(token, repository, Access::Pull)?;
        let page = TagPage::from_query(n, last)?;
        if !self.parts.meta.repository_exists(repository)? {
            return Err(RegistryError::not_found(
                OciCode::NameUnknown,
                format!("repository {repository} is not known"),
            ));
        }
        let found =
            self.parts
                .meta
                .tags(repository, page.last.as_deref(), page.n.saturating_add(1))?;
        Ok(finish_page(repository, &page, found))
    }

    /// The referrers index of `subject` (never "not found": an unknown subject has none).
    pub fn referrers(
        &self,
        token: Option<&str>,
        repository: &str,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> RegistryResult<(String, bool)> {
        self.authorize(token, repository, Access::Pull)?;
        let all: Vec<Referrer> = self.parts.meta.referrers(repository, subject)?;
        Ok(referrers_index(&all, artifact_type))
    }

    /// One garbage collection pass.
    pub fn collect_garbage(&self) -> RegistryResult<GcReport> {
        let now = self.now();
        let mut report = GcReport::default();
        // Expired sessions, and session files without a row.
        let expired = self
            .parts
            .meta
            .uploads_before(now - self.parts.config.upload_lifetime_secs)?;
        for id in &expired {
            self.parts.blobs.remove_upload(id)?;
            self.parts.meta.delete_upload(id)?;
            report.uploads += 1;
        }
        for id in self.parts.blobs.list_uploads()? {
            if self.parts.meta.upload(&id)?.is_none() {
                self.parts.blobs.remove_upload(&id)?;
                report.uploads += 1;
            }
        }
        let cutoff = now - self.parts.config.gc_grace_secs;
        for digest in self.parts.meta.gc_candidates(cutoff)? {
            let _guard = self.lock(&digest);
            if self.parts.meta.gc_remove_blob(&digest, cutoff)? {
                self.parts.blobs.delete(&digest)?;
                report.blobs += 1;
            }
        }
        for (digest, modified) in self.parts.blobs.list()? {
            if modified >= cutoff {
                continue;
            }
            let _guard = self.lock(&digest);
            if !self.parts.meta.blob_known(&digest)? {
                self.parts.blobs.delete(&digest)?;
                report.orphans += 1;
            }
        }
        if report != GcReport::default() {
            self.audit(
                "gc",
                "gc",
                "",
                &format!(
                    "{} blobs, {} orphan files, {} uploads",
                    report.blobs, report.orphans, report.uploads
                ),
                Outcome::Allowed,
            )?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
