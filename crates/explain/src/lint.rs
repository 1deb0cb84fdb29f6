//! Lints: valid patterns that are very likely not what their author meant.

use crate::hints::close_keys;
use crate::render::{matcher_text, num};
use evmatch_pattern::case::ends_with_ignore_case;
use evmatch_pattern::case::starts_with_ignore_case;
use evmatch_pattern::{AnythingBut, Exact, FieldCondition, Matcher, NumericRange, Pattern};

/// A warning about one place of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// The field path, with `[i]` for the i-th entry (0-based) of its value
    /// list when the warning is about one entry: `detail.state[2]`.
    pub path: String,
    /// What kind of problem.
    pub code: LintCode,
    /// One sentence for humans.
    pub message: String,
}

/// The kinds of lint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LintCode {
    /// A numeric range that holds no number: never matches.
    EmptyRange,
    /// An anything-but whose exclusions cover every string: never matches
    /// a string.
    ExcludesAllStrings,
    /// `{"exists": false}` in one list with values: means "missing OR one of
    /// these", never "missing AND ...".
    ExistsFalseWithValues,
    /// A value list that every event satisfies (or every event with the
    /// field).
    AlwaysMatches,
    /// The same value twice in one list.
    DuplicateValue,
    /// A prefix that another prefix of the same list already covers.
    RedundantPrefix,
    /// A suffix that another suffix of the same list already covers.
    RedundantSuffix,
    /// A wildcard without `*`: an exact value in disguise.
    WildcardWithoutStar,
    /// A top-level field EventBridge never sets, spelled close to one it
    /// does (`detailType`, `Source`, `resource`).
    TopLevelTypo,
}

impl LintCode {
    /// The code as printed: `empty-range`, `excludes-all-strings`,
    /// `exists-false-with-values`, `always-matches`, `duplicate-value`,
    /// `redundant-prefix`, `redundant-suffix`, `wildcard-without-star`,
    /// `top-level-typo`.
    pub fn as_str(self) -> &'static str {
        match self {
            LintCode::EmptyRange => "empty-range",
            LintCode::ExcludesAllStrings => "excludes-all-strings",
            LintCode::ExistsFalseWithValues => "exists-false-with-values",
            LintCode::AlwaysMatches => "always-matches",
            LintCode::DuplicateValue => "duplicate-value",
            LintCode::RedundantPrefix => "redundant-prefix",
            LintCode::RedundantSuffix => "redundant-suffix",
            LintCode::WildcardWithoutStar => "wildcard-without-star",
            LintCode::TopLevelTypo => "top-level-typo",
        }
    }
}

/// The top-level fields of every EventBridge event (SPEC.md §1.1).
pub const ENVELOPE_FIELDS: [&str; 9] = [
    "version",
    "id",
    "detail-type",
    "source",
    "account",
    "time",
    "region",
    "resources",
    "detail",
];

