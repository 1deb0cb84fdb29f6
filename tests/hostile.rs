//! Hostile and malformed input: every case gets a defined answer, never a
//! panic (issue 3: malformed JSON, wrong types, huge numbers, deep nesting).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use evmatch::{compile, CompileOptions, EventError, RuleSet};

fn rules(p: &str) -> RuleSet {
    let mut b = RuleSet::builder();
    b.add("r", p).unwrap();
    b.build()
}

fn hit(p: &str, ev: &str) -> bool {
    !rules(p).matches(ev.as_bytes()).unwrap().is_empty()
}

#[test]
fn deep_nesting_is_an_error_at_any_depth() {
    for depth in [1_001usize, 200_000] {
        let ev = format!("{{\"a\":{}1{}}}", "[".repeat(depth), "]".repeat(depth));
        assert!(matches!(
            rules(r#"{"a":[1]}"#).matches(ev.as_bytes()),
            Err(EventError::Json(_))
        ));
        let obj = format!("{}{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(rules(r#"{"a":[1]}"#).matches(obj.as_bytes()).is_err());
        let pat = format!("{}[1]{}", "{\"a\":".repeat(depth), "}".repeat(depth));
        assert!(compile(&pat, &CompileOptions::default())
            .unwrap_err()
            .reason()
            .contains("nesting depth"));
    }
    // Within the limit, deep events still match.
    let ev = format!("{{\"a\":{}1{}}}", "[".repeat(900), "]".repeat(900));
    assert!(hit(r#"{"a":[1]}"#, &ev));
}

#[test]
fn malformed_events() {
    let r = rules(r#"{"a":["x"]}"#);
    for bad in [
        &b""[..],
        b"   ",
        b"{",
        b"{\"a\":}",
        b"[1,2]",
        b"\"a\"",
        b"null",
        b"{\"a\":\"x\"} trailing",
        b"{\"a\":\"\xff\"}",
        b"{\"a\":\"unterminated}",
        b"{\"a\":01}",
        b"{\"a\":NaN}",
    ] {
        assert!(
            r.matches(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    assert_eq!(r.matches(b"[1]"), Err(EventError::NotAnObject));
}

#[test]
fn extreme_numbers() {
    // SPEC.md §3.2: non-comparable literals match by identical text only.
    assert!(hit(r#"{"n":[1e400]}"#, r#"{"n":1e400}"#));
    assert!(!hit(r#"{"n":[{"numeric":[">",0]}]}"#, r#"{"n":1e400}"#));
    assert!(!hit(r#"{"n":[{"numeric":[">",0]}]}"#, r#"{"n":1E-400}"#));
    assert!(hit(r#"{"n":[{"anything-but":5}]}"#, r#"{"n":1e400}"#));
    // -0 is 0.
    assert!(hit(r#"{"n":[0]}"#, r#"{"n":-0}"#));
    assert!(hit(r#"{"n":[{"numeric":["=",0]}]}"#, r#"{"n":-0.0}"#));
    // 30-digit integers: text only.
    let big = "123456789012345678901234567890";
    assert!(hit(
        &format!(r#"{{"n":[{big}]}}"#),
        &format!(r#"{{"n":{big}}}"#)
    ));
    assert!(!hit(
        &format!(r#"{{"n":[{big}]}}"#),
        &format!(r#"{{"n":{big}.0}}"#)
    ));
    assert_eq!(
        compile(
            &format!(r#"{{"n":[{{"numeric":[">",{big}]}}]}}"#),
            &CompileOptions::default()
        )
        .unwrap_err()
        .reason(),
        format!("Cannot compare number : {big}")
    );
}

#[test]
fn strings_and_keys() {
    // Lone surrogates decode to U+FFFD (documented in DESIGN.md).
    assert!(hit(r#"{"s":["\ufffd"]}"#, r#"{"s":"\ud800"}"#));
    // Duplicate event keys: last wins (SPEC.md §1.3 #9).
    assert!(hit(r#"{"k":["b"]}"#, r#"{"k":"a","k":"b"}"#));
    assert!(!hit(r#"{"k":["a"]}"#, r#"{"k":"a","k":"b"}"#));
    // A large string is just a string.
    let s = "x".repeat(5_000_000);
    assert!(hit(
        r#"{"s":[{"prefix":"xx"}]}"#,
        &format!(r#"{{"s":"{s}"}}"#)
    ));
    assert!(hit(
        r#"{"s":[{"wildcard":"x*x"}]}"#,
        &format!(r#"{{"s":"{s}"}}"#)
    ));
}

#[test]
fn large_arrays() {
    let items: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let ev = format!(r#"{{"a":[{}]}}"#, items.join(","));
    assert!(hit(r#"{"a":[99999]}"#, &ev));
    assert!(!hit(r#"{"a":[100000]}"#, &ev));
    assert!(hit(r#"{"a":[{"anything-but":0}]}"#, &ev));
}

#[test]
fn wrong_types_in_patterns_are_errors() {
    for (p, reason) in [
        (r#"{"a":"x"}"#, r#""a" must be an object or an array"#),
        (
            r#"{"a":[["x"]]}"#,
            "Match value must be String, number, true, false, or null",
        ),
        (
            r#"{"a":[{"prefix":null}]}"#,
            "prefix match pattern must be a string",
        ),
        (
            r#"{"a":[{"numeric":{}}]}"#,
            "Value of numeric must be an array.",
        ),
        (
            r#"{"a":[{"exists":"true"}]}"#,
            "exists match pattern must be either true or false.",
        ),
        (
            r#"{"a":[{"cidr":10}]}"#,
            "prefix match pattern must be a string",
        ),
        ("[]", "Filter is not an object"),
        ("", "Filter is not an object"),
        ("{}", "Empty objects are not allowed"),
    ] {
        assert_eq!(
            compile(p, &CompileOptions::default()).unwrap_err().reason(),
            reason,
            "{p}"
        );
    }
}
