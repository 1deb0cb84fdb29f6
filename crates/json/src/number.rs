//! The binary64 number model of SPEC.md §3.2.
//!
//! A JSON number literal is *comparable* when the nearest `f64` is finite
//! and its shortest round-trip decimal equals the literal exactly. Only
//! comparable numbers take part in numeric equality, ranges and numeric
//! anything-but; the rest match by literal text only.

/// An exact decimal: `(-1)^negative × digits × 10^exponent`, with no leading
/// or trailing zeros in `digits` (zero is the empty digit string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    /// Sign (never set for zero).
    pub negative: bool,
    /// Significant digits, ASCII, no leading or trailing zeros.
    pub digits: String,
    /// Power of ten applied to `digits`.
    pub exponent: i64,
}

impl Decimal {
    /// Parses a JSON number literal (also accepts Rust's `{:e}` output).
    /// Returns `None` for text that is not a number.
    pub fn parse(text: &str) -> Option<Decimal> {
        let bytes = text.as_bytes();
        let mut i = 0;
        let negative = bytes.first() == Some(&b'-');
        if negative {
            i += 1;
        }
        let mut digits = String::new();
        let mut exponent: i64 = 0;
        let mut seen_digit = false;
        while let Some(&b) = bytes.get(i) {
            if b.is_ascii_digit() {
                digits.push(b as char);
                seen_digit = true;
                i += 1;
            } else {
                break;
            }
        }
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            while let Some(&b) = bytes.get(i) {
                if b.is_ascii_digit() {
                    digits.push(b as char);
                    exponent -= 1;
                    seen_digit = true;
                    i += 1;
                } else {
                    break;
                }
            }
        }
        if !seen_digit {
            return None;
        }
        if matches!(bytes.get(i), Some(b'e' | b'E')) {
            i += 1;
            let mut exp_neg = false;
            match bytes.get(i) {
                Some(b'+') => i += 1,
                Some(b'-') => {
                    exp_neg = true;
                    i += 1;
                }
                _ => {}
            }
            let mut e: i64 = 0;
            let mut any = false;
            while let Some(&b) = bytes.get(i) {
                if b.is_ascii_digit() {
                    e = e.saturating_mul(10).saturating_add(i64::from(b - b'0'));
                    any = true;
                    i += 1;
                } else {
                    break;
                }
            }
            if !any {
                return None;
            }
            exponent = exponent.saturating_add(if exp_neg { -e } else { e });
        }
        if i != bytes.len() {
            return None;
        }
        let trimmed_lead = digits.trim_start_matches('0');
        let trimmed = trimmed_lead.trim_end_matches('0');
        let trailing = trimmed_lead.len() - trimmed.len();
        if trimmed.is_empty() {
            return Some(Decimal {
                negative: false,
                digits: String::new(),
                exponent: 0,
            });
        }
        Some(Decimal {
            negative,
            digits: trimmed.to_string(),
            exponent: exponent.saturating_add(trailing as i64),
        })
    }

    /// Number of digits after the decimal point in the exact value.
    pub fn fraction_digits(&self) -> u64 {
        if self.exponent >= 0 {
            0
        } else {
            self.exponent.unsigned_abs()
        }
    }
}

/// The `f64` value of a JSON number literal if it is comparable under
/// SPEC.md §3.2: finite, and exactly the shortest round-trip decimal of the
/// nearest double. `-0` is `0`.
///
/// ```
/// use evmatch_json::comparable_f64;
/// assert_eq!(comparable_f64("3.0e2"), Some(300.0));
/// assert_eq!(comparable_f64("1E309"), None); // overflow
/// assert_eq!(comparable_f64("1E-325"), None); // underflows to zero
/// assert_eq!(comparable_f64("0.10000000000000001"), None); // too many digits
/// assert_eq!(comparable_f64("12345678901234567"), None);
/// assert!(comparable_f64("1E-320").is_some()); // subnormal that round-trips
/// ```
pub fn comparable_f64(text: &str) -> Option<f64> {
    let d: f64 = text.parse().ok()?;
    if !d.is_finite() {
        return None;
    }
    // At most 15 significant digits and a normal double: the literal is
    // the only decimal of 15 digits or fewer that rounds to `d` (binary64
    // keeps 15 decimal digits through a round trip), so it is the
    // shortest one. No need to print `d`.
    let sig = significant_digits(text)?;
    if (1..=15).contains(&sig) && d.abs() >= f64::MIN_POSITIVE {
        return Some(d);
    }
    let exact = Decimal::parse(text)?;
    let shortest = Decimal::parse(&format!("{d:e}"))?;
    if exact == shortest {
        Some(if d == 0.0 { 0.0 } else { d })
    } else {
        None
    }
}