/// Lints a compiled pattern. Each finding is reported once even when `$or`
/// copies a condition into several branches; order: branch, path, entry.
pub fn lint(pattern: &Pattern) -> Vec<Lint> {
    let mut out: Vec<Lint> = Vec::new();
    for b in pattern.branches() {
        for fc in b.fields() {
            condition(fc, &mut out);
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|l| seen.insert((l.path.clone(), l.code, l.message.clone())));
    out
}

fn push(out: &mut Vec<Lint>, path: String, code: LintCode, message: String) {
    out.push(Lint {
        path,
        code,
        message,
    });
}

fn at(fc: &FieldCondition, i: usize) -> String {
    format!("{}[{i}]", fc.path)
}

fn condition(fc: &FieldCondition, out: &mut Vec<Lint>) {
    top_level(fc, out);
    let ms = &fc.matchers;
    let has_true = ms.iter().any(|m| matches!(m, Matcher::Exists(true)));
    let has_false = ms.iter().any(|m| matches!(m, Matcher::Exists(false)));
    if has_true && has_false {
        push(
            out,
            fc.path.clone(),
            LintCode::AlwaysMatches,
            "{\"exists\": true} and {\"exists\": false} together match every event: the condition does nothing".into(),
        );
    } else if has_false && ms.len() > 1 {
        push(
            out,
            fc.path.clone(),
            LintCode::ExistsFalseWithValues,
            format!(
                "{{\"exists\": false}} next to {} matches when the field is missing OR has one \
                 of those values (a value list is OR, SPEC.md §2.8), never \"missing and ...\"",
                others_text(ms)
            ),
        );
    }
    for (i, m) in ms.iter().enumerate() {
        entry(fc, i, m, out);
        for (j, earlier) in ms.iter().enumerate().take(i) {
            if same(earlier, m) {
                push(
                    out,
                    at(fc, i),
                    LintCode::DuplicateValue,
                    format!("{} is already entry {j} of the list", matcher_text(m)),
                );
                break;
            }
        }
        if let Some((code, by)) = ms
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .find_map(|(j, o)| covered(o, m).map(|c| (c, j)))
        {
            let kind = if code == LintCode::RedundantPrefix {
                "prefix"
            } else {
                "suffix"
            };
            push(
                out,
                at(fc, i),
                code,
                format!(
                    "{} is redundant: the {kind} {} (entry {by}) already matches everything it does",
                    matcher_text(m),
                    matcher_text(ms.get(by).unwrap_or(m))
                ),
            );
        }
    }
    // An anything-but whose every exclusion is also listed as a value: the
    // list then admits every present value.
    for (i, m) in ms.iter().enumerate() {
        if let Matcher::AnythingBut(ab) = m {
            if excluded_values_listed(ab, ms) {
                push(
                    out,
                    at(fc, i),
                    LintCode::AlwaysMatches,
                    format!(
                        "every value {} excludes is also listed, so the list matches any value \
                         that is present: write {{\"exists\": true}}",
                        matcher_text(m)
                    ),
                );
            }
        }
    }
}

fn others_text(ms: &[Matcher]) -> String {
    let items: Vec<String> = ms
        .iter()
        .filter(|m| !matches!(m, Matcher::Exists(false)))
        .map(matcher_text)
        .collect();
    items.join(", ")
}

fn entry(fc: &FieldCondition, i: usize, m: &Matcher, out: &mut Vec<Lint>) {
    match m {
        Matcher::Numeric(r) if is_empty(r) => push(
            out,
            at(fc, i),
            LintCode::EmptyRange,
            format!(
                "{} holds no number: the condition can never match",
                matcher_text(m)
            ),
        ),
        Matcher::Wildcard(w) if !has_star(w.as_str()) => push(
            out,
            at(fc, i),
            LintCode::WildcardWithoutStar,
            format!(
                "{} has no \"*\": use the exact value {}",
                matcher_text(m),
                quote(&unescape(w.as_str()))
            ),
        ),
        Matcher::AnythingBut(AnythingBut::Wildcards(ws)) => {
            if ws.iter().any(|w| w.as_str() == "*") {
                push(
                    out,
                    at(fc, i),
                    LintCode::ExcludesAllStrings,
                    format!(
                        "{} excludes every string: it can only match numbers, booleans and null",
                        matcher_text(m)
                    ),
                );
            }
            for w in ws.iter().filter(|w| !has_star(w.as_str())) {
                push(
                    out,
                    at(fc, i),
                    LintCode::WildcardWithoutStar,
                    format!(
                        "the anything-but wildcard {} has no \"*\": use the exact value {{\"anything-but\": {}}}",
                        quote(w.as_str()),
                        quote(&unescape(w.as_str()))
                    ),
                );
            }
        }
        Matcher::AnythingBut(ab) => {
            let items: Vec<String> = match ab {
                AnythingBut::Strings(v)
                | AnythingBut::Prefixes(v)
                | AnythingBut::Suffixes(v)
                | AnythingBut::IgnoreCase(v) => v.iter().map(|s| quote(s)).collect(),
                AnythingBut::Numbers(v) => v.iter().map(|n| num(*n)).collect(),
                AnythingBut::Wildcards(_) => Vec::new(),
            };
            for (k, x) in items.iter().enumerate() {
                if items.iter().take(k).any(|y| y == x) {
                    push(
                        out,
                        at(fc, i),
                        LintCode::DuplicateValue,
                        format!("{x} is listed twice in {}", matcher_text(m)),
                    );
                }
            }
        }
        _ => {}
    }
}

fn top_level(fc: &FieldCondition, out: &mut Vec<Lint>) {
    let first = fc.path.split('.').next().unwrap_or("");
    if ENVELOPE_FIELDS.contains(&first) {
        return;
    }
    let best = ENVELOPE_FIELDS
        .iter()
        .filter(|e| close_keys(first, e))
        .min_by_key(|e| crate::hints::distance(&first.to_lowercase(), e));
    if let Some(e) = best {
        push(
            out,
            fc.path.clone(),
            LintCode::TopLevelTypo,
            format!(
                "EventBridge never sets {} at the top level of an event; did you mean {}?",
                quote(first),
                quote(e)
            ),
        );
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

fn has_star(w: &str) -> bool {
    let mut escaped = false;
    for c in w.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '*') => return true,
            _ => {}
        }
    }
    false
}

