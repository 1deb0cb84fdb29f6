//! `evmatch RULES` with targets: the router on the command line (SPEC.md
//! §6): delivery to files and HTTP, the dead-letter file, --dry-run, the
//! summary, ARN mapping, and Ctrl-C losing nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{lines, run_in as run, spawn_in, Server};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    common::tmp_named("evmatch-router-cli", name)
}

fn events(n: usize) -> String {
    (0..n)
        .map(|i| format!("{{\"id\":\"e{i}\",\"source\":\"shop\",\"detail\":{{\"n\":{i}}}}}\n"))
        .collect()
}

/// A local HTTP server answering `status` after `delay`.
fn server(status: u16, delay: Duration) -> Server {
    Server::slow(status, delay, "/in")
}

/// The idempotency keys of the requests the server saw.
fn keys(srv: &Server) -> Vec<String> {
    srv.seen()
        .iter()
        .map(|s| s.header("Idempotency-Key").unwrap_or_default())
        .collect()
}

#[test]
fn spec_6_file_target_delivers_every_match_with_keys_and_a_summary() {
    let dir = tmp("file");
    let rules = r#"[{"Name": "orders", "EventPattern": {"source": ["shop"]},
        "Targets": [{"Id": "log", "Arn": "file://out.ndjson", "InputPath": "$.detail"}]},
       {"Name": "none", "EventPattern": {"source": ["other"]}}]"#;
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let o = run(&dir, &["rules.json"], &events(5));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(o.stdout.is_empty(), "the router prints no match lines");
    let recs = lines(&dir.join("out.ndjson"));
    assert_eq!(recs.len(), 5);
    for (i, r) in recs.iter().enumerate() {
        assert_eq!(r["idempotency_key"], format!("e{i}/orders/log"));
        assert_eq!(r["body"], serde_json::json!({"n": i}));
    }
    assert!(
        err.contains("evmatch: summary: matched 5, delivered 5, retried 0, dead-lettered 0"),
        "{err}"
    );
    assert!(
        err.contains("evmatch:   orders/log (file://out.ndjson): matched 5, delivered 5"),
        "{err}"
    );
    assert!(!dir.join("evmatch-dead-letter.ndjson").exists());

    // --raw-bodies: the body alone.
    let o = run(&dir, &["--raw-bodies", "rules.json"], &events(2));
    assert_eq!(o.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.join("out.ndjson")).unwrap();
    assert!(text.ends_with("\n{\"n\":0}\n{\"n\":1}\n"), "{text}");
}

#[test]
fn spec_6_dry_run_delivers_nothing_and_shows_each_pair() {
    let dir = tmp("dry");
    let rules = r#"[{"Name": "orders", "EventPattern": {"source": ["shop"]},
        "Targets": [{"Id": "log", "Arn": "file://out.ndjson"},
                    {"Id": "hook", "Arn": "http://127.0.0.1:9/x",
                     "InputTransformer": {"InputPathsMap": {"n": "$.detail.n"}, "InputTemplate": "n=<n>"}}]}]"#;
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let o = run(&dir, &["--dry-run", "rules.json"], &events(2));
    assert_eq!(o.status.code(), Some(0));
    assert!(
        !dir.join("out.ndjson").exists(),
        "a dry run creates no file"
    );
    let out: Vec<Value> = String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(out.len(), 4);
    assert_eq!(out[0]["line"], 1);
    assert_eq!(out[0]["target"], "log");
    assert_eq!(out[0]["body"]["id"], "e0");
    assert_eq!(out[1]["target"], "hook");
    assert_eq!(out[1]["body"], "n=0");
    assert_eq!(out[1]["idempotency_key"], "e0/orders/hook");
    assert_eq!(out[3]["url"], "http://127.0.0.1:9/x");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("dry run: 4 deliveries shown"), "{err}");
}

#[test]
fn spec_6_failing_http_target_goes_to_the_dead_letter_file() {
    let dir = tmp("dlq");
    let srv = server(503, Duration::ZERO);
    let url = &srv.url;
    let rules = format!(
        r#"[{{"Name": "orders", "EventPattern": {{"source": ["shop"]}},
            "Targets": [{{"Id": "hook", "Arn": "{url}", "RetryPolicy": {{"MaximumRetryAttempts": 2}},
                          "DeadLetterConfig": {{"Arn": "arn:aws:sqs:us-east-1:1:dlq"}}}}]}}]"#
    );
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let o = run(
        &dir,
        &[
            "--retry-base-ms",
            "5",
            "--retry-cap-ms",
            "20",
            "--map-arn",
            "arn:aws:sqs:us-east-1:1:dlq=file://dlq.ndjson",
            "rules.json",
        ],
        &events(2),
    );
    srv.stop();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert_eq!(srv.seen().len(), 6, "2 events × (1 + 2 retries)");
    let d = lines(&dir.join("dlq.ndjson"));
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
    assert_eq!(d[0]["RETRY_ATTEMPTS"], 2);
    assert_eq!(d[0]["ERROR_CODE"], "SDK_CLIENT_ERROR");
    assert!(err.contains("retried 4, dead-lettered 2"), "{err}");
    assert!(
        err.contains("dead-letter records written to dlq.ndjson"),
        "{err}"
    );
}

