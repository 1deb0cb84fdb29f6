//! Published messages: a body and typed attributes, turned into the flat
//! events the shared matcher reads (SPEC.md §5.1, §5.2).
//!
//! The MessageAttributes scope matches an event object built from the
//! attributes, one member per attribute, valued by data type:
//! `String` → a JSON string; `Number` → a JSON number (so numeric operators
//! and numeric equality apply, and string operators do not); `String.Array`
//! → the JSON array its value holds (so each element is matched on its own,
//! and `anything-but` passes when one element is not excluded); `Binary` →
//! nothing (ignored by filtering). The MessageBody scope matches the body,
//! when it is a JSON object, exactly as an EventBridge event.

use evmatch_event::{EventError, FlatBuilder, FlatEvent, Leaf};
use evmatch_json::{
    comparable_f64, parse_value, parse_value_with_depth, simple_escape, string_run_end, Value,
};
use std::borrow::Cow;
use std::fmt;
use std::sync::OnceLock;

/// Deepest nesting accepted inside a `String.Array` value.
const MAX_ARRAY_DEPTH: usize = 64;

/// A message attribute, by data type (SPEC.md §5.2).
#[derive(Debug, Clone, PartialEq)]
pub enum Attribute {
    /// `String` (and custom `String.<label>` types): matched as a string.
    String(String),
    /// `Number` (and `Number.<label>`): matched by value. Holds the value
    /// as a JSON number literal, leading and trailing zeros trimmed.
    Number(String),
    /// `String.Array`: the elements of the JSON array, matched one by one.
    StringArray(Vec<Value>),
    /// `Binary` (and `Binary.<label>`): ignored by filtering.
    Binary,
}

/// A message attribute that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeError {
    message: String,
}

impl AttributeError {
    fn new(message: impl Into<String>) -> Self {
        AttributeError {
            message: message.into(),
        }
    }
}

impl fmt::Display for AttributeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Invalid parameter: MessageAttributes: {}", self.message)
    }
}

impl std::error::Error for AttributeError {}

impl Attribute {
    /// An attribute from its `DataType` and `StringValue`, as Publish takes
    /// them. `String.Array` must be exactly that; other types may carry a
    /// custom label after a dot (`Number.float`).
    pub fn new(data_type: &str, string_value: Option<&str>) -> Result<Attribute, AttributeError> {
        let base = if data_type == "String.Array" {
            data_type
        } else {
            data_type.split('.').next().unwrap_or(data_type)
        };
        if base == "Binary" {
            return Ok(Attribute::Binary);
        }
        let Some(value) = string_value else {
            return Err(AttributeError::new(format!(
                "an attribute of type {data_type} needs a string value"
            )));
        };
        match base {
            "String" => Ok(Attribute::String(value.to_string())),
            "Number" => Attribute::number(value),
            "String.Array" => Attribute::string_array(value),
            _ => Err(AttributeError::new(format!(
                "unknown data type {data_type:?} (use String, String.Array, Number or Binary)"
            ))),
        }
    }

    /// A `Number` attribute from its string form: an optional sign, digits
    /// with an optional fraction, an optional exponent.
    pub fn number(text: &str) -> Result<Attribute, AttributeError> {
        canonical_number(text)
            .map(Attribute::Number)
            .ok_or_else(|| AttributeError::new(format!("{text:?} is not a number")))
    }

    /// A `String.Array` attribute from its string form, a JSON array.
    pub fn string_array(text: &str) -> Result<Attribute, AttributeError> {
        match parse_value_with_depth(text, MAX_ARRAY_DEPTH) {
            Ok(Value::Array(items)) => Ok(Attribute::StringArray(items)),
            Ok(_) => Err(AttributeError::new(format!(
                "a String.Array value must be a JSON array, not {text:?}"
            ))),
            Err(e) => Err(AttributeError::new(format!(
                "a String.Array value must be a JSON array: {e}"
            ))),
        }
    }

