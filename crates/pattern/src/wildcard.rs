//! `wildcard` operands (SPEC.md §2.5): parsing with the reference's escape
//! rules and error positions, matching, and the complexity measure behind
//! AWS's "Rule is too complex" rejection (SPEC.md §3.3).

use std::collections::{HashMap, VecDeque};

/// A parsed wildcard: literal bytes and `*` (zero or more bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    text: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(Vec<u8>),
    Star,
}

impl Wildcard {
    /// Parses a decoded operand. Errors are the reference's texts; `pos` is
    /// the byte index of the offending character in the operand with an
    /// opening quote prepended (so 1-based in the operand itself).
    pub fn parse(text: &str) -> Result<Wildcard, String> {
        let bytes = text.as_bytes();
        let mut parts: Vec<Part> = Vec::new();
        let mut lit: Vec<u8> = Vec::new();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            match b {
                b'*' => {
                    if bytes.get(i + 1) == Some(&b'*') {
                        return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                    }
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Star);
                    i += 1;
                }
                b'\\' => match bytes.get(i + 1) {
                    Some(&n @ (b'*' | b'\\')) => {
                        lit.push(n);
                        i += 2;
                    }
                    _ => return Err(format!("Invalid escape character at pos {}", i + 1)),
                },
                _ => {
                    lit.push(b);
                    i += 1;
                }
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Wildcard {
            text: text.to_string(),
            parts,
        })
    }

    /// The pieces in order: `Some(literal bytes)` or `None` for a `*`.
    pub fn parts(&self) -> impl Iterator<Item = Option<&[u8]>> + '_ {
        self.parts.iter().map(|p| match p {
            Part::Lit(l) => Some(l.as_slice()),
            Part::Star => None,
        })
    }

    /// The operand as written (escapes included).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the whole of `value` matches.
    pub fn matches(&self, value: &str) -> bool {
        let v = value.as_bytes();
        let parts = &self.parts;
        // Anchored first literal, anchored last literal, greedy-leftmost in
        // between: linear in practice, correct for `*` = any bytes.
        let mut start = 0usize;
        let mut end = v.len();
        let mut lo = 0usize;
        let mut hi = parts.len();
        if let Some(Part::Lit(l)) = parts.first() {
            if !v.starts_with(l) {
                return false;
            }
            start = l.len();
            lo = 1;
        }
        if hi > lo {
            if let Some(Part::Lit(l)) = parts.get(hi - 1) {
                if end < start + l.len() || !v.ends_with(l) {
                    return false;
                }
                end -= l.len();
                hi -= 1;
            }
        }
        let middle = parts.get(lo..hi).unwrap_or(&[]);
        if middle.is_empty() {
            // No star (a star always sits between the anchors): the single
            // literal, or nothing, must be the whole value.
            return start == end;
        }
        let mut at = start;
        for p in middle {
            if let Part::Lit(l) = p {
                match find(v.get(at..end).unwrap_or(&[]), l) {
                    Some(k) => at += k + l.len(),
                    None => return false,
                }
            }
        }
        at <= end
    }

    /// The largest number of NFA states any input can keep live at once,
    /// over the operand with its JSON quotes (SPEC.md §3.3). Stops early
    /// once the count exceeds `cap` and returns a value above `cap`.
    pub fn complexity(&self, cap: usize) -> usize {
        // Items: quote, parts as bytes and stars, quote.
        let mut items: Vec<Option<u8>> = vec![Some(b'"')];
        for p in &self.parts {
            match p {
                Part::Lit(l) => items.extend(l.iter().map(|b| Some(*b))),
                Part::Star => items.push(None),
            }
        }
        items.push(Some(b'"'));
        let n = items.len();
        // Node p = "first p items matched"; if item p-1 is a star, node p
        // loops on every byte.
        let closure = |set: &mut Vec<usize>| {
            let mut k = 0;
            while let Some(&p) = set.get(k) {
                if p < n && items.get(p) == Some(&None) && !set.contains(&(p + 1)) {
                    set.push(p + 1);
                }
                k += 1;
            }
            set.sort_unstable();
            set.dedup();
        };
        let mut alphabet: Vec<u8> = items.iter().flatten().copied().collect();
        alphabet.sort_unstable();
        alphabet.dedup();
        // A byte that appears nowhere in the pattern.
        if let Some(other) = (0u8..=255).find(|b| !alphabet.contains(b)) {
            alphabet.push(other);
        }
        let mut start = vec![0usize];
        closure(&mut start);
        let mut best = start.len();
        let mut seen: HashMap<Vec<usize>, ()> = HashMap::new();
        let mut queue = VecDeque::new();
        seen.insert(start.clone(), ());
        queue.push_back(start);
        const MAX_SUBSETS: usize = 50_000;
        while let Some(set) = queue.pop_front() {
            for &c in &alphabet {
                let mut next: Vec<usize> = Vec::new();
                for &p in &set {
                    if p > 0 && items.get(p - 1) == Some(&None) {
                        next.push(p);
                    }
                    if items.get(p) == Some(&Some(c)) {
                        next.push(p + 1);
                    }
                }
                if next.is_empty() {
                    continue;
                }
                closure(&mut next);
                best = best.max(next.len());
                if best > cap {
                    return best;
                }
                if !seen.contains_key(&next) {
                    if seen.len() >= MAX_SUBSETS {
                        return cap + 1;
                    }
                    seen.insert(next.clone(), ());
                    queue.push_back(next);
                }
            }
        }
        best
    }
}

