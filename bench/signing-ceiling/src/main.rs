//! Single-thread ES256 signing rate with aws-lc-rs, the ceiling a token endpoint
//! can approach: every client_credentials grant costs one such signature.
//!
//! Usage: signing-ceiling [SECONDS_PER_ROUND] [ROUNDS]
//! Prints `signs_per_second=N` (the median round) and one line per round.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(2.0, |s| s.parse().expect("SECONDS_PER_ROUND is a number"));
    let rounds: usize = args.next().map_or(5, |s| s.parse().expect("ROUNDS is an integer"));

    let rng = SystemRandom::new();
    // The key is parsed once, as Tessera does at start.
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("generate key");
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("parse key");
    // About the size of a JWS signing input (base64url header "." base64url claims).
    let message = [b'a'; 300];

    // Warm up caches and the CPU's clock before measuring.
    for _ in 0..2_000 {
        std::hint::black_box(key.sign(&rng, &message).expect("sign"));
    }

    let mut rates = Vec::with_capacity(rounds);
    for round in 1..=rounds {
        let budget = Duration::from_secs_f64(seconds);
        let start = Instant::now();
        let mut signs: u64 = 0;
        // Check the clock every 256 signatures so timing stays out of the loop's cost.
        while start.elapsed() < budget {
            for _ in 0..256 {
                std::hint::black_box(key.sign(&rng, std::hint::black_box(&message)).expect("sign"));
            }
            signs += 256;
        }
        let rate = signs as f64 / start.elapsed().as_secs_f64();
        println!("round {round}: {rate:.0} signs/s ({:.1} us/sign)", 1e6 / rate);
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    println!("signs_per_second={median:.0}");
}
