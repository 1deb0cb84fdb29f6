//! Events as EventBridge matches them: flattened into fields (SPEC.md §1.3).
//!
//! A field is a dotted path of object keys, a leaf value (string, number,
//! `true`, `false`, `null`) and the chain of `(array, element)` positions
//! it sits under, which array-consistent matching needs (SPEC.md §2.12).
//! Objects and arrays are never values; empty ones produce nothing; arrays
//! add no path step; a key holding a dot is the same as nesting.
//!
//! ```
//! use evmatch_event::{parse, flatten, Leaf};
//! let v = parse(br#"{"detail": {"a": [{"b": 1}, {"b": "x"}], "e": {}}}"#).unwrap();
//! let ev = flatten(&v).unwrap();
//! let paths: Vec<&str> = ev.fields().iter().map(|f| f.path.as_str()).collect();
//! assert_eq!(paths, ["detail.a.b", "detail.a.b"]);
//! assert_eq!(ev.fields()[1].leaf, Leaf::String("x".into()));
//! ```
#![deny(missing_docs)]

use evmatch_json::{comparable_f64, parse_value_with_depth, JsonError, Value};
use std::fmt;

pub use evmatch_json::DEFAULT_MAX_DEPTH;

/// The highest depth limit an event can be given, equal to the default:
/// matching and flattening recurse once per level of nesting, and this
/// many levels fit in a 2 MiB thread stack (the default for spawned
/// threads), in debug builds too. Larger limits are lowered to this.
pub const MAX_DEPTH_CEILING: usize = DEFAULT_MAX_DEPTH;

/// Most bytes of paths and array positions a flattened event may take
/// (64 MiB). Every field carries its whole path and array chain, so a
/// small event nesting many leaves deep (a 200 KB one can hold 100,000
/// leaves under 1,000 arrays) would otherwise take gigabytes. Real events
/// stay far below: a 256 KB event with 50,000 fields under short paths
/// takes a few megabytes.
pub const MAX_FLAT_BYTES: usize = 64 << 20;

/// A leaf value.
#[derive(Debug, Clone, PartialEq)]
pub enum Leaf {
    /// A string, unescaped.
    String(String),
    /// A number: its literal text and, when comparable (SPEC.md §3.2), its
    /// value.
    Number {
        /// As written in the event.
        text: Box<str>,
        /// The comparable value, if any.
        value: Option<f64>,
    },
    /// `true` / `false`
    Bool(bool),
    /// `null`
    Null,
}

/// One flattened field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Dotted path of object keys.
    pub path: String,
    /// The leaf value.
    pub leaf: Leaf,
    /// `(array id, element index)` for every array this leaf sits in,
    /// outermost first. Array ids are unique within one event.
    pub arrays: Vec<(u32, u32)>,
}

impl Field {
    /// Two fields can be used together under array consistency when they
    /// agree on the element of every array they both sit in.
    pub fn compatible(&self, other: &Field) -> bool {
        compatible(&self.arrays, &other.arrays)
    }
}

/// Whether two array-position chains agree on every shared array.
pub fn compatible(a: &[(u32, u32)], b: &[(u32, u32)]) -> bool {
    // Chains share a common prefix of arrays (ids are allocated in
    // document order and a chain lists ancestors): compare the shared ids.
    for (x, y) in a.iter().zip(b.iter()) {
        if x.0 != y.0 {
            return true;
        }
        if x.1 != y.1 {
            return false;
        }
    }
    true
}

/// A flattened event.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlatEvent {
    fields: Vec<Field>,
}

impl FlatEvent {
    /// The fields in document order.
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// The fields at `path`.
    pub fn at<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a Field> + 'a {
        self.fields.iter().filter(move |f| f.path == path)
    }
}

