//! Decisions per second of the example policies over a realistic input, on one core: the
//! production policy (six requirements) on an allowed and a denied input, and the lighter
//! staging policy.
//!
//! `cargo bench -p custody-policy --bench decisions` prints the rate (no criterion: the
//! workspace does not carry it; a plain timed loop is enough for this number).

use std::hint::black_box;
use std::time::Instant;

use custody_policy::PolicySet;
use serde_json::json;

/// This thread's CPU time in nanoseconds (Linux), so that the rate is per core even when the
/// machine is busy with other work; `None` elsewhere.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn main() {
    let modules = [
        (
            "lib.rego",
            include_str!("../../../policies/examples/lib.rego"),
        ),
        (
            "prod.rego",
            include_str!("../../../policies/examples/prod.rego"),
        ),
        (
            "staging.rego",
            include_str!("../../../policies/examples/staging.rego"),
        ),
    ];
    let set = PolicySet::from_sources(
        modules
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
    )
    .expect("example policies load");

    let now = 1_795_420_800_i64;
    let input = json!({
        "action": "deploy", "environment": "prod",
        "now": "2026-11-22T08:00:00Z", "nowUnix": now,
        "artifact": {"repository": "app", "digest": format!("sha256:{}", "1".repeat(64)),
                     "files": [{"name": "hello", "digest": format!("sha256:{}", "2".repeat(64))}]},
        "signatures": [{"identity": "alice@example.com", "keyid": "a".repeat(64), "role": "release", "logIndex": 4}],
        "provenance": [{"identity": "builder@example.com", "keyid": "b".repeat(64),
                        "builderId": "https://custody.dev/builder/local@v1",
                        "buildType": "https://custody.dev/buildtypes/sandbox/v1",
                        "sourceRepository": "git+https://example.com/app.git",
                        "sourceRevision": "0123456789abcdef0123456789abcdef01234567",
                        "sourceRef": "refs/heads/main",
                        "startedOn": "2026-11-21T07:59:00Z", "finishedOn": "2026-11-21T08:00:00Z",
                        "finishedUnix": now - 86_400, "logIndex": 5}],
        "rebuilds": [{"identity": "r1@example.org", "keyid": "c".repeat(64), "logIndex": 6},
                     {"identity": "r2@example.net", "keyid": "d".repeat(64), "logIndex": 8}],
        "sbom": [{"identity": "builder@example.com", "keyid": "b".repeat(64), "components": 212}],
        "vulnerabilities": {"scanned": true, "findings": [
            {"id": "RUSTSEC-2026-0001", "package": "foo", "version": "1.0.0", "severity": null},
            {"id": "RUSTSEC-2026-0002", "package": "bar", "version": "0.3.1", "severity": "medium"}]},
        "approvals": [{"identity": "bob@example.com", "keyid": "e".repeat(64), "logIndex": 7, "comment": null},
                      {"identity": "carol@example.com", "keyid": "f".repeat(64), "logIndex": 9, "comment": "ok"}],
        "ignoredApprovals": [],
        "deployment": {"current": null, "sequence": 3, "isCurrent": false},
        "rejected": []
    });
    let mut denied = input.clone();
    denied["rebuilds"] = json!([]);
    denied["approvals"] = json!([]);

    let staging_allowed = set.evaluate("staging", &input).allowed;
    for (env, label, input, allowed) in [
        ("prod", "allowed", &input, true),
        ("prod", "denied", &denied, false),
        ("staging", "same", &input, staging_allowed),
    ] {
        assert_eq!(set.evaluate(env, input).allowed, allowed, "{env} {label}");
        // Warm up, then time.
        for _ in 0..200 {
            black_box(set.evaluate(env, black_box(input)));
        }
        let n = 20_000;
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        for _ in 0..n {
            black_box(set.evaluate(env, black_box(input)));
        }
        let elapsed = start.elapsed();
        let cpu = cpu_start
            .zip(thread_cpu_ns())
            .map(|(a, b)| (b - a) as f64 / 1e9);
        println!(
            "{env} policy, {label} input: {n} decisions in {:.3} s wall = {:.0} decisions/s ({:.1} us each)",
            elapsed.as_secs_f64(),
            f64::from(n) / elapsed.as_secs_f64(),
            elapsed.as_secs_f64() * 1e6 / f64::from(n)
        );
        if let Some(cpu) = cpu {
            println!(
                "{env} policy, {label} input: {:.3} s on CPU = {:.0} decisions/s per core ({:.1} us each)",
                cpu,
                f64::from(n) / cpu,
                cpu * 1e6 / f64::from(n)
            );
        }
    }
}
