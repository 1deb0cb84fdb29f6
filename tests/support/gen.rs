//! Structured inputs for differential testing, decoded from bytes.
//!
//! One decoder serves the proptest in `tests/differential.rs` and the
//! `differential` fuzz target (which includes this file by path): bytes
//! in, a few patterns and one event out, as JSON text. Every choice reads
//! one byte, and an exhausted input reads as zeros, which picks the
//! simplest option, so shrinking the bytes shrinks the case.
//!
//! Patterns use every operator of SPEC.md §2 (exact strings, numbers,
//! booleans and null, prefix, suffix, their ignore-case forms,
//! equals-ignore-case, wildcard, every anything-but form, numeric ranges,
//! exists true/false, cidr, nesting and `$or`). Keys, strings and numbers
//! come from small alphabets shared with the events. Events are built
//! from the patterns' shapes: mostly a value meeting one matcher of a
//! condition (a witness), sometimes a random one, under arrays of objects
//! now and then, with extra members that repeat keys now and then (the
//! last wins, SPEC.md §1.3 #9) and strings spelled with escapes now and
//! then.

#![allow(dead_code)]

/// Reads choices from bytes.
pub struct Gen<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Keys of patterns and events.
const KEYS: [&str; 4] = ["a", "b", "c", "d.e"];
/// Strings of patterns and events.
const STRINGS: [&str; 16] = [
    "",
    "a",
    "ab",
    "ba",
    "abc",
    "A",
    "aB",
    "b",
    "x.y",
    "10.0.0.1",
    "10.0.1.7",
    "192.168.0.255",
    "2001:db8::1",
    "é",
    "a*b",
    "\u{1F600}",
];
/// Number literals of events and exact values: -0, several spellings of
/// one value, values beyond the comparable range (SPEC.md §3.2).
const NUMBERS: [&str; 16] = [
    "0",
    "-0",
    "1",
    "1.0",
    "100",
    "1e2",
    "100.0",
    "-1",
    "2.5",
    "0.1",
    "3.0e2",
    "300",
    "1e400",
    "123456789012345678901234567890",
    "5e9",
    "-7.25",
];
/// Comparable numbers in ascending order of value, each with spellings,
/// for numeric operands (SPEC.md §2.7: bottom below top).
const ORDERED: [&[&str]; 9] = [
    &["-7.25"],
    &["-1", "-1.0"],
    &["0", "-0", "0.0"],
    &["0.1"],
    &["1", "1.0"],
    &["2.5"],
    &["100", "1e2", "100.0"],
    &["300", "3.0e2"],
    &["5e9"],
];
/// Wildcard operands (SPEC.md §2.4), as JSON string content.
const WILDCARDS: [&str; 10] = [
    "*", "a*", "*b", "a*b", "*a*", "ab", "a*b*", "*.*", "\\\\*", "10.*",
];
/// CIDR operands (SPEC.md §2.9).
const CIDRS: [&str; 5] = [
    "10.0.0.0/24",
    "10.0.0.0/8",
    "192.168.0.0/16",
    "10.0.0.0/30",
    "2001:db8::/32",
];
/// Addresses events carry.
const IPS: [&str; 6] = [
    "10.0.0.1",
    "10.0.0.3",
    "10.1.2.3",
    "192.168.3.4",
    "2001:db8::5",
    "11.0.0.1",
];

/// An event value before rendering.
enum E {
    /// A string, quoted at rendering.
    Str(String),
    /// A literal written as is (number, true, false, null).
    Lit(String),
    Arr(Vec<E>),
    Obj(Vec<(String, E)>),
}

