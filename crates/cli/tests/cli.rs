//! Runs the built `evmatch` binary and checks what it prints and returns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{run_stdin, write};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

const EVENT: &str = r#"{"id":"1","account":"123456789012","source":"shop","time":"2024-01-01T00:00:00Z","region":"us-east-1","detail-type":"order","detail":{"total":300.0}}"#;

/// Where the library locates the problem of an invalid pattern.
fn location(pattern: &str) -> String {
    let loc = evmatch::compile(pattern, &evmatch::CompileOptions::default())
        .unwrap_err()
        .location();
    assert!(loc.contains("line 1, column "), "{loc}");
    loc
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

fn example(name: &str) -> String {
    examples().join(name).to_string_lossy().into_owned()
}

/// A fresh temporary directory for one test.
fn tmp() -> PathBuf {
    common::tmp_numbered("evmatch-cli-test")
}

fn run(args: &[&str]) -> Output {
    run_stdin(args, b"")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

/// Output lines parsed as JSON.
fn json_lines(o: &Output) -> Vec<Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn matches_examples_line_by_line() {
    let o = run(&[&example("rules.json"), &example("events.ndjson")]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    assert_eq!(
        stdout(&o),
        r#"{"line":1,"rules":["ec2-instance-running","prod-ec2-instances"]}
{"line":3,"rules":["s3-uploads"]}
{"line":5,"rules":["large-orders","orders-with-coupon"]}
{"line":7,"rules":["alarms-not-ok"]}
{"line":9,"rules":["security-findings"]}
{"line":10,"rules":["security-findings"]}
"#
    );
    for v in json_lines(&o) {
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 2);
        assert!(v["line"].is_u64());
        assert!(v["rules"].is_array());
    }
}

#[test]
fn count_maps_every_rule() {
    let events = std::fs::read(example("events.ndjson")).unwrap();
    let o = run_stdin(&["--count", &example("rules.json")], &events);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    assert_eq!(text.lines().count(), 1);
    assert!(text.starts_with("{\"ec2-instance-running\":1,"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let expected = [
        ("ec2-instance-running", 1),
        ("prod-ec2-instances", 1),
        ("s3-uploads", 1),
        ("large-orders", 1),
        ("orders-with-coupon", 1),
        ("alarms-not-ok", 1),
        ("security-findings", 2),
    ];
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), expected.len());
    for (name, n) in expected {
        assert_eq!(obj[name], n, "{name}");
    }
}

#[test]
fn count_includes_zeros_and_disabled_rules() {
    // The file has Targets: --match-only matches without routing (issue 5).
    let o = run(&[
        "--count",
        "--match-only",
        &example("eventbridge-rules.json"),
        &example("events.ndjson"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "{\"ec2-instance-running\":1,\"large-orders\":1,\"all-s3-events\":0}\n"
    );
    // No events at all: every rule, all zeros.
    let o = run_stdin(&["--count", &example("rules.json")], b"");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 7);
    assert!(v.as_object().unwrap().values().all(|n| n == 0));
}

#[test]
fn disabled_rules_never_match() {
    // all-s3-events would match lines 3 and 4 if it were enabled.
    let o = run(&[
        "--match-only",
        &example("eventbridge-rules.json"),
        &example("events.ndjson"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "{\"line\":1,\"rules\":[\"ec2-instance-running\"]}\n{\"line\":5,\"rules\":[\"large-orders\"]}\n"
    );
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        br#"[{"Name": "off", "State": "DISABLED", "EventPattern": "{\"source\": [\"shop\"]}"},
            {"Name": "on", "EventPattern": {"source": ["shop"]}}]"#,
    );
    let o = run_stdin(&[&rules], EVENT.as_bytes());
    assert_eq!(stdout(&o), "{\"line\":1,\"rules\":[\"on\"]}\n");
}

#[test]
fn bad_line_in_the_middle() {
    let d = tmp();
    let rules = write(&d, "r.json", br#"{"shop": {"source": ["shop"]}}"#);
    let events = format!("{EVENT}\n{{\"source\": \"shop\"\n{EVENT}\n[1,2]\n{EVENT}\n");
    let ev = write(&d, "e.ndjson", events.as_bytes());
    let o = run(&[&rules, &ev]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        stdout(&o),
        "{\"line\":1,\"rules\":[\"shop\"]}\n{\"line\":3,\"rules\":[\"shop\"]}\n{\"line\":5,\"rules\":[\"shop\"]}\n"
    );
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines[0].starts_with(&format!("evmatch: {ev}:2: ")), "{err}");
    assert!(lines[1].starts_with(&format!("evmatch: {ev}:4: ")), "{err}");
    assert!(lines[1].contains("Event must be a JSON object"), "{err}");

    // --quiet: nothing on stderr, same exit status.
    let o = run(&["--quiet", &rules, &ev]);
    assert_eq!(code(&o), 1);
    assert_eq!(stderr(&o), "");
    assert_eq!(stdout(&o).lines().count(), 3);

    // --count still counts the good lines and reports the bad ones.
    let o = run(&["--count", &rules, &ev]);
    assert_eq!(code(&o), 1);
    assert_eq!(stdout(&o), "{\"shop\":3}\n");
    assert_eq!(stderr(&o).lines().count(), 2);
}

#[test]
fn invalid_utf8_line_on_stdin() {
    let d = tmp();
    let rules = write(&d, "r.json", br#"{"shop": {"source": ["shop"]}}"#);
    let mut input = b"{\"source\": \"\xff\"}\n".to_vec();
    input.extend_from_slice(EVENT.as_bytes());
    let o = run_stdin(&[&rules], &input);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).starts_with("evmatch: stdin:1: "),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "{\"line\":2,\"rules\":[\"shop\"]}\n");
}

#[test]
fn blank_lines_are_skipped_and_crlf_stripped() {
    let d = tmp();
    let rules = write(&d, "r.json", br#"{"shop": {"source": ["shop"]}}"#);
    let input = format!("\n   \n\t\r\n{EVENT}\r\n\n{EVENT}");
    let o = run_stdin(&["--with-event", &rules], input.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 4);
    assert_eq!(lines[1]["line"], 6);
    // The event is the line as read, without its \r\n.
    assert!(stdout(&o).contains(&format!(",\"event\":{EVENT}}}\n")));
}

#[test]
fn stdin_input() {
    let events = std::fs::read(example("events.ndjson")).unwrap();
    let o = run_stdin(&[&example("rules.json")], &events);
    assert_eq!(code(&o), 0);
    assert_eq!(json_lines(&o).len(), 6);
    let o = run_stdin(&[&example("rules.json"), "-"], &events);
    assert_eq!(code(&o), 0);
    assert_eq!(json_lines(&o).len(), 6);
    assert!(!stdout(&o).contains("\"file\""));
}

#[test]
fn several_event_files_add_file() {
    let d = tmp();
    let rules = write(&d, "r.json", br#"{"shop": {"source": ["shop"]}}"#);
    let a = write(
        &d,
        "a.ndjson",
        format!("{EVENT}\n{{}}\n{EVENT}\n").as_bytes(),
    );
    let b = write(&d, "b.ndjson", format!("{{}}\n{EVENT}\n").as_bytes());
    let o = run_stdin(&[&rules, &a, &b, "-"], EVENT.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let lines = json_lines(&o);
    let got: Vec<(String, u64)> = lines
        .iter()
        .map(|v| {
            let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["file", "line", "rules"]);
            (
                v["file"].as_str().unwrap().to_string(),
                v["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (a.clone(), 1),
            (a.clone(), 3),
            (b.clone(), 2),
            ("-".to_string(), 1)
        ]
    );
    // "file" is the first key of the text itself.
    assert!(stdout(&o).starts_with(&format!("{{\"file\":{},\"line\":1,", Value::from(a))));
}

#[test]
fn with_event_appends_the_raw_event() {
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        br#"{"big": {"detail": {"n": [{"numeric": [">", 3.0e2]}]}}}"#,
    );
    // Spelling kept: spaces, 1E3 and the duplicate key are written as read.
    let event = r#"{ "detail" : {"n": 1E3, "x": 1, "x": 2} }"#;
    let o = run_stdin(&["--with-event", &rules], format!("{event}\n").as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("{{\"line\":1,\"rules\":[\"big\"],\"event\":{event}}}\n")
    );
    let o = run(&[
        "--with-event",
        &example("rules.json"),
        &example("events.ndjson"),
    ]);
    let events = std::fs::read_to_string(example("events.ndjson")).unwrap();
    let events: Vec<&str> = events.lines().collect();
    let lines = json_lines(&o);
    assert_eq!(lines.len(), 6);
    for (text, v) in stdout(&o).lines().zip(lines) {
        let n = v["line"].as_u64().unwrap() as usize;
        // "event" is the last key, and holds the line exactly as read.
        assert!(
            text.ends_with(&format!("],\"event\":{}}}", events[n - 1])),
            "{text}"
        );
        assert!(v["event"]["id"].is_string());
    }
}

#[test]
fn array_consistency_switch() {
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        br#"{"r": {"e": {"f": ["Anna"], "l": ["Jones"]}}}"#,
    );
    let event = br#"{"e":[{"f":"Anna","l":"Smith"},{"f":"Peter","l":"Jones"}]}"#;
    let o = run_stdin(&["--count", &rules], event);
    assert_eq!(stdout(&o), "{\"r\":0}\n");
    let o = run_stdin(&["--count", "--no-array-consistency", &rules], event);
    assert_eq!(stdout(&o), "{\"r\":1}\n");
    let o = run_stdin(&["--no-array-consistency", &rules], event);
    assert_eq!(stdout(&o), "{\"line\":1,\"rules\":[\"r\"]}\n");
}

#[test]
fn invalid_rules_are_fatal() {
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        b"{\"ok\": {\"source\": [\"a\"]},\n \"empty\": {\"resources\": []}}",
    );
    let o = run_stdin(&[&rules], EVENT.as_bytes());
    assert_eq!(code(&o), 2);
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o),
        format!(
            "evmatch: rule \"empty\" ({rules}:2): Event pattern is not valid. Reason: Empty arrays are not allowed ({})\n",
            location(r#"{"resources": []}"#)
        )
    );
}

#[test]
fn max_pattern_size() {
    let d = tmp();
    let rules = write(&d, "r.json", br#"{"r": {"source": ["shop"]}}"#);
    let o = run_stdin(&["--max-pattern-size", "10", &rules], EVENT.as_bytes());
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).starts_with("evmatch: rule \"r\""),
        "{}",
        stderr(&o)
    );
    let o = run_stdin(&["--max-pattern-size", "100", &rules], EVENT.as_bytes());
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "{\"line\":1,\"rules\":[\"r\"]}\n");
}

