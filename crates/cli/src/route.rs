//! The router: `evmatch RULES [EVENTS...]` when RULES has targets.
//!
//! The match command's readers and workers do the matching and the input
//! transformation; each block's deliveries are handed, in input order, to
//! an `evmatch_router::delivery::Router`, which delivers them with retries
//! and dead-letters what fails (SPEC.md §6). This module builds the router
//! from the rules file and the options, handles Ctrl-C and prints the
//! progress and the summary.

use crate::common::{self, display, push_json_str};
use crate::matching::MatchArgs;
use crate::{EXIT_BAD_INPUT, EXIT_FATAL, EXIT_OK};
use clap::Args;
use evmatch::RuleId;
use evmatch_router::delivery::{
    DeadLetterFile, DeadLetterSink, Job, Router, RouterBuilder, RouterConfig, Summary,
};
use evmatch_router::http::{HttpUrl, TlsConfig};
use evmatch_router::sinks::{self, SinkOptions};
use evmatch_router::target::{ArnMap, Deliver, Delivery, DeliveryError, Endpoint};
use evmatch_router::transform::{TargetInput, TemplateMode};
use evmatch_router::RuleDef;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Exit status: some (event, target) pairs were dead-lettered.
pub const EXIT_DEAD_LETTERED: u8 = 4;
/// Exit status: interrupted (Ctrl-C), after the summary.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Default dead-letter file when neither the target nor --dead-letter
/// names one.
pub const DEFAULT_DEAD_LETTER: &str = "evmatch-dead-letter.ndjson";

/// Options of the router (used when RULES has targets).
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Show what would be delivered (one JSON line per event and target on
    /// stdout) without delivering anything
    #[arg(long, help_heading = "Router (RULES with Targets)")]
    pub dry_run: bool,

    /// Ignore the targets in RULES and print matches as without them
    #[arg(long, help_heading = "Router (RULES with Targets)")]
    pub match_only: bool,

    /// Deliver to URL what the rules file sends to the AWS ARN (repeatable)
    #[arg(
        long,
        value_name = "ARN=URL",
        help_heading = "Router (RULES with Targets)"
    )]
    pub map_arn: Vec<String>,

    /// JSON file {"ARN": "URL", ...} of ARN mappings
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Router (RULES with Targets)"
    )]
    pub arn_map: Option<PathBuf>,

    /// Skip (with a warning) targets whose AWS ARN has no mapping, instead
    /// of refusing to start
    #[arg(long, help_heading = "Router (RULES with Targets)")]
    pub skip_unmapped: bool,

    /// Dead-letter file for targets without a DeadLetterConfig [default:
    /// evmatch-dead-letter.ndjson, created on the first failure]
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Router (RULES with Targets)"
    )]
    pub dead_letter: Option<PathBuf>,

    /// Delivery threads per target (file and stdout targets use one)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4,
        help_heading = "Router (RULES with Targets)"
    )]
    pub target_concurrency: usize,

    /// Deliveries waiting per target before reading pauses
    #[arg(
        long,
        value_name = "N",
        default_value_t = 4096,
        help_heading = "Router (RULES with Targets)"
    )]
    pub queue_capacity: usize,

    /// First retry backoff step, in milliseconds
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 1000,
        help_heading = "Router (RULES with Targets)"
    )]
    pub retry_base_ms: u64,

    /// Longest retry backoff, in milliseconds
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 300_000,
        help_heading = "Router (RULES with Targets)"
    )]
    pub retry_cap_ms: u64,

    /// Timeout of HTTP targets, in milliseconds
    #[arg(
        long,
        value_name = "MS",
        default_value_t = 5000,
        help_heading = "Router (RULES with Targets)"
    )]
    pub http_timeout_ms: u64,

    /// PEM file of CA certificates that https:// targets also trust (a
    /// local CA, a self-signed server); repeatable
    #[arg(
        long,
        value_name = "FILE",
        help_heading = "Router (RULES with Targets)"
    )]
    pub ca_cert: Vec<PathBuf>,

    /// Longest run of an exec: target's command, in seconds; then it is
    /// killed and the attempt fails with TIMEOUT (retried)
    #[arg(
        long,
        value_name = "SECS",
        default_value = "30",
        value_parser = positive_secs,
        help_heading = "Router (RULES with Targets)"
    )]
    pub exec_timeout: Duration,

    /// At the end of the input, how long deliveries in progress and
    /// waiting retries may still take, in seconds; what is left then goes
    /// to the dead-letter file (EXHAUSTED_RETRY_CONDITION DrainTimeout)
    /// [default: no limit: retries run to their RetryPolicy]
    #[arg(
        long,
        value_name = "SECS",
        value_parser = secs,
        help_heading = "Router (RULES with Targets)"
    )]
    pub drain_timeout: Option<Duration>,

    /// file: and stdout: targets write the body alone, not a record with
    /// the idempotency key
    #[arg(long, help_heading = "Router (RULES with Targets)")]
    pub raw_bodies: bool,
}

