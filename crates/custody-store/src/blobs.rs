//! [`FsBlobStore`]: content-addressed blob files, written atomically.
//!
//! Layout under the root (`DATA/registry`): committed blobs at `blobs/<alg>/<2 hex>/<hex>`,
//! upload sessions at `uploads/<id>`. A session's bytes are hashed as they arrive (SHA-256, the
//! common case; the state lives in memory, and a session resumed after a restart, or finished
//! with another algorithm, is re-hashed from its file). A commit syncs the session file, checks
//! the digest, renames it into place and syncs the directory, so a blob file is either absent or
//! complete. A blob already present is not written again (deduplication).

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};
use std::time::UNIX_EPOCH;

use custody_crypto::{Digest, DigestAlgorithm, Hasher};
use custody_registry::store::{BlobRead, BlobStore, StoreError, StoreResult};

const BUFFER: usize = 1 << 20;
/// Buffers queued for the writer thread of an append.
const IN_FLIGHT: usize = 4;

struct Session {
    /// SHA-256 of the first `len` bytes, when it covers the whole file.
    hasher: Option<Hasher>,
    len: u64,
}

/// Blobs and upload sessions as files under one directory.
pub struct FsBlobStore {
    root: PathBuf,
    sessions: Mutex<HashMap<String, Arc<Mutex<Session>>>>,
}

fn io_err(what: &str, path: &Path, e: &io::Error) -> StoreError {
    StoreError::Io(format!("{what} '{}': {e}", path.display()))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn valid_id(id: &str) -> StoreResult<()> {
    if !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        Ok(())
    } else {
        Err(StoreError::UploadUnknown)
    }
}

impl FsBlobStore {
    /// Opens (creating the directories if needed) the store rooted at `root`.
    pub fn open(root: &Path) -> StoreResult<Self> {
        for dir in [root.join("blobs"), root.join("uploads")] {
            fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, &e))?;
        }
        Ok(Self {
            root: root.to_owned(),
            sessions: Mutex::new(HashMap::new()),
        })
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(&hex[..2])
            .join(hex)
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.root.join("uploads").join(id)
    }

    fn session(&self, id: &str) -> StoreResult<Arc<Mutex<Session>>> {
        valid_id(id)?;
        let mut sessions = self
            .sessions
            .lock()
            .map_err(|_| StoreError::Io("session table lock poisoned".into()))?;
        if let Some(s) = sessions.get(id) {
            return Ok(Arc::clone(s));
        }
        // Not in memory (e.g. after a restart): resume from the file, re-hashing at commit.
        let path = self.upload_path(id);
        let len = match fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::UploadUnknown),
            Err(e) => return Err(io_err("cannot stat", &path, &e)),
        };
        let session = Arc::new(Mutex::new(Session {
            hasher: (len == 0).then(|| Hasher::new(DigestAlgorithm::Sha256)),
            len,
        }));
        sessions.insert(id.to_owned(), Arc::clone(&session));
        Ok(session)
    }

    fn forget(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }
}

fn lock(s: &Mutex<Session>) -> StoreResult<std::sync::MutexGuard<'_, Session>> {
    s.lock()
        .map_err(|_| StoreError::Io("upload session lock poisoned".into()))
}

/// Reads from `data` until `buf` is full or `data` ends; returns the number of bytes read.
fn fill(data: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match data.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

fn hash_file(path: &Path, algorithm: DigestAlgorithm) -> io::Result<Digest> {
    let mut file = File::open(path)?;
    let mut hasher = Hasher::new(algorithm);
    let mut buf = vec![0u8; BUFFER];
    loop {
        let n = fill(&mut file, &mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize());
        }
        hasher.update(&buf[..n]);
    }
}

