//! A JSON tree that keeps number text. Built without recursion, so depth is
//! bounded only by the reader's limit.

use crate::reader::{JsonError, Reader, Token, DEFAULT_MAX_DEPTH};
use std::collections::HashMap;

/// A parsed JSON value. Numbers keep their literal text; objects keep their
/// members in document order with duplicate keys resolved last-wins
/// (SPEC.md §1.3 #9).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, as written.
    Number(Box<str>),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object: members in order, keys unique.
    Object(Vec<(String, Value)>),
}

impl Value {
    /// Whether this is an object.
    pub fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }

    /// The member `key` of an object.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Parses one JSON document (with the default depth limit); trailing
/// content other than whitespace is an error.
pub fn parse_value(src: &str) -> Result<Value, JsonError> {
    parse_value_with_depth(src, DEFAULT_MAX_DEPTH)
}

enum Open {
    Array(Vec<Value>),
    Object(Vec<(String, Value)>, Option<String>),
}

/// Like [`parse_value`] with an explicit nesting limit.
pub fn parse_value_with_depth(src: &str, max_depth: usize) -> Result<Value, JsonError> {
    let mut r = Reader::with_max_depth(src, max_depth);
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Value> = None;
    while let Some(tok) = r.next_token()? {
        let done: Value = match tok {
            Token::StartObject => {
                stack.push(Open::Object(Vec::new(), None));
                continue;
            }
            Token::StartArray => {
                stack.push(Open::Array(Vec::new()));
                continue;
            }
            Token::Key(k) => {
                if let Some(Open::Object(_, pending)) = stack.last_mut() {
                    *pending = Some(k.into_owned());
                }
                continue;
            }
            Token::EndObject => match stack.pop() {
                Some(Open::Object(members, _)) => Value::Object(dedup_last_wins(members)),
                _ => return Err(r.error_at(r.token_start(), "Unbalanced object")),
            },
            Token::EndArray => match stack.pop() {
                Some(Open::Array(items)) => Value::Array(items),
                _ => return Err(r.error_at(r.token_start(), "Unbalanced array")),
            },
            Token::String(s) => Value::String(s.into_owned()),
            Token::Number(n) => Value::Number(n.into()),
            Token::Bool(b) => Value::Bool(b),
            Token::Null => Value::Null,
        };
        match stack.last_mut() {
            None => root = Some(done),
            Some(Open::Array(items)) => items.push(done),
            Some(Open::Object(members, pending)) => {
                let key = pending.take().unwrap_or_default();
                members.push((key, done));
            }
        }
    }
    r.finish()?;
    root.ok_or_else(|| r.error_at(0, "No content to map due to end-of-input"))
}

/// Keeps the last occurrence of each key, at the position of its last
/// occurrence.
fn dedup_last_wins(members: Vec<(String, Value)>) -> Vec<(String, Value)> {
    if members.len() < 2 {
        return members;
    }
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(members.len());
    for (i, (k, _)) in members.iter().enumerate() {
        last.insert(k.as_str(), i);
    }
    if last.len() == members.len() {
        return members;
    }
    let keep: Vec<bool> = members
        .iter()
        .enumerate()
        .map(|(i, (k, _))| last.get(k.as_str()) == Some(&i))
        .collect();
    members
        .into_iter()
        .zip(keep)
        .filter_map(|(m, k)| k.then_some(m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_number_text_and_last_duplicate() {
        let v = parse_value(r#"{"a": 1.50, "b": [], "a": 3.0e2}"#).unwrap();
        assert_eq!(
            v,
            Value::Object(vec![
                ("b".into(), Value::Array(vec![])),
                ("a".into(), Value::Number("3.0e2".into())),
            ])
        );
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = "[".repeat(200_000) + &"]".repeat(200_000);
        assert!(parse_value(&deep).is_err());
        let ok = "[".repeat(500) + &"]".repeat(500);
        assert!(parse_value(&ok).is_ok());
    }

    #[test]
    fn empty_input_is_an_error() {
        assert!(parse_value("  ").is_err());
    }
}
