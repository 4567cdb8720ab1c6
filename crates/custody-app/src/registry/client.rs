//! `custody push` and `custody pull`: an OCI distribution client for single-file artifacts
//! with their signatures and attestations as referrers.
//!
//! Push uploads FILE as one layer of an OCI image manifest (`artifactType` set, config the
//! empty descriptor), signs the *manifest's* digest (the digest the registry's gate checks),
//! optionally logs the signature, and pushes the bundle (and an optional attestation about the
//! manifest) as referrers *before* the manifest itself, so that an enforcing registry finds its
//! evidence when the manifest arrives. The signature covers the manifest, and the manifest
//! names the file's digest, so the signature binds the file. Existing bundles (`--bundle`:
//! build provenance, SBOM or rebuild attestations) are pushed as referrers the same way; each
//! is read and parsed before anything is uploaded.
//!
//! Pull fetches the manifest and its bundle referrers, verifies them exactly as the registry's
//! gate does ([`TrustRootGate::check`]: a logged signature by a key of the required role, and
//! any required attestation), and only then streams the layer into the output file, checking
//! its digest before the file appears (memory stays flat in the file's size).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use custody_crypto::{Digest, DigestAlgorithm, Hasher, Signer, sha256};
use custody_formats::intoto::{Statement, Subject};
use custody_formats::{Limits, json};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, digest_file, write_atomic_with};
use crate::registry::config::{RegistryConfig, RepositoryPolicy};
use crate::registry::enforce::TrustRootGate;
use crate::registry::policy::{BUNDLE_ARTIFACT_TYPE, Evidence, SubjectDigests};
use crate::sign::{Logger, sign_file, sign_statement};

/// The OCI image manifest media type.
pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// The OCI image index media type (the referrers API answers with one).
pub const IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The empty descriptor's media type, used as the config of artifacts.
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// The artifact type `custody push` uses unless told otherwise.
pub const DEFAULT_ARTIFACT_TYPE: &str = "application/vnd.custody.artifact.v1";
/// The layer media type of a pushed file.
pub const LAYER_MEDIA_TYPE: &str = "application/octet-stream";
/// The annotation naming the file.
pub const TITLE: &str = "org.opencontainers.image.title";

/// Manifests, indexes and bundles larger than this are refused.
const SMALL_LIMIT: u64 = 4 * 1024 * 1024;
/// The largest answer of custody's own API (an environment's history carries its records).
const API_LIMIT: u64 = 64 * 1024 * 1024;
/// Upload chunk size: memory is bounded by one chunk.
const CHUNK: usize = 8 * 1024 * 1024;

/// Reports transfer progress: bytes done so far, and the total.
pub type Progress<'a> = Option<&'a (dyn Fn(u64, u64) + Sync)>;

/// A parsed `[http(s)://]HOST[:PORT]/REPOSITORY[:TAG][@DIGEST]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `http(s)://HOST[:PORT]`: plain HTTP only when given, or for a loopback host.
    pub base: String,
    /// The repository name.
    pub repository: String,
    /// The tag, if any.
    pub tag: Option<String>,
    /// The digest, if any.
    pub digest: Option<Digest>,
}

fn bad_reference(text: &str, why: &str) -> Error {
    Error::new(Code::ReferenceInvalid, format!("reference '{text}': {why}"))
}

