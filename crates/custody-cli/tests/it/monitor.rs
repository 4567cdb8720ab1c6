//! `custody log monitor` against real servers: a first run trusts the current checkpoint, later
//! runs list exactly the new entries signed by watched keys, and a log that forks or rolls
//! back (same key, another history) is refused.

use std::path::Path;

use crate::log_read::Log;
use crate::support::Server;

fn monitor_args<'a>(log: &'a Log, state: &'a str, watch: &[&'a str]) -> Vec<&'a str> {
    let mut args = log.args("monitor", &["--state", state, "--once"]);
    for w in watch {
        args.push("--watch");
        args.push(w);
    }
    args
}

#[test]
fn monitor_lists_new_entries_signed_by_watched_keys() {
    let log = Log::start();
    let watched = log.s.key("watched", "ecdsa-p256");
    let other = log.s.key("other", "ecdsa-p256");
    assert_ne!(watched, other);
    log.sign("before.tar", "watched.key");

    // First run: no state, the current checkpoint is the starting point; nothing is listed.
    let v = log.s.ok(&monitor_args(&log, "state.cp", &["watched.pub"]));
    assert_eq!(v["firstRun"], true);
    assert_eq!(v["size"], 1);
    assert_eq!(v["previousSize"], serde_json::Value::Null);
    assert!(v["matches"].as_array().unwrap().is_empty());
    assert_eq!(
        String::from_utf8(log.s.read("state.cp")).unwrap(),
        v["checkpoint"].as_str().unwrap()
    );

    let a = log.sign("a.tar", "watched.key");
    log.sign("b.tar", "other.key");
    let c = log.sign("c.tar", "watched.key");
    log.sign("d.tar", "other.key");

    let v = log.s.ok(&monitor_args(&log, "state.cp", &["watched.pub"]));
    assert_eq!(v["firstRun"], false);
    assert_eq!(v["previousSize"], 1);
    assert_eq!(v["size"], 5);
    assert_eq!(v["entriesRead"], 4);
    assert_eq!(v["unparsed"], 0);
    let matches = v["matches"].as_array().unwrap();
    let indices: Vec<u64> = matches
        .iter()
        .map(|m| m["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, vec![a, c]);
    assert!(matches.iter().all(|m| m["keyId"] == watched.as_str()));
    let digest_a = log.s.ok(&["digest", "a.tar"]);
    assert_eq!(matches[0]["digest"], digest_a["digests"][0]["digest"]);

    // Nothing new: nothing listed, state unchanged in size.
    let v = log.s.ok(&monitor_args(&log, "state.cp", &["watched.pub"]));
    assert_eq!(v["previousSize"], 5);
    assert_eq!(v["entriesRead"], 0);
    assert!(v["matches"].as_array().unwrap().is_empty());

    // Watching both keys lists both kinds of new entries.
    let e = log.sign("e.tar", "other.key");
    let f = log.sign("f.tar", "watched.key");
    let v = log.s.ok(&monitor_args(
        &log,
        "state.cp",
        &["watched.pub", "other.pub"],
    ));
    let indices: Vec<u64> = v["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, vec![e, f]);
}

#[test]
fn monitor_refuses_a_malformed_state_file() {
    let log = Log::start();
    log.s.write("state.cp", b"not a checkpoint\n");
    log.s
        .fails(&monitor_args(&log, "state.cp", &[]), "CUSTODY-E1022");
    // The state file is left as it was (evidence is not overwritten).
    assert_eq!(log.s.read("state.cp"), b"not a checkpoint\n");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn monitor_refuses_a_split_view_and_a_rollback() {
    // Log A, stopped right after initialisation; B starts from a copy of A's data (same key,
    // same origin), then the two grow different histories.
    let mut log = Log::start();
    log.s.key("watched", "ecdsa-p256");
    log.server.kill_now();
    copy_dir(&log.s.path("data"), &log.s.path("data-b"));
    log.server = Server::start(&log.s.path("data"));
    let b = Server::start(&log.s.path("data-b"));
    let vkey_b = log.s.ok(&["log", "vkey", "--data", "data-b"])["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(vkey_b, log.vkey, "B signs with A's key");
    let token_b = log.s.ok(&[
        "token",
        "create",
        "--data",
        "data-b",
        "--scope",
        "log:write",
    ])["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let sign_b = |name: &str| {
        log.s.write(name, name.as_bytes());
        log.s.ok(&[
            "sign",
            name,
            "--key",
            "watched.key",
            "--log",
            &b.url,
            "--token",
            &token_b,
        ]);
    };

    log.sign("a1.tar", "watched.key");
    log.s.ok(&monitor_args(&log, "state.cp", &["watched.pub"]));
    log.sign("a2.tar", "watched.key");
    let v = log.s.ok(&monitor_args(&log, "state.cp", &["watched.pub"]));
    assert_eq!(v["size"], 2);
    let state = log.s.read("state.cp");

    let monitor_b = |state: &str| {
        vec![
            "log",
            "monitor",
            "--log",
            b.url.as_str(),
            "--vkey",
            log.vkey.as_str(),
            "--state",
            state,
            "--once",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<String>>()
    };
    let run_b = |state: &str, code: &str| {
        let args = monitor_b(state);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        log.s.fails(&args, code);
    };

    // B is smaller than what the monitor saw of A: a rollback.
    sign_b("b1.tar");
    run_b("state.cp", "CUSTODY-E1023");
    // B is as large and larger, with another history: a split view.
    sign_b("b2.tar");
    run_b("state.cp", "CUSTODY-E1023");
    sign_b("b3.tar");
    run_b("state.cp", "CUSTODY-E1023");
    // The refused checkpoint was not stored: the state still holds A's view.
    assert_eq!(log.s.read("state.cp"), state);
    // A itself is still consistent with the state.
    log.sign("a3.tar", "watched.key");
    let v = log.s.ok(&monitor_args(&log, "state.cp", &["watched.pub"]));
    assert_eq!(v["size"], 3);
    assert_eq!(v["matches"].as_array().unwrap().len(), 1);
}

#[test]
fn monitor_without_once_polls_and_reports_each_new_checkpoint() {
    use std::io::BufRead as _;

    let log = Log::start();
    log.s.key("watched", "ecdsa-p256");
    log.sign("a.tar", "watched.key");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("custody"))
        .current_dir(log.s.dir.path())
        .args(["--json", "log", "monitor", "--log", &log.server.url])
        .args(["--vkey", &log.vkey, "--state", "state.cp"])
        .args(["--watch", "watched.pub", "--interval", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next =
        || -> serde_json::Value { serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap() };
    let first = next();
    assert_eq!(first["firstRun"], true);
    assert_eq!(first["size"], 1);
    let index = log.sign("b.tar", "watched.key");
    let second = next();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(second["firstRun"], false);
    assert_eq!(second["previousSize"], 1);
    assert_eq!(second["matches"][0]["index"], index);
}
