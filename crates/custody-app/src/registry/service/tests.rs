use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use custody_crypto::{Digest, sha256, sha512};
use custody_registry::manifest::OCI_MANIFEST;
use custody_store::{FsBlobStore, SqliteRegistryStore};
use secrecy::ExposeSecret as _;

use super::*;
use crate::error::Result;
use crate::registry::policy::{AuditEvent, Evidence, Gate, GateAction};

struct Settings(Mutex<RepoSettings>);

impl RepoSettingsSource for Settings {
    fn settings(&self, _repository: &str) -> RepoSettings {
        self.0.lock().unwrap().clone()
    }
}

/// Admits a subject when one bundle referrer's bundle is exactly `b"good bundle"`.
struct TestGate;

impl Gate for TestGate {
    fn admit_subject(
        &self,
        _r: &str,
        _s: &SubjectDigests,
        evidence: &[Evidence],
        _a: GateAction,
    ) -> Result<()> {
        if evidence.iter().any(|e| e.bundle == b"good bundle") {
            Ok(())
        } else {
            Err(Error::new(Code::RegistryNotAdmitted, "no good bundle"))
        }
    }
}

#[derive(Default)]
struct Audit {
    events: Mutex<Vec<AuditEvent>>,
    fail: AtomicBool,
}

impl AuditSink for Audit {
    fn record(&self, event: AuditEvent) -> Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::new(Code::WriteFailed, "audit disk full"));
        }
        self.events.lock().unwrap().push(event);
        Ok(())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    registry: Arc<Registry>,
    settings: Arc<Settings>,
    audit: Arc<Audit>,
    clock: Arc<AtomicI64>,
    push: String,
    pull_only: String,
    other: String,
    blob_root: std::path::PathBuf,
}

fn token(db: &std::path::Path, scope: &str) -> String {
    let (_, secret) =
        crate::tokens::create_token(db, &[scope.parse().unwrap()], "test", 0).unwrap();
    secret.expose_secret().to_owned()
}

fn fixture_with(grace: i64) -> Fixture {
    fixture_limited(grace, 1_000_000)
}

fn fixture_limited(grace: i64, requests_per_second: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("custody.db");
    let blob_root = dir.path().join("registry");
    let settings = Arc::new(Settings(Mutex::new(RepoSettings {
        enforce_push: false,
        enforce_pull: false,
        immutable_tags: vec!["v*".into()],
        anonymous_pull: false,
    })));
    let audit = Arc::new(Audit::default());
    let clock = Arc::new(AtomicI64::new(1_000_000));
    let c = Arc::clone(&clock);
    let registry = Registry::new(RegistryParts {
        blobs: Arc::new(FsBlobStore::open(&blob_root).unwrap()),
        meta: Arc::new(SqliteRegistryStore::open(&db).unwrap()),
        tokens: TokenChecker::open(&db).unwrap(),
        settings: Arc::clone(&settings) as Arc<dyn RepoSettingsSource>,
        gate: Arc::new(TestGate),
        audit: Arc::clone(&audit) as Arc<dyn AuditSink>,
        config: ServiceLimits {
            max_blob_bytes: 1 << 20,
            max_manifest_bytes: 4096,
            upload_lifetime_secs: 600,
            gc_grace_secs: grace,
            requests_per_second,
        },
        clock: Arc::new(move || c.load(Ordering::SeqCst)),
    });
    Fixture {
        push: token(&db, "repository:team/*:pull,push,delete"),
        pull_only: token(&db, "repository:team/app:pull"),
        other: token(&db, "repository:other/*:pull,push"),
        _dir: dir,
        registry: Arc::new(registry),
        settings,
        audit,
        clock,
        blob_root,
    }
}

fn fixture() -> Fixture {
    fixture_with(60)
}

fn upload(f: &Fixture, token: &str, repo: &str, data: &[u8]) -> Digest {
    let r = &f.registry;
    let id = r.create_upload(Some(token), repo).unwrap();
    let digest = sha256(data);
    r.finish_upload(Some(token), repo, &id, &digest, Some(&mut &data[..]))
        .unwrap();
    digest
}

