//! Per-path value matching: one index for every matcher of every rule on
//! one field path.
//!
//! A value (a leaf of the event at that path) is looked up once and the
//! index reports every matcher ("atom") it satisfies, whatever the number
//! of rules: exact strings and numbers by hash, prefixes and suffixes
//! (plain or ignoring case) by hashing the value's prefixes and suffixes of
//! each length some rule uses, wildcards through their most selective
//! literal, numeric ranges through an interval tree, and `anything-but` by
//! subtraction (SPEC.md §2.15): every `anything-but` atom of the path is
//! satisfied by any present value except those its exclusion index hits.

use crate::fold;
use crate::wild::WildIndex;
use ahash::AHashMap;
use evmatch_pattern::case::{ends_with_ignore_case, equals_ignore_case, starts_with_ignore_case};
use evmatch_pattern::ip::{parse_ip, IpRange};
use evmatch_pattern::{AnythingBut, Exact, Matcher, NumericRange};

/// An atom: one distinct matcher on one path.
pub(crate) type AtomId = u32;

/// A leaf value as the scanner hands it over.
#[derive(Debug, Clone, Copy)]
pub(crate) enum LeafRef<'a> {
    /// An unescaped string.
    Str(&'a str),
    /// A number's literal text and its comparable value (SPEC.md §3.2).
    Num(&'a str, Option<f64>),
    /// A number whose comparability is not known yet: the machine decides
    /// it only if a value-dependent hit can still change an answer. The
    /// second field is the scanner's [`NumShape`](crate::scan::NumShape).
    RawNum(&'a str, crate::scan::NumShape),
    Bool(bool),
    Null,
}

impl<'a> LeafRef<'a> {
    /// A parsed leaf, borrowed.
    pub(crate) fn of(leaf: &'a evmatch_event::Leaf) -> LeafRef<'a> {
        use evmatch_event::Leaf;
        match leaf {
            Leaf::String(s) => LeafRef::Str(s),
            Leaf::Number { text, value } => LeafRef::Num(text, *value),
            Leaf::Bool(b) => LeafRef::Bool(*b),
            Leaf::Null => LeafRef::Null,
        }
    }
}

/// Key of a comparable number: `-0` and `0` are one value.
fn num_key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// A superset of some keys' first (or last) bytes: a value whose byte is
/// not in it cannot hit, so it is not probed at all. Bits are set as keys
/// come and never cleared (a stale bit only costs a probe).
#[derive(Debug, Default, Clone, Copy)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: Option<u8>) {
        match b {
            Some(b) => {
                if let Some(w) = self.0.get_mut(usize::from(b >> 6)) {
                    *w |= 1 << (b & 63);
                }
            }
            // An empty key: every value may hit.
            None => self.0 = [u64::MAX; 4],
        }
    }

    /// Whether a value with this edge byte (`None`: unknown) may hit.
    #[inline]
    fn may_hit(&self, b: Option<u8>) -> bool {
        match b {
            Some(b) => self
                .0
                .get(usize::from(b >> 6))
                .is_some_and(|w| w & (1 << (b & 63)) != 0),
            None => true,
        }
    }
}

/// A superset of the (length, first byte, last byte) of the keys of an
/// exact-string map, hashed into 4,096 bits (allocated with the first key:
/// paths without exact strings hold none).
#[derive(Debug, Clone, Default)]
struct ShapeSet(Option<Box<[u64; 64]>>);

impl ShapeSet {
    #[inline]
    fn bit(s: &[u8]) -> usize {
        let first = usize::from(s.first().copied().unwrap_or(0));
        let last = usize::from(s.last().copied().unwrap_or(0));
        (first.wrapping_mul(31) ^ last.wrapping_mul(131) ^ s.len().wrapping_mul(2_654_435_761))
            & 4095
    }

    fn insert(&mut self, s: &[u8]) {
        let i = Self::bit(s);
        let bits = self.0.get_or_insert_with(|| Box::new([0; 64]));
        if let Some(w) = bits.get_mut(i >> 6) {
            *w |= 1 << (i & 63);
        }
    }

    #[inline]
    fn may_hit(&self, s: &[u8]) -> bool {
        let Some(bits) = &self.0 else {
            return false;
        };
        let i = Self::bit(s);
        bits.get(i >> 6).is_some_and(|w| w & (1 << (i & 63)) != 0)
    }

    fn heap_bytes(&self) -> usize {
        self.0.as_ref().map_or(0, |_| 512)
    }
}

/// A superset of the byte lengths of some keys, lengths from 63 on sharing
/// one bit. Bits are set as keys come and never cleared.
#[derive(Debug, Default, Clone, Copy)]
struct LenSet(u64);

impl LenSet {
    fn insert(&mut self, len: usize) {
        self.0 |= 1 << len.min(63);
    }

    #[inline(always)]
    fn may_hit(&self, len: usize) -> bool {
        self.0 & (1 << len.min(63)) != 0
    }
}

/// A superset of the keys of a [`LenMap`], as bits of a small Bloom-style
/// filter over a rolling hash, kept twice: keys hashed first byte to last
/// (for prefix lookups, where a value's prefixes of every length are hashed
/// in one pass over its bytes) and last byte to first (for suffixes). A
/// probe whose bit is clear is skipped without hashing the candidate for
/// the map, so a value next to thousands of keys of a few lengths costs
/// one pass over its bytes and about one map probe per actual hit. Bits are
/// set as keys come and never cleared (a stale bit only costs a probe); the
/// table doubles as keys are added, so it stays at most about 1/8 full.
#[derive(Debug, Default, Clone)]
struct KeyFilter {
    /// Forward hashes, then backward hashes: `2 << bits_log` bits.
    words: Vec<u64>,
    /// log2 of the bits per direction (0: no table yet, everything hits).
    bits_log: u32,
}

/// Bits of [`KeyFilter`] per key and direction.
const FILTER_BITS_PER_KEY: usize = 16;

impl KeyFilter {
    const SEED: u64 = 0xcbf2_9ce4_8422_2325;

    /// One byte more of a rolling hash (FNV-1a).
    #[inline(always)]
    fn step(h: u64, b: u8) -> u64 {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    }

    fn forward(key: &[u8]) -> u64 {
        key.iter().fold(Self::SEED, |h, &b| Self::step(h, b))
    }

    fn backward(key: &[u8]) -> u64 {
        key.iter().rev().fold(Self::SEED, |h, &b| Self::step(h, b))
    }

    /// The bit of hash `h` in direction `dir` (0 forward, 1 backward).
    #[inline(always)]
    fn bit(&self, h: u64, dir: usize) -> usize {
        if self.bits_log == 0 {
            return 0;
        }
        let i = (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.bits_log)) as usize;
        (dir << self.bits_log) | i
    }

    #[inline(always)]
    fn may_hit(&self, h: u64, dir: usize) -> bool {
        if self.bits_log == 0 {
            return true;
        }
        let i = self.bit(h, dir);
        self.words
            .get(i >> 6)
            .is_some_and(|w| w & (1 << (i & 63)) != 0)
    }

    fn set(&mut self, key: &[u8]) {
        for (dir, h) in [(0, Self::forward(key)), (1, Self::backward(key))] {
            let i = self.bit(h, dir);
            if let Some(w) = self.words.get_mut(i >> 6) {
                *w |= 1 << (i & 63);
            }
        }
    }

    /// Adds a key of a map now holding `count` keys, growing the table
    /// (and re-adding `keys`) when it passed its density.
    fn insert<'a>(&mut self, key: &[u8], count: usize, keys: impl Iterator<Item = &'a [u8]>) {
        let want = count.saturating_mul(FILTER_BITS_PER_KEY).max(64);
        if (1usize << self.bits_log) < want {
            // Doubling as keys come: amortised O(1) a key.
            let bits_log = want.next_power_of_two().trailing_zeros().min(40);
            self.bits_log = bits_log;
            self.words = vec![0; (2usize << bits_log) / 64];
            for k in keys {
                self.set(k);
            }
        }
        self.set(key);
    }

    fn heap_bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// Strings grouped by length, for prefix and suffix lookups.
