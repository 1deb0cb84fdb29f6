//! Rules files for evmatch, in the shapes EventBridge users already have.
//!
//! [`load_rules`] reads a rules file and returns one [`RuleDef`] per rule.
//! Three shapes are recognised from the top-level value:
//!
//! 1. an object mapping rule names to pattern objects,
//!    `{"rule-name": {"source": ["aws.ec2"]}, ...}`;
//! 2. an array of EventBridge rule objects (`Name`, `EventPattern` as a
//!    JSON string or as the pattern object itself, optional `State` and
//!    `Targets`; other fields such as `Arn` or `Description` are ignored);
//! 3. the output of `aws events list-rules`: `{"Rules": [ ...as in 2... ]}`.
//!
//! Pattern texts are taken verbatim from the file (or unescaped from the
//! `EventPattern` string), never re-serialised: duplicate keys and number
//! spellings such as `3.0e2` or 20-digit integers mean something to the
//! pattern compiler and survive untouched.
//!
//! ```
//! let rules = evmatch_router::load_rules(r#"{"big": {"detail": {"n": [{"numeric": [">", 3.0e2]}]}}}"#)?;
//! assert_eq!(rules[0].name, "big");
//! assert_eq!(rules[0].pattern, r#"{"detail": {"n": [{"numeric": [">", 3.0e2]}]}}"#);
//! # Ok::<(), evmatch_router::RulesFileError>(())
//! ```
#![deny(missing_docs)]

pub mod delivery;
pub mod http;
pub mod sinks;
pub mod target;
pub mod transform;

use evmatch_json::{JsonError, Reader, Token};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// One rule read from a rules file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleDef {
    /// The rule's name (unique within the file).
    pub name: String,
    /// The pattern's JSON text, exactly as written (unescaped when the
    /// file gives it as a JSON string).
    pub pattern: String,
    /// `false` for rules whose `State` is `DISABLED`: they never match.
    pub enabled: bool,
    /// The rule's `Targets`, kept as JSON values (empty when absent);
    /// [`RuleDef::parse_targets`] validates them.
    pub targets: Vec<serde_json::Value>,
    /// 1-based line of the rules file where the pattern starts.
    pub line: usize,
}

impl RuleDef {
    /// Reads and validates the rule's targets as `PutTargets` would, with
    /// AWS's texts (SPEC.md §4.1, §4.2): the first invalid target's error.
    pub fn parse_targets(&self) -> Result<Vec<target::Target>, transform::ConfigError> {
        target::parse_targets(&self.targets)
    }
}

/// What kind of problem a rules file has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RulesFileErrorKind {
    /// The file is not valid JSON.
    Json,
    /// The file is empty or its top-level value has none of the known
    /// shapes, or a rule entry is not an object.
    Shape,
    /// A rule object lacks `Name` or `EventPattern`.
    MissingField,
    /// A field of a rule object has a wrong type or value.
    InvalidField,
    /// A rule object has the same field twice.
    DuplicateField,
    /// Two rules share a name.
    DuplicateName,
}

/// Why a rules file could not be loaded, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesFileError {
    kind: RulesFileErrorKind,
    message: String,
    line: usize,
    column: usize,
    rule: Option<String>,
}

impl RulesFileError {
    /// The kind of problem.
    pub fn kind(&self) -> RulesFileErrorKind {
        self.kind
    }

    /// What is wrong, without the location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// 1-based line of the offending token.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column (in characters) of the offending token.
    pub fn column(&self) -> usize {
        self.column
    }

    /// The rule concerned: its name, or `#N` (1-based position in the
    /// array) when it has no usable name. `None` for file-level problems.
    pub fn rule(&self) -> Option<&str> {
        self.rule.as_deref()
    }
}

