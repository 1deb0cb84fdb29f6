//! `evmatch check`: validate every rule of a rules file.

use crate::common::{self, display};
use crate::{EXIT_BAD_INPUT, EXIT_FATAL, EXIT_OK};
use clap::Parser;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

/// Validate every rule of a rules file.
#[derive(Debug, Parser)]
#[command(
    name = "check",
    bin_name = "evmatch check",
    about = "Validate every rule of a rules file",
    long_about = "Validate every rule of a rules file (any of the formats the match command \
                  reads; disabled rules are checked too).\n\n\
                  Each invalid rule is printed on stdout as\n  \
                  <name>: Event pattern is not valid. Reason: <reason> (RULES line L; <location>)\n\
                  where L is the line of the rules file where the rule's pattern starts and \
                  <location> is where the problem is within the pattern. A rule whose \
                  Targets are invalid is printed as\n  \
                  <name>: <AWS message> (RULES line L)\n\
                  for instance `Only one of Input, InputPath, or InputTransformer must be \
                  provided for target t1.` A summary, `N rules, M invalid`, goes to stderr \
                  (`, W warnings` added when there are warnings).\n\n\
                  Valid rules are also linted. Each finding is a warning on stderr:\n  \
                  evmatch: warning: rule \"<name>\": <path>: <message> [<code>]\n\
                  where <path> is the field path, with [i] for the i-th entry of its value \
                  list. Codes: empty-range, excludes-all-strings, exists-false-with-values, \
                  always-matches, duplicate-value, redundant-prefix, redundant-suffix, \
                  wildcard-without-star, top-level-typo (docs/explain.md).\n\n\
                  Exit status: 0 all rules are valid (warnings or not), 1 some are invalid, or \
                  some have warnings and --deny-warnings is given, 2 the rules file cannot be \
                  read or loaded.",
    after_long_help = "Examples:
  evmatch check examples/rules.json
  evmatch check --max-pattern-size 2048 rules.json"
)]
pub struct CheckArgs {
    /// Rules file: {"name": pattern, ...}, an array of EventBridge rules, or
    /// `aws events list-rules` output
    #[arg(value_name = "RULES")]
    pub rules: PathBuf,

    /// Largest accepted pattern, in characters (0: no limit) [default: 4096]
    #[arg(long, value_name = "N")]
    pub max_pattern_size: Option<usize>,

    /// Exit 1 when a rule has lint warnings
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = CheckArgs::parse_from(args);
    let rules = match common::load_rules_file(&args.rules) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let options = common::compile_options(args.max_pattern_size);
    let rules_name = display(&args.rules);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut invalid = 0usize;
    let mut warnings = 0usize;
    let mut write_err: Option<std::io::Error> = None;
    for (rule, compiled) in rules.iter().zip(common::compile_all(&rules, &options)) {
        let line = match (compiled, rule.parse_targets()) {
            (Err(e), _) => {
                let loc = e.location();
                let loc = if loc.is_empty() {
                    String::new()
                } else {
                    format!("; {loc}")
                };
                format!(
                    "{}: {e} ({} line {}{loc})\n",
                    rule.name, rules_name, rule.line
                )
            }
            // Targets are checked as PutTargets would (SPEC.md §4.1, §4.2).
            (Ok(_), Err(e)) => format!("{}: {e} ({} line {})\n", rule.name, rules_name, rule.line),
            (Ok(p), Ok(_)) => {
                for l in evmatch_explain::lint(&p) {
                    warnings += 1;
                    common::error(&format!(
                        "warning: rule {:?}: {}: {} [{}]",
                        rule.name,
                        l.path,
                        l.message,
                        l.code.as_str()
                    ));
                }
                continue;
            }
        };
        invalid += 1;
        if write_err.is_none() {
            write_err = out.write_all(line.as_bytes()).err();
        }
    }
    if write_err.is_none() {
        write_err = out.flush().err();
    }
    drop(out);
    if let Some(e) = write_err {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            common::error(&format!("cannot write to stdout: {e}"));
            return EXIT_FATAL;
        }
    }
    let warned = match warnings {
        0 => String::new(),
        1 => ", 1 warning".to_string(),
        n => format!(", {n} warnings"),
    };
    common::stderr_lines(&format!("{} rules, {invalid} invalid{warned}", rules.len()));
    if invalid > 0 || (args.deny_warnings && warnings > 0) {
        EXIT_BAD_INPUT
    } else {
        EXIT_OK
    }
}