#[derive(Debug, Default, Clone)]
struct LenMap {
    lens: Vec<usize>,
    map: AHashMap<Box<[u8]>, Vec<AtomId>>,
    firsts: ByteSet,
    lasts: ByteSet,
    filter: KeyFilter,
}

impl LenMap {
    fn insert(&mut self, key: &[u8], atom: AtomId) {
        self.firsts.insert(key.first().copied());
        self.lasts.insert(key.last().copied());
        let e = self.map.entry(key.into()).or_default();
        if !e.contains(&atom) {
            e.push(atom);
        }
        let count = self.map.len();
        self.filter
            .insert(key, count, self.map.keys().map(|k| &k[..]));
        if let Err(i) = self.lens.binary_search(&key.len()) {
            self.lens.insert(i, key.len());
        }
    }

    fn remove(&mut self, key: &[u8], atom: AtomId) {
        if let Some(e) = self.map.get_mut(key) {
            e.retain(|&a| a != atom);
            if e.is_empty() {
                self.map.remove(key);
                if !self.map.keys().any(|k| k.len() == key.len()) {
                    self.lens.retain(|&l| l != key.len());
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Appends the atoms of every key that is a prefix of `v`.
    #[inline(always)]
    fn prefixes_of(&self, v: &[u8], out: &mut Vec<AtomId>) {
        if self.lens.is_empty() || !self.firsts.may_hit(v.first().copied()) {
            return;
        }
        self.probe_prefixes(v, out);
    }

    fn probe_prefixes(&self, v: &[u8], out: &mut Vec<AtomId>) {
        // One pass over the value's bytes: the rolling hash of its prefix
        // of each length some key has is checked as the pass reaches it.
        let mut h = KeyFilter::SEED;
        let mut at = 0;
        for &l in &self.lens {
            let Some(p) = v.get(..l) else { break };
            while let Some(&b) = p.get(at) {
                h = KeyFilter::step(h, b);
                at += 1;
            }
            if self.filter.may_hit(h, 0) {
                if let Some(a) = self.map.get(p) {
                    out.extend_from_slice(a);
                }
            }
        }
    }

    /// Appends the atoms of every key that is a suffix of `v`.
    #[inline(always)]
    fn suffixes_of(&self, v: &[u8], out: &mut Vec<AtomId>) {
        if self.lens.is_empty() || !self.lasts.may_hit(v.last().copied()) {
            return;
        }
        self.probe_suffixes(v, out);
    }

    fn probe_suffixes(&self, v: &[u8], out: &mut Vec<AtomId>) {
        let mut h = KeyFilter::SEED;
        let mut done = 0;
        for &l in &self.lens {
            let Some(start) = v.len().checked_sub(l) else {
                break;
            };
            // The bytes this length adds, last to first.
            while done < l {
                done += 1;
                if let Some(&b) = v.get(v.len() - done) {
                    h = KeyFilter::step(h, b);
                }
            }
            if self.filter.may_hit(h, 1) {
                if let Some(a) = v.get(start..).and_then(|s| self.map.get(s)) {
                    out.extend_from_slice(a);
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        self.lens.capacity() * 8
            + self.filter.heap_bytes()
            + self
                .map
                .iter()
                .map(|(k, v)| k.len() + v.capacity() * 4 + 48)
                .sum::<usize>()
    }
}

/// Numeric ranges, sorted by lower bound, with the largest upper bound of
/// every subtree of an implicit balanced tree, so a lookup visits only the
/// ranges that can hold the value: O(log n + matches).
#[derive(Debug, Default, Clone)]
struct Ranges {
    items: Vec<(NumericRange, AtomId)>,
    sorted: Vec<(f64, f64, NumericRange, AtomId)>,
    max_high: Vec<f64>,
}

impl Ranges {
    fn bounds(r: &NumericRange) -> (f64, f64) {
        (
            r.low.map_or(f64::NEG_INFINITY, |(v, _)| v),
            r.high.map_or(f64::INFINITY, |(v, _)| v),
        )
    }

    /// Inserts in lower-bound order (a binary search and a move, not a
    /// re-sort: adding rules one at a time stays cheap).
    fn insert(&mut self, r: NumericRange, atom: AtomId) {
        self.items.push((r, atom));
        let (lo, hi) = Self::bounds(&r);
        let at = self.sorted.partition_point(|x| x.0.total_cmp(&lo).is_le());
        self.sorted.insert(at, (lo, hi, r, atom));
    }

    fn remove(&mut self, atom: AtomId) {
        self.items.retain(|&(_, a)| a != atom);
        self.sorted.retain(|x| x.3 != atom);
    }

    /// Rebuilds the largest-upper-bound tree over the sorted ranges: O(n).
    fn finish(&mut self) {
        let n = self.sorted.len();
        let mut max_high = vec![f64::NEG_INFINITY; 2 * n.max(1)];
        for (i, item) in self.sorted.iter().enumerate() {
            if let Some(slot) = max_high.get_mut(n + i) {
                *slot = item.1;
            }
        }
        for i in (1..n).rev() {
            let l = max_high.get(2 * i).copied().unwrap_or(f64::NEG_INFINITY);
            let r = max_high
                .get(2 * i + 1)
                .copied()
                .unwrap_or(f64::NEG_INFINITY);
            if let Some(slot) = max_high.get_mut(i) {
                *slot = l.max(r);
            }
        }
        self.max_high = max_high;
    }

    fn lookup(&self, v: f64, out: &mut Vec<AtomId>) {
        let n = self.sorted.len();
        if n == 0 {
            return;
        }
        if n <= 8 {
            for &(_, _, r, a) in &self.sorted {
                if r.contains(v) {
                    out.push(a);
                }
            }
            return;
        }
        // Ranges [0, k) start at or below v.
        let k = self.sorted.partition_point(|x| x.0 <= v);
        // Walk the leaves [n, n + k) of the bottom-up segment tree.
        let mut stack: Vec<usize> = Vec::new();
        let (mut l, mut r) = (n, n + k);
        while l < r {
            if l & 1 == 1 {
                stack.push(l);
                l += 1;
            }
            if r & 1 == 1 {
                r -= 1;
                stack.push(r);
            }
            l >>= 1;
            r >>= 1;
        }
        while let Some(node) = stack.pop() {
            if !self.max_high.get(node).is_some_and(|&m| m >= v) {
                continue;
            }
            if node >= n {
                if let Some(&(_, _, r, a)) = self.sorted.get(node - n) {
                    if r.contains(v) {
                        out.push(a);
                    }
                }
            } else {
                stack.push(2 * node);
                stack.push(2 * node + 1);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The number line cut at a path's bounds `b[0] < … < b[n-1]` into
/// `2n + 1` slots: slot `2i` holds the values strictly between `b[i-1]`
/// and `b[i]`, slot `2i + 1` the value `b[i]` itself. Within a slot every
/// comparison the path makes comes out the same, so its point and range
/// atoms (`vals`) and excluded-number atoms (`excl`) are computed once.
#[derive(Debug, Default, Clone)]
struct NumSlots {
    /// Per slot: `(start, vals_end, excl_end)` into `atoms`.
    spans: Vec<(u32, u32, u32)>,
    atoms: Vec<AtomId>,
}

/// A bound's shortest round-trip decimal (SPEC.md §3.2), laid out to be
/// compared with a [`PlainLit`](crate::scan::PlainLit) byte for byte:
/// the sign, the length of the integer part without leading zeros, and
/// (when that length is 1 to 7, the only case a plain literal can tie)
/// the text `int.frac` padded with `0` to 32 bytes as big-endian words.
#[derive(Debug, Clone, Copy)]
struct BoundKey {
    neg: bool,
    int_len: usize,
    words: [u64; 4],
}

impl BoundKey {
    fn of(b: f64) -> BoundKey {
        let mut out = BoundKey {
            neg: false,
            int_len: usize::MAX,
            words: [0; 4],
        };
        if !b.is_finite() {
            out.neg = b < 0.0;
            return out;
        }
        let mut buf = ryu::Buffer::new();
        let t = buf.format_finite(b);
        let (neg, t) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let (mant, exp) = match t.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
            None => (t, 0),
        };
        let (ip, fp) = mant.split_once('.').unwrap_or((mant, ""));
        let mut digits: Vec<u8> = ip.bytes().chain(fp.bytes()).collect();
        let mut point = ip.len() as i64 + exp;
        let lead = digits.iter().take_while(|&&c| c == b'0').count();
        digits.drain(..lead);
        point -= lead as i64;
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
        if digits.is_empty() {
            // Zero, either sign: below every positive plain literal,
            // above every negative one.
            out.int_len = 0;
            return out;
        }
        out.neg = neg;
        out.int_len = usize::try_from(point.max(0)).unwrap_or(usize::MAX);
        if (1..=7).contains(&out.int_len) {
            let mut text = Vec::with_capacity(32);
            for k in 0..out.int_len {
                text.push(digits.get(k).copied().unwrap_or(b'0'));
            }
            text.push(b'.');
            text.extend(digits.iter().skip(out.int_len));
            match std::str::from_utf8(&text)
                .ok()
                .and_then(crate::scan::padded_words)
            {
                Some(w) => out.words = w,
                // Longer than any plain literal: never reached, but keep
                // the order right by leaving it out of ties.
                None => out.int_len = usize::MAX,
            }
        }
        out
    }

    /// This bound against a plain literal, in number order.
    #[inline(always)]
    fn cmp_lit(
        &self,
        lit: &crate::scan::PlainLit,
        text: &str,
        words: &mut Option<[u64; 4]>,
    ) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self.neg, lit.neg) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => {
                let mag = self.int_len.cmp(&lit.int_len).then_with(|| {
                    match self.words[0].cmp(&lit.head) {
                        Ordering::Equal => {
                            // A plain literal has at most 25 bytes, so
                            // it always pads.
                            let w = words.get_or_insert_with(|| {
                                crate::scan::padded_words(text).unwrap_or([0; 4])
                            });
                            self.words.cmp(w)
                        }
                        o => o,
                    }
                });
                if self.neg {
                    mag.reverse()
                } else {
                    mag
                }
            }
        }
    }
}

/// The most atom entries a slot table may hold; past it (many overlapping
/// ranges) lookups use the range tree.
const MAX_SLOT_ATOMS: usize = 1 << 16;

/// Everything that decides whether a value is *excluded* by the
/// `anything-but` atoms of a path.
#[derive(Debug, Default, Clone)]
struct Exclusions {
    strings: AHashMap<Box<str>, Vec<AtomId>>,
    /// Shapes of the keys of `strings`.
    string_shapes: ShapeSet,
    numbers: AHashMap<u64, Vec<AtomId>>,
    prefixes: LenMap,
    suffixes: LenMap,
    ignore_case: AHashMap<String, Vec<(String, AtomId)>>,
    wildcards: WildIndex,
}

impl Exclusions {
    fn is_empty(&self) -> bool {
        self.strings.is_empty()
            && self.numbers.is_empty()
            && self.prefixes.is_empty()
            && self.suffixes.is_empty()
            && self.ignore_case.is_empty()
            && self.wildcards.is_empty()
    }
}

fn add_to<K: std::hash::Hash + Eq>(m: &mut AHashMap<K, Vec<AtomId>>, k: K, atom: AtomId) {
    let e = m.entry(k).or_default();
    if !e.contains(&atom) {
        e.push(atom);
    }
}

fn remove_from<K, Q>(m: &mut AHashMap<K, Vec<AtomId>>, k: &Q, atom: AtomId)
where
    K: std::borrow::Borrow<Q> + std::hash::Hash + Eq,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(e) = m.get_mut(k) {
        e.retain(|&a| a != atom);
        if e.is_empty() {
            m.remove(k);
        }
    }
}

/// Ignore-case entries: by key, each with the pattern text to confirm.
type CaseMap = AHashMap<String, Vec<(String, AtomId)>>;

fn add_case(m: &mut CaseMap, pattern: &str, atom: AtomId) {
    m.entry(fold::key(pattern))
        .or_default()
        .push((pattern.to_string(), atom));
}

fn remove_case(m: &mut CaseMap, pattern: &str, atom: AtomId) {
    let k = fold::key(pattern);
    if let Some(e) = m.get_mut(&k) {
        e.retain(|(_, a)| *a != atom);
        if e.is_empty() {
            m.remove(&k);
        }
    }
}

/// Case-insensitive prefixes or suffixes by key length.
#[derive(Debug, Default, Clone)]
struct CaseLenMap {
    lens: Vec<usize>,
    map: CaseMap,
}

impl CaseLenMap {
    fn insert(&mut self, pattern: &str, atom: AtomId) {
        let k = fold::key(pattern);
        if let Err(i) = self.lens.binary_search(&k.len()) {
            self.lens.insert(i, k.len());
        }
        self.map
            .entry(k)
            .or_default()
            .push((pattern.to_string(), atom));
    }

    fn remove(&mut self, pattern: &str, atom: AtomId) {
        remove_case(&mut self.map, pattern, atom);
        let l = fold::key(pattern).len();
        if !self.map.keys().any(|k| k.len() == l) {
            self.lens.retain(|&x| x != l);
        }
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Every matcher of every rule on one path.
#[derive(Debug, Default, Clone)]
pub(crate) struct ValueIndex {
    strings: AHashMap<Box<str>, Vec<AtomId>>,
    num_text: AHashMap<Box<str>, Vec<AtomId>>,
    num_value: AHashMap<u64, Vec<AtomId>>,
    trues: Vec<AtomId>,
    falses: Vec<AtomId>,
    nulls: Vec<AtomId>,
    prefixes: LenMap,
    suffixes: LenMap,
    prefixes_ic: CaseLenMap,
    suffixes_ic: CaseLenMap,
    equals_ic: CaseMap,
    /// First bytes of the case keys of `prefixes_ic`, `equals_ic` and the
    /// ignore-case exclusions; last bytes of those of `suffixes_ic`.
    ic_firsts: ByteSet,
    ic_lasts: ByteSet,
    /// Byte lengths of the case keys of `equals_ic` and the ignore-case
    /// exclusions: an ASCII value's key is as long as the value, so one of
    /// another length needs no key for those maps.
    ic_eq_lens: LenSet,
    /// Shapes of the keys of `strings`.
    string_shapes: ShapeSet,
    wildcards: WildIndex,
    ranges: Ranges,
    cidrs: Vec<(IpRange, AtomId)>,
    /// `exists: true` atoms: any present value.
    present: Vec<AtomId>,
    /// `anything-but` atoms: any present value not excluded.
    anything_but: Vec<AtomId>,
    exclusions: Exclusions,
    /// Every number the path's atoms compare against (points, range ends,
    /// excluded numbers), sorted: a literal known only to lie between two
    /// doubles needs its exact value only when one of these lies between
    /// them too.
    bounds: Vec<f64>,
    /// The numeric atoms of every slot of `bounds`, when small enough.
    slots: Option<NumSlots>,
    /// Per bound, its shortest decimal as a [`BoundKey`] (with `slots`).
    bound_keys: Vec<BoundKey>,
    /// Per bound key, its [`order_words`](crate::scan::order_words).
    bound_order: Vec<(u64, u64)>,
    /// The number of atoms registered.
    atoms: usize,
    /// Whether a string lookup here costs enough to be remembered (see
    /// `Scratch::str_memo`): ignore-case, wildcard, anything-but or CIDR
    /// atoms. Set by `finish`.
    memo_strings: bool,
    /// Whether every atom a string meets here comes from `strings`,
    /// `prefixes` or `suffixes` (no `exists`, anything-but, ignore-case,
    /// wildcard or CIDR atoms), so [`string_may_hit`](Self::string_may_hit)
    /// can rule a value out. Set by `finish`.
    plain_strings: bool,
}

impl ValueIndex {
    /// Index every wildcard set, however small (tests).
    pub(crate) fn set_force_wild_index(&mut self, on: bool) {
        self.wildcards.force_index = on;
        self.exclusions.wildcards.force_index = on;
    }

    /// Whether values at this path need their comparable number.
    pub(crate) fn wants_numbers(&self) -> bool {
        !self.num_value.is_empty() || !self.ranges.is_empty() || !self.exclusions.numbers.is_empty()
    }

    /// Whether every hit of a plain number here comes from its slot: no
    /// `exists`, no literal-text atoms, no anything-but.
    #[inline]
    pub(crate) fn slot_only_numbers(&self) -> bool {
        self.present.is_empty() && self.num_text.is_empty() && self.anything_but.is_empty()
    }

    /// Whether string lookups here are worth remembering: costly ones
    /// (see `memo_strings`), or exact-string hits.
    #[inline]
    pub(crate) fn memo_strings(&self) -> bool {
        self.memo_strings || !self.strings.is_empty()
    }

    /// Whether string `b` may meet an atom here: `false` only when it
    /// certainly meets none (its shape is in no exact key's, its first
    /// byte in no prefix's, its last in no suffix's). The check the
    /// lookup itself starts with, without the call.
    #[inline(always)]
    pub(crate) fn string_may_hit(&self, b: &[u8]) -> bool {
        !self.plain_strings
            || self.string_shapes.may_hit(b)
            || (!self.prefixes.lens.is_empty() && self.prefixes.firsts.may_hit(b.first().copied()))
            || (!self.suffixes.lens.is_empty() && self.suffixes.lasts.may_hit(b.last().copied()))
    }

    /// Whether the path has atoms at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.atoms == 0
    }

    /// Registers `m` as atom `atom`. `Exists(false)` has no value side and
    /// is not registered.
    pub(crate) fn insert(&mut self, m: &Matcher, atom: AtomId) {
        self.atoms += 1;
        match m {
            Matcher::Exact(e) => match e {
                Exact::String(s) => {
                    self.string_shapes.insert(s.as_bytes());
                    add_to(&mut self.strings, s.as_str().into(), atom);
                }
                Exact::Ip { text, range } => {
                    self.string_shapes.insert(text.as_bytes());
                    add_to(&mut self.strings, text.as_str().into(), atom);
                    self.cidrs.push((*range, atom));
                }
                Exact::Number { text, value } => {
                    add_to(&mut self.num_text, text.as_str().into(), atom);
                    if let Some(v) = value {
                        add_to(&mut self.num_value, num_key(*v), atom);
                    }
                }
                Exact::Bool(true) => self.trues.push(atom),
                Exact::Bool(false) => self.falses.push(atom),
                Exact::Null => self.nulls.push(atom),
            },
            Matcher::Prefix(p) => self.prefixes.insert(p.as_bytes(), atom),
            Matcher::Suffix(p) => self.suffixes.insert(p.as_bytes(), atom),
            Matcher::PrefixIgnoreCase(p) => {
                self.ic_firsts.insert(fold::key(p).bytes().next());
                self.prefixes_ic.insert(p, atom);
            }
            Matcher::SuffixIgnoreCase(p) => {
                self.ic_lasts.insert(fold::key(p).bytes().last());
                self.suffixes_ic.insert(p, atom);
            }
            Matcher::EqualsIgnoreCase(p) => {
                let k = fold::key(p);
                self.ic_firsts.insert(k.bytes().next());
                self.ic_eq_lens.insert(k.len());
                add_case(&mut self.equals_ic, p, atom);
            }
            Matcher::Wildcard(w) => self.wildcards.insert(w, atom),
            Matcher::Numeric(r) => self.ranges.insert(*r, atom),
            Matcher::Cidr(r) => self.cidrs.push((*r, atom)),
            Matcher::Exists(true) => self.present.push(atom),
            Matcher::Exists(false) => self.atoms -= 1,
            Matcher::AnythingBut(ab) => {
                self.anything_but.push(atom);
                let x = &mut self.exclusions;
                match ab {
                    AnythingBut::Strings(ss) => {
                        for s in ss {
                            x.string_shapes.insert(s.as_bytes());
                            add_to(&mut x.strings, s.as_str().into(), atom);
                        }
                    }
                    AnythingBut::Numbers(ns) => {
                        for &n in ns {
                            add_to(&mut x.numbers, num_key(n), atom);
                        }
                    }
                    AnythingBut::Prefixes(ps) => {
                        for p in ps {
                            x.prefixes.insert(p.as_bytes(), atom);
                        }
                    }
                    AnythingBut::Suffixes(ps) => {
                        for p in ps {
                            x.suffixes.insert(p.as_bytes(), atom);
                        }
                    }
                    AnythingBut::IgnoreCase(ps) => {
                        for p in ps {
                            let k = fold::key(p);
                            self.ic_firsts.insert(k.bytes().next());
                            self.ic_eq_lens.insert(k.len());
                            add_case(&mut x.ignore_case, p, atom);
                        }
                    }
                    AnythingBut::Wildcards(ws) => {
                        for w in ws {
                            x.wildcards.insert(w, atom);
                        }
                    }
                }
            }
        }
    }

    /// Unregisters atom `atom`, which was registered for `m`.
    pub(crate) fn remove(&mut self, m: &Matcher, atom: AtomId) {
        if !matches!(m, Matcher::Exists(false)) {
            self.atoms = self.atoms.saturating_sub(1);
        }
        let drop = |v: &mut Vec<AtomId>| v.retain(|&a| a != atom);
        match m {
            Matcher::Exact(e) => match e {
                Exact::String(s) => remove_from(&mut self.strings, s.as_str(), atom),
                Exact::Ip { text, .. } => {
                    remove_from(&mut self.strings, text.as_str(), atom);
                    self.cidrs.retain(|&(_, a)| a != atom);
                }
                Exact::Number { text, value } => {
                    remove_from(&mut self.num_text, text.as_str(), atom);
                    if let Some(v) = value {
                        remove_from(&mut self.num_value, &num_key(*v), atom);
                    }
                }
                Exact::Bool(true) => drop(&mut self.trues),
                Exact::Bool(false) => drop(&mut self.falses),
                Exact::Null => drop(&mut self.nulls),
            },
            Matcher::Prefix(p) => self.prefixes.remove(p.as_bytes(), atom),
            Matcher::Suffix(p) => self.suffixes.remove(p.as_bytes(), atom),
            Matcher::PrefixIgnoreCase(p) => self.prefixes_ic.remove(p, atom),
            Matcher::SuffixIgnoreCase(p) => self.suffixes_ic.remove(p, atom),
            Matcher::EqualsIgnoreCase(p) => remove_case(&mut self.equals_ic, p, atom),
            Matcher::Wildcard(_) => self.wildcards.remove(atom),
            Matcher::Numeric(_) => self.ranges.remove(atom),
            Matcher::Cidr(_) => self.cidrs.retain(|&(_, a)| a != atom),
            Matcher::Exists(true) => drop(&mut self.present),
            Matcher::Exists(false) => {}
            Matcher::AnythingBut(ab) => {
                drop(&mut self.anything_but);
                let x = &mut self.exclusions;
                match ab {
                    AnythingBut::Strings(ss) => {
                        for s in ss {
                            remove_from(&mut x.strings, s.as_str(), atom);
                        }
                    }
                    AnythingBut::Numbers(ns) => {
                        for &n in ns {
                            remove_from(&mut x.numbers, &num_key(n), atom);
                        }
                    }
                    AnythingBut::Prefixes(ps) => {
                        for p in ps {
                            x.prefixes.remove(p.as_bytes(), atom);
                        }
                    }
                    AnythingBut::Suffixes(ps) => {
                        for p in ps {
                            x.suffixes.remove(p.as_bytes(), atom);
                        }
                    }
                    AnythingBut::IgnoreCase(ps) => {
                        for p in ps {
                            remove_case(&mut x.ignore_case, p, atom);
                        }
                    }
                    AnythingBut::Wildcards(_) => x.wildcards.remove(atom),
                }
            }
        }
    }

    /// Rebuilds the derived structures after a batch of changes.
    pub(crate) fn finish(&mut self) {
        let mut bounds: Vec<f64> = self
            .num_value
            .keys()
            .chain(self.exclusions.numbers.keys())
            .map(|&k| f64::from_bits(k))
            .chain(
                self.ranges
                    .items
                    .iter()
                    .flat_map(|(r, _)| [r.low, r.high])
                    .flatten()
                    .map(|(v, _)| v),
            )
            .collect();
        bounds.sort_unstable_by(f64::total_cmp);
        bounds.dedup();
        // The range tree first: the slot table is built with it.
        self.ranges.finish();
        self.slots = self.build_slots(&bounds);
        self.bound_keys = if self.slots.is_some() {
            bounds.iter().map(|&b| BoundKey::of(b)).collect()
        } else {
            Vec::new()
        };
        self.bound_order = self
            .bound_keys
            .iter()
            .map(|k| crate::scan::order_words(k.neg, k.int_len as u64, k.words[0]))
            .collect();
        self.bounds = bounds;
        self.wildcards.finish();
        self.exclusions.wildcards.finish();
        self.memo_strings = !self.anything_but.is_empty()
            || !self.prefixes_ic.is_empty()
            || !self.suffixes_ic.is_empty()
            || !self.equals_ic.is_empty()
            || !self.wildcards.is_empty()
            || !self.cidrs.is_empty();
        self.plain_strings = !self.memo_strings && self.present.is_empty();
    }

    /// Appends every atom `leaf` satisfies to `out` (possibly with
    /// repeats). `buf` and `tmp` are scratch space.
    pub(crate) fn lookup(
        &self,
        leaf: LeafRef<'_>,
        buf: &mut String,
        tmp: &mut Vec<AtomId>,
        out: &mut Vec<AtomId>,
    ) {
        if let LeafRef::RawNum(text, _) = leaf {
            // Callers that can defer the decision use `lookup_num_split`.
            let v = crate::scan::comparable(text);
            return self.lookup(LeafRef::Num(text, v), buf, tmp, out);
        }
        out.extend_from_slice(&self.present);
        match leaf {
            LeafRef::Str(s) => {
                self.lookup_str(s, buf, tmp, out);
            }
            LeafRef::Num(text, value) => {
                if let Some(a) = self.num_text.get(text) {
                    out.extend_from_slice(a);
                }
                if let Some(v) = value {
                    if let Some(a) = self.num_value.get(&num_key(v)) {
                        out.extend_from_slice(a);
                    }
                    self.ranges.lookup(v, out);
                }
                if !self.anything_but.is_empty() {
                    tmp.clear();
                    if let Some(a) = value.and_then(|v| self.exclusions.numbers.get(&num_key(v))) {
                        tmp.extend_from_slice(a);
                    }
                    subtract(&self.anything_but, tmp, out);
                }
            }
            LeafRef::RawNum(..) => {}
            LeafRef::Bool(b) => {
                out.extend_from_slice(if b { &self.trues } else { &self.falses });
                out.extend_from_slice(&self.anything_but);
            }
            LeafRef::Null => {
                out.extend_from_slice(&self.nulls);
                out.extend_from_slice(&self.anything_but);
            }
        }
    }

    /// For a number whose comparability is not known yet: hits that hold
    /// whatever the literal (`fixed`), hits that need its value to be
    /// comparable (`vals`), and anything-but atoms its value would exclude
    /// (`excl`). `d` is the literal parsed as a double, if finite.
    pub(crate) fn lookup_num_split(
        &self,
        text: &str,
        d: Option<f64>,
        fixed: &mut Vec<AtomId>,
        vals: &mut Vec<AtomId>,
        excl: &mut Vec<AtomId>,
    ) {
        fixed.extend_from_slice(&self.present);
        if let Some(a) = self.num_text.get(text) {
            fixed.extend_from_slice(a);
        }
        if let Some(v) = d {
            if let Some(a) = self.num_value.get(&num_key(v)) {
                vals.extend_from_slice(a);
            }
            self.ranges.lookup(v, vals);
            if !self.anything_but.is_empty() {
                if let Some(a) = self.exclusions.numbers.get(&num_key(v)) {
                    excl.extend_from_slice(a);
                }
            }
        }
    }

    fn build_slots(&self, bounds: &[f64]) -> Option<NumSlots> {
        let mut t = NumSlots::default();
        let n = bounds.len();
        for k in 0..=2 * n {
            let i = k / 2;
            let sample = if k % 2 == 1 {
                bounds.get(i).copied()
            } else {
                match (i.checked_sub(1).and_then(|j| bounds.get(j)), bounds.get(i)) {
                    (None, _) => Some(f64::NEG_INFINITY),
                    (Some(_), None) => Some(f64::INFINITY),
                    (Some(&a), Some(&b)) => {
                        let mid = a / 2.0 + b / 2.0;
                        // Neighbouring doubles: no value lies between.
                        (mid > a && mid < b).then_some(mid)
                    }
                }
            };
            let start = t.atoms.len() as u32;
            if let Some(v) = sample {
                if v.is_finite() {
                    if let Some(a) = self.num_value.get(&num_key(v)) {
                        t.atoms.extend_from_slice(a);
                    }
                }
                // The range tree: O(log n + hits) a slot.
                self.ranges.lookup(v, &mut t.atoms);
            }
            let vals_end = t.atoms.len() as u32;
            if let Some(v) = sample.filter(|v| v.is_finite()) {
                if !self.anything_but.is_empty() {
                    if let Some(a) = self.exclusions.numbers.get(&num_key(v)) {
                        t.atoms.extend_from_slice(a);
                    }
                }
            }
            t.spans.push((start, vals_end, t.atoms.len() as u32));
            if t.atoms.len() > MAX_SLOT_ATOMS {
                return None;
            }
        }
        Some(t)
    }

    /// The slot of a number known to lie in `[lo, hi]`, if the path has a
    /// slot table and no bound separates the two ends.
    #[inline]
    pub(crate) fn num_slot(&self, lo: f64, hi: f64) -> Option<usize> {
        self.slots.as_ref()?;
        let i = self.bounds.partition_point(|&b| b < lo);
        match self.bounds.get(i) {
            Some(&b) if b <= hi => (lo == hi && b == lo).then_some(2 * i + 1),
            _ => Some(2 * i),
        }
    }

    /// The slot of a plain literal, found by comparing its text with the
    /// bounds' shortest decimals, and whether it equals a bound. Exact for
    /// a comparable literal: one that differs from a bound's shortest
    /// decimal cannot parse to that bound (it would not be comparable),
    /// and rounding keeps the order. For a literal that is not comparable
    /// the slot is not used.
    #[inline(always)]
    pub(crate) fn text_slot(
        &self,
        text: &str,
        lit: &crate::scan::PlainLit,
    ) -> Option<(usize, bool)> {
        self.slots.as_ref()?;
        // Few bounds: count those below the literal by their order words,
        // without branches; a tie on those (same first eight bytes) takes
        // the full comparison below.
        if self.bound_order.len() <= 16 {
            let (lm, ln) = lit.order;
            let mut below = 0usize;
            let mut tie = false;
            for &(m, n) in &self.bound_order {
                below += usize::from(m < lm || (m == lm && n < ln));
                tie |= m == lm && n == ln;
            }
            if !tie {
                return Some((2 * below, false));
            }
        }
        let mut words = None;
        // The first bound not below the literal (a plain loop: paths
        // have few bounds, and `partition_point` is not inlined).
        let keys = &self.bound_keys;
        let (mut lo, mut hi) = (0, keys.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match keys.get(mid) {
                Some(k) if k.cmp_lit(lit, text, &mut words).is_lt() => lo = mid + 1,
                _ => hi = mid,
            }
        }
        let i = lo;
        let eq = keys
            .get(i)
            .is_some_and(|k| k.cmp_lit(lit, text, &mut words).is_eq());
        Some(if eq {
            (2 * i + 1, true)
        } else {
            (2 * i, false)
        })
    }

    /// The gap below bound `i` (slot `2i`) as exclusive ends in
    /// [`order_words`](crate::scan::order_words) packed high-low: a plain
    /// literal whose order lies strictly between them is in that slot.
    #[inline]
    pub(crate) fn gap_orders(&self, i: usize) -> Option<(u128, u128)> {
        self.slots.as_ref()?;
        let pack = |(m, n): (u64, u64)| u128::from(m) << 64 | u128::from(n);
        let lo = match i.checked_sub(1) {
            Some(j) => pack(*self.bound_order.get(j)?),
            None => 0,
        };
        let hi = match self.bound_order.get(i) {
            Some(&o) => pack(o),
            None if i == self.bound_order.len() => u128::MAX,
            None => return None,
        };
        Some((lo, hi))
    }

    /// For a number in slot `slot` (from `num_slot`): the atoms that need
    /// its value to be comparable, and the anything-but atoms its value
    /// excludes (see `lookup_num_split`).
    #[inline]
    pub(crate) fn slot_atoms(&self, slot: usize) -> (&[AtomId], &[AtomId]) {
        let Some(t) = &self.slots else {
            return (&[], &[]);
        };
        let Some(&(start, v_end, x_end)) = t.spans.get(slot) else {
            return (&[], &[]);
        };
        (
            t.atoms.get(start as usize..v_end as usize).unwrap_or(&[]),
            t.atoms.get(v_end as usize..x_end as usize).unwrap_or(&[]),
        )
    }

    /// The hits of a number that hold whatever its value: `exists` and
    /// the literal's own text.
    #[inline(always)]
    pub(crate) fn num_fixed(&self, text: &str, out: &mut Vec<AtomId>) {
        if !self.present.is_empty() {
            out.extend_from_slice(&self.present);
        }
        if !self.num_text.is_empty() {
            if let Some(a) = self.num_text.get(text) {
                out.extend_from_slice(a);
            }
        }
    }

    /// Whether a number the path compares against lies in `[lo, hi]`:
    /// if none does, every lookup gives the same atoms for any value in
    /// that interval.
    pub(crate) fn bound_within(&self, lo: f64, hi: f64) -> bool {
        let i = self.bounds.partition_point(|&b| b < lo);
        self.bounds.get(i).is_some_and(|&b| b <= hi)
    }

    /// The path's anything-but atoms.
    pub(crate) fn anything_but(&self) -> &[AtomId] {
        &self.anything_but
    }

    /// `lookup` of a string: appends the atoms `s` meets to `out`, and
    /// says whether that took more than the cheap filters and one hash
    /// probe (a case key, a wildcard or CIDR test, an excluded-string
    /// probe, excluded prefixes or suffixes), or found an exact string: a
    /// result worth remembering.
    pub(crate) fn lookup_string(
        &self,
        s: &str,
        buf: &mut String,
        tmp: &mut Vec<AtomId>,
        out: &mut Vec<AtomId>,
    ) -> bool {
        out.extend_from_slice(&self.present);
        self.lookup_str(s, buf, tmp, out)
    }

    #[inline(always)]
    fn lookup_str(
        &self,
        s: &str,
        buf: &mut String,
        tmp: &mut Vec<AtomId>,
        out: &mut Vec<AtomId>,
    ) -> bool {
        let b = s.as_bytes();
        // An exact hit is worth remembering too: the values that hit
        // repeat (`"type": "Polygon"` on every event).
        let mut exact_hit = false;
        if !self.strings.is_empty() && self.string_shapes.may_hit(b) {
            if let Some(a) = self.strings.get(s) {
                out.extend_from_slice(a);
                exact_hit = true;
            }
        }
        self.prefixes.prefixes_of(b, out);
        self.suffixes.suffixes_of(b, out);
        // A value's case key starts (ends) with its first (last) ASCII
        // character upper-cased; other characters are not filtered.
        let edge = |c: Option<&u8>| match c {
            Some(c) if c.is_ascii() => Some(c.to_ascii_uppercase()),
            _ => None,
        };
        // An equality key has the value's length when the value is ASCII
        // (its key is then its upper-case form).
        let need_eq = (!self.equals_ic.is_empty() || !self.exclusions.ignore_case.is_empty())
            && self.ic_firsts.may_hit(edge(b.first()))
            && (self.ic_eq_lens.may_hit(b.len()) || !s.is_ascii());
        let need_key = need_eq
            || (!self.prefixes_ic.is_empty() && self.ic_firsts.may_hit(edge(b.first())))
            || (!self.suffixes_ic.is_empty() && self.ic_lasts.may_hit(edge(b.last())));
        if need_key {
            buf.clear();
            fold::push_key(s, buf);
            let k = buf.as_bytes();
            for &l in &self.prefixes_ic.lens {
                let Some(p) = k.get(..l) else { break };
                if let Some(e) = std::str::from_utf8(p)
                    .ok()
                    .and_then(|p| self.prefixes_ic.map.get(p))
                {
                    for (pat, a) in e {
                        if starts_with_ignore_case(s, pat) {
                            out.push(*a);
                        }
                    }
                }
            }
            for &l in &self.suffixes_ic.lens {
                let Some(start) = k.len().checked_sub(l) else {
                    break;
                };
                if let Some(e) = k
                    .get(start..)
                    .and_then(|p| std::str::from_utf8(p).ok())
                    .and_then(|p| self.suffixes_ic.map.get(p))
                {
                    for (pat, a) in e {
                        if ends_with_ignore_case(s, pat) {
                            out.push(*a);
                        }
                    }
                }
            }
            if need_eq && !self.equals_ic.is_empty() {
                if let Some(e) = self.equals_ic.get(buf.as_str()) {
                    for (pat, a) in e {
                        if equals_ignore_case(pat, s) {
                            out.push(*a);
                        }
                    }
                }
            }
        }
        let mut costly =
            exact_hit || need_key || !self.wildcards.is_empty() || !self.cidrs.is_empty();
        self.wildcards.lookup(s, tmp, out);
        if !self.cidrs.is_empty() {
            if let Some(ip) = parse_ip(s) {
                for &(r, a) in &self.cidrs {
                    if r.contains(ip) {
                        out.push(a);
                    }
                }
            }
        }
        if !self.anything_but.is_empty() {
            tmp.clear();
            let x = &self.exclusions;
            if !x.is_empty() {
                if !x.strings.is_empty() && x.string_shapes.may_hit(b) {
                    costly = true;
                    if let Some(a) = x.strings.get(s) {
                        tmp.extend_from_slice(a);
                    }
                }
                costly |=
                    !x.prefixes.is_empty() || !x.suffixes.is_empty() || !x.wildcards.is_empty();
                x.prefixes.prefixes_of(b, tmp);
                x.suffixes.suffixes_of(b, tmp);
                // `buf` holds the value's key only when `need_eq`; without
                // it no ignore-case exclusion can hit.
                if need_eq && !x.ignore_case.is_empty() {
                    if let Some(e) = x.ignore_case.get(buf.as_str()) {
                        for (pat, a) in e {
                            if equals_ignore_case(pat, s) {
                                tmp.push(*a);
                            }
                        }
                    }
                }
                let mut wild: Vec<AtomId> = Vec::new();
                x.wildcards.lookup(s, &mut wild, tmp);
            }
            subtract(&self.anything_but, tmp, out);
        }
        costly
    }

    /// Bytes of heap this index holds (an estimate).
    pub(crate) fn heap_bytes(&self) -> usize {
        let vecs = |m: &AHashMap<Box<str>, Vec<AtomId>>| {
            m.iter()
                .map(|(k, v)| k.len() + v.capacity() * 4 + 48)
                .sum::<usize>()
        };
        let cases = |m: &CaseMap| {
            m.iter()
                .map(|(k, v)| k.len() + v.iter().map(|(p, _)| p.len() + 32).sum::<usize>() + 48)
                .sum::<usize>()
        };
        vecs(&self.strings)
            + self.string_shapes.heap_bytes()
            + self.exclusions.string_shapes.heap_bytes()
            + vecs(&self.num_text)
            + self.num_value.len() * 48
            + self.prefixes.heap_bytes()
            + self.suffixes.heap_bytes()
            + cases(&self.prefixes_ic.map)
            + cases(&self.suffixes_ic.map)
            + cases(&self.equals_ic)
            + self.wildcards.heap_bytes()
            + self.ranges.items.capacity() * 48
            + self.ranges.sorted.capacity() * 64
            + self.ranges.max_high.capacity() * 8
            + self.cidrs.capacity() * 48
            + (self.present.capacity() + self.anything_but.capacity()) * 4
            + vecs(&self.exclusions.strings)
            + self.exclusions.numbers.len() * 48
            + self.exclusions.prefixes.heap_bytes()
            + self.exclusions.suffixes.heap_bytes()
            + cases(&self.exclusions.ignore_case)
            + self.exclusions.wildcards.heap_bytes()
    }
}

/// `out += all - excluded`.
#[inline]
pub(crate) fn subtract(all: &[AtomId], excluded: &mut [AtomId], out: &mut Vec<AtomId>) {
    if all.is_empty() {
    } else if excluded.is_empty() {
        out.extend_from_slice(all);
    } else if excluded.len() <= 16 {
        out.extend(all.iter().filter(|a| !excluded.contains(a)));
    } else {
        excluded.sort_unstable();
        out.extend(all.iter().filter(|a| excluded.binary_search(a).is_err()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn brute(keys: &[(Vec<u8>, AtomId)], v: &[u8], suffix: bool) -> Vec<AtomId> {
        let mut out: Vec<AtomId> = keys
            .iter()
            .filter(|(k, _)| {
                if suffix {
                    v.ends_with(k)
                } else {
                    v.starts_with(k)
                }
            })
            .map(|&(_, a)| a)
            .collect();
        out.sort_unstable();
        out
    }

    fn found(m: &LenMap, v: &[u8], suffix: bool) -> Vec<AtomId> {
        let mut out = Vec::new();
        if suffix {
            m.suffixes_of(v, &mut out);
        } else {
            m.prefixes_of(v, &mut out);
        }
        out.sort_unstable();
        out
    }

    /// SPEC.md §2.4 (prefix, suffix; also anything-but prefix/suffix, §2.6):
    /// the key filter in front of
    /// the length map never hides a key, as the map grows past several
    /// table sizes and after keys are removed (stale bits stay set).
    #[test]
    fn spec_2_4_len_map_filter_finds_every_prefix_and_suffix() {
        let mut keys: Vec<(Vec<u8>, AtomId)> = vec![(Vec::new(), 0)];
        for i in 1..3_000u32 {
            keys.push((format!("sport-{}", i * 7).into_bytes(), i));
            if i % 5 == 0 {
                keys.push((format!("{}-x", i * 3).into_bytes(), 10_000 + i));
            }
        }
        let values: Vec<Vec<u8>> = (0..4_000u32)
            .map(|i| format!("sport-{}{}", i * 13, if i % 3 == 0 { "-x" } else { "" }).into_bytes())
            .chain([
                b"".to_vec(),
                b"s".to_vec(),
                b"music".to_vec(),
                b"150-x".to_vec(),
            ])
            .collect();
        for suffix in [false, true] {
            let mut m = LenMap::default();
            for (k, a) in &keys {
                m.insert(k, *a);
            }
            // An empty key matches every value, so every lookup has a hit.
            for v in &values {
                assert_eq!(found(&m, v, suffix), brute(&keys, v, suffix), "{v:?}");
            }
            let kept: Vec<_> = keys.iter().filter(|(_, a)| a % 2 == 1).cloned().collect();
            for (k, a) in keys.iter().filter(|(_, a)| a % 2 == 0) {
                m.remove(k, *a);
            }
            for v in &values {
                assert_eq!(found(&m, v, suffix), brute(&kept, v, suffix), "{v:?}");
            }
        }
    }

    fn hits(ix: &ValueIndex, v: &str) -> Vec<AtomId> {
        let (mut buf, mut tmp, mut out) = (String::new(), Vec::new(), Vec::new());
        ix.lookup(LeafRef::Str(v), &mut buf, &mut tmp, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// SPEC.md §2.4, §2.6: the filters in front of the ignore-case maps
    /// (an ASCII value's key is as long as the value) and of the excluded
    /// strings (length, first and last byte) never hide a match: values
    /// whose key is shorter than their bytes (`ſ` keys to `S`), values
    /// of another length, and values sharing a shape.
    #[test]
    fn spec_2_4_ignore_case_and_exclusion_filters_keep_every_hit() {
        let mut ix = ValueIndex::default();
        ix.insert(&Matcher::EqualsIgnoreCase("\u{17f}t".into()), 1);
        ix.insert(
            &Matcher::AnythingBut(AnythingBut::IgnoreCase(vec!["\u{17f}t".into()])),
            2,
        );
        ix.insert(
            &Matcher::AnythingBut(AnythingBut::Strings(vec!["FULTON".into()])),
            3,
        );
        ix.finish();
        assert_eq!(hits(&ix, "ST"), vec![1, 3]);
        // `s` is not a case form of `ſ` (only `S` is).
        assert_eq!(hits(&ix, "st"), vec![2, 3]);
        assert_eq!(hits(&ix, "\u{17f}t"), vec![1, 3]);
        assert_eq!(hits(&ix, "\u{17f}T"), vec![1, 3]);
        assert_eq!(hits(&ix, "S"), vec![2, 3]);
        assert_eq!(hits(&ix, "STT"), vec![2, 3]);
        assert_eq!(hits(&ix, "\u{17f}"), vec![2, 3]);
        assert_eq!(hits(&ix, "FULTON"), vec![2]);
        assert_eq!(hits(&ix, "FULTAN"), vec![2, 3]);
        assert_eq!(hits(&ix, "fulton"), vec![2, 3]);
        assert_eq!(hits(&ix, ""), vec![2, 3]);
    }

    /// SPEC.md §2.4: `string_may_hit` never rules out a value the lookup
    /// finds atoms for, on a plain path (exact, prefix, suffix, an empty
    /// prefix among them) and on paths it cannot judge (`exists`,
    /// anything-but, ignore-case), and does rule out values of other
    /// shapes on a plain one.
    #[test]
    fn spec_2_4_string_may_hit_keeps_every_hit() {
        let values = [
            "",
            "a",
            "ab",
            "0002014",
            "0002",
            "Polygon",
            "POLYGON",
            "x14",
            "14",
            "Q2",
            "0001Q2",
            "NOWHERE 4",
            "nowhere 4",
            "\u{17f}t",
            "zzz",
        ];
        let plain = || {
            let mut ix = ValueIndex::default();
            ix.insert(&Matcher::Exact(Exact::String("Polygon".into())), 1);
            ix.insert(&Matcher::Exact(Exact::String("NOWHERE 4".into())), 2);
            ix.insert(&Matcher::Prefix("0001".into()), 3);
            ix.insert(&Matcher::Suffix("Q2".into()), 4);
            ix
        };
        let mut extra: Vec<(Option<Matcher>, bool)> = vec![
            (None, true),
            (Some(Matcher::Prefix(String::new())), true),
            (Some(Matcher::Exists(true)), false),
            (
                Some(Matcher::AnythingBut(AnythingBut::Strings(vec![
                    "zzz".into()
                ]))),
                false,
            ),
            (Some(Matcher::EqualsIgnoreCase("\u{17f}T".into())), false),
        ];
        for (m, filters) in extra.drain(..) {
            let mut ix = plain();
            if let Some(m) = &m {
                ix.insert(m, 5);
            }
            ix.finish();
            let mut ruled_out = 0;
            for v in values {
                let found = hits(&ix, v);
                if !ix.string_may_hit(v.as_bytes()) {
                    assert!(found.is_empty(), "{m:?}: {v:?} ruled out, hits {found:?}");
                    ruled_out += 1;
                }
            }
            if !filters {
                assert_eq!(ruled_out, 0, "{m:?}");
            } else if m.is_none() {
                // "", "a", "ab", "POLYGON", "x14", "14", "zzz" and the others
                // of no key's shape, first or last byte.
                assert!(ruled_out >= 5, "{ruled_out}");
            }
        }
    }

    #[test]
    fn key_filter_rejects_most_absent_keys() {
        let mut m = LenMap::default();
        for i in 0..2_000u32 {
            m.insert(format!("k-{i}").as_bytes(), i);
        }
        let misses = (0..10_000u32)
            .filter(|i| {
                let v = format!("q-{i}");
                let h = KeyFilter::forward(v.as_bytes());
                m.filter.may_hit(h, 0)
            })
            .count();
        // 16 bits a key: about 6% of absent keys pass.
        assert!(misses < 1_500, "{misses} of 10,000 absent keys passed");
    }
}
