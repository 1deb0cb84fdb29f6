//! Runs the conformance suite's SPEC table and error cases through
//! `evmatch test-event-pattern`, the command independent AWS-validated
//! suites call: same verdicts, same first stderr line, same exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Map, Value};
use std::path::Path;
use std::process::Command;

const ENVELOPE: [(&str, &str); 6] = [
    ("id", "6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
    ("account", "123456789012"),
    ("source", "com.example.test"),
    ("time", "2024-01-01T00:00:00Z"),
    ("region", "us-east-1"),
    ("detail-type", "Test"),
];

fn text(o: &Map<String, Value>, raw: &str, val: &str) -> Option<String> {
    match o.get(raw) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => o.get(val).map(|v| v.to_string()),
    }
}

/// Adds the envelope fields `TestEventPattern` requires to an event given as
/// text, by splicing them in front so the event's own spelling survives.
fn with_envelope(event: &str, pattern: &str) -> Option<String> {
    let parsed: Value = serde_json::from_str(event).ok()?;
    let obj = parsed.as_object()?;
    let mut extra = String::new();
    for (k, v) in ENVELOPE {
        if obj.contains_key(k) {
            continue;
        }
        // Adding a field the pattern looks at could change the verdict.
        if pattern.contains(&format!("\"{k}\"")) {
            return None;
        }
        extra.push_str(&format!("\"{k}\":\"{v}\","));
    }
    let rest = event.trim_start().strip_prefix('{')?;
    if rest.trim_start().starts_with('}') {
        extra.pop();
    }
    Some(format!("{{{extra}{rest}"))
}

#[test]
fn spec_tables_through_test_event_pattern() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata");
    let mut checked = 0;
    let mut failures = Vec::new();
    for file in ["spec-examples.jsonl", "errors.jsonl", "matrix.jsonl"] {
        let body = std::fs::read_to_string(root.join(file)).unwrap();
        for line in body.lines().map(str::trim) {
            if line.is_empty() || line.starts_with("//") {
                continue;
            }
            let case: Value = serde_json::from_str(line).unwrap();
            let o = case.as_object().unwrap();
            let name = o["name"].as_str().unwrap();
            let pattern = text(o, "pattern_text", "pattern").unwrap();
            let (event, want) = match (o.get("error"), text(o, "event_text", "event")) {
                (Some(e), _) => {
                    let ev = ENVELOPE
                        .iter()
                        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
                        .collect::<Vec<_>>()
                        .join(",");
                    (
                        format!("{{{ev}}}"),
                        Err(format!(
                            "Event pattern is not valid. Reason: {}",
                            e.as_str().unwrap()
                        )),
                    )
                }
                (None, Some(ev)) => match with_envelope(&ev, &pattern) {
                    Some(ev) => (ev, Ok(o["matches"].as_bool().unwrap())),
                    None => continue,
                },
                (None, None) => continue,
            };
            let out = Command::new(env!("CARGO_BIN_EXE_evmatch"))
                .args([
                    "test-event-pattern",
                    "--event-pattern",
                    &pattern,
                    "--event",
                    &event,
                ])
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let ok = match &want {
                Ok(m) => {
                    out.status.code() == Some(0) && stdout.trim() == format!("{{\"Result\": {m}}}")
                }
                Err(first) => {
                    out.status.code() == Some(2) && stderr.lines().next() == Some(first.as_str())
                }
            };
            checked += 1;
            if !ok {
                failures.push(format!(
                    "{file}/{name}: want {want:?}, got exit {:?} stdout {stdout:?} stderr {stderr:?}",
                    out.status.code()
                ));
            }
        }
    }
    assert!(checked > 300, "only {checked} cases checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
