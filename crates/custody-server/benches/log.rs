//! Transparency-log throughput on this machine, printed; nothing is asserted.
//!
//! `cargo bench -p custody-server --bench log` runs, in one process, a custody server on
//! loopback (embedded SQLite storage in a temporary directory, durable commits) and:
//! 1. prefills the log in-process to BENCH_LOG_PREFILL entries (default 1,000,000), in waves of
//!    BENCH_LOG_INFLIGHT concurrent submissions (default 4096; 64 shows the sequencer's own
//!    ceiling for 64 submitters without HTTP), printing the process RSS as it grows, to show
//!    memory does not grow with log size;
//! 2. drives `POST /api/v2/log/entries` with BENCH_LOG_CLIENTS (default 64) concurrent HTTP
//!    submitters for BENCH_LOG_SECONDS (default 10): sustained entries/s and p50/p99
//!    submit-to-proof latency (requests are signed before the clock starts);
//! 3. drives tile and checkpoint GETs with the same concurrency: reads/s.
//!
//! The load generator shares the machine's two cores with the server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use custody_app::log::{Log, SequencerConfig};
use custody_app::tokens::{Scope, TokenChecker, create_token};
use custody_crypto::{KeyAlgorithm, KeyProtection, Signer, SigningKey, random_bytes, sha256};
use custody_formats::rekor::HashedRekord;
use custody_log::note::{KeyName, NoteSigner};
use custody_server::{ServerState, router};
use secrecy::ExposeSecret as _;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn request(key: &SigningKey) -> Vec<u8> {
    let digest = sha256(&random_bytes::<32>().expect("random"));
    let sig = key.sign_prehashed(&digest).expect("sign");
    HashedRekord::new(digest, sig, key.public_key().clone())
        .expect("record")
        .to_request_json()
}

