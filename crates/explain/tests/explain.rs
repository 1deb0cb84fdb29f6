//! Explanations, hints and lints, pinned to their text and JSON fields.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch_automata::Config;
use evmatch_explain::{explain, lint, Explanation, HintCode, LintCode, Status};
use evmatch_pattern::{compile, CompileOptions};

fn ex(p: &str, e: &str) -> Explanation {
    let p = compile(p, &CompileOptions::default()).unwrap();
    let v = evmatch_event::parse(e.as_bytes()).unwrap();
    explain(&p, &v, &Config::default()).unwrap()
}

fn text(p: &str, e: &str) -> String {
    ex(p, e).render(false)
}

/// A failing case of every operator (SPEC.md §2.2 to §2.9, the §2.13
/// matrix): the condition line names path, value list and the event's value.
#[test]
fn spec_2_13_a_failing_explanation_for_every_operator() {
    let cases = [
        (
            r#"{"f": ["abc"]}"#,
            r#"{"f": "abd"}"#,
            r#"  ✗ f ["abc"]: got "abd""#,
        ),
        (r#"{"f": [5]}"#, r#"{"f": 6}"#, "  ✗ f [5]: got 6"),
        (
            r#"{"f": [null]}"#,
            r#"{"f": false}"#,
            "  ✗ f [null]: got false",
        ),
        (
            r#"{"f": [{"prefix": "ab"}]}"#,
            r#"{"f": "xab"}"#,
            r#"  ✗ f [{"prefix": "ab"}]: got "xab""#,
        ),
        (
            r#"{"f": [{"suffix": ".png"}]}"#,
            r#"{"f": "x.jpg"}"#,
            r#"  ✗ f [{"suffix": ".png"}]: got "x.jpg""#,
        ),
        (
            r#"{"f": [{"equals-ignore-case": "abc"}]}"#,
            r#"{"f": "abd"}"#,
            r#"  ✗ f [{"equals-ignore-case": "abc"}]: got "abd""#,
        ),
        (
            r#"{"f": [{"prefix": {"equals-ignore-case": "ab"}}]}"#,
            r#"{"f": "xAB"}"#,
            r#"  ✗ f [{"prefix": {"equals-ignore-case": "ab"}}]: got "xAB""#,
        ),
        (
            r#"{"f": [{"suffix": {"equals-ignore-case": "ab"}}]}"#,
            r#"{"f": "xyz"}"#,
            r#"  ✗ f [{"suffix": {"equals-ignore-case": "ab"}}]: got "xyz""#,
        ),
        (
            r#"{"f": [{"wildcard": "a*c"}]}"#,
            r#"{"f": "abd"}"#,
            r#"  ✗ f [{"wildcard": "a*c"}]: got "abd""#,
        ),
        (
            r#"{"f": [{"anything-but": ["a", "b"]}]}"#,
            r#"{"f": "b"}"#,
            r#"  ✗ f [{"anything-but": ["a", "b"]}]: got "b""#,
        ),
        (
            r#"{"f": [{"anything-but": [1, 2]}]}"#,
            r#"{"f": 2.0}"#,
            r#"  ✗ f [{"anything-but": [1, 2]}]: got 2.0"#,
        ),
        (
            r#"{"f": [{"anything-but": {"prefix": "x"}}]}"#,
            r#"{"f": "xy"}"#,
            r#"  ✗ f [{"anything-but": {"prefix": "x"}}]: got "xy""#,
        ),
        (
            r#"{"f": [{"anything-but": {"suffix": "y"}}]}"#,
            r#"{"f": "xy"}"#,
            r#"  ✗ f [{"anything-but": {"suffix": "y"}}]: got "xy""#,
        ),
        (
            r#"{"f": [{"anything-but": {"equals-ignore-case": "xy"}}]}"#,
            r#"{"f": "XY"}"#,
            r#"  ✗ f [{"anything-but": {"equals-ignore-case": "xy"}}]: got "XY""#,
        ),
        (
            r#"{"f": [{"anything-but": {"wildcard": "x*"}}]}"#,
            r#"{"f": "xy"}"#,
            r#"  ✗ f [{"anything-but": {"wildcard": "x*"}}]: got "xy""#,
        ),
        (
            r#"{"f": [{"numeric": [">", 0, "<=", 5]}]}"#,
            r#"{"f": 50}"#,
            r#"  ✗ f [{"numeric": [">", 0, "<=", 5]}]: got 50"#,
        ),
        (
            r#"{"f": [{"exists": true}]}"#,
            r#"{"g": 1}"#,
            r#"  ✗ f [{"exists": true}]: missing (no value at this path)"#,
        ),
        (
            r#"{"f": [{"exists": false}]}"#,
            r#"{"f": null}"#,
            r#"  ✗ f [{"exists": false}]: got null (present, and exists: false wants it absent)"#,
        ),
        (
            r#"{"f": [{"cidr": "10.0.0.0/24"}]}"#,
            r#"{"f": "10.0.1.5"}"#,
            r#"  ✗ f [{"cidr": "10.0.0.0/24"}]: got "10.0.1.5""#,
        ),
    ];
    for (p, e, line) in cases {
        let x = ex(p, e);
        assert!(!x.matched, "{p} {e}");
        let t = x.render(false);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.first(), Some(&"pattern: no match"), "{p} {e}");
        assert_eq!(lines.get(1), Some(&line), "{p} {e}");
        assert_eq!(lines.last(), Some(&"result: no match"), "{p} {e}");
        let c = &x.branches[0].conditions[0];
        assert_eq!(c.status, Status::Failed);
        assert!(c.values.iter().all(|v| v.matched_by.is_none()));
    }
}

