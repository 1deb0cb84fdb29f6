//! Matchers and values written back as pattern text, the terminal form of
//! an explanation, and its JSON form (shape documented in docs/explain.md).

use crate::{ArrayConflict, BranchResult, ConditionResult, Explanation, Status};
use evmatch_event::Leaf;
use evmatch_pattern::{AnythingBut, Exact, IpRange, Matcher, NumericRange};
use serde_json::{json, Value as J};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("{s:?}"))
}

/// A binary64 written the short way: `100`, `2.5`, `1e300`.
pub(crate) fn num(v: f64) -> String {
    if v == v.trunc() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else if v != 0.0 && (v.abs() >= 1e15 || v.abs() < 1e-6) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

fn cidr(r: &IpRange) -> String {
    let width: u32 = if r.v6 { 128 } else { 32 };
    let span = r.high.wrapping_sub(r.low);
    let host_bits = 128 - span.leading_zeros();
    let mask = width.saturating_sub(host_bits);
    let addr = if r.v6 {
        Ipv6Addr::from(r.low).to_string()
    } else {
        Ipv4Addr::from(u32::try_from(r.low).unwrap_or(0)).to_string()
    };
    format!("{addr}/{mask}")
}

fn list(items: &[String]) -> String {
    if let [one] = items {
        one.clone()
    } else {
        format!("[{}]", items.join(", "))
    }
}

fn numeric(r: &NumericRange) -> String {
    match (r.low, r.high) {
        (Some((a, true)), Some((b, true))) if a == b => format!("[\"=\", {}]", num(a)),
        (low, high) => {
            let mut parts = Vec::new();
            if let Some((v, incl)) = low {
                parts.push(format!("\"{}\", {}", if incl { ">=" } else { ">" }, num(v)));
            }
            if let Some((v, incl)) = high {
                parts.push(format!("\"{}\", {}", if incl { "<=" } else { "<" }, num(v)));
            }
            format!("[{}]", parts.join(", "))
        }
    }
}

/// A matcher as pattern text: `"running"`, `{"prefix": "i-"}`,
/// `{"numeric": [">", 100]}`. Exact numbers keep their spelling.
pub fn matcher_text(m: &Matcher) -> String {
    match m {
        Matcher::Exact(e) => match e {
            Exact::String(s) => quote(s),
            Exact::Ip { text, .. } => quote(text),
            Exact::Number { text, .. } => text.clone(),
            Exact::Bool(b) => b.to_string(),
            Exact::Null => "null".into(),
        },
        Matcher::Prefix(s) => format!("{{\"prefix\": {}}}", quote(s)),
        Matcher::Suffix(s) => format!("{{\"suffix\": {}}}", quote(s)),
        Matcher::PrefixIgnoreCase(s) => {
            format!("{{\"prefix\": {{\"equals-ignore-case\": {}}}}}", quote(s))
        }
        Matcher::SuffixIgnoreCase(s) => {
            format!("{{\"suffix\": {{\"equals-ignore-case\": {}}}}}", quote(s))
        }
        Matcher::EqualsIgnoreCase(s) => format!("{{\"equals-ignore-case\": {}}}", quote(s)),
        Matcher::Wildcard(w) => format!("{{\"wildcard\": {}}}", quote(w.as_str())),
        Matcher::AnythingBut(ab) => {
            let inner = match ab {
                AnythingBut::Strings(v) => list(&v.iter().map(|s| quote(s)).collect::<Vec<_>>()),
                AnythingBut::Numbers(v) => list(&v.iter().map(|n| num(*n)).collect::<Vec<_>>()),
                AnythingBut::Prefixes(v) => format!(
                    "{{\"prefix\": {}}}",
                    list(&v.iter().map(|s| quote(s)).collect::<Vec<_>>())
                ),
                AnythingBut::Suffixes(v) => format!(
                    "{{\"suffix\": {}}}",
                    list(&v.iter().map(|s| quote(s)).collect::<Vec<_>>())
                ),
                AnythingBut::IgnoreCase(v) => format!(
                    "{{\"equals-ignore-case\": {}}}",
                    list(&v.iter().map(|s| quote(s)).collect::<Vec<_>>())
                ),
                AnythingBut::Wildcards(v) => format!(
                    "{{\"wildcard\": {}}}",
                    list(&v.iter().map(|w| quote(w.as_str())).collect::<Vec<_>>())
                ),
            };
            format!("{{\"anything-but\": {inner}}}")
        }
        Matcher::Numeric(r) => format!("{{\"numeric\": {}}}", numeric(r)),
        Matcher::Exists(b) => format!("{{\"exists\": {b}}}"),
        Matcher::Cidr(r) => format!("{{\"cidr\": {}}}", quote(&cidr(r))),
    }
}

/// A value list as pattern text: `["running", {"prefix": "stop"}]`.
pub fn matchers_text(ms: &[Matcher]) -> String {
    let items: Vec<String> = ms.iter().map(matcher_text).collect();
    format!("[{}]", items.join(", "))
}

/// The operator family of a matcher, as the conformance suite names them:
/// `exact`, `prefix`, `prefix-ignore-case`, `suffix`, `suffix-ignore-case`,
/// `equals-ignore-case`, `wildcard`, `anything-but`, `anything-but-prefix`,
/// `anything-but-suffix`, `anything-but-ignore-case`,
/// `anything-but-wildcard`, `numeric`, `exists`, `cidr`.
pub fn matcher_op(m: &Matcher) -> &'static str {
    match m {
        Matcher::Exact(_) => "exact",
        Matcher::Prefix(_) => "prefix",
        Matcher::PrefixIgnoreCase(_) => "prefix-ignore-case",
        Matcher::Suffix(_) => "suffix",
        Matcher::SuffixIgnoreCase(_) => "suffix-ignore-case",
        Matcher::EqualsIgnoreCase(_) => "equals-ignore-case",
        Matcher::Wildcard(_) => "wildcard",
        Matcher::AnythingBut(ab) => match ab {
            AnythingBut::Strings(_) | AnythingBut::Numbers(_) => "anything-but",
            AnythingBut::Prefixes(_) => "anything-but-prefix",
            AnythingBut::Suffixes(_) => "anything-but-suffix",
            AnythingBut::IgnoreCase(_) => "anything-but-ignore-case",
            AnythingBut::Wildcards(_) => "anything-but-wildcard",
        },
        Matcher::Numeric(_) => "numeric",
        Matcher::Exists(_) => "exists",
        Matcher::Cidr(_) => "cidr",
    }
}

