//! A minimal HTTP/1.1 client for `http://` and `https://` targets, over
//! `std::net::TcpStream` (TLS by rustls with Mozilla's root certificates
//! and any extra CA of [`TlsConfig::new`], feature `https`), with
//! connect, read and write timeouts.
//!
//! [`HttpClient`] keeps connections open between deliveries (HTTP/1.1
//! persistent connections): each delivery takes an idle connection of its
//! target, or opens one, and puts it back once the whole answer is read,
//! unless the server said `Connection: close`, answered in HTTP/1.0 or
//! without a length. A kept connection the server has closed meanwhile is
//! noticed before use (it reads as closed) or when the request cannot be
//! sent or gets no byte of answer; the request then goes once more on a
//! new connection, and that does not count as a failed attempt. [`post`]
//! sends one request on a connection of its own.
//!
//! Responses are classified as AWS documents for API destinations
//! (SPEC.md §6): 2xx is delivered; 401, 407, 409, 429 and 5xx are retried;
//! other statuses are not. Connection failures are retried; timeouts are
//! `TIMEOUT` and retried.

use crate::target::{DeliveryError, ErrorCode};
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
#[cfg(feature = "https")]
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

/// An `http://` or `https://` URL split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (80, or 443 for https, when not given).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
    /// `https://`.
    pub tls: bool,
}

