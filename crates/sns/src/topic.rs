//! A topic: named subscriptions, each with an optional filter policy,
//! compiled into one matcher per scope on the shared engine.

use crate::message::{Message, PreparedMessage};
use crate::policy::{FilterPolicy, FilterPolicyScope, PolicyError};
use ahash::AHashMap;
use evmatch::{RuleSet, RuleSetBuilder};
use evmatch_automata::{ResolvedPath, RuleId, Scratch};
use evmatch_event::{Field, FlatEvent};
use evmatch_pattern::Pattern;
use std::cell::RefCell;
use std::fmt;

thread_local! {
    /// Matching scratch space and the engine's output, reused across
    /// messages on each thread.
    static SCRATCH: RefCell<(Scratch, Vec<RuleId>)> = RefCell::new((Scratch::new(), Vec::new()));
}

/// The field paths a scope's policies name, resolved once against its
/// machine when the topic is built: a message's fields are then matched
/// by path id, and fields no policy reads are skipped, without hashing
/// their paths for every message.
#[derive(Debug, Clone, Default)]
struct PathTable {
    /// Bit `min(len, 63)` is set for the byte length of every path: a
    /// field whose length no path has is skipped at once.
    lens: u64,
    /// Few paths, with their lengths and [`tag`]s: compared in place.
    small: Vec<SmallPath>,
    /// Many paths: hashed.
    big: Option<AHashMap<Box<str>, ResolvedPath>>,
}

/// A path of a small [`PathTable`]: its length, its [`tag`], the path and
/// its resolution.
type SmallPath = (usize, (u64, u64), Box<str>, ResolvedPath);

/// Above this many paths, [`PathTable`] hashes.
const SMALL_PATHS: usize = 16;

/// The length bit of a path in [`PathTable::lens`].
#[inline]
fn len_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// A path's bytes in two words, read without a loop: for a given length
/// they determine the path up to 16 bytes (reads overlap when shorter; a
/// short path's bytes are spread over the first word).
#[inline(always)]
fn tag(b: &[u8]) -> (u64, u64) {
    let n = b.len();
    let word4 = |at: usize| {
        b.get(at..)
            .and_then(|r| r.first_chunk::<4>())
            .map_or(0, |w| u64::from(u32::from_le_bytes(*w)))
    };
    let word8 = |at: usize| {
        b.get(at..)
            .and_then(|r| r.first_chunk::<8>())
            .map_or(0, |w| u64::from_le_bytes(*w))
    };
    let byte = |at: usize| b.get(at).map_or(0, |&x| u64::from(x));
    match n {
        0 => (0, 0),
        1..=3 => (byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16, 0),
        4..=7 => (word4(0) | word4(n - 4) << 32, 0),
        _ => (word8(0), word8(n - 8)),
    }
}

/// Whether `a`, of `b`'s length and [`tag`], is `b`: the bytes the tag
/// leaves out (those between the first and last eight) are equal.
#[inline(always)]
fn same_rest(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    n <= 16 || a.get(8..n - 8) == b.get(8..n - 8)
}

impl PathTable {
    fn new(rules: &RuleSet, patterns: &[&Pattern]) -> PathTable {
        let mut small: Vec<SmallPath> = Vec::new();
        let mut big: AHashMap<Box<str>, ResolvedPath> = AHashMap::new();
        let mut lens = 0;
        let paths = patterns
            .iter()
            .flat_map(|p| p.branches())
            .flat_map(|b| b.fields())
            .map(|fc| fc.path.as_str());
        for path in paths {
            if big.contains_key(path) {
                continue;
            }
            if let Some(id) = rules.machine().resolve_path(path) {
                big.insert(path.into(), id);
                small.push((path.len(), tag(path.as_bytes()), path.into(), id));
                lens |= len_bit(path.len());
            }
        }
        if small.len() > SMALL_PATHS {
            PathTable {
                lens,
                small: Vec::new(),
                big: Some(big),
            }
        } else {
            PathTable {
                lens,
                small,
                big: None,
            }
        }
    }

