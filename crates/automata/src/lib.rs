//! Matching engines for evmatch.
//!
//! Two engines answer the same question, "which rules does this event
//! match?", with the same semantics (SPEC.md §2):
//!
//! - [`Machine`], the automaton: every rule compiled into one machine
//!   (a key trie over field paths, one shared value index per path, rule
//!   conditions joined by counting), fed by a streaming flattener that
//!   skips every value no rule names. Its cost per event follows the
//!   fields rules read and the conditions the event meets, not the number
//!   of rules. This is the engine the library and the CLI use.
//! - [`naive`], the reference matcher: evaluates each rule against a
//!   flattened event straight from the definitions. Slow and obviously
//!   correct, it is the yardstick the automaton is tested against.
//!
//! Build a machine, then match with per-thread scratch space:
//!
//! ```
//! use evmatch_automata::{Config, Machine, Scratch};
//! use evmatch_pattern::{compile, CompileOptions};
//! let opts = CompileOptions::default();
//! let mut m = Machine::new(Config::default());
//! let big = m.add(&compile(r#"{"detail": {"n": [{"numeric": [">", 100]}]}}"#, &opts).unwrap());
//! let ec2 = m.add(&compile(r#"{"source": ["aws.ec2"]}"#, &opts).unwrap());
//! let mut scratch = Scratch::new();
//! let mut out = Vec::new();
//! m.matches(&mut scratch, br#"{"source": "aws.ec2", "detail": {"n": 101.0}}"#, &mut out).unwrap();
//! assert_eq!(out, vec![big, ec2]);
//! ```
#![deny(missing_docs)]

mod fold;
mod leaf;
mod machine;
pub mod naive;
mod scan;
mod search;
mod values;
mod wild;

pub use leaf::leaf_matches;
pub use machine::{Machine, ResolvedPath, RuleId, Scratch};

use evmatch_event::EventError;

/// Matching options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Require the values a branch uses from inside arrays of objects to
    /// come from the same array element (SPEC.md §2.12). On by default, as
    /// on AWS.
    pub array_consistency: bool,
    /// Stop reading an event once no later field can change the answer:
    /// once every path some rule names has had a value outside any open
    /// array, or every top-level key some rule names has been read. The
    /// rest of the event is then not validated (JSON syntax, UTF-8), so an
    /// event that is invalid past that point may still match; and a key
    /// repeated after that point (AWS keeps the last one), or a dotted key
    /// reaching an already read path, is not seen. Off by default.
    pub early_exit: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            array_consistency: true,
            early_exit: false,
        }
    }
}

impl Machine {
    /// Sets how deep events may nest (default
    /// [`evmatch_event::DEFAULT_MAX_DEPTH`], at most
    /// [`evmatch_event::MAX_DEPTH_CEILING`]). Deeper events are rejected
    /// with [`EventError::Json`] (the parser's depth error), whichever path
    /// reads them.
    pub fn set_max_depth(&mut self, max_depth: usize) {
        self.depth_limit = Some(max_depth.min(evmatch_event::MAX_DEPTH_CEILING));
    }

    /// The event nesting limit.
    pub fn max_depth(&self) -> usize {
        self.depth_limit.unwrap_or(evmatch_event::DEFAULT_MAX_DEPTH)
    }

    /// Appends to `out` the ids of the rules `event` (JSON bytes) matches,
    /// ascending. The event is validated as a whole unless
    /// [`Config::early_exit`] is on; an invalid one gives the same error
    /// as [`evmatch_event::parse`].
    pub fn matches(
        &self,
        scratch: &mut Scratch,
        event: &[u8],
        out: &mut Vec<RuleId>,
    ) -> Result<(), EventError> {
        let config = self.config();
        let all = if config.early_exit {
            None
        } else {
            // SIMD validation for the common, valid case; the standard
            // library says where an invalid one goes wrong.
            match simdutf8::basic::from_utf8(event) {
                Ok(t) => Some(t),
                Err(_) => {
                    let offset = std::str::from_utf8(event)
                        .err()
                        .map_or(0, |e| e.valid_up_to());
                    return Err(EventError::Utf8 { offset });
                }
            }
        };
        self.begin(scratch);
        let max_depth = self.max_depth();
        let opts = scan::ScanOptions {
            max_depth,
            early_exit: config.early_exit,
        };
        match scan::scan(self, scratch, event, all, opts) {
            Ok(()) if !scratch.too_large => {
                self.end(scratch, out);
                Ok(())
            }
            Ok(()) | Err(_) => {
                // The full parser gives the exact error, or the tree for
                // what the fast path leaves to it (repeated keys).
                let v = evmatch_event::parse_with_depth(event, max_depth)?;
                let flat = evmatch_event::flatten_with_depth(&v, max_depth)?;
                self.matches_flat(scratch, &flat, out);
                Ok(())
            }
        }
    }
}
