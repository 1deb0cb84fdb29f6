//! IP literals and CIDR blocks (SPEC.md §2.2, §2.9).
//!
//! What counts as an IP literal follows the reference library: text shaped
//! like four dot-separated digit groups, or hex digits and colons with at
//! least one colon, that also parses as an address. Unlike the reference
//! (Java's `InetAddress`), leading zeros in dotted decimal (`10.0.0.010`)
//! are not accepted: SPEC.md §2.9 recommends canonical dotted decimal only.

use std::net::{Ipv4Addr, Ipv6Addr};

/// A closed range of addresses of one family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Lowest address in the range.
    pub low: u128,
    /// Highest address in the range.
    pub high: u128,
}

impl IpRange {
    /// Whether the address is of this family and inside the range.
    pub fn contains(&self, addr: IpValue) -> bool {
        addr.v6 == self.v6 && addr.bits >= self.low && addr.bits <= self.high
    }
}

/// An address: family and bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpValue {
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// The address bits (IPv4 in the low 32 bits).
    pub bits: u128,
}

fn looks_like_v4(s: &str) -> bool {
    let mut groups = 0;
    for part in s.split('.') {
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        groups += 1;
    }
    groups == 4
}

fn looks_like_v6(s: &str) -> bool {
    s.contains(':') && s.bytes().all(|b| b == b':' || b.is_ascii_hexdigit())
}

/// Parses an IP literal; `None` when the text is not one.
pub fn parse_ip(s: &str) -> Option<IpValue> {
    if looks_like_v4(s) {
        s.parse::<Ipv4Addr>().ok().map(|a| IpValue {
            v6: false,
            bits: u128::from(u32::from(a)),
        })
    } else if looks_like_v6(s) {
        s.parse::<Ipv6Addr>().ok().map(|a| IpValue {
            v6: true,
            bits: u128::from(a),
        })
    } else {
        None
    }
}

/// The one-address range of an IP literal, if the text is one.
pub fn ip_literal_range(s: &str) -> Option<IpRange> {
    parse_ip(s).map(|a| IpRange {
        v6: a.v6,
        low: a.bits,
        high: a.bits,
    })
}

/// Java's `String.split("/")`: trailing empty pieces are dropped.
fn java_split_slash(s: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split('/').collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// Java's `Integer.parseInt`: optional sign, decimal digits, i32 range.
fn java_parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = s.parse().ok()?;
    (i64::from(i32::MIN)..=i64::from(i32::MAX))
        .contains(&v)
        .then_some(v)
}

/// Parses a CIDR block, with the reference library's messages and checks
/// in its order. Host bits are cleared (`10.0.0.77/24` = `10.0.0.0/24`).
pub fn parse_cidr(text: &str) -> Result<IpRange, String> {
    let parts = java_split_slash(text);
    let [addr, mask] = parts.as_slice() else {
        return Err("Malformed CIDR, one '/' required".into());
    };
    let Some(mask) = java_parse_int(mask) else {
        return Err("Malformed CIDR, mask bits must be an integer".into());
    };
    if mask < 0 {
        return Err("Malformed CIDR, mask bits must not be negative".into());
    }
    if !looks_like_v4(addr) && !looks_like_v6(addr) {
        return Err(format!("Nonstandard IP address: {addr}"));
    }
    let Some(ip) = parse_ip(addr) else {
        return Err(format!("Invalid IP address: {addr}"));
    };
    let width: i64 = if ip.v6 { 128 } else { 32 };
    if mask >= width {
        return Err(if ip.v6 {
            "IPv6 mask bits must be < 128".into()
        } else {
            "IPv4 mask bits must be < 32".into()
        });
    }
    let host_bits = (width - mask) as u32;
    let full: u128 = if ip.v6 {
        u128::MAX
    } else {
        u128::from(u32::MAX)
    };
    let host_mask: u128 = if host_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << host_bits) - 1
    } & full;
    let low = ip.bits & !host_mask & full;
    Ok(IpRange {
        v6: ip.v6,
        low,
        high: low | host_mask,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_messages_in_reference_order() {
        assert_eq!(
            parse_cidr("bad-filter").unwrap_err(),
            "Malformed CIDR, one '/' required"
        );
        assert_eq!(
            parse_cidr("bad-/64filter").unwrap_err(),
            "Malformed CIDR, mask bits must be an integer"
        );
        assert_eq!(
            parse_cidr("xx.11.xx/8").unwrap_err(),
            "Nonstandard IP address: xx.11.xx"
        );
        assert_eq!(
            parse_cidr("10.0.0.0/-1").unwrap_err(),
            "Malformed CIDR, mask bits must not be negative"
        );
        assert_eq!(
            parse_cidr("10.0.0.1/32").unwrap_err(),
            "IPv4 mask bits must be < 32"
        );
        assert_eq!(
            parse_cidr("::1/128").unwrap_err(),
            "IPv6 mask bits must be < 128"
        );
        assert_eq!(
            parse_cidr("10.0.0.256/24").unwrap_err(),
            "Invalid IP address: 10.0.0.256"
        );
        assert_eq!(
            parse_cidr("10.0.0.0/24/").unwrap(),
            parse_cidr("10.0.0.0/24").unwrap()
        );
    }

    #[test]
    fn cidr_ranges() {
        let r = parse_cidr("10.0.0.77/24").unwrap();
        assert!(r.contains(parse_ip("10.0.0.0").unwrap()));
        assert!(r.contains(parse_ip("10.0.0.255").unwrap()));
        assert!(!r.contains(parse_ip("10.0.1.0").unwrap()));
        let r6 = parse_cidr("2001:db8:1234:1a00::/64").unwrap();
        assert!(r6.contains(parse_ip("2001:0db8:1234:1a00:0000:0000:0000:0000").unwrap()));
        assert!(!r6.contains(parse_ip("2001:0db8:123f:1a01::").unwrap()));
        assert!(parse_cidr("0.0.0.0/0")
            .unwrap()
            .contains(parse_ip("255.1.2.3").unwrap()));
    }

    #[test]
    fn ip_literals() {
        assert!(parse_ip("10.0.0.010").is_none());
        assert!(parse_ip("::ffff:10.0.0.1").is_none());
        assert!(parse_ip("10.0.0.5:80").is_none());
        assert_eq!(
            parse_ip("2001:db8::1"),
            parse_ip("2001:0db8:0000:0000:0000:0000:0000:0001")
        );
    }
}
