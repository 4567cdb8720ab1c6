//! TUF repositories (`custody tuf ...`) and the TUF client (`custody fetch`).
//!
//! A repository directory holds `metadata/` and `targets/` (what a server publishes) and
//! `custody-tuf.json`, which records where the online keys (snapshot, timestamp, bins) are, so
//! that `custody tuf add` can re-sign without naming them again. Metadata files are written
//! atomically; the timestamp last, so that a reader never sees a timestamp naming a snapshot
//! that is not there yet.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use custody_crypto::{DigestAlgorithm, Hasher, PublicKey, Signer};
use custody_tuf::client::{
    Client, ClientLimits, FetchError, Fetcher, MetadataCache, TargetInfo, quote_role,
};
use custody_tuf::metadata::{TargetFile, add_signatures};
use custody_tuf::writer::{Expiries, MetaOut, MetadataSource, Repository};

/// The keys and shape of a new repository (custody-tuf's own type).
pub use custody_tuf::writer::RepoConfig;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, read_limited, write_atomic, write_atomic_with};
use crate::verify::{Trust, Verification, parse_bundle, verify_bundle_digests};

/// The repository's private settings file.
pub const CONFIG_FILE: &str = "custody-tuf.json";

const METADATA_LIMIT: u64 = 64 * 1024 * 1024;

fn tuf_err(e: &custody_tuf::Error) -> Error {
    Error::tuf(e)
}

fn invalid(msg: impl Into<String>) -> Error {
    Error::new(Code::TufRequestInvalid, msg)
}

struct MetaDir(PathBuf);

impl MetadataSource for MetaDir {
    fn read(&self, file_name: &str) -> std::result::Result<Option<Vec<u8>>, String> {
        let path = self.0.join(file_name);
        if !path.exists() {
            return Ok(None);
        }
        read_limited(&path, METADATA_LIMIT)
            .map(Some)
            .map_err(|e| e.message().to_owned())
    }
}

fn write_metadata(repo: &Path, files: Vec<MetaOut>) -> Result<Vec<String>> {
    let dir = repo.join("metadata");
    let (last, rest): (Vec<MetaOut>, Vec<MetaOut>) =
        files.into_iter().partition(|f| f.name == "timestamp.json");
    let mut names = Vec::new();
    for f in rest.into_iter().chain(last) {
        write_atomic(
            &dir.join(&f.name),
            &f.bytes,
            Overwrite::Replace,
            Visibility::Public,
        )?;
        names.push(f.name);
    }
    Ok(names)
}

/// Holds the repository's lock file (`.custody-tuf.lock`, an advisory `flock`) so that two
/// writers never sign the same snapshot version; released when dropped.
fn lock(repo: &Path) -> Result<std::fs::File> {
    let path = repo.join(".custody-tuf.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::write(&path, &e))?;
    file.lock().map_err(|e| Error::write(&path, &e))?;
    Ok(file)
}

/// The online keys' files, recorded at `init`.
#[derive(Debug, Clone)]
pub struct OnlineKeyFiles {
    /// The snapshot key (PKCS#8 PEM).
    pub snapshot: PathBuf,
    /// The timestamp key.
    pub timestamp: PathBuf,
    /// The key of every bin.
    pub bins: PathBuf,
}

/// What `init` made.
#[derive(Debug, Clone)]
pub struct InitSummary {
    /// Number of bins.
    pub bins: u64,
    /// Metadata files written.
    pub files: usize,
}

/// Creates a repository in `repo` with `2^bit_length` bins, signed by `signers` (which must
/// hold the root threshold and the targets, snapshot, timestamp and bins keys).
pub fn init(
    repo: &Path,
    config: &RepoConfig,
    signers: &[&dyn Signer],
    online: &OnlineKeyFiles,
    now: OffsetDateTime,
) -> Result<InitSummary> {
    let meta = repo.join("metadata");
    if meta.join("root.json").exists() {
        return Err(invalid(format!(
            "'{}' already holds a TUF repository",
            repo.display()
        )));
    }
    std::fs::create_dir_all(&meta).map_err(|e| Error::write(&meta, &e))?;
    let targets = repo.join("targets");
    std::fs::create_dir_all(&targets).map_err(|e| Error::write(&targets, &e))?;
    let mut r = Repository::create(config, Expiries::default()).map_err(|e| tuf_err(&e))?;
    let files = r.commit(signers, now).map_err(|e| tuf_err(&e))?;
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let settings = json!({
        "onlineKeys": {
            "snapshot": abs(&online.snapshot),
            "timestamp": abs(&online.timestamp),
            "bins": abs(&online.bins),
        }
    });
    write_atomic(
        &repo.join(CONFIG_FILE),
        settings.to_string().as_bytes(),
        Overwrite::Replace,
        Visibility::OwnerOnly,
    )?;
    let n = write_metadata(repo, files)?.len();
    Ok(InitSummary {
        bins: r.bins().bin_count(),
        files: n,
    })
}

/// The online key files recorded in the repository's settings.
pub fn online_key_files(repo: &Path) -> Result<OnlineKeyFiles> {
    let path = repo.join(CONFIG_FILE);
    let bytes = read_limited(&path, 64 * 1024)?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| invalid(format!("'{}' is not valid: {e}", path.display())))?;
    let get = |k: &str| {
        v["onlineKeys"][k]
            .as_str()
            .map(PathBuf::from)
            .ok_or_else(|| invalid(format!("'{}' has no onlineKeys.{k}", path.display())))
    };
    Ok(OnlineKeyFiles {
        snapshot: get("snapshot")?,
        timestamp: get("timestamp")?,
        bins: get("bins")?,
    })
}

/// One published target.
#[derive(Debug, Clone)]
pub struct Added {
    /// The target path.
    pub name: String,
    /// Its length.
    pub length: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// Where the bytes of a target come from.
pub enum TargetSource {
    /// A file, streamed.
    File(PathBuf),
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// A reader, streamed once (for example a blob of the registry); `label` names it in
    /// errors.
    Reader {
        /// What the bytes are, for error messages.
        label: String,
        /// The bytes.
        reader: Box<dyn Read + Send>,
    },
}

impl std::fmt::Debug for TargetSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(p) => write!(f, "File({})", p.display()),
            Self::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Self::Reader { label, .. } => write!(f, "Reader({label})"),
        }
    }
}

impl TargetSource {
    fn label(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            Self::Bytes(_) => "bytes".to_owned(),
            Self::Reader { label, .. } => label.clone(),
        }
    }
}