impl FromStr for Reference {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let (scheme, rest) = match text.split_once("://") {
            Some((s @ ("http" | "https"), rest)) => (Some(s), rest),
            Some(_) => return Err(bad_reference(text, "the scheme must be http or https")),
            None => (None, text),
        };
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| bad_reference(text, "no repository after the host"))?;
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !host_ok {
            return Err(bad_reference(
                text,
                "the host is not a host name or address",
            ));
        }
        let (path, digest) = match path.split_once('@') {
            Some((p, d)) => (
                p,
                Some(
                    d.parse::<Digest>()
                        .map_err(|e| bad_reference(text, &format!("digest: {e}")))?,
                ),
            ),
            None => (path, None),
        };
        let (repository, tag) = match path.rsplit_once(':') {
            Some((r, t)) if !t.contains('/') => (r, Some(t.to_owned())),
            _ => (path, None),
        };
        if !valid_repository(repository) {
            return Err(bad_reference(
                text,
                "the repository is not an OCI name (lowercase path components)",
            ));
        }
        if let Some(t) = &tag {
            let ok = !t.is_empty()
                && t.len() <= 128
                && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(bad_reference(text, "the tag is not an OCI tag"));
            }
        }
        let hostname = host.rsplit_once(':').map_or(host, |(h, port)| {
            if port.bytes().all(|b| b.is_ascii_digit()) {
                h
            } else {
                host
            }
        });
        let loopback = matches!(hostname, "localhost" | "127.0.0.1" | "[::1]");
        let scheme = scheme.unwrap_or(if loopback { "http" } else { "https" });
        Ok(Self {
            base: format!("{scheme}://{host}"),
            repository: repository.to_owned(),
            tag,
            digest,
        })
    }
}

fn valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.ends_with(|ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit())
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

impl Reference {
    /// The tag or digest to fetch the manifest by (the digest when both are given).
    pub fn manifest_reference(&self) -> Option<String> {
        self.digest
            .map(|d| d.to_string())
            .or_else(|| self.tag.clone())
    }

    fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{tail}", self.base, self.repository)
    }
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// Digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
}

impl Descriptor {
    fn to_value(&self) -> Value {
        json!({
            "mediaType": self.media_type,
            "digest": self.digest.to_string(),
            "size": self.size,
        })
    }

    fn from_value(value: &Value) -> Option<Self> {
        Some(Self {
            media_type: value.get("mediaType")?.as_str()?.to_owned(),
            digest: value.get("digest")?.as_str()?.parse().ok()?,
            size: value.get("size")?.as_u64()?,
        })
    }
}

/// An HTTP client of one registry, with its own runtime (its calls block).
pub struct RegistryClient {
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
    token: Option<SecretString>,
}

fn unreachable(url: &str, e: &reqwest::Error) -> Error {
    Error::new(
        Code::RegistryUnavailable,
        format!("cannot reach the registry at {url}: {e}"),
    )
}

fn invalid_answer(message: String) -> Error {
    Error::new(Code::RegistryAnswerInvalid, message)
}

/// Maps a registry error answer: the custody code it carries, or [`Code::RegistryUnavailable`].
fn refused(url: &str, status: u16, body: &[u8]) -> Error {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let first = parsed
        .as_ref()
        .and_then(|v| v.get("errors"))
        .and_then(|e| e.get(0));
    let message = first
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .replace('\n', " ");
    let detail = first.and_then(|e| e.get("detail"));
    // custody's own API answers `{"code", "message", "hint"}`; the registry answers the
    // distribution spec's `{"errors": [...]}` with the custody code in `detail`.
    if let Some(api) = parsed.as_ref().filter(|v| v.get("errors").is_none())
        && let Some(code) = api
            .get("code")
            .and_then(Value::as_str)
            .and_then(|c| c.parse::<Code>().ok())
    {
        let message = api.get("message").and_then(Value::as_str).unwrap_or("");
        let mut err = Error::new(code, format!("the server refused ({status}): {message}"));
        if let Some(hint) = api.get("hint").and_then(Value::as_str) {
            err = err.with_hint(hint);
        }
        return err;
    }
    let code = detail
        .and_then(|d| d.get("custody_code"))
        .and_then(Value::as_str)
        .and_then(|c| c.parse::<Code>().ok());
    match code {
        Some(code) => {
            let mut err = Error::new(code, format!("the registry refused ({status}): {message}"));
            if let Some(hint) = detail.and_then(|d| d.get("hint")).and_then(Value::as_str) {
                err = err.with_hint(hint);
            }
            err
        }
        None => Error::new(
            Code::RegistryUnavailable,
            format!("{url} answered {status}: {message}"),
        ),
    }
}