impl BlobStore for FsBlobStore {
    fn create_upload(&self, id: &str) -> StoreResult<()> {
        valid_id(id)?;
        let path = self.upload_path(id);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_err("cannot create", &path, &e))?;
        let mut sessions = self
            .sessions
            .lock()
            .map_err(|_| StoreError::Io("session table lock poisoned".into()))?;
        sessions.insert(
            id.to_owned(),
            Arc::new(Mutex::new(Session {
                hasher: Some(Hasher::new(DigestAlgorithm::Sha256)),
                len: 0,
            })),
        );
        Ok(())
    }

    fn upload_len(&self, id: &str) -> StoreResult<u64> {
        let session = self.session(id)?;
        let s = lock(&session)?;
        Ok(s.len)
    }

    fn append(
        &self,
        id: &str,
        offset: Option<u64>,
        data: &mut dyn Read,
        max_len: u64,
    ) -> StoreResult<u64> {
        let session = self.session(id)?;
        let mut s = lock(&session)?;
        if let Some(offset) = offset
            && offset != s.len
        {
            return Err(StoreError::OutOfOrder {
                expected: s.len,
                got: offset,
            });
        }
        let path = self.upload_path(id);
        let mut file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| io_err("cannot open", &path, &e))?;
        // Hashing and writing run in parallel: this thread reads and hashes, a scoped writer
        // thread appends to the file. At most a few buffers are in flight.
        let (tx, rx) = mpsc::sync_channel::<Arc<Vec<u8>>>(IN_FLIGHT);
        let (back_tx, back_rx) = mpsc::channel::<Arc<Vec<u8>>>();
        let start_len = s.len;
        let session = &mut *s;
        let (outcome, written) = std::thread::scope(|scope| {
            let writer = scope.spawn(move || -> io::Result<u64> {
                let mut written = 0u64;
                for chunk in rx {
                    file.write_all(&chunk)?;
                    written += chunk.len() as u64;
                    let _ = back_tx.send(chunk);
                }
                Ok(written)
            });
            let mut sent = 0u64;
            let mut outcome: StoreResult<()> = Ok(());
            loop {
                let mut buf = back_rx
                    .try_recv()
                    .ok()
                    .and_then(|a| Arc::try_unwrap(a).ok())
                    .unwrap_or_default();
                buf.resize(BUFFER, 0);
                let n = match fill(data, &mut buf) {
                    Ok(n) => n,
                    Err(e) => {
                        outcome = Err(StoreError::Io(format!("request body: {e}")));
                        break;
                    }
                };
                if n == 0 {
                    break;
                }
                if start_len + sent + n as u64 > max_len {
                    outcome = Err(StoreError::TooLarge { limit: max_len });
                    break;
                }
                buf.truncate(n);
                let chunk = Arc::new(buf);
                if tx.send(Arc::clone(&chunk)).is_err() {
                    break;
                }
                if let Some(h) = session.hasher.as_mut() {
                    h.update(&chunk);
                }
                sent += n as u64;
            }
            drop(tx);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
            (outcome, written)
        });
        match written {
            Ok(n) => {
                s.len += n;
                outcome.map(|()| s.len)
            }
            Err(e) => {
                // The file may hold part of a chunk now: resync the length, re-hash later.
                s.hasher = None;
                s.len = fs::metadata(&path).map_or(s.len, |m| m.len());
                Err(io_err("cannot write", &path, &e))
            }
        }
    }

    fn commit_upload(&self, id: &str, expected: &Digest) -> StoreResult<u64> {
        let session = self.session(id)?;
        let s = lock(&session)?;
        let path = self.upload_path(id);
        let file = File::open(&path).map_err(|e| io_err("cannot open", &path, &e))?;
        let len = file
            .metadata()
            .map_err(|e| io_err("cannot stat", &path, &e))?
            .len();
        let actual = match &s.hasher {
            Some(h) if len == s.len && h.algorithm() == expected.algorithm() => {
                h.clone().finalize()
            }
            _ => hash_file(&path, expected.algorithm())
                .map_err(|e| io_err("cannot read", &path, &e))?,
        };
        if actual != *expected {
            drop(file);
            let _ = fs::remove_file(&path);
            drop(s);
            self.forget(id);
            return Err(StoreError::DigestMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        let target = self.blob_path(expected);
        if target.exists() {
            fs::remove_file(&path).map_err(|e| io_err("cannot remove", &path, &e))?;
        } else {
            file.sync_all()
                .map_err(|e| io_err("cannot sync", &path, &e))?;
            let dir = target.parent().unwrap_or(&self.root).to_owned();
            if !dir.exists() {
                fs::create_dir_all(&dir).map_err(|e| io_err("cannot create", &dir, &e))?;
                if let Some(alg_dir) = dir.parent() {
                    sync_dir(alg_dir).map_err(|e| io_err("cannot sync", alg_dir, &e))?;
                    if let Some(blobs) = alg_dir.parent() {
                        sync_dir(blobs).map_err(|e| io_err("cannot sync", blobs, &e))?;
                    }
                }
            }
            fs::rename(&path, &target).map_err(|e| io_err("cannot rename into", &target, &e))?;
            sync_dir(&dir).map_err(|e| io_err("cannot sync", &dir, &e))?;
        }
        drop(s);
        self.forget(id);
        Ok(len)
    }

    fn remove_upload(&self, id: &str) -> StoreResult<()> {
        valid_id(id)?;
        let session = self.sessions.lock().ok().and_then(|t| t.get(id).cloned());
        // Wait for a running append to stop before removing its file.
        let guard = session.as_deref().map(lock).transpose()?;
        let path = self.upload_path(id);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("cannot remove", &path, &e)),
        }
        drop(guard);
        self.forget(id);
        Ok(())
    }

    fn list_uploads(&self) -> StoreResult<Vec<String>> {
        let dir = self.root.join("uploads");
        let entries = fs::read_dir(&dir).map_err(|e| io_err("cannot list", &dir, &e))?;
        Ok(entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| valid_id(n).is_ok())
            .collect())
    }

    fn open(&self, digest: &Digest) -> StoreResult<Option<(Box<dyn BlobRead>, u64)>> {
        let path = self.blob_path(digest);
        match File::open(&path) {
            Ok(file) => {
                let len = file
                    .metadata()
                    .map_err(|e| io_err("cannot stat", &path, &e))?
                    .len();
                Ok(Some((Box::new(file), len)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot open", &path, &e)),
        }
    }

    fn size(&self, digest: &Digest) -> StoreResult<Option<u64>> {
        let path = self.blob_path(digest);
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot stat", &path, &e)),
        }
    }

    fn delete(&self, digest: &Digest) -> StoreResult<()> {
        let path = self.blob_path(digest);
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    sync_dir(dir).map_err(|e| io_err("cannot sync", dir, &e))?;
                }
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err("cannot remove", &path, &e)),
        }
    }

    fn list(&self) -> StoreResult<Vec<(Digest, i64)>> {
        let mut out = Vec::new();
        for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
            let dir = self.root.join("blobs").join(alg.name());
            let prefixes = match fs::read_dir(&dir) {
                Ok(p) => p,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err("cannot list", &dir, &e)),
            };
            for prefix in prefixes {
                let prefix = prefix.map_err(|e| io_err("cannot list", &dir, &e))?.path();
                let files =
                    fs::read_dir(&prefix).map_err(|e| io_err("cannot list", &prefix, &e))?;
                for file in files {
                    let file = file.map_err(|e| io_err("cannot list", &prefix, &e))?;
                    let Some(name) = file.file_name().to_str().map(str::to_owned) else {
                        continue;
                    };
                    let Ok(digest) = format!("{}:{name}", alg.name()).parse::<Digest>() else {
                        continue;
                    };
                    let modified = file
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                    out.push((digest, modified));
                }
            }
        }
        Ok(out)
    }
}