fn image(
    config: &Digest,
    layer: &Digest,
    subject: Option<&Digest>,
    artifact: Option<&str>,
) -> Vec<u8> {
    let mut m = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": config.to_string(), "size": 2},
        "layers": [{"mediaType": "application/octet-stream", "digest": layer.to_string(), "size": 1}],
    });
    if let Some(s) = subject {
        m["subject"] =
            serde_json::json!({"mediaType": OCI_MANIFEST, "digest": s.to_string(), "size": 1});
    }
    if let Some(a) = artifact {
        m["artifactType"] = a.into();
    }
    m.to_string().into_bytes()
}

fn push_image(f: &Fixture, repo: &str, tag: &str, layer: &[u8]) -> PushedManifest {
    let config = upload(f, &f.push, repo, b"{}");
    let layer = upload(f, &f.push, repo, layer);
    let bytes = image(&config, &layer, None, None);
    f.registry
        .put_manifest(Some(&f.push), repo, tag, Some(OCI_MANIFEST), &bytes)
        .unwrap()
}

#[test]
fn chunked_upload_in_order_and_out_of_order() {
    let f = fixture();
    let r = &f.registry;
    let id = r.create_upload(Some(&f.push), "team/app").unwrap();
    assert_eq!(
        r.append(Some(&f.push), "team/app", &id, Some(0), &mut &b"hello "[..])
            .unwrap(),
        6
    );
    let e = r
        .append(Some(&f.push), "team/app", &id, Some(3), &mut &b"x"[..])
        .unwrap_err();
    assert_eq!((e.status, e.spec), (416, OciCode::BlobUploadInvalid));
    assert_eq!(r.upload_status(Some(&f.push), "team/app", &id).unwrap(), 6);
    // A session belongs to its repository.
    let e = r
        .upload_status(Some(&f.push), "team/other", &id)
        .unwrap_err();
    assert_eq!(e.spec, OciCode::BlobUploadUnknown);
    r.append(Some(&f.push), "team/app", &id, Some(6), &mut &b"world"[..])
        .unwrap();
    let digest = sha256(b"hello world");
    r.finish_upload(Some(&f.push), "team/app", &id, &digest, None)
        .unwrap();
    let (mut reader, size) = r
        .open_blob(Some(&f.pull_only), "team/app", &digest)
        .unwrap();
    let mut out = Vec::new();
    reader.read_to_end(&mut out).unwrap();
    assert_eq!((out.as_slice(), size), (&b"hello world"[..], 11));
}

#[test]
fn a_mismatching_digest_leaves_nothing_behind() {
    let f = fixture();
    let r = &f.registry;
    let id = r.create_upload(Some(&f.push), "team/app").unwrap();
    let wrong = sha256(b"something else");
    let e = r
        .finish_upload(
            Some(&f.push),
            "team/app",
            &id,
            &wrong,
            Some(&mut &b"data"[..]),
        )
        .unwrap_err();
    assert_eq!(e.spec, OciCode::DigestInvalid);
    assert_eq!(e.error.code(), Code::RegistryDigestInvalid);
    assert!(r.stat_blob(Some(&f.push), "team/app", &wrong).is_err());
    assert!(
        r.stat_blob(Some(&f.push), "team/app", &sha256(b"data"))
            .is_err()
    );
    // The session is gone, and no file is left in uploads/ or blobs/.
    assert!(r.upload_status(Some(&f.push), "team/app", &id).is_err());
    assert_eq!(
        std::fs::read_dir(f.blob_root.join("uploads"))
            .unwrap()
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(f.blob_root.join("blobs"))
            .unwrap()
            .count(),
        0
    );
}

#[test]
fn sha512_blobs_and_manifests() {
    let f = fixture();
    let r = &f.registry;
    let id = r.create_upload(Some(&f.push), "team/app").unwrap();
    let digest = sha512(b"five twelve");
    r.finish_upload(
        Some(&f.push),
        "team/app",
        &id,
        &digest,
        Some(&mut &b"five twelve"[..]),
    )
    .unwrap();
    assert_eq!(r.stat_blob(Some(&f.push), "team/app", &digest).unwrap(), 11);
    let config = upload(&f, &f.push, "team/app", b"{}");
    let bytes = image(&config, &digest, None, None);
    let d512 = sha512(&bytes);
    let pushed = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            &d512.to_string(),
            Some(OCI_MANIFEST),
            &bytes,
        )
        .unwrap();
    assert_eq!(pushed.digest, d512);
    let got = r
        .get_manifest(Some(&f.push), "team/app", &d512.to_string())
        .unwrap();
    assert_eq!(got.bytes, bytes);
}