    /// Adds the field(s) the attribute contributes to the matched event:
    /// a string or a number leaf, the array's elements, or nothing.
    fn add_to(&self, name: &str, b: &mut FlatBuilder) -> Result<(), EventError> {
        match self {
            Attribute::String(s) => b.leaf(name, Leaf::String(s.clone())),
            Attribute::Number(n) => b.leaf(
                name,
                Leaf::Number {
                    text: n.as_str().into(),
                    value: comparable_f64(n),
                },
            ),
            Attribute::StringArray(items) => b.array(name, items),
            Attribute::Binary => Ok(()),
        }
    }
}

/// The MessageAttributes event: the object with one member per attribute
/// (valued by data type, Binary left out), flattened. Its depth is bounded
/// by [`MAX_ARRAY_DEPTH`], so flattening fails only past the size budget,
/// and then the event is empty.
fn flatten_attributes(attributes: &[(String, Attribute)]) -> FlatEvent {
    let mut b = FlatBuilder::with_capacity(evmatch_event::DEFAULT_MAX_DEPTH, attributes.len());
    for (name, a) in attributes {
        if a.add_to(name, &mut b).is_err() {
            return FlatEvent::default();
        }
    }
    b.finish()
}

/// `Number` text as a JSON number literal: sign `+` dropped, leading zeros
/// of the integer part and trailing zeros of the fraction trimmed.
fn canonical_number(text: &str) -> Option<String> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let (int, frac) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) || (int.is_empty() && frac.is_empty()) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 1);
    if negative {
        out.push('-');
    }
    let int = int.trim_start_matches('0');
    out.push_str(if int.is_empty() { "0" } else { int });
    let frac = frac.trim_end_matches('0');
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    if let Some(e) = exponent {
        let unsigned = e.strip_prefix(['+', '-']).unwrap_or(e);
        if unsigned.is_empty() || !digits(unsigned) {
            return None;
        }
        out.push('e');
        out.push_str(e);
    }
    Some(out)
}

/// A message as Publish sends it: the body and the message attributes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    body: String,
    attributes: Vec<(String, Attribute)>,
}

impl Message {
    /// A message with a body and no attributes.
    pub fn new(body: impl Into<String>) -> Message {
        Message {
            body: body.into(),
            attributes: Vec::new(),
        }
    }

    /// Adds (or replaces) an attribute.
    pub fn with_attribute(mut self, name: impl Into<String>, attribute: Attribute) -> Message {
        let name = name.into();
        self.attributes.retain(|(n, _)| *n != name);
        self.attributes.push((name, attribute));
        self
    }

    /// Adds the attributes of a JSON object in the Publish shape,
    /// `{"name": {"DataType": "String", "StringValue": "x"}}`, or the
    /// notification shape, `{"name": {"Type": "String", "Value": "x"}}`.
    pub fn with_attributes_json(mut self, json: &str) -> Result<Message, AttributeError> {
        let parsed = parse_attributes(json)?;
        if self.attributes.is_empty() {
            // The names are unique: adding them one by one keeps them all,
            // in this order.
            self.attributes = parsed;
            return Ok(self);
        }
        for (name, a) in parsed {
            self = self.with_attribute(name, a);
        }
        Ok(self)
    }

    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The attributes, in the order they were added.
    pub fn attributes(&self) -> &[(String, Attribute)] {
        &self.attributes
    }

    /// Flattens the message once for matching against any number of
    /// subscriptions.
    pub fn prepare(&self) -> PreparedMessage {
        PreparedMessage::new(flatten_attributes(&self.attributes), self.body.clone())
    }

