//! The transparency log service: a sequencer thread that batches submissions, integrates them
//! into the tiled Merkle tree, commits each batch durably with its signed checkpoint, and only
//! then answers every submitter with its index, inclusion proof and checkpoint.
//!
//! Invariants:
//! - A checkpoint is visible (to readers and submitters) only after the transaction holding it
//!   and every tile and entry it covers has committed; after a crash the log resumes from the
//!   last committed checkpoint, which is consistent with every checkpoint published before it.
//! - One sequencer owns the write connection; if a commit fails, the in-memory state is
//!   rebuilt from the store before anything else is sequenced, so no checkpoint is ever
//!   signed over state that was not stored.
//! - A leaf already in the log is not appended again: its submitter gets the existing index.

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use custody_log::integrate::{Integrator, MemoTree, encode_tile, push_bundle_entry, split_bundle};
use custody_log::store::{LogBatch, LogStore, StoredCheckpoint};
use custody_log::tile::FULL_TILE_WIDTH;
use custody_log::{Hash, LeafIndex, TreeSize, leaf_hash, proof};
use custody_store::SqliteLogStore;
use tokio::sync::oneshot;

use crate::codes::Code;
use crate::error::{Error, Result};

const BUNDLE_WIDTH: u64 = FULL_TILE_WIDTH as u64;

/// Signs checkpoint bodies as C2SP signed notes.
pub trait CheckpointSigner: Send + 'static {
    /// The log's origin line.
    fn origin(&self) -> &str;
    /// Returns the signed note for `body` (the checkpoint text, ending in a newline).
    fn sign_note(&self, body: &str) -> Result<String>;
}

/// The checkpoint body of C2SP tlog-checkpoint: origin, size, base64 root hash.
pub fn checkpoint_body(origin: &str, size: TreeSize, root: &Hash) -> String {
    use base64::Engine as _;
    format!(
        "{origin}\n{}\n{}\n",
        size.get(),
        base64::engine::general_purpose::STANDARD.encode(root.as_bytes())
    )
}

/// Tuning of the sequencer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SequencerConfig {
    /// Most entries integrated in one batch (one transaction, one checkpoint).
    pub max_batch: usize,
    /// Submissions that may wait for the sequencer before new ones are refused as busy.
    pub queue: usize,
    /// Read connections kept for tile and entry reads.
    pub readers: usize,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        Self {
            max_batch: 8192,
            queue: 65_536,
            readers: 4,
        }
    }
}

/// What a submitter gets back once its entry is durably in the log.
#[derive(Debug, Clone)]
pub struct Receipt {
    /// The entry's index.
    pub index: LeafIndex,
    /// The size of the tree the proof and checkpoint are for.
    pub tree_size: TreeSize,
    /// That tree's root hash.
    pub root: Hash,
    /// The RFC 9162 inclusion proof.
    pub proof: Vec<Hash>,
    /// The signed checkpoint (C2SP signed note) for `tree_size`.
    pub checkpoint: Arc<str>,
    /// True when the entry was already in the log and was not appended again.
    pub duplicate: bool,
}

/// The latest published checkpoint.
#[derive(Debug, Clone)]
pub struct Published {
    /// Tree size.
    pub size: TreeSize,
    /// Root hash.
    pub root: Hash,
    /// The signed note.
    pub note: Arc<str>,
}

/// Full tiles and full entry bundles never change, so the read path keeps recently read ones
/// in memory, bounded in bytes (oldest inserted evicted first).
struct ImmutableCache {
    limit: usize,
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    bytes: usize,
    map: HashMap<CacheKey, Arc<[u8]>>,
    order: std::collections::VecDeque<CacheKey>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum CacheKey {
    Tile(u8, u64),
    Bundle(u64),
}

impl ImmutableCache {
    fn get(&self, key: CacheKey) -> Option<Arc<[u8]>> {
        self.inner.lock().ok()?.map.get(&key).cloned()
    }

    fn insert(&self, key: CacheKey, data: &[u8]) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.map.contains_key(&key) || data.len() > self.limit {
            return;
        }
        while inner.bytes + data.len() > self.limit {
            let Some(old) = inner.order.pop_front() else {
                break;
            };
            if let Some(v) = inner.map.remove(&old) {
                inner.bytes -= v.len();
            }
        }
        inner.bytes += data.len();
        inner.map.insert(key, Arc::from(data));
        inner.order.push_back(key);
    }
}

