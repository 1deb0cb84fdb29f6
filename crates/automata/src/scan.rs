//! The streaming flattener: reads event bytes once, walking the machine's
//! key trie, and hands the machine only the leaves at paths some rule
//! names (SPEC.md §1.3). Every other value is skipped in place, still
//! validated, never built. Strings are unescaped and numbers converted
//! only where a rule reads them.
//!
//! The fast path is deliberately conservative: whenever it meets
//! something it does not handle itself (invalid JSON, a repeated key on a
//! path rules read, nesting past the limit) it gives up and the caller
//! re-reads the event with the full parser, which produces the exact error
//! text or the last-key-wins tree. It never accepts input the full parser
//! rejects.

use crate::machine::{Machine, Scratch};
use crate::values::LeafRef;

/// Why the fast path gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bail {
    /// Let the full parser decide (invalid input, duplicate keys, depth).
    Fallback,
    /// Early exit: every path rules read has a value and no array is open,
    /// so nothing later can change the answer (unwinds the walk).
    Done,
}

type R<T> = Result<T, Bail>;

/// Reusable buffers of the scanner.
#[derive(Debug, Default, Clone)]
pub(crate) struct ScanState {
    arrays: Vec<(u32, u32)>,
    /// Per trie node, the object (numbered from 1 across events) that
    /// last had a key leading to it: a second key to the same node in one
    /// object is a repeated key.
    seen: Vec<u32>,
    /// The last object number given out.
    objects: u32,
    skip_stack: Vec<bool>,
    key: String,
    val: String,
}

/// Per-byte classes for string scanning: 1 for `"`, `\` and control
/// characters, which end a fast run. Indexed by a `u8`: cannot be out of
/// bounds.
#[allow(clippy::indexing_slicing)]
static STR_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The high bit of every byte of `x` that may not be an ASCII digit; the
/// lowest one set is exactly the first non-digit. Below `0`: a borrow
/// test; above `9`: adding 0x46 sets the high bit of bytes over 0x39 (and
/// bytes from 0x80 have it already; their carry only reaches higher bytes).
#[inline(always)]
fn non_digits(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = x.wrapping_sub(ONES * 0x30) & !x;
    let above = x.wrapping_add(ONES * 0x46) | x;
    (below | above) & HIGH
}

/// The high bit of every byte of `x` that may be `"`, `\\` or below 0x20;
/// the lowest one set is exactly the first such byte.
#[inline(always)]
fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let q = x ^ 0x2222_2222_2222_2222;
    let bs = x ^ 0x5C5C_5C5C_5C5C_5C5C;
    (q.wrapping_sub(ONES) & !q | bs.wrapping_sub(ONES) & !bs | x.wrapping_sub(ONES * 0x20) & !x)
        & HIGH
}

/// Options of one scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanOptions {
    pub(crate) max_depth: usize,
    pub(crate) early_exit: bool,
}

struct Scanner<'a, 'm> {
    b: &'a [u8],
    /// The whole input as text, when it was validated as UTF-8 up front.
    all: Option<&'a str>,
    i: usize,
    m: &'m Machine,
    opts: ScanOptions,
    depth: usize,
    next_array: u32,
    st: ScanState,
}

/// Scans one event into the machine's scratch. On `Err` the scratch holds
/// a partial event and the caller must start over with the full parser.
pub(crate) fn scan(
    m: &Machine,
    sc: &mut Scratch,
    bytes: &[u8],
    all: Option<&str>,
    opts: ScanOptions,
) -> R<()> {
    let st = std::mem::take(&mut sc.scan);
    let mut s = Scanner {
        b: bytes,
        all,
        i: 0,
        m,
        opts,
        depth: 0,
        next_array: 0,
        st,
    };
    s.st.arrays.clear();
    if s.st.seen.len() < m.nodes.len() {
        s.st.seen.resize(m.nodes.len(), 0);
    }
    let r = match s.top(sc) {
        Err(Bail::Done) => Ok(()),
        other => other,
    };
    sc.scan = s.st;
    r
}

