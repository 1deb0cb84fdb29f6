//! `evmatch fanout SUBSCRIPTIONS [MESSAGES...]`: a local SNS topic.
//!
//! Each Publish request read from MESSAGES (NDJSON) is matched once against
//! every subscription's filter policy ([`evmatch_sns::Topic`], SPEC.md §5)
//! and delivered to each subscription it passes, as the SNS notification
//! JSON or, with raw message delivery, as the bare message, through the
//! router's delivery engine (`evmatch_router::delivery::Router`: retries,
//! dead-letter files, idempotency keys, SPEC.md §6).
//!
//! Choices (documented in DESIGN.md, "SNS fan-out"):
//! * `MessageId` is UUID-shaped and derived from the message's position
//!   (input number, line number) and its text, so a re-run gives the same
//!   ids and the same idempotency keys (`MESSAGEID/TOPIC-NAME/SUBSCRIPTION`).
//! * The envelope has AWS's fields in AWS's order, but no `SignatureVersion`,
//!   `Signature`, `SigningCertURL` or `UnsubscribeURL`: nothing here can sign,
//!   and a fake signature would fail verification obscurely.
//! * Retry policy: `DeliveryPolicy.healthyRetryPolicy.numRetries` (0–100,
//!   default 3, SNS's default for HTTP/S), with the router's backoff.

use crate::common::{self, display, push_json_str};
use crate::route::{self, signal, DEFAULT_DEAD_LETTER, EXIT_DEAD_LETTERED, EXIT_INTERRUPTED};
use crate::{EXIT_BAD_INPUT, EXIT_FATAL, EXIT_OK};
use clap::Parser;
use evmatch_json::Value;
use evmatch_router::delivery::{self, DeadLetterFile, DeadLetterSink, Router, RouterBuilder};
use evmatch_router::sinks;
use evmatch_router::target::{ArnMap, Endpoint, RetryPolicy, Target};
use evmatch_router::transform::{to_compact, write_json_string, InputTransformer, TargetInput};
use evmatch_sns::{Attribute, FilterPolicy, FilterPolicyScope, Message, Topic};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The topic ARN when neither the file nor --topic-arn names one.
pub const DEFAULT_TOPIC_ARN: &str = "arn:aws:sns:us-east-1:000000000000:evmatch-local";

/// Retries of a subscription without a DeliveryPolicy (SNS's default for
/// HTTP/S endpoints).
pub const DEFAULT_NUM_RETRIES: u32 = 3;

/// Publish's size limit (256 KiB): message, subject and attributes.
pub const MAX_PUBLISH_BYTES: usize = 262_144;

/// Most retries a DeliveryPolicy may ask for (SNS's limit for HTTP/S).
pub const MAX_NUM_RETRIES: u32 = 100;

/// Publish one message to a local SNS topic per NDJSON line.
#[derive(Debug, Parser)]
#[command(
    name = "fanout",
    bin_name = "evmatch fanout",
    about = "Fan NDJSON Publish requests out to SNS subscriptions through their filter policies",
    long_about = "A local SNS topic. Each line of MESSAGES is a Publish request ({\"Message\": \
                  \"...\", \"MessageAttributes\": {...}, \"Subject\": \"...\"}); it is matched \
                  once against every subscription's filter policy and delivered to each \
                  subscription it passes: the SNS notification JSON ({\"Type\":\"Notification\", \
                  \"MessageId\", \"TopicArn\", \"Subject\", \"Message\", \"Timestamp\", \
                  \"MessageAttributes\"}), or the bare message with RawMessageDelivery. \
                  Deliveries go through the router: retries with backoff, a dead-letter file \
                  per subscription, idempotency keys MESSAGEID/TOPIC/SUBSCRIPTION, a summary \
                  on stderr.",
    after_long_help = "SUBSCRIPTIONS: a JSON array (or {\"TopicArn\": ..., \"Subscriptions\": [...]}) of
  {\"SubscriptionArn\" or \"Name\": identity,
   \"Endpoint\": \"file:///q.ndjson\" | \"stdout:\" | \"http://host/path\" | \"exec:CMD\" | mapped ARN,
   \"FilterPolicy\": {...} or \"JSON text\", \"FilterPolicyScope\": \"MessageAttributes\" | \"MessageBody\",
   \"RawMessageDelivery\": true | \"true\",
   \"RedrivePolicy\": {\"deadLetterTargetArn\": \"file:///dlq.ndjson\"},
   \"DeliveryPolicy\": {\"healthyRetryPolicy\": {\"numRetries\": 3}}}
  (these may also sit in an \"Attributes\" object, as get-subscription-attributes prints them).

MESSAGES: NDJSON files read in turn (`-` or none: stdin). A bad line is reported on
  stderr as `evmatch: FILE:LINE: REASON` and skipped.

Exit status: 0 all delivered, 1 some message lines were bad, 2 fatal (unreadable or
  invalid SUBSCRIPTIONS, a filter policy AWS would reject: `Invalid parameter: FilterPolicy: ...`),
  4 some deliveries were dead-lettered, 130 interrupted (Ctrl-C).

Example:
  evmatch fanout testdata/sns/fanout-subscriptions.json testdata/sns/fanout-messages.ndjson"
)]
pub struct FanoutArgs {
    /// The subscriptions (JSON)
    #[arg(value_name = "SUBSCRIPTIONS")]
    pub subscriptions: PathBuf,

