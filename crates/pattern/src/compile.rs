//! The one-pass compiler: reads the pattern's tokens left to right and checks
//! each piece as it is read, so the first problem in document order is the
//! one reported (SPEC.md §2.1). Limits that need the whole pattern (`$or`
//! combinations, wildcard complexity, size) are checked afterwards.

use crate::ast::{AnythingBut, Branch, Exact, FieldCondition, Matcher, NumericRange, Pattern};
use crate::error::{ErrorKind, PatternError};
use crate::ip::{ip_literal_range, parse_cidr};
use crate::wildcard::Wildcard;
use crate::CompileOptions;
use evmatch_json::{comparable_f64, Reader, Token};
use std::rc::Rc;

/// Keys that may not be field names inside a `$or` alternative
/// (SPEC.md §2.10).
pub const RESERVED_IN_OR: &[&str] = &[
    "exactly",
    "equals-ignore-case",
    "prefix",
    "suffix",
    "anything-but",
    "exists",
    "wildcard",
    "numeric",
    "cidr",
    "=",
    "<",
    "<=",
    ">",
    ">=",
    "regex",
    "not-wildcard",
    "not-equals-ignore-case",
    "date-after",
    "date-on-or-after",
    "date-before",
    "date-on-or-before",
    "in-date-range",
    "ip-address-in-range",
    "ip-address-not-in-range",
];

const ONE_KEY: &str = "Only one key allowed in match expression";
const TOO_MANY_ELEMENTS: &str = "Too many elements in numeric expression";

/// One branch under construction: path → shared value list; a later write
/// to the same path replaces the earlier one (last wins per path).
type BranchMap = Vec<(String, Rc<Vec<Matcher>>)>;

pub(crate) struct Compiler<'a> {
    r: Reader<'a>,
    opts: &'a CompileOptions,
    /// Keys from the root to where we are, for error locations.
    keys: Vec<String>,
    /// More branches than allowed: stop materialising, keep validating.
    overflow: bool,
    /// Wildcards seen, checked for complexity once the pattern is read.
    wildcards: Vec<(Wildcard, usize, String)>,
    /// What the last token was, for Jackson-compatible error locations.
    last: Last,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    Key,
    String,
    Other,
}

type Res<T> = Result<T, PatternError>;

impl<'a> Compiler<'a> {
    pub(crate) fn new(src: &'a str, opts: &'a CompileOptions) -> Self {
        Compiler {
            r: Reader::with_max_depth(src, opts.max_depth.min(crate::MAX_DEPTH_CEILING)),
            opts,
            keys: Vec::new(),
            overflow: false,
            wildcards: Vec::new(),
            last: Last::Other,
        }
    }

    pub(crate) fn compile(mut self) -> Res<Pattern> {
        let mut rules: Vec<BranchMap> = Vec::new();
        match self.next()? {
            Some(Token::StartObject) => {}
            _ => return Err(self.err_unread(ErrorKind::Structure, "Filter is not an object")),
        }
        self.parse_object(&mut rules, false)?;
        if let Err(e) = self.r.finish() {
            return Err(PatternError::syntax(e, self.r.source()));
        }
        // Whole-pattern limits, after the single pass.
        let chars = self.r.source().chars().count();
        if let Some(max) = self.opts.max_pattern_chars {
            if chars > max {
                return Err(PatternError::new(
                    ErrorKind::Limit,
                    format!("Event pattern is {chars} characters long; the limit is {max}"),
                    None,
                    String::new(),
                    self.r.source(),
                ));
            }
        }
        if self.overflow {
            return Err(PatternError::new(
                ErrorKind::Limit,
                format!(
                    "The $or expressions expand to more than {} combinations",
                    self.opts.max_or_combinations
                ),
                None,
                String::new(),
                self.r.source(),
            ));
        }
        if let Some(max) = self.opts.max_wildcard_complexity {
            for (w, offset, path) in &self.wildcards {
                if w.complexity(max) > max {
                    return Err(PatternError::new(
                        ErrorKind::Limit,
                        "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character".into(),
                        Some(self.r.position_of(*offset)),
                        path.clone(),
                        self.r.source(),
                    ).aws_locations(0));
                }
            }
        }
        let branches = rules
            .into_iter()
            .map(|b| {
                let mut fields: Vec<FieldCondition> = b
                    .into_iter()
                    .map(|(path, m)| FieldCondition {
                        path,
                        matchers: m.as_ref().clone(),
                    })
                    .collect();
                fields.sort_by(|a, b| a.path.cmp(&b.path));
                Branch { fields }
            })
            .collect();
        Ok(Pattern { branches })
    }