/// Bytes of full tiles and bundles kept in memory for reads.
const READ_CACHE_BYTES: usize = 64 << 20;

/// Opens the sequencer's store (at start, and again after a failed commit).
pub type StoreOpener = Box<dyn Fn() -> Result<Box<dyn LogStore>> + Send>;

struct Job {
    entry: Vec<u8>,
    leaf: Hash,
    reply: oneshot::Sender<Result<Receipt>>,
}

/// A running log: submit entries, read the published checkpoint, tiles and entry bundles.
pub struct Log {
    sender: Mutex<Option<SyncSender<Job>>>,
    published: Arc<RwLock<Published>>,
    readers: Vec<Mutex<Box<dyn LogStore>>>,
    next_reader: std::sync::atomic::AtomicUsize,
    thread: Mutex<Option<JoinHandle<()>>>,
    cache: ImmutableCache,
}

fn storage(e: impl std::fmt::Display) -> Error {
    Error::new(Code::LogStorage, format!("log storage: {e}"))
}

impl Log {
    /// Opens the log in the database at `path` (creating it, with a signed size-0 checkpoint,
    /// if new) and starts its sequencer thread.
    pub fn open(
        path: &Path,
        signer: Box<dyn CheckpointSigner>,
        config: SequencerConfig,
    ) -> Result<Self> {
        Self::open_witnessed(path, signer, config, Vec::new())
    }

    /// [`Self::open`] on the embedded SQLite store, asking `witnesses` to cosign every new
    /// checkpoint before it is published.
    pub fn open_witnessed(
        path: &Path,
        signer: Box<dyn CheckpointSigner>,
        config: SequencerConfig,
        witnesses: Vec<crate::witnessing::WitnessEndpoint>,
    ) -> Result<Self> {
        let writer_path = path.to_path_buf();
        let opener: StoreOpener = Box::new(move || {
            SqliteLogStore::open(&writer_path)
                .map(|s| Box::new(s) as Box<dyn LogStore>)
                .map_err(storage)
        });
        let reader_path = path.to_path_buf();
        let open_reader = move || {
            SqliteLogStore::open_read_only(&reader_path)
                .map(|s| Box::new(s) as Box<dyn LogStore>)
                .map_err(storage)
        };
        Self::start(opener, &open_reader, signer, config, witnesses)
    }

