//! Targets, in the shape of EventBridge's `PutTargets` (SPEC.md §4.1, §6).
//!
//! A rules file's `Targets` array holds objects with `Id`, `Arn`, at most
//! one of `Input` / `InputPath` / `InputTransformer`, an optional
//! `RetryPolicy`, `DeadLetterConfig` and `HttpParameters`. [`Target::from_json`]
//! validates one such object with AWS's texts and limits; other AWS fields
//! (`RoleArn`, `SqsParameters`, ...) are accepted and ignored.
//!
//! Locally a target's `Arn` is a URL ([`Endpoint`]): `stdout:`,
//! `file:///path/out.ndjson`, `http://...` / `https://...`, `exec:COMMAND`,
//! or any other `scheme:...` that a library user delivers with their own
//! [`Deliver`] implementation. A real AWS ARN (`arn:...`) is kept as is and
//! can be mapped to a local URL with an [`ArnMap`].
//!
//! ```
//! use evmatch_router::target::{ArnMap, Endpoint, Target};
//! let t: serde_json::Value = serde_json::from_str(r#"{
//!     "Id": "to-queue",
//!     "Arn": "arn:aws:sqs:us-east-1:123456789012:orders",
//!     "InputPath": "$.detail"
//! }"#).unwrap();
//! let target = Target::from_json(&t)?;
//! let mut map = ArnMap::default();
//! map.insert("arn:aws:sqs:us-east-1:123456789012:orders", "file:///tmp/orders.ndjson")?;
//! assert_eq!(target.endpoint(&map)?, Endpoint::File("/tmp/orders.ndjson".into()));
//! # Ok::<(), evmatch_router::transform::ConfigError>(())
//! ```

use crate::transform::{ConfigError, ConfigErrorKind, TargetInput, TransformerConfig};
use serde_json::Value as Json;
use std::fmt;
use std::path::PathBuf;

/// Default and bounds of `RetryPolicy.MaximumRetryAttempts` (SPEC.md §6).
pub const MAX_RETRY_ATTEMPTS: u32 = 185;
/// Default and upper bound of `RetryPolicy.MaximumEventAgeInSeconds` (SPEC.md §6).
pub const MAX_EVENT_AGE_SECONDS: u32 = 86_400;
/// Lower bound of `RetryPolicy.MaximumEventAgeInSeconds` (SPEC.md §6).
pub const MIN_EVENT_AGE_SECONDS: u32 = 60;

/// Where a target delivers, read from its `Arn`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Endpoint {
    /// `stdout:` — one delivery per line on standard output.
    Stdout,
    /// `file:///path` — appended, one delivery per line.
    File(PathBuf),
    /// `http://...` or `https://...` — POSTed, like an API destination.
    Http(String),
    /// `exec:COMMAND` — the command receives the delivery on stdin.
    Exec(String),
    /// A real AWS ARN that no [`ArnMap`] entry maps to a local URL.
    Aws(String),
    /// Any other `scheme:rest` URL, for targets plugged in by library users.
    Custom {
        /// The scheme, without the colon.
        scheme: String,
        /// The whole URL.
        url: String,
    },
}

impl Endpoint {
    /// Reads a local target URL (or keeps an AWS ARN as [`Endpoint::Aws`]).
    pub fn parse(url: &str) -> Result<Endpoint, String> {
        let Some(colon) = url.find(':') else {
            return Err(format!(
                "{url} is neither a URL (stdout:, file://, http://, https://, exec:) nor an ARN"
            ));
        };
        let scheme = url.get(..colon).unwrap_or("");
        let rest = url.get(colon + 1..).unwrap_or("");
        let valid_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !valid_scheme {
            return Err(format!("{url} does not start with a URL scheme"));
        }
        match scheme.to_ascii_lowercase().as_str() {
            "stdout" => {
                if rest.is_empty() || rest == "//" {
                    Ok(Endpoint::Stdout)
                } else {
                    Err(format!("{url}: stdout: takes nothing after the colon"))
                }
            }
            "file" => {
                let path = rest.strip_prefix("//").unwrap_or(rest);
                if path.is_empty() {
                    Err(format!(
                        "{url}: file: needs a path, as in file:///tmp/out.ndjson"
                    ))
                } else {
                    Ok(Endpoint::File(PathBuf::from(path)))
                }
            }
            "http" | "https" => {
                if rest.strip_prefix("//").is_some_and(|h| !h.is_empty()) {
                    Ok(Endpoint::Http(url.to_string()))
                } else {
                    Err(format!("{url}: an HTTP URL needs a host"))
                }
            }
            "exec" => {
                if rest.trim().is_empty() {
                    Err(format!("{url}: exec: needs a command"))
                } else {
                    Ok(Endpoint::Exec(rest.to_string()))
                }
            }
            "arn" => Ok(Endpoint::Aws(url.to_string())),
            _ => Ok(Endpoint::Custom {
                scheme: scheme.to_string(),
                url: url.to_string(),
            }),
        }
    }
}