/// A custody bundle to publish with a target.
#[derive(Debug, Clone)]
pub struct NewBundle {
    /// The bundle's JSON (a Sigstore bundle or a bare DSSE envelope).
    pub bytes: Vec<u8>,
    /// The trust-root role its signer holds, recorded in the listing when it is not the role
    /// a client asks for with `--role` (see docs/tuf.md); `None` for that role.
    pub role: Option<custody_formats::trust_root::Role>,
}

/// A file to publish, and what the `custom.custody` field of its target carries (see
/// docs/tuf.md).
#[derive(Debug)]
pub struct NewTarget {
    /// The file's bytes.
    pub source: TargetSource,
    /// Its target path.
    pub name: String,
    /// Custody bundles about the file (or about `manifest`), each published as a target of
    /// its own ([`bundle_target_name`]) and listed in the file's `custom.custody.bundles`.
    pub bundles: Vec<NewBundle>,
    /// The OCI digest of the artifact (`sha256:<hex>` or `sha512:<hex>`), recorded as
    /// `custom.custody.oci_digest`.
    pub oci_digest: Option<String>,
    /// The OCI manifest whose digest is `oci_digest` and which names the file as a layer,
    /// published as target `<name>.manifest.json` and listed as `custom.custody.manifest`, so
    /// that bundles over the manifest's digest vouch for the file.
    pub manifest: Option<Vec<u8>>,
}

impl NewTarget {
    /// A file from disk with bundle files (`custody tuf add`): bundles read and parsed here.
    pub fn from_files(
        file: &Path,
        name: &str,
        bundles: &[PathBuf],
        oci_digest: Option<String>,
    ) -> Result<Self> {
        let bundles = bundles
            .iter()
            .map(|b| {
                let bytes = read_limited(b, crate::verify::BUNDLE_LIMIT)?;
                parse_bundle(&bytes).map_err(|e| {
                    Error::new(e.code(), format!("'{}': {}", b.display(), e.message()))
                })?;
                Ok(NewBundle { bytes, role: None })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            source: TargetSource::File(file.to_path_buf()),
            name: name.to_owned(),
            bundles,
            oci_digest,
            manifest: None,
        })
    }
}

/// The target path of the OCI manifest published with target `name`.
#[must_use]
pub fn manifest_target_name(name: &str) -> String {
    format!("{name}.manifest.json")
}

/// The target path of the `index`th (from 0) bundle of target `name`: `<name>.sigstore.json`,
/// then `<name>.2.sigstore.json`, `<name>.3.sigstore.json`, ...
#[must_use]
pub fn bundle_target_name(name: &str, index: usize) -> String {
    if index == 0 {
        format!("{name}.sigstore.json")
    } else {
        format!("{name}.{}.sigstore.json", index + 1)
    }
}

fn check_oci_digest(d: &str) -> Result<()> {
    let ok = match d.split_once(':') {
        Some(("sha256", hex)) => hex.len() == 64,
        Some(("sha512", hex)) => hex.len() == 128,
        _ => false,
    } && d
        .split_once(':')
        .is_some_and(|(_, hex)| hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "--oci-digest '{d}' is not sha256:<64 hex> or sha512:<128 hex> (lowercase)"
        )))
    }
}

fn check_manifest(t: &NewTarget) -> Result<()> {
    let Some(manifest) = &t.manifest else {
        return Ok(());
    };
    let digest: custody_crypto::Digest = t
        .oci_digest
        .as_deref()
        .ok_or_else(|| invalid("a manifest is published only with its OCI digest"))?
        .parse()
        .map_err(|e| invalid(format!("OCI digest: {e}")))?;
    let mut h = Hasher::new(digest.algorithm());
    h.update(manifest);
    if h.finalize() != digest {
        return Err(invalid(format!("the manifest does not hash to {digest}")));
    }
    Ok(())
}

/// Copies each file (and its bundles, and its manifest) into `targets/` under hash-prefixed
/// names and lists them in their bins; then re-signs those bins, the snapshot and the
/// timestamp with the online `signers`, once for all of them, under the repository's lock.
/// Publishing a target path again replaces it (a new version of its bin).
pub fn add(
    repo: &Path,
    files: Vec<NewTarget>,
    signers: &[&dyn Signer],
    now: OffsetDateTime,
) -> Result<Vec<Added>> {
    // Checked before anything is copied.
    for t in &files {
        custody_tuf::writer::check_target_path(&t.name).map_err(|e| tuf_err(&e))?;
        if let Some(d) = &t.oci_digest {
            check_oci_digest(d)?;
        }
        check_manifest(t)?;
        for b in &t.bundles {
            parse_bundle(&b.bytes)?;
        }
    }
    let _lock = lock(repo)?;
    let src = MetaDir(repo.join("metadata"));
    let mut r = Repository::open(&src, Expiries::default()).map_err(|e| tuf_err(&e))?;
    let mut added = Vec::new();
    let publish = |r: &mut Repository,
                   source: TargetSource,
                   name: &str,
                   custom: Option<Value>|
     -> Result<Added> {
        let (length, sha256, sha512) = copy_target(repo, source, name)?;
        let target = TargetFile {
            length,
            hashes: [
                ("sha256".to_owned(), sha256.clone()),
                ("sha512".to_owned(), sha512),
            ]
            .into(),
            custom,
        };
        r.add_target(&src, name, target).map_err(|e| tuf_err(&e))?;
        Ok(Added {
            name: name.to_owned(),
            length,
            sha256,
        })
    };
    for t in files {
        let mut bundles = Vec::new();
        for (i, b) in t.bundles.into_iter().enumerate() {
            let a = publish(
                &mut r,
                TargetSource::Bytes(b.bytes),
                &bundle_target_name(&t.name, i),
                None,
            )?;
            let mut entry = json!({"target": a.name, "sha256": a.sha256, "length": a.length});
            if let Some(role) = b.role {
                entry["role"] = Value::String(role.to_string());
            }
            bundles.push(entry);
            added.push(a);
        }
        let mut custody = serde_json::Map::new();
        if let Some(m) = t.manifest {
            let a = publish(
                &mut r,
                TargetSource::Bytes(m),
                &manifest_target_name(&t.name),
                None,
            )?;
            custody.insert(
                "manifest".into(),
                json!({"target": a.name, "sha256": a.sha256, "length": a.length}),
            );
            added.push(a);
        }
        if !bundles.is_empty() {
            custody.insert("bundles".into(), Value::Array(bundles));
        }
        if let Some(d) = &t.oci_digest {
            custody.insert("oci_digest".into(), Value::String(d.clone()));
        }
        let custom = (!custody.is_empty()).then(|| json!({ "custody": custody }));
        added.push(publish(&mut r, t.source, &t.name, custom)?);
    }
    let out = r.commit(signers, now).map_err(|e| tuf_err(&e))?;
    write_metadata(repo, out)?;
    Ok(added)
}

