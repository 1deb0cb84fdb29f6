//! The automaton: every rule in one machine.
//!
//! Three levels, each shared by all rules:
//!
//! 1. A trie of key segments over the field paths rules name. The scanner
//!    walks it while reading the event and skips, unread, every value no
//!    rule can reach.
//! 2. Per path one [`ValueIndex`]: a value is looked up once and yields the
//!    distinct matchers ("atoms") it satisfies.
//! 3. Atoms post to the conditions (one field of one `$or` branch of one
//!    rule) that list them. A branch whose every required condition got a
//!    witness is a candidate; a candidate is confirmed at once unless array
//!    consistency (SPEC.md §2.12) or `exists: false` (SPEC.md §2.8, §7 #11)
//!    needs the positions of its witnesses, and then a small search over
//!    just those witnesses decides.
//!
//! Work per event grows with the fields that rules name and the atoms the
//! event hits, not with the number of rules.

use crate::values::{AtomId, LeafRef, ValueIndex};
use crate::Config;
use ahash::AHashMap;
use evmatch_event::FlatEvent;
use evmatch_pattern::{Matcher, Pattern};

pub(crate) type PathId = u32;
type CondId = u32;
type BranchId = u32;
/// A rule's id in a [`Machine`].
pub type RuleId = u32;

const NONE: u32 = u32::MAX;

/// A node of the key-segment trie.
#[derive(Debug, Default, Clone)]
pub(crate) struct Node {
    small: Vec<(Box<[u8]>, u32)>,
    big: Option<BigChildren>,
    /// The path ending here, if a rule names it.
    pub(crate) path: Option<PathId>,
}

/// Eight bytes of `b` from `at`, little-endian (`0` past the end).
#[inline(always)]
fn word_at(b: &[u8], at: usize) -> u64 {
    b.get(at..)
        .and_then(|t| t.first_chunk::<8>())
        .map_or(0, |c| u64::from_le_bytes(*c))
}

/// Four bytes of `b` from `at`, little-endian (`0` past the end).
#[inline(always)]
fn half_at(b: &[u8], at: usize) -> u64 {
    b.get(at..)
        .and_then(|t| t.first_chunk::<4>())
        .map_or(0, |c| u64::from(u32::from_le_bytes(*c)))
}

/// A key as two words that, with its length, identify a key of up to 16
/// bytes exactly: overlapping words from both ends, overlapping halves
/// for 4 to 7 bytes, the bytes themselves below that. Longer keys share
/// their words with others of the same ends.
#[inline(always)]
fn key_words(key: &[u8]) -> [u64; 2] {
    let n = key.len();
    if n >= 8 {
        [word_at(key, 0), word_at(key, n - 8)]
    } else if n >= 4 {
        [half_at(key, 0), half_at(key, n - 4)]
    } else {
        let mut w = 0u64;
        for (i, &b) in key.iter().enumerate() {
            w |= u64::from(b) << (8 * i);
        }
        [w, 0]
    }
}

/// Longest key a [`BigSlot`]'s words hold exactly.
const WORD_KEY_MAX: usize = 16;

/// A slot of [`BigChildren`]: the key's words and length in place, so a
/// probe compares two words without reading the key elsewhere.
#[derive(Debug, Clone, Copy)]
struct BigSlot {
    words: [u64; 2],
    /// The key's length; `EMPTY_SLOT` for an empty slot.
    len: u32,
    child: u32,
    /// For a key longer than `WORD_KEY_MAX`: its index in `long`.
    long: u32,
}

const EMPTY_SLOT: u32 = u32::MAX;

/// The children of a node with many (a thousand `OWNER_N` keys): an
/// open-addressing table over a hash of the key's [`key_words`], each
/// slot holding those words, so a probe of a key of up to 16 bytes reads
/// nothing but the slot. Kept at most half full.
#[derive(Debug, Clone)]
struct BigChildren {
    slots: Vec<BigSlot>,
    /// Keys longer than `WORD_KEY_MAX`, compared in full.
    long: Vec<Box<[u8]>>,
    count: usize,
    /// `64 - log2(slots.len())`.
    shift: u32,
    /// Per table: mixed into every hash, so no fixed set of keys collides
    /// everywhere.
    seed: u64,
}

impl BigChildren {
    fn new(children: Vec<(Box<[u8]>, u32)>) -> BigChildren {
        let seed = ahash::RandomState::new().hash_one(children.len()) | 1;
        let mut t = BigChildren {
            slots: Vec::new(),
            long: Vec::new(),
            count: 0,
            shift: 64,
            seed,
        };
        for (k, c) in children {
            t.insert(&k, c);
        }
        t
    }

    /// A hash of a key's words and length.
    #[inline(always)]
    fn hash(&self, w: [u64; 2], n: usize) -> u64 {
        const K: u64 = 0x9e37_79b9_7f4a_7c15;
        let [a, b] = w;
        let h = (a ^ self.seed).wrapping_mul(K).rotate_left(29) ^ b ^ (n as u64);
        h.wrapping_mul(K)
    }

    fn len(&self) -> usize {
        self.count
    }

    #[inline]
    fn get(&self, key: &[u8]) -> Option<u32> {
        let n = key.len();
        let w = key_words(key);
        let h = self.hash(w, n);
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = (h >> self.shift) as usize;
        loop {
            let s = self.slots.get(i)?;
            if s.len == EMPTY_SLOT {
                return None;
            }
            if s.words == w
                && s.len as usize == n
                && (n <= WORD_KEY_MAX
                    || self.long.get(s.long as usize).is_some_and(|k| **k == *key))
            {
                return Some(s.child);
            }
            i = (i + 1) & mask;
        }
    }

    fn insert(&mut self, key: &[u8], child: u32) {
        if (self.count + 1) * 2 > self.slots.len() {
            let n = ((self.count + 1) * 4).next_power_of_two().max(16);
            let old = std::mem::replace(
                &mut self.slots,
                vec![
                    BigSlot {
                        words: [0, 0],
                        len: EMPTY_SLOT,
                        child: 0,
                        long: 0,
                    };
                    n
                ],
            );
            self.shift = 64 - n.trailing_zeros();
            for s in old {
                if s.len != EMPTY_SLOT {
                    self.place(s);
                }
            }
        }
        let long = if key.len() > WORD_KEY_MAX {
            self.long.push(key.into());
            (self.long.len() - 1) as u32
        } else {
            0
        };
        self.place(BigSlot {
            words: key_words(key),
            len: key.len() as u32,
            child,
            long,
        });
        self.count += 1;
    }

    /// Adds a slot to a table with room for it.
    fn place(&mut self, slot: BigSlot) {
        let h = self.hash(slot.words, slot.len as usize);
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = (h >> self.shift) as usize;
        while let Some(s) = self.slots.get_mut(i) {
            if s.len == EMPTY_SLOT {
                *s = slot;
                return;
            }
            i = (i + 1) & mask;
        }
    }

    fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<BigSlot>()
            + self.long.iter().map(|k| k.len() + 16).sum::<usize>()
    }
}

impl Node {
    #[inline]
    pub(crate) fn child(&self, seg: &[u8]) -> Option<u32> {
        if let Some(m) = &self.big {
            return Self::big_child(m, seg);
        }
        // Keys are short: compare lengths and bytes inline rather than
        // calling memcmp for each candidate.
        self.small
            .iter()
            .find(|(k, _)| k.len() == seg.len() && k.iter().zip(seg).all(|(a, b)| a == b))
            .map(|&(_, c)| c)
    }

    /// The hashed lookup of a node with many children, out of line: the
    /// common small case then needs no saved registers.
    #[inline(never)]
    fn big_child(m: &BigChildren, seg: &[u8]) -> Option<u32> {
        m.get(seg)
    }

    pub(crate) fn has_children(&self) -> bool {
        !self.small.is_empty() || self.big.as_ref().is_some_and(|m| m.len() > 0)
    }