impl<'a> Scanner<'a, '_> {
    /// The text of a string's content. Input reaching the scanner in
    /// validating mode was checked as a whole; in early-exit mode only the
    /// strings read are, here.
    #[inline(always)]
    fn text(&self, start: usize, end: usize) -> R<&'a str> {
        if let Some(t) = self.all {
            // Two one-sided slicings: each inlines to a bounds and a
            // boundary test, where `get(start..end)` is a call.
            return t
                .get(..end)
                .and_then(|t| t.get(start..))
                .ok_or(Bail::Fallback);
        }
        self.text_checked(start, end)
    }

    /// `text` when the input's UTF-8 was not checked as a whole.
    #[inline(never)]
    fn text_checked(&self, start: usize, end: usize) -> R<&'a str> {
        let raw = self.b.get(start..end).ok_or(Bail::Fallback)?;
        std::str::from_utf8(raw).map_err(|_| Bail::Fallback)
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            // One compare for the usual case: JSON's whitespace is all
            // at or below the space.
            if c > b' ' {
                break;
            }
            if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    #[inline]
    fn eat(&mut self, c: u8) -> R<()> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(Bail::Fallback)
        }
    }

    fn top(&mut self, sc: &mut Scratch) -> R<()> {
        self.ws();
        if self.peek() != Some(b'{') {
            return Err(Bail::Fallback);
        }
        let stop = self.object(sc, 0, true)?;
        if stop {
            return Ok(());
        }
        self.ws();
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(Bail::Fallback)
        }
    }

    fn enter(&mut self) -> R<()> {
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            return Err(Bail::Fallback);
        }
        Ok(())
    }

    /// Reads a string whose opening quote is at `self.i`; returns the
    /// content's byte range and whether it holds escapes.
    #[inline(always)]
    fn string(&mut self) -> R<(usize, usize, bool)> {
        let start = self.i + 1;
        let (end, escaped) = string_end(self.b, start)?;
        self.i = end + 1;
        Ok((start, end, escaped))
    }

    /// `number`, with the literal's [`NumShape`].
    #[inline]
    fn number_shaped(&mut self) -> R<(usize, usize, NumShape)> {
        let start = self.i;
        let (end, shape) = number_end_shaped(self.b, start)?;
        self.i = end;
        Ok((start, end, shape))
    }

    #[inline]
    fn literal(&mut self, word: &[u8]) -> R<()> {
        if self.b.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Bail::Fallback)
        }
    }

    /// Skips one value, validating it, without building anything.
    fn skip(&mut self) -> R<()> {
        // Scalars directly (most skipped members are strings or numbers).
        match self.b.get(self.i) {
            Some(b'"') => {
                self.i = string_end(self.b, self.i + 1)?.0 + 1;
                return Ok(());
            }
            Some(b'-' | b'0'..=b'9') => {
                self.i = number_end(self.b, self.i)?;
                return Ok(());
            }
            _ => {}
        }
        let base = self.st.skip_stack.len();
        let r = self.skip_inner(base);
        self.st.skip_stack.truncate(base);
        r
    }

    fn skip_inner(&mut self, base: usize) -> R<()> {
        let b = self.b;
        let mut i = self.i;
        let stack = &mut self.st.skip_stack;
        // Containers this skip may open before the depth limit.
        let room = self.opts.max_depth.saturating_sub(self.depth) + base;
        'value: loop {
            i = skip_ws(b, i);
            let Some(&c) = b.get(i) else {
                return Err(Bail::Fallback);
            };
            match c {
                b'"' => i = string_end(b, i + 1)?.0 + 1,
                b'-' | b'0'..=b'9' => i = number_end(b, i)?,
                b'{' => {
                    i = skip_ws(b, i + 1);
                    if b.get(i) == Some(&b'}') {
                        i += 1;
                    } else {
                        if stack.len() >= room {
                            return Err(Bail::Fallback);
                        }
                        stack.push(true);
                        i = member_key(b, i)?;
                        continue 'value;
                    }
                }
                b'[' => {
                    i = skip_ws(b, i + 1);
                    if b.get(i) == Some(&b']') {
                        i += 1;
                    } else {
                        if stack.len() >= room {
                            return Err(Bail::Fallback);
                        }
                        stack.push(false);
                        continue 'value;
                    }
                }
                b't' => i = word(b, i, b"true")?,
                b'f' => i = word(b, i, b"false")?,
                b'n' => i = word(b, i, b"null")?,
                _ => return Err(Bail::Fallback),
            }
            // A value is complete: continue or close the open containers.
            loop {
                let Some(&in_object) = stack.last().filter(|_| stack.len() > base) else {
                    self.i = i;
                    return Ok(());
                };
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(b',') => {
                        i += 1;
                        if in_object {
                            i = member_key(b, skip_ws(b, i))?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        i += 1;
                        stack.pop();
                    }
                    Some(b']') if !in_object => {
                        i += 1;
                        stack.pop();
                    }
                    _ => return Err(Bail::Fallback),
                }
            }
        }
    }

    /// Walks an object whose `{` is at `self.i`, at trie node `node`.
    /// Returns true when the scan may stop early (top level only).
    fn object(&mut self, sc: &mut Scratch, node: u32, top: bool) -> R<bool> {
        self.i += 1;
        self.enter()?;
        self.st.objects = self.st.objects.wrapping_add(1);
        if self.st.objects == 0 {
            self.st.seen.iter_mut().for_each(|x| *x = 0);
            self.st.objects = 1;
        }
        let this = self.st.objects;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            self.depth -= 1;
            return Ok(false);
        }
        let want = if top && self.opts.early_exit {
            self.m
                .nodes
                .get(node as usize)
                .map_or(0, |n| n.child_count())
        } else {
            usize::MAX
        };
        let mut top_children = 0usize;
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(Bail::Fallback);
            }
            let (ks, ke, kesc) = self.string()?;
            let (target, direct) = self.resolve(node, ks, ke, kesc)?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            match target {
                Some(t) => {
                    // A key repeated on a path rules read: the full parser
                    // keeps the last one (SPEC.md §2.11).
                    match self.st.seen.get_mut(t as usize) {
                        Some(x) if *x != this => *x = this,
                        _ => return Err(Bail::Fallback),
                    }
                    self.value(sc, t)?;
                    if direct {
                        top_children += 1;
                    }
                }
                None => self.skip()?,
            }
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    if top_children >= want {
                        return Ok(true);
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(false);
                }
                _ => return Err(Bail::Fallback),
            }
        }
    }

    /// The trie node a key leads to from `node` (a dotted key walks one
    /// segment per part), and whether it is a direct child.
    fn resolve(&mut self, node: u32, ks: usize, ke: usize, esc: bool) -> R<(Option<u32>, bool)> {
        // Keys are compared as bytes: rule segments are valid UTF-8, so
        // only valid keys can equal them (the input's UTF-8 is checked as a
        // whole unless early exit is on).
        let key: &[u8] = if esc {
            let raw = self.text(ks, ke)?;
            self.st.key.clear();
            unescape(raw, &mut self.st.key)?;
            self.st.key.as_bytes()
        } else {
            self.b.get(ks..ke).ok_or(Bail::Fallback)?
        };
        let nodes = &self.m.nodes;
        if !has_dot(key) {
            let c = nodes.get(node as usize).and_then(|x| x.child(key));
            return Ok((c, c.is_some()));
        }
        let mut n = node;
        for seg in key.split(|&b| b == b'.') {
            match nodes.get(n as usize).and_then(|x| x.child(seg)) {
                Some(c) => n = c,
                None => return Ok((None, false)),
            }
        }
        Ok((Some(n), false))
    }

    /// In early-exit mode, stops the walk once every live path has a value
    /// and no array is open.
    #[inline]
    fn after_leaf(&self, sc: &Scratch) -> R<()> {
        if self.opts.early_exit && self.st.arrays.is_empty() && self.m.all_paths_seen(sc) {
            Err(Bail::Done)
        } else {
            Ok(())
        }
    }

    /// A value at trie node `node`.
    fn value(&mut self, sc: &mut Scratch, node: u32) -> R<()> {
        let Some(n) = self.m.nodes.get(node as usize) else {
            return self.skip();
        };
        let path = n.path.filter(|&p| self.m.path_live(p));
        let children = n.has_children();
        match self.peek() {
            Some(b'{') => {
                if children {
                    self.object(sc, node, false).map(|_| ())
                } else {
                    self.skip()
                }
            }
            Some(b'[') => {
                if children || path.is_some() {
                    self.array(sc, node)
                } else {
                    self.skip()
                }
            }
            Some(b'"') => {
                let (s, e, esc) = self.string()?;
                if let Some(p) = path {
                    let raw = self.text(s, e)?;
                    if esc {
                        let mut buf = std::mem::take(&mut self.st.val);
                        buf.clear();
                        let r = unescape(raw, &mut buf);
                        if r.is_ok() {
                            self.m.leaf(sc, p, LeafRef::Str(&buf), &self.st.arrays);
                        }
                        self.st.val = buf;
                        r?;
                    } else {
                        self.m.leaf(sc, p, LeafRef::Str(raw), &self.st.arrays);
                    }
                    self.after_leaf(sc)?;
                }
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                let (s, e, shape) = self.number_shaped()?;
                if let Some(p) = path {
                    let text = self.text(s, e)?;
                    let wants = self
                        .m
                        .paths
                        .get(p as usize)
                        .is_some_and(|x| x.wants_numbers);
                    let leaf = if wants {
                        LeafRef::RawNum(text, shape)
                    } else {
                        LeafRef::Num(text, None)
                    };
                    self.m.leaf(sc, p, leaf, &self.st.arrays);
                    self.after_leaf(sc)?;
                }
                Ok(())
            }
            Some(b't') => self.word_leaf(sc, path, b"true", LeafRef::Bool(true)),
            Some(b'f') => self.word_leaf(sc, path, b"false", LeafRef::Bool(false)),
            Some(b'n') => self.word_leaf(sc, path, b"null", LeafRef::Null),
            _ => Err(Bail::Fallback),
        }
    }

    /// `true`, `false` or `null`, handed to the machine when a rule reads
    /// the path.
    fn word_leaf(
        &mut self,
        sc: &mut Scratch,
        path: Option<u32>,
        word: &[u8],
        leaf: LeafRef<'static>,
    ) -> R<()> {
        self.literal(word)?;
        if let Some(p) = path {
            self.m.leaf(sc, p, leaf, &self.st.arrays);
            self.after_leaf(sc)?;
        }
        Ok(())
    }

    /// An array at a node rules read: each element at the same node, with
    /// its position recorded for array consistency (SPEC.md §2.12).
    fn array(&mut self, sc: &mut Scratch, node: u32) -> R<()> {
        self.i += 1;
        self.enter()?;
        let id = self.next_array;
        self.next_array += 1;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            self.depth -= 1;
            return Ok(());
        }
        let mut k = 0u32;
        loop {
            self.ws();
            self.st.arrays.push((id, k));
            let r = self.value(sc, node);
            self.st.arrays.pop();
            r?;
            self.ws();
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    k += 1;
                }
                Some(b']') => {
                    self.i += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(Bail::Fallback),
            }
        }
    }
}