#[test]
fn passing_conditions_and_which_matcher_matched() {
    let x = ex(
        r#"{"source": ["aws.ec2"], "detail": {"n": ["x", {"numeric": [">", 1]}]}}"#,
        r#"{"source": "aws.ec2", "detail": {"n": [0, 7]}}"#,
    );
    assert!(x.matched);
    assert_eq!(
        x.render(false),
        "pattern: match\n  ✓ detail.n [\"x\", {\"numeric\": [\">\", 1]}]: got detail.n[0] 0 ✗, detail.n[1] 7 ✓\n  ✓ source [\"aws.ec2\"]: got \"aws.ec2\"\nresult: match\n"
    );
    let j = x.to_json();
    assert_eq!(
        j["branches"][0]["conditions"][0]["values"][1]["matched_by"],
        1
    );
    assert_eq!(
        j["branches"][0]["conditions"][0]["values"][0]["matched_by"],
        serde_json::Value::Null
    );
}

/// SPEC.md §2.10: every `$or` branch is shown with its own verdict.
#[test]
fn spec_2_10_each_or_branch() {
    let t = text(
        r#"{"a": ["x"], "$or": [{"b": ["1"]}, {"c": [{"prefix": "z"}]}]}"#,
        r#"{"a": "x", "b": "2", "c": "y"}"#,
    );
    assert_eq!(
        t,
        "$or branch 1 of 2: no match\n  ✓ a [\"x\"]: got \"x\"\n  ✗ b [\"1\"]: got \"2\"\n\
         $or branch 2 of 2: no match\n  ✓ a [\"x\"]: got \"x\"\n  ✗ c [{\"prefix\": \"z\"}]: got \"y\"\n\
         result: no match\n"
    );
    let x = ex(
        r#"{"$or": [{"b": ["1"]}, {"c": ["y"]}]}"#,
        r#"{"b": "2", "c": "y"}"#,
    );
    assert!(x.matched);
    assert!(!x.branches[0].matched && x.branches[1].matched);
}