impl RegistryClient {
    /// A client that authenticates with `token` (a custody token; `None` for anonymous pulls).
    pub fn new(token: Option<SecretString>) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| {
                Error::new(Code::Internal, format!("cannot build the HTTP client: {e}"))
            })?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::new(Code::Internal, format!("cannot start a runtime: {e}")))?;
        Ok(Self {
            http,
            runtime,
            token,
        })
    }

    fn request(&self, method: reqwest::Method, url: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, url);
        match &self.token {
            Some(t) => request.bearer_auth(t.expose_secret()),
            None => request,
        }
    }

    /// Sends and returns (status, headers, body up to `limit` bytes).
    fn send(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
        limit: u64,
    ) -> Result<(u16, reqwest::header::HeaderMap, Vec<u8>)> {
        self.runtime.block_on(async {
            let mut response = request.send().await.map_err(|e| unreachable(url, &e))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(url, &e))? {
                if (body.len() + chunk.len()) as u64 > limit {
                    return Err(invalid_answer(format!(
                        "{url} answered with more than {limit} bytes"
                    )));
                }
                body.extend_from_slice(&chunk);
            }
            Ok((status, headers, body))
        })
    }

    fn expect(
        &self,
        request: reqwest::RequestBuilder,
        url: &str,
        ok: &[u16],
    ) -> Result<(reqwest::header::HeaderMap, Vec<u8>)> {
        let (status, headers, body) = self.send(request, url, SMALL_LIMIT)?;
        if !ok.contains(&status) {
            return Err(refused(url, status, &body));
        }
        Ok((headers, body))
    }

    /// Calls custody's own API (not the registry's) at `url`: sends `body` as JSON when given,
    /// and returns the JSON answer of a 2xx status; an error answer becomes its custody error.
    pub(crate) fn call_api(&self, url: &str, body: Option<&Value>) -> Result<Value> {
        let request = match body {
            Some(b) => self
                .request(reqwest::Method::POST, url)
                .header(CONTENT_TYPE, "application/json")
                .body(b.to_string()),
            None => self.request(reqwest::Method::GET, url),
        };
        let (status, _, bytes) = self.send(request, url, API_LIMIT)?;
        if !(200..300).contains(&status) {
            return Err(refused(url, status, &bytes));
        }
        serde_json::from_slice(&bytes)
            .map_err(|e| invalid_answer(format!("{url} answered with invalid JSON: {e}")))
    }

    fn location(&self, r: &Reference, headers: &reqwest::header::HeaderMap) -> Result<String> {
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| invalid_answer("an upload answer has no Location".into()))?;
        Ok(if location.starts_with('/') {
            format!("{}{location}", r.base)
        } else {
            location.to_owned()
        })
    }

    fn blob_exists(&self, r: &Reference, digest: &Digest) -> Result<bool> {
        let url = r.url(&format!("blobs/{digest}"));
        let (status, _, body) =
            self.send(self.request(reqwest::Method::HEAD, &url), &url, SMALL_LIMIT)?;
        match status {
            200 => Ok(true),
            404 => Ok(false),
            _ => Err(refused(&url, status, &body)),
        }
    }

    /// Uploads a blob from `read` (of `size` bytes, digest `digest`) in chunks.
    fn push_blob(
        &self,
        r: &Reference,
        digest: &Digest,
        read: &mut dyn Read,
        progress: Progress<'_>,
        total: u64,
    ) -> Result<()> {
        if self.blob_exists(r, digest)? {
            return Ok(());
        }
        let start = r.url("blobs/uploads/");
        let (headers, _) =
            self.expect(self.request(reqwest::Method::POST, &start), &start, &[202])?;
        let mut location = self.location(r, &headers)?;
        let mut offset = 0u64;
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let mut filled = 0;
            while filled < CHUNK {
                let n = read.read(&mut buffer[filled..]).map_err(|e| {
                    Error::new(Code::ReadFailed, format!("cannot read the artifact: {e}"))
                })?;
                if n == 0 {
                    break;
                }
                filled += n;
            }
            if filled == 0 {
                break;
            }
            let end = offset + filled as u64 - 1;
            let request = self
                .request(reqwest::Method::PATCH, &location)
                .header(CONTENT_TYPE, "application/octet-stream")
                .header("content-range", format!("{offset}-{end}"))
                .body(buffer[..filled].to_vec());
            let (headers, _) = self.expect(request, &location, &[202])?;
            location = self.location(r, &headers)?;
            offset = end + 1;
            if let Some(report) = progress {
                report(offset, total);
            }
            if filled < CHUNK {
                break;
            }
        }
        let separator = if location.contains('?') { '&' } else { '?' };
        let finish = format!("{location}{separator}digest={digest}");
        self.expect(self.request(reqwest::Method::PUT, &finish), &finish, &[201])?;
        Ok(())
    }

    fn push_bytes(&self, r: &Reference, media_type: &str, bytes: &[u8]) -> Result<Descriptor> {
        let digest = sha256(bytes);
        self.push_blob(r, &digest, &mut &bytes[..], None, bytes.len() as u64)?;
        Ok(Descriptor {
            media_type: media_type.to_owned(),
            digest,
            size: bytes.len() as u64,
        })
    }

    fn put_manifest(&self, r: &Reference, reference: &str, bytes: &[u8]) -> Result<Digest> {
        let digest = sha256(bytes);
        let url = r.url(&format!("manifests/{reference}"));
        let request = self
            .request(reqwest::Method::PUT, &url)
            .header(CONTENT_TYPE, IMAGE_MANIFEST)
            .body(bytes.to_vec());
        let (headers, _) = self.expect(request, &url, &[201])?;
        if let Some(answered) = headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            && answered != digest.to_string()
        {
            return Err(invalid_answer(format!(
                "the registry stored the manifest as {answered}, not {digest}"
            )));
        }
        Ok(digest)
    }

    /// The manifest named by `reference`, its bytes checked against the digest.
    fn get_manifest(&self, r: &Reference, reference: &str) -> Result<(Vec<u8>, Digest)> {
        let url = r.url(&format!("manifests/{reference}"));
        let request = self
            .request(reqwest::Method::GET, &url)
            .header("accept", IMAGE_MANIFEST);
        let (_, body) = self.expect(request, &url, &[200])?;
        let actual = sha256(&body);
        if let Ok(asked) = reference.parse::<Digest>() {
            let mut hasher = Hasher::new(asked.algorithm());
            hasher.update(&body);
            if hasher.finalize() != asked {
                return Err(invalid_answer(format!(
                    "the registry served other bytes for manifest {asked}"
                )));
            }
        }
        Ok((body, actual))
    }

    fn get_blob(&self, r: &Reference, d: &Descriptor) -> Result<Vec<u8>> {
        if d.size > SMALL_LIMIT {
            return Err(invalid_answer(format!("blob {} is too large", d.digest)));
        }
        let url = r.url(&format!("blobs/{}", d.digest));
        let (_, body) = self.expect(self.request(reqwest::Method::GET, &url), &url, &[200])?;
        let mut hasher = Hasher::new(d.digest.algorithm());
        hasher.update(&body);
        if hasher.finalize() != d.digest || body.len() as u64 != d.size {
            return Err(invalid_answer(format!(
                "the registry served other bytes for blob {}",
                d.digest
            )));
        }
        Ok(body)
    }

    /// Every bundle referrer of `subject`, with its bundle bytes.
    fn evidence(&self, r: &Reference, subject: &Digest) -> Result<Vec<Evidence>> {
        let url = format!(
            "{}?artifactType={}",
            r.url(&format!("referrers/{subject}")),
            BUNDLE_ARTIFACT_TYPE.replace('+', "%2B")
        );
        let (_, body) = self.expect(self.request(reqwest::Method::GET, &url), &url, &[200])?;
        let index = json::parse_strict(&body, &Limits::default())
            .map_err(|e| invalid_answer(format!("the referrers index is malformed: {e}")))?;
        let manifests = index
            .get("manifests")
            .and_then(Value::as_array)
            .ok_or_else(|| invalid_answer("the referrers index has no manifests".into()))?;
        let mut out = Vec::new();
        for entry in manifests {
            if entry.get("artifactType").and_then(Value::as_str) != Some(BUNDLE_ARTIFACT_TYPE) {
                continue;
            }
            let Some(d) = Descriptor::from_value(entry) else {
                continue;
            };
            // Referrers that cannot be fetched or parsed are not evidence; the gate decides.
            let Ok((manifest, _)) = self.get_manifest(r, &d.digest.to_string()) else {
                continue;
            };
            let Some(layer) = single_layer(&manifest) else {
                continue;
            };
            if let Ok(bundle) = self.get_blob(r, &layer) {
                out.push(Evidence {
                    referrer: d.digest,
                    bundle,
                });
            }
        }
        Ok(out)
    }

    /// Streams a blob into `out`, checking its size and digest; nothing is trusted before the
    /// last byte is checked.
    fn download(
        &self,
        r: &Reference,
        d: &Descriptor,
        out: &mut dyn Write,
        progress: Progress<'_>,
    ) -> Result<()> {
        let url = r.url(&format!("blobs/{}", d.digest));
        self.runtime.block_on(async {
            let mut response = self
                .request(reqwest::Method::GET, &url)
                .send()
                .await
                .map_err(|e| unreachable(&url, &e))?;
            let status = response.status().as_u16();
            if status != 200 {
                let body = response.bytes().await.unwrap_or_default();
                return Err(refused(&url, status, &body));
            }
            let mut hasher = Hasher::new(d.digest.algorithm());
            let mut received = 0u64;
            while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(&url, &e))? {
                received += chunk.len() as u64;
                if received > d.size {
                    return Err(invalid_answer(format!(
                        "blob {} is longer than its descriptor's {} bytes",
                        d.digest, d.size
                    )));
                }
                hasher.update(&chunk);
                if let Some(report) = progress {
                    report(received, d.size);
                }
                out.write_all(&chunk)
                    .map_err(|e| Error::new(Code::WriteFailed, format!("cannot write: {e}")))?;
            }
            if received != d.size || hasher.finalize() != d.digest {
                return Err(Error::new(
                    Code::ArtifactDigestMismatch,
                    format!(
                        "the registry served bytes that do not match the signed manifest's layer {}",
                        d.digest
                    ),
                ));
            }
            Ok(())
        })
    }
}

