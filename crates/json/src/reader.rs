//! The pull reader: one token at a time, strict RFC 8259 grammar, errors in
//! Jackson's words (SPEC.md §2.1 quotes the two forms AWS shows most).

use std::borrow::Cow;
use std::fmt;

/// Nesting depth allowed by default. Deeper input is an error, never a
/// stack overflow: the reader itself keeps its nesting on the heap.
pub const DEFAULT_MAX_DEPTH: usize = 1000;

/// Where something is in the input: byte offset, 1-based line and column
/// (the column counts characters, as Jackson's does).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// Byte offset from the start of the input.
    pub offset: usize,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line: {}, column: {}", self.line, self.column)
    }
}

/// A syntax error: Jackson's message text and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// The message, worded as Jackson words it.
    pub message: String,
    /// Where the offending character or token starts.
    pub position: Position,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at {}", self.message, self.position)
    }
}

impl std::error::Error for JsonError {}

/// One token of JSON text.
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'a> {
    /// `{`
    StartObject,
    /// `}`
    EndObject,
    /// `[`
    StartArray,
    /// `]`
    EndArray,
    /// An object key, unescaped.
    Key(Cow<'a, str>),
    /// A string value, unescaped.
    String(Cow<'a, str>),
    /// A number, exactly as written.
    Number(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    /// Just after `{`: a key or `}`.
    ObjectFirst,
    /// After a key: `:` then a value.
    ObjectColon,
    /// After a member's value: `,` or `}`.
    ObjectNext,
    /// Just after `[`: a value or `]`.
    ArrayFirst,
    /// After an element: `,` or `]`.
    ArrayNext,
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    state: State,
    start: usize,
}

/// A pull reader over JSON text.
///
/// Call [`Reader::next_token`] until it returns `Ok(None)` (the top-level
/// value is complete), then [`Reader::finish`] to reject trailing content.
pub struct Reader<'a> {
    src: &'a str,
    pos: usize,
    stack: Vec<Frame>,
    root_started: bool,
    max_depth: usize,
    token_start: usize,
}

impl<'a> Reader<'a> {
    /// A reader with the default depth limit.
    pub fn new(src: &'a str) -> Self {
        Self::with_max_depth(src, DEFAULT_MAX_DEPTH)
    }

    /// A reader that rejects nesting deeper than `max_depth`.
    pub fn with_max_depth(src: &'a str, max_depth: usize) -> Self {
        Reader {
            src,
            pos: 0,
            stack: Vec::new(),
            root_started: false,
            max_depth,
            token_start: 0,
        }
    }

    /// The whole input.
    pub fn source(&self) -> &'a str {
        self.src
    }

    /// Byte offset where the last token returned started.
    pub fn token_start(&self) -> usize {
        self.token_start
    }

    /// Byte offset just past the last token returned.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Current nesting depth (0 at top level).
    pub fn depth(&self) -> usize {
        self.stack.len()
    }

    /// Line and column of a byte offset in this input.
    pub fn position_of(&self, offset: usize) -> Position {
        position_in(self.src, offset)
    }

    /// Builds an error located at `offset`.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> JsonError {
        JsonError {
            message: message.into(),
            position: self.position_of(offset),
        }
    }

    /// After the top-level value: only whitespace may follow.
    pub fn finish(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        match self.peek_char() {
            None => Ok(()),
            Some(c) => Err(self.error_at(
                self.after_char(self.pos),
                format!(
                    "Unexpected character ({}): expected end of input after the top-level value",
                    char_desc(c)
                ),
            )),
        }
    }

    /// Reads the next token; `Ok(None)` once the top-level value is complete
    /// (or the input is empty).
    pub fn next_token(&mut self) -> Result<Option<Token<'a>>, JsonError> {
        self.skip_ws();
        self.token_start = self.pos;
        let Some(frame) = self.stack.last().copied() else {
            if self.root_started {
                return Ok(None);
            }
            if self.pos >= self.src.len() {
                return Ok(None);
            }
            self.root_started = true;
            return self.read_value().map(Some);
        };
        let Some(c) = self.peek_char() else {
            return Err(self.eof_in_container(frame));
        };
        match frame.state {
            State::ObjectFirst => match c {
                '}' => {
                    self.pos += 1;
                    self.close();
                    Ok(Some(Token::EndObject))
                }
                '"' => self.read_key().map(Some),
                _ => Err(self.expected_key(c)),
            },
            State::ObjectColon => {
                if c != ':' {
                    return Err(self.error_at(
                        self.after_char(self.pos),
                        format!(
                            "Unexpected character ({}): was expecting a colon to separate field name and value",
                            char_desc(c)
                        ),
                    ));
                }
                self.pos += 1;
                self.set_state(State::ObjectNext);
                self.skip_ws();
                self.token_start = self.pos;
                if self.pos >= self.src.len() {
                    return Err(self.eof_in_container(frame));
                }
                self.read_value().map(Some)
            }
            State::ObjectNext => match c {
                ',' => {
                    self.pos += 1;
                    self.skip_ws();
                    self.token_start = self.pos;
                    match self.peek_char() {
                        Some('"') => self.read_key().map(Some),
                        Some(c) => Err(self.expected_key(c)),
                        None => Err(self.eof_in_container(frame)),
                    }
                }
                '}' => {
                    self.pos += 1;
                    self.close();
                    Ok(Some(Token::EndObject))
                }
                ']' => Err(self.bad_close(']', frame)),
                _ => Err(self.error_at(
                    self.after_char(self.pos),
                    format!(
                        "Unexpected character ({}): was expecting comma to separate Object entries",
                        char_desc(c)
                    ),
                )),
            },
            State::ArrayFirst => match c {
                ']' => {
                    self.pos += 1;
                    self.close();
                    Ok(Some(Token::EndArray))
                }
                _ => {
                    self.set_state(State::ArrayNext);
                    self.read_value().map(Some)
                }
            },
            State::ArrayNext => match c {
                ',' => {
                    self.pos += 1;
                    self.skip_ws();
                    self.token_start = self.pos;
                    if self.pos >= self.src.len() {
                        return Err(self.eof_in_container(frame));
                    }
                    self.read_value().map(Some)
                }
                ']' => {
                    self.pos += 1;
                    self.close();
                    Ok(Some(Token::EndArray))
                }
                '}' => Err(self.bad_close('}', frame)),
                _ => Err(self.error_at(
                    self.after_char(self.pos),
                    format!(
                        "Unexpected character ({}): was expecting comma to separate Array entries",
                        char_desc(c)
                    ),
                )),
            },
        }
    }

    /// Skips the rest of the value whose first token was just returned
    /// (a no-op for scalars).
    pub fn skip_rest_of_value(&mut self, first: &Token<'_>) -> Result<(), JsonError> {
        if !matches!(first, Token::StartObject | Token::StartArray) {
            return Ok(());
        }
        let target = self.stack.len().saturating_sub(1);
        while self.stack.len() > target {
            if self.next_token()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// Offset just past the character at `at`: Jackson reports a problem
    /// at the location after the character or token it has just read.
    fn after_char(&self, at: usize) -> usize {
        at + self
            .src
            .get(at..)
            .and_then(|s| s.chars().next())
            .map_or(0, char::len_utf8)
    }

    fn set_state(&mut self, state: State) {
        if let Some(f) = self.stack.last_mut() {
            f.state = state;
        }
    }

    fn close(&mut self) {
        self.stack.pop();
    }

    fn push(&mut self, state: State) -> Result<(), JsonError> {
        if self.stack.len() >= self.max_depth {
            return Err(self.error_at(
                self.pos,
                format!(
                    "Document nesting depth exceeds the maximum allowed ({})",
                    self.max_depth
                ),
            ));
        }
        self.stack.push(Frame {
            state,
            start: self.pos,
        });
        Ok(())
    }

    fn peek_char(&self) -> Option<char> {
        self.src.get(self.pos..).and_then(|s| s.chars().next())
    }

    fn byte(&self, at: usize) -> Option<u8> {
        self.src.as_bytes().get(at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.byte(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn expected_key(&self, c: char) -> JsonError {
        // AWS shows this one at the character itself, not past it.
        self.error_at(
            self.pos,
            format!(
                "Unexpected character ({}): was expecting double-quote to start field name",
                char_desc(c)
            ),
        )
    }

    fn eof_in_container(&self, frame: Frame) -> JsonError {
        let kind = match frame.state {
            State::ObjectFirst | State::ObjectColon | State::ObjectNext => "Object",
            State::ArrayFirst | State::ArrayNext => "Array",
        };
        let p = self.position_of(frame.start);
        self.error_at(
            self.pos,
            format!(
                "Unexpected end-of-input: expected close marker for {} (start marker at [Source: {}; line: {}, column: {}])",
                kind,
                jackson_source(self.src),
                p.line,
                p.column
            ),
        )
    }

    fn bad_close(&self, got: char, frame: Frame) -> JsonError {
        let (expected, kind) = match frame.state {
            State::ObjectFirst | State::ObjectColon | State::ObjectNext => ('}', "Object"),
            State::ArrayFirst | State::ArrayNext => (']', "Array"),
        };
        let p = self.position_of(frame.start);
        self.error_at(
            self.after_char(self.pos),
            format!(
                "Unexpected close marker '{}': expected '{}' (for {} starting at [Source: {}; line: {}, column: {}])",
                got,
                expected,
                kind,
                jackson_source(self.src),
                p.line,
                p.column
            ),
        )
    }

    fn read_key(&mut self) -> Result<Token<'a>, JsonError> {
        let s = self.read_string()?;
        self.set_state(State::ObjectColon);
        Ok(Token::Key(s))
    }

    fn read_value(&mut self) -> Result<Token<'a>, JsonError> {
        let Some(c) = self.peek_char() else {
            return Err(self.error_at(self.pos, "Unexpected end-of-input: expected a value"));
        };
        match c {
            '{' => {
                self.push(State::ObjectFirst)?;
                self.pos += 1;
                Ok(Token::StartObject)
            }
            '[' => {
                self.push(State::ArrayFirst)?;
                self.pos += 1;
                Ok(Token::StartArray)
            }
            '"' => self.read_string().map(Token::String),
            '-' | '0'..='9' => self.read_number(),
            // Jackson: a closing brace where a value belongs is "expected a
            // value"; every other odd character (`]` included) is "expected
            // a valid value (...)".
            '}' => Err(self.error_at(
                self.after_char(self.pos),
                format!("Unexpected character ({}): expected a value", char_desc(c)),
            )),
            c if is_ident_char(c) && !c.is_ascii_digit() => {
                let start = self.pos;
                let word = self.word_at(start);
                match word {
                    "true" => {
                        self.pos += 4;
                        Ok(Token::Bool(true))
                    }
                    "false" => {
                        self.pos += 5;
                        Ok(Token::Bool(false))
                    }
                    "null" => {
                        self.pos += 4;
                        Ok(Token::Null)
                    }
                    _ => Err(self.error_at(
                        start + word.len(),
                        format!(
                            "Unrecognized token '{}': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                            word
                        ),
                    )),
                }
            }
            _ => Err(self.error_at(
                self.after_char(self.pos),
                format!(
                    "Unexpected character ({}): expected a valid value (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
                    char_desc(c)
                ),
            )),
        }
    }

    /// The run of letters, digits and underscores starting at `start`.
    fn word_at(&self, start: usize) -> &'a str {
        let rest = self.src.get(start..).unwrap_or("");
        let end = rest
            .char_indices()
            .find(|(_, c)| !is_ident_char(*c))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        rest.get(..end).unwrap_or("")
    }

    fn read_number(&mut self) -> Result<Token<'a>, JsonError> {
        let start = self.pos;
        let mut i = self.pos;
        if self.byte(i) == Some(b'-') {
            i += 1;
            match self.byte(i) {
                Some(b'0'..=b'9') => {}
                other => {
                    return Err(self.number_error(
                        i,
                        other,
                        "expected digit (0-9) to follow minus sign, for valid numeric value",
                    ))
                }
            }
        }
        if self.byte(i) == Some(b'0') {
            i += 1;
            if matches!(self.byte(i), Some(b'0'..=b'9')) {
                return Err(
                    self.error_at(start, "Invalid numeric value: Leading zeroes not allowed")
                );
            }
        } else {
            while matches!(self.byte(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if self.byte(i) == Some(b'.') {
            i += 1;
            if !matches!(self.byte(i), Some(b'0'..=b'9')) {
                return Err(self.number_error(
                    i,
                    self.byte(i),
                    "Decimal point not followed by a digit",
                ));
            }
            while matches!(self.byte(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        if matches!(self.byte(i), Some(b'e' | b'E')) {
            i += 1;
            if matches!(self.byte(i), Some(b'+' | b'-')) {
                i += 1;
            }
            if !matches!(self.byte(i), Some(b'0'..=b'9')) {
                return Err(self.number_error(
                    i,
                    self.byte(i),
                    "Exponent indicator not followed by a digit",
                ));
            }
            while matches!(self.byte(i), Some(b'0'..=b'9')) {
                i += 1;
            }
        }
        self.pos = i;
        Ok(Token::Number(self.src.get(start..i).unwrap_or("")))
    }

    fn number_error(&self, at: usize, found: Option<u8>, what: &str) -> JsonError {
        match found {
            None => self.error_at(
                at,
                format!("Unexpected end-of-input in numeric value: {what}"),
            ),
            Some(_) => {
                let c = self
                    .src
                    .get(at..)
                    .and_then(|s| s.chars().next())
                    .unwrap_or('?');
                self.error_at(
                    self.after_char(at),
                    format!(
                        "Unexpected character ({}) in numeric value: {what}",
                        char_desc(c)
                    ),
                )
            }
        }
    }

    /// Reads a string starting at the opening quote; borrows when it has no
    /// escapes.
    fn read_string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let open = self.pos;
        let mut i = open + 1;
        let bytes = self.src.as_bytes();
        // Fast path: no escapes.
        loop {
            i = string_run_end(bytes, i);
            match bytes.get(i) {
                None => return Err(self.unterminated(i)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(self.src.get(open + 1..i).unwrap_or("")));
                }
                Some(b'\\') => break,
                Some(&b) if b < 0x20 => return Err(self.ctrl_char(i, b)),
                Some(_) => i += 1,
            }
        }
        let mut out = String::with_capacity(i - open + 16);
        out.push_str(self.src.get(open + 1..i).unwrap_or(""));
        loop {
            match bytes.get(i) {
                None => return Err(self.unterminated(i)),
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    let Some(&e) = bytes.get(i + 1) else {
                        return Err(self.unterminated(i + 1));
                    };
                    i += 2;
                    if let Some(c) = simple_escape(e) {
                        out.push(c);
                        continue;
                    }
                    match e {
                        b'u' => {
                            let hi = self.hex4(i)?;
                            i += 4;
                            if (0xD800..0xDC00).contains(&hi)
                                && bytes.get(i) == Some(&b'\\')
                                && bytes.get(i + 1) == Some(&b'u')
                            {
                                if let Some(c) = surrogate_pair(hi, self.hex4(i + 2)?) {
                                    i += 6;
                                    out.push(c);
                                    continue;
                                }
                            }
                            // A lone surrogate cannot live in a Rust string:
                            // it becomes U+FFFD (documented in SECURITY.md).
                            out.push(char::from_u32(hi).unwrap_or('\u{FFFD}'));
                        }
                        _ => {
                            let c = self
                                .src
                                .get(i - 1..)
                                .and_then(|s| s.chars().next())
                                .unwrap_or('?');
                            return Err(self.error_at(
                                i,
                                format!("Unrecognized character escape {}", char_desc(c)),
                            ));
                        }
                    }
                }
                Some(&b) if b < 0x20 => return Err(self.ctrl_char(i, b)),
                Some(_) => {
                    // Copy the run up to the next quote, backslash or
                    // control character (all ASCII, so the run ends on a
                    // character boundary).
                    let end = string_run_end(bytes, i);
                    let Some(text) = self.src.get(i..end) else {
                        return Err(self.unterminated(i));
                    };
                    out.push_str(text);
                    i = end;
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for k in 0..4 {
            let Some(b) = self.byte(at + k) else {
                return Err(self.unterminated(at + k));
            };
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => {
                    let c = self
                        .src
                        .get(at + k..)
                        .and_then(|s| s.chars().next())
                        .unwrap_or('?');
                    return Err(self.error_at(
                        self.after_char(at + k),
                        format!(
                            "Unexpected character ({}): expected a hex-digit for character escape sequence",
                            char_desc(c)
                        ),
                    ));
                }
            };
            v = v * 16 + u32::from(d);
        }
        Ok(v)
    }

    fn unterminated(&self, at: usize) -> JsonError {
        self.error_at(
            at,
            "Unexpected end-of-input: was expecting closing quote for a string value",
        )
    }

    fn ctrl_char(&self, at: usize, b: u8) -> JsonError {
        self.error_at(
            at,
            format!(
                "Illegal unquoted character ((CTRL-CHAR, code {b})): has to be escaped using backslash to be included in string value"
            ),
        )
    }
}

/// Characters Jackson reads into an unrecognized token (Java identifier
/// parts, approximately).
fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

/// The index of the first byte at or after `i` that ends a run of plain
/// string content: a quote, a backslash or a control character (below
/// 0x20); `bytes.len()` if none. Eight bytes at a time: a byte equal to
/// `q` makes `x ^ q` have a zero byte, and `(y - 0x01..) & !y & 0x80..`
/// flags the zero bytes and the bytes below 0x20 of `y` (the lowest flag
/// is exact: a borrow only carries to higher bytes).
#[inline]
pub fn string_run_end(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = bytes.get(i..).and_then(|b| b.first_chunk::<8>()) {
        let w = u64::from_le_bytes(*chunk);
        let quote = w ^ (ONES * u64::from(b'"'));
        let backslash = w ^ (ONES * u64::from(b'\\'));
        let flags = (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (w.wrapping_sub(ONES * 0x20) & !w);
        let flags = flags & HIGH;
        if flags != 0 {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

/// Jackson's description of a character: `'x' (code 120)`, control
/// characters as `(CTRL-CHAR, code 10)`, others with their hex code.
pub(crate) fn char_desc(c: char) -> String {
    let code = c as u32;
    if c.is_control() {
        format!("(CTRL-CHAR, code {code})")
    } else if code > 255 {
        format!("'{c}' (code {code} / 0x{code:x})")
    } else {
        format!("'{c}' (code {code})")
    }
}

/// Jackson's description of an input in its location texts:
/// `(String)"<text>"`, cut at 500 characters with `[truncated N chars]`.
pub fn jackson_source(src: &str) -> String {
    const MAX: usize = 500;
    let chars = src.chars().count();
    if chars <= MAX {
        format!("(String)\"{src}\"")
    } else {
        let head: String = src.chars().take(MAX).collect();
        format!("(String)\"{head}\"[truncated {} chars]", chars - MAX)
    }
}

/// 1-based line and character column of a byte offset.
pub(crate) fn position_in(src: &str, offset: usize) -> Position {
    let offset = offset.min(src.len());
    let mut line = 1;
    let mut line_start = 0;
    for (i, b) in src.as_bytes().iter().enumerate().take(offset) {
        if *b == b'\n' {
            line += 1;
            line_start = i + 1;
        }
    }
    let column = src
        .get(line_start..offset)
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    Position {
        offset,
        line,
        column,
    }
}

/// The character a one-letter JSON escape (`\n`, `\"`, ...) stands for;
/// `None` for `u` and for letters that are no escape.
#[inline]
pub fn simple_escape(e: u8) -> Option<char> {
    Some(match e {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        _ => return None,
    })
}

/// The character a UTF-16 surrogate pair of `\u` escapes stands for, if
/// `hi` is a high surrogate and `lo` a low one.
#[inline]
pub fn surrogate_pair(hi: u32, lo: u32) -> Option<char> {
    if (0xD800..0xDC00).contains(&hi) && (0xDC00..0xE000).contains(&lo) {
        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_run_end_finds_the_first_stop_byte() {
        // Every stop byte at every offset of a run of ordinary bytes
        // (ASCII, 0x7f and UTF-8 continuation and lead bytes included).
        let fill: Vec<u8> = [
            b'a', b' ', 0x7f, 0x80, 0xbf, 0xc3, 0xff, b'!', b'#', b'[', b']', 0x21, 0x5b,
        ]
        .to_vec();
        for len in 0..20 {
            let base: Vec<u8> = (0..len).map(|k| fill[k % fill.len()]).collect();
            assert_eq!(string_run_end(&base, 0), len);
            for stop in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                for at in 0..len {
                    let mut b = base.clone();
                    b[at] = stop;
                    // A second stop later must not matter.
                    if at + 3 < len {
                        b[at + 3] = b'"';
                    }
                    for start in 0..=at {
                        assert_eq!(string_run_end(&b, start), at, "{b:?} from {start}");
                    }
                }
            }
        }
    }

    fn all(src: &str) -> Result<Vec<Token<'_>>, JsonError> {
        let mut r = Reader::new(src);
        let mut out = Vec::new();
        while let Some(t) = r.next_token()? {
            out.push(t);
        }
        r.finish()?;
        Ok(out)
    }

    #[test]
    fn tokens_of_nested_document() {
        let t = all(r#" {"a": [1, -2.5e3, "x\"y", true, false, null], "b": {}} "#).unwrap();
        assert_eq!(
            t,
            vec![
                Token::StartObject,
                Token::Key("a".into()),
                Token::StartArray,
                Token::Number("1"),
                Token::Number("-2.5e3"),
                Token::String("x\"y".into()),
                Token::Bool(true),
                Token::Bool(false),
                Token::Null,
                Token::EndArray,
                Token::Key("b".into()),
                Token::StartObject,
                Token::EndObject,
                Token::EndObject,
            ]
        );
    }

    #[test]
    fn jackson_texts_for_common_mistakes() {
        // SPEC.md §2.1: the two forms AWS shows.
        assert_eq!(
            all("{invalidjson}").unwrap_err().message,
            "Unexpected character ('i' (code 105)): was expecting double-quote to start field name"
        );
        assert_eq!(
            all(r#"{"a": invalid-json}"#).unwrap_err().message,
            "Unrecognized token 'invalid': was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
        );
        assert!(all(r#"{"a" 1}"#)
            .unwrap_err()
            .message
            .contains("was expecting a colon"));
        assert!(all(r#"{"a":1 "b":2}"#)
            .unwrap_err()
            .message
            .contains("was expecting comma to separate Object entries"));
        assert!(all(r#"[1 2]"#)
            .unwrap_err()
            .message
            .contains("was expecting comma to separate Array entries"));
        assert!(all(r#"{"a":[1"#)
            .unwrap_err()
            .message
            .starts_with("Unexpected end-of-input: expected close marker for Array"));
        assert_eq!(
            all("01").unwrap_err().message,
            "Invalid numeric value: Leading zeroes not allowed"
        );
        assert!(all("{} x")
            .unwrap_err()
            .message
            .contains("expected end of input"));
    }

    #[test]
    fn positions_are_line_and_column() {
        let e = all("{\n  \"a\": ?}").unwrap_err();
        assert_eq!((e.position.line, e.position.column), (2, 9));
    }

    #[test]
    fn escapes_and_surrogates() {
        let t = all(r#"["\u00e9\ud83d\ude00", "\ud800"]"#).unwrap();
        assert_eq!(t[1], Token::String("é😀".into()));
        assert_eq!(t[2], Token::String("\u{FFFD}".into()));
        assert!(all(r#"["\x"]"#)
            .unwrap_err()
            .message
            .starts_with("Unrecognized character escape 'x'"));
    }

    #[test]
    fn depth_limit_is_an_error_not_a_crash() {
        let deep = "[".repeat(200_000);
        let mut r = Reader::with_max_depth(&deep, 1000);
        let err = loop {
            match r.next_token() {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("must not finish"),
                Err(e) => break e,
            }
        };
        assert!(err.message.contains("nesting depth"));
    }
}
