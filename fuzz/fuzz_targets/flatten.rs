//! Event reading and flattening, and the validity differential: the
//! automaton's streaming scanner rejects exactly the events the full
//! parser and flattener reject, with the same error, and on the events it
//! accepts the bytes path and the flattened path give the same rules.
#![no_main]

#[path = "../../tests/support/diff.rs"]
mod diff;

use evmatch::Config;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

static MACHINES: OnceLock<[evmatch::Machine; 2]> = OnceLock::new();
static EARLY: OnceLock<[evmatch::Machine; 2]> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let machines = MACHINES.get_or_init(|| {
        [
            diff::validity_machine(Config::default()),
            diff::validity_machine(Config {
                array_consistency: false,
                early_exit: false,
            }),
        ]
    });
    for m in machines {
        if let Err(why) = diff::check_validity(m, data) {
            panic!("{why}");
        }
    }
    // Early exit may stop before an error, but must not crash.
    let early = EARLY.get_or_init(|| {
        let config = Config {
            array_consistency: true,
            early_exit: true,
        };
        let mut forced = diff::validity_machine(config);
        forced.force_wildcard_index(true);
        [diff::validity_machine(config), forced]
    });
    for m in early {
        let _ = m.matches(&mut evmatch::Scratch::new(), data, &mut Vec::new());
    }
});