/// A number of seconds (decimals allowed), at least 0.
fn secs(text: &str) -> Result<Duration, String> {
    let v: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !v.is_finite() || !(0.0..=1e9).contains(&v) {
        return Err(format!("{text:?} is not a number of seconds from 0 to 1e9"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// A number of seconds above 0.
/// The delivery flags `evmatch RULES` and `evmatch fanout` share.
pub(crate) struct DeliveryFlags {
    pub raw_bodies: bool,
    pub http_timeout_ms: u64,
    pub exec_timeout: Duration,
    pub target_concurrency: usize,
    pub queue_capacity: usize,
    pub retry_base_ms: u64,
    pub retry_cap_ms: u64,
}

impl DeliveryFlags {
    /// The sinks' options and the router's configuration they give.
    pub(crate) fn settings(&self) -> (SinkOptions, RouterConfig) {
        let options = SinkOptions {
            raw_bodies: self.raw_bodies,
            http_timeout: Duration::from_millis(self.http_timeout_ms.max(1)),
            exec_timeout: self.exec_timeout,
            ..SinkOptions::default()
        };
        let config = RouterConfig {
            concurrency: self.target_concurrency.max(1),
            queue_capacity: self.queue_capacity.max(1),
            retry_base: Duration::from_millis(self.retry_base_ms),
            retry_cap: Duration::from_millis(self.retry_cap_ms.max(self.retry_base_ms)),
            jitter: true,
        };
        (options, config)
    }
}

/// The CA certificates of `--ca-cert` (none: Mozilla's roots only); an
/// unreadable or empty file stops the run.
pub(crate) fn load_ca_certs(files: &[PathBuf]) -> Result<Option<TlsConfig>, u8> {
    if files.is_empty() {
        return Ok(None);
    }
    match TlsConfig::new(files) {
        Ok(t) => Ok(Some(t)),
        Err(e) => {
            common::error(&format!("--ca-cert: {e}"));
            Err(EXIT_FATAL)
        }
    }
}

pub(crate) fn positive_secs(text: &str) -> Result<Duration, String> {
    match secs(text)? {
        d if d.is_zero() => Err("the timeout must be more than 0 seconds".to_string()),
        d => Ok(d),
    }
}

/// Whether to run the router: some enabled rule has targets.
pub fn wanted(args: &MatchArgs, rules: &[RuleDef]) -> bool {
    !args.route.match_only && rules.iter().any(|r| r.enabled && !r.targets.is_empty())
}

/// The router and what the match workers need to feed it.
pub struct Routing {
    router: Router,
    dry_run: bool,
    /// Matched events are valid JSON (matched without --early-exit, so
    /// read whole): the router may defer its work on them.
    validated: bool,
    /// Dry run: pairs shown, and how many would not be delivered.
    dry_pairs: AtomicU64,
    dry_failed: AtomicU64,
    interrupted: AtomicBool,
    idle: AtomicBool,
}

/// A target that delivers nothing (dry runs).
struct Nothing;

impl Deliver for Nothing {
    fn deliver(&self, _: &Delivery<'_>) -> Result<(), DeliveryError> {
        Ok(())
    }
}

/// Builds the router; prints the problem and returns `Err(2)` when a
/// target cannot be used.
pub fn build(args: &MatchArgs, rules: &[RuleDef], file_index: &[usize]) -> Result<Routing, u8> {
    let ra = &args.route;
    if args.count || args.with_event {
        common::error(
            "--count and --with-event print matches, but RULES has targets, so evmatch \
             delivers them; add --match-only to print matches instead",
        );
        return Err(EXIT_FATAL);
    }
    let rules_name = display(&args.rules);
    let map = arn_map(ra)?;
    let (options, config) = DeliveryFlags {
        raw_bodies: ra.raw_bodies,
        http_timeout_ms: ra.http_timeout_ms,
        exec_timeout: ra.exec_timeout,
        target_concurrency: ra.target_concurrency,
        queue_capacity: ra.queue_capacity,
        retry_base_ms: ra.retry_base_ms,
        retry_cap_ms: ra.retry_cap_ms,
    }
    .settings();
    let default_dlq = ra
        .dead_letter
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DEAD_LETTER));
    let mut dlqs: HashMap<PathBuf, Arc<DeadLetterFile>> = HashMap::new();
    let mut dlq_for = |p: PathBuf| -> Arc<dyn DeadLetterSink> {
        let f = dlqs
            .entry(p.clone())
            .or_insert_with(|| Arc::new(DeadLetterFile::new(p)));
        Arc::clone(f) as Arc<dyn DeadLetterSink>
    };
    let mut builder = RouterBuilder::new(config);
    let mut failed = false;
    let mut pending = Vec::new();
    // Router rule k is RuleSet rule k (enabled rules, in file order).
    for &i in file_index {
        let Some(rule) = rules.get(i) else { continue };
        let r = builder.add_rule(&rule.name);
        let where_ = format!("rule \"{}\" ({}:{})", rule.name, rules_name, rule.line);
        let targets = match rule.parse_targets() {
            Ok(t) => t,
            Err(e) => {
                common::error(&format!("{where_}: {e}"));
                failed = true;
                continue;
            }
        };
        for t in targets {
            let what = format!("{where_}: target {}", t.id);
            let endpoint = match t.endpoint(&map) {
                Ok(e) => e,
                Err(e) => {
                    common::error(&format!("{where_}: {e}"));
                    failed = true;
                    continue;
                }
            };
            if let Endpoint::Aws(arn) = &endpoint {
                if ra.skip_unmapped {
                    common::error(&format!(
                        "warning: {what}: skipped: {arn} has no local mapping"
                    ));
                    continue;
                }
                common::error(&format!(
                    "{what}: {arn} is an AWS ARN; map it to a local URL with \
                     --map-arn '{arn}=file:///path/out.ndjson' (or http://, exec:, stdout:), \
                     or pass --skip-unmapped to skip such targets"
                ));
                failed = true;
                continue;
            }
            let dead_letter = match &t.dead_letter_arn {
                None => dlq_for(default_dlq.clone()),
                Some(arn) => {
                    let url = map.get(arn).unwrap_or(arn);
                    match Endpoint::parse(url) {
                        Ok(Endpoint::File(p)) => dlq_for(p),
                        Ok(Endpoint::Aws(_)) if ra.skip_unmapped => {
                            common::error(&format!(
                                "warning: {what}: DeadLetterConfig {arn} has no local mapping; \
                                 using {}",
                                display(&default_dlq)
                            ));
                            dlq_for(default_dlq.clone())
                        }
                        _ => {
                            common::error(&format!(
                                "{what}: DeadLetterConfig {arn} must be (or be mapped with \
                                 --map-arn to) a file:// URL"
                            ));
                            failed = true;
                            continue;
                        }
                    }
                }
            };
            let url = map.get(&t.arn).unwrap_or(&t.arn).to_string();
            if !ra.dry_run {
                // Opened (files created) once every target is known good.
                pending.push((r, t, url, endpoint, dead_letter));
                continue;
            }
            let deliver: Box<dyn Deliver> = {
                if let Endpoint::Http(u) = &endpoint {
                    if let Err(e) = HttpUrl::parse(u) {
                        common::error(&format!("{what}: {e}"));
                        failed = true;
                        continue;
                    }
                }
                if let Endpoint::Custom { url, .. } = &endpoint {
                    common::error(&format!("{what}: no target type for {url}"));
                    failed = true;
                    continue;
                }
                Box::new(Nothing)
            };
            builder.add_target(r, t, &url, deliver, Some(dead_letter));
        }
    }
    if failed {
        return Err(EXIT_FATAL);
    }
    let tls = load_ca_certs(&ra.ca_cert)?;
    for (r, t, url, endpoint, dead_letter) in pending {
        match sinks::builtin_with_tls(&endpoint, &t.http_headers, &options, tls.as_ref()) {
            Ok(d) => {
                builder.add_target(r, t, &url, d, Some(dead_letter));
            }
            Err(e) => {
                let rule = rules.get(file_index.get(r).copied().unwrap_or(0));
                let name = rule.map_or("", |x| x.name.as_str());
                common::error(&format!("rule \"{name}\": target {}: {e}", t.id));
                return Err(EXIT_FATAL);
            }
        }
    }
    Ok(Routing {
        router: builder.start(),
        dry_run: ra.dry_run,
        validated: !args.early_exit,
        dry_pairs: AtomicU64::new(0),
        dry_failed: AtomicU64::new(0),
        interrupted: AtomicBool::new(false),
        idle: AtomicBool::new(false),
    })
}

fn arn_map(ra: &RouteArgs) -> Result<ArnMap, u8> {
    build_arn_map(ra.arn_map.as_ref(), &ra.map_arn, |text| {
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(v.as_object().map(|o| {
            o.iter()
                .map(|(arn, url)| (arn.clone(), url.as_str().map(str::to_string)))
                .collect()
        }))
    })
}

/// The members of an `--arn-map` file as `(ARN, URL if a string)`, `None`
/// when the file is not a JSON object, or the JSON error's text.
pub(crate) type ArnMapMembers = Result<Option<Vec<(String, Option<String>)>>, String>;

/// `--arn-map FILE` then `--map-arn ARN=URL` (command-line mappings win
/// over the file's); `members` parses the file's text. Shared with `fanout`.
pub(crate) fn build_arn_map(
    file: Option<&PathBuf>,
    pairs: &[String],
    members: impl Fn(&str) -> ArnMapMembers,
) -> Result<ArnMap, u8> {
    let mut map = ArnMap::default();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|e| {
            common::error(&format!(
                "cannot read --arn-map file {}: {e}",
                display(path)
            ));
            EXIT_FATAL
        })?;
        let members = members(&text).map_err(|e| {
            common::error(&format!(
                "--arn-map file {}: invalid JSON: {e}",
                display(path)
            ));
            EXIT_FATAL
        })?;
        let Some(members) = members else {
            common::error(&format!(
                "--arn-map file {} must be a JSON object {{\"ARN\": \"URL\", ...}}",
                display(path)
            ));
            return Err(EXIT_FATAL);
        };
        for (arn, url) in members {
            let Some(url) = url else {
                common::error(&format!("--arn-map: the URL of {arn} must be a string"));
                return Err(EXIT_FATAL);
            };
            map.insert(&arn, &url).map_err(|e| {
                common::error(&format!("--arn-map: {e}"));
                EXIT_FATAL
            })?;
        }
    }
    for pair in pairs {
        map.insert_pair(pair).map_err(|e| {
            common::error(&format!("--map-arn: {e}"));
            EXIT_FATAL
        })?;
    }
    Ok(map)
}