    fn next(&mut self) -> Res<Option<Token<'a>>> {
        let t = self
            .r
            .next_token()
            .map_err(|e| PatternError::syntax(e, self.r.source()))?;
        self.last = match &t {
            Some(Token::Key(_)) => Last::Key,
            Some(Token::String(_)) => Last::String,
            _ => Last::Other,
        };
        Ok(t)
    }

    /// Next token where the grammar guarantees one (inside a container).
    fn tok(&mut self) -> Res<Token<'a>> {
        match self.next()? {
            Some(t) => Ok(t),
            None => Err(self.err(ErrorKind::Syntax, "Unexpected end-of-input")),
        }
    }

    fn err(&self, kind: ErrorKind, reason: impl Into<String>) -> PatternError {
        self.err_at(kind, reason, self.jackson_offset(true))
    }

    /// For checks the reference makes on a string token's type without
    /// reading its text: Jackson then stands just past the opening quote.
    fn err_unread(&self, kind: ErrorKind, reason: impl Into<String>) -> PatternError {
        self.err_at(kind, reason, self.jackson_offset(false))
    }

    fn err_at(&self, kind: ErrorKind, reason: impl Into<String>, offset: usize) -> PatternError {
        PatternError::new(
            kind,
            reason.into(),
            Some(self.r.position_of(offset)),
            self.keys.join("."),
            self.r.source(),
        )
    }

    /// Where Jackson's "current location" is after the last token, which is
    /// where AWS locates an error: past the token, except that after a field
    /// name Jackson has already lexed the start of the value, and a string
    /// is consumed only as far as its text has been read.
    fn jackson_offset(&self, string_read: bool) -> usize {
        match self.last {
            Last::String if !string_read => self.r.token_start() + 1,
            Last::Key => value_lexeme_end(self.r.source(), self.r.offset()),
            _ => self.r.offset(),
        }
    }

    fn parse_object(&mut self, rules: &mut Vec<BranchMap>, in_or: bool) -> Res<()> {
        let mut any = false;
        loop {
            let key = match self.tok()? {
                Token::EndObject => break,
                Token::Key(k) => k.into_owned(),
                _ => return Err(self.err(ErrorKind::Syntax, "Expected a field name")),
            };
            any = true;
            if key == "$or" {
                // `$or` is not a path step: its alternatives sit at the
                // enclosing object's path.
                self.parse_or(rules)?;
                continue;
            }
            if in_or && RESERVED_IN_OR.contains(&key.as_str()) {
                return Err(self.err(
                    ErrorKind::Structure,
                    format!("{key} is Ruler reserved fieldName which cannot be used inside $or."),
                ));
            }
            self.keys.push(key.clone());
            match self.tok()? {
                Token::StartObject => self.parse_object(rules, in_or)?,
                Token::StartArray => {
                    let path = self.keys.join(".");
                    self.write_rules(rules, path)?;
                }
                _ => {
                    return Err(self.err_unread(
                        ErrorKind::Structure,
                        format!("\"{key}\" must be an object or an array"),
                    ))
                }
            }
            self.keys.pop();
        }
        if !any {
            return Err(self.err(ErrorKind::Structure, "Empty objects are not allowed"));
        }
        Ok(())
    }

    fn parse_or(&mut self, rules: &mut Vec<BranchMap>) -> Res<()> {
        let current = std::mem::take(rules);
        if self.tok()? != Token::StartArray {
            return Err(self.err(
                ErrorKind::Structure,
                "It must be an Array followed with $or.",
            ));
        }
        let mut count = 0;
        loop {
            match self.tok()? {
                Token::EndArray => break,
                Token::StartObject => {
                    count += 1;
                    let mut alt = current.clone();
                    if alt.is_empty() {
                        alt.push(Vec::new());
                    }
                    self.parse_object(&mut alt, true)?;
                    if !self.overflow {
                        if rules.len() + alt.len() > self.opts.max_or_combinations {
                            self.overflow = true;
                            rules.clear();
                        } else {
                            rules.extend(alt);
                        }
                    }
                }
                _ => {
                    return Err(self.err_unread(
                        ErrorKind::Structure,
                        "Only JSON object is allowed in array of $or relationship.",
                    ))
                }
            }
        }
        if count < 2 {
            return Err(self.err(
                ErrorKind::Structure,
                "There must have at least 2 Objects in $or relationship.",
            ));
        }
        if self.overflow {
            // Keep one branch so later writes stay cheap; the error is
            // reported once the whole pattern has been checked.
            rules.clear();
            rules.push(Vec::new());
        }
        Ok(())
    }

    fn write_rules(&mut self, rules: &mut Vec<BranchMap>, path: String) -> Res<()> {
        let mut values: Vec<Matcher> = Vec::new();
        loop {
            let t = self.tok()?;
            let m = match t {
                Token::EndArray => break,
                Token::StartObject => self.match_expression()?,
                Token::String(s) => match ip_literal_range(&s) {
                    Some(range) => Matcher::Exact(Exact::Ip {
                        text: s.into_owned(),
                        range,
                    }),
                    None => Matcher::Exact(Exact::String(s.into_owned())),
                },
                Token::Number(n) => Matcher::Exact(Exact::Number {
                    text: n.to_string(),
                    value: if self.opts.legacy_numeric && legacy_problem(n).is_some() {
                        None
                    } else {
                        comparable_f64(n)
                    },
                }),
                Token::Bool(b) => Matcher::Exact(Exact::Bool(b)),
                Token::Null => Matcher::Exact(Exact::Null),
                _ => {
                    return Err(self.err(
                        ErrorKind::Structure,
                        "Match value must be String, number, true, false, or null",
                    ))
                }
            };
            values.push(m);
        }
        if values.is_empty() {
            return Err(self.err(ErrorKind::Structure, "Empty arrays are not allowed"));
        }
        if rules.is_empty() {
            rules.push(Vec::new());
        }
        let shared = Rc::new(values);
        for rule in rules.iter_mut() {
            match rule.iter_mut().find(|(p, _)| *p == path) {
                Some(slot) => slot.1 = Rc::clone(&shared),
                None => rule.push((path.clone(), Rc::clone(&shared))),
            }
        }
        Ok(())
    }

    fn end_object(&mut self, reason: &str) -> Res<()> {
        if self.tok()? != Token::EndObject {
            return Err(self.err(ErrorKind::Operator, reason));
        }
        Ok(())
    }

    fn match_expression(&mut self) -> Res<Matcher> {
        let name = match self.tok()? {
            Token::Key(k) => k.into_owned(),
            _ => return Err(self.err(ErrorKind::Operator, "Match expression name not found")),
        };
        let op = ErrorKind::Operator;
        match name.as_str() {
            "exactly" => {
                let Token::String(s) = self.tok()? else {
                    return Err(self.err(op, "exact match pattern must be a string"));
                };
                let s = s.into_owned();
                self.end_object(ONE_KEY)?;
                Ok(Matcher::Exact(Exact::String(s)))
            }
            "prefix" | "suffix" => {
                let is_prefix = name == "prefix";
                match self.tok()? {
                    Token::StartObject => self.affix_ignore_case(is_prefix),
                    Token::String(s) => {
                        let s = s.into_owned();
                        self.end_object(ONE_KEY)?;
                        Ok(if is_prefix {
                            Matcher::Prefix(s)
                        } else {
                            Matcher::Suffix(s)
                        })
                    }
                    _ => Err(self.err(op, format!("{name} match pattern must be a string"))),
                }
            }
            "numeric" => {
                if self.tok()? != Token::StartArray {
                    return Err(self.err_unread(op, "Value of numeric must be an array."));
                }
                let range = self.numeric()?;
                self.end_object(TOO_MANY_ELEMENTS)?;
                Ok(Matcher::Numeric(range))
            }
            "anything-but" => self.anything_but(),
            "exists" => {
                let v = match self.tok()? {
                    Token::Bool(b) => b,
                    _ => {
                        return Err(self
                            .err_unread(op, "exists match pattern must be either true or false."))
                    }
                };
                self.end_object(ONE_KEY)?;
                Ok(Matcher::Exists(v))
            }
            "cidr" => {
                let Token::String(s) = self.tok()? else {
                    return Err(self.err(op, "prefix match pattern must be a string"));
                };
                // Raised outside the JSON parser: AWS gives no location.
                let range = parse_cidr(&s).map_err(|m| self.err(op, m).aws_locations(0))?;
                self.end_object(ONE_KEY)?;
                Ok(Matcher::Cidr(range))
            }
            "equals-ignore-case" => {
                let Token::String(s) = self.tok()? else {
                    return Err(self.err(op, "equals-ignore-case match pattern must be a string"));
                };
                let s = s.into_owned();
                self.end_object(ONE_KEY)?;
                Ok(Matcher::EqualsIgnoreCase(s))
            }
            "wildcard" => {
                let Token::String(s) = self.tok()? else {
                    return Err(self.err(op, "wildcard match pattern must be a string"));
                };
                let w = self.wildcard(&s)?;
                self.end_object(ONE_KEY)?;
                Ok(Matcher::Wildcard(w))
            }
            _ => Err(self.err(op, format!("Unrecognized match type {name}"))),
        }
    }

    fn wildcard(&mut self, s: &str) -> Res<Wildcard> {
        let offset = self.r.token_start();
        let w = Wildcard::parse(s).map_err(|m| self.err(ErrorKind::Operator, m))?;
        self.wildcards
            .push((w.clone(), offset, self.keys.join(".")));
        Ok(w)
    }

    /// `{"prefix": {"equals-ignore-case": "s"}}` and the suffix form, after
    /// the inner `{`.
    fn affix_ignore_case(&mut self, is_prefix: bool) -> Res<Matcher> {
        let (cap, low) = if is_prefix {
            ("Prefix", "prefix")
        } else {
            ("Suffix", "suffix")
        };
        let op = ErrorKind::Operator;
        let key = match self.tok()? {
            Token::Key(k) => k.into_owned(),
            _ => return Err(self.err(op, format!("{cap} expression name not found"))),
        };
        if key != "equals-ignore-case" {
            return Err(self.err(op, format!("Unsupported {low} pattern: {key}")));
        }
        let Token::String(s) = self.tok()? else {
            return Err(self.err(op, "equals-ignore-case match pattern must be a string"));
        };
        let s = s.into_owned();
        self.end_object(ONE_KEY)?;
        self.end_object(ONE_KEY)?;
        Ok(if is_prefix {
            Matcher::PrefixIgnoreCase(s)
        } else {
            Matcher::SuffixIgnoreCase(s)
        })
    }

    fn number(&self, text: &str) -> Res<f64> {
        if self.opts.legacy_numeric {
            if let Some(reason) = legacy_problem(text) {
                return Err(self.err(ErrorKind::Operator, reason));
            }
        }
        comparable_f64(text).ok_or_else(|| {
            self.err(
                ErrorKind::Operator,
                format!("Cannot compare number : {text}"),
            )
        })
    }

    /// After `"numeric": [`.
    fn numeric(&mut self) -> Res<NumericRange> {
        let op = ErrorKind::Operator;
        let first = self.tok()?;
        let Token::String(operator) = first else {
            return Err(self.err(
                op,
                format!("Invalid member in numeric match: {}", text_of(&first)),
            ));
        };
        let operator = operator.into_owned();
        let v = self.tok()?;
        match operator.as_str() {
            "=" => {
                let Token::Number(val) = v else {
                    return Err(self.err_unread(op, "Value of equals must be numeric"));
                };
                if self.tok()? != Token::EndArray {
                    return Err(self.err(op, TOO_MANY_ELEMENTS));
                }
                let x = self.number(val)?;
                Ok(NumericRange {
                    low: Some((x, true)),
                    high: Some((x, true)),
                })
            }
            ">=" | ">" => {
                let Token::Number(val) = v else {
                    return Err(self.err_unread(op, format!("Value of {operator} must be numeric")));
                };
                let inclusive = operator == ">=";
                let t = self.tok()?;
                if t == Token::EndArray {
                    let x = self.number(val)?;
                    return Ok(NumericRange {
                        low: Some((x, inclusive)),
                        high: None,
                    });
                }
                let Token::String(op2) = t else {
                    return Err(
                        self.err(op, format!("Bad value in numeric range: {}", text_of(&t)))
                    );
                };
                let op2 = op2.into_owned();
                let top_inclusive = match op2.as_str() {
                    "<" => false,
                    "<=" => true,
                    _ => return Err(self.err(op, format!("Bad numeric range operator: {op2}"))),
                };
                let Token::Number(top) = self.tok()? else {
                    return Err(self.err_unread(op, format!("Value of {op2} must be numeric")));
                };
                if self.tok()? != Token::EndArray {
                    return Err(self.err(op, "Too many terms in numeric range expression"));
                }
                let lo = self.number(val)?;
                let hi = self.number(top)?;
                if lo >= hi {
                    return Err(self.err(op, "Bottom must be less than top"));
                }
                Ok(NumericRange {
                    low: Some((lo, inclusive)),
                    high: Some((hi, top_inclusive)),
                })
            }
            "<=" | "<" => {
                let Token::Number(val) = v else {
                    return Err(self.err_unread(op, format!("Value of {operator} must be numeric")));
                };
                if self.tok()? != Token::EndArray {
                    return Err(self.err(op, TOO_MANY_ELEMENTS));
                }
                let x = self.number(val)?;
                Ok(NumericRange {
                    low: None,
                    high: Some((x, operator == "<=")),
                })
            }
            _ => Err(self.err(
                op,
                format!("Unrecognized numeric range operator: {operator}"),
            )),
        }
    }

    /// After `"anything-but":`.
    fn anything_but(&mut self) -> Res<Matcher> {
        #[derive(PartialEq, Clone, Copy)]
        enum Kind {
            Plain,
            IgnoreCase,
            Prefix,
            Suffix,
            Wildcard,
        }
        let op = ErrorKind::Operator;
        let mut kind = Kind::Plain;
        let mut t = self.tok()?;
        if t == Token::StartObject {
            let key = match self.tok()? {
                Token::Key(k) => k.into_owned(),
                _ => return Err(self.err(op, "Anything-But expression name not found")),
            };
            kind = match key.as_str() {
                "equals-ignore-case" => Kind::IgnoreCase,
                "prefix" => Kind::Prefix,
                "suffix" => Kind::Suffix,
                "wildcard" => Kind::Wildcard,
                _ => return Err(self.err(op, format!("Unsupported anything-but pattern: {key}"))),
            };
            t = self.tok()?;
        }
        if !matches!(t, Token::StartArray | Token::String(_) | Token::Number(_)) {
            return Err(self.err(
                op,
                "Value of anything-but must be an array or single string/number value.",
            ));
        }
        let set_type_error = |kind: Kind| {
            match kind {
            Kind::IgnoreCase => {
                "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported."
            }
            Kind::Wildcard => "wildcard match pattern must be a string",
            _ => "prefix/suffix match pattern must be a string",
        }
        };
        let mut strings: Vec<String> = Vec::new();
        let mut numbers: Vec<f64> = Vec::new();
        let mut string_offsets: Vec<usize> = Vec::new();
        let mut add_string = |this: &Self, s: String, kind: Kind, in_list: bool| -> Res<()> {
            if matches!(kind, Kind::Prefix | Kind::Suffix) && s.is_empty() {
                return Err(this
                    .err(op, "Null prefix/suffix not allowed")
                    .aws_locations(if in_list { 2 } else { 1 }));
            }
            string_offsets.push(this.r.token_start());
            strings.push(s);
            Ok(())
        };
        match t {
            Token::StartArray => {
                let mut has_number = false;
                let mut has_string = false;
                loop {
                    let e = self.tok()?;
                    match e {
                        Token::EndArray => break,
                        Token::String(s) => {
                            has_string = true;
                            add_string(self, s.into_owned(), kind, true)?;
                        }
                        Token::Number(n) if kind == Kind::Plain => {
                            has_number = true;
                            numbers.push(self.number(n)?);
                        }
                        // Re-raised by the reference inside the list:
                        // AWS shows the location twice.
                        _ if kind == Kind::Plain => return Err(self
                            .err(
                                op,
                                "Inside anything but list, start|null|boolean is not supported.",
                            )
                            .aws_locations(2)),
                        _ => return Err(self.err(op, set_type_error(kind)).aws_locations(2)),
                    }
                }
                if kind == Kind::Plain && has_number == has_string {
                    return Err(self.err(
                        op,
                        "Inside anything but list, either all values are number or string, mixed type is not supported",
                    ));
                }
            }
            Token::String(s) => add_string(self, s.into_owned(), kind, false)?,
            Token::Number(n) => {
                if kind != Kind::Plain {
                    return Err(self.err(op, set_type_error(kind)));
                }
                // Raised outside the JSON parser: AWS gives no location.
                numbers.push(self.number(n).map_err(|e| e.aws_locations(0))?);
            }
            _ => {}
        }
        let result = match kind {
            Kind::Plain if !numbers.is_empty() => AnythingBut::Numbers(numbers),
            Kind::Plain => AnythingBut::Strings(strings),
            Kind::IgnoreCase => AnythingBut::IgnoreCase(strings),
            Kind::Prefix => AnythingBut::Prefixes(strings),
            Kind::Suffix => AnythingBut::Suffixes(strings),
            Kind::Wildcard => {
                let mut ws = Vec::with_capacity(strings.len());
                for (s, offset) in strings.iter().zip(string_offsets) {
                    let w = Wildcard::parse(s).map_err(|m| self.err(op, m))?;
                    self.wildcards
                        .push((w.clone(), offset, self.keys.join(".")));
                    ws.push(w);
                }
                AnythingBut::Wildcards(ws)
            }
        };
        self.end_object(TOO_MANY_ELEMENTS)?;
        if kind != Kind::Plain {
            self.end_object(TOO_MANY_ELEMENTS)?;
        }
        Ok(Matcher::AnythingBut(result))
    }
}