/// Streams `source` into `targets/<dir>/<sha256>.<basename>` (hashing as it goes); called with
/// the repository locked.
fn copy_target(repo: &Path, source: TargetSource, name: &str) -> Result<(u64, String, String)> {
    let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
    let target_dir = repo.join("targets").join(dir);
    std::fs::create_dir_all(&target_dir).map_err(|e| Error::write(&target_dir, &e))?;
    // Staged outside targets/ (same file system), so that nothing half-named is ever served.
    let tmp = repo.join(".incoming-target");
    let mut h256 = Hasher::new(DigestAlgorithm::Sha256);
    let mut h512 = Hasher::new(DigestAlgorithm::Sha512);
    let mut length = 0u64;
    let label = source.label();
    let mut input: Box<dyn Read + Send> = match source {
        TargetSource::File(file) => {
            Box::new(std::fs::File::open(&file).map_err(|e| Error::read(&file, &e))?)
        }
        TargetSource::Bytes(b) => Box::new(std::io::Cursor::new(b)),
        TargetSource::Reader { reader, .. } => reader,
    };
    write_atomic_with(&tmp, Overwrite::Replace, Visibility::Public, &mut |w| {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = input
                .read(&mut buf)
                .map_err(|e| Error::read(Path::new(&label), &e))?;
            if n == 0 {
                return Ok(());
            }
            h256.update(&buf[..n]);
            h512.update(&buf[..n]);
            length += n as u64;
            w.write_all(&buf[..n]).map_err(|e| Error::write(&tmp, &e))?;
        }
    })?;
    let sha256 = h256.finalize().hex();
    let dest = target_dir.join(format!("{sha256}.{base}"));
    std::fs::rename(&tmp, &dest).map_err(|e| Error::write(&dest, &e))?;
    Ok((length, sha256, h512.finalize().hex()))
}

/// Adds `signers`' signatures to the latest root (`root.json` and `N.root.json`).
pub fn sign_root(repo: &Path, signers: &[&dyn Signer]) -> Result<u64> {
    let _lock = lock(repo)?;
    let meta = repo.join("metadata");
    let bytes = read_limited(&meta.join("root.json"), METADATA_LIMIT)?;
    let signed = add_signatures(&bytes, "root", signers).map_err(|e| tuf_err(&e))?;
    let env = custody_tuf::metadata::Envelope::parse(&signed, "root").map_err(|e| tuf_err(&e))?;
    let root = custody_tuf::metadata::Root::from_envelope(&env).map_err(|e| tuf_err(&e))?;
    write_metadata(
        repo,
        vec![
            MetaOut {
                name: format!("{}.root.json", root.version),
                bytes: signed.clone(),
            },
            MetaOut {
                name: "root.json".into(),
                bytes: signed,
            },
        ],
    )?;
    Ok(root.version)
}

/// Re-signs the online roles: a new snapshot and timestamp with fresh expiries (what a server
/// does before they expire). Returns the new timestamp version.
pub fn resign_online(repo: &Path, signers: &[&dyn Signer], now: OffsetDateTime) -> Result<u64> {
    let _lock = lock(repo)?;
    let src = MetaDir(repo.join("metadata"));
    let mut r = Repository::open(&src, Expiries::default()).map_err(|e| tuf_err(&e))?;
    let out = r.commit(signers, now).map_err(|e| tuf_err(&e))?;
    write_metadata(repo, out)?;
    Ok(r.snapshot().version)
}

/// Re-signs the top-level targets role with `signers` (the offline targets key and the online
/// snapshot and timestamp keys): a new version with a fresh expiry, a new snapshot and
/// timestamp. Returns the new targets version.
pub fn sign_targets(repo: &Path, signers: &[&dyn Signer], now: OffsetDateTime) -> Result<u64> {
    let _lock = lock(repo)?;
    let src = MetaDir(repo.join("metadata"));
    let mut r = Repository::open(&src, Expiries::default()).map_err(|e| tuf_err(&e))?;
    r.touch_targets();
    let out = r.commit(signers, now).map_err(|e| tuf_err(&e))?;
    let version = out
        .iter()
        .find_map(|f| f.name.strip_suffix(".targets.json")?.parse().ok())
        .unwrap_or_default();
    write_metadata(repo, out)?;
    Ok(version)
}

/// Replaces the root keys: a new root version signed by `signers`, which must hold a threshold
/// of the old root keys and of `new_keys`, plus the online snapshot and timestamp keys.
pub fn rotate_root(
    repo: &Path,
    new_keys: &[PublicKey],
    threshold: usize,
    signers: &[&dyn Signer],
    now: OffsetDateTime,
) -> Result<u64> {
    let _lock = lock(repo)?;
    let src = MetaDir(repo.join("metadata"));
    let mut r = Repository::open(&src, Expiries::default()).map_err(|e| tuf_err(&e))?;
    r.rotate_root(new_keys, threshold)
        .map_err(|e| tuf_err(&e))?;
    let out = r.commit(signers, now).map_err(|e| tuf_err(&e))?;
    write_metadata(repo, out)?;
    Ok(r.root().version)
}

// ---- client ----

struct HttpFetcher {
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

impl HttpFetcher {
    fn new(base: &str) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("--from '{base}' is not an http(s) URL"),
            ));
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::new(Code::Internal, format!("cannot start the runtime: {e}")))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| {
                Error::new(Code::Internal, format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Self {
            runtime,
            http,
            base,
        })
    }

    /// GETs `url`, handing chunks to `sink`; stops after `max + 1` bytes.
    fn get(
        &self,
        url: &str,
        max: u64,
        sink: &mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
    ) -> std::result::Result<(), FetchError> {
        self.runtime.block_on(async {
            let mut resp = self
                .http
                .get(url)
                .send()
                .await
                .map_err(|e| FetchError::Failed(e.to_string()))?;
            let status = resp.status().as_u16();
            if status == 404 || status == 403 {
                return Err(FetchError::NotFound);
            }
            if !resp.status().is_success() {
                return Err(FetchError::Failed(format!("HTTP {status}")));
            }
            let mut seen = 0u64;
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| FetchError::Failed(e.to_string()))?
            {
                seen += chunk.len() as u64;
                sink(&chunk).map_err(FetchError::Failed)?;
                if seen > max {
                    break;
                }
            }
            Ok(())
        })
    }
}

