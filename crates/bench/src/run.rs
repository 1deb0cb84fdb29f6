//! The CL2 benchmark: every rule set of `cl2-rules.json` through the
//! release `evmatch --count`, counts checked against the expected ones,
//! throughput next to a serde_json `IgnoredAny` baseline and the quamina
//! crate measured in the same run.

use crate::citylots::{self, N_REAL};
use crate::measure::{self, median};
use anyhow::{bail, Context, Result};
use evmatch_json::{parse_value, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The issue-4 target for a set's ratio to the IgnoredAny baseline. The
/// issue names the 14 operator categories, PARTIAL_COMBO and COMBO; other
/// sets of the file (ANYTHING_BUT_3_FIELDS) have no target.
pub fn target_ratio(set: &str) -> Option<f64> {
    match set {
        "NUMERIC" | "COMPLEX_ARRAYS" | "PARTIAL_COMBO" | "COMBO" => Some(0.5),
        "EXACT"
        | "WILDCARD"
        | "PREFIX"
        | "PREFIX_EQUALS_IGNORE_CASE"
        | "SUFFIX"
        | "SUFFIX_EQUALS_IGNORE_CASE"
        | "EQUALS_IGNORE_CASE"
        | "ANYTHING_BUT"
        | "ANYTHING_BUT_IGNORE_CASE"
        | "ANYTHING_BUT_PREFIX"
        | "ANYTHING_BUT_SUFFIX"
        | "ANYTHING_BUT_WILDCARD" => Some(1.0),
        _ => None,
    }
}

/// One rule set of `cl2-rules.json`.
#[derive(Clone, Debug)]
pub struct RuleSetSpec {
    pub name: String,
    /// (rule name, pattern as JSON text)
    pub rules: Vec<(String, String)>,
    /// Events matched by each rule on the full data.
    pub expected: BTreeMap<String, u64>,
}

impl RuleSetSpec {
    /// The set as a `{"name": pattern, ...}` rules file.
    pub fn rules_file_text(&self) -> String {
        let mut s = String::from("{\n");
        for (i, (name, pattern)) in self.rules.iter().enumerate() {
            if i > 0 {
                s.push_str(",\n");
            }
            s.push_str(&serde_json::Value::String(name.clone()).to_string());
            s.push_str(": ");
            s.push_str(pattern);
        }
        s.push_str("\n}\n");
        s
    }
}

/// Writes a JSON value back as text, numbers exactly as written (a
/// round trip through f64 could change a CL2 constant's last digit).
fn push_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(n),
        Value::String(s) => out.push_str(&serde_json::Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_json(x, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            out.push('{');
            for (i, (k, x)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                push_json(x, out);
            }
            out.push('}');
        }
    }
}

/// Parses `cl2-rules.json`: `{"SET": {"rules": {...}, "expected": {...}}}`;
/// sets and rules in file order, patterns as written.
pub fn load_sets(text: &str) -> Result<Vec<RuleSetSpec>> {
    let v = parse_value(text).map_err(|e| anyhow::anyhow!("cl2-rules.json: {e}"))?;
    let Value::Object(sets) = v else {
        bail!("cl2-rules.json: not a JSON object");
    };
    let mut out = Vec::new();
    for (name, set) in &sets {
        let Some(Value::Object(rules)) = set.get("rules") else {
            bail!("cl2-rules.json: set {name} has no \"rules\" object");
        };
        let mut expected = BTreeMap::new();
        if let Some(Value::Object(exp)) = set.get("expected") {
            for (rule, n) in exp {
                let n = match n {
                    Value::Number(t) => t.parse::<u64>().ok(),
                    _ => None,
                };
                let Some(n) = n else {
                    bail!("cl2-rules.json: {name}.expected.{rule} is not a count");
                };
                expected.insert(rule.clone(), n);
            }
        }
        out.push(RuleSetSpec {
            name: name.clone(),
            rules: rules
                .iter()
                .map(|(k, p)| {
                    let mut t = String::new();
                    push_json(p, &mut t);
                    (k.clone(), t)
                })
                .collect(),
            expected,
        });
    }
    Ok(out)
}