impl HttpUrl {
    /// Reads `http[s]://host[:port][/path][?query]`. `https://` is refused
    /// when the crate is built without its `https` feature.
    pub fn parse(url: &str) -> Result<HttpUrl, String> {
        let lower = url.get(..8).unwrap_or("").to_ascii_lowercase();
        let tls = lower.starts_with("https://");
        if tls && !cfg!(feature = "https") {
            return Err(format!(
                "{url}: https targets need evmatch built with TLS (feature \"https\"); \
                 deliver to an http:// endpoint (a local TLS proxy can forward it)"
            ));
        }
        let scheme = if tls { 8 } else { 7 };
        let Some(rest) = url
            .get(..scheme)
            .filter(|p| p.eq_ignore_ascii_case(if tls { "https://" } else { "http://" }))
            .and_then(|_| url.get(scheme..))
        else {
            return Err(format!("{url} is not an http:// or https:// URL"));
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
            None if tls => 443,
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
            tls,
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.tls { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// How `https://` targets check servers: Mozilla's root certificates
/// (webpki-roots) plus any extra CA certificates. Cheap to clone.
#[derive(Clone)]
pub struct TlsConfig {
    #[cfg(feature = "https")]
    config: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConfig")
    }
}

impl TlsConfig {
    /// The root certificates plus those of the PEM files `ca_files`
    /// (for a local CA or a self-signed server); an error names the file.
    #[cfg(feature = "https")]
    pub fn new(ca_files: &[std::path::PathBuf]) -> Result<TlsConfig, String> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::CertificateDer;
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for path in ca_files {
            let what =
                |e: &dyn std::fmt::Display| format!("CA certificate file {}: {e}", path.display());
            let mut added = 0;
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| what(&e))? {
                let cert = cert.map_err(|e| what(&e))?;
                roots.add(cert).map_err(|e| what(&e))?;
                added += 1;
            }
            if added == 0 {
                return Err(what(&"no PEM certificate in it"));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfig {
            config: Arc::new(config),
        })
    }

    /// Without TLS support: an error for any use.
    #[cfg(not(feature = "https"))]
    pub fn new(_ca_files: &[std::path::PathBuf]) -> Result<TlsConfig, String> {
        Err("this evmatch is built without TLS (feature \"https\")".to_string())
    }

    /// Mozilla's root certificates alone (built once).
    pub fn default_roots() -> Result<TlsConfig, String> {
        static ROOTS: std::sync::OnceLock<Result<TlsConfig, String>> = std::sync::OnceLock::new();
        ROOTS.get_or_init(|| TlsConfig::new(&[])).clone()
    }
}

/// A connection: plain TCP or TLS over it.
enum Conn {
    Plain(TcpStream),
    #[cfg(feature = "https")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Conn {
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            #[cfg(feature = "https")]
            Conn::Tls(s) => s.flush(),
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

/// POSTs `body` to `url` on a connection of its own (`Connection:
/// close`); `Ok` on a 2xx answer.
pub fn post(
    url: &HttpUrl,
    headers: &[(String, String)],
    idempotency_key: &str,
    body: &str,
    timeout: Duration,
) -> Result<u16, DeliveryError> {
    let client = HttpClient::new(url.clone(), headers, timeout)?;
    let mut stream = client.connect()?;
    let req = client.request(idempotency_key, body, false);
    match exchange(&mut stream, &req) {
        Ok(answer) => answer.result(),
        Err(Exchange::Stale(e)) => Err(e),
        Err(Exchange::Failed(e)) => Err(e),
    }
}

/// POSTs to one URL, keeping connections open between requests (see the
/// module documentation). `Sync`: one client serves all the delivery
/// threads of a target.
pub struct HttpClient {
    url: HttpUrl,
    /// The request line and the fixed headers.
    head: String,
    timeout: Duration,
    #[cfg_attr(not(feature = "https"), allow(dead_code))]
    tls: Option<TlsConfig>,
    idle: Mutex<Vec<Conn>>,
    opened: AtomicU64,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client for `url` sending `headers` (checked with
    /// [`check_header`]; `Content-Length`, `Connection`, `Host` and the
    /// idempotency key header are the client's own and skipped).
    /// `https://` URLs check servers against Mozilla's root certificates;
    /// see [`HttpClient::with_tls`].
    pub fn new(
        url: HttpUrl,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, DeliveryError> {
        let tls = if url.tls {
            Some(
                TlsConfig::default_roots()
                    .map_err(|e| DeliveryError::permanent(ErrorCode::Other, e))?,
            )
        } else {
            None
        };
        Ok(Self::with_tls(url, headers, timeout, tls))
    }

    /// [`HttpClient::new`] with the TLS settings of `https://` URLs.
    pub fn with_tls(
        url: HttpUrl,
        headers: &[(String, String)],
        timeout: Duration,
        tls: Option<TlsConfig>,
    ) -> Self {
        let mut head = String::with_capacity(256);
        head.push_str("POST ");
        head.push_str(&url.path);
        head.push_str(" HTTP/1.1\r\nHost: ");
        head.push_str(&url.host_header());
        head.push_str("\r\n");
        let has = |n: &str| headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(n));
        if !has("content-type") {
            head.push_str("Content-Type: application/json; charset=utf-8\r\n");
        }
        if !has("user-agent") {
            head.push_str(concat!(
                "User-Agent: evmatch/",
                env!("CARGO_PKG_VERSION"),
                "\r\n"
            ));
        }
        for (k, v) in headers {
            if k.eq_ignore_ascii_case("content-length")
                || k.eq_ignore_ascii_case("connection")
                || k.eq_ignore_ascii_case("host")
                || k.eq_ignore_ascii_case("transfer-encoding")
                || k.eq_ignore_ascii_case(IDEMPOTENCY_HEADER)
            {
                continue;
            }
            head.push_str(k);
            head.push_str(": ");
            head.push_str(v);
            head.push_str("\r\n");
        }
        let tls = if url.tls { tls } else { None };
        HttpClient {
            url,
            head,
            timeout,
            tls,
            idle: Mutex::new(Vec::new()),
            opened: AtomicU64::new(0),
        }
    }

    /// Connections opened so far.
    pub fn connections_opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// POSTs `body`; `Ok(status)` on a 2xx answer.
    pub fn post(&self, idempotency_key: &str, body: &str) -> Result<u16, DeliveryError> {
        let req = self.request(idempotency_key, body, true);
        loop {
            let (mut stream, reused) = match self.take_idle() {
                Some(s) => (s, true),
                None => (self.connect()?, false),
            };
            match exchange(&mut stream, &req) {
                Ok(answer) => {
                    if answer.reusable {
                        if let Ok(mut idle) = self.idle.lock() {
                            idle.push(stream);
                        }
                    }
                    return answer.result();
                }
                // A kept connection the server closed: the request did not
                // get through; send it again on another connection.
                Err(Exchange::Stale(_)) if reused => continue,
                Err(Exchange::Stale(e)) | Err(Exchange::Failed(e)) => return Err(e),
            }
        }
    }

    fn request(&self, idempotency_key: &str, body: &str, keep_alive: bool) -> Vec<u8> {
        let mut req = Vec::with_capacity(self.head.len() + 128 + body.len());
        req.extend_from_slice(self.head.as_bytes());
        req.extend_from_slice(IDEMPOTENCY_HEADER.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(idempotency_key.as_bytes());
        if !keep_alive {
            req.extend_from_slice(b"\r\nConnection: close");
        }
        req.extend_from_slice(b"\r\nContent-Length: ");
        req.extend_from_slice(body.len().to_string().as_bytes());
        req.extend_from_slice(b"\r\n\r\n");
        req.extend_from_slice(body.as_bytes());
        req
    }

    /// An idle connection that still looks open.
    fn take_idle(&self) -> Option<Conn> {
        loop {
            let c = self.idle.lock().ok()?.pop()?;
            // Closed by the server (reads as the end), or with unasked-for
            // data (a TLS close_notify too): not usable.
            let s = c.tcp();
            let _ = s.set_nonblocking(true);
            let mut probe = [0u8; 1];
            let alive = matches!(
                s.peek(&mut probe),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
            );
            if alive && s.set_nonblocking(false).is_ok() {
                return Some(c);
            }
        }
    }

    fn connect(&self) -> Result<Conn, DeliveryError> {
        let tcp = self.connect_tcp()?;
        #[cfg(feature = "https")]
        if let Some(tls) = &self.tls {
            return self.handshake(tls, tcp);
        }
        Ok(Conn::Plain(tcp))
    }

    /// The TLS handshake (server certificate checked) on a new connection.
    #[cfg(feature = "https")]
    fn handshake(&self, tls: &TlsConfig, mut tcp: TcpStream) -> Result<Conn, DeliveryError> {
        let what = format!("TLS handshake with {}", self.url.host_header());
        let name = rustls::pki_types::ServerName::try_from(self.url.host.clone())
            .map_err(|e| DeliveryError::permanent(ErrorCode::Other, format!("{what}: {e}")))?;
        let mut conn = rustls::ClientConnection::new(Arc::clone(&tls.config), name)
            .map_err(|e| DeliveryError::transient(ErrorCode::Other, format!("{what}: {e}")))?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                // A certificate the server will keep presenting is not
                // worth retrying.
                let bad_cert = e
                    .get_ref()
                    .and_then(|x| x.downcast_ref::<rustls::Error>())
                    .is_some_and(|x| matches!(x, rustls::Error::InvalidCertificate(_)));
                let message = format!("{what}: {e}");
                return Err(if bad_cert {
                    DeliveryError::permanent(ErrorCode::Other, message)
                } else if is_timeout(&e) {
                    DeliveryError::transient(ErrorCode::Timeout, format!("{what}: timed out"))
                } else {
                    DeliveryError::transient(ErrorCode::Other, message)
                });
            }
        }
        Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(conn, tcp))))
    }

