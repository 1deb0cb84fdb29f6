//! Helpers shared by the CLI integration tests: run the built `evmatch`
//! binary, temporary directories and files, output text, the envelope the
//! conformance cases need, and a local HTTP server that records requests.
//! Each test file takes what it needs (`mod common;`).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::{Map, Value};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A command for the built binary.
pub fn evmatch() -> Command {
    Command::new(env!("CARGO_BIN_EXE_evmatch"))
}

/// Runs the binary with `args` and no stdin, collecting its output.
pub fn output<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    evmatch().args(args).output().unwrap()
}

/// Runs the binary with `args`, feeding `stdin` from a thread (so a large
/// input cannot deadlock against a full stdout pipe).
pub fn run_stdin(args: &[&str], stdin: impl AsRef<[u8]>) -> Output {
    let mut child = evmatch()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut si = child.stdin.take().unwrap();
    let data = stdin.as_ref().to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = si.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    out
}

/// Starts the binary in `dir` with all three streams piped.
pub fn spawn_in(dir: &Path, args: &[&str]) -> Child {
    evmatch()
        .current_dir(dir)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the binary in `dir`, writes `stdin` and waits.
pub fn run_in(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut c = spawn_in(dir, args);
    // Commands that exit before reading (check, startup errors) close it.
    let _ = c.stdin.take().unwrap().write_all(stdin.as_bytes());
    c.wait_with_output().unwrap()
}

/// A fresh numbered temporary directory `<prefix>-<pid>-<n>`.
pub fn tmp_numbered(prefix: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// An emptied temporary directory `<prefix>-<pid>-<name>`.
pub fn tmp_named(prefix: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `dir/name` and returns its path as text.
pub fn write(dir: &Path, name: &str, content: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p.to_string_lossy().into_owned()
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A file's lines parsed as JSON (none when the file is missing).
pub fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The envelope fields `TestEventPattern` requires.
pub const ENVELOPE: [(&str, &str); 6] = [
    ("id", "6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
    ("account", "123456789012"),
    ("source", "com.example.test"),
    ("time", "2024-01-01T00:00:00Z"),
    ("region", "us-east-1"),
    ("detail-type", "Test"),
];

/// An event made of the envelope alone.
pub fn bare_envelope() -> String {
    let items: Vec<String> = ENVELOPE
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    format!("{{{}}}", items.join(","))
}

/// A conformance case's text field: `raw` as written, else `val` as JSON.
pub fn case_text(o: &Map<String, Value>, raw: &str, val: &str) -> Option<String> {
    match o.get(raw) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => o.get(val).map(|v| v.to_string()),
    }
}

/// Adds the envelope fields `TestEventPattern` requires to an event given as
/// text, by splicing them in front so the event's own spelling survives;
/// `None` when the pattern looks at an envelope field the event lacks.
pub fn with_envelope(event: &str, pattern: &str) -> Option<String> {
    let parsed: Value = serde_json::from_str(event).ok()?;
    let obj = parsed.as_object()?;
    let mut extra = String::new();
    for (k, v) in ENVELOPE {
        if obj.contains_key(k) {
            continue;
        }
        // Adding a field the pattern looks at could change the verdict.
        if pattern.contains(&format!("\"{k}\"")) {
            return None;
        }
        extra.push_str(&format!("\"{k}\":\"{v}\","));
    }
    let rest = event.trim_start().strip_prefix('{')?;
    if rest.trim_start().starts_with('}') {
        extra.pop();
    }
    Some(format!("{{{extra}{rest}"))
}

/// One request the test server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub head: String,
    pub body: String,
}

impl Seen {
    /// A header's value (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// A local HTTP server on 127.0.0.1 answering `status`; records requests.
/// It stops when dropped (or on `stop`), and after 60 s in any case.
pub struct Server {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Answers at once; the URL's path is `path`.
    pub fn start(status: u16, path: &str) -> Server {
        Server::slow(status, Duration::ZERO, path)
    }

    /// Answers after `delay`.
    pub fn slow(status: u16, delay: Duration, path: &str) -> Server {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let url = format!("http://{}{path}", l.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        std::thread::spawn(move || {
            let end = Instant::now() + Duration::from_secs(60);
            while !stop2.load(Ordering::SeqCst) && Instant::now() < end {
                let Ok((mut s, _)) = l.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                let seen = Arc::clone(&seen2);
                std::thread::spawn(move || {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buf[..i]).to_string();
                            let len: usize = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse().unwrap())
                                })
                                .unwrap_or(0);
                            if buf.len() >= i + 4 + len {
                                let body =
                                    String::from_utf8_lossy(&buf[i + 4..i + 4 + len]).to_string();
                                seen.lock().unwrap().push(Seen { head, body });
                                break;
                            }
                        }
                        match s.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    std::thread::sleep(delay);
                    let _ = write!(s, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                });
            }
        });
        Server { url, seen, stop }
    }

    /// The requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Stops accepting connections.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}