    pub(crate) fn child_count(&self) -> usize {
        self.big.as_ref().map_or(self.small.len(), |m| m.len())
    }

    fn add_child(&mut self, seg: &[u8], id: u32) {
        if let Some(m) = &mut self.big {
            m.insert(seg, id);
            return;
        }
        self.small.push((seg.into(), id));
        if self.small.len() > 8 {
            self.big = Some(BigChildren::new(std::mem::take(&mut self.small)));
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct PathInfo {
    pub(crate) index: ValueIndex,
    /// Atom per matcher key, so equal matchers on one path are one atom.
    atom_of: AHashMap<String, AtomId>,
    /// Conditions on this path that may be met by absence.
    absence_conds: u32,
    /// Conditions on this path, all kinds.
    conds: u32,
    /// Kept conditions on this path (unselective, non-trigger): they are
    /// judged on the path's leaves when their branch is a candidate, so
    /// the leaves are kept for the event.
    nontrigger: u32,
    /// Whether leaves here need their comparable number.
    pub(crate) wants_numbers: bool,
}

#[derive(Debug, Clone)]
struct AtomInfo {
    path: PathId,
    matcher: Matcher,
    key: String,
    /// The trigger conditions listing this atom: a hit makes their
    /// branches candidates.
    postings: Vec<CondId>,
    /// Conditions listing this atom, triggers or not.
    uses: u32,
    /// Non-trigger conditions listing it that are judged through the
    /// index (not on kept leaves). The atom is indexed while this or
    /// `postings` is non-zero.
    non_trigger: u32,
}

#[derive(Debug, Clone)]
struct CondInfo {
    branch: BranchId,
    path: PathId,
    absence: bool,
    /// The only condition of its branch, and not one absence can meet:
    /// once it has a witness, more witnesses change nothing.
    solo: bool,
    /// The branch's trigger: the condition whose hits make the branch a
    /// candidate (its most selective required one).
    trigger: bool,
    /// A non-trigger condition that most values meet (anything-but,
    /// exists, a numeric range): judged on the path's kept leaves when its
    /// branch is a candidate, instead of through the value index.
    kept: bool,
    atoms: Vec<AtomId>,
}

#[derive(Debug, Clone)]
struct BranchInfo {
    rule: RuleId,
    conds: Vec<CondId>,
    required: u32,
    has_absence: bool,
}

/// `Machine::atom_gate` values that are not branches.
const GATE_ALWAYS: u32 = u32::MAX;
const GATE_NEVER: u32 = u32::MAX - 1;
const GATE_SLOW: u32 = u32::MAX - 2;

fn set_gate(gates: &mut Vec<u32>, a: AtomId, gate: u32) {
    let i = a as usize;
    if gates.len() <= i {
        gates.resize(i + 1, GATE_SLOW);
    }
    if let Some(g) = gates.get_mut(i) {
        *g = gate;
    }
}

/// All rules compiled into one matcher. Immutable while matching and
/// `Send + Sync`: share it across threads, each with its own [`Scratch`].
/// Rules can be added and deleted in place; only the paths they touch are
/// re-indexed.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    config: Config,
    pub(crate) nodes: Vec<Node>,
    pub(crate) paths: Vec<PathInfo>,
    path_ids: AHashMap<String, PathId>,
    atoms: Vec<Option<AtomInfo>>,
    /// Per atom, what decides whether another witness could change an
    /// answer (see `refresh_gate`).
    atom_gate: Vec<u32>,
    free_atoms: Vec<AtomId>,
    conds: Vec<Option<CondInfo>>,
    free_conds: Vec<CondId>,
    branches: Vec<Option<BranchInfo>>,
    free_branches: Vec<BranchId>,
    rules: Vec<Option<Vec<BranchId>>>,
    /// Branches with no required condition (only `exists: false` ones):
    /// candidates for every event.
    absence_only: Vec<BranchId>,
    live_rules: usize,
    /// Paths with at least one condition.
    live_paths: usize,
    force_wild_index: bool,
    /// Event nesting limit; `None`: `evmatch_event::DEFAULT_MAX_DEPTH`.
    pub(crate) depth_limit: Option<usize>,
    /// Changes with every change of the machine, and differs between
    /// machines (one counter for the process): what a [`Scratch`]
    /// remembers of string lookups is only reused for the same one.
    generation: u64,
}

/// The source of [`Machine::generation`]s.
static GENERATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_generation() -> u64 {
    GENERATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The longest string value whose lookup a [`Scratch`] remembers.
const MEMO_MAX_LEN: usize = 64;

/// Per-thread scratch space for matching; reuse it across events.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    pub(crate) fields: Vec<FieldRec>,
    pub(crate) chains: Vec<(u32, u32)>,
    /// Array positions of every leaf read this event, recorded or not:
    /// the flattening budget counts them all, as the full parser does.
    chain_total: usize,
    /// Per atom: head of its list of hit fields in `wit` this event.
    atom_head: Vec<u32>,
    /// Per atom: whether a field outside every array hit it.
    atom_free: Vec<bool>,
    atom_touched: Vec<AtomId>,
    wit: Vec<(u32, u32)>,
    /// Per branch: the event (epoch) it became a candidate in.
    branch_epoch: Vec<u32>,
    candidates: Vec<BranchId>,
    /// Rules matched outright this event: a branch whose only condition
    /// got its first hit (their `rule_hit` is set).
    direct: Vec<RuleId>,
    path_head: Vec<u32>,
    path_touched: Vec<PathId>,
    path_next: Vec<u32>,
    rule_hit: Vec<bool>,
    hits: Vec<AtomId>,
    tmp: Vec<AtomId>,
    vals: Vec<AtomId>,
    excl: Vec<AtomId>,
    pub(crate) fold_buf: String,
    /// Leaves kept for non-trigger conditions, per path a list.
    leaves: Vec<Stored>,
    leaf_text: String,
    leaf_head: Vec<u32>,
    leaf_touched: Vec<PathId>,
    /// Per path: the event (epoch) it last had a value in.
    path_epoch: Vec<u32>,
    epoch: u32,
    paths_seen: usize,
    pub(crate) scan: crate::scan::ScanState,
    /// The last literal whose comparability took the full check, and the
    /// answer: events repeat numbers (a polygon's first and last point).
    last_checked: ([u8; 32], usize, bool),
    /// Per path: the event (epoch) in which a plain literal was found in
    /// a gap between two bounds whose atoms were all settled, and that
    /// gap as exclusive [`order_words`](crate::scan::order_words) ends.
    /// Settled stays settled for the event, so a later literal strictly
    /// inside the gap (a polygon's next point) needs nothing more.
    settled_gap: Vec<(u32, u128, u128)>,
    /// The machine generation `str_memo` belongs to.
    memo_generation: u64,
    /// Per path: the last string value looked up there (on paths where a
    /// lookup is costly: ignore-case, wildcard, anything-but, CIDR) and
    /// the atoms it met, kept across events. Events repeat values
    /// (`"type": "Polygon"`, a street over many lots).
    str_memo: Vec<StrMemo>,
    /// Set when the event's array positions passed
    /// `evmatch_event::MAX_FLAT_BYTES`: the scan's result is not used.
    pub(crate) too_large: bool,
}

/// A remembered string lookup (see `Scratch::str_memo`).
#[derive(Debug, Default, Clone)]
struct StrMemo {
    valid: bool,
    value: String,
    atoms: Vec<AtomId>,
}

/// What kind of leaf a kept leaf is.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kind {
    Str,
    Num,
    RawNum,
    True,
    False,
    Null,
}

/// A leaf kept for non-trigger conditions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored {
    field: u32,
    kind: Kind,
    start: u32,
    len: u32,
    value: Option<f64>,
    next: u32,
}

/// A field of the event at a path some rule names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldRec {
    pub(crate) chain_start: u32,
    pub(crate) chain_len: u32,
}