#[test]
fn fatal_file_errors() {
    let d = tmp();
    let missing = d.join("missing.json").to_string_lossy().into_owned();
    let o = run(&[&missing]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing.json"));

    let rules = write(&d, "r.json", br#"{"r": {"source": ["shop"]}}"#);
    let o = run(&[&rules, &missing]);
    assert_eq!(code(&o), 2);
    assert_eq!(stdout(&o), "");

    let broken = write(&d, "broken.json", b"{\"r\": {\"source\": [\"shop\"]}\n");
    let o = run(&[&broken]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("invalid JSON"), "{}", stderr(&o));

    let dup = write(
        &d,
        "dup.json",
        b"{\"r\": {\"a\": [1]}, \"r\": {\"b\": [1]}}",
    );
    let o = run(&[&dup]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("unique"), "{}", stderr(&o));

    // Usage errors.
    assert_eq!(code(&run(&[])), 2);
    assert_eq!(code(&run(&["--count", "--with-event", &rules])), 2);
    assert_eq!(code(&run(&["--nope", &rules])), 2);
}

#[test]
fn list_rules_format() {
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        br#"{"Rules": [{"Name": "shop", "EventPattern": "{\"source\":[\"shop\"]}", "State": "ENABLED"}]}"#,
    );
    let o = run_stdin(&[&rules], EVENT.as_bytes());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\"line\":1,\"rules\":[\"shop\"]}\n");
}

