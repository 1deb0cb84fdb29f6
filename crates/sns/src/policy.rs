//! The filter policy front end: SNS's own checks, operator set and error
//! texts (SPEC.md §5), producing the shared pattern AST so that matching
//! runs on the same engine as EventBridge rules.
//!
//! The policy text is parsed as JSON first (a syntax error is reported as
//! `failed to parse JSON. <parser message>`, SPEC.md §5.5), then checked in
//! one walk in document order (the first problem is the one reported, with
//! the texts of SPEC.md §2 where SNS shares them), then the scope, the key
//! limit and the combination limit are checked on the whole policy
//! (SPEC.md §5.4, §5.5), and only then is `$or` expanded into branches.

use evmatch_json::{comparable_f64, parse_value_with_depth, Value};
use evmatch_pattern::ip::{ip_literal_range, parse_cidr};
use evmatch_pattern::{
    AnythingBut, Branch, Exact, FieldCondition, Matcher, NumericRange, Pattern, RESERVED_IN_OR,
};
use std::fmt;
use std::str::FromStr;

/// Most top-level keys a policy may have (per `$or` branch), SPEC.md §5.4.
pub const MAX_KEYS: usize = 5;
/// Most value combinations a policy may have, SPEC.md §5.4.
pub const MAX_COMBINATIONS: u64 = 150;
/// Largest policy, in bytes of UTF-8 (256 KB), SPEC.md §5.4.
pub const MAX_POLICY_BYTES: usize = 256 * 1024;
/// Deepest JSON nesting accepted in a policy.
const MAX_DEPTH: usize = 256;

const ONE_KEY: &str = "Only one key allowed in match expression";
const TOO_MANY_ELEMENTS: &str = "Too many elements in numeric expression";

/// What a subscription's filter policy applies to (SPEC.md §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FilterPolicyScope {
    /// The message attributes (the default): flat policies only.
    #[default]
    MessageAttributes,
    /// The message body, which must be a JSON object; nesting allowed.
    MessageBody,
}

impl FilterPolicyScope {
    /// The attribute value AWS uses for this scope.
    pub fn as_str(self) -> &'static str {
        match self {
            FilterPolicyScope::MessageAttributes => "MessageAttributes",
            FilterPolicyScope::MessageBody => "MessageBody",
        }
    }
}

impl fmt::Display for FilterPolicyScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FilterPolicyScope {
    type Err = PolicyError;

    /// `MessageAttributes` or `MessageBody`, exactly (case-sensitive);
    /// anything else is AWS's invalid-scope error (SPEC.md §5.1).
    fn from_str(s: &str) -> Result<Self, PolicyError> {
        match s {
            "MessageAttributes" => Ok(FilterPolicyScope::MessageAttributes),
            "MessageBody" => Ok(FilterPolicyScope::MessageBody),
            _ => Err(PolicyError::new(
                PolicyErrorKind::InvalidScope,
                format!(
                    "FilterPolicyScope: Invalid value [{s}]. Please use either MessageBody or MessageAttributes"
                ),
                String::new(),
            )),
        }
    }
}

/// What kind of problem a policy (or scope) has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// Not valid JSON.
    Syntax,
    /// Wrong shape: not an object, empty containers, `$or` misuse, ...
    Structure,
    /// A bad or unsupported operator or operand.
    Operator,
    /// A nested policy under the MessageAttributes scope.
    Scope,
    /// The key, combination or size limit (SPEC.md §5.4).
    Limit,
    /// A FilterPolicyScope value that is neither scope.
    InvalidScope,
}

/// Why a filter policy (or a scope value) was rejected.
///
/// `Display` gives the message AWS returns from SetSubscriptionAttributes:
/// `Invalid parameter: FilterPolicy: <reason>` for policy errors and
/// `Invalid parameter: <reason>` for the two scope errors (SPEC.md §5.1,
/// §5.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    kind: PolicyErrorKind,
    reason: String,
    path: String,
}

