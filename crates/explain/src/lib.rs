//! Why an event did or did not match an EventBridge pattern, and lints that
//! catch broken patterns before they are deployed.
//!
//! [`explain`] evaluates a compiled [`Pattern`] against an event and returns
//! an [`Explanation`]: the verdict (computed by the reference matcher,
//! `evmatch_automata::naive`, so it can never disagree with it) and, for
//! every `$or` branch, one [`ConditionResult`] per field condition: the
//! event's values at that path with their array-element locations, which
//! matcher each satisfied, and near-miss [`Hint`]s for the ones that failed.
//! A branch whose conditions all hold on their own but which still fails
//! carries an [`ArrayConflict`]: the values sit in different elements of one
//! array of objects (SPEC.md §2.12).
//!
//! ```
//! use evmatch_explain::{explain, HintCode, Status};
//! use evmatch_pattern::{compile, CompileOptions};
//! let p = compile(r#"{"detail": {"state": ["running"]}}"#, &CompileOptions::default()).unwrap();
//! let ev = evmatch_event::parse(br#"{"detail": {"state": "Running"}}"#).unwrap();
//! let x = explain(&p, &ev, &Default::default()).unwrap();
//! assert!(!x.matched);
//! let c = &x.branches[0].conditions[0];
//! assert_eq!(c.status, Status::Failed);
//! assert_eq!(c.hints[0].code, HintCode::Case);
//! ```
//!
//! [`Explanation::render`] gives the terminal form and
//! [`Explanation::to_json`] the stable JSON shape documented in
//! `docs/explain.md`. [`lint()`] checks a pattern on its own.
#![deny(missing_docs)]

mod hints;
mod lint;
mod render;

pub use lint::{lint, Lint, LintCode};
pub use render::{leaf_json, leaf_text, matcher_json, matcher_op, matcher_text, matchers_text};

use evmatch_automata::{leaf_matches, naive, Config};
use evmatch_event::{compatible, EventError, Field, FlatEvent, Leaf};
use evmatch_json::Value;
use evmatch_pattern::{Branch, Matcher, Pattern};
use std::collections::BTreeMap;

/// The explanation of one pattern against one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// The verdict: exactly `evmatch_automata::naive::pattern_matches`.
    pub matched: bool,
    /// One result per `$or` branch, in the pattern's branch order.
    pub branches: Vec<BranchResult>,
}

/// One `$or` alternative (the whole pattern when it has no `$or`).
#[derive(Debug, Clone, PartialEq)]
pub struct BranchResult {
    /// Whether this branch matches (`naive::branch_matches`).
    pub matched: bool,
    /// One result per field condition, sorted by path.
    pub conditions: Vec<ConditionResult>,
    /// Set when every condition holds on its own but the branch fails:
    /// the values come from different elements of one array (SPEC.md §2.12).
    pub array_conflict: Option<ArrayConflict>,
}

/// How a condition fares on its own, before array consistency between
/// conditions is considered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Some value at the path satisfies a matcher of the list.
    Matched,
    /// No value at the path, and the list has `{"exists": false}`.
    Absent,
    /// Values exist at the path, but only inside arrays where another
    /// condition's values sit in other elements, so `{"exists": false}` can
    /// still hold "in the same element" (SPEC.md §2.8, §7 #11).
    AbsentInSomeElement,
    /// Nothing satisfies the list.
    Failed,
}

impl Status {
    /// Whether the condition holds on its own.
    pub fn is_satisfied(self) -> bool {
        self != Status::Failed
    }

    /// The name used in the JSON form: `matched`, `absent`,
    /// `absent-in-some-element`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Matched => "matched",
            Status::Absent => "absent",
            Status::AbsentInSomeElement => "absent-in-some-element",
            Status::Failed => "failed",
        }
    }
}

