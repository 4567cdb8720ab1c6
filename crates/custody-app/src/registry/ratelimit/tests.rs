use std::time::Duration;

use super::*;

#[test]
fn a_burst_is_allowed_then_refused_then_refilled() {
    let limiter = RateLimiter::new(5);
    let t0 = Instant::now();
    for _ in 0..5 {
        limiter.check("tok", t0).unwrap();
    }
    let err = limiter.check("tok", t0).unwrap_err();
    assert_eq!(err.code(), Code::RateLimited);
    assert!(err.message().contains("tok"), "{err}");
    // Another actor has its own budget.
    limiter.check("other", t0).unwrap();
    // 200 ms refill one request at 5/s.
    limiter
        .check("tok", t0 + Duration::from_millis(200))
        .unwrap();
    assert!(
        limiter
            .check("tok", t0 + Duration::from_millis(200))
            .is_err()
    );
    // A long pause refills to the burst size, not beyond.
    let later = t0 + Duration::from_secs(60);
    for _ in 0..5 {
        limiter.check("tok", later).unwrap();
    }
    assert!(limiter.check("tok", later).is_err());
}

#[test]
fn idle_buckets_are_dropped_when_there_are_too_many() {
    let limiter = RateLimiter::new(1);
    let t0 = Instant::now();
    for i in 0..MAX_BUCKETS {
        limiter.check(&format!("a{i}"), t0).unwrap();
    }
    let later = t0 + Duration::from_secs(2);
    limiter.check("new", later).unwrap();
    assert_eq!(limiter.buckets.lock().unwrap().len(), 1);
    // A busy actor keeps its (empty) bucket.
    assert!(limiter.check("new", later).is_err());
}

#[test]
fn only_the_first_refusal_of_a_run_is_marked_for_auditing() {
    let limiter = RateLimiter::new(1);
    let t0 = Instant::now();
    limiter.take("tok", t0).unwrap();
    assert!(limiter.take("tok", t0).unwrap_err().first);
    assert!(!limiter.take("tok", t0).unwrap_err().first);
    assert!(!limiter.take("tok", t0).unwrap_err().first);
    // An allowed request ends the run; the next refusal is reported again.
    limiter.take("tok", t0 + Duration::from_secs(1)).unwrap();
    assert!(
        limiter
            .take("tok", t0 + Duration::from_secs(1))
            .unwrap_err()
            .first
    );
}