impl Routing {
    /// One matching event (called by the match workers): its deliveries
    /// go to `jobs`, or, in a dry run, one line each to `out`.
    pub fn event(
        &self,
        line: &[u8],
        ids: &[RuleId],
        file: Option<&str>,
        line_no: usize,
        out: &mut Vec<u8>,
        jobs: &mut Vec<Job>,
    ) {
        let received = Instant::now();
        // The line matched, so it is UTF-8 JSON; be safe anyway (the
        // vectorised check: this runs once per matching event).
        let Ok(text) = simdutf8::basic::from_utf8(line) else {
            return;
        };
        // The rule indexes, on the stack for the usual few.
        let mut few = [0usize; 16];
        let many: Vec<usize>;
        let rules: &[usize] = if ids.len() <= few.len() {
            for (r, &id) in few.iter_mut().zip(ids) {
                *r = id as usize;
            }
            few.get(..ids.len()).unwrap_or(&[])
        } else {
            many = ids.iter().map(|&id| id as usize).collect();
            &many
        };
        let prepare = |jobs: &mut Vec<Job>| {
            if self.validated {
                self.router.prepare_valid(text, rules, received, jobs)
            } else {
                self.router.prepare(text, rules, received, jobs)
            }
        };
        if !self.dry_run {
            prepare(jobs);
            return;
        }
        let mut mine = Vec::new();
        prepare(&mut mine);
        for j in &mine {
            let Some((rule, target, url)) = self.router.target(j.target_index()) else {
                continue;
            };
            self.dry_pairs.fetch_add(1, Ordering::Relaxed);
            out.push(b'{');
            if let Some(f) = file {
                out.extend_from_slice(b"\"file\":");
                push_json_str(out, f);
                out.push(b',');
            }
            out.extend_from_slice(format!("\"line\":{line_no},\"rule\":").as_bytes());
            push_json_str(out, rule);
            out.extend_from_slice(b",\"target\":");
            push_json_str(out, &target.id);
            out.extend_from_slice(b",\"url\":");
            push_json_str(out, url);
            out.extend_from_slice(b",\"idempotency_key\":");
            push_json_str(out, &self.router.idempotency_key(j));
            match j.body() {
                Ok(b) => {
                    out.extend_from_slice(b",\"body\":");
                    // As in file records: JSON bodies as JSON, text as a string.
                    let text = matches!(&target.input,
                        TargetInput::Transformer(t) if t.mode() == TemplateMode::Text);
                    if text {
                        push_json_str(out, b);
                    } else {
                        out.extend_from_slice(b.as_bytes());
                    }
                }
                Err(nd) => {
                    self.dry_failed.fetch_add(1, Ordering::Relaxed);
                    out.extend_from_slice(b",\"not_delivered\":");
                    push_json_str(out, &nd.reason);
                }
            }
            out.extend_from_slice(b"}\n");
        }
    }

