//! Single-signature verification throughput, printed as verifications per second.
//!
//! `cargo bench -p custody-crypto --bench verify`; `bench/run` prints it next to
//! `openssl speed ed25519 ecdsap256`. Nothing here asserts a time.

use std::hint::black_box;
use std::time::{Duration, Instant};

use custody_crypto::{KeyAlgorithm, Signer, SigningKey, Verifier};

fn measure(algorithm: KeyAlgorithm, budget: Duration) -> f64 {
    let key = SigningKey::generate(algorithm).expect("key generation");
    // A DSSE PAE of a small in-toto statement is a few hundred bytes.
    let message = vec![0x5au8; 256];
    let signature = key.sign(&message).expect("signing");
    let public = key.public_key().clone();
    // Warm up, then count whole batches until the budget is spent.
    for _ in 0..200 {
        public
            .verify(black_box(&message), black_box(&signature))
            .expect("verify");
    }
    let start = Instant::now();
    let mut count = 0u64;
    while start.elapsed() < budget {
        for _ in 0..100 {
            public
                .verify(black_box(&message), black_box(&signature))
                .expect("verify");
        }
        count += 100;
    }
    count as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let budget = Duration::from_secs(3);
    for (name, algorithm) in [
        ("ed25519", KeyAlgorithm::Ed25519),
        ("ecdsa-p256", KeyAlgorithm::EcdsaP256),
    ] {
        println!(
            "custody verify {name}: {:.0} verifications/s",
            measure(algorithm, budget)
        );
    }
}
