//! `custody log checkpoint|inclusion|consistency` against a real `custody serve`: proofs are
//! computed from the log's tiles and checked against the log's verifier key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::support::{Scratch, Server};

/// A server, a log:write token, the log's vkey, and a release key.
pub(crate) struct Log {
    pub(crate) s: Scratch,
    pub(crate) server: Server,
    pub(crate) token: String,
    pub(crate) vkey: String,
}

impl Log {
    pub(crate) fn start() -> Self {
        let s = Scratch::new();
        let server = Server::start(&s.path("data"));
        let token = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"])["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let vkey = s.ok(&["log", "vkey", "--data", "data"])["vkey"]
            .as_str()
            .unwrap()
            .to_owned();
        Self {
            s,
            server,
            token,
            vkey,
        }
    }

    /// Signs a new file `name` (content `name`) with `key` and logs it; returns its index.
    pub(crate) fn sign(&self, name: &str, key: &str) -> u64 {
        self.s.write(name, name.as_bytes());
        let v = self.s.ok(&[
            "sign",
            name,
            "--key",
            key,
            "--log",
            &self.server.url,
            "--token",
            &self.token,
        ]);
        v["logIndex"].as_u64().unwrap()
    }

    /// `custody log SUB --log URL --vkey VKEY EXTRA...`, with the JSON result and exit status.
    pub(crate) fn args<'a>(&'a self, sub: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["log", sub, "--log", &self.server.url, "--vkey", &self.vkey];
        args.extend_from_slice(extra);
        args
    }
}