#[test]
fn tokens_are_scoped_and_denials_audited() {
    let f = fixture();
    let r = &f.registry;
    let e = r.create_upload(Some(&f.pull_only), "team/app").unwrap_err();
    assert_eq!((e.status, e.error.code()), (403, Code::TokenScopeMissing));
    let e = r.create_upload(None, "team/app").unwrap_err();
    assert_eq!((e.status, e.spec), (401, OciCode::Unauthorized));
    let e = r.create_upload(Some(&f.other), "team/app").unwrap_err();
    assert_eq!(e.status, 403);
    let e = r.create_upload(Some(&f.push), "Team/../x").unwrap_err();
    assert_eq!(e.error.code(), Code::RegistryNameInvalid);
    let denials = f
        .audit
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e.outcome, Outcome::Denied { .. }))
        .count();
    // The pull-only and the foreign token are audited; the anonymous 401 challenge is not.
    assert_eq!(denials, 2);
    // Anonymous pull only where the settings allow it.
    push_image(&f, "team/app", "latest", b"l");
    assert!(r.get_manifest(None, "team/app", "latest").is_err());
    f.settings.0.lock().unwrap().anonymous_pull = true;
    assert!(r.get_manifest(None, "team/app", "latest").is_ok());
    assert!(r.create_upload(None, "team/app").is_err());
}

#[test]
fn requests_beyond_the_per_token_rate_are_refused_with_429_and_audited_once() {
    let f = fixture_limited(60, 3);
    let r = &f.registry;
    for _ in 0..3 {
        r.create_upload(Some(&f.push), "team/app").unwrap();
    }
    for _ in 0..5 {
        let e = r.create_upload(Some(&f.push), "team/app").unwrap_err();
        assert_eq!(
            (e.status, e.spec, e.error.code()),
            (429, OciCode::TooManyRequests, Code::RateLimited)
        );
    }
    // Another token has its own budget.
    r.create_upload(Some(&f.other), "other/app").unwrap();
    let limited = f
        .audit
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(
            |e| matches!(&e.outcome, Outcome::Denied { code, .. } if *code == Code::RateLimited),
        )
        .count();
    // The flood is refused in full but audited once, not once per request.
    assert_eq!(limited, 1);
}

#[test]
fn manifests_need_their_blobs_in_the_repository() {
    let f = fixture();
    let r = &f.registry;
    let config = upload(&f, &f.push, "team/app", b"{}");
    let missing = sha256(b"never pushed");
    let bytes = image(&config, &missing, None, None);
    let e = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            "latest",
            Some(OCI_MANIFEST),
            &bytes,
        )
        .unwrap_err();
    assert_eq!(e.spec, OciCode::ManifestBlobUnknown);
    // A blob pushed to another repository does not count.
    let layer = upload(&f, &f.push, "team/elsewhere", b"layer");
    let bytes = image(&config, &layer, None, None);
    let e = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            "latest",
            Some(OCI_MANIFEST),
            &bytes,
        )
        .unwrap_err();
    assert_eq!(e.error.code(), Code::RegistryManifestBlobUnknown);
    let e = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            &sha256(b"x").to_string(),
            Some(OCI_MANIFEST),
            &bytes,
        )
        .unwrap_err();
    assert_eq!(e.spec, OciCode::DigestInvalid);
}

