//! `evmatch transform`: try a target's input options on one event, without
//! a rules file (SPEC.md §4).

use crate::common::{self, value};
use crate::{EXIT_FATAL, EXIT_OK};
use clap::Parser;
use evmatch_json::Value;
use evmatch_router::transform::{self, TargetInput, TransformContext, TransformerConfig};
use std::ffi::OsString;
use std::io::Read;

/// Exit status: the configuration is fine but nothing would be delivered.
pub const EXIT_NOT_DELIVERED: u8 = 3;

/// Show the body a target would receive for one event.
#[derive(Debug, Parser)]
#[command(
    name = "transform",
    bin_name = "evmatch transform",
    about = "Show the body a target would receive for an event (Input, InputPath or InputTransformer)",
    long_about = "Show exactly the body an EventBridge target would receive for one event, given \
                  the target's input options: at most one of --input, --input-path, or \
                  --input-paths-map with --input-template (the template alone may use the \
                  reserved variables). Without any of them the whole event is delivered, as \
                  compact JSON.\n\n\
                  The body is printed on stdout followed by one newline, and the exit status is \
                  0. When the event would not be delivered (a JSON template whose result is not \
                  valid JSON, an --input-path that selects nothing) the reason goes to stderr \
                  and the exit status is 3. An invalid configuration prints AWS's message on \
                  stderr (for instance `Only one of Input, InputPath, or InputTransformer must \
                  be provided for target target.`) and exits 2, as does an event that is not a \
                  JSON object.\n\n\
                  Every text option accepts file://PATH to read the text from a file.",
    after_long_help = "Defaults of the reserved variables:
  aws.events.rule-name             --rule-name, default `example`
  aws.events.rule-arn              --rule-arn, default arn:aws:events:REGION:ACCOUNT:rule/NAME
                                   with REGION and ACCOUNT from the event (us-east-1 and
                                   123456789012 when it has none)
  aws.events.event.ingestion-time  --ingestion-time, default the event's `time`, else now (UTC)

Examples:
  evmatch transform --event file://event.json --input-path '$.detail'
  evmatch transform --event file://event.json \\
      --input-paths-map '{\"state\": \"$.detail.state\"}' \\
      --input-template '{\"state\": <state>, \"rule\": \"<aws.events.rule-name>\"}'
  echo '{\"detail\": {\"n\": 1.50}}' | evmatch transform --input-paths-map '{\"n\": \"$.detail.n\"}' \\
      --input-template '\"n is <n>\"'"
)]
pub struct TransformArgs {
    /// The event: inline JSON text, file://PATH, or - for stdin [default: stdin]
    #[arg(long, value_name = "EVENT", allow_hyphen_values = true)]
    pub event: Option<String>,

    /// Input: constant JSON text delivered instead of the event
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub input: Option<String>,

    /// InputPath: a JSONPath selecting the part of the event to deliver
    #[arg(long, value_name = "PATH", allow_hyphen_values = true)]
    pub input_path: Option<String>,

    /// InputTransformer's InputPathsMap: a JSON object {"name": "$.json.path", ...}
    #[arg(long, value_name = "JSON", allow_hyphen_values = true)]
    pub input_paths_map: Option<String>,

    /// InputTransformer's InputTemplate, with <name> placeholders
    #[arg(long, value_name = "TEXT", allow_hyphen_values = true)]
    pub input_template: Option<String>,

    /// Value of <aws.events.rule-name> [default: example]
    #[arg(long, value_name = "NAME", allow_hyphen_values = true)]
    pub rule_name: Option<String>,

    /// Value of <aws.events.rule-arn> [default: built from the event's region and account]
    #[arg(long, value_name = "ARN", allow_hyphen_values = true)]
    pub rule_arn: Option<String>,

    /// Value of <aws.events.event.ingestion-time> [default: the event's time, else now]
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub ingestion_time: Option<String>,

    /// The target Id used in AWS's error messages
    #[arg(
        long,
        value_name = "ID",
        default_value = "target",
        allow_hyphen_values = true
    )]
    pub target_id: String,
}

fn opt_value(arg: &Option<String>, what: &str) -> Result<Option<String>, u8> {
    arg.as_deref().map(|a| value(a, what)).transpose()
}