#[test]
fn unmapped_aws_arns_stop_the_start_unless_mapped_or_skipped() {
    let dir = tmp("arn");
    let rules = r#"[{"Name": "orders", "EventPattern": {"source": ["shop"]},
        "Targets": [{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:orders"},
                    {"Id": "log", "Arn": "file://out.ndjson"}]}]"#;
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let o = run(&dir, &["rules.json"], &events(1));
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("target q: arn:aws:sqs:us-east-1:123456789012:orders is an AWS ARN; map it"),
        "{err}"
    );
    assert!(!dir.join("out.ndjson").exists());

    let o = run(&dir, &["--skip-unmapped", "rules.json"], &events(1));
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("warning: rule \"orders\""));
    assert_eq!(lines(&dir.join("out.ndjson")).len(), 1);

    std::fs::write(
        dir.join("map.json"),
        r#"{"arn:aws:sqs:us-east-1:123456789012:orders": "file://q.ndjson"}"#,
    )
    .unwrap();
    let o = run(&dir, &["--arn-map", "map.json", "rules.json"], &events(1));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(lines(&dir.join("q.ndjson"))[0]["target"], "q");
    let o = run(
        &dir,
        &[
            "--map-arn",
            "arn:aws:sqs:us-east-1:123456789012:orders=stdout:",
            "rules.json",
        ],
        &events(1),
    );
    assert_eq!(o.status.code(), Some(0));
    let out: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["idempotency_key"], "e0/orders/q");

    // https targets start (TLS built in); nothing to deliver here.
    std::fs::write(
        dir.join("https.json"),
        r#"[{"Name": "r", "EventPattern": {"source": ["shop"]}, "Targets": [{"Id": "h", "Arn": "https://example.com/x"}]}]"#,
    )
    .unwrap();
    let o = run(&dir, &["https.json"], "");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn spec_3_3_target_limits_in_check_and_at_startup() {
    let dir = tmp("limits");
    let t = |id: &str| format!(r#"{{"Id": "{id}", "Arn": "stdout:"}}"#);
    let six: Vec<String> = ["a", "b", "c", "d", "e", "f"]
        .iter()
        .map(|i| t(i))
        .collect();
    let rules = format!(
        r#"[{{"Name": "six", "EventPattern": {{"source": ["shop"]}}, "Targets": [{}]}},
           {{"Name": "dup", "EventPattern": {{"source": ["shop"]}}, "Targets": [{}, {}]}}]"#,
        six.join(","),
        t("a"),
        t("a")
    );
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let o = run(&dir, &["check", "rules.json"], "");
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("six: The rule has 6 targets; a rule can have at most 5 targets."),
        "{out}"
    );
    assert!(
        out.contains("dup: The target Id a is used more than once"),
        "{out}"
    );
    let o = run(&dir, &["rules.json"], &events(1));
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn match_only_and_match_options_with_targets() {
    let dir = tmp("match-only");
    let rules = r#"[{"Name": "orders", "EventPattern": {"source": ["shop"]},
        "Targets": [{"Id": "log", "Arn": "file://out.ndjson"}]}]"#;
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let o = run(&dir, &["--match-only", "rules.json"], &events(2));
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "{\"line\":1,\"rules\":[\"orders\"]}\n{\"line\":2,\"rules\":[\"orders\"]}\n"
    );
    assert!(!dir.join("out.ndjson").exists());
    let o = run(&dir, &["--count", "rules.json"], &events(2));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--match-only"));
}