impl Scratch {
    /// `scan::comparable(text).is_some()`, remembering the last literal.
    #[inline]
    fn comparable_cached(&mut self, text: &str) -> bool {
        let b = text.as_bytes();
        let (buf, len, answer) = &mut self.last_checked;
        if *len == b.len() && buf.get(..b.len()) == Some(b) {
            return *answer;
        }
        let ok = crate::scan::comparable(text).is_some();
        if let Some(dst) = buf.get_mut(..b.len()) {
            dst.copy_from_slice(b);
            *len = b.len();
            *answer = ok;
        }
        ok
    }

    /// Empty scratch space; it grows to fit the machine it is used with.
    pub fn new() -> Self {
        Self::default()
    }

    fn fit(&mut self, m: &Machine) {
        if self.atom_head.len() < m.atoms.len() {
            self.atom_head.resize(m.atoms.len(), NONE);
            self.atom_free.resize(m.atoms.len(), false);
        }
        if self.branch_epoch.len() < m.branches.len() {
            self.branch_epoch.resize(m.branches.len(), 0);
        }
        if self.path_head.len() < m.paths.len() {
            self.path_head.resize(m.paths.len(), NONE);
        }
        if self.rule_hit.len() < m.rules.len() {
            self.rule_hit.resize(m.rules.len(), false);
        }
        if self.path_epoch.len() < m.paths.len() {
            self.path_epoch.resize(m.paths.len(), 0);
        }
        if self.leaf_head.len() < m.paths.len() {
            self.leaf_head.resize(m.paths.len(), NONE);
        }
        if self.memo_generation != m.generation {
            self.memo_generation = m.generation;
            self.str_memo.iter_mut().for_each(|e| e.valid = false);
        }
        if self.str_memo.len() < m.paths.len() {
            self.str_memo.resize(m.paths.len(), StrMemo::default());
        }
        if self.settled_gap.len() < m.paths.len() {
            self.settled_gap.resize(m.paths.len(), (0, 0, 0));
        }
    }

    pub(crate) fn chain(&self, f: &FieldRec) -> &[(u32, u32)] {
        let s = f.chain_start as usize;
        self.chains.get(s..s + f.chain_len as usize).unwrap_or(&[])
    }
}

/// A canonical text for a matcher, so equal matchers share one atom.
fn matcher_key(m: &Matcher) -> String {
    format!("{m:?}")
}

impl Machine {
    /// An empty machine.
    pub fn new(config: Config) -> Self {
        Machine {
            config,
            nodes: vec![Node::default()],
            generation: next_generation(),
            ..Default::default()
        }
    }

    /// The matching options.
    pub fn config(&self) -> Config {
        self.config
    }

    /// Index every wildcard set, however small (to test that path).
    #[doc(hidden)]
    pub fn force_wildcard_index(&mut self, on: bool) {
        self.force_wild_index = on;
        let paths: Vec<PathId> = (0..self.paths.len() as u32).collect();
        self.finish(&paths);
    }

    /// Number of live rules.
    pub fn len(&self) -> usize {
        self.live_rules
    }

    /// Whether the machine has no rules.
    pub fn is_empty(&self) -> bool {
        self.live_rules == 0
    }

    /// Adds a rule and returns its id (ids are dense and never reused).
    pub fn add(&mut self, pattern: &Pattern) -> RuleId {
        let mut touched = Vec::new();
        let id = self.add_unfinished(pattern, &mut touched);
        self.finish(&touched);
        id
    }