/// The one layer of an OCI image manifest (artifacts pushed by custody have exactly one).
fn single_layer(manifest: &[u8]) -> Option<Descriptor> {
    let value = json::parse_strict(manifest, &Limits::default()).ok()?;
    if value.get("mediaType").and_then(Value::as_str) != Some(IMAGE_MANIFEST) {
        return None;
    }
    match value.get("layers")?.as_array()?.as_slice() {
        [layer] => Descriptor::from_value(layer),
        _ => None,
    }
}

fn empty_config() -> (Descriptor, &'static [u8]) {
    let bytes: &'static [u8] = b"{}";
    (
        Descriptor {
            media_type: EMPTY_MEDIA_TYPE.to_owned(),
            digest: sha256(bytes),
            size: 2,
        },
        bytes,
    )
}

fn referrer_manifest(layer: &Descriptor, subject: &Descriptor) -> Vec<u8> {
    let (config, _) = empty_config();
    let value = json!({
        "schemaVersion": 2,
        "mediaType": IMAGE_MANIFEST,
        "artifactType": BUNDLE_ARTIFACT_TYPE,
        "config": config.to_value(),
        "layers": [layer.to_value()],
        "subject": subject.to_value(),
    });
    value.to_string().into_bytes()
}

/// An attestation to make about the pushed manifest.
pub struct PushAttestation<'a> {
    /// The predicate type, e.g. `https://slsa.dev/provenance/v1`.
    pub predicate_type: String,
    /// The predicate.
    pub predicate: Value,
    /// Who signs it.
    pub signer: &'a dyn Signer,
}

