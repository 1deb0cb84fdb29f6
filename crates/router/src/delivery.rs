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
//! `h64-` and a stable hash of the event text when it has none) and each part
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
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How the router delivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouterConfig {
    /// Delivery threads per target (targets may ask for fewer). Default 4.
    pub concurrency: usize,
    /// Deliveries waiting per target (queued plus waiting for a retry)
    /// before [`Router::submit`] blocks. Default 4,096 (a 1 MiB block of
    /// CityLots events makes about 1,000 deliveries per target; a queue of
    /// about one block made the reader wait on every block).
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
            queue_capacity: 4096,
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
///
/// Small (48 bytes): a block of events makes tens of thousands of jobs
/// that are moved from the matcher to the queues to the delivery
/// threads; what is rare (a failed transformation, a retry's last error)
/// is boxed and what the event's deliveries share is in [`EventInfo`].
#[derive(Debug)]
pub struct Job {
    slot: usize,
    body: Body,
    event: Arc<EventInfo>,
    attempts: u32,
    /// The last attempt's failure, while a retry waits.
    last_error: Option<Box<(ErrorCode, String)>>,
}

/// A job's body.
#[derive(Debug)]
enum Body {
    /// Made by [`Router::prepare`] (or the caller).
    Ready(Arc<str>),
    /// Why the transformation delivers nothing.
    Failed(Box<NotDelivered>),
    /// The whole event in compact form ([`Facts::whole`]), made when
    /// first needed.
    Whole,
}

impl Body {
    fn of(r: Result<Arc<str>, NotDelivered>) -> Body {
        match r {
            Ok(b) => Body::Ready(b),
            Err(nd) => Body::Failed(Box::new(nd)),
        }
    }
}

/// What the deliveries of one event share.
#[derive(Debug)]
struct EventInfo {
    /// The event as read, trimmed.
    raw: Arc<str>,
    /// When it was read: starts the clock of `MaximumEventAgeInSeconds`.
    received: Instant,
    /// Whether some delivery sends the whole event.
    whole_wanted: bool,
    /// Computed from `raw` by the first thread that needs them (a
    /// delivery thread, for events [`Router::prepare_valid`] defers), or
    /// up front.
    facts: OnceLock<Facts>,
}

/// The event's compact form, top-level fields and key.
#[derive(Debug)]
struct Facts {
    /// The event as read (line breaks in whitespace made spaces).
    text: Arc<str>,
    id: Option<String>,
    region: Option<String>,
    account: Option<String>,
    /// The event's `time`: the ingestion time of transformers.
    time: Option<String>,
    /// The event part of the idempotency keys.
    key: EventKey,
    /// The compact form, when some delivery sends the whole event.
    whole: Option<Arc<str>>,
}

impl EventInfo {
    /// An event whose facts are known.
    fn ready(facts: Facts, received: Instant) -> EventInfo {
        EventInfo {
            raw: Arc::clone(&facts.text),
            received,
            whole_wanted: facts.whole.is_some(),
            facts: OnceLock::from(facts),
        }
    }

    fn facts(&self) -> &Facts {
        self.facts.get_or_init(|| {
            // Most events have no escape and no whitespace between
            // tokens: then the text is its own display text (no line
            // break) and, unless an object repeats a key, its own compact
            // form. One pass says so.
            if let Some(top) = canonical_plain(self.raw.as_bytes()) {
                let text = Arc::clone(&self.raw);
                let whole = self.whole_wanted.then(|| Arc::clone(&text));
                return Facts::of(text, top, whole);
            }
            // `raw` is trimmed: without line breaks it is the display
            // text, shared rather than copied.
            let text = if memchr::memchr2(b'\n', b'\r', self.raw.as_bytes()).is_some() {
                display_text(&self.raw)
            } else {
                Arc::clone(&self.raw)
            };
            compute_facts_of(text, &self.raw, self.whole_wanted, false).map_or_else(
                // Not valid JSON after all (the caller of `prepare_valid`
                // was wrong): the text as it is, keyed by its hash.
                || {
                    let text = display_text(&self.raw);
                    Facts {
                        key: EventKey::hash_of(&text),
                        whole: self.whole_wanted.then(|| Arc::clone(&text)),
                        text,
                        id: None,
                        region: None,
                        account: None,
                        time: None,
                    }
                },
                |(f, _)| f,
            )
        })
    }

    fn rule_arn(&self, rule: &str) -> String {
        let f = self.facts();
        transform::rule_arn(
            f.region.as_deref().unwrap_or("us-east-1"),
            f.account.as_deref().unwrap_or("123456789012"),
            None,
            rule,
        )
    }
}

/// The trimmed event text with line breaks made spaces (records are lines).
fn display_text(event_text: &str) -> Arc<str> {
    let t = event_text.trim_matches(JSON_WS);
    if memchr::memchr2(b'\n', b'\r', t.as_bytes()).is_some() {
        Arc::from(t.replace(['\n', '\r'], " "))
    } else {
        Arc::from(t)
    }
}

/// `h64-` and the stable hash of the event text.
#[cfg(test)]
fn hash_key(text: &str) -> String {
    EventKey::hash_of(text).as_str().to_string()
}

/// The event part of the idempotency keys. Short ones (every `h64-` key,
/// most ids) are kept inline: the record of an event is made on a
/// delivery thread and freed on the matching thread, and a heap key
/// would be one more allocation there and one more free of another
/// thread's memory (which takes that thread's allocator lock) here.
#[derive(Debug)]
enum EventKey {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Heap(Box<str>),
}

/// The longest key kept inline (a UUID is 36 bytes).
const INLINE_KEY: usize = 46;

impl EventKey {
    fn new(key: &str) -> EventKey {
        let mut bytes = [0u8; INLINE_KEY];
        match (bytes.get_mut(..key.len()), u8::try_from(key.len())) {
            (Some(b), Ok(len)) => {
                b.copy_from_slice(key.as_bytes());
                EventKey::Inline { len, bytes }
            }
            _ => EventKey::Heap(Box::from(key)),
        }
    }

    /// `h64-` and the stable hash of the event text: as
    /// `format!("h64-{:016x}", hash)`, without the formatting machinery.
    fn hash_of(text: &str) -> EventKey {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let h = stable_hash(text.as_bytes());
        let mut bytes = [0u8; INLINE_KEY];
        let (head, digits) = bytes.split_at_mut(4);
        head.copy_from_slice(b"h64-");
        for (k, d) in digits.iter_mut().take(16).enumerate() {
            let nibble = ((h >> (4 * (15 - k))) & 15) as usize;
            *d = HEX.get(nibble).copied().unwrap_or(b'0');
        }
        EventKey::Inline { len: 20, bytes }
    }

    fn as_str(&self) -> &str {
        match self {
            EventKey::Inline { len, bytes } => {
                let b = bytes.get(..usize::from(*len)).unwrap_or(&[]);
                // SAFETY: `len` bytes of `bytes` were copied from a `str`
                // whole (`new`) or are ASCII (`hash_of`), and are never
                // changed: UTF-8. (Checking it cost as much as the
                // allocation this saves: the key is read per delivery.)
                unsafe { std::str::from_utf8_unchecked(b) }
            }
            EventKey::Heap(k) => k,
        }
    }
}

/// The facts of an event (and its tree when `needs_tree`), or `None` when
/// the text is not valid JSON. The whole event is written as compact JSON
/// straight from the text when it has no repeated key, so no tree is
/// built unless `needs_tree`.
fn compute_facts(
    event_text: &str,
    needs_whole: bool,
    needs_tree: bool,
) -> Option<(Facts, Option<Value>)> {
    compute_facts_of(
        display_text(event_text),
        event_text,
        needs_whole,
        needs_tree,
    )
}

/// [`compute_facts`] with the display text `text` already made.
fn compute_facts_of(
    text: Arc<str>,
    event_text: &str,
    needs_whole: bool,
    needs_tree: bool,
) -> Option<(Facts, Option<Value>)> {
    let mut tree: Option<Value> = None;
    let mut whole: Option<Arc<str>> = None;
    let mut top = Top::default();
    let mut known = false;
    if !needs_tree {
        if let Some(t) = canonical(event_text) {
            // Already the compact form: the text is the body, shared.
            top = t;
            known = true;
            whole = needs_whole.then(|| Arc::clone(&text));
        } else {
            let mut out = String::with_capacity(if needs_whole { event_text.len() } else { 0 });
            if compact_stream(event_text, needs_whole, &mut out, &mut top).is_some() {
                known = true;
                whole = needs_whole.then(|| Arc::from(out));
            }
        }
    }
    if !known {
        let v = evmatch_json::parse_value(event_text).ok()?;
        top = Top::of(&v);
        if needs_whole {
            whole = Some(Arc::from(transform::to_compact(&v)));
        }
        tree = Some(v);
    }
    Some((Facts::of(text, top, whole), tree))
}

impl Facts {
    /// The facts of an event with display text `text`, top-level fields
    /// `top` and compact form `whole`.
    fn of(text: Arc<str>, top: Top, whole: Option<Arc<str>>) -> Facts {
        let key = match &top.id {
            Some(id) => EventKey::new(&percent(id)),
            None => EventKey::hash_of(&text),
        };
        Facts {
            text,
            id: top.id,
            region: top.region,
            account: top.account,
            time: top.time,
            key,
            whole,
        }
    }
}

impl Job {
    /// The body, or why the transformation delivers nothing.
    pub fn body(&self) -> Result<&str, &NotDelivered> {
        match &self.body {
            Body::Ready(b) => Ok(b),
            Body::Failed(nd) => Err(nd),
            Body::Whole => Ok(self.event.facts().whole.as_deref().unwrap_or("")),
        }
    }

    /// The event part of the idempotency key (the whole key is this,
    /// `/`, the rule and `/`, the target: [`Router::idempotency_key`]).
    pub fn event_key(&self) -> &str {
        self.event.facts().key.as_str()
    }

    /// Index of the target (in the order of [`RouterBuilder::add_target`]).
    pub fn target_index(&self) -> usize {
        self.slot
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
    /// Some target needs the event's tree (an `InputPath` or a
    /// transformer), and some sends the whole event: known at
    /// [`RouterBuilder::start`], read per matched event.
    needs_tree: bool,
    needs_whole: bool,
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
            needs_tree: false,
            needs_whole: false,
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
                let key_suffix = format!(
                    "/{}/{}",
                    self.rules
                        .get(d.rule)
                        .map_or(String::new(), |r| percent(&r.name)),
                    percent(&d.target.id)
                );
                let constant = match &d.target.input {
                    TargetInput::Constant(c) => Some(Arc::from(c.as_str())),
                    _ => None,
                };
                Slot {
                    key_suffix,
                    constant,
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
            rules: rules_with_needs(self.rules, &slots),
            slots,
            interrupted: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            drain_expired: AtomicBool::new(false),
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

/// `rules` with what their targets need of an event filled in.
fn rules_with_needs(mut rules: Vec<RuleInfo>, slots: &[Slot]) -> Vec<RuleInfo> {
    for rule in &mut rules {
        let inputs = || {
            rule.slots
                .iter()
                .filter_map(|&s| slots.get(s))
                .map(|s| &s.target.input)
        };
        rule.needs_tree =
            inputs().any(|i| matches!(i, TargetInput::Path(_) | TargetInput::Transformer(_)));
        rule.needs_whole = inputs().any(|i| matches!(i, TargetInput::Event));
    }
    rules
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
    /// The drain timeout of [`Router::finish_within`] passed.
    drain_expired: AtomicBool,
    errors: Mutex<Vec<String>>,
}

struct Slot {
    /// `/RULE/TARGET` of the idempotency keys.
    key_suffix: String,
    rule_name: String,
    target: Target,
    url: String,
    deliver: Box<dyn Deliver>,
    dead_letter: Option<Arc<dyn DeadLetterSink>>,
    body_is_json: bool,
    /// The body of a constant `Input`, shared by its deliveries.
    constant: Option<Arc<str>>,
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
    /// Delivery threads waiting on `work`, and producers waiting on
    /// `space`: a notification is made only when someone waits (on Linux
    /// each one is a system call, and most would wake nobody).
    idle_workers: u32,
    waiting_producers: u32,
    /// Delivered jobs, freed by the producer ([`Router::submit_all`]) on
    /// its next visit: their memory was allocated on its thread, and
    /// freeing it there keeps the allocator's per-thread caches working
    /// instead of both threads contending for one arena's lock (with
    /// glibc, a system call every few events). At most
    /// [`RouterConfig::queue_capacity`] jobs; beyond that the delivery
    /// thread frees them itself.
    delivered: Vec<Job>,
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
    /// event as read (a JSON object: kept for the dead-letter record and
    /// the idempotency key); `received` starts the clock of
    /// `MaximumEventAgeInSeconds`. Returns `false` (and adds nothing) when
    /// the text is not valid JSON.
    ///
    /// Reserved variables: the rule ARN is built from the event's `region`
    /// and `account` (us-east-1 / 123456789012 without them), the ingestion
    /// time is the event's `time` (else now).
    ///
    /// The whole event (targets without an input option) is written as
    /// compact JSON straight from the text when it has no repeated key, so
    /// no tree is built unless an `InputPath` or a transformer needs one.
    pub fn prepare(
        &self,
        event_text: &str,
        rules: &[usize],
        received: Instant,
        out: &mut Vec<Job>,
    ) -> bool {
        self.prepare_with(event_text, rules, received, out, false)
    }

    /// [`Router::prepare`] of an event text the caller knows is valid JSON
    /// (it parsed, or matched without early exit): when no target of
    /// `rules` needs the event's tree (every one delivers the whole event
    /// or a constant), the compact body, the top-level fields and the
    /// idempotency key are computed later, once per event, by the first
    /// thread that needs them (a delivery thread), not by the caller.
    /// Bodies, keys and records are the same as [`Router::prepare`]'s.
    /// Returns `false` (and adds nothing) when it finds the text is not
    /// valid JSON.
    pub fn prepare_valid(
        &self,
        event_text: &str,
        rules: &[usize],
        received: Instant,
        out: &mut Vec<Job>,
    ) -> bool {
        self.prepare_with(event_text, rules, received, out, true)
    }

    fn prepare_with(
        &self,
        event_text: &str,
        rules: &[usize],
        received: Instant,
        out: &mut Vec<Job>,
        valid: bool,
    ) -> bool {
        // (Rule and target indexes come from the builder: every rule's
        // slots exist.)
        let (mut any, mut needs_tree, mut needs_whole) = (false, false, false);
        for info in rules.iter().filter_map(|&r| self.shared.rules.get(r)) {
            any |= !info.slots.is_empty();
            needs_tree |= info.needs_tree;
            needs_whole |= info.needs_whole;
        }
        if !any {
            return true;
        }
        let mut tree: Option<Value> = None;
        let info = if valid && !needs_tree {
            Arc::new(EventInfo {
                raw: Arc::from(event_text.trim_matches(JSON_WS)),
                received,
                whole_wanted: needs_whole,
                facts: OnceLock::new(),
            })
        } else {
            let Some((facts, t)) = compute_facts(event_text, needs_whole, needs_tree) else {
                return false;
            };
            tree = t;
            Arc::new(EventInfo::ready(facts, received))
        };
        let empty = Value::Object(Vec::new());
        for &r in rules {
            let Some(rule) = self.shared.rules.get(r) else {
                continue;
            };
            if rule.slots.is_empty() {
                continue;
            }
            let mut ctx: Option<TransformContext> = None;
            for &s in &rule.slots {
                let Some(slot) = self.shared.slots.get(s) else {
                    continue;
                };
                let body = match &slot.target.input {
                    TargetInput::Event => Body::Whole,
                    TargetInput::Constant(_) => {
                        Body::Ready(slot.constant.clone().unwrap_or_else(|| Arc::from("")))
                    }
                    input => {
                        let ctx = ctx.get_or_insert_with(|| TransformContext {
                            rule_name: rule.name.clone(),
                            rule_arn: info.rule_arn(&rule.name),
                            ingestion_time: info.facts().time.clone().unwrap_or_else(now_iso8601),
                        });
                        Body::of(
                            input
                                .apply(tree.as_ref().unwrap_or(&empty), ctx)
                                .map(Arc::from),
                        )
                    }
                };
                out.push(Job {
                    slot: s,
                    body,
                    event: Arc::clone(&info),
                    attempts: 0,
                    last_error: None,
                });
            }
        }
        true
    }

    /// Deliveries of bodies the caller made (no input transformation): one
    /// [`Job`] per `(target index, body)` of `bodies` (indexes from
    /// [`RouterBuilder::add_target`]; unknown ones are skipped), all for
    /// one event. `event_text` (JSON text) is what dead-letter records show
    /// as the event; the event part of the idempotency keys is `event_id`
    /// percent-encoded (a stable hash of `event_text` without one).
    /// Used by the SNS fan-out, whose bodies are notifications.
    pub fn prepare_bodies(
        &self,
        event_text: &str,
        event_id: Option<&str>,
        bodies: &[(usize, Arc<str>)],
        received: Instant,
        out: &mut Vec<Job>,
    ) {
        let t = event_text.trim_matches(JSON_WS);
        let text: Arc<str> = Arc::from(t.replace(['\n', '\r'], " "));
        let key = match event_id {
            Some(id) => EventKey::new(&percent(id)),
            None => EventKey::hash_of(&text),
        };
        let info = Arc::new(EventInfo::ready(
            Facts {
                text,
                id: event_id.map(str::to_string),
                region: None,
                account: None,
                time: None,
                key,
                whole: None,
            },
            received,
        ));
        for (slot, body) in bodies {
            if *slot < self.shared.slots.len() {
                out.push(Job {
                    slot: *slot,
                    body: Body::Ready(Arc::clone(body)),
                    event: Arc::clone(&info),
                    attempts: 0,
                    last_error: None,
                });
            }
        }
    }

    /// The idempotency key of `job`: `EVENT/RULE/TARGET`.
    pub fn idempotency_key(&self, job: &Job) -> String {
        let suffix = self
            .shared
            .slots
            .get(job.slot)
            .map_or("", |s| s.key_suffix.as_str());
        format!("{}{suffix}", job.event_key())
    }

    /// Parses `event_text`, then [`Router::prepare`] and [`Router::submit`]
    /// for the rules it matched; returns the number of deliveries.
    pub fn route(&self, event_text: &str, rules: &[usize]) -> Result<usize, String> {
        evmatch_json::parse_value(event_text).map_err(|e| e.to_string())?;
        let mut jobs = Vec::new();
        self.prepare_valid(event_text, rules, Instant::now(), &mut jobs);
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
        self.submit_all(vec![job]);
    }

    /// [`Router::submit`] for many deliveries, taking each target's lock
    /// once per call rather than once per delivery. Each target receives
    /// its deliveries in the order given.
    pub fn submit_all(&self, jobs: Vec<Job>) {
        let slots = &self.shared.slots;
        // Each target's jobs, in buckets of the right size (no growing:
        // a block makes thousands of jobs).
        let mut counts = vec![0usize; slots.len()];
        for job in &jobs {
            if let Some(c) = counts.get_mut(job.slot) {
                *c += 1;
            }
        }
        let mut buckets: Vec<Vec<Job>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
        for job in jobs {
            let Some(slot) = slots.get(job.slot) else {
                continue;
            };
            // (Not `job.body()`: that would make a deferred body here.)
            if let Body::Failed(nd) = &job.body {
                slot.stats.matched.fetch_add(1, Ordering::Relaxed);
                let f = Failure {
                    code: ErrorCode::TransformationFailed,
                    message: nd.reason.clone(),
                    condition: None,
                };
                self.shared.give_up(slot, &job, &f);
                continue;
            }
            if let Some(b) = buckets.get_mut(job.slot) {
                b.push(job);
            }
        }
        for (slot, bucket) in slots.iter().zip(buckets) {
            if !bucket.is_empty() {
                slot.stats
                    .matched
                    .fetch_add(bucket.len() as u64, Ordering::Relaxed);
                self.enqueue(slot, bucket);
            }
        }
    }

    fn enqueue(&self, slot: &Slot, jobs: Vec<Job>) {
        let cap = self.shared.config.queue_capacity;
        let mut jobs = jobs.into_iter().peekable();
        let mut st = lock(&slot.state);
        // Freed once the lock is released. The next ones go to a buffer
        // made here (as many as last time), so the delivery thread does
        // not grow it.
        let room = st.delivered.len();
        let delivered = std::mem::replace(&mut st.delivered, Vec::with_capacity(room));
        while jobs.peek().is_some() {
            if st.closed || self.shared.aborted.load(Ordering::SeqCst) {
                drop(st);
                for job in jobs {
                    self.shared
                        .give_up(slot, &job, &interrupted_before_trying());
                }
                return;
            }
            let room = cap.saturating_sub(st.queue.len() + st.retries.len());
            if room == 0 {
                st.waiting_producers += 1;
                st = match slot.space.wait_timeout(st, Duration::from_millis(100)) {
                    Ok((g, _)) => g,
                    Err(p) => p.into_inner().0,
                };
                st.waiting_producers -= 1;
                continue;
            }
            let before = st.queue.len();
            st.queue.extend(jobs.by_ref().take(room));
            if st.idle_workers > 0 {
                if st.queue.len() - before > 1 {
                    slot.work.notify_all();
                } else {
                    slot.work.notify_one();
                }
            }
        }
        drop(st);
        drop(delivered);
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
        self.finish_within(None)
    }

    /// [`Router::finish`], giving deliveries in progress, queued ones and
    /// waiting retries at most `limit` (`None`: no limit). When it passes,
    /// queued deliveries and waiting retries go to the dead-letter sink
    /// with `EXHAUSTED_RETRY_CONDITION` `DrainTimeout` (never-tried ones
    /// with `ERROR_CODE` `TIMEOUT`, retried ones with their last error),
    /// and so do deliveries in progress that then fail (they are not
    /// retried). Nothing is dropped silently.
    pub fn finish_within(&self, limit: Option<Duration>) -> Summary {
        for slot in &self.shared.slots {
            let mut st = lock(&slot.state);
            st.closed = true;
            slot.work.notify_all();
            slot.space.notify_all();
        }
        let threads = std::mem::take(&mut *lock(&self.threads));
        if let Some(limit) = limit {
            let deadline = Instant::now() + limit;
            while threads.iter().any(|t| !t.is_finished()) {
                let now = Instant::now();
                if now >= deadline {
                    self.shared.drain_expired.store(true, Ordering::SeqCst);
                    self.wake_all();
                    break;
                }
                std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
            }
        }
        for t in threads {
            let _ = t.join();
        }
        self.summary()
    }

    /// Whether the limit of [`Router::finish_within`] passed with
    /// deliveries left.
    pub fn drain_expired(&self) -> bool {
        self.shared.drain_expired.load(Ordering::SeqCst)
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        self.finish();
    }
}

fn drain_timeout_before_trying() -> Failure {
    Failure {
        code: ErrorCode::Timeout,
        message: "the drain timeout passed before this delivery was tried".into(),
        condition: Some(DRAIN_TIMEOUT),
    }
}

/// `EXHAUSTED_RETRY_CONDITION` of deliveries left when the drain timeout
/// passed.
pub const DRAIN_TIMEOUT: &str = "DrainTimeout";

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
        let facts = job.event.facts();
        let mut o = String::with_capacity(facts.text.len() + 512);
        let field = |o: &mut String, k: &str, v: &str| {
            o.push(if o.is_empty() { '{' } else { ',' });
            write_json_string(k, o);
            o.push(':');
            write_json_string(v, o);
        };
        field(&mut o, "time", &now_iso8601());
        field(
            &mut o,
            "idempotency_key",
            &format!("{}{}", facts.key.as_str(), slot.key_suffix),
        );
        field(&mut o, "rule", &slot.rule_name);
        field(&mut o, "target", &slot.target.id);
        field(&mut o, "RULE_ARN", &job.event.rule_arn(&slot.rule_name));
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
        o.push_str(&facts.text);
        o.push_str(",\"body\":");
        match job.body() {
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
    let mut keys = String::new();
    // Delivered jobs, handed to the producer to free (`State::delivered`).
    let mut done: Vec<Job> = Vec::new();
    let done_cap = shared.config.queue_capacity;
    loop {
        {
            let mut st = lock(&slot.state);
            if st.delivered.len() + done.len() <= done_cap {
                st.delivered.append(&mut done);
            } else if !done.is_empty() {
                // No room to hand them over: free them now, outside the
                // lock, rather than keep them while this thread waits.
                drop(st);
                done.clear();
                st = lock(&slot.state);
            }
            loop {
                let expired = shared.drain_expired.load(Ordering::SeqCst);
                if shared.aborted.load(Ordering::SeqCst) || expired {
                    while let Some(j) = st.queue.pop_front() {
                        let f = if expired {
                            drain_timeout_before_trying()
                        } else {
                            interrupted_before_trying()
                        };
                        failed.push((j, f));
                    }
                }
                if expired {
                    while let Some(mut r) = st.retries.pop() {
                        let (code, message) = r.job.last_error.take().map_or_else(
                            || {
                                (
                                    ErrorCode::Timeout,
                                    "the drain timeout passed while waiting for a retry".into(),
                                )
                            },
                            |e| *e,
                        );
                        failed.push((
                            r.job,
                            Failure {
                                code,
                                message,
                                condition: Some(DRAIN_TIMEOUT),
                            },
                        ));
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
                    if st.waiting_producers > 0 {
                        slot.space.notify_all();
                    }
                    break;
                }
                let now = Instant::now();
                if st.retries.peek().is_some_and(|r| r.due <= now) {
                    if let Some(r) = st.retries.pop() {
                        slot.stats.retried.fetch_add(1, Ordering::SeqCst);
                        batch.push(r.job);
                    }
                    if st.waiting_producers > 0 {
                        slot.space.notify_all();
                    }
                    break;
                }
                if !st.queue.is_empty() {
                    while batch.len() < max_batch {
                        match st.queue.pop_front() {
                            Some(j) => batch.push(j),
                            None => break,
                        }
                    }
                    if st.waiting_producers > 0 {
                        slot.space.notify_all();
                    }
                    break;
                }
                if st.closed && st.retries.is_empty() {
                    slot.work.notify_all();
                    return;
                }
                st.idle_workers += 1;
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
                st.idle_workers -= 1;
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
            // The batch's keys, in one buffer.
            keys.clear();
            let mut ends = Vec::with_capacity(batch.len());
            for j in &batch {
                keys.push_str(j.event_key());
                keys.push_str(&slot.key_suffix);
                ends.push(keys.len());
            }
            let deliveries: Vec<Delivery<'_>> = batch
                .iter()
                .zip(ends.iter().scan(0, |from, &end| {
                    let k = keys.get(*from..end).unwrap_or("");
                    *from = end;
                    Some(k)
                }))
                .map(|(j, key)| Delivery {
                    body: j.body().unwrap_or(""),
                    rule_name: &slot.rule_name,
                    target_id: &slot.target.id,
                    event_id: j.event.facts().id.as_deref(),
                    idempotency_key: key,
                    attempt: j.attempts + 1,
                    body_is_json: slot.body_is_json,
                })
                .collect();
            slot.deliver.deliver_batch(&deliveries, &mut results);
        }
        let now = Instant::now();
        let mut again: Vec<(Instant, Job)> = Vec::new();
        let mut results_iter = results.drain(..);
        let mut delivered = 0u64;
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
                    delivered += 1;
                    done.push(job);
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
            } else if shared.drain_expired.load(Ordering::SeqCst) {
                Err(Some(DRAIN_TIMEOUT))
            } else if retries_done >= policy.maximum_retry_attempts {
                Err(Some("MaximumRetryAttempts"))
            } else {
                let due = now + backoff(&shared.config, job.attempts, &mut rng);
                let limit = job.event.received
                    + Duration::from_secs(u64::from(policy.maximum_event_age_seconds));
                if due > limit {
                    Err(Some("MaximumEventAgeInSeconds"))
                } else {
                    Ok(due)
                }
            };
            match condition {
                Ok(due) => {
                    job.last_error = Some(Box::new((e.code, e.message)));
                    again.push((due, job));
                }
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
        slot.stats.delivered.fetch_add(delivered, Ordering::SeqCst);
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

/// A stable 64-bit hash of the event text, for events without an `id`
/// (ours, not cryptographic: the same bytes give the same key in every
/// run and on every platform).
pub fn stable_hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mix = |h: u64, w: u64| {
        let h = (h ^ w).wrapping_mul(K);
        h ^ (h >> 29)
    };
    let word = |c: &[u8]| u64::from_le_bytes(<[u8; 8]>::try_from(c).unwrap_or([0; 8]));
    let mut h = 0x243f_6a88_85a3_08d3 ^ (bytes.len() as u64).wrapping_mul(K);
    let mut rest = bytes;
    if bytes.len() >= 64 {
        // Four independent lanes of 8 bytes (four times the speed of one
        // chain of multiplications), folded into one.
        let mut lanes = [h, h ^ K, h.rotate_left(17), h.rotate_left(41) ^ K];
        let mut blocks = bytes.chunks_exact(32);
        for b in &mut blocks {
            for (l, c) in lanes.iter_mut().zip(b.chunks_exact(8)) {
                *l = mix(*l, word(c));
            }
        }
        rest = blocks.remainder();
        h = lanes.iter().fold(h, |h, &l| mix(h, l));
    }
    let mut chunks = rest.chunks_exact(8);
    for c in &mut chunks {
        h = mix(h, word(c));
    }
    let mut last = [0u8; 8];
    for (d, b) in last.iter_mut().zip(chunks.remainder()) {
        *d = *b;
    }
    h = mix(h, u64::from_le_bytes(last));
    h = (h ^ (h >> 32)).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The top-level string members the router reads.
#[derive(Debug, Default)]
struct Top {
    id: Option<String>,
    region: Option<String>,
    account: Option<String>,
    time: Option<String>,
}

impl Top {
    fn of(v: &Value) -> Top {
        let field = |k: &str| match v.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        Top {
            id: field("id"),
            region: field("region"),
            account: field("account"),
            time: field("time"),
        }
    }

    fn slot(&mut self, key: &str) -> Option<&mut Option<String>> {
        match key {
            "id" => Some(&mut self.id),
            "region" => Some(&mut self.region),
            "account" => Some(&mut self.account),
            "time" => Some(&mut self.time),
            _ => None,
        }
    }
}

const JSON_WS: [char; 4] = [' ', '\t', '\n', '\r'];

/// The bytes [`canonical`] stops at: JSON's structure and whitespace.
#[allow(clippy::indexing_slicing)] // constant indices into a 256-entry table
static STRUCTURAL: [bool; 256] = {
    let mut t = [false; 256];
    let bytes = *b"\"{}[],: \t\n\r";
    let mut k = 0;
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
};

/// When the (valid JSON) event text is already exactly the compact form
/// `transform::to_compact` would write (no whitespace between tokens,
/// strings escaped the same way, no repeated key in any object), its
/// top-level fields; else `None`. One pass over the bytes, no decoding.
fn canonical(text: &str) -> Option<Top> {
    let b = text.trim_matches(JSON_WS).as_bytes();
    // Most events have no whitespace and no escape at all: then every
    // string is copied as it is and only repeated keys need a look.
    if memchr::memchr3(b' ', b'\t', b'\r', b).is_none()
        && memchr::memchr2(b'\\', b'\n', b).is_none()
    {
        return canonical_plain(b);
    }
    canonical_general(b)
}

/// [`canonical`] of any valid JSON text (trimmed).
fn canonical_general(b: &[u8]) -> Option<Top> {
    // (is object, first key index) per open container.
    let mut frames: Vec<(bool, usize)> = Vec::with_capacity(8);
    let mut keys: Vec<&[u8]> = Vec::with_capacity(32);
    let mut expect_key = false;
    let mut top = Top::default();
    let mut top_key: Option<&'static str> = None;
    let mut i = 0usize;
    loop {
        // Numbers and literals are copied verbatim: skip to the next
        // structural byte.
        i += b
            .get(i..)
            .unwrap_or(&[])
            .iter()
            .position(|&c| STRUCTURAL.get(usize::from(c)).copied().unwrap_or(true))
            .unwrap_or(b.len());
        let Some(&c) = b.get(i) else { break };
        match c {
            b'"' => {
                let start = i + 1;
                let mut j = start;
                let mut escaped = false;
                loop {
                    // Strings in events are short: a plain loop beats SIMD setup.
                    j += b.get(j..)?.iter().position(|&c| c == b'"' || c == b'\\')?;
                    if b.get(j) == Some(&b'"') {
                        break;
                    }
                    escaped = true;
                    match b.get(j + 1)? {
                        b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => j += 2,
                        b'u' => {
                            // Only controls without a short form, upper-case hex.
                            let hex = b.get(j + 2..j + 6)?;
                            let ok = hex.starts_with(b"00")
                                && matches!(hex.get(2), Some(b'0' | b'1'))
                                && hex.get(3).is_some_and(|h| {
                                    h.is_ascii_digit() || (b'A'..=b'F').contains(h)
                                })
                                && !matches!(hex, b"0008" | b"0009" | b"000A" | b"000C" | b"000D");
                            if !ok {
                                return None;
                            }
                            j += 6;
                        }
                        _ => return None,
                    }
                }
                let s = b.get(start..j)?;
                let in_object = frames.last().is_some_and(|f| f.0);
                if in_object && expect_key {
                    let from = frames.last().map_or(0, |f| f.1);
                    let own = keys.get(from..).unwrap_or(&[]);
                    let seen = own
                        .iter()
                        .any(|k| k.len() == s.len() && k.first() == s.first() && *k == s);
                    if own.len() >= 256 || seen {
                        return None;
                    }
                    keys.push(s);
                    expect_key = false;
                    top_key = None;
                    if frames.len() == 1 {
                        top_key = match s {
                            b"id" => Some("id"),
                            b"region" => Some("region"),
                            b"account" => Some("account"),
                            b"time" => Some("time"),
                            _ => None,
                        };
                    }
                } else if let Some(k) = top_key.take() {
                    if escaped {
                        return None;
                    }
                    let v = std::str::from_utf8(s).ok()?;
                    if let Some(slot) = top.slot(k) {
                        *slot = (!v.is_empty()).then(|| v.to_string());
                    }
                }
                i = j + 1;
                continue;
            }
            b'{' => {
                frames.push((true, keys.len()));
                expect_key = true;
            }
            b'[' => frames.push((false, keys.len())),
            b'}' | b']' => {
                let (_, from) = frames.pop()?;
                keys.truncate(from);
            }
            b',' => {
                expect_key = frames.last().is_some_and(|f| f.0);
                top_key = None;
            }
            b' ' | b'\t' | b'\n' | b'\r' => return None,
            _ => {}
        }
        if c != b':' {
            // A top-level member whose value is not a string.
            top_key = None;
        }
        i += 1;
    }
    frames.is_empty().then_some(top)
}

/// Bit masks of one 64-byte block: bit `k` of `.0` is set when byte `k`
/// is a quote, of `.1` when it is `{`, `}` or `:`, of `.2` when it is a
/// space or a control (whitespace, in valid JSON), of `.3` when it is a
/// backslash.
#[cfg(target_arch = "x86_64")]
fn block_masks(chunk: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };
    let (mut quotes, mut marks, mut space, mut escape) = (0u64, 0u64, 0u64, 0u64);
    for (k, part) in chunk.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86_64 baseline; `part` is 16
        // readable bytes and the load is unaligned.
        let (q, m, w, e) = unsafe {
            let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
            let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8)));
            let m = _mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'{' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'}' as i8)),
                ),
                _mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8)),
            ));
            let w = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x20)), v));
            let e = _mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8)));
            (q, m, w, e)
        };
        quotes |= u64::from(q as u16) << (16 * k);
        marks |= u64::from(m as u16) << (16 * k);
        space |= u64::from(w as u16) << (16 * k);
        escape |= u64::from(e as u16) << (16 * k);
    }
    (quotes, marks, space, escape)
}

