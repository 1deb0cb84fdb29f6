//! Input transformation, exactly as SPEC.md §4 describes it.
//!
//! A target's input is one of four things ([`TargetInput`]): the whole
//! event, a constant (`Input`), the part of the event one JSONPath selects
//! (`InputPath`), or an [`InputTransformer`] (`InputPathsMap` +
//! `InputTemplate`). [`TargetInput::apply`] turns an event into the body a
//! target receives, or says why nothing is delivered.
//!
//! Substitution is textual: the template's own whitespace, line breaks and
//! key order survive (SPEC.md §4.5). How a value is written depends on the
//! template's mode and on whether the placeholder sits inside a quoted
//! string (SPEC.md §4.3, the substitution table):
//!
//! ```
//! use evmatch_router::transform::{InputTransformer, TransformContext};
//! let t = InputTransformer::new(
//!     &[("state".into(), "$.detail.state".into())],
//!     r#"{"state": <state>, "text": "is <state>"}"#,
//!     "target",
//! )?;
//! let event = evmatch_json::parse_value(r#"{"detail": {"state": "RUNNING"}}"#).unwrap();
//! let ctx = TransformContext::new("rule", "arn:aws:events:us-east-1:123456789012:rule/rule", "2024-01-01T00:00:00Z");
//! assert_eq!(t.apply(&event, &ctx).unwrap(), r#"{"state": "RUNNING", "text": "is RUNNING"}"#);
//! # Ok::<(), evmatch_router::transform::ConfigError>(())
//! ```
//!
//! Event values keep their literal number text (`1.50` stays `1.50`) and
//! their key order; strings are re-escaped minimally (see `DESIGN.md`).

use evmatch_json::Value;
use std::fmt;

/// Largest `Input` (constant JSON text), in characters `[S9]`.
pub const MAX_INPUT_CHARS: usize = 8192;
/// Largest `InputPath` and `InputPathsMap` value, in characters `[S9]`.
pub const MAX_PATH_CHARS: usize = 256;
/// Largest `InputTemplate`, in characters `[S9]`.
pub const MAX_TEMPLATE_CHARS: usize = 8192;
/// Most `InputPathsMap` entries (SPEC.md §4.2).
pub const MAX_PATHS: usize = 100;
/// Longest `InputPathsMap` key, in characters (SPEC.md §4.2).
pub const MAX_VARIABLE_CHARS: usize = 256;

/// The reserved variables of SPEC.md §4.4, usable without a map entry.
pub const RESERVED_VARIABLES: [&str; 5] = [RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON];
const RULE_ARN: &str = "aws.events.rule-arn";
const RULE_NAME: &str = "aws.events.rule-name";
const INGESTION_TIME: &str = "aws.events.event.ingestion-time";
const EVENT: &str = "aws.events.event";
const EVENT_JSON: &str = "aws.events.event.json";

/// A target configuration that PutTargets would reject.
///
/// [`ConfigError::message`] is AWS's text where SPEC.md gives it (§4.1,
/// §4.2); limit violations use the wording of AWS's request validation
/// (`1 validation error detected: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    message: String,
}

/// What kind of configuration problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// More than one of `Input`, `InputPath`, `InputTransformer` (SPEC.md §4.1).
    SeveralInputs,
    /// A template placeholder that is neither defined nor reserved (SPEC.md §4.2).
    InvalidPlaceholder,
    /// A length, count or character constraint of the API (SPEC.md §4.1–§4.3, §6).
    Constraint,
    /// A JSONPath outside the supported subset.
    InvalidPath,
    /// `Input` is not valid JSON text.
    InvalidInput,
    /// A field has the wrong JSON type, or a required field is missing.
    Shape,
}

impl ConfigError {
    pub(crate) fn new(kind: ConfigErrorKind, message: impl Into<String>) -> Self {
        ConfigError {
            kind,
            message: message.into(),
        }
    }

    /// The kind of problem.
    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// The message (AWS's text where there is one).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The AWS text of SPEC.md §4.1.
    pub fn several_inputs(target_id: &str) -> Self {
        ConfigError::new(
            ConfigErrorKind::SeveralInputs,
            format!(
                "Only one of Input, InputPath, or InputTransformer must be provided for target {target_id}."
            ),
        )
    }