#[test]
fn broken_pipe_is_quiet() {
    let d = tmp();
    let rules = write(&d, "r.json", br#"{"r": {"source": ["shop"]}}"#);
    let mut events = String::new();
    for _ in 0..200_000 {
        events.push_str(EVENT);
        events.push('\n');
    }
    let ev = write(&d, "e.ndjson", events.as_bytes());
    let mut child = common::evmatch()
        .args([&rules, &ev])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 10];
    std::io::Read::read_exact(&mut out, &mut first).unwrap();
    drop(out);
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0);
    assert_eq!(stderr(&o), "");
}

// ---- test-event-pattern ----

#[test]
fn test_event_pattern_true_and_false() {
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"detail": {"total": [300]}}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "{\"Result\": true}\n");
    assert_eq!(stderr(&o), "");
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"source": ["aws.ec2"]}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(code(&o), 0);
    assert_eq!(stdout(&o), "{\"Result\": false}\n");
}

#[test]
fn test_event_pattern_invalid_pattern() {
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"resources":[]}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o).lines().next().unwrap(),
        "Event pattern is not valid. Reason: Empty arrays are not allowed"
    );
    // The whole message is AWS's, location line included (SPEC.md §2.14 #3;
    // AWS answered `{"resources": []}` with column 17).
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"resources": []}"#,
        "--event",
        EVENT,
    ]);
    assert_eq!(
        stderr(&o),
        "Event pattern is not valid. Reason: Empty arrays are not allowed\n at [Source: (String)\"{\"resources\": []}\"; line: 1, column: 17]\n"
    );
    // The pattern is checked before the event.
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"resources":[]}"#,
        "--event",
        "[]",
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).starts_with("Event pattern is not valid. Reason: "));
}