/// Bit masks of one 64-byte block (see the x86_64 version).
#[cfg(not(target_arch = "x86_64"))]
fn block_masks(chunk: &[u8; 64]) -> (u64, u64, u64, u64) {
    let (mut quotes, mut marks, mut space, mut escape) = (0u64, 0u64, 0u64, 0u64);
    for (k, &c) in chunk.iter().enumerate() {
        quotes |= u64::from(c == b'"') << k;
        marks |= u64::from(matches!(c, b'{' | b'}' | b':')) << k;
        space |= u64::from(c <= 0x20) << k;
        escape |= u64::from(c == b'\\') << k;
    }
    (quotes, marks, space, escape)
}

/// Bit masks of one 64-byte block with AVX2 (see [`block_masks`]).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn block_masks_avx2(chunk: &[u8; 64]) -> (u64, u64, u64, u64) {
    use std::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };
    let (mut quotes, mut marks, mut space, mut escape) = (0u64, 0u64, 0u64, 0u64);
    for (k, part) in chunk.chunks_exact(32).enumerate() {
        // SAFETY: `part` is 32 readable bytes and the load is unaligned;
        // the caller vouches for AVX2.
        let (q, m, w, e) = unsafe {
            let v = _mm256_loadu_si256(part.as_ptr().cast::<__m256i>());
            let q = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8)));
            let m = _mm256_movemask_epi8(_mm256_or_si256(
                _mm256_or_si256(
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'{' as i8)),
                    _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'}' as i8)),
                ),
                _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b':' as i8)),
            ));
            let w = _mm256_movemask_epi8(_mm256_cmpeq_epi8(
                _mm256_min_epu8(v, _mm256_set1_epi8(0x20)),
                v,
            ));
            let e = _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8)));
            (q, m, w, e)
        };
        quotes |= u64::from(q as u32) << (32 * k);
        marks |= u64::from(m as u32) << (32 * k);
        space |= u64::from(w as u32) << (32 * k);
        escape |= u64::from(e as u32) << (32 * k);
    }
    (quotes, marks, space, escape)
}

