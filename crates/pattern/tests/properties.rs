//! Properties that catch real mistakes in the compiler.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch_pattern::{compile, CompileOptions, Matcher};
use proptest::prelude::*;

fn opts() -> CompileOptions {
    CompileOptions::default()
}

proptest! {
    /// SPEC.md §2.11: a dotted key is the same path as nesting.
    #[test]
    fn dotted_keys_equal_nesting(keys in prop::collection::vec("[a-z]{1,5}", 1..5), v in "[a-z]{0,6}") {
        let dotted = format!(r#"{{"{}":["{}"]}}"#, keys.join("."), v);
        let mut nested = format!(r#"["{v}"]"#);
        for k in keys.iter().rev() {
            nested = format!(r#"{{"{k}":{nested}}}"#);
        }
        prop_assert_eq!(compile(&dotted, &opts()).unwrap(), compile(&nested, &opts()).unwrap());
    }

    /// SPEC.md §2.10: `$or` expands to the product of its alternatives.
    #[test]
    fn or_expansion_counts(sizes in prop::collection::vec(2usize..5, 1..4)) {
        let mut members = Vec::new();
        for (i, n) in sizes.iter().enumerate() {
            let alts: Vec<String> = (0..*n).map(|j| format!(r#"{{"f{i}_{j}":["x"]}}"#)).collect();
            members.push(format!(r#""g{i}":{{"$or":[{}]}}"#, alts.join(",")));
        }
        let p = compile(&format!("{{{}}}", members.join(",")), &opts()).unwrap();
        prop_assert_eq!(p.branches().len(), sizes.iter().product::<usize>());
        for b in p.branches() {
            prop_assert_eq!(b.fields().len(), sizes.len());
        }
    }

    /// SPEC.md §3.2: numeric bounds keep f64 order; a range compiles iff
    /// bottom < top.
    #[test]
    fn numeric_bounds_follow_f64_order(a in -1.0e12f64..1.0e12, b in -1.0e12f64..1.0e12) {
        let p = format!(r#"{{"n":[{{"numeric":[">",{a:?},"<",{b:?}]}}]}}"#);
        match compile(&p, &opts()) {
            Ok(c) => {
                prop_assert!(a < b);
                let Matcher::Numeric(r) = &c.branches()[0].fields()[0].matchers[0] else { panic!() };
                prop_assert_eq!(r.low, Some((a, false)));
                prop_assert_eq!(r.high, Some((b, false)));
                prop_assert!(!r.contains(a) && !r.contains(b));
            }
            Err(e) => {
                prop_assert!(a >= b);
                prop_assert_eq!(e.reason(), "Bottom must be less than top");
            }
        }
    }

    /// No input makes the compiler panic.
    #[test]
    fn never_panics(s in "\\PC{0,64}") {
        let _ = compile(&s, &opts());
    }

    /// Nor structured garbage close to real patterns.
    #[test]
    fn never_panics_on_pattern_like(parts in prop::collection::vec(prop::sample::select(vec![
        "{", "}", "[", "]", ",", ":", "\"a\"", "\"$or\"", "\"prefix\"", "\"numeric\"", "\"anything-but\"",
        "\"wildcard\"", "\"*\"", "\">\"", "1", "1e400", "null", "true", "\"cidr\"", "\"10.0.0.0/8\"",
        "\"exists\"", "\"equals-ignore-case\"", "\"suffix\"",
    ]), 0..40)) {
        let _ = compile(&parts.concat(), &opts());
    }
}
