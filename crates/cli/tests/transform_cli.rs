//! Runs `testdata/transform.jsonl` (SPEC.md §4) through `evmatch transform`,
//! the command independent AWS-validated suites call: the body on stdout
//! plus one newline and exit 0, or exit 3 and nothing on stdout when
//! nothing is delivered, or exit 2 and AWS's message on stderr. Also the
//! command's own contract: defaults, stdin, file://, usage.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "../../router/tests/support/transform_cases.rs"]
mod transform_cases;

mod common;

use std::process::Output;
use transform_cases::{load, Expect};

fn run(args: &[String], stdin: Option<&[u8]>) -> Output {
    let mut all = vec!["transform"];
    all.extend(args.iter().map(String::as_str));
    common::run_stdin(&all, stdin.unwrap_or(b""))
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn spec_4_transform_cases_via_cli() {
    let cases = load();
    let mut failures = Vec::new();
    for (n, c) in cases.iter().enumerate() {
        let mut args = Vec::new();
        // Alternate between --event and stdin so both paths are exercised.
        let via_stdin = n % 2 == 1;
        if !via_stdin {
            args.extend([s("--event"), c.event.clone()]);
        }
        let mut opt = |flag: &str, v: &Option<String>| {
            if let Some(v) = v {
                args.extend([s(flag), v.clone()]);
            }
        };
        opt("--input", &c.input);
        opt("--input-path", &c.input_path);
        opt("--input-template", &c.input_template);
        opt("--rule-name", &c.rule_name);
        opt("--rule-arn", &c.rule_arn);
        opt("--ingestion-time", &c.ingestion_time);
        opt("--target-id", &c.target_id);
        if let Some(map) = &c.input_paths_map {
            let mut m = String::from("{");
            for (i, (k, p)) in map.iter().enumerate() {
                if i > 0 {
                    m.push(',');
                }
                m.push_str(&serde_json::to_string(k).unwrap());
                m.push(':');
                m.push_str(&serde_json::to_string(p).unwrap());
            }
            m.push('}');
            args.extend([s("--input-paths-map"), m]);
        }
        let out = run(&args, via_stdin.then_some(c.event.as_bytes()));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code();
        let ok = match &c.expect {
            Expect::Output(body) => code == Some(0) && stdout == format!("{body}\n"),
            Expect::NotDelivered => code == Some(3) && stdout.is_empty(),
            Expect::Error(msg) => {
                code == Some(2) && stdout.is_empty() && stderr.lines().next() == Some(msg.as_str())
            }
        };
        if !ok {
            failures.push(format!(
                "{} (line {}): expected {:?}\n  exit {code:?}\n  stdout {stdout:?}\n  stderr {stderr:?}",
                c.name, c.line, c.expect
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed through the CLI:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

const EVENT: &str = r#"{"version":"0","id":"1","detail-type":"x","source":"s","account":"210987654321","time":"2020-02-02T02:02:02Z","region":"ap-south-1","resources":[],"detail":{"v":1}}"#;

#[test]
fn spec_4_4_reserved_variable_defaults() {
    let out = run(
        &[
            s("--event"),
            s(EVENT),
            s("--input-template"),
            s(
                r#"{"n": <aws.events.rule-name>, "a": <aws.events.rule-arn>, "t": <aws.events.event.ingestion-time>}"#,
            ),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"n\": \"example\", \"a\": \"arn:aws:events:ap-south-1:210987654321:rule/example\", \"t\": \"2020-02-02T02:02:02Z\"}\n"
    );
    // The ARN follows --rule-name; without region/account in the event the
    // defaults are us-east-1 and 123456789012; without time, now (UTC).
    let out = run(
        &[
            s("--event"),
            s(r#"{"detail": {}}"#),
            s("--rule-name"),
            s("mine"),
            s("--input-template"),
            s(r#""<aws.events.rule-arn> <aws.events.event.ingestion-time>""#),
        ],
        None,
    );
    let body = String::from_utf8(out.stdout).unwrap();
    assert!(
        body.starts_with("\"arn:aws:events:us-east-1:123456789012:rule/mine 20"),
        "{body}"
    );
    assert!(body.ends_with("Z\"\n"), "{body}");
}

#[test]
fn spec_4_1_event_from_file_and_stdin_dash() {
    let dir = std::env::temp_dir().join(format!("evmatch-transform-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("event.json");
    std::fs::write(&f, format!("{EVENT}\n")).unwrap();
    let out = run(
        &[
            s("--event"),
            format!("file://{}", f.display()),
            s("--input-path"),
            s("$.detail"),
        ],
        None,
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "{\"v\":1}\n");
    let out = run(
        &[s("--event"), s("-"), s("--input-path"), s("$.account")],
        Some(EVENT.as_bytes()),
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "\"210987654321\"\n");
    let out = run(
        &[s("--event"), format!("file://{}/nope.json", dir.display())],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_events_and_maps_exit_2() {
    for (event, map) in [
        ("{", r#"{"a": "$.a"}"#),
        ("[1]", r#"{"a": "$.a"}"#),
        (EVENT, "{"),
        (EVENT, r#"{"a": 1}"#),
        (EVENT, "[]"),
    ] {
        let out = run(
            &[
                s("--event"),
                s(event),
                s("--input-paths-map"),
                s(map),
                s("--input-template"),
                s("\"<a>\""),
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{event} {map}");
        assert!(out.stdout.is_empty());
    }
    let out = run(&[s("--event"), s("[1]")], None);
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("Parameter Event is not valid."));
    // A map without a template: AWS requires InputTemplate.
    let out = run(
        &[
            s("--event"),
            s(EVENT),
            s("--input-paths-map"),
            s(r#"{"a": "$.a"}"#),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("inputTemplate"));
}

#[test]
fn spec_4_3_not_delivered_explains_on_stderr() {
    let out = run(
        &[
            s("--event"),
            s(EVENT),
            s("--input-paths-map"),
            s(r#"{"d": "$.detail"}"#),
            s("--input-template"),
            s(r#"{"d": "<d>"}"#),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("evmatch: not delivered: the transformed input is not valid JSON"),
        "{err}"
    );
    assert!(err.contains(r#"{"d": "{"v":1}"}"#), "{err}");
}

#[test]
fn help_lists_transform() {
    let out = common::output(["help", "transform"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("--input-paths-map"));
    assert!(text.contains("exit status is 3"));
    let out = common::output(["--help"]);
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("evmatch transform"));
}