/// The prefix XOR of `quotes` (bit `k` is the XOR of bits `0..=k`) by a
/// carry-less multiplication with all ones.
///
/// Only callable where PCLMULQDQ is enabled (or detected).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "pclmulqdq")]
#[inline]
fn prefix_xor_clmul(quotes: u64) -> u64 {
    use std::arch::x86_64::{_mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x};
    let r = _mm_clmulepi64_si128(_mm_set_epi64x(0, quotes as i64), _mm_set_epi64x(0, -1), 0);
    _mm_cvtsi128_si64(r) as u64
}

/// The low `n` (8 to 64) bits of `w`, by BZHI. Only callable where BMI2
/// is enabled (or detected).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
#[inline]
fn low_bits_bmi2(w: u64, n: u32) -> u64 {
    std::arch::x86_64::_bzhi_u64(w, n)
}

/// The low `n` (8 to 64) bits of `w`.
#[inline(always)]
fn low_bits(w: u64, n: u32) -> u64 {
    w & u64::MAX >> (64 - n.clamp(1, 64))
}

/// The prefix XOR of `quotes` with shifts.
#[inline(always)]
fn prefix_xor(quotes: u64) -> u64 {
    let mut inside = quotes;
    for shift in [1, 2, 4, 8, 16, 32] {
        inside ^= inside << shift;
    }
    inside
}