/// One field condition of a branch against the event.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionResult {
    /// The dotted field path (`detail.state`).
    pub path: String,
    /// The value list, in pattern order (OR).
    pub matchers: Vec<Matcher>,
    /// The outcome on its own.
    pub status: Status,
    /// Every value the event has at the path, in document order.
    pub values: Vec<ValueResult>,
    /// Near-miss hints; only for failed conditions.
    pub hints: Vec<Hint>,
}

/// One event value at a condition's path.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueResult {
    /// Where it is, with array indices: `detail.employees[1].firstName`.
    pub at: String,
    /// The value.
    pub leaf: Leaf,
    /// `(array id, element index)` chain, as in `evmatch_event::Field`.
    pub arrays: Vec<(u32, u32)>,
    /// Index in [`ConditionResult::matchers`] of the first matcher the value
    /// satisfies, if any.
    pub matched_by: Option<usize>,
}

/// A near miss: why a failing condition almost matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    /// What kind of near miss.
    pub code: HintCode,
    /// One sentence for humans.
    pub message: String,
}

/// The kinds of near miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HintCode {
    /// The value differs only in case.
    Case,
    /// A number against a string (or `true`/`null` against a string), or
    /// the reverse.
    Type,
    /// The path is missing, but a key with a close spelling or a different
    /// case exists.
    Key,
    /// The path is missing one `detail.` level, or has one too many.
    DetailLevel,
    /// The value differs only by whitespace at the ends.
    Whitespace,
    /// An anything-but excluded the value.
    AnythingBut,
    /// The number is just outside the numeric range.
    NumericRange,
    /// The path holds an object, and value lists match only leaves.
    Object,
}

impl HintCode {
    /// The code used in text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            HintCode::Case => "case",
            HintCode::Type => "type",
            HintCode::Key => "key",
            HintCode::DetailLevel => "detail-level",
            HintCode::Whitespace => "whitespace",
            HintCode::AnythingBut => "anything-but",
            HintCode::NumericRange => "numeric-range",
            HintCode::Object => "object",
        }
    }
}

/// Why a branch whose conditions each hold still fails: they hold only in
/// different elements of one array (SPEC.md §2.12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayConflict {
    /// The array's location (`detail.employees`).
    pub array: String,
    /// The conditions whose values sit in that array.
    pub parts: Vec<ConflictPart>,
}

/// One condition's elements in an [`ArrayConflict`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictPart {
    /// The condition's path.
    pub path: String,
    /// Indices of the elements where it matched (or, when `present`, where
    /// the field an `exists: false` wants absent is present).
    pub elements: Vec<u32>,
    /// True for an `exists: false` condition: `elements` are where the field
    /// is present.
    pub present: bool,
}

impl ArrayConflict {
    /// One sentence for humans.
    pub fn message(&self) -> String {
        let parts: Vec<String> = self
            .parts
            .iter()
            .map(|p| {
                let els = elements_text(&p.elements);
                if p.present {
                    format!("{} is present in {els}", p.path)
                } else {
                    format!("{} matched in {els}", p.path)
                }
            })
            .collect();
        format!(
            "array consistency: {}; one element of {} must satisfy all of them",
            parts.join(", "),
            self.array
        )
    }
}

fn elements_text(els: &[u32]) -> String {
    let list: Vec<String> = els.iter().map(|e| format!("[{e}]")).collect();
    let word = if els.len() == 1 {
        "element"
    } else {
        "elements"
    };
    format!("{word} {}", list.join(", "))
}

/// Explains `pattern` against a parsed event (any JSON object).
pub fn explain(
    pattern: &Pattern,
    event: &Value,
    config: &Config,
) -> Result<Explanation, EventError> {
    let flat = evmatch_event::flatten(event)?;
    let names = array_paths(event);
    Ok(explain_with(pattern, &flat, &names, config))
}

/// Explains `pattern` against an already flattened event. Without the
/// event tree, array locations read `path[i]` (index after the whole path).
pub fn explain_flat(pattern: &Pattern, event: &FlatEvent, config: &Config) -> Explanation {
    explain_with(pattern, event, &[], config)
}