/// What `custody push` does.
pub struct PushRequest<'a> {
    /// The file to push.
    pub file: &'a Path,
    /// Where (must name a tag).
    pub reference: &'a Reference,
    /// The manifest's `artifactType`.
    pub artifact_type: &'a str,
    /// The key that signs the manifest digest; `None` pushes the artifact unsigned (for
    /// repositories that do not enforce signatures; an enforcing one refuses it).
    pub signer: Option<&'a dyn Signer>,
    /// An attestation about the manifest, if any.
    pub attestation: Option<PushAttestation<'a>>,
    /// Existing bundle files to attach as referrers too (after the signature and the
    /// attestation). Each is read (at most 4 MiB) and must parse as a bundle before anything is
    /// uploaded ([`read_attachable_bundle`]).
    pub bundles: &'a [PathBuf],
    /// Scratch directory for the bundles (they are also kept there).
    pub work_dir: &'a Path,
    /// Reports the file's upload progress.
    pub progress: Progress<'a>,
}

/// What was pushed.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The artifact manifest's digest (what the bundles sign).
    pub manifest: Digest,
    /// The file's digest (the layer).
    pub layer: Digest,
    /// The referrer manifests pushed (signature, then attestation, then each of
    /// [`PushRequest::bundles`] in order).
    pub referrers: Vec<Digest>,
    /// The signature's transparency-log index, when logged.
    pub log_index: Option<u64>,
}