    /// [`Message::prepare`] for a message not needed afterwards: the
    /// attributes' names and string values move into the prepared fields
    /// instead of being copied.
    pub fn into_prepared(self) -> PreparedMessage {
        let body = self.body;
        let mut b =
            FlatBuilder::with_capacity(evmatch_event::DEFAULT_MAX_DEPTH, self.attributes.len());
        for (name, a) in self.attributes {
            let added = match a {
                Attribute::String(s) => b.leaf_owned(name, Leaf::String(s)),
                Attribute::Number(n) => {
                    let value = comparable_f64(&n);
                    b.leaf_owned(
                        name,
                        Leaf::Number {
                            text: n.into_boxed_str(),
                            value,
                        },
                    )
                }
                other => other.add_to(&name, &mut b),
            };
            if added.is_err() {
                return PreparedMessage::new(FlatEvent::default(), body);
            }
        }
        PreparedMessage::new(b.finish(), body)
    }
}

/// The MessageBody event: the body flattened when it is a JSON object.
fn flatten_body(body: &str) -> Option<FlatEvent> {
    match parse_value(body) {
        Ok(v @ Value::Object(_)) => evmatch_event::flatten(&v).ok(),
        _ => None,
    }
}

/// A message flattened for matching. The body is read and flattened the
/// first time it is asked for (a topic asks only when it has a
/// MessageBody-scope policy), and then kept.
#[derive(Debug, Clone, Default)]
pub struct PreparedMessage {
    pub(crate) attributes: FlatEvent,
    body_text: String,
    /// `None` when the body is not a JSON object: no MessageBody-scope
    /// policy matches it (SPEC.md §5.1).
    body: OnceLock<Option<FlatEvent>>,
}

/// Equal events (the body's flattened when either is asked).
impl PartialEq for PreparedMessage {
    fn eq(&self, other: &PreparedMessage) -> bool {
        self.attributes == other.attributes && self.body_event() == other.body_event()
    }
}

impl PreparedMessage {
    fn new(attributes: FlatEvent, body_text: String) -> PreparedMessage {
        PreparedMessage {
            attributes,
            body_text,
            body: OnceLock::new(),
        }
    }

    /// Whether the body has been read (for tests).
    #[cfg(test)]
    pub(crate) fn body_was_read(&self) -> bool {
        self.body.get().is_some()
    }

    /// The event the MessageAttributes scope matches.
    pub fn attributes_event(&self) -> &FlatEvent {
        &self.attributes
    }

    /// The event the MessageBody scope matches, if the body is a JSON
    /// object.
    pub fn body_event(&self) -> Option<&FlatEvent> {
        self.body
            .get_or_init(|| flatten_body(&self.body_text))
            .as_ref()
    }
}

/// Reads message attributes in the Publish or the notification shape.
/// Names are unique: a repeated name (or key) counts once, at its last
/// occurrence (SPEC.md §1.3 #9).
pub fn parse_attributes(json: &str) -> Result<Vec<(String, Attribute)>, AttributeError> {
    match parse_attributes_plain(json) {
        Some(attributes) => Ok(attributes),
        None => parse_attributes_tree(json),
    }
}

/// Most attributes [`parse_attributes_plain`] reads (it checks names for
/// repeats pairwise).
const PLAIN_MAX_ATTRIBUTES: usize = 64;