/// Compares per-rule counts with the expected ones; one line per problem
/// (empty: all equal).
pub fn check_counts(expected: &BTreeMap<String, u64>, got: &BTreeMap<String, u64>) -> Vec<String> {
    let mut problems = Vec::new();
    for (rule, want) in expected {
        match got.get(rule) {
            Some(n) if n == want => {}
            Some(n) => problems.push(format!("rule {rule}: {n} events matched, expected {want}")),
            None => problems.push(format!(
                "rule {rule}: missing from the output (expected {want})"
            )),
        }
    }
    for (rule, n) in got {
        if !expected.contains_key(rule) {
            problems.push(format!(
                "rule {rule}: {n} events matched, no expected count"
            ));
        }
    }
    problems
}

/// Parses `evmatch --count` output: one JSON object of rule -> count.
pub fn parse_counts(stdout: &[u8]) -> Result<BTreeMap<String, u64>> {
    let v: serde_json::Value =
        serde_json::from_slice(stdout).context("evmatch --count printed no JSON object")?;
    let Some(obj) = v.as_object() else {
        bail!("evmatch --count printed no JSON object");
    };
    let mut out = BTreeMap::new();
    for (k, n) in obj {
        let Some(n) = n.as_u64() else {
            bail!("evmatch --count: count of {k} is not a number");
        };
        out.insert(k.clone(), n);
    }
    Ok(out)
}

/// The data file for `events`/`seed` in `dir`, generated on first use.
pub fn data_file(dir: &Path, events: usize, seed: i64) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(format!("citylots2-seed{seed}-{events}.ndjson"));
    if path.metadata().map(|m| m.len() > 0).unwrap_or(false) {
        return Ok(path);
    }
    let tmp = dir.join(format!("citylots2-seed{seed}-{events}.ndjson.tmp"));
    eprintln!("generating {} ...", path.display());
    let t = Instant::now();
    {
        let f = File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        citylots::generate(events, seed, &mut w)?;
        w.flush()?;
    }
    std::fs::rename(&tmp, &path)?;
    eprintln!("generated in {:.1} s", t.elapsed().as_secs_f64());
    Ok(path)
}

/// Reads `path` line by line (64 KiB buffer, like the CLI), calling `f` on
/// each non-empty line without its newline; returns the line count.
pub fn for_each_line(path: &Path, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<u64> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut r = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::with_capacity(4096);
    let mut n = 0;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let l = line.strip_suffix(b"\n").unwrap_or(&line);
        if l.is_empty() {
            continue;
        }
        f(l)?;
        n += 1;
    }
    Ok(n)
}

/// The baseline: serde_json deserialising each line into `IgnoredAny`,
/// one thread, reading the file as the CLI does. Median of `runs`.
pub fn baseline(path: &Path, runs: usize) -> Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        for_each_line(path, |l| {
            serde_json::from_slice::<serde::de::IgnoredAny>(l)
                .map(|_| ())
                .context("baseline: a line is not JSON")
        })?;
        times.push(t.elapsed());
    }
    Ok(median(times))
}

/// What the quamina crate made of a set.
#[derive(Clone, Debug)]
pub enum QuaminaOutcome {
    /// It rejected every rule (add_pattern failed or panicked); the first
    /// rule and reason.
    Rejects { rule: String, reason: String },
    /// It failed on an event line.
    Failed(String),
    /// It matched with the rules it accepted.
    Ran {
        time: Duration,
        /// Per accepted rule.
        counts: BTreeMap<String, u64>,
        /// (rule, reason) of each rule it rejected.
        rejected: Vec<(String, String)>,
    },
}