    /// AWS's request-validation wording for one violated constraint.
    pub(crate) fn constraint(value: &str, at: &str, constraint: &str) -> Self {
        ConfigError::new(
            ConfigErrorKind::Constraint,
            format!(
                "1 validation error detected: Value '{value}' at '{at}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    pub(crate) fn missing(at: &str) -> Self {
        ConfigError::new(
            ConfigErrorKind::Constraint,
            format!(
                "1 validation error detected: Value null at '{at}' failed to satisfy constraint: Member must not be null"
            ),
        )
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Why a transformed event is not delivered to a target (SPEC.md §4.3,
/// §6: AWS drops it silently; the router counts a failed delivery).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotDelivered {
    /// What went wrong, for humans.
    pub reason: String,
    /// The text the transformation produced, if any.
    pub output: Option<String>,
}

impl fmt::Display for NotDelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for NotDelivered {}

/// The values of the reserved variables that do not come from the event
/// (SPEC.md §4.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformContext {
    /// `aws.events.rule-name`.
    pub rule_name: String,
    /// `aws.events.rule-arn`.
    pub rule_arn: String,
    /// `aws.events.event.ingestion-time` (ISO-8601).
    pub ingestion_time: String,
}

impl TransformContext {
    /// A context from its three values.
    pub fn new(rule_name: &str, rule_arn: &str, ingestion_time: &str) -> Self {
        TransformContext {
            rule_name: rule_name.to_string(),
            rule_arn: rule_arn.to_string(),
            ingestion_time: ingestion_time.to_string(),
        }
    }
}

/// The rule ARN AWS gives a rule on the default bus (SPEC.md §4.4):
/// `arn:aws:events:<region>:<account>:rule/<rule>`, or
/// `...:rule/<bus>/<rule>` on a custom bus.
pub fn rule_arn(region: &str, account: &str, bus: Option<&str>, rule: &str) -> String {
    match bus {
        Some(b) if b != "default" => format!("arn:aws:events:{region}:{account}:rule/{b}/{rule}"),
        _ => format!("arn:aws:events:{region}:{account}:rule/{rule}"),
    }
}

// ---------------------------------------------------------------------------
// JSONPath subset (SPEC.md §4.1, §4.2)

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// `.name` or `['name']`.
    Key(String),
    /// `[n]`; negative counts from the end.
    Index(i64),
    /// `.*` or `[*]`.
    Wildcard,
}

/// A JSONPath in the subset EventBridge supports: `$`, dot notation with
/// any key characters but `.` and `[`, `[n]` indices (negative from the
/// end), `*` wildcards (`.*`, `[*]`), and bracketed quoted keys
/// (`['a.b']`). A path without the leading `$` is read as `$.` + path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonPath {
    text: String,
    steps: Vec<Step>,
}

/// What a path selects in an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection<'a> {
    /// Nothing (a definite path that does not exist).
    Missing,
    /// One value (a definite path).
    One(&'a Value),
    /// A wildcard path: every value found, in document order, as a JSON
    /// array (possibly empty). SPEC.md §4.2 calls this unverified.
    Many(Vec<&'a Value>),
}

impl JsonPath {
    /// Parses a path; the error says what is wrong.
    pub fn parse(text: &str) -> Result<JsonPath, String> {
        let rest = if let Some(r) = text.strip_prefix('$') {
            r
        } else if text.is_empty() {
            return Err("the path is empty".into());
        } else if text.starts_with('.') || text.starts_with('[') {
            return Err("the path must start with $".into());
        } else {
            // Read `detail.x` as `$.detail.x`.
            return JsonPath::parse(&format!("$.{text}")).map(|mut p| {
                p.text = text.to_string();
                p
            });
        };
        let mut steps = Vec::new();
        let mut s = rest;
        while !s.is_empty() {
            if let Some(r) = s.strip_prefix('.') {
                if r.starts_with('.') {
                    return Err("deep scan (..) is not supported".into());
                }
                let end = r.find(['.', '[']).unwrap_or(r.len());
                let name = r.get(..end).unwrap_or("");
                if name.is_empty() {
                    return Err("empty key after '.'".into());
                }
                steps.push(if name == "*" {
                    Step::Wildcard
                } else {
                    Step::Key(name.to_string())
                });
                s = r.get(end..).unwrap_or("");
            } else if let Some(r) = s.strip_prefix('[') {
                let (step, after) = bracket(r)?;
                steps.push(step);
                s = after;
            } else {
                return Err(format!("unexpected text {s:?}"));
            }
        }
        Ok(JsonPath {
            text: text.to_string(),
            steps,
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the path can select several values (it has a wildcard).
    pub fn is_definite(&self) -> bool {
        !self.steps.contains(&Step::Wildcard)
    }

    /// Evaluates the path on a value.
    pub fn select<'a>(&self, root: &'a Value) -> Selection<'a> {
        let mut current: Vec<&'a Value> = vec![root];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match (step, v) {
                    (Step::Key(k), Value::Object(_)) => next.extend(v.get(k)),
                    (Step::Index(i), Value::Array(items)) => {
                        let len = items.len() as i64;
                        let at = if *i < 0 { len + i } else { *i };
                        if (0..len).contains(&at) {
                            next.extend(items.get(at as usize));
                        }
                    }
                    (Step::Wildcard, Value::Array(items)) => next.extend(items.iter()),
                    (Step::Wildcard, Value::Object(members)) => {
                        next.extend(members.iter().map(|(_, v)| v))
                    }
                    _ => {}
                }
            }
            current = next;
        }
        if self.is_definite() {
            match current.first() {
                Some(v) => Selection::One(v),
                None => Selection::Missing,
            }
        } else {
            Selection::Many(current)
        }
    }
}