impl PolicyError {
    fn new(kind: PolicyErrorKind, reason: String, path: String) -> Self {
        PolicyError { kind, reason, path }
    }

    /// The kind of problem.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }

    /// The reason text, as AWS words it (after the `FilterPolicy: ` prefix
    /// for policy errors).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Dotted path of policy keys leading to the problem (empty at the top
    /// level and for whole-policy errors).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The full message, exactly as AWS returns it.
    pub fn aws_message(&self) -> String {
        match self.kind {
            PolicyErrorKind::Scope | PolicyErrorKind::InvalidScope => {
                format!("Invalid parameter: {}", self.reason)
            }
            _ => format!("Invalid parameter: FilterPolicy: {}", self.reason),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.aws_message())
    }
}

impl std::error::Error for PolicyError {}

/// A checked filter policy with its scope. A policy given as the empty
/// string has no pattern: it removes the filter, and every message passes
/// (SPEC.md §5.5).
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPolicy {
    scope: FilterPolicyScope,
    pattern: Option<Pattern>,
}

impl FilterPolicy {
    /// Checks and compiles a policy for a scope.
    pub fn compile(text: &str, scope: FilterPolicyScope) -> Result<FilterPolicy, PolicyError> {
        if text.is_empty() {
            return Ok(FilterPolicy {
                scope,
                pattern: None,
            });
        }
        let pattern = compile_pattern(text, scope)?;
        Ok(FilterPolicy {
            scope,
            pattern: Some(pattern),
        })
    }

    /// The scope.
    pub fn scope(&self) -> FilterPolicyScope {
        self.scope
    }

    /// The compiled pattern; `None` when the policy filters nothing.
    pub fn pattern(&self) -> Option<&Pattern> {
        self.pattern.as_ref()
    }
}

/// A policy member, checked but not yet expanded.
enum Member {
    Field { key: String, matchers: Vec<Matcher> },
    Nested { key: String, body: Conj },
    Or(Vec<Conj>),
}

/// An object of the policy: every member must hold (AND).
struct Conj {
    members: Vec<Member>,
}

type Res<T> = Result<T, PolicyError>;

fn compile_pattern(text: &str, scope: FilterPolicyScope) -> Res<Pattern> {
    if text.len() > MAX_POLICY_BYTES {
        return Err(PolicyError::new(
            PolicyErrorKind::Limit,
            "Filter policy is too large".into(),
            String::new(),
        ));
    }
    let root = parse_value_with_depth(text, MAX_DEPTH).map_err(|e| {
        PolicyError::new(
            PolicyErrorKind::Syntax,
            format!("failed to parse JSON. {}", e.message),
            String::new(),
        )
    })?;
    let Value::Object(members) = &root else {
        return Err(PolicyError::new(
            PolicyErrorKind::Structure,
            "Filter is not an object".into(),
            String::new(),
        ));
    };
    let mut checker = Checker { keys: Vec::new() };
    let policy = checker.object(members, false)?;
    let whole = |kind, reason: &str| Err(PolicyError::new(kind, reason.into(), String::new()));
    if scope == FilterPolicyScope::MessageAttributes && is_nested(&policy) {
        return whole(
            PolicyErrorKind::Scope,
            "Filter policy scope MessageAttributes does not support nested filter policy",
        );
    }
    if top_level_keys(&policy) > MAX_KEYS {
        return whole(
            PolicyErrorKind::Limit,
            "Filter policy can not have more than 5 keys",
        );
    }
    if combinations(&policy, 1) > MAX_COMBINATIONS {
        return whole(PolicyErrorKind::Limit, "Filter policy is too complex");
    }
    // At most MAX_COMBINATIONS branches: each contributes at least 1.
    let branches = expand(&policy, "", vec![Vec::new()])
        .into_iter()
        .map(Branch::new)
        .collect();
    Ok(Pattern::from_branches(branches))
}

