//! The log side of witnessing (C2SP tlog-witness): after each durable commit, the sequencer
//! asks every configured witness to cosign the new checkpoint, proving it consistent with the
//! last checkpoint that witness cosigned, and appends the valid cosignatures to the note.
//!
//! A witness that is unreachable or refuses is left out of that checkpoint (its cosignature is
//! simply missing); verifiers that require a quorum then refuse, which is the fail-closed side.
//!
//! Witnessing is synchronous (submitters receive the cosigned checkpoint, so their bundles
//! verify offline against a witness quorum), which puts it on the sequencer's path. Two rules
//! bound what a slow or dead witness costs: all witnesses are asked concurrently (a batch waits
//! for the slowest answer, not the sum), and a witness that failed is not asked again until its
//! backoff has passed ([`BACKOFF_START`] doubling to [`BACKOFF_MAX`]), so an unreachable witness
//! costs one timeout per backoff period instead of one per batch.

use std::time::{Duration, Instant};

use custody_log::checkpoint::SignedCheckpoint;
use custody_log::cosignature::Cosignature;
use custody_log::note::NoteVerifier;
use custody_log::witness::{AddCheckpointRequest, parse_conflict_body, parse_response};
use custody_log::{SubtreeHashes, TreeSize, proof};

use crate::codes::Code;
use crate::error::{Error, Result};

/// A witness the log asks for cosignatures.
#[derive(Debug, Clone)]
pub struct WitnessEndpoint {
    /// Base URL; requests go to `{url}/add-checkpoint`.
    pub url: String,
    /// The witness's cosignature verifier key (its vkey).
    pub verifier: NoteVerifier,
}

/// The first pause after a witness fails.
pub const BACKOFF_START: Duration = Duration::from_secs(1);
/// The longest pause between attempts to reach a failing witness.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How long the log waits for a witness's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

struct Known {
    endpoint: WitnessEndpoint,
    /// The size this witness last cosigned, as far as the log knows (0 before the first reply).
    size: TreeSize,
    /// Consecutive failures, and when the witness may be asked again.
    failures: u32,
    retry_at: Option<Instant>,
}

impl Known {
    fn failed(&mut self, now: Instant) {
        let pause = BACKOFF_START
            .saturating_mul(1u32 << self.failures.min(16))
            .min(BACKOFF_MAX);
        self.failures = self.failures.saturating_add(1);
        self.retry_at = Some(now + pause);
    }

    fn succeeded(&mut self, size: TreeSize) {
        self.size = size;
        self.failures = 0;
        self.retry_at = None;
    }
}

/// The sequencer's witness client (blocking: it runs on the sequencer thread).
pub(crate) struct Witnessing {
    witnesses: Vec<Known>,
    http: reqwest::Client,
    runtime: tokio::runtime::Runtime,
}

impl Witnessing {
    pub(crate) fn new(endpoints: Vec<WitnessEndpoint>) -> Result<Self> {
        let internal =
            |e: &dyn std::fmt::Display| Error::new(Code::Internal, format!("witness client: {e}"));
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .build()
            .map_err(|e| internal(&e))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| internal(&e))?;
        Ok(Self {
            witnesses: endpoints
                .into_iter()
                .map(|endpoint| Known {
                    endpoint,
                    size: TreeSize::new(0),
                    failures: 0,
                    retry_at: None,
                })
                .collect(),
            http,
            runtime,
        })
    }

    /// Returns `note` with the cosignatures of every witness that accepted it appended.
    pub(crate) fn cosign(&mut self, note: &str, tree: &dyn SubtreeHashes) -> String {
        self.cosign_at(note, tree, Instant::now())
    }

    /// [`Self::cosign`] as of `now` (for backoff decisions).
    fn cosign_at(&mut self, note: &str, tree: &dyn SubtreeHashes, now: Instant) -> String {
        let Ok(mut signed) = SignedCheckpoint::parse(note.as_bytes()) else {
            return note.to_owned();
        };
        let checkpoint = signed.unverified_checkpoint().clone();
        let size = checkpoint.size();
        // Witnesses in backoff sit this checkpoint out.
        let mut pending: Vec<usize> = (0..self.witnesses.len())
            .filter(|&i| self.witnesses[i].retry_at.is_none_or(|t| now >= t))
            .collect();
        // One retry: a 409 tells the log the size the witness really holds.
        for _ in 0..2 {
            if pending.is_empty() {
                break;
            }
            let mut requests = Vec::with_capacity(pending.len());
            for &i in &pending {
                match prepare(&self.witnesses[i], &signed, tree, size) {
                    Ok((url, body)) => requests.push((i, url, body)),
                    Err(_) => self.witnesses[i].failed(now),
                }
            }
            let http = &self.http;
            let replies = self.runtime.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for (i, url, body) in requests {
                    let http = http.clone();
                    set.spawn(async move { (i, send(&http, &url, body).await) });
                }
                let mut replies = Vec::new();
                while let Some(joined) = set.join_next().await {
                    if let Ok(reply) = joined {
                        replies.push(reply);
                    }
                }
                replies
            });
            let mut retry = Vec::new();
            for (i, reply) in replies {
                let known = &mut self.witnesses[i];
                match reply {
                    Ok(Reply::Cosigned(lines)) => {
                        for line in lines {
                            let valid = Cosignature::from_note_signature(&line)
                                .and_then(|c| c.verify(&known.endpoint.verifier, &checkpoint))
                                .is_ok();
                            if valid {
                                signed.add_signature(line);
                            }
                        }
                        known.succeeded(size);
                    }
                    Ok(Reply::HoldsSize(held)) if held != known.size && held <= size => {
                        known.size = held;
                        retry.push(i);
                    }
                    _ => known.failed(now),
                }
            }
            pending = retry;
        }
        String::from_utf8(signed.to_bytes()).unwrap_or_else(|_| note.to_owned())
    }
}

