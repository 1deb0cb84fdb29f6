//! The differential check shared by `tests/differential.rs` and the
//! `differential` fuzz target: the automaton ([`Machine`]) must give every
//! rule the verdict of the reference matcher (`naive::pattern_matches`),
//! on the bytes path and on the flattened path, under every configuration.
//!
//! Returns a description of the first disagreement, or `None`.

#![allow(dead_code)]

use evmatch::parts::automata::naive;
use evmatch::{compile, CompileOptions, Config, Machine, Pattern, RuleId, Scratch};

/// What one check covered, for hit-rate statistics.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outcome {
    /// Patterns that compiled.
    pub rules: usize,
    /// Whether the event was valid.
    pub valid_event: bool,
    /// (rule, config) verdicts that were true.
    pub hits: usize,
}

/// Compares both engines on `patterns` (JSON texts; invalid ones are
/// skipped) and `event` (JSON text). `dup_keys` says whether the event
/// repeats a key somewhere, which early exit may legitimately not see.
pub fn check(patterns: &[String], event: &str, dup_keys: bool) -> Result<Outcome, String> {
    let opts = CompileOptions::default();
    let compiled: Vec<Pattern> = patterns
        .iter()
        .filter_map(|p| compile(p, &opts).ok())
        .collect();
    let mut outcome = Outcome {
        rules: compiled.len(),
        ..Outcome::default()
    };
    if compiled.is_empty() {
        return Ok(outcome);
    }
    let parsed = evmatch::parts::event::parse(event.as_bytes())
        .and_then(|v| evmatch::parts::event::flatten(&v));
    let mut scratch = Scratch::new();
    let mut out: Vec<RuleId> = Vec::new();
    for consistency in [true, false] {
        for force_wild in [false, true] {
            let config = Config {
                array_consistency: consistency,
                early_exit: false,
            };
            let mut m = Machine::new(config);
            // A decoy rule, added first and deleted: deletion must leave
            // no trace. Ids are never reused, so real ids start at 1.
            let decoy = m.add(&compiled[0]);
            let ids = m.add_all(compiled.iter());
            if !m.delete(decoy) {
                return Err("delete of a live rule returned false".into());
            }
            m.force_wildcard_index(force_wild);
            let ctx = |what: &str| {
                format!(
                    "{what} (array_consistency={consistency}, force_wildcard_index={force_wild})\npatterns: {patterns:?}\nevent: {event}"
                )
            };
            out.clear();
            let bytes = m.matches(&mut scratch, event.as_bytes(), &mut out);
            let flat = match (&parsed, bytes) {
                (Ok(flat), Ok(())) => flat,
                (Err(_), Err(_)) => continue,
                (Ok(_), Err(e)) => {
                    return Err(ctx(&format!("automaton rejected a valid event: {e}")))
                }
                (Err(e), Ok(())) => {
                    return Err(ctx(&format!("automaton accepted an invalid event ({e})")))
                }
            };
            outcome.valid_event = true;
            let mut want: Vec<RuleId> = Vec::new();
            for (p, &id) in compiled.iter().zip(&ids) {
                if naive::pattern_matches(p, flat, &config) {
                    want.push(id);
                }
            }
            outcome.hits += want.len();
            if out != want {
                return Err(ctx(&format!(
                    "bytes path: automaton {out:?}, reference {want:?}"
                )));
            }
            out.clear();
            m.matches_flat(&mut scratch, flat, &mut out);
            if out != want {
                return Err(ctx(&format!(
                    "flat path: automaton {out:?}, reference {want:?}"
                )));
            }
            if !dup_keys {
                // Early exit reads less of a valid event but must agree.
                let early = Config {
                    early_exit: true,
                    ..config
                };
                let mut e = Machine::new(early);
                let eids = e.add_all(compiled.iter());
                e.force_wildcard_index(force_wild);
                out.clear();
                if let Err(err) = e.matches(&mut scratch, event.as_bytes(), &mut out) {
                    return Err(ctx(&format!("early exit rejected a valid event: {err}")));
                }
                let ewant: Vec<RuleId> = compiled
                    .iter()
                    .zip(&eids)
                    .filter(|(p, _)| naive::pattern_matches(p, flat, &config))
                    .map(|(_, &id)| id)
                    .collect();
                if out != ewant {
                    return Err(ctx(&format!(
                        "early exit: automaton {out:?}, reference {ewant:?}"
                    )));
                }
            }
        }
    }
    Ok(outcome)
}

/// The validity differential: the automaton rejects an event exactly when
/// the full parser and flattener do, with the same error.
pub fn check_validity(m: &Machine, bytes: &[u8]) -> Result<(), String> {
    let full = evmatch::parts::event::parse(bytes).and_then(|v| evmatch::parts::event::flatten(&v));
    let mut out = Vec::new();
    let fast = m.matches(&mut Scratch::new(), bytes, &mut out);
    match (full, fast) {
        (Ok(flat), Ok(())) => {
            let mut want = Vec::new();
            m.matches_flat(&mut Scratch::new(), &flat, &mut want);
            if out != want {
                return Err(format!(
                    "bytes path {out:?} but flat path {want:?} on {:?}",
                    String::from_utf8_lossy(bytes)
                ));
            }
            Ok(())
        }
        (Err(a), Err(b)) if a == b => Ok(()),
        // A resource limit of the full flattener that the scanner, which
        // keeps only the fields rules read, may stay under.
        (Err(evmatch::EventError::TooLarge { .. }), Ok(())) => Ok(()),
        (a, b) => Err(format!(
            "full parser {:?} but automaton {:?} on {:?}",
            a.map(|_| ()),
            b,
            String::from_utf8_lossy(bytes)
        )),
    }
}

/// A machine with rules over the generator's keys, for the validity check.
pub fn validity_machine(config: Config) -> Machine {
    let mut m = Machine::new(config);
    let opts = CompileOptions::default();
    for p in [
        r#"{"a":["ab"]}"#,
        r#"{"b":{"c":[{"prefix":"a"}]}}"#,
        r#"{"c":[{"numeric":[">",0]}],"a":[{"exists":true}]}"#,
        r#"{"d":{"e":[{"anything-but":"x"}]}}"#,
        r#"{"$or":[{"a":[null]},{"b":[true]}]}"#,
        r#"{"a":{"b":[{"wildcard":"*a*"}]}}"#,
    ] {
        if let Ok(p) = compile(p, &opts) {
            m.add(&p);
        }
    }
    m
}
