//! Clients of a custody server's HTTP API (the transparency log's write and read paths).
//!
//! Answers are never trusted because they arrived: a submission's returned entry is checked
//! against what was submitted and its proof against its own root here, and against the log's
//! key by whoever verifies the bundle later.

use std::time::Duration;

use custody_formats::Limits;
use custody_formats::bundle::TlogEntry;
use custody_formats::rekor::Record;
use std::cell::RefCell;
use std::sync::Arc;

use custody_log::integrate::{TileSource, decode_tile};
use custody_log::tile::{EntryBundle, FULL_TILE_WIDTH, Tile};
use custody_log::{Hash, LeafIndex, TreeSize, leaf_hash, proof};
use secrecy::{ExposeSecret as _, SecretString};

use crate::codes::Code;
use crate::error::{Error, Result};

/// Answers larger than this are refused (a tlog entry is a few KiB).
const MAX_ANSWER: usize = 1024 * 1024;

/// A full tile: 256 hashes.
const MAX_TILE: usize = FULL_TILE_WIDTH as usize * Hash::LEN;

/// Entry bundles larger than this are refused (256 entries of a few KiB each).
const MAX_BUNDLE: usize = 8 * 1024 * 1024;

/// A client of one log.
pub struct LogClient {
    http: reqwest::Client,
    base: String,
    token: Option<SecretString>,
}

fn unreachable_log(url: &str, e: &reqwest::Error) -> Error {
    Error::new(
        Code::LogUnavailable,
        format!("cannot reach the log at {url}: {e}"),
    )
    .with_hint("Check the --log URL and that 'custody serve' is running there.")
}

impl LogClient {
    /// A client for the log served at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str, token: Option<SecretString>) -> Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::new(
                Code::InvalidArgument,
                format!("--log '{base}' is not an http(s) URL"),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| {
                Error::new(Code::Internal, format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(Self { http, base, token })
    }

    /// Submits a record; returns the log's entry once it is durably logged, after checking
    /// that it logs exactly this record and that its proof leads to its checkpoint's root.
    pub async fn submit(&self, record: &Record) -> Result<TlogEntry> {
        let url = format!("{}/api/v2/log/entries", self.base);
        let mut request = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(
                record
                    .to_request_json()
                    .map_err(|e| Error::new(Code::Internal, e.to_string()))?,
            );
        if let Some(t) = &self.token {
            request = request.bearer_auth(t.expose_secret());
        }
        let response = request
            .send()
            .await
            .map_err(|e| unreachable_log(&url, &e))?;
        let status = response.status();
        let body = read_limited(response, &url).await?;
        if !status.is_success() {
            return Err(server_error(&url, status.as_u16(), &body));
        }
        let entry = TlogEntry::from_json(&body, &Limits::default()).map_err(|e| {
            Error::new(
                Code::LogEntryRejected,
                format!("the log's answer is malformed: {e}"),
            )
        })?;
        check_returned_entry(record, &entry)?;
        Ok(entry)
    }

    /// The log's latest signed checkpoint.
    pub async fn checkpoint(&self) -> Result<String> {
        let url = format!("{}/api/v2/checkpoint", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| unreachable_log(&url, &e))?;
        let status = response.status();
        let body = read_limited(response, &url).await?;
        if !status.is_success() {
            return Err(server_error(&url, status.as_u16(), &body));
        }
        String::from_utf8(body)
            .map_err(|_| Error::new(Code::LogEntryRejected, "the checkpoint is not UTF-8"))
    }

    /// The bytes of `tile` (C2SP tlog-tiles: concatenated hashes), at most one full tile.
    pub async fn tile(&self, tile: Tile) -> Result<Vec<u8>> {
        self.get_resource(&tile.to_string(), MAX_TILE).await
    }

    /// The bytes of entry bundle `bundle` (big-endian u16 length-prefixed entries), bounded.
    pub async fn entry_bundle(&self, bundle: EntryBundle) -> Result<Vec<u8>> {
        self.get_resource(&bundle.to_string(), MAX_BUNDLE).await
    }

    async fn get_resource(&self, path: &str, limit: usize) -> Result<Vec<u8>> {
        let url = format!("{}/api/v2/{path}", self.base);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| unreachable_log(&url, &e))?;
        let status = response.status();
        let body = read_bounded(response, &url, limit).await?;
        if !status.is_success() {
            return Err(server_error(&url, status.as_u16(), &body));
        }
        Ok(body)
    }
}

