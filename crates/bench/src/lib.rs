//! Benchmark tooling for evmatch (not published).
//!
//! * [`citylots`]: the CityLots2 stand-in data generator, a byte-exact port
//!   of `gen_citylots2.py` (with [`pyrandom`] and [`pyfmt`], the parts of
//!   CPython's `random` and float `repr` it relies on);
//! * [`run`]: the CL2 benchmark driver (counts check, throughput table
//!   against a serde_json baseline and the quamina crate);
//! * [`route`]: the routing-cost run (routed over match-only throughput);
//! * [`scale`]: the rule-count scaling run.
// A benchmark tool over data it generates itself: indexing is fine here.
#![allow(clippy::indexing_slicing)]

pub mod citylots;
mod citylots_tables;
pub mod measure;
pub mod pyfmt;
pub mod pyrandom;
pub mod route;
pub mod run;
pub mod scale;