/// Whether `key` holds a `.`: a word (or two overlapping halves) at a
/// time, the last word overlapping the one before it. Keys are short: this
/// beats both a byte loop and a memchr call.
#[inline(always)]
fn has_dot(key: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const DOTS: u64 = ONES * b'.' as u64;
    // Exact for "some byte is a dot": the lowest zero byte of `w ^ DOTS`
    // always sets its high bit, and none is set without a zero byte.
    let dot_in = |w: u64| {
        let x = w ^ DOTS;
        x.wrapping_sub(ONES) & !x & HIGH != 0
    };
    let n = key.len();
    if n >= 8 {
        let mut at = 0;
        while let Some(c) = key.get(at..).and_then(|r| r.first_chunk::<8>()) {
            if dot_in(u64::from_le_bytes(*c)) {
                return true;
            }
            at += 8;
        }
        key.get(n - 8..)
            .and_then(|r| r.first_chunk::<8>())
            .is_some_and(|c| dot_in(u64::from_le_bytes(*c)))
    } else if n >= 4 {
        let half = |at: usize| {
            key.get(at..)
                .and_then(|r| r.first_chunk::<4>())
                .map_or(0, |c| u64::from(u32::from_le_bytes(*c)))
        };
        // The upper half repeats the lower one's first byte where the
        // halves overlap; no byte outside the key is read.
        dot_in(half(0) | half(n - 4) << 32)
    } else {
        // A plain loop over at most three bytes.
        #[allow(clippy::manual_contains)]
        key.iter().any(|&c| c == b'.')
    }
}