/// A blocking [`TileSource`] over a remote log's tiles, for synchronous proof code.
///
/// It owns a current-thread runtime: use it from synchronous code only (never from inside an
/// async task). The last fetch failure is kept so callers can report it with its own code
/// rather than as a proof failure.
pub struct RemoteTiles {
    runtime: tokio::runtime::Runtime,
    client: LogClient,
    last_error: RefCell<Option<Error>>,
}

impl RemoteTiles {
    /// Tiles of the log `client` talks to.
    pub fn new(client: LogClient) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    Code::Internal,
                    format!("cannot start the async runtime: {e}"),
                )
            })?;
        Ok(Self {
            runtime,
            client,
            last_error: RefCell::new(None),
        })
    }

    /// The log's latest signed checkpoint, unverified.
    pub fn checkpoint(&self) -> Result<String> {
        self.runtime.block_on(self.client.checkpoint())
    }

    /// The bytes of entry bundle `bundle`.
    pub fn entry_bundle(&self, bundle: EntryBundle) -> Result<Vec<u8>> {
        self.runtime.block_on(self.client.entry_bundle(bundle))
    }

    /// Takes the last tile fetch failure, if any.
    pub fn take_error(&self) -> Option<Error> {
        self.last_error.borrow_mut().take()
    }
}

impl TileSource for RemoteTiles {
    fn tile_hashes(&self, tile: Tile) -> std::result::Result<Arc<[Hash]>, custody_log::Error> {
        let fetched = self
            .runtime
            .block_on(self.client.tile(tile))
            .and_then(|bytes| {
                decode_tile(&bytes).map_err(|e| {
                    Error::new(
                        Code::LogInconsistent,
                        format!("the log served a malformed {tile}: {e}"),
                    )
                })
            });
        match fetched {
            Ok(hashes) => Ok(Arc::from(hashes)),
            Err(e) => {
                let message = e.message().to_owned();
                *self.last_error.borrow_mut() = Some(e);
                Err(custody_log::Error::Storage(message.into()))
            }
        }
    }
}

async fn read_limited(response: reqwest::Response, url: &str) -> Result<Vec<u8>> {
    read_bounded(response, url, MAX_ANSWER).await
}

async fn read_bounded(mut response: reqwest::Response, url: &str, limit: usize) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unreachable_log(url, &e))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > limit {
            return Err(Error::new(
                Code::LogEntryRejected,
                format!("the answer from {url} is larger than {limit} bytes"),
            ));
        }
    }
    Ok(body)
}

/// Maps a server's JSON error body to its code; unknown bodies keep the HTTP status.
fn server_error(url: &str, status: u16, body: &[u8]) -> Error {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v["code"].as_str())
        .and_then(|c| c.parse::<Code>().ok());
    let message = parsed
        .as_ref()
        .and_then(|v| v["message"].as_str())
        .unwrap_or("no details");
    match code {
        Some(code) => Error::new(code, format!("the log refused the request: {message}")),
        None => Error::new(
            Code::LogUnavailable,
            format!("{url} answered HTTP {status}"),
        ),
    }
}

/// The returned entry must log exactly `record`, and its proof must lead to its root.
fn check_returned_entry(record: &Record, entry: &TlogEntry) -> Result<()> {
    let mismatch = |why: &str| {
        Error::new(
            Code::LogEntryRejected,
            format!("the log's answer does not match the submission: {why}"),
        )
    };
    let body = record
        .canonical_entry()
        .map_err(|e| Error::new(Code::Internal, e.to_string()))?;
    if entry.canonicalized_body != body || entry.kind != record.kind() {
        return Err(mismatch("it logged another entry"));
    }
    let p = entry
        .inclusion_proof
        .as_ref()
        .ok_or_else(|| mismatch("no inclusion proof"))?;
    let root = Hash::try_from(p.root_hash.as_slice()).map_err(|_| mismatch("bad root hash"))?;
    let hashes = p
        .hashes
        .iter()
        .map(|h| Hash::try_from(h.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| mismatch("bad proof hash"))?;
    proof::verify_inclusion(
        &leaf_hash(&body),
        LeafIndex::new(p.log_index),
        TreeSize::new(p.tree_size),
        &hashes,
        &root,
    )
    .map_err(|e| mismatch(&e.to_string()))
}