#[test]
fn mount_needs_pull_on_the_source() {
    let f = fixture();
    let r = &f.registry;
    let layer = upload(&f, &f.push, "team/src", b"shared layer");
    // `other` may push to other/* but not pull from team/src: no mount.
    assert!(
        !r.mount(Some(&f.other), "other/dst", &layer, "team/src")
            .unwrap()
    );
    assert!(r.stat_blob(Some(&f.other), "other/dst", &layer).is_err());
    assert!(
        r.mount(Some(&f.push), "team/dst", &layer, "team/src")
            .unwrap()
    );
    assert_eq!(r.stat_blob(Some(&f.push), "team/dst", &layer).unwrap(), 12);
    // Unknown blob in the source: no mount.
    assert!(
        !r.mount(Some(&f.push), "team/dst", &sha256(b"nope"), "team/src")
            .unwrap()
    );
}

#[test]
fn immutable_tags_refuse_moves_and_deletes() {
    let f = fixture();
    let r = &f.registry;
    let first = push_image(&f, "team/app", "v1", b"one");
    // Re-pushing the same manifest under the tag is fine.
    push_image(&f, "team/app", "v1", b"one");
    let config = upload(&f, &f.push, "team/app", b"{}");
    let layer = upload(&f, &f.push, "team/app", b"two");
    let bytes = image(&config, &layer, None, None);
    let e = r
        .put_manifest(Some(&f.push), "team/app", "v1", Some(OCI_MANIFEST), &bytes)
        .unwrap_err();
    assert_eq!(
        (e.status, e.spec, e.error.code()),
        (403, OciCode::Denied, Code::TagImmutable)
    );
    let e = r
        .delete_manifest(Some(&f.push), "team/app", "v1")
        .unwrap_err();
    assert_eq!(e.error.code(), Code::TagImmutable);
    let e = r
        .delete_manifest(Some(&f.push), "team/app", &first.digest.to_string())
        .unwrap_err();
    assert_eq!(e.error.code(), Code::TagImmutable);
    assert_eq!(
        r.get_manifest(Some(&f.push), "team/app", "v1")
            .unwrap()
            .digest,
        first.digest
    );
    // Mutable tags move and delete.
    push_image(&f, "team/app", "latest", b"one");
    r.put_manifest(
        Some(&f.push),
        "team/app",
        "latest",
        Some(OCI_MANIFEST),
        &bytes,
    )
    .unwrap();
    r.delete_manifest(Some(&f.push), "team/app", "latest")
        .unwrap();
    assert_eq!(
        r.get_manifest(Some(&f.push), "team/app", "latest")
            .unwrap_err()
            .spec,
        OciCode::ManifestUnknown
    );
    let events = f.audit.events.lock().unwrap();
    assert!(events.iter().any(|e| e.action == "tag"
        && matches!(&e.outcome, Outcome::Denied { code, .. } if *code == Code::TagImmutable)));
}

#[test]
fn enforcement_admits_only_with_evidence() {
    let f = fixture();
    let r = &f.registry;
    f.settings.0.lock().unwrap().enforce_push = true;
    let config = upload(&f, &f.push, "team/app", b"{}");
    let layer = upload(&f, &f.push, "team/app", b"payload");
    let bytes = image(&config, &layer, None, None);
    let subject = sha256(&bytes);
    let e = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            "latest",
            Some(OCI_MANIFEST),
            &bytes,
        )
        .unwrap_err();
    assert_eq!((e.status, e.error.code()), (403, Code::RegistryNotAdmitted));
    // A bundle referrer pushed first (referrers need no gate), with a good bundle.
    let bundle = upload(&f, &f.push, "team/app", b"good bundle");
    let sig = image(&config, &bundle, Some(&subject), Some(BUNDLE_ARTIFACT_TYPE));
    let pushed = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            &sha256(&sig).to_string(),
            Some(OCI_MANIFEST),
            &sig,
        )
        .unwrap();
    assert_eq!(pushed.subject, Some(subject));
    r.put_manifest(
        Some(&f.push),
        "team/app",
        "latest",
        Some(OCI_MANIFEST),
        &bytes,
    )
    .unwrap();
    // Pull enforcement: a manifest whose evidence is a bad bundle is not served.
    f.settings.0.lock().unwrap().enforce_pull = true;
    assert!(r.get_manifest(Some(&f.push), "team/app", "latest").is_ok());
    let layer2 = upload(&f, &f.push, "team/app", b"other payload");
    let bytes2 = image(&config, &layer2, None, None);
    f.settings.0.lock().unwrap().enforce_push = false;
    r.put_manifest(
        Some(&f.push),
        "team/app",
        "unsigned",
        Some(OCI_MANIFEST),
        &bytes2,
    )
    .unwrap();
    let e = r
        .get_manifest(Some(&f.push), "team/app", "unsigned")
        .unwrap_err();
    assert_eq!(e.error.code(), Code::RegistryNotAdmitted);
    // The referrers index lists the signature, filtered by type.
    let (index, filtered) = r
        .referrers(
            Some(&f.push),
            "team/app",
            &subject,
            Some(BUNDLE_ARTIFACT_TYPE),
        )
        .unwrap();
    assert!(filtered);
    let v: serde_json::Value = serde_json::from_str(&index).unwrap();
    assert_eq!(v["manifests"][0]["digest"], sha256(&sig).to_string());
    let (index, _) = r
        .referrers(
            Some(&f.push),
            "team/app",
            &subject,
            Some("application/other"),
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&index).unwrap();
    assert_eq!(v["manifests"], serde_json::json!([]));
}