    /// NDJSON files of Publish requests, read in turn (`-` or none: stdin)
    #[arg(value_name = "MESSAGES")]
    pub messages: Vec<PathBuf>,

    /// The topic's ARN (default: the file's TopicArn, else
    /// arn:aws:sns:us-east-1:000000000000:evmatch-local)
    #[arg(long, value_name = "ARN")]
    pub topic_arn: Option<String>,

    /// Print one JSON line per message and receiving subscription (with the
    /// body) instead of delivering
    #[arg(long)]
    pub dry_run: bool,

    /// Print {"subscription": messages received, ...} instead of delivering
    #[arg(long, conflicts_with = "dry_run")]
    pub count: bool,

    /// Dead-letter file of subscriptions without a RedrivePolicy [default:
    /// evmatch-dead-letter.ndjson, created on the first failure]
    #[arg(long, value_name = "FILE")]
    pub dead_letter: Option<PathBuf>,

    /// Deliver to URL what SUBSCRIPTIONS sends to the AWS ARN (repeatable)
    #[arg(long, value_name = "ARN=URL")]
    pub map_arn: Vec<String>,

    /// JSON file {"ARN": "URL", ...} of ARN mappings
    #[arg(long, value_name = "FILE")]
    pub arn_map: Option<PathBuf>,

    /// Delivery threads per subscription (file and stdout endpoints use one)
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub target_concurrency: usize,

    /// Deliveries waiting per subscription before reading pauses (smaller
    /// than `evmatch RULES`'s 4096: a topic may have thousands of
    /// subscriptions, each with its own queue)
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub queue_capacity: usize,

    /// First retry backoff step, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub retry_base_ms: u64,

    /// Longest retry backoff, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 20_000)]
    pub retry_cap_ms: u64,

    /// Timeout of HTTP endpoints, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 5000)]
    pub http_timeout_ms: u64,

    /// file: and stdout: endpoints write the body alone, not a record with
    /// the idempotency key
    #[arg(long)]
    pub raw_bodies: bool,

    /// PEM file of CA certificates that https:// endpoints also trust (a
    /// local CA, a self-signed server); repeatable
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Vec<PathBuf>,

    /// Longest run of an exec: endpoint's command, in seconds; then it is
    /// killed and the attempt fails with TIMEOUT (retried)
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = route::positive_secs)]
    pub exec_timeout: Duration,

    /// Longest accepted message line, in bytes [default: 1048576]
    #[arg(long, value_name = "N", default_value_t = 1 << 20)]
    pub max_line_bytes: usize,

    /// Do not report bad message lines on stderr (the exit status still
    /// says there were some)
    #[arg(long, short)]
    pub quiet: bool,
}

/// One subscription, validated.
#[derive(Debug)]
struct Subscription {
    /// `Name`, else `SubscriptionArn`: idempotency keys, summaries.
    name: String,
    /// `SubscriptionArn`, else `TOPICARN:NAME`.
    arn: String,
    /// The endpoint's local URL (after --map-arn).
    url: String,
    endpoint: Endpoint,
    policy: Option<FilterPolicy>,
    raw: bool,
    dead_letter: Option<PathBuf>,
    retries: u32,
}

/// Runs the command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = FanoutArgs::parse_from(args);
    let map = match arn_map(&args) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let (topic_arn, subs) = match load(&args, &map) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut builder = Topic::builder();
    for s in &subs {
        match &s.policy {
            Some(p) => builder.subscribe_compiled(&s.name, p.clone()),
            None => builder.subscribe_unfiltered(&s.name),
        }
    }
    let topic = builder.build();
    let inputs: Vec<Option<PathBuf>> = if args.messages.is_empty() {
        vec![None]
    } else {
        args.messages
            .iter()
            .map(|p| (p.as_os_str() != "-").then(|| p.clone()))
            .collect()
    };
    for p in inputs.iter().flatten() {
        if let Err(e) = std::fs::File::open(p) {
            common::error(&format!("cannot read {}: {e}", display(p)));
            return EXIT_FATAL;
        }
    }
    let fan = Fanout {
        args: &args,
        topic: &topic,
        topic_arn: &topic_arn,
        topic_name: topic_arn.rsplit(':').next().unwrap_or(&topic_arn),
        subs: &subs,
        fifo: topic_arn.ends_with(".fifo"),
    };
    if args.count || args.dry_run {
        let mut counts = vec![0u64; subs.len()];
        let mut out = std::io::stdout().lock();
        let r = fan.read_all(&inputs, &mut |m, receivers| {
            for &i in receivers {
                if let Some(c) = counts.get_mut(i) {
                    *c += 1;
                }
            }
            if args.dry_run {
                let mut line = Vec::new();
                fan.dry_run_lines(m, receivers, &mut line);
                if out.write_all(&line).is_err() {
                    return false;
                }
            }
            true
        });
        if args.count {
            let mut o = Vec::from(&b"{"[..]);
            for (k, (s, c)) in subs.iter().zip(&counts).enumerate() {
                if k > 0 {
                    o.push(b',');
                }
                push_json_str(&mut o, &s.name);
                o.extend_from_slice(format!(":{c}").as_bytes());
            }
            o.extend_from_slice(b"}\n");
            let _ = out.write_all(&o);
        } else {
            common::error(&format!(
                "dry run: {} messages read, {} deliveries shown; nothing was delivered",
                r.messages,
                counts.iter().sum::<u64>()
            ));
        }
        let _ = out.flush();
        return if r.bad > 0 { EXIT_BAD_INPUT } else { EXIT_OK };
    }
    let router = match fan.router() {
        Ok(r) => r,
        Err(code) => return code,
    };
    signal::install();
    let done = AtomicBool::new(false);
    let interrupted = AtomicBool::new(false);
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let (read, summary) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| route::watch(&router, &done, &interrupted, progress));
        let mut jobs = Vec::new();
        let mut bodies = Vec::new();
        let read = fan.read_all(&inputs, &mut |m, receivers| {
            if receivers.is_empty() {
                return true;
            }
            bodies.clear();
            let mut envelope: Option<Arc<str>> = None;
            let mut bare: Option<Arc<str>> = None;
            for &i in receivers {
                let Some(s) = subs.get(i) else { continue };
                let body = if s.raw {
                    bare.get_or_insert_with(|| Arc::from(m.message.as_str()))
                } else {
                    envelope.get_or_insert_with(|| Arc::from(fan.envelope(m)))
                };
                bodies.push((i, Arc::clone(body)));
            }
            router.prepare_bodies(&m.line, Some(&m.message_id), &bodies, m.received, &mut jobs);
            router.submit_all(std::mem::take(&mut jobs));
            true
        });
        let summary = router.finish();
        done.store(true, Ordering::SeqCst);
        watcher.thread().unpark();
        (read, summary)
    });
    let mut note = format!(
        "evmatch: fanout: {} messages read, {} matched no subscription",
        read.messages, read.unmatched
    );
    if read.duplicates > 0 {
        note.push_str(&format!(
            ", {} skipped as duplicates (MessageDeduplicationId)",
            read.duplicates
        ));
    }
    common::stderr_lines(&note);
    route::print_summary(&summary);
    if interrupted.load(Ordering::SeqCst) || signal::count() > 0 {
        EXIT_INTERRUPTED
    } else if summary.total(|t| t.dead_lettered + t.dropped + t.lost) > 0 {
        EXIT_DEAD_LETTERED
    } else if read.bad > 0 {
        EXIT_BAD_INPUT
    } else {
        EXIT_OK
    }
}