#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    // One compare for the usual case: JSON's whitespace is all at or
    // below the space.
    match b.get(i) {
        Some(&c) if c > b' ' => return i,
        None => return i,
        _ => {}
    }
    while let Some(&c) = b.get(i) {
        if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// At a member's key (whitespace skipped): reads `"key"` and `:`,
/// returns the position after the colon.
#[inline(always)]
fn member_key(b: &[u8], i: usize) -> R<usize> {
    if b.get(i) != Some(&b'"') {
        return Err(Bail::Fallback);
    }
    let i = skip_ws(b, string_end(b, i + 1)?.0 + 1);
    if b.get(i) == Some(&b':') {
        Ok(i + 1)
    } else {
        Err(Bail::Fallback)
    }
}

#[inline(always)]
fn word(b: &[u8], i: usize, w: &[u8]) -> R<usize> {
    if b.get(i..i + w.len()) == Some(w) {
        Ok(i + w.len())
    } else {
        Err(Bail::Fallback)
    }
}

/// From just after an opening quote: the position of the closing quote
/// and whether escapes were seen. Validates escapes and rejects raw
/// control characters (UTF-8 is checked separately).
#[inline(always)]
#[allow(clippy::indexing_slicing)] // a u8 into a 256-entry table
fn string_end(b: &[u8], mut i: usize) -> R<(usize, bool)> {
    let mut escaped = false;
    loop {
        // One- and two-byte strings (keys such as "x") byte by byte.
        let mut n = 0;
        while n < 2 {
            match b.get(i) {
                Some(&c) if !STR_STOP[c as usize] => i += 1,
                _ => break,
            }
            n += 1;
        }
        if n == 2 {
            // Then eight bytes at a time: the lowest flagged byte of the
            // mask is exact (a borrow only flags bytes above a real hit),
            // so the first quote, backslash or control byte is found
            // directly; the input's last few bytes one at a time.
            loop {
                let Some(chunk) = b.get(i..).and_then(|r| r.first_chunk::<8>()) else {
                    while let Some(&c) = b.get(i) {
                        if STR_STOP[c as usize] {
                            break;
                        }
                        i += 1;
                    }
                    break;
                };
                let m = special_bytes(u64::from_le_bytes(*chunk));
                if m != 0 {
                    i += (m.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
        }
        match b.get(i) {
            Some(b'"') => return Ok((i, escaped)),
            Some(b'\\') => {
                escaped = true;
                match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') => {
                        let hex = b.get(i + 2..i + 6).ok_or(Bail::Fallback)?;
                        if !hex.iter().all(u8::is_ascii_hexdigit) {
                            return Err(Bail::Fallback);
                        }
                        i += 6;
                    }
                    _ => return Err(Bail::Fallback),
                }
            }
            _ => return Err(Bail::Fallback),
        }
    }
}

#[inline(always)]
fn digits(b: &[u8], mut i: usize) -> usize {
    // Eight bytes at a time, stopping at the first non-digit exactly.
    while let Some(chunk) = b.get(i..).and_then(|r| r.first_chunk::<8>()) {
        let m = non_digits(u64::from_le_bytes(*chunk));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(c) = b.get(i) {
        if c.is_ascii_digit() {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// The end of the number starting at `i`, validating JSON's grammar
/// (as strictly as the full parser: no leading zeros, digits after `.`
/// and after the exponent).
#[inline(always)]
fn number_end(b: &[u8], i: usize) -> R<usize> {
    // The shape is dropped: the compiler leaves its bookkeeping out.
    number_end_shaped(b, i).map(|(end, _)| end)
}

/// What the scanner learnt of a number literal while validating it: the
/// length of its integer digits and of its fraction (`0` if none), or
/// [`NumShape::UNKNOWN`] (an exponent, or the literal did not come from
/// the scanner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NumShape {
    pub(crate) int_len: u16,
    pub(crate) frac_len: u16,
}

impl NumShape {
    pub(crate) const UNKNOWN: NumShape = NumShape {
        int_len: 0,
        frac_len: 0,
    };
}

/// `number_end`, also giving the literal's [`NumShape`].
#[inline(always)]
fn number_end_shaped(b: &[u8], start: usize) -> R<(usize, NumShape)> {
    let mut i = start;
    if b.get(i) == Some(&b'-') {
        i += 1;
    }
    let int_start = i;
    match b.get(i) {
        Some(b'0') => {
            i += 1;
            if b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(Bail::Fallback);
            }
        }
        Some(b'1'..=b'9') => i = digits(b, i + 1),
        _ => return Err(Bail::Fallback),
    }
    let int_len = i - int_start;
    let mut frac_len = 0;
    if b.get(i) == Some(&b'.') {
        let j = digits(b, i + 1);
        if j == i + 1 {
            return Err(Bail::Fallback);
        }
        frac_len = j - i - 1;
        i = j;
    }
    if let Some(b'e' | b'E') = b.get(i) {
        i += 1;
        if let Some(b'+' | b'-') = b.get(i) {
            i += 1;
        }
        let j = digits(b, i);
        if j == i {
            return Err(Bail::Fallback);
        }
        return Ok((j, NumShape::UNKNOWN));
    }
    let shape = match (u16::try_from(int_len), u16::try_from(frac_len)) {
        (Ok(int_len), Ok(frac_len)) => NumShape { int_len, frac_len },
        _ => NumShape::UNKNOWN,
    };
    Ok((i, shape))
}

/// Unescapes string content (escapes already validated), the way the full
/// parser does: a lone surrogate becomes U+FFFD.
fn unescape(raw: &str, out: &mut String) -> R<()> {
    let b = raw.as_bytes();
    let mut i = 0;
    let mut run = 0;
    while i < b.len() {
        if b.get(i) != Some(&b'\\') {
            i += 1;
            continue;
        }
        out.push_str(raw.get(run..i).ok_or(Bail::Fallback)?);
        let c = b.get(i + 1).copied().ok_or(Bail::Fallback)?;
        i += 2;
        if let Some(c) = evmatch_json::simple_escape(c) {
            out.push(c);
        } else if c == b'u' {
            let hi = hex4(raw, i)?;
            i += 4;
            let pair = if b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u') {
                evmatch_json::surrogate_pair(hi, hex4(raw, i + 2)?)
            } else {
                None
            };
            match pair {
                Some(c) => {
                    out.push(c);
                    i += 6;
                }
                // A lone surrogate becomes U+FFFD, as in the full parser.
                None => out.push(char::from_u32(hi).unwrap_or('\u{FFFD}')),
            }
        } else {
            return Err(Bail::Fallback);
        }
        run = i;
    }
    out.push_str(raw.get(run..).ok_or(Bail::Fallback)?);
    Ok(())
}

fn hex4(raw: &str, at: usize) -> R<u32> {
    let h = raw.get(at..at + 4).ok_or(Bail::Fallback)?;
    u32::from_str_radix(h, 16).map_err(|_| Bail::Fallback)
}

/// Powers of ten that are exact doubles.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Bounds `(lo, hi)` on the double a plain decimal literal (a sign,
/// digits, a fraction, no exponent) parses to, from its first 15
/// significant digits: with `m` those digits as an integer and `e` the
/// scale, the literal lies in `[m, m + 1) * 10^e`, and both ends are one
/// correctly rounded operation on exact doubles (`m + 1 <= 10^15 < 2^53`,
/// `|e| <= 22`), so rounding, being monotonic, keeps the parsed double
/// between them. `lo == hi` when no digit was dropped: then it *is* the
/// parsed double; zero gives `(0, 0)`. `None`: an exponent, or a scale
/// out of range (the caller parses in full).
#[inline]
pub(crate) fn bracket(text: &str) -> Option<(f64, f64)> {
    let b = text.as_bytes();
    let (neg, b) = match b.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, b),
    };
    // The common shape: a non-zero integer part of at most 15 digits.
    let dot = b.iter().position(|&c| c == b'.').unwrap_or(b.len());
    let (int, frac) = b.split_at(dot);
    let frac = frac.get(1..).unwrap_or(&[]);
    if int.is_empty() || int.len() > 15 || int.first() == Some(&b'0') {
        return bracket_slow(neg, b);
    }
    let mut m = 0u64;
    for &c in int {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        m = m * 10 + u64::from(d);
    }
    let take = (15 - int.len()).min(frac.len());
    let (kept, dropped) = frac.split_at(take);
    let mut rest = kept;
    while let Some((chunk, tail)) = rest.split_first_chunk::<8>() {
        m = m * 100_000_000 + u64::from(eight_digits(chunk)?);
        rest = tail;
    }
    for &c in rest {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        m = m * 10 + u64::from(d);
    }
    // Dropped digits widen the bracket (when all are zeros it need not,
    // but a wider bracket is still a bracket).
    if !dropped.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let p = *POW10.get(take)?;
    // `m + 1 <= 10^15` fits an i64: a one-instruction conversion.
    let lo = m as i64 as f64 / p;
    let hi = if dropped.is_empty() {
        lo
    } else {
        (m + 1) as i64 as f64 / p
    };
    Some(if neg { (-hi, -lo) } else { (lo, hi) })
}

/// A number literal of the plain shape most data uses: a sign, a
/// non-zero integer part of 1 to 7 digits, a point, 1 to 16 fraction
/// digits, no exponent, and at least 8 bytes after the sign. Such a
/// literal compares with a bound's decimal text byte for byte (see
/// `values::BoundKey`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlainLit {
    pub(crate) neg: bool,
    pub(crate) int_len: usize,
    /// The first eight bytes after the sign, big-endian: byte order is
    /// then number order.
    pub(crate) head: u64,
    /// `significant_digits` of the literal.
    pub(crate) sig: usize,
    /// The literal's place as two words whose order is number order up to
    /// the first eight bytes after the sign (see [`order_words`]).
    pub(crate) order: (u64, u64),
}

