//! A strict JSON reader built for evmatch.
//!
//! EventBridge reports pattern errors in the words of its JSON parser
//! (Jackson), and it validates patterns in one left-to-right pass, so the
//! first problem in document order is the one reported. This crate gives the
//! pattern compiler exactly that: a pull [`Reader`] that hands out one
//! [`Token`] at a time, each with the [`Position`] where it was read, and
//! syntax errors worded as Jackson words them.
//!
//! It also keeps what a general-purpose parser throws away and matching
//! needs: the exact text of every number literal (so `12345678901234567`
//! can match by text while `300` and `3.0e2` match by value, SPEC.md §3.2),
//! and duplicate object keys in document order (patterns resolve them per
//! path; events keep the last, SPEC.md §1.3 #9).
//!
//! ```
//! use evmatch_json::{Reader, Token};
//! let mut r = Reader::new(r#"{"a": [1.50, "x"]}"#);
//! assert_eq!(r.next_token().unwrap(), Some(Token::StartObject));
//! assert_eq!(r.next_token().unwrap(), Some(Token::Key("a".into())));
//! assert_eq!(r.next_token().unwrap(), Some(Token::StartArray));
//! assert_eq!(r.next_token().unwrap(), Some(Token::Number("1.50")));
//! ```
#![deny(missing_docs)]

mod number;
mod reader;
mod value;

pub use number::{comparable_f64, Decimal};
pub use reader::{
    jackson_source, simple_escape, string_run_end, surrogate_pair, JsonError, Position, Reader,
    Token, DEFAULT_MAX_DEPTH,
};
pub use value::{parse_value, parse_value_with_depth, Value};
