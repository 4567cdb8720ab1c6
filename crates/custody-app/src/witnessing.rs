//! The log side of witnessing (C2SP tlog-witness): after each durable commit, the sequencer
//! asks every configured witness to cosign the new checkpoint, proving it consistent with the
//! last checkpoint that witness cosigned, and appends the valid cosignatures to the note.
//!
//! A witness that is unreachable or refuses is left out of that checkpoint (its cosignature is
//! simply missing); verifiers that require a quorum then refuse, which is the fail-closed side.

use std::time::Duration;

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

struct Known {
    endpoint: WitnessEndpoint,
    /// The size this witness last cosigned, as far as the log knows (0 before the first reply).
    size: TreeSize,
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
            .timeout(Duration::from_secs(10))
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
                })
                .collect(),
            http,
            runtime,
        })
    }

    /// Returns `note` with the cosignatures of every witness that accepted it appended.
    pub(crate) fn cosign(&mut self, note: &str, tree: &dyn SubtreeHashes) -> String {
        let Ok(mut signed) = SignedCheckpoint::parse(note.as_bytes()) else {
            return note.to_owned();
        };
        let checkpoint = signed.unverified_checkpoint().clone();
        let size = checkpoint.size();
        for known in &mut self.witnesses {
            // One retry: a 409 tells the log the size the witness really holds.
            for _ in 0..2 {
                match request(&self.http, &self.runtime, known, &signed, tree, size) {
                    Ok(Reply::Cosigned(lines)) => {
                        for line in lines {
                            let valid = Cosignature::from_note_signature(&line)
                                .and_then(|c| c.verify(&known.endpoint.verifier, &checkpoint))
                                .is_ok();
                            if valid {
                                signed.add_signature(line);
                            }
                        }
                        known.size = size;
                        break;
                    }
                    Ok(Reply::HoldsSize(held)) if held != known.size && held <= size => {
                        known.size = held
                    }
                    _ => break,
                }
            }
        }
        String::from_utf8(signed.to_bytes()).unwrap_or_else(|_| note.to_owned())
    }
}

enum Reply {
    Cosigned(Vec<custody_log::note::NoteSignature>),
    HoldsSize(TreeSize),
}

fn request(
    http: &reqwest::Client,
    runtime: &tokio::runtime::Runtime,
    known: &Known,
    signed: &SignedCheckpoint,
    tree: &dyn SubtreeHashes,
    size: TreeSize,
) -> Result<Reply> {
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
    runtime.block_on(async {
        let response = http
            .post(&url)
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
    })
}
