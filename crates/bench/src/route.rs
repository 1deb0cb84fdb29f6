//! The routing-cost run: for each rule set, the same rules once matched
//! only (`evmatch --match-only --count`: no output per event) and once with
//! every rule given its own `file://` target (the router delivering each
//! matched (event, rule) pair as a line), timed in interleaved pairs on
//! the same data. The issue-5 goal is routed throughput at least half the
//! match-only throughput: `ratio = match-only time / routed time >= 0.5`.
//!
//! Each pair is followed by a third, in-process run: a plain sequential
//! write of as many bytes as the routed run wrote, to a fresh file in the
//! same directory (the "write bound": what the bytes alone cost here, page
//! cache included, measured under the same conditions as the routed run).

use crate::measure::{self, median};
use crate::run::{data_file, load_sets, parse_counts, RuleSetSpec};
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The issue-5 goal for routed / match-only throughput.
pub const TARGET_RATIO: f64 = 0.5;

/// The CL2 sets measured when none are named.
pub const DEFAULT_SETS: [&str; 4] = ["EXACT", "NUMERIC", "ANYTHING_BUT", "COMBO"];

/// Name of the built-in one-rule set that matches every CityLots2 event.
pub const EVERY_EVENT: &str = "EVERY_EVENT";

/// Options of `evmatch-bench route`: those of `run` (quamina is not run).
pub type RouteOptions = crate::run::RunOptions;