/// A key's opening quote and bytes as a little-endian word, when the
/// key has at most 7 bytes (else the quote and its first 7): `b` is the
/// text, `open` and `len` the key's opening quote and length.
#[inline(always)]
fn key_word(b: &[u8], open: usize, len: usize, low: impl Fn(u64, u32) -> u64) -> u64 {
    // 1 to 8 bytes: `low` keeps 8 to 64 bits.
    let bits = 8 * (len as u32 + 1).min(8);
    match b
        .get(open..open + 8)
        .and_then(|t| <[u8; 8]>::try_from(t).ok())
    {
        Some(w) => low(u64::from_le_bytes(w), bits),
        // A key within the last 8 bytes of the text.
        None => b
            .get(open..open + (len + 1).min(8))
            .unwrap_or(&[])
            .iter()
            .rev()
            .fold(0u64, |w, &c| w << 8 | u64::from(c)),
    }
}

/// Whether the key `start..start + len` of `b` is one of the keys whose
/// opening quotes are at `keys`.
#[cold]
#[inline(never)]
fn repeats(b: &[u8], keys: &[u32], start: usize, len: usize) -> bool {
    // Without escapes a key ends at the first quote after its start.
    let s = b.get(start..=start + len);
    keys.iter().any(|&k| {
        let st = k as usize + 1;
        b.get(st..=st + len) == s
    })
}

