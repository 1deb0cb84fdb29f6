//! The checked form of a pattern: branches of (path, matchers).

use crate::ip::IpRange;
use crate::wildcard::Wildcard;

/// A compiled event pattern: `$or` expanded into branches (SPEC.md §2.0,
/// §2.10). The pattern matches when any branch matches.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub(crate) branches: Vec<Branch>,
}

impl Pattern {
    /// A pattern from branches built by another front end (the SNS filter
    /// policy compiler) rather than by [`crate::compile`]. Give at least
    /// one branch: a pattern without branches matches nothing.
    pub fn from_branches(branches: Vec<Branch>) -> Pattern {
        Pattern { branches }
    }

    /// The branches (at least one).
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    /// Every distinct field path the pattern names, sorted.
    pub fn paths(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .branches
            .iter()
            .flat_map(|b| b.fields.iter().map(|f| f.path.as_str()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// One `$or` alternative: every field must be satisfied (AND).
#[derive(Debug, Clone, PartialEq)]
pub struct Branch {
    pub(crate) fields: Vec<FieldCondition>,
}

impl Branch {
    /// A branch from conditions built by another front end. The conditions
    /// are sorted by path; when a path repeats, the last condition given
    /// for it is kept (as a duplicate key is, SPEC.md §2.11).
    pub fn new(fields: Vec<FieldCondition>) -> Branch {
        let mut kept: Vec<FieldCondition> = Vec::with_capacity(fields.len());
        for f in fields {
            match kept.iter_mut().find(|k| k.path == f.path) {
                Some(slot) => *slot = f,
                None => kept.push(f),
            }
        }
        kept.sort_by(|a, b| a.path.cmp(&b.path));
        Branch { fields: kept }
    }

    /// The conditions, sorted by path; paths are unique.
    pub fn fields(&self) -> &[FieldCondition] {
        &self.fields
    }
}

/// The matchers on one flattened path: satisfied when any matcher is
/// satisfied (OR within a field, SPEC.md §2.3).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldCondition {
    /// Dotted path (`detail.state`); pattern nesting and dotted keys give
    /// the same path (SPEC.md §2.11).
    pub path: String,
    /// The value list, in pattern order.
    pub matchers: Vec<Matcher>,
}

impl FieldCondition {
    /// Whether the list contains `{"exists": false}`, the only matcher that
    /// absence satisfies (SPEC.md §2.8).
    pub fn accepts_absence(&self) -> bool {
        self.matchers
            .iter()
            .any(|m| matches!(m, Matcher::Exists(false)))
    }
}

/// One entry of a value list.
#[derive(Debug, Clone, PartialEq)]
pub enum Matcher {
    /// An exact value (SPEC.md §2.2).
    Exact(Exact),
    /// `{"prefix": "s"}`
    Prefix(String),
    /// `{"prefix": {"equals-ignore-case": "s"}}`
    PrefixIgnoreCase(String),
    /// `{"suffix": "s"}`
    Suffix(String),
    /// `{"suffix": {"equals-ignore-case": "s"}}`
    SuffixIgnoreCase(String),
    /// `{"equals-ignore-case": "s"}`
    EqualsIgnoreCase(String),
    /// `{"wildcard": "p"}`
    Wildcard(Wildcard),
    /// Every `anything-but` form (SPEC.md §2.6).
    AnythingBut(AnythingBut),
    /// `{"numeric": [...]}` (SPEC.md §2.7)
    Numeric(NumericRange),
    /// `{"exists": true|false}` (SPEC.md §2.8)
    Exists(bool),
    /// `{"cidr": "block"}` (SPEC.md §2.9)
    Cidr(IpRange),
}

/// Exact values.
#[derive(Debug, Clone, PartialEq)]
pub enum Exact {
    /// A string that is not an IP literal: equal strings only.
    String(String),
    /// A string that is an IP literal: strings naming the same address
    /// (`2001:db8::1` = `2001:0db8:0:0:0:0:0:1`), SPEC.md §2.2.
    Ip {
        /// The literal as written.
        text: String,
        /// The address as a one-address range.
        range: IpRange,
    },
    /// A number: numerically equal numbers when `value` is set (comparable,
    /// SPEC.md §3.2), and always the identical literal text.
    Number {
        /// The literal as written in the pattern.
        text: String,
        /// The comparable value, if any.
        value: Option<f64>,
    },
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
}

/// The `anything-but` forms; each excludes some values and admits every
/// other present leaf of any type.
#[derive(Debug, Clone, PartialEq)]
pub enum AnythingBut {
    /// Strings equal to one of these.
    Strings(Vec<String>),
    /// Comparable numbers numerically equal to one of these.
    Numbers(Vec<f64>),
    /// Strings starting with one of these.
    Prefixes(Vec<String>),
    /// Strings ending with one of these.
    Suffixes(Vec<String>),
    /// Strings equal to one of these ignoring case.
    IgnoreCase(Vec<String>),
    /// Strings matching one of these wildcards.
    Wildcards(Vec<Wildcard>),
}

/// A numeric interval; `=` is the closed interval `[v, v]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NumericRange {
    /// Lower bound and whether it is included.
    pub low: Option<(f64, bool)>,
    /// Upper bound and whether it is included.
    pub high: Option<(f64, bool)>,
}

impl NumericRange {
    /// Whether `v` lies in the range.
    pub fn contains(&self, v: f64) -> bool {
        let low_ok = match self.low {
            None => true,
            Some((b, true)) => v >= b,
            Some((b, false)) => v > b,
        };
        let high_ok = match self.high {
            None => true,
            Some((b, true)) => v <= b,
            Some((b, false)) => v < b,
        };
        low_ok && high_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(path: &str, s: &str) -> FieldCondition {
        FieldCondition {
            path: path.into(),
            matchers: vec![Matcher::Exact(Exact::String(s.into()))],
        }
    }

    #[test]
    fn branch_new_sorts_and_keeps_the_last_duplicate() {
        // SPEC.md §2.11: a repeated path keeps its last value list.
        let b = Branch::new(vec![cond("b", "1"), cond("a", "2"), cond("b", "3")]);
        let got: Vec<(&str, &Matcher)> = b
            .fields()
            .iter()
            .map(|f| (f.path.as_str(), &f.matchers[0]))
            .collect();
        assert_eq!(
            got,
            vec![
                ("a", &Matcher::Exact(Exact::String("2".into()))),
                ("b", &Matcher::Exact(Exact::String("3".into())))
            ]
        );
        let p = Pattern::from_branches(vec![b.clone(), b]);
        assert_eq!(p.branches().len(), 2);
        assert_eq!(p.paths(), vec!["a", "b"]);
    }
}