#[test]
fn log_read_checkpoint_is_verified_with_the_vkey() {
    let log = Log::start();
    log.s.key("release", "ecdsa-p256");
    log.sign("a.tar", "release.key");
    let v = log.s.ok(&log.args("checkpoint", &[]));
    assert_eq!(v["origin"], "log.custody.test/e2e");
    assert_eq!(v["size"], 1);
    let root = STANDARD.decode(v["root"].as_str().unwrap()).unwrap();
    assert_eq!(root.len(), 32);
    assert!(
        v["checkpoint"]
            .as_str()
            .unwrap()
            .contains(v["root"].as_str().unwrap())
    );

    // Another log's key (same origin, different key) does not verify this log's checkpoint.
    let other = Scratch::new();
    let _other_server = Server::start(&other.path("data"));
    let other_vkey = other.ok(&["log", "vkey", "--data", "data"])["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(other_vkey, log.vkey);
    log.s.fails(
        &[
            "log",
            "checkpoint",
            "--log",
            &log.server.url,
            "--vkey",
            &other_vkey,
        ],
        "CUSTODY-E1022",
    );
    // Not a vkey at all.
    log.s.fails(
        &[
            "log",
            "checkpoint",
            "--log",
            &log.server.url,
            "--vkey",
            "not a vkey",
        ],
        "CUSTODY-E2008",
    );
}

#[test]
fn log_read_inclusion_is_proven_from_the_tiles() {
    let log = Log::start();
    let release_id = log.s.key("release", "ecdsa-p256");
    assert_eq!(log.sign("a.tar", "release.key"), 0);
    assert_eq!(log.sign("b.tar", "release.key"), 1);
    assert_eq!(log.sign("c.tar", "release.key"), 2);

    // The bundle's proof was for size 1; inclusion is proven in the current size-3 tree.
    let v = log
        .s
        .ok(&log.args("inclusion", &["--bundle", "a.tar.sigstore.json"]));
    assert_eq!(v["size"], 3);
    assert_eq!(v["entries"][0]["index"], 0);
    assert_eq!(v["entries"][0]["keyId"], release_id.as_str());
    assert!(
        v["entries"][0]["digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    let v = log
        .s
        .ok(&log.args("inclusion", &["--bundle", "b.tar.sigstore.json"]));
    assert_eq!(v["entries"][0]["index"], 1);

    let good: Value = serde_json::from_slice(&log.s.read("a.tar.sigstore.json")).unwrap();

    // The entry claims another index: the log holds another entry there.
    let mut moved = good.clone();
    let entry = &mut moved["verificationMaterial"]["tlogEntries"][0];
    entry["logIndex"] = Value::String("1".into());
    entry["inclusionProof"]["logIndex"] = Value::String("1".into());
    log.s.write("moved.json", moved.to_string().as_bytes());
    log.s.fails(
        &log.args("inclusion", &["--bundle", "moved.json"]),
        "CUSTODY-E1021",
    );

    // The logged body altered: it is not what the log holds at that index.
    let mut altered = good.clone();
    let body = altered["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = STANDARD.decode(&body).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    altered["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"] =
        Value::String(STANDARD.encode(&bytes));
    log.s.write("altered.json", altered.to_string().as_bytes());
    log.s.fails(
        &log.args("inclusion", &["--bundle", "altered.json"]),
        "CUSTODY-E1021",
    );

    // An index beyond the log's current tree is not logged.
    let mut beyond = good;
    let entry = &mut beyond["verificationMaterial"]["tlogEntries"][0];
    entry["logIndex"] = Value::String("7".into());
    entry["inclusionProof"]["logIndex"] = Value::String("7".into());
    log.s.write("beyond.json", beyond.to_string().as_bytes());
    log.s.fails(
        &log.args("inclusion", &["--bundle", "beyond.json"]),
        "CUSTODY-E1020",
    );

    // An unlogged bundle has nothing to prove.
    log.s.write("u.tar", b"unlogged");
    log.s.ok(&["sign", "u.tar", "--key", "release.key"]);
    log.s.fails(
        &log.args("inclusion", &["--bundle", "u.tar.sigstore.json"]),
        "CUSTODY-E1020",
    );
}

#[test]
fn log_read_consistency_with_an_older_tree_head() {
    let log = Log::start();
    log.s.key("release", "ecdsa-p256");
    log.sign("a.tar", "release.key");
    let old = log.s.ok(&log.args("checkpoint", &[]));
    log.s.write(
        "old.checkpoint",
        old["checkpoint"].as_str().unwrap().as_bytes(),
    );
    let old_head = format!("1:{}", old["root"].as_str().unwrap());
    log.sign("b.tar", "release.key");
    log.sign("c.tar", "release.key");
    let current = log.s.ok(&log.args("checkpoint", &[]));

    let v = log.s.ok(&log.args("consistency", &["--from", &old_head]));
    assert_eq!(v["consistent"], true);
    assert_eq!(v["from"]["size"], 1);
    assert_eq!(v["size"], 3);
    let v = log
        .s
        .ok(&log.args("consistency", &["--from-checkpoint", "old.checkpoint"]));
    assert_eq!(v["from"]["root"], old["root"]);
    // The current tree is consistent with itself.
    let same = format!("3:{}", current["root"].as_str().unwrap());
    log.s.ok(&log.args("consistency", &["--from", &same]));

    // A root that is not the log's size-1 prefix (here: the size-3 root).
    let not_prefix = format!("1:{}", current["root"].as_str().unwrap());
    log.s.fails(
        &log.args("consistency", &["--from", &not_prefix]),
        "CUSTODY-E1023",
    );
    let not_prefix = format!("2:{}", old["root"].as_str().unwrap());
    log.s.fails(
        &log.args("consistency", &["--from", &not_prefix]),
        "CUSTODY-E1023",
    );
    // A larger older tree: the log would have shrunk.
    let larger = format!("9:{}", current["root"].as_str().unwrap());
    log.s.fails(
        &log.args("consistency", &["--from", &larger]),
        "CUSTODY-E1023",
    );
    // A checkpoint file that is not signed by the log's key.
    let mut forged = old["checkpoint"].as_str().unwrap().to_owned();
    forged = forged.replacen("\n1\n", "\n2\n", 1);
    log.s.write("forged.checkpoint", forged.as_bytes());
    log.s.fails(
        &log.args("consistency", &["--from-checkpoint", "forged.checkpoint"]),
        "CUSTODY-E1022",
    );
    // Malformed --from.
    log.s.fails(
        &log.args("consistency", &["--from", "1-abc"]),
        "CUSTODY-E2008",
    );
}