    /// Adds many rules at once, re-indexing each touched path only once.
    pub fn add_all<'p>(&mut self, patterns: impl IntoIterator<Item = &'p Pattern>) -> Vec<RuleId> {
        let mut touched = Vec::new();
        let ids = patterns
            .into_iter()
            .map(|p| self.add_unfinished(p, &mut touched))
            .collect();
        self.finish(&touched);
        ids
    }

    /// Deletes a rule; false when there is no such live rule.
    pub fn delete(&mut self, rule: RuleId) -> bool {
        let Some(slot) = self.rules.get_mut(rule as usize) else {
            return false;
        };
        let Some(branches) = slot.take() else {
            return false;
        };
        self.live_rules -= 1;
        let mut touched = Vec::new();
        for b in branches {
            let Some(info) = self.branches.get_mut(b as usize).and_then(Option::take) else {
                continue;
            };
            self.free_branches.push(b);
            if info.required == 0 {
                self.absence_only.retain(|&x| x != b);
            }
            for c in info.conds {
                let Some(ci) = self.conds.get_mut(c as usize).and_then(Option::take) else {
                    continue;
                };
                self.free_conds.push(c);
                if let Some(p) = self.paths.get_mut(ci.path as usize) {
                    p.conds -= 1;
                    if ci.absence {
                        p.absence_conds -= 1;
                    }
                    if ci.kept {
                        p.nontrigger = p.nontrigger.saturating_sub(1);
                        touched.push(ci.path);
                    }
                }
                for a in ci.atoms {
                    self.release_atom(a, c, (ci.trigger, ci.kept), &mut touched);
                }
            }
        }
        self.finish(&touched);
        true
    }

    /// Picks the branch's trigger (the required condition whose matchers
    /// are most selective) and posts it to its atoms; the other conditions
    /// are only checked for candidates.
    fn post(
        &mut self,
        conds: &[CondId],
        fields: &[evmatch_pattern::FieldCondition],
        touched: &mut Vec<PathId>,
    ) {
        // Score: the least selective matcher kind of the condition, then
        // how many conditions already share its atoms (a value many rules
        // list, such as `"type": ["Polygon"]`, makes a poor trigger).
        let mut best: Option<((u8, u32), CondId)> = None;
        for (&c, fc) in conds.iter().zip(fields) {
            if fc.accepts_absence() {
                continue;
            }
            let kind = fc.matchers.iter().map(selectivity).max().unwrap_or(u8::MAX);
            let shared = match self.conds.get(c as usize) {
                Some(Some(ci)) => ci
                    .atoms
                    .iter()
                    .filter_map(|&a| self.atoms.get(a as usize).and_then(Option::as_ref))
                    .map(|ai| ai.uses)
                    .max()
                    .unwrap_or(0),
                _ => 0,
            };
            let score = (kind, shared);
            let better = match best {
                None => true,
                Some((b, _)) => score < b,
            };
            if better {
                best = Some((score, c));
            }
        }
        for (&c, fc) in conds.iter().zip(fields) {
            let trigger = best.is_some_and(|(_, t)| t == c);
            let Some(Some(ci)) = self.conds.get_mut(c as usize) else {
                continue;
            };
            ci.trigger = trigger;
            let kept = !trigger && unselective(fc);
            ci.kept = kept;
            let path = ci.path;
            let atoms = ci.atoms.clone();
            if kept {
                if let Some(p) = self.paths.get_mut(path as usize) {
                    p.nontrigger += 1;
                    touched.push(path);
                }
                continue;
            }
            for a in atoms {
                let Some(Some(ai)) = self.atoms.get_mut(a as usize) else {
                    continue;
                };
                if trigger {
                    ai.postings.push(c);
                } else {
                    ai.non_trigger += 1;
                }
                let gate = self.gate_of(a);
                set_gate(&mut self.atom_gate, a, gate);
                let Some(Some(ai)) = self.atoms.get_mut(a as usize) else {
                    continue;
                };
                // Indexed while a trigger or an indexed condition uses it.
                if ai.postings.len() + ai.non_trigger as usize == 1 {
                    let m = ai.matcher.clone();
                    if let Some(p) = self.paths.get_mut(path as usize) {
                        p.index.insert(&m, a);
                        touched.push(path);
                    }
                }
            }
        }
    }

    fn release_atom(
        &mut self,
        a: AtomId,
        cond: CondId,
        (trigger, kept): (bool, bool),
        touched: &mut Vec<PathId>,
    ) {
        let Some(Some(info)) = self.atoms.get_mut(a as usize) else {
            return;
        };
        if !kept {
            if trigger {
                info.postings.retain(|&c| c != cond);
            } else {
                info.non_trigger = info.non_trigger.saturating_sub(1);
            }
            let gate = self.gate_of(a);
            set_gate(&mut self.atom_gate, a, gate);
            let Some(Some(info)) = self.atoms.get_mut(a as usize) else {
                return;
            };
            if info.postings.is_empty() && info.non_trigger == 0 {
                let (m, path) = (info.matcher.clone(), info.path);
                if let Some(p) = self.paths.get_mut(path as usize) {
                    p.index.remove(&m, a);
                    touched.push(path);
                }
            }
        }
        let Some(Some(info)) = self.atoms.get_mut(a as usize) else {
            return;
        };
        info.uses = info.uses.saturating_sub(1);
        if info.uses > 0 {
            return;
        }
        let Some(info) = self.atoms.get_mut(a as usize).and_then(Option::take) else {
            return;
        };
        self.free_atoms.push(a);
        if let Some(p) = self.paths.get_mut(info.path as usize) {
            p.atom_of.remove(&info.key);
        }
    }

    fn path_id(&mut self, path: &str) -> PathId {
        if let Some(&p) = self.path_ids.get(path) {
            return p;
        }
        let mut node = 0u32;
        for seg in path.split('.') {
            let next = self
                .nodes
                .get(node as usize)
                .and_then(|n| n.child(seg.as_bytes()));
            node = match next {
                Some(c) => c,
                None => {
                    let id = self.nodes.len() as u32;
                    self.nodes.push(Node::default());
                    if let Some(n) = self.nodes.get_mut(node as usize) {
                        n.add_child(seg.as_bytes(), id);
                    }
                    id
                }
            };
        }
        let id = self.paths.len() as PathId;
        let mut index = ValueIndex::default();
        index.set_force_wild_index(self.force_wild_index);
        self.paths.push(PathInfo {
            index,
            atom_of: AHashMap::new(),
            absence_conds: 0,
            conds: 0,
            nontrigger: 0,
            wants_numbers: false,
        });
        if let Some(n) = self.nodes.get_mut(node as usize) {
            n.path = Some(id);
        }
        self.path_ids.insert(path.to_string(), id);
        id
    }

    fn alloc<T>(v: &mut Vec<Option<T>>, free: &mut Vec<u32>, item: T) -> u32 {
        if let Some(i) = free.pop() {
            if let Some(slot) = v.get_mut(i as usize) {
                *slot = Some(item);
                return i;
            }
        }
        v.push(Some(item));
        (v.len() - 1) as u32
    }

    fn add_unfinished(&mut self, pattern: &Pattern, touched: &mut Vec<PathId>) -> RuleId {
        let rule = self.rules.len() as RuleId;
        let mut branch_ids = Vec::with_capacity(pattern.branches().len());
        for br in pattern.branches() {
            let b = Self::alloc(
                &mut self.branches,
                &mut self.free_branches,
                BranchInfo {
                    rule,
                    conds: Vec::new(),
                    required: 0,
                    has_absence: false,
                },
            );
            let mut conds = Vec::with_capacity(br.fields().len());
            let mut required = 0;
            let mut has_absence = false;
            for fc in br.fields() {
                let path = self.path_id(&fc.path);
                let absence = fc.accepts_absence();
                let c = Self::alloc(
                    &mut self.conds,
                    &mut self.free_conds,
                    CondInfo {
                        branch: b,
                        path,
                        absence,
                        solo: false,
                        trigger: false,
                        kept: false,
                        atoms: Vec::new(),
                    },
                );
                let mut atoms = Vec::with_capacity(fc.matchers.len());
                for m in &fc.matchers {
                    if matches!(m, Matcher::Exists(false)) {
                        continue;
                    }
                    let a = self.atom(path, m);
                    if !atoms.contains(&a) {
                        atoms.push(a);
                        if let Some(Some(ai)) = self.atoms.get_mut(a as usize) {
                            ai.uses += 1;
                        }
                    }
                }
                if let Some(Some(ci)) = self.conds.get_mut(c as usize) {
                    ci.atoms = atoms;
                }
                if let Some(p) = self.paths.get_mut(path as usize) {
                    p.conds += 1;
                    if absence {
                        p.absence_conds += 1;
                    }
                }
                if absence {
                    has_absence = true;
                } else {
                    required += 1;
                }
                conds.push(c);
            }
            if let [only] = conds[..] {
                if !has_absence {
                    if let Some(Some(ci)) = self.conds.get_mut(only as usize) {
                        ci.solo = true;
                    }
                }
            }
            self.post(&conds, br.fields(), touched);
            if let Some(Some(bi)) = self.branches.get_mut(b as usize) {
                bi.conds = conds;
                bi.required = required;
                bi.has_absence = has_absence;
            }
            if required == 0 {
                self.absence_only.push(b);
            }
            branch_ids.push(b);
        }
        self.rules.push(Some(branch_ids));
        self.live_rules += 1;
        rule
    }

    fn atom(&mut self, path: PathId, m: &Matcher) -> AtomId {
        let key = matcher_key(m);
        if let Some(&a) = self
            .paths
            .get(path as usize)
            .and_then(|p| p.atom_of.get(&key))
        {
            return a;
        }
        let a = Self::alloc(
            &mut self.atoms,
            &mut self.free_atoms,
            AtomInfo {
                path,
                matcher: m.clone(),
                key: key.clone(),
                postings: Vec::new(),
                uses: 0,
                non_trigger: 0,
            },
        );
        if let Some(p) = self.paths.get_mut(path as usize) {
            // Indexed only while some branch uses it as its trigger.
            p.atom_of.insert(key, a);
        }
        a
    }

    fn finish(&mut self, touched: &[PathId]) {
        let mut t = touched.to_vec();
        t.sort_unstable();
        t.dedup();
        for p in t {
            if let Some(info) = self.paths.get_mut(p as usize) {
                info.index.set_force_wild_index(self.force_wild_index);
                info.index.finish();
                info.wants_numbers = info.index.wants_numbers() || info.nontrigger > 0;
            }
        }
        self.live_paths = self.paths.iter().filter(|p| p.conds > 0).count();
        self.generation = next_generation();
    }

    /// Whether a leaf at `path` can change any answer (it has atoms, or
    /// some condition there may be met by absence).
    #[inline]
    pub(crate) fn path_live(&self, path: PathId) -> bool {
        self.paths.get(path as usize).is_some_and(|p| p.conds > 0)
    }

    /// An estimate of the heap bytes the machine holds.
    pub fn memory_usage(&self) -> usize {
        let nodes: usize = self
            .nodes
            .iter()
            .map(|n| {
                64 + n.small.iter().map(|(k, _)| k.len() + 24).sum::<usize>()
                    + n.big.as_ref().map_or(0, BigChildren::heap_bytes)
            })
            .sum();
        let paths: usize = self
            .paths
            .iter()
            .map(|p| {
                160 + p.index.heap_bytes() + p.atom_of.keys().map(|k| k.len() + 48).sum::<usize>()
            })
            .sum::<usize>()
            + self.path_ids.keys().map(|k| k.len() + 48).sum::<usize>();
        let atoms: usize = self
            .atoms
            .iter()
            .flatten()
            .map(|a| 120 + a.key.len() + a.postings.capacity() * 4 + matcher_heap(&a.matcher))
            .sum();
        let conds: usize = self
            .conds
            .iter()
            .flatten()
            .map(|c| 48 + c.atoms.capacity() * 4)
            .sum();
        let branches: usize = self
            .branches
            .iter()
            .flatten()
            .map(|b| 56 + b.conds.capacity() * 4)
            .sum();
        let rules: usize = self
            .rules
            .iter()
            .map(|r| 24 + r.as_ref().map_or(0, |v| v.capacity() * 4))
            .sum();
        nodes + paths + atoms + conds + branches + rules
    }

    // ----- matching -----

    /// Starts an event: clears the scratch from the previous one.
    pub(crate) fn begin(&self, s: &mut Scratch) {
        s.fit(self);
        s.too_large = false;
        for &a in &s.atom_touched {
            if let Some(h) = s.atom_head.get_mut(a as usize) {
                *h = NONE;
            }
        }
        s.atom_touched.clear();
        s.candidates.clear();
        // A scan that stopped half-way (the full parser takes over) leaves
        // its direct matches marked.
        for &r in &s.direct {
            if let Some(h) = s.rule_hit.get_mut(r as usize) {
                *h = false;
            }
        }
        s.direct.clear();
        for &p in &s.path_touched {
            if let Some(h) = s.path_head.get_mut(p as usize) {
                *h = NONE;
            }
        }
        s.path_touched.clear();
        s.path_next.clear();
        for &p in &s.leaf_touched {
            if let Some(h) = s.leaf_head.get_mut(p as usize) {
                *h = NONE;
            }
        }
        s.leaf_touched.clear();
        s.leaves.clear();
        s.leaf_text.clear();
        s.wit.clear();
        s.fields.clear();
        s.chains.clear();
        s.chain_total = 0;
        s.paths_seen = 0;
        s.epoch = s.epoch.wrapping_add(1);
        if s.epoch == 0 {
            s.path_epoch.iter_mut().for_each(|e| *e = 0);
            s.branch_epoch.iter_mut().for_each(|e| *e = 0);
            s.settled_gap.iter_mut().for_each(|e| e.0 = 0);
            s.epoch = 1;
        }
    }

    /// Whether every live path has had a value in this event.
    #[inline]
    pub(crate) fn all_paths_seen(&self, s: &Scratch) -> bool {
        s.paths_seen >= self.live_paths
    }

    /// Records a leaf at `path` sitting in the array positions `chain`.
    /// The bookkeeping every leaf needs and the plain numbers that settle
    /// nothing are inlined into the scanner in optimised builds (not in
    /// debug ones, whose frames would grow the scanner's recursion); the
    /// rest is `leaf_record`.
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn leaf(
        &self,
        s: &mut Scratch,
        path: PathId,
        leaf: LeafRef<'_>,
        chain: &[(u32, u32)],
    ) {
        let Some(info) = self.paths.get(path as usize) else {
            return;
        };
        if info.conds == 0 {
            return;
        }
        // Each leaf keeps its whole chain: deep arrays of many leaves would
        // cost depth x leaves. Past the budget, the full parser decides.
        s.chain_total += chain.len();
        if s.chain_total.saturating_mul(8) > evmatch_event::MAX_FLAT_BYTES {
            s.too_large = true;
            return;
        }
        if let Some(e) = s.path_epoch.get_mut(path as usize) {
            if *e != s.epoch {
                *e = s.epoch;
                s.paths_seen += 1;
            }
        }
        // A string that meets no atom, on a path without absence or kept
        // conditions, leaves no record: ruled out here by the index's
        // filters, without the lookup's call.
        if let LeafRef::Str(v) = leaf {
            if info.absence_conds == 0
                && info.nontrigger == 0
                && !info.index.string_may_hit(v.as_bytes())
            {
                return;
            }
        }
        if let LeafRef::RawNum(text, shape) = leaf {
            if info.absence_conds == 0
                && info.nontrigger == 0
                && self.plain_number(s, path, &info.index, text, shape)
            {
                return;
            }
        }
        self.leaf_record(s, path, info, leaf, chain);
    }

    /// `leaf` past its bookkeeping: the leaf's atoms, and its record.
    #[inline(never)]
    fn leaf_record(
        &self,
        s: &mut Scratch,
        path: PathId,
        info: &PathInfo,
        leaf: LeafRef<'_>,
        chain: &[(u32, u32)],
    ) {
        // The atoms first: a leaf that meets none, on a path without
        // absence or kept conditions, leaves no record at all.
        let mut hits = std::mem::take(&mut s.hits);
        hits.clear();
        if !info.index.is_empty() {
            if let LeafRef::RawNum(text, _) = leaf {
                self.number_hits(s, &info.index, text, &mut hits);
            } else if let (LeafRef::Str(v), true) = (leaf, info.index.memo_strings()) {
                self.str_hits(s, path, &info.index, v, &mut hits);
            } else {
                info.index
                    .lookup(leaf, &mut s.fold_buf, &mut s.tmp, &mut hits);
            }
        }
        // An atom whose one use is the sole condition of its branch
        // matches the rule outright; its witnesses are never read.
        if !hits.is_empty() {
            let mut kept = 0;
            for k in 0..hits.len() {
                let Some(&a) = hits.get(k) else { break };
                match self.atom_gate.get(a as usize).copied() {
                    Some(b) if b < GATE_SLOW => self.solo_hit(s, b),
                    _ => {
                        if let Some(slot) = hits.get_mut(kept) {
                            *slot = a;
                        }
                        kept += 1;
                    }
                }
            }
            hits.truncate(kept);
        }
        if hits.is_empty() && info.absence_conds == 0 && info.nontrigger == 0 {
            s.hits = hits;
            return;
        }
        let fi = s.fields.len() as u32;
        s.fields.push(FieldRec {
            chain_start: s.chains.len() as u32,
            chain_len: chain.len() as u32,
        });
        s.chains.extend_from_slice(chain);
        let unarrayed = chain.is_empty();
        if info.absence_conds > 0 {
            if let Some(h) = s.path_head.get_mut(path as usize) {
                if *h == NONE {
                    s.path_touched.push(path);
                }
                s.path_next.push(*h);
                *h = fi;
            }
        } else {
            s.path_next.push(NONE);
        }
        if info.nontrigger > 0 {
            let (kind, text, value) = match leaf {
                LeafRef::Str(t) => (Kind::Str, t, None),
                LeafRef::Num(t, v) => (Kind::Num, t, v),
                LeafRef::RawNum(t, _) => (Kind::RawNum, t, None),
                LeafRef::Bool(true) => (Kind::True, "", None),
                LeafRef::Bool(false) => (Kind::False, "", None),
                LeafRef::Null => (Kind::Null, "", None),
            };
            let start = s.leaf_text.len() as u32;
            s.leaf_text.push_str(text);
            if let Some(h) = s.leaf_head.get_mut(path as usize) {
                if *h == NONE {
                    s.leaf_touched.push(path);
                }
                s.leaves.push(Stored {
                    field: fi,
                    kind,
                    start,
                    len: text.len() as u32,
                    value,
                    next: *h,
                });
                *h = (s.leaves.len() - 1) as u32;
            }
        }
        for &a in &hits {
            let Some(head) = s.atom_head.get_mut(a as usize) else {
                continue;
            };
            if *head == NONE {
                s.atom_touched.push(a);
                if let Some(f) = s.atom_free.get_mut(a as usize) {
                    *f = unarrayed;
                }
                // First hit of the atom this event: its triggers' branches
                // become candidates.
                if let Some(Some(ai)) = self.atoms.get(a as usize) {
                    for &c in &ai.postings {
                        let Some(Some(ci)) = self.conds.get(c as usize) else {
                            continue;
                        };
                        if let Some(e) = s.branch_epoch.get_mut(ci.branch as usize) {
                            if *e != s.epoch {
                                *e = s.epoch;
                                if ci.solo {
                                    // The branch's only condition holds:
                                    // nothing left to confirm.
                                    let rule = match self.branches.get(ci.branch as usize) {
                                        Some(Some(bi)) => bi.rule,
                                        _ => continue,
                                    };
                                    if let Some(h) = s.rule_hit.get_mut(rule as usize) {
                                        if !*h {
                                            *h = true;
                                            s.direct.push(rule);
                                        }
                                    }
                                } else {
                                    s.candidates.push(ci.branch);
                                }
                            }
                        }
                    }
                }
            } else if s.wit.get(*head as usize).is_some_and(|w| w.0 == fi) {
                continue;
            } else if unarrayed {
                if let Some(f) = s.atom_free.get_mut(a as usize) {
                    *f = true;
                }
            }
            let w = s.wit.len() as u32;
            s.wit.push((fi, *head));
            *head = w;
        }
        s.hits = hits;
    }

    /// The atoms string `v` meets at `path`, remembered per path: a value
    /// equal to the last costly one looked up there needs no lookup.
    #[inline]
    fn str_hits(
        &self,
        s: &mut Scratch,
        path: PathId,
        index: &ValueIndex,
        v: &str,
        hits: &mut Vec<AtomId>,
    ) {
        let Some(memo) = s.str_memo.get_mut(path as usize) else {
            index.lookup_string(v, &mut s.fold_buf, &mut s.tmp, hits);
            return;
        };
        if memo.valid && memo.value == v {
            hits.extend_from_slice(&memo.atoms);
            return;
        }
        // Only a lookup that took real work is remembered: the last one
        // may then be older than the last value, which changes nothing.
        let costly = index.lookup_string(v, &mut s.fold_buf, &mut s.tmp, hits);
        if !costly {
        } else if v.len() <= MEMO_MAX_LEN {
            memo.value.clear();
            memo.value.push_str(v);
            memo.atoms.clear();
            memo.atoms.extend_from_slice(hits);
            memo.valid = true;
        } else {
            memo.valid = false;
        }
    }

    /// Branch `b`, whose only condition has just been met: its rule
    /// matches (once per event).
    #[inline]
    fn solo_hit(&self, s: &mut Scratch, b: BranchId) {
        let Some(e) = s.branch_epoch.get_mut(b as usize) else {
            return;
        };
        if *e == s.epoch {
            return;
        }
        *e = s.epoch;
        if let Some(Some(bi)) = self.branches.get(b as usize) {
            if let Some(h) = s.rule_hit.get_mut(bi.rule as usize) {
                if !*h {
                    *h = true;
                    s.direct.push(bi.rule);
                }
            }
        }
    }

    /// The whole of a plain number's leaf when that is simple: on a path
    /// whose number hits all come from the slot table, a literal whose
    /// slot holds only atoms that are unused or the sole condition of a
    /// branch. Those branches match outright (if the literal is
    /// comparable, SPEC.md §3.2) and nothing is recorded. `false`: not
    /// handled, nothing done (`leaf` goes the general way).
    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn plain_number(
        &self,
        s: &mut Scratch,
        path: PathId,
        index: &ValueIndex,
        text: &str,
        shape: crate::scan::NumShape,
    ) -> bool {
        if !index.slot_only_numbers() {
            return false;
        }
        let Some(lit) = crate::scan::plain_literal_shaped(text, shape) else {
            return false;
        };
        let order = u128::from(lit.order.0) << 64 | u128::from(lit.order.1);
        if let Some(&(epoch, lo, hi)) = s.settled_gap.get(path as usize) {
            if epoch == s.epoch && lo < order && order < hi {
                return true;
            }
        }
        self.plain_number_slot(s, path, index, text, &lit)
    }

    /// `plain_number` for a literal not known to be in a settled gap.
    #[inline(never)]
    fn plain_number_slot(
        &self,
        s: &mut Scratch,
        path: PathId,
        index: &ValueIndex,
        text: &str,
        lit: &crate::scan::PlainLit,
    ) -> bool {
        let Some((slot, exact)) = index.text_slot(text, lit) else {
            return false;
        };
        let (vals, _) = index.slot_atoms(slot);
        let mut open = false;
        for &a in vals {
            match self.atom_gate.get(a as usize).copied() {
                Some(GATE_NEVER) => {}
                Some(b) if b < GATE_SLOW => {
                    open |= s.branch_epoch.get(b as usize) != Some(&s.epoch);
                }
                _ => return false,
            }
        }
        if open {
            let comparable = exact
                || match lit.sig {
                    0..=15 => true,
                    16 | 17 => s.comparable_cached(text),
                    _ => false,
                };
            if !comparable {
                return true;
            }
            for &a in vals {
                if let Some(b) = self.atom_gate.get(a as usize).copied() {
                    if b < GATE_SLOW {
                        self.solo_hit(s, b);
                    }
                }
            }
        }
        // Every atom of the slot is now unused or settled.
        if !exact {
            if let (Some((lo, hi)), Some(memo)) = (
                index.gap_orders(slot / 2),
                s.settled_gap.get_mut(path as usize),
            ) {
                *memo = (s.epoch, lo, hi);
            }
        }
        true
    }

    /// The atoms a number meets, deciding whether its literal is
    /// comparable (SPEC.md §3.2) only when a value-dependent hit could
    /// still change an answer: a hit whose every condition is the sole,
    /// already witnessed condition of its branch changes nothing, so the
    /// exact check (a shortest-spelling comparison) is skipped.
    fn number_hits(&self, s: &mut Scratch, index: &ValueIndex, text: &str, hits: &mut Vec<AtomId>) {
        // The exact double only when some bound of the path lies within
        // the literal's cheap bracket; otherwise any value in the bracket
        // finds the same atoms, and the bracket's slot has them ready.
        if let Some(lit) = crate::scan::plain_literal(text) {
            if let Some((slot, exact)) = index.text_slot(text, &lit) {
                index.num_fixed(text, hits);
                let (vals, excl) = index.slot_atoms(slot);
                // A plain literal is a normal double: of at most 15
                // significant digits it is comparable, of more than 17 it
                // is not (SPEC.md §3.2).
                let comparable = self.any_needed(s, vals, excl)
                    && (exact
                        || match lit.sig {
                            0..=15 => true,
                            16 | 17 => crate::scan::comparable(text).is_some(),
                            _ => false,
                        });
                Self::slot_hits(index, comparable, vals, excl, hits);
                return;
            }
        }
        let bracket = crate::scan::bracket(text);
        if let Some((lo, hi)) = bracket {
            if let Some(slot) = index.num_slot(lo, hi) {
                index.num_fixed(text, hits);
                let (vals, excl) = index.slot_atoms(slot);
                let comparable = self.any_needed(s, vals, excl)
                    && crate::scan::quick_comparable(text, Some(lo))
                        .unwrap_or_else(|| crate::scan::comparable(text).is_some());
                Self::slot_hits(index, comparable, vals, excl, hits);
                return;
            }
        }
        let mut vals = std::mem::take(&mut s.vals);
        let mut excl = std::mem::take(&mut s.excl);
        vals.clear();
        excl.clear();
        let d = match bracket {
            Some((lo, hi)) if lo == hi || !index.bound_within(lo, hi) => Some(lo),
            _ => text.parse::<f64>().ok().filter(|d| d.is_finite()),
        };
        index.lookup_num_split(text, d, hits, &mut vals, &mut excl);
        // Unneeded hits may be dropped: treating the literal as not
        // comparable then only withholds witnesses from conditions that
        // are already settled.
        let comparable = self.any_needed(s, &vals, &excl)
            && crate::scan::quick_comparable(text, d)
                .unwrap_or_else(|| crate::scan::comparable(text).is_some());
        if comparable {
            hits.extend_from_slice(&vals);
        } else {
            excl.clear();
        }
        crate::values::subtract(index.anything_but(), &mut excl, hits);
        s.vals = vals;
        s.excl = excl;
    }

    /// The hits of a number in a slot with atoms `vals` and exclusions
    /// `excl`: those, if the literal is comparable, and the anything-but
    /// atoms it is not excluded from.
    #[inline]
    fn slot_hits(
        index: &ValueIndex,
        comparable: bool,
        vals: &[AtomId],
        excl: &[AtomId],
        hits: &mut Vec<AtomId>,
    ) {
        let ab = index.anything_but();
        if !comparable {
            hits.extend_from_slice(ab);
            return;
        }
        hits.extend_from_slice(vals);
        if excl.is_empty() {
            hits.extend_from_slice(ab);
        } else {
            hits.extend(ab.iter().filter(|a| !excl.contains(a)));
        }
    }

    /// Whether any of these atoms could still change the event's answer.
    #[inline]
    fn any_needed(&self, s: &Scratch, vals: &[AtomId], excl: &[AtomId]) -> bool {
        vals.iter().any(|&a| self.atom_needed(s, a)) || excl.iter().any(|&a| self.atom_needed(s, a))
    }

    /// Whether another witness for atom `a` could change this event's
    /// answer.
    #[inline]
    fn atom_needed(&self, s: &Scratch, a: AtomId) -> bool {
        match self.atom_gate.get(a as usize).copied() {
            Some(GATE_ALWAYS) => true,
            Some(GATE_NEVER) => false,
            Some(b) if b < GATE_SLOW => s.branch_epoch.get(b as usize) != Some(&s.epoch),
            _ => self.atom_needed_slow(s, a),
        }
    }

    /// What `atom_needed` checks for atom `a`: `GATE_NEVER` when nothing
    /// uses it, `GATE_ALWAYS` when a non-solo or non-trigger condition
    /// does, the branch when its one use is the sole condition of a
    /// branch, `GATE_SLOW` otherwise (several solo uses).
    fn gate_of(&self, a: AtomId) -> u32 {
        let Some(Some(ai)) = self.atoms.get(a as usize) else {
            return GATE_SLOW;
        };
        if ai.non_trigger > 0 {
            return GATE_ALWAYS;
        }
        let mut solo_branch = None;
        for &c in &ai.postings {
            match self.conds.get(c as usize) {
                Some(Some(ci)) if ci.solo => solo_branch = Some(ci.branch),
                Some(Some(_)) => return GATE_ALWAYS,
                _ => {}
            }
        }
        match (ai.postings.len(), solo_branch) {
            (0, _) => GATE_NEVER,
            (1, Some(b)) if b < GATE_SLOW => b,
            _ => GATE_SLOW,
        }
    }

    /// `atom_needed` the long way.
    fn atom_needed_slow(&self, s: &Scratch, a: AtomId) -> bool {
        let Some(Some(ai)) = self.atoms.get(a as usize) else {
            return false;
        };
        if ai.non_trigger > 0 {
            return true;
        }
        ai.postings
            .iter()
            .any(|&c| match self.conds.get(c as usize) {
                Some(Some(ci)) => {
                    let settled =
                        ci.solo && s.branch_epoch.get(ci.branch as usize) == Some(&s.epoch);
                    !settled
                }
                _ => false,
            })
    }

    /// Ends an event: appends the ids of the matching rules, ascending.
    pub(crate) fn end(&self, s: &mut Scratch, out: &mut Vec<RuleId>) {
        let start = out.len();
        out.extend_from_slice(&s.direct);
        s.direct.clear();
        let candidates = std::mem::take(&mut s.candidates);
        for &b in candidates.iter().chain(self.absence_only.iter()) {
            let Some(Some(bi)) = self.branches.get(b as usize) else {
                continue;
            };
            if s.rule_hit.get(bi.rule as usize).copied().unwrap_or(true) {
                continue;
            }
            if self.confirm(s, bi) {
                if let Some(h) = s.rule_hit.get_mut(bi.rule as usize) {
                    *h = true;
                }
                out.push(bi.rule);
            }
        }
        s.candidates = candidates;
        let n = out.len().saturating_sub(start);
        if n > 2 && n * 16 >= s.rule_hit.len() {
            // Many rules matched for the rule count: reading the flags in
            // order is cheaper than sorting (each set flag is one of the
            // ids just pushed, each pushed once).
            out.truncate(start);
            for (r, h) in s.rule_hit.iter_mut().enumerate() {
                if *h {
                    *h = false;
                    out.push(r as RuleId);
                }
            }
            return;
        }
        for &r in out.get(start..).unwrap_or(&[]) {
            if let Some(h) = s.rule_hit.get_mut(r as usize) {
                *h = false;
            }
        }
        if let Some(tail) = out.get_mut(start..) {
            tail.sort_unstable();
        }
    }

    /// Whether a branch whose required conditions all have witnesses
    /// really matches.
    fn confirm(&self, s: &Scratch, bi: &BranchInfo) -> bool {
        let consistency = self.config.array_consistency;
        // Every required condition needs a witness; count those whose
        // witnesses all sit inside arrays.
        let mut arrayed = 0usize;
        for &c in &bi.conds {
            let Some(Some(ci)) = self.conds.get(c as usize) else {
                return false;
            };
            let (hit, free) = if ci.kept {
                self.kept_hits(s, ci, None)
            } else {
                self.trigger_hits(s, ci)
            };
            if !ci.absence {
                if !hit {
                    return false;
                }
                if !free {
                    arrayed += 1;
                }
            }
        }
        if !bi.has_absence {
            // Witnesses outside every array are compatible with anything:
            // with at most one condition whose witnesses all sit in arrays
            // there is nothing to conflict with (SPEC.md §2.12).
            if !consistency || arrayed <= 1 {
                return true;
            }
        }
        let mut conds: Vec<SearchCond> = Vec::with_capacity(bi.conds.len());
        for &c in &bi.conds {
            let Some(Some(ci)) = self.conds.get(c as usize) else {
                return false;
            };
            let mut witnesses = Vec::new();
            if !ci.kept {
                for &a in &ci.atoms {
                    let mut w = s.atom_head.get(a as usize).copied().unwrap_or(NONE);
                    while let Some(&(f, next)) = s.wit.get(w as usize) {
                        witnesses.push(f);
                        w = next;
                    }
                }
                if ci.atoms.len() > 1 {
                    witnesses.sort_unstable();
                    witnesses.dedup();
                }
            } else {
                self.kept_hits(s, ci, Some(&mut witnesses));
            }
            let mut present = Vec::new();
            if ci.absence {
                let mut f = s.path_head.get(ci.path as usize).copied().unwrap_or(NONE);
                while f != NONE {
                    present.push(f);
                    f = s.path_next.get(f as usize).copied().unwrap_or(NONE);
                }
            }
            if witnesses.is_empty() && !(ci.absence && (present.is_empty() || consistency)) {
                return false;
            }
            conds.push(SearchCond {
                witnesses,
                present,
                absence: ci.absence,
            });
        }
        if !consistency {
            return conds
                .iter()
                .all(|c| !c.witnesses.is_empty() || c.present.is_empty());
        }
        crate::search::consistent(s, &mut conds)
    }

    /// An indexed condition: whether its atoms were hit, and whether by a
    /// field outside every array.
    fn trigger_hits(&self, s: &Scratch, ci: &CondInfo) -> (bool, bool) {
        let mut hit = false;
        let mut free = false;
        for &a in &ci.atoms {
            if s.atom_head.get(a as usize).is_some_and(|&h| h != NONE) {
                hit = true;
                free |= s.atom_free.get(a as usize).copied().unwrap_or(false);
            }
        }
        (hit, free)
    }

    /// A non-trigger condition, judged on the leaves kept at its path
    /// with the shared leaf semantics: whether some leaf satisfies it, and
    /// whether one outside every array does; the witnesses when asked.
    fn kept_hits(
        &self,
        s: &Scratch,
        ci: &CondInfo,
        mut out: Option<&mut Vec<u32>>,
    ) -> (bool, bool) {
        let mut hit = false;
        let mut free = false;
        let mut k = s.leaf_head.get(ci.path as usize).copied().unwrap_or(NONE);
        while let Some(st) = s.leaves.get(k as usize) {
            k = st.next;
            let text = s
                .leaf_text
                .get(st.start as usize..(st.start + st.len) as usize)
                .unwrap_or("");
            let leaf = match st.kind {
                Kind::Str => LeafRef::Str(text),
                Kind::Num => LeafRef::Num(text, st.value),
                Kind::RawNum => LeafRef::Num(text, crate::scan::comparable(text)),
                Kind::True => LeafRef::Bool(true),
                Kind::False => LeafRef::Bool(false),
                Kind::Null => LeafRef::Null,
            };
            let ok = ci.atoms.iter().any(|&a| match self.atoms.get(a as usize) {
                Some(Some(ai)) => crate::leaf::matches_ref(&ai.matcher, leaf),
                _ => false,
            });
            if !ok {
                continue;
            }
            hit = true;
            if s.fields
                .get(st.field as usize)
                .is_some_and(|f| f.chain_len == 0)
            {
                free = true;
            }
            match out.as_deref_mut() {
                Some(v) => v.push(st.field),
                None if free => break,
                None => {}
            }
        }
        (hit, free)
    }

    /// Matches an already flattened event (the path the facade uses for
    /// events it parsed itself).
    pub fn matches_flat(&self, s: &mut Scratch, event: &FlatEvent, out: &mut Vec<RuleId>) {
        self.begin(s);
        for f in event.fields() {
            let Some(&p) = self.path_ids.get(f.path.as_str()) else {
                continue;
            };
            self.leaf(s, p, LeafRef::of(&f.leaf), &f.arrays);
        }
        self.end(s, out);
    }
}