/// Reads a top-level member's string value (the colon at `colon`) into
/// `slot`; `None` when it is not valid.
#[inline(never)]
fn read_top(b: &[u8], colon: usize, slot: &mut Option<String>) -> Option<()> {
    if b.get(colon + 1) == Some(&b'"') {
        let vstart = colon + 2;
        let vlen = memchr::memchr(b'"', b.get(vstart..)?)?;
        let v = std::str::from_utf8(b.get(vstart..vstart + vlen)?).ok()?;
        *slot = (!v.is_empty()).then(|| v.to_string());
    }
    Some(())
}

/// [`key_word`] of the top-level keys the router reads.
#[allow(clippy::indexing_slicing)] // constant keys, `k` below their length
const fn word_of(key: &[u8]) -> u64 {
    let mut w = 0u64;
    assert!(key.len() < 8);
    let mut k = key.len();
    while k > 0 {
        k -= 1;
        w = w << 8 | key[k] as u64;
    }
    w << 8 | b'"' as u64
}

/// [`canonical`] of a valid JSON text (trimmed) without backslash or
/// whitespace between tokens (`None` when it has some; spaces in
/// strings are fine): no string needs re-escaping, so the text is
/// compact unless an object repeats a key. Without escapes the quotes
/// alone tell strings apart
/// (64 bytes at a time), a colon outside strings ends a key (whose
/// closing quote is right before it and whose opening quote is the last
/// one opening a string before that), and only objects need tracking:
/// keys belong to the innermost open one. Each open object has a 64-bit
/// filter of its keys (one bit per key, from its length and its opening
/// quote and first 7 bytes); only a key whose bit is already set is
/// compared with the object's earlier keys. With AVX2, PCLMULQDQ, BMI
/// and LZCNT (checked at run time) the blocks' masks and key positions
/// take fewer instructions; the answers are the same.
fn canonical_plain(b: &[u8]) -> Option<Top> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("pclmulqdq")
        && std::arch::is_x86_feature_detected!("bmi1")
        && std::arch::is_x86_feature_detected!("bmi2")
        && std::arch::is_x86_feature_detected!("lzcnt")
    {
        // SAFETY: both features were just detected.
        return unsafe { canonical_plain_avx2(b) };
    }
    plain_scan(b, block_masks, prefix_xor, low_bits)
}

/// [`canonical_plain`] compiled for AVX2, PCLMULQDQ, BMI1, BMI2 and
/// LZCNT (all Haswell and later have them).
///
/// # Safety
/// The CPU must support them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,pclmulqdq,bmi1,bmi2,lzcnt")]
unsafe fn canonical_plain_avx2(b: &[u8]) -> Option<Top> {
    plain_scan(
        b,
        // SAFETY: this function runs only where AVX2 is supported.
        |chunk| unsafe { block_masks_avx2(chunk) },
        |q| prefix_xor_clmul(q),
        |w, n| low_bits_bmi2(w, n),
    )
}