    #[inline(always)]
    fn get(&self, path: &str) -> Option<ResolvedPath> {
        if self.lens & len_bit(path.len()) == 0 {
            return None;
        }
        if let Some(m) = &self.big {
            return m.get(path).copied();
        }
        let (n, t) = (path.len(), tag(path.as_bytes()));
        self.small
            .iter()
            .find(|(kn, kt, k, _)| *kn == n && *kt == t && same_rest(k.as_bytes(), path.as_bytes()))
            .map(|&(_, _, _, id)| id)
    }
}

/// The fields of an event whose paths some policy of a scope reads, with
/// their resolutions (a plain loop: the tests inline into the matcher's).
#[derive(Clone)]
struct Resolved<'a> {
    fields: std::slice::Iter<'a, Field>,
    paths: &'a PathTable,
}

impl<'a> Iterator for Resolved<'a> {
    type Item = (ResolvedPath, &'a Field);

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        for f in self.fields.by_ref() {
            if let Some(p) = self.paths.get(&f.path) {
                return Some((p, f));
            }
        }
        None
    }
}

/// One scope's subscriptions: their rules, the subscription index of each
/// rule, and the paths the rules name.
#[derive(Debug, Clone)]
struct Scope {
    rules: RuleSet,
    ids: Vec<usize>,
    paths: PathTable,
}

impl Scope {
    fn new(policies: Vec<(usize, &str, &Pattern)>) -> Scope {
        let mut b = RuleSetBuilder::new();
        let mut ids = Vec::with_capacity(policies.len());
        let mut patterns = Vec::with_capacity(policies.len());
        for (i, name, pattern) in policies {
            b.add_compiled(name, pattern.clone());
            ids.push(i);
            patterns.push(pattern);
        }
        let rules = b.build();
        let paths = PathTable::new(&rules, &patterns);
        Scope { rules, ids, paths }
    }

    /// Appends to `out` the subscriptions whose policy in this scope
    /// matches `event`, ascending.
    fn matches_into(&self, event: &FlatEvent, out: &mut Vec<usize>) {
        let machine = self.rules.machine();
        let fields = Resolved {
            fields: event.fields().iter(),
            paths: &self.paths,
        };
        let mut run = |s: &mut Scratch, buf: &mut Vec<RuleId>| {
            buf.clear();
            machine.matches_resolved(s, fields.clone(), buf);
            out.extend(
                buf.iter()
                    .filter_map(|&r| self.ids.get(r as usize).copied()),
            );
        };
        let done = SCRATCH.with(|cell| match cell.try_borrow_mut() {
            Ok(mut g) => {
                let (s, buf) = &mut *g;
                run(s, buf);
                true
            }
            Err(_) => false,
        });
        if !done {
            run(&mut Scratch::new(), &mut Vec::new());
        }
    }
}

/// A subscription whose policy failed to compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionError {
    /// The subscription's name.
    pub name: String,
    /// Why its policy was rejected.
    pub error: PolicyError,
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "subscription {:?}: {}", self.name, self.error)
    }
}

impl std::error::Error for SubscriptionError {}

/// Collects subscriptions, then builds an immutable [`Topic`].
#[derive(Debug, Clone, Default)]
pub struct TopicBuilder {
    subscriptions: Vec<(String, Option<FilterPolicy>)>,
}

