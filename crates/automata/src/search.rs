//! The last step for a candidate branch whose witnesses sit in arrays, or
//! that has `exists: false` conditions: is there one witness per condition
//! such that all chosen fields agree on the element of every array they
//! share (SPEC.md §2.12), with each absence condition's path holding no
//! field compatible with the choice (SPEC.md §2.8, §7 #11)?
//!
//! Conditions that can share no array cannot constrain each other, so
//! they are searched group by group: unrelated arrays never multiply.

use crate::machine::{Scratch, SearchCond};

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
    let mut owner: ahash::AHashMap<u32, usize> = ahash::AHashMap::new();
    for (i, c) in conds.iter().enumerate() {
        let extra: &[u32] = if c.absence { &c.present } else { &[] };
        for &f in c.witnesses.iter().chain(extra.iter()) {
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
    let mut groups: ahash::AHashMap<usize, Vec<usize>> = ahash::AHashMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().all(|mut members| {
        // Required conditions first, fewest witnesses first.
        members.sort_by_key(|&i| {
            conds
                .get(i)
                .map_or((true, 0), |c| (c.absence, c.witnesses.len()))
        });
        let group: Vec<&SearchCond> = members.iter().filter_map(|&i| conds.get(i)).collect();
        let mut chosen = Vec::with_capacity(group.len());
        choose(s, &group, &mut chosen, &mut Vec::new())
    })
}

/// Picks a witness (or absence) for each condition in turn. `pending`
/// holds the absence conditions taken so far, checked once the choice is
/// complete.
fn choose<'c>(
    s: &Scratch,
    group: &[&'c SearchCond],
    chosen: &mut Vec<u32>,
    pending: &mut Vec<&'c SearchCond>,
) -> bool {
    let Some((c, rest)) = group.split_first() else {
        // Every absence condition: no present field fits the choice.
        return pending.iter().all(|a| {
            a.present
                .iter()
                .all(|&p| !chosen.iter().all(|&x| s.compatible_fields(x, p)))
        });
    };
    for &w in &c.witnesses {
        if chosen.iter().all(|&x| s.compatible_fields(x, w)) {
            chosen.push(w);
            let ok = choose(s, rest, chosen, pending);
            chosen.pop();
            if ok {
                return true;
            }
        }
    }
    if c.absence {
        pending.push(c);
        let ok = choose(s, rest, chosen, pending);
        pending.pop();
        return ok;
    }
    false
}
