//! `Router::prepare_bodies`: deliveries of ready-made bodies (the SNS
//! fan-out), with the same keys, retries and dead-lettering (SPEC.md §6).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use evmatch_router::delivery::{DeadLetterFile, DeadLetterSink, RouterBuilder, RouterConfig};
use evmatch_router::target::{Deliver, Delivery, DeliveryError, ErrorCode, RetryPolicy, Target};
use evmatch_router::transform::TargetInput;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Records what it receives; fails every delivery when `fail`.
struct Recorder {
    fail: bool,
    seen: Arc<Mutex<Vec<(String, String, u32)>>>,
}

impl Deliver for Recorder {
    fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
        self.seen.lock().unwrap().push((
            d.body.to_string(),
            d.idempotency_key.to_string(),
            d.attempt,
        ));
        if self.fail {
            Err(DeliveryError::new(ErrorCode::Timeout, "always fails"))
        } else {
            Ok(())
        }
    }
}

fn target(id: &str) -> Target {
    Target {
        id: id.to_string(),
        arn: format!("arn:test:{id}"),
        input: TargetInput::Event,
        retry_policy: RetryPolicy {
            maximum_retry_attempts: 2,
            maximum_event_age_seconds: 60,
        },
        dead_letter_arn: None,
        http_headers: Vec::new(),
    }
}

#[test]
fn spec_6_ready_bodies_are_delivered_retried_and_dead_lettered() {
    let dir = std::env::temp_dir().join(format!("evmatch-prepare-bodies-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let dlq_path = dir.join("dlq.ndjson");
    let dlq: Arc<dyn DeadLetterSink> = Arc::new(DeadLetterFile::new(&dlq_path));
    let (good, bad) = (
        Arc::new(Mutex::new(Vec::new())),
        Arc::new(Mutex::new(Vec::new())),
    );
    let mut b = RouterBuilder::new(RouterConfig {
        retry_base: Duration::from_millis(1),
        retry_cap: Duration::from_millis(5),
        ..RouterConfig::default()
    });
    let r = b.add_rule("topic");
    let g = b
        .add_target(
            r,
            target("good"),
            "test:good",
            Box::new(Recorder {
                fail: false,
                seen: Arc::clone(&good),
            }),
            Some(Arc::clone(&dlq)),
        )
        .unwrap();
    let f = b
        .add_target(
            r,
            target("bad"),
            "test:bad",
            Box::new(Recorder {
                fail: true,
                seen: Arc::clone(&bad),
            }),
            Some(Arc::clone(&dlq)),
        )
        .unwrap();
    let router = b.start();
    let mut jobs = Vec::new();
    let (one, two): (Arc<str>, Arc<str>) = (Arc::from("body one"), Arc::from("{\"b\":2}"));
    router.prepare_bodies(
        "{\"Message\":\"m\"}\n",
        Some("id 1"),
        &[(g, Arc::clone(&one)), (f, Arc::clone(&two)), (99, one)],
        Instant::now(),
        &mut jobs,
    );
    // The unknown target index is skipped.
    assert_eq!(jobs.len(), 2);
    assert_eq!(router.idempotency_key(&jobs[0]), "id%201/topic/good");
    assert_eq!(jobs[1].body().unwrap(), "{\"b\":2}");
    router.submit_all(jobs);
    let s = router.finish();
    assert_eq!(s.total(|t| t.delivered), 1);
    assert_eq!(s.total(|t| t.dead_lettered), 1);
    assert_eq!(
        *good.lock().unwrap(),
        vec![("body one".to_string(), "id%201/topic/good".to_string(), 1)]
    );
    // One attempt and two retries, then the dead-letter file.
    let attempts: Vec<u32> = bad.lock().unwrap().iter().map(|x| x.2).collect();
    assert_eq!(attempts, vec![1, 2, 3]);
    let text = std::fs::read_to_string(&dlq_path).unwrap();
    let rec: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(rec["idempotency_key"], "id%201/topic/bad");
    assert_eq!(rec["event"], serde_json::json!({"Message": "m"}));
    assert_eq!(rec["body"], serde_json::json!({"b": 2}));
    assert_eq!(rec["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn spec_6_without_an_id_the_key_is_a_stable_hash_of_the_text() {
    let mut b = RouterBuilder::new(RouterConfig::default());
    let r = b.add_rule("t");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = b
        .add_target(
            r,
            target("x"),
            "test:x",
            Box::new(Recorder { fail: false, seen }),
            None,
        )
        .unwrap();
    let router = b.start();
    let mut jobs = Vec::new();
    let body: Arc<str> = Arc::from("b");
    router.prepare_bodies(
        "{\"a\":1}",
        None,
        &[(s, Arc::clone(&body))],
        Instant::now(),
        &mut jobs,
    );
    router.prepare_bodies(" {\"a\":1} ", None, &[(s, body)], Instant::now(), &mut jobs);
    let k0 = router.idempotency_key(&jobs[0]);
    assert!(k0.starts_with("h64-") && k0.ends_with("/t/x"), "{k0}");
    assert_eq!(k0, router.idempotency_key(&jobs[1]));
    router.submit_all(jobs);
    assert_eq!(router.finish().total(|t| t.delivered), 2);
}

/// Delivered jobs go back to the producer to be freed (memory allocated
/// on its thread is freed there): at most `queue_capacity` of them wait
/// for its next submit, which frees them, and none outlive `finish`.
#[test]
fn delivered_jobs_are_freed_by_the_next_submit_and_bounded() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let capacity = 8;
    let mut b = RouterBuilder::new(RouterConfig {
        queue_capacity: capacity,
        ..RouterConfig::default()
    });
    let r = b.add_rule("topic");
    let t = b
        .add_target(
            r,
            target("good"),
            "test:good",
            Box::new(Recorder {
                fail: false,
                seen: Arc::clone(&seen),
            }),
            None,
        )
        .unwrap();
    let router = b.start();
    let body: Arc<str> = Arc::from("shared body");
    let submit = |n: usize, body: &Arc<str>| {
        for i in 0..n {
            let mut jobs = Vec::new();
            router.prepare_bodies(
                "{}",
                Some(&format!("e{i}")),
                &[(t, Arc::clone(body))],
                Instant::now(),
                &mut jobs,
            );
            router.submit_all(jobs);
        }
    };
    let wait_delivered = |n: u64| {
        let start = Instant::now();
        while router.summary().total(|t| t.delivered) < n {
            assert!(start.elapsed() < Duration::from_secs(10), "not delivered");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    submit(100, &body);
    wait_delivered(100);
    // Held once the delivery threads are idle: at most the handed-over
    // ones and a delivery thread's last batch (one job: the recorder takes
    // one at a time). A thread counts a delivery before it hands the job
    // over, and on a loaded machine it may be descheduled in between, so
    // the bound is awaited (the test fails if it never holds).
    let start = Instant::now();
    while Arc::strong_count(&body) - 1 > capacity + 1 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} jobs still held",
            Arc::strong_count(&body) - 1
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // The next submit frees what was handed over.
    let other: Arc<str> = Arc::from("other");
    submit(1, &other);
    assert!(Arc::strong_count(&body) - 1 <= 1);
    let s = router.finish();
    assert_eq!(s.total(|t| t.delivered), 101);
    assert_eq!(seen.lock().unwrap().len(), 101);
    drop(router);
    assert_eq!(Arc::strong_count(&body), 1);
    assert_eq!(Arc::strong_count(&other), 1);
}
