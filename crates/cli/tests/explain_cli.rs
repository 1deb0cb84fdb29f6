//! `evmatch explain` through the binary: it agrees with
//! `evmatch test-event-pattern` on every conformance case (verdict, exit
//! status, AWS error line), plus the rules-file mode, --json, and the
//! lint warnings of `evmatch check`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{bare_envelope, case_text, text, with_envelope};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

fn run(args: &[&str]) -> Output {
    common::evmatch()
        .args(args)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn out(o: &Output) -> String {
    text(&o.stdout)
}

fn err(o: &Output) -> String {
    text(&o.stderr)
}

fn cases() -> Vec<(String, String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let body = std::fs::read_to_string(&f).unwrap();
        for line in body.lines().map(str::trim) {
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let case: Value = serde_json::from_str(line).unwrap();
            let o = case.as_object().unwrap();
            let name = format!(
                "{}/{}",
                f.file_name().unwrap().to_string_lossy(),
                o["name"].as_str().unwrap()
            );
            // Files of other formats (transform.jsonl) have no pattern.
            let Some(pattern) = case_text(o, "pattern_text", "pattern") else {
                continue;
            };
            let event = match case_text(o, "event_text", "event") {
                Some(ev) => match with_envelope(&ev, &pattern) {
                    Some(e) => e,
                    None => continue,
                },
                None => bare_envelope(),
            };
            out.push((name, pattern, event));
        }
    }
    out
}

/// Compares explain with test-event-pattern on one case.
fn agree(name: &str, pattern: &str, event: &str) -> Option<String> {
    let t = run(&[
        "test-event-pattern",
        "--event-pattern",
        pattern,
        "--event",
        event,
    ]);
    let x = run(&["explain", "--event-pattern", pattern, "--event", event]);
    let (tc, xc) = (t.status.code(), x.status.code());
    let ok = match tc {
        Some(0) => {
            let m = out(&t).trim() == "{\"Result\": true}";
            let want_code = if m { Some(0) } else { Some(1) };
            let last = if m {
                "result: match"
            } else {
                "result: no match"
            };
            xc == want_code && out(&x).lines().last() == Some(last)
        }
        Some(2) => xc == Some(2) && err(&x).lines().next() == err(&t).lines().next(),
        _ => false,
    };
    (!ok).then(|| {
        format!(
            "{name}: test-event-pattern {tc:?} {:?} {:?}; explain {xc:?} {:?} {:?}",
            out(&t),
            err(&t),
            out(&x),
            err(&x)
        )
    })
}

/// The issue's contract: explain and test-event-pattern agree on every case
/// of the conformance suite that can carry an envelope (verdicts and SPEC.md
/// §2.1 error lines alike).
#[test]
fn explain_agrees_with_test_event_pattern_on_every_case() {
    let all = cases();
    assert!(all.len() > 1000, "only {} cases", all.len());
    let next = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((name, p, e)) = all.get(i) else {
                    break;
                };
                if let Some(f) = agree(name, p, e) {
                    failures.lock().unwrap().push(f);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

const EC2_EVENT: &str = r#"{
  "version": "0",
  "id": "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "123456789012",
  "time": "2024-11-11T21:29:54Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0abcd1111"],
  "detail": {"instance-id": "i-0abcd1111", "state": "Stopped"}
}"#;

fn tmp() -> PathBuf {
    common::tmp_numbered("evmatch-explain-test")
}

