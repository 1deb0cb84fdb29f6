//! `evmatch fanout`: a local SNS topic (SPEC.md §5 filter policies, §6
//! delivery) with real targets: a file per subscription, a local HTTP
//! server, a failing endpoint and its dead-letter file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{lines, run_in, Server};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn tmp(name: &str) -> PathBuf {
    common::tmp_named("evmatch-fanout-cli", name)
}

fn run(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["fanout"];
    all.extend_from_slice(args);
    run_in(dir, &all, stdin)
}

const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:orders";

/// Publish requests: (Message, MessageAttributes, Subject).
fn messages() -> String {
    let attrs = |store: &str, price: &str, tags: &str| {
        json!({
            "store": {"DataType": "String", "StringValue": store},
            "price": {"DataType": "Number", "StringValue": price},
            "tags": {"DataType": "String.Array", "StringValue": tags},
            "blob": {"DataType": "Binary", "BinaryValue": "AAEC"}
        })
    };
    [
        // 1: cheap, example_corp, eu body, tags [red]
        json!({"Message": "{\"order\":{\"region\":\"eu-west-1\",\"n\":1}}",
               "MessageAttributes": attrs("example_corp", "99.5", "[\"red\"]"),
               "Subject": "order 1"}),
        // 2: expensive, example_corp, us body
        json!({"Message": "{\"order\":{\"region\":\"us-east-1\",\"n\":2}}",
               "MessageAttributes": attrs("example_corp", "250", "[\"blue\",\"green\"]")}),
        // 3: plain text body, other store, cheap
        json!({"Message": "plain text 3",
               "MessageAttributes": attrs("other", "5", "[]")}),
        // 4: no attributes at all, eu body
        json!({"Message": "{\"order\":{\"region\":\"eu-central-1\",\"n\":4}}"}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect()
}

/// The Message texts a file's records carry (enveloped or raw).
fn delivered_messages(recs: &[Value]) -> Vec<String> {
    recs.iter()
        .map(|r| match &r["body"] {
            Value::String(raw) => raw.clone(),
            env => env["Message"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn msg(n: usize) -> String {
    let v: Vec<Value> = messages()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    v[n - 1]["Message"].as_str().unwrap().to_string()
}

#[test]
fn spec_5_each_message_goes_exactly_to_the_subscriptions_whose_policy_matches() {
    let dir = tmp("exact");
    let http = Server::start(200, "/sns");
    let subs = json!({
        "TopicArn": TOPIC,
        "Subscriptions": [
            // §5.2 Number by value, String exact (AND across keys).
            {"Name": "cheap", "Endpoint": "file://cheap.ndjson",
             "FilterPolicy": {"price": [{"numeric": ["<", 100]}], "store": ["example_corp"]}},
            // §5.2 String.Array element by element; policy given as text.
            {"Name": "green", "Endpoint": "file://green.ndjson",
             "FilterPolicy": "{\"tags\": [\"green\", \"red\"]}"},
            // §5.1 MessageBody scope, nested; a non-JSON body never matches. Raw delivery.
            {"Name": "eu", "Endpoint": "file://eu.ndjson",
             "FilterPolicyScope": "MessageBody",
             "FilterPolicy": {"order": {"region": [{"prefix": "eu-"}]}},
             "RawMessageDelivery": "true"},
            // §5.1 no policy: everything. Over HTTP, enveloped.
            {"SubscriptionArn": format!("{TOPIC}:0001"), "Endpoint": http.url,
             "Attributes": {"RawMessageDelivery": "false"}},
            // §5.5 an empty FilterPolicy filters nothing.
            {"Name": "empty", "Endpoint": "file://empty.ndjson", "FilterPolicy": ""},
            // Nothing matches it.
            {"Name": "never", "Endpoint": "file://never.ndjson",
             "FilterPolicy": {"store": ["nobody"]}},
            // §5.3 anything-but does not match a missing attribute.
            {"Name": "not-other", "Endpoint": "file://not-other.ndjson",
             "FilterPolicy": {"store": [{"anything-but": "other"}]}, "RawMessageDelivery": true}
        ]
    });
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    std::fs::write(dir.join("in.ndjson"), messages()).unwrap();
    let o = run(&dir, &["subs.json", "in.ndjson"], "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let file = |n: &str| lines(&dir.join(format!("{n}.ndjson")));
    assert_eq!(delivered_messages(&file("cheap")), vec![msg(1)]);
    assert_eq!(delivered_messages(&file("green")), vec![msg(1), msg(2)]);
    assert_eq!(delivered_messages(&file("eu")), vec![msg(1), msg(4)]);
    assert_eq!(
        delivered_messages(&file("empty")),
        vec![msg(1), msg(2), msg(3), msg(4)]
    );
    assert!(file("never").is_empty());
    assert_eq!(delivered_messages(&file("not-other")), vec![msg(1), msg(2)]);

    // Enveloped: the notification JSON, AWS's fields in AWS's order.
    let cheap = &file("cheap")[0];
    let env = &cheap["body"];
    // AWS's field order, read from the text as written.
    let text = std::fs::read_to_string(dir.join("cheap.ndjson")).unwrap();
    let at = |k: &str| text.find(&format!("\"{k}\":")).unwrap();
    let order = [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "MessageAttributes",
    ];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{text}");
    assert_eq!(env.as_object().unwrap().len(), order.len(), "{env}");
    assert_eq!(env["Type"], "Notification");
    assert_eq!(env["TopicArn"], TOPIC);
    assert_eq!(env["Subject"], "order 1");
    assert_eq!(
        env["MessageAttributes"],
        json!({
            "store": {"Type": "String", "Value": "example_corp"},
            "price": {"Type": "Number", "Value": "99.5"},
            "tags": {"Type": "String.Array", "Value": "[\"red\"]"},
            "blob": {"Type": "Binary", "Value": "AAEC"}
        })
    );
    let ts = env["Timestamp"].as_str().unwrap();
    assert!(
        ts.len() == 24
            && ts.as_bytes()[10] == b'T'
            && ts.as_bytes()[19] == b'.'
            && ts.ends_with('Z'),
        "{ts}"
    );
    let id = env["MessageId"].as_str().unwrap();
    assert_eq!(
        id.split('-').map(str::len).collect::<Vec<_>>(),
        vec![8, 4, 4, 4, 12]
    );
    assert_eq!(cheap["idempotency_key"], format!("{id}/orders/cheap"));
    // No Subject when none was given (the second message).
    let green = file("green");
    assert!(green[1]["body"].get("Subject").is_none());
    assert_eq!(green[0]["body"]["MessageId"], env["MessageId"]);
    // Raw: the bare message, as a string.
    assert_eq!(file("eu")[0]["body"], Value::String(msg(1)));

    // The HTTP subscription got every message, enveloped, with SNS headers.
    let seen = http.seen();
    assert_eq!(seen.len(), 4, "{err}");
    let mut got: Vec<String> = seen
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_str(&s.body).unwrap();
            assert_eq!(v["Type"], "Notification");
            v["Message"].as_str().unwrap().to_string()
        })
        .collect();
    got.sort();
    let mut want = vec![msg(1), msg(2), msg(3), msg(4)];
    want.sort();
    assert_eq!(got, want);
    let s = &seen[0];
    assert_eq!(
        s.header("x-amz-sns-message-type").as_deref(),
        Some("Notification")
    );
    assert_eq!(s.header("x-amz-sns-topic-arn").as_deref(), Some(TOPIC));
    assert_eq!(
        s.header("x-amz-sns-subscription-arn"),
        Some(format!("{TOPIC}:0001"))
    );
    assert!(s.header("x-amz-sns-rawdelivery").is_none());
    assert!(s.header("idempotency-key").unwrap().ends_with(&format!(
        "/orders/{}",
        format!("{TOPIC}:0001").replace('/', "%2F")
    )));

    assert!(
        err.contains("evmatch: fanout: 4 messages read, 0 matched no subscription"),
        "{err}"
    );
    assert!(
        err.contains("evmatch: summary: matched 15, delivered 15, retried 0, dead-lettered 0"),
        "{err}"
    );
}

#[test]
fn spec_6_a_failing_endpoint_is_retried_then_its_messages_land_in_its_dead_letter_file() {
    let dir = tmp("dlq");
    let bad = Server::start(500, "/sns");
    let good = Server::start(200, "/sns");
    let subs = json!([
        {"Name": "failing", "Endpoint": bad.url,
         "RedrivePolicy": "{\"deadLetterTargetArn\": \"file://failing-dlq.ndjson\"}",
         "DeliveryPolicy": {"healthyRetryPolicy": {"numRetries": 2}},
         "FilterPolicy": {"store": ["example_corp"]}},
        {"Name": "failing-raw", "Endpoint": bad.url, "RawMessageDelivery": true,
         "DeliveryPolicy": {"healthyRetryPolicy": {"numRetries": 0}},
         "FilterPolicy": {"store": ["other"]}},
        {"Name": "fine", "Endpoint": good.url}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let o = run(
        &dir,
        &[
            "subs.json",
            "--retry-base-ms",
            "1",
            "--retry-cap-ms",
            "5",
            "--dead-letter",
            "default-dlq.ndjson",
        ],
        &messages(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    // Exit 4: some deliveries were dead-lettered.
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert_eq!(good.seen().len(), 4);
    // Two messages for "failing", three attempts each; one for "failing-raw", one attempt.
    assert_eq!(bad.seen().len(), 2 * 3 + 1);
    let mut dlq = lines(&dir.join("failing-dlq.ndjson"));
    assert_eq!(dlq.len(), 2);
    // Four delivery threads: any order.
    dlq.sort_by_key(|r| {
        r["request"]["Message"]
            .as_str()
            .unwrap()
            .contains("us-east")
    });
    for (r, n) in dlq.iter().zip([1, 2]) {
        assert_eq!(r["subscription"], "failing");
        assert_eq!(r["topic"], "evmatch-local");
        assert_eq!(
            r["TOPIC_ARN"],
            "arn:aws:sns:us-east-1:000000000000:evmatch-local"
        );
        assert_eq!(
            r["SUBSCRIPTION_ARN"],
            "arn:aws:sns:us-east-1:000000000000:evmatch-local:failing"
        );
        assert_eq!(r["EXHAUSTED_RETRY_CONDITION"], "MaximumRetryAttempts");
        assert_eq!(r["RETRY_ATTEMPTS"], 2);
        assert!(r["ERROR_MESSAGE"].as_str().unwrap().contains("500"), "{r}");
        // The message, with its attributes, in the request and the body.
        assert_eq!(r["request"]["Message"], msg(n));
        assert_eq!(
            r["request"]["MessageAttributes"]["store"]["StringValue"],
            "example_corp"
        );
        assert_eq!(r["body"]["Message"], msg(n));
        assert_eq!(
            r["body"]["MessageAttributes"]["store"],
            json!({"Type": "String", "Value": "example_corp"})
        );
        let id = r["body"]["MessageId"].as_str().unwrap();
        assert_eq!(r["idempotency_key"], format!("{id}/evmatch-local/failing"));
    }
    // No RedrivePolicy: --dead-letter; a raw body is kept as a string.
    let d = lines(&dir.join("default-dlq.ndjson"));
    assert_eq!(d.len(), 1);
    assert_eq!(d[0]["subscription"], "failing-raw");
    assert_eq!(d[0]["body"], Value::String(msg(3)));
    assert_eq!(d[0]["RETRY_ATTEMPTS"], 0);
    assert!(
        err.contains("matched 7, delivered 4, retried 4, dead-lettered 3"),
        "{err}"
    );
    assert!(err.contains("failing-dlq.ndjson"), "{err}");
}

#[test]
fn spec_5_4_an_invalid_policy_exits_2_with_the_aws_text_naming_the_subscription() {
    let dir = tmp("badpolicy");
    let subs = json!([
        {"Name": "ok", "Endpoint": "file://ok.ndjson", "FilterPolicy": {"a": ["x"]}},
        {"Name": "bad-suffix", "Endpoint": "file://b.ndjson",
         "FilterPolicy": {"a": [{"anything-but": {"suffix": "x"}}]}},
        {"Name": "nested", "Endpoint": "file://c.ndjson", "FilterPolicy": {"a": {"b": ["x"]}}},
        {"Name": "scope", "Endpoint": "file://d.ndjson", "FilterPolicyScope": "Body",
         "FilterPolicy": {"a": ["x"]}},
        {"Name": "six-keys", "Endpoint": "file://e.ndjson",
         "FilterPolicy": {"a": [1], "b": [1], "c": [1], "d": [1], "e": [1], "f": [1]}}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let o = run(&dir, &["subs.json"], &messages());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for (name, text) in [
        (
            "bad-suffix",
            "Invalid parameter: FilterPolicy: Unsupported anything-but pattern: suffix",
        ),
        (
            "nested",
            "Invalid parameter: Filter policy scope MessageAttributes does not support nested filter policy",
        ),
        (
            "scope",
            "Invalid parameter: FilterPolicyScope: Invalid value [Body]. Please use either MessageBody or MessageAttributes",
        ),
        (
            "six-keys",
            "Invalid parameter: FilterPolicy: Filter policy can not have more than 5 keys",
        ),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(&format!("(\"{name}\")")))
            .unwrap_or_else(|| panic!("{name} not named: {err}"));
        assert!(line.ends_with(text), "{line}");
        assert!(line.starts_with("evmatch: subs.json: subscription "), "{line}");
    }
    assert!(!err.contains("\"ok\""), "{err}");
    // Nothing was delivered or created.
    assert!(!dir.join("ok.ndjson").exists());
    assert!(o.stdout.is_empty());
}

#[test]
fn bad_message_lines_are_reported_with_their_line_number_and_the_stream_goes_on() {
    let dir = tmp("badlines");
    let subs = json!([{"Name": "all", "Endpoint": "file://all.ndjson"}]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let input = [
        r#"{"Message": "one"}"#,
        r#"{"Message": "#,
        r#"["Message"]"#,
        r#"{"Subject": "no message"}"#,
        "",
        r#"{"Message": "two", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "abc"}}}"#,
        r#"{"Message": "three", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": "3"}}}"#,
        r#"{"Message": ""}"#,
        // 256 KiB exactly is fine; one byte more is not (with the subject).
        &format!(r#"{{"Message": "{}"}}"#, "x".repeat(262_144)),
        &format!(r#"{{"Message": "{}", "Subject": "s"}}"#, "x".repeat(262_144)),
    ]
    .join("\n");
    let o = run(&dir, &["subs.json", "-"], &input);
    let err = String::from_utf8_lossy(&o.stderr);
    // Exit 1: some lines were bad, every delivery went through.
    assert_eq!(o.status.code(), Some(1), "{err}");
    let got = delivered_messages(&lines(&dir.join("all.ndjson")));
    assert_eq!(got.len(), 3);
    assert_eq!(got[..2], ["one", "three"]);
    assert_eq!(got[2].len(), 262_144);
    for (n, reason) in [
        (2, "invalid JSON"),
        (3, "must be a JSON object"),
        (4, "needs a Message"),
        (6, "MessageAttributes.n: "),
        (8, "Invalid parameter: Empty message"),
        (10, "Invalid parameter: Message too long"),
    ] {
        assert!(
            err.lines()
                .any(|l| l.starts_with(&format!("evmatch: stdin:{n}: ")) && l.contains(reason)),
            "line {n}: {err}"
        );
    }
    assert!(!err.contains("stdin:5:"), "{err}");
    // --quiet: no reports, same exit status.
    let o = run(&dir, &["-q", "subs.json"], &input);
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("stdin:"));
}

#[test]
fn dry_run_shows_the_keys_and_bodies_delivery_uses_and_count_counts() {
    let dir = tmp("dry");
    let subs = json!([
        {"Name": "eu", "Endpoint": "file://eu.ndjson", "FilterPolicyScope": "MessageBody",
         "FilterPolicy": {"order": {"region": [{"prefix": "eu-"}]}}},
        {"Name": "raw", "Endpoint": "file://raw.ndjson", "RawMessageDelivery": "True"}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    std::fs::write(dir.join("in.ndjson"), messages()).unwrap();
    let o = run(&dir, &["--dry-run", "subs.json", "in.ndjson"], "");
    assert_eq!(o.status.code(), Some(0));
    let dry: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(dry.len(), 2 + 4);
    assert!(!dir.join("eu.ndjson").exists() && !dir.join("raw.ndjson").exists());
    let o = run(&dir, &["subs.json", "in.ndjson"], "");
    assert_eq!(o.status.code(), Some(0));
    let mut delivered = lines(&dir.join("eu.ndjson"));
    delivered.extend(lines(&dir.join("raw.ndjson")));
    // Same ids (deterministic MessageIds), same keys, same bodies
    // (but the Timestamp, taken at publish time).
    let strip = |mut v: Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("Timestamp");
        }
        v
    };
    let mut a: Vec<(String, Value)> = dry
        .iter()
        .map(|d| {
            (
                d["idempotency_key"].as_str().unwrap().to_string(),
                strip(d["body"].clone()),
            )
        })
        .collect();
    let mut b: Vec<(String, Value)> = delivered
        .iter()
        .map(|d| {
            (
                d["idempotency_key"].as_str().unwrap().to_string(),
                strip(d["body"].clone()),
            )
        })
        .collect();
    a.sort_by(|x, y| x.0.cmp(&y.0));
    b.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(a, b);
    assert_eq!(dry[0]["line"], 1);
    assert_eq!(dry[0]["subscription"], "eu");

    let o = run(&dir, &["--count", "subs.json", "in.ndjson"], "");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "{\"eu\":2,\"raw\":4}\n");
}

#[test]
fn subscription_file_errors_are_all_reported_and_arns_can_be_mapped() {
    let dir = tmp("subserr");
    let subs = json!([
        {"Endpoint": "file://x.ndjson"},
        {"Name": "no-endpoint"},
        {"Name": "dup", "Endpoint": "file://a.ndjson"},
        {"Name": "dup", "Endpoint": "file://b.ndjson"},
        {"Name": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:111122223333:q"},
        {"Name": "raw", "Endpoint": "stdout:", "RawMessageDelivery": "yes"},
        {"Name": "dlq", "Endpoint": "stdout:",
         "RedrivePolicy": {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:111122223333:dlq"}},
        {"Name": "retries", "Endpoint": "stdout:",
         "DeliveryPolicy": {"healthyRetryPolicy": {"numRetries": 101}}}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let o = run(&dir, &["subs.json"], "");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for text in [
        "subscription 1: a subscription needs a SubscriptionArn or a Name",
        "subscription 2 (\"no-endpoint\"): a subscription needs an Endpoint",
        "subscription 4: \"dup\" names another subscription too",
        "subscription 5 (\"sqs\"): Endpoint arn:aws:sqs:us-east-1:111122223333:q is an AWS ARN without a local mapping",
        "subscription 6 (\"raw\"): RawMessageDelivery must be true or false",
        "subscription 7 (\"dlq\"): RedrivePolicy: deadLetterTargetArn arn:aws:sqs:us-east-1:111122223333:dlq must be",
        "subscription 8 (\"retries\"): DeliveryPolicy: healthyRetryPolicy.numRetries must be an integer from 0 to 100",
    ] {
        assert!(err.contains(text), "{text}\n{err}");
    }
    // Mapped ARNs work, for endpoints and dead-letter queues.
    let subs = json!([
        {"Name": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:111122223333:q",
         "RedrivePolicy": {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:111122223333:dlq"}}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let o = run(
        &dir,
        &[
            "subs.json",
            "--map-arn",
            "arn:aws:sqs:us-east-1:111122223333:q=file://q.ndjson",
            "--map-arn",
            "arn:aws:sqs:us-east-1:111122223333:dlq=file://dlq.ndjson",
        ],
        "{\"Message\": \"m\"}\n",
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(delivered_messages(&lines(&dir.join("q.ndjson"))), vec!["m"]);
}

#[test]
fn fifo_topics_need_a_group_and_skip_repeated_deduplication_ids() {
    let dir = tmp("fifo");
    let subs = json!({"TopicArn": "arn:aws:sns:us-east-1:000000000000:t.fifo",
                      "Subscriptions": [{"Name": "q", "Endpoint": "file://q.ndjson"}]});
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let input = [
        r#"{"Message": "a", "MessageGroupId": "g", "MessageDeduplicationId": "1"}"#,
        r#"{"Message": "b", "MessageGroupId": "g", "MessageDeduplicationId": "1"}"#,
        r#"{"Message": "c", "MessageGroupId": "g", "MessageDeduplicationId": "2"}"#,
        r#"{"Message": "d"}"#,
    ]
    .join("\n");
    let o = run(&dir, &["subs.json"], &input);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(
        delivered_messages(&lines(&dir.join("q.ndjson"))),
        vec!["a", "c"]
    );
    assert!(
        err.contains("stdin:4: a FIFO topic needs a MessageGroupId"),
        "{err}"
    );
    assert!(err.contains("1 skipped as duplicates"), "{err}");
}

#[test]
fn the_bundled_example_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let subs = root.join("testdata/sns/fanout-subscriptions.json");
    let msgs = root.join("testdata/sns/fanout-messages.ndjson");
    let dir = tmp("example");
    let o = run(
        &dir,
        &["--count", subs.to_str().unwrap(), msgs.to_str().unwrap()],
        "",
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "{\"cheap-orders\":1,\"eu-orders\":1,\"audit\":3}\n",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0));
}

#[cfg(unix)]
#[test]
fn spec_6_ctrl_c_mid_stream_loses_nothing() {
    let dir = tmp("sigint");
    // A slow endpoint: 4 deliveries at a time, 300 ms each.
    let slow = Server::slow(200, Duration::from_millis(300), "/sns");
    let subs = json!([
        {"Name": "hook", "Endpoint": slow.url},
        {"Name": "log", "Endpoint": "file://out.ndjson"}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let mut child = common::spawn_in(
        &dir,
        &["fanout", "--dead-letter", "dlq.ndjson", "subs.json"],
    );
    let mut stdin = child.stdin.take().unwrap();
    let input: String = (0..40)
        .map(|i| format!("{{\"Message\": \"m{i}\"}}\n"))
        .collect();
    stdin.write_all(input.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // Input stays open (mid-stream); wait for the first deliveries.
    let until = Instant::now() + Duration::from_secs(10);
    while slow.seen().is_empty() && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
    let kill = || {
        let ok = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    kill();
    std::thread::sleep(Duration::from_millis(100));
    kill();
    let until = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < until, "evmatch did not stop after Ctrl-C");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(err.contains("evmatch: summary: matched 80,"), "{err}");
    // Every (message, subscription) pair is delivered or dead-lettered.
    let mut got: Vec<(String, String)> = slow
        .seen()
        .iter()
        .map(|s| {
            let v: Value = serde_json::from_str(&s.body).unwrap();
            (
                "hook".to_string(),
                v["Message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.extend(lines(&dir.join("out.ndjson")).iter().map(|r| {
        (
            "log".to_string(),
            r["body"]["Message"].as_str().unwrap().to_string(),
        )
    }));
    let dlq = lines(&dir.join("dlq.ndjson"));
    got.extend(dlq.iter().map(|r| {
        (
            r["subscription"].as_str().unwrap().to_string(),
            r["request"]["Message"].as_str().unwrap().to_string(),
        )
    }));
    for i in 0..40 {
        for s in ["hook", "log"] {
            let k = (s.to_string(), format!("m{i}"));
            assert!(got.contains(&k), "{k:?} lost; {err}");
        }
    }
    assert!(
        dlq.iter()
            .any(|d| d["ERROR_CODE"] == "INTERRUPTED" && d["subscription"] == "hook"),
        "{err}"
    );
}

#[test]
fn topic_arn_sources_pending_subscriptions_unknown_keys_and_exec_endpoints() {
    let dir = tmp("topic");
    let subs = json!([
        {"SubscriptionArn": "PendingConfirmation", "Endpoint": "file://pending.ndjson"},
        {"Name": "cmd", "Endpoint": "exec:cat >> exec.ndjson", "RawMessageDelivery": false,
         "TopicArn": TOPIC, "FilterPolcy": {"typo": ["x"]}}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    let o = run(&dir, &["subs.json"], "{\"Message\": \"m\"}\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("subscription 1: pending confirmation"),
        "{err}"
    );
    assert!(err.contains("unknown key \"FilterPolcy\" ignored"), "{err}");
    assert!(!dir.join("pending.ndjson").exists());
    // The topic comes from the subscription's TopicArn; exec: gets the body.
    let text = std::fs::read_to_string(dir.join("exec.ndjson")).unwrap();
    let env: Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(env["TopicArn"], TOPIC);
    assert_eq!(env["Message"], "m");
    // --topic-arn wins over the file; a subscription of another topic is refused.
    let o = run(
        &dir,
        &["--topic-arn", "arn:aws:sns:us-east-1:1:other", "subs.json"],
        "",
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!(
            "TopicArn {TOPIC} is not the topic arn:aws:sns:us-east-1:1:other"
        )),
        "{err}"
    );
    // `evmatch help fanout` shows the command's help.
    let o = common::output(["help", "fanout"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("evmatch fanout"));
}

/// The delivery flags `evmatch RULES` has apply to fan-out too (SPEC.md
/// §6): an exec: endpoint that outlives `--exec-timeout` is killed and its
/// message dead-lettered with TIMEOUT; an unreadable `--ca-cert` stops the
/// run before anything is delivered.
#[test]
fn spec_6_exec_timeout_and_ca_cert_apply_to_fanout() {
    let dir = tmp("exec-timeout");
    let subs = json!([
        {"Name": "slow", "Endpoint": "exec:sleep 5",
         "DeliveryPolicy": {"healthyRetryPolicy": {"numRetries": 0}},
         "RedrivePolicy": {"deadLetterTargetArn": "file://slow-dlq.ndjson"}}
    ]);
    std::fs::write(dir.join("subs.json"), subs.to_string()).unwrap();
    std::fs::write(dir.join("m.ndjson"), "{\"Message\": \"hello\"}\n").unwrap();
    let started = Instant::now();
    let o = run(&dir, &["--exec-timeout", "1", "subs.json", "m.ndjson"], "");
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(4), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "{err}");
    let dlq = lines(&dir.join("slow-dlq.ndjson"));
    assert_eq!(dlq.len(), 1, "{err}");
    assert_eq!(dlq[0]["ERROR_CODE"], "TIMEOUT", "{}", dlq[0]);

    let o = run(
        &dir,
        &["--ca-cert", "no-such.pem", "subs.json", "m.ndjson"],
        "",
    );
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("--ca-cert"), "{err}");
    assert_eq!(
        lines(&dir.join("slow-dlq.ndjson")).len(),
        1,
        "nothing new delivered"
    );
}
