//! The last step for a candidate branch whose witnesses sit in arrays, or
//! that has `exists: false` conditions: is there one witness per condition
//! such that all chosen fields agree on the element of every array they
//! share (SPEC.md §2.12), with each absence condition's path holding no
//! field compatible with the choice (SPEC.md §2.8, §7 #11)?
//!
//! Conditions that can share no array cannot constrain each other, so
//! they are searched group by group: unrelated arrays never multiply.
//!
//! Within a group the search must not grow with the product of witness
//! counts (an event can hold thousands of witnesses per condition):
//!
//! - a witness's array chain is cut at the first array no other condition
//!   of the group touches, since such arrays constrain nothing; witnesses
//!   with equal cut chains are one choice;
//! - a choice fixes an element per array, and each condition's choices are
//!   bucketed by their outermost array and element, so the choices still
//!   open are found by lookup, not by trying each;
//! - the condition with the fewest open choices goes next, and a
//!   condition left with none ends that line of search at once;
//! - an absence condition already met by the elements fixed so far stays
//!   met (fixing more only rules out more fields) and is not branched on.

use crate::machine::{Scratch, SearchCond};
use ahash::AHashMap;

type Chain = Vec<(u32, u32)>;

pub(crate) fn consistent(s: &Scratch, conds: &mut [SearchCond]) -> bool {
    // Union-find over conditions linked by an array id.
    let n = conds.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(p: &mut [usize], mut i: usize) -> usize {
        while let Some(&up) = p.get(i) {
            if up == i {
                break;
            }
            let grand = p.get(up).copied().unwrap_or(up);
            if let Some(slot) = p.get_mut(i) {
                *slot = grand;
            }
            i = up;
        }
        i
    }
    let mut owner: AHashMap<u32, usize> = AHashMap::new();
    for (i, c) in conds.iter().enumerate() {
        for &f in fields_of(c) {
            let Some(rec) = s.fields.get(f as usize) else {
                continue;
            };
            for &(array, _) in s.chain(rec) {
                match owner.get(&array) {
                    Some(&j) => {
                        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                        if let Some(slot) = parent.get_mut(a) {
                            *slot = b;
                        }
                    }
                    None => {
                        owner.insert(array, i);
                    }
                }
            }
        }
    }
    let mut groups: AHashMap<usize, Vec<usize>> = AHashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().all(|members| {
        let group: Vec<&SearchCond> = members.iter().filter_map(|&i| conds.get(i)).collect();
        solve(s, &group)
    })
}

/// The fields a condition reads: its witnesses and, for an absence
/// condition, every field at its path.
fn fields_of(c: &SearchCond) -> impl Iterator<Item = &u32> {
    let extra: &[u32] = if c.absence { &c.present } else { &[] };
    c.witnesses.iter().chain(extra.iter())
}

/// A condition prepared for the search.
struct Cond {
    absence: bool,
    /// Distinct cut chains of the witnesses.
    choices: Vec<Chain>,
    /// Choices by outermost (array, element).
    buckets: AHashMap<(u32, u32), Vec<usize>>,
    /// Choices by outermost array.
    by_array: AHashMap<u32, Vec<usize>>,
    /// Whether some witness sits in no shared array (fits any choice).
    free: bool,
    /// Distinct cut chains of every field at the path (absence only).
    present: Vec<Chain>,
}

fn solve(s: &Scratch, group: &[&SearchCond]) -> bool {
    // Arrays touched by at least two conditions of the group.
    let mut touch: AHashMap<u32, (usize, bool)> = AHashMap::new();
    for (i, c) in group.iter().enumerate() {
        for &f in fields_of(c) {
            let Some(rec) = s.fields.get(f as usize) else {
                continue;
            };
            for &(array, _) in s.chain(rec) {
                let e = touch.entry(array).or_insert((i, false));
                if e.0 != i {
                    e.1 = true;
                }
            }
        }
    }
    let cut = |f: u32| -> Chain {
        let Some(rec) = s.fields.get(f as usize) else {
            return Vec::new();
        };
        s.chain(rec)
            .iter()
            .take_while(|(a, _)| touch.get(a).is_some_and(|t| t.1))
            .copied()
            .collect()
    };
    let mut cs: Vec<Cond> = Vec::with_capacity(group.len());
    for c in group {
        let mut choices: Vec<Chain> = c.witnesses.iter().map(|&w| cut(w)).collect();
        choices.sort_unstable();
        choices.dedup();
        let free = choices.first().is_some_and(|ch| ch.is_empty());
        let mut buckets: AHashMap<(u32, u32), Vec<usize>> = AHashMap::new();
        let mut by_array: AHashMap<u32, Vec<usize>> = AHashMap::new();
        for (k, ch) in choices.iter().enumerate() {
            if let Some(&first) = ch.first() {
                buckets.entry(first).or_default().push(k);
                by_array.entry(first.0).or_default().push(k);
            }
        }
        let mut present: Vec<Chain> = if c.absence {
            c.present.iter().map(|&p| cut(p)).collect()
        } else {
            Vec::new()
        };
        present.sort_unstable();
        present.dedup();
        cs.push(Cond {
            absence: c.absence,
            choices,
            buckets,
            by_array,
            free,
            present,
        });
    }
    // A witness in no shared array fixes nothing and fits everything: the
    // condition is met whatever else is chosen.
    let mut required: Vec<usize> = Vec::new();
    let mut absent: Vec<usize> = Vec::new();
    for (i, c) in cs.iter().enumerate() {
        if c.free {
            continue;
        }
        if c.absence {
            absent.push(i);
        } else {
            required.push(i);
        }
    }
    let mut fixed: AHashMap<u32, u32> = AHashMap::new();
    search(&cs, &mut required, &absent, &mut fixed)
}