/// The body of [`canonical_plain`], given how to compute a block's masks
/// and a prefix XOR.
#[inline(always)]
fn plain_scan(
    b: &[u8],
    masks: impl Fn(&[u8; 64]) -> (u64, u64, u64, u64),
    prefix: impl Fn(u64) -> u64,
    low: impl Fn(u64, u32) -> u64 + Copy,
) -> Option<Top> {
    // Small fixed-size stacks (no allocation, no growth checks, little
    // to clear); deeper events, more keys open at once or longer keys
    // (`None`) take the general path.
    const DEPTH: usize = 32;
    const KEYS: usize = 128;
    const ID: u64 = word_of(b"id");
    const REGION: u64 = word_of(b"region");
    const ACCOUNT: u64 = word_of(b"account");
    const TIME: u64 = word_of(b"time");
    // Per open object: the enclosing object's filter and its own first
    // key's index.
    let mut frames = [(0u64, 0usize); DEPTH];
    let mut depth = 0usize;
    // The innermost open object's filter.
    let mut filter = 0u64;
    // Per open key: its opening quote's index in `b`.
    let mut keys = [0u32; KEYS];
    let mut nkeys = 0usize;
    if b.len() > u32::MAX as usize {
        return None;
    }
    let mut top = Top::default();
    // Top-level members only of a top-level object (not of objects in a
    // top-level array).
    let top_depth = if b.first() == Some(&b'{') { 1 } else { 0 };
    // All ones while a string is open at the end of the previous block.
    let mut in_string = 0u64;
    // The last quote opening a string in the blocks before.
    let mut last_open = 0usize;
    // (Padding: a byte that is nothing the scan looks for.)
    let mut pad = [b'0'; 64];
    let mut base = 0usize;
    while base < b.len() {
        let block: &[u8; 64] = match b.get(base..).and_then(|t| t.first_chunk::<64>()) {
            Some(block) => block,
            None => {
                // The last, partial block, padded.
                let part = b.get(base..).unwrap_or(&[]);
                if let Some(d) = pad.get_mut(..part.len()) {
                    d.copy_from_slice(part);
                }
                &pad
            }
        };
        let (quotes, marks, space, escape) = masks(block);
        // Inside strings: the prefix XOR of the quotes (opening quote
        // included, closing one not).
        let inside = prefix(quotes) ^ in_string;
        // An escape anywhere or whitespace between tokens: not plain.
        if escape | space & !inside != 0 {
            return None;
        }
        in_string = ((inside as i64) >> 63) as u64;
        let opens = quotes & inside;
        let mut bits = marks & !inside;
        while bits != 0 {
            let r = bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let c = block.get(r & 63).copied().unwrap_or(b':');
            if c == b':' {
                // ':' right after a key's closing quote.
                let before = opens & ((1u64 << r) - 1);
                let open = if before != 0 {
                    base + 63 - before.leading_zeros() as usize
                } else {
                    last_open
                };
                let i = base + r;
                let len = i.checked_sub(open + 2)?;
                let w = key_word(b, open, len, low);
                let bit = 1u64 << ((w ^ len as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58);
                if filter & bit != 0 {
                    // Maybe a repeat: compare with the object's keys.
                    let from = frames.get(depth.checked_sub(1)?)?.1;
                    if repeats(b, keys.get(from..nkeys)?, open + 1, len) {
                        return None;
                    }
                }
                filter |= bit;
                // (Below 2^32: the text is.)
                *keys.get_mut(nkeys)? = open as u32;
                nkeys += 1;
                if depth == top_depth && len < 8 {
                    let slot = match w {
                        ID => &mut top.id,
                        REGION => &mut top.region,
                        ACCOUNT => &mut top.account,
                        TIME => &mut top.time,
                        _ => continue,
                    };
                    read_top(b, i, slot)?;
                }
            } else if c == b'{' {
                *frames.get_mut(depth)? = (filter, nkeys);
                depth += 1;
                filter = 0;
            } else {
                depth = depth.checked_sub(1)?;
                (filter, nkeys) = *frames.get(depth)?;
            }
        }
        if opens != 0 {
            last_open = base + 63 - opens.leading_zeros() as usize;
        }
        base += 64;
    }
    (depth == 0).then_some(top)
}

/// Writes the event as compact JSON (as `transform::to_compact` of its
/// tree would) straight from the text, when `write`, and reads its
/// top-level fields. `None` when the text is invalid or an object has a
/// repeated key (last-wins needs the tree) or more than 256 keys.
fn compact_stream(text: &str, write: bool, out: &mut String, top: &mut Top) -> Option<()> {
    struct Frame {
        object: bool,
        first: bool,
        keys_from: usize,
    }
    let mut r = evmatch_json::Reader::new(text);
    let mut stack: Vec<Frame> = Vec::with_capacity(8);
    let mut keys: Vec<std::borrow::Cow<'_, str>> = Vec::with_capacity(32);
    let mut top_key: Option<&'static str> = None;
    while let Some(tok) = r.next_token().ok()? {
        use evmatch_json::Token;
        if let Token::Key(k) = tok {
            let f = stack.last_mut()?;
            if !f.first && write {
                out.push(',');
            }
            f.first = false;
            let own = keys.get(f.keys_from..).unwrap_or(&[]);
            if own.len() >= 256 || own.contains(&k) {
                return None;
            }
            if write {
                write_json_string(&k, out);
                out.push(':');
            }
            top_key = None;
            if stack.len() == 1 {
                top_key = match k.as_ref() {
                    "id" => Some("id"),
                    "region" => Some("region"),
                    "account" => Some("account"),
                    "time" => Some("time"),
                    _ => None,
                };
            }
            keys.push(k);
            continue;
        }
        match tok {
            Token::EndObject => {
                let f = stack.pop()?;
                keys.truncate(f.keys_from);
                if write {
                    out.push('}');
                }
            }
            Token::EndArray => {
                stack.pop()?;
                if write {
                    out.push(']');
                }
            }
            value => {
                if let Some(f) = stack.last_mut().filter(|f| !f.object) {
                    if !f.first && write {
                        out.push(',');
                    }
                    f.first = false;
                }
                let key = top_key.take();
                match value {
                    Token::StartObject => {
                        stack.push(Frame {
                            object: true,
                            first: true,
                            keys_from: keys.len(),
                        });
                        if write {
                            out.push('{');
                        }
                    }
                    Token::StartArray => {
                        stack.push(Frame {
                            object: false,
                            first: true,
                            keys_from: keys.len(),
                        });
                        if write {
                            out.push('[');
                        }
                    }
                    Token::String(v) => {
                        if let Some(slot) = key.and_then(|k| top.slot(k)) {
                            *slot = (!v.is_empty()).then(|| v.to_string());
                        }
                        if write {
                            write_json_string(&v, out);
                        }
                    }
                    Token::Number(n) => {
                        if write {
                            out.push_str(n);
                        }
                    }
                    Token::Bool(b) => {
                        if write {
                            out.push_str(if b { "true" } else { "false" });
                        }
                    }
                    _ => {
                        if write {
                            out.push_str("null");
                        }
                    }
                }
            }
        }
    }
    r.finish().ok()?;
    Some(())
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
    fn spec_6_hash_keys_are_h64_and_sixteen_hex_digits() {
        for text in ["", "{}", r#"{"a":1}"#, "x".repeat(200).as_str()] {
            let want = format!("h64-{:016x}", stable_hash(text.as_bytes()));
            assert_eq!(hash_key(text), want);
        }
    }

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
    fn streamed_compact_form_is_the_trees() {
        for e in [
            r#"{"a":1}"#,
            r#" { "id" : "x\u0041\n" , "n": [1, 2.50, -3e2, {"b": null, "c": [true, false, []]}, {}],
                 "s": "é\"\\/\u0001", "region": "eu-west-1", "time": "T" } "#,
            r#"{"nested": {"k": {"k": {"k": [[[]]]}}}, "e": ""}"#,
        ] {
            let tree = evmatch_json::parse_value(e).unwrap();
            let (mut out, mut top) = (String::new(), Top::default());
            compact_stream(e, true, &mut out, &mut top).unwrap();
            assert_eq!(out, transform::to_compact(&tree), "{e}");
            let t = Top::of(&tree);
            assert_eq!((top.id, top.region, top.time), (t.id, t.region, t.time));
        }
        // Text already in the compact form is used as it is.
        for (e, is) in [
            (
                r#"{"a":1,"s":"x\u001F\n\"é","b":[1,{"a":2}],"id":"i","time":"T"}"#,
                true,
            ),
            (r#"  {"a":[],"o":{}}  "#, true),
            (r#"{"a": 1}"#, false),
            (r#"{"s":"\/"}"#, false),
            (r#"{"s":"\u0041"}"#, false),
            (r#"{"s":"\u001f"}"#, false),
            (r#"{"s":"\u000A"}"#, false),
            (r#"{"a":1,"a":2}"#, false),
            (r#"{"id":"a\"b"}"#, false),
        ] {
            let tree = evmatch_json::parse_value(e).unwrap();
            let c = canonical(e);
            assert_eq!(c.is_some(), is, "{e}");
            if let Some(top) = c {
                assert_eq!(e.trim(), transform::to_compact(&tree), "{e}");
                let t = Top::of(&tree);
                assert_eq!((top.id, top.time), (t.id, t.time));
            }
        }
        // Repeated keys (last wins) and invalid text take the tree's path.
        for e in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"{"a":"#,
            r#"{"a":1} x"#,
        ] {
            let (mut out, mut top) = (String::new(), Top::default());
            assert!(compact_stream(e, true, &mut out, &mut top).is_none(), "{e}");
        }
        // The same key in sibling objects is fine.
        let (mut out, mut top) = (String::new(), Top::default());
        assert!(compact_stream(r#"[{"a":1},{"a":2}]"#, true, &mut out, &mut top).is_some());
    }

    #[test]
    fn deferred_whole_event_is_the_trees_compact_form_past_the_plain_scans_limits() {
        // More keys open at once than the plain scan holds, deeper than
        // its stack, a key longer than it compares, a repeat after many
        // keys: the general path still writes the tree's compact form.
        let many: Vec<String> = (0..300).map(|i| format!("\"k{i}\":{i}")).collect();
        let deep = format!("{}1{}", "{\"d\":[".repeat(40), "]}".repeat(40));
        let long = format!("{{\"{}\":1,\"b\":2}}", "x".repeat(70_000));
        let cases = [
            format!("{{{}}}", many.join(",")),
            format!("{{{},\"k7\":\"again\"}}", many.join(",")),
            format!(
                "{{\"o\":{{{}}},\"p\":{{{}}}}}",
                many.join(","),
                many.join(",")
            ),
            deep,
            long,
            r#"{"a":1,"b":{"a":2},"a":3}"#.to_string(),
        ];
        for e in &cases {
            let info = EventInfo {
                raw: Arc::from(e.as_str()),
                received: Instant::now(),
                whole_wanted: true,
                facts: OnceLock::new(),
            };
            let tree = evmatch_json::parse_value(e).unwrap();
            let want = transform::to_compact(&tree);
            assert_eq!(info.facts().whole.as_deref(), Some(want.as_str()));
        }
    }

    #[test]
    fn plain_scan_agrees_with_the_general_one() {
        let cases = [
            r#"{"a":1,"b":{"a":2,"c":[{"a":1,"b":2},{"a":3}]},"id":"x","time":"t"}"#,
            r#"{"a":1,"b":2,"a":3}"#,
            r#"{"o":{"k":"v","k":"w"}}"#,
            r#"[{"a":1},{"a":1}]"#,
            r#"{"s":"{\"","t":"}:"}"#,
            r#"{"s":"a:b","x":"{","y":"}","z":[":","{"]}"#,
            r#"{"id":5,"region":"r","account":"","time":{"id":"in"}}"#,
            r#"{"":1,"e":{},"f":[],"g":[[],[{}]]}"#,
            r#"{"region":"eu","account":"1","id":"é","k":"x"}"#,
            r#"{"x":"a","x":"a"}"#,
            r#"[]"#,
            r#"[{"id":"in"},{"time":"t"}]"#,
            r#""top""#,
            r#"{"a":[1,2,{"b":true,"c":null,"b":false}]}"#,
        ];
        for e in cases {
            let plain = !e.contains(['\\', ' ']);
            let g = canonical_general(e.as_bytes());
            if plain {
                let p = canonical_plain(e.as_bytes());
                assert_eq!(p.is_some(), g.is_some(), "{e}");
                if let (Some(p), Some(g)) = (p, &g) {
                    assert_eq!(
                        (&p.id, &p.region, &p.account, &p.time),
                        (&g.id, &g.region, &g.account, &g.time),
                        "{e}"
                    );
                }
            }
            // Whatever path: compact and unrepeated exactly when the
            // tree's compact form is the text.
            let tree = evmatch_json::parse_value(e).unwrap();
            let same = transform::to_compact(&tree) == e;
            let dup = e.contains(r#""a":1,"b":2,"a""#)
                || e.contains(r#""k":"v","k""#)
                || e.contains(r#""x":"a","x""#)
                || e.contains(r#""b":true,"c":null,"b""#);
            assert_eq!(canonical(e).is_some(), same && !dup, "{e}");
        }
        // Strings, keys and objects across the 64-byte blocks.
        for pad in 0..140 {
            let p = "p".repeat(pad);
            for tail in [
                r#""o":{"k{":"v:}","q":[{"k{":1},{"z":"}"}]},"id":"i:d","time":"{t}"}"#,
                r#""o":{"k{":"v:}","k{":1},"id":"x"}"#,
                r#""id":"a","o":{"a":{"b":{}},"a":2}}"#,
                r#""x":[[[{"a":"b","c":"d"}]]],"e":{"f":{"g":"h","g":"h"}}}"#,
            ] {
                let e = format!(r#"{{"{p}":"{p}:{{","{p}k":1,{tail}"#);
                let (pl, g) = (
                    canonical_plain(e.as_bytes()),
                    canonical_general(e.as_bytes()),
                );
                assert_eq!(pl.is_some(), g.is_some(), "{e}");
                if let (Some(pl), Some(g)) = (pl, g) {
                    assert_eq!((pl.id, pl.time), (g.id, g.time), "{e}");
                }
            }
        }
        // 256 keys in one object: the tree's path.
        let mut big = String::from("{");
        for k in 0..300 {
            if k > 0 {
                big.push(',');
            }
            big.push_str(&format!("\"k{k}\":{k}"));
        }
        big.push('}');
        assert!(canonical(&big).is_none());
    }

    /// Random compact JSON without escapes: keys from a small set (so
    /// objects repeat keys now and then), strings holding `{`, `}`, `:`
    /// and `,`, long enough to cross 64-byte blocks.
    fn next(rng: &mut u64, n: u64) -> u64 {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng % n
    }

    fn random_json(rng: &mut u64, depth: u32, out: &mut String) {
        match next(rng, if depth > 3 { 4 } else { 6 }) {
            0 => out.push_str(["1", "-2.5e3", "true", "null"][next(rng, 4) as usize]),
            1..=3 => {
                out.push('"');
                for _ in 0..next(rng, 40) {
                    out.push(['a', '{', '}', ':', ',', 'é', '[', 'z'][next(rng, 8) as usize]);
                }
                out.push('"');
            }
            4 => {
                out.push('[');
                for k in 0..next(rng, 4) {
                    if k > 0 {
                        out.push(',');
                    }
                    random_json(rng, depth + 1, out);
                }
                out.push(']');
            }
            _ => {
                out.push('{');
                for k in 0..next(rng, 5) {
                    if k > 0 {
                        out.push(',');
                    }
                    let key =
                        ["id", "k", "time", "k{", "x:y", "region", "a"][next(rng, 7) as usize];
                    out.push('"');
                    out.push_str(key);
                    out.push_str("\":");
                    random_json(rng, depth + 1, out);
                }
                out.push('}');
            }
        }
    }

    #[test]
    fn plain_scan_agrees_with_the_general_one_on_random_events() {
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let (mut some, mut none) = (0, 0);
        for _ in 0..3000 {
            let mut e = String::from("{\"p\":\"");
            e.push_str(&"x".repeat(next(&mut rng, 70) as usize));
            e.push_str("\",\"v\":");
            random_json(&mut rng, 0, &mut e);
            // A top-level member the router reads, maybe twice.
            for _ in 0..next(&mut rng, 3) {
                let key = ["id", "time", "region", "account"][next(&mut rng, 4) as usize];
                e.push_str(&format!(",\"{key}\":"));
                random_json(&mut rng, 3, &mut e);
            }
            e.push('}');
            assert!(evmatch_json::parse_value(&e).is_ok(), "{e}");
            let (p, g) = (
                canonical_plain(e.as_bytes()),
                canonical_general(e.as_bytes()),
            );
            assert_eq!(p.is_some(), g.is_some(), "{e}");
            match (p, g) {
                (Some(p), Some(g)) => {
                    some += 1;
                    assert_eq!(
                        (p.id, p.region, p.account, p.time),
                        (g.id, g.region, g.account, g.time),
                        "{e}"
                    );
                }
                _ => none += 1,
            }
        }
        // Both outcomes are exercised.
        assert!(some > 1000 && none > 100, "{some} {none}");
    }

    /// Keys for the differential test: short ones, ones the router reads,
    /// and long ones that agree in their length and last 8 bytes (the
    /// compact check's key word) but not before.
    const DIFF_KEYS: [&str; 14] = [
        "x",
        "y",
        "z",
        "id",
        "time",
        "region",
        "account",
        "",
        "k{:}",
        "abcdefgh",
        "1bcdefgh",
        "left-part-same-tail-12345678",
        "righ-part-same-tail-12345678",
        "a-rather-long-key-of-more-than-sixty-four-bytes-crossing-a-block-edge",
    ];

    /// A random JSON value: `ws` puts whitespace between tokens now and
    /// then, `esc` escapes in strings (canonical ones and not).
    fn diff_json(rng: &mut u64, depth: u32, ws: bool, esc: bool, out: &mut String) {
        let space = |rng: &mut u64, out: &mut String| {
            if ws && next(rng, 6) == 0 {
                out.push_str([" ", "\n", "\t", "\r\n", "  "][next(rng, 5) as usize]);
            }
        };
        space(rng, out);
        let deep = depth > 36 || (depth > 4 && next(rng, 8) != 0);
        match next(rng, if deep { 4 } else { 7 }) {
            0 => out.push_str(["1", "-2.5e3", "true", "null", "0"][next(rng, 5) as usize]),
            1..=3 => {
                out.push('"');
                for _ in 0..next(rng, 30) {
                    let plain = ["a", "{", "}", ":", ",", "é", "[", " ", "a b", "\"x\":"];
                    let escaped = [
                        "\\\"", "\\\\", "\\n", "\\u0001", "\\u00e9", "\\/", "\\u001F",
                    ];
                    if esc && next(rng, 5) == 0 {
                        out.push_str(escaped[next(rng, escaped.len() as u64) as usize]);
                    } else {
                        let p = plain[next(rng, plain.len() as u64 - 1) as usize];
                        out.push_str(p);
                    }
                }
                out.push('"');
            }
            4 => {
                out.push('[');
                for k in 0..next(rng, 4) {
                    if k > 0 {
                        out.push(',');
                    }
                    diff_json(rng, depth + 1, ws, esc, out);
                }
                space(rng, out);
                out.push(']');
            }
            _ => {
                out.push('{');
                // Now and then more keys than the check's stack holds.
                let n = match next(rng, 40) {
                    0 => 130 + next(rng, 140),
                    1..=8 => next(rng, 10),
                    _ => next(rng, 4),
                };
                for k in 0..n {
                    if k > 0 {
                        out.push(',');
                    }
                    space(rng, out);
                    out.push('"');
                    if n > 12 {
                        // Many keys: distinct ones, now and then a repeat.
                        let r = if next(rng, 300) == 0 {
                            next(rng, k + 1)
                        } else {
                            k
                        };
                        out.push_str(&format!("k{r}"));
                    } else {
                        out.push_str(DIFF_KEYS[next(rng, DIFF_KEYS.len() as u64) as usize]);
                    }
                    out.push('"');
                    space(rng, out);
                    out.push(':');
                    if n > 12 {
                        out.push('1');
                    } else {
                        diff_json(rng, depth + 1, ws, esc, out);
                    }
                }
                space(rng, out);
                out.push('}');
            }
        }
        space(rng, out);
    }

    /// `e` with one random change: a byte dropped or doubled, two
    /// swapped, or a piece copied elsewhere (often making a repeated key).
    fn mutate(rng: &mut u64, e: &str) -> String {
        let b = e.as_bytes();
        if b.is_empty() {
            return String::new();
        }
        let at = next(rng, b.len() as u64) as usize;
        let mut m = b.to_vec();
        match next(rng, 4) {
            0 => {
                m.remove(at);
            }
            1 => m.insert(at, b[at]),
            2 => {
                let to = next(rng, b.len() as u64) as usize;
                m.swap(at, to);
            }
            _ => {
                let len = next(rng, 24) as usize;
                let piece = b[at..(at + len).min(b.len())].to_vec();
                let to = next(rng, b.len() as u64) as usize;
                m.splice(to..to, piece);
            }
        }
        String::from_utf8(m).unwrap_or_default()
    }

    /// The fast compact check against the general scan, the token pass
    /// and the tree, on generated and mutated valid texts: repeated keys
    /// at every depth, keys alike in their last bytes, escapes,
    /// whitespace, deep nesting, objects of more than 128 keys, top-level
    /// arrays and scalars.
    #[test]
    fn compact_check_agrees_with_the_token_pass_and_the_tree() {
        let mut rng = 0x9e37_79b9_7f4a_7c15_u64;
        let (mut checked, mut some, mut plain_some, mut mutated) = (0, 0, 0, 0);
        let (mut dup_none, mut big, mut spaced) = (0, 0, 0);
        for round in 0..12_000 {
            let (ws, esc) = (next(&mut rng, 4) == 0, next(&mut rng, 4) == 0);
            let mut e = String::new();
            if round % 3 == 0 {
                // An event-like text: a top-level object.
                e.push('{');
                for k in 0..1 + next(&mut rng, 6) {
                    if k > 0 {
                        e.push(',');
                    }
                    let key = DIFF_KEYS[next(&mut rng, 7) as usize + 3];
                    e.push_str(&format!("\"{key}\":"));
                    diff_json(&mut rng, 1, ws, esc, &mut e);
                }
                e.push('}');
            } else {
                diff_json(&mut rng, 0, ws, esc, &mut e);
            }
            let mut texts = vec![e.clone()];
            for _ in 0..3 {
                let m = mutate(&mut rng, texts.last().unwrap());
                texts.push(m);
            }
            for (n, t) in texts.iter().enumerate() {
                let Ok(tree) = evmatch_json::parse_value(t) else {
                    continue;
                };
                checked += 1;
                mutated += usize::from(n > 0);
                let trimmed = t.trim_matches(JSON_WS);
                let c = canonical(t);
                let g = canonical_general(trimmed.as_bytes());
                let mut out = String::new();
                let mut st = Top::default();
                let streamed = compact_stream(t, true, &mut out, &mut st);
                let compact = transform::to_compact(&tree);
                // Compact and unrepeated: the token pass writes the text
                // itself (it refuses repeated keys).
                let want = streamed.is_some() && out == trimmed;
                // The plain scan's stacks are small: past them (more
                // than 128 keys open at once) the token pass decides.
                let plain = !trimmed.contains([' ', '\t', '\n', '\r', '\\']);
                assert!(c.is_some() == g.is_some() || plain, "{t:?}");
                // The general scan leaves escaped top-level values the
                // router reads to the token pass.
                assert!(c.is_none() || want, "{t:?}");
                assert!(c.is_some() || !want || !plain || g.is_some(), "{t:?}");
                assert!(g.is_some() || !want || trimmed.contains('\\'), "{t:?}");
                if !want && streamed.is_none() && compact.len() < trimmed.len() {
                    dup_none += 1;
                }
                // The plain scan, on any text: an answer only without
                // escapes and whitespace between tokens (spaces in strings
                // are fine), the general scan's but for its small stacks.
                let p = canonical_plain(trimmed.as_bytes());
                // The baseline (SSE2, shifts) masks give the same.
                let base = plain_scan(trimmed.as_bytes(), block_masks, prefix_xor, low_bits);
                assert_eq!(
                    base.as_ref()
                        .map(|q| (&q.id, &q.region, &q.account, &q.time)),
                    p.as_ref().map(|q| (&q.id, &q.region, &q.account, &q.time)),
                    "{t:?}"
                );
                if plain {
                    assert_eq!(p.is_some(), c.is_some(), "{t:?}");
                }
                if let Some(p) = p {
                    assert!(want && g.is_some() && !trimmed.contains('\\'), "{t:?}");
                    plain_some += 1;
                    spaced += usize::from(!plain);
                    let q = Top::of(&tree);
                    assert_eq!(
                        (p.id, p.region, p.account, p.time),
                        (q.id, q.region, q.account, q.time),
                        "{t:?}"
                    );
                } else if g.is_some() && !trimmed.contains('\\') {
                    // Only past the stacks: more than 128 keys open at
                    // once or more than 32 objects.
                    big += 1;
                    let (mut open, mut deepest, mut in_string) = (0, 0, false);
                    for c in trimmed.bytes() {
                        match c {
                            b'"' => in_string = !in_string,
                            b'{' if !in_string => open += 1,
                            b'}' if !in_string => open -= 1,
                            _ => {}
                        }
                        deepest = deepest.max(open);
                    }
                    assert!(trimmed.matches(':').count() > 128 || deepest > 32, "{t:?}");
                }
                if let Some(c) = c {
                    some += 1;
                    assert_eq!(compact, trimmed, "{t:?}");
                    let q = Top::of(&tree);
                    assert_eq!(
                        (&c.id, &c.region, &c.account, &c.time),
                        (&st.id, &st.region, &st.account, &st.time),
                        "{t:?}"
                    );
                    assert_eq!(
                        (c.id, c.region, c.account, c.time),
                        (q.id, q.region, q.account, q.time),
                        "{t:?}"
                    );
                }
            }
        }
        // Every outcome is exercised, on mutated texts too.
        assert!(
            checked > 20_000 && some > 5_000 && plain_some > 3_000 && mutated > 5_000,
            "{checked} {some} {plain_some} {mutated}"
        );
        assert!(dup_none > 1_000, "{dup_none}");
        // More than 128 keys open at once: the token pass decides.
        assert!(big > 10, "{big}");
        // Spaces in strings, none between tokens: still the plain scan.
        assert!(spaced > 500, "{spaced}");
    }

    struct Nothing;
    impl Deliver for Nothing {
        fn deliver(&self, _: &Delivery<'_>) -> Result<(), DeliveryError> {
            Ok(())
        }
    }

    /// A router with one rule: a whole-event target and a constant one.
    fn whole_and_constant() -> Router {
        let mut b = RouterBuilder::new(RouterConfig::default());
        let r = b.add_rule("r/1");
        for t in [
            serde_json::json!({"Id": "whole", "Arn": "arn:aws:sqs:us-east-1:1:q"}),
            serde_json::json!({"Id": "const", "Arn": "arn:aws:sqs:us-east-1:1:q",
                "Input": "{\"k\": [1, 2]}"}),
        ] {
            let t = Target::from_json(&t).unwrap();
            b.add_target(r, t, "test:", Box::new(Nothing), None)
                .unwrap();
        }
        b.start()
    }

    #[test]
    fn spec_6_deferred_facts_are_the_eager_ones() {
        let router = whole_and_constant();
        let fail = Failure {
            code: ErrorCode::Throttling,
            message: "m".into(),
            condition: Some("MaximumRetryAttempts"),
        };
        for e in [
            r#"{"id":"a/b","region":"eu-west-1","account":"7","detail":{"x":1}}"#,
            "  {\"id\" : \"x\",\r\n \"n\": [1, 2.50]}\n",
            r#"{"a":1,"a":2,"region":"r"}"#,
            r#"{"source":"no id","s":"\u0041\/"}"#,
            r#"{"id":"","account":""}"#,
        ] {
            let (mut eager, mut lazy) = (Vec::new(), Vec::new());
            assert!(router.prepare(e, &[0], Instant::now(), &mut eager));
            assert!(router.prepare_valid(e, &[0], Instant::now(), &mut lazy));
            assert_eq!((eager.len(), lazy.len()), (2, 2), "{e}");
            // Nothing computed yet on the caller's side.
            assert!(lazy.iter().all(|j| j.event.facts.get().is_none()), "{e}");
            for (a, b) in eager.iter().zip(&lazy) {
                assert_eq!(a.body().ok(), b.body().ok(), "{e}");
                assert_eq!(router.idempotency_key(a), router.idempotency_key(b), "{e}");
                let slot = router.shared.slots.get(a.slot).unwrap();
                let record = |j: &Job| {
                    let r = router.shared.record(slot, j, &fail);
                    // Past the "time" member, which may tick between the two.
                    r.split_once(',').unwrap().1.to_string()
                };
                assert_eq!(record(a), record(b), "{e}");
                let (fa, fb) = (a.event.facts(), b.event.facts());
                assert_eq!(
                    (&fa.id, &fa.region, &fa.account, &fa.time),
                    (&fb.id, &fb.region, &fb.account, &fb.time),
                    "{e}"
                );
            }
        }
        // The constant body is shared by every delivery of the target.
        let (mut x, mut y) = (Vec::new(), Vec::new());
        router.prepare_valid(r#"{"a":1}"#, &[0], Instant::now(), &mut x);
        router.prepare_valid(r#"{"b":2}"#, &[0], Instant::now(), &mut y);
        assert_eq!(x[1].body().ok(), Some(r#"{"k": [1, 2]}"#));
        assert_eq!(
            x[1].body().ok().map(str::as_ptr),
            y[1].body().ok().map(str::as_ptr)
        );
        // Eagerly, invalid text delivers nothing; a caller wrongly vouching
        // for it gets the text as it is, keyed by its hash, and no panic.
        let mut jobs = Vec::new();
        assert!(!router.prepare(r#"{"a":"#, &[0], Instant::now(), &mut jobs));
        assert!(jobs.is_empty());
        assert!(router.prepare_valid(r#" {"a": "#, &[0], Instant::now(), &mut jobs));
        assert_eq!(jobs[0].body().ok(), Some(r#"{"a":"#));
        assert_eq!(jobs[0].event_key(), hash_key(r#"{"a":"#));
    }

    #[test]
    fn event_keys_inline_or_not_read_back_as_made() {
        for id in [
            String::new(),
            "a".into(),
            "x".repeat(INLINE_KEY - 1),
            "x".repeat(INLINE_KEY),
            "x".repeat(INLINE_KEY + 1),
            "x".repeat(300),
            "é".repeat(INLINE_KEY / 2),
            format!("{}é", "x".repeat(INLINE_KEY - 2)),
        ] {
            let k = EventKey::new(&id);
            assert_eq!(k.as_str(), id);
            assert_eq!(
                matches!(k, EventKey::Inline { .. }),
                id.len() <= INLINE_KEY,
                "{id}"
            );
        }
        assert_eq!(
            EventKey::hash_of("{\"source\":\"a\"}").as_str(),
            "h64-74de58eae53df493"
        );
        // Through the router: ids short and long, percent-encoded, and
        // the hash of an id-less event.
        let router = whole_and_constant();
        for (event, key) in [
            (r#"{"id":"abc/d"}"#.to_string(), "abc%2Fd".to_string()),
            (
                format!(r#"{{"id":"{}"}}"#, "é".repeat(40)),
                "%C3%A9".repeat(40),
            ),
            (r#"{"a":1}"#.to_string(), hash_key(r#"{"a":1}"#)),
        ] {
            for valid in [false, true] {
                let mut jobs = Vec::new();
                if valid {
                    router.prepare_valid(&event, &[0], Instant::now(), &mut jobs);
                } else {
                    router.prepare(&event, &[0], Instant::now(), &mut jobs);
                }
                assert_eq!(jobs[0].event_key(), key, "{event}");
                assert_eq!(
                    router.idempotency_key(&jobs[0]),
                    format!("{key}{}", router.shared.slots[0].key_suffix)
                );
            }
        }
    }

    #[test]
    fn keys() {
        assert_eq!(percent("a-b_c.d~e:f@g"), "a-b_c.d~e:f@g");
        assert_eq!(percent("a/b c%é"), "a%2Fb%20c%25%C3%A9");
        // Stable across runs and platforms: pinned values.
        assert_eq!(stable_hash(b""), stable_hash(b""));
        assert_ne!(stable_hash(b"a"), stable_hash(b"b"));
        assert_ne!(stable_hash(b"12345678a"), stable_hash(b"12345678b"));
        assert_eq!(
            format!("{:016x}", stable_hash(b"{\"source\":\"a\"}")),
            "74de58eae53df493"
        );
        // Long texts (four lanes): every byte counts, wherever it is.
        let long: Vec<u8> = (0..200u8).collect();
        let h = stable_hash(&long);
        for k in [0, 7, 31, 32, 63, 64, 100, 191, 192, 199] {
            let mut other = long.clone();
            other[k] ^= 1;
            assert_ne!(stable_hash(&other), h, "{k}");
        }
        assert_ne!(stable_hash(&long[..199]), h);
        assert_eq!(format!("{h:016x}"), "36c49aefa30aa601");
    }
}

#[cfg(test)]
mod needs_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Nothing;
    impl Deliver for Nothing {
        fn deliver(&self, _: &Delivery<'_>) -> Result<(), DeliveryError> {
            Ok(())
        }
    }

    fn target(v: &str) -> Target {
        Target::from_json(&serde_json::from_str(v).unwrap()).unwrap()
    }

    /// What a matched event needs is read from its rules' targets: the
    /// tree for an `InputPath`, the compact form for the whole event,
    /// neither for a constant; rules without targets add nothing.
    #[test]
    fn each_rules_needs_decide_what_an_event_gets() {
        let mut b = RouterBuilder::new(RouterConfig::default());
        let both = b.add_rule("both");
        let constant = b.add_rule("constant");
        let none = b.add_rule("none");
        let add = |b: &mut RouterBuilder, r, t: &str| {
            b.add_target(r, target(t), "test:", Box::new(Nothing), None)
                .unwrap()
        };
        add(&mut b, both, r#"{"Id":"w","Arn":"stdout:"}"#);
        add(
            &mut b,
            both,
            r#"{"Id":"p","Arn":"stdout:","InputPath":"$.detail"}"#,
        );
        add(
            &mut b,
            constant,
            r#"{"Id":"c","Arn":"stdout:","Input":"{\"k\":1}"}"#,
        );
        let router = b.start();
        let (flags, names): (Vec<(bool, bool)>, Vec<&str>) = router
            .shared
            .rules
            .iter()
            .map(|r| ((r.needs_tree, r.needs_whole), r.name.as_str()))
            .unzip();
        assert_eq!(names, ["both", "constant", "none"]);
        assert_eq!(flags, [(true, true), (false, false), (false, false)]);
        let event = r#"{ "id":"e", "detail": {"a": [1, 2]}, "x":{"y":1,"y":2} }"#;
        let mut jobs = Vec::new();
        assert!(router.prepare_valid(event, &[both, constant, none], Instant::now(), &mut jobs));
        let bodies: Vec<&str> = jobs.iter().map(|j| j.body().unwrap()).collect();
        // The whole event compact (the repeated key's last value), the
        // path's value, the constant.
        assert_eq!(
            bodies,
            [
                r#"{"id":"e","detail":{"a":[1,2]},"x":{"y":2}}"#,
                r#"{"a":[1,2]}"#,
                r#"{"k":1}"#
            ]
        );
        // Only a constant: nothing of the event is computed, but the key is.
        let mut jobs = Vec::new();
        assert!(router.prepare_valid(event, &[constant], Instant::now(), &mut jobs));
        assert_eq!(router.idempotency_key(&jobs[0]), "e/constant/c");
        // No target at all: no job, and the text is not even looked at.
        let mut jobs = Vec::new();
        assert!(router.prepare(event, &[none], Instant::now(), &mut jobs));
        assert!(jobs.is_empty());
        // Invalid text with a tree-needing rule: refused.
        assert!(!router.prepare("{\"a\":", &[both], Instant::now(), &mut jobs));
    }
}