/// A pattern before rendering, with what its events need.
enum P {
    /// `$or` of alternatives.
    Or(Vec<Vec<P>>),
    /// A key holding an object.
    Nested(&'static str, Vec<P>),
    /// A key holding a value list: the matchers' texts and witnesses.
    List(&'static str, Vec<(String, Option<E>)>),
}

impl<'a> Gen<'a> {
    /// A decoder over `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Gen { data, pos: 0 }
    }

    /// The next byte, or 0 past the end.
    pub fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    /// A choice among `n` options (n > 0).
    pub fn pick(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    /// True with probability about `k`/8.
    pub fn chance(&mut self, k: u8) -> bool {
        self.byte() % 8 >= 8 - k.min(8)
    }

    fn from<'s>(&mut self, options: &[&'s str]) -> &'s str {
        options.get(self.pick(options.len())).copied().unwrap_or("")
    }

    /// A JSON string literal for `s`, sometimes with escapes.
    fn quote(&mut self, s: &str) -> String {
        let escape = self.chance(1);
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '/' if escape => out.push_str("\\/"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if escape && (c as u32) <= 0xFFFF => {
                    out.push_str(&format!("\\u{:04X}", c as u32))
                }
                c if escape => {
                    // A surrogate pair.
                    let v = c as u32 - 0x10000;
                    out.push_str(&format!(
                        "\\u{:04x}\\u{:04x}",
                        0xD800 + (v >> 10),
                        0xDC00 + (v & 0x3FF)
                    ));
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    fn raw_string(&mut self) -> String {
        self.from(&STRINGS).to_string()
    }

    fn string(&mut self) -> String {
        let s = self.from(&STRINGS);
        self.quote(s)
    }

    fn nonempty(&mut self) -> String {
        let s = self.from(&STRINGS[1..]);
        self.quote(s)
    }

    fn number(&mut self) -> String {
        self.from(&NUMBERS).to_string()
    }

    fn spell(&mut self, i: usize) -> String {
        let forms = ORDERED.get(i).copied().unwrap_or(&["0"]);
        self.from(forms).to_string()
    }

    /// A comparable number (anything-but takes no others).
    fn comparable(&mut self) -> String {
        let i = self.pick(ORDERED.len());
        self.spell(i)
    }

    fn random_leaf(&mut self) -> E {
        match self.pick(9) {
            0..=3 => E::Str(self.raw_string()),
            4 => E::Str(self.from(&IPS).to_string()),
            5 | 6 => E::Lit(self.number()),
            7 => E::Lit(["true", "false"][self.pick(2)].to_string()),
            _ => E::Lit("null".to_string()),
        }
    }

    fn mixed_case(&mut self, s: &str) -> String {
        s.chars()
            .map(|c| {
                if self.chance(4) {
                    c.to_uppercase().collect::<String>()
                } else {
                    c.to_lowercase().collect::<String>()
                }
            })
            .collect()
    }

    /// A few patterns.
    fn patterns(&mut self) -> Vec<P> {
        let n = 1 + self.pick(4);
        (0..n)
            .map(|_| P::Or(vec![self.pattern_object(0)]))
            .collect()
    }

    /// One pattern, as JSON text.
    pub fn pattern(&mut self) -> String {
        let p = self.pattern_object(0);
        render_pattern(&p)
    }

    fn pattern_object(&mut self, depth: usize) -> Vec<P> {
        let n = 1 + self.pick(3);
        let mut members = Vec::with_capacity(n);
        let mut used: Vec<&str> = Vec::with_capacity(n);
        for _ in 0..n {
            if depth < 3 && self.chance(1) {
                let k = 2 + self.pick(2);
                let alts: Vec<Vec<P>> = (0..k).map(|_| self.pattern_object(depth + 1)).collect();
                members.push(P::Or(alts));
                continue;
            }
            let mut key = self.from(&KEYS);
            if used.contains(&key) && !self.chance(1) {
                // Mostly distinct keys; a repeated one now and then.
                if let Some(k) = KEYS.iter().find(|k| !used.contains(k)) {
                    key = k;
                }
            }
            used.push(key);
            if depth < 3 && self.chance(2) {
                members.push(P::Nested(key, self.pattern_object(depth + 1)));
            } else {
                let k = 1 + self.pick(3);
                let ms = (0..k).map(|_| self.matcher()).collect();
                members.push(P::List(key, ms));
            }
        }
        members
    }

    fn wildcard(&mut self) -> (String, String) {
        let w = self.from(&WILDCARDS);
        // A witness: each star replaced by a short string.
        let mut witness = String::new();
        let mut rest = w;
        while let Some(i) = rest.find(['*', '\\']) {
            witness.push_str(&rest[..i]);
            if rest[i..].starts_with("\\\\*") {
                witness.push('*');
                rest = &rest[i + 3..];
            } else {
                let fill = ["", "a", "b", "xy"][self.pick(4)];
                witness.push_str(fill);
                rest = &rest[i + 1..];
            }
        }
        witness.push_str(rest);
        (format!("\"{w}\""), witness)
    }

    fn numeric(&mut self) -> (String, Option<E>) {
        let ops = ["<", "<=", "=", ">", ">="];
        let op = ops[self.pick(ops.len())];
        let i = self.pick(ORDERED.len());
        let n = self.spell(i);
        let witness = Some(E::Lit(self.comparable()));
        if op == "=" || !self.chance(3) {
            return (format!("{{\"numeric\":[\"{op}\",{n}]}}"), witness);
        }
        // A range: bottom strictly below top.
        let (lo, hi) = if i + 1 < ORDERED.len() {
            (i, i + 1 + self.pick(ORDERED.len() - i - 1))
        } else {
            (self.pick(i), i)
        };
        let lo_op = if self.chance(4) { ">" } else { ">=" };
        let hi_op = if self.chance(4) { "<" } else { "<=" };
        let (a, b) = (self.spell(lo), self.spell(hi));
        let k = lo + self.pick(hi - lo + 1);
        let mid = self.spell(k);
        (
            format!("{{\"numeric\":[\"{lo_op}\",{a},\"{hi_op}\",{b}]}}"),
            Some(E::Lit(mid)),
        )
    }

    fn anything_but(&mut self) -> String {
        let inner = match self.pick(9) {
            0 => self.string(),
            1 => self.comparable(),
            2 => {
                let k = 1 + self.pick(3);
                let v: Vec<String> = (0..k).map(|_| self.string()).collect();
                format!("[{}]", v.join(","))
            }
            3 => {
                let k = 1 + self.pick(3);
                let v: Vec<String> = (0..k).map(|_| self.comparable()).collect();
                format!("[{}]", v.join(","))
            }
            4 => format!("{{\"prefix\":{}}}", self.nonempty()),
            5 => format!("{{\"suffix\":{}}}", self.nonempty()),
            6 => {
                if self.chance(4) {
                    format!("{{\"equals-ignore-case\":{}}}", self.string())
                } else {
                    let k = 1 + self.pick(3);
                    let v: Vec<String> = (0..k).map(|_| self.string()).collect();
                    format!("{{\"equals-ignore-case\":[{}]}}", v.join(","))
                }
            }
            7 => format!("{{\"wildcard\":{}}}", self.wildcard().0),
            _ => {
                let k = 1 + self.pick(2);
                let v: Vec<String> = (0..k).map(|_| self.wildcard().0).collect();
                format!("{{\"wildcard\":[{}]}}", v.join(","))
            }
        };
        format!("{{\"anything-but\":{inner}}}")
    }

    /// One element of a value list and a value meeting it, if one is
    /// easy to name.
    fn matcher(&mut self) -> (String, Option<E>) {
        match self.pick(17) {
            0 | 1 => {
                let s = self.raw_string();
                (self.quote(&s), Some(E::Str(s)))
            }
            2 => {
                // An exact number, met by another spelling of its value.
                let i = self.pick(ORDERED.len());
                let n = self.spell(i);
                (n, Some(E::Lit(self.spell(i))))
            }
            3 => {
                let l = ["true", "false", "null"][self.pick(3)].to_string();
                (l.clone(), Some(E::Lit(l)))
            }
            4 => {
                let s = self.raw_string();
                let w = s.clone() + &self.raw_string();
                (
                    format!("{{\"prefix\":{}}}", self.quote(&s)),
                    Some(E::Str(w)),
                )
            }
            5 => {
                let s = self.raw_string();
                let w = self.mixed_case(&s) + &self.raw_string();
                (
                    format!(
                        "{{\"prefix\":{{\"equals-ignore-case\":{}}}}}",
                        self.quote(&s)
                    ),
                    Some(E::Str(w)),
                )
            }
            6 => {
                let s = self.raw_string();
                let w = self.raw_string() + &s;
                (
                    format!("{{\"suffix\":{}}}", self.quote(&s)),
                    Some(E::Str(w)),
                )
            }
            7 => {
                let s = self.raw_string();
                let w = self.raw_string() + &self.mixed_case(&s);
                (
                    format!(
                        "{{\"suffix\":{{\"equals-ignore-case\":{}}}}}",
                        self.quote(&s)
                    ),
                    Some(E::Str(w)),
                )
            }
            8 => {
                let s = self.raw_string();
                let w = self.mixed_case(&s);
                (
                    format!("{{\"equals-ignore-case\":{}}}", self.quote(&s)),
                    Some(E::Str(w)),
                )
            }
            9 => {
                let (w, witness) = self.wildcard();
                (format!("{{\"wildcard\":{w}}}"), Some(E::Str(witness)))
            }
            10 | 11 => {
                let leaf = self.random_leaf();
                (self.anything_but(), Some(leaf))
            }
            12 | 13 => self.numeric(),
            14 => {
                if self.chance(4) {
                    let leaf = self.random_leaf();
                    ("{\"exists\":true}".to_string(), Some(leaf))
                } else {
                    ("{\"exists\":false}".to_string(), None)
                }
            }
            15 => {
                let c = self.from(&CIDRS);
                let ip = self.from(&IPS).to_string();
                (format!("{{\"cidr\":\"{c}\"}}"), Some(E::Str(ip)))
            }
            _ => {
                let n = self.number();
                (n.clone(), Some(E::Lit(n)))
            }
        }
    }

    /// An event for `patterns`: members meeting some of them, and noise.
    fn event_for(&mut self, patterns: &[P]) -> E {
        let mut members = Vec::new();
        for p in patterns {
            if self.chance(6) {
                self.witness_members(p, &mut members, 0);
            }
        }
        for _ in 0..self.pick(3) {
            // Mostly a key no pattern names; now and then one they do,
            // which may repeat a key (the last wins).
            let key = if self.chance(1) {
                self.from(&KEYS).to_string()
            } else {
                "z".to_string()
            };
            let v = self.random_value(1);
            let at = self.pick(members.len() + 1);
            members.insert(at, (key, v));
        }
        E::Obj(members)
    }

    fn witness_members(&mut self, p: &P, out: &mut Vec<(String, E)>, depth: usize) {
        match p {
            P::Or(alts) => {
                // One alternative, sometimes two.
                let n = if alts.len() > 1 && self.chance(2) {
                    2
                } else {
                    1
                };
                for _ in 0..n {
                    let i = self.pick(alts.len());
                    if let Some(alt) = alts.get(i) {
                        for m in alt {
                            self.witness_members(m, out, depth);
                        }
                    }
                }
            }
            P::Nested(key, inner) => {
                let mut obj = Vec::new();
                for m in inner {
                    self.witness_members(m, &mut obj, depth + 1);
                }
                let v = if self.chance(2) {
                    // An array of objects: the witness object among others.
                    let mut items = vec![E::Obj(obj)];
                    for _ in 0..1 + self.pick(2) {
                        let other = if self.chance(4) {
                            let mut o = Vec::new();
                            for m in inner {
                                self.witness_members(m, &mut o, depth + 1);
                            }
                            E::Obj(o)
                        } else {
                            self.random_value(depth + 2)
                        };
                        let at = self.pick(items.len() + 1);
                        items.insert(at, other);
                    }
                    E::Arr(items)
                } else {
                    E::Obj(obj)
                };
                out.push((key.to_string(), v));
            }
            P::List(key, ms) => {
                if self.chance(1) {
                    return; // absent
                }
                let i = self.pick(ms.len());
                let v = match ms.get(i) {
                    Some((_, Some(_))) if self.chance(7) => self.witness_of(ms, i),
                    _ => self.random_leaf(),
                };
                let v = if self.chance(2) {
                    let mut items = vec![v];
                    let extra = self.random_leaf();
                    items.insert(self.pick(2), extra);
                    E::Arr(items)
                } else {
                    v
                };
                out.push((key.to_string(), v));
            }
        }
    }

    fn witness_of(&mut self, ms: &[(String, Option<E>)], i: usize) -> E {
        match ms.get(i) {
            Some((_, Some(E::Str(s)))) => E::Str(s.clone()),
            Some((_, Some(E::Lit(s)))) => E::Lit(s.clone()),
            _ => self.random_leaf(),
        }
    }

    fn random_value(&mut self, depth: usize) -> E {
        if depth >= 5 {
            return self.random_leaf();
        }
        match self.pick(8) {
            0..=3 => self.random_leaf(),
            4 | 5 => {
                let n = self.pick(4);
                let members = (0..n)
                    .map(|_| (self.from(&KEYS).to_string(), self.random_value(depth + 1)))
                    .collect();
                E::Obj(members)
            }
            _ => {
                let n = self.pick(4);
                E::Arr((0..n).map(|_| self.random_value(depth + 1)).collect())
            }
        }
    }

    fn render(&mut self, e: &E, out: &mut String, dup: &mut bool) {
        match e {
            E::Str(s) => {
                let q = self.quote(s);
                out.push_str(&q);
            }
            E::Lit(l) => out.push_str(l),
            E::Arr(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.render(x, out, dup);
                }
                out.push(']');
            }
            E::Obj(members) => {
                let ws = if self.chance(1) { " " } else { "" };
                out.push('{');
                out.push_str(ws);
                let mut seen: Vec<&str> = Vec::new();
                for (i, (k, v)) in members.iter().enumerate() {
                    if seen.contains(&k.as_str()) {
                        *dup = true;
                    }
                    seen.push(k);
                    if i > 0 {
                        out.push(',');
                        out.push_str(ws);
                    }
                    let q = self.quote(k);
                    out.push_str(&q);
                    out.push(':');
                    self.render(v, out, dup);
                }
                out.push('}');
            }
        }
    }

    /// Patterns and an event for them: (pattern texts, event text, whether
    /// the event repeats a key in some object).
    pub fn case(&mut self) -> (Vec<String>, String, bool) {
        let ps = self.patterns();
        let texts = ps
            .iter()
            .map(|p| match p {
                P::Or(alts) => render_pattern(alts.first().map_or(&[][..], |v| &v[..])),
                other => render_pattern(std::slice::from_ref(other)),
            })
            .collect();
        let e = self.event_for(&ps);
        let mut out = String::new();
        let mut dup = false;
        self.render(&e, &mut out, &mut dup);
        (texts, out, dup)
    }

    /// A random event (not shaped by any pattern).
    pub fn event(&mut self, dup: &mut bool) -> String {
        let e = self.random_value(0);
        let e = match e {
            E::Obj(_) => e,
            other => E::Obj(vec![("a".to_string(), other)]),
        };
        let mut out = String::new();
        self.render(&e, &mut out, dup);
        out
    }
}

fn render_pattern(members: &[P]) -> String {
    let parts: Vec<String> = members.iter().map(render_member).collect();
    format!("{{{}}}", parts.join(","))
}

fn render_member(p: &P) -> String {
    match p {
        P::Or(alts) => {
            let a: Vec<String> = alts.iter().map(|m| render_pattern(m)).collect();
            format!("\"$or\":[{}]", a.join(","))
        }
        P::Nested(k, inner) => format!("\"{k}\":{}", render_pattern(inner)),
        P::List(k, ms) => {
            let m: Vec<&str> = ms.iter().map(|(t, _)| t.as_str()).collect();
            format!("\"{k}\":[{}]", m.join(","))
        }
    }
}