    /// Hands a block's deliveries to the router (blocks while a queue is
    /// full).
    pub fn submit_all(&self, jobs: Vec<Job>) {
        self.router.submit_all(jobs);
    }

    /// Whether the last [`Routing::wait_for_input`] found stdin idle
    /// (cleared by reading it).
    pub fn take_idle(&self) -> bool {
        self.idle.swap(false, Ordering::SeqCst)
    }

    /// Before each read of the input: [`Wait::Stop`] once interrupted.
    /// On stdin (unix) it waits until there is something to read,
    /// checking for Ctrl-C, and says [`Wait::Emit`] when stdin is idle and
    /// the data read so far holds a whole line.
    pub fn wait_for_input(&self, stdin: bool, has_line: bool) -> Wait {
        loop {
            if signal::count() > 0 {
                self.interrupted.store(true, Ordering::SeqCst);
                return Wait::Stop;
            }
            if !stdin {
                return Wait::Read;
            }
            if has_line {
                if signal::stdin_ready(Duration::ZERO) {
                    return Wait::Read;
                }
                self.idle.store(true, Ordering::SeqCst);
                return Wait::Emit;
            }
            if signal::stdin_ready(Duration::from_millis(100)) {
                return Wait::Read;
            }
        }
    }
}

/// What the reader does next.
pub enum Wait {
    /// Read more.
    Read,
    /// Hand over the complete lines read so far, then read on.
    Emit,
    /// Stop reading (Ctrl-C).
    Stop,
}