fn arn_map(args: &FanoutArgs) -> Result<ArnMap, u8> {
    route::build_arn_map(args.arn_map.as_ref(), &args.map_arn, |text| {
        let v = evmatch_json::parse_value(text).map_err(|e| e.to_string())?;
        let Value::Object(members) = v else {
            return Ok(None);
        };
        Ok(Some(
            members
                .into_iter()
                .map(|(arn, url)| match url {
                    Value::String(url) => (arn, Some(url)),
                    _ => (arn, None),
                })
                .collect(),
        ))
    })
}

/// Keys a subscription object may have (others are warned about).
const KNOWN_KEYS: &[&str] = &[
    "SubscriptionArn",
    "Name",
    "Endpoint",
    "Protocol",
    "TopicArn",
    "Owner",
    "FilterPolicy",
    "FilterPolicyScope",
    "RawMessageDelivery",
    "RedrivePolicy",
    "DeliveryPolicy",
    "EffectiveDeliveryPolicy",
    "Attributes",
    "PendingConfirmation",
    "ConfirmationWasAuthenticated",
    "SubscriptionRoleArn",
    "ReplayPolicy",
    "ReplayStatus",
];

/// Reads and validates SUBSCRIPTIONS; reports every problem and returns
/// `Err(2)` if there is any.
fn load(args: &FanoutArgs, map: &ArnMap) -> Result<(String, Vec<Subscription>), u8> {
    let file = display(&args.subscriptions);
    let text = std::fs::read_to_string(&args.subscriptions).map_err(|e| {
        common::error(&format!("cannot read subscriptions file {file}: {e}"));
        EXIT_FATAL
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let v = evmatch_json::parse_value(text).map_err(|e| {
        common::error(&format!(
            "{file}: invalid JSON: {}",
            evmatch_router::shorten_json_message(&e.to_string(), "the subscriptions file")
        ));
        EXIT_FATAL
    })?;
    let (file_topic, list) = match v {
        Value::Array(items) => (None, items),
        Value::Object(members) => {
            let mut topic = None;
            let mut list = None;
            for (k, v) in members {
                match (k.as_str(), v) {
                    ("TopicArn", Value::String(s)) => topic = Some(s),
                    ("Subscriptions", Value::Array(items)) => list = Some(items),
                    _ => {}
                }
            }
            match list {
                Some(l) => (topic, l),
                None => {
                    common::error(&format!(
                        "{file}: expected a JSON array of subscriptions or an object with a \
                         \"Subscriptions\" array"
                    ));
                    return Err(EXIT_FATAL);
                }
            }
        }
        _ => {
            common::error(&format!(
                "{file}: expected a JSON array of subscriptions or an object with a \
                 \"Subscriptions\" array"
            ));
            return Err(EXIT_FATAL);
        }
    };
    // The topic: --topic-arn, the file's, the subscriptions' (one only).
    let mut topic_arn = args.topic_arn.clone().or(file_topic);
    if topic_arn.is_none() {
        topic_arn = list.iter().find_map(|s| match field(s, "TopicArn") {
            Some(Value::String(t)) => Some(t.clone()),
            _ => None,
        });
    }
    let topic_arn = topic_arn.unwrap_or_else(|| DEFAULT_TOPIC_ARN.to_string());
    let default_dlq = args
        .dead_letter
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DEAD_LETTER));
    let mut failed = false;
    let mut subs: Vec<Subscription> = Vec::new();
    let mut names: HashSet<String> = HashSet::new();
    for (k, item) in list.iter().enumerate() {
        let at = format!("{file}: subscription {}", k + 1);
        match subscription(item, &topic_arn, map, &at) {
            Ok(None) => {}
            Ok(Some(mut s)) => {
                if !names.insert(s.name.clone()) {
                    common::error(&format!(
                        "{at}: {:?} names another subscription too (identities must be unique)",
                        s.name
                    ));
                    failed = true;
                    continue;
                }
                if s.dead_letter.is_none() {
                    s.dead_letter = Some(default_dlq.clone());
                }
                subs.push(s);
            }
            Err(messages) => {
                for m in messages {
                    common::stderr_lines(&format!("evmatch: {m}"));
                }
                failed = true;
            }
        }
    }
    if failed {
        return Err(EXIT_FATAL);
    }
    if subs.is_empty() {
        common::error(&format!("warning: {file}: no subscriptions"));
    }
    Ok((topic_arn, subs))
}

