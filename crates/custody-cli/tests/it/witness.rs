//! `custody witness serve` as a real process, fed by a real `custody serve` log: the witness
//! cosigns the log's first checkpoint, then a later one given a consistency proof computed
//! from the log's public tiles, and after a restart still remembers what it cosigned.

use custody_app::remote::LogClient;
use custody_crypto::{KeyAlgorithm, Signer, SigningKey, random_bytes, sha256};
use custody_formats::rekor::{HashedRekord, Record};
use custody_log::checkpoint::SignedCheckpoint;
use custody_log::cosignature::WitnessPolicy;
use custody_log::integrate::TiledTree;
use custody_log::note::NoteVerifier;
use custody_log::witness::{AddCheckpointRequest, parse_conflict_body, parse_response};
use custody_log::{TreeSize, proof};

use crate::crash::HttpTiles;
use crate::support::{Scratch, Server, WitnessServer};

async fn submit(client: &LogClient, count: usize) {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    for _ in 0..count {
        let digest = sha256(&random_bytes::<32>().unwrap());
        let record = HashedRekord::new(
            digest,
            key.sign_prehashed(&digest).unwrap(),
            key.public_key().clone(),
        )
        .unwrap();
        client.submit(&Record::HashedRekord(record)).await.unwrap();
    }
}

async fn checkpoint(http: &reqwest::Client, url: &str) -> SignedCheckpoint {
    let note = http
        .get(format!("{url}/api/v2/checkpoint"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    SignedCheckpoint::parse(&note).unwrap()
}

/// POSTs a request; returns the status and body.
async fn add_checkpoint(http: &reqwest::Client, url: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let resp = http
        .post(format!("{url}/add-checkpoint"))
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

/// The response verifies as the witness's cosignature on the log's checkpoint.
fn assert_cosigned(
    response: &[u8],
    checkpoint: &SignedCheckpoint,
    log: &NoteVerifier,
    witness: &NoteVerifier,
) {
    let mut verified = checkpoint.verify(log).unwrap();
    for line in parse_response(response).unwrap() {
        verified.add_signature(line);
    }
    let witnessed = WitnessPolicy::new(vec![witness.clone()], 1)
        .unwrap()
        .check(&verified)
        .unwrap();
    assert_eq!(witnessed.cosignatures().len(), 1);
}

#[test]
fn witness_serve_cosigns_a_real_log_with_a_consistency_proof_from_its_tiles() {
    let s = Scratch::new();
    let log = Server::start(&s.path("data"));
    let token = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let log_vkey_text = s.ok(&["log", "vkey", "--data", "data"])["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let log_vkey: NoteVerifier = log_vkey_text.parse().unwrap();
    let mut witness = WitnessServer::start(&s.path("witness"), &log_vkey_text);
    let printed = s.ok(&["witness", "vkey", "--data", "witness"])["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(printed, witness.vkey);
    let witness_vkey: NoteVerifier = printed.parse().unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let http = reqwest::Client::new();
    let client = LogClient::new(&log.url, Some(token.into())).unwrap();

    // The first checkpoint the witness sees: old size 0, no proof.
    let first = runtime.block_on(async {
        submit(&client, 3).await;
        checkpoint(&http, &log.url).await
    });
    let old = first.unverified_checkpoint().size();
    assert_eq!(old, TreeSize::new(3));
    let body = AddCheckpointRequest::new(TreeSize::new(0), vec![], first.clone())
        .unwrap()
        .to_bytes();
    let (status, response) = runtime.block_on(add_checkpoint(&http, &witness.url, body));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&response));
    assert_cosigned(&response, &first, &log_vkey, &witness_vkey);

    // The log grows; the proof from 3 comes from its public tiles, as a log operator's
    // witness client would compute it.
    let second = runtime.block_on(async {
        submit(&client, 4).await;
        checkpoint(&http, &log.url).await
    });
    let size = second.unverified_checkpoint().size();
    let tiles = HttpTiles {
        url: log.url.clone(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
        http: reqwest::Client::new(),
    };
    let path = proof::consistency_proof(&TiledTree::new(&tiles, size), old, size).unwrap();
    let body = AddCheckpointRequest::new(old, path, second.clone())
        .unwrap()
        .to_bytes();
    let (status, response) = runtime.block_on(add_checkpoint(&http, &witness.url, body));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&response));
    assert_cosigned(&response, &second, &log_vkey, &witness_vkey);

    // Restarted, the witness still holds the log to what it cosigned.
    drop(witness);
    witness = WitnessServer::start(&s.path("witness"), &log_vkey_text);
    let body = AddCheckpointRequest::new(TreeSize::new(0), vec![], first)
        .unwrap()
        .to_bytes();
    let (status, response) = runtime.block_on(add_checkpoint(&http, &witness.url, body));
    assert_eq!(status, 409);
    assert_eq!(parse_conflict_body(&response).unwrap(), size);
}