/// Offset past the first lexeme of the value after a field name (`:`
/// and whitespace skipped): one character for `"`, `[`, `{`, the whole
/// literal or number otherwise.
fn value_lexeme_end(src: &str, after_key: usize) -> usize {
    let b = src.as_bytes();
    let mut i = after_key;
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r' | b':')) {
        i += 1;
    }
    match b.get(i) {
        Some(b'"' | b'[' | b'{') => i + 1,
        Some(c) if c.is_ascii_alphanumeric() || *c == b'-' => {
            while matches!(b.get(i), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
            {
                i += 1;
            }
            i
        }
        _ => i,
    }
}

/// Why a number is outside the legacy model (±5.0e9, 6 decimals).
fn legacy_problem(text: &str) -> Option<&'static str> {
    let v: f64 = text.parse().ok()?;
    if !(-5.0e9..=5.0e9).contains(&v) {
        return Some("Value must be between -5.0E9 and 5.0E9, inclusive");
    }
    if evmatch_json::Decimal::parse(text).is_some_and(|d| d.fraction_digits() > 6) {
        return Some("Only values upto 6 decimals are supported");
    }
    None
}

/// Jackson's `getText()` for a token, as used in some reasons.
fn text_of(t: &Token<'_>) -> String {
    match t {
        Token::StartObject => "{".into(),
        Token::EndObject => "}".into(),
        Token::StartArray => "[".into(),
        Token::EndArray => "]".into(),
        Token::Key(k) => k.to_string(),
        Token::String(s) => s.to_string(),
        Token::Number(n) => n.to_string(),
        Token::Bool(b) => b.to_string(),
        Token::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use crate::{compile, CompileOptions, Exact, Matcher};

    fn reason(p: &str) -> String {
        compile(p, &CompileOptions::default())
            .unwrap_err()
            .reason()
            .to_string()
    }

    fn paths(p: &str) -> Vec<Vec<String>> {
        compile(p, &CompileOptions::default())
            .unwrap()
            .branches()
            .iter()
            .map(|b| b.fields().iter().map(|f| f.path.clone()).collect())
            .collect()
    }

    #[test]
    fn or_is_not_a_path_step() {
        // Regression: `$or` once leaked into the field path (SPEC.md §2.10).
        assert_eq!(
            paths(r#"{"detail":{"$or":[{"a":["x"]},{"b":["y"]}]}}"#),
            vec![vec!["detail.a".to_string()], vec!["detail.b".to_string()]]
        );
    }

    #[test]
    fn or_cross_product_with_siblings() {
        // SPEC.md §2.10: {source, A}, {source, B, C}, {source, B, D}.
        let got = paths(
            r#"{"source":["s"],"$or":[{"a":["1"]},{"b":["2"],"$or":[{"c":["3"]},{"d":["4"]}]}]}"#,
        );
        assert_eq!(
            got,
            vec![
                vec!["a", "source"],
                vec!["b", "c", "source"],
                vec!["b", "d", "source"]
            ]
        );
    }

    #[test]
    fn last_write_wins_per_path() {
        // SPEC.md §2.11: duplicate keys, last wins; nested duplicates merge
        // per full path; a dotted key and nesting are the same path.
        let p = compile(
            r#"{"a":{"b":["x"]},"a":{"c":["y"]},"d.e":["1"],"d":{"e":["2"]}}"#,
            &CompileOptions::default(),
        )
        .unwrap();
        let f = p.branches()[0].fields();
        let got: Vec<(&str, &Matcher)> = f
            .iter()
            .map(|f| (f.path.as_str(), &f.matchers[0]))
            .collect();
        assert_eq!(got.len(), 3);
        assert_eq!(got[2], ("d.e", &Matcher::Exact(Exact::String("2".into()))));
    }

    #[test]
    fn first_error_in_document_order() {
        // SPEC.md §2.1: one left-to-right pass.
        assert_eq!(
            reason(r#"{"a":[{"prefix":1}],"b":[]}"#),
            "prefix match pattern must be a string"
        );
        assert_eq!(
            reason(r#"{"b":[],"a":[{"prefix":1}]}"#),
            "Empty arrays are not allowed"
        );
        // A semantic error before a syntax error wins, as in a streaming parser.
        assert_eq!(
            reason(r#"{"a":[{"nope":1}], "b": xyz}"#),
            "Unrecognized match type nope"
        );
    }

    #[test]
    fn whole_pattern_limits() {
        // SPEC.md §3.3: `$or` combinations.
        let ten = r#"{"$or":[{"a":["1"]},{"b":["1"]},{"c":["1"]},{"d":["1"]},{"e":["1"]},{"f":["1"]},{"g":["1"]},{"h":["1"]},{"i":["1"]},{"j":["1"]}]}"#;
        let inner = ten.trim_start_matches('{').trim_end_matches('}');
        let thousand = format!("{{\"x\":{{{inner}}},\"y\":{{{inner}}},\"z\":{{{inner}}}}}");
        assert!(compile(&thousand, &CompileOptions::default()).is_ok());
        let more = format!("{{\"x\":{{{inner}}},\"y\":{{{inner}}},\"z\":{{{inner}}},\"w\":{{\"$or\":[{{\"a\":[1]}},{{\"b\":[1]}}]}}}}");
        let opts = CompileOptions {
            max_pattern_chars: None,
            ..CompileOptions::default()
        };
        assert!(reason_with(&more, &opts).contains("more than 1000 combinations"));
        // Size.
        let big = format!(r#"{{"a":["{}"]}}"#, "x".repeat(5000));
        assert!(reason(&big).contains("the limit is 4096"));
        // Wildcard complexity (SPEC.md §2.14 #30).
        assert_eq!(
            reason(r#"{"EventBusArn":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}"#),
            "Rule is too complex - try using fewer wildcard characters or fewer repeating character sequences after a wildcard character"
        );
        let lax = CompileOptions {
            max_wildcard_complexity: None,
            ..CompileOptions::default()
        };
        assert!(compile(r#"{"a":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}"#, &lax).is_ok());
    }

    #[test]
    fn legacy_numeric_model() {
        // SPEC.md §3.1: the opt-in legacy limits and messages.
        let legacy = CompileOptions {
            legacy_numeric: true,
            ..CompileOptions::default()
        };
        assert_eq!(
            reason_with(r#"{"n":[{"numeric":[">",5000000001]}]}"#, &legacy),
            "Value must be between -5.0E9 and 5.0E9, inclusive"
        );
        assert_eq!(
            reason_with(r#"{"n":[{"numeric":["=",1.0000001]}]}"#, &legacy),
            "Only values upto 6 decimals are supported"
        );
        assert!(compile(r#"{"n":[{"numeric":["=",1.000001]}]}"#, &legacy).is_ok());
        assert!(compile(
            r#"{"n":[{"numeric":[">",5000000001]}]}"#,
            &CompileOptions::default()
        )
        .is_ok());
        let p = compile(r#"{"n":[6000000000]}"#, &legacy).unwrap();
        assert_eq!(
            p.branches()[0].fields()[0].matchers[0],
            Matcher::Exact(Exact::Number {
                text: "6000000000".into(),
                value: None
            })
        );
    }

    fn reason_with(p: &str, o: &CompileOptions) -> String {
        compile(p, o).unwrap_err().reason().to_string()
    }

    #[test]
    fn error_locations() {
        let e = compile(
            "{\n  \"detail\": {\"state\": [{\"prefix\": 5}]}\n}",
            &CompileOptions::default(),
        )
        .unwrap_err();
        assert_eq!(e.path(), "detail.state");
        let p = e.position().unwrap();
        assert_eq!(p.line, 2);
        assert!(e.aws_message().contains("line: 2"));
    }
}
