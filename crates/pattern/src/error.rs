//! Pattern errors: the AWS reason text, plus where it is.

use evmatch_json::{jackson_source, JsonError, Position};
use std::fmt;

/// What kind of problem a pattern has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Not valid JSON (the reason is the JSON parser's message).
    Syntax,
    /// Wrong shape: not an object, empty containers, `$or` misuse, ...
    Structure,
    /// A bad operator or operand.
    Operator,
    /// A limit of SPEC.md §3.3 (size, `$or` combinations, wildcard
    /// complexity).
    Limit,
}

/// Why a pattern was rejected.
///
/// `Display` gives AWS's first line, `Event pattern is not valid. Reason:
/// <reason>`; [`PatternError::reason`] gives the reason alone, which is
/// what tests compare, and [`PatternError::location`] where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    inner: Box<Inner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Inner {
    kind: ErrorKind,
    reason: String,
    position: Option<Position>,
    path: String,
    source: String,
    /// How many location lines AWS appends: none for errors the reference
    /// raises outside its JSON parser (CIDR, limits), two for errors it
    /// re-raises inside anything-but lists.
    aws_locations: u8,
}

impl PatternError {
    pub(crate) fn new(
        kind: ErrorKind,
        reason: String,
        position: Option<Position>,
        path: String,
        source: &str,
    ) -> Self {
        PatternError {
            inner: Box::new(Inner {
                kind,
                reason,
                position,
                path,
                source: source.to_string(),
                aws_locations: u8::from(position.is_some()),
            }),
        }
    }

    /// Sets how many location lines [`PatternError::aws_message`] prints.
    pub(crate) fn aws_locations(mut self, n: u8) -> Self {
        self.inner.aws_locations = n;
        self
    }

    pub(crate) fn syntax(e: JsonError, source: &str) -> Self {
        PatternError::new(
            ErrorKind::Syntax,
            e.message,
            Some(e.position),
            String::new(),
            source,
        )
    }

    /// The kind of problem.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The reason text, exactly as AWS words it where AWS has a text.
    pub fn reason(&self) -> &str {
        &self.inner.reason
    }

    /// Line and column (1-based) of the offending token, when it has one.
    pub fn position(&self) -> Option<Position> {
        self.inner.position
    }

    /// Dotted path of pattern keys leading to the problem (empty at the
    /// top level).
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// A one-line location: `line 3, column 14, at detail.state`.
    pub fn location(&self) -> String {
        let mut s = String::new();
        if let Some(p) = self.inner.position {
            s.push_str(&format!("line {}, column {}", p.line, p.column));
        }
        if !self.inner.path.is_empty() {
            if !s.is_empty() {
                s.push_str(", ");
            }
            s.push_str("at ");
            s.push_str(&self.inner.path);
        }
        s
    }

    /// The message exactly as AWS returns it: the reason line, then
    /// Jackson's location line(s) `at [Source: (String)"..."; line: L,
    /// column: C]` where AWS has them (the column is just past the token the
    /// problem was found at).
    pub fn aws_message(&self) -> String {
        let mut out = self.to_string();
        if let Some(p) = self.inner.position {
            let src = jackson_source(&self.inner.source);
            for _ in 0..self.inner.aws_locations {
                out.push_str(&format!(
                    "\n at [Source: {src}; line: {}, column: {}]",
                    p.line, p.column
                ));
            }
        }
        out
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Event pattern is not valid. Reason: {}",
            self.inner.reason
        )
    }
}

impl std::error::Error for PatternError {}
