//! Helpers shared by the commands.

use evmatch::{CompileOptions, Pattern, PatternError};
use evmatch_router::RuleDef;
use std::io::Write;
use std::path::Path;

/// Writes to stdout, ignoring errors (a closed pipe ends output quietly).
pub fn write_stdout(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Prints `evmatch: <message>` on stderr.
pub fn error(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "evmatch: {message}");
}

/// Prints lines on stderr as they are.
pub fn stderr_lines(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{text}");
}

/// How a path reads in messages.
pub fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Reads and loads a rules file; prints the problem and returns `Err(2)`.
pub fn load_rules_file(path: &Path) -> Result<Vec<RuleDef>, u8> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            error(&format!("cannot read rules file {}: {e}", display(path)));
            return Err(crate::EXIT_FATAL);
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            error(&format!(
                "{}: the rules file is not UTF-8 (invalid byte at offset {})",
                display(path),
                e.utf8_error().valid_up_to()
            ));
            return Err(crate::EXIT_FATAL);
        }
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    evmatch_router::load_rules(text).map_err(|e| {
        error(&format!("{}: {e}", display(path)));
        crate::EXIT_FATAL
    })
}

/// Compile options with an optional `--max-pattern-size` (0: no limit).
pub fn compile_options(max_pattern_size: Option<usize>) -> CompileOptions {
    let mut o = CompileOptions::default();
    if let Some(n) = max_pattern_size {
        o.max_pattern_chars = if n == 0 { None } else { Some(n) };
    }
    o
}

/// Compiles every rule (enabled or not), one at a time as the iterator is
/// read, so only one compiled pattern needs to be in memory at once (a
/// 1 KB rule can expand to megabytes through `$or`).
pub fn compile_all<'a>(
    rules: &'a [RuleDef],
    options: &'a CompileOptions,
) -> impl Iterator<Item = Result<Pattern, PatternError>> + 'a {
    rules
        .iter()
        .map(move |r| evmatch::compile(&r.pattern, options))
}

/// Appends `s` as a JSON string literal.
pub fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(out, s);
}

/// A command-line value: inline text, or the contents of `file://PATH`
/// (as the AWS CLI reads it). An unreadable file is reported and gives
/// `Err(2)`.
pub fn value(arg: &str, what: &str) -> Result<String, u8> {
    let Some(path) = arg.strip_prefix("file://") else {
        return Ok(arg.to_string());
    };
    std::fs::read_to_string(path).map_err(|e| {
        error(&format!("cannot read {what} file {path}: {e}"));
        crate::EXIT_FATAL
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_strings() {
        let mut v = Vec::new();
        push_json_str(&mut v, "a\"b\\c\n\u{1}é");
        assert_eq!(String::from_utf8(v).unwrap(), r#""a\"b\\c\n\u0001é""#);
    }
}
