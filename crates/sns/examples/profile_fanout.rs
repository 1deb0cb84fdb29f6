//! The fan-out bench's workload (`benches/fanout.rs`) as a plain program,
//! for instruction counts on a shared machine:
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_DEBUG=true cargo build --release -p evmatch-sns --example profile_fanout
//! valgrind --tool=callgrind --toggle-collect='*profile_fanout::run*' \
//!     target/release/examples/profile_fanout 10000 200
//! ```
//!
//! Arguments: subscriptions, rounds over the 64 messages.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
#[path = "../benches/support/workload.rs"]
mod workload;

use evmatch_sns::{PreparedMessage, Topic};
use std::hint::black_box;
use workload::{messages, topic};

#[inline(never)]
fn run(t: &Topic, msgs: &[PreparedMessage], iters: usize) -> usize {
    let mut d = 0;
    for _ in 0..iters {
        for m in msgs {
            d += t.receivers_prepared(black_box(m)).len();
        }
    }
    d
}

fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let iters: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let t = topic(n);
    let msgs = messages(64);
    println!("{}", run(&t, &msgs, iters));
}