/// Pushes `request.file` with its signature (and attestation) as referrers. `logger` logs the
/// signatures (as `custody sign --log` does).
pub fn push(
    client: &RegistryClient,
    request: &PushRequest<'_>,
    mut logger: Logger<'_>,
) -> Result<Pushed> {
    let r = request.reference;
    let tag = r
        .tag
        .clone()
        .ok_or_else(|| bad_reference(&r.repository, "push needs a tag (REPOSITORY:TAG)"))?;
    // Every attached bundle is read and checked before the first upload.
    let attached = request
        .bundles
        .iter()
        .map(|path| read_attachable_bundle(path))
        .collect::<Result<Vec<_>>>()?;
    let size = std::fs::metadata(request.file)
        .map_err(|e| Error::read(request.file, &e))?
        .len();
    let layer_digest = digest_file(request.file, &[DigestAlgorithm::Sha256])?
        .into_iter()
        .next()
        .ok_or_else(|| Error::new(Code::Internal, "no digest"))?;
    let mut file = std::fs::File::open(request.file).map_err(|e| Error::read(request.file, &e))?;
    client.push_blob(r, &layer_digest, &mut file, request.progress, size)?;
    let (config, config_bytes) = empty_config();
    client.push_bytes(r, EMPTY_MEDIA_TYPE, config_bytes)?;
    let title = request
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": IMAGE_MANIFEST,
        "artifactType": request.artifact_type,
        "config": config.to_value(),
        "layers": [{
            "mediaType": LAYER_MEDIA_TYPE,
            "digest": layer_digest.to_string(),
            "size": size,
            "annotations": { TITLE: title },
        }],
    })
    .to_string()
    .into_bytes();
    let subject = Descriptor {
        media_type: IMAGE_MANIFEST.to_owned(),
        digest: sha256(&manifest),
        size: manifest.len() as u64,
    };
    // Sign the manifest bytes: the bundle's digest is a digest of the manifest (sha256 for
    // ECDSA P-256, sha512 for Ed25519ph), which the gate checks against the manifest's bytes.
    let manifest_path = request
        .work_dir
        .join(format!("{}.manifest.json", subject.digest.hex()));
    crate::fs::write_atomic(
        &manifest_path,
        &manifest,
        Overwrite::Replace,
        Visibility::Public,
    )?;
    let bundle_path = crate::sign::default_bundle_path(&manifest_path);
    let mut bundles = Vec::new();
    let mut log_index = None;
    if let Some(signer) = request.signer {
        let signed = sign_file(&manifest_path, signer, &bundle_path, reborrow(&mut logger))?;
        log_index = signed.bundle.tlog_entries().first().map(|e| e.log_index);
        bundles.push(signed.bundle.to_json());
    }
    let mut referrers = Vec::new();
    if let Some(att) = &request.attestation {
        let statement = Statement::new(
            vec![Subject::new(&title, &[subject.digest])],
            &att.predicate_type,
            att.predicate.clone(),
        )
        .map_err(|e| Error::format(crate::error::Document::Predicate, &e))?;
        let att_path = crate::sign::default_attestation_path(&manifest_path);
        let attested = sign_statement(
            &statement,
            att.signer,
            subject.digest,
            &att_path,
            reborrow(&mut logger),
        )?;
        bundles.push(attested.bundle.to_json());
    }
    bundles.extend(attached);
    for bundle in &bundles {
        referrers.push(push_referrer(client, r, &subject, bundle)?);
    }
    let stored = client.put_manifest(r, &tag, &manifest)?;
    Ok(Pushed {
        manifest: stored,
        layer: layer_digest,
        referrers,
        log_index,
    })
}