    fn connect_tcp(&self) -> Result<TcpStream, DeliveryError> {
        let url = &self.url;
        let addrs = (url.host.as_str(), url.port)
            .to_socket_addrs()
            .map_err(|e| {
                DeliveryError::transient(
                    ErrorCode::Other,
                    format!("cannot resolve {}: {e}", url.host),
                )
            })?;
        let mut last: Option<std::io::Error> = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.timeout) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(self.timeout));
                    let _ = s.set_write_timeout(Some(self.timeout));
                    let _ = s.set_nodelay(true);
                    self.opened.fetch_add(1, Ordering::Relaxed);
                    return Ok(s);
                }
                Err(e) => last = Some(e),
            }
        }
        let what = format!("cannot connect to {}", url.host_header());
        Err(match last {
            Some(e) => io_error(&what, &e.to_string(), is_timeout(&e)),
            None => DeliveryError::transient(ErrorCode::Other, format!("{what}: no address")),
        })
    }
}

/// How an exchange on a connection failed.
enum Exchange {
    /// The request could not be sent, or not a byte came back before the
    /// connection closed: on a kept connection, the server had closed it.
    Stale(DeliveryError),
    /// Anything else.
    Failed(DeliveryError),
}

/// An answer, read to its end.
#[derive(Debug)]
struct Answer {
    status: u16,
    reason: String,
    /// The start of the body (at most 16 KB).
    body: Vec<u8>,
    /// The connection can carry another request.
    reusable: bool,
}