impl PlainLit {
    /// The literal `b` whose shape is known: its sign, integer and
    /// fraction lengths, and the first word after the sign.
    #[inline(always)]
    fn new(b: &[u8], neg: bool, int_len: usize, frac_len: usize, w0: u64) -> PlainLit {
        let sig = if b.last() == Some(&b'0') {
            significant_digits(b)
        } else {
            int_len + frac_len
        };
        let head = w0.swap_bytes();
        PlainLit {
            neg,
            int_len,
            head,
            sig,
            order: order_words(neg, int_len as u64, head),
        }
    }
}

/// Two words ordering plain literals and bound keys by value as far as
/// their sign, integer length and first eight bytes tell: equal words mean
/// the full texts must be compared.
#[inline(always)]
pub(crate) fn order_words(neg: bool, int_len: u64, head: u64) -> (u64, u64) {
    if neg {
        (!int_len & (u64::MAX >> 1), !head)
    } else {
        ((1 << 63) | int_len.min(u64::MAX >> 1), head)
    }
}

/// Eight bytes of `b` from `i`, little-endian.
#[inline(always)]
fn load8(b: &[u8], i: usize) -> Option<u64> {
    b.get(i..)?
        .first_chunk::<8>()
        .map(|c| u64::from_le_bytes(*c))
}