/// Why an event could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventError {
    /// The bytes are not UTF-8.
    Utf8 {
        /// Byte offset of the first invalid sequence.
        offset: usize,
    },
    /// Not valid JSON.
    Json(JsonError),
    /// The top-level value is not an object.
    NotAnObject,
    /// Nested deeper than allowed.
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// Its fields would take more than [`MAX_FLAT_BYTES`] of paths and
    /// array positions.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::Utf8 { offset } => write!(f, "invalid UTF-8 at byte {offset}"),
            EventError::Json(e) => write!(f, "invalid JSON: {e}"),
            EventError::NotAnObject => write!(f, "Event must be a JSON object"),
            EventError::TooDeep { limit } => {
                write!(f, "event nesting is deeper than the limit of {limit}")
            }
            EventError::TooLarge { limit } => write!(
                f,
                "the event is too large to flatten: its fields' paths and array positions would take more than {limit} bytes"
            ),
        }
    }
}

impl std::error::Error for EventError {}

/// Parses event bytes (UTF-8 JSON) with the default depth limit.
pub fn parse(bytes: &[u8]) -> Result<Value, EventError> {
    parse_with_depth(bytes, DEFAULT_MAX_DEPTH)
}

/// Parses event bytes with an explicit depth limit, capped at
/// [`MAX_DEPTH_CEILING`].
pub fn parse_with_depth(bytes: &[u8], max_depth: usize) -> Result<Value, EventError> {
    let max_depth = max_depth.min(MAX_DEPTH_CEILING);
    let text = std::str::from_utf8(bytes).map_err(|e| EventError::Utf8 {
        offset: e.valid_up_to(),
    })?;
    parse_value_with_depth(text, max_depth).map_err(EventError::Json)
}

/// Flattens an event; the top level must be an object.
pub fn flatten(event: &Value) -> Result<FlatEvent, EventError> {
    flatten_with_depth(event, DEFAULT_MAX_DEPTH)
}

/// Flattens an event nested at most `max_depth` deep (containers below
/// the top-level object, as [`parse_with_depth`] counts them, so a value
/// that parsed within a limit flattens within it). Capped at
/// [`MAX_DEPTH_CEILING`].
pub fn flatten_with_depth(event: &Value, max_depth: usize) -> Result<FlatEvent, EventError> {
    let max_depth = max_depth.min(MAX_DEPTH_CEILING);
    let Value::Object(members) = event else {
        return Err(EventError::NotAnObject);
    };
    let mut w = Walker {
        path: String::new(),
        arrays: Vec::new(),
        next_array: 0,
        fields: Vec::new(),
        max_depth,
        budget: MAX_FLAT_BYTES,
    };
    for (k, v) in members {
        w.path.clear();
        w.path.push_str(k);
        w.walk(v, 1)?;
    }
    Ok(FlatEvent { fields: w.fields })
}

/// Builds a [`FlatEvent`] member by member, for callers whose top-level
/// members are not a [`Value`] of their own (SNS message attributes):
/// adding the members `(k, v)` of an object in order gives what
/// [`flatten_with_depth`] gives for that object, errors included, without
/// building the object. A leaf member (a string or a number) can be added
/// without building a `Value` at all.
///
/// ```
/// use evmatch_event::{flatten, FlatBuilder, Leaf};
/// use evmatch_json::parse_value;
/// let mut b = FlatBuilder::new(evmatch_event::DEFAULT_MAX_DEPTH);
/// b.leaf("a", Leaf::String("x".into())).unwrap();
/// b.member("b", &parse_value(r#"[1, {"c": true}]"#).unwrap()).unwrap();
/// let whole = parse_value(r#"{"a": "x", "b": [1, {"c": true}]}"#).unwrap();
/// assert_eq!(b.finish(), flatten(&whole).unwrap());
/// ```
pub struct FlatBuilder {
    walker: Walker,
}

impl FlatBuilder {
    /// An empty event with this nesting limit (capped at
    /// [`MAX_DEPTH_CEILING`]), as [`flatten_with_depth`] takes it.
    pub fn new(max_depth: usize) -> FlatBuilder {
        FlatBuilder::with_capacity(max_depth, 0)
    }

    /// [`FlatBuilder::new`] with room for `fields` fields.
    pub fn with_capacity(max_depth: usize, fields: usize) -> FlatBuilder {
        FlatBuilder {
            walker: Walker {
                path: String::new(),
                arrays: Vec::new(),
                next_array: 0,
                fields: Vec::with_capacity(fields),
                max_depth: max_depth.min(MAX_DEPTH_CEILING),
                budget: MAX_FLAT_BYTES,
            },
        }
    }

