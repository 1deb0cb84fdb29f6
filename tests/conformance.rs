//! The conformance suite: every case in `testdata/*.jsonl` (format in
//! `testdata/README.md`) run against every engine and configuration, plus
//! the reference library's array-consistency cases from
//! `../shared/conformance/` when that folder is present.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch::{compile, CompileOptions, Config, FlatEvent, Machine, Pattern, RuleId, Scratch};
use evmatch_automata::naive;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

struct Case {
    file: String,
    name: String,
    op: String,
    pattern: String,
    error: Option<String>,
    event: Option<String>,
    matches: Option<bool>,
    matches_without_ac: Option<bool>,
}

fn text_field(obj: &serde_json::Map<String, Value>, raw: &str, value: &str) -> Option<String> {
    if let Some(Value::String(s)) = obj.get(raw) {
        return Some(s.clone());
    }
    obj.get(value).map(|v| serde_json::to_string(v).unwrap())
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
        let v: Value =
            serde_json::from_str(t).unwrap_or_else(|e| panic!("{file}:{}: not JSON: {e}", i + 1));
        let o = v.as_object().unwrap();
        let name = o
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{file}:{}: no name", i + 1))
            .to_string();
        let pattern = text_field(o, "pattern_text", "pattern")
            .unwrap_or_else(|| panic!("{file}:{}: no pattern", i + 1));
        let has_error = o.contains_key("error");
        let has_event = o.contains_key("event") || o.contains_key("event_text");
        assert!(
            has_error != (has_event && o.get("matches").and_then(Value::as_bool).is_some()),
            "{file}:{}: a case needs either `error`, or an event with `matches`",
            i + 1
        );
        out.push(Case {
            file: file.clone(),
            name,
            op: o
                .get("op")
                .and_then(Value::as_str)
                .unwrap_or("other")
                .to_string(),
            pattern,
            error: o.get("error").and_then(Value::as_str).map(str::to_string),
            event: text_field(o, "event_text", "event"),
            matches: o.get("matches").and_then(Value::as_bool),
            matches_without_ac: o
                .get("matches_without_array_consistency")
                .and_then(Value::as_bool),
        });
    }
    out
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Runs one case; `None` when it passes, else what went wrong.
/// Unrelated rules added around the case's rule, so the machine is
/// checked with its indexes shared and populated.
const NEIGHBOURS: &[&str] = &[
    r#"{"source": ["zzz.never"]}"#,
    r#"{"detail": {"zzz-never": [{"prefix": "q"}, {"suffix": "q"}, {"wildcard": "q*q"}]}}"#,
    r#"{"detail": {"zzz-never": [{"numeric": [">", 1e300]}], "x": [{"exists": true}]}}"#,
    r#"{"zzz-never": [{"anything-but": "x"}]}"#,
];

/// Every engine and configuration of the automaton, plus the reference
/// matcher, on one case.
fn engines(p: &Pattern, event: &str, flat: &FlatEvent, cfg: Config) -> Vec<(&'static str, bool)> {
    let mut out = vec![("naive", naive::pattern_matches(p, flat, &cfg))];
    let scan =
        |m: &Machine, cfg_name: &'static str, out: &mut Vec<(&'static str, bool)>, want: RuleId| {
            let mut ids = Vec::new();
            match m.matches(&mut Scratch::new(), event.as_bytes(), &mut ids) {
                Ok(()) => out.push((cfg_name, ids.contains(&want))),
                Err(_) => out.push((cfg_name, false)),
            }
        };
    let mut m = Machine::new(cfg);
    let id = m.add(p);
    scan(&m, "machine", &mut out, id);
    let mut ids = Vec::new();
    m.matches_flat(&mut Scratch::new(), flat, &mut ids);
    out.push(("machine (flat)", ids.contains(&id)));
    m.force_wildcard_index(true);
    scan(&m, "machine (wildcard index)", &mut out, id);
    // Early exit reads a repeated top-level key's first value only
    // (documented on `Config::early_exit`); every other answer is equal.
    if !repeats_top_level_key(event) {
        let mut e = Machine::new(Config {
            early_exit: true,
            ..cfg
        });
        let eid = e.add(p);
        scan(&e, "machine (early exit)", &mut out, eid);
    }
    // Among neighbours, added before and after, one of them deleted.
    let mut n = Machine::new(cfg);
    let opts = CompileOptions::default();
    let before: Vec<RuleId> = NEIGHBOURS
        .iter()
        .map(|t| n.add(&compile(t, &opts).unwrap()))
        .collect();
    let nid = n.add(p);
    let dup = n.add(p);
    n.delete(dup);
    for t in NEIGHBOURS {
        n.add(&compile(t, &opts).unwrap());
    }
    n.delete(before[0]);
    scan(&n, "machine (shared)", &mut out, nid);
    out
}