/// A member of a subscription, at top level or in its "Attributes".
fn field<'a>(s: &'a Value, key: &str) -> Option<&'a Value> {
    match s.get(key) {
        Some(Value::Null) | None => match s.get("Attributes") {
            Some(a) => a.get(key).filter(|v| !matches!(v, Value::Null)),
            None => None,
        },
        v => v,
    }
}

/// A string-valued member; `Err` when it is there but not a string.
fn string_field<'a>(s: &'a Value, key: &str) -> Result<Option<&'a str>, String> {
    match field(s, key) {
        None => Ok(None),
        Some(Value::String(t)) => Ok(Some(t)),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

/// An object member given as an object or as JSON text (SNS attributes are
/// strings).
fn object_field(s: &Value, key: &str) -> Result<Option<Value>, String> {
    match field(s, key) {
        None => Ok(None),
        Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
        Some(Value::String(t)) if t.trim().is_empty() => Ok(None),
        Some(Value::String(t)) => match evmatch_json::parse_value(t) {
            Ok(v @ Value::Object(_)) => Ok(Some(v)),
            Ok(_) => Err(format!("{key} must be a JSON object")),
            Err(e) => Err(format!("{key}: invalid JSON: {e}")),
        },
        Some(_) => Err(format!("{key} must be a JSON object (or its text)")),
    }
}

/// Validates one subscription. `Ok(None)`: skipped (pending confirmation).
fn subscription(
    item: &Value,
    topic_arn: &str,
    map: &ArnMap,
    at: &str,
) -> Result<Option<Subscription>, Vec<String>> {
    if !item.is_object() {
        return Err(vec![format!("{at}: a subscription must be a JSON object")]);
    }
    let mut errors = Vec::new();
    let mut err = |m: String| errors.push(m);
    let text = |k: &str, err: &mut dyn FnMut(String)| match string_field(item, k) {
        Ok(v) => v.map(str::to_string),
        Err(e) => {
            err(e);
            None
        }
    };
    let sub_arn = text("SubscriptionArn", &mut err);
    let name = text("Name", &mut err);
    if sub_arn.as_deref() == Some("PendingConfirmation") && name.is_none() {
        common::error(&format!(
            "warning: {at}: pending confirmation, so SNS delivers nothing to it; skipped"
        ));
        return Ok(None);
    }
    let Some(identity) = name.clone().or_else(|| sub_arn.clone()) else {
        return Err(vec![format!(
            "{at}: a subscription needs a SubscriptionArn or a Name"
        )]);
    };
    let at = format!("{at} ({identity:?})");
    let mut errors: Vec<String> = errors.into_iter().map(|e| format!("{at}: {e}")).collect();
    let mut err = |m: String| errors.push(format!("{at}: {m}"));
    if let Value::Object(members) = item {
        for (k, _) in members {
            if !KNOWN_KEYS.contains(&k.as_str()) {
                common::error(&format!("warning: {at}: unknown key {k:?} ignored"));
            }
        }
    }
    if let Some(t) = text("TopicArn", &mut err) {
        if t != topic_arn {
            err(format!(
                "TopicArn {t} is not the topic {topic_arn} (one topic per run)"
            ));
        }
    }
    let arn = sub_arn
        .filter(|a| a != "PendingConfirmation")
        .unwrap_or_else(|| format!("{topic_arn}:{identity}"));
    // The endpoint.
    let mut url = String::new();
    let mut endpoint = None;
    match text("Endpoint", &mut err) {
        None => err("a subscription needs an Endpoint (file:///path, stdout:, http://host/path, exec:COMMAND, or an ARN mapped with --map-arn)".into()),
        Some(e) => {
            url = map.get(&e).unwrap_or(&e).to_string();
            match Endpoint::parse(&url) {
                Ok(Endpoint::Aws(a)) => err(format!(
                    "Endpoint {a} is an AWS ARN without a local mapping (--map-arn ARN=URL)"
                )),
                Ok(Endpoint::Custom { url, .. }) => {
                    err(format!("Endpoint {url}: no local target for this scheme"))
                }
                Ok(ep) => endpoint = Some(ep),
                Err(e) => err(format!("Endpoint: {e}")),
            }
        }
    }
    // The filter policy (SPEC.md §5.1: the scope is checked first).
    let scope = match text("FilterPolicyScope", &mut err) {
        None => Some(FilterPolicyScope::default()),
        Some(s) => match s.parse::<FilterPolicyScope>() {
            Ok(s) => Some(s),
            Err(e) => {
                err(e.aws_message());
                None
            }
        },
    };
    let policy_text = match field(item, "FilterPolicy") {
        None => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(v @ Value::Object(_)) => Some(to_compact(v)),
        Some(_) => {
            err("FilterPolicy must be a JSON object or its text".into());
            None
        }
    };
    let mut policy = None;
    if let (Some(scope), Some(t)) = (scope, policy_text) {
        match FilterPolicy::compile(&t, scope) {
            Ok(p) => policy = Some(p),
            Err(e) => {
                let mut m = e.aws_message();
                if !e.path().is_empty() {
                    m.push_str(&format!("\n  (at {})", e.path()));
                }
                err(m);
            }
        }
    }
    let raw = match field(item, "RawMessageDelivery") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => true,
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            err("RawMessageDelivery must be true or false".into());
            false
        }
    };
    let mut dead_letter = None;
    match object_field(item, "RedrivePolicy") {
        Err(e) => err(e),
        Ok(None) => {}
        Ok(Some(p)) => match p.get("deadLetterTargetArn") {
            Some(Value::String(a)) => {
                let u = map.get(a).unwrap_or(a);
                match Endpoint::parse(u) {
                    Ok(Endpoint::File(p)) => dead_letter = Some(p),
                    _ => err(format!(
                        "RedrivePolicy: deadLetterTargetArn {a} must be (or be mapped with \
                         --map-arn to) a file:// URL"
                    )),
                }
            }
            _ => err("RedrivePolicy needs a deadLetterTargetArn string".into()),
        },
    }
    let mut retries = DEFAULT_NUM_RETRIES;
    match object_field(item, "DeliveryPolicy") {
        Err(e) => err(e),
        Ok(None) => {}
        Ok(Some(p)) => {
            let n = p
                .get("healthyRetryPolicy")
                .and_then(|h| h.get("numRetries"));
            match n {
                None => {}
                Some(Value::Number(n)) => match n.parse::<u32>() {
                    Ok(n) if n <= MAX_NUM_RETRIES => retries = n,
                    _ => err(format!(
                        "DeliveryPolicy: healthyRetryPolicy.numRetries must be an integer \
                         from 0 to {MAX_NUM_RETRIES}"
                    )),
                },
                Some(_) => {
                    err("DeliveryPolicy: healthyRetryPolicy.numRetries must be a number".into())
                }
            }
        }
    }
    match endpoint {
        Some(endpoint) if errors.is_empty() => Ok(Some(Subscription {
            name: identity,
            arn,
            url,
            endpoint,
            policy,
            raw,
            dead_letter,
            retries,
        })),
        _ => Err(errors),
    }
}

