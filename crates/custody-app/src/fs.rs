//! File I/O at the edge: bounded reads, streaming digests and atomic, durable writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use custody_crypto::{Digest, DigestAlgorithm, Hasher};

use crate::codes::Code;
use crate::error::{Error, Result};

/// Size of the read buffer used for streaming digests.
const CHUNK: usize = 1 << 20;

/// Reads a whole file, refusing files larger than `limit` bytes.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = File::open(path).map_err(|e| Error::read(path, &e))?;
    let mut buf = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::read(path, &e))?;
    if buf.len() as u64 > limit {
        return Err(Error::new(
            Code::InvalidArgument,
            format!(
                "'{}' is larger than the {limit}-byte limit for this kind of file",
                path.display()
            ),
        ));
    }
    Ok(buf)
}

/// Reads a whole text file with a size limit.
pub fn read_text(path: &Path, limit: u64) -> Result<String> {
    let bytes = read_limited(path, limit)?;
    String::from_utf8(bytes).map_err(|_| {
        Error::new(
            Code::InvalidArgument,
            format!("'{}' is not UTF-8 text", path.display()),
        )
    })
}

/// Streams a file once, computing one digest per algorithm; memory does not grow with file size.
pub fn digest_file(path: &Path, algorithms: &[DigestAlgorithm]) -> Result<Vec<Digest>> {
    let mut file = File::open(path).map_err(|e| Error::read(path, &e))?;
    digest_reader(&mut file, algorithms).map_err(|e| Error::read(path, &e))
}

/// Buffers in flight between the reader thread and the hashing thread.
const BUFFERS: usize = 4;

/// Streams a reader once, computing one digest per algorithm.
///
/// A second thread reads the next chunks while this one hashes, so reading and hashing overlap;
/// at most [`BUFFERS`] chunks of [`CHUNK`] bytes are alive at once, whatever the input size.
pub fn digest_reader(
    reader: &mut (impl Read + Send),
    algorithms: &[DigestAlgorithm],
) -> io::Result<Vec<Digest>> {
    use std::sync::mpsc::sync_channel;

    let mut hashers: Vec<Hasher> = algorithms.iter().map(|a| Hasher::new(*a)).collect();
    let (full_tx, full_rx) = sync_channel::<io::Result<(Vec<u8>, usize)>>(BUFFERS);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        // The channel has room for exactly BUFFERS buffers, so this cannot block or fail.
        let _ = empty_tx.send(vec![0u8; CHUNK]);
    }
    std::thread::scope(|scope| {
        scope.spawn(move || {
            // Ends when the input ends, on a read error, or when the hasher side hangs up.
            while let Ok(mut buf) = empty_rx.recv() {
                let n = loop {
                    match reader.read(&mut buf) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other,
                    }
                };
                let done = !matches!(n, Ok(n) if n > 0);
                if full_tx.send(n.map(|n| (buf, n))).is_err() || done {
                    break;
                }
            }
        });
        while let Ok(message) = full_rx.recv() {
            let (buf, n) = message?;
            if n == 0 {
                break;
            }
            for h in &mut hashers {
                h.update(&buf[..n]);
            }
            // The reader may already have finished; a closed channel is fine then.
            let _ = empty_tx.send(buf);
        }
        Ok::<(), io::Error>(())
    })?;
    Ok(hashers.into_iter().map(Hasher::finalize).collect())
}

/// Whether an existing file may be replaced by [`write_atomic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// Replace an existing file (bundles, trust roots being co-signed).
    Replace,
    /// Refuse if the destination exists (key files: losing one is unrecoverable).
    Refuse,
}

/// Who may read the written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// Mode 0644.
    Public,
    /// Mode 0600: private keys.
    OwnerOnly,
}

/// Writes `bytes` to `path` atomically and durably: a temporary file in the same directory is
/// written, fsynced and renamed over `path`, then the directory is fsynced. A crash leaves
/// either the old file or the new one, never a mix.
pub fn write_atomic(
    path: &Path,
    bytes: &[u8],
    overwrite: Overwrite,
    visibility: Visibility,
) -> Result<()> {
    write_atomic_with(path, overwrite, visibility, &mut |w| {
        w.write_all(bytes).map_err(|e| Error::write(path, &e))
    })
}

/// [`write_atomic`] for content produced piece by piece: `fill` streams it into the temporary
/// file (memory does not grow with the content). If `fill` fails, nothing is left behind and
/// its error is returned.
pub fn write_atomic_with(
    path: &Path,
    overwrite: Overwrite,
    visibility: Visibility,
    fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().ok_or_else(|| {
        Error::new(
            Code::InvalidArgument,
            format!("'{}' is not a file path", path.display()),
        )
    })?;
    if overwrite == Overwrite::Refuse && path.symlink_metadata().is_ok() {
        return Err(Error::new(
            Code::OutputExists,
            format!("'{}' already exists", path.display()),
        ));
    }
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        unique_suffix()
    ));
    let mut filled = Ok(());
    let result = write_tmp_and_rename(&tmp, path, overwrite, visibility, &mut |file| {
        let mut buffered = io::BufWriter::new(file);
        filled = fill(&mut buffered);
        if filled.is_err() {
            return Err(io::Error::other("the content could not be produced"));
        }
        buffered.flush()
    });
    if let Err(e) = filled {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if result.is_err() {
        // Leave nothing half-written behind; the error from the write is what matters.
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            Error::new(
                Code::OutputExists,
                format!("'{}' already exists", path.display()),
            )
        } else {
            Error::write(path, &e)
        }
    })?;
    sync_dir(&dir).map_err(|e| Error::write(&dir, &e))
}

fn write_tmp_and_rename(
    tmp: &Path,
    path: &Path,
    overwrite: Overwrite,
    visibility: Visibility,
    fill: &mut dyn FnMut(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(match visibility {
            Visibility::Public => 0o644,
            Visibility::OwnerOnly => 0o600,
        });
    }
    let mut file = options.open(tmp)?;
    fill(&mut file)?;
    file.sync_all()?;
    drop(file);
    match overwrite {
        Overwrite::Replace => fs::rename(tmp, path),
        // hard_link fails if the destination exists, so a concurrent writer cannot be clobbered.
        Overwrite::Refuse => {
            fs::hard_link(tmp, path)?;
            fs::remove_file(tmp)
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A name suffix unique within this machine for the life of the temporary file: the process id,
/// the time and a per-process counter. `create_new` still guards against any collision.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}.{nanos}.{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
