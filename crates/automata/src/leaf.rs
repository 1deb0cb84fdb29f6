//! One matcher against one leaf value: the operator × leaf-type matrix of
//! SPEC.md §2.13, shared by every engine.

use crate::values::LeafRef;
use evmatch_event::Leaf;
use evmatch_pattern::case::{ends_with_ignore_case, equals_ignore_case, starts_with_ignore_case};
use evmatch_pattern::ip::parse_ip;
use evmatch_pattern::{AnythingBut, Exact, Matcher};

/// Whether `leaf` satisfies `m`. (`exists: false` is about absence and is
/// never satisfied by a value.)
pub fn leaf_matches(m: &Matcher, leaf: &Leaf) -> bool {
    matches_ref(m, LeafRef::of(leaf))
}

/// [`leaf_matches`] on a borrowed leaf (a number whose comparability is
/// not known yet is checked here).
pub(crate) fn matches_ref(m: &Matcher, leaf: LeafRef<'_>) -> bool {
    let leaf = match leaf {
        LeafRef::RawNum(t, _) => LeafRef::Num(t, crate::scan::comparable(t)),
        other => other,
    };
    match m {
        Matcher::Exact(e) => exact(e, &leaf),
        Matcher::Prefix(p) => string(&leaf).is_some_and(|s| s.starts_with(p.as_str())),
        Matcher::Suffix(p) => string(&leaf).is_some_and(|s| s.ends_with(p.as_str())),
        Matcher::PrefixIgnoreCase(p) => {
            string(&leaf).is_some_and(|s| starts_with_ignore_case(s, p))
        }
        Matcher::SuffixIgnoreCase(p) => string(&leaf).is_some_and(|s| ends_with_ignore_case(s, p)),
        Matcher::EqualsIgnoreCase(p) => string(&leaf).is_some_and(|s| equals_ignore_case(p, s)),
        Matcher::Wildcard(w) => string(&leaf).is_some_and(|s| w.matches(s)),
        Matcher::AnythingBut(ab) => !excluded(ab, &leaf),
        Matcher::Numeric(r) => number(&leaf).is_some_and(|v| r.contains(v)),
        Matcher::Exists(present) => *present,
        Matcher::Cidr(r) => string(&leaf)
            .and_then(parse_ip)
            .is_some_and(|a| r.contains(a)),
    }
}

fn string<'a>(leaf: &LeafRef<'a>) -> Option<&'a str> {
    match leaf {
        LeafRef::Str(s) => Some(s),
        _ => None,
    }
}

fn number(leaf: &LeafRef<'_>) -> Option<f64> {
    match leaf {
        LeafRef::Num(_, value) => *value,
        _ => None,
    }
}

fn exact(e: &Exact, leaf: &LeafRef<'_>) -> bool {
    match (e, leaf) {
        (Exact::String(p), LeafRef::Str(s)) => p == s,
        (Exact::Ip { text, range }, LeafRef::Str(s)) => {
            text == s || parse_ip(s).is_some_and(|a| range.contains(a))
        }
        (Exact::Number { text, value }, LeafRef::Num(t, v)) => {
            text.as_str() == *t || matches!((value, v), (Some(a), Some(b)) if a == b)
        }
        (Exact::Bool(a), LeafRef::Bool(b)) => a == b,
        (Exact::Null, LeafRef::Null) => true,
        _ => false,
    }
}

/// Whether an anything-but excludes this value. Only strings are excluded
/// by string forms and only comparable numbers by numeric lists
/// (SPEC.md §2.6); every other present leaf passes.
fn excluded(ab: &AnythingBut, leaf: &LeafRef<'_>) -> bool {
    let leaf = *leaf;
    match ab {
        AnythingBut::Numbers(ns) => number(&leaf).is_some_and(|v| ns.contains(&v)),
        AnythingBut::Strings(ss) => string(&leaf).is_some_and(|s| ss.iter().any(|x| x == s)),
        AnythingBut::Prefixes(ps) => {
            string(&leaf).is_some_and(|s| ps.iter().any(|p| s.starts_with(p.as_str())))
        }
        AnythingBut::Suffixes(ps) => {
            string(&leaf).is_some_and(|s| ps.iter().any(|p| s.ends_with(p.as_str())))
        }
        AnythingBut::IgnoreCase(ps) => {
            string(&leaf).is_some_and(|s| ps.iter().any(|p| equals_ignore_case(p, s)))
        }
        AnythingBut::Wildcards(ws) => {
            string(&leaf).is_some_and(|s| ws.iter().any(|w| w.matches(s)))
        }
    }
}
