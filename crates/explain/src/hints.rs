//! Near-miss hints for a failed condition.

use crate::render::{leaf_text, matcher_text, num};
use crate::{Hint, HintCode, ValueResult};
use evmatch_automata::leaf_matches;
use evmatch_event::{FlatEvent, Leaf};
use evmatch_json::comparable_f64;
use evmatch_pattern::case::{ends_with_ignore_case, equals_ignore_case, starts_with_ignore_case};
use evmatch_pattern::{AnythingBut, Exact, FieldCondition, Matcher, NumericRange};
use std::collections::BTreeSet;

/// Every path of the event and every ancestor of one (`detail`,
/// `detail.user`, `detail.user.name`).
pub(crate) struct EventPaths {
    all: BTreeSet<String>,
}

impl EventPaths {
    pub(crate) fn new(ev: &FlatEvent) -> Self {
        let mut all = BTreeSet::new();
        for f in ev.fields() {
            let mut end = 0;
            for (i, c) in f.path.char_indices() {
                if c == '.' && i > end {
                    all.insert(f.path[..i].to_string());
                    end = i;
                }
            }
            all.insert(f.path.clone());
        }
        EventPaths { all }
    }

    fn has(&self, p: &str) -> bool {
        self.all.contains(p)
    }

    fn holds_object(&self, p: &str) -> bool {
        let pre = format!("{p}.");
        self.all
            .range(pre.clone()..)
            .next()
            .is_some_and(|q| q.starts_with(&pre))
    }
}

/// Hints for a condition that nothing satisfied.
pub(crate) fn for_condition(
    fc: &FieldCondition,
    values: &[ValueResult],
    paths: &EventPaths,
) -> Vec<Hint> {
    let mut out: Vec<Hint> = Vec::new();
    if values.is_empty() {
        key_hints(&fc.path, paths, &mut out);
    }
    for v in values {
        for m in &fc.matchers {
            value_hints(m, &v.leaf, &mut out);
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|h| seen.insert(h.message.clone()));
    out
}

fn hint(out: &mut Vec<Hint>, code: HintCode, message: String) {
    out.push(Hint { code, message });
}

/// Levenshtein distance over characters (short keys only).
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = Vec::with_capacity(b.len() + 1);
        cur.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let sub = prev.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let del = prev.get(j + 1).copied().unwrap_or(0) + 1;
            let ins = cur.get(j).copied().unwrap_or(0) + 1;
            cur.push(sub.min(del).min(ins));
        }
        prev = cur;
    }
    prev.last().copied().unwrap_or(0)
}

