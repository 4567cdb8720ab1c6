//! `custody tuf` and `custody fetch` end to end: a repository served over loopback HTTP (by
//! the interop venv's `python -m http.server`, and by `custody serve --tuf-repo`), a root
//! rotation, refused downloads and requests, and the server re-signing the online roles.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::time::Duration;

use crate::support::Scratch;

struct HttpDir(Child);

impl Drop for HttpDir {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path) -> (HttpDir, String) {
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python)
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = HttpDir(child);
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (server, format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("http.server did not start");
}

#[test]
fn tuf_repository_publish_rotate_and_fetch() {
    let s = Scratch::new();
    for k in ["root", "root2", "targets", "snapshot"] {
        s.key(k, "ed25519");
    }
    s.key("timestamp", "ecdsa-p256");
    s.fails(
        &[
            "tuf",
            "init",
            "--repo",
            "repo",
            "--root-key",
            "root.key",
            "--targets-key",
            "targets.key",
            "--snapshot-key",
            "snapshot.key",
            "--timestamp-key",
            "timestamp.key",
            "--bins",
            "100",
        ],
        "CUSTODY-E2050",
    );
    s.ok(&[
        "tuf",
        "init",
        "--repo",
        "repo",
        "--root-key",
        "root.key",
        "--targets-key",
        "targets.key",
        "--snapshot-key",
        "snapshot.key",
        "--timestamp-key",
        "timestamp.key",
        "--bins",
        "32",
    ]);
    s.write("app.txt", b"the release\n");
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "app.txt",
        "--name",
        "apps/app.txt",
    ]);
    let (_server, url) = serve(&s.path("repo"));
    let fetch = |out: &str| {
        vec![
            "fetch".to_owned(),
            "apps/app.txt".to_owned(),
            "--tuf-root".to_owned(),
            "repo/metadata/1.root.json".to_owned(),
            "--from".to_owned(),
            url.clone(),
            "--out".to_owned(),
            out.to_owned(),
            "--cache".to_owned(),
            "cache".to_owned(),
        ]
    };
    let args = fetch("got.txt");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let v = s.ok(&args);
    assert_eq!(v["rootVersion"], 1);
    assert_eq!(s.read("got.txt"), b"the release\n");

    s.ok(&[
        "tuf",
        "rotate-root",
        "--repo",
        "repo",
        "--new-root-key",
        "root2.key",
        "--root-key",
        "root.key",
    ]);
    let v = s.ok(&args);
    assert_eq!(v["rootVersion"], 2);

    // A tampered target of the same length is refused and nothing is written.
    let sha = custody_crypto::sha256(b"the release\n").hex();
    s.write(&format!("repo/targets/apps/{sha}.app.txt"), b"the evil one");
    let args = fetch("bad.txt");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.fails(&args, "CUSTODY-E1073");
    assert!(!s.path("bad.txt").exists());

    // Offline roles: a new targets version, another root signature; not the online roles.
    std::fs::write(
        s.path(&format!("repo/targets/apps/{sha}.app.txt")),
        b"the release\n",
    )
    .unwrap();
    let v = s.ok(&[
        "tuf",
        "sign",
        "--repo",
        "repo",
        "targets",
        "--key",
        "targets.key",
    ]);
    assert_eq!(v["version"], 2);
    let v = s.ok(&[
        "tuf",
        "sign",
        "--repo",
        "repo",
        "root",
        "--key",
        "root2.key",
    ]);
    assert_eq!(v["version"], 2);
    s.fails(
        &[
            "tuf",
            "sign",
            "--repo",
            "repo",
            "snapshot",
            "--key",
            "snapshot.key",
        ],
        "CUSTODY-E2050",
    );
    // A root rotation that the current root key does not sign is refused.
    s.fails(
        &[
            "tuf",
            "rotate-root",
            "--repo",
            "repo",
            "--new-root-key",
            "root.key",
            "--root-key",
            "root.key",
        ],
        "CUSTODY-E2050",
    );
    let v = s.ok(&["tuf", "resign", "--repo", "repo"]);
    assert!(v["version"].as_u64().unwrap() > 2, "{v}");
    let good = fetch("again.txt");
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let v = s.ok(&good);
    assert_eq!(v["rootVersion"], 2);
    assert_eq!(s.read("again.txt"), b"the release\n");

    let mut missing = args.clone();
    missing[1] = "apps/none.txt";
    s.fails(&missing, "CUSTODY-E1074");
}

