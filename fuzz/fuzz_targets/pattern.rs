//! Pattern parsing and compiling: any text gives a compiled pattern or a
//! PatternError with a reason, never a panic, a hang or unbounded memory.
//! A pattern that compiles is added to a machine (and deleted again) and
//! matched against an event that names its keys; SNS filter policies go
//! through their own front end.
#![no_main]

use evmatch::{compile, CompileOptions, Config, Machine, Scratch};
use evmatch_sns::{FilterPolicy, FilterPolicyScope};
use libfuzzer_sys::fuzz_target;

const EVENT: &[u8] =
    br#"{"a":"x","b":[1,{"c":"10.0.0.1"}],"source":"aws.ec2","detail":{"state":"running","n":5}}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = CompileOptions::default();
    match compile(text, &limits) {
        Ok(p) => {
            let mut m = Machine::new(Config::default());
            let id = m.add(&p);
            let mut out = Vec::new();
            let _ = m.matches(&mut Scratch::new(), EVENT, &mut out);
            assert!(m.delete(id));
            assert!(m.is_empty());
        }
        Err(e) => {
            // Every error has a reason and renders.
            assert!(!e.reason().is_empty());
            let _ = (e.aws_message(), e.location(), e.path(), e.to_string());
        }
    }
    // Without the size and wildcard limits (the depth and $or limits stay).
    let relaxed = CompileOptions {
        max_pattern_chars: None,
        max_wildcard_complexity: None,
        legacy_numeric: data.first().is_some_and(|b| b & 1 == 1),
        ..CompileOptions::default()
    };
    let _ = compile(text, &relaxed);
    for scope in [
        FilterPolicyScope::MessageAttributes,
        FilterPolicyScope::MessageBody,
    ] {
        if let Err(e) = FilterPolicy::compile(text, scope) {
            let _ = e.aws_message();
        }
    }
});
