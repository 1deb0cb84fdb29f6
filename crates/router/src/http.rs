//! A minimal HTTP/1.1 client for `http://` targets: one `POST` per
//! delivery on its own connection (`Connection: close`), over
//! `std::net::TcpStream`, with connect, read and write timeouts.
//!
//! Responses are classified as AWS documents for API destinations
//! (SPEC.md §6): 2xx is delivered; 401, 407, 409, 429 and 5xx are retried;
//! other statuses are not. Connection failures are retried; timeouts are
//! `TIMEOUT` and retried.

use crate::target::{DeliveryError, ErrorCode};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// An `http://` URL split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80 when not given).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl HttpUrl {
    /// Reads `http://host[:port][/path][?query]`. `https://` is refused:
    /// there is no TLS client here.
    pub fn parse(url: &str) -> Result<HttpUrl, String> {
        let lower = url.get(..8).unwrap_or("").to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(format!(
                "{url}: https targets are not supported locally (no TLS client); \
                 deliver to an http:// endpoint (a local TLS proxy can forward it)"
            ));
        }
        let Some(rest) = url
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case("http://"))
            .and_then(|_| url.get(7..))
        else {
            return Err(format!("{url} is not an http:// URL"));
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("/")),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_string()
        };
        if authority.contains('@') {
            return Err(format!("{url}: credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let Some((h, after)) = v6.split_once(']') else {
                return Err(format!("{url}: unclosed [ in the host"));
            };
            match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None if after.is_empty() => (h, None),
                None => return Err(format!("{url}: unexpected text after the host")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(format!("{url}: an HTTP URL needs a host"));
        }
        let port = match port {
            None => 80,
            Some(p) => p
                .parse::<u16>()
                .map_err(|_| format!("{url}: invalid port {p}"))?,
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!("{url}: spaces or control characters in the path"));
        }
        Ok(HttpUrl {
            host: host.to_string(),
            port,
            path,
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Checks a header name and value can go on the wire as they are.
pub fn check_header(name: &str, value: &str) -> Result<(), String> {
    let token = |c: u8| c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c);
    if name.is_empty() || !name.bytes().all(token) {
        return Err(format!("invalid HTTP header name {name:?}"));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!(
            "the value of HTTP header {name} has a line break or NUL"
        ));
    }
    Ok(())
}

/// Name of the header carrying the idempotency key (the IETF
/// `Idempotency-Key` header).
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// POSTs `body` to `url`; `Ok` on a 2xx answer.
pub fn post(
    url: &HttpUrl,
    headers: &[(String, String)],
    idempotency_key: &str,
    body: &str,
    timeout: Duration,
) -> Result<u16, DeliveryError> {
    let addrs = (url.host.as_str(), url.port)
        .to_socket_addrs()
        .map_err(|e| {
            DeliveryError::transient(
                ErrorCode::Other,
                format!("cannot resolve {}: {e}", url.host),
            )
        })?;
    let mut last: Option<std::io::Error> = None;
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let Some(mut stream) = stream else {
        let what = format!("cannot connect to {}", url.host_header());
        return Err(match last {
            Some(e) => io_error(&what, &e.to_string(), is_timeout(&e)),
            None => DeliveryError::transient(ErrorCode::Other, format!("{what}: no address")),
        });
    };
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    let _ = stream.set_nodelay(true);

    let mut req = String::with_capacity(256 + body.len());
    req.push_str("POST ");
    req.push_str(&url.path);
    req.push_str(" HTTP/1.1\r\nHost: ");
    req.push_str(&url.host_header());
    req.push_str("\r\n");
    let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
    if !has("content-type") {
        req.push_str("Content-Type: application/json; charset=utf-8\r\n");
    }
    if !has("user-agent") {
        req.push_str(concat!(
            "User-Agent: evmatch/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    for (k, v) in headers {
        if k.eq_ignore_ascii_case("content-length")
            || k.eq_ignore_ascii_case("connection")
            || k.eq_ignore_ascii_case("host")
            || k.eq_ignore_ascii_case(IDEMPOTENCY_HEADER)
        {
            continue;
        }
        req.push_str(k);
        req.push_str(": ");
        req.push_str(v);
        req.push_str("\r\n");
    }
    req.push_str(IDEMPOTENCY_HEADER);
    req.push_str(": ");
    req.push_str(idempotency_key);
    req.push_str("\r\nConnection: close\r\nContent-Length: ");
    req.push_str(&body.len().to_string());
    req.push_str("\r\n\r\n");
    req.push_str(body);
    stream
        .write_all(req.as_bytes())
        .and_then(|()| stream.flush())
        .map_err(|e| io_error("cannot send the request", &e.to_string(), is_timeout(&e)))?;

    // The status line, then as much of the answer as fits in 16 KB.
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                if buf.len() >= 16 * 1024 {
                    break;
                }
                // A 2xx needs nothing past the status line.
                if status_of(&buf).is_some_and(|s| (200..300).contains(&s)) {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                if status_of(&buf).is_some() {
                    break;
                }
                return Err(io_error("no answer", &e.to_string(), is_timeout(&e)));
            }
        }
    }
    let Some(status) = status_of(&buf) else {
        return Err(DeliveryError::transient(
            ErrorCode::Other,
            format!(
                "invalid HTTP answer from {}: {:?}",
                url.host_header(),
                String::from_utf8_lossy(buf.get(..buf.len().min(80)).unwrap_or(&[]))
            ),
        ));
    };
    if (200..300).contains(&status) {
        return Ok(status);
    }
    let text = String::from_utf8_lossy(&buf);
    let reason = text
        .lines()
        .next()
        .and_then(|l| l.splitn(3, ' ').nth(2))
        .unwrap_or("")
        .trim()
        .to_string();
    let body_snippet: String = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.chars().take(200).collect())
        .unwrap_or_default();
    let mut message = format!("HTTP {status}");
    if !reason.is_empty() {
        message.push(' ');
        message.push_str(&reason);
    }
    if !body_snippet.trim().is_empty() {
        message.push_str(": ");
        message.push_str(body_snippet.trim());
    }
    Err(classify(status, message))
}

