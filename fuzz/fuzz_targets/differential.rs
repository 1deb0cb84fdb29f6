//! Differential matching: bytes decode into a few patterns (every
//! operator, nesting, `$or`) and an event shaped to hit them
//! (tests/support/gen.rs); the automaton must give every rule the
//! reference matcher's verdict under every configuration
//! (tests/support/diff.rs).
#![no_main]

#[path = "../../tests/support/diff.rs"]
mod diff;
#[path = "../../tests/support/gen.rs"]
mod gen;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (patterns, event, dup) = gen::Gen::new(data).case();
    if let Err(why) = diff::check(&patterns, &event, dup) {
        panic!("{why}");
    }
});
