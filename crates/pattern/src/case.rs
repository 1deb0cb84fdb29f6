//! Case-insensitive comparison as EventBridge does it (SPEC.md §2.4): for
//! each character `c` of the pattern the value may hold `c`, its simple
//! lower-case or its simple upper-case mapping. No full folding
//! (`STRASSE` ≠ `straße`), and, as the reference applies the mapping per
//! UTF-16 unit, characters outside the Basic Multilingual Plane only match
//! themselves.

/// Simple lower-case mapping of one character.
pub fn simple_lower(c: char) -> char {
    if (c as u32) > 0xFFFF {
        return c;
    }
    let mut it = c.to_lowercase();
    // Only U+0130 lowers to two characters; its simple mapping is the first.
    it.next().unwrap_or(c)
}

/// Simple upper-case mapping of one character.
pub fn simple_upper(c: char) -> char {
    if (c as u32) > 0xFFFF {
        return c;
    }
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        // Full mappings to several characters (ß → SS) have no simple one.
        _ => c,
    }
}

/// Whether value character `v` is acceptable for pattern character `p`.
#[inline]
pub fn char_matches(p: char, v: char) -> bool {
    if p.is_ascii() {
        // ASCII maps to ASCII: the value must be the letter in either case.
        return v.eq_ignore_ascii_case(&p);
    }
    v == p || v == simple_lower(p) || v == simple_upper(p)
}

/// `value` equals `pattern` ignoring case.
#[inline]
pub fn equals_ignore_case(pattern: &str, value: &str) -> bool {
    let (p, v) = (pattern.as_bytes(), value.as_bytes());
    if p.len() == v.len() {
        // While both are ASCII, bytes are characters: compare them
        // directly, and go the long way only from a non-ASCII byte on.
        let mut ascii = true;
        for (a, b) in p.iter().zip(v) {
            if (a | b) >= 0x80 {
                ascii = false;
                break;
            }
            if !a.eq_ignore_ascii_case(b) {
                return false;
            }
        }
        if ascii {
            return true;
        }
    } else if pattern.is_ascii() && value.is_ascii() {
        return false;
    }
    let mut pv = pattern.chars();
    let mut vv = value.chars();
    loop {
        match (pv.next(), vv.next()) {
            (None, None) => return true,
            (Some(p), Some(v)) if char_matches(p, v) => {}
            _ => return false,
        }
    }
}

/// `value` starts with `prefix` ignoring case.
pub fn starts_with_ignore_case(value: &str, prefix: &str) -> bool {
    let mut vv = value.chars();
    prefix
        .chars()
        .all(|p| vv.next().is_some_and(|v| char_matches(p, v)))
}

/// `value` ends with `suffix` ignoring case.
pub fn ends_with_ignore_case(value: &str, suffix: &str) -> bool {
    let mut vv = value.chars().rev();
    suffix
        .chars()
        .rev()
        .all(|p| vv.next().is_some_and(|v| char_matches(p, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_mapping_only() {
        assert!(equals_ignore_case("ÉCOLE", "école"));
        assert!(!equals_ignore_case("STRASSE", "straße"));
        assert!(equals_ignore_case("ec2 instance", "EC2 INSTANCE"));
        assert!(!equals_ignore_case("abc", "abcd"));
        assert!(starts_with_ignore_case("EvEnTb-x", "eventb"));
        assert!(ends_with_ignore_case("image.PNG", ".png"));
        assert!(!ends_with_ignore_case("png", ".png"));
    }
}
