//! The SNS conformance suite: every case in `testdata/sns/*.jsonl` (format
//! in `testdata/README.md`) through every way of matching: the policy on
//! the reference matcher, a one-subscription topic (the `RuleSet` engine),
//! `test_filter_policy`, and one topic holding every valid policy of a
//! file at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch_sns::{test_filter_policy, FilterPolicy, FilterPolicyScope, Message, Topic};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug)]
struct Case {
    file: String,
    name: String,
    op: String,
    scope: Option<String>,
    policy: String,
    error: Option<String>,
    attributes: Option<String>,
    body: String,
    matches: Option<bool>,
}

fn load(path: &Path) -> Vec<Case> {
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        let at = format!("{file}:{}", i + 1);
        let v: Value = serde_json::from_str(t).unwrap_or_else(|e| panic!("{at}: not JSON: {e}"));
        let o = v.as_object().unwrap();
        let policy = match (o.get("policy_text"), o.get("policy")) {
            (Some(Value::String(s)), None) => s.clone(),
            (None, Some(p)) => serde_json::to_string(p).unwrap(),
            _ => panic!("{at}: needs exactly one of policy, policy_text (a string)"),
        };
        let body = match (o.get("message"), o.get("message_json")) {
            (Some(Value::String(s)), None) => s.clone(),
            (None, Some(m)) => serde_json::to_string(m).unwrap(),
            (None, None) => String::new(),
            _ => panic!("{at}: at most one of message (a string), message_json"),
        };
        let error = o.get("error").and_then(Value::as_str).map(str::to_string);
        let matches = o.get("matches").and_then(Value::as_bool);
        assert!(
            error.is_some() != matches.is_some(),
            "{at}: a case needs either `error` or `matches`"
        );
        out.push(Case {
            file: file.clone(),
            name: o
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("{at}: no name"))
                .to_string(),
            op: o
                .get("op")
                .and_then(Value::as_str)
                .unwrap_or("other")
                .to_string(),
            scope: o.get("scope").and_then(Value::as_str).map(str::to_string),
            policy,
            error,
            attributes: o
                .get("attributes")
                .map(|a| serde_json::to_string(a).unwrap()),
            body,
            matches,
        });
    }
    out
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sns")
}

fn message(c: &Case) -> Message {
    let m = Message::new(c.body.clone());
    match &c.attributes {
        Some(a) => m.with_attributes_json(a).unwrap(),
        None => m,
    }
}

fn compile(c: &Case) -> Result<FilterPolicy, String> {
    let scope = match &c.scope {
        Some(s) => s
            .parse::<FilterPolicyScope>()
            .map_err(|e| e.aws_message())?,
        None => FilterPolicyScope::default(),
    };
    FilterPolicy::compile(&c.policy, scope).map_err(|e| e.aws_message())
}

/// `None` when the case passes.
fn run(c: &Case) -> Option<String> {
    let via_fn = test_filter_policy(
        &c.policy,
        c.scope.as_deref(),
        c.attributes.as_deref(),
        &c.body,
    )
    .map_err(|e| e.to_string());
    match (&c.error, compile(c)) {
        (Some(want), Err(got)) => {
            if &got != want {
                return Some(format!("wrong error: got {got:?}, want {want:?}"));
            }
            (via_fn != Err(want.clone())).then(|| format!("test_filter_policy: {via_fn:?}"))
        }
        (Some(want), Ok(_)) => Some(format!("compiled, but want error {want:?}")),
        (None, Err(e)) => Some(format!("unexpected error: {e}")),
        (None, Ok(p)) => {
            let want = c.matches?;
            let prepared = message(c).prepare();
            let mut problems = Vec::new();
            let reference = p.matches(&prepared);
            if reference != want {
                problems.push(format!("reference matcher: got {reference}, want {want}"));
            }
            let mut t = Topic::builder();
            t.subscribe_compiled("s", p);
            let engine = !t.build().receivers_prepared(&prepared).is_empty();
            if engine != want {
                problems.push(format!("topic engine: got {engine}, want {want}"));
            }
            if via_fn != Ok(want) {
                problems.push(format!("test_filter_policy: got {via_fn:?}, want {want}"));
            }
            (!problems.is_empty()).then(|| problems.join("; "))
        }
    }
}

/// Every valid policy of a file subscribed to one topic: each case's
/// message must reach its own subscription exactly when it matches.
fn run_as_one_topic(cases: &[Case]) -> Vec<String> {
    let mut b = Topic::builder();
    let mut valid = Vec::new();
    for c in cases.iter().filter(|c| c.matches.is_some()) {
        let p = compile(c).unwrap();
        b.subscribe_compiled(&c.name, p);
        valid.push(c);
    }
    let topic = b.build();
    let mut failures = Vec::new();
    for c in valid {
        let got = topic.receivers(&message(c)).contains(&c.name.as_str());
        if Some(got) != c.matches {
            failures.push(format!(
                "{} / {}: in a topic of {}: got {got}",
                c.file,
                c.name,
                topic.len()
            ));
        }
    }
    failures
}

#[test]
fn sns_conformance_suite() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "testdata/sns/*.jsonl missing");
    let mut all = Vec::new();
    let mut failures = Vec::new();
    for f in &files {
        let cases = load(f);
        assert!(!cases.is_empty(), "{} has no cases", f.display());
        let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate case names in {}", f.display());
        failures.extend(run_as_one_topic(&cases));
        all.extend(cases);
    }
    let mut by_op: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &all {
        *by_op.entry(c.op.as_str()).or_default() += 1;
        if let Some(why) = run(c) {
            failures.push(format!(
                "{} / {}: {why}\n    policy: {}\n    attributes: {}\n    body: {:?}",
                c.file,
                c.name,
                c.policy,
                c.attributes.as_deref().unwrap_or("-"),
                c.body
            ));
        }
    }
    eprintln!(
        "sns conformance: {} cases by operator: {by_op:?}",
        all.len()
    );
    // Both outcomes are represented, so the suite can fail either way.
    assert!(all.iter().any(|c| c.matches == Some(true)));
    assert!(all.iter().any(|c| c.matches == Some(false)));
    assert!(all.iter().any(|c| c.error.is_some()));
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