/// [`parse_attributes`] in one pass over the text, for the plain shape
/// only: an object of objects whose members are all strings (with no
/// `\u` escape), no name repeated in either, every attribute valid, the
/// text valid JSON. Then the answer is the same as the tree's, without
/// building the tree. `None`: anything else (an error included); the tree
/// decides and words it.
fn parse_attributes_plain(json: &str) -> Option<Vec<(String, Attribute)>> {
    let mut c = Plain { s: json, i: 0 };
    c.expect(b'{')?;
    let mut out: Vec<(String, Attribute)> = Vec::with_capacity(8);
    if c.peek()? == b'}' {
        c.i += 1;
    } else {
        loop {
            let name = c.string()?;
            if out.len() >= PLAIN_MAX_ATTRIBUTES || out.iter().any(|(n, _)| *n == *name) {
                return None;
            }
            c.expect(b':')?;
            c.expect(b'{')?;
            // DataType, Type, StringValue, Value.
            let mut texts: [Option<Cow<'_, str>>; 4] = [None, None, None, None];
            if c.peek()? == b'}' {
                c.i += 1;
            } else {
                loop {
                    let key = c.string()?;
                    c.expect(b':')?;
                    let text = c.string()?;
                    let slot = match &*key {
                        "DataType" => texts.get_mut(0),
                        "Type" => texts.get_mut(1),
                        "StringValue" => texts.get_mut(2),
                        "Value" => texts.get_mut(3),
                        _ => None,
                    };
                    if let Some(slot) = slot {
                        if slot.is_some() {
                            return None;
                        }
                        *slot = Some(text);
                    }
                    if c.next_member()? {
                        break;
                    }
                }
            }
            let [data_type, ty, string_value, value] = texts;
            let data_type = data_type.or(ty)?;
            let attribute = Attribute::new(&data_type, string_value.or(value).as_deref()).ok()?;
            out.push((name.into_owned(), attribute));
            if c.next_member()? {
                break;
            }
        }
    }
    // Only whitespace after the object.
    c.skip_ws();
    (c.i == json.len()).then_some(out)
}

/// A cursor over JSON text for [`parse_attributes_plain`]: it accepts a
/// subset of JSON (what the reader accepts, read the same way) and gives
/// up (`None`) on anything else.
struct Plain<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Plain<'a> {
    /// Skips JSON whitespace, as the reader does.
    #[inline]
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.as_bytes().get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte past whitespace, not consumed.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.as_bytes().get(self.i).copied()
    }

    /// Consumes `b` past whitespace.
    #[inline]
    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.i += 1)
    }

    /// After a member: `,` (`false`: another member follows) or `}`
    /// (`true`: the object ends).
    #[inline]
    fn next_member(&mut self) -> Option<bool> {
        let b = self.peek()?;
        self.i += 1;
        match b {
            b',' => Some(false),
            b'}' => Some(true),
            _ => None,
        }
    }

    /// A string past whitespace, unescaped: borrowed without escapes;
    /// `None` for a `\u` escape, a control character or no string.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        let bytes = self.s.as_bytes();
        let start = self.i;
        let mut i = start;
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            i = string_run_end(bytes, i);
            match *bytes.get(i)? {
                b'"' => {
                    self.i = i + 1;
                    let tail = self.s.get(run..i)?;
                    return Some(match owned {
                        None => Cow::Borrowed(tail),
                        Some(mut o) => {
                            o.push_str(tail);
                            Cow::Owned(o)
                        }
                    });
                }
                b'\\' => {
                    let e = simple_escape(*bytes.get(i + 1)?)?;
                    let o = owned.get_or_insert_with(|| String::with_capacity(64));
                    o.push_str(self.s.get(run..i)?);
                    o.push(e);
                    i += 2;
                    run = i;
                }
                // A control character (the run stops only there).
                _ => return None,
            }
        }
    }
}

