//! The OCI registry of `custody serve`, end to end over HTTP: the distribution spec's API
//! (mirroring the conformance suite's checks), authentication, immutable tags, enforcement,
//! interop with skopeo and the `oras` Python client, and a SIGKILL during concurrent pushes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use custody_crypto::{random_bytes, sha256, sha512};
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::support::{Scratch, Server};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// The registry config the tests run with: `open/*` unenforced with immutable `v*` tags,
/// `public/*` unenforced with anonymous pull, and everything else the safe default.
const CONFIG: &str = r#"
[[repository]]
pattern = "open/*"
enforce_push = false
enforce_pull = false
immutable_tags = ["v*"]

[[repository]]
pattern = "public/*"
enforce_push = false
enforce_pull = false
anonymous_pull = true
"#;

pub(crate) struct Registry {
    pub(crate) server: Server,
    pub(crate) scratch: Scratch,
    pub(crate) token: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map_or("", |v| v.to_str().unwrap_or(""))
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// Asserts the spec's error body with `spec` code and a custody code.
    fn spec_error(&self, status: u16, spec: &str) -> String {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let v = self.json();
        assert_eq!(v["errors"][0]["code"], spec, "{v}");
        assert!(!v["errors"][0]["message"].as_str().unwrap().is_empty());
        let custody = v["errors"][0]["detail"]["custody_code"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(custody.starts_with("CUSTODY-E"), "{v}");
        assert!(
            !v["errors"][0]["detail"]["hint"]
                .as_str()
                .unwrap()
                .is_empty()
        );
        custody
    }
}

impl Registry {
    pub(crate) fn start() -> Self {
        let scratch = Scratch::new();
        let config = scratch.write("registry.toml", CONFIG.as_bytes());
        let data = scratch.path("data");
        let server = Server::start_with(&data, &["--config", config.to_str().unwrap()]);
        let token = scratch.ok(&[
            "token",
            "create",
            "--data",
            "data",
            "--scope",
            "repository:open/*:pull,push,delete",
            "--scope",
            "repository:public/*:pull,push,delete",
            "--scope",
            "repository:signed/*:pull,push",
        ])["token"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            server,
            scratch,
            token,
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn restart(&mut self) {
        let config = self.scratch.path("registry.toml");
        self.server = Server::start_with(
            &self.scratch.path("data"),
            &["--config", config.to_str().unwrap()],
        );
    }

    pub(crate) fn host(&self) -> String {
        self.server.url.trim_start_matches("http://").to_owned()
    }

    pub(crate) fn token_with(&self, scope: &str) -> String {
        self.scratch
            .ok(&["token", "create", "--data", "data", "--scope", scope])["token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A request with `auth` as the Authorization header value (None: anonymous).
    pub(crate) fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.server.url)
        };
        let mut req = self.http.request(method.parse().unwrap(), url).body(body);
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.runtime.block_on(async {
            let r = req.send().await.unwrap();
            Reply {
                status: r.status().as_u16(),
                headers: r.headers().clone(),
                body: r.bytes().await.unwrap().to_vec(),
            }
        })
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    fn basic(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(format!("ci:{}", self.token));
        format!("Basic {b64}")
    }

    /// Monolithic upload; returns the digest.
    pub(crate) fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let digest = sha256(data).to_string();
        let r = self.call(
            "POST",
            &format!("/v2/{repo}/blobs/uploads/?digest={digest}"),
            Some(&self.bearer()),
            &[("content-type", "application/octet-stream")],
            data.to_vec(),
        );
        assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
        digest
    }

    pub(crate) fn put_manifest(&self, repo: &str, reference: &str, manifest: &[u8]) -> Reply {
        self.call(
            "PUT",
            &format!("/v2/{repo}/manifests/{reference}"),
            Some(&self.bearer()),
            &[("content-type", OCI_MANIFEST)],
            manifest.to_vec(),
        )
    }
}

pub(crate) fn image_manifest(config: &str, layers: &[(&str, usize)], extra: Value) -> Vec<u8> {
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": layers.iter().map(|(d, s)| json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": d,
            "size": s,
        })).collect::<Vec<_>>(),
    });
    if let (Some(m), Some(extra)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            m.insert(k.clone(), v.clone());
        }
    }
    m.to_string().into_bytes()
}