/// `text` (a literal the scanner or the parser validated) as a
/// [`PlainLit`], if it has that shape.
#[inline]
pub(crate) fn plain_literal(text: &str) -> Option<PlainLit> {
    let b = text.as_bytes();
    let neg = b.first() == Some(&b'-');
    let s = usize::from(neg);
    let n = b.len();
    let w0 = load8(b, s)?;
    let nd = non_digits(w0);
    if nd == 0 || w0 & 0xFF == u64::from(b'0') {
        return None;
    }
    let int_len = (nd.trailing_zeros() / 8) as usize;
    if int_len == 0 || b.get(s + int_len) != Some(&b'.') {
        return None;
    }
    // The fraction runs to the end and is all digits (so there is no
    // exponent): checked with the words at its start and at its end,
    // which cover it.
    let f0 = s + int_len + 1;
    let frac_len = n.checked_sub(f0).filter(|&f| (1..=16).contains(&f))?;
    // (`non_digits` is exact only up to the first non-digit, so a short
    // fraction is shifted down, past the point, before it is tested.)
    let tail = load8(b, n - 8)?;
    let bad = if frac_len >= 8 {
        non_digits(tail)
    } else {
        non_digits(tail >> (8 * (8 - frac_len))) & ((1u64 << (8 * frac_len)) - 1)
    };
    if bad != 0 {
        return None;
    }
    if frac_len > 8 && non_digits(load8(b, f0)?) != 0 {
        return None;
    }
    Some(PlainLit::new(b, neg, int_len, frac_len, w0))
}

/// [`plain_literal`] of a literal whose shape the scanner measured (it
/// validated the digits): no byte is looked at twice.
#[inline(always)]
pub(crate) fn plain_literal_shaped(text: &str, shape: NumShape) -> Option<PlainLit> {
    if shape == NumShape::UNKNOWN {
        return plain_literal(text);
    }
    let int_len = usize::from(shape.int_len);
    let frac_len = usize::from(shape.frac_len);
    if !(1..=7).contains(&int_len) || !(1..=16).contains(&frac_len) {
        return None;
    }
    let b = text.as_bytes();
    let neg = b.first() == Some(&b'-');
    let s = usize::from(neg);
    let w0 = load8(b, s)?;
    if w0 & 0xFF == u64::from(b'0') {
        return None;
    }
    Some(PlainLit::new(b, neg, int_len, frac_len, w0))
}

/// The bytes of a plain literal after its sign, padded with `0` to 32
/// bytes, as four big-endian words (`None` if longer).
pub(crate) fn padded_words(text: &str) -> Option<[u64; 4]> {
    let b = text.as_bytes();
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let mut buf = [b'0'; 32];
    buf.get_mut(..b.len())?.copy_from_slice(b);
    let mut w = [0u64; 4];
    for (o, c) in w.iter_mut().zip(buf.chunks_exact(8)) {
        *o = u64::from_be_bytes(c.try_into().ok()?);
    }
    Some(w)
}

/// Whether eight bytes (little-endian in `v`) are all ASCII digits:
/// every byte is 0x30..=0x39, so its high nibble is 3 and stays 3 when 6
/// is added.
#[inline]
fn all_digits(v: u64) -> bool {
    v & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030
        && v.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0 == 0x3030_3030_3030_3030
}

/// Eight ASCII digits as their value (`None` if any is not a digit).
#[inline]
fn eight_digits(chunk: &[u8; 8]) -> Option<u32> {
    let v = u64::from_le_bytes(*chunk);
    if !all_digits(v) {
        return None;
    }
    let v = v - 0x3030_3030_3030_3030;
    // Pairs, then quads, then the whole: each step merges neighbours
    // (the first digit is the lowest byte).
    let v = (v * 10 + (v >> 8)) & 0x00FF_00FF_00FF_00FF;
    let v = (v * 100 + (v >> 16)) & 0x0000_FFFF_0000_FFFF;
    let v = (v * 10_000 + (v >> 32)) & 0xFFFF_FFFF;
    u32::try_from(v).ok()
}

/// `bracket` for any other plain decimal (leading zeros, long integer
/// parts).
fn bracket_slow(neg: bool, b: &[u8]) -> Option<(f64, f64)> {
    let mut m: u64 = 0;
    let mut sig = 0u32;
    // Integer digits dropped (each scales up) and fraction digits kept
    // (each scales down).
    let mut dropped_int = 0i32;
    let mut kept_frac = 0i32;
    let mut inexact = false;
    let mut point = false;
    for &c in b {
        match c {
            b'0'..=b'9' => {
                let d = u64::from(c - b'0');
                if sig < 15 {
                    if m == 0 && d == 0 {
                        // A leading zero: only its place counts.
                        kept_frac += i32::from(point);
                        continue;
                    }
                    m = m * 10 + d;
                    sig += 1;
                    kept_frac += i32::from(point);
                } else {
                    dropped_int += i32::from(!point);
                    inexact |= d != 0;
                }
            }
            b'.' if !point => point = true,
            _ => return None,
        }
    }
    if m == 0 {
        // Zero, however spelled (`0`, `0.0`, `-0.000`): exactly zero.
        return Some(if neg { (-0.0, -0.0) } else { (0.0, 0.0) });
    }
    let e = dropped_int - kept_frac;
    let p = *POW10.get(e.unsigned_abs() as usize)?;
    let scale = |x: u64| {
        if e >= 0 {
            x as f64 * p
        } else {
            x as f64 / p
        }
    };
    let lo = scale(m);
    let hi = if inexact { scale(m + 1) } else { lo };
    Some(if neg { (-hi, -lo) } else { (lo, hi) })
}