/// [`parse_attributes`] through the JSON tree: any shape, every error.
fn parse_attributes_tree(json: &str) -> Result<Vec<(String, Attribute)>, AttributeError> {
    let v = parse_value(json).map_err(|e| AttributeError::new(format!("not valid JSON: {e}")))?;
    let Value::Object(members) = v else {
        return Err(AttributeError::new(
            "the attributes must be a JSON object {\"name\": {\"DataType\": ..., \"StringValue\": ...}}",
        ));
    };
    let mut out = Vec::with_capacity(members.len());
    for (name, spec) in members {
        if !spec.is_object() {
            return Err(AttributeError::new(format!(
                "attribute {name:?} must be an object with DataType and StringValue"
            )));
        }
        let text = |keys: [&str; 2]| -> Result<Option<&str>, AttributeError> {
            for k in keys {
                match spec.get(k) {
                    Some(Value::String(s)) => return Ok(Some(s)),
                    Some(_) => {
                        return Err(AttributeError::new(format!(
                            "attribute {name:?}: {k} must be a string"
                        )))
                    }
                    None => {}
                }
            }
            Ok(None)
        };
        let Some(data_type) = text(["DataType", "Type"])? else {
            return Err(AttributeError::new(format!(
                "attribute {name:?} has no DataType"
            )));
        };
        let value = text(["StringValue", "Value"])?;
        let attribute = Attribute::new(data_type, value)
            .map_err(|e| AttributeError::new(format!("attribute {name:?}: {}", e.message)))?;
        out.push((name, attribute));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_5_2_number_text_is_trimmed() {
        for (given, want) in [
            ("99", "99"),
            ("0099.1200", "99.12"),
            ("+5", "5"),
            ("-0.0", "-0"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1E+3", "1e+3"),
            ("000", "0"),
        ] {
            assert_eq!(canonical_number(given).as_deref(), Some(want), "{given}");
        }
        for bad in [
            "", "-", ".", "1e", "1e+", "abc", "1.2.3", " 1", "0x10", "1_000",
        ] {
            assert_eq!(canonical_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn spec_5_2_data_types() {
        assert_eq!(
            Attribute::new("String.Custom", Some("x")),
            Ok(Attribute::String("x".into()))
        );
        assert_eq!(
            Attribute::new("Number.float", Some("1.50")),
            Ok(Attribute::Number("1.5".into()))
        );
        assert_eq!(Attribute::new("Binary", None), Ok(Attribute::Binary));
        assert!(Attribute::new("Number", Some("ten")).is_err());
        assert!(Attribute::new("String.Array", Some("\"a\"")).is_err());
        assert!(Attribute::new("Strings", Some("a")).is_err());
        assert!(Attribute::new("String", None).is_err());
    }

    #[test]
    fn both_attribute_shapes() {
        let a = parse_attributes(r#"{"a": {"DataType": "String", "StringValue": "x"}, "b": {"Type": "Number", "Value": "2"}}"#).unwrap();
        assert_eq!(
            a,
            vec![
                ("a".to_string(), Attribute::String("x".into())),
                ("b".to_string(), Attribute::Number("2".into()))
            ]
        );
        assert!(parse_attributes("[]").is_err());
        assert!(parse_attributes(r#"{"a": "x"}"#).is_err());
        assert!(parse_attributes(r#"{"a": {"StringValue": "x"}}"#).is_err());
        assert!(parse_attributes(r#"{"a": {"DataType": 1}}"#).is_err());
    }

    #[test]
    fn plain_pass_reads_the_plain_shape_and_defers_the_rest() {
        // (text, whether the one-pass reader takes it)
        let cases: &[(&str, bool)] = &[
            (r#"{}"#, true),
            (
                r#" {"a": {"DataType": "String", "StringValue": "x"}} "#,
                true,
            ),
            (
                r#"{"a": {"Type": "Number", "Value": "0010.50"}, "b": {"DataType": "Binary"}}"#,
                true,
            ),
            (
                r#"{"a\u0062": {"DataType": "String", "StringValue": "x"}}"#,
                false,
            ),
            (
                r#"{"a\t\/b": {"DataType": "String.Array", "StringValue": "[\"x\", 1, [true]]", "Extra": "e\\"}}"#,
                true,
            ),
            (
                "\r\n\t{\"a\" :{ \"DataType\":\"String\" , \"StringValue\" : \"\" } }\n",
                true,
            ),
            (r#"{"a": {}}"#, false),
            (
                r#"{"a": {"DataType": "String", "StringValue": "x",}}"#,
                false,
            ),
            (
                r#"{"a": {"DataType": "String", "StringValue": "x"},}"#,
                false,
            ),
            (r#"{"a": {"DataType": "String" "StringValue": "x"}}"#, false),
            (
                "{\"a\": {\"DataType\": \"String\", \"StringValue\": \"x\ty\"}}",
                false,
            ),
            ("\u{feff}{}", false),
            (
                r#"{"a": {"DataType": "String", "Type": "Number", "StringValue": "x", "Value": "1"}}"#,
                true,
            ),
            (
                r#"{"a": {"DataType": "Number.f", "StringValue": "1e3"}, "c": {"DataType": "String.x", "StringValue": ""}}"#,
                true,
            ),
            // Repeats: last wins, at the last position.
            (
                r#"{"a": {"DataType": "String", "StringValue": "x"}, "b": {"DataType": "Binary"}, "a": {"DataType": "Number", "StringValue": "1"}}"#,
                false,
            ),
            (
                r#"{"a": {"DataType": "Number", "DataType": "String", "StringValue": "x"}}"#,
                false,
            ),
            (
                r#"{"a": {"DataType": "bogus", "StringValue": "x"}, "a": {"DataType": "String", "StringValue": "x"}}"#,
                false,
            ),
            // Other shapes and errors.
            (
                r#"{"a": {"DataType": "String", "StringValue": "x", "BinaryValue": null}}"#,
                false,
            ),
            (
                r#"{"a": {"DataType": "String", "StringValue": null}}"#,
                false,
            ),
            (r#"{"a": {"DataType": 1}}"#, false),
            (r#"{"a": {"StringValue": "x"}}"#, false),
            (
                r#"{"a": {"DataType": "Number", "StringValue": "ten"}}"#,
                false,
            ),
            (
                r#"{"a": {"DataType": "String.Array", "StringValue": "\"x\""}}"#,
                false,
            ),
            (r#"{"a": {"DataType": "String"}}"#, false),
            (r#"{"a": "x"}"#, false),
            (
                r#"{"a": {"DataType": "String", "StringValue": "x"}} x"#,
                false,
            ),
            (
                r#"{"a": {"DataType": "Number", "StringValue": "ten"}} x"#,
                false,
            ),
            (r#"{"a": {"DataType": "String", "StringValue": "x"}"#, false),
            (r#"[]"#, false),
            (r#""#, false),
        ];
        for &(text, plain) in cases {
            let fast = parse_attributes_plain(text);
            assert_eq!(fast.is_some(), plain, "{text}");
            let tree = parse_attributes_tree(text);
            if let Some(fast) = fast {
                assert_eq!(Ok(fast), tree, "{text}");
            }
            assert_eq!(parse_attributes(text), tree, "{text}");
        }
        // Mutations of plain texts (bytes dropped, doubled or replaced by
        // JSON punctuation): whenever the one pass answers, the tree
        // answers the same.
        let seeds = [
            r#"{"a": {"DataType": "String", "StringValue": "x\"y"}, "b": {"Type": "Number", "Value": "-1.50e3"}}"#,
            r#" { "s" : { "DataType" : "String.Array" , "StringValue" : "[\"p\\\\q\", 2]" } } "#,
        ];
        let inserts = [
            b'"', b'\\', b'{', b'}', b',', b':', b' ', b'x', b'u', b'\n', 0x01,
        ];
        let mut answered = 0;
        for seed in seeds {
            assert!(parse_attributes_plain(seed).is_some(), "{seed}");
            let b = seed.as_bytes();
            for at in 0..b.len() {
                let mut variants = vec![
                    [&b[..at], &b[at + 1..]].concat(),
                    [&b[..at], &b[at..=at], &b[at..]].concat(),
                ];
                for &x in &inserts {
                    variants.push([&b[..at], &[x], &b[at + 1..]].concat());
                }
                for v in variants {
                    let Ok(text) = std::str::from_utf8(&v) else {
                        continue;
                    };
                    if let Some(fast) = parse_attributes_plain(text) {
                        answered += 1;
                        assert_eq!(Ok(fast), parse_attributes_tree(text), "{text}");
                    }
                }
            }
        }
        assert!(answered > 100, "{answered}");
        // Many attributes: the tree reads them.
        let many: Vec<String> = (0..=PLAIN_MAX_ATTRIBUTES)
            .map(|i| format!(r#""a{i}": {{"DataType": "String", "StringValue": "x"}}"#))
            .collect();
        let text = format!("{{{}}}", many.join(","));
        assert!(parse_attributes_plain(&text).is_none());
        assert_eq!(
            parse_attributes(&text).map(|v| v.len()),
            Ok(PLAIN_MAX_ATTRIBUTES + 1)
        );
    }

    #[test]
    fn attributes_json_onto_a_message_with_attributes_replaces_by_name() {
        let m = Message::new("{}")
            .with_attribute("a", Attribute::String("old".into()))
            .with_attribute("b", Attribute::Binary)
            .with_attributes_json(r#"{"a": {"DataType": "String", "StringValue": "new"}, "c": {"DataType": "Number", "StringValue": "1"}}"#)
            .unwrap();
        let names: Vec<&str> = m.attributes().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b", "a", "c"]);
        assert_eq!(m.attributes()[1].1, Attribute::String("new".into()));
        let fresh = Message::new("{}")
            .with_attributes_json(
                r#"{"z": {"DataType": "Binary"}, "a": {"DataType": "String", "StringValue": "v"}}"#,
            )
            .unwrap();
        let names: Vec<&str> = fresh.attributes().iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["z", "a"]);
    }

    #[test]
    fn prepared_attributes_equal_the_flattened_object() {
        let m = Message::new("{}")
            .with_attribute("s", Attribute::String("x".into()))
            .with_attribute("bin", Attribute::Binary)
            .with_attribute("n", Attribute::number("-0012.50").unwrap())
            .with_attribute(
                "arr",
                Attribute::string_array(r#"["a", 2, [3, {"k": null}], {"d.e": true}]"#).unwrap(),
            )
            .with_attribute("arr2", Attribute::string_array(r#"[[], "b"]"#).unwrap());
        let object = parse_value(
            r#"{"s": "x", "n": -12.5, "arr": ["a", 2, [3, {"k": null}], {"d.e": true}], "arr2": [[], "b"]}"#,
        )
        .unwrap();
        // The number keeps the attribute's trimmed text, "-12.5".
        let want = evmatch_event::flatten(&object).unwrap();
        assert_eq!(m.clone().into_prepared(), m.prepare());
        assert_eq!(m.clone().into_prepared().attributes_event(), &want);
        assert_eq!(m.prepare().attributes_event(), &want);
    }

    #[test]
    fn spec_5_2_binary_is_absent_and_body_must_be_an_object() {
        let m = Message::new("\"just a string\"")
            .with_attribute("bin", Attribute::Binary)
            .with_attribute("s", Attribute::String("v".into()));
        let p = m.prepare();
        assert_eq!(p.attributes_event().fields().len(), 1);
        assert!(p.body_event().is_none());
        assert!(Message::new("{\"a\":1}").prepare().body_event().is_some());
        assert!(Message::new("not json").prepare().body_event().is_none());
        // The body is read when first asked, then kept; equality asks.
        let a = Message::new(r#"{"k": [1, "v"]}"#).into_prepared();
        assert!(a.body.get().is_none());
        let b = a.clone();
        let want = evmatch_event::flatten(&parse_value(r#"{"k": [1, "v"]}"#).unwrap()).unwrap();
        assert_eq!(a.body_event(), Some(&want));
        assert!(a.body.get().is_some());
        assert_eq!(a, b);
        assert_ne!(a, Message::new(r#"{"k": [1]}"#).prepare());
        assert_eq!(Message::new("[]").prepare(), Message::new("x").prepare());
    }
}