#[test]
fn test_event_pattern_invalid_event() {
    let event = EVENT.replace(r#""id":"1","#, "");
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        r#"{"source": ["shop"]}"#,
        "--event",
        &event,
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(stdout(&o), "");
    assert_eq!(
        stderr(&o).lines().next().unwrap(),
        "Parameter Event is not valid."
    );
    for bad in ["\"text\"", "[1]", "{"] {
        let o = run(&[
            "test-event-pattern",
            "--event-pattern",
            r#"{"source": ["shop"]}"#,
            "--event",
            bad,
        ]);
        assert_eq!(code(&o), 2, "{bad}");
        assert_eq!(
            stderr(&o).lines().next().unwrap(),
            "Parameter Event is not valid."
        );
    }
}

#[test]
fn test_event_pattern_files() {
    let d = tmp();
    let p = write(&d, "p.json", b"{\"detail\": {\"total\": [300]}}\n");
    let e = write(&d, "e.json", format!("{EVENT}\n").as_bytes());
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        &format!("file://{p}"),
        "--event",
        &format!("file://{e}"),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "{\"Result\": true}\n");

    let missing = d.join("nope.json").to_string_lossy().into_owned();
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        &format!("file://{missing}"),
        "--event",
        EVENT,
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope.json"));
    let o = run(&[
        "test-event-pattern",
        "--event-pattern",
        &format!("file://{p}"),
        "--event",
        &format!("file://{missing}"),
    ]);
    assert_eq!(code(&o), 2);
    assert_eq!(stdout(&o), "");

    // Missing arguments are usage errors.
    assert_eq!(code(&run(&["test-event-pattern", "--event", EVENT])), 2);
}

