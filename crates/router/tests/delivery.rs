//! The delivery engine against real targets (SPEC.md §6): local HTTP
//! servers that fail, refuse or stall, files, and commands.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{lines, read_request};
use evmatch_router::delivery::{
    DeadLetterFile, DeadLetterSink, Router, RouterBuilder, RouterConfig,
};
use evmatch_router::sinks::{builtin, SinkOptions};
use evmatch_router::target::{Endpoint, Target};
use serde_json::{json, Value};
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as the test server saw it.
#[derive(Debug, Clone)]
struct Seen {
    head: String,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    }
}

/// A local HTTP server on 127.0.0.1:0 answering request n (0-based) with
/// `answer(n)` = (status, delay). Stops when dropped.
struct Server {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    fn start(answer: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let answer = Arc::new(answer);
        let count = Arc::new(AtomicUsize::new(0));
        {
            let (seen, stop) = (Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(60);
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
                    match listener.accept() {
                        Ok((s, _)) => {
                            let (seen, answer, count) =
                                (Arc::clone(&seen), Arc::clone(&answer), Arc::clone(&count));
                            std::thread::spawn(move || serve(s, &seen, &*answer, &count));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            });
        }
        Server { url, seen, stop }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(
    mut s: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    answer: &(dyn Fn(usize) -> (u16, Duration) + Send + Sync),
    count: &AtomicUsize,
) {
    s.set_nonblocking(false).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let Some((head, body)) = read_request(&mut s, &mut Vec::new()) else {
        return;
    };
    let n = count.fetch_add(1, Ordering::SeqCst);
    seen.lock().unwrap().push(Seen { head, body });
    let (status, delay) = answer(n);
    std::thread::sleep(delay);
    let _ = write!(
        s,
        "HTTP/1.1 {status} Test\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
    );
}

fn fast() -> RouterConfig {
    RouterConfig {
        retry_base: Duration::from_millis(5),
        retry_cap: Duration::from_millis(40),
        ..RouterConfig::default()
    }
}

fn target(v: Value) -> Target {
    Target::from_json(&v).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    common::tmp("evmatch-delivery", name)
}

/// A router with one rule "r" and the given targets, each with its own
/// built-in delivery and the shared dead-letter file.
fn router(config: RouterConfig, targets: Vec<Target>, dlq: &Path) -> Router {
    let mut b = RouterBuilder::new(config);
    let r = b.add_rule("r");
    let dlq: Arc<dyn DeadLetterSink> = Arc::new(DeadLetterFile::new(dlq));
    for t in targets {
        let endpoint = Endpoint::parse(&t.arn).unwrap();
        let deliver = builtin(&endpoint, &t.http_headers, &SinkOptions::default()).unwrap();
        let url = t.arn.clone();
        b.add_target(r, t, &url, deliver, Some(Arc::clone(&dlq)));
    }
    b.start()
}

const EVENT: &str = r#"{"id":"e-1","source":"shop","region":"eu-west-1","account":"111122223333","time":"2024-01-02T03:04:05Z","detail":{"n":1}}"#;

fn event(i: usize) -> String {
    format!(r#"{{"id":"e-{i}","source":"shop","detail":{{"n":{i}}}}}"#)
}

#[test]
fn spec_6_fails_n_times_then_succeeds_retried_and_delivered_once() {
    let dir = tmp("flaky");
    let server = Server::start(|n| (if n < 3 { 503 } else { 200 }, Duration::ZERO));
    let t = target(json!({"Id": "hook", "Arn": server.url, "InputPath": "$.detail"}));
    let r = router(fast(), vec![t], &dir.join("dlq.ndjson"));
    assert_eq!(r.route(EVENT, &[0]).unwrap(), 1);
    let s = r.finish();
    let t = &s.targets[0];
    assert_eq!(
        (t.matched, t.delivered, t.retried, t.dead_lettered),
        (1, 1, 3, 0)
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 4, "3 failures and 1 success");
    // Every attempt carries the same idempotency key and the same body.
    for s in &seen {
        assert_eq!(s.header("Idempotency-Key").as_deref(), Some("e-1/r/hook"));
        assert_eq!(s.body, r#"{"n":1}"#);
        assert!(s.head.starts_with("POST /hook HTTP/1.1"));
        assert_eq!(
            s.header("Content-Type").as_deref(),
            Some("application/json; charset=utf-8")
        );
    }
    assert!(!dir.join("dlq.ndjson").exists());
}

#[test]
fn spec_6_always_failing_target_is_dead_lettered_with_aws_attributes() {
    let dir = tmp("always");
    let dlq = dir.join("dlq.ndjson");
    let server = Server::start(|_| (500, Duration::ZERO));
    let t = target(json!({"Id": "hook", "Arn": server.url,
        "RetryPolicy": {"MaximumRetryAttempts": 2},
        "HttpParameters": {"HeaderParameters": {"X-Api-Key": "k1"}}}));
    let r = router(fast(), vec![t], &dlq);
    r.route(EVENT, &[0]).unwrap();
    let s = r.finish();
    assert_eq!(
        (
            s.targets[0].delivered,
            s.targets[0].retried,
            s.targets[0].dead_lettered
        ),
        (0, 2, 1)
    );
    assert_eq!(server.seen().len(), 3, "the first attempt and 2 retries");
    assert_eq!(server.seen()[0].header("X-Api-Key").as_deref(), Some("k1"));
    let recs = lines(&dlq);
    assert_eq!(recs.len(), 1);
    let d = &recs[0];
    assert_eq!(
        d["RULE_ARN"],
        "arn:aws:events:eu-west-1:111122223333:rule/r"
    );
    assert_eq!(d["TARGET_ARN"], server.url.as_str());
    assert_eq!(d["ERROR_CODE"], "SDK_CLIENT_ERROR");
    assert!(
        d["ERROR_MESSAGE"].as_str().unwrap().starts_with("HTTP 500"),
        "{d}"
    );
    assert_eq!(d["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
    assert_eq!(d["RETRY_ATTEMPTS"], 2);
    assert_eq!(d["idempotency_key"], "e-1/r/hook");
    assert_eq!(d["rule"], "r");
    assert_eq!(d["target"], "hook");
    assert_eq!(d["event"], serde_json::from_str::<Value>(EVENT).unwrap());
    assert_eq!(d["body"], serde_json::from_str::<Value>(EVENT).unwrap());
}

#[test]
fn spec_6_non_retriable_400_goes_to_the_dlq_at_once() {
    let dir = tmp("bad-request");
    let dlq = dir.join("dlq.ndjson");
    let server = Server::start(|_| (400, Duration::ZERO));
    let t = target(json!({"Id": "hook", "Arn": server.url}));
    let r = router(fast(), vec![t], &dlq);
    r.route(EVENT, &[0]).unwrap();
    let s = r.finish();
    assert_eq!((s.targets[0].retried, s.targets[0].dead_lettered), (0, 1));
    assert_eq!(server.seen().len(), 1);
    let d = &lines(&dlq)[0];
    assert_eq!(d["EXHAUSTED_RETRY_CONDITION"], Value::Null);
    assert_eq!(d["RETRY_ATTEMPTS"], 0);
    assert_eq!(d["ERROR_MESSAGE"], "HTTP 400 Test: nope");
}

#[test]
fn spec_6_refused_connection_is_retried_then_dead_lettered() {
    let dir = tmp("refused");
    let dlq = dir.join("dlq.ndjson");
    // A port nobody listens on: bind, note it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = target(
        json!({"Id": "gone", "Arn": format!("http://127.0.0.1:{port}/"),
        "RetryPolicy": {"MaximumRetryAttempts": 1}}),
    );
    let r = router(fast(), vec![t], &dlq);
    r.route(EVENT, &[0]).unwrap();
    let s = r.finish();
    assert_eq!((s.targets[0].retried, s.targets[0].dead_lettered), (1, 1));
    let d = &lines(&dlq)[0];
    assert!(
        d["ERROR_MESSAGE"]
            .as_str()
            .unwrap()
            .contains("cannot connect"),
        "{d}"
    );
    assert_eq!(d["RETRY_ATTEMPTS"], 1);
}

#[test]
fn spec_6_event_age_limit_stops_retrying() {
    let dir = tmp("age");
    let dlq = dir.join("dlq.ndjson");
    let server = Server::start(|_| (503, Duration::ZERO));
    // The first retry would come 61 s after the event: past the 60 s limit.
    let config = RouterConfig {
        retry_base: Duration::from_secs(61),
        retry_cap: Duration::from_secs(61),
        jitter: false,
        ..RouterConfig::default()
    };
    let t = target(json!({"Id": "hook", "Arn": server.url,
        "RetryPolicy": {"MaximumEventAgeInSeconds": 60}}));
    let r = router(config, vec![t], &dlq);
    r.route(EVENT, &[0]).unwrap();
    let started = Instant::now();
    let s = r.finish();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(s.targets[0].dead_lettered, 1);
    let d = &lines(&dlq)[0];
    assert_eq!(d["EXHAUSTED_RETRY_CONDITION"], "MaximumEventAgeInSeconds");
    assert_eq!(d["RETRY_ATTEMPTS"], 0);
}

#[test]
fn slow_target_does_not_stall_a_fast_one() {
    let dir = tmp("slow");
    let release = Arc::new(AtomicBool::new(false));
    let slow = {
        let release = Arc::clone(&release);
        Server::start(move |_| {
            // Hold every answer until the test says so (10 s at most).
            let until = Instant::now() + Duration::from_secs(10);
            while !release.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            (200, Duration::ZERO)
        })
    };
    let quick = Server::start(|_| (200, Duration::ZERO));
    let r = router(
        fast(),
        vec![
            target(json!({"Id": "slow", "Arn": slow.url})),
            target(json!({"Id": "quick", "Arn": quick.url})),
        ],
        &dir.join("dlq.ndjson"),
    );
    for i in 0..50 {
        r.route(&event(i), &[0]).unwrap();
    }
    // The quick target gets all 50 while the slow one holds its first 4.
    let until = Instant::now() + Duration::from_secs(8);
    while quick.seen().len() < 50 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(quick.seen().len(), 50);
    assert!(slow.seen().len() <= 4, "4 delivery threads, all held");
    assert_eq!(r.summary().targets[0].delivered, 0);
    release.store(true, Ordering::SeqCst);
    let s = r.finish();
    assert_eq!((s.targets[0].delivered, s.targets[1].delivered), (50, 50));
    let mut keys: Vec<String> = slow
        .seen()
        .iter()
        .map(|s| s.header("Idempotency-Key").unwrap())
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 50);
}

#[test]
fn a_full_queue_blocks_the_producer() {
    let dir = tmp("backpressure");
    let release = Arc::new(AtomicBool::new(false));
    let slow = {
        let release = Arc::clone(&release);
        Server::start(move |_| {
            let until = Instant::now() + Duration::from_secs(10);
            while !release.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            (200, Duration::ZERO)
        })
    };
    let config = RouterConfig {
        concurrency: 1,
        queue_capacity: 3,
        ..fast()
    };
    let r = Arc::new(router(
        config,
        vec![target(json!({"Id": "slow", "Arn": slow.url}))],
        &dir.join("dlq.ndjson"),
    ));
    let submitted = Arc::new(AtomicUsize::new(0));
    let producer = {
        let (r, submitted) = (Arc::clone(&r), Arc::clone(&submitted));
        std::thread::spawn(move || {
            for i in 0..20 {
                r.route(&event(i), &[0]).unwrap();
                submitted.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    // 1 in flight + 3 queued, and the fifth submission waits.
    assert_eq!(submitted.load(Ordering::SeqCst), 4);
    release.store(true, Ordering::SeqCst);
    producer.join().unwrap();
    let s = r.finish();
    assert_eq!(s.targets[0].delivered, 20);
}

#[test]
fn file_and_exec_targets() {
    let dir = tmp("file-exec");
    let out = dir.join("out.ndjson");
    let raw = dir.join("exec.txt");
    let dlq = dir.join("dlq.ndjson");
    let r = router(
        fast(),
        vec![
            target(
                json!({"Id": "file", "Arn": format!("file://{}", out.display()),
                "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": "n is <n>"}}),
            ),
            target(json!({"Id": "cmd", "Arn": format!(
                "exec:printf '%s %s\\n' \"$(cat)\" \"$EVMATCH_IDEMPOTENCY_KEY\" >> '{}'",
                raw.display()),
                "InputPath": "$.detail"})),
            target(json!({"Id": "failing", "Arn": "exec:exit 3",
                "RetryPolicy": {"MaximumRetryAttempts": 2}})),
        ],
        &dlq,
    );
    for i in 0..3 {
        r.route(&event(i), &[0]).unwrap();
    }
    let s = r.finish();
    let counts: Vec<(u64, u64, u64)> = s
        .targets
        .iter()
        .map(|t| (t.delivered, t.retried, t.dead_lettered))
        .collect();
    assert_eq!(counts, vec![(3, 0, 0), (3, 0, 0), (0, 6, 3)]);
    let recs = lines(&out);
    assert_eq!(recs.len(), 3);
    for (i, rec) in recs.iter().enumerate() {
        // A text template's body is a JSON string in the record.
        assert_eq!(rec["body"], format!("n is {i}"));
        assert_eq!(rec["idempotency_key"], format!("e-{i}/r/file"));
        assert_eq!(
            (&rec["rule"], &rec["target"]),
            (&json!("r"), &json!("file"))
        );
    }
    let text = std::fs::read_to_string(&raw).unwrap();
    for i in 0..3 {
        assert!(
            text.contains(&format!("{{\"n\":{i}}} e-{i}/r/cmd\n")),
            "{text}"
        );
    }
    let d = lines(&dlq);
    assert_eq!(d.len(), 3);
    assert!(d.iter().all(|d| d["ERROR_MESSAGE"]
        .as_str()
        .unwrap()
        .contains("exit status: 3")));
    assert!(d
        .iter()
        .all(|d| d["target"] == "failing" && d["RETRY_ATTEMPTS"] == 2));
}

#[test]
fn spec_6_transformation_failure_is_dead_lettered_not_retried() {
    let dir = tmp("transform");
    let dlq = dir.join("dlq.ndjson");
    let out = dir.join("out.ndjson");
    // "<s>" inside quotes with a value holding a quote: invalid JSON (SPEC §4.3).
    let t = target(
        json!({"Id": "t", "Arn": format!("file://{}", out.display()),
        "InputTransformer": {"InputPathsMap": {"s": "$.detail.s"}, "InputTemplate": "{\"s\": \"<s>\"}"}}),
    );
    let r = router(fast(), vec![t], &dlq);
    r.route(r#"{"id":"x","detail":{"s":"a\"b"}}"#, &[0])
        .unwrap();
    let s = r.finish();
    assert_eq!((s.targets[0].matched, s.targets[0].dead_lettered), (1, 1));
    assert!(lines(&out).is_empty());
    let d = &lines(&dlq)[0];
    assert_eq!(d["ERROR_CODE"], "TRANSFORMATION_FAILED");
    assert_eq!(d["body"], "{\"s\": \"a\"b\"}");
}

#[test]
fn interrupt_dead_letters_waiting_retries_and_abort_the_queue() {
    let dir = tmp("interrupt");
    let dlq = dir.join("dlq.ndjson");
    let server = Server::start(|_| (503, Duration::from_millis(100)));
    let config = RouterConfig {
        concurrency: 1,
        retry_base: Duration::from_secs(30),
        retry_cap: Duration::from_secs(30),
        jitter: false,
        ..RouterConfig::default()
    };
    let r = router(
        config,
        vec![target(json!({"Id": "h", "Arn": server.url}))],
        &dlq,
    );
    for i in 0..10 {
        r.route(&event(i), &[0]).unwrap();
    }
    std::thread::sleep(Duration::from_millis(250));
    r.interrupt();
    std::thread::sleep(Duration::from_millis(150));
    r.abort();
    let started = Instant::now();
    let s = r.finish();
    assert!(started.elapsed() < Duration::from_secs(5));
    let t = &s.targets[0];
    assert_eq!(t.matched, 10);
    assert_eq!(t.delivered + t.dead_lettered, 10, "{t:?}");
    let recs = lines(&dlq);
    assert_eq!(recs.len(), 10);
    let conditions: Vec<&Value> = recs
        .iter()
        .map(|d| &d["EXHAUSTED_RETRY_CONDITION"])
        .collect();
    assert!(conditions.contains(&&json!("Interrupted")));
    assert!(recs
        .iter()
        .any(|d| d["ERROR_CODE"] == "INTERRUPTED" && d["RETRY_ATTEMPTS"] == 0));
    let mut keys: Vec<&str> = recs
        .iter()
        .map(|d| d["idempotency_key"].as_str().unwrap())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 10);
}

#[test]
fn spec_6_without_a_dlq_failures_are_dropped_and_counted() {
    let mut b = RouterBuilder::new(fast());
    let r = b.add_rule("r");
    let t = target(
        json!({"Id": "x", "Arn": "exec:exit 1", "RetryPolicy": {"MaximumRetryAttempts": 0}}),
    );
    let deliver = builtin(
        &Endpoint::parse(&t.arn).unwrap(),
        &[],
        &SinkOptions::default(),
    )
    .unwrap();
    b.add_target(r, t, "exec:exit 1", deliver, None);
    let router = b.start();
    router.route(&event(1), &[0]).unwrap();
    let s = router.finish();
    assert_eq!((s.targets[0].dropped, s.targets[0].dead_lettered), (1, 0));
}

#[test]
fn spec_6_idempotency_key_without_event_id_is_a_stable_hash() {
    let dir = tmp("nokey");
    let out = dir.join("out.ndjson");
    let t = target(json!({"Id": "t", "Arn": format!("file://{}", out.display())}));
    let r = router(fast(), vec![t], &dir.join("dlq.ndjson"));
    r.route(r#"{"source":"a"}"#, &[0]).unwrap();
    r.route(r#"{"source":"a"}"#, &[0]).unwrap();
    r.route(r#"{"source":"b"}"#, &[0]).unwrap();
    r.finish();
    let recs = lines(&out);
    let keys: Vec<&str> = recs
        .iter()
        .map(|r| r["idempotency_key"].as_str().unwrap())
        .collect();
    assert!(keys[0].starts_with("h64-") && keys[0].ends_with("/r/t"));
    assert_eq!(keys[0], keys[1]);
    assert_ne!(keys[0], keys[2]);
}

#[test]
fn spec_6_drain_timeout_dead_letters_waiting_retries_with_their_last_error() {
    let dir = tmp("drain-retries");
    let dlq = dir.join("dlq.ndjson");
    let server = Server::start(|_| (500, Duration::ZERO));
    // Retries 2 s apart, many allowed: without a limit this would take long.
    let config = RouterConfig {
        retry_base: Duration::from_secs(2),
        retry_cap: Duration::from_secs(2),
        jitter: false,
        ..RouterConfig::default()
    };
    let t = target(json!({"Id": "hook", "Arn": server.url,
        "RetryPolicy": {"MaximumRetryAttempts": 100}}));
    let r = router(config, vec![t], &dlq);
    for i in 0..3 {
        r.route(&event(i), &[0]).unwrap();
    }
    let started = Instant::now();
    let s = r.finish_within(Some(Duration::from_millis(300)));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_millis(1800), "{took:?}");
    assert!(r.drain_expired());
    let t = &s.targets[0];
    assert_eq!((t.matched, t.delivered, t.dead_lettered), (3, 0, 3));
    assert_eq!(server.seen().len(), 3, "one attempt each, no retry yet");
    let recs = lines(&dlq);
    assert_eq!(recs.len(), 3);
    for d in &recs {
        assert_eq!(d["EXHAUSTED_RETRY_CONDITION"], "DrainTimeout");
        // The last real failure, not a made-up one.
        assert_eq!(d["ERROR_CODE"], "SDK_CLIENT_ERROR");
        assert!(d["ERROR_MESSAGE"].as_str().unwrap().starts_with("HTTP 500"));
        assert_eq!(d["RETRY_ATTEMPTS"], 0);
    }
}

#[test]
fn spec_6_drain_timeout_dead_letters_queued_deliveries_never_tried() {
    let dir = tmp("drain-queue");
    let dlq = dir.join("dlq.ndjson");
    // Each answer takes 400 ms; one delivery at a time.
    let server = Server::start(|_| (200, Duration::from_millis(400)));
    let config = RouterConfig {
        concurrency: 1,
        ..fast()
    };
    let t = target(json!({"Id": "hook", "Arn": server.url}));
    let r = router(config, vec![t], &dlq);
    for i in 0..5 {
        r.route(&event(i), &[0]).unwrap();
    }
    std::thread::sleep(Duration::from_millis(50));
    let s = r.finish_within(Some(Duration::from_millis(100)));
    let t = &s.targets[0];
    // The one in progress finishes; the queued ones are dead-lettered.
    assert_eq!((t.matched, t.delivered, t.dead_lettered), (5, 1, 4));
    assert_eq!(server.seen().len(), 1);
    let recs = lines(&dlq);
    assert_eq!(recs.len(), 4);
    for d in &recs {
        assert_eq!(d["EXHAUSTED_RETRY_CONDITION"], "DrainTimeout");
        assert_eq!(d["ERROR_CODE"], "TIMEOUT");
        assert_eq!(d["RETRY_ATTEMPTS"], 0);
    }
    // Event order kept: e-1 .. e-4 are the ones left.
    let ids: Vec<&str> = recs
        .iter()
        .map(|d| d["event"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["e-1", "e-2", "e-3", "e-4"]);
}

#[test]
fn spec_6_drain_limit_not_reached_changes_nothing() {
    let dir = tmp("drain-quick");
    let dlq = dir.join("dlq.ndjson");
    let server = Server::start(|n| (if n < 1 { 503 } else { 200 }, Duration::ZERO));
    let t = target(json!({"Id": "hook", "Arn": server.url}));
    let r = router(fast(), vec![t], &dlq);
    r.route(EVENT, &[0]).unwrap();
    let s = r.finish_within(Some(Duration::from_secs(20)));
    assert!(!r.drain_expired());
    assert_eq!((s.targets[0].delivered, s.targets[0].retried), (1, 1));
    assert!(!dlq.exists());
}

/// A keep-alive HTTP server: answers 200 to every request on a
/// connection, and closes the connection without a word after
/// `per_connection` answers (0: never). Counts connections and requests.
struct KeepAliveServer {
    url: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<Mutex<Vec<String>>>,
}

fn keep_alive_server(per_connection: usize) -> KeepAliveServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ka", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (c2, r2) = (Arc::clone(&connections), Arc::clone(&requests));
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { return };
            c2.fetch_add(1, Ordering::SeqCst);
            let requests = Arc::clone(&r2);
            std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                let mut buf: Vec<u8> = Vec::new();
                let mut answered = 0;
                loop {
                    let Some((_, body)) = read_request(&mut s, &mut buf) else {
                        return;
                    };
                    requests.lock().unwrap().push(body);
                    if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                    answered += 1;
                    if per_connection > 0 && answered == per_connection {
                        return; // closes the connection, unannounced
                    }
                }
            });
        }
    });
    KeepAliveServer {
        url,
        connections,
        requests,
    }
}

#[test]
fn http_connections_are_kept_open_between_deliveries() {
    let dir = tmp("keep-alive");
    let server = keep_alive_server(0);
    let config = RouterConfig {
        concurrency: 1,
        ..fast()
    };
    let t = target(json!({"Id": "hook", "Arn": server.url, "InputPath": "$.detail"}));
    let r = router(config, vec![t], &dir.join("dlq.ndjson"));
    for i in 0..20 {
        r.route(&event(i), &[0]).unwrap();
    }
    let s = r.finish();
    let t = &s.targets[0];
    assert_eq!((t.delivered, t.retried, t.dead_lettered), (20, 0, 0));
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
    let bodies = server.requests.lock().unwrap().clone();
    let want: Vec<String> = (0..20).map(|i| format!(r#"{{"n":{i}}}"#)).collect();
    assert_eq!(bodies, want);
}

#[test]
fn http_connections_closed_by_the_server_are_replaced_without_failing() {
    let dir = tmp("keep-alive-closed");
    // The server drops every connection after 3 answers, unannounced.
    let server = keep_alive_server(3);
    let config = RouterConfig {
        concurrency: 1,
        ..fast()
    };
    let t = target(json!({"Id": "hook", "Arn": server.url, "InputPath": "$.detail"}));
    let r = router(config, vec![t], &dir.join("dlq.ndjson"));
    for i in 0..20 {
        r.route(&event(i), &[0]).unwrap();
        if i % 5 == 0 {
            // Sometimes the close has arrived before the next request.
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let s = r.finish();
    let t = &s.targets[0];
    // Reconnecting is no failed attempt: nothing retried, all delivered once.
    assert_eq!((t.delivered, t.retried, t.dead_lettered), (20, 0, 0));
    assert_eq!(server.connections.load(Ordering::SeqCst), 7);
    let bodies = server.requests.lock().unwrap().clone();
    assert_eq!(bodies.len(), 20);
}

#[test]
fn http_connections_stay_within_the_target_concurrency() {
    let dir = tmp("keep-alive-pool");
    let server = keep_alive_server(0);
    let config = RouterConfig {
        concurrency: 3,
        ..fast()
    };
    let t = target(json!({"Id": "hook", "Arn": server.url}));
    let r = router(config, vec![t], &dir.join("dlq.ndjson"));
    for i in 0..60 {
        r.route(&event(i), &[0]).unwrap();
    }
    let s = r.finish();
    assert_eq!(s.targets[0].delivered, 60);
    let n = server.connections.load(Ordering::SeqCst);
    assert!((1..=3).contains(&n), "{n} connections");
    assert_eq!(server.requests.lock().unwrap().len(), 60);
}
