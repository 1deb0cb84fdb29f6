//! Every case of the conformance suite (testdata/*.jsonl, and the shared
//! array-consistency cases when ../shared is present) explained: the
//! verdict equals the reference matcher's and the case's expectation, and
//! the per-condition tree accounts for it (a failed branch has a failed
//! condition or an array conflict; a matching one has neither).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch_automata::{naive, Config};
use evmatch_explain::{explain, lint, Explanation, Status};
use evmatch_pattern::{compile, CompileOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};

struct Case {
    name: String,
    pattern: String,
    event: Option<String>,
    matches: Option<bool>,
    without_ac: Option<bool>,
}

fn text(o: &serde_json::Map<String, Value>, raw: &str, val: &str) -> Option<String> {
    match o.get(raw) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => o.get(val).map(|v| v.to_string()),
    }
}

fn load(path: &Path) -> Vec<Case> {
    let body = std::fs::read_to_string(path).unwrap();
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//"))
        .filter_map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let o = v.as_object().unwrap();
            // Files of other formats (transform.jsonl) have no pattern.
            let pattern = text(o, "pattern_text", "pattern")?;
            Some(Case {
                name: o["name"].as_str().unwrap().to_string(),
                pattern,
                event: text(o, "event_text", "event"),
                matches: o.get("matches").and_then(Value::as_bool),
                without_ac: o
                    .get("matches_without_array_consistency")
                    .and_then(Value::as_bool),
            })
        })
        .collect()
}

/// What is wrong with an explanation, if anything.
fn audit(
    x: &Explanation,
    p: &evmatch_pattern::Pattern,
    ev: &evmatch_event::FlatEvent,
    cfg: &Config,
) -> Option<String> {
    if x.matched != naive::pattern_matches(p, ev, cfg) {
        return Some("verdict differs from naive".into());
    }
    if x.matched != x.branches.iter().any(|b| b.matched) {
        return Some("verdict is not the OR of the branches".into());
    }
    for (i, (b, pb)) in x.branches.iter().zip(p.branches()).enumerate() {
        if b.matched != naive::branch_matches(pb, ev, cfg) {
            return Some(format!("branch {i} verdict differs from naive"));
        }
        let all = b.conditions.iter().all(|c| c.status.is_satisfied());
        if b.matched && (!all || b.array_conflict.is_some()) {
            return Some(format!("branch {i} matches but reports a failure"));
        }
        if !b.matched
            && all
            && b.array_conflict
                .as_ref()
                .map_or(true, |c| c.parts.is_empty())
        {
            return Some(format!(
                "branch {i} fails with no failed condition and no conflict"
            ));
        }
        if !b.matched && !all && b.array_conflict.is_some() {
            return Some(format!(
                "branch {i}: conflict reported next to a failed condition"
            ));
        }
        for c in &b.conditions {
            if c.status == Status::Failed && c.values.iter().any(|v| v.matched_by.is_some()) {
                return Some(format!("{}: failed with a matching value", c.path));
            }
        }
    }
    None
}

fn run(cases: &[Case]) -> (usize, Vec<String>) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for c in cases {
        let Ok(p) = compile(&c.pattern, &CompileOptions::default()) else {
            continue;
        };
        // Lints and rendering never fail on any valid pattern.
        let _ = lint(&p);
        let Some(ev) = &c.event else { continue };
        let v = evmatch_event::parse(ev.as_bytes()).unwrap();
        let flat = evmatch_event::flatten(&v).unwrap();
        let mut configs = vec![(Config::default(), c.matches)];
        if let Some(w) = c.without_ac {
            configs.push((
                Config {
                    array_consistency: false,
                    ..Config::default()
                },
                Some(w),
            ));
        }
        for (cfg, want) in configs {
            let x = explain(&p, &v, &cfg).unwrap();
            let _ = x.render(true);
            let _ = x.to_json();
            checked += 1;
            if let Some(w) = want {
                if x.matched != w {
                    failures.push(format!("{}: verdict {} want {w}", c.name, x.matched));
                }
            }
            if let Some(why) = audit(&x, &p, &flat, &cfg) {
                failures.push(format!(
                    "{} (consistency {}): {why}\n{}",
                    c.name,
                    cfg.array_consistency,
                    x.render(false)
                ));
            }
        }
    }
    (checked, failures)
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

#[test]
fn explains_every_conformance_case() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let cases: Vec<Case> = files.iter().flat_map(|f| load(f)).collect();
    let (checked, failures) = run(&cases);
    assert!(checked > 700, "only {checked} explanations checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// SPEC.md §2.12: the reference library's array-consistency cases, when
/// ../shared is present.
#[test]
fn explains_shared_array_consistency_cases() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance/array-consistency.jsonl");
    if !path.exists() {
        eprintln!("skipped: {} not present", path.display());
        return;
    }
    let cases = load(&path);
    assert_eq!(cases.len(), 51);
    let (checked, failures) = run(&cases);
    assert_eq!(checked, 102);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
