//! `evmatch explain`: why an event does or does not match a pattern.

use crate::common::{self, display};
use crate::{EXIT_BAD_INPUT, EXIT_FATAL, EXIT_OK};
use clap::Parser;
use evmatch::{Config, TestError};
use evmatch_explain::{explain, Explanation};
use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

/// Explain why an event matches an event pattern, or why not.
#[derive(Debug, Parser)]
#[command(
    name = "explain",
    bin_name = "evmatch explain",
    override_usage = "evmatch explain [--json] --event-pattern <PATTERN> --event <EVENT>\n       \
                      evmatch explain [--json] <RULES> --rule <NAME> [EVENTS]...",
    about = "Explain why an event matches an event pattern, or why not",
    long_about = "Explain why an event matches an event pattern, or why not.\n\n\
                  Either --event-pattern and --event (inline JSON or file://PATH, validated as \
                  `test-event-pattern` does, envelope included), or a rules file, --rule NAME \
                  and EVENTS files (one JSON event per file, or NDJSON; `-` or none: stdin; \
                  no envelope needed).\n\n\
                  For every $or branch, one line per condition: ✓ or ✗, the field path, the \
                  value list, and what the event has there (with the array element of each \
                  value); `hint:` lines under failed conditions name near misses (case, number \
                  vs string, a close key, a missing detail level, whitespace, an anything-but \
                  exclusion, a number just outside a range). A branch whose conditions hold \
                  only in different elements of one array says so (array consistency). The \
                  last line is `result: match` or `result: no match`, the verdict \
                  `test-event-pattern` gives. Colour when stdout is a terminal and NO_COLOR is \
                  not set. With --json, one JSON object per event instead (docs/explain.md).",
    after_long_help = "Exit status (like grep):
  0  the event matches (with several events: at least one does)
  1  it does not
  2  invalid pattern or event (AWS's message on stderr), unknown rule, unreadable file

Examples:
  evmatch explain --event-pattern '{\"source\": [\"aws.ec2\"], \"detail\": {\"state\": [\"running\"]}}' \\
      --event file://event.json
  evmatch explain examples/rules.json --rule ec2-running event.json
  evmatch explain --json rules.json --rule big-orders events.ndjson"
)]
pub struct ExplainArgs {
    /// The pattern: inline JSON text, or file://PATH
    #[arg(long, value_name = "PATTERN", allow_hyphen_values = true)]
    pub event_pattern: Option<String>,

    /// The event: inline JSON text, or file://PATH (needs the envelope
    /// test-event-pattern needs)
    #[arg(long, value_name = "EVENT", allow_hyphen_values = true)]
    pub event: Option<String>,

    /// Rules file (with --rule)
    #[arg(value_name = "RULES")]
    pub rules: Option<PathBuf>,

    /// The rule of RULES to explain
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,

    /// Event files: one JSON event, or NDJSON (`-` or none: stdin)
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,

    /// Print one JSON object per event (shape in docs/explain.md)
    #[arg(long)]
    pub json: bool,

    /// Let a branch take values from different elements of an array of
    /// objects (AWS requires the same element)
    #[arg(long)]
    pub no_array_consistency: bool,
}

fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = ExplainArgs::parse_from(args);
    let config = Config {
        array_consistency: !args.no_array_consistency,
        ..Config::default()
    };
    match (&args.event_pattern, &args.event, &args.rules, &args.rule) {
        (Some(p), Some(e), None, None) if args.events.is_empty() => {
            inline(p, e, &config, args.json)
        }
        (None, None, Some(rules), Some(name)) => from_rules(&args, rules, name, &config),
        _ => {
            common::error(
                "usage: evmatch explain --event-pattern PATTERN --event EVENT, \
                 or evmatch explain RULES --rule NAME [EVENTS...]",
            );
            EXIT_FATAL
        }
    }
}

fn verdict_code(matched: bool) -> u8 {
    if matched {
        EXIT_OK
    } else {
        EXIT_BAD_INPUT
    }
}

fn inline(pattern: &str, event: &str, config: &Config, json: bool) -> u8 {
    let pattern = match crate::common::value(pattern, "--event-pattern") {
        Ok(p) => p,
        Err(code) => return code,
    };
    let event = match crate::common::value(event, "--event") {
        Ok(e) => e,
        Err(code) => return code,
    };
    // The order and the messages of test-event-pattern.
    let p = match evmatch::compile(&pattern, &evmatch::CompileOptions::default()) {
        Ok(p) => p,
        Err(e) => return crate::test_pattern::report(&TestError::Pattern(e)),
    };
    let v = match evmatch::check_envelope(&event) {
        Ok(v) => v,
        Err(why) => return crate::test_pattern::report(&TestError::Event(why)),
    };
    match explain(&p, &v, config) {
        Ok(x) => {
            print(&x, json, None);
            verdict_code(x.matched)
        }
        Err(e) => crate::test_pattern::report(&TestError::Event(e.to_string())),
    }
}

