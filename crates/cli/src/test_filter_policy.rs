//! `evmatch test-filter-policy`: does an SNS subscription with this filter
//! policy receive this message?

use crate::common::{self, value};
use crate::{EXIT_FATAL, EXIT_OK};
use clap::Parser;
use evmatch_sns::TestError;
use std::ffi::OsString;

/// Test whether an SNS subscription's filter policy lets a message through.
#[derive(Debug, Parser)]
#[command(
    name = "test-filter-policy",
    bin_name = "evmatch test-filter-policy",
    about = "Test whether an SNS subscription filter policy lets a message through",
    long_about = "Test whether a subscription with an SNS filter policy receives a message. \
                  The scope is checked first, then the policy (as SetSubscriptionAttributes \
                  checks it), then the message attributes.\n\n\
                  Prints {\"Result\": true} or {\"Result\": false} and exits 0. An invalid \
                  policy prints AWS's message on stderr (`Invalid parameter: FilterPolicy: \
                  <reason>`; `Invalid parameter: <reason>` for the scope errors) and exits 2; \
                  so do unreadable message attributes.\n\n\
                  MessageAttributes scope (the default): the policy must be flat and is matched \
                  against the attributes: String as a string, Number by value, String.Array \
                  element by element, Binary ignored. MessageBody scope: the message must be a \
                  JSON object (otherwise nothing matches) and policies may nest. An empty \
                  policy ('') filters nothing.",
    after_long_help = "Examples:
  evmatch test-filter-policy --filter-policy '{\"price\": [{\"numeric\": [\"<\", 100]}]}' \\
      --message-attributes '{\"price\": {\"DataType\": \"Number\", \"StringValue\": \"99.5\"}}'
  evmatch test-filter-policy --filter-policy-scope MessageBody \\
      --filter-policy '{\"order\": {\"region\": [{\"prefix\": \"eu-\"}]}}' \\
      --message '{\"order\": {\"region\": \"eu-west-1\"}}'
  evmatch test-filter-policy --filter-policy file://policy.json --message-attributes file://attrs.json"
)]
pub struct FilterArgs {
    /// The filter policy: inline JSON text, or file://PATH
    #[arg(long, value_name = "POLICY", allow_hyphen_values = true)]
    pub filter_policy: String,

    /// MessageAttributes (the default) or MessageBody
    #[arg(long, value_name = "SCOPE", allow_hyphen_values = true)]
    pub filter_policy_scope: Option<String>,

    /// Message attributes as Publish takes them, {"name": {"DataType":
    /// "String", "StringValue": "x"}} (or {"name": {"Type": ..., "Value":
    /// ...}}): inline JSON text, or file://PATH. Default: none
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub message_attributes: Option<String>,

    /// The message body: inline text, or file://PATH. Default: empty
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub message: Option<String>,
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = FilterArgs::parse_from(args);
    let read = |arg: &Option<String>, what: &str| -> Result<Option<String>, u8> {
        arg.as_deref().map(|a| value(a, what)).transpose()
    };
    let (policy, attributes, message) = match (
        value(&args.filter_policy, "--filter-policy"),
        read(&args.message_attributes, "--message-attributes"),
        read(&args.message, "--message"),
    ) {
        (Ok(p), Ok(a), Ok(m)) => (p, a, m.unwrap_or_default()),
        (Err(code), _, _) | (_, Err(code), _) | (_, _, Err(code)) => return code,
    };
    match evmatch_sns::test_filter_policy(
        &policy,
        args.filter_policy_scope.as_deref(),
        attributes.as_deref(),
        &message,
    ) {
        Ok(result) => {
            common::write_stdout(format!("{{\"Result\": {result}}}\n").as_bytes());
            EXIT_OK
        }
        Err(TestError::Policy(e)) => {
            // AWS's message first; where it is, for humans, after it.
            let mut text = e.aws_message();
            if !e.path().is_empty() {
                text.push_str(&format!("\n  (at {})", e.path()));
            }
            common::stderr_lines(&text);
            EXIT_FATAL
        }
        Err(TestError::Attributes(e)) => {
            common::stderr_lines(&e.to_string());
            EXIT_FATAL
        }
    }
}