/// A matcher as JSON: the pattern text parsed back (so numbers may lose
/// their spelling; `pattern` in the JSON output keeps it).
pub fn matcher_json(m: &Matcher) -> J {
    serde_json::from_str(&matcher_text(m)).unwrap_or_else(|_| J::String(matcher_text(m)))
}

/// A leaf as JSON text (numbers as written).
pub fn leaf_text(l: &Leaf) -> String {
    match l {
        Leaf::String(s) => quote(s),
        Leaf::Number { text, .. } => text.to_string(),
        Leaf::Bool(b) => b.to_string(),
        Leaf::Null => "null".into(),
    }
}

/// A leaf as a JSON value. A number serde_json cannot hold (`1E400`)
/// becomes its text as a string.
pub fn leaf_json(l: &Leaf) -> J {
    match l {
        Leaf::String(s) => J::String(s.clone()),
        Leaf::Number { text, .. } => {
            serde_json::from_str::<J>(text).unwrap_or_else(|_| J::String(text.to_string()))
        }
        Leaf::Bool(b) => J::Bool(*b),
        Leaf::Null => J::Null,
    }
}

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// At most this many values per condition in the terminal form.
const MAX_VALUES: usize = 8;

struct Paint(bool);

impl Paint {
    fn p(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("{code}{s}{RESET}")
        } else {
            s.to_string()
        }
    }
    fn mark(&self, ok: bool) -> String {
        if ok {
            self.p(GREEN, "✓")
        } else {
            self.p(RED, "✗")
        }
    }
}

impl Explanation {
    /// The terminal form: per branch a header, one line per condition
    /// (`✓`/`✗`, path, value list, what the event has), hint lines under
    /// failed conditions, then `result: match` or `result: no match`. With
    /// `color`, ANSI colours.
    pub fn render(&self, color: bool) -> String {
        let paint = Paint(color);
        let mut out = String::new();
        let n = self.branches.len();
        for (i, b) in self.branches.iter().enumerate() {
            render_branch(&mut out, &paint, b, i, n);
        }
        let verdict = if self.matched { "match" } else { "no match" };
        let _ = writeln!(
            out,
            "result: {}",
            paint.p(if self.matched { GREEN } else { RED }, verdict)
        );
        out
    }

    /// The JSON form (see docs/explain.md):
    /// `{"matched": bool, "branches": [{"matched", "conditions": [...],
    /// "array_conflict"}]}`.
    pub fn to_json(&self) -> J {
        json!({
            "matched": self.matched,
            "branches": self.branches.iter().map(branch_json).collect::<Vec<_>>(),
        })
    }
}

fn render_branch(out: &mut String, paint: &Paint, b: &BranchResult, i: usize, n: usize) {
    let state = if b.matched { "match" } else { "no match" };
    let head = if n > 1 {
        format!("$or branch {} of {n}: {state}", i + 1)
    } else {
        format!("pattern: {state}")
    };
    let _ = writeln!(out, "{}", paint.p(BOLD, &head));
    for c in &b.conditions {
        render_condition(out, paint, c);
    }
    if let Some(ac) = &b.array_conflict {
        let _ = writeln!(out, "  {} {}", paint.mark(false), ac.message());
    }
}