/// One raw HTTP/1.1 GET (the path exactly as given, no client-side normalisation): status,
/// lower-cased headers and body.
fn raw_get(url: &str, path: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::{Read as _, Write as _};
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, raw[split + 4..].to_vec())
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn init_args() -> Vec<&'static str> {
    vec![
        "tuf",
        "init",
        "--repo",
        "repo",
        "--root-key",
        "root.key",
        "--targets-key",
        "targets.key",
        "--snapshot-key",
        "snapshot.key",
        "--timestamp-key",
        "timestamp.key",
        "--bins",
        "16",
    ]
}

fn fetch_args(url: &str, target: &str, out: &str) -> Vec<String> {
    [
        "fetch",
        target,
        "--tuf-root",
        "repo/metadata/1.root.json",
        "--from",
        &format!("{url}/tuf"),
        "--out",
        out,
        "--cache",
        "cache",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn tuf_repository_served_by_custody_serve() {
    let s = Scratch::new();
    for k in ["root", "targets", "snapshot", "timestamp"] {
        s.key(k, "ed25519");
    }
    s.ok(&init_args());
    s.write("app.txt", b"the release\n");
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "app.txt",
        "--name",
        "apps/app.txt",
    ]);
    s.write("notes.txt", b"read me\n");
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "notes.txt",
        "--name",
        "docs/release notes.txt",
    ]);
    s.write("secret.txt", b"not for clients\n");
    // A directory that is not a TUF repository is refused before anything starts.
    s.fails(
        &[
            "serve",
            "--data",
            "data",
            "--listen",
            "127.0.0.1:0",
            "--tuf-repo",
            ".",
        ],
        "CUSTODY-E2050",
    );
    assert!(!s.path("data").exists());
    let repo = s.path("repo");
    let server = crate::support::Server::start_with(
        &s.path("data"),
        &["--tuf-repo", repo.to_str().unwrap()],
    );

    for (target, out, want) in [
        ("apps/app.txt", "got.txt", &b"the release\n"[..]),
        ("docs/release notes.txt", "notes-got.txt", b"read me\n"),
    ] {
        let args = fetch_args(&server.url, target, out);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let v = s.ok(&args);
        assert_eq!(v["rootVersion"], 1);
        assert_eq!(s.read(out), want);
    }

    // python-tuf's ngclient refreshes and downloads from the same URL.
    let python = std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../custody-tuf/tests/it/tuf_interop.py");
    for target in ["apps/app.txt", "docs/release notes.txt"] {
        let want = if target == "apps/app.txt" {
            &b"the release\n"[..]
        } else {
            b"read me\n"
        };
        let out = Command::new(&python)
            .arg(&script)
            .arg(format!("{}/tuf", server.url))
            .arg(s.path("ngclient-cache"))
            .arg(s.path("repo/metadata/1.root.json"))
            .arg(target)
            .arg(format!(
                "ok:{}:1",
                want.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ngclient {target}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // Caching: what is replaced in place is revalidated; versioned and hashed files are not.
    let sha = custody_crypto::sha256(b"the release\n").hex();
    for (path, cache, body) in [
        (
            "/tuf/metadata/timestamp.json",
            "no-cache",
            s.read("repo/metadata/timestamp.json"),
        ),
        (
            "/tuf/metadata/root.json",
            "no-cache",
            s.read("repo/metadata/root.json"),
        ),
        (
            "/tuf/metadata/1.root.json",
            "no-cache",
            s.read("repo/metadata/1.root.json"),
        ),
        (
            "/tuf/metadata/1.targets.json",
            "public, max-age=31536000, immutable",
            s.read("repo/metadata/1.targets.json"),
        ),
        (
            &format!("/tuf/targets/apps/{sha}.app.txt"),
            "public, max-age=31536000, immutable",
            b"the release\n".to_vec(),
        ),
    ] {
        let (status, headers, got) = raw_get(&server.url, path);
        assert_eq!(status, 200, "{path}");
        assert_eq!(header(&headers, "cache-control"), Some(cache), "{path}");
        assert_eq!(
            header(&headers, "content-length"),
            Some(body.len().to_string().as_str()),
            "{path}"
        );
        assert_eq!(got, body, "{path}");
    }

    // Nothing outside the TUF layout: settings, lock, staging files, traversal, symlinks.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(
            s.path("secret.txt"),
            repo.join(format!("targets/apps/{sha}.evil.txt")),
        )
        .unwrap();
        std::os::unix::fs::symlink(s.path("secret.txt"), repo.join("metadata/9.secret.json"))
            .unwrap();
        std::os::unix::fs::symlink(s.path("."), repo.join("targets/outside")).unwrap();
    }
    std::fs::write(repo.join(".incoming-target"), b"staged").unwrap();
    for path in [
        "/tuf/metadata/../custody-tuf.json".to_owned(),
        "/tuf/metadata/%2e%2e%2fcustody-tuf.json".to_owned(),
        "/tuf/metadata/%2E%2E%2F.custody-tuf.lock".to_owned(),
        "/tuf/metadata/..%2fcustody-tuf.json".to_owned(),
        "/tuf/targets/../custody-tuf.json".to_owned(),
        "/tuf/targets/%2e%2e/custody-tuf.json".to_owned(),
        "/tuf/targets/%2e%2e/.custody-tuf.lock".to_owned(),
        "/tuf/targets/%2e%2e/.incoming-target".to_owned(),
        "/tuf/targets/apps/..%2f..%2fcustody-tuf.json".to_owned(),
        "/tuf/custody-tuf.json".to_owned(),
        "/tuf/.custody-tuf.lock".to_owned(),
        "/tuf/metadata/".to_owned(),
        "/tuf/targets/apps".to_owned(),
        "/tuf/targets/apps/app.txt".to_owned(),
        format!("/tuf/targets/apps/{sha}.evil.txt"),
        "/tuf/metadata/9.secret.json".to_owned(),
        format!("/tuf/targets/outside/{sha}.secret.txt"),
        format!("/tuf/targets/outside/repo/targets/apps/{sha}.app.txt"),
        "/tuf/targets/outside/secret.txt".to_owned(),
        "/tuf/metadata/%ff.root.json".to_owned(),
        "/tuf/metadata/1.root.json%00".to_owned(),
    ] {
        let (status, _, body) = raw_get(&server.url, &path);
        assert_eq!(status, 404, "{path}");
        let body = String::from_utf8_lossy(&body);
        assert!(
            !body.contains("not for clients") && !body.contains("onlineKeys"),
            "{path}: {body}"
        );
    }
}

