//! The witness's `POST /add-checkpoint` over `Router::oneshot`: each of the C2SP
//! tlog-witness outcomes with its status code and body.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use custody_app::keys::NewKeyProtection;
use custody_app::witness::{Witness, WitnessDir, initialize};
use custody_crypto::{KeyAlgorithm, SigningKey};
use custody_log::checkpoint::{Checkpoint, SignedCheckpoint};
use custody_log::cosignature::WitnessPolicy;
use custody_log::note::{KeyName, NoteSigner, NoteVerifier};
use custody_log::witness::{AddCheckpointRequest, parse_conflict_body, parse_response};
use custody_log::{Hash, MemoryTree, TreeSize, leaf_hash, proof};
use custody_server::witness_router;
use serde_json::Value;
use tower::ServiceExt as _;

const ORIGIN: &str = "log.custody.test/witnessed";

struct Fixture {
    _tmp: tempfile::TempDir,
    app: axum::Router,
    log: NoteSigner<SigningKey>,
    witness: NoteVerifier,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = WitnessDir::new(&tmp.path().join("w"));
    let witness = initialize(
        &dir,
        "witness.custody.test/w1",
        &NewKeyProtection::Unencrypted,
    )
    .unwrap();
    let log = NoteSigner::new(
        KeyName::new(ORIGIN).unwrap(),
        SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
    )
    .unwrap();
    let cosigner = dir.cosigner(&mut || panic!("not encrypted")).unwrap();
    let state = Witness::open(&dir, cosigner, vec![log.verifier().clone()]).unwrap();
    Fixture {
        _tmp: tmp,
        app: witness_router(Arc::new(state)),
        log,
        witness,
    }
}

fn tree(size: u64) -> MemoryTree {
    MemoryTree::from_leaf_hashes((0..size).map(|i| leaf_hash(&i.to_be_bytes())))
}

fn signed(tree: &MemoryTree, key: &NoteSigner<SigningKey>) -> SignedCheckpoint {
    Checkpoint::new(key.name().as_str(), tree.size(), tree.root())
        .unwrap()
        .sign(key)
        .unwrap()
}

fn body(old: u64, path: Vec<Hash>, checkpoint: SignedCheckpoint) -> Vec<u8> {
    AddCheckpointRequest::new(TreeSize::new(old), path, checkpoint)
        .unwrap()
        .to_bytes()
}

async fn add(app: &axum::Router, body: Vec<u8>) -> (StatusCode, Option<String>, Vec<u8>) {
    let req = Request::post("/add-checkpoint")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let content_type = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec();
    (status, content_type, body)
}

fn code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["code"].as_str().unwrap().to_owned()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn witness_cosigns_a_consistent_checkpoint_with_a_verifiable_line() {
    let f = fixture();
    runtime().block_on(async {
        let checkpoint = signed(&tree(4), &f.log);
        let (status, _, response) = add(&f.app, body(0, vec![], checkpoint.clone())).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{}",
            String::from_utf8_lossy(&response)
        );
        let mut verified = checkpoint.verify(f.log.verifier()).unwrap();
        for line in parse_response(&response).unwrap() {
            verified.add_signature(line);
        }
        WitnessPolicy::new(vec![f.witness.clone()], 1)
            .unwrap()
            .check(&verified)
            .unwrap();

        // Growing from 4 with a real consistency proof.
        let big = tree(9);
        let path = proof::consistency_proof(&big, TreeSize::new(4), big.size()).unwrap();
        let (status, _, _) = add(&f.app, body(4, path, signed(&big, &f.log))).await;
        assert_eq!(status, StatusCode::OK);
    });
}

#[test]
fn witness_answers_a_stale_old_size_with_409_and_its_size() {
    let f = fixture();
    runtime().block_on(async {
        let (status, _, _) = add(&f.app, body(0, vec![], signed(&tree(3), &f.log))).await;
        assert_eq!(status, StatusCode::OK);
        let (status, content_type, response) =
            add(&f.app, body(0, vec![], signed(&tree(5), &f.log))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(content_type.as_deref(), Some("text/x.tlog.size"));
        assert_eq!(response, b"3\n");
        assert_eq!(parse_conflict_body(&response).unwrap(), TreeSize::new(3));
    });
}

#[test]
fn witness_refusals_have_the_spec_status_codes() {
    let f = fixture();
    runtime().block_on(async {
        let (status, _, _) = add(&f.app, body(0, vec![], signed(&tree(3), &f.log))).await;
        assert_eq!(status, StatusCode::OK);
        let big = tree(6);

        // 422: a proof that does not lead from the cosigned root.
        let mut path = proof::consistency_proof(&big, TreeSize::new(3), big.size()).unwrap();
        path[0] = leaf_hash(b"mallory");
        let (status, _, response) = add(&f.app, body(3, path, signed(&big, &f.log))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(code(&response), "CUSTODY-E1027");

        // 403: the log's origin, signed by another key.
        let impostor = NoteSigner::new(
            KeyName::new(ORIGIN).unwrap(),
            SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
        )
        .unwrap();
        let path = proof::consistency_proof(&big, TreeSize::new(3), big.size()).unwrap();
        let (status, _, response) = add(&f.app, body(3, path, signed(&big, &impostor))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(code(&response), "CUSTODY-E1024");

        // 404: a log the witness does not know.
        let other = NoteSigner::new(
            KeyName::new("log.custody.test/other").unwrap(),
            SigningKey::generate(KeyAlgorithm::Ed25519).unwrap(),
        )
        .unwrap();
        let (status, _, response) = add(&f.app, body(0, vec![], signed(&big, &other))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(code(&response), "CUSTODY-E1025");

        // 400: malformed, and an old size above the checkpoint's.
        let (status, _, response) = add(&f.app, b"old 01\n\n".to_vec()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&response), "CUSTODY-E2009");
        let (status, _, response) = add(&f.app, body(3, vec![], signed(&tree(2), &f.log))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&response), "CUSTODY-E2009");

        // Nothing refused moved the record: the log continues from 3.
        let path = proof::consistency_proof(&big, TreeSize::new(3), big.size()).unwrap();
        let (status, _, _) = add(&f.app, body(3, path, signed(&big, &f.log))).await;
        assert_eq!(status, StatusCode::OK);
    });
}

#[test]
fn witness_limits_the_body_and_serves_healthz() {
    let f = fixture();
    runtime().block_on(async {
        let (status, _, _) = add(&f.app, vec![b'a'; 4 << 20]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        let resp = f
            .app
            .clone()
            .oneshot(Request::get("/healthz").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
    });
}