    /// Adds the top-level member `key: value`.
    pub fn member(&mut self, key: &str, value: &Value) -> Result<(), EventError> {
        let w = &mut self.walker;
        w.path.clear();
        w.path.push_str(key);
        w.walk(value, 1)
    }

    /// Adds the top-level member `key` whose value is the array of
    /// `items` (as [`FlatBuilder::member`] would, without building it).
    pub fn array(&mut self, key: &str, items: &[Value]) -> Result<(), EventError> {
        let w = &mut self.walker;
        if w.max_depth < 1 {
            return Err(EventError::TooDeep { limit: w.max_depth });
        }
        w.path.clear();
        w.path.push_str(key);
        w.walk_array(items, 1)
    }

    /// Adds the top-level member `key` whose value is this leaf (as
    /// [`FlatBuilder::member`] would add the leaf's value; a number's
    /// `value` must be `comparable_f64` of its text).
    pub fn leaf(&mut self, key: &str, leaf: Leaf) -> Result<(), EventError> {
        self.leaf_owned(key.to_string(), leaf)
    }

    /// [`FlatBuilder::leaf`] taking the key, which becomes the field's
    /// path.
    pub fn leaf_owned(&mut self, key: String, leaf: Leaf) -> Result<(), EventError> {
        let w = &mut self.walker;
        if w.max_depth < 1 {
            return Err(EventError::TooDeep { limit: w.max_depth });
        }
        w.push_field(key, leaf)
    }

    /// The event.
    pub fn finish(self) -> FlatEvent {
        FlatEvent {
            fields: self.walker.fields,
        }
    }
}

/// State of one flattening.
struct Walker {
    path: String,
    arrays: Vec<(u32, u32)>,
    next_array: u32,
    fields: Vec<Field>,
    max_depth: usize,
    /// Bytes of paths and array positions still allowed.
    budget: usize,
}

impl Walker {
    fn walk(&mut self, v: &Value, depth: usize) -> Result<(), EventError> {
        if depth > self.max_depth {
            return Err(EventError::TooDeep {
                limit: self.max_depth,
            });
        }
        let leaf = match v {
            Value::Object(members) => {
                let base = self.path.len();
                for (k, child) in members {
                    self.path.truncate(base);
                    self.path.push('.');
                    self.path.push_str(k);
                    self.walk(child, depth + 1)?;
                }
                self.path.truncate(base);
                return Ok(());
            }
            Value::Array(items) => return self.walk_array(items, depth),
            Value::String(s) => Leaf::String(s.clone()),
            Value::Number(n) => Leaf::Number {
                text: n.clone(),
                value: comparable_f64(n),
            },
            Value::Bool(b) => Leaf::Bool(*b),
            Value::Null => Leaf::Null,
        };
        let path = self.path.clone();
        self.push_field(path, leaf)
    }

    /// The elements of an array at `depth` (its own depth was checked).
    fn walk_array(&mut self, items: &[Value], depth: usize) -> Result<(), EventError> {
        let id = self.next_array;
        self.next_array = self.next_array.wrapping_add(1);
        for (i, child) in items.iter().enumerate() {
            self.arrays.push((id, u32::try_from(i).unwrap_or(u32::MAX)));
            self.walk(child, depth + 1)?;
            self.arrays.pop();
        }
        Ok(())
    }

    /// Adds a leaf at `path` (the current path) under the current arrays,
    /// within the budget.
    fn push_field(&mut self, path: String, leaf: Leaf) -> Result<(), EventError> {
        let cost = path
            .len()
            .saturating_add(self.arrays.len().saturating_mul(8));
        self.budget = self.budget.checked_sub(cost).ok_or(EventError::TooLarge {
            limit: MAX_FLAT_BYTES,
        })?;
        self.fields.push(Field {
            path,
            leaf,
            arrays: self.arrays.clone(),
        });
        Ok(())
    }
}