/// Maps real AWS ARNs (from an exported rules file) to local URLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArnMap {
    entries: Vec<(String, String)>,
}

impl ArnMap {
    /// Maps `arn` to the local `url` (checked with [`Endpoint::parse`]).
    pub fn insert(&mut self, arn: &str, url: &str) -> Result<(), ConfigError> {
        match Endpoint::parse(url) {
            Ok(Endpoint::Aws(_)) | Err(_) => Err(ConfigError::new(
                ConfigErrorKind::Constraint,
                format!("cannot map {arn} to {url}: not a local target URL"),
            )),
            Ok(_) => {
                self.entries.retain(|(a, _)| a != arn);
                self.entries.push((arn.to_string(), url.to_string()));
                Ok(())
            }
        }
    }

    /// Parses `ARN=URL`, as the command line gives it.
    pub fn insert_pair(&mut self, pair: &str) -> Result<(), ConfigError> {
        match pair.split_once('=') {
            Some((arn, url)) => self.insert(arn, url),
            None => Err(ConfigError::new(
                ConfigErrorKind::Shape,
                format!("expected ARN=URL, found {pair}"),
            )),
        }
    }

    /// The local URL for `arn`, if mapped.
    pub fn get(&self, arn: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(a, _)| a == arn)
            .map(|(_, u)| u.as_str())
    }
}

/// `RetryPolicy` (SPEC.md §6): retrying stops at whichever limit comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// 0–185; default 185.
    pub maximum_retry_attempts: u32,
    /// 60–86,400 seconds; default 86,400 (24 h).
    pub maximum_event_age_seconds: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            maximum_retry_attempts: MAX_RETRY_ATTEMPTS,
            maximum_event_age_seconds: MAX_EVENT_AGE_SECONDS,
        }
    }
}

/// One validated target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `Id`: 1–64 characters from `[.-_A-Za-z0-9]`.
    pub id: String,
    /// `Arn`, as written: a local URL or an AWS ARN.
    pub arn: String,
    /// What the target receives.
    pub input: TargetInput,
    /// `RetryPolicy` (defaults when absent).
    pub retry_policy: RetryPolicy,
    /// `DeadLetterConfig.Arn`: where failed deliveries go, if anywhere.
    pub dead_letter_arn: Option<String>,
    /// `HttpParameters.HeaderParameters`, for `http(s)` targets, in file order.
    pub http_headers: Vec<(String, String)>,
}