impl TopicBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a subscription with a policy text and scope. The empty text
    /// means no policy (SPEC.md §5.5).
    pub fn subscribe(
        &mut self,
        name: &str,
        policy: &str,
        scope: FilterPolicyScope,
    ) -> Result<(), SubscriptionError> {
        let p = FilterPolicy::compile(policy, scope).map_err(|error| SubscriptionError {
            name: name.to_string(),
            error,
        })?;
        self.subscribe_compiled(name, p);
        Ok(())
    }

    /// Adds a subscription with an already compiled policy.
    pub fn subscribe_compiled(&mut self, name: &str, policy: FilterPolicy) {
        self.subscriptions.push((name.to_string(), Some(policy)));
    }

    /// Adds a subscription without a filter policy: it receives every
    /// message (SPEC.md §5.1).
    pub fn subscribe_unfiltered(&mut self, name: &str) {
        self.subscriptions.push((name.to_string(), None));
    }

    /// Number of subscriptions added so far.
    pub fn len(&self) -> usize {
        self.subscriptions.len()
    }

    /// Whether no subscription was added.
    pub fn is_empty(&self) -> bool {
        self.subscriptions.is_empty()
    }

    /// The topic.
    pub fn build(self) -> Topic {
        let mut names = Vec::with_capacity(self.subscriptions.len());
        let mut unfiltered = Vec::new();
        let mut attributes = Vec::new();
        let mut body = Vec::new();
        for (i, (name, policy)) in self.subscriptions.iter().enumerate() {
            match policy
                .as_ref()
                .and_then(|p| Some((p.scope(), p.pattern()?)))
            {
                None => unfiltered.push(i),
                Some((FilterPolicyScope::MessageAttributes, pattern)) => {
                    attributes.push((i, name.as_str(), pattern))
                }
                Some((FilterPolicyScope::MessageBody, pattern)) => {
                    body.push((i, name.as_str(), pattern))
                }
            }
            names.push(name.clone());
        }
        Topic {
            names,
            unfiltered,
            attributes: Scope::new(attributes),
            body: Scope::new(body),
        }
    }
}

/// Subscriptions compiled for matching: one rule set per scope on the
/// shared engine, plus the subscriptions without a policy. `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Topic {
    names: Vec<String>,
    unfiltered: Vec<usize>,
    attributes: Scope,
    body: Scope,
}

impl Topic {
    /// Starts a builder.
    pub fn builder() -> TopicBuilder {
        TopicBuilder::new()
    }

    /// Subscription names, in the order they were added.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Number of subscriptions.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the topic has no subscription.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Indices of the subscriptions that receive a prepared message,
    /// ascending.
    pub fn receivers_prepared(&self, message: &PreparedMessage) -> Vec<usize> {
        let mut out = Vec::new();
        self.receivers_into(message, &mut out);
        out
    }

    /// [`Topic::receivers_prepared`] into a caller-owned vector (cleared
    /// first), so a loop over messages allocates nothing in steady state.
    pub fn receivers_into(&self, message: &PreparedMessage, out: &mut Vec<usize>) {
        out.clear();
        out.extend_from_slice(&self.unfiltered);
        let mut sources = usize::from(!out.is_empty());
        if !self.attributes.rules.is_empty() {
            let before = out.len();
            self.attributes
                .matches_into(message.attributes_event(), out);
            sources += usize::from(out.len() > before);
        }
        // The body is read only for a topic with body-scope policies.
        if let Some(ev) = (!self.body.rules.is_empty())
            .then(|| message.body_event())
            .flatten()
        {
            let before = out.len();
            self.body.matches_into(ev, out);
            sources += usize::from(out.len() > before);
        }
        // Each source is ascending already.
        if sources > 1 {
            out.sort_unstable();
        }
    }

