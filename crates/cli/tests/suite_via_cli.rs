//! Runs the conformance suite's SPEC table and error cases through
//! `evmatch test-event-pattern`, the command independent AWS-validated
//! suites call: same verdicts, same first stderr line, same exit codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{bare_envelope, case_text, with_envelope};
use serde_json::Value;
use std::path::Path;

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
            let pattern = case_text(o, "pattern_text", "pattern").unwrap();
            let (event, want) = match (o.get("error"), case_text(o, "event_text", "event")) {
                (Some(e), _) => (
                    bare_envelope(),
                    Err(format!(
                        "Event pattern is not valid. Reason: {}",
                        e.as_str().unwrap()
                    )),
                ),
                (None, Some(ev)) => match with_envelope(&ev, &pattern) {
                    Some(ev) => (ev, Ok(o["matches"].as_bool().unwrap())),
                    None => continue,
                },
                (None, None) => continue,
            };
            let out = common::evmatch()
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