impl Answer {
    fn result(&self) -> Result<u16, DeliveryError> {
        if (200..300).contains(&self.status) {
            return Ok(self.status);
        }
        let mut message = format!("HTTP {}", self.status);
        if !self.reason.is_empty() {
            message.push(' ');
            message.push_str(&self.reason);
        }
        let snippet: String = String::from_utf8_lossy(&self.body)
            .chars()
            .take(200)
            .collect();
        if !snippet.trim().is_empty() {
            message.push_str(": ");
            message.push_str(snippet.trim());
        }
        Err(classify(self.status, message))
    }
}

/// Most answer body bytes kept (for error messages).
const KEEP: usize = 16 * 1024;
/// Longest answer head.
const MAX_HEAD: usize = 64 * 1024;

/// Sends `req` and reads the whole answer.
fn exchange(stream: &mut Conn, req: &[u8]) -> Result<Answer, Exchange> {
    if let Err(e) = stream.write_all(req).and_then(|()| stream.flush()) {
        let err = io_error("cannot send the request", &e.to_string(), is_timeout(&e));
        return Err(if is_timeout(&e) {
            Exchange::Failed(err)
        } else {
            Exchange::Stale(err)
        });
    }
    let mut r = AnswerReader {
        stream,
        buf: Vec::with_capacity(1024),
        pos: 0,
        got_any: false,
    };
    r.answer()
}

struct AnswerReader<'a> {
    stream: &'a mut Conn,
    buf: Vec<u8>,
    /// Bytes of `buf` already used.
    pos: usize,
    got_any: bool,
}