impl Fetcher for HttpFetcher {
    fn fetch_metadata(
        &mut self,
        file_name: &str,
        max_length: u64,
    ) -> std::result::Result<Vec<u8>, FetchError> {
        let url = format!("{}/metadata/{file_name}", self.base);
        let mut out = Vec::new();
        self.get(&url, max_length, &mut |c| {
            out.extend_from_slice(c);
            Ok(())
        })?;
        Ok(out)
    }
}

struct DirCache(PathBuf);

impl MetadataCache for DirCache {
    fn load(&self, file_name: &str) -> Option<Vec<u8>> {
        read_limited(&self.0.join(file_name), METADATA_LIMIT).ok()
    }

    fn store(&mut self, file_name: &str, bytes: &[u8]) -> std::result::Result<(), String> {
        write_atomic(
            &self.0.join(file_name),
            bytes,
            Overwrite::Replace,
            Visibility::Public,
        )
        .map_err(|e| e.message().to_owned())
    }
}

/// What `fetch` downloaded.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Bytes written.
    pub length: u64,
    /// The SHA-256, hex.
    pub sha256: String,
    /// The trusted root version after the update.
    pub root_version: u64,
    /// The custody bundles the file was verified against (none without a trust root).
    pub bundles: Vec<VerifiedBundle>,
}

/// A custody bundle a fetched file was verified against.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// The bundle's target path.
    pub target: String,
    /// What its verification proved.
    pub verification: Verification,
}

/// One entry of `custom.custody.bundles` (or `custom.custody.manifest`).
struct BundleRef {
    target: String,
    sha256: String,
    /// The role its signer must hold, when the listing names one.
    role: Option<custody_formats::trust_root::Role>,
}

/// What `custom.custody` lists for a target.
struct CustodyListing {
    bundles: Vec<BundleRef>,
    /// The OCI manifest (a target) and its digest, when listed.
    manifest: Option<(BundleRef, custody_crypto::Digest)>,
}

/// Reads `custom.custody.bundles` of a target (docs/tuf.md); `None` when the target lists none.
/// The field is signed metadata: when it is there but malformed, the target is refused.
fn custody_bundles(target: &str, custom: Option<&Value>) -> Result<Option<CustodyListing>> {
    let Some(custody) = custom.and_then(|c| c.get("custody")) else {
        return Ok(None);
    };
    let bad = |why: &str| {
        Error::new(
            Code::TufMetadataRejected,
            format!("the custom.custody field of target '{target}' is not valid: {why}"),
        )
    };
    let Some(custody) = custody.as_object() else {
        return Err(bad("not an object"));
    };
    let reference = |entry: &Value| -> Result<BundleRef> {
        let name = entry["target"]
            .as_str()
            .ok_or_else(|| bad("a bundle has no target"))?;
        let sha256 = entry["sha256"]
            .as_str()
            .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| bad("a bundle has no sha256 of 64 lowercase hex digits"))?;
        custody_tuf::writer::check_target_path(name).map_err(|e| bad(&e.to_string()))?;
        if name == target {
            return Err(bad("a bundle names the target itself"));
        }
        let role = match entry.get("role") {
            None => None,
            Some(r) => Some(
                r.as_str()
                    .and_then(|r| r.parse().ok())
                    .ok_or_else(|| bad("a bundle's role is not a trust-root role"))?,
            ),
        };
        Ok(BundleRef {
            target: name.to_owned(),
            sha256: sha256.to_owned(),
            role,
        })
    };
    let Some(list) = custody.get("bundles") else {
        return Ok(None);
    };
    let list = list
        .as_array()
        .ok_or_else(|| bad("bundles is not an array"))?;
    let mut bundles = Vec::new();
    for entry in list {
        bundles.push(reference(entry)?);
    }
    if bundles.is_empty() {
        return Ok(None);
    }
    let manifest = match custody.get("manifest") {
        None => None,
        Some(m) => {
            let r = reference(m)?;
            if r.role.is_some() {
                return Err(bad("the manifest has a role"));
            }
            let digest = custody
                .get("oci_digest")
                .and_then(Value::as_str)
                .and_then(|d| d.parse::<custody_crypto::Digest>().ok())
                .ok_or_else(|| bad("a manifest is listed without a valid oci_digest"))?;
            Some((r, digest))
        }
    };
    Ok(Some(CustodyListing { bundles, manifest }))
}