/// Reads a bracket step; `r` is the text after `[`.
fn bracket(r: &str) -> Result<(Step, &str), String> {
    if let Some(after) = r.strip_prefix("*]") {
        return Ok((Step::Wildcard, after));
    }
    if let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let body = r.get(1..).unwrap_or("");
        let mut key = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '\\' {
                if let Some((_, e)) = chars.next() {
                    key.push(e);
                }
                continue;
            }
            if c == q {
                let after = body.get(i + 1..).unwrap_or("");
                return match after.strip_prefix(']') {
                    Some(a) => Ok((Step::Key(key), a)),
                    None => Err("expected ] after a quoted key".into()),
                };
            }
            key.push(c);
        }
        return Err("unterminated quoted key".into());
    }
    let end = r.find(']').ok_or("unterminated [")?;
    let inner = r.get(..end).unwrap_or("").trim();
    let digits = inner.strip_prefix('-').unwrap_or(inner);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("unsupported index [{inner}]"));
    }
    let i: i64 = inner
        .parse()
        .map_err(|_| format!("index out of range [{inner}]"))?;
    Ok((Step::Index(i), r.get(end + 1..).unwrap_or("")))
}

// ---------------------------------------------------------------------------
// Writing values

/// Appends `s` as a JSON string literal, escaping only what JSON requires:
/// `"`, `\`, and control characters (`\b \f \n \r \t`, others `\u00XX` with
/// upper-case hex, as Jackson writes them). Everything else is raw UTF-8.
pub fn write_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `v` as compact JSON: no whitespace, keys in the event's order,
/// numbers exactly as the event wrote them.
pub fn write_compact(v: &Value, out: &mut String) {
    // An explicit stack: events may nest up to the reader's depth limit.
    enum Job<'a> {
        Value(&'a Value),
        Text(&'static str),
        Key(&'a str),
    }
    let mut stack = vec![Job::Value(v)];
    while let Some(job) = stack.pop() {
        match job {
            Job::Text(t) => out.push_str(t),
            Job::Key(k) => {
                write_json_string(k, out);
                out.push(':');
            }
            Job::Value(v) => match v {
                Value::Null => out.push_str("null"),
                Value::Bool(true) => out.push_str("true"),
                Value::Bool(false) => out.push_str("false"),
                Value::Number(n) => out.push_str(n),
                Value::String(s) => write_json_string(s, out),
                Value::Array(items) => {
                    out.push('[');
                    stack.push(Job::Text("]"));
                    for (i, item) in items.iter().enumerate().rev() {
                        stack.push(Job::Value(item));
                        if i > 0 {
                            stack.push(Job::Text(","));
                        }
                    }
                }
                Value::Object(members) => {
                    out.push('{');
                    stack.push(Job::Text("}"));
                    for (i, (k, item)) in members.iter().enumerate().rev() {
                        stack.push(Job::Value(item));
                        stack.push(Job::Key(k));
                        if i > 0 {
                            stack.push(Job::Text(","));
                        }
                    }
                }
            },
        }
    }
}

/// `v` as compact JSON.
pub fn to_compact(v: &Value) -> String {
    let mut s = String::new();
    write_compact(v, &mut s);
    s
}

// ---------------------------------------------------------------------------
// Templates (SPEC.md §4.3)

/// Whether a template is JSON or text (SPEC.md §4.3, mode selection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateMode {
    /// The first non-whitespace character is `{`.
    Json,
    /// Anything else (including a template starting with `[`).
    Text,
}

/// Where a placeholder sits (SPEC.md §4.3, placeholder context).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Text,
    JsonOutside,
    JsonInside,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Var { name: String, context: Context },
}

