//! The machine's API contract: thread safety, in-place updates, scratch
//! reuse and memory accounting (issue 4, item 3).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch_automata::{Config, Machine, Scratch};
use evmatch_pattern::{compile, CompileOptions};

fn p(text: &str) -> evmatch_pattern::Pattern {
    compile(text, &CompileOptions::default()).unwrap()
}

fn ids(m: &Machine, s: &mut Scratch, ev: &str) -> Vec<u32> {
    let mut out = Vec::new();
    m.matches(s, ev.as_bytes(), &mut out).unwrap();
    out
}

#[test]
fn machine_is_send_and_sync_and_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Machine>();
    assert_send_sync::<Scratch>();
    let mut m = Machine::new(Config::default());
    let a = m.add(&p(r#"{"k": [{"prefix": "v"}]}"#));
    let m = std::sync::Arc::new(m);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                let mut s = Scratch::new();
                (0..200)
                    .filter(|i| !ids(&m, &mut s, &format!(r#"{{"k": "v{}"}}"#, i + t)).is_empty())
                    .count()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 200);
    }
    assert_eq!(
        ids(&m, &mut Scratch::new(), r#"{"k": "w"}"#),
        Vec::<u32>::new()
    );
    assert_eq!(ids(&m, &mut Scratch::new(), r#"{"k": "v"}"#), vec![a]);
}

#[test]
fn rules_are_added_and_deleted_in_place() {
    let mut m = Machine::new(Config::default());
    let mut s = Scratch::new();
    let ev = r#"{"source": "shop", "detail": {"n": 5, "tags": ["a", "t5"]}}"#;
    let r0 = m.add(&p(r#"{"source": ["shop"]}"#));
    let r1 = m.add(&p(r#"{"detail": {"n": [{"numeric": ["<", 10]}]}}"#));
    assert_eq!(ids(&m, &mut s, ev), vec![r0, r1]);
    let before = m.memory_usage();
    // Scratch sized for the smaller machine keeps working as it grows.
    let many: Vec<_> = (0..500)
        .map(|i| {
            p(&format!(
                r#"{{"detail": {{"tags": ["t{i}"], "n": [{i}]}}}}"#
            ))
        })
        .collect();
    let added = m.add_all(many.iter());
    assert!(m.memory_usage() > before);
    assert_eq!(ids(&m, &mut s, ev), vec![r0, r1, added[5]]);
    assert!(m.delete(r0));
    assert!(!m.delete(r0), "deleting twice is refused");
    assert!(!m.delete(9_999), "no such rule");
    assert_eq!(ids(&m, &mut s, ev), vec![r1, added[5]]);
    for &r in &added {
        assert!(m.delete(r));
    }
    assert_eq!(ids(&m, &mut s, ev), vec![r1]);
    assert_eq!(m.len(), 1);
    // Ids are never reused.
    let r2 = m.add(&p(r#"{"source": ["shop"]}"#));
    assert!(r2 > added[added.len() - 1]);
    assert_eq!(ids(&m, &mut s, ev), vec![r1, r2]);
    assert!(m.memory_usage() < before * 50);
}

#[test]
fn deleting_a_shared_matcher_keeps_the_other_rule() {
    // Two rules share one atom (the same matcher on the same path).
    let mut m = Machine::new(Config::default());
    let mut s = Scratch::new();
    let a = m.add(&p(r#"{"k": [{"wildcard": "a*z"}]}"#));
    let b = m.add(&p(
        r#"{"k": [{"wildcard": "a*z"}], "j": [{"exists": false}]}"#,
    ));
    assert_eq!(ids(&m, &mut s, r#"{"k": "abz"}"#), vec![a, b]);
    m.delete(a);
    assert_eq!(ids(&m, &mut s, r#"{"k": "abz"}"#), vec![b]);
    assert_eq!(
        ids(&m, &mut s, r#"{"k": "abz", "j": 1}"#),
        Vec::<u32>::new()
    );
}
