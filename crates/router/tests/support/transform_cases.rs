//! Reads `testdata/transform.jsonl` (format in `testdata/README.md`).
//! Shared by the router's conformance test and the CLI's.

use evmatch_json::Value;
use evmatch_router::transform::to_compact;
use std::collections::HashSet;

/// What a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// This exact body.
    Output(String),
    /// Nothing delivered.
    NotDelivered,
    /// A configuration error with this exact text.
    Error(String),
}

/// One case.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub line: usize,
    /// The event text: `event_text` verbatim, or `event` written compactly
    /// in the file's key order and number spelling.
    pub event: String,
    pub input: Option<String>,
    pub input_path: Option<String>,
    /// `(name, path)` in file order; `None` when absent.
    pub input_paths_map: Option<Vec<(String, String)>>,
    pub input_template: Option<String>,
    pub rule_name: Option<String>,
    pub rule_arn: Option<String>,
    pub ingestion_time: Option<String>,
    pub target_id: Option<String>,
    pub expect: Expect,
}

fn string(v: Option<&Value>, what: &str, name: &str) -> Option<String> {
    match v {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => panic!("case {name}: {what} must be a string"),
    }
}

const KNOWN: [&str; 16] = [
    "name",
    "source",
    "event",
    "event_text",
    "input",
    "input_path",
    "input_paths_map",
    "input_template",
    "rule_name",
    "rule_arn",
    "ingestion_time",
    "target_id",
    "output",
    "not_delivered",
    "error",
    "comment",
];

/// Every case of the file, checked for shape.
pub fn load() -> Vec<Case> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/transform.jsonl"
    );
    let text = std::fs::read_to_string(path).expect("testdata/transform.jsonl");
    let mut names = HashSet::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        let v = evmatch_json::parse_value(t)
            .unwrap_or_else(|e| panic!("transform.jsonl line {}: {e}", i + 1));
        let Value::Object(members) = &v else {
            panic!("line {}: not an object", i + 1)
        };
        for (k, _) in members {
            assert!(
                KNOWN.contains(&k.as_str()),
                "line {}: unknown field {k}",
                i + 1
            );
        }
        let name = string(v.get("name"), "name", "?").expect("name");
        assert!(names.insert(name.clone()), "duplicate case name {name}");
        let source = string(v.get("source"), "source", &name).unwrap_or_default();
        assert!(
            source.contains("SPEC 4"),
            "case {name}: source must cite SPEC section 4"
        );
        let event = match (v.get("event"), v.get("event_text")) {
            (Some(e), None) => to_compact(e),
            (None, Some(Value::String(t))) => t.clone(),
            _ => panic!("case {name}: exactly one of event / event_text"),
        };
        let input_paths_map = v.get("input_paths_map").map(|m| match m {
            Value::Object(ms) => ms
                .iter()
                .map(|(k, p)| match p {
                    Value::String(p) => (k.clone(), p.clone()),
                    _ => panic!("case {name}: paths must be strings"),
                })
                .collect(),
            _ => panic!("case {name}: input_paths_map must be an object"),
        });
        let output = string(v.get("output"), "output", &name);
        let error = string(v.get("error"), "error", &name);
        let not_delivered = match v.get("not_delivered") {
            None => false,
            Some(Value::Bool(true)) => true,
            Some(_) => panic!("case {name}: not_delivered must be true"),
        };
        let expect = match (output, not_delivered, error) {
            (Some(o), false, None) => Expect::Output(o),
            (None, true, None) => Expect::NotDelivered,
            (None, false, Some(e)) => Expect::Error(e),
            _ => panic!("case {name}: exactly one of output / not_delivered / error"),
        };
        out.push(Case {
            line: i + 1,
            event,
            input: string(v.get("input"), "input", &name),
            input_path: string(v.get("input_path"), "input_path", &name),
            input_paths_map,
            input_template: string(v.get("input_template"), "input_template", &name),
            rule_name: string(v.get("rule_name"), "rule_name", &name),
            rule_arn: string(v.get("rule_arn"), "rule_arn", &name),
            ingestion_time: string(v.get("ingestion_time"), "ingestion_time", &name),
            target_id: string(v.get("target_id"), "target_id", &name),
            expect,
            name,
        });
    }
    assert!(out.len() >= 50, "too few transform cases: {}", out.len());
    out
}