#[test]
fn custody_serve_resigns_expiring_online_roles() {
    let s = Scratch::new();
    for k in ["root", "targets", "snapshot", "timestamp"] {
        s.key(k, "ed25519");
    }
    let load = |name: &str| {
        custody_app::keys::load_signing_key(&s.path(name), &mut || {
            Ok(secrecy::SecretString::from(crate::support::PASS))
        })
        .unwrap()
    };
    let [root, targets, snapshot, timestamp] =
        ["root.key", "targets.key", "snapshot.key", "timestamp.key"].map(load);
    let config = custody_app::tuf::RepoConfig {
        root_keys: vec![root.public_key().clone()],
        root_threshold: 1,
        targets_key: targets.public_key().clone(),
        snapshot_key: snapshot.public_key().clone(),
        timestamp_key: timestamp.public_key().clone(),
        bins_key: snapshot.public_key().clone(),
        bit_length: 4,
        name_prefix: "bins".into(),
    };
    let signers: [&dyn custody_crypto::Signer; 4] = [&root, &targets, &snapshot, &timestamp];
    // Signed two days ago: the timestamp (valid for a day) has expired.
    let then = time::OffsetDateTime::now_utc() - time::Duration::days(2);
    let repo = s.path("repo");
    custody_app::tuf::init(
        &repo,
        &config,
        &signers,
        &custody_app::tuf::OnlineKeyFiles {
            snapshot: s.path("snapshot.key"),
            timestamp: s.path("timestamp.key"),
            bins: s.path("snapshot.key"),
        },
        then,
    )
    .unwrap();
    let stale: serde_json::Value =
        serde_json::from_slice(&s.read("repo/metadata/timestamp.json")).unwrap();
    assert_eq!(stale["signed"]["version"], 1);

    let server = crate::support::Server::start_with(
        &s.path("data"),
        &["--tuf-repo", repo.to_str().unwrap()],
    );
    let mut fresh = serde_json::Value::Null;
    for _ in 0..100 {
        let (status, _, body) = raw_get(&server.url, "/tuf/metadata/timestamp.json");
        assert_eq!(status, 200);
        fresh = serde_json::from_slice(&body).unwrap();
        if fresh["signed"]["version"] != 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(fresh["signed"]["version"], 2, "{fresh}");
    assert!(
        fresh["signed"]["expires"].as_str().unwrap() > stale["signed"]["expires"].as_str().unwrap()
    );
    // A client accepts it (it refuses expired metadata), and fetches a target added meanwhile.
    s.write("app.txt", b"fresh\n");
    s.ok(&["tuf", "add", "--repo", "repo", "app.txt"]);
    let args = fetch_args(&server.url, "app.txt", "got.txt");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s.ok(&args);
    assert_eq!(s.read("got.txt"), b"fresh\n");
}

/// `fetch ARGS --trust-root root.json --role ROLE` (as [`fetch_args`]).
fn fetch_verified(url: &str, target: &str, out: &str, role: &str) -> Vec<String> {
    let mut args = fetch_args(url, target, out);
    args.extend(["--trust-root", "root.json", "--role", role].map(str::to_owned));
    args
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// The `signed` body of whichever published targets/bin metadata lists `target`.
fn listing(repo: &std::path::Path, target: &str) -> serde_json::Value {
    for entry in std::fs::read_dir(repo.join("metadata")).unwrap() {
        let path = entry.unwrap().path();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        if let Some(t) = v["signed"]["targets"].get(target) {
            return t.clone();
        }
    }
    panic!("no metadata lists {target}");
}

#[test]
fn fetch_verifies_the_custody_bundles_a_target_carries() {
    let s = Scratch::new();
    for k in [
        "tufroot",
        "targets",
        "snapshot",
        "timestamp",
        "root",
        "rogue",
    ] {
        s.key(k, "ed25519");
    }
    s.key("release", "ecdsa-p256");
    s.key("build", "ed25519");
    s.trust_root("root.json", &["release=release.pub", "build=build.pub"]);
    s.write("app.tar", b"release artifact");
    s.ok(&["sign", "app.tar", "--key", "release.key"]);
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "rogue.key",
        "--bundle",
        "rogue.json",
    ]);
    let mut init = init_args();
    init[5] = "tufroot.key";
    s.ok(&init);

    let version = |s: &Scratch| {
        let v: serde_json::Value =
            serde_json::from_slice(&s.read("repo/metadata/timestamp.json")).unwrap();
        v["signed"]["version"].as_u64().unwrap()
    };
    let before = version(&s);
    let oci = format!("sha256:{}", "ab".repeat(32));
    // A malformed bundle or OCI digest is refused before anything is published.
    s.write("junk.json", b"{\"not\": \"a bundle\"}");
    s.fails(
        &[
            "tuf",
            "add",
            "--repo",
            "repo",
            "app.tar",
            "--bundle",
            "junk.json",
        ],
        "CUSTODY-E1014",
    );
    s.fails(
        &[
            "tuf",
            "add",
            "--repo",
            "repo",
            "app.tar",
            "--bundle",
            "app.tar.sigstore.json",
            "--oci-digest",
            "sha256:AB",
        ],
        "CUSTODY-E2050",
    );
    assert_eq!(version(&s), before);
    let v = s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "app.tar",
        "--name",
        "apps/app.tar",
        "--bundle",
        "app.tar.sigstore.json",
        "--oci-digest",
        &oci,
    ]);
    // The file and its bundle, in one commit.
    assert_eq!(v["added"][0]["name"], "apps/app.tar.sigstore.json");
    assert_eq!(v["added"][1]["name"], "apps/app.tar");
    assert_eq!(version(&s), before + 1);
    let bundle_sha = custody_crypto::sha256(&s.read("app.tar.sigstore.json")).hex();
    let custom = &listing(&s.path("repo"), "apps/app.tar")["custom"]["custody"];
    assert_eq!(custom["oci_digest"], oci.as_str());
    assert_eq!(custom["bundles"][0]["target"], "apps/app.tar.sigstore.json");
    assert_eq!(custom["bundles"][0]["sha256"], bundle_sha.as_str());

    // The same artifact with a bundle by a key the trust root does not hold; and one with none.
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "app.tar",
        "--name",
        "apps/rogue.tar",
        "--bundle",
        "rogue.json",
    ]);
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "app.tar",
        "--name",
        "apps/plain.tar",
    ]);

    let repo = s.path("repo");
    let server = crate::support::Server::start_with(
        &s.path("data"),
        &["--tuf-repo", repo.to_str().unwrap()],
    );
    let url = &server.url;

    let v = s.ok(&strs(&fetch_verified(
        url,
        "apps/app.tar",
        "got.tar",
        "release",
    )));
    assert_eq!(s.read("got.tar"), b"release artifact");
    assert_eq!(v["bundles"][0]["target"], "apps/app.tar.sigstore.json");
    assert_eq!(v["bundles"][0]["role"], "release");

    // Every refusal writes nothing.
    for (target, out, role, code) in [
        // Signed by a key of the trust root, but not of the role asked for.
        ("apps/app.tar", "build.tar", "build", "CUSTODY-E1005"),
        // Signed by a key the trust root does not hold.
        ("apps/rogue.tar", "rogue.tar", "release", "CUSTODY-E1004"),
        // --trust-root and no bundle to verify with: fail closed.
        ("apps/plain.tar", "plain.tar", "release", "CUSTODY-E1075"),
    ] {
        s.fails(&strs(&fetch_verified(url, target, out, role)), code);
        assert!(!s.path(out).exists(), "{target}");
    }
    // A target listing bundles is not fetched without a trust root to check them.
    s.fails(
        &strs(&fetch_args(url, "apps/app.tar", "unchecked.tar")),
        "CUSTODY-E2051",
    );
    assert!(!s.path("unchecked.tar").exists());
    // Without --trust-root, a target with no bundle is fetched on TUF's word alone.
    s.ok(&strs(&fetch_args(url, "apps/plain.tar", "plain.tar")));
    assert_eq!(s.read("plain.tar"), b"release artifact");

    // A tampered bundle (same length) is refused by TUF before it is parsed.
    let stored = format!("repo/targets/apps/{bundle_sha}.app.tar.sigstore.json");
    let mut evil = s.read(&stored);
    let at = evil.iter().position(|b| *b == b'"').unwrap() + 1;
    evil[at] ^= 0x01;
    std::fs::write(s.path(&stored), &evil).unwrap();
    s.fails(
        &strs(&fetch_verified(
            url,
            "apps/app.tar",
            "tampered.tar",
            "release",
        )),
        "CUSTODY-E1073",
    );
    assert!(!s.path("tampered.tar").exists());
}

