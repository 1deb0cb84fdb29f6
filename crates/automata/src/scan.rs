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
}

type R<T> = Result<T, Bail>;

/// Reusable buffers of the scanner.
#[derive(Debug, Default, Clone)]
pub(crate) struct ScanState {
    arrays: Vec<(u32, u32)>,
    seen: Vec<u32>,
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

#[inline]
fn has_zero_byte(x: u64) -> bool {
    (x.wrapping_sub(0x0101_0101_0101_0101) & !x & 0x8080_8080_8080_8080) != 0
}

/// Options of one scan.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScanOptions {
    pub(crate) max_depth: usize,
    pub(crate) early_exit: bool,
}

struct Scanner<'a, 'm> {
    b: &'a [u8],
    i: usize,
    m: &'m Machine,
    opts: ScanOptions,
    depth: usize,
    next_array: u32,
    st: ScanState,
}

/// Scans one event into the machine's scratch. On `Err` the scratch holds
/// a partial event and the caller must start over with the full parser.
pub(crate) fn scan(m: &Machine, sc: &mut Scratch, bytes: &[u8], opts: ScanOptions) -> R<()> {
    let st = std::mem::take(&mut sc.scan);
    let mut s = Scanner {
        b: bytes,
        i: 0,
        m,
        opts,
        depth: 0,
        next_array: 0,
        st,
    };
    s.st.arrays.clear();
    s.st.seen.clear();
    let r = s.top(sc);
    sc.scan = s.st;
    r
}