fn render_condition(out: &mut String, paint: &Paint, c: &ConditionResult) {
    let got = if c.values.is_empty() {
        "missing (no value at this path)".to_string()
    } else if c.values.len() == 1 && c.values.iter().all(|v| v.arrays.is_empty()) {
        let v: String = c.values.iter().map(|v| leaf_text(&v.leaf)).collect();
        format!("got {v}")
    } else {
        let mut items: Vec<String> = c
            .values
            .iter()
            .take(MAX_VALUES)
            .map(|v| {
                let at = if v.arrays.is_empty() {
                    String::new()
                } else {
                    format!("{} ", paint.p(DIM, &v.at))
                };
                format!(
                    "{at}{} {}",
                    leaf_text(&v.leaf),
                    paint.mark(v.matched_by.is_some())
                )
            })
            .collect();
        if c.values.len() > MAX_VALUES {
            items.push(format!("… {} more", c.values.len() - MAX_VALUES));
        }
        format!("got {}", items.join(", "))
    };
    let note = match c.status {
        Status::Absent => " (absent, as exists: false wants)".to_string(),
        Status::AbsentInSomeElement => {
            " (present, but exists: false is judged per array element)".to_string()
        }
        Status::Failed
            if !c.values.is_empty()
                && c.matchers
                    .iter()
                    .any(|m| matches!(m, Matcher::Exists(false))) =>
        {
            " (present, and exists: false wants it absent)".to_string()
        }
        _ => String::new(),
    };
    let _ = writeln!(
        out,
        "  {} {} {}: {got}{note}",
        paint.mark(c.status.is_satisfied()),
        paint.p(BOLD, &c.path),
        matchers_text(&c.matchers),
    );
    for h in &c.hints {
        let _ = writeln!(
            out,
            "      {} {} [{}]",
            paint.p(YELLOW, "hint:"),
            h.message,
            h.code.as_str()
        );
    }
}

fn branch_json(b: &BranchResult) -> J {
    json!({
        "matched": b.matched,
        "conditions": b.conditions.iter().map(condition_json).collect::<Vec<_>>(),
        "array_conflict": b.array_conflict.as_ref().map(conflict_json),
    })
}

fn condition_json(c: &ConditionResult) -> J {
    json!({
        "path": c.path,
        "status": c.status.as_str(),
        "satisfied": c.status.is_satisfied(),
        "pattern": matchers_text(&c.matchers),
        "expected": c.matchers.iter().map(|m| json!({
            "op": matcher_op(m),
            "pattern": matcher_text(m),
            "matcher": matcher_json(m),
        })).collect::<Vec<_>>(),
        "values": c.values.iter().map(|v| json!({
            "at": v.at,
            "value": leaf_json(&v.leaf),
            "text": leaf_text(&v.leaf),
            "matched": v.matched_by.is_some(),
            "matched_by": v.matched_by,
        })).collect::<Vec<_>>(),
        "hints": c.hints.iter().map(|h| json!({
            "code": h.code.as_str(),
            "message": h.message,
        })).collect::<Vec<_>>(),
    })
}

fn conflict_json(a: &ArrayConflict) -> J {
    json!({
        "array": a.array,
        "message": a.message(),
        "parts": a.parts.iter().map(|p| json!({
            "path": p.path,
            "elements": p.elements,
            "present": p.present,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use evmatch_pattern::{compile, CompileOptions};

    fn texts(p: &str) -> String {
        let p = compile(p, &CompileOptions::default()).unwrap();
        matchers_text(&p.branches()[0].fields()[0].matchers)
    }

    #[test]
    fn matchers_round_trip_as_pattern_text() {
        // Every operator of SPEC.md §2.2 to §2.9 written back.
        let cases = [
            r#"["a", 3.0e2, true, null, "10.0.0.1"]"#,
            r#"[{"prefix": "a"}, {"suffix": "b"}, {"equals-ignore-case": "c"}]"#,
            r#"[{"prefix": {"equals-ignore-case": "a"}}, {"suffix": {"equals-ignore-case": "b"}}]"#,
            r#"[{"wildcard": "a*\\*"}]"#,
            r#"[{"anything-but": "x"}, {"anything-but": [1, 2.5]}, {"anything-but": {"prefix": "p"}}]"#,
            r#"[{"anything-but": {"suffix": ["s", "t"]}}, {"anything-but": {"equals-ignore-case": "e"}}, {"anything-but": {"wildcard": "w*"}}]"#,
            r#"[{"numeric": [">", 0, "<=", 5]}, {"numeric": ["=", 100]}, {"numeric": ["<", -1.5]}]"#,
            r#"[{"exists": true}, {"cidr": "10.0.0.0/24"}, {"cidr": "2001:db8::/64"}]"#,
        ];
        for c in cases {
            assert_eq!(texts(&format!("{{\"f\": {c}}}")), c);
        }
    }
}