#[test]
fn the_trust_root_is_a_tuf_target() {
    let s = Scratch::new();
    for k in ["tufroot", "targets", "snapshot", "timestamp", "root"] {
        s.key(k, "ed25519");
    }
    s.key("release", "ecdsa-p256");
    s.key("release2", "ed25519");
    s.trust_root("root.json", &["release=release.pub"]);
    // Version 2 of the trust root, signed by version 1's root key.
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "root2.json",
        "--from",
        "root.json",
        "--key",
        "release=release2.pub",
    ]);
    s.ok(&["trust-root", "sign", "root2.json", "--key", "root.key"]);
    let mut init = init_args();
    init[5] = "tufroot.key";
    s.ok(&init);
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "root2.json",
        "--name",
        "custody/trust-root.json",
    ]);
    let repo = s.path("repo");
    let server = crate::support::Server::start_with(
        &s.path("data"),
        &["--tuf-repo", repo.to_str().unwrap()],
    );
    s.ok(&strs(&fetch_args(
        &server.url,
        "custody/trust-root.json",
        "trust-root.json",
    )));
    let v = s.ok(&[
        "trust-root",
        "verify",
        "trust-root.json",
        "--previous",
        "root.json",
    ]);
    assert_eq!(v["version"], 2);
    // A version the previous one did not sign is not a rotation, even when TUF delivered it.
    s.key("usurper", "ed25519");
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "evil.json",
        "--root",
        "usurper.pub",
        "--key",
        "release=release.pub",
    ]);
    let mut v: serde_json::Value = serde_json::from_slice(&s.read("evil.json")).unwrap();
    v["signed"]["version"] = serde_json::Value::from(2);
    s.write("evil.json", v.to_string().as_bytes());
    s.ok(&["trust-root", "sign", "evil.json", "--key", "usurper.key"]);
    s.ok(&[
        "tuf",
        "add",
        "--repo",
        "repo",
        "evil.json",
        "--name",
        "custody/trust-root.json",
    ]);
    s.ok(&strs(&fetch_args(
        &server.url,
        "custody/trust-root.json",
        "evil-fetched.json",
    )));
    s.fails(
        &[
            "trust-root",
            "verify",
            "evil-fetched.json",
            "--previous",
            "root.json",
        ],
        "CUSTODY-E1010",
    );
}
