//! The delivery engine (SPEC.md §6): at-least-once delivery of matched
//! (event, rule, target) triples with retries, backoff and a dead-letter
//! queue, on plain threads.
//!
//! * Every target has a bounded queue and its own delivery threads
//!   ([`RouterConfig::concurrency`], fewer when the target asks:
//!   files and stdout take one, which keeps their output in event order).
//!   A slow target fills only its own queue; when it is full,
//!   [`Router::submit`] blocks, so the producer (the input) waits instead
//!   of memory growing.
//! * A retriable failure is retried after an exponential backoff with
//!   full jitter (`random(0, min(cap, base × 2^(n-1)))`) from a per-target
//!   heap ordered by due time, so waiting retries hold no thread. Retrying
//!   stops at `MaximumRetryAttempts` retries, or when the next retry would
//!   come later than `MaximumEventAgeInSeconds` after the event was
//!   submitted, whichever comes first; the delivery then goes to the
//!   target's dead-letter sink.
//! * A non-retriable failure, and an event whose transformation produced
//!   invalid JSON (`TRANSFORMATION_FAILED`, SPEC.md §4.3), go to the
//!   dead-letter sink at once.
//! * [`Router::interrupt`] stops retrying: waiting retries and later
//!   failures are dead-lettered with `EXHAUSTED_RETRY_CONDITION`
//!   `Interrupted`, queued deliveries still get their one attempt.
//!   [`Router::abort`] also dead-letters the queued deliveries without
//!   trying them (`ERROR_CODE` `INTERRUPTED`). Deliveries in progress
//!   always finish. So every submitted triple ends delivered or
//!   dead-lettered; only a target without a dead-letter sink drops
//!   (counted), as AWS does without a DLQ.
//!
//! Each delivery carries an idempotency key, the same on every attempt and
//! every run: `EVENT/RULE/TARGET` where `EVENT` is the event's `id` (or
//! `fnv1a64-` and a hash of the event text when it has none) and each part
//! is percent-encoded outside `A-Za-z0-9-._~:@`.

use crate::target::{Deliver, Delivery, DeliveryError, ErrorCode, Target};
use crate::transform::{
    self, write_json_string, NotDelivered, TargetInput, TemplateMode, TransformContext,
};
use evmatch_json::Value;
use std::cmp::Ordering as CmpOrdering;
use std::collections::{BinaryHeap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How the router delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterConfig {
    /// Delivery threads per target (targets may ask for fewer). Default 4.
    pub concurrency: usize,
    /// Deliveries waiting per target (queued plus waiting for a retry)
    /// before [`Router::submit`] blocks. Default 1,024.
    pub queue_capacity: usize,
    /// First backoff step. Default 1 s.
    pub retry_base: Duration,
    /// Longest backoff. Default 300 s.
    pub retry_cap: Duration,
    /// Full jitter (default); `false` waits the whole backoff step, for
    /// tests that need exact timing.
    pub jitter: bool,
}

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            concurrency: 4,
            queue_capacity: 1024,
            retry_base: Duration::from_secs(1),
            retry_cap: Duration::from_secs(300),
            jitter: true,
        }
    }
}

/// Where failed deliveries go: one JSON line per failure.
pub trait DeadLetterSink: Send + Sync {
    /// Stores one record (a JSON object without the newline).
    fn write(&self, record: &str) -> std::io::Result<()>;
    /// How the sink reads in messages (a path).
    fn name(&self) -> String;
}

/// A dead-letter file, created on the first failure and appended to.
#[derive(Debug)]
pub struct DeadLetterFile {
    path: PathBuf,
    file: Mutex<Option<File>>,
}