/// The digests of the layers `manifest` (an OCI image manifest) names.
fn manifest_layers(manifest: &[u8]) -> Vec<custody_crypto::Digest> {
    let v: Value = serde_json::from_slice(manifest).unwrap_or(Value::Null);
    v.get("layers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("digest")?.as_str()?.parse().ok())
        .collect()
}

/// Streams the target `info` from the repository to `sink`, checking its signed length and
/// hashes as it goes.
fn download(
    fetcher: &HttpFetcher,
    info: &TargetInfo,
    consistent: bool,
    sink: &mut dyn FnMut(&[u8]) -> std::result::Result<(), String>,
) -> Result<()> {
    let path: String = info
        .download_path(consistent)
        .split('/')
        .map(quote_role)
        .collect::<Vec<_>>()
        .join("/");
    let url = format!("{}/targets/{path}", fetcher.base);
    let mut verifier = info.verifier();
    let mut failure: Option<custody_tuf::Error> = None;
    let result = fetcher.get(&url, info.file.length, &mut |chunk| {
        verifier.update(chunk).map_err(|e| {
            let m = e.to_string();
            failure = Some(e);
            m
        })?;
        sink(chunk)
    });
    if let Some(e) = failure.take() {
        return Err(tuf_err(&e));
    }
    result.map_err(|e| {
        Error::new(
            Code::TufFetchFailed,
            match e {
                FetchError::NotFound => format!("{url}: not found"),
                FetchError::Failed(r) => format!("{url}: {r}"),
            },
        )
    })?;
    verifier.finish().map_err(|e| tuf_err(&e))
}

fn trust_role(trust: Option<&Trust<'_>>) -> Option<custody_formats::trust_root::Role> {
    match trust {
        Some(Trust::TrustRoot { role, .. }) => Some(*role),
        _ => None,
    }
}

/// Runs the TUF client workflow against the repository at `base` (serving `metadata/` and
/// `targets/`), starting from `trusted_root` and the trusted metadata in `cache`; then
/// streams `target` to a temporary file beside `out`, checks its length and hashes, and
/// renames it into place.
///
/// When the target's signed metadata lists custody bundles (`custom.custody.bundles`,
/// docs/tuf.md), each bundle is fetched as a target of its own (TUF-verified, and matching the
/// SHA-256 the listing pins), and the file is verified against every one of them with `trust`
/// before it is renamed into place. Fails closed: bundles listed and no `trust` is
/// [`Code::TufTrustRootRequired`]; `trust` given and no bundle listed is
/// [`Code::TufBundleMissing`].
pub fn fetch(
    target: &str,
    trusted_root: &Path,
    base: &str,
    out: &Path,
    cache: &Path,
    trust: Option<&Trust<'_>>,
    now: OffsetDateTime,
) -> Result<Fetched> {
    custody_tuf::writer::check_target_path(target).map_err(|e| tuf_err(&e))?;
    let root = read_limited(trusted_root, 512_000)?;
    std::fs::create_dir_all(cache).map_err(|e| Error::write(cache, &e))?;
    let fetcher = HttpFetcher::new(base)?;
    let mut client = Client::new(
        &root,
        fetcher,
        DirCache(cache.to_path_buf()),
        now,
        ClientLimits::default(),
    )
    .map_err(|e| tuf_err(&e))?;
    client.refresh().map_err(|e| tuf_err(&e))?;
    let info = client.target_info(target).map_err(|e| tuf_err(&e))?;
    let listing = custody_bundles(target, info.file.custom.as_ref())?;
    let (refs, manifest_ref) = match (listing, trust) {
        (None, None) => (Vec::new(), None),
        (Some(l), Some(_)) => (l.bundles, l.manifest),
        (Some(l), None) => {
            return Err(Error::new(
                Code::TufTrustRootRequired,
                format!(
                    "target '{target}' lists {} custody bundle(s) to verify it with; give --trust-root",
                    l.bundles.len()
                ),
            ));
        }
        (None, Some(_)) => {
            return Err(Error::new(
                Code::TufBundleMissing,
                format!(
                    "target '{target}' lists no custody bundle (custom.custody.bundles), so it cannot be verified with --trust-root"
                ),
            ));
        }
    };
    if let (Some(Trust::TrustRoot { role, .. }), false) = (
        trust,
        refs.iter()
            .any(|r| r.role.is_none_or(|x| Some(x) == trust_role(trust))),
    ) {
        return Err(Error::new(
            Code::TufBundleMissing,
            format!("target '{target}' lists no custody bundle by a key of role {role}"),
        ));
    }
    let mut bundle_infos = Vec::new();
    for r in refs.iter().chain(manifest_ref.as_ref().map(|(m, _)| m)) {
        let b = client.target_info(&r.target).map_err(|e| tuf_err(&e))?;
        if b.file.hashes.get("sha256") != Some(&r.sha256) {
            return Err(Error::new(
                Code::TufTargetMismatch,
                format!(
                    "bundle target '{}' does not have the sha256 that target '{target}' lists for it",
                    r.target
                ),
            ));
        }
        if b.file.length > crate::verify::BUNDLE_LIMIT {
            return Err(Error::new(
                Code::BundleMalformed,
                format!(
                    "bundle target '{}' is larger than {} bytes",
                    r.target,
                    crate::verify::BUNDLE_LIMIT
                ),
            ));
        }
        bundle_infos.push(b);
    }
    let consistent = client.root().consistent_snapshot;
    let root_version = client.root().version;
    let (fetcher, _) = client.into_parts();

    // The manifest (last of `bundle_infos`): it must hash to the OCI digest; its digests are
    // then bound to the file once the file is shown to be one of its layers.
    let manifest = match &manifest_ref {
        Some((_, oci)) => {
            let m = bundle_infos.pop().ok_or_else(|| invalid("no manifest"))?;
            let mut bytes = Vec::new();
            download(&fetcher, &m, consistent, &mut |chunk| {
                bytes.extend_from_slice(chunk);
                Ok(())
            })?;
            let mut h = Hasher::new(oci.algorithm());
            h.update(&bytes);
            if h.finalize() != *oci {
                return Err(Error::new(
                    Code::TufTargetMismatch,
                    format!(
                        "the manifest of target '{target}' does not hash to its oci_digest {oci}"
                    ),
                ));
            }
            Some(bytes)
        }
        None => None,
    };
    let mut bundles = Vec::new();
    for (b, r) in bundle_infos.iter().zip(&refs) {
        let mut bytes = Vec::new();
        download(&fetcher, b, consistent, &mut |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })?;
        let bundle = parse_bundle(&bytes)?;
        if bundle.digest_algorithms_needed().is_empty() {
            return Err(Error::new(
                Code::BundleUnsupported,
                format!(
                    "bundle '{}' binds no artifact digest custody can check (no sha256 or sha512 subject)",
                    b.path
                ),
            ));
        }
        bundles.push((b.path.clone(), bundle, r.role));
    }
    let mut algorithms: Vec<DigestAlgorithm> = Vec::new();
    if manifest.is_some() {
        // To find the file among the manifest's layers, whatever their algorithm.
        algorithms = vec![DigestAlgorithm::Sha256, DigestAlgorithm::Sha512];
    }
    for (_, b, _) in &bundles {
        for a in b.digest_algorithms_needed() {
            if !algorithms.contains(&a) {
                algorithms.push(a);
            }
        }
    }

    let mut hashers: Vec<Hasher> = algorithms.iter().map(|a| Hasher::new(*a)).collect();
    let mut verified = Vec::new();
    write_atomic_with(out, Overwrite::Replace, Visibility::Public, &mut |w| {
        download(&fetcher, &info, consistent, &mut |chunk| {
            for h in &mut hashers {
                h.update(chunk);
            }
            w.write_all(chunk).map_err(|e| e.to_string())
        })?;
        // Verified before the file is renamed into place: a refusal leaves nothing behind.
        if let Some(trust) = trust {
            let digests: Vec<_> = std::mem::take(&mut hashers)
                .into_iter()
                .map(Hasher::finalize)
                .collect();
            let mut manifest_digests = Vec::new();
            if let (Some(m), Some((_, oci))) = (&manifest, &manifest_ref) {
                let layers = manifest_layers(m);
                if !digests.iter().any(|d| layers.contains(d)) {
                    return Err(Error::new(
                        Code::TufTargetMismatch,
                        format!("target '{target}' is not a layer of the manifest {oci} it lists"),
                    ));
                }
                // The manifest names the file, so evidence over the manifest is about it.
                for a in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
                    let mut h = Hasher::new(a);
                    h.update(m);
                    manifest_digests.push(h.finalize());
                }
            }
            for (name, bundle, role) in &bundles {
                let own;
                let trust = match (trust, role) {
                    (Trust::TrustRoot { root, .. }, Some(role)) => {
                        own = Trust::TrustRoot { root, role: *role };
                        &own
                    }
                    _ => trust,
                };
                // About the file itself, or else about the manifest that names it.
                let verification = verify_bundle_digests(bundle, &digests, trust, now)
                    .or_else(|e| {
                        let about_other = matches!(
                            e.code(),
                            Code::ArtifactDigestMismatch | Code::SubjectMismatch
                        );
                        if about_other && !manifest_digests.is_empty() {
                            verify_bundle_digests(bundle, &manifest_digests, trust, now)
                        } else {
                            Err(e)
                        }
                    })
                    .map_err(|e| {
                        let hint = e.hint().to_owned();
                        Error::new(e.code(), format!("bundle '{name}': {}", e.message()))
                            .with_hint(hint)
                    })?;
                verified.push(VerifiedBundle {
                    target: name.clone(),
                    verification,
                });
            }
        }
        Ok(())
    })?;
    Ok(Fetched {
        length: info.file.length,
        sha256: info.file.hashes.get("sha256").cloned().unwrap_or_default(),
        root_version,
        bundles: verified,
    })
}