/// SPEC.md §2.12: fields matched in different elements of one array.
#[test]
fn spec_2_12_array_consistency_failure() {
    let p = r#"{"detail": {"tags": {"key": ["env"], "value": ["billing"]}}}"#;
    let e = r#"{"detail": {"tags": [{"key": "team", "value": "billing"}, {"key": "env", "value": "prod"}]}}"#;
    let x = ex(p, e);
    assert!(!x.matched);
    assert_eq!(
        x.render(false),
        "pattern: no match\n\
         \x20 ✓ detail.tags.key [\"env\"]: got detail.tags[0].key \"team\" ✗, detail.tags[1].key \"env\" ✓\n\
         \x20 ✓ detail.tags.value [\"billing\"]: got detail.tags[0].value \"billing\" ✓, detail.tags[1].value \"prod\" ✗\n\
         \x20 ✗ array consistency: detail.tags.key matched in element [1], detail.tags.value matched in element [0]; one element of detail.tags must satisfy all of them\n\
         result: no match\n"
    );
    let j = x.to_json();
    let ac = &j["branches"][0]["array_conflict"];
    assert_eq!(ac["array"], "detail.tags");
    assert_eq!(ac["parts"][0]["path"], "detail.tags.key");
    assert_eq!(ac["parts"][0]["elements"], serde_json::json!([1]));
    assert_eq!(ac["parts"][1]["elements"], serde_json::json!([0]));
    // Without array consistency the same event matches.
    let pc = compile(p, &CompileOptions::default()).unwrap();
    let v = evmatch_event::parse(e.as_bytes()).unwrap();
    let off = Config {
        array_consistency: false,
        ..Config::default()
    };
    assert!(explain(&pc, &v, &off).unwrap().matched);
}

