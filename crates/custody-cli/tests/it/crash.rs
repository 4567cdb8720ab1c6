//! Crash safety: the server is killed with SIGKILL during sustained concurrent appends, at
//! random points, and restarted; after each restart every acknowledged entry is at its index,
//! every checkpoint ever handed out is consistent with the new one, and the published tree is
//! whole (its tiles reproduce the signed root).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use custody_app::remote::LogClient;
use custody_crypto::{KeyAlgorithm, Signer, SigningKey, random_bytes, sha256};
use custody_formats::rekor::{HashedRekord, Record};
use custody_log::checkpoint::SignedCheckpoint;
use custody_log::integrate::{TileSource, TiledTree, decode_tile};
use custody_log::note::NoteVerifier;
use custody_log::tile::Tile;
use custody_log::{Hash, LeafIndex, TreeSize, leaf_hash, proof, root_hash};

use crate::support::{Scratch, Server};

const ROUNDS: usize = 5;
const SUBMITTERS: usize = 16;

/// Tiles fetched from the server's public read API, as a monitor would.
pub(crate) struct HttpTiles {
    pub(crate) url: String,
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) http: reqwest::Client,
}

impl TileSource for HttpTiles {
    fn tile_hashes(&self, tile: Tile) -> Result<Arc<[Hash]>, custody_log::Error> {
        let url = format!("{}/api/v2/{tile}", self.url);
        let bytes = self
            .runtime
            .block_on(async {
                self.http
                    .get(&url)
                    .send()
                    .await?
                    .error_for_status()?
                    .bytes()
                    .await
            })
            .map_err(|e| custody_log::Error::Storage(format!("{url}: {e}").into()))?;
        decode_tile(&bytes).map(Arc::from)
    }
}

/// (index, entry bytes) acknowledged, and (size, root) of every checkpoint handed out.
#[derive(Default)]
struct Seen {
    acked: Vec<(u64, Vec<u8>)>,
    checkpoints: Vec<(TreeSize, Hash)>,
}

fn checkpoint_of(note: &str, vkey: &NoteVerifier) -> (TreeSize, Hash) {
    let cp = SignedCheckpoint::parse(note.as_bytes())
        .unwrap()
        .verify(vkey)
        .unwrap();
    (cp.size(), cp.root())
}

async fn submitter(client: Arc<LogClient>, seen: Arc<Mutex<Seen>>, vkey: NoteVerifier) {
    let key = SigningKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
    loop {
        let digest = sha256(&random_bytes::<32>().unwrap());
        let record = HashedRekord::new(
            digest,
            key.sign_prehashed(&digest).unwrap(),
            key.public_key().clone(),
        )
        .unwrap();
        // Any failure means the server died: stop; only acknowledged entries count.
        let Ok(entry) = client.submit(&Record::HashedRekord(record.clone())).await else {
            return;
        };
        let proof = entry.inclusion_proof.unwrap();
        let checkpoint = checkpoint_of(&proof.checkpoint, &vkey);
        let mut seen = seen.lock().unwrap();
        seen.acked.push((entry.log_index, entry.canonicalized_body));
        seen.checkpoints.push(checkpoint);
    }
}

#[test]
fn acknowledged_entries_survive_sigkill_and_checkpoints_stay_consistent() {
    let s = Scratch::new();
    let data = s.path("data");
    let mut server = Server::start(&data);
    let token = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let vkey: NoteVerifier = s.ok(&["log", "vkey", "--data", "data"])["vkey"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    for round in 0..ROUNDS {
        let client = Arc::new(LogClient::new(&server.url, Some(token.clone().into())).unwrap());
        let delay = 150 + u64::from(u16::from_be_bytes(random_bytes::<2>().unwrap())) % 450;
        runtime.block_on(async {
            let tasks: Vec<_> = (0..SUBMITTERS)
                .map(|_| {
                    tokio::spawn(submitter(
                        Arc::clone(&client),
                        Arc::clone(&seen),
                        vkey.clone(),
                    ))
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(delay)).await;
            server.kill_now();
            for t in tasks {
                t.await.unwrap();
            }
        });
        drop(server);
        server = Server::start(&data);

        // What the restarted server publishes.
        let http = reqwest::Client::new();
        let note = runtime
            .block_on(async {
                http.get(format!("{}/api/v2/checkpoint", server.url))
                    .send()
                    .await?
                    .text()
                    .await
            })
            .unwrap();
        let (size, root) = checkpoint_of(&note, &vkey);
        let tiles = HttpTiles {
            url: server.url.clone(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            http,
        };
        let tree = TiledTree::new(&tiles, size);
        assert_eq!(
            root_hash(&tree, size).unwrap(),
            root,
            "round {round}: the tiles reproduce the signed root"
        );

        let seen = seen.lock().unwrap();
        assert!(
            !seen.acked.is_empty(),
            "round {round}: some entries were acknowledged before the kill"
        );
        for (index, body) in &seen.acked {
            let path =
                proof::inclusion_proof(&tree, LeafIndex::new(*index), size).unwrap_or_else(|e| {
                    panic!("round {round}: acknowledged entry {index} lost (size {size}): {e}")
                });
            proof::verify_inclusion(&leaf_hash(body), LeafIndex::new(*index), size, &path, &root)
                .unwrap();
        }
        let mut checkpoints = seen.checkpoints.clone();
        checkpoints.sort_by_key(|(s, _)| s.get());
        checkpoints.dedup_by_key(|(s, _)| s.get());
        for (old_size, old_root) in checkpoints {
            assert!(
                old_size <= size,
                "round {round}: a published checkpoint was rolled back"
            );
            if old_size.get() == 0 || old_size == size {
                if old_size == size {
                    assert_eq!(old_root, root, "two roots for one size");
                }
                continue;
            }
            let path = proof::consistency_proof(&tree, old_size, size).unwrap();
            proof::verify_consistency(old_size, size, &old_root, &root, &path).unwrap_or_else(
                |e| panic!("round {round}: checkpoint {old_size} inconsistent with {size}: {e}"),
            );
        }
    }
}