// ---- serving and keeping the online roles fresh ----

/// Whether the online roles are due to be re-signed: when less than half of the validity
/// a fresh timestamp or snapshot gets is left on the published ones (Unix seconds), so that a
/// server checking every minute or so keeps clients from ever seeing them expire.
#[must_use]
pub fn online_resign_due(timestamp_expires: i64, snapshot_expires: i64, now: i64) -> bool {
    let validity = Expiries::default();
    timestamp_expires.saturating_sub(now) < validity.timestamp / 2
        || snapshot_expires.saturating_sub(now) < validity.snapshot / 2
}

/// Whether a bin that expires at `bin_expires` is due to be re-signed: less than half of the
/// validity a fresh bin gets is left.
#[must_use]
pub fn bin_resign_due(bin_expires: i64, now: i64) -> bool {
    bin_expires.saturating_sub(now) < Expiries::default().bins / 2
}

/// What [`OnlineResigner::resign_if_due`] re-signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resigned {
    /// The new snapshot version.
    pub snapshot: u64,
    /// How many bins were re-signed with it.
    pub bins: usize,
}

/// Keeps a served repository's online roles fresh: the snapshot and timestamp, and every
/// delegated bin, each re-signed once half of its validity is gone. Bins change only with a
/// new snapshot, so their earliest expiry is remembered per snapshot version and the bins are
/// read again only after the snapshot changed.
#[derive(Debug)]
pub struct OnlineResigner {
    repo: PathBuf,
    /// (snapshot version, earliest bin expiry) of the last scan.
    bins_seen: Option<(u64, i64)>,
}

impl OnlineResigner {
    /// For the repository `repo`.
    #[must_use]
    pub fn new(repo: &Path) -> Self {
        Self {
            repo: repo.to_path_buf(),
            bins_seen: None,
        }
    }

    /// Re-signs, under the repository's lock, the bins that are due ([`bin_resign_due`]) and,
    /// if any bin was due or [`online_resign_due`] says so, the snapshot and timestamp: one
    /// commit. Returns `None` when nothing was due.
    pub fn resign_if_due(
        &mut self,
        signers: &[&dyn Signer],
        now: OffsetDateTime,
    ) -> Result<Option<Resigned>> {
        let repo = &self.repo;
        let _lock = lock(repo)?;
        let meta = repo.join("metadata");
        let src = MetaDir(meta.clone());
        let mut r = Repository::open(&src, Expiries::default()).map_err(|e| tuf_err(&e))?;
        let ts_bytes = read_limited(&meta.join("timestamp.json"), METADATA_LIMIT)?;
        let ts_env = custody_tuf::metadata::Envelope::parse(&ts_bytes, "timestamp")
            .map_err(|e| tuf_err(&e))?;
        let ts =
            custody_tuf::metadata::Timestamp::from_envelope(&ts_env).map_err(|e| tuf_err(&e))?;
        let now_s = now.unix_timestamp();
        let snapshot_version = r.snapshot().version;
        let bins_maybe_due = match self.bins_seen {
            Some((v, earliest)) if v == snapshot_version => bin_resign_due(earliest, now_s),
            _ => true,
        };
        let mut due_bins = Vec::new();
        if bins_maybe_due {
            let expiries = r.bin_expiries(&src).map_err(|e| tuf_err(&e))?;
            let earliest = expiries.iter().map(|(_, e)| *e).min().unwrap_or(i64::MAX);
            self.bins_seen = Some((snapshot_version, earliest));
            due_bins = expiries
                .into_iter()
                .filter(|(_, e)| bin_resign_due(*e, now_s))
                .map(|(n, _)| n)
                .collect();
        }
        if due_bins.is_empty() && !online_resign_due(ts.expires, r.snapshot().expires, now_s) {
            return Ok(None);
        }
        for n in &due_bins {
            r.touch_bin(&src, *n).map_err(|e| tuf_err(&e))?;
        }
        let out = r.commit(signers, now).map_err(|e| tuf_err(&e))?;
        write_metadata(repo, out)?;
        // The bins just signed are fresh; the others' earliest expiry is re-read next time.
        self.bins_seen = None;
        Ok(Some(Resigned {
            snapshot: r.snapshot().version,
            bins: due_bins.len(),
        }))
    }
}

/// Re-signs the online roles that are due, as [`OnlineResigner::resign_if_due`] (without
/// remembering bin expiries between calls). Returns the new snapshot version, `None` when
/// nothing was due.
pub fn resign_online_if_due(
    repo: &Path,
    signers: &[&dyn Signer],
    now: OffsetDateTime,
) -> Result<Option<u64>> {
    Ok(OnlineResigner::new(repo)
        .resign_if_due(signers, now)?
        .map(|r| r.snapshot))
}

