//! The built-in targets: `stdout:`, `file://`, `http://` and `exec:`
//! ([`Endpoint`]), as [`Deliver`] implementations.
//!
//! `stdout:` and `file://` write one line per delivery, by default a record
//! `{"idempotency_key":K,"rule":R,"target":T,"body":B}` where `B` is the
//! body as JSON (a JSON string for text templates), or the body alone with
//! [`SinkOptions::raw_bodies`]. `http://` POSTs the body with an
//! `Idempotency-Key` header. `exec:` runs the command through the shell
//! with the body and a newline on stdin and `EVMATCH_IDEMPOTENCY_KEY`,
//! `EVMATCH_RULE`, `EVMATCH_TARGET`, `EVMATCH_ATTEMPT` in its environment;
//! a non-zero exit is a retriable failure.

use crate::http::{self, HttpUrl};
use crate::target::{Deliver, Delivery, DeliveryError, Endpoint, ErrorCode};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Settings of the built-in targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkOptions {
    /// `stdout:` and `file://` write the body alone instead of a record.
    pub raw_bodies: bool,
    /// Connect, send and receive timeout of `http://` targets (AWS gives
    /// API destinations 5 seconds).
    pub http_timeout: Duration,
    /// Most deliveries handed to a file at once.
    pub file_batch: usize,
    /// How long an `exec:` command may run; then it (its whole process
    /// group on Unix) is killed and the attempt fails with `TIMEOUT`,
    /// which is retried.
    pub exec_timeout: Duration,
}

impl Default for SinkOptions {
    fn default() -> Self {
        SinkOptions {
            raw_bodies: false,
            http_timeout: Duration::from_secs(5),
            file_batch: 256,
            exec_timeout: Duration::from_secs(30),
        }
    }
}

/// The built-in target for `endpoint`; `Err` for endpoints without one
/// ([`Endpoint::Aws`], [`Endpoint::Custom`]) or a file that cannot be
/// opened. `https://` targets trust Mozilla's root certificates: see
/// [`builtin_with_tls`].
pub fn builtin(
    endpoint: &Endpoint,
    headers: &[(String, String)],
    options: &SinkOptions,
) -> Result<Box<dyn Deliver>, String> {
    builtin_with_tls(endpoint, headers, options, None)
}

/// [`builtin`], with `https://` targets checking servers with `tls`
/// (`None`: Mozilla's root certificates).
pub fn builtin_with_tls(
    endpoint: &Endpoint,
    headers: &[(String, String)],
    options: &SinkOptions,
    tls: Option<&http::TlsConfig>,
) -> Result<Box<dyn Deliver>, String> {
    match endpoint {
        Endpoint::Stdout => Ok(Box::new(LineTarget::stdout(options))),
        Endpoint::File(p) => Ok(Box::new(LineTarget::file(p.clone(), options)?)),
        Endpoint::Http(url) => Ok(Box::new(HttpTarget::new(url, headers, options, tls)?)),
        Endpoint::Exec(cmd) => Ok(Box::new(ExecTarget {
            command: cmd.clone(),
            timeout: options.exec_timeout,
        })),
        Endpoint::Aws(arn) => Err(format!(
            "{arn} is an AWS ARN without a local mapping (map it to a local URL)"
        )),
        Endpoint::Custom { url, .. } => Err(format!("no built-in target for {url}")),
        #[allow(unreachable_patterns)]
        other => Err(format!("no built-in target for {other:?}")),
    }
}

/// Appends a line-oriented record of `d` to `out`.
pub fn write_record(d: &Delivery<'_>, raw: bool, out: &mut Vec<u8>) {
    if raw {
        out.extend_from_slice(d.body.as_bytes());
    } else {
        out.extend_from_slice(b"{\"idempotency_key\":");
        json_str(d.idempotency_key, out);
        out.extend_from_slice(&middle(d));
        write_body(d, out);
    }
    out.push(b'\n');
}