/// `BENCH_LOG_WRITE_BODIES=FILE`: writes BENCH_LOG_BODIES (default 300,000) distinct signed
/// `hashedRekordRequestV002` bodies to FILE, one per line, for an external load generator
/// (bench/log drives a separate `custody serve` with wrk), and exits.
fn write_bodies(path: &str) {
    use std::io::Write as _;
    let count = env("BENCH_LOG_BODIES", 300_000);
    let keys: Vec<SigningKey> = (0..64)
        .map(|_| SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key"))
        .collect();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    for i in 0..count {
        let body = request(&keys[(i % 64) as usize]);
        out.write_all(&body).expect("write");
        out.write_all(b"\n").expect("write");
    }
    out.flush().expect("flush");
}

fn main() {
    if let Ok(path) = std::env::var("BENCH_LOG_WRITE_BODIES") {
        write_bodies(&path);
        return;
    }
    let prefill = env("BENCH_LOG_PREFILL", 1_000_000);
    let clients = env("BENCH_LOG_CLIENTS", 64) as usize;
    let seconds = env("BENCH_LOG_SECONDS", 10);

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("custody.db");
    let log_key = SigningKey::generate(KeyAlgorithm::Ed25519).expect("key");
    let copy = SigningKey::from_pkcs8_pem(
        &log_key
            .to_pkcs8_pem(KeyProtection::Unencrypted)
            .expect("pem"),
        None,
    )
    .expect("key");
    let signer =
        NoteSigner::new(KeyName::new("bench.custody/log").expect("name"), copy).expect("signer");
    let log = Arc::new(Log::open(&db, Box::new(signer), SequencerConfig::default()).expect("log"));
    let (_, token) = create_token(&db, &[Scope::LogWrite], "bench", 0).expect("token");
    let token = token.expose_secret().to_owned();
    let state = Arc::new(ServerState {
        log: Arc::clone(&log),
        tokens: TokenChecker::open(&db).expect("tokens"),
        log_id: sha256(log_key.public_key().spki_der()).as_bytes().to_vec(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");

    println!("== custody log benchmark (2 cores; server and load generator in one process)");
    println!("rss at start: {:.1} MiB", rss_mib());

    // 1. Prefill in-process (no HTTP), BENCH_LOG_INFLIGHT submissions in flight.
    let started = Instant::now();
    runtime.block_on(async {
        let mut next = 0u64;
        let mut report = 1u64 << 20;
        while next < prefill {
            let n = (prefill - next).min(env("BENCH_LOG_INFLIGHT", 4096));
            let futures: Vec<_> = (next..next + n)
                .map(|i| {
                    let log = Arc::clone(&log);
                    tokio::spawn(async move {
                        log.submit(format!("prefill entry {i:016}").into_bytes())
                            .await
                    })
                })
                .collect();
            for f in futures {
                f.await.expect("join").expect("submit");
            }
            next += n;
            if next >= report || next == prefill {
                println!(
                    "prefill: {next:>10} entries, {:>8.0} entries/s, rss {:.1} MiB",
                    next as f64 / started.elapsed().as_secs_f64(),
                    rss_mib()
                );
                report += 1 << 20;
            }
        }
    });

    // 2. HTTP submissions.
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    runtime.spawn(custody_server::serve(listener, router(state)));
    let url = format!("http://{addr}/api/v2/log/entries");
    let keys: Vec<SigningKey> = (0..clients)
        .map(|_| SigningKey::generate(KeyAlgorithm::EcdsaP256).expect("key"))
        .collect();
    // Enough pre-signed requests for ~40k/s per the whole run.
    let per_client = (40_000 * seconds) as usize / clients + 1;
    let bodies: Vec<Vec<Vec<u8>>> = keys
        .iter()
        .map(|k| (0..per_client).map(|_| request(k)).collect())
        .collect();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("client");
    let deadline = Duration::from_secs(seconds);
    let (count, mut latencies) = runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|bodies| {
                let http = http.clone();
                let url = url.clone();
                let token = token.clone();
                tokio::spawn(async move {
                    let mut lat = Vec::new();
                    for body in bodies {
                        if start.elapsed() >= deadline {
                            break;
                        }
                        let t = Instant::now();
                        let resp = http
                            .post(&url)
                            .bearer_auth(&token)
                            .body(body)
                            .send()
                            .await
                            .expect("send");
                        assert!(resp.status().is_success(), "HTTP {}", resp.status());
                        resp.bytes().await.expect("body");
                        lat.push(t.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("join"));
        }
        (all.len(), all)
    });
    latencies.sort_unstable();
    println!(
        "submit: {clients} clients, {count} entries in {seconds} s: {:.0} entries/s durable; latency p50 {:.1} ms, p99 {:.1} ms; rss {:.1} MiB",
        count as f64 / seconds as f64,
        percentile(&latencies, 0.50).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        rss_mib()
    );

    // 3. Reads: full level-0 tiles spread over the log, and the checkpoint.
    let size = log.published().size.get();
    let full_tiles = (size / 256).max(1);
    let base = format!("http://{addr}/api/v2");
    let reads = runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let http = http.clone();
                let base = base.clone();
                tokio::spawn(async move {
                    let mut n = 0u64;
                    let mut i = c as u64 * 7919;
                    while start.elapsed() < Duration::from_secs(5) {
                        i = i
                            .wrapping_mul(6364136223846793005)
                            .wrapping_add(1442695040888963407);
                        let url = if n.is_multiple_of(10) {
                            format!("{base}/checkpoint")
                        } else {
                            format!(
                                "{base}/{}",
                                custody_log::tile::Tile::new(0, (i >> 17) % full_tiles, 256)
                                    .expect("tile")
                            )
                        };
                        let resp = http.get(&url).send().await.expect("get");
                        assert!(resp.status().is_success(), "{url}: {}", resp.status());
                        resp.bytes().await.expect("body");
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.expect("join");
        }
        total
    });
    println!(
        "reads: {:.0} reads/s (90% full tiles, 10% checkpoint); log size {size}; rss {:.1} MiB",
        reads as f64 / 5.0,
        rss_mib()
    );
    log.shutdown();
}
