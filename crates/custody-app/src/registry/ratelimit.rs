//! The per-token request rate limit (`limits.requests_per_second` in the registry config): a
//! token bucket per actor (the token id; every anonymous client shares `anonymous`) that holds
//! one second's worth of requests and refills continuously.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::codes::Code;
use crate::error::{Error, Result};

/// Buckets kept before idle, full ones are dropped.
const MAX_BUCKETS: usize = 65_536;

struct Bucket {
    tokens: f64,
    at: Instant,
    /// Whether a refusal was already reported since the last allowed request.
    refusing: bool,
}

/// A refused request: the error, and whether it is the first refusal of a run (the one worth
/// auditing: recording every refused request of a flood would turn the limit into a write
/// amplifier).
#[derive(Debug)]
pub struct Refused {
    /// The refusal.
    pub error: Error,
    /// The first refusal since the actor's last allowed request.
    pub first: bool,
}

/// Token buckets, one per actor.
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Allows `per_second` requests per second per actor (bursts of up to `per_second`).
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: f64::from(per_second.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `actor`'s budget at time `now`, or refuses with
    /// [`Code::RateLimited`].
    pub fn check(&self, actor: &str, now: Instant) -> Result<()> {
        self.take(actor, now).map_err(|r| r.error)
    }

    /// [`Self::check`], telling whether a refusal is the first of its run.
    pub fn take(&self, actor: &str, now: Instant) -> std::result::Result<(), Refused> {
        let refused = |error: Error| Refused { error, first: true };
        let mut buckets = self
            .buckets
            .lock()
            .map_err(|_| refused(Error::new(Code::Internal, "rate limiter lock poisoned")))?;
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(actor) {
            let per_second = self.per_second;
            buckets.retain(|_, b| refilled(b, now, per_second) < per_second);
        }
        let bucket = buckets.entry(actor.to_owned()).or_insert(Bucket {
            tokens: self.per_second,
            at: now,
            refusing: false,
        });
        bucket.tokens = refilled(bucket, now, self.per_second);
        bucket.at = now.max(bucket.at);
        if bucket.tokens < 1.0 {
            let first = !bucket.refusing;
            bucket.refusing = true;
            return Err(Refused {
                error: Error::new(
                    Code::RateLimited,
                    format!(
                        "more than {} requests per second from {actor}",
                        self.per_second
                    ),
                ),
                first,
            });
        }
        bucket.refusing = false;
        bucket.tokens -= 1.0;
        Ok(())
    }
}

fn refilled(bucket: &Bucket, now: Instant, per_second: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(per_second)
}

#[cfg(test)]
mod tests;
