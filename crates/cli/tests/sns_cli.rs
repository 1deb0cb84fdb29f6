//! Every SNS conformance case (`testdata/sns/*.jsonl`) through
//! `evmatch test-filter-policy`, the command independent AWS-validated
//! suites call: same verdicts, AWS's text as the first stderr line, same
//! exit codes. Plus the command's own contract: file:// values, defaults,
//! usage errors, help.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn evmatch(args: &[&str]) -> Output {
    common::output(args)
}

fn stdout(o: &Output) -> String {
    common::text(&o.stdout)
}

fn first_stderr_line(o: &Output) -> String {
    common::text(&o.stderr)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

fn sns_testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sns")
}

#[test]
fn every_sns_case_through_test_filter_policy() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(sns_testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut checked = 0;
    let mut failures = Vec::new();
    for f in &files {
        for line in std::fs::read_to_string(f).unwrap().lines().map(str::trim) {
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let case: Value = serde_json::from_str(line).unwrap();
            let o = case.as_object().unwrap();
            let policy = match o.get("policy_text") {
                Some(Value::String(s)) => s.clone(),
                _ => o["policy"].to_string(),
            };
            let mut args: Vec<String> = vec![
                "test-filter-policy".into(),
                "--filter-policy".into(),
                policy,
            ];
            if let Some(s) = o.get("scope").and_then(Value::as_str) {
                args.extend(["--filter-policy-scope".into(), s.to_string()]);
            }
            if let Some(a) = o.get("attributes") {
                args.extend(["--message-attributes".into(), a.to_string()]);
            }
            match (o.get("message"), o.get("message_json")) {
                (Some(Value::String(m)), _) => args.extend(["--message".into(), m.clone()]),
                (_, Some(m)) => args.extend(["--message".into(), m.to_string()]),
                _ => {}
            }
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = evmatch(&refs);
            let name = o["name"].as_str().unwrap();
            let ok = match (o.get("error"), o.get("matches").and_then(Value::as_bool)) {
                (Some(Value::String(want)), _) => {
                    out.status.code() == Some(2)
                        && first_stderr_line(&out) == *want
                        && out.stdout.is_empty()
                }
                (_, Some(want)) => {
                    out.status.code() == Some(0)
                        && stdout(&out) == format!("{{\"Result\": {want}}}\n")
                }
                _ => panic!("{name}: neither error nor matches"),
            };
            if !ok {
                failures.push(format!(
                    "{name}: exit {:?}, stdout {:?}, stderr {:?}",
                    out.status.code(),
                    stdout(&out),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            checked += 1;
        }
    }
    assert!(checked >= 250, "only {checked} SNS cases found");
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn spec_5_values_from_files_and_defaults() {
    let dir = std::env::temp_dir().join(format!("evmatch-sns-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let policy = dir.join("policy.json");
    let attrs = dir.join("attrs.json");
    let body = dir.join("body.json");
    std::fs::write(&policy, r#"{"store": [{"prefix": "ex"}]}"#).unwrap();
    std::fs::write(
        &attrs,
        r#"{"store": {"DataType": "String", "StringValue": "example_corp"}}"#,
    )
    .unwrap();
    std::fs::write(&body, "{\"store\": \"example_corp\"}\n").unwrap();
    let p = format!("file://{}", policy.display());
    let a = format!("file://{}", attrs.display());
    let b = format!("file://{}", body.display());
    // SPEC 5.1: the attributes scope by default.
    let out = evmatch(&[
        "test-filter-policy",
        "--filter-policy",
        &p,
        "--message-attributes",
        &a,
    ]);
    assert_eq!(stdout(&out), "{\"Result\": true}\n");
    // Without attributes nothing is there to match.
    let out = evmatch(&["test-filter-policy", "--filter-policy", &p, "--message", &b]);
    assert_eq!(stdout(&out), "{\"Result\": false}\n");
    // The body scope reads the body file (trailing newline and all).
    let out = evmatch(&[
        "test-filter-policy",
        "--filter-policy",
        &p,
        "--filter-policy-scope",
        "MessageBody",
        "--message",
        &b,
    ]);
    assert_eq!(stdout(&out), "{\"Result\": true}\n");
    // Without --message the body is empty: no body-scope match.
    let out = evmatch(&[
        "test-filter-policy",
        "--filter-policy",
        &p,
        "--filter-policy-scope",
        "MessageBody",
    ]);
    assert_eq!(stdout(&out), "{\"Result\": false}\n");
    // An unreadable file is a fatal error.
    let out = evmatch(&[
        "test-filter-policy",
        "--filter-policy",
        "file:///nonexistent/evmatch/policy.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(first_stderr_line(&out).contains("cannot read --filter-policy file"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spec_5_5_error_location_follows_the_aws_line() {
    let out = evmatch(&[
        "test-filter-policy",
        "--filter-policy-scope",
        "MessageBody",
        "--filter-policy",
        r#"{"a": {"b": [{"numeric": [">", 3, "<", 1]}]}}"#,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "Invalid parameter: FilterPolicy: Bottom must be less than top",
            "  (at a.b)"
        ]
    );
}

#[test]
fn bad_attributes_and_usage_errors_exit_2() {
    // SPEC 5.2: a Number attribute must hold a number.
    let out = evmatch(&[
        "test-filter-policy",
        "--filter-policy",
        r#"{"n": [1]}"#,
        "--message-attributes",
        r#"{"n": {"DataType": "Number", "StringValue": "one"}}"#,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(first_stderr_line(&out).starts_with("Invalid parameter: MessageAttributes: "));
    let out = evmatch(&[
        "test-filter-policy",
        "--filter-policy",
        r#"{"n": [1]}"#,
        "--message-attributes",
        "[1]",
    ]);
    assert_eq!(out.status.code(), Some(2));
    // --filter-policy is required.
    let out = evmatch(&["test-filter-policy", "--message", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--filter-policy"));
    assert!(out.stdout.is_empty());
}

#[test]
fn help_lists_and_describes_the_command() {
    let out = evmatch(&["help", "test-filter-policy"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("--filter-policy-scope"));
    assert!(text.contains("--message-attributes"));
    let out = evmatch(&["--help"]);
    assert!(stdout(&out).contains("evmatch test-filter-policy --filter-policy POLICY"));
}