impl fmt::Display for RulesFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}: ", self.line, self.column)?;
        if let Some(r) = &self.rule {
            if r.starts_with('#') {
                write!(f, "rule {r}: ")?;
            } else {
                write!(f, "rule \"{r}\": ")?;
            }
        }
        match self.kind {
            RulesFileErrorKind::Json => write!(f, "invalid JSON: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RulesFileError {}

/// Reads a rules file in any of the three shapes (see the crate docs).
///
/// Errors say what is wrong and where: invalid JSON, an unknown top-level
/// shape, a rule object without `Name` or `EventPattern`, a bad `State` or
/// `Targets`, a field given twice, two rules with the same name. Patterns
/// themselves are not compiled here.
///
/// A rule object with a `ScheduleExpression` and no `EventPattern` (a
/// scheduled rule, as `aws events list-rules` prints them) matches no event
/// and is left out of the result.
pub fn load_rules(text: &str) -> Result<Vec<RuleDef>, RulesFileError> {
    Loader {
        text,
        lines: Lines::new(text),
    }
    .load()
}

/// Replaces the quoted input in a JSON reader message (Jackson's
/// `[Source: (String)"<the whole input>"; line: L, column: C]`) with a short
/// name such as `the rules file`, keeping the line and column.
pub fn shorten_json_message(message: &str, name: &str) -> String {
    const SOURCE: &str = "[Source: (String)\"";
    let Some(a) = message.find(SOURCE) else {
        return message.to_string();
    };
    let from = a + "[Source: ".len();
    match message.rfind("; line: ") {
        Some(b) if b > from => {
            let mut out = String::with_capacity(message.len());
            out.push_str(message.get(..from).unwrap_or(""));
            out.push_str(name);
            out.push_str(message.get(b..).unwrap_or(""));
            out
        }
        _ => message.to_string(),
    }
}

/// How a token reads in an error message.
fn describe(t: &Token<'_>) -> &'static str {
    match t {
        Token::StartObject => "an object",
        Token::StartArray => "an array",
        Token::String(_) => "a string",
        Token::Number(_) => "a number",
        Token::Bool(_) => "a boolean",
        Token::Null => "null",
        Token::EndObject | Token::EndArray | Token::Key(_) => "no value",
    }
}

/// Byte offset to line/column, in O(log n) per query.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines { text, starts }
    }

    /// 1-based line of a byte offset (a binary search: rules files with
    /// 100,000 rules on one line stay linear to load).
    fn line(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i.saturating_sub(1) + 1,
        }
    }

    /// 1-based (line, column), the column counted in characters (for
    /// error messages only: it counts from the start of the line).
    fn at(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts.get(idx).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map(|s| s.chars().count())
            .unwrap_or(0)
            + 1;
        (idx + 1, column)
    }
}

struct Loader<'a> {
    text: &'a str,
    lines: Lines<'a>,
}

/// A top-level shape decision.
enum Shape {
    NameToPattern,
    RuleArray,
    ListRules,
}

/// One member of a rule object, as found in the file.
struct Field<'a> {
    /// Offset where the value starts.
    start: usize,
    /// Offset just past the value.
    end: usize,
    /// The value's first token.
    first: Token<'a>,
}

impl<'a> Loader<'a> {
    fn error(
        &self,
        kind: RulesFileErrorKind,
        offset: usize,
        rule: Option<String>,
        message: impl Into<String>,
    ) -> RulesFileError {
        let (line, column) = self.lines.at(offset);
        RulesFileError {
            kind,
            message: message.into(),
            line,
            column,
            rule,
        }
    }

    fn json_error(&self, e: JsonError) -> RulesFileError {
        RulesFileError {
            kind: RulesFileErrorKind::Json,
            message: shorten_json_message(&e.message, "the rules file"),
            line: e.position.line,
            column: e.position.column,
            rule: None,
        }
    }

