use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode, header};
use custody_app::log::{Log, SequencerConfig};
use custody_app::tokens::{Scope, TokenChecker, create_token};
use custody_crypto::{KeyAlgorithm, KeyProtection, Signer, SigningKey, sha256, sha512};
use custody_formats::Limits;
use custody_formats::bundle::TlogEntry;
use custody_formats::rekor::HashedRekord;
use custody_log::note::{KeyName, NoteSigner, NoteVerifier};
use custody_log::{Hash, LeafIndex, TreeSize, leaf_hash, proof};
use custody_server::{ServerState, router};
use secrecy::ExposeSecret as _;
use serde_json::Value;
use tower::ServiceExt as _;

const ORIGIN: &str = "log.custody.test/it";

struct Fixture {
    _dir: tempfile::TempDir,
    app: axum::Router,
    log_key: SigningKey,
    write_token: String,
    pull_token: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("custody.db");
    let log_key = SigningKey::generate(KeyAlgorithm::Ed25519).unwrap();
    let copy = SigningKey::from_pkcs8_pem(
        &log_key.to_pkcs8_pem(KeyProtection::Unencrypted).unwrap(),
        None,
    )
    .unwrap();
    let signer = NoteSigner::new(KeyName::new(ORIGIN).unwrap(), copy).unwrap();
    let log = Arc::new(Log::open(&db, Box::new(signer), SequencerConfig::default()).unwrap());
    let (_, write) = create_token(&db, &[Scope::LogWrite], "writer", 1).unwrap();
    let (_, pull) =
        create_token(&db, &["repository:app:pull".parse().unwrap()], "puller", 1).unwrap();
    let state = ServerState {
        log,
        tokens: TokenChecker::open(&db).unwrap(),
        log_id: sha256(log_key.public_key().spki_der()).as_bytes().to_vec(),
    };
    Fixture {
        _dir: dir,
        app: router(Arc::new(state)),
        log_key,
        write_token: write.expose_secret().to_owned(),
        pull_token: pull.expose_secret().to_owned(),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn signed_request(message: &[u8], alg: KeyAlgorithm) -> Vec<u8> {
    let key = SigningKey::generate(alg).unwrap();
    let digest = if alg == KeyAlgorithm::EcdsaP256 {
        sha256(message)
    } else {
        sha512(message)
    };
    let sig = key.sign_prehashed(&digest).unwrap();
    HashedRekord::new(digest, sig, key.public_key().clone())
        .unwrap()
        .to_request_json()
}

async fn call(
    app: &axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = to_bytes(resp.into_body(), 1 << 24).await.unwrap().to_vec();
    (status, headers, body)
}

fn post(token: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut b =
        Request::post("/api/v2/log/entries").header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b.body(Body::from(body)).unwrap()
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn code(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap();
    v["code"].as_str().unwrap().to_owned()
}

fn verifier(f: &Fixture) -> NoteVerifier {
    NoteVerifier::ed25519(
        KeyName::new(ORIGIN).unwrap(),
        f.log_key.public_key().clone(),
    )
    .unwrap()
}

/// Checks a returned entry as an offline verifier would.
fn check_entry(f: &Fixture, body: &[u8]) -> TlogEntry {
    let entry = TlogEntry::from_json(body, &Limits::default()).unwrap();
    assert_eq!(entry.kind, "hashedrekord");
    assert_eq!(entry.version, "0.0.2");
    let p = entry.inclusion_proof.as_ref().unwrap();
    custody_log::note::open(p.checkpoint.as_bytes(), &[verifier(f)]).unwrap();
    let root = Hash::try_from(p.root_hash.as_slice()).unwrap();
    let hashes: Vec<Hash> = p
        .hashes
        .iter()
        .map(|h| Hash::try_from(h.as_slice()).unwrap())
        .collect();
    proof::verify_inclusion(
        &leaf_hash(&entry.canonicalized_body),
        LeafIndex::new(p.log_index),
        TreeSize::new(p.tree_size),
        &hashes,
        &root,
    )
    .unwrap();
    HashedRekord::from_canonical_entry(&entry.canonicalized_body, &Limits::default()).unwrap();
    entry
}

#[test]
fn honest_submissions_get_verifiable_proofs_and_duplicates_their_old_index() {
    let f = fixture();
    runtime().block_on(async {
        for (i, alg) in [KeyAlgorithm::Ed25519, KeyAlgorithm::EcdsaP256]
            .into_iter()
            .enumerate()
        {
            let body = signed_request(format!("artifact {i}").as_bytes(), alg);
            let (status, _, resp) = call(&f.app, post(Some(&f.write_token), body.clone())).await;
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{}",
                String::from_utf8_lossy(&resp)
            );
            let entry = check_entry(&f, &resp);
            assert_eq!(entry.log_index, i as u64);
            let (status, _, again) = call(&f.app, post(Some(&f.write_token), body)).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(check_entry(&f, &again).log_index, i as u64);
        }
        let (status, headers, note) = call(&f.app, get("/api/v2/checkpoint")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("max-age=1")
        );
        let opened = custody_log::note::open(&note, &[verifier(&f)]).unwrap();
        assert!(opened.text().starts_with(&format!("{ORIGIN}\n2\n")));
    });
}

#[test]
fn writes_need_a_token_with_the_log_scope() {
    let f = fixture();
    runtime().block_on(async {
        let body = signed_request(b"x", KeyAlgorithm::Ed25519);
        let (status, headers, resp) = call(&f.app, post(None, body.clone())).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(code(&resp), "CUSTODY-E1017");
        assert!(headers.contains_key(header::WWW_AUTHENTICATE));
        let (status, _, resp) = call(
            &f.app,
            post(Some("custody_0123456789abcdef_forged"), body.clone()),
        )
        .await;
        assert_eq!(
            (status, code(&resp).as_str()),
            (StatusCode::UNAUTHORIZED, "CUSTODY-E1017")
        );
        // A pull token cannot write to the log.
        let (status, _, resp) = call(&f.app, post(Some(&f.pull_token), body)).await;
        assert_eq!(
            (status, code(&resp).as_str()),
            (StatusCode::FORBIDDEN, "CUSTODY-E1018")
        );
        // Nothing was logged.
        let (_, _, note) = call(&f.app, get("/api/v2/checkpoint")).await;
        assert!(
            String::from_utf8(note)
                .unwrap()
                .starts_with(&format!("{ORIGIN}\n0\n"))
        );
    });
}

#[test]
fn bad_signatures_and_oversize_bodies_are_refused() {
    let f = fixture();
    runtime().block_on(async {
        let good: Value =
            serde_json::from_slice(&signed_request(b"y", KeyAlgorithm::EcdsaP256)).unwrap();
        // A signature by one key presented with another key.
        let mut swapped = good.clone();
        let other: Value =
            serde_json::from_slice(&signed_request(b"y", KeyAlgorithm::EcdsaP256)).unwrap();
        swapped["hashedRekordRequestV002"]["signature"]["verifier"] =
            other["hashedRekordRequestV002"]["signature"]["verifier"].clone();
        let (status, _, resp) = call(
            &f.app,
            post(Some(&f.write_token), swapped.to_string().into_bytes()),
        )
        .await;
        assert_eq!(
            (status, code(&resp).as_str()),
            (StatusCode::BAD_REQUEST, "CUSTODY-E1016")
        );
        let (status, _, resp) = call(
            &f.app,
            post(
                Some(&f.write_token),
                b"{\"hashedRekordRequestV002\":{}}".to_vec(),
            ),
        )
        .await;
        assert_eq!(
            (status, code(&resp).as_str()),
            (StatusCode::BAD_REQUEST, "CUSTODY-E1016")
        );
        // Beyond the largest request (a DSSE envelope) the body is not even read.
        let huge = vec![b' '; custody_formats::rekor::MAX_DSSE_REQUEST_BYTES + 1];
        let (status, _, _) = call(&f.app, post(Some(&f.write_token), huge)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        // A hashedrekord request has a much smaller limit of its own.
        let mut big = br#"{"hashedRekordRequestV002":{"digest":""#.to_vec();
        big.extend(vec![b'A'; custody_formats::rekor::MAX_REQUEST_BYTES]);
        big.extend(br#""}}"#);
        let (status, _, resp) = call(&f.app, post(Some(&f.write_token), big)).await;
        assert_eq!(
            (status, code(&resp).as_str()),
            (StatusCode::BAD_REQUEST, "CUSTODY-E1016")
        );
        let (_, _, note) = call(&f.app, get("/api/v2/checkpoint")).await;
        assert!(
            String::from_utf8(note)
                .unwrap()
                .starts_with(&format!("{ORIGIN}\n0\n"))
        );
    });
}

#[test]
fn tiles_are_served_only_within_the_published_tree_with_cache_headers() {
    let f = fixture();
    runtime().block_on(async {
        for i in 0..300u32 {
            let (status, _, _) = call(
                &f.app,
                post(
                    Some(&f.write_token),
                    signed_request(&i.to_be_bytes(), KeyAlgorithm::Ed25519),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::CREATED);
        }
        let (status, headers, full) = call(&f.app, get("/api/v2/tile/0/000")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(full.len(), 256 * 32);
        assert!(
            headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let (status, headers, partial) = call(&f.app, get("/api/v2/tile/0/001.p/44")).await;
        assert_eq!((status, partial.len()), (StatusCode::OK, 44 * 32));
        assert!(
            !headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .contains("immutable")
        );
        let (status, _, bundle) = call(&f.app, get("/api/v2/tile/entries/001.p/44")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            custody_log::integrate::split_bundle(&bundle).unwrap().len(),
            44
        );
        for missing in [
            "/api/v2/tile/0/001.p/45",
            "/api/v2/tile/0/002",
            "/api/v2/tile/1/000",
            "/api/v2/tile/0/../etc",
            "/api/v2/tile/0/001.p/0",
            "/api/v2/tile/entries/x",
        ] {
            let (status, _, body) = call(&f.app, get(missing)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
            assert_eq!(code(&body), "CUSTODY-E1019");
        }
    });
}
