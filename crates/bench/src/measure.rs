//! Running a child process and measuring it: wall time, output, exit
//! status and (on Linux) its peak resident memory, from `wait4`'s rusage.

use anyhow::{bail, Context, Result};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One finished child.
#[derive(Debug)]
pub struct ChildRun {
    /// From just before the spawn to the reaping.
    pub wall: Duration,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// Exit code; `None` when killed by a signal.
    pub code: Option<i32>,
    /// Peak resident set size in bytes (Linux only).
    pub max_rss: Option<u64>,
}

impl ChildRun {
    /// Fails with the child's stderr unless it exited with status 0.
    pub fn ensure_success(&self, what: &str) -> Result<()> {
        if self.code != Some(0) {
            bail!(
                "{what} failed ({}): {}",
                match self.code {
                    Some(c) => format!("exit status {c}"),
                    None => "killed by a signal".to_string(),
                },
                String::from_utf8_lossy(&self.stderr).trim()
            );
        }
        Ok(())
    }
}

/// Runs `cmd` with stdin closed, capturing stdout and stderr.
pub fn run(cmd: &mut Command) -> Result<ChildRun> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let mut err_pipe = child.stderr.take();
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let mut stdout = Vec::new();
    if let Some(mut p) = child.stdout.take() {
        p.read_to_end(&mut stdout)
            .context("reading the child's stdout")?;
    }
    let (code, max_rss) = reap(child)?;
    let wall = start.elapsed();
    let stderr = err_thread.join().unwrap_or_default();
    Ok(ChildRun {
        wall,
        stdout,
        stderr,
        code,
        max_rss,
    })
}

#[cfg(target_os = "linux")]
fn reap(child: std::process::Child) -> Result<(Option<i32>, Option<u64>)> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, so all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unreaped child (std has not waited on
        // it), and both out-pointers point to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            return Err(err).context("wait4");
        }
    }
    // `child` was reaped above: dropping it neither waits nor kills.
    drop(child);
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    // ru_maxrss is in kilobytes on Linux.
    let rss = u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024;
    Ok((code, Some(rss)))
}

#[cfg(not(target_os = "linux"))]
fn reap(mut child: std::process::Child) -> Result<(Option<i32>, Option<u64>)> {
    let status = child.wait().context("waiting for the child")?;
    Ok((status.code(), None))
}

/// The median of some durations (the mean of the middle two for an even
/// count); zero for none.
pub fn median(mut v: Vec<Duration>) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(5), ms(1), ms(3)]), ms(3));
        assert_eq!(median(vec![ms(4), ms(1), ms(3), ms(2)]), ms(2) + ms(1) / 2);
        assert_eq!(median(vec![]), Duration::ZERO);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn captures_output_status_and_memory() {
        let r = run(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(r.stdout, b"out\n");
        assert_eq!(r.stderr, b"err\n");
        assert_eq!(r.code, Some(3));
        assert!(r.max_rss.unwrap() > 0);
        assert!(r.ensure_success("sh").is_err());
    }
}