fn unescape(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    let mut escaped = false;
    for c in w.chars() {
        if !escaped && c == '\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(c);
    }
    out
}

/// The smallest binary64 above `v` (finite `v`).
fn next_up(v: f64) -> f64 {
    if v == 0.0 {
        return f64::from_bits(1);
    }
    let bits = v.to_bits();
    if v > 0.0 {
        f64::from_bits(bits + 1)
    } else {
        f64::from_bits(bits - 1)
    }
}

/// Whether no binary64 lies in the range. The compiler already rejects
/// `low >= high` (SPEC.md §2.7, `Bottom must be less than top`), so what
/// remains is two exclusive bounds with no number between them.
fn is_empty(r: &NumericRange) -> bool {
    match (r.low, r.high) {
        (Some((a, ai)), Some((b, bi))) => {
            if a > b {
                return true;
            }
            if a == b {
                return !(ai && bi);
            }
            !ai && !bi && a.is_finite() && next_up(a) >= b
        }
        _ => false,
    }
}

/// Same value, by the matching semantics (`300` = `300.0`).
fn same(a: &Matcher, b: &Matcher) -> bool {
    match (a, b) {
        (
            Matcher::Exact(Exact::Number {
                text: t1,
                value: v1,
            }),
            Matcher::Exact(Exact::Number {
                text: t2,
                value: v2,
            }),
        ) => t1 == t2 || (v1.is_some() && v1 == v2),
        (
            Matcher::Exact(Exact::Ip { range: r1, .. }),
            Matcher::Exact(Exact::Ip { range: r2, .. }),
        ) => r1 == r2,
        _ => a == b,
    }
}

/// Whether `o` matches every string `m` matches (and they differ), for
/// prefixes and suffixes.
fn covered(o: &Matcher, m: &Matcher) -> Option<LintCode> {
    let yes = match (o, m) {
        (Matcher::Prefix(a), Matcher::Prefix(b)) => a != b && b.starts_with(a.as_str()),
        (Matcher::PrefixIgnoreCase(a), Matcher::PrefixIgnoreCase(b)) => {
            a != b && starts_with_ignore_case(b, a)
        }
        (Matcher::Suffix(a), Matcher::Suffix(b)) => a != b && b.ends_with(a.as_str()),
        (Matcher::SuffixIgnoreCase(a), Matcher::SuffixIgnoreCase(b)) => {
            a != b && ends_with_ignore_case(b, a)
        }
        _ => false,
    };
    if !yes {
        return None;
    }
    Some(match m {
        Matcher::Prefix(_) | Matcher::PrefixIgnoreCase(_) => LintCode::RedundantPrefix,
        _ => LintCode::RedundantSuffix,
    })
}

fn excluded_values_listed(ab: &AnythingBut, ms: &[Matcher]) -> bool {
    match ab {
        AnythingBut::Strings(xs) => xs.iter().all(|x| {
            ms.iter().any(|m| match m {
                Matcher::Exact(Exact::String(s)) => s == x,
                Matcher::Exact(Exact::Ip { text, .. }) => text == x,
                _ => false,
            })
        }),
        AnythingBut::Numbers(xs) => xs.iter().all(|x| {
            ms.iter().any(
                |m| matches!(m, Matcher::Exact(Exact::Number { value: Some(v), .. }) if v == x),
            )
        }),
        _ => false,
    }
}