// ---- check ----

#[test]
fn check_reports_invalid_rules() {
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        b"{\n  \"good\": {\"source\": [\"a\"]},\n  \"bad\": {\"detail\": {\"state\": [{\"prefix\": 5}]}},\n  \"empty\": {\"resources\": []}\n}\n",
    );
    let o = run(&["check", &rules]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        stdout(&o),
        format!(
            "bad: Event pattern is not valid. Reason: prefix match pattern must be a string ({rules} line 3; {})\n\
             empty: Event pattern is not valid. Reason: Empty arrays are not allowed ({rules} line 4; {})\n",
            location(r#"{"detail": {"state": [{"prefix": 5}]}}"#),
            location(r#"{"resources": []}"#)
        )
    );
    assert_eq!(stderr(&o), "3 rules, 2 invalid\n");
}

#[test]
fn spec_4_1_check_reports_invalid_targets() {
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        br#"[
 {"Name": "ok", "EventPattern": {"source": ["a"]}, "Targets": [{"Id": "t0", "Arn": "stdout:", "InputPath": "$.detail"}]},
 {"Name": "two", "EventPattern": {"source": ["a"]}, "Targets": [{"Id": "t1", "Arn": "stdout:", "InputPath": "$.detail", "Input": "{}"}]},
 {"Name": "ph", "EventPattern": {"source": ["a"]}, "Targets": [{"Id": "t2", "Arn": "file:///tmp/x", "InputTransformer": {"InputPathsMap": {"a": "$.a"}, "InputTemplate": "<b>"}}]}
]"#,
    );
    let o = run(&["check", &rules]);
    assert_eq!(code(&o), 1);
    assert_eq!(
        stdout(&o),
        format!(
            "two: Only one of Input, InputPath, or InputTransformer must be provided for target t1. ({rules} line 3)\n\
             ph: InputTemplate for target t2 contains invalid placeholder b. ({rules} line 4)\n"
        )
    );
    assert_eq!(stderr(&o), "3 rules, 2 invalid\n");
}

#[test]
fn check_valid_files() {
    for f in ["rules.json", "eventbridge-rules.json"] {
        let o = run(&["check", &example(f)]);
        assert_eq!(code(&o), 0, "{f}: {}", stdout(&o));
        assert_eq!(stdout(&o), "");
    }
    let o = run(&["check", &example("eventbridge-rules.json")]);
    assert_eq!(stderr(&o), "3 rules, 0 invalid\n");
}

#[test]
fn check_disabled_rules_too() {
    let d = tmp();
    let rules = write(
        &d,
        "r.json",
        br#"[{"Name": "off", "State": "DISABLED", "EventPattern": "{\"a\": 1}"}]"#,
    );
    let o = run(&["check", &rules]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).starts_with("off: Event pattern is not valid. Reason: "));
}

#[test]
fn check_unloadable_file() {
    let d = tmp();
    let rules = write(&d, "r.json", b"[{\"EventPattern\": {}}]");
    let o = run(&["check", &rules]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("no Name"), "{}", stderr(&o));
    let o = run(&["check", &d.join("nope.json").to_string_lossy()]);
    assert_eq!(code(&o), 2);
}

// ---- help and version ----

