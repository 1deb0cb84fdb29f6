//! Differential tests (issue 4 item 5): the automaton and the reference
//! matcher must agree on every rule's verdict, for random patterns using
//! every operator of SPEC.md §2 and random events shaped to hit them, with
//! and without array consistency (SPEC.md §2.12), with the wildcard index
//! forced on and off, on the bytes path and the flattened path, and with
//! early exit where the event repeats no key (SPEC.md §1.3 #9).
//!
//! And the validity differential: the automaton's streaming scanner
//! accepts exactly the events the full parser accepts (SPEC.md §1.1), with
//! the same error.
//!
//! Cases per property: 256 by default; set `EVMATCH_PROPTEST_CASES` for
//! more (e.g. 100000 for a long local run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/diff.rs"]
mod diff;
#[path = "support/gen.rs"]
mod gen;

use evmatch::Config;
use proptest::prelude::*;
use proptest::strategy::ValueTree;

fn cases() -> u32 {
    std::env::var("EVMATCH_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// Patterns and an event decoded from bytes (see `support/gen.rs`).
fn decode(bytes: &[u8]) -> (Vec<String>, String, bool) {
    gen::Gen::new(bytes).case()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn automaton_agrees_with_reference(bytes in prop::collection::vec(any::<u8>(), 0..3000)) {
        let (patterns, event, dup) = decode(&bytes);
        if let Err(why) = diff::check(&patterns, &event, dup) {
            prop_assert!(false, "{}", why);
        }
    }

    /// Valid events cut short, with a byte changed or inserted: the
    /// scanner must reject exactly what the parser rejects.
    #[test]
    fn scanner_accepts_what_the_parser_accepts(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        cut in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        byte in prop_oneof![
            Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b'['), Just(b']'),
            Just(b','), Just(b':'), Just(b'0'), Just(b'-'), Just(b'e'), Just(b'u'),
            Just(0xC3u8), Just(0xFFu8), Just(0u8), any::<u8>()
        ],
        insert in any::<bool>(),
    ) {
        let mut dup = false;
        let event = gen::Gen::new(&bytes).event(&mut dup).into_bytes();
        let mut variants = vec![event.clone()];
        variants.push(event[..cut.index(event.len() + 1)].to_vec());
        let mut changed = event.clone();
        let i = at.index(changed.len());
        if insert { changed.insert(i, byte) } else { changed[i] = byte }
        variants.push(changed);
        for config in [Config::default(), Config { array_consistency: false, early_exit: false }] {
            let m = diff::validity_machine(config);
            for v in &variants {
                if let Err(why) = diff::check_validity(&m, v) {
                    prop_assert!(false, "{}", why);
                }
            }
        }
    }
}

/// The generator reaches what it is meant to: most patterns compile and
/// a fair share of (rule, config) verdicts are matches, so the property
/// above compares more than "no match" with "no match".
#[test]
fn generator_hits_rules() {
    let mut rules = 0;
    let mut total = 0;
    let mut hits = 0;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = prop::collection::vec(any::<u8>(), 0..3000);
    for _ in 0..300 {
        let bytes = strategy.new_tree(&mut runner).unwrap().current();
        let (patterns, event, dup) = decode(&bytes);
        total += patterns.len();
        let o = diff::check(&patterns, &event, dup).unwrap();
        rules += o.rules;
        hits += o.hits;
    }
    assert!(
        rules * 10 >= total * 8,
        "only {rules} of {total} patterns compiled"
    );
    assert!(
        hits >= rules / 2,
        "only {hits} matches over {rules} rules x 4 configs"
    );
    eprintln!("{rules}/{total} patterns compiled, {hits} matches");
}

/// Hand-written cases for the array-consistency search (SPEC.md §2.12,
/// `exists: false` per §2.8 and §7 #11): the shapes its shortcuts rely on
/// (chains cut at arrays one condition reads, bucketed lookups, absence
/// met early), each with its expected verdict under array consistency, and
/// checked against the reference matcher under every configuration.
#[test]
fn spec_2_12_search_shortcuts() {
    let cases: &[(&str, &str, bool)] = &[
        // An absence met in another element.
        (
            r#"{"a":{"b":["x"],"c":[{"exists":false}]}}"#,
            r#"{"a":[{"b":"x","c":1},{"b":"x"}]}"#,
            true,
        ),
        (
            r#"{"a":{"b":["x"],"c":[{"exists":false}]}}"#,
            r#"{"a":[{"b":"x","c":1}]}"#,
            false,
        ),
        // An inner array only one condition reads.
        (
            r#"{"a":{"p":{"x":["1"]},"q":["2"]}}"#,
            r#"{"a":[{"p":[{"x":"0"},{"x":"1"}],"q":"2"},{"q":"3"}]}"#,
            true,
        ),
        (
            r#"{"a":{"p":{"x":["1"]},"q":["2"]}}"#,
            r#"{"a":[{"p":[{"x":"1"}],"q":"3"},{"p":[{"x":"0"}],"q":"2"}]}"#,
            false,
        ),
        // exists:false or a value, next to a required condition.
        (
            r#"{"a":{"b":[{"exists":false},"y"],"c":["z"]}}"#,
            r#"{"a":[{"b":"x","c":"z"},{"b":"y","c":"w"}]}"#,
            false,
        ),
        (
            r#"{"a":{"b":[{"exists":false},"y"],"c":["z"]}}"#,
            r#"{"a":[{"b":"x","c":"z"},{"c":"z"}]}"#,
            true,
        ),
        (
            r#"{"a":{"b":[{"exists":false},"y"],"c":["z"]}}"#,
            r#"{"a":[{"b":"x","c":"z"},{"b":"y","c":"z"}]}"#,
            true,
        ),
        // Two absences and a value, met together only in the last element.
        (
            r#"{"a":{"b":[{"exists":false}],"c":[{"exists":false}],"d":["1"]}}"#,
            r#"{"a":[{"b":1,"d":"1"},{"c":1,"d":"1"},{"d":"1"}]}"#,
            true,
        ),
        (
            r#"{"a":{"b":[{"exists":false}],"c":[{"exists":false}],"d":["1"]}}"#,
            r#"{"a":[{"b":1,"d":"1"},{"c":1,"d":"1"}]}"#,
            false,
        ),
        // Nested arrays: the outer element must agree, the inner ones differ.
        (
            r#"{"a":{"b":{"c":["x"],"d":["y"]},"e":["z"]}}"#,
            r#"{"a":[{"b":[{"c":"x"},{"d":"y"}],"e":"z"}]}"#,
            false,
        ),
        (
            r#"{"a":{"b":{"c":["x"],"d":["y"]},"e":["z"]}}"#,
            r#"{"a":[{"b":[{"c":"x"},{"c":"x","d":"y"}],"e":"z"}]}"#,
            true,
        ),
        // Fields outside any array fit every choice.
        (
            r#"{"top":["t"],"a":{"b":["x"],"c":["y"]}}"#,
            r#"{"top":"t","a":[{"b":"x"},{"b":"x","c":"y"}]}"#,
            true,
        ),
    ];
    for (pattern, event, want) in cases {
        let mut b = evmatch::RuleSet::builder();
        b.add("r", pattern).unwrap();
        let got = !b.build().matches(event.as_bytes()).unwrap().is_empty();
        assert_eq!(got, *want, "{pattern} on {event}");
        diff::check(&[pattern.to_string()], event, false).unwrap();
    }
}