fn repeats_top_level_key(event: &str) -> bool {
    let mut r = evmatch_json::Reader::new(event);
    let mut keys = std::collections::HashSet::new();
    while let Ok(Some(t)) = r.next_token() {
        if let evmatch_json::Token::Key(k) = t {
            if r.depth() == 1 && !keys.insert(k.to_string()) {
                return true;
            }
        }
    }
    false
}

fn run(case: &Case) -> Option<String> {
    let compiled = compile(&case.pattern, &CompileOptions::default());
    match (&case.error, compiled) {
        (Some(want), Err(e)) => {
            if e.reason() == want {
                None
            } else {
                Some(format!("wrong reason: got {:?}, want {want:?}", e.reason()))
            }
        }
        (Some(want), Ok(_)) => Some(format!("compiled, but want error {want:?}")),
        (None, Err(e)) => Some(format!("unexpected error: {}", e.reason())),
        (None, Ok(p)) => {
            let ev = case.event.as_ref()?;
            let flat = match evmatch_event::parse(ev.as_bytes())
                .and_then(|v| evmatch_event::flatten(&v))
            {
                Ok(f) => f,
                Err(e) => return Some(format!("event rejected: {e}")),
            };
            let mut problems = Vec::new();
            let configs = [
                (case.matches, true, ""),
                (case.matches_without_ac, false, " without array consistency"),
            ];
            for (want, consistency, label) in configs {
                let Some(want) = want else { continue };
                let cfg = Config {
                    array_consistency: consistency,
                    ..Config::default()
                };
                for (engine, got) in engines(&p, ev, &flat, cfg) {
                    if got != want {
                        problems.push(format!("{engine}{label}: got {got}, want {want}"));
                    }
                }
            }
            (!problems.is_empty()).then(|| problems.join("; "))
        }
    }
}

fn run_all(cases: &[Case]) -> (BTreeMap<String, usize>, Vec<String>) {
    let mut by_op: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in cases {
        *by_op.entry(c.op.clone()).or_default() += 1;
        if let Some(why) = run(c) {
            failures.push(format!(
                "{} / {}: {why}\n    pattern: {}\n    event: {}",
                c.file,
                c.name,
                c.pattern,
                c.event.as_deref().unwrap_or("-")
            ));
        }
    }
    (by_op, failures)
}

#[test]
fn conformance_suite() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        // Input transformer cases have their own format and runners
        // (crates/router/tests/transform_conformance.rs, the CLI's transform_cli.rs).
        .filter(|p| p.file_name().is_some_and(|n| n != "transform.jsonl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no testdata/*.jsonl");
    let mut cases = Vec::new();
    for f in &files {
        let c = load(f);
        assert!(!c.is_empty(), "{} has no cases", f.display());
        let mut names: Vec<&str> = c.iter().map(|x| x.name.as_str()).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(n, names.len(), "duplicate case names in {}", f.display());
        cases.extend(c);
    }
    let (by_op, failures) = run_all(&cases);
    eprintln!("conformance: {} cases by operator: {by_op:?}", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// The reference library's 51 array-consistency cases (SPEC.md §2.12),
/// read from `../shared/conformance/` and skipped when it is absent.
#[test]
fn shared_array_consistency_cases() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/array-consistency.jsonl");
    if !path.exists() {
        eprintln!("skipped: {} not present", path.display());
        return;
    }
    let cases = load(&path);
    assert_eq!(cases.len(), 51);
    let (_, failures) = run_all(&cases);
    assert!(
        failures.is_empty(),
        "{} of {} shared cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