/// One Publish request, read and checked.
struct Published {
    /// The request as read (JSON text).
    line: String,
    /// Where it was read: the "file" of dry-run lines (several inputs).
    file: Option<String>,
    line_no: usize,
    message_id: String,
    message: String,
    subject: Option<String>,
    /// (name, DataType, value) in request order, for the envelope.
    attributes: Vec<(String, String, String)>,
    group_id: Option<String>,
    dedup_id: Option<String>,
    timestamp: String,
    received: Instant,
}

/// What reading the inputs found.
#[derive(Debug, Default)]
struct ReadCounts {
    messages: u64,
    bad: u64,
    unmatched: u64,
    duplicates: u64,
}

struct Fanout<'a> {
    args: &'a FanoutArgs,
    topic: &'a Topic,
    topic_arn: &'a str,
    topic_name: &'a str,
    subs: &'a [Subscription],
    fifo: bool,
}

impl Fanout<'_> {
    /// The router: one rule named after the topic, one target per
    /// subscription (target index = subscription index).
    fn router(&self) -> Result<Router, u8> {
        let a = self.args;
        let (options, config) = route::DeliveryFlags {
            raw_bodies: a.raw_bodies,
            http_timeout_ms: a.http_timeout_ms,
            exec_timeout: a.exec_timeout,
            target_concurrency: a.target_concurrency,
            queue_capacity: a.queue_capacity,
            retry_base_ms: a.retry_base_ms,
            retry_cap_ms: a.retry_cap_ms,
        }
        .settings();
        let tls = route::load_ca_certs(&a.ca_cert)?;
        let mut dlqs: HashMap<PathBuf, Arc<dyn DeadLetterSink>> = HashMap::new();
        let mut builder = RouterBuilder::new(config);
        let rule = builder.add_rule(self.topic_name);
        for s in self.subs {
            let mut headers = vec![
                (
                    "x-amz-sns-message-type".to_string(),
                    "Notification".to_string(),
                ),
                (
                    "x-amz-sns-topic-arn".to_string(),
                    self.topic_arn.to_string(),
                ),
                ("x-amz-sns-subscription-arn".to_string(), s.arn.clone()),
            ];
            if s.raw {
                headers.push(("x-amz-sns-rawdelivery".to_string(), "true".to_string()));
            }
            let deliver =
                match sinks::builtin_with_tls(&s.endpoint, &headers, &options, tls.as_ref()) {
                    Ok(d) => d,
                    Err(e) => {
                        common::error(&format!("subscription {:?}: {e}", s.name));
                        return Err(EXIT_FATAL);
                    }
                };
            // A raw message is text: a text-mode input makes the router
            // write it as a JSON string in records (it never transforms:
            // the bodies are made here).
            let input = if s.raw {
                match InputTransformer::new(&[], "raw message", &s.name) {
                    Ok(t) => TargetInput::Transformer(t),
                    Err(_) => TargetInput::Event,
                }
            } else {
                TargetInput::Event
            };
            let target = Target {
                id: s.name.clone(),
                arn: s.arn.clone(),
                input,
                retry_policy: RetryPolicy {
                    maximum_retry_attempts: s.retries,
                    ..RetryPolicy::default()
                },
                dead_letter_arn: None,
                http_headers: headers,
            };
            let dead_letter = s.dead_letter.as_ref().map(|p| {
                Arc::clone(dlqs.entry(p.clone()).or_insert_with(|| {
                    Arc::new(SnsDeadLetter {
                        file: DeadLetterFile::new(p.clone()),
                        topic_arn: self.topic_arn.to_string(),
                    }) as Arc<dyn DeadLetterSink>
                }))
            });
            builder.add_target(rule, target, &s.url, deliver, dead_letter);
        }
        Ok(builder.start())
    }

    /// Reads every input, calling `each` with every good message and the
    /// subscriptions that receive it (ascending); stops early when `each`
    /// says `false` or on Ctrl-C.
    fn read_all(
        &self,
        inputs: &[Option<PathBuf>],
        each: &mut dyn FnMut(&Published, &[usize]) -> bool,
    ) -> ReadCounts {
        let mut counts = ReadCounts::default();
        let mut seen_dedup: HashSet<String> = HashSet::new();
        let mut receivers = Vec::new();
        let several = inputs.len() > 1;
        for (n, input) in inputs.iter().enumerate() {
            let (label, file_name, reader): (String, String, Box<dyn Read>) = match input {
                None => ("stdin".into(), "-".into(), Box::new(std::io::stdin())),
                Some(p) => match std::fs::File::open(p) {
                    Ok(f) => (display(p), display(p), Box::new(f)),
                    Err(e) => {
                        common::error(&format!("cannot read {}: {e}", display(p)));
                        counts.bad += 1;
                        continue;
                    }
                },
            };
            let mut reader = BufReader::with_capacity(1 << 16, reader);
            let mut buf = Vec::new();
            let mut line_no = 0usize;
            loop {
                let got = next_line(
                    &mut reader,
                    &mut buf,
                    self.args.max_line_bytes,
                    input.is_none(),
                );
                line_no += 1;
                let bad = |counts: &mut ReadCounts, reason: &str| {
                    counts.bad += 1;
                    if !self.args.quiet {
                        common::error(&format!("{label}:{line_no}: {reason}"));
                    }
                };
                match got {
                    Ok(Got::Eof) => break,
                    Ok(Got::Interrupted) => return counts,
                    Ok(Got::TooLong(len)) => {
                        bad(
                            &mut counts,
                            &format!(
                                "the line is {len} bytes long, more than the limit of {} \
                                 (--max-line-bytes)",
                                self.args.max_line_bytes
                            ),
                        );
                        continue;
                    }
                    Ok(Got::Line) => {}
                    Err(e) => {
                        bad(&mut counts, &format!("read error: {e}"));
                        break;
                    }
                }
                let mut bytes = buf.as_slice();
                if line_no == 1 {
                    bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
                }
                if bytes.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let Ok(text) = std::str::from_utf8(bytes) else {
                    bad(&mut counts, "the line is not valid UTF-8");
                    continue;
                };
                let published = match publish_request(text, n, line_no) {
                    Ok(p) => p,
                    Err(reason) => {
                        bad(&mut counts, &reason);
                        continue;
                    }
                };
                let Published {
                    message, dedup_id, ..
                } = &published;
                if self.fifo {
                    if published.group_id.is_none() {
                        bad(
                            &mut counts,
                            "a FIFO topic needs a MessageGroupId on every message",
                        );
                        continue;
                    }
                    if let Some(d) = dedup_id {
                        if !seen_dedup.insert(d.clone()) {
                            counts.duplicates += 1;
                            continue;
                        }
                    }
                }
                counts.messages += 1;
                let prepared = match Message::new(message.as_str())
                    .with_attributes_typed(&published.attributes)
                {
                    Ok(m) => m.into_prepared(),
                    Err(reason) => {
                        counts.messages -= 1;
                        bad(&mut counts, &reason);
                        continue;
                    }
                };
                self.topic.receivers_into(&prepared, &mut receivers);
                if receivers.is_empty() {
                    counts.unmatched += 1;
                }
                let p = Published {
                    file: several.then(|| file_name.clone()),
                    ..published
                };
                if !each(&p, &receivers) {
                    return counts;
                }
            }
        }
        counts
    }

    /// The notification JSON of a message (SPEC-free: AWS's field order,
    /// without the signature fields; see the module documentation).
    fn envelope(&self, m: &Published) -> String {
        let mut o = String::with_capacity(m.message.len() + 256);
        o.push_str("{\"Type\":\"Notification\",\"MessageId\":");
        write_json_string(&m.message_id, &mut o);
        o.push_str(",\"TopicArn\":");
        write_json_string(self.topic_arn, &mut o);
        if let Some(s) = &m.subject {
            o.push_str(",\"Subject\":");
            write_json_string(s, &mut o);
        }
        o.push_str(",\"Message\":");
        write_json_string(&m.message, &mut o);
        o.push_str(",\"Timestamp\":");
        write_json_string(&m.timestamp, &mut o);
        if !m.attributes.is_empty() {
            o.push_str(",\"MessageAttributes\":{");
            for (k, (name, data_type, value)) in m.attributes.iter().enumerate() {
                if k > 0 {
                    o.push(',');
                }
                write_json_string(name, &mut o);
                o.push_str(":{\"Type\":");
                write_json_string(data_type, &mut o);
                o.push_str(",\"Value\":");
                write_json_string(value, &mut o);
                o.push('}');
            }
            o.push('}');
        }
        o.push('}');
        o
    }

    /// Dry run: one line per receiving subscription.
    fn dry_run_lines(&self, m: &Published, receivers: &[usize], out: &mut Vec<u8>) {
        let mut envelope: Option<String> = None;
        for &i in receivers {
            let Some(s) = self.subs.get(i) else { continue };
            out.push(b'{');
            if let Some(f) = &m.file {
                out.extend_from_slice(b"\"file\":");
                push_json_str(out, f);
                out.push(b',');
            }
            out.extend_from_slice(format!("\"line\":{},\"subscription\":", m.line_no).as_bytes());
            push_json_str(out, &s.name);
            out.extend_from_slice(b",\"url\":");
            push_json_str(out, &s.url);
            out.extend_from_slice(b",\"idempotency_key\":");
            // The router's key: EVENT/RULE/TARGET (delivery.rs).
            let key = format!(
                "{}/{}/{}",
                delivery::percent(&m.message_id),
                delivery::percent(self.topic_name),
                delivery::percent(&s.name)
            );
            push_json_str(out, &key);
            out.extend_from_slice(b",\"body\":");
            if s.raw {
                push_json_str(out, &m.message);
            } else {
                let e = envelope.get_or_insert_with(|| self.envelope(m));
                out.extend_from_slice(e.as_bytes());
            }
            out.extend_from_slice(b"}\n");
        }
    }
}