/// Where an event came from, in rules mode.
struct Origin<'a> {
    rule: &'a str,
    file: String,
    line: usize,
}

fn print(x: &Explanation, json: bool, origin: Option<&Origin<'_>>) {
    if json {
        let mut v = x.to_json();
        if let (Some(o), Some(map)) = (origin, v.as_object_mut()) {
            let mut head = serde_json::Map::new();
            head.insert("rule".into(), o.rule.into());
            head.insert("file".into(), o.file.clone().into());
            head.insert("line".into(), o.line.into());
            head.append(map);
            v = serde_json::Value::Object(head);
        }
        common::write_stdout(format!("{v}\n").as_bytes());
    } else {
        let mut text = String::new();
        if let Some(o) = origin {
            text.push_str(&format!("rule {:?}, event {}:{}\n", o.rule, o.file, o.line));
        }
        text.push_str(&x.render(color()));
        common::write_stdout(text.as_bytes());
    }
}

fn read_input(p: &Path) -> Result<(String, String), u8> {
    let (label, bytes) = if p.as_os_str() == "-" {
        let mut b = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut b) {
            common::error(&format!("cannot read stdin: {e}"));
            return Err(EXIT_FATAL);
        }
        ("stdin".to_string(), b)
    } else {
        match std::fs::read(p) {
            Ok(b) => (display(p), b),
            Err(e) => {
                common::error(&format!("cannot read {}: {e}", display(p)));
                return Err(EXIT_FATAL);
            }
        }
    };
    match String::from_utf8(bytes) {
        Ok(t) => Ok((label, t)),
        Err(e) => {
            common::error(&format!(
                "{label}: not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ));
            Err(EXIT_FATAL)
        }
    }
}

/// One event per file when the whole file is one JSON value, else NDJSON:
/// `(line, text)` pairs.
fn events_of(text: &str) -> Vec<(usize, &str)> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    if evmatch::parts::json::parse_value(body).is_ok() {
        let line = body.lines().take_while(|l| l.trim().is_empty()).count() + 1;
        return vec![(line, body)];
    }
    body.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect()
}

fn from_rules(args: &ExplainArgs, rules: &Path, name: &str, config: &Config) -> u8 {
    let defs = match common::load_rules_file(rules) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let chosen: Vec<_> = defs.iter().filter(|r| r.name == name).collect();
    if chosen.is_empty() {
        let names: Vec<&str> = defs.iter().map(|r| r.name.as_str()).take(20).collect();
        common::error(&format!(
            "{}: no rule named {name:?} (rules: {})",
            display(rules),
            names.join(", ")
        ));
        return EXIT_FATAL;
    }
    let mut patterns = Vec::new();
    for r in &chosen {
        match evmatch::compile(&r.pattern, &common::compile_options(None)) {
            Ok(p) => patterns.push(p),
            Err(e) => {
                common::stderr_lines(&e.aws_message());
                return EXIT_FATAL;
            }
        }
    }
    if chosen.iter().any(|r| !r.enabled) {
        common::error(&format!(
            "note: rule {name:?} is DISABLED; the match command never matches it"
        ));
    }
    let inputs = if args.events.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.events.clone()
    };
    let mut any_match = false;
    let mut failed = false;
    for input in &inputs {
        let (label, text) = match read_input(input) {
            Ok(t) => t,
            Err(_) => {
                failed = true;
                continue;
            }
        };
        for (line, ev) in events_of(&text) {
            let v = match evmatch::parts::event::parse(ev.as_bytes()) {
                Ok(v) => v,
                Err(e) => {
                    common::error(&format!("{label}:{line}: {e}"));
                    failed = true;
                    continue;
                }
            };
            for p in &patterns {
                match explain(p, &v, config) {
                    Ok(x) => {
                        any_match |= x.matched;
                        let origin = Origin {
                            rule: name,
                            file: label.clone(),
                            line,
                        };
                        print(&x, args.json, Some(&origin));
                    }
                    Err(e) => {
                        common::error(&format!("{label}:{line}: {e}"));
                        failed = true;
                    }
                }
            }
        }
    }
    if failed {
        EXIT_FATAL
    } else {
        verdict_code(any_match)
    }
}
