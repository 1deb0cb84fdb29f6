//! The reference matcher: slow and obviously correct.
//!
//! For each rule, each branch, it looks for an assignment of one event
//! field per condition such that every chosen value satisfies its value
//! list and, with array consistency on, all chosen fields agree on the
//! element of every array they share (SPEC.md §2.12). `exists: false` is
//! satisfied when no field at its path is compatible with the chosen
//! fields (absent "in the same element", SPEC.md §2.8 and §7 #11).

use crate::leaf::leaf_matches;
use crate::Config;
use evmatch_event::{compatible, Field, FlatEvent};
use evmatch_pattern::{Branch, Pattern};

/// Whether `pattern` matches the flattened `event`.
pub fn pattern_matches(pattern: &Pattern, event: &FlatEvent, config: &Config) -> bool {
    pattern
        .branches()
        .iter()
        .any(|b| branch_matches(b, event, config))
}

/// Whether one branch matches.
pub fn branch_matches(branch: &Branch, event: &FlatEvent, config: &Config) -> bool {
    // Per condition: the fields whose value satisfies it, and whether it
    // may instead be satisfied by absence.
    let mut conds: Vec<Cond<'_>> = Vec::with_capacity(branch.fields().len());
    for fc in branch.fields() {
        let at: Vec<&Field> = event.at(&fc.path).collect();
        let witnesses: Vec<&Field> = at
            .iter()
            .copied()
            .filter(|f| fc.matchers.iter().any(|m| leaf_matches(m, &f.leaf)))
            .collect();
        let absence = fc.accepts_absence();
        if witnesses.is_empty() && !absence {
            return false;
        }
        conds.push(Cond {
            present: at,
            witnesses,
            absence,
        });
    }
    // Most constrained first.
    conds.sort_by_key(|c| (c.absence, c.witnesses.len()));
    let mut chosen: Vec<&Field> = Vec::with_capacity(conds.len());
    enumerate(&conds, 0, &mut chosen, config, &mut |_| true)
}

struct Cond<'a> {
    present: Vec<&'a Field>,
    witnesses: Vec<&'a Field>,
    absence: bool,
}

fn ok_with(f: &Field, chosen: &[&Field], config: &Config) -> bool {
    !config.array_consistency || chosen.iter().all(|c| compatible(&c.arrays, &f.arrays))
}

/// Enumerates complete choices for `conds`, calling `check` on each; true
/// as soon as one passes.
fn enumerate<'a>(
    conds: &[Cond<'a>],
    i: usize,
    chosen: &mut Vec<&'a Field>,
    config: &Config,
    check: &mut dyn FnMut(&[&'a Field]) -> bool,
) -> bool {
    let Some(c) = conds.get(i) else {
        return check(chosen);
    };
    for w in &c.witnesses {
        if ok_with(w, chosen, config) {
            chosen.push(w);
            let found = enumerate(conds, i + 1, chosen, config, check);
            chosen.pop();
            if found {
                return true;
            }
        }
    }
    if c.absence {
        let present = &c.present;
        let mut both = |ch: &[&'a Field]| {
            let me_absent = present.iter().all(|p| {
                config.array_consistency && !ch.iter().all(|x| compatible(&x.arrays, &p.arrays))
            });
            me_absent && check(ch)
        };
        return enumerate(conds, i + 1, chosen, config, &mut both);
    }
    false
}
