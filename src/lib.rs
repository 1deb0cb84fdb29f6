//! # evmatch
//!
//! Amazon EventBridge event-pattern matching without AWS: compile rules
//! written in the EventBridge pattern language, then ask which rules an
//! event matches, with the semantics and error texts AWS has (see
//! `DESIGN.md` and the project's conformance suite).
//!
//! Build a [`RuleSet`] once, then match events against it:
//!
//! ```
//! use evmatch::RuleSet;
//!
//! let mut b = RuleSet::builder();
//! b.add("ec2-running", r#"{"source": ["aws.ec2"], "detail": {"state": ["running"]}}"#)?;
//! b.add("big-orders", r#"{"detail": {"total": [{"numeric": [">", 1000]}]}}"#)?;
//! let rules = b.build();
//!
//! let event = br#"{"source": "aws.ec2", "detail": {"state": "running", "total": 12}}"#;
//! assert_eq!(rules.matching_names(event)?, vec!["ec2-running"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An invalid rule is rejected with AWS's reason and where it is:
//!
//! ```
//! let mut b = evmatch::RuleSet::builder();
//! let err = b.add("bad", r#"{"detail": {"state": [{"prefix": 5}]}}"#).unwrap_err();
//! assert_eq!(err.error.reason(), "prefix match pattern must be a string");
//! assert_eq!(err.error.path(), "detail.state");
//! ```
//!
//! The same check as the `TestEventPattern` API:
//!
//! ```
//! let event = r#"{"id": "1", "account": "123456789012", "source": "shop", "time": "2024-01-01T00:00:00Z",
//!                 "region": "us-east-1", "detail-type": "order", "detail": {"total": 300.0}}"#;
//! assert_eq!(evmatch::test_event_pattern(r#"{"detail": {"total": [300]}}"#, event), Ok(true));
//! ```
#![deny(missing_docs)]

use std::fmt;

pub use evmatch_automata::{Config, Machine, RuleId, Scratch};
pub use evmatch_event::{EventError, FlatEvent};
pub use evmatch_pattern::{compile, CompileOptions, ErrorKind, Pattern, PatternError};

/// The crates behind the facade, for callers who need the parts.
pub mod parts {
    pub use evmatch_automata as automata;
    pub use evmatch_event as event;
    pub use evmatch_json as json;
    pub use evmatch_pattern as pattern;
}

/// A rule that failed to compile: its name and the pattern error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule's name.
    pub name: String,
    /// Why its pattern was rejected.
    pub error: PatternError,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {:?}: {}", self.name, self.error)
    }
}

impl std::error::Error for RuleError {}

/// Collects named patterns, then builds an immutable [`RuleSet`].
#[derive(Debug, Clone, Default)]
pub struct RuleSetBuilder {
    options: CompileOptions,
    config: Config,
    rules: Vec<(String, Pattern)>,
    max_event_depth: Option<usize>,
}

impl RuleSetBuilder {
    /// A builder with AWS's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits used by [`RuleSetBuilder::add`].
    pub fn compile_options(mut self, options: CompileOptions) -> Self {
        self.options = options;
        self
    }

    /// Matching options (array consistency).
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How deep events may nest (default and highest 1,000, see
    /// [`Machine::set_max_depth`]).
    pub fn max_event_depth(mut self, max_depth: usize) -> Self {
        self.max_event_depth = Some(max_depth);
        self
    }

    /// Compiles and adds a rule. Several patterns may share a name; the
    /// name matches when any of them does.
    pub fn add(&mut self, name: &str, pattern: &str) -> Result<(), RuleError> {
        let p = compile(pattern, &self.options).map_err(|error| RuleError {
            name: name.to_string(),
            error,
        })?;
        self.rules.push((name.to_string(), p));
        Ok(())
    }

    /// Adds an already compiled pattern.
    pub fn add_compiled(&mut self, name: &str, pattern: Pattern) {
        self.rules.push((name.to_string(), pattern));
    }

    /// Number of rules added so far.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule was added.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rule set: every rule compiled into one [`Machine`].
    pub fn build(self) -> RuleSet {
        let (names, patterns): (Vec<String>, Vec<Pattern>) = self.rules.into_iter().unzip();
        let mut machine = Machine::new(self.config);
        if let Some(d) = self.max_event_depth {
            machine.set_max_depth(d);
        }
        machine.add_all(patterns.iter());
        RuleSet {
            names,
            patterns,
            config: self.config,
            machine,
        }
    }
}

/// An immutable set of named rules. `Send + Sync`: share it across threads.
#[derive(Debug, Clone)]
pub struct RuleSet {
    names: Vec<String>,
    patterns: Vec<Pattern>,
    config: Config,
    machine: Machine,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::new());
}

