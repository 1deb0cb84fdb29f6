//! `evmatch`: EventBridge event-pattern matching on the command line.
//!
//! The first argument picks the command: `test-event-pattern`, `check`, `transform`,
//! `explain`, `test-filter-policy`, `fanout`, `help`, `--help`/`-h`, `--version`/`-V`;
//! anything else runs the match command (`evmatch [OPTIONS] RULES [EVENTS...]`).

mod check;
mod common;
mod explain;
mod fanout;
mod matching;
mod route;
mod test_filter_policy;
mod test_pattern;
mod transform;

use clap::CommandFactory;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// Exit status: success.
pub const EXIT_OK: u8 = 0;
/// Exit status: some input was bad (event lines, invalid rules for `check`).
pub const EXIT_BAD_INPUT: u8 = 1;
/// Exit status: fatal error (unreadable file, invalid rules, usage).
pub const EXIT_FATAL: u8 = 2;

/// The command list and examples shown by `evmatch --help`.
macro_rules! commands_help {
    () => {
        "\
Commands:
  evmatch [OPTIONS] RULES [EVENTS...]
      Match NDJSON events against every rule of RULES; print one JSON line
      per matching event, or per-rule counts with --count. When rules have
      Targets, deliver the matches instead (the router; --match-only to
      print them, --dry-run to show what would be delivered).
  evmatch test-event-pattern --event-pattern PATTERN --event EVENT
      A local `aws events test-event-pattern`: prints {\"Result\": true|false}.
  evmatch check [OPTIONS] RULES
      Validate every rule of RULES and report the invalid ones; warn about
      suspicious ones (lints).
  evmatch explain --event-pattern PATTERN --event EVENT | RULES --rule NAME [EVENTS...]
      Show, condition by condition, why an event matches a pattern or not.
  evmatch transform --event EVENT [--input-path PATH | --input-paths-map JSON --input-template TEXT]
      Print the body a target would receive for EVENT (exit 3: not delivered).
  evmatch test-filter-policy --filter-policy POLICY [--filter-policy-scope SCOPE]
          [--message-attributes JSON] [--message TEXT]
      Does an SNS subscription with this filter policy receive the message?
      Prints {\"Result\": true|false}.
  evmatch fanout SUBSCRIPTIONS [MESSAGES...]
      A local SNS topic: deliver each NDJSON Publish request to the
      subscriptions whose filter policy it passes (notification JSON or raw).
  evmatch help [COMMAND]
      Show this help, or the help of COMMAND (match, test-event-pattern, check,
      transform, explain, test-filter-policy, fanout).

RULES is a JSON object {\"rule-name\": <pattern>, ...}, a JSON array of
EventBridge rule objects (Name, EventPattern, State, Targets), or the output
of `aws events list-rules`.

Examples:
  evmatch examples/rules.json examples/events.ndjson
  evmatch --count examples/rules.json < examples/events.ndjson
  cat events.ndjson | evmatch --with-event rules.json - | head
  evmatch test-event-pattern --event-pattern '{\"source\": [\"aws.ec2\"]}' \\
      --event file://event.json
  evmatch check examples/eventbridge-rules.json"
    };
}

/// Extra detail for `evmatch --help` (long help).
macro_rules! match_details {
    () => {
        "\
Output:
  One line per event that matches at least one rule:
    {\"line\":3,\"rules\":[\"r1\",\"r2\"]}
  rule names in rules-file order; with several EVENTS files \"file\" comes
  first, {\"file\":\"a.ndjson\",\"line\":3,\"rules\":[...]}; with --with-event the
  event, exactly as read, comes last: {\"line\":3,\"rules\":[...],\"event\":{...}}.
  With --count, one object mapping every rule to its number of matching
  events instead: {\"r1\":12,\"r2\":0}.

Input:
  NDJSON, one event per line, from each EVENTS file in turn, or stdin when
  there is none or for `-`. Blank lines are skipped; line numbers are 1-based
  per file. A bad line (invalid UTF-8 or JSON, not an object, too deep, too
  long) is reported on stderr as `evmatch: FILE:LINE: REASON` and the stream
  goes on. Limits and their defaults: SECURITY.md.
  Rules with State DISABLED are validated but never match.

Exit status:
  0  every event line was read fine
  1  some event lines were bad
  2  fatal error: unreadable file, invalid rules file or rule, usage error

Router (RULES with Targets): a target's Arn is file:///path, stdout:,
  http://host/path or exec:COMMAND; map real AWS ARNs with --map-arn ARN=URL.
  Nothing goes to stdout but stdout: targets (and --dry-run lines); failed
  deliveries go to the target's DeadLetterConfig file, --dead-letter FILE or
  ./evmatch-dead-letter.ndjson; a summary goes to stderr. Ctrl-C stops
  reading and finishes what was read; twice dead-letters the queued rest.
  Exit status: 4 some deliveries were dead-lettered, 130 interrupted.
  Example:
    evmatch --map-arn arn:aws:sqs:us-east-1:111122223333:q=file://q.ndjson \\
        --dead-letter dlq.ndjson rules.json events.ndjson"
    };
}
pub(crate) use {commands_help, match_details};

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let first = args.get(1).and_then(|a| a.to_str()).unwrap_or("");
    let code = match first {
        "test-event-pattern" => test_pattern::run(sub_args("test-event-pattern", &args)),
        "check" => check::run(sub_args("check", &args)),
        "transform" => transform::run(sub_args("transform", &args)),
        "explain" => explain::run(sub_args("explain", &args)),
        "test-filter-policy" => test_filter_policy::run(sub_args("test-filter-policy", &args)),
        "fanout" => fanout::run(sub_args("fanout", &args)),
        "help" => help(args.get(2).and_then(|a| a.to_str()), args.len() > 3),
        "--help" => print_help(matching::MatchArgs::command(), true),
        "-h" => print_help(matching::MatchArgs::command(), false),
        "--version" | "-V" => {
            common::write_stdout(format!("evmatch {}\n", env!("CARGO_PKG_VERSION")).as_bytes());
            EXIT_OK
        }
        _ => matching::run(args),
    };
    ExitCode::from(code)
}

/// The arguments after the command word, behind a program name for clap.
fn sub_args(command: &str, args: &[OsString]) -> Vec<OsString> {
    let mut v = vec![OsString::from(format!("evmatch {command}"))];
    v.extend(args.iter().skip(2).cloned());
    v
}

fn print_help(mut cmd: clap::Command, long: bool) -> u8 {
    let help = if long {
        cmd.render_long_help()
    } else {
        cmd.render_help()
    };
    common::write_stdout(help.to_string().as_bytes());
    EXIT_OK
}

fn help(topic: Option<&str>, extra: bool) -> u8 {
    if extra {
        common::error("usage: evmatch help [COMMAND]");
        return EXIT_FATAL;
    }
    match topic {
        None | Some("match") => print_help(matching::MatchArgs::command(), true),
        Some("test-event-pattern") => print_help(test_pattern::TestArgs::command(), true),
        Some("check") => print_help(check::CheckArgs::command(), true),
        Some("test-filter-policy") => print_help(test_filter_policy::FilterArgs::command(), true),
        Some("explain") => print_help(explain::ExplainArgs::command(), true),
        Some("transform") => print_help(transform::TransformArgs::command(), true),
        Some("fanout") => print_help(fanout::FanoutArgs::command(), true),
        Some("help" | "--help" | "-h") => {
            common::write_stdout(b"Usage: evmatch help [COMMAND]\n\nShows the help of COMMAND (match, test-event-pattern, check, transform, explain, test-filter-policy, fanout), or of evmatch.\n\nExample:\n  evmatch help check\n");
            EXIT_OK
        }
        Some(other) => {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "evmatch: no such command: {other} (commands: match, test-event-pattern, check, transform, explain, test-filter-policy, fanout, help)"
            );
            EXIT_FATAL
        }
    }
}