#[test]
fn size_limits_apply_to_manifests_and_blobs() {
    let f = fixture();
    let r = &f.registry;
    let e = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            "big",
            Some(OCI_MANIFEST),
            &[b' '; 4097],
        )
        .unwrap_err();
    assert_eq!(
        (e.status, e.spec, e.error.code()),
        (413, OciCode::SizeInvalid, Code::RegistryTooLarge)
    );
    let id = r.create_upload(Some(&f.push), "team/app").unwrap();
    let big = vec![0u8; (1 << 20) + 1];
    let e = r
        .append(Some(&f.push), "team/app", &id, None, &mut &big[..])
        .unwrap_err();
    assert_eq!((e.status, e.spec), (413, OciCode::SizeInvalid));
}

#[test]
fn a_write_is_not_acknowledged_without_its_audit_record() {
    let f = fixture();
    let r = &f.registry;
    let config = upload(&f, &f.push, "team/app", b"{}");
    let layer = upload(&f, &f.push, "team/app", b"l");
    f.audit.fail.store(true, Ordering::SeqCst);
    let bytes = image(&config, &layer, None, None);
    let e = r
        .put_manifest(
            Some(&f.push),
            "team/app",
            "latest",
            Some(OCI_MANIFEST),
            &bytes,
        )
        .unwrap_err();
    assert_eq!(e.error.code(), Code::WriteFailed);
    assert_eq!(e.status, 500);
}

#[test]
fn tag_list_pages() {
    let f = fixture();
    let r = &f.registry;
    for t in ["c", "a", "b", "d"] {
        push_image(&f, "team/app", t, b"x");
    }
    let (tags, link) = r.tags(Some(&f.push), "team/app", Some("2"), None).unwrap();
    assert_eq!(tags, ["a", "b"]);
    assert!(link.unwrap().contains("last=b"));
    let (tags, link) = r
        .tags(Some(&f.push), "team/app", Some("2"), Some("b"))
        .unwrap();
    assert_eq!(tags, ["c", "d"]);
    assert!(link.is_none());
    let (tags, _) = r.tags(Some(&f.push), "team/app", None, Some("a")).unwrap();
    assert_eq!(tags, ["b", "c", "d"]);
    assert_eq!(
        r.tags(Some(&f.push), "team/none", None, None)
            .unwrap_err()
            .spec,
        OciCode::NameUnknown
    );
}

