//! The scale run: how compile time, memory and matching throughput of the
//! CLI grow with the number of rules.
//!
//! Rule sets of mixed operators (mostly non-matching: exact values,
//! prefixes, suffixes, equals-ignore-case, numeric ranges, anything-but,
//! exists, on fields of the CityLots events and on absent fields; about one
//! rule in a hundred matches some events), and a set of wildcard rules.

use crate::measure::{self, median};
use crate::run::{baseline, data_file, human, parse_counts, rates};
use anyhow::{bail, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Makes rule `i` of a generated set.
pub type RuleFn = fn(usize) -> String;

/// Rule `i` of the mixed set (a JSON pattern).
pub fn mixed_rule(i: usize) -> String {
    if i.is_multiple_of(100) {
        // A matching rule: a MAPBLKLOT block prefix (a few dozen events).
        return format!(
            r#"{{"properties":{{"MAPBLKLOT":[{{"prefix":"{:04}"}}]}}}}"#,
            1 + (i / 100 * 37) % 7650
        );
    }
    match i % 10 {
        0 => format!(r#"{{"properties":{{"MAPBLKLOT":["Z{i:07}"]}}}}"#),
        1 => format!(r#"{{"properties":{{"STREET":[{{"prefix":"ZQ{i}"}}]}}}}"#),
        2 => format!(r#"{{"properties":{{"BLKLOT":[{{"suffix":"Q{i}"}}]}}}}"#),
        3 => format!(
            r#"{{"geometry":{{"firstCoordinates":{{"x":[{{"numeric":[">",{},"<=",{}]}}]}}}}}}"#,
            100 + i,
            101 + i
        ),
        4 => format!(
            r#"{{"properties":{{"STREET":["NOWHERE {i}"],"ODD_EVEN":[{{"anything-but":["E"]}}]}}}}"#
        ),
        5 => format!(r#"{{"properties":{{"STREET":[{{"equals-ignore-case":"nowhere {i}"}}]}}}}"#),
        6 => format!(r#"{{"detail":{{"id":["{i}"]}}}}"#),
        7 => format!(
            r#"{{"properties":{{"AREA":[{{"numeric":[">=",{i}]}}],"FROM_ST":["{}"]}}}}"#,
            i % 997
        ),
        8 => format!(r#"{{"geometry":{{"type":["Polygon"]}},"properties":{{"TO_ST":["X{i}"]}}}}"#),
        _ => format!(
            r#"{{"properties":{{"OWNER_{}":[{{"exists":true}}],"LOT_NUM":["{i}"]}}}}"#,
            i % 50
        ),
    }
}

/// Rule `i` of the wildcard set: infix, suffix and prefix-and-suffix
/// shapes; rules of the first kind match a few events.
pub fn wildcard_rule(i: usize) -> String {
    match i % 4 {
        0 => format!(
            r#"{{"properties":{{"MAPBLKLOT":[{{"wildcard":"{:04}*{}"}}]}}}}"#,
            1 + (i / 4 * 13) % 7650,
            i % 10
        ),
        1 => format!(r#"{{"properties":{{"STREET":[{{"wildcard":"*Z{i}*"}}]}}}}"#),
        2 => format!(r#"{{"properties":{{"BLKLOT":[{{"wildcard":"*{i:05}Q"}}]}}}}"#),
        _ => format!(
            r#"{{"properties":{{"STREET":[{{"wildcard":"{}*{i}ST"}}]}}}}"#,
            char::from(b'A' + (i % 26) as u8)
        ),
    }
}

/// A `{"r0": ..., "r1": ...}` rules file of `n` rules.
pub fn rules_file_text(n: usize, rule: RuleFn) -> String {
    let mut s = String::with_capacity(n * 80 + 4);
    s.push_str("{\n");
    for i in 0..n {
        if i > 0 {
            s.push_str(",\n");
        }
        let _ = write!(s, "\"r{i}\": {}", rule(i));
    }
    s.push_str("\n}\n");
    s
}

/// Options of `evmatch-bench scale`.
#[derive(Clone, Debug)]
pub struct ScaleOptions {
    pub events: usize,
    pub seed: i64,
    pub runs: usize,
    pub sizes: Vec<usize>,
    pub wildcard: usize,
    pub compile_only: bool,
    pub evmatch: PathBuf,
    pub evmatch_args: Vec<String>,
    pub data_dir: PathBuf,
}

struct Measured {
    wall: Duration,
    rss: Option<u64>,
    matched: u64,
}

fn evmatch_once(o: &ScaleOptions, rules: &Path, events: &Path) -> Result<Measured> {
    let mut walls = Vec::new();
    let mut rss = None;
    let mut matched = 0;
    for _ in 0..o.runs.max(1) {
        let r = measure::run(
            Command::new(&o.evmatch)
                .arg("--count")
                .args(&o.evmatch_args)
                .arg(rules)
                .arg(events),
        )?;
        r.ensure_success("evmatch")?;
        matched = parse_counts(&r.stdout)?.values().sum();
        walls.push(r.wall);
        rss = rss.max(r.max_rss);
    }
    Ok(Measured {
        wall: median(walls),
        rss,
        matched,
    })
}

fn mb(x: Option<u64>) -> String {
    x.map(|b| format!("{:.1}", b as f64 / 1e6))
        .unwrap_or_else(|| "n/a".to_string())
}

/// The scale run: one table row per rule set.
pub fn run(o: &ScaleOptions) -> Result<()> {
    if !o.evmatch.is_file() {
        bail!(
            "no evmatch binary at {} (build it: cargo build --release -p evmatch-cli)",
            o.evmatch.display()
        );
    }
    let data = if o.compile_only {
        None
    } else {
        Some(data_file(&o.data_dir, o.events, o.seed)?)
    };
    let dir = o.data_dir.join("scale");
    std::fs::create_dir_all(&dir)?;
    let empty = dir.join("empty.ndjson");
    std::fs::write(&empty, b"")?;

    let mut sets: Vec<(String, usize, RuleFn)> = o
        .sizes
        .iter()
        .map(|&n| (format!("mixed-{n}"), n, mixed_rule as RuleFn))
        .collect();
    if o.wildcard > 0 {
        sets.push((
            format!("wildcard-{}", o.wildcard),
            o.wildcard,
            wildcard_rule,
        ));
    }

    let (bytes, base_eps) = match &data {
        Some(d) => {
            let bytes = d.metadata()?.len();
            let b = baseline(d, o.runs)?;
            let (eps, mbs) = rates(o.events as u64, bytes, b);
            println!(
                "data: {} ({} events, {:.1} MB); baseline serde_json -> IgnoredAny: {} events/s, {:.1} MB/s",
                d.display(),
                o.events,
                bytes as f64 / 1e6,
                human(eps),
                mbs
            );
            (bytes, eps)
        }
        None => (0, 0.0),
    };
    println!(
        "evmatch: {} --count {}; median of {} run(s); compile = the CLI over an empty input",
        o.evmatch.display(),
        o.evmatch_args.join(" "),
        o.runs.max(1)
    );
    println!();
    let mut header = format!(
        "{:<16} {:>7} {:>10} {:>9} {:>9}",
        "set", "rules", "compile s", "peak MB", "B/rule"
    );
    if data.is_some() {
        let _ = write!(
            header,
            " {:>9} {:>8} {:>8} {:>8} {:>9} {:>8}",
            "events/s", "MB/s", "x 1-rule", "x base", "matches", "peak MB"
        );
    }
    println!("{header}");
    let mut one_rule: Option<f64> = None;
    let mut one_rule_rss: Option<u64> = None;
    for (name, n, rule) in sets {
        let rules = dir.join(format!("{name}.json"));
        std::fs::write(&rules, rules_file_text(n, rule))?;
        let c = evmatch_once(o, &rules, &empty)?;
        if n == 1 && name.starts_with("mixed") {
            one_rule_rss = c.rss;
        }
        let per_rule = match (c.rss, one_rule_rss) {
            (Some(a), Some(b)) if n > 1 => format!("{}", a.saturating_sub(b) / n as u64),
            _ => "-".to_string(),
        };
        let mut row = format!(
            "{:<16} {:>7} {:>10.3} {:>9} {:>9}",
            name,
            n,
            c.wall.as_secs_f64(),
            mb(c.rss),
            per_rule
        );
        if let Some(d) = &data {
            let m = evmatch_once(o, &rules, d)?;
            // Matching alone: the run over the data less the compile-only run.
            let (eps, mbs) = rates(o.events as u64, bytes, m.wall.saturating_sub(c.wall));
            if n == 1 && name.starts_with("mixed") {
                one_rule = Some(eps);
            }
            let x1 = one_rule
                .map(|b| format!("{:.2}", eps / b))
                .unwrap_or_else(|| "-".to_string());
            let _ = write!(
                row,
                " {:>9} {:>8.1} {:>8} {:>8.2} {:>9} {:>8}",
                human(eps),
                mbs,
                x1,
                eps / base_eps,
                m.matched,
                mb(m.rss)
            );
        }
        println!("{row}");
    }
    println!();
    println!(
        "compile s / peak MB: wall time and peak RSS of the CLI loading the rules over no events;"
    );
    println!(
        "B/rule: (peak RSS - the 1-rule peak) / rules; events/s, MB/s: the run over the data less"
    );
    println!("the compile-only run; x 1-rule: events/s over the 1-rule set's;");
    println!("x base: over the serde_json IgnoredAny baseline; matches: sum of per-rule counts.");
    println!(
        "Targets (issue 4): 100,000 rules compile < 2 s and < 300 MB; 10,000 mixed >= 0.7x 1-rule;"
    );
    println!("10,000 wildcard rules compile < 10 s and match >= 0.3x base.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_rule_compiles_and_names_are_unique() {
        for i in 0..2000 {
            for text in [mixed_rule(i), wildcard_rule(i)] {
                evmatch::compile(&text, &evmatch::CompileOptions::default())
                    .unwrap_or_else(|e| panic!("rule {i}: {text}: {e}"));
            }
        }
        let file: serde_json::Value =
            serde_json::from_str(&rules_file_text(300, mixed_rule)).unwrap();
        assert_eq!(file.as_object().unwrap().len(), 300);
    }

    #[test]
    fn mixed_rules_are_mostly_non_matching() {
        let mut data = Vec::new();
        crate::citylots::generate(400, 1, &mut data).unwrap();
        let mut b = evmatch::RuleSet::builder();
        for i in 0..500 {
            b.add(&format!("r{i}"), &mixed_rule(i)).unwrap();
        }
        let set = b.build();
        let mut matched_rules = std::collections::BTreeSet::new();
        for line in data.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            for r in set.matches(line).unwrap() {
                matched_rules.insert(r);
            }
        }
        // Only the one-in-a-hundred prefix rules can match.
        assert!(
            matched_rules.iter().all(|r| r % 100 == 0),
            "{matched_rules:?}"
        );
    }
}
