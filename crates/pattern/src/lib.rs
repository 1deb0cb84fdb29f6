//! The EventBridge pattern language, compiled and checked.
//!
//! [`compile`] turns a rule's JSON text into a [`Pattern`]: the `$or`
//! alternatives expanded into [`Branch`]es, each a sorted list of
//! [`FieldCondition`]s (a dotted path and its value list of [`Matcher`]s).
//! Every invalid pattern is rejected with the reason text AWS uses
//! (SPEC.md §2.1 to §2.10) and the line, column and key path where it is.
//!
//! ```
//! use evmatch_pattern::{compile, CompileOptions, Matcher};
//! let p = compile(r#"{"detail": {"state": [{"prefix": "run"}]}}"#, &CompileOptions::default()).unwrap();
//! let f = &p.branches()[0].fields()[0];
//! assert_eq!(f.path, "detail.state");
//! assert_eq!(f.matchers, vec![Matcher::Prefix("run".into())]);
//!
//! let err = compile(r#"{"resources": []}"#, &CompileOptions::default()).unwrap_err();
//! assert_eq!(err.to_string(), "Event pattern is not valid. Reason: Empty arrays are not allowed");
//! ```
//!
//! The pattern crate does not match events; the engines in
//! `evmatch-automata` do. It exports the value-level helpers they share
//! ([`case`], [`ip`], [`Wildcard`]).
#![deny(missing_docs)]

mod ast;
pub mod case;
mod compile;
mod error;
pub mod ip;
mod wildcard;

pub use ast::{AnythingBut, Branch, Exact, FieldCondition, Matcher, NumericRange, Pattern};
pub use compile::RESERVED_IN_OR;
pub use error::{ErrorKind, PatternError};
pub use ip::{IpRange, IpValue};
pub use wildcard::Wildcard;

/// Limits applied while compiling (SPEC.md §3.3). The defaults reproduce
/// what `TestEventPattern` accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileOptions {
    /// Largest pattern, in characters. Default 4,096, the API's hard
    /// maximum; EventBridge's adjustable per-rule quota starts at 2,048.
    /// `None` disables the check.
    pub max_pattern_chars: Option<usize>,
    /// Most branches `$or` may expand to. Default 1,000.
    pub max_or_combinations: usize,
    /// Highest wildcard complexity accepted per operand. Default 10, the
    /// threshold inferred in SPEC.md §3.3. `None` disables the check (the
    /// reference library itself has none).
    pub max_wildcard_complexity: Option<usize>,
    /// Deepest nesting of the pattern JSON. Default 256; values above
    /// [`MAX_DEPTH_CEILING`] are lowered to it.
    pub max_depth: usize,
    /// The number model of AWS's 2023 documentation and event-ruler up to
    /// 1.7.4 (SPEC.md §3.1): numeric operands must lie in ±5.0e9 with at
    /// most 6 decimals, else `Value must be between -5.0E9 and 5.0E9,
    /// inclusive` / `Only values upto 6 decimals are supported`; exact
    /// numbers outside that model match by text only. Default off (the
    /// binary64 model of §3.2).
    pub legacy_numeric: bool,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            max_pattern_chars: Some(4096),
            max_or_combinations: 1000,
            max_wildcard_complexity: Some(10),
            max_depth: 256,
            legacy_numeric: false,
        }
    }
}

/// The highest [`CompileOptions::max_depth`]: compiling recurses once per
/// level of nesting, and this many levels fit in a 2 MiB thread stack (the
/// default for spawned threads), in debug builds too.
pub const MAX_DEPTH_CEILING: usize = 1000;

/// Compiles one pattern.
pub fn compile(pattern: &str, options: &CompileOptions) -> Result<Pattern, PatternError> {
    compile::Compiler::new(pattern, options).compile()
}