/// Runs `read_all` (the match command's reading, matching and submitting)
/// with Ctrl-C handling and progress, then waits for the deliveries and
/// prints the summary. `read_all` returns (fatal error?, bad lines).
pub fn run(routing: &Routing, args: &MatchArgs, read_all: impl FnOnce() -> (bool, u64)) -> u8 {
    signal::install();
    let done = AtomicBool::new(false);
    let progress = !args.quiet && std::io::stderr().is_terminal();
    let (fatal, bad_lines, summary) = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(&routing.router, &done, &routing.interrupted, progress));
        let (fatal, bad) = read_all();
        let summary = routing.router.finish_within(args.route.drain_timeout);
        done.store(true, Ordering::SeqCst);
        watcher.thread().unpark();
        (fatal, bad, summary)
    });
    let interrupted = routing.interrupted.load(Ordering::SeqCst) || signal::count() > 0;
    if routing.dry_run {
        let pairs = routing.dry_pairs.load(Ordering::Relaxed);
        let failed = routing.dry_failed.load(Ordering::Relaxed);
        common::error(&format!(
            "dry run: {pairs} deliveries shown, {failed} of them not deliverable \
             (transformation failed); nothing was delivered"
        ));
    } else {
        if routing.router.drain_expired() {
            common::error(&format!(
                "the drain timeout ({} s) passed: the deliveries left were dead-lettered \
                 (EXHAUSTED_RETRY_CONDITION DrainTimeout)",
                args.route.drain_timeout.unwrap_or_default().as_secs_f64()
            ));
        }
        print_summary(&summary);
    }
    if fatal {
        EXIT_FATAL
    } else if interrupted {
        EXIT_INTERRUPTED
    } else if summary.total(|t| t.dead_lettered + t.dropped + t.lost) > 0 {
        EXIT_DEAD_LETTERED
    } else if bad_lines > 0 {
        EXIT_BAD_INPUT
    } else {
        EXIT_OK
    }
}