enum Reply {
    Cosigned(Vec<custody_log::note::NoteSignature>),
    HoldsSize(TreeSize),
}

/// The URL and body of an add-checkpoint request to `known` for the checkpoint of `size`.
fn prepare(
    known: &Known,
    signed: &SignedCheckpoint,
    tree: &dyn SubtreeHashes,
    size: TreeSize,
) -> Result<(String, Vec<u8>)> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(
            Code::LogUnavailable,
            format!("witness {}: {e}", known.endpoint.url),
        )
    };
    let old = known.size;
    let path = if old.get() == 0 || old == size {
        Vec::new()
    } else {
        proof::consistency_proof(tree, old, size).map_err(|e| fail(&e))?
    };
    let body = AddCheckpointRequest::new(old, path, signed.clone())
        .map_err(|e| fail(&e))?
        .to_bytes();
    let url = format!(
        "{}/add-checkpoint",
        known.endpoint.url.trim_end_matches('/')
    );
    Ok((url, body))
}

async fn send(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<Reply> {
    let fail =
        |e: &dyn std::fmt::Display| Error::new(Code::LogUnavailable, format!("witness {url}: {e}"));
    let response = http
        .post(url)
        .body(body)
        .send()
        .await
        .map_err(|e| fail(&e))?;
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| fail(&e))?;
    match status {
        200 => parse_response(&bytes)
            .map(Reply::Cosigned)
            .map_err(|e| fail(&e)),
        409 => parse_conflict_body(&bytes)
            .map(Reply::HoldsSize)
            .map_err(|e| fail(&e)),
        other => Err(fail(&format!("HTTP {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;
    use std::net::TcpListener;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use custody_crypto::{KeyAlgorithm, SigningKey};
    use custody_log::checkpoint::Checkpoint;
    use custody_log::note::{KeyName, NoteSigner, NoteVerifier, SignatureType};
    use custody_log::{MemoryTree, leaf_hash};

    use super::*;

    /// A "witness" that reads each request and answers HTTP 500, counting requests.
    fn failing_witness() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&count);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = std::io::Write::write_all(
                    &mut stream,
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        (url, count)
    }

    fn endpoint(url: String) -> WitnessEndpoint {
        let key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
        WitnessEndpoint {
            url,
            verifier: NoteVerifier::new(
                KeyName::new("witness.custody.test/w").unwrap(),
                SignatureType::CosignatureV1,
                key.public_key().clone(),
            )
            .unwrap(),
        }
    }

    #[test]
    fn a_failing_witness_is_asked_again_only_after_its_backoff() {
        let (url_a, count_a) = failing_witness();
        let (url_b, count_b) = failing_witness();
        let mut witnessing = Witnessing::new(vec![endpoint(url_a), endpoint(url_b)]).unwrap();
        let log = NoteSigner::new(
            KeyName::new("log.custody.test/l").unwrap(),
            SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
        )
        .unwrap();
        let tree = MemoryTree::from_leaf_hashes((0..5u8).map(|i| leaf_hash(&[i])));
        let note = Checkpoint::new("log.custody.test/l", tree.size(), tree.root())
            .unwrap()
            .sign(&log)
            .unwrap()
            .to_bytes();
        let note = String::from_utf8(note).unwrap();
        let t0 = Instant::now();

        // Both witnesses are asked (concurrently); both fail; the note comes back unchanged.
        assert_eq!(witnessing.cosign_at(&note, &tree, t0), note);
        assert_eq!(
            (
                count_a.load(Ordering::SeqCst),
                count_b.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
        // Within the backoff nobody is asked.
        witnessing.cosign_at(&note, &tree, t0 + BACKOFF_START / 2);
        assert_eq!(
            (
                count_a.load(Ordering::SeqCst),
                count_b.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
        // After it both are asked again, fail again, and the pause doubles.
        let t1 = t0 + BACKOFF_START;
        witnessing.cosign_at(&note, &tree, t1);
        assert_eq!(
            (
                count_a.load(Ordering::SeqCst),
                count_b.load(Ordering::SeqCst)
            ),
            (2, 2)
        );
        witnessing.cosign_at(&note, &tree, t1 + BACKOFF_START + BACKOFF_START / 2);
        assert_eq!(
            (
                count_a.load(Ordering::SeqCst),
                count_b.load(Ordering::SeqCst)
            ),
            (2, 2)
        );
        witnessing.cosign_at(&note, &tree, t1 + 2 * BACKOFF_START);
        assert_eq!(
            (
                count_a.load(Ordering::SeqCst),
                count_b.load(Ordering::SeqCst)
            ),
            (3, 3)
        );
        // The pause never exceeds the maximum.
        for k in &witnessing.witnesses {
            assert!(k.retry_at.unwrap() <= t1 + 2 * BACKOFF_START + BACKOFF_MAX);
        }
    }
}