    fn reader(&self) -> Reader<'a> {
        // The reader keeps its nesting on the heap, so no depth limit is
        // needed here; the pattern compiler applies its own.
        Reader::with_max_depth(self.text, usize::MAX)
    }

    fn next(&self, r: &mut Reader<'a>) -> Result<Token<'a>, RulesFileError> {
        match r.next_token() {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Err(self.error(
                RulesFileErrorKind::Json,
                r.offset(),
                None,
                "Unexpected end-of-input",
            )),
            Err(e) => Err(self.json_error(e)),
        }
    }

    fn skip(&self, r: &mut Reader<'a>, first: &Token<'_>) -> Result<(), RulesFileError> {
        r.skip_rest_of_value(first).map_err(|e| self.json_error(e))
    }

    /// The next member key of the object being read, or `None` at its end.
    fn next_key(&self, r: &mut Reader<'a>) -> Result<Option<Cow<'a, str>>, RulesFileError> {
        match self.next(r)? {
            Token::EndObject => Ok(None),
            Token::Key(k) => Ok(Some(k)),
            _ => Err(self.error(
                RulesFileErrorKind::Json,
                r.token_start(),
                None,
                "unexpected token",
            )),
        }
    }

    /// Reads one whole value: its first token and its byte span.
    fn value_span(&self, r: &mut Reader<'a>) -> Result<(Token<'a>, usize, usize), RulesFileError> {
        let first = self.next(r)?;
        let start = r.token_start();
        self.skip(r, &first)?;
        Ok((first, start, r.offset()))
    }

    /// Pass 1: checks the whole file is one valid JSON value and finds its
    /// shape.
    fn shape(&self) -> Result<Shape, RulesFileError> {
        let mut r = self.reader();
        let first = match r.next_token() {
            Ok(Some(t)) => t,
            Ok(None) => {
                return Err(self.error(
                    RulesFileErrorKind::Shape,
                    0,
                    None,
                    "the rules file is empty",
                ))
            }
            Err(e) => return Err(self.json_error(e)),
        };
        let top_at = r.token_start();
        let shape =
            match first {
                Token::StartArray => {
                    self.skip(&mut r, &first)?;
                    Shape::RuleArray
                }
                Token::StartObject => {
                    let mut members = 0usize;
                    let mut rules_array = false;
                    while let Some(k) = self.next_key(&mut r)? {
                        members += 1;
                        let (v, _, _) = self.value_span(&mut r)?;
                        if k == "Rules" && matches!(v, Token::StartArray) {
                            rules_array = true;
                        }
                    }
                    if members == 1 && rules_array {
                        Shape::ListRules
                    } else {
                        Shape::NameToPattern
                    }
                }
                _ => return Err(self.error(
                    RulesFileErrorKind::Shape,
                    top_at,
                    None,
                    "unknown rules file shape: expected an object mapping rule names to patterns, \
                     an array of EventBridge rule objects, or {\"Rules\": [...]} as printed by \
                     `aws events list-rules`",
                )),
            };
        r.finish().map_err(|e| self.json_error(e))?;
        Ok(shape)
    }

    fn load(&self) -> Result<Vec<RuleDef>, RulesFileError> {
        let shape = self.shape()?;
        let mut r = self.reader();
        let rules = match shape {
            Shape::NameToPattern => self.name_to_pattern(&mut r)?,
            Shape::RuleArray => {
                self.next(&mut r)?; // [
                self.rule_array(&mut r)?
            }
            Shape::ListRules => {
                self.next(&mut r)?; // {
                self.next(&mut r)?; // "Rules"
                self.next(&mut r)?; // [
                self.rule_array(&mut r)?
            }
        };
        Ok(rules)
    }

    /// Shape 1: `{"name": pattern, ...}`; the reader is at the start.
    fn name_to_pattern(&self, r: &mut Reader<'a>) -> Result<Vec<RuleDef>, RulesFileError> {
        let mut out = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        self.next(r)?; // {
        while let Some(name) = self.next_key(r)? {
            let name = name.into_owned();
            let key_at = r.token_start();
            let (_, start, end) = self.value_span(r)?;
            let line = self.lines.line(start);
            if let Some(first_line) = seen.get(&name) {
                return Err(self.error(
                    RulesFileErrorKind::DuplicateName,
                    key_at,
                    Some(name),
                    format!("duplicate rule name (first defined on line {first_line}); rule names must be unique"),
                ));
            }
            seen.insert(name.clone(), line);
            out.push(RuleDef {
                name,
                pattern: self.text.get(start..end).unwrap_or("").to_string(),
                enabled: true,
                targets: Vec::new(),
                line,
            });
        }
        Ok(out)
    }

    /// Shapes 2 and 3: the reader has just returned the array's `[`.
    fn rule_array(&self, r: &mut Reader<'a>) -> Result<Vec<RuleDef>, RulesFileError> {
        let mut out = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut index = 0usize;
        loop {
            let t = self.next(r)?;
            let at = r.token_start();
            match t {
                Token::EndArray => break,
                Token::StartObject => {
                    index += 1;
                    let rule = self.rule_object(r, index, at)?;
                    if let Some(first_line) = seen.get(&rule.name) {
                        return Err(self.error(
                            RulesFileErrorKind::DuplicateName,
                            at,
                            Some(rule.name),
                            format!("duplicate rule name (first defined on line {first_line}); rule names must be unique"),
                        ));
                    }
                    seen.insert(rule.name.clone(), rule.line);
                    if let Some(rule) = rule.rule {
                        out.push(rule);
                    }
                }
                other => {
                    index += 1;
                    return Err(self.error(
                        RulesFileErrorKind::Shape,
                        at,
                        Some(format!("#{index}")),
                        format!(
                            "a rule must be a JSON object with Name and EventPattern, found {}",
                            describe(&other)
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// One EventBridge rule object; the reader has just returned its `{`.
    fn rule_object(
        &self,
        r: &mut Reader<'a>,
        index: usize,
        obj_at: usize,
    ) -> Result<ParsedRule, RulesFileError> {
        let mut fields: HashMap<&'static str, Field<'a>> = HashMap::new();
        while let Some(key) = self.next_key(r)? {
            let key_at = r.token_start();
            let (first, start, end) = self.value_span(r)?;
            let known: Option<&'static str> = match key.as_ref() {
                "Name" => Some("Name"),
                "EventPattern" => Some("EventPattern"),
                "State" => Some("State"),
                "Targets" => Some("Targets"),
                "ScheduleExpression" => Some("ScheduleExpression"),
                _ => None,
            };
            let Some(known) = known else { continue };
            let field = Field { start, end, first };
            if fields.insert(known, field).is_some() {
                return Err(self.error(
                    RulesFileErrorKind::DuplicateField,
                    key_at,
                    Some(format!("#{index}")),
                    format!("the rule object has the field {known} twice"),
                ));
            }
        }

        // The name first, so that later errors can say which rule.
        let name = match fields.get("Name") {
            None => {
                return Err(self.error(
                    RulesFileErrorKind::MissingField,
                    obj_at,
                    Some(format!("#{index}")),
                    "the rule object has no Name",
                ))
            }
            Some(f) => match &f.first {
                Token::String(s) if !s.is_empty() => s.to_string(),
                other => {
                    return Err(self.error(
                        RulesFileErrorKind::InvalidField,
                        f.start,
                        Some(format!("#{index}")),
                        format!("Name must be a non-empty string, found {}", describe(other)),
                    ))
                }
            },
        };
        let who = Some(name.clone());

        let enabled = match fields.get("State") {
            None => true,
            Some(f) => match &f.first {
                Token::String(s) if s == "ENABLED" => true,
                Token::String(s) if s == "DISABLED" => false,
                _ => {
                    return Err(self.error(
                        RulesFileErrorKind::InvalidField,
                        f.start,
                        who,
                        format!(
                            "State must be \"ENABLED\" or \"DISABLED\", found {}",
                            self.text.get(f.start..f.end).unwrap_or("")
                        ),
                    ))
                }
            },
        };

        let targets = match fields.get("Targets") {
            None => Vec::new(),
            Some(f) => {
                let raw = self.text.get(f.start..f.end).unwrap_or("");
                match serde_json::from_str::<serde_json::Value>(raw) {
                    Ok(serde_json::Value::Array(a)) => a,
                    Ok(_) => {
                        return Err(self.error(
                            RulesFileErrorKind::InvalidField,
                            f.start,
                            who,
                            "Targets must be an array",
                        ))
                    }
                    Err(e) => {
                        return Err(self.error(
                            RulesFileErrorKind::InvalidField,
                            f.start,
                            who,
                            format!("Targets could not be read: {e}"),
                        ))
                    }
                }
            }
        };

        let (pattern, line) = match fields.get("EventPattern") {
            None => {
                if fields.contains_key("ScheduleExpression") {
                    // A scheduled rule (as `aws events list-rules` lists
                    // them): it matches no event, so it is left out.
                    return Ok(ParsedRule {
                        name,
                        line: self.lines.line(obj_at),
                        rule: None,
                    });
                }
                return Err(self.error(
                    RulesFileErrorKind::MissingField,
                    obj_at,
                    who,
                    "the rule object has no EventPattern",
                ));
            }
            Some(f) => {
                let line = self.lines.line(f.start);
                match &f.first {
                    Token::String(s) => (s.to_string(), line),
                    _ => (
                        self.text.get(f.start..f.end).unwrap_or("").to_string(),
                        line,
                    ),
                }
            }
        };
        Ok(ParsedRule {
            name: name.clone(),
            line,
            rule: Some(RuleDef {
                name,
                pattern,
                enabled,
                targets,
                line,
            }),
        })
    }
}

/// A rule object as read: a rule, or a scheduled rule without a pattern.
struct ParsedRule {
    name: String,
    line: usize,
    rule: Option<RuleDef>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> RulesFileError {
        load_rules(text).unwrap_err()
    }

    #[test]
    fn name_to_pattern_object() {
        let text =
            "{\n  \"a\": {\"source\": [\"x\"]},\n  \"b\":\n    {\"detail\": {\"n\": [1]}}\n}";
        let rules = load_rules(text).unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(rules[0].name, "a");
        assert_eq!(rules[0].pattern, r#"{"source": ["x"]}"#);
        assert_eq!(rules[0].line, 2);
        assert!(rules[0].enabled);
        assert!(rules[0].targets.is_empty());
        assert_eq!(rules[1].name, "b");
        assert_eq!(rules[1].pattern, r#"{"detail": {"n": [1]}}"#);
        assert_eq!(rules[1].line, 4);
    }

    #[test]
    fn empty_object_is_no_rules() {
        assert!(load_rules(" {} \n").unwrap().is_empty());
        assert!(load_rules("[]").unwrap().is_empty());
        assert!(load_rules(r#"{"Rules": []}"#).unwrap().is_empty());
    }

    #[test]
    fn exact_text_survives() {
        let pattern = r#"{"a": [1], "a": [2], "n": [3.0e2, 1E400, 12345678901234567890, -0.0], "s": ["\u0041\"\n"]}"#;
        let text = format!("{{\"r\": {pattern}}}");
        let rules = load_rules(&text).unwrap();
        assert_eq!(rules[0].pattern, pattern);

        // Same through shape 2 with the pattern as an object...
        let text = format!(r#"[{{"Name": "r", "EventPattern": {pattern}}}]"#);
        assert_eq!(load_rules(&text).unwrap()[0].pattern, pattern);

        // ...and as a JSON string: the unescaped string is the pattern.
        let quoted = serde_json::to_string(pattern).unwrap();
        let text = format!(r#"{{"Rules": [{{"EventPattern": {quoted}, "Name": "r"}}]}}"#);
        assert_eq!(load_rules(&text).unwrap()[0].pattern, pattern);
    }

    #[test]
    fn eventbridge_rule_array() {
        let text = r#"[
  {
    "Name": "on",
    "Arn": "arn:aws:events:us-east-1:123456789012:rule/on",
    "EventPattern": "{\"source\": [\"aws.ec2\"]}",
    "State": "ENABLED",
    "Description": "ignored",
    "EventBusName": "default",
    "Targets": [{"Id": "t1", "Arn": "arn:aws:sqs:us-east-1:123456789012:q"}]
  },
  {
    "Name": "off",
    "State": "DISABLED",
    "EventPattern": {"source": ["aws.s3"]}
  },
  {"EventPattern": {"source": ["x"]}, "Name": "default-state"}
]"#;
        let rules = load_rules(text).unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[0].name, "on");
        assert_eq!(rules[0].pattern, r#"{"source": ["aws.ec2"]}"#);
        assert!(rules[0].enabled);
        assert_eq!(rules[0].line, 5);
        assert_eq!(rules[0].targets.len(), 1);
        assert_eq!(rules[0].targets[0]["Id"], "t1");
        assert_eq!(rules[1].name, "off");
        assert!(!rules[1].enabled);
        assert_eq!(rules[1].pattern, r#"{"source": ["aws.s3"]}"#);
        assert_eq!(rules[1].line, 14);
        assert!(rules[1].targets.is_empty());
        assert_eq!(rules[2].name, "default-state");
        assert!(rules[2].enabled);
        assert_eq!(rules[2].line, 16);
    }

    #[test]
    fn spec_4_1_targets_are_validated_per_rule() {
        let text = r#"[{"Name": "a", "EventPattern": {"x": [1]}, "Targets": [
            {"Id": "t1", "Arn": "stdout:"},
            {"Id": "t2", "Arn": "stdout:", "Input": "{}", "InputPath": "$"}]}]"#;
        let rules = load_rules(text).unwrap();
        let e = rules[0].parse_targets().unwrap_err();
        assert_eq!(
            e.message(),
            "Only one of Input, InputPath, or InputTransformer must be provided for target t2."
        );
        let ok = load_rules(r#"[{"Name": "a", "EventPattern": {"x": [1]}, "Targets": [{"Id": "t1", "Arn": "stdout:"}]}]"#).unwrap();
        assert_eq!(ok[0].parse_targets().unwrap()[0].id, "t1");
    }

    #[test]
    fn list_rules_output() {
        let text = r#"{
    "Rules": [
        {
            "Name": "orders",
            "Arn": "arn:aws:events:us-east-1:123456789012:rule/orders",
            "EventPattern": "{\"source\":[\"shop\"],\"detail\":{\"total\":[{\"numeric\":[\">\",100]}]}}",
            "State": "ENABLED",
            "EventBusName": "default"
        },
        {
            "Name": "nightly",
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "State": "ENABLED"
        }
    ]
}"#;
        let rules = load_rules(text).unwrap();
        assert_eq!(rules.len(), 1, "the scheduled rule is left out");
        assert_eq!(rules[0].name, "orders");
        assert_eq!(
            rules[0].pattern,
            r#"{"source":["shop"],"detail":{"total":[{"numeric":[">",100]}]}}"#
        );
        assert_eq!(rules[0].line, 6);
    }

    #[test]
    fn rules_key_with_other_keys_is_a_name_map() {
        // Not list-rules output: "Rules" is then just a rule name (whose
        // pattern the compiler will reject).
        let rules = load_rules(r#"{"Rules": [], "b": {"x": ["y"]}}"#).unwrap();
        assert_eq!(rules[0].name, "Rules");
        assert_eq!(rules[0].pattern, "[]");
        assert_eq!(rules[1].name, "b");
        // An object value under "Rules" is a pattern too.
        let rules = load_rules(r#"{"Rules": {"x": ["y"]}}"#).unwrap();
        assert_eq!(rules[0].pattern, r#"{"x": ["y"]}"#);
    }

    #[test]
    fn non_object_patterns_are_kept_for_the_compiler() {
        let rules = load_rules(r#"{"a": 5, "b": "s"}"#).unwrap();
        assert_eq!(rules[0].pattern, "5");
        assert_eq!(rules[1].pattern, r#""s""#);
    }

    #[test]
    fn invalid_json() {
        let e = err("{\n  \"a\": {\"x\": [1,]}\n}");
        assert_eq!(e.kind(), RulesFileErrorKind::Json);
        // Jackson's convention: just past the offending `]`.
        assert_eq!((e.line(), e.column()), (2, 18));
        assert!(e
            .to_string()
            .starts_with("line 2, column 18: invalid JSON: "));

        let e = err(r#"{"a": {"x": [1]}} trailing"#);
        assert_eq!(e.kind(), RulesFileErrorKind::Json);

        let e = err("{\"a\": {\"x\": [1]}\n");
        assert_eq!(e.kind(), RulesFileErrorKind::Json);
        assert_eq!(
            e.to_string(),
            "line 2, column 1: invalid JSON: Unexpected end-of-input: expected close marker for \
             Object (start marker at [Source: the rules file; line: 1, column: 1])"
        );
    }

    #[test]
    fn unknown_shapes() {
        for text in ["", "  \n ", "5", "\"rules\"", "null", "true"] {
            assert_eq!(err(text).kind(), RulesFileErrorKind::Shape, "{text:?}");
        }
        let e = err("\n  42");
        assert_eq!((e.line(), e.column()), (2, 3));
        assert!(e.message().contains("unknown rules file shape"));

        let e = err(r#"[{"Name": "a", "EventPattern": {}}, 7]"#);
        assert_eq!(e.kind(), RulesFileErrorKind::Shape);
        assert_eq!(e.rule(), Some("#2"));
        assert!(e.to_string().contains("rule #2"), "{e}");
    }

    #[test]
    fn missing_name() {
        let e = err("[\n  {\"EventPattern\": {\"x\": [1]}}\n]");
        assert_eq!(e.kind(), RulesFileErrorKind::MissingField);
        assert_eq!(e.rule(), Some("#1"));
        assert_eq!((e.line(), e.column()), (2, 3));
        assert_eq!(
            e.to_string(),
            "line 2, column 3: rule #1: the rule object has no Name"
        );
    }

    #[test]
    fn missing_event_pattern() {
        let e = err(
            r#"{"Rules": [{"Name": "a", "EventPattern": "{}"}, {"Name": "b", "State": "ENABLED"}]}"#,
        );
        assert_eq!(e.kind(), RulesFileErrorKind::MissingField);
        assert_eq!(e.rule(), Some("b"));
        assert!(e
            .to_string()
            .contains("rule \"b\": the rule object has no EventPattern"));
    }

    #[test]
    fn bad_name() {
        for name in ["5", "\"\"", "null", "{}"] {
            let e = err(&format!(r#"[{{"Name": {name}, "EventPattern": {{}}}}]"#));
            assert_eq!(e.kind(), RulesFileErrorKind::InvalidField, "{name}");
            assert!(e.message().starts_with("Name must be a non-empty string"));
        }
    }

    #[test]
    fn bad_state() {
        let e = err(r#"[{"Name": "a", "EventPattern": {}, "State": "enabled"}]"#);
        assert_eq!(e.kind(), RulesFileErrorKind::InvalidField);
        assert_eq!(e.rule(), Some("a"));
        assert_eq!(
            e.message(),
            r#"State must be "ENABLED" or "DISABLED", found "enabled""#
        );
        let e = err(r#"[{"Name": "a", "EventPattern": {}, "State": true}]"#);
        assert_eq!(e.kind(), RulesFileErrorKind::InvalidField);
    }

    #[test]
    fn bad_targets() {
        let e = err(r#"[{"Name": "a", "EventPattern": {}, "Targets": {"Id": "x"}}]"#);
        assert_eq!(e.kind(), RulesFileErrorKind::InvalidField);
        assert_eq!(e.message(), "Targets must be an array");
    }

    #[test]
    fn duplicate_field() {
        let e = err(r#"[{"Name": "a", "EventPattern": {}, "Name": "b"}]"#);
        assert_eq!(e.kind(), RulesFileErrorKind::DuplicateField);
        assert!(e.message().contains("Name twice"));
    }

    #[test]
    fn duplicate_names() {
        let e = err("{\n\"a\": {\"x\": [1]},\n\"a\": {\"x\": [2]}\n}");
        assert_eq!(e.kind(), RulesFileErrorKind::DuplicateName);
        assert_eq!(e.rule(), Some("a"));
        assert_eq!(e.line(), 3);
        assert!(e.message().contains("first defined on line 2"));
        assert!(e.message().contains("must be unique"));

        let e = err(r#"[{"Name": "a", "EventPattern": {}}, {"Name": "a", "EventPattern": {}}]"#);
        assert_eq!(e.kind(), RulesFileErrorKind::DuplicateName);
        assert!(e.to_string().contains("rule \"a\""));
    }

    #[test]
    fn deep_patterns_load() {
        // The rules file reader has no depth limit of its own.
        let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
        let rules = load_rules(&format!("{{\"d\": {deep}}}")).unwrap();
        assert_eq!(rules[0].pattern, deep);
    }

    #[test]
    fn shortened_messages() {
        assert_eq!(
            shorten_json_message(
                "Unexpected close marker ']': expected '}' (for Object starting at [Source: (String)\"{\"a; line: 1\"[truncated 3 chars]; line: 1, column: 1])",
                "x"
            ),
            "Unexpected close marker ']': expected '}' (for Object starting at [Source: x; line: 1, column: 1])"
        );
        assert_eq!(shorten_json_message("plain", "x"), "plain");
    }

    #[test]
    fn lines_and_columns() {
        let l = Lines::new("ab\néé\n\nx");
        assert_eq!(l.at(0), (1, 1));
        assert_eq!(l.at(2), (1, 3));
        assert_eq!(l.at(3), (2, 1));
        assert_eq!(l.at(5), (2, 2)); // after one two-byte character
        assert_eq!(l.at(8), (3, 1));
        assert_eq!(l.at(9), (4, 1));
        assert_eq!(l.at(100), (4, 2));
    }
}