#[test]
fn authentication_basic_bearer_challenge_and_token_endpoint() {
    let reg = Registry::start();
    let r = reg.call("GET", "/v2/", None, &[], vec![]);
    r.spec_error(401, "UNAUTHORIZED");
    let challenge = r.header("www-authenticate");
    assert!(
        challenge.starts_with("Bearer realm=\"http://"),
        "{challenge}"
    );
    assert!(challenge.contains("/auth/token\""), "{challenge}");
    assert_eq!(
        reg.call("GET", "/v2/", Some(&reg.basic()), &[], vec![])
            .status,
        200
    );
    assert_eq!(
        reg.call("GET", "/v2/", Some(&reg.bearer()), &[], vec![])
            .status,
        200
    );
    let r = reg.call(
        "GET",
        "/v2/",
        Some("Bearer custody_0000000000000000_x"),
        &[],
        vec![],
    );
    assert_eq!(r.status, 401);
    // The token endpoint returns exactly the credential presented, nothing more powerful.
    let r = reg.call(
        "GET",
        "/auth/token?service=custody&scope=repository:open/a:pull",
        Some(&reg.basic()),
        &[],
        vec![],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["token"], reg.token.as_str());
    let r = reg.call("GET", "/auth/token?service=custody", None, &[], vec![]);
    assert_eq!(r.json()["token"], "anonymous");
    // A repository request without a token names its scope in the challenge.
    let r = reg.call("GET", "/v2/open/app/tags/list", None, &[], vec![]);
    r.spec_error(401, "UNAUTHORIZED");
    assert!(
        r.header("www-authenticate")
            .contains("scope=\"repository:open/app:pull\"")
    );
    // The anonymous placeholder is no token: enough for the ping, not for a repository that
    // does not allow anonymous pulls.
    assert_eq!(
        reg.call("GET", "/v2/", Some("Bearer anonymous"), &[], vec![])
            .status,
        200
    );
    let r = reg.call(
        "GET",
        "/v2/open/app/tags/list",
        Some("Bearer anonymous"),
        &[],
        vec![],
    );
    assert_eq!(r.status, 401);
    // A token without push is refused a push (403 DENIED), and names are checked.
    let pull = format!("Bearer {}", reg.token_with("repository:open/*:pull"));
    let r = reg.call(
        "POST",
        "/v2/open/app/blobs/uploads/",
        Some(&pull),
        &[],
        vec![],
    );
    assert_eq!(r.spec_error(403, "DENIED"), "CUSTODY-E1018");
    let r = reg.call(
        "POST",
        "/v2/open/App/blobs/uploads/",
        Some(&reg.bearer()),
        &[],
        vec![],
    );
    assert_eq!(r.spec_error(400, "NAME_INVALID"), "CUSTODY-E2020");
}