/// Adds every rule of `set` it accepts to a quamina matcher and matches
/// every line of `path` (median time of `runs`; building is not timed).
pub fn run_quamina(set: &RuleSetSpec, path: &Path, runs: usize) -> Result<QuaminaOutcome> {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let mut q = quamina::Quamina::<usize>::new();
    let mut rejected = Vec::new();
    for (i, (name, pattern)) in set.rules.iter().enumerate() {
        let added = catch_unwind(AssertUnwindSafe(|| q.add_pattern(i, pattern)));
        let reason = match added {
            Ok(Ok(())) => continue,
            Ok(Err(e)) => e.to_string(),
            Err(_) => "panicked".to_string(),
        };
        rejected.push((name.clone(), reason));
    }
    if rejected.len() == set.rules.len() {
        let (rule, reason) = rejected.into_iter().next().unwrap_or_default();
        return Ok(QuaminaOutcome::Rejects { rule, reason });
    }
    let mut times = Vec::new();
    let mut counts = vec![0u64; set.rules.len()];
    for run in 0..runs.max(1) {
        let mut c = vec![0u64; set.rules.len()];
        let t = Instant::now();
        let res = catch_unwind(AssertUnwindSafe(|| {
            for_each_line(path, |l| {
                let m = q.matches_for_event(l).map_err(|e| anyhow::anyhow!("{e}"))?;
                for i in m {
                    if let Some(x) = c.get_mut(i) {
                        *x += 1;
                    }
                }
                Ok(())
            })
        }));
        let elapsed = t.elapsed();
        match res {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Ok(QuaminaOutcome::Failed(e.to_string())),
            Err(_) => return Ok(QuaminaOutcome::Failed("panicked".to_string())),
        }
        times.push(elapsed);
        if run == 0 {
            counts = c;
        }
    }
    Ok(QuaminaOutcome::Ran {
        time: median(times),
        counts: set
            .rules
            .iter()
            .zip(counts)
            .filter(|((n, _), _)| !rejected.iter().any(|(r, _)| r == n))
            .map(|((n, _), c)| (n.clone(), c))
            .collect(),
        rejected,
    })
}

impl RuleSetSpec {
    /// The set without the named rules (expected counts kept for the rest).
    pub fn without(&self, drop: &[(String, String)]) -> RuleSetSpec {
        let keep = |n: &String| !drop.iter().any(|(d, _)| d == n);
        RuleSetSpec {
            name: self.name.clone(),
            rules: self
                .rules
                .iter()
                .filter(|(n, _)| keep(n))
                .cloned()
                .collect(),
            expected: self
                .expected
                .iter()
                .filter(|(n, _)| keep(n))
                .map(|(n, c)| (n.clone(), *c))
                .collect(),
        }
    }
}

/// Runs `evmatch --count [extra] RULES DATA` `runs` times; the median wall
/// time and the counts (every run must print the same ones).
pub fn run_evmatch(
    bin: &Path,
    extra: &[String],
    rules: &Path,
    data: &Path,
    runs: usize,
) -> Result<(Duration, BTreeMap<String, u64>, Option<u64>)> {
    let mut times = Vec::new();
    let mut first: Option<BTreeMap<String, u64>> = None;
    let mut rss = None;
    for _ in 0..runs.max(1) {
        let r = measure::run(
            Command::new(bin)
                .arg("--count")
                .args(extra)
                .arg(rules)
                .arg(data),
        )?;
        r.ensure_success("evmatch")?;
        let counts = parse_counts(&r.stdout)?;
        match &first {
            None => first = Some(counts),
            Some(f) if *f != counts => bail!("evmatch printed different counts on two runs"),
            Some(_) => {}
        }
        times.push(r.wall);
        rss = rss.max(r.max_rss);
    }
    Ok((median(times), first.unwrap_or_default(), rss))
}

/// Options of `evmatch-bench run`.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub events: usize,
    pub seed: i64,
    pub runs: usize,
    pub sets: Option<Vec<String>>,
    pub evmatch: PathBuf,
    pub evmatch_args: Vec<String>,
    pub rules: PathBuf,
    pub data_dir: PathBuf,
    pub quamina: bool,
}

/// Events per second and MB per second (10^6 bytes).
pub fn rates(lines: u64, bytes: u64, t: Duration) -> (f64, f64) {
    let s = t.as_secs_f64().max(1e-9);
    (lines as f64 / s, bytes as f64 / s / 1e6)
}