#[cfg(unix)]
#[test]
fn spec_6_ctrl_c_mid_stream_loses_nothing() {
    let dir = tmp("sigint");
    // A slow endpoint: 4 deliveries at a time, 300 ms each.
    let srv = server(200, Duration::from_millis(300));
    let url = &srv.url;
    let rules = format!(
        r#"[{{"Name": "orders", "EventPattern": {{"source": ["shop"]}},
            "Targets": [{{"Id": "hook", "Arn": "{url}"}}, {{"Id": "log", "Arn": "file://out.ndjson"}}]}}]"#
    );
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let mut child = spawn_in(&dir, &["--dead-letter", "dlq.ndjson", "rules.json"]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(events(40).as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Input stays open (mid-stream); wait for the first deliveries.
    let until = Instant::now() + Duration::from_secs(10);
    while srv.seen().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let kill = |n: u32| {
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill #{n}");
    };
    kill(1);
    std::thread::sleep(Duration::from_millis(100));
    kill(2);
    // Bounded wait for the exit.
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < until, "evmatch did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    srv.stop();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(
        err.contains("evmatch: summary: matched 80,"),
        "all 40 events were read: {err}"
    );

    // Every (event, target) pair is delivered or dead-lettered.
    let dlq = lines(&dir.join("dlq.ndjson"));
    let mut keys: Vec<String> = keys(&srv);
    keys.extend(
        lines(&dir.join("out.ndjson"))
            .iter()
            .map(|r| r["idempotency_key"].as_str().unwrap().to_string()),
    );
    keys.extend(
        dlq.iter()
            .map(|r| r["idempotency_key"].as_str().unwrap().to_string()),
    );
    for i in 0..40 {
        for t in ["hook", "log"] {
            let k = format!("e{i}/orders/{t}");
            assert!(keys.contains(&k), "{k} lost; {err}");
        }
    }
    // The second Ctrl-C dead-lettered what was still queued for the slow one.
    assert!(
        dlq.iter()
            .any(|d| d["ERROR_CODE"] == "INTERRUPTED" && d["target"] == "hook"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn spec_6_exec_timeout_kills_and_dead_letters_with_timeout() {
    let dir = tmp("exec-timeout");
    let rules = r#"[{"Name": "r", "EventPattern": {"source": ["shop"]},
        "Targets": [{"Id": "slow", "Arn": "exec:sleep 5",
                     "RetryPolicy": {"MaximumRetryAttempts": 1}}]}]"#;
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let started = Instant::now();
    let o = run(
        &dir,
        &[
            "--exec-timeout",
            "0.2",
            "--retry-base-ms",
            "5",
            "--dead-letter",
            "dlq.ndjson",
            "rules.json",
        ],
        &events(1),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "{err}");
    let d = lines(&dir.join("dlq.ndjson"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["ERROR_CODE"], "TIMEOUT");
    assert!(
        d[0]["ERROR_MESSAGE"]
            .as_str()
            .unwrap()
            .contains("timed out after 0.2 s"),
        "{}",
        d[0]
    );
    // Retriable: tried again once, then the retry policy ran out.
    assert_eq!(d[0]["RETRY_ATTEMPTS"], 1);
    assert_eq!(d[0]["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
    for bad in ["0", "-1", "soon"] {
        let o = run(&dir, &["--exec-timeout", bad, "rules.json"], "");
        assert_eq!(o.status.code(), Some(2), "{bad}");
    }
}

#[test]
fn spec_6_drain_timeout_dead_letters_what_is_left_at_the_end() {
    let dir = tmp("drain");
    let srv = server(503, Duration::ZERO);
    let url = &srv.url;
    let rules = format!(
        r#"[{{"Name": "orders", "EventPattern": {{"source": ["shop"]}},
            "Targets": [{{"Id": "hook", "Arn": "{url}",
                          "RetryPolicy": {{"MaximumRetryAttempts": 100}}}}]}}]"#
    );
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    let started = Instant::now();
    let o = run(
        &dir,
        &[
            "--retry-base-ms",
            "3000",
            "--drain-timeout",
            "0.3",
            "--dead-letter",
            "dlq.ndjson",
            "rules.json",
        ],
        &events(2),
    );
    srv.stop();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{err}");
    // Full jitter may fit a retry in before the limit.
    assert!(srv.seen().len() >= 2);
    let d = lines(&dir.join("dlq.ndjson"));
    assert_eq!(d.len(), 2, "{err}");
    for r in &d {
        assert_eq!(r["EXHAUSTED_RETRY_CONDITION"], "DrainTimeout");
        assert_eq!(r["ERROR_CODE"], "SDK_CLIENT_ERROR");
    }
    assert!(err.contains("drain timeout (0.3 s) passed"), "{err}");
    assert!(err.contains("matched 2, delivered 0, retried"), "{err}");
    assert!(err.contains("dead-lettered 2"), "{err}");
}

#[test]
fn ca_cert_files_are_checked_at_startup() {
    let dir = tmp("ca-cert");
    let rules = r#"[{"Name": "r", "EventPattern": {"source": ["shop"]},
        "Targets": [{"Id": "t", "Arn": "https://127.0.0.1:1/x"}]}]"#;
    std::fs::write(dir.join("rules.json"), rules).unwrap();
    std::fs::write(dir.join("bad.pem"), "nothing here\n").unwrap();
    let o = run(&dir, &["--ca-cert", "bad.pem", "rules.json"], &events(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--ca-cert: CA certificate file bad.pem"),
        "{err}"
    );
    assert!(!dir.join("evmatch-dead-letter.ndjson").exists());
}
