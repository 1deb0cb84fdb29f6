//! Many wildcards on one path, matched without trying each.
//!
//! Each wildcard is filed under its most selective literal piece: the
//! leading literal (looked up among the value's prefixes), the trailing one
//! (among its suffixes) or, for `*lit*` shapes, the longest inner literal
//! (found with one Aho-Corasick pass over the value). Only wildcards whose
//! literal occurs are then confirmed with the full match, so thousands of
//! wildcard rules cost a hash probe per distinct literal length and one
//! linear scan, never a product of states (SPEC.md §2.5, §3.3). A wildcard
//! without any literal (`*`) matches every string.

use crate::values::AtomId;
use ahash::AHashMap;
use aho_corasick::AhoCorasick;
use evmatch_pattern::Wildcard;

/// Up to this many wildcards are simply tried one by one.
const LINEAR: usize = 8;

#[derive(Debug, Default, Clone)]
pub(crate) struct WildIndex {
    items: Vec<(Wildcard, AtomId)>,
    /// Forces the indexed path even for few wildcards (tests).
    pub(crate) force_index: bool,
    indexed: bool,
    always: Vec<usize>,
    prefix_lens: Vec<usize>,
    prefixes: AHashMap<Box<[u8]>, Vec<usize>>,
    suffix_lens: Vec<usize>,
    suffixes: AHashMap<Box<[u8]>, Vec<usize>>,
    inner: Option<AhoCorasick>,
    inner_items: Vec<Vec<usize>>,
}

enum Key<'a> {
    Always,
    Prefix(&'a [u8]),
    Suffix(&'a [u8]),
    Inner(&'a [u8]),
}

fn key(w: &Wildcard) -> Key<'_> {
    let parts: Vec<Option<&[u8]>> = w.parts().collect();
    let lead = parts.first().copied().flatten();
    let trail = if parts.len() > 1 {
        parts.last().copied().flatten()
    } else {
        None
    };
    match (lead, trail) {
        (Some(l), Some(t)) if t.len() > l.len() => Key::Suffix(t),
        (Some(l), _) => Key::Prefix(l),
        (None, Some(t)) => Key::Suffix(t),
        (None, None) => match parts.iter().flatten().max_by_key(|l| l.len()) {
            Some(l) => Key::Inner(l),
            None => Key::Always,
        },
    }
}

impl WildIndex {
    pub(crate) fn insert(&mut self, w: &Wildcard, atom: AtomId) {
        self.items.push((w.clone(), atom));
    }

    pub(crate) fn remove(&mut self, atom: AtomId) {
        self.items.retain(|(_, a)| *a != atom);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Rebuilds the index after changes.
    pub(crate) fn finish(&mut self) {
        self.always.clear();
        self.prefixes.clear();
        self.suffixes.clear();
        self.prefix_lens.clear();
        self.suffix_lens.clear();
        self.inner = None;
        self.inner_items.clear();
        self.indexed = self.force_index || self.items.len() > LINEAR;
        if !self.indexed {
            return;
        }
        let mut inner: AHashMap<&[u8], usize> = AHashMap::new();
        let mut inner_pats: Vec<&[u8]> = Vec::new();
        for (i, (w, _)) in self.items.iter().enumerate() {
            match key(w) {
                Key::Always => self.always.push(i),
                Key::Prefix(l) => {
                    self.prefixes.entry(l.into()).or_default().push(i);
                    if let Err(p) = self.prefix_lens.binary_search(&l.len()) {
                        self.prefix_lens.insert(p, l.len());
                    }
                }
                Key::Suffix(l) => {
                    self.suffixes.entry(l.into()).or_default().push(i);
                    if let Err(p) = self.suffix_lens.binary_search(&l.len()) {
                        self.suffix_lens.insert(p, l.len());
                    }
                }
                Key::Inner(l) => {
                    let id = *inner.entry(l).or_insert_with(|| {
                        inner_pats.push(l);
                        inner_pats.len() - 1
                    });
                    if let Some(v) = self.inner_items.get_mut(id) {
                        v.push(i);
                    } else {
                        self.inner_items.push(vec![i]);
                    }
                }
            }
        }
        if !inner_pats.is_empty() {
            match AhoCorasick::new(&inner_pats) {
                Ok(ac) => self.inner = Some(ac),
                Err(_) => {
                    // Cannot happen for these sizes; stay correct anyway.
                    self.indexed = false;
                }
            }
        }
    }

    /// Appends the atoms of the wildcards that match `s` to `out`; `cand`
    /// is scratch space.
    #[inline]
    pub(crate) fn lookup(&self, s: &str, cand: &mut Vec<AtomId>, out: &mut Vec<AtomId>) {
        if !self.items.is_empty() {
            self.lookup_some(s, cand, out);
        }
    }

    fn lookup_some(&self, s: &str, cand: &mut Vec<AtomId>, out: &mut Vec<AtomId>) {
        if !self.indexed {
            for (w, a) in &self.items {
                if w.matches(s) {
                    out.push(*a);
                }
            }
            return;
        }
        cand.clear();
        let b = s.as_bytes();
        cand.extend(self.always.iter().map(|&i| i as AtomId));
        let mut push = |v: &Vec<usize>| cand.extend(v.iter().map(|&i| i as AtomId));
        for &l in &self.prefix_lens {
            let Some(p) = b.get(..l) else { break };
            if let Some(v) = self.prefixes.get(p) {
                push(v);
            }
        }
        for &l in &self.suffix_lens {
            let Some(start) = b.len().checked_sub(l) else {
                break;
            };
            if let Some(v) = b.get(start..).and_then(|x| self.suffixes.get(x)) {
                push(v);
            }
        }
        if let Some(ac) = &self.inner {
            for m in ac.find_overlapping_iter(b) {
                if let Some(v) = self.inner_items.get(m.pattern().as_usize()) {
                    push(v);
                }
            }
        }
        cand.sort_unstable();
        cand.dedup();
        for &i in cand.iter() {
            if let Some((w, a)) = self.items.get(i as usize) {
                if w.matches(s) {
                    out.push(*a);
                }
            }
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.items
            .iter()
            .map(|(w, _)| 2 * w.as_str().len() + 96)
            .sum::<usize>()
            + self.prefixes.len() * 64
            + self.suffixes.len() * 64
            + self.inner.as_ref().map_or(0, |ac| ac.memory_usage())
    }
}