/// Whether a literal whose double is `d` is comparable, when that is
/// cheap to tell: zero, a literal of at most 15 significant digits with a
/// normal value (always its own shortest spelling), or one of more than 17
/// (never). `None`: it takes the full check.
#[inline]
pub(crate) fn quick_comparable(text: &str, d: Option<f64>) -> Option<bool> {
    let Some(d) = d else {
        return Some(false);
    };
    let sig = significant_digits(text.as_bytes());
    if d == 0.0 {
        return Some(sig == 0);
    }
    if sig <= 15 && d.abs() >= f64::MIN_POSITIVE {
        return Some(true);
    }
    if sig > 17 {
        return Some(false);
    }
    None
}

#[inline]
fn significant_digits(b: &[u8]) -> usize {
    let mut sig = 0usize;
    let mut leading = true;
    let mut zeros = 0usize;
    for &c in b {
        match c {
            b'0' if !leading => zeros += 1,
            b'1'..=b'9' => {
                leading = false;
                sig += zeros + 1;
                zeros = 0;
            }
            b'e' | b'E' => break,
            _ => {}
        }
    }
    sig
}

/// The comparable value of a number literal (SPEC.md §3.2): the value
/// when the literal is exactly the shortest round-trip spelling of it.
/// Fast paths: a finite normal result of a literal with at most 15
/// significant digits always is; otherwise the shortest spelling (ryu) is
/// compared with the literal, without allocating.
#[inline]
pub(crate) fn comparable(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let sig = significant_digits(b);
    let d: f64 = text.parse().ok()?;
    if !d.is_finite() {
        return None;
    }
    if d == 0.0 {
        // Zero spelled with zeros only; a non-zero literal that underflows
        // is not comparable.
        return (sig == 0).then_some(0.0);
    }
    if sig <= 15 && d.abs() >= f64::MIN_POSITIVE {
        return Some(d);
    }
    if sig > 17 {
        return None;
    }
    // The usual case: the literal is the shortest spelling itself (what
    // every standard serialiser writes). Anything else, including the
    // rare literals with two shortest spellings, takes the definition.
    let mut buf = ryu::Buffer::new();
    if buf.format_finite(d).as_bytes() == b {
        return Some(d);
    }
    evmatch_json::comparable_f64(text)
}

#[cfg(test)]
mod tests {
    use super::comparable;
    use proptest::prelude::*;

    /// SPEC.md §1.3 (dotted keys): `has_dot` finds a dot at every
    /// position of keys of every length up to 40, and none in keys
    /// without one (bytes around `.` and with the high bit set included).
    #[test]
    fn has_dot_finds_every_dot() {
        for n in 0..40usize {
            for fill in [b'a', b'-', b'/', 0x80, 0xAE, 0xFF, 0x00] {
                let key = vec![fill; n];
                assert!(!super::has_dot(&key), "{key:?}");
                for at in 0..n {
                    let mut k = key.clone();
                    k[at] = b'.';
                    assert!(super::has_dot(&k), "{k:?}");
                }
            }
        }
        assert!(!super::has_dot(b"MAPBLKLOT"));
        assert!(super::has_dot(b"detail.id"));
    }

    #[test]
    fn comparable_agrees_with_the_definition_on_hard_literals() {
        // SPEC.md §3.2: exactly the shortest round-trip spelling.
        for t in [
            "-122.41970930150694",
            "37.718875827127",
            "0.10000000000000001",
            "0.1",
            "12345678901234567",
            "9007199254740993",
            "9007199254740992",
            "1E309",
            "1E-325",
            "1E-320",
            "5e-324",
            "4.9e-324",
            "-0",
            "0.0e10",
            "1.7976931348623157e308",
            "2.2250738585072014E-308",
            "123456789012345678901234567890",
            "1e400",
            "-1E-400",
            "100.000000000000000000",
            "0.30000000000000004",
            "0.3000000000000000444",
            "1.0000000000000002",
            "1.00000000000000020",
            "3.0e2",
            "30000e-2",
        ] {
            assert_eq!(comparable(t), evmatch_json::comparable_f64(t), "{t}");
        }
    }

    /// `bracket` must hold the double the literal parses to, and be it
    /// when the bracket is a point.
    fn check_bracket(t: &str) -> Result<(), TestCaseError> {
        let exact: f64 = t.parse().unwrap();
        if let Some((lo, hi)) = super::bracket(t) {
            prop_assert!(lo <= exact && exact <= hi, "{t}: {lo} {exact} {hi}");
            if lo == hi {
                prop_assert_eq!(lo.to_bits(), exact.to_bits(), "{}", t);
            }
        }
        Ok(())
    }

