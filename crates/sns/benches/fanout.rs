//! SNS fan-out: a topic with 1, 1,000 and 10,000 subscriptions whose
//! attribute policies mostly do not match, over generated Publish
//! messages. Criterion reports messages/s per size, so the 1,000 and 10,000
//! figures read beside the one-subscription one. The 4-subscription point
//! (one policy of each shape) separates the cost of the attributes the
//! policies read (the one subscription reads 2 of the 6, the shapes
//! together all 6 and a prefix over an array) from the cost of their
//! number.
//!
//! `cargo bench -p evmatch-sns --bench fanout`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use evmatch_sns::{Attribute, FilterPolicyScope, Message, PreparedMessage, Topic};
use std::hint::black_box;
use std::time::Duration;

/// A deterministic generator (no dependency needed for this).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Subscription `i`: one of a few policy shapes on the attributes, each
/// naming a store only subscription `i` uses.
fn policy(i: usize) -> String {
    match i % 4 {
        0 => format!(r#"{{"store": ["store-{i}"], "event": ["order_placed", "order_cancelled"]}}"#),
        1 => format!(
            r#"{{"store": ["store-{i}"], "price_usd": [{{"numeric": [">=", {}, "<", 500]}}]}}"#,
            i % 100
        ),
        2 => format!(
            r#"{{"customer_interests": [{{"prefix": "sport-{i}"}}], "store": [{{"exists": true}}]}}"#
        ),
        _ => format!(
            r#"{{"store": ["store-{i}"], "encrypted": [false], "region": [{{"anything-but": ["us-east-1"]}}]}}"#
        ),
    }
}

fn topic(n: usize) -> Topic {
    let mut b = Topic::builder();
    for i in 0..n {
        b.subscribe(
            &format!("sub-{i}"),
            &policy(i),
            FilterPolicyScope::MessageAttributes,
        )
        .unwrap();
    }
    b.build()
}

/// Publish messages over stores 0..20,000: most name a store nobody (or
/// only one subscription) filters on.
fn messages(count: usize) -> Vec<PreparedMessage> {
    let mut rng = Lcg(7);
    (0..count)
        .map(|_| {
            let store = rng.next() % 20_000;
            let events = ["order_placed", "order_shipped", "order_cancelled"];
            Message::new("{\"order\": 1}")
                .with_attribute("store", Attribute::String(format!("store-{store}")))
                .with_attribute(
                    "event",
                    Attribute::String(events[(rng.next() % 3) as usize].into()),
                )
                .with_attribute(
                    "price_usd",
                    Attribute::number(&format!("{}.{}", rng.next() % 600, rng.next() % 100))
                        .unwrap(),
                )
                .with_attribute(
                    "customer_interests",
                    Attribute::string_array(&format!(
                        r#"["sport-{}", "music"]"#,
                        rng.next() % 20_000
                    ))
                    .unwrap(),
                )
                .with_attribute("encrypted", Attribute::String("false".into()))
                .with_attribute("region", Attribute::String("eu-west-1".into()))
                .prepare()
        })
        .collect()
}

fn fanout(c: &mut Criterion) {
    let msgs = messages(64);
    let mut group = c.benchmark_group("sns_fanout");
    group.throughput(Throughput::Elements(msgs.len() as u64));
    for n in [1usize, 4, 1_000, 10_000] {
        let t = topic(n);
        if n >= 10_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(10));
        }
        group.bench_with_input(BenchmarkId::new("subscriptions", n), &t, |b, t| {
            b.iter(|| {
                let mut delivered = 0usize;
                for m in &msgs {
                    delivered += t.receivers_prepared(black_box(m)).len();
                }
                delivered
            })
        });
    }
    group.finish();
}

fn prepare(c: &mut Criterion) {
    let mut group = c.benchmark_group("sns_prepare");
    group.throughput(Throughput::Elements(1));
    let m = Message::new("{\"order\": {\"id\": 1, \"lines\": [1, 2, 3]}}")
        .with_attribute("store", Attribute::String("store-1".into()))
        .with_attribute("price_usd", Attribute::number("12.50").unwrap());
    group.bench_function("publish_message", |b| b.iter(|| black_box(&m).prepare()));
    group.finish();
}

criterion_group!(benches, fanout, prepare);
criterion_main!(benches);