fn normalised(s: &str) -> String {
    s.chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Two keys are close: same ignoring case, `-` and `_`, or within a small
/// edit distance (none for keys of 1 or 2 characters, 1 up to 5, else 2).
pub(crate) fn close_keys(a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    if normalised(a) == normalised(b) {
        return true;
    }
    let n = a.chars().count().max(b.chars().count());
    let allowed = match n {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    };
    distance(a, b) <= allowed
}

fn key_hints(path: &str, paths: &EventPaths, out: &mut Vec<Hint>) {
    if paths.holds_object(path) {
        hint(
            out,
            HintCode::Object,
            format!(
                "the event has an object at {path}; value lists match only strings, numbers, \
                 booleans and null, so name a field inside it (SPEC.md §1.3)"
            ),
        );
        return;
    }
    // A missing or extra `detail` level.
    if let Some(rest) = path.strip_prefix("detail.") {
        if paths.has(rest) {
            hint(
                out,
                HintCode::DetailLevel,
                format!("the event has {rest} at the top level, not under detail"),
            );
        }
    } else {
        let under = format!("detail.{path}");
        if paths.has(&under) {
            hint(
                out,
                HintCode::DetailLevel,
                format!(
                    "the event has {under}: the pattern is missing the detail level \
                     (write {{\"detail\": {{...}}}} around it)"
                ),
            );
        }
    }
    // Close spellings and other cases, one path step apart.
    let steps: Vec<&str> = path.split('.').collect();
    let mut found = 0;
    for q in &paths.all {
        let qs: Vec<&str> = q.split('.').collect();
        if qs.len() != steps.len() {
            continue;
        }
        let diffs: Vec<(&str, &str)> = steps
            .iter()
            .zip(&qs)
            .filter(|(a, b)| a != b)
            .map(|(a, b)| (*a, *b))
            .collect();
        let all_case = !diffs.is_empty()
            && diffs
                .iter()
                .all(|(a, b)| a.to_lowercase() == b.to_lowercase());
        if all_case {
            hint(
                out,
                HintCode::Key,
                format!("the event has {q}, which differs only in case (keys are case-sensitive)"),
            );
            found += 1;
        } else if let [(a, b)] = diffs.as_slice() {
            if close_keys(a, b) {
                hint(
                    out,
                    HintCode::Key,
                    format!("the event has {q}: a close spelling of {path}"),
                );
                found += 1;
            }
        }
        if found >= 3 {
            break;
        }
    }
}

fn trimmed(s: &str) -> &str {
    s.trim()
}

fn value_hints(m: &Matcher, leaf: &Leaf, out: &mut Vec<Hint>) {
    let shown = leaf_text(leaf);
    let pat = matcher_text(m);
    match (m, leaf) {
        (Matcher::Exact(Exact::String(p)), Leaf::String(s)) => {
            if equals_ignore_case(p, s) {
                hint(
                    out,
                    HintCode::Case,
                    format!(
                        "{shown} differs from {pat} only in case; {{\"equals-ignore-case\": {pat}}} would match"
                    ),
                );
            } else if trimmed(p) == trimmed(s) {
                whitespace(out, &shown, &pat);
            }
        }
        (Matcher::Exact(Exact::String(p)), Leaf::Number { text, value }) => {
            let same = p.trim() == &**text
                || matches!((comparable_f64(p.trim()), value), (Some(a), Some(b)) if a == *b);
            if same {
                hint(
                    out,
                    HintCode::Type,
                    format!(
                        "the pattern has the string {pat} but the event has the number {text}; \
                         strings never match numbers (write {text} without quotes)"
                    ),
                );
            }
        }
        (Matcher::Exact(Exact::String(p)), Leaf::Bool(_) | Leaf::Null) if p.trim() == shown => {
            hint(
                out,
                HintCode::Type,
                format!(
                    "the pattern has the string {pat} but the event has the literal {shown} \
                     (write {shown} without quotes)"
                ),
            );
        }
        (Matcher::Exact(Exact::Number { text, value }), Leaf::String(s)) => {
            let same = s.trim() == text
                || matches!((value, comparable_f64(s.trim())), (Some(a), Some(b)) if *a == b);
            if same {
                hint(
                    out,
                    HintCode::Type,
                    format!(
                        "the pattern has the number {text} but the event has the string {shown}; \
                         numbers never match strings (write {} in quotes)",
                        quote(s)
                    ),
                );
            }
        }
        (Matcher::Exact(Exact::Bool(_) | Exact::Null), Leaf::String(s)) if s.trim() == pat => {
            hint(
                out,
                HintCode::Type,
                format!(
                    "the pattern has the literal {pat} but the event has the string {shown} \
                     (write {shown} in quotes)"
                ),
            );
        }
        (Matcher::Prefix(p), Leaf::String(s)) => {
            if starts_with_ignore_case(s, p) {
                hint(
                    out,
                    HintCode::Case,
                    format!(
                        "{shown} starts with {} only ignoring case; {{\"prefix\": {{\"equals-ignore-case\": {}}}}} would match",
                        quote(p),
                        quote(p)
                    ),
                );
            } else if s.trim_start().starts_with(p.as_str()) {
                whitespace(out, &shown, &pat);
            }
        }
        (Matcher::Suffix(p), Leaf::String(s)) => {
            if ends_with_ignore_case(s, p) {
                hint(
                    out,
                    HintCode::Case,
                    format!(
                        "{shown} ends with {} only ignoring case; {{\"suffix\": {{\"equals-ignore-case\": {}}}}} would match",
                        quote(p),
                        quote(p)
                    ),
                );
            } else if s.trim_end().ends_with(p.as_str()) {
                whitespace(out, &shown, &pat);
            }
        }
        (Matcher::PrefixIgnoreCase(p), Leaf::String(s))
            if starts_with_ignore_case(s.trim_start(), p) =>
        {
            whitespace(out, &shown, &pat);
        }
        (Matcher::SuffixIgnoreCase(p), Leaf::String(s))
            if ends_with_ignore_case(s.trim_end(), p) =>
        {
            whitespace(out, &shown, &pat);
        }
        (Matcher::EqualsIgnoreCase(p), Leaf::String(s)) if equals_ignore_case(p, s.trim()) => {
            whitespace(out, &shown, &pat);
        }
        (Matcher::Wildcard(w), Leaf::String(s)) => {
            if w.matches(s.trim()) {
                whitespace(out, &shown, &pat);
            } else if w.matches(&s.to_lowercase()) || w.matches(&s.to_uppercase()) {
                hint(
                    out,
                    HintCode::Case,
                    format!(
                        "{shown} matches {pat} only in another case; wildcard is case-sensitive"
                    ),
                );
            }
        }
        (
            Matcher::Prefix(_)
            | Matcher::Suffix(_)
            | Matcher::PrefixIgnoreCase(_)
            | Matcher::SuffixIgnoreCase(_)
            | Matcher::EqualsIgnoreCase(_)
            | Matcher::Wildcard(_)
            | Matcher::Cidr(_),
            Leaf::Number { text, .. },
        ) if leaf_matches(m, &Leaf::String(text.to_string())) => {
            hint(
                out,
                HintCode::Type,
                format!(
                    "{pat} matches only strings, and the event has the number {text} (SPEC.md §2.13)"
                ),
            );
        }
        (Matcher::Numeric(r), Leaf::String(s)) => {
            if let Some(v) = comparable_f64(s.trim()) {
                let inside = if r.contains(v) {
                    ", though its value is in range"
                } else {
                    ""
                };
                hint(
                    out,
                    HintCode::Type,
                    format!(
                        "numeric matches only JSON numbers, and the event has the string {shown}{inside}"
                    ),
                );
            }
        }
        (
            Matcher::Numeric(r),
            Leaf::Number {
                text,
                value: Some(v),
            },
        ) => {
            if let Some(msg) = near_range(r, *v, text) {
                hint(out, HintCode::NumericRange, msg);
            }
        }
        (Matcher::AnythingBut(ab), _) if !leaf_matches(m, leaf) => {
            let by = excluded_by(ab, leaf).unwrap_or_default();
            hint(
                out,
                HintCode::AnythingBut,
                format!("{pat} excluded {shown}{by}"),
            );
        }
        _ => {}
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn whitespace(out: &mut Vec<Hint>, shown: &str, pat: &str) {
    hint(
        out,
        HintCode::Whitespace,
        format!("{shown} has whitespace at the ends; without it, it would match {pat}"),
    );
}

/// Which exclusion of an anything-but caught the value, as ` (by "x")`.
fn excluded_by(ab: &AnythingBut, leaf: &Leaf) -> Option<String> {
    let s = match leaf {
        Leaf::String(s) => Some(s.as_str()),
        _ => None,
    };
    let which = match ab {
        AnythingBut::Strings(_) | AnythingBut::Numbers(_) => return None,
        AnythingBut::Prefixes(ps) => ps
            .iter()
            .find(|p| s.is_some_and(|s| s.starts_with(p.as_str())))
            .map(|p| format!("prefix {}", quote(p))),
        AnythingBut::Suffixes(ps) => ps
            .iter()
            .find(|p| s.is_some_and(|s| s.ends_with(p.as_str())))
            .map(|p| format!("suffix {}", quote(p))),
        AnythingBut::IgnoreCase(ps) => ps
            .iter()
            .find(|p| s.is_some_and(|s| equals_ignore_case(p, s)))
            .map(|p| format!("{} ignoring case", quote(p))),
        AnythingBut::Wildcards(ws) => ws
            .iter()
            .find(|w| s.is_some_and(|s| w.matches(s)))
            .map(|w| format!("wildcard {}", quote(w.as_str()))),
    };
    which.map(|w| format!(" (by {w})"))
}

/// The near-miss rule for numeric ranges: the value equals an excluded
/// bound, or lies outside by at most a tenth of the bound's magnitude
/// (at least 1).
fn near_range(r: &NumericRange, v: f64, text: &str) -> Option<String> {
    if r.contains(v) {
        return None;
    }
    let near = |b: f64| (v - b).abs() <= (b.abs() * 0.1).max(1.0);
    if let Some((b, incl)) = r.low {
        if v < b || (v == b && !incl) {
            if v == b {
                return Some(format!(
                    "{text} equals the lower bound, which \">\" excludes; use \">=\" to include it"
                ));
            }
            return near(b)
                .then(|| format!("{text} is just below the range (lower bound {})", num(b)));
        }
    }
    if let Some((b, incl)) = r.high {
        if v > b || (v == b && !incl) {
            if v == b {
                return Some(format!(
                    "{text} equals the upper bound, which \"<\" excludes; use \"<=\" to include it"
                ));
            }
            return near(b)
                .then(|| format!("{text} is just above the range (upper bound {})", num(b)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_keys_rules() {
        assert!(close_keys("detailType", "detail-type"));
        assert!(close_keys("sorce", "source"));
        assert!(close_keys("State", "state"));
        assert!(!close_keys("type", "time"));
        assert!(!close_keys("state", "state"));
        assert!(!close_keys("f", "g"));
        assert!(close_keys("id", "ID"));
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
