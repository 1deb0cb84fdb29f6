//! Runs `testdata/transform.jsonl` (SPEC.md §4) against the library.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/transform_cases.rs"]
mod transform_cases;

use evmatch_json::Value;
use evmatch_router::transform::{rule_arn, TargetInput, TransformContext, TransformerConfig};
use transform_cases::{load, Expect};

/// The context `evmatch transform` uses by default, so that both runners
/// agree: rule `example`, its ARN from the event's region and account,
/// ingestion time from the event's `time`.
fn context(c: &transform_cases::Case, event: &Value) -> TransformContext {
    let field = |k: &str, d: &str| match event.get(k) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => d.to_string(),
    };
    let name = c.rule_name.clone().unwrap_or_else(|| "example".into());
    TransformContext {
        rule_arn: c.rule_arn.clone().unwrap_or_else(|| {
            rule_arn(
                &field("region", "us-east-1"),
                &field("account", "123456789012"),
                None,
                &name,
            )
        }),
        ingestion_time: c
            .ingestion_time
            .clone()
            .unwrap_or_else(|| field("time", "")),
        rule_name: name,
    }
}

#[test]
fn spec_4_transform_cases() {
    let cases = load();
    let mut failures = Vec::new();
    for c in &cases {
        let map = c.input_paths_map.clone().unwrap_or_default();
        let transformer = (c.input_paths_map.is_some() || c.input_template.is_some()).then(|| {
            TransformerConfig {
                paths: &map,
                template: c.input_template.as_deref(),
            }
        });
        let target_id = c.target_id.as_deref().unwrap_or("target");
        let got = match TargetInput::new(
            target_id,
            c.input.as_deref(),
            c.input_path.as_deref(),
            transformer,
        ) {
            Err(e) => Expect::Error(e.message().to_string()),
            Ok(input) => {
                let event = evmatch_json::parse_value(&c.event).unwrap();
                match input.apply(&event, &context(c, &event)) {
                    Ok(body) => Expect::Output(body),
                    Err(_) => Expect::NotDelivered,
                }
            }
        };
        if got != c.expect {
            failures.push(format!(
                "{} (line {}):\n  expected {:?}\n  got      {:?}",
                c.name, c.line, c.expect, got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} transform cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