#[test]
fn inline_explanation_on_an_eventbridge_event() {
    let d = tmp();
    let ev = d.join("event.json");
    std::fs::write(&ev, EC2_EVENT).unwrap();
    let o = run(&[
        "explain",
        "--event-pattern",
        r#"{"source": ["aws.ec2"], "detail": {"state": ["stopped"], "instanceId": [{"prefix": "i-"}]}}"#,
        "--event",
        &format!("file://{}", ev.display()),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        out(&o),
        "pattern: no match\n\
         \x20 ✗ detail.instanceId [{\"prefix\": \"i-\"}]: missing (no value at this path)\n\
         \x20     hint: the event has detail.instance-id: a close spelling of detail.instanceId [key]\n\
         \x20 ✗ detail.state [\"stopped\"]: got \"Stopped\"\n\
         \x20     hint: \"Stopped\" differs from \"stopped\" only in case; {\"equals-ignore-case\": \"stopped\"} would match [case]\n\
         \x20 ✓ source [\"aws.ec2\"]: got \"aws.ec2\"\n\
         result: no match\n"
    );
    // Piped: no colour codes.
    assert!(!out(&o).contains('\x1b'));
    let o = run(&[
        "explain",
        "--json",
        "--event-pattern",
        r#"{"source": ["aws.ec2"]}"#,
        "--event",
        EC2_EVENT,
    ]);
    assert_eq!(o.status.code(), Some(0));
    let j: Value = serde_json::from_str(&out(&o)).unwrap();
    assert_eq!(j["matched"], true);
    assert_eq!(j["branches"][0]["conditions"][0]["path"], "source");
    assert_eq!(j["branches"][0]["conditions"][0]["status"], "matched");
}

/// SPEC.md §2.1 and §1.1: AWS's messages, exit 2.
#[test]
fn spec_2_1_invalid_pattern_or_event_exit_2() {
    let o = run(&[
        "explain",
        "--event-pattern",
        r#"{"a": []}"#,
        "--event",
        EC2_EVENT,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        err(&o).lines().next(),
        Some("Event pattern is not valid. Reason: Empty arrays are not allowed")
    );
    let o = run(&[
        "explain",
        "--event-pattern",
        r#"{"a": ["x"]}"#,
        "--event",
        r#"{"a": "x"}"#,
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        err(&o).lines().next(),
        Some("Parameter Event is not valid.")
    );
    let o = run(&["explain", "--event-pattern", r#"{"a": ["x"]}"#]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn rules_mode_explains_each_event() {
    let d = tmp();
    let rules = d.join("rules.json");
    std::fs::write(
        &rules,
        r#"{"tagged": {"detail": {"tags": {"key": ["env"], "value": ["billing"]}}}, "other": {"source": ["x"]}}"#,
    )
    .unwrap();
    let events = d.join("events.ndjson");
    std::fs::write(
        &events,
        "{\"detail\":{\"tags\":[{\"key\":\"team\",\"value\":\"billing\"},{\"key\":\"env\",\"value\":\"prod\"}]}}\n\n{\"detail\":{\"tags\":[{\"key\":\"env\",\"value\":\"billing\"}]}}\n",
    )
    .unwrap();
    let (r, e) = (rules.to_str().unwrap(), events.to_str().unwrap());
    let o = run(&["explain", r, "--rule", "tagged", e]);
    assert_eq!(o.status.code(), Some(0), "{}", err(&o));
    let text = out(&o);
    assert!(text.starts_with(&format!(
        "rule \"tagged\", event {e}:1\npattern: no match\n"
    )));
    assert!(text.contains("  ✗ array consistency: detail.tags.key matched in element [1], detail.tags.value matched in element [0]; one element of detail.tags must satisfy all of them\n"));
    assert!(text.contains(&format!("rule \"tagged\", event {e}:3\npattern: match\n")));
    // --json: one line per event, with rule, file and line.
    let o = run(&["explain", "--json", r, "--rule", "tagged", e]);
    let lines: Vec<Value> = out(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["rule"], "tagged");
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["matched"], false);
    assert_eq!(
        lines[0]["branches"][0]["array_conflict"]["array"],
        "detail.tags"
    );
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["matched"], true);
    // Only the failing event: exit 1.
    let first = d.join("first.json");
    std::fs::write(
        &first,
        "{\n  \"detail\": {\"tags\": [{\"key\": \"team\", \"value\": \"billing\"}]}\n}\n",
    )
    .unwrap();
    let o = run(&["explain", r, "--rule", "tagged", first.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    // Unknown rule: exit 2.
    let o = run(&["explain", r, "--rule", "nope", e]);
    assert_eq!(o.status.code(), Some(2));
    assert!(err(&o).contains("no rule named \"nope\" (rules: tagged, other)"));
}

#[test]
fn help_explain() {
    let o = run(&["help", "explain"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(out(&o).contains("Exit status (like grep)"));
    let o = run(&["--help"]);
    assert!(out(&o).contains("evmatch explain --event-pattern PATTERN --event EVENT"));
}

#[test]
fn check_prints_lint_warnings() {
    let d = tmp();
    let rules = d.join("rules.json");
    std::fs::write(
        &rules,
        r#"{"ok": {"source": ["aws.ec2"]}, "typo": {"detailType": ["x"], "detail": {"s": [{"wildcard": "abc"}]}}}"#,
    )
    .unwrap();
    let r = rules.to_str().unwrap();
    let o = run(&["check", r]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(out(&o), "");
    assert_eq!(
        err(&o),
        "evmatch: warning: rule \"typo\": detail.s[0]: {\"wildcard\": \"abc\"} has no \"*\": use the exact value \"abc\" [wildcard-without-star]\n\
         evmatch: warning: rule \"typo\": detailType: EventBridge never sets \"detailType\" at the top level of an event; did you mean \"detail-type\"? [top-level-typo]\n\
         2 rules, 0 invalid, 2 warnings\n"
    );
    let o = run(&["check", "--deny-warnings", r]);
    assert_eq!(o.status.code(), Some(1));
}