#[test]
fn blobs_monolithic_chunked_ranges_and_bad_digests() {
    let reg = Registry::start();
    let auth = reg.bearer();
    let data = b"0123456789abcdef";
    let digest = reg.push_blob("open/app", data);
    let r = reg.call(
        "HEAD",
        &format!("/v2/open/app/blobs/{digest}"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), "16");
    assert_eq!(r.header("docker-content-digest"), digest);
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/blobs/{digest}"),
        Some(&auth),
        &[("range", "bytes=2-5")],
        vec![],
    );
    assert_eq!((r.status, r.body.as_slice()), (206, &b"2345"[..]));
    assert_eq!(r.header("content-range"), "bytes 2-5/16");
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/blobs/{digest}"),
        Some(&auth),
        &[("range", "bytes=99-")],
        vec![],
    );
    assert_eq!(r.status, 416);
    // Not linked to another repository.
    let r = reg.call(
        "GET",
        &format!("/v2/open/other/blobs/{digest}"),
        Some(&auth),
        &[],
        vec![],
    );
    r.spec_error(404, "BLOB_UNKNOWN");

    // A bad digest: 400 DIGEST_INVALID, and nothing is left behind.
    let wrong = sha256(b"not the content").to_string();
    let r = reg.call(
        "POST",
        &format!("/v2/open/app/blobs/uploads/?digest={wrong}"),
        Some(&auth),
        &[],
        b"the content".to_vec(),
    );
    assert_eq!(r.spec_error(400, "DIGEST_INVALID"), "CUSTODY-E2021");
    for d in [wrong, sha256(b"the content").to_string()] {
        let r = reg.call(
            "HEAD",
            &format!("/v2/open/app/blobs/{d}"),
            Some(&auth),
            &[],
            vec![],
        );
        assert_eq!(r.status, 404);
    }
    let r = reg.call(
        "POST",
        "/v2/open/app/blobs/uploads/?digest=sha256:xyz",
        Some(&auth),
        &[],
        vec![],
    );
    r.spec_error(400, "DIGEST_INVALID");
    let uploads = reg.scratch.path("data/registry/uploads");
    assert_eq!(std::fs::read_dir(&uploads).unwrap().count(), 0);

    // Chunked: in order with Content-Range, 416 out of order, status, PUT to finish.
    let r = reg.call(
        "POST",
        "/v2/open/app/blobs/uploads/",
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.status, 202);
    let location = r.header("location").to_owned();
    assert!(location.starts_with("/v2/open/app/blobs/uploads/"));
    let r = reg.call(
        "PATCH",
        &location,
        Some(&auth),
        &[
            ("content-range", "0-4"),
            ("content-type", "application/octet-stream"),
        ],
        b"hello".to_vec(),
    );
    assert_eq!((r.status, r.header("range")), (202, "0-4"));
    let r = reg.call(
        "PATCH",
        &location,
        Some(&auth),
        &[("content-range", "10-14")],
        b"xxxxx".to_vec(),
    );
    assert_eq!(r.status, 416);
    let r = reg.call("GET", &location, Some(&auth), &[], vec![]);
    assert_eq!((r.status, r.header("range")), (204, "0-4"));
    let r = reg.call(
        "PATCH",
        &location,
        Some(&auth),
        &[("content-range", "5-10")],
        b" world".to_vec(),
    );
    assert_eq!((r.status, r.header("range")), (202, "0-10"));
    let whole = sha256(b"hello world").to_string();
    let r = reg.call(
        "PUT",
        &format!("{location}?digest={whole}"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.status, 201);
    assert_eq!(r.header("docker-content-digest"), whole);
    assert_eq!(r.header("location"), format!("/v2/open/app/blobs/{whole}"));
    let r = reg.call("GET", &location, Some(&auth), &[], vec![]);
    r.spec_error(404, "BLOB_UPLOAD_UNKNOWN");

    // The last chunk may come with the PUT; out of order it is refused too.
    let r = reg.call(
        "POST",
        "/v2/open/app/blobs/uploads/",
        Some(&auth),
        &[],
        vec![],
    );
    let location = r.header("location").to_owned();
    let r = reg.call(
        "PATCH",
        &location,
        Some(&auth),
        &[("content-range", "0-2")],
        b"abc".to_vec(),
    );
    assert_eq!(r.status, 202);
    let abcdef = sha256(b"abcdef").to_string();
    let r = reg.call(
        "PUT",
        &format!("{location}?digest={abcdef}"),
        Some(&auth),
        &[("content-range", "5-7")],
        b"def".to_vec(),
    );
    assert_eq!(r.status, 416);
    let r = reg.call(
        "PUT",
        &format!("{location}?digest={abcdef}"),
        Some(&auth),
        &[("content-range", "3-5")],
        b"def".to_vec(),
    );
    assert_eq!(r.status, 201);
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/blobs/{abcdef}"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.body, b"abcdef");

    // Streaming single PATCH without Content-Range (what skopeo sends), then an empty PUT.
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let r = reg.call(
        "POST",
        "/v2/open/app/blobs/uploads/",
        Some(&auth),
        &[],
        vec![],
    );
    let location = r.header("location").to_owned();
    let r = reg.call("PATCH", &location, Some(&auth), &[], big.clone());
    assert_eq!((r.status, r.header("range")), (202, "0-2999999"));
    let d = sha256(&big).to_string();
    assert_eq!(
        reg.call(
            "PUT",
            &format!("{location}?digest={d}"),
            Some(&auth),
            &[],
            vec![]
        )
        .status,
        201
    );
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/blobs/{d}"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.body, big);

    // sha512 digests.
    let d512 = sha512(b"five twelve").to_string();
    let r = reg.call(
        "POST",
        &format!("/v2/open/app/blobs/uploads/?digest={d512}"),
        Some(&auth),
        &[],
        b"five twelve".to_vec(),
    );
    assert_eq!(r.status, 201);
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/blobs/{d512}"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!((r.status, r.body.as_slice()), (200, &b"five twelve"[..]));

    // Cross-repository mount: with pull on the source it mounts, without it falls back to a
    // session (202).
    let r = reg.call(
        "POST",
        &format!("/v2/open/copy/blobs/uploads/?mount={digest}&from=open/app"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.status, 201);
    assert_eq!(
        reg.call(
            "HEAD",
            &format!("/v2/open/copy/blobs/{digest}"),
            Some(&auth),
            &[],
            vec![]
        )
        .status,
        200
    );
    let other = format!(
        "Bearer {}",
        reg.token_with("repository:open/mine:pull,push")
    );
    let r = reg.call(
        "POST",
        &format!("/v2/open/mine/blobs/uploads/?mount={digest}&from=open/app"),
        Some(&other),
        &[],
        vec![],
    );
    assert_eq!(
        r.status, 202,
        "the token may not pull from open/app: no mount"
    );
    let narrow = format!(
        "Bearer {}",
        reg.token_with("repository:public/mine:pull,push")
    );
    let r = reg.call(
        "POST",
        &format!("/v2/public/mine/blobs/uploads/?mount={digest}&from=open/app"),
        Some(&narrow),
        &[],
        vec![],
    );
    assert_eq!(r.status, 202);
    assert_eq!(
        reg.call(
            "HEAD",
            &format!("/v2/public/mine/blobs/{digest}"),
            Some(&narrow),
            &[],
            vec![]
        )
        .status,
        404
    );

    // Blob delete.
    assert_eq!(
        reg.call(
            "DELETE",
            &format!("/v2/open/copy/blobs/{digest}"),
            Some(&auth),
            &[],
            vec![]
        )
        .status,
        202
    );
    assert_eq!(
        reg.call(
            "HEAD",
            &format!("/v2/open/copy/blobs/{digest}"),
            Some(&auth),
            &[],
            vec![]
        )
        .status,
        404
    );
}

#[test]
fn manifests_tags_referrers_and_immutable_tags() {
    let reg = Registry::start();
    let auth = reg.bearer();
    let config = reg.push_blob("open/app", b"{}");
    let layer = reg.push_blob("open/app", b"layer one");
    let manifest = image_manifest(&config, &[(&layer, 9)], json!({}));
    let digest = sha256(&manifest).to_string();
    let r = reg.put_manifest("open/app", "v1", &manifest);
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("docker-content-digest"), digest);
    assert_eq!(
        r.header("location"),
        format!("/v2/open/app/manifests/{digest}")
    );
    for reference in ["v1", digest.as_str()] {
        let r = reg.call(
            "GET",
            &format!("/v2/open/app/manifests/{reference}"),
            Some(&auth),
            &[("accept", OCI_MANIFEST)],
            vec![],
        );
        assert_eq!((r.status, r.header("content-type")), (200, OCI_MANIFEST));
        assert_eq!(r.body, manifest);
        assert_eq!(r.header("docker-content-digest"), digest);
        let r = reg.call(
            "HEAD",
            &format!("/v2/open/app/manifests/{reference}"),
            Some(&auth),
            &[],
            vec![],
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-length"), manifest.len().to_string());
    }
    // A manifest over a missing blob, an invalid one, a wrong digest.
    let missing = image_manifest(&config, &[(&sha256(b"nope").to_string(), 4)], json!({}));
    reg.put_manifest("open/app", "x", &missing)
        .spec_error(400, "MANIFEST_BLOB_UNKNOWN");
    reg.put_manifest("open/app", "x", b"{\"schemaVersion\": 1}")
        .spec_error(400, "MANIFEST_INVALID");
    reg.put_manifest("open/app", &sha256(b"other").to_string(), &manifest)
        .spec_error(400, "DIGEST_INVALID");
    reg.call(
        "GET",
        "/v2/open/app/manifests/nosuchtag",
        Some(&auth),
        &[],
        vec![],
    )
    .spec_error(404, "MANIFEST_UNKNOWN");

    // Manifests are limited to 4 MiB.
    let huge = vec![b' '; (4 << 20) + 1];
    let r = reg.put_manifest("open/app", "huge", &huge);
    assert_eq!(r.spec_error(413, "SIZE_INVALID"), "CUSTODY-E2025");

    // The immutable tag v1 cannot move or be deleted (403 DENIED, CUSTODY-E1040).
    let layer2 = reg.push_blob("open/app", b"layer two");
    let manifest2 = image_manifest(&config, &[(&layer2, 9)], json!({}));
    assert_eq!(
        reg.put_manifest("open/app", "v1", &manifest2)
            .spec_error(403, "DENIED"),
        "CUSTODY-E1040"
    );
    let r = reg.call(
        "DELETE",
        "/v2/open/app/manifests/v1",
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.spec_error(403, "DENIED"), "CUSTODY-E1040");
    let r = reg.call("GET", "/v2/open/app/manifests/v1", Some(&auth), &[], vec![]);
    assert_eq!(r.body, manifest);

    // Tags: n/last paging with Link, last exclusive.
    for t in ["b", "a", "d", "c"] {
        assert_eq!(reg.put_manifest("open/app", t, &manifest2).status, 201);
    }
    let r = reg.call(
        "GET",
        "/v2/open/app/tags/list?n=2",
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.json(), json!({"name": "open/app", "tags": ["a", "b"]}));
    assert_eq!(
        r.header("link"),
        "</v2/open/app/tags/list?n=2&last=b>; rel=\"next\""
    );
    let r = reg.call(
        "GET",
        "/v2/open/app/tags/list?n=2&last=b",
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.json()["tags"], json!(["c", "d"]));
    assert_eq!(
        r.header("link"),
        "</v2/open/app/tags/list?n=2&last=d>; rel=\"next\""
    );
    let r = reg.call(
        "GET",
        "/v2/open/app/tags/list?last=c",
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.json()["tags"], json!(["d", "v1"]));
    assert!(r.headers.get("link").is_none());
    reg.call("GET", "/v2/open/none/tags/list", Some(&auth), &[], vec![])
        .spec_error(404, "NAME_UNKNOWN");

    // Referrers: OCI-Subject on push, the index (never 404), artifactType filtering.
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/referrers/{digest}"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, "application/vnd.oci.image.index.v1+json")
    );
    assert_eq!(r.json()["manifests"], json!([]));
    let sig_layer = reg.push_blob("open/app", b"signature bytes");
    let referrer = image_manifest(
        &config,
        &[(&sig_layer, 15)],
        json!({
            "artifactType": "application/vnd.example.sig",
            "subject": {"mediaType": OCI_MANIFEST, "digest": digest, "size": manifest.len()},
            "annotations": {"org.example": "yes"},
        }),
    );
    let referrer_digest = sha256(&referrer).to_string();
    let r = reg.put_manifest("open/app", &referrer_digest, &referrer);
    assert_eq!(r.status, 201);
    assert_eq!(r.header("oci-subject"), digest);
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/referrers/{digest}"),
        Some(&auth),
        &[],
        vec![],
    );
    let index = r.json();
    assert_eq!(index["manifests"][0]["digest"], referrer_digest);
    assert_eq!(
        index["manifests"][0]["artifactType"],
        "application/vnd.example.sig"
    );
    assert_eq!(index["manifests"][0]["annotations"]["org.example"], "yes");
    assert!(r.headers.get("oci-filters-applied").is_none());
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/referrers/{digest}?artifactType=application/vnd.example.sig"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.header("oci-filters-applied"), "artifactType");
    assert_eq!(r.json()["manifests"].as_array().unwrap().len(), 1);
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/referrers/{digest}?artifactType=application/other"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.json()["manifests"], json!([]));
    let unknown = sha256(b"unknown subject").to_string();
    let r = reg.call(
        "GET",
        &format!("/v2/open/app/referrers/{unknown}"),
        Some(&auth),
        &[],
        vec![],
    );
    assert_eq!(r.status, 200);
    reg.call(
        "GET",
        "/v2/open/app/referrers/sha256:bad",
        Some(&auth),
        &[],
        vec![],
    )
    .spec_error(400, "DIGEST_INVALID");

    // Deletes: a mutable tag, then a manifest by digest.
    assert_eq!(
        reg.call(
            "DELETE",
            "/v2/open/app/manifests/a",
            Some(&auth),
            &[],
            vec![]
        )
        .status,
        202
    );
    assert_eq!(
        reg.call("GET", "/v2/open/app/manifests/a", Some(&auth), &[], vec![])
            .status,
        404
    );
    let d2 = sha256(&manifest2).to_string();
    assert_eq!(
        reg.call(
            "DELETE",
            &format!("/v2/open/app/manifests/{d2}"),
            Some(&auth),
            &[],
            vec![]
        )
        .status,
        202
    );
    assert_eq!(
        reg.call("GET", "/v2/open/app/manifests/b", Some(&auth), &[], vec![])
            .status,
        404
    );
}

