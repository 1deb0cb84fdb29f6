//! Matching engines for evmatch.
//!
//! Today this crate holds the reference matcher ([`naive`]): it evaluates
//! every rule against a flattened event directly from the pattern's
//! definition, and is the yardstick every faster engine is tested against.
//!
//! ```
//! use evmatch_automata::{naive, Config};
//! use evmatch_pattern::{compile, CompileOptions};
//! let p = compile(r#"{"detail": {"n": [{"numeric": [">", 100]}]}}"#, &CompileOptions::default()).unwrap();
//! let ev = evmatch_event::flatten(&evmatch_event::parse(br#"{"detail": {"n": 101.0}}"#).unwrap()).unwrap();
//! assert!(naive::pattern_matches(&p, &ev, &Config::default()));
//! ```
#![deny(missing_docs)]

mod leaf;
pub mod naive;

pub use leaf::leaf_matches;

/// Matching options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Require the values a branch uses from inside arrays of objects to
    /// come from the same array element (SPEC.md §2.12). On by default, as
    /// on AWS.
    pub array_consistency: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            array_consistency: true,
        }
    }
}
