//! `custody audit verify|export`: the chain verified in the data directory and offline, and
//! tampering reported with the sequence number of the first break.

use custody_app::Code;
use custody_app::registry::audit::AuditLog;
use custody_app::registry::policy::{AuditEvent, Outcome};

use crate::support::Scratch;

/// A data directory whose audit log holds `n` records.
fn audited(n: usize) -> Scratch {
    let s = Scratch::new();
    std::fs::create_dir(s.path("data")).unwrap();
    let audit = AuditLog::open(&s.path("data/custody.db")).unwrap();
    for i in 0..n {
        audit
            .append(&AuditEvent {
                actor: "token-a".into(),
                action: "push-manifest".into(),
                repository: "app/web".into(),
                target: format!("v{i}"),
                outcome: if i == 2 {
                    Outcome::Denied {
                        code: Code::SignatureMissing,
                        reason: "no signature bundle among 0 referrer(s)".into(),
                    }
                } else {
                    Outcome::Allowed
                },
            })
            .unwrap();
    }
    s
}

#[test]
fn audit_verify_accepts_an_intact_chain_and_its_export() {
    let s = audited(4);
    let report = s.ok(&["audit", "verify", "--data", "data"]);
    assert_eq!(report["records"], 4, "{report}");
    assert_eq!(report["head"]["seq"], 4);
    let exported = s.ok(&["audit", "export", "--data", "data", "--out", "audit.jsonl"]);
    assert_eq!(exported["records"], 4, "{exported}");
    let offline = s.ok(&["audit", "verify", "--file", "audit.jsonl"]);
    assert_eq!(offline, report);
    // Without --out the lines go to standard output.
    let out = s
        .custody(&["audit", "export", "--data", "data"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout, s.read("audit.jsonl"));
}

#[test]
fn audit_verify_reports_the_first_break() {
    let s = audited(5);
    let db = rusqlite::Connection::open(s.path("data/custody.db")).unwrap();
    let record: Vec<u8> = db
        .query_row("SELECT record FROM audit_records WHERE seq = 3", [], |r| {
            r.get(0)
        })
        .unwrap();
    let forged = String::from_utf8(record)
        .unwrap()
        .replace("\"denied\"", "\"allowed\"")
        .replace("\"CUSTODY-E1050\"", "null")
        .replace("\"no signature bundle among 0 referrer(s)\"", "null");
    db.execute(
        "UPDATE audit_records SET record = ?1 WHERE seq = 3",
        [forged.as_bytes()],
    )
    .unwrap();
    let err = s.fails(&["audit", "verify", "--data", "data"], "CUSTODY-E1053");
    let message = err["error"]["message"].as_str().unwrap();
    assert!(message.contains("record 4"), "{message}");

    db.execute("DELETE FROM audit_records WHERE seq >= 3", [])
        .unwrap();
    s.ok(&["audit", "verify", "--data", "data"]);
    db.execute("DELETE FROM audit_records WHERE seq = 1", [])
        .unwrap();
    let err = s.fails(&["audit", "verify", "--data", "data"], "CUSTODY-E1053");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("record 1"),
        "{err}"
    );
}

#[test]
fn audit_verify_file_detects_a_dropped_line() {
    let s = audited(3);
    s.ok(&["audit", "export", "--data", "data", "--out", "audit.jsonl"]);
    let text = String::from_utf8(s.read("audit.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    s.write(
        "cut.jsonl",
        format!("{}\n{}\n", lines[0], lines[2]).as_bytes(),
    );
    let err = s.fails(&["audit", "verify", "--file", "cut.jsonl"], "CUSTODY-E1053");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("record 2: found record 3"),
        "{err}"
    );
}

#[test]
fn audit_verify_needs_an_audit_log() {
    let s = Scratch::new();
    std::fs::create_dir(s.path("data")).unwrap();
    s.fails(&["audit", "verify", "--data", "data"], "CUSTODY-E3031");
    s.fails(&["audit", "verify"], "CUSTODY-E2001");
}