impl DeadLetterFile {
    /// A sink appending to `path` (not opened yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DeadLetterFile {
            path: path.into(),
            file: Mutex::new(None),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl DeadLetterSink for DeadLetterFile {
    fn write(&self, record: &str) -> std::io::Result<()> {
        let mut guard = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("a delivery thread panicked"))?;
        if guard.is_none() {
            *guard = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        match guard.as_mut() {
            Some(f) => {
                let mut line = Vec::with_capacity(record.len() + 1);
                line.extend_from_slice(record.as_bytes());
                line.push(b'\n');
                f.write_all(&line)
            }
            None => Err(std::io::Error::other("dead-letter file not open")),
        }
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }
}

/// Counts of one target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetSummary {
    /// The rule's name.
    pub rule: String,
    /// The target's `Id`.
    pub target: String,
    /// Where it delivers (the local URL).
    pub url: String,
    /// The dead-letter sink's name, if any.
    pub dead_letter: Option<String>,
    /// Submitted (event, target) pairs.
    pub matched: u64,
    /// Delivered (at least once).
    pub delivered: u64,
    /// Retry attempts made.
    pub retried: u64,
    /// Written to the dead-letter sink.
    pub dead_lettered: u64,
    /// Failed with no dead-letter sink configured (SPEC.md §6: dropped).
    pub dropped: u64,
    /// Failed and the dead-letter sink could not be written.
    pub lost: u64,
}

/// Counts of every target, in the order they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// One entry per target.
    pub targets: Vec<TargetSummary>,
    /// The first dead-letter write errors (at most 10).
    pub errors: Vec<String>,
}

impl Summary {
    /// Sum of one count over all targets.
    pub fn total(&self, f: impl Fn(&TargetSummary) -> u64) -> u64 {
        self.targets.iter().map(f).sum()
    }

    /// Pairs submitted but neither delivered nor given up yet.
    pub fn pending(&self) -> u64 {
        self.targets
            .iter()
            .map(|t| {
                t.matched
                    .saturating_sub(t.delivered + t.dead_lettered + t.dropped + t.lost)
            })
            .sum()
    }
}

/// One (event, rule, target) delivery, made by [`Router::prepare`].
#[derive(Debug)]
pub struct Job {
    slot: usize,
    body: Result<String, NotDelivered>,
    key: String,
    event: Arc<str>,
    event_id: Option<Arc<str>>,
    rule_arn: Arc<str>,
    received: Instant,
    attempts: u32,
}

impl Job {
    /// The body, or why the transformation delivers nothing.
    pub fn body(&self) -> Result<&str, &NotDelivered> {
        self.body.as_deref()
    }

    /// The idempotency key.
    pub fn idempotency_key(&self) -> &str {
        &self.key
    }

    /// Index of the target (in the order of [`RouterBuilder::add_target`]).
    pub fn target_index(&self) -> usize {
        self.slot
    }

    /// The rule's ARN as the transformer saw it.
    pub fn rule_arn(&self) -> &str {
        &self.rule_arn
    }
}

/// Assembles a [`Router`].
pub struct RouterBuilder {
    config: RouterConfig,
    rules: Vec<RuleInfo>,
    slots: Vec<SlotDef>,
}

struct RuleInfo {
    name: String,
    slots: Vec<usize>,
}

struct SlotDef {
    rule: usize,
    target: Target,
    url: String,
    deliver: Box<dyn Deliver>,
    dead_letter: Option<Arc<dyn DeadLetterSink>>,
}