/// Dead-letter records in SNS words: the router's record (SPEC.md §6
/// attributes) with `topic`/`subscription` for `rule`/`target`,
/// `TOPIC_ARN`/`SUBSCRIPTION_ARN` for `RULE_ARN`/`TARGET_ARN` and
/// `request` (the Publish request) for `event`.
struct SnsDeadLetter {
    file: DeadLetterFile,
    topic_arn: String,
}

impl DeadLetterSink for SnsDeadLetter {
    fn write(&self, record: &str) -> std::io::Result<()> {
        let rewritten = match evmatch_json::parse_value(record) {
            Ok(Value::Object(members)) => {
                let members = members
                    .into_iter()
                    .map(|(k, v)| match k.as_str() {
                        "rule" => ("topic".to_string(), v),
                        "target" => ("subscription".to_string(), v),
                        "RULE_ARN" => (
                            "TOPIC_ARN".to_string(),
                            Value::String(self.topic_arn.clone()),
                        ),
                        "TARGET_ARN" => ("SUBSCRIPTION_ARN".to_string(), v),
                        "event" => ("request".to_string(), v),
                        _ => (k, v),
                    })
                    .collect();
                to_compact(&Value::Object(members))
            }
            _ => record.to_string(),
        };
        self.file.write(&rewritten)
    }