/// First occurrence of `needle` in `hay`, in time linear in both (a
/// window-by-window comparison is quadratic: a 4,000-byte literal over a
/// 50 MB value would take minutes).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Wildcard {
        Wildcard::parse(s).unwrap()
    }

    #[test]
    fn errors_and_positions() {
        assert_eq!(
            Wildcard::parse("arn:aws:events:us-east-1:**:event-bus/*").unwrap_err(),
            "Consecutive wildcard characters at pos 26"
        );
        assert_eq!(
            Wildcard::parse("a\\xb").unwrap_err(),
            "Invalid escape character at pos 2"
        );
        assert_eq!(
            Wildcard::parse("ab\\").unwrap_err(),
            "Invalid escape character at pos 3"
        );
    }

    #[test]
    fn matching() {
        assert!(w("h*llo").matches("hllo"));
        assert!(w("h*llo").matches("hello"));
        assert!(!w("h*llo").matches("hell"));
        assert!(w("*").matches(""));
        assert!(w("").matches(""));
        assert!(!w("").matches("x"));
        assert!(w("hel\\*o").matches("hel*o"));
        assert!(!w("hel\\*o").matches("hello"));
        assert!(w("a\\\\b").matches("a\\b"));
        assert!(w("/Users/*/doc.txt").matches("/Users/ls_user/dir/dir/dir/dir/dir/doc.txt"));
        assert!(!w("/Users/*/doc.txt").matches("/Users/ls_user/dir/notmatchingdoc.txt"));
        assert!(w("*a*b*").matches("xxaxxbxx"));
        assert!(!w("*a*b*").matches("xxbxxaxx"));
        assert!(!w("ab*ba").matches("aba"));
        assert!(w("ab*ba").matches("abba"));
        assert!(w("a*a").matches("aa"));
        assert!(!w("a*a").matches("a"));
        assert!(w("arn:aws:events:us-east-1:*:event-bus/*")
            .matches("arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"));
    }

    #[test]
    fn complexity_figures_of_spec_3_3() {
        for (p, c) in [
            ("*", 2),
            ("*/dir/*", 4),
            ("a*b*c*d*e*f", 6),
            ("*a*a*a*a*a", 10),
            ("*:*:*:*:*:event-bus/*", 11),
            ("/Users/*/dir/dir/dir/dir/dir/doc.txt", 7),
        ] {
            assert_eq!(w(p).complexity(100), c, "{p}");
        }
    }
}