/// Whether any member (also inside `$or`) is a nested object.
fn is_nested(c: &Conj) -> bool {
    c.members.iter().any(|m| match m {
        Member::Field { .. } => false,
        Member::Nested { .. } => true,
        Member::Or(alts) => alts.iter().any(is_nested),
    })
}

/// The most top-level keys any expanded branch has: the object's own keys
/// plus, for each `$or` at this level, its largest alternative. `$or` itself
/// is not a key; nested keys do not count (SPEC.md §5.4).
fn top_level_keys(c: &Conj) -> usize {
    c.members
        .iter()
        .map(|m| match m {
            Member::Field { .. } | Member::Nested { .. } => 1,
            Member::Or(alts) => alts.iter().map(top_level_keys).max().unwrap_or(0),
        })
        .sum()
}

/// The validated combination count of SPEC.md §5.4: over the branches
/// `$or` expands to, the sum of the products of `len(list) × depth(list)`.
/// Computed without expanding (products distribute over the `$or` sums),
/// saturating so that hostile policies cannot overflow.
fn combinations(c: &Conj, depth: u64) -> u64 {
    c.members.iter().fold(1u64, |acc, m| {
        let factor = match m {
            Member::Field { matchers, .. } => (matchers.len() as u64).saturating_mul(depth),
            Member::Nested { body, .. } => combinations(body, depth.saturating_add(1)),
            Member::Or(alts) => alts
                .iter()
                .fold(0u64, |s, a| s.saturating_add(combinations(a, depth))),
        };
        acc.saturating_mul(factor)
    })
}

type Fields = Vec<FieldCondition>;

/// Cross-product expansion of `$or` (as SPEC.md §2.10 describes it).
fn expand(c: &Conj, prefix: &str, mut branches: Vec<Fields>) -> Vec<Fields> {
    for m in &c.members {
        match m {
            Member::Field { key, matchers } => {
                let path = join(prefix, key);
                for b in &mut branches {
                    b.push(FieldCondition {
                        path: path.clone(),
                        matchers: matchers.clone(),
                    });
                }
            }
            Member::Nested { key, body } => branches = expand(body, &join(prefix, key), branches),
            Member::Or(alts) => {
                branches = alts
                    .iter()
                    .flat_map(|a| expand(a, prefix, branches.clone()))
                    .collect();
            }
        }
    }
    branches
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// Jackson's `getText()` for the token a value starts with.
fn text_of(v: Option<&Value>) -> String {
    match v {
        None => "]".into(),
        Some(Value::Object(_)) => "{".into(),
        Some(Value::Array(_)) => "[".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Null) => "null".into(),
    }
}

struct Checker {
    keys: Vec<String>,
}

impl Checker {
    fn err<T>(&self, kind: PolicyErrorKind, reason: impl Into<String>) -> Res<T> {
        Err(PolicyError::new(kind, reason.into(), self.keys.join(".")))
    }

    fn op<T>(&self, reason: impl Into<String>) -> Res<T> {
        self.err(PolicyErrorKind::Operator, reason)
    }

