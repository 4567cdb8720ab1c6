//! A log that collects witness cosignatures, and `custody verify` enforcing the trust root's
//! witness quorum (C2SP tlog-witness / tlog-cosignature), over real processes.

use crate::support::{Scratch, Server, WitnessServer};

#[test]
fn witnessed_checkpoints_satisfy_the_trust_roots_quorum() {
    let s = Scratch::new();
    // First start creates the log's keys; then a witness for that log; then the log again,
    // now asking the witness to cosign every checkpoint.
    drop(Server::start(&s.path("data")));
    let log_vkey = s.ok(&["log", "vkey", "--data", "data"])["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    let witness = WitnessServer::start(&s.path("witness"), &log_vkey);
    let server = Server::start_with(
        &s.path("data"),
        &[
            "--witness-url",
            &witness.url,
            "--witness-vkey",
            &witness.vkey,
        ],
    );
    let token = s.ok(&["token", "create", "--data", "data", "--scope", "log:write"])["token"]
        .as_str()
        .unwrap()
        .to_owned();

    s.key("release", "ecdsa-p256");
    // Version 2 of the server's trust root: a release key, the witness, quorum 1.
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "witnessed.json",
        "--from",
        "data/trust-root.json",
        "--key",
        "release=release.pub",
        "--witness",
        &witness.vkey,
        "--witness-threshold",
        "1",
    ]);
    s.ok(&[
        "trust-root",
        "sign",
        "witnessed.json",
        "--key",
        "data/keys/root.key",
    ]);
    // The same without the witness requirement.
    s.ok(&[
        "trust-root",
        "init",
        "--out",
        "plain.json",
        "--from",
        "data/trust-root.json",
        "--key",
        "release=release.pub",
    ]);
    s.ok(&[
        "trust-root",
        "sign",
        "plain.json",
        "--key",
        "data/keys/root.key",
    ]);

    s.write("app.tar", b"witnessed artifact");
    s.ok(&[
        "sign",
        "app.tar",
        "--key",
        "release.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    let bundle = String::from_utf8(s.read("app.tar.sigstore.json")).unwrap();
    assert!(
        bundle.contains("witness.custody.test/e2e"),
        "the checkpoint carries the cosignature"
    );
    s.ok(&["verify", "app.tar", "--trust-root", "witnessed.json"]);
    s.ok(&["verify", "app.tar", "--trust-root", "plain.json"]);

    // A checkpoint without the cosignature (the log's own signature only) does not satisfy it.
    let stripped: String = bundle
        .split("\\n")
        .filter(|part| !part.starts_with("— witness.custody.test/e2e"))
        .collect::<Vec<_>>()
        .join("\\n");
    assert_ne!(stripped, bundle);
    s.write("stripped.json", stripped.as_bytes());
    s.fails(
        &[
            "verify",
            "app.tar",
            "--bundle",
            "stripped.json",
            "--trust-root",
            "witnessed.json",
        ],
        "CUSTODY-E1028",
    );
    s.ok(&[
        "verify",
        "app.tar",
        "--bundle",
        "stripped.json",
        "--trust-root",
        "plain.json",
    ]);

    // With the witness gone, new checkpoints carry no cosignature: refused under the quorum.
    drop(witness);
    s.write("late.tar", b"logged while the witness was down");
    s.ok(&[
        "sign",
        "late.tar",
        "--key",
        "release.key",
        "--log",
        &server.url,
        "--token",
        &token,
    ]);
    s.fails(
        &["verify", "late.tar", "--trust-root", "witnessed.json"],
        "CUSTODY-E1028",
    );
}
