//! Properties of matching that catch real mistakes: number model and
//! ordering (SPEC.md §3.2), `$or` as a union of branches (SPEC.md §2.10).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch::RuleSet;
use proptest::prelude::*;

fn matches(pattern: &str, event: &str) -> bool {
    let mut b = RuleSet::builder();
    b.add("r", pattern).unwrap();
    !b.build().matches(event.as_bytes()).unwrap().is_empty()
}

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1.0e15f64..1.0e15,
        -1000.0f64..1000.0,
        (-1000i64..1000).prop_map(|i| i as f64),
        prop::num::f64::NORMAL,
    ]
}

proptest! {
    /// 300 = 300.0 = 3e2: an exact number matches every spelling of the
    /// same double (SPEC.md §3.2 #5).
    #[test]
    fn exact_number_matches_every_spelling(x in finite()) {
        let p = format!(r#"{{"n":[{x:e}]}}"#);
        let plain = format!(r#"{{"n":{x}}}"#);
        let sci = format!(r#"{{"n":{x:e}}}"#);
        let debug = format!(r#"{{"n":{x:?}}}"#);
        let string = format!(r#"{{"n":"{x}"}}"#);
        prop_assert!(matches(&p, &plain));
        prop_assert!(matches(&p, &sci));
        prop_assert!(matches(&p, &debug));
        prop_assert!(!matches(&p, &string));
    }

    /// Ranges follow f64 order exactly, with no epsilon.
    #[test]
    fn numeric_ranges_follow_f64_order(a in finite(), x in finite()) {
        let ev = format!(r#"{{"n":{x:e}}}"#);
        let gt = format!(r#"{{"n":[{{"numeric":[">",{a:e}]}}]}}"#);
        let le = format!(r#"{{"n":[{{"numeric":["<=",{a:e}]}}]}}"#);
        let eq = format!(r#"{{"n":[{{"numeric":["=",{a:e}]}}]}}"#);
        let ab = format!(r#"{{"n":[{{"anything-but":{a:e}}}]}}"#);
        prop_assert_eq!(matches(&gt, &ev), x > a);
        prop_assert_eq!(matches(&le, &ev), x <= a);
        prop_assert_eq!(matches(&eq, &ev), x == a);
        prop_assert_eq!(matches(&ab, &ev), x != a);
    }

    /// A pattern with `$or` matches exactly when one of its alternatives,
    /// written as a pattern of its own, matches.
    #[test]
    fn or_is_union(a in "[ab]", b in "[ab]", ea in "[ab]", eb in "[ab]") {
        let ev = format!(r#"{{"x":"{ea}","y":"{eb}"}}"#);
        let or = format!(r#"{{"$or":[{{"x":["{a}"]}},{{"y":["{b}"]}}]}}"#);
        let left = matches(&format!(r#"{{"x":["{a}"]}}"#), &ev);
        let right = matches(&format!(r#"{{"y":["{b}"]}}"#), &ev);
        prop_assert_eq!(matches(&or, &ev), left || right);
    }

    /// Events never make the matcher panic.
    #[test]
    fn events_never_panic(s in "\\PC{0,80}") {
        let mut b = RuleSet::builder();
        b.add("r", r#"{"a":[{"exists":false}],"b":[{"anything-but":"x"}]}"#).unwrap();
        let _ = b.build().matches(s.as_bytes());
    }
}