/// Converts a `serde_json::Value`. Number text is serde_json's rendering
/// of the number (`300`, `300.5`; a float that was written `300.0` stays
/// `300.0`), which matches by value exactly as the original would.
pub fn from_serde(v: &serde_json::Value) -> Result<Value, EventError> {
    from_serde_at(v, 0)
}

fn from_serde_at(v: &serde_json::Value, depth: usize) -> Result<Value, EventError> {
    if depth > DEFAULT_MAX_DEPTH {
        return Err(EventError::TooDeep {
            limit: DEFAULT_MAX_DEPTH,
        });
    }
    Ok(match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Number(n.to_string().into()),
        serde_json::Value::String(s) => Value::String(s.clone()),
        serde_json::Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| from_serde_at(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        serde_json::Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, x)| Ok((k.clone(), from_serde_at(x, depth + 1)?)))
                .collect::<Result<_, EventError>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(s: &str) -> FlatEvent {
        flatten(&parse(s.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn spec_1_3_example() {
        let ev = flat(
            r#"{"source":"aws.ec2","resources":["arn:x"],"detail":{"c-count":5,"x-limit":301.8,"state":"running","e":{},"l":[]}}"#,
        );
        let got: Vec<(&str, &Leaf)> = ev
            .fields()
            .iter()
            .map(|f| (f.path.as_str(), &f.leaf))
            .collect();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], ("source", &Leaf::String("aws.ec2".into())));
        assert_eq!(got[1].0, "resources");
        assert_eq!(
            got[3],
            (
                "detail.x-limit",
                &Leaf::Number {
                    text: "301.8".into(),
                    value: Some(301.8)
                }
            )
        );
    }

    #[test]
    fn dotted_keys_equal_nesting() {
        let a = flat(r#"{"detail":{"state.status":"running"}}"#);
        let b = flat(r#"{"detail":{"state":{"status":"running"}}}"#);
        assert_eq!(a, b);
    }

    #[test]
    fn array_positions() {
        let ev = flat(r#"{"e":[{"f":"Anna","l":"Smith"},{"f":"Peter","l":"Jones"}]}"#);
        let f = ev.fields();
        assert!(f[0].compatible(&f[1]));
        assert!(!f[0].compatible(&f[3]));
        let nested = flat(r#"{"a":[["x"],["y"]]}"#);
        assert_eq!(nested.fields().len(), 2);
        assert!(!nested.fields()[0].compatible(&nested.fields()[1]));
        let two = flat(r#"{"a":[1,2],"b":[3]}"#);
        assert!(two.fields()[0].compatible(&two.fields()[2]));
    }

    #[test]
    fn builder_equals_flatten_of_the_object() {
        let text = r#"{"s": "x", "n": 1.50, "a": [1, [2, {"k.d": [true, null]}], {}], "o": {"p": "q"}, "b": ["y"]}"#;
        let whole = parse_value_with_depth(text, 10).unwrap();
        let members = match &whole {
            Value::Object(m) => m.clone(),
            _ => Vec::new(),
        };
        assert_eq!(members.len(), 5);
        for limit in [0, 1, 2, 3, 4, 10] {
            let mut b = FlatBuilder::new(limit);
            let mut got = Ok(());
            for (k, v) in &members {
                let r = match v {
                    Value::String(s) => b.leaf(k, Leaf::String(s.clone())),
                    Value::Number(n) => b.leaf(
                        k,
                        Leaf::Number {
                            text: n.clone(),
                            value: comparable_f64(n),
                        },
                    ),
                    Value::Array(items) if k == "b" => b.array(k, items),
                    _ => b.member(k, v),
                };
                if let Err(e) = r {
                    got = Err(e);
                    break;
                }
            }
            let want = flatten_with_depth(&whole, limit);
            assert_eq!(got.map(|()| b.finish()), want, "limit {limit}");
        }
    }

    #[test]
    fn not_an_object() {
        assert_eq!(
            flatten(&parse(b"[1]").unwrap()),
            Err(EventError::NotAnObject)
        );
        assert!(matches!(
            parse(b"{\"a\":\xff}"),
            Err(EventError::Utf8 { .. })
        ));
    }
}