impl AnswerReader<'_> {
    /// Reads more; `Ok(false)` at the end of the stream.
    fn fill(&mut self) -> Result<bool, Exchange> {
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let mut chunk = [0u8; 8192];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return Ok(false),
                // TLS: closed without close_notify.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
                Ok(n) => {
                    self.got_any = true;
                    self.buf.extend_from_slice(chunk.get(..n).unwrap_or(&[]));
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let err = io_error("no answer", &e.to_string(), is_timeout(&e));
                    let reset = matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                    );
                    return Err(if reset && !self.got_any {
                        Exchange::Stale(err)
                    } else {
                        Exchange::Failed(err)
                    });
                }
            }
        }
    }

    fn closed_early(&self) -> Exchange {
        let err = DeliveryError::transient(
            ErrorCode::Other,
            "no answer: the connection closed".to_string(),
        );
        if self.got_any {
            Exchange::Failed(err)
        } else {
            Exchange::Stale(err)
        }
    }

    fn rest(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    /// The next line (without CRLF), at most `max` bytes.
    fn line(&mut self, max: usize) -> Result<Vec<u8>, Exchange> {
        loop {
            if let Some(i) = self.rest().windows(2).position(|w| w == b"\r\n") {
                let line = self.rest().get(..i).unwrap_or(&[]).to_vec();
                self.pos += i + 2;
                return Ok(line);
            }
            if self.rest().len() > max {
                return Err(invalid("a line of the answer is too long"));
            }
            if !self.fill()? {
                return Err(self.closed_early());
            }
        }
    }

    /// Reads `n` body bytes, keeping the first ones in `keep`.
    fn body(&mut self, mut n: u64, keep: &mut Vec<u8>) -> Result<(), Exchange> {
        while n > 0 {
            if self.rest().is_empty() && !self.fill()? {
                return Err(self.closed_early());
            }
            let take = self
                .rest()
                .len()
                .min(usize::try_from(n).unwrap_or(usize::MAX));
            let room = KEEP.saturating_sub(keep.len()).min(take);
            keep.extend_from_slice(self.rest().get(..room).unwrap_or(&[]));
            self.pos += take;
            n -= take as u64;
        }
        Ok(())
    }

    fn answer(&mut self) -> Result<Answer, Exchange> {
        loop {
            let status_line = self.line(MAX_HEAD)?;
            let text = String::from_utf8_lossy(&status_line).to_string();
            let mut parts = text.splitn(3, ' ');
            let version = parts.next().unwrap_or("");
            let code = parts.next().unwrap_or("");
            let status = match (version.starts_with("HTTP/"), code.len() == 3) {
                (true, true) => code.parse::<u16>().ok(),
                _ => None,
            };
            let Some(status) = status else {
                return Err(invalid(&format!(
                    "invalid HTTP answer: {:?}",
                    text.chars().take(80).collect::<String>()
                )));
            };
            let reason = parts.next().unwrap_or("").trim().to_string();
            let mut length: Option<u64> = None;
            let mut chunked = false;
            let mut close = version == "HTTP/1.0";
            let mut head_bytes = 0usize;
            loop {
                let line = self.line(MAX_HEAD)?;
                if line.is_empty() {
                    break;
                }
                head_bytes += line.len();
                if head_bytes > MAX_HEAD {
                    return Err(invalid("the answer's headers are too long"));
                }
                let line = String::from_utf8_lossy(&line).to_string();
                let Some((k, v)) = line.split_once(':') else {
                    continue;
                };
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    length = Some(
                        v.parse()
                            .map_err(|_| invalid(&format!("invalid Content-Length {v:?}")))?,
                    );
                } else if k.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = v
                        .to_ascii_lowercase()
                        .split(',')
                        .any(|t| t.trim() == "chunked");
                } else if k.eq_ignore_ascii_case("connection") {
                    let v = v.to_ascii_lowercase();
                    if v.split(',').any(|t| t.trim() == "close") {
                        close = true;
                    } else if v.split(',').any(|t| t.trim() == "keep-alive") {
                        close = false;
                    }
                }
            }
            // An interim answer (100 Continue...): the real one follows.
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let mut body = Vec::new();
            let reusable = if status == 204 || status == 304 || status == 101 {
                !close && status != 101
            } else if chunked {
                self.chunked(&mut body)?;
                !close
            } else if let Some(n) = length {
                self.body(n, &mut body)?;
                !close
            } else if (200..300).contains(&status) {
                // No length: the body runs to the close, and a success
                // needs none of it (a server that keeps such a connection
                // open must not hold the delivery up).
                false
            } else {
                // Up to the end of the stream.
                loop {
                    let r = self.rest();
                    let room = KEEP.saturating_sub(body.len()).min(r.len());
                    body.extend_from_slice(r.get(..room).unwrap_or(&[]));
                    self.pos = self.buf.len();
                    if body.len() >= KEEP || !self.fill().unwrap_or(false) {
                        break;
                    }
                }
                false
            };
            // Bytes past the answer: the connection is out of step.
            let reusable = reusable && self.rest().is_empty();
            return Ok(Answer {
                status,
                reason,
                body,
                reusable,
            });
        }
    }

    fn chunked(&mut self, keep: &mut Vec<u8>) -> Result<(), Exchange> {
        loop {
            let line = self.line(4096)?;
            let text = String::from_utf8_lossy(&line);
            let size = text.split(';').next().unwrap_or("").trim();
            let n = u64::from_str_radix(size, 16)
                .map_err(|_| invalid(&format!("invalid chunk size {size:?}")))?;
            if n == 0 {
                // Trailers, up to an empty line.
                while !self.line(MAX_HEAD)?.is_empty() {}
                return Ok(());
            }
            self.body(n, keep)?;
            if !self.line(2)?.is_empty() {
                return Err(invalid("a chunk does not end with CRLF"));
            }
        }
    }
}