#[test]
fn help_lists_commands_and_examples() {
    for args in [&["--help"][..], &["help"][..]] {
        let o = run(args);
        assert_eq!(code(&o), 0);
        let text = stdout(&o);
        for needle in [
            "evmatch test-event-pattern",
            "evmatch check",
            "evmatch help",
            "--count",
            "Examples:",
        ] {
            assert!(text.contains(needle), "{args:?} lacks {needle}");
        }
    }
    let o = run(&["-h"]);
    assert_eq!(code(&o), 0);
    assert!(stdout(&o).contains("test-event-pattern"));
    for cmd in ["test-event-pattern", "check"] {
        let o = run(&[cmd, "--help"]);
        assert_eq!(code(&o), 0);
        assert!(stdout(&o).contains("Examples:"), "{cmd}");
        assert!(
            stdout(&o).contains(&format!("Usage: evmatch {cmd}")),
            "{cmd}"
        );
        let o = run(&["help", cmd]);
        assert_eq!(code(&o), 0);
        assert!(stdout(&o).contains("Examples:"), "{cmd}");
    }
    assert_eq!(code(&run(&["help", "nope"])), 2);
}

#[test]
fn version() {
    for flag in ["--version", "-V"] {
        let o = run(&[flag]);
        assert_eq!(code(&o), 0);
        assert_eq!(
            stdout(&o),
            format!("evmatch {}\n", env!("CARGO_PKG_VERSION"))
        );
    }
}

/// Line numbers, output order and counts hold across the 1 MiB blocks the
/// input is split into, whatever the number of threads, from a file or
/// stdin, and across several files.
#[test]
fn line_numbers_and_order_across_blocks_and_threads() {
    let dir = tmp();
    let rules = write(
        &dir,
        "rules.json",
        br#"{"hit": {"n": [{"numeric": [">=", 0]}], "k": ["y"]}}"#,
    );
    let pad = "x".repeat(200);
    let mut events = String::new();
    let mut want = Vec::new();
    for i in 1..=12_000usize {
        if i % 997 == 0 {
            events.push_str("{not json\n");
        } else if i % 1000 == 0 {
            events.push('\n');
        } else if i % 7 == 0 {
            events.push_str(&format!(
                "{{\"n\": {i}, \"k\": \"y\", \"pad\": \"{pad}\"}}\r\n"
            ));
            want.push(i);
        } else {
            events.push_str(&format!(
                "{{\"n\": {i}, \"k\": \"n\", \"pad\": \"{pad}\"}}\n"
            ));
        }
    }
    // No newline after the last line.
    events.push_str("{\"n\": 1, \"k\": \"y\"}");
    want.push(12_001);
    assert!(events.len() > 2 << 20, "spans several blocks");
    let file = write(&dir, "events.ndjson", events.as_bytes());
    let bad: Vec<usize> = (1..=12_000).filter(|i| i % 997 == 0).collect();
    for threads in ["1", "2", "3"] {
        for from_stdin in [false, true] {
            let o = if from_stdin {
                run_stdin(&["-j", threads, &rules], events.as_bytes())
            } else {
                run(&["-j", threads, &rules, &file])
            };
            assert_eq!(code(&o), 1, "bad lines make exit 1");
            let lines: Vec<usize> = stdout(&o)
                .lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    v["line"].as_u64().unwrap() as usize
                })
                .collect();
            assert_eq!(lines, want, "-j {threads}, stdin {from_stdin}");
            let err_lines: Vec<usize> = stderr(&o)
                .lines()
                .map(|l| l.split(':').nth(2).unwrap().trim().parse().unwrap())
                .collect();
            assert_eq!(err_lines, bad, "-j {threads}, stdin {from_stdin}");
            let c = run(&["-j", threads, "--count", "-q", &rules, &file]);
            assert_eq!(stdout(&c).trim(), format!("{{\"hit\":{}}}", want.len()));
        }
    }
    // A second file starts again at line 1 and is named.
    let second = write(&dir, "second.ndjson", b"{\"n\": 5, \"k\": \"y\"}\n");
    for threads in ["1", "2"] {
        let o = run(&["-j", threads, "-q", &rules, &file, &second]);
        let last = stdout(&o).lines().last().unwrap().to_string();
        assert!(
            last.contains("second.ndjson") && last.contains("\"line\":1,"),
            "{last}"
        );
    }
}