impl Target {
    /// Reads and validates one `PutTargets`-shaped target object.
    pub fn from_json(v: &Json) -> Result<Target, ConfigError> {
        let Json::Object(o) = v else {
            return Err(shape("a target must be a JSON object"));
        };
        let id = match o.get("Id") {
            None | Some(Json::Null) => return Err(ConfigError::missing("targets.1.member.id")),
            Some(Json::String(s)) => s.clone(),
            Some(_) => return Err(shape("Id must be a string")),
        };
        let id_len = id.chars().count();
        if id_len == 0 || id_len > 64 {
            return Err(ConfigError::constraint(
                &id,
                "targets.1.member.id",
                if id_len == 0 {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 64"
                },
            ));
        }
        if !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        {
            return Err(ConfigError::constraint(
                &id,
                "targets.1.member.id",
                "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
            ));
        }
        let arn = match o.get("Arn") {
            None | Some(Json::Null) => return Err(ConfigError::missing("targets.1.member.arn")),
            Some(Json::String(s)) => s.clone(),
            Some(_) => return Err(shape(&format!("Arn of target {id} must be a string"))),
        };
        let arn_len = arn.chars().count();
        if arn_len == 0 || arn_len > 1600 {
            return Err(ConfigError::constraint(
                &arn,
                "targets.1.member.arn",
                if arn_len == 0 {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 1600"
                },
            ));
        }
        Endpoint::parse(&arn).map_err(|why| {
            ConfigError::new(ConfigErrorKind::Constraint, format!("target {id}: {why}"))
        })?;

        let input = opt_str(o.get("Input"), &id, "Input")?;
        let input_path = opt_str(o.get("InputPath"), &id, "InputPath")?;
        let mut paths: Vec<(String, String)> = Vec::new();
        let mut template: Option<String> = None;
        let transformer = match o.get("InputTransformer") {
            None | Some(Json::Null) => false,
            Some(Json::Object(t)) => {
                match t.get("InputPathsMap") {
                    None | Some(Json::Null) => {}
                    Some(Json::Object(m)) => {
                        for (k, p) in m {
                            match p {
                                Json::String(p) => paths.push((k.clone(), p.clone())),
                                _ => {
                                    return Err(shape(&format!(
                                        "InputPathsMap of target {id}: the path of {k} must be a string"
                                    )))
                                }
                            }
                        }
                    }
                    Some(_) => {
                        return Err(shape(&format!(
                            "InputPathsMap of target {id} must be an object"
                        )))
                    }
                }
                template = opt_str(t.get("InputTemplate"), &id, "InputTemplate")?;
                true
            }
            Some(_) => {
                return Err(shape(&format!(
                    "InputTransformer of target {id} must be an object"
                )))
            }
        };
        let input = TargetInput::new(
            &id,
            input.as_deref(),
            input_path.as_deref(),
            transformer.then_some(TransformerConfig {
                paths: &paths,
                template: template.as_deref(),
            }),
        )?;

        let mut retry_policy = RetryPolicy::default();
        match o.get("RetryPolicy") {
            None | Some(Json::Null) => {}
            Some(Json::Object(r)) => {
                if let Some(n) =
                    opt_int(r.get("MaximumRetryAttempts"), &id, "MaximumRetryAttempts")?
                {
                    if !(0..=i64::from(MAX_RETRY_ATTEMPTS)).contains(&n) {
                        return Err(ConfigError::constraint(
                            &n.to_string(),
                            "targets.1.member.retryPolicy.maximumRetryAttempts",
                            if n < 0 {
                                "Member must have value greater than or equal to 0"
                            } else {
                                "Member must have value less than or equal to 185"
                            },
                        ));
                    }
                    retry_policy.maximum_retry_attempts = n as u32;
                }
                if let Some(n) = opt_int(
                    r.get("MaximumEventAgeInSeconds"),
                    &id,
                    "MaximumEventAgeInSeconds",
                )? {
                    let range = i64::from(MIN_EVENT_AGE_SECONDS)..=i64::from(MAX_EVENT_AGE_SECONDS);
                    if !range.contains(&n) {
                        return Err(ConfigError::constraint(
                            &n.to_string(),
                            "targets.1.member.retryPolicy.maximumEventAgeInSeconds",
                            if n < i64::from(MIN_EVENT_AGE_SECONDS) {
                                "Member must have value greater than or equal to 60"
                            } else {
                                "Member must have value less than or equal to 86400"
                            },
                        ));
                    }
                    retry_policy.maximum_event_age_seconds = n as u32;
                }
            }
            Some(_) => {
                return Err(shape(&format!(
                    "RetryPolicy of target {id} must be an object"
                )))
            }
        }

        let dead_letter_arn = match o.get("DeadLetterConfig") {
            None | Some(Json::Null) => None,
            Some(Json::Object(d)) => {
                let a = opt_str(d.get("Arn"), &id, "DeadLetterConfig.Arn")?;
                if let Some(a) = &a {
                    Endpoint::parse(a).map_err(|why| {
                        ConfigError::new(
                            ConfigErrorKind::Constraint,
                            format!("target {id}: DeadLetterConfig: {why}"),
                        )
                    })?;
                }
                a
            }
            Some(_) => {
                return Err(shape(&format!(
                    "DeadLetterConfig of target {id} must be an object"
                )))
            }
        };

        let mut http_headers = Vec::new();
        if let Some(Json::Object(h)) = o.get("HttpParameters") {
            match h.get("HeaderParameters") {
                None | Some(Json::Null) => {}
                Some(Json::Object(m)) => {
                    for (k, v) in m {
                        match v {
                            Json::String(s) => http_headers.push((k.clone(), s.clone())),
                            _ => {
                                return Err(shape(&format!(
                                    "HttpParameters.HeaderParameters of target {id}: {k} must be a string"
                                )))
                            }
                        }
                    }
                }
                Some(_) => {
                    return Err(shape(&format!(
                        "HttpParameters.HeaderParameters of target {id} must be an object"
                    )))
                }
            }
        }

        Ok(Target {
            id,
            arn,
            input,
            retry_policy,
            dead_letter_arn,
            http_headers,
        })
    }