/// Reads `--input-paths-map` as (name, path) pairs in the given order.
fn paths_map(text: &str) -> Result<Vec<(String, String)>, u8> {
    let parsed = evmatch_json::parse_value(text).map_err(|e| {
        common::error(&format!(
            "--input-paths-map is not valid JSON: {}",
            evmatch_router::shorten_json_message(&e.to_string(), "the paths map")
        ));
        EXIT_FATAL
    })?;
    let Value::Object(members) = parsed else {
        common::error("--input-paths-map must be a JSON object {\"name\": \"$.path\", ...}");
        return Err(EXIT_FATAL);
    };
    let mut out = Vec::with_capacity(members.len());
    for (k, v) in members {
        match v {
            Value::String(p) => out.push((k, p)),
            _ => {
                common::error(&format!(
                    "--input-paths-map: the path of {k} must be a JSON string"
                ));
                return Err(EXIT_FATAL);
            }
        }
    }
    Ok(out)
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = TransformArgs::parse_from(args);
    match run_inner(&args) {
        Ok(code) | Err(code) => code,
    }
}

fn run_inner(args: &TransformArgs) -> Result<u8, u8> {
    let input = opt_value(&args.input, "--input")?;
    let input_path = opt_value(&args.input_path, "--input-path")?;
    let template = opt_value(&args.input_template, "--input-template")?;
    let map_text = opt_value(&args.input_paths_map, "--input-paths-map")?;
    let paths = match &map_text {
        Some(t) => paths_map(t)?,
        None => Vec::new(),
    };
    let transformer = if map_text.is_some() || template.is_some() {
        Some(TransformerConfig {
            paths: &paths,
            template: template.as_deref(),
        })
    } else {
        None
    };

    // The configuration first, as PutTargets would check it.
    let target_input = TargetInput::new(
        &args.target_id,
        input.as_deref(),
        input_path.as_deref(),
        transformer,
    )
    .map_err(|e| {
        common::stderr_lines(e.message());
        EXIT_FATAL
    })?;

    let event_text = read_event(args.event.as_deref())?;
    let event_text = event_text.strip_prefix('\u{feff}').unwrap_or(&event_text);
    let event = match evmatch_json::parse_value(event_text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => {
            common::stderr_lines(
                "Parameter Event is not valid.\n  (the event must be a JSON object)",
            );
            return Err(EXIT_FATAL);
        }
        Err(e) => {
            common::stderr_lines(&format!(
                "Parameter Event is not valid.\n  ({})",
                evmatch_router::shorten_json_message(&e.to_string(), "the event")
            ));
            return Err(EXIT_FATAL);
        }
    };

    let ctx = context(args, &event);
    match target_input.apply(&event, &ctx) {
        Ok(body) => {
            let mut out = body.into_bytes();
            out.push(b'\n');
            common::write_stdout(&out);
            Ok(EXIT_OK)
        }
        Err(nd) => {
            common::error(&format!("not delivered: {}", nd.reason));
            if let Some(o) = nd.output {
                common::stderr_lines(&format!("  transformed input: {o}"));
            }
            Ok(EXIT_NOT_DELIVERED)
        }
    }
}

fn read_event(arg: Option<&str>) -> Result<String, u8> {
    match arg {
        Some("-") | None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| {
                common::error(&format!("cannot read the event from stdin: {e}"));
                EXIT_FATAL
            })?;
            Ok(s)
        }
        Some(a) => value(a, "--event"),
    }
}

/// The reserved variables' values: the options, else documented defaults.
fn context(args: &TransformArgs, event: &Value) -> TransformContext {
    let field = |k: &str| match event.get(k) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    };
    let rule_name = args.rule_name.clone().unwrap_or_else(|| "example".into());
    let rule_arn = args.rule_arn.clone().unwrap_or_else(|| {
        transform::rule_arn(
            &field("region").unwrap_or_else(|| "us-east-1".into()),
            &field("account").unwrap_or_else(|| "123456789012".into()),
            None,
            &rule_name,
        )
    });
    let ingestion_time = args
        .ingestion_time
        .clone()
        .or_else(|| field("time"))
        .unwrap_or_else(evmatch_router::delivery::now_iso8601);
    TransformContext {
        rule_name,
        rule_arn,
        ingestion_time,
    }
}