/// How long an HTTP cache may keep a published file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Replaced in place (`timestamp.json`, `root.json`, and `N.root.json`, to which offline
    /// root signatures are added): revalidate every time.
    Mutable,
    /// Versioned metadata and hash-prefixed targets: never change once written.
    Immutable,
}

/// A file of the published layout, open for reading.
#[derive(Debug)]
pub struct PublishedFile {
    /// The open file (a regular file inside the repository, reached without symlinks).
    pub file: std::fs::File,
    /// Its length in bytes.
    pub length: u64,
    /// How long it may be cached.
    pub freshness: Freshness,
    /// Whether it is metadata (JSON) rather than a target.
    pub metadata: bool,
}

/// Checks that `repo` holds a published TUF repository (`metadata/root.json` and
/// `metadata/timestamp.json`) and returns its canonical path, for [`open_published`].
pub fn published_repo(repo: &Path) -> Result<PathBuf> {
    let canonical = std::fs::canonicalize(repo).map_err(|e| Error::read(repo, &e))?;
    for f in ["root.json", "timestamp.json"] {
        let p = canonical.join("metadata").join(f);
        if !p.is_file() {
            return Err(invalid(format!(
                "'{}' is not a TUF repository (no metadata/{f}; create one with 'custody tuf init')",
                repo.display()
            )));
        }
    }
    Ok(canonical)
}

fn not_published(path: &str) -> Error {
    Error::new(
        Code::NotFound,
        format!("'{path}' is not a file of the TUF repository"),
    )
}

fn safe_component(c: &str) -> bool {
    !c.is_empty()
        && !c.starts_with('.')
        && !c
            .chars()
            .any(|ch| ch.is_control() || ch == '\\' || ch == '/')
}

/// `timestamp.json`, `root.json` or `<version>.<role>.json`.
fn metadata_name(name: &str) -> Option<Freshness> {
    if name == "timestamp.json" || name == "root.json" {
        return Some(Freshness::Mutable);
    }
    let (version, rest) = name.split_once('.')?;
    let role = rest.strip_suffix(".json")?;
    let version_ok = !version.is_empty()
        && !version.starts_with('0')
        && version.len() <= 20
        && version.bytes().all(|b| b.is_ascii_digit());
    let role_ok = !role.is_empty()
        && role
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
    if !(version_ok && role_ok) {
        return None;
    }
    Some(if role == "root" {
        Freshness::Mutable
    } else {
        Freshness::Immutable
    })
}

/// `<64 lowercase hex>.<name>`, the consistent-snapshot name of a target file.
fn hash_prefixed(name: &str) -> bool {
    name.split_once('.').is_some_and(|(hash, rest)| {
        hash.len() == 64
            && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            && !rest.is_empty()
    })
}

/// Opens `path` (`metadata/<file>` or `targets/<dir>/.../<sha256>.<name>`, already
/// percent-decoded) of the published layout of `repo` (from [`published_repo`]). Anything
/// else is [`Code::NotFound`]: other names (the settings and lock files, staging and
/// temporary files, dotfiles), `..`, symlinks anywhere below `repo`, and what is not a
/// regular file.
pub fn open_published(repo: &Path, path: &str) -> Result<PublishedFile> {
    let parts: Vec<&str> = path.split('/').collect();
    if !parts.iter().all(|c| safe_component(c)) {
        return Err(not_published(path));
    }
    let (freshness, metadata) = match parts.as_slice() {
        ["metadata", name] => (
            metadata_name(name).ok_or_else(|| not_published(path))?,
            true,
        ),
        ["targets", .., last] if hash_prefixed(last) => (Freshness::Immutable, false),
        _ => return Err(not_published(path)),
    };
    // Every step below the repository must be a real directory, the last a regular file.
    let mut full = repo.to_path_buf();
    let mut leaf = None;
    for (i, c) in parts.iter().enumerate() {
        full.push(c);
        let m = match std::fs::symlink_metadata(&full) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(not_published(path));
            }
            Err(e) => return Err(Error::read(&full, &e)),
        };
        let last = i + 1 == parts.len();
        if (last && !m.file_type().is_file()) || (!last && !m.file_type().is_dir()) {
            return Err(not_published(path));
        }
        if last {
            leaf = Some(m);
        }
    }
    let leaf = leaf.ok_or_else(|| not_published(path))?;
    let file = std::fs::File::open(&full).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => not_published(path),
        _ => Error::read(&full, &e),
    })?;
    let opened = file.metadata().map_err(|e| Error::read(&full, &e))?;
    // The file opened must be the one checked (not a symlink swapped in meanwhile).
    if !same_file(&leaf, &opened) || !opened.is_file() {
        return Err(not_published(path));
    }
    Ok(PublishedFile {
        file,
        length: opened.len(),
        freshness,
        metadata,
    })
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

#[cfg(test)]
mod serve_tests {
    use super::*;

    const DAY: i64 = 86_400;

    #[test]
    fn resign_is_due_when_half_the_validity_is_gone() {
        let now = 1_900_000_000;
        // Freshly signed: a day for the timestamp, a week for the snapshot.
        assert!(!online_resign_due(now + DAY, now + 7 * DAY, now));
        assert!(!online_resign_due(now + DAY / 2 + 1, now + 7 * DAY, now));
        assert!(online_resign_due(now + DAY / 2 - 1, now + 7 * DAY, now));
        assert!(online_resign_due(now + DAY, now + 3 * DAY, now));
        assert!(online_resign_due(now - 1, now - 1, now));
        assert!(online_resign_due(i64::MIN, i64::MAX, now));
    }

