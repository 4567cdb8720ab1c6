//! `custody serve --tuf-repo DIR --tuf-publish ENV`: a promotion to ENV publishes the artifact
//! to the TUF repository with its bundles, and `custody fetch` downloads and verifies it.

use serde_json::Value;

use crate::deploy::setup_with;
use crate::support::Scratch;

/// The newest description of `target` among the repository's bins.
fn published_target(s: &Scratch, target: &str) -> Value {
    let mut best: Option<(u64, Value)> = None;
    for entry in std::fs::read_dir(s.path("tufrepo/metadata")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.contains(".bins-") {
            continue;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let version = v["signed"]["version"].as_u64().unwrap();
        if let Some(t) = v["signed"]["targets"].get(target)
            && best.as_ref().is_none_or(|(b, _)| version > *b)
        {
            best = Some((version, t.clone()));
        }
    }
    best.expect("the target is published").1
}

fn fetch_args<'a>(url: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut args = vec![
        "fetch",
        "prod/acme/hello/hello",
        "--tuf-root",
        "tufrepo/metadata/1.root.json",
        "--from",
        url,
        "--out",
        out,
        "--cache",
        "tufcache",
    ];
    args.extend_from_slice(extra);
    args.into_iter().map(str::to_owned).collect()
}

#[test]
fn tuf_publishes_each_promotion_and_fetch_verifies_its_bundles() {
    let w = setup_with(|s| {
        for k in ["tuf-root", "tuf-targets", "tuf-online"] {
            s.key(k, "ed25519");
        }
        s.ok(&[
            "tuf",
            "init",
            "--repo",
            "tufrepo",
            "--root-key",
            "tuf-root.key",
            "--targets-key",
            "tuf-targets.key",
            "--snapshot-key",
            "tuf-online.key",
            "--timestamp-key",
            "tuf-online.key",
            "--bins",
            "16",
        ]);
        vec![
            "--tuf-repo".to_owned(),
            s.path("tufrepo").to_str().unwrap().to_owned(),
            "--tuf-publish".to_owned(),
            "prod".to_owned(),
        ]
    });
    let url = format!("{}/tuf", w.server.url);
    let v1 = w.reference("acme/hello:v1");
    let good = w.push(
        "dist/out/hello",
        &v1,
        "release.key",
        &["--bundle", "dist/provenance.sigstore.json"],
    );
    w.approve(&v1, "alice.key", &[]);
    w.approve(&v1, "bob.key", &[]);
    // A publication that fails does not undo the promotion: the answer says why.
    w.s.write("tufrepo/targets/prod", b"in the way");
    let promoted = w.ok(&w.promote_args(&v1));
    assert_eq!(promoted["digest"], good.as_str());
    assert_eq!(promoted["sequence"], 1);
    assert_eq!(promoted["tuf"]["published"], false, "{promoted}");
    assert!(
        promoted["tuf"]["error"]["code"]
            .as_str()
            .unwrap()
            .starts_with("CUSTODY-E"),
        "{promoted}"
    );
    std::fs::remove_file(w.s.path("tufrepo/targets/prod")).unwrap();

    // Another artifact (same file, another manifest) promoted and published.
    let v2 = w.reference("acme/hello:v2");
    let second = w.push(
        "dist/out/hello",
        &v2,
        "release.key",
        &[
            "--bundle",
            "dist/provenance.sigstore.json",
            "--artifact-type",
            "application/vnd.acme.second",
        ],
    );
    w.approve(&v2, "alice.key", &[]);
    w.approve(&v2, "bob.key", &[]);
    let promoted = w.ok(&w.promote_args(&v2));
    assert_eq!(promoted["sequence"], 2);
    assert_eq!(
        promoted["tuf"],
        serde_json::json!({"published": true, "target": "prod/acme/hello/hello"}),
        "{promoted}"
    );

    // The target carries the OCI digest, the manifest, and the bundles with their roles.
    let target = published_target(&w.s, "prod/acme/hello/hello");
    let custody = &target["custom"]["custody"];
    assert_eq!(custody["oci_digest"], second.as_str(), "{target}");
    assert_eq!(
        custody["manifest"]["target"],
        "prod/acme/hello/hello.manifest.json"
    );
    let mut roles: Vec<&str> = custody["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["role"].as_str().unwrap())
        .collect();
    roles.sort_unstable();
    // The release signature, the promotion record (release) and the provenance (build).
    assert_eq!(roles, ["build", "release", "release"], "{target}");

    // Without a trust root the listed bundles make the fetch fail closed.
    let args = fetch_args(&url, "refused", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    w.s.fails(&args, "CUSTODY-E2051");
    assert!(!w.s.path("refused").exists());

    let args = fetch_args(
        &url,
        "got",
        &["--trust-root", "trust-root.json", "--role", "release"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let fetched = w.s.ok(&args);
    assert_eq!(w.s.read("got"), w.s.read("dist/out/hello"));
    assert_eq!(fetched["bundles"].as_array().unwrap().len(), 3, "{fetched}");

    // A rollback is published too: a new version of the target, naming the first artifact.
    let url_server = w.server.url.clone();
    let rolled = w.ok(&[
        "rollback",
        "--env",
        "prod",
        "--server",
        &url_server,
        "--key",
        "release.key",
        "--trust-root",
        "trust-root.json",
        "--log",
        &url_server,
    ]);
    assert_eq!(rolled["digest"], good.as_str());
    assert_eq!(rolled["tuf"]["target"], "prod/acme/hello/hello", "{rolled}");
    let target = published_target(&w.s, "prod/acme/hello/hello");
    assert_eq!(target["custom"]["custody"]["oci_digest"], good.as_str());
    let args = fetch_args(
        &url,
        "rolled",
        &["--trust-root", "trust-root.json", "--role", "release"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    w.s.ok(&args);
    assert_eq!(w.s.read("rolled"), w.s.read("dist/out/hello"));

    // Each bundle is verified with the role the listing names, and at least one must be by
    // the role asked for: no approver signed the file.
    let args = fetch_args(
        &url,
        "other",
        &["--trust-root", "trust-root.json", "--role", "approver"],
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    w.s.fails(&args, "CUSTODY-E1075");
    assert!(!w.s.path("other").exists());
}