impl RouterBuilder {
    /// An empty router.
    pub fn new(config: RouterConfig) -> Self {
        RouterBuilder {
            config,
            rules: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// Adds a rule; returns its index, the one [`Router::prepare`] takes
    /// (add rules in your `RuleSet`'s order and the indexes agree).
    pub fn add_rule(&mut self, name: &str) -> usize {
        self.rules.push(RuleInfo {
            name: name.to_string(),
            slots: Vec::new(),
        });
        self.rules.len() - 1
    }

    /// Adds a target to rule `rule`: `deliver` does the work (see
    /// [`crate::sinks::builtin`]), `url` names it in summaries, and failed
    /// deliveries go to `dead_letter` (none: dropped and counted). Returns
    /// the target's index, or `None` when `rule` is not a rule index.
    pub fn add_target(
        &mut self,
        rule: usize,
        target: Target,
        url: &str,
        deliver: Box<dyn Deliver>,
        dead_letter: Option<Arc<dyn DeadLetterSink>>,
    ) -> Option<usize> {
        let index = self.slots.len();
        self.rules.get_mut(rule)?.slots.push(index);
        self.slots.push(SlotDef {
            rule,
            target,
            url: url.to_string(),
            deliver,
            dead_letter,
        });
        Some(index)
    }

    /// Starts the delivery threads.
    pub fn start(self) -> Router {
        let config = RouterConfig {
            concurrency: self.config.concurrency.max(1),
            queue_capacity: self.config.queue_capacity.max(1),
            ..self.config
        };
        let slots: Vec<Slot> = self
            .slots
            .into_iter()
            .map(|d| {
                let body_is_json = !matches!(
                    &d.target.input,
                    TargetInput::Transformer(t) if t.mode() == TemplateMode::Text
                );
                Slot {
                    rule_name: self
                        .rules
                        .get(d.rule)
                        .map(|r| r.name.clone())
                        .unwrap_or_default(),
                    target: d.target,
                    url: d.url,
                    deliver: d.deliver,
                    dead_letter: d.dead_letter,
                    body_is_json,
                    state: Mutex::new(State::default()),
                    work: Condvar::new(),
                    space: Condvar::new(),
                    stats: Stats::default(),
                }
            })
            .collect();
        let shared = Arc::new(Shared {
            config,
            rules: self.rules,
            slots,
            interrupted: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            errors: Mutex::new(Vec::new()),
        });
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.as_nanos() as u64);
        let mut threads = Vec::new();
        for (i, slot) in shared.slots.iter().enumerate() {
            let n = slot
                .deliver
                .max_concurrency()
                .map_or(config.concurrency, |m| m.clamp(1, config.concurrency));
            for k in 0..n {
                let shared = Arc::clone(&shared);
                let seed =
                    seed ^ ((i as u64) << 32) ^ (k as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                threads.push(std::thread::spawn(move || worker(&shared, i, seed)));
            }
        }
        Router {
            shared,
            threads: Mutex::new(threads),
        }
    }
}

/// Delivers (event, rule, target) triples to their targets with retries
/// and dead-lettering. `Sync`: submit from one thread, interrupt from
/// another.
pub struct Router {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

struct Shared {
    config: RouterConfig,
    rules: Vec<RuleInfo>,
    slots: Vec<Slot>,
    interrupted: AtomicBool,
    aborted: AtomicBool,
    errors: Mutex<Vec<String>>,
}

struct Slot {
    rule_name: String,
    target: Target,
    url: String,
    deliver: Box<dyn Deliver>,
    dead_letter: Option<Arc<dyn DeadLetterSink>>,
    body_is_json: bool,
    state: Mutex<State>,
    work: Condvar,
    space: Condvar,
    stats: Stats,
}

#[derive(Default)]
struct Stats {
    matched: AtomicU64,
    delivered: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    dropped: AtomicU64,
    lost: AtomicU64,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    retries: BinaryHeap<Retry>,
    seq: u64,
    closed: bool,
}

struct Retry {
    due: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Retry {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due && self.seq == other.seq
    }
}
impl Eq for Retry {}
impl PartialOrd for Retry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Retry {
    /// Reversed: the heap's top is the earliest due.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// How a failed delivery ended.
struct Failure {
    code: ErrorCode,
    message: String,
    condition: Option<&'static str>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Router {
    /// Rules known to the router.
    pub fn rule_count(&self) -> usize {
        self.shared.rules.len()
    }

    /// The (rule name, target, local URL) of target `index`.
    pub fn target(&self, index: usize) -> Option<(&str, &Target, &str)> {
        self.shared
            .slots
            .get(index)
            .map(|s| (s.rule_name.as_str(), &s.target, s.url.as_str()))
    }

    /// Builds the deliveries of one event that matched `rules` (router rule
    /// indexes; rules without targets add nothing): one [`Job`] per target,
    /// with its body already transformed (SPEC.md §4). `event_text` is the
    /// event as read (kept for the dead-letter record and the idempotency
    /// key); `received` starts the clock of `MaximumEventAgeInSeconds`.
    ///
    /// Reserved variables: the rule ARN is built from the event's `region`
    /// and `account` (us-east-1 / 123456789012 without them), the ingestion
    /// time is the event's `time` (else now).
    pub fn prepare(
        &self,
        event_text: &str,
        event: &Value,
        rules: &[usize],
        received: Instant,
        out: &mut Vec<Job>,
    ) {
        let field = |k: &str| match event.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.as_str()),
            _ => None,
        };
        let mut shared_event: Option<Arc<str>> = None;
        let mut key_event: Option<String> = None;
        let event_id: Option<Arc<str>> = field("id").map(Arc::from);
        for &r in rules {
            let Some(info) = self.shared.rules.get(r) else {
                continue;
            };
            if info.slots.is_empty() {
                continue;
            }
            let text = shared_event
                .get_or_insert_with(|| {
                    let t = event_text.trim();
                    if t.contains(['\n', '\r']) {
                        Arc::from(t.replace(['\n', '\r'], " "))
                    } else {
                        Arc::from(t)
                    }
                })
                .clone();
            let key_event = key_event
                .get_or_insert_with(|| match field("id") {
                    Some(id) => percent(id),
                    None => format!("fnv1a64-{:016x}", fnv1a64(text.as_bytes())),
                })
                .clone();
            let rule_arn: Arc<str> = Arc::from(transform::rule_arn(
                field("region").unwrap_or("us-east-1"),
                field("account").unwrap_or("123456789012"),
                None,
                &info.name,
            ));
            let ctx = TransformContext {
                rule_name: info.name.clone(),
                rule_arn: rule_arn.to_string(),
                ingestion_time: field("time").map_or_else(now_iso8601, str::to_string),
            };
            let rule_key = percent(&info.name);
            for &s in &info.slots {
                let Some(slot) = self.shared.slots.get(s) else {
                    continue;
                };
                out.push(Job {
                    slot: s,
                    body: slot.target.input.apply(event, &ctx),
                    key: format!("{key_event}/{rule_key}/{}", percent(&slot.target.id)),
                    event: Arc::clone(&text),
                    event_id: event_id.clone(),
                    rule_arn: Arc::clone(&rule_arn),
                    received,
                    attempts: 0,
                });
            }
        }
    }

    /// Parses `event_text`, then [`Router::prepare`] and [`Router::submit`]
    /// for the rules it matched; returns the number of deliveries.
    pub fn route(&self, event_text: &str, rules: &[usize]) -> Result<usize, String> {
        let event = evmatch_json::parse_value(event_text).map_err(|e| e.to_string())?;
        let mut jobs = Vec::new();
        self.prepare(event_text, &event, rules, Instant::now(), &mut jobs);
        let n = jobs.len();
        for j in jobs {
            self.submit(j);
        }
        Ok(n)
    }

    /// Hands a delivery to its target's queue, blocking while the queue is
    /// full (backpressure). A failed transformation is dead-lettered at
    /// once; after [`Router::abort`] or [`Router::finish`] everything is.
    pub fn submit(&self, job: Job) {
        let Some(slot) = self.shared.slots.get(job.slot) else {
            return;
        };
        slot.stats.matched.fetch_add(1, Ordering::Relaxed);
        if let Err(nd) = &job.body {
            let f = Failure {
                code: ErrorCode::TransformationFailed,
                message: nd.reason.clone(),
                condition: None,
            };
            self.shared.give_up(slot, &job, &f);
            return;
        }
        let cap = self.shared.config.queue_capacity;
        let mut st = lock(&slot.state);
        while st.queue.len() + st.retries.len() >= cap
            && !st.closed
            && !self.shared.aborted.load(Ordering::SeqCst)
        {
            st = match slot.space.wait_timeout(st, Duration::from_millis(100)) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        if st.closed || self.shared.aborted.load(Ordering::SeqCst) {
            drop(st);
            self.shared
                .give_up(slot, &job, &interrupted_before_trying());
            return;
        }
        st.queue.push_back(job);
        drop(st);
        slot.work.notify_one();
    }

    /// Stops retrying (Ctrl-C): retries waiting and failures from now on
    /// go to the dead-letter sink; queued deliveries get one attempt.
    pub fn interrupt(&self) {
        self.shared.interrupted.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    /// Also dead-letters queued deliveries without trying them (a second
    /// Ctrl-C). Deliveries in progress finish.
    pub fn abort(&self) {
        self.shared.interrupted.store(true, Ordering::SeqCst);
        self.shared.aborted.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    /// Whether [`Router::interrupt`] was called.
    pub fn is_interrupted(&self) -> bool {
        self.shared.interrupted.load(Ordering::SeqCst)
    }

    fn wake_all(&self) {
        for slot in &self.shared.slots {
            let _g = lock(&slot.state);
            slot.work.notify_all();
            slot.space.notify_all();
        }
    }

    /// The counts so far.
    pub fn summary(&self) -> Summary {
        let targets = self
            .shared
            .slots
            .iter()
            .map(|s| TargetSummary {
                rule: s.rule_name.clone(),
                target: s.target.id.clone(),
                url: s.url.clone(),
                dead_letter: s.dead_letter.as_ref().map(|d| d.name()),
                matched: s.stats.matched.load(Ordering::SeqCst),
                delivered: s.stats.delivered.load(Ordering::SeqCst),
                retried: s.stats.retried.load(Ordering::SeqCst),
                dead_lettered: s.stats.dead_lettered.load(Ordering::SeqCst),
                dropped: s.stats.dropped.load(Ordering::SeqCst),
                lost: s.stats.lost.load(Ordering::SeqCst),
            })
            .collect();
        Summary {
            targets,
            errors: lock(&self.shared.errors).clone(),
        }
    }

    /// No more submissions: waits until every queued delivery is delivered
    /// or dead-lettered (retries included, within their policy, unless
    /// [`Router::interrupt`] is called meanwhile from another thread) and
    /// returns the counts.
    pub fn finish(&self) -> Summary {
        for slot in &self.shared.slots {
            let mut st = lock(&slot.state);
            st.closed = true;
            slot.work.notify_all();
            slot.space.notify_all();
        }
        let threads = std::mem::take(&mut *lock(&self.threads));
        for t in threads {
            let _ = t.join();
        }
        self.summary()
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.finish();
    }
}

fn interrupted_before_trying() -> Failure {
    Failure {
        code: ErrorCode::Interrupted,
        message: "interrupted before delivery".into(),
        condition: None,
    }
}

impl Shared {
    /// Sends a failed delivery to the slot's dead-letter sink.
    fn give_up(&self, slot: &Slot, job: &Job, f: &Failure) {
        let Some(dlq) = &slot.dead_letter else {
            slot.stats.dropped.fetch_add(1, Ordering::SeqCst);
            return;
        };
        let record = self.record(slot, job, f);
        match dlq.write(&record) {
            Ok(()) => {
                slot.stats.dead_lettered.fetch_add(1, Ordering::SeqCst);
            }
            Err(e) => {
                slot.stats.lost.fetch_add(1, Ordering::SeqCst);
                let mut errors = lock(&self.errors);
                if errors.len() < 10 {
                    errors.push(format!("cannot write to dead-letter {}: {e}", dlq.name()));
                }
            }
        }
    }

    /// The dead-letter record: the attributes AWS puts on DLQ messages
    /// (SPEC.md §6) plus the event, the body and who it was for.
    fn record(&self, slot: &Slot, job: &Job, f: &Failure) -> String {
        let mut o = String::with_capacity(job.event.len() + 512);
        let field = |o: &mut String, k: &str, v: &str| {
            o.push(if o.is_empty() { '{' } else { ',' });
            write_json_string(k, o);
            o.push(':');
            write_json_string(v, o);
        };
        field(&mut o, "time", &now_iso8601());
        field(&mut o, "idempotency_key", &job.key);
        field(&mut o, "rule", &slot.rule_name);
        field(&mut o, "target", &slot.target.id);
        field(&mut o, "RULE_ARN", &job.rule_arn);
        field(&mut o, "TARGET_ARN", &slot.target.arn);
        field(&mut o, "ERROR_CODE", f.code.as_str());
        field(&mut o, "ERROR_MESSAGE", &f.message);
        o.push_str(",\"EXHAUSTED_RETRY_CONDITION\":");
        match f.condition {
            Some(c) => write_json_string(c, &mut o),
            None => o.push_str("null"),
        }
        o.push_str(",\"RETRY_ATTEMPTS\":");
        o.push_str(&job.attempts.saturating_sub(1).to_string());
        o.push_str(",\"event\":");
        o.push_str(&job.event);
        o.push_str(",\"body\":");
        match &job.body {
            Ok(b) if slot.body_is_json => o.push_str(b),
            Ok(b) => write_json_string(b, &mut o),
            Err(nd) => match &nd.output {
                Some(out) => write_json_string(out, &mut o),
                None => o.push_str("null"),
            },
        }
        o.push('}');
        o
    }
}

/// One delivery thread of target `index`.
fn worker(shared: &Shared, index: usize, seed: u64) {
    let Some(slot) = shared.slots.get(index) else {
        return;
    };
    let mut rng = seed | 1;
    let max_batch = slot.deliver.max_batch().max(1);
    let mut batch: Vec<Job> = Vec::new();
    let mut failed: Vec<(Job, Failure)> = Vec::new();
    let mut results = Vec::new();
    loop {
        {
            let mut st = lock(&slot.state);
            loop {
                if shared.aborted.load(Ordering::SeqCst) {
                    while let Some(j) = st.queue.pop_front() {
                        failed.push((j, interrupted_before_trying()));
                    }
                }
                if shared.interrupted.load(Ordering::SeqCst) {
                    while let Some(r) = st.retries.pop() {
                        failed.push((
                            r.job,
                            Failure {
                                code: ErrorCode::Interrupted,
                                message: "interrupted while waiting for a retry".into(),
                                condition: Some("Interrupted"),
                            },
                        ));
                    }
                }
                if !failed.is_empty() {
                    slot.space.notify_all();
                    break;
                }
                let now = Instant::now();
                if st.retries.peek().is_some_and(|r| r.due <= now) {
                    if let Some(r) = st.retries.pop() {
                        slot.stats.retried.fetch_add(1, Ordering::SeqCst);
                        batch.push(r.job);
                    }
                    slot.space.notify_all();
                    break;
                }
                if !st.queue.is_empty() {
                    while batch.len() < max_batch {
                        match st.queue.pop_front() {
                            Some(j) => batch.push(j),
                            None => break,
                        }
                    }
                    slot.space.notify_all();
                    break;
                }
                if st.closed && st.retries.is_empty() {
                    slot.work.notify_all();
                    return;
                }
                st = match st
                    .retries
                    .peek()
                    .map(|r| r.due.saturating_duration_since(now))
                {
                    Some(wait) => match slot.work.wait_timeout(st, wait) {
                        Ok((g, _)) => g,
                        Err(p) => p.into_inner().0,
                    },
                    None => match slot.work.wait(st) {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    },
                };
            }
        }
        for (job, f) in failed.drain(..) {
            shared.give_up(slot, &job, &f);
        }
        if batch.is_empty() {
            continue;
        }

        results.clear();
        {
            let deliveries: Vec<Delivery<'_>> = batch
                .iter()
                .map(|j| Delivery {
                    body: j.body.as_deref().unwrap_or(""),
                    rule_name: &slot.rule_name,
                    target_id: &slot.target.id,
                    event_id: j.event_id.as_deref(),
                    idempotency_key: &j.key,
                    attempt: j.attempts + 1,
                    body_is_json: slot.body_is_json,
                })
                .collect();
            slot.deliver.deliver_batch(&deliveries, &mut results);
        }
        let now = Instant::now();
        let mut again: Vec<(Instant, Job)> = Vec::new();
        let mut results_iter = results.drain(..);
        for mut job in batch.drain(..) {
            job.attempts += 1;
            let res = results_iter.next().unwrap_or_else(|| {
                Err(DeliveryError::new(
                    ErrorCode::Other,
                    "the target returned no result",
                ))
            });
            let e = match res {
                Ok(()) => {
                    slot.stats.delivered.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                Err(e) => e,
            };
            let policy = slot.target.retry_policy;
            let retries_done = job.attempts - 1;
            let condition = if !e.retriable {
                Err(None)
            } else if shared.interrupted.load(Ordering::SeqCst) {
                Err(Some("Interrupted"))
            } else if retries_done >= policy.maximum_retry_attempts {
                Err(Some("MaximumRetryAttempts"))
            } else {
                let due = now + backoff(&shared.config, job.attempts, &mut rng);
                let limit =
                    job.received + Duration::from_secs(u64::from(policy.maximum_event_age_seconds));
                if due > limit {
                    Err(Some("MaximumEventAgeInSeconds"))
                } else {
                    Ok(due)
                }
            };
            match condition {
                Ok(due) => again.push((due, job)),
                Err(condition) => failed.push((
                    job,
                    Failure {
                        code: e.code,
                        message: e.message,
                        condition,
                    },
                )),
            }
        }
        drop(results_iter);
        if !again.is_empty() {
            let mut st = lock(&slot.state);
            for (due, job) in again {
                st.seq += 1;
                let seq = st.seq;
                st.retries.push(Retry { due, seq, job });
            }
            drop(st);
            // Waiting threads recompute their timeout.
            slot.work.notify_all();
        }
        for (job, f) in failed.drain(..) {
            shared.give_up(slot, &job, &f);
        }
    }
}

/// The wait before retry number `attempts` (1 = the first retry):
/// exponential, capped, with full jitter when configured.
fn backoff(config: &RouterConfig, attempts: u32, rng: &mut u64) -> Duration {
    let exp = attempts.saturating_sub(1).min(40);
    let step = config
        .retry_base
        .saturating_mul(1u32 << exp.min(31))
        .min(config.retry_cap);
    if !config.jitter {
        return step;
    }
    // xorshift64*
    *rng ^= *rng >> 12;
    *rng ^= *rng << 25;
    *rng ^= *rng >> 27;
    let r = rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
    let nanos = step.as_nanos().min(u128::from(u64::MAX)) as u64;
    Duration::from_nanos(if nanos == 0 { 0 } else { r % (nanos + 1) })
}

/// FNV-1a, 64 bits: a stable hash for events without an `id`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// Percent-encodes every byte outside `A-Za-z0-9-._~:@` (so `/` separates
/// the parts of an idempotency key unambiguously and the key fits in an
/// HTTP header).
pub fn percent(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:@".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// The current UTC time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn now_iso8601() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    iso8601(secs)
}

/// Seconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic
/// Gregorian calendar, days-from-civil inverted).
pub fn iso8601(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(iso8601(1_704_067_199), "2023-12-31T23:59:59Z");
    }

    #[test]
    fn spec_6_backoff_is_exponential_capped_and_jittered() {
        let c = RouterConfig {
            retry_base: Duration::from_millis(100),
            retry_cap: Duration::from_millis(1000),
            jitter: false,
            ..RouterConfig::default()
        };
        let mut rng = 7;
        let steps: Vec<u128> = (1..=6)
            .map(|a| backoff(&c, a, &mut rng).as_millis())
            .collect();
        assert_eq!(steps, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(&c, 185, &mut rng).as_millis(), 1000);
        let j = RouterConfig { jitter: true, ..c };
        let draws: Vec<Duration> = (0..200).map(|_| backoff(&j, 3, &mut rng)).collect();
        assert!(draws.iter().all(|d| *d <= Duration::from_millis(400)));
        // Full jitter spreads over the whole step.
        assert!(draws.iter().any(|d| *d < Duration::from_millis(100)));
        assert!(draws.iter().any(|d| *d > Duration::from_millis(300)));
    }

    #[test]
    fn keys() {
        assert_eq!(percent("a-b_c.d~e:f@g"), "a-b_c.d~e:f@g");
        assert_eq!(percent("a/b c%é"), "a%2Fb%20c%25%C3%A9");
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