/// Whether `c` may appear in a placeholder name (SPEC.md §4.3).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.'
}

/// If `s` starts with a placeholder `<name>`, its name.
fn placeholder_at(s: &str) -> Option<&str> {
    let body = s.strip_prefix('<')?;
    let end = body.find(|c: char| !is_name_char(c))?;
    if end == 0 || body.get(end..end + 1) != Some(">") {
        return None;
    }
    body.get(..end)
}

/// Splits a template into literal text and placeholders, each with its
/// context. In a JSON template a placeholder is *inside* when it sits in a
/// double-quoted string of the template's own text; `\` inside a string
/// escapes the next character, so `\"` does not end the string.
fn split(template: &str, mode: TemplateMode) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut in_string = false;
    let mut escaped = false;
    let mut i = 0;
    while let Some(rest) = template.get(i..) {
        let Some(c) = rest.chars().next() else { break };
        if c == '<' {
            if let Some(name) = placeholder_at(rest) {
                if !lit.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut lit)));
                }
                let context = match (mode, in_string) {
                    (TemplateMode::Text, _) => Context::Text,
                    (TemplateMode::Json, false) => Context::JsonOutside,
                    (TemplateMode::Json, true) => Context::JsonInside,
                };
                pieces.push(Piece::Var {
                    name: name.to_string(),
                    context,
                });
                escaped = false;
                i += name.len() + 2;
                continue;
            }
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        lit.push(c);
        i += c.len_utf8();
    }
    if !lit.is_empty() {
        pieces.push(Piece::Literal(lit));
    }
    pieces
}

/// The mode of a template: JSON when its first non-whitespace character is
/// `{` (JSON whitespace: space, tab, line feed, carriage return).
pub fn template_mode(template: &str) -> TemplateMode {
    if template
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('{')
    {
        TemplateMode::Json
    } else {
        TemplateMode::Text
    }
}

