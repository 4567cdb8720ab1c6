//! The registry's embedded storage: blob files (atomic, deduplicated, hashed while streaming,
//! resumable after a restart) and the SQLite metadata (references checked in the manifest's
//! transaction, immutable tags, GC candidates re-checked).

use std::collections::BTreeMap;
use std::io::Read;

use custody_crypto::{Digest, sha256, sha512};
use custody_registry::Reference;
use custody_registry::store::{BlobStore, MetaStore, NewManifest, StoreError};
use custody_store::{FsBlobStore, SqliteRegistryStore};

fn read_blob(store: &FsBlobStore, d: &Digest) -> Vec<u8> {
    let (mut r, _) = store.open(d).unwrap().unwrap();
    let mut out = Vec::new();
    r.read_to_end(&mut out).unwrap();
    out
}

#[test]
fn blobs_commit_only_with_the_right_digest_and_deduplicate() {
    let dir = tempfile::tempdir().unwrap();
    let store = FsBlobStore::open(dir.path()).unwrap();
    store.create_upload("u1").unwrap();
    assert_eq!(
        store.append("u1", Some(0), &mut &b"abc"[..], 100).unwrap(),
        3
    );
    assert_eq!(
        store
            .append("u1", Some(1), &mut &b"x"[..], 100)
            .unwrap_err(),
        StoreError::OutOfOrder {
            expected: 3,
            got: 1
        }
    );
    assert!(matches!(
        store.append("u1", None, &mut &[0u8; 200][..], 100),
        Err(StoreError::TooLarge { limit: 100 })
    ));
    store.append("u1", None, &mut &b"def"[..], 100).unwrap();
    let wrong = sha256(b"abc");
    assert!(matches!(
        store.commit_upload("u1", &wrong),
        Err(StoreError::DigestMismatch { .. })
    ));
    // The mismatch discarded the session and stored nothing.
    assert_eq!(
        store.upload_len("u1").unwrap_err(),
        StoreError::UploadUnknown
    );
    assert!(store.list().unwrap().is_empty());
    assert!(store.list_uploads().unwrap().is_empty());

    let d = sha256(b"abcdef");
    for id in ["u2", "u3"] {
        store.create_upload(id).unwrap();
        store.append(id, None, &mut &b"abcdef"[..], 100).unwrap();
        assert_eq!(store.commit_upload(id, &d).unwrap(), 6);
    }
    assert_eq!(read_blob(&store, &d), b"abcdef");
    assert_eq!(store.list().unwrap().len(), 1);
    assert!(store.list_uploads().unwrap().is_empty());
    let hex = d.hex();
    assert!(
        dir.path()
            .join("blobs/sha256")
            .join(&hex[..2])
            .join(&hex)
            .is_file()
    );
    store.delete(&d).unwrap();
    assert!(store.open(&d).unwrap().is_none());
    // Upload ids cannot name paths.
    assert_eq!(
        store.create_upload("../x").unwrap_err(),
        StoreError::UploadUnknown
    );
}

#[test]
fn a_session_resumes_after_a_restart_and_sha512_rehashes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = FsBlobStore::open(dir.path()).unwrap();
        store.create_upload("resume").unwrap();
        store
            .append("resume", None, &mut &b"first half, "[..], 1000)
            .unwrap();
    }
    let store = FsBlobStore::open(dir.path()).unwrap();
    assert_eq!(store.upload_len("resume").unwrap(), 12);
    store
        .append("resume", Some(12), &mut &b"second half"[..], 1000)
        .unwrap();
    let d = sha256(b"first half, second half");
    store.commit_upload("resume", &d).unwrap();
    assert_eq!(read_blob(&store, &d), b"first half, second half");
    store.create_upload("five12").unwrap();
    store
        .append("five12", None, &mut &b"data"[..], 1000)
        .unwrap();
    let d = sha512(b"data");
    store.commit_upload("five12", &d).unwrap();
    assert_eq!(read_blob(&store, &d), b"data");
}

fn manifest<'a>(
    repo: &'a str,
    bytes: &'a [u8],
    blobs: Vec<Digest>,
    tag: Option<&'a str>,
) -> NewManifest<'a> {
    NewManifest {
        repository: repo,
        digest: sha256(bytes),
        media_type: "application/vnd.oci.image.manifest.v1+json",
        bytes,
        tag,
        tag_immutable: false,
        blobs,
        children: Vec::new(),
        subject: None,
        artifact_type: None,
        annotations: BTreeMap::new(),
        first_layer: None,
        now: 100,
    }
}

#[test]
fn manifests_check_references_in_their_transaction_and_tags_can_be_immutable() {
    let dir = tempfile::tempdir().unwrap();
    let meta = SqliteRegistryStore::open(&dir.path().join("custody.db")).unwrap();
    let blob = sha256(b"layer");
    let m = manifest("r", b"m1", vec![blob], Some("v1"));
    assert_eq!(
        meta.put_manifest(&m).unwrap_err(),
        StoreError::ReferenceUnknown(blob.to_string())
    );
    assert!(
        meta.manifest("r", &Reference::Tag("v1".into()))
            .unwrap()
            .is_none()
    );
    meta.link_blob("r", &blob, 5, 100).unwrap();
    meta.put_manifest(&m).unwrap();
    let got = meta
        .manifest("r", &Reference::Tag("v1".into()))
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.digest, got.bytes.as_slice()),
        (sha256(b"m1"), &b"m1"[..])
    );
    // An immutable tag does not move, but the same manifest may be pushed again.
    let mut moved = manifest("r", b"m2", vec![blob], Some("v1"));
    moved.tag_immutable = true;
    assert_eq!(
        meta.put_manifest(&moved).unwrap_err(),
        StoreError::TagImmutable("v1".into())
    );
    let mut same = manifest("r", b"m1", vec![blob], Some("v1"));
    same.tag_immutable = true;
    meta.put_manifest(&same).unwrap();
    assert_eq!(
        meta.delete_tag("r", "v1", true).unwrap_err(),
        StoreError::TagImmutable("v1".into())
    );
    assert_eq!(
        meta.delete_manifest("r", &sha256(b"m1"), &|t| t == "v1")
            .unwrap_err(),
        StoreError::TagImmutable("v1".into())
    );
    assert_eq!(meta.tags("r", None, 10).unwrap(), ["v1"]);

    // GC: a referenced blob is never a candidate; after the manifest goes, it is (once the
    // grace period has passed), and a fresh link protects it again.
    assert!(meta.gc_candidates(1_000).unwrap().is_empty());
    assert!(
        meta.delete_manifest("r", &sha256(b"m1"), &|_| false)
            .unwrap()
    );
    assert!(
        meta.gc_candidates(100).unwrap().is_empty(),
        "linked at 100: within grace"
    );
    assert_eq!(meta.gc_candidates(101).unwrap(), [blob]);
    meta.link_blob("r", &blob, 5, 200).unwrap();
    assert!(
        !meta.gc_remove_blob(&blob, 101).unwrap(),
        "re-linked since: kept"
    );
    assert!(meta.gc_remove_blob(&blob, 201).unwrap());
    assert!(!meta.blob_known(&blob).unwrap());
    assert!(meta.linked_blob("r", &blob).unwrap().is_none());
}