/// SPEC.md §2.8 / §7 #11: exists:false is judged in the element the
/// sibling matched in.
#[test]
fn spec_2_8_exists_false_in_the_same_element() {
    let p = r#"{"e": {"f": ["Anna"], "ids": [{"exists": false}]}}"#;
    let x = ex(p, r#"{"e": [{"f": "John", "ids": 1}, {"f": "Anna"}]}"#);
    assert!(x.matched);
    assert_eq!(
        x.branches[0].conditions[1].status,
        Status::AbsentInSomeElement
    );
    let x = ex(
        p,
        r#"{"e": [{"f": "Anna", "ids": 1}, {"f": "Bo", "ids": 2}, {"f": "Anna", "ids": 3}]}"#,
    );
    assert!(!x.matched);
    let ac = x.branches[0].array_conflict.as_ref().unwrap();
    assert_eq!(
        ac.message(),
        "array consistency: e.f matched in elements [0], [2], e.ids is present in elements [0], [1], [2]; one element of e must satisfy all of them"
    );
}

fn hints(p: &str, e: &str) -> Vec<(HintCode, String)> {
    ex(p, e)
        .branches
        .iter()
        .flat_map(|b| b.conditions.iter())
        .flat_map(|c| c.hints.iter().map(|h| (h.code, h.message.clone())))
        .collect()
}

#[test]
fn hint_case() {
    assert_eq!(
        hints(r#"{"detail": {"state": ["stopped"]}}"#, r#"{"detail": {"state": "Stopped"}}"#),
        [(
            HintCode::Case,
            r#""Stopped" differs from "stopped" only in case; {"equals-ignore-case": "stopped"} would match"#.to_string()
        )]
    );
    assert_eq!(
        hints(r#"{"f": [{"prefix": "ab"}]}"#, r#"{"f": "AbC"}"#)[0].1,
        r#""AbC" starts with "ab" only ignoring case; {"prefix": {"equals-ignore-case": "ab"}} would match"#
    );
}

/// SPEC.md §2.2: numbers never match strings, nor the reverse.
#[test]
fn spec_2_2_hint_number_vs_string() {
    assert_eq!(
        hints(r#"{"f": [300]}"#, r#"{"f": "300"}"#),
        [(
            HintCode::Type,
            r#"the pattern has the number 300 but the event has the string "300"; numbers never match strings (write "300" in quotes)"#.to_string()
        )]
    );
    assert_eq!(
        hints(r#"{"f": ["300"]}"#, r#"{"f": 300.0}"#),
        [(
            HintCode::Type,
            r#"the pattern has the string "300" but the event has the number 300.0; strings never match numbers (write 300.0 without quotes)"#.to_string()
        )]
    );
    assert_eq!(
        hints(r#"{"f": [{"numeric": ["=", 300]}]}"#, r#"{"f": "300"}"#)[0],
        (
            HintCode::Type,
            r#"numeric matches only JSON numbers, and the event has the string "300", though its value is in range"#.to_string()
        )
    );
}

#[test]
fn hint_close_key() {
    let h = hints(
        r#"{"detail": {"instanceId": ["i-1"]}}"#,
        r#"{"detail": {"instance-id": "i-1", "InstanceID": "x"}}"#,
    );
    assert_eq!(
        h,
        [
            (
                HintCode::Key,
                "the event has detail.InstanceID, which differs only in case (keys are case-sensitive)".to_string()
            ),
            (
                HintCode::Key,
                "the event has detail.instance-id: a close spelling of detail.instanceId".to_string()
            ),
        ]
    );
    // One-letter keys are never "close".
    assert!(hints(r#"{"f": [1]}"#, r#"{"g": 1}"#).is_empty());
}

#[test]
fn hint_detail_level() {
    assert_eq!(
        hints(r#"{"state": ["running"]}"#, r#"{"detail": {"state": "running"}}"#),
        [(
            HintCode::DetailLevel,
            r#"the event has detail.state: the pattern is missing the detail level (write {"detail": {...}} around it)"#.to_string()
        )]
    );
    assert_eq!(
        hints(
            r#"{"detail": {"source": ["x"]}}"#,
            r#"{"source": "x", "detail": {}}"#
        ),
        [(
            HintCode::DetailLevel,
            "the event has source at the top level, not under detail".to_string()
        )]
    );
}

#[test]
fn hint_whitespace() {
    assert_eq!(
        hints(r#"{"f": ["prod"]}"#, r#"{"f": "prod "}"#),
        [(
            HintCode::Whitespace,
            r#""prod " has whitespace at the ends; without it, it would match "prod""#.to_string()
        )]
    );
}

/// SPEC.md §2.6: which exclusion caught the value.
#[test]
fn spec_2_6_hint_anything_but() {
    assert_eq!(
        hints(
            r#"{"f": [{"anything-but": {"prefix": ["a", "x"]}}]}"#,
            r#"{"f": "xy"}"#
        ),
        [(
            HintCode::AnythingBut,
            r#"{"anything-but": {"prefix": ["a", "x"]}} excluded "xy" (by prefix "x")"#.to_string()
        )]
    );
    assert_eq!(
        hints(r#"{"f": [{"anything-but": "x"}]}"#, r#"{"f": ["x", "x"]}"#)[0].1,
        r#"{"anything-but": "x"} excluded "x""#
    );
}

/// SPEC.md §2.7: just outside a range, and an excluded bound.
#[test]
fn spec_2_7_hint_numeric_range() {
    assert_eq!(
        hints(r#"{"f": [{"numeric": [">=", 80]}]}"#, r#"{"f": 79.5}"#),
        [(
            HintCode::NumericRange,
            "79.5 is just below the range (lower bound 80)".to_string()
        )]
    );
    assert_eq!(
        hints(
            r#"{"f": [{"numeric": [">", 0, "<", 100]}]}"#,
            r#"{"f": 100}"#
        )[0]
        .1,
        r#"100 equals the upper bound, which "<" excludes; use "<=" to include it"#
    );
    // Far outside: no hint.
    assert!(hints(r#"{"f": [{"numeric": ["<", 10]}]}"#, r#"{"f": 500}"#).is_empty());
}

/// SPEC.md §1.3 #1: objects are never values.
#[test]
fn spec_1_3_hint_object() {
    assert_eq!(
        hints(
            r#"{"detail": {"user": ["bob"]}}"#,
            r#"{"detail": {"user": {"name": "bob"}}}"#
        )[0]
        .0,
        HintCode::Object
    );
}

#[test]
fn json_shape() {
    let x = ex(
        r#"{"detail": {"state": ["stopped"]}}"#,
        r#"{"detail": {"state": "Stopped"}}"#,
    );
    let j = x.to_json();
    assert_eq!(j["matched"], false);
    let b = &j["branches"][0];
    assert_eq!(b["matched"], false);
    assert_eq!(b["array_conflict"], serde_json::Value::Null);
    let c = &b["conditions"][0];
    assert_eq!(c["path"], "detail.state");
    assert_eq!(c["status"], "failed");
    assert_eq!(c["satisfied"], false);
    assert_eq!(c["pattern"], r#"["stopped"]"#);
    assert_eq!(c["expected"][0]["op"], "exact");
    assert_eq!(c["expected"][0]["pattern"], r#""stopped""#);
    assert_eq!(c["expected"][0]["matcher"], "stopped");
    assert_eq!(c["values"][0]["at"], "detail.state");
    assert_eq!(c["values"][0]["value"], "Stopped");
    assert_eq!(c["values"][0]["text"], r#""Stopped""#);
    assert_eq!(c["values"][0]["matched"], false);
    assert_eq!(c["hints"][0]["code"], "case");
}

#[test]
fn colour_only_when_asked() {
    let x = ex(r#"{"f": ["a"]}"#, r#"{"f": "a"}"#);
    assert!(x.render(true).contains("\x1b[32m✓\x1b[0m"));
    assert!(!x.render(false).contains('\x1b'));
}

fn lints(p: &str) -> Vec<(String, LintCode, String)> {
    lint(&compile(p, &CompileOptions::default()).unwrap())
        .into_iter()
        .map(|l| (l.path, l.code, l.message))
        .collect()
}

/// SPEC.md §2.7: the compiler rejects low >= high; two exclusive bounds
/// with no binary64 between them (§3.2) are left for the lint.
#[test]
fn spec_2_7_lint_empty_range() {
    assert_eq!(
        lints(r#"{"n": [{"numeric": [">", 1, "<", 1.0000000000000002]}]}"#),
        [(
            "n[0]".to_string(),
            LintCode::EmptyRange,
            r#"{"numeric": [">", 1, "<", 1.0000000000000002]} holds no number: the condition can never match"#.to_string()
        )]
    );
    assert!(lints(r#"{"n": [{"numeric": [">", 1, "<", 1.0000000000000004]}]}"#).is_empty());
}

/// SPEC.md §2.8: exists:false in a list is OR'ed with the values.
#[test]
fn spec_2_8_lint_exists_false_with_values() {
    assert_eq!(
        lints(r#"{"e": [{"exists": false}, "x"]}"#),
        [(
            "e".to_string(),
            LintCode::ExistsFalseWithValues,
            r#"{"exists": false} next to "x" matches when the field is missing OR has one of those values (a value list is OR, SPEC.md §2.8), never "missing and ...""#.to_string()
        )]
    );
}

#[test]
fn lint_always_matches() {
    assert_eq!(
        lints(r#"{"e": [{"exists": false}, {"exists": true}]}"#)[0].1,
        LintCode::AlwaysMatches
    );
    assert_eq!(
        lints(r#"{"e": ["a", "b", {"anything-but": ["a", "b"]}]}"#),
        [(
            "e[2]".to_string(),
            LintCode::AlwaysMatches,
            r#"every value {"anything-but": ["a", "b"]} excludes is also listed, so the list matches any value that is present: write {"exists": true}"#.to_string()
        )]
    );
}

/// SPEC.md §2.6: anything-but wildcard "*" excludes every string.
#[test]
fn spec_2_6_lint_excludes_all_strings() {
    assert_eq!(
        lints(r#"{"e": [{"anything-but": {"wildcard": "*"}}]}"#)[0].1,
        LintCode::ExcludesAllStrings
    );
}

/// SPEC.md §2.2: 300 and 300.0 are the same value.
#[test]
fn spec_2_2_lint_duplicate_value() {
    assert_eq!(
        lints(r#"{"e": ["a", 300, "a", 300.0]}"#),
        [
            (
                "e[2]".to_string(),
                LintCode::DuplicateValue,
                r#""a" is already entry 0 of the list"#.to_string()
            ),
            (
                "e[3]".to_string(),
                LintCode::DuplicateValue,
                "300.0 is already entry 1 of the list".to_string()
            ),
        ]
    );
    assert_eq!(
        lints(r#"{"e": [{"anything-but": ["a", "a"]}]}"#)[0].2,
        r#""a" is listed twice in {"anything-but": ["a", "a"]}"#
    );
}

#[test]
fn lint_redundant_prefix() {
    assert_eq!(
        lints(r#"{"e": [{"prefix": "abc"}, {"prefix": "ab"}, {"suffix": ".png"}, {"suffix": "x.png"}]}"#),
        [
            (
                "e[0]".to_string(),
                LintCode::RedundantPrefix,
                r#"{"prefix": "abc"} is redundant: the prefix {"prefix": "ab"} (entry 1) already matches everything it does"#.to_string()
            ),
            (
                "e[3]".to_string(),
                LintCode::RedundantSuffix,
                r#"{"suffix": "x.png"} is redundant: the suffix {"suffix": ".png"} (entry 2) already matches everything it does"#.to_string()
            ),
        ]
    );
}

/// SPEC.md §2.5: `\*` is a literal star, so this wildcard has none.
#[test]
fn spec_2_5_lint_wildcard_without_star() {
    assert_eq!(
        lints(r#"{"e": [{"wildcard": "a\\*b"}, {"wildcard": "a*"}]}"#),
        [(
            "e[0]".to_string(),
            LintCode::WildcardWithoutStar,
            r#"{"wildcard": "a\\*b"} has no "*": use the exact value "a*b""#.to_string()
        )]
    );
}

/// SPEC.md §1.1: the envelope's top-level fields.
#[test]
fn spec_1_1_lint_top_level_typo() {
    let l = lints(
        r#"{"detailType": ["x"], "Source": ["y"], "resource": ["z"], "detail": {"detailType": ["ok"]}, "custom": ["ok"]}"#,
    );
    let got: Vec<(&str, &str)> = l.iter().map(|(p, _, m)| (p.as_str(), m.as_str())).collect();
    assert_eq!(
        got,
        [
            (
                "Source",
                r#"EventBridge never sets "Source" at the top level of an event; did you mean "source"?"#
            ),
            (
                "detailType",
                r#"EventBridge never sets "detailType" at the top level of an event; did you mean "detail-type"?"#
            ),
            (
                "resource",
                r#"EventBridge never sets "resource" at the top level of an event; did you mean "resources"?"#
            ),
        ]
    );
    assert!(l.iter().all(|x| x.1 == LintCode::TopLevelTypo));
}

/// SPEC.md §2.10: a condition `$or` copies into several branches is
/// reported once.
#[test]
fn spec_2_10_lints_once_per_condition() {
    let l = lints(r#"{"e": ["a", "a"], "$or": [{"b": ["1"]}, {"c": ["2"]}]}"#);
    assert_eq!(l.len(), 1);
}

#[test]
fn clean_patterns_have_no_lints() {
    for p in [
        r#"{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], "detail": {"state": ["running", "stopped"]}}"#,
        r#"{"detail": {"n": [{"numeric": [">", 0, "<=", 5]}], "x": [{"wildcard": "a*"}], "p": [{"prefix": "a"}, {"prefix": "b"}]}}"#,
        r#"{"resources": [{"prefix": "arn:aws:s3:::"}], "account": ["123456789012"], "region": [{"anything-but": "us-east-1"}]}"#,
    ] {
        assert!(lints(p).is_empty(), "{p}: {:?}", lints(p));
    }
}