/// Pushes `bundle` (checked bytes) as a blob and a referrer manifest whose subject is
/// `subject`; returns the referrer manifest's digest.
fn push_referrer(
    client: &RegistryClient,
    r: &Reference,
    subject: &Descriptor,
    bundle: &[u8],
) -> Result<Digest> {
    let layer = client.push_bytes(r, BUNDLE_ARTIFACT_TYPE, bundle)?;
    let referrer = referrer_manifest(&layer, subject);
    let digest = sha256(&referrer);
    client.put_manifest(r, &digest.to_string(), &referrer)?;
    Ok(digest)
}

/// Checks a bundle to attach and returns the bytes to push: a Sigstore bundle v0.3 as given
/// (byte for byte); any other bundle custody reads (v0.1, v0.2, a bare DSSE envelope)
/// rewritten as v0.3, the type referrers are labelled with and the gate reads. At most
/// 4 MiB, the most `custody pull` and the gate fetch ([`Code::BundleMalformed`] otherwise).
fn attachable_bundle(bytes: &[u8]) -> Result<Vec<u8>> {
    if bytes.len() as u64 > SMALL_LIMIT {
        return Err(Error::new(
            Code::BundleMalformed,
            format!(
                "the bundle is {} bytes; a referrer bundle may hold at most {SMALL_LIMIT}",
                bytes.len()
            ),
        ));
    }
    let parsed = crate::verify::parse_bundle(bytes)?;
    match custody_formats::bundle::Bundle::from_json(bytes, &Limits::default()) {
        Ok(b) if b.media_type() == custody_formats::bundle::MEDIA_TYPE_V03 => Ok(bytes.to_vec()),
        _ => Ok(parsed.to_json()),
    }
}

/// Reads a bundle file to attach (`custody push --bundle`): at most 4 MiB, and it must parse
/// as a bundle (as [`crate::verify::read_bundle`] reads them). Returns the bytes to push (see
/// [`attach_bundle`]); errors name the file.
pub fn read_attachable_bundle(path: &Path) -> Result<Vec<u8>> {
    let in_file = |e: Error| {
        let hint = e.hint().to_owned();
        let message = if e.message().contains(&path.display().to_string()) {
            e.message().to_owned()
        } else {
            format!("'{}': {}", path.display(), e.message())
        };
        Error::new(e.code(), message).with_hint(hint)
    };
    let bytes = crate::fs::read_limited(path, SMALL_LIMIT).map_err(|e| {
        if e.code() == Code::InvalidArgument {
            Error::new(Code::BundleMalformed, e.message().to_owned())
        } else {
            e
        }
    })?;
    attachable_bundle(&bytes).map_err(in_file)
}

/// Attaches one bundle as a referrer of the existing manifest `subject` in `reference`'s
/// repository (its tag and digest are not used), as `custody push` attaches its signature:
/// the bundle is checked first ([`Code::BundleMalformed`] and the parse codes; nothing is
/// uploaded then), a Sigstore bundle v0.3 is pushed byte for byte and any other bundle custody
/// reads is rewritten as v0.3. Returns the referrer manifest's digest.
pub fn attach_bundle(
    client: &RegistryClient,
    reference: &Reference,
    subject: &Descriptor,
    bundle_json: &[u8],
) -> Result<Digest> {
    let bundle = attachable_bundle(bundle_json)?;
    push_referrer(client, reference, subject, &bundle)
}