    /// Starts a log over any [`LogStore`]: `opener` opens the writer (again after a failed
    /// commit), `open_reader` opens each of `config.readers` connections for tile reads.
    pub fn start(
        opener: StoreOpener,
        open_reader: &dyn Fn() -> Result<Box<dyn LogStore>>,
        signer: Box<dyn CheckpointSigner>,
        config: SequencerConfig,
        witnesses: Vec<crate::witnessing::WitnessEndpoint>,
    ) -> Result<Self> {
        let witnessing = if witnesses.is_empty() {
            None
        } else {
            Some(crate::witnessing::Witnessing::new(witnesses)?)
        };
        let mut store = opener()?;
        let state = State::load(store.as_mut(), signer.as_ref())?;
        let published = Arc::new(RwLock::new(state.published.clone()));
        let (sender, receiver) = sync_channel(config.queue.max(1));
        let readers = (0..config.readers.max(1))
            .map(|_| open_reader().map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        let sequencer = Sequencer {
            witnessing,
            store,
            opener,
            state,
            signer,
            published: Arc::clone(&published),
            max_batch: config.max_batch.max(1),
        };
        let thread = std::thread::Builder::new()
            .name("custody-sequencer".into())
            .spawn(move || sequencer.run(receiver))
            .map_err(|e| Error::new(Code::Internal, format!("cannot start the sequencer: {e}")))?;
        Ok(Self {
            sender: Mutex::new(Some(sender)),
            published,
            readers,
            next_reader: std::sync::atomic::AtomicUsize::new(0),
            thread: Mutex::new(Some(thread)),
            cache: ImmutableCache {
                limit: READ_CACHE_BYTES,
                inner: Mutex::new(CacheInner::default()),
            },
        })
    }

    /// Submits a (verified, canonical) entry and waits until it is durably logged.
    pub async fn submit(&self, entry: Vec<u8>) -> Result<Receipt> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            leaf: leaf_hash(&entry),
            entry,
            reply,
        };
        {
            let guard = self
                .sender
                .lock()
                .map_err(|_| Error::new(Code::Internal, "sequencer lock poisoned"))?;
            let sender = guard
                .as_ref()
                .ok_or_else(|| Error::new(Code::LogUnavailable, "the log is shutting down"))?;
            sender.try_send(job).map_err(|e| match e {
                TrySendError::Full(_) => Error::new(Code::LogBusy, "the log's queue is full"),
                TrySendError::Disconnected(_) => {
                    Error::new(Code::LogUnavailable, "the sequencer has stopped")
                }
            })?;
        }
        answer.await.map_err(|_| {
            Error::new(
                Code::LogUnavailable,
                "the sequencer stopped before answering",
            )
        })?
    }

    /// The latest published checkpoint.
    pub fn published(&self) -> Published {
        match self.published.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn reader(&self) -> Result<std::sync::MutexGuard<'_, Box<dyn LogStore>>> {
        let i = self
            .next_reader
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % self.readers.len();
        self.readers[i]
            .lock()
            .map_err(|_| Error::new(Code::Internal, "reader lock poisoned"))
    }

    /// Whether tile (level, index) cut to `width` hashes lies within the published tree.
    fn tile_published(&self, level: u8, index: u64, width: u16) -> bool {
        let size = self.published().size.get();
        let shift = u32::from(level) * 8;
        let available = if shift >= 64 { 0 } else { size >> shift };
        let end = index
            .checked_mul(BUNDLE_WIDTH)
            .and_then(|s| s.checked_add(u64::from(width)));
        end.is_some_and(|end| end <= available)
    }

    /// [`Self::tile`] answered from memory only: `Some` when the tile is published and its full
    /// version is cached, `None` when the store must be asked (this never blocks on I/O, so the
    /// server calls it on its async workers and hands only misses to the blocking pool).
    pub fn cached_tile(&self, level: u8, index: u64, width: u16) -> Option<Option<Vec<u8>>> {
        if !self.tile_published(level, index, width) {
            return Some(None);
        }
        let len = usize::from(width) * Hash::LEN;
        let full = self.cache.get(CacheKey::Tile(level, index))?;
        Some(full.get(..len).map(<[u8]>::to_vec))
    }

    /// [`Self::bundle`] answered from memory only, like [`Self::cached_tile`] (full bundles only).
    pub fn cached_bundle(&self, index: u64, width: u16) -> Option<Option<Vec<u8>>> {
        if width != FULL_TILE_WIDTH {
            return None;
        }
        let size = self.published().size.get();
        let end = index
            .checked_mul(BUNDLE_WIDTH)
            .and_then(|s| s.checked_add(u64::from(width)));
        if end.is_none_or(|end| end > size) {
            return Some(None);
        }
        let full = self.cache.get(CacheKey::Bundle(index))?;
        Some(Some(full.to_vec()))
    }

    /// The bytes of tile (level, index) as of the published checkpoint, cut to `width` hashes.
    /// `None` if the published tree has fewer than `width` hashes there.
    pub fn tile(&self, level: u8, index: u64, width: u16) -> Result<Option<Vec<u8>>> {
        if let Some(answer) = self.cached_tile(level, index, width) {
            return Ok(answer);
        }
        let len = usize::from(width) * Hash::LEN;
        let key = CacheKey::Tile(level, index);
        let data = self.reader()?.tile_bytes(level, index).map_err(storage)?;
        if let Some(d) = data
            .as_ref()
            .filter(|d| d.len() == usize::from(FULL_TILE_WIDTH) * Hash::LEN)
        {
            self.cache.insert(key, d);
        }
        Ok(data.and_then(|mut d| {
            (d.len() >= len).then(|| {
                d.truncate(len);
                d
            })
        }))
    }

    /// The bytes of entry bundle `index` as of the published checkpoint, cut to `width` entries.
    pub fn bundle(&self, index: u64, width: u16) -> Result<Option<Vec<u8>>> {
        let size = self.published().size.get();
        let end = index
            .checked_mul(BUNDLE_WIDTH)
            .and_then(|s| s.checked_add(u64::from(width)));
        if end.is_none_or(|end| end > size) {
            return Ok(None);
        }
        let key = CacheKey::Bundle(index);
        let data: Arc<[u8]> = match self.cache.get(key) {
            Some(full) => full,
            None => {
                let Some(data) = self.reader()?.bundle_bytes(index).map_err(storage)? else {
                    return Ok(None);
                };
                let data: Arc<[u8]> = Arc::from(data);
                if split_bundle(&data).map_err(storage)?.len() == usize::from(FULL_TILE_WIDTH) {
                    self.cache.insert(key, &data);
                }
                data
            }
        };
        if width == FULL_TILE_WIDTH {
            return Ok(Some(data.to_vec()));
        }
        let entries = split_bundle(&data).map_err(storage)?;
        let mut out = Vec::new();
        for e in entries.iter().take(usize::from(width)) {
            push_bundle_entry(&mut out, e).map_err(storage)?;
        }
        Ok(Some(out))
    }

    /// Stops accepting submissions, lets the sequencer finish what is queued, and waits for it.
    pub fn shutdown(&self) {
        if let Ok(mut s) = self.sender.lock() {
            s.take();
        }
        if let Some(t) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = t.join();
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// The sequencer's in-memory view, always equal to what the store holds after each commit.
struct State {
    integrator: Integrator,
    /// Entries of the current partial entry bundle.
    bundle: Vec<u8>,
    bundle_count: u64,
    published: Published,
}

impl State {
    fn load(store: &mut dyn LogStore, signer: &dyn CheckpointSigner) -> Result<Self> {
        match store.checkpoint().map_err(storage)? {
            None => {
                let integrator = Integrator::new();
                let note = signer.sign_note(&checkpoint_body(
                    signer.origin(),
                    TreeSize::new(0),
                    &integrator.root(),
                ))?;
                let batch = LogBatch {
                    checkpoint: Some(StoredCheckpoint {
                        size: TreeSize::new(0),
                        note: note.clone(),
                    }),
                    ..LogBatch::default()
                };
                store.commit(&batch).map_err(storage)?;
                let published = Published {
                    size: TreeSize::new(0),
                    root: integrator.root(),
                    note: note.into(),
                };
                Ok(Self {
                    integrator,
                    bundle: Vec::new(),
                    bundle_count: 0,
                    published,
                })
            }
            Some(cp) => {
                let integrator = Integrator::resume(&*store, cp.size).map_err(storage)?;
                let bundle_count = cp.size.get() % BUNDLE_WIDTH;
                let mut bundle = Vec::new();
                if bundle_count > 0 {
                    let data = store
                        .bundle_bytes(cp.size.get() / BUNDLE_WIDTH)
                        .map_err(storage)?
                        .ok_or_else(|| storage("the partial entry bundle is missing"))?;
                    for e in split_bundle(&data)
                        .map_err(storage)?
                        .iter()
                        .take(bundle_count as usize)
                    {
                        push_bundle_entry(&mut bundle, e).map_err(storage)?;
                    }
                }
                let published = Published {
                    size: cp.size,
                    root: integrator.root(),
                    note: cp.note.into(),
                };
                Ok(Self {
                    integrator,
                    bundle,
                    bundle_count,
                    published,
                })
            }
        }
    }
}

struct Sequencer {
    witnessing: Option<crate::witnessing::Witnessing>,
    store: Box<dyn LogStore>,
    opener: StoreOpener,
    state: State,
    signer: Box<dyn CheckpointSigner>,
    published: Arc<RwLock<Published>>,
    max_batch: usize,
}

impl Sequencer {
    fn run(mut self, receiver: Receiver<Job>) {
        while let Ok(first) = receiver.recv() {
            let mut jobs = vec![first];
            while jobs.len() < self.max_batch {
                match receiver.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            match self.integrate(&jobs) {
                Ok(receipts) => {
                    for (job, receipt) in jobs.into_iter().zip(receipts) {
                        let _ = job.reply.send(Ok(receipt));
                    }
                }
                Err(err) => {
                    for job in jobs {
                        let _ = job.reply.send(Err(err.clone()));
                    }
                    // Never sequence on top of state the store does not hold.
                    // If even that fails the sequencer stops, and every submission gets
                    // LogUnavailable until the server is restarted.
                    if self.reload().is_err() {
                        return;
                    }
                }
            }
        }
    }

    fn reload(&mut self) -> Result<()> {
        self.store = (self.opener)()?;
        self.state = State::load(self.store.as_mut(), self.signer.as_ref())?;
        Ok(())
    }

    fn integrate(&mut self, jobs: &[Job]) -> Result<Vec<Receipt>> {
        let start = self.state.integrator.size();
        let mut batch = LogBatch::default();
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let mut assigned = Vec::with_capacity(jobs.len());
        for job in jobs {
            if let Some(&i) = in_batch.get(&job.leaf) {
                assigned.push((i, true));
                continue;
            }
            if let Some(i) = self.store.leaf_index(&job.leaf).map_err(storage)? {
                assigned.push((i, true));
                continue;
            }
            let index = self
                .state
                .integrator
                .append(job.leaf)
                .map_err(storage)?
                .get();
            in_batch.insert(job.leaf, index);
            batch.leaves.push((job.leaf, index));
            assigned.push((index, false));
            push_bundle_entry(&mut self.state.bundle, &job.entry).map_err(|e| {
                Error::new(
                    Code::LogEntryRejected,
                    format!("entry too large for an entry bundle: {e}"),
                )
            })?;
            self.state.bundle_count += 1;
            if self.state.bundle_count == BUNDLE_WIDTH {
                batch
                    .bundles
                    .push((index / BUNDLE_WIDTH, std::mem::take(&mut self.state.bundle)));
                self.state.bundle_count = 0;
            }
        }
        let size = self.state.integrator.size();
        if self.state.bundle_count > 0 && size != start {
            batch
                .bundles
                .push(((size.get() - 1) / BUNDLE_WIDTH, self.state.bundle.clone()));
        }
        batch.tiles = self
            .state
            .integrator
            .take_changes()
            .into_iter()
            .map(|(t, h)| (t, encode_tile(&h)))
            .collect();
        let root = self.state.integrator.root();
        let mut note: Arc<str> = if size == start {
            Arc::clone(&self.state.published.note)
        } else {
            let note =
                self.signer
                    .sign_note(&checkpoint_body(self.signer.origin(), size, &root))?;
            batch.checkpoint = Some(StoredCheckpoint {
                size,
                note: note.clone(),
            });
            note.into()
        };
        if size != start {
            self.store.commit(&batch).map_err(storage)?;
            // Witnesses cosign only what is durably committed; their cosignatures are then
            // stored with the checkpoint (best effort: the log-signed note is already durable).
            if let Some(witnessing) = &mut self.witnessing {
                let cosigned = witnessing.cosign(&note, &MemoTree::new(&*self.store, size));
                if *cosigned != *note {
                    let _ = self.store.set_checkpoint_note(size, &cosigned);
                    note = cosigned.into();
                }
            }
            let published = Published {
                size,
                root,
                note: Arc::clone(&note),
            };
            self.state.published = published.clone();
            if let Ok(mut p) = self.published.write() {
                *p = published;
            }
        }
        let tree = MemoTree::new(&*self.store, size);
        assigned
            .into_iter()
            .map(|(index, duplicate)| {
                let index = LeafIndex::new(index);
                let proof = proof::inclusion_proof(&tree, index, size).map_err(storage)?;
                Ok(Receipt {
                    index,
                    tree_size: size,
                    root,
                    proof,
                    checkpoint: Arc::clone(&note),
                    duplicate,
                })
            })
            .collect()
    }
}

impl<S: custody_crypto::Signer + Send + 'static> CheckpointSigner
    for custody_log::note::NoteSigner<S>
{
    fn origin(&self) -> &str {
        // C2SP tlog-checkpoint: the log's key name is its origin.
        self.name().as_str()
    }

    fn sign_note(&self, body: &str) -> Result<String> {
        let signed = custody_log::note::Note::new(body)
            .and_then(|note| note.sign(self))
            .map_err(|e| {
                Error::new(
                    Code::Internal,
                    format!("signing the checkpoint failed: {e}"),
                )
            })?;
        String::from_utf8(signed.to_bytes())
            .map_err(|_| Error::new(Code::Internal, "a signed note is not UTF-8"))
    }
}

#[cfg(test)]
mod tests;