fn explain_with(
    pattern: &Pattern,
    event: &FlatEvent,
    names: &[String],
    config: &Config,
) -> Explanation {
    let paths = hints::EventPaths::new(event);
    let branches = pattern
        .branches()
        .iter()
        .map(|b| branch(b, event, names, config, &paths))
        .collect();
    Explanation {
        matched: naive::pattern_matches(pattern, event, config),
        branches,
    }
}

struct Work<'a> {
    present: Vec<&'a Field>,
    witnesses: Vec<&'a Field>,
}

fn branch(
    b: &Branch,
    event: &FlatEvent,
    names: &[String],
    config: &Config,
    paths: &hints::EventPaths,
) -> BranchResult {
    let work: Vec<Work<'_>> = b
        .fields()
        .iter()
        .map(|fc| {
            let present: Vec<&Field> = event.at(&fc.path).collect();
            let witnesses = present
                .iter()
                .copied()
                .filter(|f| fc.matchers.iter().any(|m| leaf_matches(m, &f.leaf)))
                .collect();
            Work { present, witnesses }
        })
        .collect();
    let mut conditions = Vec::with_capacity(work.len());
    for (i, (fc, w)) in b.fields().iter().zip(&work).enumerate() {
        let status = if !w.witnesses.is_empty() {
            Status::Matched
        } else if fc.accepts_absence() {
            if w.present.is_empty() {
                Status::Absent
            } else if config.array_consistency
                && w.present.iter().all(|p| {
                    // Some other condition's value sits in another element
                    // of an array this field is in: absence can hold there.
                    work.iter().enumerate().any(|(j, o)| {
                        j != i
                            && o.witnesses
                                .iter()
                                .any(|x| !compatible(&x.arrays, &p.arrays))
                    })
                })
            {
                Status::AbsentInSomeElement
            } else {
                Status::Failed
            }
        } else {
            Status::Failed
        };
        let values: Vec<ValueResult> = w
            .present
            .iter()
            .map(|f| ValueResult {
                at: location(f, names),
                leaf: f.leaf.clone(),
                arrays: f.arrays.clone(),
                matched_by: fc.matchers.iter().position(|m| leaf_matches(m, &f.leaf)),
            })
            .collect();
        let hints = if status == Status::Failed {
            hints::for_condition(fc, &values, paths)
        } else {
            Vec::new()
        };
        conditions.push(ConditionResult {
            path: fc.path.clone(),
            matchers: fc.matchers.clone(),
            status,
            values,
            hints,
        });
    }
    let matched = naive::branch_matches(b, event, config);
    let array_conflict = if !matched && conditions.iter().all(|c| c.status.is_satisfied()) {
        conflict(b, &work, names)
    } else {
        None
    };
    BranchResult {
        matched,
        conditions,
        array_conflict,
    }
}

/// The array shared by the most conditions' usable fields, and where each
/// condition's fields sit in it.
fn conflict(b: &Branch, work: &[Work<'_>], names: &[String]) -> Option<ArrayConflict> {
    let used: Vec<(&[&Field], bool)> = work
        .iter()
        .map(|w| {
            if w.witnesses.is_empty() {
                (&w.present[..], true)
            } else {
                (&w.witnesses[..], false)
            }
        })
        .collect();
    let mut count: BTreeMap<u32, usize> = BTreeMap::new();
    for (fields, _) in &used {
        let mut ids: Vec<u32> = fields
            .iter()
            .flat_map(|f| f.arrays.iter().map(|a| a.0))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            *count.entry(id).or_default() += 1;
        }
    }
    let (&array, _) = count
        .iter()
        .filter(|(_, n)| **n >= 2)
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
    let parts = b
        .fields()
        .iter()
        .zip(&used)
        .filter_map(|(fc, (fields, present))| {
            let mut elements: Vec<u32> = fields
                .iter()
                .flat_map(|f| f.arrays.iter().filter(|a| a.0 == array).map(|a| a.1))
                .collect();
            elements.sort_unstable();
            elements.dedup();
            (!elements.is_empty()).then(|| ConflictPart {
                path: fc.path.clone(),
                elements,
                present: *present,
            })
        })
        .collect();
    Some(ArrayConflict {
        array: names
            .get(array as usize)
            .cloned()
            .unwrap_or_else(|| format!("array #{array}")),
        parts,
    })
}

