//! Whole messages, location lines included, as AWS's TestEventPattern
//! returned them (recorded in LocalStack's AWS-validated snapshots, quoted
//! in SPEC.md §2.1 and §2.14): the reason, then Jackson's location just past
//! the token where the problem was found, none for errors raised outside
//! the JSON parser (CIDR, complexity), twice for errors re-raised inside an
//! anything-but list.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use evmatch_pattern::{compile, CompileOptions};

fn msg(p: &str) -> String {
    compile(p, &CompileOptions::default())
        .unwrap_err()
        .aws_message()
}

fn at(p: &str, col: usize) -> String {
    format!("\n at [Source: (String)\"{p}\"; line: 1, column: {col}]")
}

#[test]
fn structure_and_operator_errors() {
    for (p, reason, col) in [
        (r#"{"int": 42}"#, r#""int" must be an object or an array"#, 11),
        (r#"{"string": "my-value"}"#, r#""string" must be an object or an array"#, 13),
        (r#"{"resources": []}"#, "Empty arrays are not allowed", 17),
        (r#"{"detail": {"equal": [{"NUMERIC": ["=", 5]}]}}"#, "Unrecognized match type NUMERIC", 36),
        (r#"{"my_key": [{"EXISTS": true}]}"#, "Unrecognized match type EXISTS", 28),
        (r#"{"detail": {"c-count": [{"numeric": [">", 0, ">", 0]}]}}"#, "Bad numeric range operator: >", 49),
        (r#"{"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}"#, "Value of < must be numeric", 50),
        (r#"{"time": [{"prefix": ["2022-07-13"]}]}"#, "prefix match pattern must be a string", 23),
        (r#"{"time": [{"prefix": 123}]}"#, "prefix match pattern must be a string", 25),
        (r#"{"FileName": [{"suffix": 123}]}"#, "suffix match pattern must be a string", 29),
        (r#"{"FileName": [{"suffix": [".png"]}]}"#, "suffix match pattern must be a string", 27),
        (r#"{"EventBusArn": [{"wildcard": 123}]}"#, "wildcard match pattern must be a string", 34),
        (
            r#"{"detail-type": [{"equals-ignore-case": {"prefix": "ec2"}}]}"#,
            "equals-ignore-case match pattern must be a string",
            42,
        ),
        (
            r#"{"detail": {"state": [{"anything-but": {"prefix": 123}}]}}"#,
            "prefix/suffix match pattern must be a string",
            54,
        ),
        (
            r#"{"detail": {"FileName": [{"anything-but": {"prefix": {"equals-ignore-case": "file"}}}]}}"#,
            "Value of anything-but must be an array or single string/number value.",
            55,
        ),
        (
            r#"{"detail": {"state": [{"anything-but": {"equals-ignore-case": 123}}]}}"#,
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
            66,
        ),
        (
            r#"{"detail": {"sourceIPAddress": [{"cidr": ["bad-type"]}]}}"#,
            "prefix match pattern must be a string",
            43,
        ),
        (
            r#"{"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]}"#,
            "Consecutive wildcard characters at pos 26",
            72,
        ),
    ] {
        assert_eq!(
            msg(p),
            format!("Event pattern is not valid. Reason: {reason}{}", at(p, col)),
            "{p}"
        );
    }
}

#[test]
fn errors_inside_anything_but_lists_repeat_the_location() {
    for (p, reason, col) in [
        (
            r#"{"detail": {"state": [{"anything-but": {"prefix": [123, "test"]}}]}}"#,
            "prefix/suffix match pattern must be a string",
            55,
        ),
        (
            r#"{"detail": {"FileName": [{"anything-but": {"suffix": [123, ".txt"]}}]}}"#,
            "prefix/suffix match pattern must be a string",
            58,
        ),
        (
            r#"{"detail": {"state": [{"anything-but": {"equals-ignore-case": [123, 456]}}]}}"#,
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.",
            67,
        ),
        (
            r#"{"detail": {"state": [{"anything-but": {"wildcard": [123, "*/dir/*"]}}]}}"#,
            "wildcard match pattern must be a string",
            57,
        ),
    ] {
        let loc = at(p, col);
        assert_eq!(msg(p), format!("Event pattern is not valid. Reason: {reason}{loc}{loc}"), "{p}");
    }
}

#[test]
fn errors_without_location() {
    for (p, reason) in [
        (r#"{"detail": {"sourceIPAddress": [{"cidr": "bad-filter"}]}}"#, "Malformed CIDR, one '/' required"),
        (
            r#"{"detail": {"sourceIPAddress": [{"cidr": "bad-/64filter"}]}}"#,
            "Malformed CIDR, mask bits must be an integer",
        ),
        (r#"{"detail": {"sourceIPAddress": [{"cidr": "xx.11.xx/8"}]}}"#, "Nonstandard IP address: xx.11.xx"),
        (
            r#"{"EventBusArn": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}"#,
            "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character",
        ),
    ] {
        assert_eq!(msg(p), format!("Event pattern is not valid. Reason: {reason}"), "{p}");
    }
}

#[test]
fn json_syntax_errors() {
    for (p, reason, col) in [
        (
            "this is valid json but not a dict",
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
            5,
        ),
        (
            "{'bad': 'quotation'}",
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
            2,
        ),
        (
            r#"{"not": closed mark""#,
            "Unrecognized token 'closed': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
            15,
        ),
        (r#"["not", "a", "dict", "but valid json"]"#, "Filter is not an object", 2),
    ] {
        assert_eq!(
            msg(p),
            format!("Event pattern is not valid. Reason: {reason}{}", at(p, col)),
            "{p}"
        );
    }
}