/// One condition of a branch under search.
pub(crate) struct SearchCond {
    pub(crate) witnesses: Vec<u32>,
    pub(crate) present: Vec<u32>,
    pub(crate) absence: bool,
}

/// Whether most values meet the condition, so that judging it on kept
/// leaves beats recording its index hits: anything-but, exists, and
/// numeric ranges wider than one point.
fn unselective(fc: &evmatch_pattern::FieldCondition) -> bool {
    fc.matchers.iter().any(|m| match m {
        Matcher::AnythingBut(_) | Matcher::Exists(true) => true,
        Matcher::Numeric(r) => {
            !matches!((r.low, r.high), (Some((a, true)), Some((b, true))) if a == b)
        }
        _ => false,
    })
}

/// How few values a matcher tends to let through (lower: fewer), to pick
/// each branch's trigger condition.
fn selectivity(m: &Matcher) -> u8 {
    match m {
        Matcher::Exact(_) => 0,
        Matcher::EqualsIgnoreCase(_) | Matcher::Cidr(_) => 1,
        Matcher::Prefix(_)
        | Matcher::Suffix(_)
        | Matcher::PrefixIgnoreCase(_)
        | Matcher::SuffixIgnoreCase(_)
        | Matcher::Wildcard(_) => 2,
        Matcher::Numeric(_) => 3,
        Matcher::Exists(_) => 5,
        Matcher::AnythingBut(_) => 6,
    }
}