/// The number of significant digits of a literal [`Decimal::parse`]
/// accepts (the length of its `digits`), without building it; `None`
/// where it returns `None`.
fn significant_digits(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    // Digits of the mantissa, the point skipped: the first and last
    // non-zero ones give the count.
    let (mut first, mut last, mut count, mut any) = (None, 0usize, 0usize, false);
    let mut point = false;
    while let Some(&c) = b.get(i) {
        match c {
            b'0'..=b'9' => {
                any = true;
                if c != b'0' {
                    first.get_or_insert(count);
                    last = count;
                }
                count += 1;
            }
            b'.' if !point => point = true,
            _ => break,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let digits_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == digits_start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    Some(first.map_or(0, |f| last - f + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_spellings_are_equal_values() {
        for t in [
            "300", "300.0", "3.0e2", "3e2", "3E+2", "30000e-2", "300.000",
        ] {
            assert_eq!(comparable_f64(t), Some(300.0), "{t}");
        }
        assert_eq!(comparable_f64("-0"), Some(0.0));
        assert!(comparable_f64("-0").is_some_and(|v| v.is_sign_positive()));
    }

    #[test]
    fn non_comparable_literals() {
        for t in [
            "1E309",
            "1E-325",
            "0.10000000000000001",
            "12345678901234567",
            "123456789012345678901234567890",
            "1e400",
            "1E-400",
        ] {
            assert_eq!(comparable_f64(t), None, "{t}");
        }
        assert_eq!(comparable_f64("9007199254740993"), None);
        assert_eq!(comparable_f64("9007199254740992"), Some(9007199254740992.0));
        assert_eq!(comparable_f64("0e99999999999999999999"), Some(0.0));
    }

    /// `comparable_f64` without the short cut.
    fn comparable_by_printing(text: &str) -> Option<f64> {
        let d: f64 = text.parse().ok()?;
        if !d.is_finite() {
            return None;
        }
        let exact = Decimal::parse(text)?;
        let shortest = Decimal::parse(&format!("{d:e}"))?;
        (exact == shortest).then_some(if d == 0.0 { 0.0 } else { d })
    }

    #[test]
    fn short_cut_agrees_with_printing() {
        let mut texts: Vec<String> = [
            "1",
            "-1",
            "0.1",
            "123456789012345",
            "1234567890123456",
            "0.000000000000001",
            "1.00000000000000",
            "100000000000000000000",
            "1e308",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            "2.225073858507201e-308",
            "1e-307",
            "1e-308",
            "1e-309",
            "4.9e-324",
            "5e-324",
            "-0.0",
            "0e5",
            ".5",
            "5.",
            "+1",
            "1e",
            "9007199254740993",
            "0.30000000000000004",
            "0.3",
            "123.456e-2",
            "99999999999999.9",
            "999999999999999e300",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Deterministic pseudo-random literals of 1 to 18 digits with
        // varied points and exponents.
        let mut x: u64 = 12345;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let digits = 1 + (x >> 60) as usize % 18;
            let mut t: String = (0..digits)
                .map(|i| char::from(b'0' + ((x >> (i * 3 % 50)) % 10) as u8))
                .collect();
            let point = (x >> 20) as usize % (digits + 1);
            if point < digits {
                t.insert(point, '.');
            }
            if x >> 40 & 1 == 1 {
                let e = ((x >> 41) % 700) as i64 - 350;
                t.push_str(&format!("e{e}"));
            }
            texts.push(t);
        }
        for t in &texts {
            assert_eq!(
                significant_digits(t),
                Decimal::parse(t).map(|d| d.digits.len()),
                "{t}"
            );
            assert_eq!(
                comparable_f64(t).map(f64::to_bits),
                comparable_by_printing(t).map(f64::to_bits),
                "{t}"
            );
        }
    }

    #[test]
    fn decimal_normalises() {
        let a = Decimal::parse("0012.3400").unwrap();
        assert_eq!(a.digits, "1234");
        assert_eq!(a.exponent, -2);
        assert_eq!(a.fraction_digits(), 2);
    }
}