/// Whether `chain` agrees with every element fixed so far.
fn fits(chain: &[(u32, u32)], fixed: &AHashMap<u32, u32>) -> bool {
    chain
        .iter()
        .all(|(a, e)| !matches!(fixed.get(a), Some(x) if x != e))
}

/// The choices of `c` open under `fixed`; stops after `cap` of them.
fn open(c: &Cond, fixed: &AHashMap<u32, u32>, cap: usize, out: &mut Vec<usize>) {
    out.clear();
    let mut firsts: Vec<u32> = c.by_array.keys().copied().collect();
    firsts.sort_unstable();
    for a in firsts {
        let list = match fixed.get(&a) {
            Some(&e) => c.buckets.get(&(a, e)),
            None => c.by_array.get(&a),
        };
        for &k in list.map_or(&[][..], |v| &v[..]) {
            if c.choices.get(k).is_some_and(|ch| fits(ch, fixed)) {
                out.push(k);
                if out.len() >= cap {
                    return;
                }
            }
        }
    }
}

/// Fixes the elements of `chain`; returns the arrays newly fixed.
fn fix(chain: &[(u32, u32)], fixed: &mut AHashMap<u32, u32>) -> Vec<u32> {
    let mut added = Vec::new();
    for &(a, e) in chain {
        if fixed.insert(a, e).is_none() {
            added.push(a);
        }
    }
    added
}

fn unfix(added: &[u32], fixed: &mut AHashMap<u32, u32>) {
    for a in added {
        fixed.remove(a);
    }
}

fn search(
    cs: &[Cond],
    required: &mut Vec<usize>,
    absent: &[usize],
    fixed: &mut AHashMap<u32, u32>,
) -> bool {
    if required.is_empty() {
        return absences(cs, absent, fixed, &mut Vec::new());
    }
    // The condition with the fewest open choices; none open: dead end.
    let mut best: Option<(usize, Vec<usize>)> = None;
    let mut buf = Vec::new();
    for (k, &c) in required.iter().enumerate() {
        let Some(cond) = cs.get(c) else {
            return false;
        };
        let cap = best.as_ref().map_or(usize::MAX, |(_, b)| b.len());
        open(cond, fixed, cap, &mut buf);
        if buf.is_empty() {
            return false;
        }
        if buf.len() < cap {
            best = Some((k, std::mem::take(&mut buf)));
        }
    }
    let Some((k, choices)) = best else {
        return false;
    };
    let c = required.swap_remove(k);
    let mut ok = false;
    if let Some(cond) = cs.get(c) {
        for i in choices {
            let Some(chain) = cond.choices.get(i) else {
                continue;
            };
            let added = fix(chain, fixed);
            ok = search(cs, required, absent, fixed);
            unfix(&added, fixed);
            if ok {
                break;
            }
        }
    }
    // Restore the order swap_remove changed.
    required.push(c);
    let last = required.len() - 1;
    required.swap(k, last);
    ok
}

/// Absence conditions in turn: met already, or by a witness, or left for
/// the final check.
fn absences(
    cs: &[Cond],
    absent: &[usize],
    fixed: &mut AHashMap<u32, u32>,
    pending: &mut Vec<usize>,
) -> bool {
    let absent_now =
        |c: &Cond, fixed: &AHashMap<u32, u32>| c.present.iter().all(|p| !fits(p, fixed));
    let Some((&c, rest)) = absent.split_first() else {
        // Every deferred absence: no field at its path fits the choice.
        return pending
            .iter()
            .all(|&a| cs.get(a).is_some_and(|c| absent_now(c, fixed)));
    };
    let Some(cond) = cs.get(c) else {
        return false;
    };
    if absent_now(cond, fixed) {
        // Fixing more elements only rules out more fields: met for good.
        return absences(cs, rest, fixed, pending);
    }
    let mut choices = Vec::new();
    open(cond, fixed, usize::MAX, &mut choices);
    for i in choices {
        let Some(chain) = cond.choices.get(i) else {
            continue;
        };
        let added = fix(chain, fixed);
        let ok = absences(cs, rest, fixed, pending);
        unfix(&added, fixed);
        if ok {
            return true;
        }
    }
    pending.push(c);
    let ok = absences(cs, rest, fixed, pending);
    pending.pop();
    ok
}