fn matcher_heap(m: &Matcher) -> usize {
    match m {
        Matcher::Exact(_) | Matcher::Numeric(_) | Matcher::Exists(_) | Matcher::Cidr(_) => 32,
        _ => 64,
    }
}

/// A field path resolved once against one [`Machine`] (see
/// [`Machine::resolve_path`]), so that callers matching many events with
/// the same field names look each name up once, not once per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResolvedPath(PathId);

impl Machine {
    /// The path a dotted field path (as [`evmatch_event::Field::path`]
    /// spells it) resolves to, if some rule of this machine names it;
    /// `None`: no rule reads a field there, so matching may skip it.
    ///
    /// A resolution stays valid for the machine's life: adding and
    /// deleting rules never renumbers paths. A path no rule named when it
    /// was resolved may be named later, so resolve again after adding
    /// rules. Resolutions are only meaningful for the machine that made
    /// them.
    pub fn resolve_path(&self, path: &str) -> Option<ResolvedPath> {
        self.path_ids.get(path).map(|&p| ResolvedPath(p))
    }

    /// [`Machine::matches_flat`] for fields whose paths the caller has
    /// already resolved: each item is a field of one flattened event with
    /// its path's resolution; fields whose path resolves to nothing are
    /// left out by the caller. The answer is the same as `matches_flat`'s
    /// over the whole event.
    pub fn matches_resolved<'e>(
        &self,
        s: &mut Scratch,
        fields: impl IntoIterator<Item = (ResolvedPath, &'e evmatch_event::Field)>,
        out: &mut Vec<RuleId>,
    ) {
        self.begin(s);
        for (ResolvedPath(p), f) in fields {
            self.leaf(s, p, LeafRef::of(&f.leaf), &f.arrays);
        }
        self.end(s, out);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// SPEC.md §1.3 (field paths): a node with many children finds every
    /// key it holds, whatever its length (the hash reads short keys as
    /// overlapping halves or three bytes, long ones as overlapping words),
    /// and no other, as the table grows.
    #[test]
    fn big_children_find_exactly_their_keys() {
        let mut node = Node::default();
        let mut keys: Vec<Vec<u8>> = vec![Vec::new(), b"a".to_vec(), b"ab".to_vec()];
        for i in 0..3_000u32 {
            keys.push(format!("OWNER_{i}").into_bytes());
            if i % 7 == 0 {
                // Same ends, different middles; and lengths around the
                // word sizes.
                keys.push(format!("x{i:0>20}y").into_bytes());
                keys.push(format!("{i:0>7}").into_bytes());
                keys.push(format!("{i:0>16}").into_bytes());
            }
        }
        for (id, k) in keys.iter().enumerate() {
            node.add_child(k, id as u32);
            if id % 500 == 0 {
                for (j, seen) in keys.iter().enumerate().take(id + 1) {
                    assert_eq!(node.child(seen), Some(j as u32), "{seen:?}");
                }
            }
        }
        assert!(node.big.is_some());
        assert_eq!(node.child_count(), keys.len());
        for (id, k) in keys.iter().enumerate() {
            assert_eq!(node.child(k), Some(id as u32), "{k:?}");
            // A key one byte longer or shorter, or with a byte changed, is
            // not a child (unless it is one of the keys itself).
            let mut longer = k.clone();
            longer.push(b'!');
            assert_eq!(node.child(&longer), None);
            for at in 0..k.len() {
                let mut changed = k.clone();
                changed[at] = b'#';
                assert_eq!(node.child(&changed), None, "{changed:?}");
            }
        }
        assert_eq!(node.child(b"OWNER_3000"), None);
        assert_eq!(node.child(b"abc"), None);
    }

    /// SPEC.md §1.3: keys the big-node table holds as words (NUL bytes,
    /// which a zero-padded word would also hold; lengths 1 to 24 around
    /// the 16-byte limit, sharing both end words past it) are told apart
    /// exactly.
    #[test]
    fn big_children_tell_apart_keys_of_equal_words() {
        let mut keys: Vec<Vec<u8>> = vec![
            b"\0".to_vec(),
            b"\0\0".to_vec(),
            b"\0\0\0".to_vec(),
            b"a\0".to_vec(),
            b"\0a".to_vec(),
            b"abc\0".to_vec(),
            b"abcd\0\0\0\0".to_vec(),
        ];
        for len in 1..=24usize {
            for mid in [b'm', b'n'] {
                let mut k = vec![b'k'; len];
                if let Some(c) = k.get_mut(len / 2) {
                    *c = mid;
                }
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
        }
        let mut node = Node::default();
        for (id, k) in keys.iter().enumerate() {
            node.add_child(k, id as u32);
        }
        assert!(node.big.is_some());
        for (id, k) in keys.iter().enumerate() {
            assert_eq!(node.child(k), Some(id as u32), "{k:?}");
        }
        // The same words, not the same key.
        assert_eq!(node.child(b""), None);
        assert_eq!(node.child(b"a"), None);
        assert_eq!(node.child(b"abc"), None);
        assert_eq!(node.child(b"abcd\0\0\0"), None);
        let mut other = vec![b'k'; 20];
        other[10] = b'o';
        assert_eq!(node.child(&other), None);
        other[10] = b'm';
        other[9] = b'm';
        assert_eq!(node.child(&other), None);
    }
}