/// `12345678` -> `12.35M`-style short numbers for the table.
pub fn human(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

/// The whole CL2 run; returns whether every checked count was right.
pub fn run(opts: &RunOptions) -> Result<bool> {
    let text = match std::fs::read_to_string(&opts.rules) {
        Ok(t) => t,
        Err(e) => {
            println!(
                "skipped: cannot read the CL2 rule sets at {} ({e})",
                opts.rules.display()
            );
            return Ok(true);
        }
    };
    let mut sets = load_sets(&text)?;
    if let Some(want) = &opts.sets {
        for w in want {
            if !sets.iter().any(|s| s.name.eq_ignore_ascii_case(w)) {
                bail!("no set {w} in {}", opts.rules.display());
            }
        }
        sets.retain(|s| want.iter().any(|w| s.name.eq_ignore_ascii_case(w)));
    }
    if !opts.evmatch.is_file() {
        bail!(
            "no evmatch binary at {} (build it: cargo build --release -p evmatch-cli)",
            opts.evmatch.display()
        );
    }
    let data = data_file(&opts.data_dir, opts.events, opts.seed)?;
    let bytes = data.metadata()?.len();
    let check = opts.events == N_REAL;

    let base = baseline(&data, opts.runs)?;
    let lines = opts.events as u64;
    let (base_eps, base_mbs) = rates(lines, bytes, base);
    println!(
        "data: {} ({} events, {:.1} MB, seed {})",
        data.display(),
        opts.events,
        bytes as f64 / 1e6,
        opts.seed
    );
    println!(
        "evmatch: {} --count{}{}; median of {} run(s), wall time of the whole process",
        opts.evmatch.display(),
        if opts.evmatch_args.is_empty() {
            ""
        } else {
            " "
        },
        opts.evmatch_args.join(" "),
        opts.runs.max(1)
    );
    println!(
        "baseline: serde_json -> IgnoredAny, 1 thread: {} events/s, {:.1} MB/s",
        human(base_eps),
        base_mbs
    );
    if !check {
        println!(
            "counts: NOT checked (the expected counts hold for the full {N_REAL} events; use --full)"
        );
    }
    println!();
    println!(
        "{:<26} {:>5} {:>9} {:>9} {:>8} {:>7} {:>6} {:>10} {:>9} {:>8}",
        "set",
        "rules",
        "counts",
        "events/s",
        "MB/s",
        "x base",
        "target",
        "quamina/s",
        "x quamina",
        "q-counts"
    );

    let tmp_dir = opts.data_dir.join("rules");
    std::fs::create_dir_all(&tmp_dir)?;
    let mut all_ok = true;
    let mut problems_out = Vec::new();
    for set in &sets {
        let rules_path = tmp_dir.join(format!("{}.json", set.name));
        std::fs::write(&rules_path, set.rules_file_text())?;
        // Each evmatch run is paired with a baseline run just before it;
        // the ratio is the median of the pairs' ratios, so drift in the
        // shared machine's speed between sets does not enter it.
        let mut times = Vec::new();
        let mut ratios = Vec::new();
        let mut counts = BTreeMap::new();
        for _ in 0..opts.runs.max(1) {
            let b = baseline(&data, 1)?;
            let (t, c, _) = run_evmatch(&opts.evmatch, &opts.evmatch_args, &rules_path, &data, 1)
                .with_context(|| format!("set {}", set.name))?;
            if !times.is_empty() && c != counts {
                bail!(
                    "evmatch printed different counts on two runs of {}",
                    set.name
                );
            }
            counts = c;
            ratios.push(b.as_secs_f64() / t.as_secs_f64().max(1e-9));
            times.push(t);
        }
        let t = median(times);
        ratios.sort_by(f64::total_cmp);
        let paired_ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);
        let counts_col = if check {
            let problems = check_counts(&set.expected, &counts);
            if problems.is_empty() {
                "ok".to_string()
            } else {
                all_ok = false;
                for p in &problems {
                    problems_out.push(format!("{}: {p}", set.name));
                }
                "MISMATCH".to_string()
            }
        } else {
            "skipped".to_string()
        };
        let (eps, mbs) = rates(lines, bytes, t);
        let ratio = paired_ratio;
        let target = target_ratio(&set.name);
        let (q_rate, q_ratio, q_counts) = if opts.quamina {
            match run_quamina(set, &data, opts.runs)? {
                QuaminaOutcome::Rejects { rule, reason } => {
                    eprintln!(
                        "quamina rejects every rule of {} ({rule}: {reason})",
                        set.name
                    );
                    ("rejects".to_string(), "-".to_string(), "-".to_string())
                }
                QuaminaOutcome::Failed(e) => {
                    eprintln!("quamina failed on {}: {e}", set.name);
                    ("failed".to_string(), "-".to_string(), "-".to_string())
                }
                QuaminaOutcome::Ran {
                    time,
                    counts: qc,
                    rejected,
                } => {
                    let (qeps, _) = rates(lines, bytes, time);
                    // Ours on the same rules: the whole set, or the subset
                    // quamina accepts (run again).
                    let (our_eps, our_counts, mark) = if rejected.is_empty() {
                        (eps, counts.clone(), "")
                    } else {
                        let (r, why) = &rejected[0];
                        eprintln!(
                            "quamina rejects {} of the {} rules of {} ({r}: {why}); compared on the other {}",
                            rejected.len(),
                            set.rules.len(),
                            set.name,
                            set.rules.len() - rejected.len()
                        );
                        let sub = set.without(&rejected);
                        let sub_path = tmp_dir.join(format!("{}.quamina-subset.json", set.name));
                        std::fs::write(&sub_path, sub.rules_file_text())?;
                        let (t_sub, c_sub, _) = run_evmatch(
                            &opts.evmatch,
                            &opts.evmatch_args,
                            &sub_path,
                            &data,
                            opts.runs,
                        )
                        .with_context(|| format!("set {} (quamina subset)", set.name))?;
                        (rates(lines, bytes, t_sub).0, c_sub, "*")
                    };
                    let agree = if check {
                        let sub = set.without(&rejected);
                        check_counts(&sub.expected, &qc).is_empty()
                    } else {
                        qc == our_counts
                    };
                    (
                        format!("{}{mark}", human(qeps)),
                        format!("{:.2}", our_eps / qeps),
                        if agree { "same" } else { "differ" }.to_string(),
                    )
                }
            }
        } else {
            ("-".to_string(), "-".to_string(), "-".to_string())
        };
        println!(
            "{:<26} {:>5} {:>9} {:>9} {:>8.1} {:>7.2} {:>6} {:>10} {:>9} {:>8}",
            set.name,
            set.rules.len(),
            counts_col,
            human(eps),
            mbs,
            ratio,
            match target {
                Some(t) => format!("{}{:.1}", if ratio >= t { "ok " } else { "<" }, t),
                None => "-".to_string(),
            },
            q_rate,
            q_ratio,
            q_counts
        );
    }
    println!();
    println!(
        "x base: the median over the runs of (baseline time / our time), each of our runs paired with a\nbaseline run just before it; target: the issue-4 goal for it (ok: met; -: a set the issue sets none for)."
    );
    println!("x quamina: our events/s over quamina's, which is timed in-process (no process start, no output)");
    println!("and stops reading an event early when it can; *: on the rules of the set quamina accepts, ours");
    println!(
        "re-run on that subset; rejects: it accepts none; q-counts: quamina's counts against the"
    );
    println!("expected ones (full data) or ours on the same rules (smaller data).");
    if !problems_out.is_empty() {
        eprintln!();
        eprintln!("COUNT MISMATCHES ({}):", problems_out.len());
        for p in &problems_out {
            eprintln!("  {p}");
        }
    }
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn counts_that_agree_pass() {
        let e = map(&[("a", 1), ("b", 0)]);
        assert!(check_counts(&e, &e.clone()).is_empty());
    }

    #[test]
    fn every_kind_of_count_problem_is_reported() {
        let e = map(&[("a", 1), ("b", 2), ("c", 3)]);
        let got = map(&[("a", 1), ("b", 5), ("d", 7)]);
        let p = check_counts(&e, &got);
        assert_eq!(
            p,
            vec![
                "rule b: 5 events matched, expected 2".to_string(),
                "rule c: missing from the output (expected 3)".to_string(),
                "rule d: 7 events matched, no expected count".to_string(),
            ]
        );
    }

    #[test]
    fn sets_load_in_file_order_and_round_trip_as_rules_files() {
        let text = r#"{"COMBO": {"rules": {"x": {"a": ["1"]}}, "expected": {"x": 4}},
                       "ZED": {"rules": {"z": {"b": [{"prefix": "q"}]}}},
                       "EXACT": {"rules": {"e-1": {"c": [{"numeric": ["=", -122.42916360922355]}]},
                                           "e-2": {"d": ["\"", 1e2, true, null]}},
                                 "expected": {"e-1": 1, "e-2": 0}}}"#;
        let sets = load_sets(text).unwrap();
        let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["COMBO", "ZED", "EXACT"]);
        assert_eq!(sets[2].expected, map(&[("e-1", 1), ("e-2", 0)]));
        // Numbers exactly as written: serde_json's default float parsing
        // turns this CL2 constant into ...356.
        assert_eq!(
            sets[2].rules_file_text(),
            "{\n\"e-1\": {\"c\":[{\"numeric\":[\"=\",-122.42916360922355]}]},\n\
             \"e-2\": {\"d\":[\"\\\"\",1e2,true,null]}\n}\n"
        );
        assert!(load_sets(r#"{"A": {"expected": {}}}"#).is_err());
        assert!(load_sets(r#"{"A": {"rules": {}, "expected": {"r": 1.5}}}"#).is_err());
    }

    #[test]
    fn count_output_is_parsed() {
        assert_eq!(
            parse_counts(br#"{"r1":12,"r2":0}"#).unwrap(),
            map(&[("r1", 12), ("r2", 0)])
        );
        assert!(parse_counts(b"[1]").is_err());
        assert!(parse_counts(br#"{"r1":"x"}"#).is_err());
    }

    #[test]
    fn quamina_counts_and_rejections() {
        let dir = std::env::temp_dir().join(format!("evmatch-bench-q-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data = dir.join("e.ndjson");
        std::fs::write(&data, "{\"a\":\"x\"}\n{\"a\":\"y\"}\n\n{\"a\":\"x\"}\n").unwrap();
        let set = RuleSetSpec {
            name: "T".into(),
            rules: vec![
                ("r1".into(), r#"{"a":["x"]}"#.into()),
                ("r2".into(), r#"{"a":[{"prefix":"y"}]}"#.into()),
            ],
            expected: BTreeMap::new(),
        };
        match run_quamina(&set, &data, 1).unwrap() {
            QuaminaOutcome::Ran { counts, .. } => {
                assert_eq!(counts, map(&[("r1", 2), ("r2", 1)]))
            }
            other => panic!("{other:?}"),
        }
        let mut part = set.clone();
        part.rules
            .push(("bad".into(), r#"{"a":"not an array"}"#.into()));
        match run_quamina(&part, &data, 1).unwrap() {
            QuaminaOutcome::Ran {
                counts, rejected, ..
            } => {
                assert_eq!(counts, map(&[("r1", 2), ("r2", 1)]));
                assert_eq!(rejected.len(), 1);
                assert_eq!(rejected[0].0, "bad");
                assert_eq!(part.without(&rejected).rules, set.rules);
            }
            other => panic!("{other:?}"),
        }
        let bad = RuleSetSpec {
            rules: vec![("r".into(), r#"{"a":"not an array"}"#.into())],
            ..set
        };
        assert!(matches!(
            run_quamina(&bad, &data, 1).unwrap(),
            QuaminaOutcome::Rejects { .. }
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