impl RuleSet {
    /// Starts a builder.
    pub fn builder() -> RuleSetBuilder {
        RuleSetBuilder::new()
    }

    /// Number of rules (patterns).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Rule names by id (the order they were added).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The matching options.
    pub fn config(&self) -> Config {
        self.config
    }

    /// The compiled patterns by id.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The machine all rules are compiled into.
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    /// Ids of the rules that match an already flattened event, ascending.
    pub fn matches_flat(&self, event: &FlatEvent) -> Vec<usize> {
        let mut out = Vec::new();
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.machine.matches_flat(&mut s, event, &mut out),
            Err(_) => self
                .machine
                .matches_flat(&mut Scratch::new(), event, &mut out),
        });
        out.into_iter().map(|r| r as usize).collect()
    }

    /// Ids of the rules that match an event given as JSON bytes, with
    /// caller-owned scratch space and output (no allocation per event in
    /// steady state). `out` is cleared first.
    pub fn matches_with(
        &self,
        scratch: &mut Scratch,
        event: &[u8],
        out: &mut Vec<RuleId>,
    ) -> Result<(), EventError> {
        out.clear();
        self.machine.matches(scratch, event, out)
    }

    /// Ids of the rules that match an event given as JSON bytes.
    pub fn matches(&self, event: &[u8]) -> Result<Vec<usize>, EventError> {
        let mut out = Vec::new();
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.machine.matches(&mut s, event, &mut out),
            Err(_) => self.machine.matches(&mut Scratch::new(), event, &mut out),
        })?;
        Ok(out.into_iter().map(|r| r as usize).collect())
    }

    /// Names of the rules that match an event given as JSON bytes, each
    /// once, in the order the rules were added.
    pub fn matching_names(&self, event: &[u8]) -> Result<Vec<&str>, EventError> {
        Ok(self.names_of(self.matches(event)?))
    }

    /// Names of the rules that match an already parsed event.
    pub fn matching_names_value(&self, event: &serde_json::Value) -> Result<Vec<&str>, EventError> {
        let v = evmatch_event::from_serde(event)?;
        let flat = evmatch_event::flatten(&v)?;
        Ok(self.names_of(self.matches_flat(&flat)))
    }

    fn names_of(&self, ids: Vec<usize>) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::with_capacity(ids.len());
        for i in ids {
            if let Some(n) = self.names.get(i) {
                if !out.contains(&n.as_str()) {
                    out.push(n);
                }
            }
        }
        out
    }
}

/// Why [`test_event_pattern`] could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestError {
    /// The pattern is invalid.
    Pattern(PatternError),
    /// The event is not what `TestEventPattern` accepts (SPEC.md §1.1).
    Event(String),
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TestError::Pattern(e) => e.fmt(f),
            TestError::Event(_) => f.write_str("Parameter Event is not valid."),
        }
    }
}

impl std::error::Error for TestError {}

/// Envelope fields `TestEventPattern` requires (SPEC.md §1.1).
pub const REQUIRED_ENVELOPE_FIELDS: [&str; 6] =
    ["id", "account", "source", "time", "region", "detail-type"];

/// Checks an event the way the `TestEventPattern` API does: a JSON object
/// carrying every field of [`REQUIRED_ENVELOPE_FIELDS`]. The reason is for
/// humans; AWS only says `Parameter Event is not valid.`
pub fn check_envelope(event: &str) -> Result<evmatch_json::Value, String> {
    let v = evmatch_json::parse_value(event).map_err(|e| e.to_string())?;
    if !v.is_object() {
        return Err("the event is not a JSON object".into());
    }
    for f in REQUIRED_ENVELOPE_FIELDS {
        if v.get(f).is_none() {
            return Err(format!("the event has no \"{f}\" field"));
        }
    }
    Ok(v)
}

/// A local `TestEventPattern`: the pattern is checked first (as AWS does),
/// then the event's envelope, then the match.
pub fn test_event_pattern(pattern: &str, event: &str) -> Result<bool, TestError> {
    let p = compile(pattern, &CompileOptions::default()).map_err(TestError::Pattern)?;
    let v = check_envelope(event).map_err(TestError::Event)?;
    let flat = evmatch_event::flatten(&v).map_err(|e| TestError::Event(e.to_string()))?;
    let mut m = Machine::new(Config::default());
    m.add(&p);
    let mut out = Vec::new();
    m.matches_flat(&mut Scratch::new(), &flat, &mut out);
    Ok(!out.is_empty())
}
