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

/// The reference matcher's answer: the indexes of the `patterns` that
/// match `ev`, in order.
fn reference_ids(patterns: &[evmatch_pattern::Pattern], ev: &str, cfg: &Config) -> Vec<u32> {
    let flat = evmatch_event::flatten(&evmatch_event::parse(ev.as_bytes()).unwrap()).unwrap();
    patterns
        .iter()
        .enumerate()
        .filter(|(_, c)| evmatch_automata::naive::pattern_matches(c, &flat, cfg))
        .map(|(i, _)| i as u32)
        .collect()
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

/// SPEC.md §3.2/§2.6: numbers compare by their double. The machine finds a
/// literal's slot from its first 15 significant digits and parses it in
/// full only when a bound of the path lies that close; literals one digit
/// off a 17-digit bound, on it, and spelled with trailing digits must
/// still agree with the reference matcher.
#[test]
fn spec_3_2_literals_next_to_a_numeric_bound_agree_with_the_reference() {
    let bound = "-122.41600944012424";
    let patterns = [
        format!(r#"{{"x": [{{"numeric": ["<", {bound}]}}]}}"#),
        format!(r#"{{"x": [{{"numeric": ["<=", {bound}]}}]}}"#),
        format!(r#"{{"x": [{{"numeric": [">", {bound}, "<", -122.4]}}]}}"#),
        format!(r#"{{"x": [{{"numeric": ["=", {bound}]}}]}}"#),
        format!(r#"{{"x": [{bound}]}}"#),
        format!(r#"{{"x": [{{"anything-but": [{bound}]}}]}}"#),
        r#"{"x": [{"numeric": [">=", 37.5, "<", 37.75]}]}"#.to_string(),
        r#"{"x": [{"numeric": ["=", 0.1]}]}"#.to_string(),
        // Zero as a bound: every spelling of zero is exactly zero.
        r#"{"x": [{"numeric": ["=", 0]}]}"#.to_string(),
        r#"{"x": [{"numeric": [">", 0]}]}"#.to_string(),
        r#"{"x": [{"numeric": [">=", -0.0, "<", 0.1]}]}"#.to_string(),
    ];
    let literals = [
        "-122.41600944012424",
        "-122.41600944012423",
        "-122.41600944012425",
        "-122.416009440124240",
        "-122.4160094401242400001",
        "-122.41600944012424999",
        "-122.416009440124",
        "-122.4160094401243",
        "-122.41",
        "-122.5",
        "37.5",
        "37.49999999999999999",
        "37.500000000000001",
        "37.75",
        "37.74999999999999",
        "0.1",
        "0.10000000000000001",
        "0.1000000000000000055511151231257827",
        "0.09999999999999999",
        "-1e2",
        "0",
        "-0.0",
        "0.000",
        "-0",
        "0.0000000000000000000001",
    ];
    let events: Vec<String> = literals
        .iter()
        .flat_map(|lit| {
            [
                format!(r#"{{"x": {lit}}}"#),
                format!(r#"{{"x": [1, {lit}, 2]}}"#),
            ]
        })
        .collect();
    for array_consistency in [true, false] {
        let cfg = Config {
            array_consistency,
            ..Config::default()
        };
        assert_agrees_with_reference(&patterns, &events, cfg);
    }
}

/// Every event gives the machine's and the reference matcher's answer
/// for all `patterns` at once.
fn assert_agrees_with_reference(patterns: &[impl AsRef<str>], events: &[String], cfg: Config) {
    let compiled: Vec<_> = patterns.iter().map(|t| p(t.as_ref())).collect();
    let mut m = Machine::new(cfg);
    for c in &compiled {
        m.add(c);
    }
    let mut s = Scratch::new();
    for ev in events {
        assert_eq!(
            ids(&m, &mut s, ev),
            reference_ids(&compiled, ev, &cfg),
            "{ev}"
        );
    }
}

/// The value index skips a probe when a value's first or last byte (or,
/// for exact strings, its length and edge bytes) rules every key out.
/// Edge cases of those filters, each checked against the reference
/// matcher: empty keys and values (SPEC.md §2.2–2.3), case classes whose
/// key starts outside ASCII or with an ASCII letter that has a non-ASCII
/// member (SPEC.md §2.4: KELVIN SIGN lowers to `k`).
#[test]
fn spec_2_2_to_2_4_byte_filters_never_hide_a_hit() {
    let patterns = [
        r#"{"v": [{"prefix": ""}]}"#,
        r#"{"v": [{"suffix": ""}]}"#,
        r#"{"v": [""]}"#,
        r#"{"v": [{"prefix": "ab"}, {"suffix": "yz"}, "mid"]}"#,
        r#"{"v": [{"equals-ignore-case": "école"}]}"#,
        r#"{"v": [{"equals-ignore-case": "k"}]}"#,
        r#"{"v": [{"prefix": {"equals-ignore-case": "Éc"}}]}"#,
        r#"{"v": [{"suffix": {"equals-ignore-case": "LE"}}]}"#,
        r#"{"v": [{"anything-but": {"equals-ignore-case": ["kelvin"]}}]}"#,
        r#"{"v": [{"anything-but": {"prefix": "zz"}}]}"#,
    ];
    let values = [
        "",
        "a",
        "ab",
        "abc",
        "xyz",
        "yz",
        "mid",
        "MID",
        "ÉCOLE",
        "école",
        "Ecole",
        "k",
        "K",
        "\u{212A}",
        "KELVIN",
        "\u{212A}elvin",
        "zzz",
        "éc",
        "cole",
        "LE",
        "le",
        "tablé",
    ];
    let events: Vec<String> = values
        .iter()
        .map(|v| serde_json::json!({ "v": v }).to_string())
        .collect();
    assert_agrees_with_reference(&patterns, &events, Config::default());
}

/// A rule whose only condition holds is matched at once, while the event
/// is still being read. When the streaming scanner then hands the event to
/// the full parser (here: a repeated key on a path a rule reads, SPEC.md
/// §2.11, last one wins), that early verdict must be forgotten and found
/// again, not lost.
#[test]
fn spec_2_11_direct_matches_survive_the_fallback_to_the_full_parser() {
    let mut m = Machine::new(Config::default());
    let a = m.add(&p(r#"{"a": ["x"]}"#));
    let b = m.add(&p(r#"{"b": [2]}"#));
    let mut s = Scratch::new();
    let ev = r#"{"a": "x", "b": 1, "b": 2}"#;
    assert_eq!(ids(&m, &mut s, ev), vec![a, b]);
    // And again with the same scratch: nothing stale carries over.
    assert_eq!(ids(&m, &mut s, ev), vec![a, b]);
    assert_eq!(
        ids(&m, &mut s, r#"{"a": "y", "b": 2, "b": 1}"#),
        Vec::<u32>::new()
    );
    assert_eq!(ids(&m, &mut s, r#"{"a": "x"}"#), vec![a]);
}

/// SPEC.md §3.2: a plain literal (`-122.44074106063145`) is placed among a
/// path's bounds by comparing its text with the bounds' shortest
/// decimals. Literals on a bound, next to it in the last digit, with
/// trailing zeros, and with 16 to 18 significant digits that round to the
/// bound without being its shortest spelling must agree with the
/// reference matcher.
mod plain_literals {
    use super::*;
    use proptest::prelude::*;

    /// Spellings around the double `b`: its shortest text, that with
    /// trailing zeros, its last digit moved by one either way, and longer
    /// expansions.
    fn spellings(b: f64) -> Vec<String> {
        let short = format!("{b:?}");
        let mut out = vec![short.clone(), format!("{short}00")];
        if let Some(last) = short.chars().last().and_then(|c| c.to_digit(10)) {
            let stem = &short[..short.len() - 1];
            for d in [last.wrapping_sub(1), last + 1] {
                if d <= 9 {
                    out.push(format!("{stem}{d}"));
                }
            }
        }
        for digits in [15usize, 16, 17, 18, 20] {
            out.push(format!("{b:.digits$}"));
        }
        // The neighbouring doubles, one ulp away in magnitude either way.
        for bits in [b.to_bits() + 1, b.to_bits() - 1] {
            out.push(format!("{:.17}", f64::from_bits(bits)));
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn spec_3_2_plain_literals_agree_with_the_reference(
            bounds in proptest::collection::vec(
                prop_oneof![-1e7f64..1e7, -200.0f64..200.0, 1.0f64..2.0],
                1..5,
            ),
            extra in proptest::collection::vec(-1e7f64..1e7, 0..4),
        ) {
            let bounds: Vec<f64> = bounds.into_iter().filter(|b| b.abs() >= 1.0).collect();
            prop_assume!(!bounds.is_empty());
            let mut patterns = Vec::new();
            for (i, b) in bounds.iter().enumerate() {
                patterns.push(format!(r#"{{"x": [{{"numeric": ["=", {b:?}]}}]}}"#));
                patterns.push(format!(r#"{{"x": [{{"numeric": ["<", {b:?}]}}]}}"#));
                patterns.push(format!(r#"{{"x": [{{"numeric": [">=", {b:?}]}}]}}"#));
                patterns.push(format!(r#"{{"x": [{{"anything-but": [{b:?}]}}]}}"#));
                if let Some(c) = bounds.get(i + 1) {
                    let (lo, hi) = if b < c { (b, c) } else { (c, b) };
                    if lo < hi {
                        patterns.push(format!(
                            r#"{{"x": [{{"numeric": [">", {lo:?}, "<=", {hi:?}]}}], "y": [1]}}"#
                        ));
                    }
                }
            }
            let mut events = Vec::new();
            for b in bounds.iter().chain(&extra) {
                for t in spellings(*b) {
                    events.push(format!(r#"{{"x": {t}, "y": 1}}"#));
                    events.push(format!(r#"{{"x": [{t}, 5]}}"#));
                }
            }
            // Only single-condition numeric rules: every literal takes the
            // machine's shortest way (slot, gate, outright match).
            let solo: Vec<&String> = patterns
                .iter()
                .filter(|p| !p.contains("anything-but") && !p.contains("\"y\""))
                .collect();
            for array_consistency in [true, false] {
                let cfg = Config { array_consistency, ..Config::default() };
                assert_agrees_with_reference(&patterns, &events, cfg);
                assert_agrees_with_reference(&solo, &events, cfg);
            }
        }
    }
}

/// Matching with paths resolved once gives the same rules as matching the
/// flattened event, whatever the operators, arrays (SPEC.md §2.12) and
/// `exists: false` (SPEC.md §2.8) involved; fields whose path no rule names
/// resolve to nothing and may be left out.
#[test]
fn spec_2_12_resolved_paths_match_like_the_flattened_event() {
    let rules = [
        r#"{"a": ["x"], "b": [{"prefix": "sport-1"}]}"#,
        r#"{"a": [{"anything-but": ["y"]}], "n": [{"numeric": [">", 2]}]}"#,
        r#"{"c": {"d": [{"suffix": "z"}]}, "e": [{"exists": false}]}"#,
        r#"{"arr": {"k": ["1"], "v": ["2"]}}"#,
        r#"{"b": [{"prefix": "sport-12"}, {"suffix": "c"}], "a": [{"exists": true}]}"#,
        r#"{"t": [true], "nul": [null]}"#,
    ];
    let events = [
        r#"{"a": "x", "b": ["music", "sport-123"], "n": 3, "zz": 1}"#,
        r#"{"a": "y", "b": "sport-1", "n": 1}"#,
        r#"{"c": {"d": "abcz"}, "x": {"y": 1}}"#,
        r#"{"c": {"d": "abcz"}, "e": 0}"#,
        r#"{"arr": [{"k": "1", "v": "3"}, {"k": "2", "v": "2"}]}"#,
        r#"{"arr": [{"k": "1", "v": "2"}], "a": "q", "b": "abc"}"#,
        r#"{"t": true, "nul": null, "a": ["x", "y"], "b": "sport-12c"}"#,
        r#"{}"#,
    ];
    let mut m = Machine::new(Config::default());
    for r in rules {
        m.add(&p(r));
    }
    let mut s = Scratch::new();
    let mut matched = 0;
    for ev in events {
        let v = evmatch_event::parse(ev.as_bytes()).unwrap();
        let flat = evmatch_event::flatten(&v).unwrap();
        let mut want = Vec::new();
        m.matches_flat(&mut s, &flat, &mut want);
        let resolved = flat
            .fields()
            .iter()
            .filter_map(|f| m.resolve_path(&f.path).map(|id| (id, f)));
        let mut got = Vec::new();
        m.matches_resolved(&mut s, resolved, &mut got);
        assert_eq!(got, want, "{ev}");
        matched += got.len();
    }
    // The events are not all misses: the comparison has something to see.
    assert!(matched >= 6, "{matched}");
    assert!(m.resolve_path("zz").is_none());
    assert!(m.resolve_path("c.d").is_some());
    assert_eq!(m.resolve_path("a"), m.resolve_path("a"));
}

/// SPEC.md §3.1–3.2, §2.12: a plain literal in a gap between a path's
/// bounds whose atoms are all settled for the event is passed over; the
/// next event, a literal in another gap, an equal bound, a literal that
/// is not comparable (so settles nothing) and one whose first eight bytes
/// tie with a bound all still decide as the reference does.
#[test]
fn settled_numeric_gaps_are_passed_over_only_within_one_event() {
    let patterns = [
        r#"{"c": {"x": [{"numeric": ["<", -122.41600944012424]}]}}"#,
        r#"{"c": {"x": [{"numeric": [">", -122.41600944012424]}]}}"#,
        r#"{"c": {"x": [{"numeric": [">", -122.46471267081272, "<", -122.4063085128395]}]}}"#,
        r#"{"t": ["P"], "c": {"x": [{"numeric": ["=", -122.42916360922355]}]}}"#,
        r#"{"c": {"y": [{"numeric": ["=", 37.729900216217324]}]}}"#,
    ];
    let points = |xs: &[&str]| {
        let pts: Vec<String> = xs
            .iter()
            .map(|x| format!(r#"{{"x": {x}, "y": 37.75370341756897, "z": 0.0}}"#))
            .collect();
        format!(r#"{{"t": "P", "c": [{}]}}"#, pts.join(", "))
    };
    let events = vec![
        points(&[
            "-122.44767458365648",
            "-122.44768094524183",
            "-122.44794315325855",
        ]),
        // The same gap, next event: settled last time, open again.
        points(&["-122.44767458365648"]),
        // Another gap after a settled one, then back.
        points(&[
            "-122.44767458365648",
            "-122.4100001",
            "-122.44767458365648",
            "-122.4000001",
        ]),
        // A bound itself, and literals tying with a bound on 8 bytes.
        points(&["-122.42916360922355", "-122.4291636", "-122.42916360922356"]),
        // Not comparable (its shortest spelling is -1): settles nothing.
        points(&["-1.0000000000000001", "-1.0000000000000001"]),
        points(&["-1.0000000000000001", "-2.50000001", "-3.25000001"]),
        format!(
            r#"{{"c": [{{"x": 1.50000001, "y": 37.729900216217324}}, {{"x": 1.25000001, "y": 37.6}}, {{"x": 9.50000001, "y": 37.8}}]}}"#
        ),
    ];
    for consistency in [true, false] {
        let cfg = Config {
            array_consistency: consistency,
            ..Config::default()
        };
        assert_agrees_with_reference(&patterns, &events, cfg);
    }
}

/// SPEC.md §2.4, §2.6: a scratch remembers the last costly string
/// lookup per path across events; the memory must not outlive a change
/// of the machine, nor carry over to another machine with the same paths.
#[test]
fn remembered_string_lookups_follow_the_machine() {
    let ev = |t: &str| format!(r#"{{"type": "{t}", "n": "{t}"}}"#);
    let naive = |m: &[&str], e: &str| -> Vec<u32> {
        let compiled: Vec<_> = m.iter().map(|t| p(t)).collect();
        reference_ids(&compiled, e, &Config::default())
    };
    let mut a_rules = vec![
        r#"{"type": [{"anything-but": ["Polygon"]}]}"#,
        r#"{"n": [{"anything-but": {"equals-ignore-case": ["polygon"]}}]}"#,
    ];
    let b_rules = [
        r#"{"type": [{"anything-but": ["MultiPolygon"]}]}"#,
        r#"{"n": [{"equals-ignore-case": "POLYGON"}]}"#,
    ];
    let mut a = Machine::new(Config::default());
    for r in &a_rules {
        a.add(&p(r));
    }
    let mut b = Machine::new(Config::default());
    for r in &b_rules {
        b.add(&p(r));
    }
    let mut s = Scratch::new();
    for t in ["Polygon", "Polygon", "MultiPolygon", "Polygon"] {
        assert_eq!(ids(&a, &mut s, &ev(t)), naive(&a_rules, &ev(t)), "a {t}");
        // The same scratch on another machine with the same paths.
        assert_eq!(ids(&b, &mut s, &ev(t)), naive(&b_rules, &ev(t)), "b {t}");
    }
    assert_eq!(ids(&a, &mut s, &ev("Polygon")), Vec::<u32>::new());
    // A change of the machine between two events with the same value.
    let extra = r#"{"type": [{"anything-but": {"prefix": "Multi"}}]}"#;
    a.add(&p(extra));
    a_rules.push(extra);
    assert_eq!(ids(&a, &mut s, &ev("Polygon")), vec![2]);
    assert!(a.delete(2));
    a_rules.pop();
    assert_eq!(ids(&a, &mut s, &ev("Polygon")), Vec::<u32>::new());
    let more = r#"{"type": [{"anything-but": {"wildcard": "*x"}}]}"#;
    let r = a.add(&p(more));
    assert_eq!(ids(&a, &mut s, &ev("Polygon")), vec![r]);
    assert_eq!(ids(&a, &mut s, &ev("Polygonx")), vec![0, 1]);
}

/// SPEC.md §2.2: exact-string hits are remembered per path like costly
/// lookups: a repeated value, a value sharing its shape, a rule added or
/// deleted between two events with the same value, and a path whose
/// rules also read absence all agree with the reference.
#[test]
fn remembered_exact_hits_follow_the_values_and_the_machine() {
    let ev = |t: &str| format!(r#"{{"type": "{t}", "n": "{t}"}}"#);
    let naive = |m: &[String], e: &str| -> Vec<u32> {
        let compiled: Vec<_> = m.iter().map(|t| p(t)).collect();
        reference_ids(&compiled, e, &Config::default())
    };
    let mut rules: Vec<String> = vec![
        r#"{"type": ["Polygon"]}"#.into(),
        r#"{"type": ["Polygon"], "n": ["Polygon"]}"#.into(),
        r#"{"type": ["Pentagon"]}"#.into(),
        r#"{"n": ["Pentagon"], "type": [{"exists": false}]}"#.into(),
    ];
    let mut m = Machine::new(Config::default());
    for r in &rules {
        m.add(&p(r));
    }
    let mut s = Scratch::new();
    let values = [
        "Polygon", "Polygon", "Pentagon", "Polygon", "Polygox", "Pentagon", "Pentagon",
    ];
    for t in values {
        let mut got = ids(&m, &mut s, &ev(t));
        got.sort_unstable();
        assert_eq!(got, naive(&rules, &ev(t)), "{t}");
    }
    // Rule 0 is Polygon, rule 1 needs both fields.
    assert_eq!(ids(&m, &mut s, &ev("Polygon")).len(), 2);
    // A rule on the remembered value, added and deleted between events.
    let extra = r#"{"type": ["Polygon", "Hexagon"], "n": ["Polygon"]}"#.to_string();
    let r = m.add(&p(&extra));
    rules.push(extra);
    let mut got = ids(&m, &mut s, &ev("Polygon"));
    got.sort_unstable();
    assert_eq!(got, vec![0, 1, r]);
    assert!(m.delete(r));
    rules.pop();
    let mut got = ids(&m, &mut s, &ev("Polygon"));
    got.sort_unstable();
    assert_eq!(got, vec![0, 1]);
    assert_eq!(ids(&m, &mut s, &ev("Hexagon")), Vec::<u32>::new());
}
