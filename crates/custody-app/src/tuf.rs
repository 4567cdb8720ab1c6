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
use custody_tuf::client::{Client, ClientLimits, FetchError, Fetcher, MetadataCache, quote_role};
use custody_tuf::metadata::{TargetFile, add_signatures};
use custody_tuf::writer::{Expiries, MetaOut, MetadataSource, Repository};

/// The keys and shape of a new repository (custody-tuf's own type).
pub use custody_tuf::writer::RepoConfig;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::codes::Code;
use crate::error::{Error, Result};
use crate::fs::{Overwrite, Visibility, read_limited, write_atomic, write_atomic_with};

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

/// Copies each file into `targets/` under its hash-prefixed name and lists it in its bin; then
/// re-signs that bin, the snapshot and the timestamp with the online `signers`.
pub fn add(
    repo: &Path,
    files: &[(PathBuf, String)],
    signers: &[&dyn Signer],
    now: OffsetDateTime,
) -> Result<Vec<Added>> {
    let _lock = lock(repo)?;
    let src = MetaDir(repo.join("metadata"));
    let mut r = Repository::open(&src, Expiries::default()).map_err(|e| tuf_err(&e))?;
    let mut added = Vec::new();
    for (file, name) in files {
        custody_tuf::writer::check_target_path(name).map_err(|e| tuf_err(&e))?;
        let (length, sha256, sha512) = copy_target(repo, file, name)?;
        let target = TargetFile {
            length,
            hashes: [
                ("sha256".to_owned(), sha256.clone()),
                ("sha512".to_owned(), sha512),
            ]
            .into(),
            custom: None,
        };
        r.add_target(&src, name, target).map_err(|e| tuf_err(&e))?;
        added.push(Added {
            name: name.clone(),
            length,
            sha256,
        });
    }
    let out = r.commit(signers, now).map_err(|e| tuf_err(&e))?;
    write_metadata(repo, out)?;
    Ok(added)
}

/// Streams `file` into `targets/<dir>/<sha256>.<basename>` (hashing as it goes); called with
/// the repository locked.
fn copy_target(repo: &Path, file: &Path, name: &str) -> Result<(u64, String, String)> {
    let (dir, base) = name.rsplit_once('/').unwrap_or(("", name));
    let target_dir = repo.join("targets").join(dir);
    std::fs::create_dir_all(&target_dir).map_err(|e| Error::write(&target_dir, &e))?;
    // Staged outside targets/ (same file system), so that nothing half-named is ever served.
    let tmp = repo.join(".incoming-target");
    let mut h256 = Hasher::new(DigestAlgorithm::Sha256);
    let mut h512 = Hasher::new(DigestAlgorithm::Sha512);
    let mut length = 0u64;
    let mut input = std::fs::File::open(file).map_err(|e| Error::read(file, &e))?;
    write_atomic_with(&tmp, Overwrite::Replace, Visibility::Public, &mut |w| {
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = input.read(&mut buf).map_err(|e| Error::read(file, &e))?;
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
}

/// Runs the TUF client workflow against the repository at `base` (serving `metadata/` and
/// `targets/`), starting from `trusted_root` and the trusted metadata in `cache`; then
/// streams `target` to a temporary file beside `out`, checks its length and hashes, and
/// renames it into place.
pub fn fetch(
    target: &str,
    trusted_root: &Path,
    base: &str,
    out: &Path,
    cache: &Path,
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
    let consistent = client.root().consistent_snapshot;
    let root_version = client.root().version;
    let (fetcher, _) = client.into_parts();
    let path: String = info
        .download_path(consistent)
        .split('/')
        .map(quote_role)
        .collect::<Vec<_>>()
        .join("/");
    let url = format!("{}/targets/{path}", fetcher.base);
    let mut verifier = info.verifier();
    let mut failure: Option<custody_tuf::Error> = None;
    write_atomic_with(out, Overwrite::Replace, Visibility::Public, &mut |w| {
        let result = fetcher.get(&url, info.file.length, &mut |chunk| {
            verifier.update(chunk).map_err(|e| {
                let m = e.to_string();
                failure = Some(e);
                m
            })?;
            w.write_all(chunk).map_err(|e| e.to_string())
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
        std::mem::replace(&mut verifier, info.verifier())
            .finish()
            .map_err(|e| tuf_err(&e))
    })?;
    Ok(Fetched {
        length: info.file.length,
        sha256: info.file.hashes.get("sha256").cloned().unwrap_or_default(),
        root_version,
    })
}