    fn object(&mut self, members: &[(String, Value)], in_or: bool) -> Res<Conj> {
        let s = PolicyErrorKind::Structure;
        if members.is_empty() {
            return self.err(s, "Empty objects are not allowed");
        }
        let mut out = Vec::with_capacity(members.len());
        for (key, value) in members {
            if key == "$or" {
                // Not a path step: the alternatives sit at this object's path.
                let Value::Array(items) = value else {
                    return self.err(s, "It must be an Array followed with $or.");
                };
                let mut alts = Vec::with_capacity(items.len());
                for item in items {
                    let Value::Object(m) = item else {
                        return self.err(
                            s,
                            "Only JSON object is allowed in array of $or relationship.",
                        );
                    };
                    alts.push(self.object(m, true)?);
                }
                if alts.len() < 2 {
                    return self.err(s, "There must have at least 2 Objects in $or relationship.");
                }
                out.push(Member::Or(alts));
                continue;
            }
            if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
                return self.err(
                    s,
                    format!("{key} is Ruler reserved fieldName which cannot be used inside $or."),
                );
            }
            self.keys.push(key.clone());
            let member = match value {
                Value::Object(m) => Member::Nested {
                    key: key.clone(),
                    body: self.object(m, in_or)?,
                },
                Value::Array(items) => Member::Field {
                    key: key.clone(),
                    matchers: self.value_list(items)?,
                },
                _ => return self.err(s, format!("\"{key}\" must be an object or an array")),
            };
            self.keys.pop();
            out.push(member);
        }
        Ok(Conj { members: out })
    }

    fn value_list(&mut self, items: &[Value]) -> Res<Vec<Matcher>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(match item {
                Value::String(s) => match ip_literal_range(s) {
                    Some(range) => Matcher::Exact(Exact::Ip {
                        text: s.clone(),
                        range,
                    }),
                    None => Matcher::Exact(Exact::String(s.clone())),
                },
                Value::Number(n) => Matcher::Exact(Exact::Number {
                    text: n.to_string(),
                    value: comparable_f64(n),
                }),
                Value::Bool(b) => Matcher::Exact(Exact::Bool(*b)),
                Value::Null => Matcher::Exact(Exact::Null),
                Value::Object(m) => self.match_expression(m)?,
                Value::Array(_) => {
                    return self.err(
                        PolicyErrorKind::Structure,
                        "Match value must be String, number, true, false, or null",
                    )
                }
            });
        }
        if out.is_empty() {
            return self.err(PolicyErrorKind::Structure, "Empty arrays are not allowed");
        }
        Ok(out)
    }

    /// The SNS operator set (SPEC.md §5.3): no `wildcard`, no `exactly`, no
    /// ignore-case prefix/suffix; anything else is an unrecognized match type.
    fn match_expression(&mut self, members: &[(String, Value)]) -> Res<Matcher> {
        let Some((name, operand)) = members.first() else {
            return self.op("Match expression name not found");
        };
        let (matcher, extra_key) = match name.as_str() {
            "prefix" | "suffix" | "equals-ignore-case" => {
                let Value::String(s) = operand else {
                    return self.op(format!("{name} match pattern must be a string"));
                };
                let s = s.clone();
                let m = match name.as_str() {
                    "prefix" => Matcher::Prefix(s),
                    "suffix" => Matcher::Suffix(s),
                    _ => Matcher::EqualsIgnoreCase(s),
                };
                (m, ONE_KEY)
            }
            "numeric" => {
                let Value::Array(items) = operand else {
                    return self.op("Value of numeric must be an array.");
                };
                (Matcher::Numeric(self.numeric(items)?), TOO_MANY_ELEMENTS)
            }
            "anything-but" => (
                Matcher::AnythingBut(self.anything_but(operand)?),
                TOO_MANY_ELEMENTS,
            ),
            "exists" => {
                let Value::Bool(b) = operand else {
                    return self.op("exists match pattern must be either true or false.");
                };
                (Matcher::Exists(*b), ONE_KEY)
            }
            "cidr" => {
                let Value::String(s) = operand else {
                    return self.op("prefix match pattern must be a string");
                };
                match parse_cidr(s) {
                    Ok(range) => (Matcher::Cidr(range), ONE_KEY),
                    Err(reason) => return self.op(reason),
                }
            }
            _ => return self.op(format!("Unrecognized match type {name}")),
        };
        if members.len() > 1 {
            return self.op(extra_key);
        }
        Ok(matcher)
    }

    fn number(&self, text: &str) -> Res<f64> {
        match comparable_f64(text) {
            Some(v) => Ok(v),
            None => self.op(format!("Cannot compare number : {text}")),
        }
    }

    /// The contents of `"numeric": [...]`, with the texts of SPEC.md §2.7.
    fn numeric(&self, items: &[Value]) -> Res<NumericRange> {
        let Some(Value::String(operator)) = items.first() else {
            return self.op(format!(
                "Invalid member in numeric match: {}",
                text_of(items.first())
            ));
        };
        let value = items.get(1);
        match operator.as_str() {
            "=" => {
                let Some(Value::Number(v)) = value else {
                    return self.op("Value of equals must be numeric");
                };
                if items.len() > 2 {
                    return self.op(TOO_MANY_ELEMENTS);
                }
                let x = self.number(v)?;
                Ok(NumericRange {
                    low: Some((x, true)),
                    high: Some((x, true)),
                })
            }
            ">=" | ">" => {
                let Some(Value::Number(v)) = value else {
                    return self.op(format!("Value of {operator} must be numeric"));
                };
                let inclusive = operator == ">=";
                let Some(second) = items.get(2) else {
                    let x = self.number(v)?;
                    return Ok(NumericRange {
                        low: Some((x, inclusive)),
                        high: None,
                    });
                };
                let Value::String(op2) = second else {
                    return self.op(format!(
                        "Bad value in numeric range: {}",
                        text_of(Some(second))
                    ));
                };
                let top_inclusive = match op2.as_str() {
                    "<" => false,
                    "<=" => true,
                    _ => return self.op(format!("Bad numeric range operator: {op2}")),
                };
                let Some(Value::Number(top)) = items.get(3) else {
                    return self.op(format!("Value of {op2} must be numeric"));
                };
                if items.len() > 4 {
                    return self.op("Too many terms in numeric range expression");
                }
                let lo = self.number(v)?;
                let hi = self.number(top)?;
                if lo >= hi {
                    return self.op("Bottom must be less than top");
                }
                Ok(NumericRange {
                    low: Some((lo, inclusive)),
                    high: Some((hi, top_inclusive)),
                })
            }
            "<=" | "<" => {
                let Some(Value::Number(v)) = value else {
                    return self.op(format!("Value of {operator} must be numeric"));
                };
                if items.len() > 2 {
                    return self.op(TOO_MANY_ELEMENTS);
                }
                let x = self.number(v)?;
                Ok(NumericRange {
                    low: None,
                    high: Some((x, operator == "<=")),
                })
            }
            _ => self.op(format!("Unrecognized numeric range operator: {operator}")),
        }
    }

    /// SNS accepts a single value, a list, or `{"prefix": "s"}` (SPEC.md
    /// §5.3, §5.5); any other inner operator is unsupported.
    fn anything_but(&self, operand: &Value) -> Res<AnythingBut> {
        match operand {
            Value::Object(inner) => {
                let Some((key, v)) = inner.first() else {
                    return self.op("Anything-But expression name not found");
                };
                if key != "prefix" {
                    return self.op(format!("Unsupported anything-but pattern: {key}"));
                }
                let Value::String(s) = v else {
                    return self.op("prefix match pattern must be a string");
                };
                if s.is_empty() {
                    return self.op("Null prefix not allowed");
                }
                if inner.len() > 1 {
                    return self.op(TOO_MANY_ELEMENTS);
                }
                Ok(AnythingBut::Prefixes(vec![s.clone()]))
            }
            Value::Array(items) => {
                let mut strings = Vec::new();
                let mut numbers = Vec::new();
                for item in items {
                    match item {
                        Value::String(s) => strings.push(s.clone()),
                        Value::Number(n) => numbers.push(self.number(n)?),
                        _ => {
                            return self.op(
                                "Inside anything but list, start|null|boolean is not supported.",
                            )
                        }
                    }
                }
                if strings.is_empty() == numbers.is_empty() {
                    return self.op("Inside anything but list, either all values are number or string, mixed type is not supported");
                }
                Ok(if numbers.is_empty() {
                    AnythingBut::Strings(strings)
                } else {
                    AnythingBut::Numbers(numbers)
                })
            }
            Value::String(s) => Ok(AnythingBut::Strings(vec![s.clone()])),
            Value::Number(n) => Ok(AnythingBut::Numbers(vec![self.number(n)?])),
            _ => self.op("Value of anything-but must be an array or single string/number value."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(p: &str, scope: FilterPolicyScope) -> String {
        match FilterPolicy::compile(p, scope) {
            Err(e) => e.reason().to_string(),
            Ok(_) => panic!("compiled: {p}"),
        }
    }

    const BODY: FilterPolicyScope = FilterPolicyScope::MessageBody;
    const ATTRS: FilterPolicyScope = FilterPolicyScope::MessageAttributes;

    #[test]
    fn spec_5_4_combination_examples() {
        // (3×4)×(2×3) = 72 accepted; with key_f (3 values) 216 rejected.
        let ok =
            r#"{"key_a":{"key_b":{"key_c":["1","2","3","4"]}},"key_d":{"key_e":["1","2","3"]}}"#;
        assert!(FilterPolicy::compile(ok, BODY).is_ok());
        let p = compile_pattern(ok, BODY).unwrap();
        assert_eq!(p.branches().len(), 1);
        let bad = r#"{"key_a":{"key_b":{"key_c":["1","2","3","4"]}},"key_d":{"key_e":["1","2","3"]},"key_f":["1","2","3"]}"#;
        assert_eq!(reason(bad, BODY), "Filter policy is too complex");
    }

    #[test]
    fn spec_5_4_counting_is_structural() {
        // `$or`s nested until the text is 100 KB: thousands of branches,
        // never expanded; the policy is rejected on its count.
        let mut p = String::from(r#"{"a":["x"]}"#);
        while p.len() < 100_000 {
            p = format!(r#"{{"$or":[{p},{p}]}}"#);
        }
        assert_eq!(reason(&p, ATTRS), "Filter policy is too complex");
    }

    #[test]
    fn spec_5_4_keys_counted_per_branch() {
        // Root `$or` alternatives add their keys to the branch; `$or` is
        // not a key itself.
        let five = r#"{"a":["1"],"b":["1"],"c":["1"],"$or":[{"d":["1"],"e":["1"]},{"f":["1"]}]}"#;
        assert!(FilterPolicy::compile(five, ATTRS).is_ok());
        let six = r#"{"a":["1"],"b":["1"],"c":["1"],"$or":[{"d":["1"],"e":["1"],"g":["1"]},{"f":["1"]}]}"#;
        assert_eq!(
            reason(six, ATTRS),
            "Filter policy can not have more than 5 keys"
        );
        // Nested keys do not count (MessageBody).
        let nested = r#"{"a":{"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"],"g":["1"]}}"#;
        assert!(FilterPolicy::compile(nested, BODY).is_ok());
    }

    #[test]
    fn spec_5_1_nested_or_paths() {
        let p = compile_pattern(
            r#"{"detail":{"$or":[{"a":["x"]},{"b":["y"]}]},"s":["1"]}"#,
            BODY,
        )
        .unwrap();
        let paths: Vec<Vec<&str>> = p
            .branches()
            .iter()
            .map(|b| b.fields().iter().map(|f| f.path.as_str()).collect())
            .collect();
        assert_eq!(paths, vec![vec!["detail.a", "s"], vec!["detail.b", "s"]]);
    }

    #[test]
    fn spec_5_4_size_limit() {
        let big = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES));
        assert_eq!(reason(&big, ATTRS), "Filter policy is too large");
        let fits = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_POLICY_BYTES - 20));
        assert!(FilterPolicy::compile(&fits, ATTRS).is_ok());
    }

    #[test]
    fn error_paths() {
        let e = FilterPolicy::compile(r#"{"a":{"b":[{"prefix":1}]}}"#, BODY).unwrap_err();
        assert_eq!(e.path(), "a.b");
        assert_eq!(
            e.to_string(),
            "Invalid parameter: FilterPolicy: prefix match pattern must be a string"
        );
    }
}