    fn name(&self) -> String {
        self.file.name()
    }
}

enum Got {
    Line,
    TooLong(u64),
    Eof,
    Interrupted,
}

/// Reads one line (without holding more than `max` bytes of it) into
/// `buf`. On stdin it waits for input while watching for Ctrl-C.
fn next_line(
    reader: &mut BufReader<Box<dyn Read>>,
    buf: &mut Vec<u8>,
    max: usize,
    stdin: bool,
) -> std::io::Result<Got> {
    buf.clear();
    loop {
        if signal::count() > 0 {
            return Ok(Got::Interrupted);
        }
        if !stdin || !reader.buffer().is_empty() || signal::stdin_ready(Duration::from_millis(100))
        {
            break;
        }
    }
    let limit = if max == 0 { u64::MAX } else { max as u64 + 1 };
    let n = reader.by_ref().take(limit).read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(Got::Eof);
    }
    if buf.last() == Some(&b'\n') || max == 0 || buf.len() <= max {
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        return Ok(Got::Line);
    }
    // Too long: drop the rest of it.
    let mut len = buf.len() as u64;
    buf.clear();
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        match memchr::memchr(b'\n', chunk) {
            Some(i) => {
                len += i as u64;
                reader.consume(i + 1);
                break;
            }
            None => {
                let k = chunk.len();
                len += k as u64;
                reader.consume(k);
            }
        }
    }
    Ok(Got::TooLong(len))
}