/// Checks an `InputPathsMap` key against SPEC.md §4.2.
fn check_variable_name(name: &str, map_text: &str) -> Result<(), ConfigError> {
    let at = "targets.1.member.inputTransformer.inputPathsMap";
    if name.is_empty() || name.chars().count() > MAX_VARIABLE_CHARS {
        return Err(ConfigError::constraint(
            map_text,
            at,
            "Map keys must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1]",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(ConfigError::constraint(
            map_text,
            at,
            "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [A-Za-z0-9\\_\\-]+]",
        ));
    }
    Ok(())
}

/// `{k=v, k2=v2}`: how AWS's request validation echoes a map.
fn map_echo(paths: &[(String, String)]) -> String {
    let inner: Vec<String> = paths.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", inner.join(", "))
}

/// An `InputTransformer`: variables from JSONPaths, and a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputTransformer {
    paths: Vec<(String, JsonPath)>,
    template: String,
    mode: TemplateMode,
    pieces: Vec<Piece>,
}

impl InputTransformer {
    /// Validates and prepares a transformer for target `target_id` (used in
    /// error messages). Checks, in AWS's order: the limits (at most 100
    /// variables, names of 1–256 characters from `[A-Za-z0-9_-]`, paths of
    /// at most 256 characters, a template of 1–8,192 characters), then
    /// every placeholder, reporting the first undefined one with AWS's text
    /// `InputTemplate for target <id> contains invalid placeholder <name>.`
    pub fn new(
        paths: &[(String, String)],
        template: &str,
        target_id: &str,
    ) -> Result<InputTransformer, ConfigError> {
        let at_map = "targets.1.member.inputTransformer.inputPathsMap";
        let at_template = "targets.1.member.inputTransformer.inputTemplate";
        if paths.len() > MAX_PATHS {
            return Err(ConfigError::constraint(
                &map_echo(paths),
                at_map,
                "Member must have length less than or equal to 100",
            ));
        }
        for (name, path) in paths {
            check_variable_name(name, &map_echo(paths))?;
            if path.chars().count() > MAX_PATH_CHARS {
                return Err(ConfigError::constraint(
                    &map_echo(paths),
                    at_map,
                    "Map values must satisfy constraint: [Member must have length less than or equal to 256]",
                ));
            }
        }
        let len = template.chars().count();
        if len == 0 {
            return Err(ConfigError::constraint(
                template,
                at_template,
                "Member must have length greater than or equal to 1",
            ));
        }
        if len > MAX_TEMPLATE_CHARS {
            return Err(ConfigError::constraint(
                template,
                at_template,
                "Member must have length less than or equal to 8192",
            ));
        }
        let mut parsed = Vec::with_capacity(paths.len());
        for (name, path) in paths {
            let p = JsonPath::parse(path).map_err(|why| {
                ConfigError::new(
                    ConfigErrorKind::InvalidPath,
                    format!(
                        "InputPathsMap for target {target_id} has an unsupported JSON path for {name}: {path} ({why})."
                    ),
                )
            })?;
            // A repeated key: the last one wins, as in a JSON object.
            parsed.retain(|(n, _): &(String, JsonPath)| n != name);
            parsed.push((name.clone(), p));
        }
        let mode = template_mode(template);
        let pieces = split(template, mode);
        for piece in &pieces {
            if let Piece::Var { name, .. } = piece {
                let defined = parsed.iter().any(|(n, _)| n == name)
                    || RESERVED_VARIABLES.contains(&name.as_str());
                if !defined {
                    return Err(ConfigError::new(
                        ConfigErrorKind::InvalidPlaceholder,
                        format!(
                            "InputTemplate for target {target_id} contains invalid placeholder {name}."
                        ),
                    ));
                }
            }
        }
        Ok(InputTransformer {
            paths: parsed,
            template: template.to_string(),
            mode,
            pieces,
        })
    }

    /// The template as written.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// JSON or text template.
    pub fn mode(&self) -> TemplateMode {
        self.mode
    }

    /// Fills the template from `event`. A JSON template whose result is not
    /// valid JSON is not delivered (SPEC.md §4.3 Output).
    pub fn apply(&self, event: &Value, ctx: &TransformContext) -> Result<String, NotDelivered> {
        let mut out = String::with_capacity(self.template.len() + 64);
        // The envelope view of `aws.events.event` is built once, if used.
        let mut envelope: Option<Value> = None;
        for piece in &self.pieces {
            let (name, context) = match piece {
                Piece::Literal(t) => {
                    out.push_str(t);
                    continue;
                }
                Piece::Var { name, context } => (name.as_str(), *context),
            };
            match name {
                RULE_ARN => write_string(&ctx.rule_arn, context, &mut out),
                RULE_NAME => write_string(&ctx.rule_name, context, &mut out),
                INGESTION_TIME => write_string(&ctx.ingestion_time, context, &mut out),
                EVENT_JSON => write_value(Some(event), context, &mut out),
                EVENT => {
                    let v = envelope.get_or_insert_with(|| envelope_view(event));
                    write_value(Some(v), context, &mut out)
                }
                _ => {
                    let Some((_, path)) = self.paths.iter().find(|(n, _)| n == name) else {
                        continue;
                    };
                    match path.select(event) {
                        Selection::Missing => write_value(None, context, &mut out),
                        Selection::One(v) => write_value(Some(v), context, &mut out),
                        Selection::Many(vs) => {
                            let arr = Value::Array(vs.into_iter().cloned().collect());
                            write_value(Some(&arr), context, &mut out)
                        }
                    }
                }
            }
        }
        if self.mode == TemplateMode::Json {
            if let Err(e) = check_json(&out) {
                return Err(NotDelivered {
                    reason: format!(
                        "the transformed input is not valid JSON ({})",
                        crate::shorten_json_message(&e.message, "the transformed input")
                    ),
                    output: Some(out),
                });
            }
        }
        Ok(out)
    }
}

/// Checks that `text` is one JSON value, without building a tree (the
/// reader keeps nesting on the heap, so any depth is fine).
fn check_json(text: &str) -> Result<(), evmatch_json::JsonError> {
    let mut r = evmatch_json::Reader::with_max_depth(text, usize::MAX);
    let mut any = false;
    while r.next_token()?.is_some() {
        any = true;
    }
    r.finish()?;
    if any {
        Ok(())
    } else {
        Err(r.error_at(0, "No content to map due to end-of-input"))
    }
}

/// The value of `aws.events.event`: the event without `detail`, with
/// `detail-type` renamed `detailType`, other members in the event's order
/// (SPEC.md §4.4).
fn envelope_view(event: &Value) -> Value {
    match event {
        Value::Object(members) => Value::Object(
            members
                .iter()
                .filter(|(k, _)| k != "detail")
                .map(|(k, v)| {
                    let k = if k == "detail-type" {
                        "detailType".to_string()
                    } else {
                        k.clone()
                    };
                    (k, v.clone())
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn write_string(s: &str, context: Context, out: &mut String) {
    match context {
        Context::JsonOutside => write_json_string(s, out),
        Context::Text | Context::JsonInside => out.push_str(s),
    }
}

/// One cell of the substitution table (SPEC.md §4.3); `None` is a missing
/// path.
fn write_value(v: Option<&Value>, context: Context, out: &mut String) {
    match v {
        None => {
            if context == Context::JsonOutside {
                out.push_str("\"\"");
            }
        }
        Some(Value::String(s)) => write_string(s, context, out),
        Some(Value::Null) => out.push_str("null"),
        Some(Value::Bool(b)) => out.push_str(if *b { "true" } else { "false" }),
        Some(Value::Number(n)) => out.push_str(n),
        Some(v @ (Value::Array(_) | Value::Object(_))) => {
            let compact = to_compact(v);
            if context == Context::Text {
                out.extend(compact.chars().filter(|c| *c != '"'));
            } else {
                out.push_str(&compact);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Target input

/// An `InputTransformer` as configured, before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformerConfig<'a> {
    /// `InputPathsMap` entries in the given order.
    pub paths: &'a [(String, String)],
    /// `InputTemplate`; `None` when missing (an error).
    pub template: Option<&'a str>,
}

/// What a target receives (SPEC.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetInput {
    /// The whole event (no `Input`, `InputPath` or `InputTransformer`).
    Event,
    /// `Input`: constant JSON text, delivered as written.
    Constant(String),
    /// `InputPath`: the selected value as JSON.
    Path(JsonPath),
    /// `InputTransformer`.
    Transformer(InputTransformer),
}

impl TargetInput {
    /// Validates the input options of target `target_id`, as PutTargets
    /// does: each option's limits, then at most one option (SPEC.md §4.1),
    /// then the transformer's placeholders (SPEC.md §4.2).
    ///
    /// A transformer given without a template is an error, as in AWS.
    pub fn new(
        target_id: &str,
        input: Option<&str>,
        input_path: Option<&str>,
        transformer: Option<TransformerConfig<'_>>,
    ) -> Result<TargetInput, ConfigError> {
        if let Some(i) = input {
            if i.chars().count() > MAX_INPUT_CHARS {
                return Err(ConfigError::constraint(
                    i,
                    "targets.1.member.input",
                    "Member must have length less than or equal to 8192",
                ));
            }
        }
        if let Some(p) = input_path {
            if p.chars().count() > MAX_PATH_CHARS {
                return Err(ConfigError::constraint(
                    p,
                    "targets.1.member.inputPath",
                    "Member must have length less than or equal to 256",
                ));
            }
        }
        if let Some(TransformerConfig { template: None, .. }) = transformer {
            return Err(ConfigError::missing(
                "targets.1.member.inputTransformer.inputTemplate",
            ));
        }
        let given = usize::from(input.is_some())
            + usize::from(input_path.is_some())
            + usize::from(transformer.is_some());
        if given > 1 {
            return Err(ConfigError::several_inputs(target_id));
        }
        if let Some(i) = input {
            if check_json(i).is_err() {
                return Err(ConfigError::new(
                    ConfigErrorKind::InvalidInput,
                    format!("Input for target {target_id} is not valid JSON text."),
                ));
            }
            return Ok(TargetInput::Constant(i.to_string()));
        }
        if let Some(p) = input_path {
            return JsonPath::parse(p).map(TargetInput::Path).map_err(|why| {
                ConfigError::new(
                    ConfigErrorKind::InvalidPath,
                    format!("InputPath for target {target_id} is not a supported JSON path: {p} ({why})."),
                )
            });
        }
        if let Some(TransformerConfig {
            paths,
            template: Some(template),
        }) = transformer
        {
            return InputTransformer::new(paths, template, target_id).map(TargetInput::Transformer);
        }
        Ok(TargetInput::Event)
    }

    /// The body delivered for `event`, or why nothing is delivered.
    ///
    /// The whole event and `InputPath` selections are written as compact
    /// JSON (keys in the event's order, numbers as written). An `InputPath`
    /// that selects nothing delivers nothing.
    pub fn apply(&self, event: &Value, ctx: &TransformContext) -> Result<String, NotDelivered> {
        match self {
            TargetInput::Event => Ok(to_compact(event)),
            TargetInput::Constant(c) => Ok(c.clone()),
            TargetInput::Path(p) => match p.select(event) {
                Selection::Missing => Err(NotDelivered {
                    reason: format!("InputPath {} selects nothing in the event", p.as_str()),
                    output: None,
                }),
                Selection::One(v) => Ok(to_compact(v)),
                Selection::Many(vs) => {
                    Ok(to_compact(&Value::Array(vs.into_iter().cloned().collect())))
                }
            },
            TargetInput::Transformer(t) => t.apply(event, ctx),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ev(s: &str) -> Value {
        evmatch_json::parse_value(s).unwrap()
    }

    fn ctx() -> TransformContext {
        TransformContext::new("r", "arn:aws:events:us-east-1:123456789012:rule/r", "T")
    }

    #[test]
    fn spec_4_2_paths_parse() {
        for (p, ok) in [
            ("$", true),
            ("$.detail", true),
            ("$.resources[0]", true),
            ("$.detail.list[*]", true),
            ("$.detail.*", true),
            ("$['detail']['a.b']", true),
            ("$.a/b.c-d_e", true),
            ("detail.x", true),
            ("$..x", false),
            ("$.", false),
            ("$.a[", false),
            ("$.a[x]", false),
            ("", false),
        ] {
            assert_eq!(JsonPath::parse(p).is_ok(), ok, "{p}");
        }
    }

    #[test]
    fn spec_4_2_select() {
        let e = ev(r#"{"a": {"b": [1, {"c": 2}], "d.e": 3}, "n": null}"#);
        let sel = |p: &str| JsonPath::parse(p).unwrap().select(&e);
        assert_eq!(sel("$.a.b[0]"), Selection::One(&Value::Number("1".into())));
        assert_eq!(
            sel("$.a.b[-1].c"),
            Selection::One(&Value::Number("2".into()))
        );
        assert_eq!(sel("$.a.b[2]"), Selection::Missing);
        assert_eq!(
            sel("$.a['d.e']"),
            Selection::One(&Value::Number("3".into()))
        );
        assert_eq!(sel("$.n"), Selection::One(&Value::Null));
        assert_eq!(sel("$.a.b.c"), Selection::Missing);
        assert_eq!(sel("$.x.y"), Selection::Missing);
        match sel("$.a.b[*].c") {
            Selection::Many(v) => assert_eq!(v, vec![&Value::Number("2".into())]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn spec_4_3_placeholder_context() {
        let p = split(
            r#"{"a": <x>, "b": "q \"<y>\" <z>", "c": "\\", "d": <w>}"#,
            TemplateMode::Json,
        );
        let vars: Vec<(String, Context)> = p
            .into_iter()
            .filter_map(|p| match p {
                Piece::Var { name, context } => Some((name, context)),
                Piece::Literal(_) => None,
            })
            .collect();
        assert_eq!(
            vars,
            vec![
                ("x".into(), Context::JsonOutside),
                ("y".into(), Context::JsonInside),
                ("z".into(), Context::JsonInside),
                ("w".into(), Context::JsonOutside),
            ]
        );
        // Not placeholders: `< x>`, `<>`, `<a b>`, a lone `<`.
        let p = split("a < x> <> <a b> < <", TemplateMode::Text);
        assert_eq!(p, vec![Piece::Literal("a < x> <> <a b> < <".into())]);
    }

    #[test]
    fn spec_4_3_mode() {
        assert_eq!(template_mode(" \n\t{\"a\":1}"), TemplateMode::Json);
        assert_eq!(template_mode("[1]"), TemplateMode::Text);
        assert_eq!(template_mode("\"{\""), TemplateMode::Text);
    }

    #[test]
    fn json_strings_escape_like_jackson() {
        let mut s = String::new();
        write_json_string("a\"b\\c\n\u{1}\u{1f}é/\u{7f}", &mut s);
        assert_eq!(s, "\"a\\\"b\\\\c\\n\\u0001\\u001Fé/\u{7f}\"");
    }

    #[test]
    fn compact_keeps_number_text_and_order() {
        let e = ev("{ \"z\" : [ 1.50 , 3.0e2, -0 ], \"a\": {\"s\": \"\\u00e9\"} }");
        assert_eq!(to_compact(&e), r#"{"z":[1.50,3.0e2,-0],"a":{"s":"é"}}"#);
        let deep = format!("{}{}", "[".repeat(900), "]".repeat(900));
        assert_eq!(to_compact(&ev(&deep)), deep);
    }

    #[test]
    fn json_check_any_depth() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(check_json(&deep).is_ok());
        assert!(check_json(&deep[1..]).is_err());
        assert!(check_json("  ").is_err());
        assert!(check_json("{} {}").is_err());
    }

    #[test]
    fn spec_4_3_json_output_must_parse() {
        let t =
            InputTransformer::new(&[("p".into(), "$.p".into())], r#"{"a": "<p>"}"#, "t").unwrap();
        let r = t.apply(&ev(r#"{"p": {"x": 1}}"#), &ctx());
        let e = r.unwrap_err();
        assert_eq!(e.output.as_deref(), Some(r#"{"a": "{"x":1}"}"#));
    }

    #[test]
    fn spec_4_1_validation_order() {
        let map = [("a".to_string(), "$.a".to_string())];
        let e = TargetInput::new("t1", Some("{}"), Some("$.x"), None).unwrap_err();
        assert_eq!(
            e.message(),
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1."
        );
        let e = TargetInput::new(
            "t1",
            None,
            Some("$.x"),
            Some(TransformerConfig {
                paths: &map,
                template: Some("<nope>"),
            }),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::SeveralInputs);
        let e = TargetInput::new(
            "t1",
            None,
            None,
            Some(TransformerConfig {
                paths: &map,
                template: Some("<nope>"),
            }),
        )
        .unwrap_err();
        assert_eq!(
            e.message(),
            "InputTemplate for target t1 contains invalid placeholder nope."
        );
        let long = "x".repeat(MAX_TEMPLATE_CHARS + 1);
        let e = TargetInput::new(
            "t1",
            None,
            None,
            Some(TransformerConfig {
                paths: &map,
                template: Some(&long),
            }),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Constraint);
        let ok = "x".repeat(MAX_TEMPLATE_CHARS);
        assert!(TargetInput::new(
            "t1",
            None,
            None,
            Some(TransformerConfig {
                paths: &map,
                template: Some(&ok)
            })
        )
        .is_ok());
    }

    #[test]
    fn spec_4_2_limits() {
        let many: Vec<(String, String)> = (0..=MAX_PATHS)
            .map(|i| (format!("v{i}"), "$.a".into()))
            .collect();
        let e = InputTransformer::new(&many, "x", "t").unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Constraint);
        assert!(InputTransformer::new(&many[..MAX_PATHS], "x", "t").is_ok());
        let e = InputTransformer::new(&[("a.b".into(), "$.a".into())], "x", "t").unwrap_err();
        assert!(e.message().contains("regular expression pattern"), "{e}");
        let long_path = format!("$.{}", "a".repeat(MAX_PATH_CHARS));
        let e = InputTransformer::new(&[("a".into(), long_path)], "x", "t").unwrap_err();
        assert_eq!(e.kind(), ConfigErrorKind::Constraint);
    }
}
