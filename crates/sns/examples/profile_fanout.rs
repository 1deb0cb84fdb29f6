//! The fan-out bench's workload (`benches/fanout.rs`) as a plain program,
//! for instruction counts on a shared machine:
//!
//! ```sh
//! CARGO_PROFILE_RELEASE_DEBUG=true cargo build --release -p evmatch-sns --example profile_fanout
//! valgrind --tool=callgrind --toggle-collect='*profile_fanout::run*' \
//!     target/release/examples/profile_fanout 10000 200
//! ```
//!
//! Arguments: subscriptions, rounds over the 64 messages, and optionally
//! `publish` to time each message from its Publish texts (read, prepare,
//! match) rather than matching messages prepared beforehand.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]
#[path = "../benches/support/workload.rs"]
mod workload;

use evmatch_sns::{PreparedMessage, Topic};
use std::hint::black_box;
use workload::{messages, prepared, publish_texts, topic};

#[inline(never)]
fn run(t: &Topic, msgs: &[PreparedMessage], iters: usize) -> usize {
    let mut d = 0;
    let mut receivers = Vec::new();
    for _ in 0..iters {
        for m in msgs {
            t.receivers_into(black_box(m), &mut receivers);
            d += receivers.len();
        }
    }
    d
}

#[inline(never)]
fn run_publish(t: &Topic, texts: &[(String, String)], iters: usize) -> usize {
    let mut d = 0;
    let mut receivers = Vec::new();
    for _ in 0..iters {
        for (body, attributes) in texts {
            let m = prepared(black_box(body), black_box(attributes));
            t.receivers_into(&m, &mut receivers);
            d += receivers.len();
        }
    }
    d
}

fn main() {
    let n: usize = std::env::args().nth(1).unwrap().parse().unwrap();
    let iters: usize = std::env::args().nth(2).unwrap().parse().unwrap();
    let t = topic(n);
    let delivered = if std::env::args().nth(3).as_deref() == Some("publish") {
        run_publish(&t, &publish_texts(64), iters)
    } else {
        run(&t, &messages(64), iters)
    };
    println!("{delivered}");
}