/// Fetches the manifest `reference` names (by digest when it has one, else by tag) and returns
/// its descriptor (media type, digest, size) with its bytes. Fetched by digest, the bytes are
/// checked against it ([`Code::RegistryAnswerInvalid`]); fetched by tag, the digest is the
/// SHA-256 of the bytes served.
pub fn resolve(client: &RegistryClient, reference: &Reference) -> Result<(Descriptor, Vec<u8>)> {
    let name = reference
        .manifest_reference()
        .ok_or_else(|| bad_reference(&reference.repository, "a tag or a digest is needed"))?;
    let (manifest, sha) = client.get_manifest(reference, &name)?;
    let media_type = json::parse_strict(&manifest, &Limits::default())
        .map_err(|e| invalid_answer(format!("manifest {name} is not valid JSON: {e}")))?
        .get("mediaType")
        .and_then(Value::as_str)
        .unwrap_or(IMAGE_MANIFEST)
        .to_owned();
    let descriptor = Descriptor {
        media_type,
        digest: reference.digest.unwrap_or(sha),
        size: manifest.len() as u64,
    };
    Ok((descriptor, manifest))
}

/// Every bundle referrer of `subject` in `reference`'s repository, with its bundle bytes
/// (unverified: referrers that cannot be fetched are left out; judging them is the caller's).
pub fn evidence_of(
    client: &RegistryClient,
    reference: &Reference,
    subject: &Digest,
) -> Result<Vec<Evidence>> {
    client.evidence(reference, subject)
}

/// The logger again, for one more signature.
fn reborrow<'s>(logger: &'s mut Logger<'_>) -> Logger<'s> {
    match logger {
        Some(l) => Some(&mut **l),
        None => None,
    }
}

/// What was pulled.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The manifest's digest.
    pub manifest: Digest,
    /// The file's digest.
    pub layer: Digest,
    /// Its size.
    pub size: u64,
    /// Where it was written.
    pub path: PathBuf,
}

/// Pulls the artifact at `reference`: verifies its evidence against the trust root at
/// `trust_root` under `policy` (signer role, required attestations), then streams the file to
/// `out` (atomically; default: the file's title in the current directory).
pub fn pull(
    client: &RegistryClient,
    reference: &Reference,
    trust_root: &Path,
    policy: &RepositoryPolicy,
    out: Option<&Path>,
    now: OffsetDateTime,
    progress: Progress<'_>,
) -> Result<Pulled> {
    let name = reference
        .manifest_reference()
        .ok_or_else(|| bad_reference(&reference.repository, "pull needs a tag or a digest"))?;
    let (manifest, digest) = client.get_manifest(reference, &name)?;
    let layer = single_layer(&manifest).ok_or_else(|| {
        invalid_answer(format!(
            "manifest {digest} is not an OCI image manifest with exactly one layer"
        ))
    })?;
    let evidence = client.evidence(reference, &digest)?;
    let gate = TrustRootGate::new(Arc::new(RegistryConfig::default()), trust_root)
        .with_clock(Box::new(move || now));
    gate.check_subject(policy, &SubjectDigests::of(digest, &manifest), &evidence)
        .map_err(|e| {
            let hint = e.hint().to_owned();
            Error::new(
                e.code(),
                format!("{}@{digest}: {}", reference.repository, e.message()),
            )
            .with_hint(hint)
        })?;
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => {
            let title = json::parse_strict(&manifest, &Limits::default())
                .ok()
                .and_then(|v| {
                    v.pointer("/layers/0/annotations")
                        .and_then(|a| a.get(TITLE))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .filter(|t| !t.is_empty() && !t.contains(['/', '\\']) && t != "." && t != "..")
                .ok_or_else(|| {
                    Error::new(Code::Usage, "the artifact names no file; pass --out FILE")
                })?;
            PathBuf::from(title)
        }
    };
    write_atomic_with(&path, Overwrite::Replace, Visibility::Public, &mut |w| {
        client.download(reference, &layer, w, progress)
    })?;
    Ok(Pulled {
        manifest: digest,
        layer: layer.digest,
        size: layer.size,
        path,
    })
}

#[cfg(test)]
mod tests;