/// The dotted path of every array of the event, by array id: the ids
/// `evmatch_event::flatten` allocates (document order, an array before
/// what it holds).
pub fn array_paths(event: &Value) -> Vec<String> {
    fn walk(v: &Value, path: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(members) => {
                for (k, child) in members {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(child, &p, out);
                }
            }
            Value::Array(items) => {
                out.push(path.to_string());
                for child in items {
                    walk(child, path, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Value::Object(_) = event {
        walk(event, "", &mut out);
    }
    out
}

/// A field's path with the element index written after each array it sits
/// in: `detail.employees[1].firstName`.
fn location(f: &Field, names: &[String]) -> String {
    let mut out = String::with_capacity(f.path.len() + 4 * f.arrays.len());
    let mut cursor = 0usize;
    for (id, idx) in &f.arrays {
        let end = names
            .get(*id as usize)
            .map(String::len)
            .filter(|&n| {
                n >= cursor
                    && f.path.is_char_boundary(n)
                    && f.path
                        .get(..n)
                        .is_some_and(|pre| names.get(*id as usize).is_some_and(|name| pre == name))
                    && (n == f.path.len() || f.path.as_bytes().get(n) == Some(&b'.'))
            })
            .unwrap_or(f.path.len().max(cursor));
        out.push_str(f.path.get(cursor..end).unwrap_or(""));
        out.push_str(&format!("[{idx}]"));
        cursor = end;
    }
    out.push_str(f.path.get(cursor..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use evmatch_pattern::{compile, CompileOptions};

    fn ex(p: &str, ev: &str) -> Explanation {
        let p = compile(p, &CompileOptions::default()).unwrap();
        let v = evmatch_event::parse(ev.as_bytes()).unwrap();
        explain(&p, &v, &Config::default()).unwrap()
    }

    #[test]
    fn spec_1_3_locations_name_array_elements() {
        let x = ex(
            r#"{"d": {"e": {"f": ["x"]}}}"#,
            r#"{"d": {"e": [{"f": "a"}, {"f": ["b", "x"]}]}, "g": [[1]]}"#,
        );
        let at: Vec<&str> = x.branches[0].conditions[0]
            .values
            .iter()
            .map(|v| v.at.as_str())
            .collect();
        assert_eq!(at, ["d.e[0].f", "d.e[1].f[0]", "d.e[1].f[1]"]);
        let v = evmatch_event::parse(br#"{"a": [[1], {"b": [2]}], "c": [3]}"#).unwrap();
        assert_eq!(array_paths(&v), ["a", "a", "a.b", "c"]);
        let flat = evmatch_event::flatten(&v).unwrap();
        let names = array_paths(&v);
        let locs: Vec<String> = flat.fields().iter().map(|f| location(f, &names)).collect();
        assert_eq!(locs, ["a[0][0]", "a[1].b[0]", "c[0]"]);
    }

    #[test]
    fn spec_2_12_array_conflict_names_the_elements() {
        let x = ex(
            r#"{"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}"#,
            r#"{"employees": [{"firstName": "John", "lastName": "Doe"}, {"firstName": "Anna", "lastName": "Smith"}, {"firstName": "Peter", "lastName": "Jones"}]}"#,
        );
        assert!(!x.matched);
        let c = x.branches[0].array_conflict.as_ref().unwrap();
        assert_eq!(c.array, "employees");
        assert_eq!(
            c.message(),
            "array consistency: employees.firstName matched in element [1], employees.lastName matched in element [2]; one element of employees must satisfy all of them"
        );
    }
}
