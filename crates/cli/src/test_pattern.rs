//! `evmatch test-event-pattern`: a local `aws events test-event-pattern`.

use crate::common::{self, value};
use crate::{EXIT_FATAL, EXIT_OK};
use clap::Parser;
use evmatch::TestError;
use std::ffi::OsString;

/// Test whether an event matches a pattern, like `aws events test-event-pattern`.
#[derive(Debug, Parser)]
#[command(
    name = "test-event-pattern",
    bin_name = "evmatch test-event-pattern",
    about = "Test whether an event matches an event pattern (a local `aws events test-event-pattern`)",
    long_about = "Test whether an event matches an event pattern, as the TestEventPattern API \
                  does: the pattern is validated first, then the event, which must be a JSON \
                  object with id, account, source, time, region and detail-type.\n\n\
                  Prints {\"Result\": true} or {\"Result\": false} and exits 0. An invalid \
                  pattern prints `Event pattern is not valid. Reason: <reason>` on stderr, an \
                  invalid event `Parameter Event is not valid.`, and both exit 2.",
    after_long_help = "Examples:
  evmatch test-event-pattern --event-pattern '{\"source\": [\"aws.ec2\"]}' \\
      --event '{\"id\": \"1\", \"account\": \"123456789012\", \"source\": \"aws.ec2\", \"time\": \"2024-01-01T00:00:00Z\", \"region\": \"us-east-1\", \"detail-type\": \"x\", \"detail\": {}}'
  evmatch test-event-pattern --event-pattern file://pattern.json --event file://event.json"
)]
pub struct TestArgs {
    /// The pattern: inline JSON text, or file://PATH to read it from a file
    #[arg(long, value_name = "PATTERN", allow_hyphen_values = true)]
    pub event_pattern: String,

    /// The event: inline JSON text, or file://PATH to read it from a file
    #[arg(long, value_name = "EVENT", allow_hyphen_values = true)]
    pub event: String,
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = TestArgs::parse_from(args);
    let pattern = match value(&args.event_pattern, "--event-pattern") {
        Ok(p) => p,
        Err(code) => return code,
    };
    let event = match value(&args.event, "--event") {
        Ok(e) => e,
        Err(code) => return code,
    };
    match evmatch::test_event_pattern(&pattern, &event) {
        Ok(result) => {
            common::write_stdout(format!("{{\"Result\": {result}}}\n").as_bytes());
            EXIT_OK
        }
        Err(e) => report(&e),
    }
}

/// Prints AWS's message for an invalid pattern or event; returns 2.
pub(crate) fn report(e: &TestError) -> u8 {
    match e {
        TestError::Pattern(e) => {
            // Exactly AWS's message: the reason line, then Jackson's
            // location line(s) where AWS has them.
            common::stderr_lines(&e.aws_message());
        }
        TestError::Event(why) => {
            // AWS's text (TestError's Display), then the reason for humans.
            common::stderr_lines(&format!(
                "Parameter Event is not valid.\n  ({})",
                evmatch_router::shorten_json_message(why, "the event")
            ));
        }
    }
    EXIT_FATAL
}
