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
    if !config.array_consistency {
        // Without consistency every choice is compatible: each condition
        // only needs a witness, or (for absence) no field at all.
        return conds
            .iter()
            .all(|c| !c.witnesses.is_empty() || c.present.is_empty());
    }
    // Conditions that share no array cannot constrain each other: search
    // each group on its own, so unrelated arrays multiply nothing.
    groups(&conds).into_iter().all(|mut group| {
        // Most constrained first.
        group.sort_by_key(|c| (c.absence, c.witnesses.len()));
        let mut chosen: Vec<&Field> = Vec::with_capacity(group.len());
        enumerate(&group, 0, &mut chosen, config, &mut |_| true)
    })
}

/// Splits conditions into groups linked by a shared array id among the
/// fields they may use (witnesses, and present fields of absence options).
fn groups<'c, 'a>(conds: &'c [Cond<'a>]) -> Vec<Vec<&'c Cond<'a>>> {
    let mut parent: Vec<usize> = (0..conds.len()).collect();
    fn find(parent: &mut [usize], mut i: usize) -> usize {
        while let Some(&up) = parent.get(i) {
            if up == i {
                break;
            }
            let grand = parent.get(up).copied().unwrap_or(up);
            if let Some(slot) = parent.get_mut(i) {
                *slot = grand;
            }
            i = up;
        }
        i
    }
    let mut owner: std::collections::HashMap<u32, usize> = std::collections::HashMap::new();
    for (i, c) in conds.iter().enumerate() {
        let absent_fields = if c.absence { &c.present[..] } else { &[][..] };
        for f in c.witnesses.iter().chain(absent_fields.iter()) {
            for (array, _) in &f.arrays {
                match owner.get(array) {
                    Some(&j) => {
                        let (a, b) = (find(&mut parent, i), find(&mut parent, j));
                        if let Some(slot) = parent.get_mut(a) {
                            *slot = b;
                        }
                    }
                    None => {
                        owner.insert(*array, i);
                    }
                }
            }
        }
    }
    let mut by_root: std::collections::BTreeMap<usize, Vec<&'c Cond<'a>>> =
        std::collections::BTreeMap::new();
    for (i, c) in conds.iter().enumerate() {
        let r = find(&mut parent, i);
        by_root.entry(r).or_default().push(c);
    }
    by_root.into_values().collect()
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
    conds: &[&Cond<'a>],
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

#[cfg(test)]
mod tests {
    use super::*;
    use evmatch_pattern::{compile, CompileOptions};

    fn check(p: &str, ev: &str, consistency: bool) -> bool {
        let p = compile(p, &CompileOptions::default()).unwrap();
        let ev = evmatch_event::flatten(&evmatch_event::parse(ev.as_bytes()).unwrap()).unwrap();
        pattern_matches(
            &p,
            &ev,
            &Config {
                array_consistency: consistency,
                ..Config::default()
            },
        )
    }

    #[test]
    fn unrelated_arrays_do_not_multiply() {
        // a and b are independent arrays of 1,000 values; c and d sit in one
        // array of objects but never in the same element, so the branch
        // fails. Searched as one group this is 10^9 steps; split, it is
        // about 10^3.
        let nums: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
        let objs: Vec<String> = (0..1000)
            .map(|i| {
                if i % 2 == 0 {
                    r#"{"c":1}"#.to_string()
                } else {
                    r#"{"d":1}"#.to_string()
                }
            })
            .collect();
        let ev = format!(
            r#"{{"a":[{n}],"b":[{n}],"o":[{o}]}}"#,
            n = nums.join(","),
            o = objs.join(",")
        );
        let p = r#"{"a":[{"exists":true}],"b":[{"exists":true}],"o":{"c":[1],"d":[1]}}"#;
        assert!(!check(p, &ev, true));
        assert!(check(p, &ev, false));
    }

    #[test]
    fn exists_false_is_judged_in_the_same_element() {
        // SPEC.md §2.8 / §7 #11, the element-consistent reading.
        let p = r#"{"e":{"f":["Anna"],"ids":[{"exists":false}]}}"#;
        assert!(check(
            p,
            r#"{"e":[{"f":"John","ids":1},{"f":"Anna"}]}"#,
            true
        ));
        assert!(!check(p, r#"{"e":[{"f":"Anna","ids":1}]}"#, true));
        assert!(!check(
            r#"{"e":{"ids":[{"exists":false}]}}"#,
            r#"{"e":[{"f":"x"},{"ids":1}]}"#,
            true
        ));
        // Without consistency, absence means no value anywhere.
        assert!(!check(
            p,
            r#"{"e":[{"f":"John","ids":1},{"f":"Anna"}]}"#,
            false
        ));
    }
}