fn invalid(what: &str) -> Exchange {
    Exchange::Failed(DeliveryError::transient(ErrorCode::Other, what.to_string()))
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
        let u = HttpUrl::parse("https://h.example/x").unwrap();
        assert_eq!(
            (u.port, u.tls, u.host_header().as_str()),
            (443, true, "h.example")
        );
        let u = HttpUrl::parse("HTTPS://h:8443").unwrap();
        assert_eq!(
            (u.port, u.path.as_str(), u.host_header().as_str()),
            (8443, "/", "h:8443")
        );
        for bad in [
            "https://",
            "http://",
            "http://h:99999/",
            "http://u:p@h/",
            "ftp://h",
            "http://h/a b",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
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
    }

    /// Serves each canned answer on its own connection, after reading a
    /// request head; returns the URL.
    fn canned(answers: Vec<&'static [u8]>) -> HttpUrl {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = HttpUrl::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            for a in answers {
                let (mut s, _) = l.accept().unwrap();
                let mut buf = Vec::new();
                let mut c = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = s.read(&mut c).unwrap();
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&c[..n]);
                }
                s.write_all(a).unwrap();
            }
        });
        url
    }

    fn once(url: &HttpUrl) -> (Result<Answer, String>, bool) {
        let client = HttpClient::new(url.clone(), &[], Duration::from_secs(5)).unwrap();
        let mut s = client.connect().unwrap();
        let req = client.request("k", "{}", true);
        match exchange(&mut s, &req) {
            Ok(a) => (Ok(a), false),
            Err(Exchange::Stale(e)) => (Err(e.message), true),
            Err(Exchange::Failed(e)) => (Err(e.message), false),
        }
    }

    #[test]
    fn answers_are_read_to_their_end() {
        let url = canned(vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 500 Boom\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 503 Busy\r\n\r\nto the end",
            b"garbage\r\n\r\n",
            b"",
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        ]);
        let a = once(&url).0.unwrap();
        assert_eq!(
            (a.status, a.body.as_slice(), a.reusable),
            (200, &b"hello"[..], true)
        );
        let a = once(&url).0.unwrap();
        assert_eq!(
            (a.status, a.body.as_slice(), a.reusable),
            (500, &b"abcde"[..], true)
        );
        let e = a.result().unwrap_err();
        assert_eq!(e.message, "HTTP 500 Boom: abcde");
        assert!(e.retriable);
        let a = once(&url).0.unwrap();
        assert_eq!((a.status, a.reusable), (204, true));
        assert_eq!(a.result(), Ok(204));
        assert!(!once(&url).0.unwrap().reusable, "Connection: close");
        assert!(!once(&url).0.unwrap().reusable, "HTTP/1.0");
        let a = once(&url).0.unwrap();
        assert_eq!(
            (a.status, a.body.as_slice(), a.reusable),
            (503, &b"to the end"[..], false)
        );
        let (e, stale) = once(&url);
        assert!(e.unwrap_err().contains("invalid HTTP answer"));
        assert!(!stale);
        // Closed without a byte: maybe a stale connection.
        let (e, stale) = once(&url);
        assert!(e.unwrap_err().contains("closed"));
        assert!(stale);
        // Closed in the middle of the body: a failure.
        let (e, stale) = once(&url);
        assert!(e.unwrap_err().contains("closed"));
        assert!(!stale);
    }

    #[test]
    fn a_success_without_length_does_not_wait_for_the_close() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = HttpUrl::parse(&format!("http://{}/", l.local_addr().unwrap())).unwrap();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut c = [0u8; 4096];
            let _ = s.read(&mut c);
            s.write_all(b"HTTP/1.1 202 Accepted\r\n\r\nstill going")
                .unwrap();
            // Holds the connection open.
            std::thread::sleep(Duration::from_secs(3));
        });
        let client = HttpClient::new(url, &[], Duration::from_secs(5)).unwrap();
        let start = std::time::Instant::now();
        assert_eq!(client.post("k", "{}"), Ok(202));
        assert!(start.elapsed() < Duration::from_secs(2));
        // Not kept: its end is unknown.
        assert!(client.idle.lock().unwrap().is_empty());
    }

    #[test]
    fn headers() {
        assert!(check_header("X-Key", "v").is_ok());
        assert!(check_header("X Key", "v").is_err());
        assert!(check_header("X-Key", "a\r\nEvil: 1").is_err());
    }
}