    /// The versions of every bin, from the published snapshot.
    fn bin_versions(repo: &Path) -> Vec<u64> {
        let meta = repo.join("metadata");
        let ts: Value =
            serde_json::from_slice(&std::fs::read(meta.join("timestamp.json")).unwrap()).unwrap();
        let v = &ts["signed"]["meta"]["snapshot.json"]["version"];
        let snap: Value = serde_json::from_slice(
            &std::fs::read(meta.join(format!("{v}.snapshot.json"))).unwrap(),
        )
        .unwrap();
        (0..4)
            .map(|n| {
                snap["signed"]["meta"][format!("bins-{n}.json")]["version"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn the_server_resigns_only_the_bins_past_half_their_validity() {
        use custody_crypto::{KeyAlgorithm, SigningKey};
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let g = || SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let (root, targets, online) = (g(), g(), g());
        let config = RepoConfig {
            root_keys: vec![root.public_key().clone()],
            root_threshold: 1,
            targets_key: targets.public_key().clone(),
            snapshot_key: online.public_key().clone(),
            timestamp_key: online.public_key().clone(),
            bins_key: online.public_key().clone(),
            bit_length: 2,
            name_prefix: "bins".into(),
        };
        let t0 = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        let key = dir.path().join("online.key");
        let files = OnlineKeyFiles {
            snapshot: key.clone(),
            timestamp: key.clone(),
            bins: key,
        };
        init(&repo, &config, &[&root, &targets, &online], &files, t0).unwrap();
        let signers: [&dyn Signer; 1] = [&online];
        let mut resigner = OnlineResigner::new(&repo);
        assert_eq!(bin_versions(&repo), [1, 1, 1, 1]);
        assert_eq!(
            resigner
                .resign_if_due(&signers, t0 + time::Duration::hours(1))
                .unwrap(),
            None
        );

        // A target added on day 30 rewrites its bin only: that bin now expires on day 120.
        let t30 = t0 + time::Duration::days(30);
        let target = NewTarget {
            source: TargetSource::Bytes(b"hello".to_vec()),
            name: "apps/hello".into(),
            bundles: Vec::new(),
            oci_digest: None,
            manifest: None,
        };
        add(&repo, vec![target], &signers, t30).unwrap();
        let after_add = bin_versions(&repo);
        let added_bin = after_add.iter().position(|v| *v == 2).unwrap();
        assert_eq!(after_add.iter().filter(|v| **v == 1).count(), 3);

        // Day 46: the three bins signed at init (valid until day 90) have less than half of
        // their 90 days left; the added one (until day 120) does not. One snapshot for all.
        let snapshot_before = resigner_snapshot(&repo);
        let t46 = t0 + time::Duration::days(46);
        let r = resigner.resign_if_due(&signers, t46).unwrap().unwrap();
        assert_eq!(r.bins, 3);
        assert_eq!(r.snapshot, snapshot_before + 1);
        let v = bin_versions(&repo);
        // Versions 1 -> 2 for the three due bins; the added bin keeps its version 2.
        assert_eq!(v, [2, 2, 2, 2]);
        assert_eq!(
            v[added_bin], after_add[added_bin],
            "the fresh bin is not re-signed"
        );
        // Nothing is due right after.
        assert_eq!(resigner.resign_if_due(&signers, t46).unwrap(), None);
        assert_eq!(resigner.resign_if_due(&signers, t46).unwrap(), None);

        // Day 76: the added bin (until day 120) is due; the others (until day 136) are not.
        let t76 = t0 + time::Duration::days(76);
        let r = resigner.resign_if_due(&signers, t76).unwrap().unwrap();
        assert_eq!(r.bins, 1);
        let v2 = bin_versions(&repo);
        for n in 0..4 {
            let expected = if n == added_bin { v[n] + 1 } else { v[n] };
            assert_eq!(v2[n], expected, "bin {n}");
        }
        // Only the snapshot and timestamp are due six days later (the snapshot lasts a week).
        let t82 = t76 + time::Duration::days(6);
        let r = resigner.resign_if_due(&signers, t82).unwrap().unwrap();
        assert_eq!(r.bins, 0);
        assert_eq!(bin_versions(&repo), v2);
        // The repository still opens and lists the target.
        let src = MetaDir(repo.join("metadata"));
        let mut opened = Repository::open(&src, Expiries::default()).unwrap();
        assert!(opened.target(&src, "apps/hello").unwrap().is_some());
    }

    fn resigner_snapshot(repo: &Path) -> u64 {
        let ts: Value =
            serde_json::from_slice(&std::fs::read(repo.join("metadata/timestamp.json")).unwrap())
                .unwrap();
        ts["signed"]["meta"]["snapshot.json"]["version"]
            .as_u64()
            .unwrap()
    }

    #[test]
    fn only_the_published_layout_is_served() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let sha = "a".repeat(64);
        std::fs::create_dir_all(repo.join("metadata")).unwrap();
        std::fs::create_dir_all(repo.join("targets/apps")).unwrap();
        for f in [
            "metadata/root.json",
            "metadata/timestamp.json",
            "metadata/1.root.json",
            "metadata/3.bins-0a.json",
            "metadata/.timestamp.json.1.tmp",
            CONFIG_FILE,
            ".custody-tuf.lock",
        ] {
            std::fs::write(repo.join(f), b"{}").unwrap();
        }
        std::fs::write(repo.join(format!("targets/apps/{sha}.app.txt")), b"x").unwrap();
        let repo = published_repo(repo).unwrap();
        let ok = |p: &str| open_published(&repo, p).unwrap();
        assert_eq!(ok("metadata/timestamp.json").freshness, Freshness::Mutable);
        assert_eq!(ok("metadata/1.root.json").freshness, Freshness::Mutable);
        let bin = ok("metadata/3.bins-0a.json");
        assert_eq!(
            (bin.freshness, bin.metadata, bin.length),
            (Freshness::Immutable, true, 2)
        );
        let t = ok(&format!("targets/apps/{sha}.app.txt"));
        assert_eq!(
            (t.freshness, t.metadata, t.length),
            (Freshness::Immutable, false, 1)
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(repo.join(CONFIG_FILE), repo.join("metadata/2.root.json"))
                .unwrap();
            std::os::unix::fs::symlink(repo.join("metadata"), repo.join("targets/link")).unwrap();
        }
        for bad in [
            "metadata/../custody-tuf.json",
            "../custody-tuf.json",
            CONFIG_FILE,
            ".custody-tuf.lock",
            "metadata/.timestamp.json.1.tmp",
            "metadata/01.root.json",
            "metadata/snapshot",
            "metadata/",
            "metadata",
            "metadata//root.json",
            "metadata/1.root.json/",
            "metadata/4.bins-0a.json",
            "metadata/2.root.json",
            "targets/apps",
            "targets/apps/app.txt",
            &format!("targets/apps/{}.app.txt", "A".repeat(64)),
            &format!("targets/link/{sha}.x"),
            &format!("targets/./apps/{sha}.app.txt"),
            &format!("targets/apps/{sha}."),
            &format!("targets\\apps\\{sha}.app.txt"),
        ] {
            let e = open_published(&repo, bad).unwrap_err();
            assert_eq!(e.code(), Code::NotFound, "{bad}");
        }
    }
}
