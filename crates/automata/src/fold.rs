//! Index keys for case-insensitive matching.
//!
//! EventBridge's ignore-case comparison (SPEC.md §2.4, `evmatch_pattern::case`)
//! lets a value character be the pattern character, its simple lower-case
//! or its simple upper-case mapping. That relation is not an equivalence,
//! so it cannot be hashed directly. Here every character gets the
//! representative of its class under the closure of "c ~ lower(c) ~
//! upper(c)": two characters that may stand for each other always share a
//! key, so equal keys are a necessary condition. Candidates found through
//! the key are then confirmed with the exact comparison.

use evmatch_pattern::case::{simple_lower, simple_upper};
use std::sync::OnceLock;

/// Class representatives for the Basic Multilingual Plane. Characters
/// beyond it only match themselves (see `evmatch_pattern::case`).
fn table() -> &'static [u32] {
    static TABLE: OnceLock<Vec<u32>> = OnceLock::new();
    TABLE.get_or_init(|| {
        const N: usize = 0x1_0000;
        let mut parent: Vec<u32> = (0..N as u32).collect();
        fn find(p: &mut [u32], mut i: u32) -> u32 {
            loop {
                let up = p.get(i as usize).copied().unwrap_or(i);
                if up == i {
                    return i;
                }
                let grand = p.get(up as usize).copied().unwrap_or(up);
                if let Some(slot) = p.get_mut(i as usize) {
                    *slot = grand;
                }
                i = up;
            }
        }
        for cp in 0..N as u32 {
            let Some(c) = char::from_u32(cp) else {
                continue;
            };
            for other in [simple_lower(c), simple_upper(c)] {
                let o = other as u32;
                if (o as usize) < N {
                    let (a, b) = (find(&mut parent, cp), find(&mut parent, o));
                    // Smallest code point represents the class, so ASCII
                    // letters are keyed by their upper-case form.
                    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
                    if let Some(slot) = parent.get_mut(hi as usize) {
                        *slot = lo;
                    }
                }
            }
        }
        (0..N as u32).map(|i| find(&mut parent, i)).collect()
    })
}

/// Appends the key of `s` to `out`.
pub(crate) fn push_key(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        if let Some(tail) = out.get_mut(start..) {
            tail.make_ascii_uppercase();
        }
        // ASCII letters whose class holds a non-ASCII member (k, s) still
        // key to the ASCII upper-case letter: the smallest code point.
        return;
    }
    let t = table();
    for c in s.chars() {
        let k = t
            .get(c as usize)
            .and_then(|&r| char::from_u32(r))
            .unwrap_or(c);
        out.push(k);
    }
}

/// The key of `s`, as a new string.
pub(crate) fn key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    push_key(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use evmatch_pattern::case::char_matches;

    #[test]
    fn characters_that_may_stand_for_each_other_share_a_key() {
        // SPEC.md §2.4: a necessary condition for the index to be exact.
        let t = table();
        for cp in 0..0x1_0000u32 {
            let Some(p) = char::from_u32(cp) else {
                continue;
            };
            for v in [p, simple_lower(p), simple_upper(p)] {
                assert!(char_matches(p, v));
                assert!((v as u32) < 0x1_0000, "{p:?} maps out of the BMP");
                assert_eq!(t[p as usize], t[v as usize], "{p:?} {v:?}");
            }
        }
        // The ASCII fast path agrees with the table.
        for b in 0..128u8 {
            let c = char::from(b);
            assert_eq!(
                key(&c.to_string()),
                char::from_u32(t[b as usize]).unwrap().to_string()
            );
        }
        assert_eq!(key("Kelvin \u{212A}"), key("KELVIN k"));
    }
}