/// `,"rule":R,"target":T,"body":` of a record.
fn middle(d: &Delivery<'_>) -> Vec<u8> {
    let mut m = Vec::with_capacity(32 + d.rule_name.len() + d.target_id.len());
    m.extend_from_slice(b",\"rule\":");
    json_str(d.rule_name, &mut m);
    m.extend_from_slice(b",\"target\":");
    json_str(d.target_id, &mut m);
    m.extend_from_slice(b",\"body\":");
    m
}

fn write_body(d: &Delivery<'_>, out: &mut Vec<u8>) {
    if d.body_is_json {
        out.extend_from_slice(d.body.as_bytes());
    } else {
        json_str(d.body, out);
    }
    out.push(b'}');
}

/// Whether some byte of `s` is a control, `"` or `\\` (JSON escapes
/// it). A test without early exit, which the compiler turns into vector
/// code: keys and ids are short and rarely need escaping.
fn needs_escape(s: &[u8]) -> bool {
    s.iter().fold(false, |bad, &b| {
        bad | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}

fn json_str(s: &str, out: &mut Vec<u8>) {
    // Keys and ids rarely need escaping: copy them as they are.
    if !needs_escape(s.as_bytes()) {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    let mut t = String::with_capacity(s.len() + 2);
    crate::transform::write_json_string(s, &mut t);
    out.extend_from_slice(t.as_bytes());
}

/// Writes every part, in order, with as few (vectored) writes as the
/// writer takes.
pub fn write_parts(w: &mut impl Write, parts: &[&[u8]]) -> std::io::Result<()> {
    // Linux takes at most 1,024 slices per call.
    const MAX_SLICES: usize = 1024;
    let mut i = 0;
    // Bytes of `parts[i]` already written.
    let mut done = 0;
    while i < parts.len() {
        let first = parts.get(i).and_then(|p| p.get(done..)).unwrap_or(&[]);
        let rest = parts.get(i + 1..).unwrap_or(&[]);
        let slices: Vec<std::io::IoSlice<'_>> = std::iter::once(first)
            .chain(rest.iter().copied())
            .take(MAX_SLICES)
            .map(std::io::IoSlice::new)
            .collect();
        let mut n = match w.write_vectored(&slices) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WriteZero,
                    "failed to write whole buffer",
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        // Skip what was written.
        while n > 0 && i < parts.len() {
            let left = parts.get(i).map_or(0, |p| p.len()) - done;
            if n >= left {
                n -= left;
                i += 1;
                done = 0;
            } else {
                done += n;
                n = 0;
            }
        }
        // Empty parts need no write.
        while i < parts.len() && parts.get(i).is_some_and(|p| p.len() == done) {
            i += 1;
            done = 0;
        }
    }
    Ok(())
}

enum Sink {
    Stdout,
    File(File),
}

/// `stdout:` and `file://`: one line per delivery, a batch in one write.
struct LineTarget {
    sink: Mutex<Sink>,
    name: String,
    raw: bool,
    batch: usize,
}

impl LineTarget {
    fn stdout(o: &SinkOptions) -> Self {
        LineTarget {
            sink: Mutex::new(Sink::Stdout),
            name: "stdout".into(),
            raw: o.raw_bodies,
            batch: o.file_batch.max(1),
        }
    }

    fn file(path: PathBuf, o: &SinkOptions) -> Result<Self, String> {
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open {} for appending: {e}", path.display()))?;
        Ok(LineTarget {
            sink: Mutex::new(Sink::File(f)),
            name: path.display().to_string(),
            raw: o.raw_bodies,
            batch: o.file_batch.max(1),
        })
    }
}

impl Deliver for LineTarget {
    fn deliver(&self, delivery: &Delivery<'_>) -> Result<(), DeliveryError> {
        let mut r = Vec::with_capacity(1);
        self.deliver_batch(std::slice::from_ref(delivery), &mut r);
        r.pop()
            .unwrap_or_else(|| Err(DeliveryError::new(ErrorCode::Other, "no result")))
    }

    fn deliver_batch(&self, batch: &[Delivery<'_>], results: &mut Vec<Result<(), DeliveryError>>) {
        // The records' own bytes in one buffer; JSON bodies are not
        // copied: they go to the file from where they are (a vectored
        // write). Each record's `}\n` and the next one's head are one
        // slice, so a delivery takes two.
        let tail: &[u8] = if self.raw { b"\n" } else { b"}\n" };
        let mut own = Vec::with_capacity(
            batch.len()
                * (64
                    + batch.first().map_or(0, |d| {
                        d.idempotency_key.len() + d.rule_name.len() + d.target_id.len()
                    })),
        );
        // Per delivery with its body in place: where its head ends in `own`.
        let mut cuts: Vec<(usize, &[u8])> = Vec::with_capacity(batch.len());
        // The rule and target part, once per run of equal ones.
        let mut mid: Option<(&str, &str, Vec<u8>)> = None;
        for d in batch {
            let in_place = d.body_is_json || self.raw;
            if !self.raw {
                // (The same strings, mostly: compared by address first.)
                let same = |a: &str, b: &str| std::ptr::eq(a, b) || a == b;
                if !mid
                    .as_ref()
                    .is_some_and(|(r, t, _)| same(r, d.rule_name) && same(t, d.target_id))
                {
                    mid = Some((d.rule_name, d.target_id, middle(d)));
                }
                own.extend_from_slice(b"{\"idempotency_key\":");
                json_str(d.idempotency_key, &mut own);
                if let Some((_, _, m)) = &mid {
                    own.extend_from_slice(m);
                }
                if !in_place {
                    json_str(d.body, &mut own);
                }
            }
            if in_place {
                cuts.push((own.len(), d.body.as_bytes()));
            }
            own.extend_from_slice(tail);
        }
        let mut parts: Vec<&[u8]> = Vec::with_capacity(cuts.len() * 2 + 1);
        let mut from = 0;
        for &(end, body) in &cuts {
            if end > from {
                parts.push(own.get(from..end).unwrap_or(&[]));
            }
            from = end;
            parts.push(body);
        }
        parts.push(own.get(from..).unwrap_or(&[]));
        // Either it all lands or it is all retried (a partial write can
        // duplicate lines; at-least-once allows it).
        let written = match self.sink.lock() {
            Ok(mut s) => match &mut *s {
                Sink::Stdout => {
                    let mut o = std::io::stdout().lock();
                    write_parts(&mut o, &parts).and_then(|()| o.flush())
                }
                Sink::File(f) => write_parts(f, &parts),
            },
            Err(_) => Err(std::io::Error::other("a delivery thread panicked")),
        };
        match written {
            Ok(()) => results.extend(std::iter::repeat_with(|| Ok(())).take(batch.len())),
            Err(e) => {
                let message = format!("cannot write to {}: {e}", self.name);
                for _ in batch {
                    results.push(Err(DeliveryError::new(ErrorCode::Other, message.clone())));
                }
            }
        }
    }

    fn max_concurrency(&self) -> Option<usize> {
        Some(1)
    }

    fn max_batch(&self) -> usize {
        self.batch
    }
}

/// `http://`: a POST per delivery, on kept-open connections.
struct HttpTarget {
    client: http::HttpClient,
}

impl HttpTarget {
    fn new(
        url: &str,
        headers: &[(String, String)],
        o: &SinkOptions,
        tls: Option<&http::TlsConfig>,
    ) -> Result<Self, String> {
        let parsed = HttpUrl::parse(url)?;
        for (k, v) in headers {
            http::check_header(k, v)?;
        }
        let tls = match tls {
            Some(t) => t.clone(),
            None if parsed.tls => http::TlsConfig::default_roots()?,
            None => {
                return Ok(HttpTarget {
                    client: http::HttpClient::with_tls(parsed, headers, o.http_timeout, None),
                })
            }
        };
        Ok(HttpTarget {
            client: http::HttpClient::with_tls(parsed, headers, o.http_timeout, Some(tls)),
        })
    }
}

impl Deliver for HttpTarget {
    fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
        self.client.post(d.idempotency_key, d.body).map(|_| ())
    }
}

/// `exec:COMMAND`: the shell runs COMMAND with the body on stdin, for at
/// most `timeout`.
struct ExecTarget {
    command: String,
    timeout: Duration,
}

impl Deliver for ExecTarget {
    fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
        let mut cmd = if cfg!(windows) {
            let mut c = Command::new("cmd");
            c.arg("/C").arg(&self.command);
            c
        } else {
            let mut c = Command::new("sh");
            c.arg("-c").arg(&self.command);
            c
        };
        cmd.stdin(Stdio::piped())
            .env("EVMATCH_IDEMPOTENCY_KEY", d.idempotency_key)
            .env("EVMATCH_RULE", d.rule_name)
            .env("EVMATCH_TARGET", d.target_id)
            .env("EVMATCH_ATTEMPT", d.attempt.to_string());
        #[cfg(unix)]
        {
            // Its own process group: a timeout kills what it started too.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let mut child = cmd.spawn().map_err(|e| {
            DeliveryError::transient(
                ErrorCode::Other,
                format!("cannot run {}: {e}", self.command),
            )
        })?;
        let deadline = Instant::now() + self.timeout;
        // The body and a newline go to the command's stdin a pipe-full at a
        // time between looks at the command, from this thread: a command
        // that does not read its input cannot block the timeout, and once
        // the shell has exited its pipe is closed even if a background
        // child of it holds the other end without reading. Not reading the
        // input is not a failure.
        let mut input = Input::new(child.stdin.take(), [d.body.as_bytes(), b"\n"]);
        let mut nap = Duration::from_millis(1);
        let status = loop {
            input.feed();
            match child.try_wait() {
                Ok(Some(status)) => break Ok(Some(status)),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
            let now = Instant::now();
            if now >= deadline {
                kill_group(&mut child);
                break Ok(None);
            }
            if input.pending() {
                // Keep the pipe fed.
                nap = Duration::from_millis(1);
            }
            std::thread::sleep(nap.min(deadline - now));
            nap = (nap * 2).min(Duration::from_millis(50));
        };
        drop(input);
        match status {
            Ok(Some(status)) if status.success() => Ok(()),
            Ok(Some(status)) => Err(DeliveryError::transient(
                ErrorCode::Other,
                format!("{} failed: {status}", self.command),
            )),
            Ok(None) => Err(DeliveryError::transient(
                ErrorCode::Timeout,
                format!(
                    "{} timed out after {} s and was killed",
                    self.command,
                    self.timeout.as_secs_f64()
                ),
            )),
            Err(e) => Err(DeliveryError::transient(
                ErrorCode::Other,
                format!("{}: {e}", self.command),
            )),
        }
    }
}

/// What is left to write to an `exec:` command's stdin. On Unix the pipe
/// is non-blocking, so [`Input::feed`] writes what fits and returns; where
/// it cannot be made so, `feed` blocks until everything is written.
struct Input<'a> {
    stdin: Option<std::process::ChildStdin>,
    parts: [&'a [u8]; 2],
    /// The part being written and how much of it is written.
    part: usize,
    offset: usize,
}

impl<'a> Input<'a> {
    fn new(stdin: Option<std::process::ChildStdin>, parts: [&'a [u8]; 2]) -> Input<'a> {
        #[cfg(unix)]
        if let Some(s) = &stdin {
            use std::os::unix::io::AsRawFd;
            let fd = s.as_raw_fd();
            // SAFETY: fcntl(2) on a pipe descriptor this process owns (the
            // `ChildStdin` outlives both calls); only the status flags change.
            unsafe {
                let flags = libc::fcntl(fd, libc::F_GETFL);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
                }
            }
        }
        Input {
            stdin,
            parts,
            part: 0,
            offset: 0,
        }
    }

    /// Whether some of the input is still to be written.
    fn pending(&self) -> bool {
        self.stdin.is_some()
    }

    /// Writes what the pipe takes now; closes it when everything is
    /// written or the command cannot take more (it exited or closed it).
    fn feed(&mut self) {
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        loop {
            let Some(part) = self.parts.get(self.part) else {
                self.stdin = None;
                return;
            };
            let rest = part.get(self.offset..).unwrap_or(&[]);
            if rest.is_empty() {
                self.part += 1;
                self.offset = 0;
                continue;
            }
            match stdin.write(rest) {
                Ok(0) => {
                    self.stdin = None;
                    return;
                }
                Ok(n) => self.offset += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    // EPIPE: nobody reads it any more.
                    self.stdin = None;
                    return;
                }
            }
        }
    }
}

/// Kills a timed-out command and what it started (its process group on
/// Unix), then reaps it.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with the process group this child leads (it was
        // started with process_group(0) and is not reaped yet).
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn needs_escape_agrees_with_the_byte_test() {
        let naive = |s: &[u8]| s.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        let specials = [
            0u8, 0x1f, 0x20, b'"', b'\\', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff,
        ];
        for len in 0..20 {
            for pos in 0..len.max(1) {
                for &c in &specials {
                    let mut v = vec![b'a'; len];
                    if let Some(x) = v.get_mut(pos) {
                        *x = c;
                    }
                    assert_eq!(needs_escape(&v), naive(&v), "{v:?}");
                }
            }
        }
        let mut o = Vec::new();
        json_str("h64-0123456789abcdef/r%20x/t", &mut o);
        assert_eq!(o, b"\"h64-0123456789abcdef/r%20x/t\"");
        o.clear();
        json_str("long key with a \"quote\" in it", &mut o);
        assert_eq!(o, br#""long key with a \"quote\" in it""#);
    }

    fn d<'a>(body: &'a str, json: bool) -> Delivery<'a> {
        Delivery {
            body,
            rule_name: "r",
            target_id: "t",
            event_id: Some("e1"),
            idempotency_key: "e1/r/t",
            attempt: 1,
            body_is_json: json,
        }
    }

    #[test]
    fn records() {
        let mut o = Vec::new();
        write_record(&d(r#"{"a":1}"#, true), false, &mut o);
        write_record(&d("x \"y\"", false), false, &mut o);
        write_record(&d("raw", false), true, &mut o);
        assert_eq!(
            String::from_utf8(o).unwrap(),
            "{\"idempotency_key\":\"e1/r/t\",\"rule\":\"r\",\"target\":\"t\",\"body\":{\"a\":1}}\n\
             {\"idempotency_key\":\"e1/r/t\",\"rule\":\"r\",\"target\":\"t\",\"body\":\"x \\\"y\\\"\"}\n\
             raw\n"
        );
    }

    /// A writer taking at most `max` bytes per call, recording calls.
    struct Trickle {
        out: Vec<u8>,
        max: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.calls += 1;
            let n = b.len().min(self.max);
            self.out.extend_from_slice(&b[..n]);
            Ok(n)
        }
        fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
            self.calls += 1;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.max - n);
                self.out.extend_from_slice(&b[..take]);
                n += take;
                if n == self.max {
                    break;
                }
            }
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn vectored_writes_survive_partial_writes() {
        let parts: Vec<Vec<u8>> = (0..1500u32)
            .map(|k| format!("{k}-").repeat((k % 7) as usize).into_bytes())
            .collect();
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        let want: Vec<u8> = parts.concat();
        for max in [1, 3, 64, 1000, usize::MAX / 2] {
            let mut w = Trickle {
                out: Vec::new(),
                max,
                calls: 0,
            };
            write_parts(&mut w, &refs).unwrap();
            assert_eq!(w.out, want, "{max}");
        }
        // Big writes: a few calls for thousands of parts.
        let mut w = Trickle {
            out: Vec::new(),
            max: usize::MAX / 2,
            calls: 0,
        };
        write_parts(&mut w, &refs).unwrap();
        assert!(w.calls <= 3, "{}", w.calls);
    }

    #[test]
    fn batches_write_the_same_records() {
        let dir = std::env::temp_dir().join(format!("evmatch-sinks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for raw in [false, true] {
            let path = dir.join(format!("b-{raw}.ndjson"));
            let _ = std::fs::remove_file(&path);
            let o = SinkOptions {
                raw_bodies: raw,
                ..SinkOptions::default()
            };
            let t = LineTarget::file(path.clone(), &o).unwrap();
            let ds = [
                d(r#"{"a":1}"#, true),
                d("x \"y\"", false),
                d("", false),
                d("[]", true),
            ];
            let mut results = Vec::new();
            t.deliver_batch(&ds, &mut results);
            assert!(results.iter().all(|r| r.is_ok()));
            let mut want = Vec::new();
            for x in &ds {
                write_record(x, raw, &mut want);
            }
            assert_eq!(std::fs::read(&path).unwrap(), want, "raw {raw}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn spec_6_exec_timeout_kills_the_command_and_is_retriable() {
        let o = SinkOptions {
            exec_timeout: Duration::from_millis(300),
            ..SinkOptions::default()
        };
        let dir = std::env::temp_dir().join(format!("evmatch-exec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mark = dir.join("late");
        // A child of the shell that would write after the timeout.
        let cmd = format!("(sleep 2; touch {}) & sleep 5", mark.display());
        let t = builtin(&Endpoint::Exec(cmd), &[], &o).unwrap();
        let start = Instant::now();
        let e = t.deliver(&d("{}", true)).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(e.code.as_str(), "TIMEOUT");
        assert!(e.retriable);
        assert!(e.message.contains("timed out after 0.3 s"), "{}", e.message);
        std::thread::sleep(Duration::from_millis(2300));
        assert!(!mark.exists(), "the command's own child was not killed");
        // A command that never reads a large body still times out.
        let big = "x".repeat(1 << 20);
        let t = builtin(&Endpoint::Exec("sleep 5".into()), &[], &o).unwrap();
        let e = t.deliver(&d(&big, false)).unwrap_err();
        assert_eq!(e.code.as_str(), "TIMEOUT");
        // A shell that exits while a background child of it holds its
        // stdin without reading: delivered when the shell exits, not when
        // the child does (the body is larger than a pipe's buffer). The
        // child gets the pipe through fd 3, since sh gives background
        // jobs /dev/null as their stdin.
        let slow = SinkOptions {
            exec_timeout: Duration::from_secs(20),
            ..SinkOptions::default()
        };
        let t = builtin(
            &Endpoint::Exec("exec 3<&0; sleep 8 <&3 & exit 0".into()),
            &[],
            &slow,
        )
        .unwrap();
        let start = Instant::now();
        assert!(t.deliver(&d(&big, false)).is_ok());
        assert!(
            start.elapsed() < Duration::from_secs(6),
            "waited for the background child: {:?}",
            start.elapsed()
        );
        // Quick commands are unaffected; a failure is not a timeout.
        let t = builtin(&Endpoint::Exec("cat >/dev/null".into()), &[], &o).unwrap();
        assert!(t.deliver(&d(&big, false)).is_ok());
        let t = builtin(&Endpoint::Exec("exit 3".into()), &[], &o).unwrap();
        let e = t.deliver(&d("{}", true)).unwrap_err();
        assert_eq!(e.code.as_str(), "SDK_CLIENT_ERROR");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn no_builtin_for_aws_or_custom() {
        let o = SinkOptions::default();
        assert!(builtin(&Endpoint::Aws("arn:aws:sqs:x".into()), &[], &o).is_err());
        assert_eq!(
            builtin(&Endpoint::Http("https://h/".into()), &[], &o).is_ok(),
            cfg!(feature = "https")
        );
        let bad = [("X\r\n".to_string(), "v".to_string())];
        assert!(builtin(&Endpoint::Http("http://h/".into()), &bad, &o).is_err());
    }
}