    /// Names of the subscriptions that receive a message, in the order the
    /// subscriptions were added.
    pub fn receivers(&self, message: &Message) -> Vec<&str> {
        self.receivers_prepared(&message.prepare())
            .into_iter()
            .filter_map(|i| self.names.get(i).map(String::as_str))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::message::Attribute;

    #[test]
    fn path_table_tells_paths_apart_by_tag_length_and_tail() {
        // Paths sharing their first (and last) eight bytes, lengths around
        // eight and sixteen, a
        // zero byte, and one past the 63-byte length bit.
        let long = "x".repeat(70);
        let names = [
            "a",
            "ab",
            "abcdefgh",
            "abcdefgh1",
            "abcdefgh2",
            "abcdefgh12",
            "abcdefghijklmnop",
            "abcdefghXijklmnop",
            "abcdefghYijklmnop",
            "abc\u{0}",
            long.as_str(),
        ];
        // Few paths (compared in place) and many (hashed).
        for pad in [0, 20] {
            let mut b = Topic::builder();
            for (i, n) in names.iter().enumerate() {
                let policy = format!(r#"{{{}: ["v{i}"]}}"#, serde_json::to_string(n).unwrap());
                b.subscribe(
                    &format!("s{i}"),
                    &policy,
                    FilterPolicyScope::MessageAttributes,
                )
                .unwrap();
            }
            for k in 0..pad {
                let policy = format!(r#"{{"pad-{k}": ["v"]}}"#);
                b.subscribe(
                    &format!("pad{k}"),
                    &policy,
                    FilterPolicyScope::MessageAttributes,
                )
                .unwrap();
            }
            let t = b.build();
            assert_eq!(t.attributes.paths.big.is_some(), pad > 0);
            for (i, n) in names.iter().enumerate() {
                let m = Message::new("{}")
                    .with_attribute(*n, Attribute::String(format!("v{i}")))
                    .prepare();
                assert_eq!(t.receivers_prepared(&m), vec![i], "{n:?}");
            }
            for other in [
                "abc",
                "abcdefg",
                "abcdefgh3",
                "abcdefgh123",
                "abcdefghZijklmnop",
                "abcdefghijklmnoq",
                "abcdefghXXijklmnop",
                "abc\u{0}\u{0}",
                &long[1..],
            ] {
                let mut m = Message::new("{}");
                for i in 0..names.len() {
                    m = m.with_attribute(other, Attribute::String(format!("v{i}")));
                    let p = m.clone().prepare();
                    assert!(t.receivers_prepared(&p).is_empty(), "{other:?}");
                }
            }
        }
    }

    #[test]
    fn spec_5_1_receivers_into_merges_both_scopes_and_unfiltered_ascending() {
        let mut b = Topic::builder();
        let attrs = FilterPolicyScope::MessageAttributes;
        let body = FilterPolicyScope::MessageBody;
        b.subscribe("body", r#"{"k": ["v"]}"#, body).unwrap();
        b.subscribe_unfiltered("all");
        b.subscribe("attr", r#"{"a": ["x"]}"#, attrs).unwrap();
        b.subscribe("attr-no", r#"{"a": ["y"]}"#, attrs).unwrap();
        b.subscribe("body-2", r#"{"k": [{"prefix": "v"}]}"#, body)
            .unwrap();
        b.subscribe("empty", "", attrs).unwrap();
        let t = b.build();
        let m = Message::new(r#"{"k": "v"}"#)
            .with_attribute("a", Attribute::String("x".into()))
            .prepare();
        let mut out = vec![99, 98];
        t.receivers_into(&m, &mut out);
        assert_eq!(out, vec![0, 1, 2, 4, 5]);
        assert_eq!(t.receivers_prepared(&m), out);
        // The vector is reused: cleared, then filled again.
        // A topic without body-scope policies never reads the body.
        let mut a = Topic::builder();
        a.subscribe("attr", r#"{"a": ["x"]}"#, attrs).unwrap();
        a.subscribe_unfiltered("all");
        let a = a.build();
        let fresh = Message::new(r#"{"k": "v"}"#)
            .with_attribute("a", Attribute::String("x".into()))
            .into_prepared();
        a.receivers_into(&fresh, &mut out);
        assert_eq!(out, vec![0, 1]);
        assert!(!fresh.body_was_read());
        t.receivers_into(&fresh, &mut out);
        assert_eq!(out, vec![0, 1, 2, 4, 5]);
        assert!(fresh.body_was_read());
        let plain = Message::new("not json").prepare();
        t.receivers_into(&plain, &mut out);
        assert_eq!(out, vec![1, 5]);
    }
}