/// The one-rule set matching every CityLots2 event (its `type`).
pub fn every_event_set() -> RuleSetSpec {
    RuleSetSpec {
        name: EVERY_EVENT.to_string(),
        rules: vec![("every".to_string(), r#"{"type":["Feature"]}"#.to_string())],
        expected: Default::default(),
    }
}

/// `set` as an EventBridge rules array, each rule with one `file://`
/// target writing to `out_dir/RULE-INDEX.ndjson`.
pub fn routed_rules_text(set: &RuleSetSpec, out_dir: &Path) -> String {
    let mut s = String::from("[\n");
    for (i, (name, pattern)) in set.rules.iter().enumerate() {
        if i > 0 {
            s.push_str(",\n");
        }
        let url = format!("file://{}", out_dir.join(format!("{i}.ndjson")).display());
        s.push_str(&format!(
            "{{\"Name\":{},\"EventPattern\":{pattern},\"Targets\":[{{\"Id\":\"file\",\"Arn\":{}}}]}}",
            serde_json::Value::String(name.clone()),
            serde_json::Value::String(url)
        ));
    }
    s.push_str("\n]\n");
    s
}

/// (match-only time, routed time) of one set, the number of (event,
/// rule) pairs delivered, the bytes the routed run wrote and the time a
/// plain write of that many bytes took.
#[derive(Debug, Clone, Copy)]
pub struct SetResult {
    pub match_only: Duration,
    pub routed: Duration,
    pub pairs: u64,
    /// Bytes of the files the routed run wrote.
    pub bytes: u64,
    /// [`write_bound`] of `bytes` (median).
    pub write: Duration,
}

impl SetResult {
    /// Routed throughput over match-only throughput.
    pub fn ratio(&self) -> f64 {
        self.match_only.as_secs_f64() / self.routed.as_secs_f64().max(1e-9)
    }

    /// The routing time beyond the bytes' own cost, per delivery, in
    /// nanoseconds: `(routed - match-only - write) / pairs` (can be
    /// negative when matching, delivering and writing overlap).
    pub fn overhead_ns_per_pair(&self) -> f64 {
        let extra =
            self.routed.as_secs_f64() - self.match_only.as_secs_f64() - self.write.as_secs_f64();
        extra * 1e9 / (self.pairs.max(1) as f64)
    }
}

/// The time to write `bytes` bytes to a new file `path` in 64 KiB
/// `write` calls (as `dd bs=64K` would), from creating it to closing it;
/// the file is removed afterwards.
pub fn write_bound(path: &Path, bytes: u64) -> Result<Duration> {
    let took = write_plain(path, bytes)?;
    std::fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
    Ok(took)
}

/// [`write_bound`] without the removal.
fn write_plain(path: &Path, bytes: u64) -> Result<Duration> {
    const CHUNK: usize = 64 * 1024;
    // Not zeros: a line of JSON-ish text, like the records.
    let chunk: Vec<u8> = b"{\"idempotency_key\":\"h64-0123456789abcdef/r/file\",\"body\":{}}\n"
        .iter()
        .copied()
        .cycle()
        .take(CHUNK)
        .collect();
    let _ = std::fs::remove_file(path);
    let start = Instant::now();
    let mut f =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        f.write_all(chunk.get(..n).unwrap_or(&chunk))
            .with_context(|| format!("cannot write {}", path.display()))?;
        left -= n as u64;
    }
    drop(f);
    Ok(start.elapsed())
}

/// (event, rule) pairs in `--count` output: the sum of the counts.
pub fn count_pairs(stdout: &[u8]) -> Result<u64> {
    Ok(parse_counts(stdout)?.values().sum())
}

/// `delivered N` from the router's summary line on stderr.
pub fn delivered_in_summary(stderr: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().find(|l| l.contains("summary: matched"))?;
    let rest = line.split("delivered ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// (lines, bytes) of the files in `dir`.
fn lines_in_dir(dir: &Path) -> Result<(u64, u64)> {
    let (mut n, mut size) = (0u64, 0u64);
    for e in std::fs::read_dir(dir)? {
        let bytes = std::fs::read(e?.path())?;
        n += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        size += bytes.len() as u64;
    }
    Ok((n, size))
}

fn clear_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(())
}

/// Measures one set: `runs` interleaved (match-only, routed) pairs.
pub fn measure_set(
    opts: &RouteOptions,
    set: &RuleSetSpec,
    data: &Path,
    work: &Path,
) -> Result<SetResult> {
    let out_dir = work.join(format!("out-{}", set.name));
    clear_dir(&out_dir)?;
    let rules = work.join(format!("{}.routed.json", set.name));
    std::fs::write(&rules, routed_rules_text(set, &out_dir))?;
    let dlq = work.join("dead-letter.ndjson");
    let mut m_times = Vec::new();
    let mut r_times = Vec::new();
    let mut w_times = Vec::new();
    let mut pairs = None;
    let mut bytes = 0u64;
    for _ in 0..opts.runs.max(1) {
        let m = measure::run(
            Command::new(&opts.evmatch)
                .arg("--match-only")
                .arg("--count")
                .args(&opts.evmatch_args)
                .arg(&rules)
                .arg(data),
        )?;
        m.ensure_success("evmatch --match-only --count")?;
        let p = count_pairs(&m.stdout)?;
        m_times.push(m.wall);

        clear_dir(&out_dir)?;
        let r = measure::run(
            Command::new(&opts.evmatch)
                .args(&opts.evmatch_args)
                .arg("--dead-letter")
                .arg(&dlq)
                .arg(&rules)
                .arg(data),
        )?;
        r.ensure_success("evmatch (routed)")?;
        r_times.push(r.wall);
        let delivered = delivered_in_summary(&r.stderr);
        let (written, size) = lines_in_dir(&out_dir)?;
        if delivered != Some(p) || written != p {
            bail!(
                "set {}: {p} matched pairs, but the router reported {delivered:?} delivered \
                 and wrote {written} lines",
                set.name
            );
        }
        pairs = Some(p);
        bytes = size;
        // The same bytes, written plainly, where the routed run wrote
        // them (its files removed first, as before each routed run).
        clear_dir(&out_dir)?;
        w_times.push(write_bound(&out_dir.join("write-bound.tmp"), size)?);
    }
    clear_dir(&out_dir)?;
    Ok(SetResult {
        match_only: median(m_times),
        routed: median(r_times),
        pairs: pairs.unwrap_or(0),
        bytes,
        write: median(w_times),
    })
}

/// The whole run: prints one row per set; returns whether every set met
/// the goal.
pub fn run(opts: &RouteOptions) -> Result<bool> {
    if !opts.evmatch.is_file() {
        bail!(
            "no evmatch binary at {} (build it: cargo build --release -p evmatch-cli)",
            opts.evmatch.display()
        );
    }
    let mut sets = Vec::new();
    match std::fs::read_to_string(&opts.rules) {
        Ok(text) => {
            let all = load_sets(&text)?;
            let want: Vec<String> = match &opts.sets {
                Some(w) => w.clone(),
                None => DEFAULT_SETS.iter().map(|s| s.to_string()).collect(),
            };
            for w in &want {
                if w.eq_ignore_ascii_case(EVERY_EVENT) {
                    continue;
                }
                match all.iter().find(|s| s.name.eq_ignore_ascii_case(w)) {
                    Some(s) => sets.push(s.clone()),
                    None => bail!("no set {w} in {}", opts.rules.display()),
                }
            }
        }
        Err(e) => println!(
            "CL2 sets skipped: cannot read {} ({e}); measuring {EVERY_EVENT} only",
            opts.rules.display()
        ),
    }
    let every = opts
        .sets
        .as_ref()
        .is_none_or(|w| w.iter().any(|s| s.eq_ignore_ascii_case(EVERY_EVENT)));
    if every {
        sets.push(every_event_set());
    }
    let data = data_file(&opts.data_dir, opts.events, opts.seed)?;
    let work = opts.data_dir.join("route");
    std::fs::create_dir_all(&work)?;
    println!(
        "data: {} ({} events); evmatch {}; median of {} interleaved run pair(s), wall time",
        data.display(),
        opts.events,
        opts.evmatch_args.join(" "),
        opts.runs.max(1)
    );
    println!(
        "{:<14} {:>5} {:>9} {:>11} {:>10} {:>6} {:>6} {:>8} {:>9} {:>8}",
        "set", "rules", "pairs", "match-only", "routed", "ratio", "goal", "MB", "write", "ns/pair"
    );
    let mut all_ok = true;
    for set in &sets {
        let r =
            measure_set(opts, set, &data, &work).with_context(|| format!("set {}", set.name))?;
        let ok = r.ratio() >= TARGET_RATIO;
        all_ok &= ok;
        println!(
            "{:<14} {:>5} {:>9} {:>9.3} s {:>8.3} s {:>6.2} {:>6} {:>8.1} {:>7.3} s {:>8.0}",
            set.name,
            set.rules.len(),
            r.pairs,
            r.match_only.as_secs_f64(),
            r.routed.as_secs_f64(),
            r.ratio(),
            if ok { "ok" } else { "BELOW" },
            r.bytes as f64 / 1e6,
            r.write.as_secs_f64(),
            r.overhead_ns_per_pair()
        );
    }
    println!();
    println!("match-only: evmatch --match-only --count; routed: every rule with its own file://");
    println!("target. ratio: match-only time over routed time (routed throughput as a share of");
    println!(
        "match-only); goal: at least {TARGET_RATIO}. pairs: (event, rule) deliveries, checked"
    );
    println!("against the counts, the router's summary and the lines written. MB: what the");
    println!("routed run wrote; write: a plain sequential write of as many bytes (64 KiB writes)");
    println!("to a fresh file in the same directory, after each routed run (the bytes' own cost);");
    println!("ns/pair: (routed - match-only - write) per pair, the routing cost beyond matching");
    println!("and the bytes (negative when they overlap on several cores).");
    Ok(all_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routed_rules_file_is_valid_with_one_file_target_per_rule() {
        let set = RuleSetSpec {
            name: "S".into(),
            rules: vec![
                ("a\"1".into(), r#"{"x":["1"]}"#.into()),
                ("b".into(), r#"{"y":[{"numeric":[">",1]}]}"#.into()),
            ],
            expected: Default::default(),
        };
        let text = routed_rules_text(&set, Path::new("/tmp/o"));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let a = v.as_array().unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[0]["Name"], "a\"1");
        assert_eq!(a[1]["Targets"][0]["Arn"], "file:///tmp/o/1.ndjson");
        assert_eq!(a[1]["EventPattern"]["y"][0]["numeric"][1], 1);
    }

    #[test]
    fn pairs_and_summary_are_read() {
        assert_eq!(count_pairs(b"{\"a\":2,\"b\":1}\n").unwrap(), 3);
        assert!(count_pairs(b"[1]").is_err());
        let err = b"evmatch: summary: matched 3, delivered 2, retried 0, dead-lettered 1\n";
        assert_eq!(delivered_in_summary(err), Some(2));
        assert_eq!(delivered_in_summary(b"nothing"), None);
        let r = SetResult {
            match_only: Duration::from_millis(100),
            routed: Duration::from_millis(400),
            pairs: 1000,
            bytes: 1,
            write: Duration::from_millis(100),
        };
        assert!((r.ratio() - 0.25).abs() < 1e-9);
        // 200 ms beyond matching and writing, over 1,000 pairs.
        assert!((r.overhead_ns_per_pair() - 200_000.0).abs() < 1e-3);
    }

    #[test]
    fn write_bound_writes_the_bytes_then_removes_the_file() {
        let dir = std::env::temp_dir().join(format!("evmatch-wb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.tmp");
        // Mid-chunk sizes too: the last write is a partial chunk.
        for size in [0u64, 1, 65_536, 200_000] {
            write_plain(&path, size).unwrap();
            assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
            assert!(write_bound(&path, size).unwrap() > Duration::ZERO);
            assert!(!path.exists());
        }
        // A directory in the way: an error, not a time.
        std::fs::create_dir_all(dir.join("d.tmp")).unwrap();
        assert!(write_bound(&dir.join("d.tmp"), 10).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
