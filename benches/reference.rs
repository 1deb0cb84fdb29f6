//! Criterion benches for the reference matcher: compile time and match time
//! as the number of (mostly non-matching) rules grows. They are the
//! baseline the automaton (issue 4) must beat; the reference matcher's cost
//! grows with the rule count by design.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use evmatch::RuleSet;
use std::hint::black_box;

const EVENT: &[u8] = br#"{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"111122223333","time":"2017-12-22T18:43:48Z","region":"us-west-1","resources":["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],"detail":{"instance-id":"i-1234567890abcdef0","state":"running","c-count":5,"x-limit":301.8,"tags":[{"k":"env","v":"prod"},{"k":"team","v":"payments"}]}}"#;

/// Rule `i` of a mixed set: one operator per rule, cycling through the
/// language; only a few of them match `EVENT`.
fn rule(i: usize) -> String {
    match i % 8 {
        0 => format!(r#"{{"source":["aws.svc{i}"],"detail":{{"state":["running"]}}}}"#),
        1 => format!(r#"{{"detail":{{"instance-id":[{{"prefix":"i-{i}"}}]}}}}"#),
        2 => format!(
            r#"{{"detail":{{"c-count":[{{"numeric":[">",{i},"<=",{}]}}]}}}}"#,
            i + 10
        ),
        3 => format!(r#"{{"detail-type":[{{"equals-ignore-case":"type {i}"}}]}}"#),
        4 => format!(r#"{{"resources":[{{"wildcard":"arn:aws:ec2:*:{i}:instance/*"}}]}}"#),
        5 => format!(r#"{{"detail":{{"tags":{{"k":["env"],"v":["v{i}"]}}}}}}"#),
        6 => format!(r#"{{"region":[{{"anything-but":["us-west-1","r{i}"]}}]}}"#),
        _ => format!(r#"{{"$or":[{{"account":["{i}"]}},{{"detail":{{"x-limit":[{i}]}}}}]}}"#),
    }
}

fn build(n: usize) -> RuleSet {
    let mut b = RuleSet::builder();
    for i in 0..n {
        b.add(&format!("r{i}"), &rule(i)).unwrap();
    }
    b.build()
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    for n in [10usize, 100, 1000] {
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            b.iter(|| build(black_box(n)))
        });
    }
    g.finish();
}

fn matching(c: &mut Criterion) {
    let mut g = c.benchmark_group("match_reference");
    g.throughput(Throughput::Bytes(EVENT.len() as u64));
    for n in [1usize, 10, 100, 1000] {
        let rules = build(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &rules, |b, rules| {
            b.iter(|| rules.matches(black_box(EVENT)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, compile, matching);
criterion_main!(benches);