/// Ctrl-C: first interrupt (stop reading, no more retries; sets
/// `interrupted`), then abort (dead-letter what is queued). Progress once a
/// second on a terminal. Shared with `fanout`.
pub(crate) fn watch(router: &Router, done: &AtomicBool, interrupted: &AtomicBool, progress: bool) {
    let mut seen = 0usize;
    let mut last = Instant::now();
    let mut shown = false;
    while !done.load(Ordering::SeqCst) {
        std::thread::park_timeout(Duration::from_millis(50));
        let n = signal::count();
        if n > seen {
            if shown {
                eprint!("\r\x1b[K");
                shown = false;
            }
            if seen == 0 {
                interrupted.store(true, Ordering::SeqCst);
                router.interrupt();
                common::error(
                    "interrupted: no more input; finishing the deliveries in progress and \
                     queued (Ctrl-C again to dead-letter the queued ones)",
                );
            }
            if n >= 2 {
                router.abort();
            }
            seen = n;
        }
        if progress && last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            let s = router.summary();
            let mut e = std::io::stderr().lock();
            let _ = write!(
                e,
                "\r\x1b[Kevmatch: matched {}, delivered {}, retried {}, dead-lettered {}, pending {}",
                s.total(|t| t.matched),
                s.total(|t| t.delivered),
                s.total(|t| t.retried),
                s.total(|t| t.dead_lettered),
                s.pending()
            );
            let _ = e.flush();
            shown = true;
        }
    }
    if shown {
        eprint!("\r\x1b[K");
    }
}

pub(crate) fn print_summary(s: &Summary) {
    let mut text = format!(
        "evmatch: summary: matched {}, delivered {}, retried {}, dead-lettered {}",
        s.total(|t| t.matched),
        s.total(|t| t.delivered),
        s.total(|t| t.retried),
        s.total(|t| t.dead_lettered)
    );
    let extra = |text: &mut String, name: &str, n: u64| {
        if n > 0 {
            text.push_str(&format!(", {name} {n}"));
        }
    };
    extra(&mut text, "dropped", s.total(|t| t.dropped));
    extra(&mut text, "lost", s.total(|t| t.lost));
    for t in &s.targets {
        text.push_str(&format!(
            "\nevmatch:   {}/{} ({}): matched {}, delivered {}, retried {}, dead-lettered {}",
            t.rule, t.target, t.url, t.matched, t.delivered, t.retried, t.dead_lettered
        ));
        extra(&mut text, "lost", t.lost);
    }
    let mut dlq_files: Vec<&str> = s
        .targets
        .iter()
        .filter(|t| t.dead_lettered > 0)
        .filter_map(|t| t.dead_letter.as_deref())
        .collect();
    dlq_files.sort_unstable();
    dlq_files.dedup();
    if !dlq_files.is_empty() {
        text.push_str(&format!(
            "\nevmatch: dead-letter records written to {}",
            dlq_files.join(", ")
        ));
    }
    for e in &s.errors {
        text.push_str(&format!("\nevmatch: {e}"));
    }
    common::stderr_lines(&text);
}

/// SIGINT handling without a dependency beyond libc: the handler only
/// counts; the watcher thread and the reader look at the count.
#[cfg(unix)]
pub(crate) mod signal {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    static SIGINTS: AtomicUsize = AtomicUsize::new(0);

    extern "C" fn on_sigint(_: libc::c_int) {
        SIGINTS.fetch_add(1, Ordering::SeqCst);
    }

    /// Installs the SIGINT handler.
    pub fn install() {
        // SAFETY: sigaction with a zeroed, then filled, struct and a handler
        // that only touches an atomic (async-signal-safe).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGINT, &sa, std::ptr::null_mut());
        }
    }

    /// How many SIGINTs arrived.
    pub fn count() -> usize {
        SIGINTS.load(Ordering::SeqCst)
    }

    /// Whether stdin has something to read (or is at its end) within
    /// `wait`.
    pub fn stdin_ready(wait: Duration) -> bool {
        let mut fd = libc::pollfd {
            fd: 0,
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(100);
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut fd, 1, ms) };
        // An error (EINTR) says "not yet"; anything else: go read.
        n > 0
            || (n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted)
    }
}

#[cfg(not(unix))]
pub(crate) mod signal {
    use std::time::Duration;

    pub fn install() {}

    pub fn count() -> usize {
        0
    }

    pub fn stdin_ready(_: Duration) -> bool {
        true
    }
}