#[test]
fn gc_collects_garbage_and_keeps_what_is_reachable() {
    let f = fixture();
    let r = &f.registry;
    let kept = push_image(&f, "team/app", "latest", b"kept layer");
    let garbage = upload(&f, &f.push, "team/app", b"garbage");
    let referenced = r.get_manifest(Some(&f.push), "team/app", "latest").unwrap();
    // Within the grace period nothing goes.
    assert_eq!(r.collect_garbage().unwrap().blobs, 0);
    f.clock.fetch_add(61, Ordering::SeqCst);
    let report = r.collect_garbage().unwrap();
    assert_eq!(report.blobs, 1);
    assert!(r.stat_blob(Some(&f.push), "team/app", &garbage).is_err());
    assert_eq!(
        r.stat_blob(Some(&f.push), "team/app", &sha256(b"kept layer"))
            .unwrap(),
        10
    );
    assert_eq!(referenced.digest, kept.digest);
    // Deleting the manifest makes its layer garbage.
    r.delete_manifest(Some(&f.push), "team/app", &kept.digest.to_string())
        .unwrap();
    assert_eq!(r.collect_garbage().unwrap().blobs, 2);
    // An expired session goes too.
    let id = r.create_upload(Some(&f.push), "team/app").unwrap();
    f.clock.fetch_add(601, Ordering::SeqCst);
    assert_eq!(r.collect_garbage().unwrap().uploads, 1);
    assert!(r.upload_status(Some(&f.push), "team/app", &id).is_err());
}

/// GC runs in a loop while pushers upload blobs and push manifests concurrently, with a clock
/// that moves so fast that every unreferenced blob is past the grace period by the next pass.
/// Pushes may be refused (MANIFEST_BLOB_UNKNOWN: GC took the blob first), but no stored manifest
/// may ever reference a blob that is gone.
#[test]
fn gc_racing_concurrent_pushes_never_leaves_a_dangling_manifest() {
    let f = fixture_with(0);
    for i in 0..5 {
        upload(&f, &f.push, "team/race", format!("garbage {i}").as_bytes());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let gc = {
        let r = Arc::clone(&f.registry);
        let clock = Arc::clone(&f.clock);
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut collected = 0;
            while !stop.load(Ordering::SeqCst) {
                clock.fetch_add(1, Ordering::SeqCst);
                collected += r.collect_garbage().unwrap().blobs;
            }
            collected
        })
    };
    let pushers: Vec<_> = (0..4)
        .map(|p| {
            let r = Arc::clone(&f.registry);
            let token = f.push.clone();
            std::thread::spawn(move || {
                let mut stored = Vec::new();
                let mut refused = 0;
                for i in 0..25 {
                    let repo = "team/race";
                    let up = |data: &[u8]| -> Option<Digest> {
                        let id = r.create_upload(Some(&token), repo).ok()?;
                        let d = sha256(data);
                        r.finish_upload(Some(&token), repo, &id, &d, Some(&mut &data[..]))
                            .ok()?;
                        Some(d)
                    };
                    let (Some(config), Some(layer)) =
                        (up(b"{}"), up(format!("layer {p} {i}").as_bytes()))
                    else {
                        continue;
                    };
                    let bytes = image(&config, &layer, None, None);
                    match r.put_manifest(
                        Some(&token),
                        repo,
                        &format!("t{p}-{i}"),
                        Some(OCI_MANIFEST),
                        &bytes,
                    ) {
                        Ok(m) => stored.push((m.digest, config, layer)),
                        Err(e) => {
                            assert_eq!(e.spec, OciCode::ManifestBlobUnknown, "{e:?}");
                            refused += 1;
                        }
                    }
                }
                (stored, refused)
            })
        })
        .collect();
    let mut stored = Vec::new();
    for p in pushers {
        let (s, _refused) = p.join().unwrap();
        stored.extend(s);
    }
    stop.store(true, Ordering::SeqCst);
    let collected = gc.join().unwrap();
    // Far more GC passes than pushes: garbage was collected all along (unreferenced configs of
    // refused pushes at least, or earlier layers), and every stored manifest is whole.
    let r = &f.registry;
    f.clock.fetch_add(10, Ordering::SeqCst);
    r.collect_garbage().unwrap();
    assert!(!stored.is_empty());
    for (manifest, config, layer) in &stored {
        assert!(
            r.get_manifest(Some(&f.push), "team/race", &manifest.to_string())
                .is_ok()
        );
        for blob in [config, layer] {
            let (mut reader, _) = r.open_blob(Some(&f.push), "team/race", blob).unwrap();
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).unwrap();
            assert_eq!(sha256(&bytes), *blob);
        }
    }
    assert!(collected >= 5, "collected {collected}");
}
