//! Criterion benches of the engine behind `evmatch::RuleSet`:
//!
//! * `compile/N`: building a rule set of N mixed rules (10 to 100,000);
//! * `match_cl2/SET`: matching a sample of CityLots2 events against the CL2
//!   rule sets (from ../shared/bench/cl2-rules.json; skipped when absent),
//!   next to `match_cl2/ignored_any`, serde_json skipping the same events;
//! * `match_mixed/N`: the same sample against N mixed, mostly
//!   non-matching rules.
//!
//! Quick: `cargo bench -p evmatch-bench --bench engine -- match_cl2`.
// A benchmark tool over data it generates itself: indexing is fine here.
#![allow(clippy::indexing_slicing)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use evmatch::RuleSet;
use evmatch_bench::{citylots, run, scale};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

const SAMPLE_EVENTS: usize = 500;

fn sample() -> Vec<Vec<u8>> {
    let mut data = Vec::new();
    citylots::generate(SAMPLE_EVENTS, 1, &mut data).unwrap();
    data.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

fn build(rules: impl IntoIterator<Item = (String, String)>) -> RuleSet {
    let mut b = RuleSet::builder();
    for (name, pattern) in rules {
        b.add(&name, &pattern).unwrap();
    }
    b.build()
}

fn mixed(n: usize) -> RuleSet {
    build((0..n).map(|i| (format!("r{i}"), scale::mixed_rule(i))))
}

fn match_all(set: &RuleSet, events: &[Vec<u8>]) -> usize {
    let mut n = 0;
    for e in events {
        n += set.matches(black_box(e)).unwrap().len();
    }
    n
}

fn compile(c: &mut Criterion) {
    let mut g = c.benchmark_group("compile");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for n in [10usize, 1000, 10_000, 100_000] {
        let texts: Vec<(String, String)> = (0..n)
            .map(|i| (format!("r{i}"), scale::mixed_rule(i)))
            .collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &texts, |b, texts| {
            b.iter(|| build(texts.iter().cloned()))
        });
    }
    g.finish();
}

fn cl2_sets() -> Option<Vec<run::RuleSetSpec>> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/bench/cl2-rules.json");
    let text = std::fs::read_to_string(path).ok()?;
    run::load_sets(&text).ok()
}

fn match_cl2(c: &mut Criterion) {
    let events = sample();
    let bytes: usize = events.iter().map(|e| e.len() + 1).sum();
    let mut g = c.benchmark_group("match_cl2");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("ignored_any", |b| {
        b.iter(|| {
            for e in &events {
                serde_json::from_slice::<serde::de::IgnoredAny>(black_box(e)).unwrap();
            }
        })
    });
    let Some(sets) = cl2_sets() else {
        eprintln!("match_cl2: ../shared/bench/cl2-rules.json not found, CL2 sets skipped");
        g.finish();
        return;
    };
    const PICK: [&str; 7] = [
        "EXACT",
        "WILDCARD",
        "SUFFIX_EQUALS_IGNORE_CASE",
        "NUMERIC",
        "ANYTHING_BUT",
        "COMPLEX_ARRAYS",
        "COMBO",
    ];
    for set in sets.iter().filter(|s| PICK.contains(&s.name.as_str())) {
        let rs = build(set.rules.iter().cloned());
        g.bench_with_input(BenchmarkId::from_parameter(&set.name), &rs, |b, rs| {
            b.iter(|| match_all(rs, &events))
        });
    }
    g.finish();
}

fn match_mixed(c: &mut Criterion) {
    let events = sample();
    let bytes: usize = events.iter().map(|e| e.len() + 1).sum();
    let mut g = c.benchmark_group("match_mixed");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .throughput(Throughput::Bytes(bytes as u64));
    for n in [1usize, 100, 1000, 10_000] {
        let rs = mixed(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &rs, |b, rs| {
            b.iter(|| match_all(rs, &events))
        });
    }
    g.finish();
}

criterion_group!(benches, compile, match_cl2, match_mixed);
criterion_main!(benches);