#[test]
fn enforcement_refuses_unsigned_pushes_and_anonymous_pull_is_per_repository() {
    let reg = Registry::start();
    // signed/* has no rule: the safe default enforces signatures on push.
    let config = reg.push_blob("signed/app", b"{}");
    let layer = reg.push_blob("signed/app", b"payload");
    let manifest = image_manifest(&config, &[(&layer, 7)], json!({}));
    let r = reg.put_manifest("signed/app", "latest", &manifest);
    let code = r.spec_error(403, "DENIED");
    assert!(code.starts_with("CUSTODY-E1"), "{code}");
    assert_eq!(
        reg.call(
            "GET",
            "/v2/signed/app/manifests/latest",
            Some(&reg.bearer()),
            &[],
            vec![]
        )
        .status,
        404
    );
    // public/* allows anonymous pull; open/* does not.
    let pc = reg.push_blob("public/app", b"{}");
    let manifest = image_manifest(&pc, &[], json!({}));
    assert_eq!(
        reg.put_manifest("public/app", "latest", &manifest).status,
        201
    );
    let r = reg.call("GET", "/v2/public/app/manifests/latest", None, &[], vec![]);
    assert_eq!((r.status, r.body), (200, manifest));
    let r = reg.call(
        "GET",
        &format!("/v2/public/app/blobs/{pc}"),
        None,
        &[],
        vec![],
    );
    assert_eq!(r.status, 200);
    let r = reg.call("POST", "/v2/public/app/blobs/uploads/", None, &[], vec![]);
    r.spec_error(401, "UNAUTHORIZED");
    let oc = reg.push_blob("open/app", b"{}");
    assert_eq!(
        reg.put_manifest("open/app", "latest", &image_manifest(&oc, &[], json!({})))
            .status,
        201
    );
    reg.call("GET", "/v2/open/app/manifests/latest", None, &[], vec![])
        .spec_error(401, "UNAUTHORIZED");
}