    /// Where this target delivers: its `Arn` read as a local URL, after
    /// mapping an AWS ARN through `map`. An unmapped AWS ARN is
    /// [`Endpoint::Aws`].
    pub fn endpoint(&self, map: &ArnMap) -> Result<Endpoint, ConfigError> {
        let url = map.get(&self.arn).unwrap_or(&self.arn);
        Endpoint::parse(url).map_err(|why| {
            ConfigError::new(
                ConfigErrorKind::Constraint,
                format!("target {}: {why}", self.id),
            )
        })
    }
}

/// Reads and validates a whole `Targets` array.
///
/// Beyond each target's own checks: at most [`MAX_TARGETS_PER_RULE`]
/// targets (SPEC.md §3.3) and unique `Id`s within the rule. These two
/// messages are ours (AWS's texts are not recorded in SPEC.md).
pub fn parse_targets(targets: &[Json]) -> Result<Vec<Target>, ConfigError> {
    if targets.len() > MAX_TARGETS_PER_RULE {
        return Err(ConfigError::new(
            ConfigErrorKind::Constraint,
            format!(
                "The rule has {} targets; a rule can have at most {MAX_TARGETS_PER_RULE} targets.",
                targets.len()
            ),
        ));
    }
    let parsed = targets
        .iter()
        .map(Target::from_json)
        .collect::<Result<Vec<Target>, ConfigError>>()?;
    for (i, t) in parsed.iter().enumerate() {
        if parsed.iter().take(i).any(|u| u.id == t.id) {
            return Err(ConfigError::new(
                ConfigErrorKind::Constraint,
                format!(
                    "The target Id {} is used more than once; target Ids must be unique within a rule.",
                    t.id
                ),
            ));
        }
    }
    Ok(parsed)
}

fn shape(message: &str) -> ConfigError {
    ConfigError::new(ConfigErrorKind::Shape, message)
}

fn opt_str(v: Option<&Json>, id: &str, field: &str) -> Result<Option<String>, ConfigError> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(shape(&format!("{field} of target {id} must be a string"))),
    }
}

fn opt_int(v: Option<&Json>, id: &str, field: &str) -> Result<Option<i64>, ConfigError> {
    match v {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(i)),
            None => Err(shape(&format!("{field} of target {id} must be an integer"))),
        },
        Some(_) => Err(shape(&format!("{field} of target {id} must be an integer"))),
    }
}

// ---------------------------------------------------------------------------
// Delivery interface (the engine is `crate::delivery`)

/// One delivery handed to a target: the transformed body and who it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// The body, exactly as [`TargetInput::apply`] produced it.
    pub body: &'a str,
    /// The rule that matched.
    pub rule_name: &'a str,
    /// The target's `Id`.
    pub target_id: &'a str,
    /// The event's `id`, when it has one.
    pub event_id: Option<&'a str>,
    /// The stable deduplication key of (event, rule, target) (SPEC.md §6);
    /// the same on every attempt and every run.
    pub idempotency_key: &'a str,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
    /// Whether `body` is JSON text (`false` for a text `InputTemplate`).
    pub body_is_json: bool,
}

/// DLQ error codes (SPEC.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Missing permission.
    NoPermissions,
    /// Missing resource.
    NoResource,
    /// `RESOURCE_ALREADY_EXISTS`.
    ResourceAlreadyExists,
    /// Throttled.
    Throttling,
    /// Timed out.
    Timeout,
    /// The transformed input was not valid JSON (SPEC.md §4.3, §6).
    TransformationFailed,
    /// The router was interrupted (Ctrl-C) before this delivery was tried.
    Interrupted,
    /// Anything else.
    Other,
}