impl<'a> Scanner<'a, '_> {
    /// The text of a string's content. Input reaching the scanner in
    /// validating mode was checked as a whole; in early-exit mode only the
    /// strings read are, here.
    #[inline]
    fn text(&self, start: usize, end: usize) -> R<&'a str> {
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
    #[inline]
    fn string(&mut self) -> R<(usize, usize, bool)> {
        self.i += 1;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Eight bytes at a time while none is special.
            while let Some(chunk) = self.b.get(self.i..self.i + 8) {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                let x = u64::from_le_bytes(w);
                let quote = has_zero_byte(x ^ 0x2222_2222_2222_2222);
                let bs = has_zero_byte(x ^ 0x5C5C_5C5C_5C5C_5C5C);
                let ctrl = has_zero_byte(x & 0xE0E0_E0E0_E0E0_E0E0);
                if quote | bs | ctrl {
                    break;
                }
                self.i += 8;
            }
            let Some(&c) = self.b.get(self.i) else {
                return Err(Bail::Fallback);
            };
            #[allow(clippy::indexing_slicing)] // a u8 into a 256-entry table
            if !STR_STOP[c as usize] {
                self.i += 1;
                continue;
            }
            match c {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Ok((start, end, escaped));
                }
                b'\\' => {
                    escaped = true;
                    match self.b.get(self.i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                        Some(b'u') => {
                            let hex = self.b.get(self.i + 2..self.i + 6).ok_or(Bail::Fallback)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Bail::Fallback);
                            }
                            self.i += 6;
                        }
                        _ => return Err(Bail::Fallback),
                    }
                }
                _ => return Err(Bail::Fallback),
            }
        }
    }

    #[inline]
    fn number(&mut self) -> R<(usize, usize)> {
        let start = self.i;
        let b = self.b;
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => {
                i += 1;
                if b.get(i).is_some_and(u8::is_ascii_digit) {
                    return Err(Bail::Fallback);
                }
            }
            Some(b'1'..=b'9') => {
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return Err(Bail::Fallback),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(Bail::Fallback);
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(b.get(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !b.get(i).is_some_and(u8::is_ascii_digit) {
                return Err(Bail::Fallback);
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
        }
        self.i = i;
        Ok((start, i))
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
        let base = self.st.skip_stack.len();
        let r = self.skip_inner(base);
        self.st.skip_stack.truncate(base);
        r
    }

    fn skip_inner(&mut self, base: usize) -> R<()> {
        let base_depth = self.depth;
        'value: loop {
            self.ws();
            match self.peek() {
                Some(b'{') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b'}') {
                        self.i += 1;
                    } else {
                        self.enter()?;
                        self.st.skip_stack.push(true);
                        if self.peek() != Some(b'"') {
                            return Err(Bail::Fallback);
                        }
                        self.string()?;
                        self.ws();
                        self.eat(b':')?;
                        continue 'value;
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    self.ws();
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        self.enter()?;
                        self.st.skip_stack.push(false);
                        continue 'value;
                    }
                }
                Some(b'"') => {
                    self.string()?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'n') => self.literal(b"null")?,
                _ => return Err(Bail::Fallback),
            }
            // A value is complete: continue or close the open containers.
            loop {
                if self.st.skip_stack.len() == base {
                    self.depth = base_depth;
                    return Ok(());
                }
                let in_object = self.st.skip_stack.last().copied().unwrap_or(false);
                self.ws();
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        if in_object {
                            self.ws();
                            if self.peek() != Some(b'"') {
                                return Err(Bail::Fallback);
                            }
                            self.string()?;
                            self.ws();
                            self.eat(b':')?;
                        }
                        continue 'value;
                    }
                    Some(b'}') if in_object => {
                        self.i += 1;
                        self.st.skip_stack.pop();
                        self.depth -= 1;
                    }
                    Some(b']') if !in_object => {
                        self.i += 1;
                        self.st.skip_stack.pop();
                        self.depth -= 1;
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
        let seen_base = self.st.seen.len();
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
                    if self
                        .st
                        .seen
                        .get(seen_base..)
                        .is_some_and(|v| v.contains(&t))
                    {
                        return Err(Bail::Fallback);
                    }
                    self.st.seen.push(t);
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
                        self.st.seen.truncate(seen_base);
                        return Ok(true);
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    self.depth -= 1;
                    self.st.seen.truncate(seen_base);
                    return Ok(false);
                }
                _ => return Err(Bail::Fallback),
            }
        }
    }

    /// The trie node a key leads to from `node` (a dotted key walks one
    /// segment per part), and whether it is a direct child.
    fn resolve(&mut self, node: u32, ks: usize, ke: usize, esc: bool) -> R<(Option<u32>, bool)> {
        let key: &str = if esc {
            let raw = self.text(ks, ke)?;
            self.st.key.clear();
            unescape(raw, &mut self.st.key)?;
            &self.st.key
        } else {
            self.text(ks, ke)?
        };
        let mut n = node;
        let mut direct = true;
        for (k, seg) in key.split('.').enumerate() {
            if k > 0 {
                direct = false;
            }
            match self
                .m
                .nodes
                .get(n as usize)
                .and_then(|x| x.child(seg.as_bytes()))
            {
                Some(c) => n = c,
                None => return Ok((None, false)),
            }
        }
        Ok((Some(n), direct))
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
                }
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => {
                let (s, e) = self.number()?;
                if let Some(p) = path {
                    let text = self.text(s, e)?;
                    let wants = self
                        .m
                        .paths
                        .get(p as usize)
                        .is_some_and(|x| x.wants_numbers);
                    let value = if wants { comparable(text) } else { None };
                    self.m
                        .leaf(sc, p, LeafRef::Num(text, value), &self.st.arrays);
                }
                Ok(())
            }
            Some(b't') => {
                self.literal(b"true")?;
                if let Some(p) = path {
                    self.m.leaf(sc, p, LeafRef::Bool(true), &self.st.arrays);
                }
                Ok(())
            }
            Some(b'f') => {
                self.literal(b"false")?;
                if let Some(p) = path {
                    self.m.leaf(sc, p, LeafRef::Bool(false), &self.st.arrays);
                }
                Ok(())
            }
            Some(b'n') => {
                self.literal(b"null")?;
                if let Some(p) = path {
                    self.m.leaf(sc, p, LeafRef::Null, &self.st.arrays);
                }
                Ok(())
            }
            _ => Err(Bail::Fallback),
        }
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
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hi = hex4(raw, i)?;
                i += 4;
                if (0xD800..0xDC00).contains(&hi)
                    && b.get(i) == Some(&b'\\')
                    && b.get(i + 1) == Some(&b'u')
                {
                    let lo = hex4(raw, i + 2)?;
                    if (0xDC00..0xE000).contains(&lo) {
                        let cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                        i += 6;
                    } else {
                        out.push('\u{FFFD}');
                    }
                } else {
                    out.push(char::from_u32(hi).unwrap_or('\u{FFFD}'));
                }
            }
            _ => return Err(Bail::Fallback),
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

/// The comparable value of a number literal (SPEC.md §3.2), with a fast
/// path: a finite normal result of a literal with at most 15 significant
/// digits is always the shortest round-trip spelling of itself.
#[inline]
pub(crate) fn comparable(text: &str) -> Option<f64> {
    let b = text.as_bytes();
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
    if sig <= 15 {
        if let Ok(d) = text.parse::<f64>() {
            if d == 0.0 && sig == 0 {
                return Some(0.0);
            }
            if d.is_finite() && d.abs() >= f64::MIN_POSITIVE {
                return Some(d);
            }
        }
    }
    evmatch_json::comparable_f64(text)
}