// ------------------------------------------------------------------------------------------
// Interop: skopeo and oras.

/// CRC-32 (IEEE), for the gzip trailer.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// `data` as a gzip stream of stored (uncompressed) deflate blocks: a valid gzip file, so
/// that skopeo recognises the layer as compressed and copies it unchanged.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    let blocks: Vec<&[u8]> = data.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        out.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap();
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    out
}

/// Writes a small OCI image layout (one gzip layer of 2 MiB of random bytes) at `dir` with
/// tag `tag`; returns the manifest, config and layer digests.
fn oci_layout(dir: &Path, tag: &str) -> Vec<String> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        std::fs::write(blobs.join(d.hex()), bytes).unwrap();
        d.to_string()
    };
    let mut layer = Vec::new();
    for _ in 0..(2 << 20) / 32 {
        layer.extend_from_slice(&random_bytes::<32>().unwrap());
    }
    let diff_id = sha256(&layer).to_string();
    let layer = gzip_stored(&layer);
    let layer_digest = put(&layer);
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    })
    .to_string();
    let config_digest = put(config.as_bytes());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}],
    })
    .to_string();
    let manifest_digest = put(manifest.as_bytes());
    let index = json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }],
    });
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    vec![manifest_digest, config_digest, layer_digest]
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo is required for the registry interop tests: apt-get install skopeo");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn blob_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn skopeo_copies_an_image_to_custody_and_back() {
    let reg = Registry::start();
    let src = reg.scratch.path("src");
    let digests = oci_layout(&src, "v1");
    let creds = format!("ci:{}", reg.token);
    let dest = format!("docker://{}/open/skopeo:v1", reg.host());
    let src_ref = format!("oci:{}:v1", src.display());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &src_ref,
        &dest,
    ]);
    let tags = skopeo(&[
        "list-tags",
        "--tls-verify=false",
        "--creds",
        &creds,
        &format!("docker://{}/open/skopeo", reg.host()),
    ]);
    assert!(tags.contains("\"v1\""), "{tags}");
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &creds,
        &dest,
    ]);
    assert_eq!(sha256(raw.as_bytes()).to_string(), digests[0]);
    let back = reg.scratch.path("back");
    let back_ref = format!("oci:{}:v1", back.display());
    skopeo(&[
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        &creds,
        &dest,
        &back_ref,
    ]);
    assert_eq!(blob_files(&src), blob_files(&back));
    for name in blob_files(&back) {
        let bytes = std::fs::read(back.join("blobs/sha256").join(&name)).unwrap();
        assert_eq!(sha256(&bytes).hex(), name);
    }
    // A second copy to another repository mounts or skips what it can and still works; then
    // the copy is deleted through skopeo.
    let dest2 = format!("docker://{}/open/skopeo2:latest", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &src_ref,
        &dest2,
    ]);
    skopeo(&[
        "delete",
        "--tls-verify=false",
        "--creds",
        &creds,
        &format!("docker://{}/open/skopeo2@{}", reg.host(), digests[0]),
    ]);
    let r = reg.call(
        "GET",
        &format!("/v2/open/skopeo2/manifests/{}", digests[0]),
        Some(&reg.bearer()),
        &[],
        vec![],
    );
    assert_eq!(r.status, 404);
    // Docker schema 2 (skopeo converts the manifest) is stored and served as such.
    let docker = format!("docker://{}/open/docker:latest", reg.host());
    skopeo(&[
        "copy",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &src_ref,
        &docker,
    ]);
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &creds,
        &docker,
    ]);
    let raw: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(
        raw["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    // Anonymous skopeo reads where the settings allow it (public/*), through the token dance.
    let public = format!("docker://{}/public/skopeo:v1", reg.host());
    skopeo(&[
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        &creds,
        &src_ref,
        &public,
    ]);
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &public]);
    assert_eq!(sha256(raw.as_bytes()).to_string(), digests[0]);
    // Without credentials skopeo is refused.
    let out = Command::new("skopeo")
        .args([
            "copy",
            "--dest-tls-verify=false",
            &src_ref,
            &format!("docker://{}/open/anon:v1", reg.host()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}

fn python() -> PathBuf {
    PathBuf::from(std::env::var_os("CUSTODY_INTEROP_PYTHON").expect(
        "CUSTODY_INTEROP_PYTHON is not set: run the test suite with `cargo xtask test`, which creates the interop venv",
    ))
}

#[test]
fn oras_pushes_pulls_and_attaches_a_referrer() {
    let reg = Registry::start();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/registry_oras.py");
    let out = Command::new(python())
        .arg(script)
        .args([&reg.host(), &reg.token, "open/oras"])
        .current_dir(reg.scratch.dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oras interop failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(
        out.stdout
            .split(|b| *b == b'\n')
            .rfind(|l| !l.is_empty())
            .unwrap(),
    )
    .unwrap();
    // What oras pushed is what custody serves, and the referrer is listed for its subject.
    let subject = report["subject"].as_str().unwrap();
    let r = reg.call(
        "GET",
        &format!("/v2/open/oras/referrers/{subject}"),
        Some(&reg.bearer()),
        &[],
        vec![],
    );
    let index = r.json();
    assert_eq!(index["manifests"][0]["digest"], report["referrer"]);
    assert_eq!(
        index["manifests"][0]["artifactType"],
        "application/vnd.custody.test.signature"
    );
}

// ------------------------------------------------------------------------------------------
// Crash safety.

/// Pushes images (chunked layer, config, manifest by tag) until the server dies; returns the
/// tags whose manifest PUT was acknowledged.
async fn pusher(url: String, token: String, id: usize, acked: Arc<Mutex<Vec<String>>>) {
    let http = reqwest::Client::new();
    let auth = format!("Bearer {token}");
    for round in 0.. {
        let result: Result<(), reqwest::Error> = async {
            // 1 MiB that differs per push (a random seed spread over the layer).
            let seed = random_bytes::<32>().unwrap();
            let layer: Vec<u8> = (0..1usize << 20)
                .map(|i| seed[i % 32] ^ (i >> 5) as u8)
                .collect();
            let r = http
                .post(format!("{url}/v2/open/crash/blobs/uploads/"))
                .header("authorization", &auth)
                .send()
                .await?;
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if location.is_empty() {
                return Ok(());
            }
            for (i, chunk) in layer.chunks(256 << 10).enumerate() {
                let start = i * (256 << 10);
                let range = format!("{start}-{}", start + chunk.len() - 1);
                http.patch(format!("{url}{location}"))
                    .header("authorization", &auth)
                    .header("content-range", range)
                    .body(chunk.to_vec())
                    .send()
                    .await?
                    .error_for_status()?;
            }
            let ld = sha256(&layer).to_string();
            http.put(format!("{url}{location}?digest={ld}"))
                .header("authorization", &auth)
                .send()
                .await?
                .error_for_status()?;
            let config = format!("{{\"pusher\":{id},\"round\":{round}}}");
            let cd = sha256(config.as_bytes()).to_string();
            http.post(format!("{url}/v2/open/crash/blobs/uploads/?digest={cd}"))
                .header("authorization", &auth)
                .body(config.clone())
                .send()
                .await?
                .error_for_status()?;
            let manifest = image_manifest(&cd, &[(&ld, layer.len())], json!({}));
            let tag = format!("p{id}-r{round}");
            let r = http
                .put(format!("{url}/v2/open/crash/manifests/{tag}"))
                .header("authorization", &auth)
                .header("content-type", OCI_MANIFEST)
                .body(manifest)
                .send()
                .await?;
            if r.status().as_u16() == 201 {
                acked.lock().unwrap().push(tag);
            }
            Ok(())
        }
        .await;
        if result.is_err() {
            return;
        }
    }
}

#[test]
fn sigkill_during_concurrent_pushes_leaves_no_partial_blob_or_dangling_manifest() {
    let mut reg = Registry::start();
    let acked = Arc::new(Mutex::new(Vec::new()));
    for round in 0..3u64 {
        let delay = u64::from(u16::from_be_bytes(random_bytes::<2>().unwrap())) % 400 + round * 50;
        let url = reg.server.url.clone();
        let token = reg.token.clone();
        let a = Arc::clone(&acked);
        reg.runtime.block_on(async {
            let tasks: Vec<_> = (0..6)
                .map(|id| {
                    tokio::spawn(pusher(
                        url.clone(),
                        token.clone(),
                        id + round as usize * 10,
                        Arc::clone(&a),
                    ))
                })
                .collect();
            // Kill only once this round has had an acknowledged push (so that the check
            // below has something to find whatever the machine's load), after a random delay.
            let before = a.lock().unwrap().len();
            for _ in 0..600 {
                if a.lock().unwrap().len() > before {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            tokio::time::sleep(Duration::from_millis(delay)).await;
            reg.server.kill_now();
            for t in tasks {
                t.await.unwrap();
            }
        });
        reg.restart();

        // Every blob file is complete: it hashes to its name.
        let blobs = reg.scratch.path("data/registry/blobs/sha256");
        if blobs.exists() {
            for prefix in std::fs::read_dir(&blobs).unwrap() {
                for file in std::fs::read_dir(prefix.unwrap().path()).unwrap() {
                    let file = file.unwrap();
                    let bytes = std::fs::read(file.path()).unwrap();
                    assert_eq!(
                        sha256(&bytes).hex(),
                        file.file_name().to_str().unwrap(),
                        "partial blob file"
                    );
                }
            }
        }
        // Every tag served names a manifest whose blobs are all served and whole.
        let r = reg.call(
            "GET",
            "/v2/open/crash/tags/list",
            Some(&reg.bearer()),
            &[],
            vec![],
        );
        let tags: Vec<String> = if r.status == 404 {
            Vec::new()
        } else {
            serde_json::from_value(r.json()["tags"].clone()).unwrap()
        };
        for tag in acked.lock().unwrap().iter() {
            assert!(
                tags.contains(tag),
                "acknowledged push {tag} is missing after the restart"
            );
        }
        for tag in &tags {
            let r = reg.call(
                "GET",
                &format!("/v2/open/crash/manifests/{tag}"),
                Some(&reg.bearer()),
                &[],
                vec![],
            );
            assert_eq!(r.status, 200);
            let m = r.json();
            let mut refs = vec![m["config"]["digest"].as_str().unwrap().to_owned()];
            refs.extend(
                m["layers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["digest"].as_str().unwrap().to_owned()),
            );
            for d in refs {
                let r = reg.call(
                    "GET",
                    &format!("/v2/open/crash/blobs/{d}"),
                    Some(&reg.bearer()),
                    &[],
                    vec![],
                );
                assert_eq!(
                    r.status, 200,
                    "dangling manifest {tag}: blob {d} is not served"
                );
                assert_eq!(sha256(&r.body).to_string(), d);
            }
        }
    }
    assert!(
        !acked.lock().unwrap().is_empty(),
        "no push was acknowledged before the kills"
    );
}