/// The error for a non-2xx status, as AWS treats API destinations.
pub fn classify(status: u16, message: String) -> DeliveryError {
    match status {
        429 => DeliveryError::transient(ErrorCode::Throttling, message),
        401 | 407 => DeliveryError::transient(ErrorCode::NoPermissions, message),
        403 => DeliveryError::permanent(ErrorCode::NoPermissions, message),
        404 | 410 => DeliveryError::permanent(ErrorCode::NoResource, message),
        409 | 500..=599 => DeliveryError::transient(ErrorCode::Other, message),
        _ => DeliveryError::permanent(ErrorCode::Other, message),
    }
}

fn status_of(buf: &[u8]) -> Option<u16> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    let line = std::str::from_utf8(buf.get(..end)?).ok()?;
    let mut parts = line.split(' ');
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let code = parts.next()?;
    if code.len() != 3 {
        return None;
    }
    code.parse().ok()
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    )
}

fn io_error(what: &str, e: &str, timeout: bool) -> DeliveryError {
    if timeout {
        DeliveryError::transient(ErrorCode::Timeout, format!("{what}: timed out"))
    } else {
        DeliveryError::transient(ErrorCode::Other, format!("{what}: {e}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls() {
        let u = HttpUrl::parse("http://127.0.0.1:8080/a/b?x=1").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8080, "/a/b?x=1")
        );
        let u = HttpUrl::parse("HTTP://example.com").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        let u = HttpUrl::parse("http://[::1]:9/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.host_header().as_str()),
            ("::1", "[::1]:9")
        );
        let u = HttpUrl::parse("http://h?q").unwrap();
        assert_eq!(u.path, "/?q");
        for bad in [
            "https://h/x",
            "http://",
            "http://h:99999/",
            "http://u:p@h/",
            "ftp://h",
            "http://h/a b",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
        assert!(HttpUrl::parse("https://h/")
            .unwrap_err()
            .contains("not supported locally"));
    }

    #[test]
    fn spec_6_status_classes() {
        // API destinations: 401, 407, 409, 429, 5xx retried; other 4xx not.
        for (s, retriable, code) in [
            (429, true, "THROTTLING"),
            (500, true, "SDK_CLIENT_ERROR"),
            (503, true, "SDK_CLIENT_ERROR"),
            (401, true, "NO_PERMISSIONS"),
            (409, true, "SDK_CLIENT_ERROR"),
            (400, false, "SDK_CLIENT_ERROR"),
            (403, false, "NO_PERMISSIONS"),
            (404, false, "NO_RESOURCE"),
            (302, false, "SDK_CLIENT_ERROR"),
        ] {
            let e = classify(s, String::new());
            assert_eq!((e.retriable, e.code.as_str()), (retriable, code), "{s}");
        }
        assert_eq!(status_of(b"HTTP/1.1 204 No Content\r\n"), Some(204));
        assert_eq!(status_of(b"HTTP/1.1 204"), None);
        assert_eq!(status_of(b"garbage\r\n"), None);
    }

    #[test]
    fn headers() {
        assert!(check_header("X-Key", "v").is_ok());
        assert!(check_header("X Key", "v").is_err());
        assert!(check_header("X-Key", "a\r\nEvil: 1").is_err());
    }
}
