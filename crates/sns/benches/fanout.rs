//! SNS fan-out: a topic with 1, 1,000 and 10,000 subscriptions whose
//! attribute policies mostly do not match, over generated Publish
//! messages. Criterion reports messages/s per size, so the 1,000 and 10,000
//! figures read beside the one-subscription one. The 4-subscription point
//! (one policy of each shape) separates the cost of the attributes the
//! policies read (the one subscription reads 2 of the 6, the shapes
//! together all 6 and a prefix over an array) from the cost of their
//! number.
//!
//! Each message is matched with `Topic::receivers_into` into one reused
//! vector, as `evmatch fanout` does. The groups:
//!
//! * `sns_fanout`: messages prepared beforehand, so only the matcher's own
//!   cost (path table, engine, the receivers vector).
//! * `sns_fanout_publish`: each message from its Publish request's
//!   `Message` and `MessageAttributes` texts: the attributes JSON read
//!   (`Message::with_attributes_json`), the message prepared
//!   (`Message::into_prepared`; the body is read only when a body-scope
//!   policy asks, and these topics have none), then matched: the whole
//!   per-message cost of a subscriber side, dominated by reading and
//!   preparing, not by the number of subscriptions.
//! * `sns_prepare`: `Message::prepare` alone for a small message.
//!
//! The matcher's ratio between 10,000 and 1 subscriptions is not a pure
//! scaling figure: the one subscription reads 2 of the 6 attributes, the
//! 10,000 read all 6 and prefix-test an array, and at 10,000 a message
//! has about one receiver (at 1, none).
//!
//! `cargo bench -p evmatch-sns --bench fanout`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/workload.rs"]
mod workload;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use evmatch_sns::{Attribute, Message};
use std::hint::black_box;
use std::time::Duration;
use workload::{messages, prepared, publish_texts, topic};

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
            let mut receivers = Vec::new();
            b.iter(|| {
                let mut delivered = 0usize;
                for m in &msgs {
                    t.receivers_into(black_box(m), &mut receivers);
                    delivered += receivers.len();
                }
                delivered
            })
        });
    }
    group.finish();
}

fn fanout_publish(c: &mut Criterion) {
    let texts = publish_texts(64);
    let mut group = c.benchmark_group("sns_fanout_publish");
    group.throughput(Throughput::Elements(texts.len() as u64));
    for n in [1usize, 1_000, 10_000] {
        let t = topic(n);
        if n >= 10_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(10));
        }
        group.bench_with_input(BenchmarkId::new("subscriptions", n), &t, |b, t| {
            let mut receivers = Vec::new();
            b.iter(|| {
                let mut delivered = 0usize;
                for (body, attributes) in &texts {
                    let m = prepared(black_box(body), black_box(attributes));
                    t.receivers_into(&m, &mut receivers);
                    delivered += receivers.len();
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

criterion_group!(benches, fanout, fanout_publish, prepare);
criterion_main!(benches);