    #[test]
    fn bracket_holds_the_parsed_double() {
        for t in [
            "-122.44074106063145",
            "37.746953203217664",
            "0.000123",
            "-0.5",
            "1",
            "123456789012345678901234",
            "9007199254740993",
            "0.30000000000000004",
            "12345678901234.5678",
            "1.00000000000000000000001",
            "99999999999999999",
        ] {
            check_bracket(t).unwrap();
        }
        // Exponents and long scales take the full parse.
        for t in ["1e5", "1E-7", "0.00000000000000000000000001"] {
            assert_eq!(super::bracket(t), None, "{t}");
        }
        // A short fraction of zeros is still a plain literal.
        let lit = super::plain_literal("100.0000").unwrap();
        assert_eq!((lit.int_len, lit.sig), (3, 1));
        // Zero is exactly zero, whatever its spelling.
        for t in ["0", "0.0", "-0.0", "-0.000"] {
            let (lo, hi) = super::bracket(t).unwrap();
            assert!(lo == 0.0 && hi == 0.0, "{t}");
        }
        assert_eq!(super::bracket("12.5"), Some((12.5, 12.5)));
    }

    /// `string_end` byte by byte, as the grammar says (SPEC.md §1.1).
    fn string_end_reference(b: &[u8], mut i: usize) -> Option<(usize, bool)> {
        let mut escaped = false;
        loop {
            match *b.get(i)? {
                b'"' => return Some((i, escaped)),
                b'\\' => {
                    escaped = true;
                    match *b.get(i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' => {
                            let hex = b.get(i + 2..i + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            i += 6;
                        }
                        _ => return None,
                    }
                }
                c if c < 0x20 => return None,
                _ => i += 1,
            }
        }
    }

    proptest! {
        #[test]
        fn digits_stops_at_the_first_non_digit(
            body in proptest::collection::vec(
                prop_oneof![
                    6 => 0x30u8..=0x39,
                    1 => Just(0x2Fu8),
                    1 => Just(0x3Au8),
                    1 => Just(b'.'),
                    1 => Just(b'e'),
                    1 => any::<u8>(),
                ],
                0..40,
            ),
            start in 0usize..3,
        ) {
            let want = start
                + body
                    .get(start..)
                    .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count());
            prop_assert_eq!(super::digits(&body, start), want, "{:?}", body);
        }

        #[test]
        fn string_end_finds_what_the_grammar_says(
            body in proptest::collection::vec(
                prop_oneof![
                    8 => Just(b'a'),
                    1 => Just(b'"'),
                    1 => Just(b'\\'),
                    1 => Just(0x1Fu8),
                    1 => Just(0x7Fu8),
                    1 => Just(0xC3u8),
                    1 => Just(b'n'),
                    1 => Just(b'u'),
                    1 => Just(b'0'),
                    1 => Just(b' '),
                ],
                0..40,
            ),
            start in 0usize..3,
        ) {
            let got = super::string_end(&body, start).ok();
            prop_assert_eq!(got, string_end_reference(&body, start), "{:?}", body);
        }

        #[test]
        fn bracket_holds_the_parsed_double_of_any_plain_decimal(
            neg in any::<bool>(),
            int in "[1-9][0-9]{0,24}|0",
            frac in proptest::option::of("[0-9]{1,25}"),
        ) {
            let t = format!(
                "{}{int}{}",
                if neg { "-" } else { "" },
                frac.map(|f| format!(".{f}")).unwrap_or_default()
            );
            check_bracket(&t)?;
        }

        /// The scanner's measured shape gives the same plain literal as
        /// looking at the text, and the same end as `number_end` (a short
        /// fraction of zeros right after the point, `100.0000`, once
        /// tripped the text's word test).
        #[test]
        fn shaped_plain_literals_agree_with_the_text(
            neg in any::<bool>(),
            int in "[1-9][0-9]{0,9}|0",
            frac in proptest::option::of("[0-9]{1,20}"),
            exp in proptest::option::of("[eE][+-]?[0-9]{1,3}"),
        ) {
            let t = format!(
                "{}{int}{}{}",
                if neg { "-" } else { "" },
                frac.map(|f| format!(".{f}")).unwrap_or_default(),
                exp.unwrap_or_default(),
            );
            let framed = format!("{t},");
            let (end, shape) = super::number_end_shaped(framed.as_bytes(), 0).unwrap();
            prop_assert_eq!(Some(end), super::number_end(framed.as_bytes(), 0).ok());
            prop_assert_eq!(end, t.len());
            let a = super::plain_literal_shaped(&t, shape);
            let b = super::plain_literal(&t);
            prop_assert_eq!(a.map(|l| (l.neg, l.int_len, l.head, l.sig, l.order)), b.map(|l| (l.neg, l.int_len, l.head, l.sig, l.order)));
        }

        #[test]
        fn bracket_holds_the_parsed_double_of_printed_doubles(d in -1e9f64..1e9) {
            check_bracket(&format!("{d}"))?;
            check_bracket(&format!("{d:.3}"))?;
        }

        #[test]
        fn comparable_agrees_with_the_definition(d in any::<f64>(), digits in 1usize..19, e in -330i32..330) {
            let shortest = format!("{d:e}");
            prop_assert_eq!(comparable(&shortest), evmatch_json::comparable_f64(&shortest));
            let plain = format!("{d}");
            prop_assert_eq!(comparable(&plain), evmatch_json::comparable_f64(&plain));
            let rounded = format!("{:.*e}", digits, d.abs());
            prop_assert_eq!(comparable(&rounded), evmatch_json::comparable_f64(&rounded));
            let m = format!("1.{}e{e}", "3".repeat(digits));
            prop_assert_eq!(comparable(&m), evmatch_json::comparable_f64(&m));
        }
    }
}