/// Reads a Publish request line.
fn publish_request(text: &str, input: usize, line_no: usize) -> Result<Published, String> {
    let v = evmatch_json::parse_value(text).map_err(|e| {
        format!(
            "invalid JSON: {}",
            evmatch_router::shorten_json_message(&e.to_string(), "the line")
        )
    })?;
    let Value::Object(_) = &v else {
        return Err("a Publish request must be a JSON object {\"Message\": ...}".into());
    };
    let string = |k: &str| -> Result<Option<String>, String> {
        match v.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{k} must be a string")),
        }
    };
    let message = match string("Message")? {
        None => return Err("a Publish request needs a Message (a string)".into()),
        Some(m) if m.is_empty() => return Err("Invalid parameter: Empty message".into()),
        Some(m) => m,
    };
    if let Some(s) = string("MessageStructure")? {
        return Err(format!(
            "MessageStructure {s:?} is not supported (publish the message for each protocol \
             separately)"
        ));
    }
    let subject = string("Subject")?;
    let group_id = string("MessageGroupId")?;
    let dedup_id = string("MessageDeduplicationId")?;
    let mut attributes = Vec::new();
    match v.get("MessageAttributes") {
        None | Some(Value::Null) => {}
        Some(Value::Object(attrs)) => {
            for (name, spec) in attrs {
                let s = |keys: &[&str]| -> Result<Option<String>, String> {
                    for k in keys {
                        match spec.get(k) {
                            None | Some(Value::Null) => {}
                            Some(Value::String(s)) => return Ok(Some(s.clone())),
                            Some(_) => {
                                return Err(format!(
                                    "MessageAttributes.{name}.{k} must be a string"
                                ))
                            }
                        }
                    }
                    Ok(None)
                };
                if !spec.is_object() {
                    return Err(format!(
                        "MessageAttributes.{name} must be an object {{\"DataType\": ..., \
                         \"StringValue\": ...}}"
                    ));
                }
                let Some(data_type) = s(&["DataType", "Type"])? else {
                    return Err(format!("MessageAttributes.{name} needs a DataType"));
                };
                let value = s(&["StringValue", "BinaryValue", "Value"])?;
                let Some(value) = value else {
                    return Err(format!(
                        "MessageAttributes.{name} needs a StringValue (BinaryValue for Binary)"
                    ));
                };
                attributes.push((name.clone(), data_type, value));
            }
        }
        Some(_) => return Err("MessageAttributes must be a JSON object".into()),
    }
    // Publish's limit: the message, the subject and the attributes together.
    let size = message.len()
        + subject.as_ref().map_or(0, String::len)
        + attributes
            .iter()
            .map(|(n, t, v)| n.len() + t.len() + v.len())
            .sum::<usize>();
    if size > MAX_PUBLISH_BYTES {
        return Err(format!(
            "Invalid parameter: Message too long ({size} bytes with the subject and the \
             attributes; at most {MAX_PUBLISH_BYTES})"
        ));
    }
    Ok(Published {
        line: text.to_string(),
        file: None,
        line_no,
        message_id: message_id(input, line_no, text),
        message,
        subject,
        attributes,
        group_id,
        dedup_id,
        timestamp: timestamp_ms(),
        received: Instant::now(),
    })
}

/// Adds typed attributes (name, DataType, value) to a message.
trait WithTyped: Sized {
    fn with_attributes_typed(self, attrs: &[(String, String, String)]) -> Result<Self, String>;
}

impl WithTyped for Message {
    fn with_attributes_typed(
        mut self,
        attrs: &[(String, String, String)],
    ) -> Result<Message, String> {
        for (name, data_type, value) in attrs {
            let a = Attribute::new(data_type, Some(value))
                .map_err(|e| format!("MessageAttributes.{name}: {e}"))?;
            self = self.with_attribute(name.clone(), a);
        }
        Ok(self)
    }
}

/// A UUID-shaped message id (version nibble 8, RFC 9562's custom
/// version) from the input number, the line number and the line's text:
/// the same input gives the same ids in every run.
pub fn message_id(input: usize, line_no: usize, text: &str) -> String {
    let mut seed = format!("evmatch-sns\u{0}{input}\u{0}{line_no}\u{0}").into_bytes();
    seed.extend_from_slice(text.as_bytes());
    let hi = delivery::stable_hash(&seed);
    seed.push(1);
    let lo = delivery::stable_hash(&seed);
    let hi = (hi & !0xf000) | 0x8000; // version 8
    let lo = (lo & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000; // variant 10
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// Now as ISO-8601 UTC with milliseconds, as SNS's `Timestamp`.
fn timestamp_ms() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = delivery::iso8601(d.as_secs());
    let base = secs.strip_suffix('Z').unwrap_or(&secs);
    format!("{base}.{:03}Z", d.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_uuid_shaped_and_stable() {
        let a = message_id(0, 1, "{\"Message\":\"x\"}");
        assert_eq!(a, message_id(0, 1, "{\"Message\":\"x\"}"));
        assert_ne!(a, message_id(0, 2, "{\"Message\":\"x\"}"));
        assert_ne!(a, message_id(1, 1, "{\"Message\":\"x\"}"));
        assert_ne!(a, message_id(0, 1, "{\"Message\":\"y\"}"));
        let parts: Vec<usize> = a.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert!(a.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
        assert_eq!(a.as_bytes().get(14), Some(&b'8'));
        assert!(matches!(
            a.as_bytes().get(19),
            Some(b'8' | b'9' | b'a' | b'b')
        ));
    }

    #[test]
    fn timestamps_have_milliseconds() {
        let t = timestamp_ms();
        assert_eq!(t.len(), "2024-01-02T03:04:05.678Z".len(), "{t}");
        assert_eq!(t.as_bytes().get(19), Some(&b'.'));
        assert!(t.ends_with('Z'));
    }
}