impl ErrorCode {
    /// The `ERROR_CODE` attribute text.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NoPermissions => "NO_PERMISSIONS",
            ErrorCode::NoResource => "NO_RESOURCE",
            ErrorCode::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            ErrorCode::Throttling => "THROTTLING",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::TransformationFailed => "TRANSFORMATION_FAILED",
            ErrorCode::Interrupted => "INTERRUPTED",
            ErrorCode::Other => "SDK_CLIENT_ERROR",
        }
    }

    /// Whether a failure with this code is retried by default (SPEC.md §6:
    /// missing permission or resource is not).
    pub fn retriable(self) -> bool {
        !matches!(
            self,
            ErrorCode::NoPermissions
                | ErrorCode::NoResource
                | ErrorCode::TransformationFailed
                | ErrorCode::Interrupted
        )
    }
}

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// Details for humans (the DLQ's `ERROR_MESSAGE`).
    pub message: String,
    /// Whether the router may try again (within the target's
    /// [`RetryPolicy`]); `false` sends the delivery to the DLQ at once.
    pub retriable: bool,
}

impl DeliveryError {
    /// An error whose retriability follows its code ([`ErrorCode::retriable`]).
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        DeliveryError {
            code,
            message: message.into(),
            retriable: code.retriable(),
        }
    }

    /// An error that is never retried, whatever its code.
    pub fn permanent(code: ErrorCode, message: impl Into<String>) -> Self {
        DeliveryError {
            code,
            message: message.into(),
            retriable: false,
        }
    }

    /// An error that is retried, whatever its code.
    pub fn transient(code: ErrorCode, message: impl Into<String>) -> Self {
        DeliveryError {
            code,
            message: message.into(),
            retriable: true,
        }
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for DeliveryError {}

/// A target type. The built-in ones ([`crate::sinks`]) serve the
/// [`Endpoint`] schemes; library users implement this for their own (an
/// [`Endpoint::Custom`] scheme, or an in-process channel) and the
/// [`crate::delivery::Router`] calls it from its delivery threads,
/// retrying retriable failures per the target's [`RetryPolicy`].
pub trait Deliver: Send + Sync {
    /// Delivers one body; an error may be retried.
    fn deliver(&self, delivery: &Delivery<'_>) -> Result<(), DeliveryError>;

    /// Delivers several bodies, pushing one result per delivery onto
    /// `results`, in order. The default calls [`Deliver::deliver`] for
    /// each; targets that can write a batch at once (files) override it.
    fn deliver_batch(&self, batch: &[Delivery<'_>], results: &mut Vec<Result<(), DeliveryError>>) {
        for d in batch {
            results.push(self.deliver(d));
        }
    }

    /// The most deliveries this target should run at once (`None`: the
    /// router's setting). Targets that serialise their writes anyway
    /// (files, stdout) say 1, which also keeps their output in event order.
    fn max_concurrency(&self) -> Option<usize> {
        None
    }

    /// The most deliveries handed to [`Deliver::deliver_batch`] at once.
    fn max_batch(&self) -> usize {
        1
    }
}

/// Most targets per rule (SPEC.md §3.3: 5, not adjustable).
pub const MAX_TARGETS_PER_RULE: usize = 5;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::transform::TargetInput;

    fn target(s: &str) -> Result<Target, ConfigError> {
        Target::from_json(&serde_json::from_str(s).unwrap())
    }

    #[test]
    fn endpoints() {
        assert_eq!(Endpoint::parse("stdout:"), Ok(Endpoint::Stdout));
        assert_eq!(
            Endpoint::parse("file:///tmp/o.ndjson"),
            Ok(Endpoint::File("/tmp/o.ndjson".into()))
        );
        assert_eq!(
            Endpoint::parse("https://h.example/x"),
            Ok(Endpoint::Http("https://h.example/x".into()))
        );
        assert_eq!(
            Endpoint::parse("exec:wc -l"),
            Ok(Endpoint::Exec("wc -l".into()))
        );
        assert!(matches!(
            Endpoint::parse("arn:aws:sqs:us-east-1:1:q"),
            Ok(Endpoint::Aws(_))
        ));
        assert!(matches!(
            Endpoint::parse("kafka:topic"),
            Ok(Endpoint::Custom { .. })
        ));
        for bad in ["nothing", "http://", "file://", "exec:", "stdout:x", "1x:y"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spec_4_1_full_target() {
        let t = target(
            r#"{"Id": "t1", "Arn": "http://localhost:9/x",
                "InputTransformer": {"InputPathsMap": {"s": "$.detail.state"}, "InputTemplate": "\"<s>\""},
                "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": "file:///tmp/dlq.ndjson"},
                "HttpParameters": {"HeaderParameters": {"X-Key": "v"}},
                "RoleArn": "ignored"}"#,
        )
        .unwrap();
        assert_eq!(t.id, "t1");
        assert!(matches!(t.input, TargetInput::Transformer(_)));
        assert_eq!(t.retry_policy.maximum_retry_attempts, 0);
        assert_eq!(t.retry_policy.maximum_event_age_seconds, 60);
        assert_eq!(t.dead_letter_arn.as_deref(), Some("file:///tmp/dlq.ndjson"));
        assert_eq!(t.http_headers, vec![("X-Key".into(), "v".into())]);
        let t = target(r#"{"Id": "a", "Arn": "stdout:"}"#).unwrap();
        assert_eq!(t.input, TargetInput::Event);
        assert_eq!(t.retry_policy, RetryPolicy::default());
    }

    #[test]
    fn spec_4_1_aws_texts() {
        let e = target(r#"{"Id": "t9", "Arn": "stdout:", "InputPath": "$.detail", "InputTransformer": {"InputTemplate": "\"x\""}}"#)
            .unwrap_err();
        assert_eq!(
            e.message(),
            "Only one of Input, InputPath, or InputTransformer must be provided for target t9."
        );
        let e = target(r#"{"Id": "t9", "Arn": "stdout:", "InputTransformer": {"InputPathsMap": {"a": "$.a"}, "InputTemplate": "<a> <b>"}}"#)
            .unwrap_err();
        assert_eq!(
            e.message(),
            "InputTemplate for target t9 contains invalid placeholder b."
        );
    }

    #[test]
    fn spec_6_retry_limits() {
        for (r, ok) in [
            (r#"{"MaximumRetryAttempts": 185}"#, true),
            (r#"{"MaximumRetryAttempts": 186}"#, false),
            (r#"{"MaximumRetryAttempts": -1}"#, false),
            (r#"{"MaximumEventAgeInSeconds": 59}"#, false),
            (r#"{"MaximumEventAgeInSeconds": 86400}"#, true),
            (r#"{"MaximumEventAgeInSeconds": 86401}"#, false),
            (r#"{"MaximumRetryAttempts": 1.5}"#, false),
        ] {
            let t = target(&format!(
                r#"{{"Id": "a", "Arn": "stdout:", "RetryPolicy": {r}}}"#
            ));
            assert_eq!(t.is_ok(), ok, "{r}");
        }
    }

    #[test]
    fn ids_and_arns() {
        assert!(target(r#"{"Arn": "stdout:"}"#).is_err());
        assert!(target(r#"{"Id": "a b", "Arn": "stdout:"}"#).is_err());
        assert!(target(&format!(
            r#"{{"Id": "{}", "Arn": "stdout:"}}"#,
            "a".repeat(65)
        ))
        .is_err());
        assert!(target(&format!(
            r#"{{"Id": "{}", "Arn": "stdout:"}}"#,
            "a".repeat(64)
        ))
        .is_ok());
        assert!(target(r#"{"Id": "a"}"#).is_err());
        assert!(target(r#"{"Id": "a", "Arn": "no-scheme"}"#).is_err());
    }

    #[test]
    fn spec_3_3_at_most_five_targets_with_unique_ids() {
        let t = |id: &str| serde_json::json!({"Id": id, "Arn": "stdout:"});
        let five: Vec<Json> = ["a", "b", "c", "d", "e"].iter().map(|i| t(i)).collect();
        assert_eq!(parse_targets(&five).unwrap().len(), 5);
        let mut six = five.clone();
        six.push(t("f"));
        assert_eq!(
            parse_targets(&six).unwrap_err().message(),
            "The rule has 6 targets; a rule can have at most 5 targets."
        );
        assert_eq!(
            parse_targets(&[t("a"), t("b"), t("a")])
                .unwrap_err()
                .message(),
            "The target Id a is used more than once; target Ids must be unique within a rule."
        );
    }

    #[test]
    fn arn_map() {
        let t = target(r#"{"Id": "a", "Arn": "arn:aws:sqs:us-east-1:1:q"}"#).unwrap();
        let mut m = ArnMap::default();
        assert!(matches!(t.endpoint(&m), Ok(Endpoint::Aws(_))));
        m.insert_pair("arn:aws:sqs:us-east-1:1:q=stdout:").unwrap();
        assert_eq!(t.endpoint(&m), Ok(Endpoint::Stdout));
        assert!(m.insert_pair("arn:x=arn:y").is_err());
        assert!(m.insert_pair("no-equals").is_err());
    }
}
