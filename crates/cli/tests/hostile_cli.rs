//! Input limits and hostile input through the binary (issue 6, items 3
//! and 4; SECURITY.md): every limit gives a clear message, and a single
//! bad event line never stops the stream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::{run_stdin, text, write};
use std::path::{Path, PathBuf};

fn tmp() -> PathBuf {
    common::tmp_numbered("evmatch-hostile-cli")
}

fn rules(dir: &Path) -> String {
    write(dir, "rules.json", br#"{"hit": {"a": ["x"]}}"#)
}

#[test]
fn long_lines_are_bad_lines_and_the_stream_goes_on() {
    let dir = tmp();
    let r = rules(&dir);
    let long = format!(r#"{{"a":"x","pad":"{}"}}"#, "p".repeat(200));
    let huge = format!(r#"{{"a":"x","pad":"{}"}}"#, "p".repeat(5_000_000));
    let mut input = Vec::new();
    for l in [
        r#"{"a":"x"}"#,
        &long,
        r#"{"a":"x"}"#,
        &huge,
        r#"{"a":"y"}"#,
        r#"{"a":"x"}"#,
    ] {
        input.extend_from_slice(l.as_bytes());
        input.push(b'\n');
    }
    // The last line is too long and has no newline.
    input.extend_from_slice(long.as_bytes());
    for threads in ["1", "2"] {
        let out = run_stdin(
            &["--max-line-bytes", "100", "-j", threads, &r],
            input.clone(),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            "{\"line\":1,\"rules\":[\"hit\"]}\n{\"line\":3,\"rules\":[\"hit\"]}\n{\"line\":6,\"rules\":[\"hit\"]}\n"
        );
        let len = |s: &str| s.len();
        assert_eq!(
            text(&out.stderr),
            format!(
                "evmatch: stdin:2: the line is {} bytes long, more than the limit of 100 (--max-line-bytes)\n\
                 evmatch: stdin:4: the line is {} bytes long, more than the limit of 100 (--max-line-bytes)\n\
                 evmatch: stdin:7: the line is {} bytes long, more than the limit of 100 (--max-line-bytes)\n",
                len(&long),
                len(&huge),
                len(&long)
            )
        );
    }
    // The same from a file, mapped into memory or read (issue 4: the
    // reading path changes nothing that is printed).
    let file = write(&dir, "events.ndjson", &input);
    for mode in [None, Some("--no-mmap")] {
        for threads in ["1", "2"] {
            let mut args = vec!["--max-line-bytes", "100", "-j", threads];
            args.extend(mode);
            args.extend([r.as_str(), file.as_str()]);
            let out = run_stdin(&args, Vec::new());
            assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
            assert_eq!(
                text(&out.stdout),
                "{\"line\":1,\"rules\":[\"hit\"]}\n{\"line\":3,\"rules\":[\"hit\"]}\n{\"line\":6,\"rules\":[\"hit\"]}\n",
                "{mode:?} -j {threads}"
            );
            // "evmatch: FILE:N: the line is ..." for lines 2, 4 and 7.
            let err = text(&out.stderr);
            let lines: Vec<&str> = err
                .lines()
                .map(|l| l.split(": the line is").next().unwrap_or(""))
                .map(|l| l.rsplit(':').next().unwrap_or(""))
                .collect();
            assert_eq!(lines, vec!["2", "4", "7"], "{mode:?} -j {threads}: {err}");
        }
    }
    // The default limit is 1 MiB; 0 lifts it.
    let out = run_stdin(&[&r], format!("{huge}\n").into_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("more than the limit of 1048576 (--max-line-bytes)"));
    let out = run_stdin(
        &["--max-line-bytes", "0", &r],
        format!("{huge}\n").into_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\"line\":1,\"rules\":[\"hit\"]}\n");
}

#[test]
fn every_kind_of_bad_line_is_reported_and_skipped() {
    let dir = tmp();
    let r = rules(&dir);
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(200_000), "]".repeat(200_000));
    let deep_obj = format!("{}{}", "{\"a\":".repeat(200_000), "}".repeat(200_000));
    let lines: Vec<Vec<u8>> = vec![
        b"{\"a\":\"\xff\"}".to_vec(),
        deep.into_bytes(),
        deep_obj.into_bytes(),
        b"[1,2]".to_vec(),
        b"{\"a\":\"x\"".to_vec(),
        b"{\"a\":\"\\ud800\"}".to_vec(),
        b"{\"a\":1e400,\"b\":123456789012345678901234567890}".to_vec(),
        b"{\"a\":\"y\",\"a\":\"x\"}".to_vec(),
        b"{\"a\":\"x\"}".to_vec(),
    ];
    let mut input = Vec::new();
    for l in &lines {
        input.extend_from_slice(l);
        input.push(b'\n');
    }
    for threads in ["1", "2"] {
        let out = run_stdin(&["--max-line-bytes", "0", "-j", threads, &r], input.clone());
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            text(&out.stdout),
            "{\"line\":8,\"rules\":[\"hit\"]}\n{\"line\":9,\"rules\":[\"hit\"]}\n"
        );
        let err = text(&out.stderr);
        let reported: Vec<&str> = err.lines().collect();
        assert_eq!(reported.len(), 5, "{err}");
        assert_eq!(reported[0], "evmatch: stdin:1: invalid UTF-8 at byte 6");
        assert!(
            reported[1].starts_with("evmatch: stdin:2: invalid JSON"),
            "{err}"
        );
        assert!(reported[1].contains("nesting depth"), "{err}");
        assert!(
            reported[2].starts_with("evmatch: stdin:3: invalid JSON"),
            "{err}"
        );
        assert_eq!(reported[3], "evmatch: stdin:4: Event must be a JSON object");
        assert!(
            reported[4].starts_with("evmatch: stdin:5: invalid JSON"),
            "{err}"
        );
    }
}

#[test]
fn max_rules() {
    let dir = tmp();
    let r = write(
        &dir,
        "rules.json",
        br#"{"a": {"a": ["x"]}, "b": {"b": ["x"]}, "c": {"c": ["x"]}}"#,
    );
    let out = run_stdin(&["--max-rules", "2", &r], b"{\"a\":\"x\"}\n");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!("evmatch: {r}: 3 rules, more than the limit of 2 (--max-rules)\n")
    );
    assert!(out.stdout.is_empty());
    for ok in ["3", "0"] {
        let out = run_stdin(&["--max-rules", ok, &r], b"{\"a\":\"x\"}\n");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
}

#[test]
fn depth_limits() {
    let dir = tmp();
    let r = rules(&dir);
    let ev = |d: usize| format!("{{\"a\":{}\"x\"{}}}\n", "[".repeat(d), "]".repeat(d));
    let out = run_stdin(
        &["--max-event-depth", "5", &r],
        (ev(4) + &ev(5)).into_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "{\"line\":1,\"rules\":[\"hit\"]}\n");
    assert!(text(&out.stderr).contains("stdin:2: invalid JSON"));
    assert!(text(&out.stderr).contains("maximum allowed (5)"));
    for bad in ["0", "1001", "200000"] {
        let out = run_stdin(&["--max-event-depth", bad, &r], ev(1).into_bytes());
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            text(&out.stderr),
            format!("evmatch: --max-event-depth must be between 1 and 1000, not {bad}\n")
        );
    }
    let deep = write(
        &dir,
        "deep.json",
        br#"{"deep": {"a": {"b": {"c": ["x"]}}}}"#,
    );
    let out = run_stdin(&["--max-pattern-depth", "3", &deep], ev(1).into_bytes());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("Document nesting depth exceeds the maximum allowed (3)"),
        "{}",
        text(&out.stderr)
    );
    let out = run_stdin(&["--max-pattern-depth", "4", &deep], ev(1).into_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run_stdin(&["--max-pattern-depth", "5000", &deep], ev(1).into_bytes());
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn rules_file_that_is_not_utf8() {
    let dir = tmp();
    let r = write(&dir, "rules.json", b"{\"a\": {\"a\": [\"\xff\"]}}");
    let out = run_stdin(&[&r], b"{}\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not UTF-8 (invalid byte at offset 14)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn max_conditions() {
    let dir = tmp();
    // 3 x 2 $or branches of 2 fields each (x and y): 12 conditions, plus 1.
    let r = write(
        &dir,
        "rules.json",
        br#"{"small": {"a": ["x"]}, "or": {"$or": [{"x": [1]}, {"x": [2]}, {"x": [3]}], "z": {"$or": [{"y": [1]}, {"y": [2]}]}}}"#,
    );
    let out = run_stdin(
        &["--max-conditions", "12", &r],
        b"{\"x\":1,\"z\":{\"y\":2}}\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        format!("evmatch: {r}: the rules expand to more than 12 conditions ($or branches times fields), at rule \"or\" (line 1) (--max-conditions)\n")
    );
    for ok in ["13", "0"] {
        let out = run_stdin(
            &["--max-conditions", ok, &r],
            b"{\"x\":1,\"z\":{\"y\":2}}\n",
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "{\"line\":1,\"rules\":[\"or\"]}\n");
    }
}
