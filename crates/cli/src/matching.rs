//! The match command: `evmatch [OPTIONS] RULES [EVENTS...]`.

use crate::common::{self, display, push_json_str};
use crate::{EXIT_BAD_INPUT, EXIT_FATAL, EXIT_OK};
use clap::Parser;
use evmatch::{Config, EventError, RuleId, RuleSet, Scratch};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

/// Match NDJSON events against EventBridge rules.
#[derive(Debug, Parser)]
#[command(
    name = "evmatch",
    bin_name = "evmatch",
    version,
    about = "Match events against Amazon EventBridge event patterns, locally",
    override_usage = "evmatch [OPTIONS] <RULES> [EVENTS]...\n       \
                      evmatch test-event-pattern --event-pattern <PATTERN> --event <EVENT>\n       \
                      evmatch check [OPTIONS] <RULES>\n       \
                      evmatch explain --event-pattern <PATTERN> --event <EVENT>\n       \
                      evmatch help [COMMAND]",
    after_help = crate::commands_help!(),
    after_long_help = concat!(crate::commands_help!(), "\n\n", crate::match_details!()),
)]
pub struct MatchArgs {
    /// Rules file: {"name": pattern, ...}, an array of EventBridge rules, or
    /// `aws events list-rules` output
    #[arg(value_name = "RULES")]
    pub rules: PathBuf,

    /// NDJSON event files, read in turn (`-` or none: stdin)
    #[arg(value_name = "EVENTS")]
    pub events: Vec<PathBuf>,

    /// Print one JSON object mapping every rule to its number of matching
    /// events, instead of one line per matching event
    #[arg(long, conflicts_with = "with_event")]
    pub count: bool,

    /// Add the event, exactly as read, to each output line ("event" key)
    #[arg(long)]
    pub with_event: bool,

    /// Let a branch of a pattern take values from different elements of an
    /// array of objects (AWS requires the same element)
    #[arg(long)]
    pub no_array_consistency: bool,

    /// Largest accepted pattern, in characters (0: no limit) [default: 4096]
    #[arg(long, value_name = "N")]
    pub max_pattern_size: Option<usize>,

    /// Longest accepted event line, in bytes (0: no limit). A longer line
    /// is reported as a bad line and skipped without being held in memory
    /// [default: 1048576]
    #[arg(long, value_name = "N")]
    pub max_line_bytes: Option<usize>,

    /// Most rules the rules file may hold (0: no limit) [default: 100000]
    #[arg(long, value_name = "N")]
    pub max_rules: Option<usize>,

    /// Most conditions all rules may expand to, counting every field of
    /// every `$or` branch (0: no limit); about 64 bytes of memory each
    /// [default: 10000000]
    #[arg(long, value_name = "N")]
    pub max_conditions: Option<usize>,

    /// Deepest accepted event nesting, 1 to 1000 [default: 1000]
    #[arg(long, value_name = "N")]
    pub max_event_depth: Option<usize>,

    /// Deepest accepted pattern nesting, 1 to 1000 [default: 256]
    #[arg(long, value_name = "N")]
    pub max_pattern_depth: Option<usize>,

    /// Worker threads (0 or absent: one per core). Output stays in input
    /// order and --count totals are exact whatever the number
    #[arg(long, short = 'j', value_name = "N")]
    pub threads: Option<usize>,

    /// Stop reading each event once no later field can change the answer
    /// (the rest of the event is not validated; a key repeated after that
    /// point is not seen, though AWS would take the last)
    #[arg(long)]
    pub early_exit: bool,

    /// Print compile time, machine size and match throughput on stderr
    #[arg(long)]
    pub stats: bool,

    /// Read EVENTS files with read(2) instead of mapping them into memory
    /// (mapping is faster; a file truncated while it is being read can
    /// then stop the process with SIGBUS)
    #[arg(long)]
    pub no_mmap: bool,

    /// Do not report bad event lines on stderr (the exit status still
    /// says there were some)
    #[arg(long, short)]
    pub quiet: bool,

    #[command(flatten)]
    pub route: crate::route::RouteArgs,
}

/// One EVENTS input.
pub(crate) enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// The name used in messages.
    fn label(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_string(),
            Input::File(p) => display(p),
        }
    }

    /// The name used in the "file" key of output lines.
    fn output_name(&self) -> String {
        match self {
            Input::Stdin => "-".to_string(),
            Input::File(p) => display(p),
        }
    }
}

/// Why the stream of events stopped early.
pub(crate) enum Stop {
    /// stdout is closed (`| head`): end quietly.
    BrokenPipe,
    /// Anything else: fatal, already reported.
    Fatal,
}

/// Runs the match command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = MatchArgs::parse_from(args);
    let started = std::time::Instant::now();
    let limits = match Limits::from_args(&args) {
        Ok(l) => l,
        Err(message) => {
            common::error(&message);
            return EXIT_FATAL;
        }
    };
    let rules = match common::load_rules_file(&args.rules) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if limits.max_rules > 0 && rules.len() > limits.max_rules {
        common::error(&format!(
            "{}: {} rules, more than the limit of {} (--max-rules)",
            display(&args.rules),
            rules.len(),
            limits.max_rules
        ));
        return EXIT_FATAL;
    }
    let mut options = common::compile_options(args.max_pattern_size);
    options.max_depth = limits.max_pattern_depth;
    let config = Config {
        array_consistency: !args.no_array_consistency,
        early_exit: args.early_exit,
    };

    let mut builder = RuleSet::builder()
        .config(config)
        .max_event_depth(limits.max_event_depth);
    let mut file_index = Vec::new();
    let mut invalid = false;
    let rules_name = display(&args.rules);
    let mut conditions = 0usize;
    for (i, rule) in rules.iter().enumerate() {
        // One at a time, so an oversized rule set stops before it is all
        // in memory.
        match evmatch::compile(&rule.pattern, &options) {
            Ok(p) => {
                conditions = conditions
                    .saturating_add(p.branches().iter().map(|b| b.fields().len()).sum::<usize>());
                if limits.max_conditions > 0 && conditions > limits.max_conditions {
                    common::error(&format!(
                        "{rules_name}: the rules expand to more than {} conditions ($or branches times fields), at rule \"{}\" (line {}) (--max-conditions)",
                        limits.max_conditions, rule.name, rule.line
                    ));
                    return EXIT_FATAL;
                }
                if rule.enabled {
                    builder.add_compiled(&rule.name, p);
                    file_index.push(i);
                }
            }
            Err(e) => {
                invalid = true;
                let loc = e.location();
                let loc = if loc.is_empty() {
                    String::new()
                } else {
                    format!(" ({loc})")
                };
                common::error(&format!(
                    "rule \"{}\" ({}:{}): {e}{loc}",
                    rule.name, rules_name, rule.line
                ));
            }
        }
    }
    if invalid {
        return EXIT_FATAL;
    }

    let inputs: Vec<Input> = if args.events.is_empty() {
        vec![Input::Stdin]
    } else {
        args.events
            .iter()
            .map(|p| {
                if p.as_os_str() == "-" {
                    Input::Stdin
                } else {
                    Input::File(p.clone())
                }
            })
            .collect()
    };
    // Unreadable files are found before any output.
    for input in &inputs {
        if let Input::File(p) = input {
            if let Err(e) = check_readable(p) {
                common::error(&format!("cannot read {}: {e}", display(p)));
                return EXIT_FATAL;
            }
        }
    }

    let names: Vec<String> = rules.iter().map(|r| r.name.clone()).collect();
    let set = builder.build();
    if args.stats {
        let bytes = set.machine().memory_usage();
        common::error(&format!(
            "stats: {} rules compiled in {:.3} s; machine {} bytes ({} bytes per rule)",
            set.len(),
            started.elapsed().as_secs_f64(),
            bytes,
            bytes / set.len().max(1)
        ));
    }
    let matching_started = std::time::Instant::now();
    // Targets in RULES: match and deliver (the router).
    let routing = if crate::route::wanted(&args, &rules) {
        match crate::route::build(&args, &rules, &file_index) {
            Ok(r) => Some(r),
            Err(code) => return code,
        }
    } else {
        None
    };
    let job = Job {
        routing: routing.as_ref(),
        set: &set,
        file_index: &file_index,
        rule_count: names.len(),
        names: &names,
        count_mode: args.count,
        with_event: args.with_event,
        with_file: inputs.len() > 1,
        quiet: args.quiet,
        max_line: limits.max_line_bytes,
        mmap: !args.no_mmap,
        labels: inputs.iter().map(Input::label).collect(),
        output_names: inputs.iter().map(Input::output_name).collect(),
    };
    let threads = match args.threads {
        Some(0) | None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Some(n) => n,
    };

    let mut totals = Totals {
        counts: vec![0; names.len()],
        bad_lines: 0,
        events: 0,
        bytes: 0,
    };
    if let Some(routing) = &routing {
        // stdout: targets write to stdout too: no lock held here.
        let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout());
        return crate::route::run(routing, &args, || {
            let r = run_blocks(&job, &inputs, threads, &mut out, &mut totals)
                .and_then(|()| out.flush().map_err(|e| write_error(&e)));
            (r.is_err(), totals.bad_lines)
        });
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    let result = run_blocks(&job, &inputs, threads, &mut out, &mut totals).and_then(|()| {
        if job.count_mode {
            write_counts(&names, &totals.counts, &mut out)?;
        }
        out.flush().map_err(|e| write_error(&e))
    });
    if args.stats {
        let secs = matching_started.elapsed().as_secs_f64().max(1e-9);
        common::error(&format!(
            "stats: {} events ({} bytes) in {:.3} s on {threads} thread(s): {:.0} events/s, {:.1} MB/s",
            totals.events,
            totals.bytes,
            secs,
            totals.events as f64 / secs,
            totals.bytes as f64 / secs / 1e6
        ));
    }
    match result {
        Ok(()) | Err(Stop::BrokenPipe) => {
            if totals.bad_lines > 0 {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            }
        }
        Err(Stop::Fatal) => {
            // Keep what was printed so far, unless stdout is the problem.
            let _ = out.flush();
            EXIT_FATAL
        }
    }
}

/// Default of `--max-line-bytes`: 1 MiB, four times the largest event
/// PutEvents accepts (256 KB, SPEC.md §3.3).
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;
/// Default of `--max-rules`.
pub const DEFAULT_MAX_RULES: usize = 100_000;
/// Default of `--max-conditions`: about 640 MB of matcher at ~64 bytes
/// each; a rule of 1 KB can expand to 32,000 conditions through `$or`.
pub const DEFAULT_MAX_CONDITIONS: usize = 10_000_000;

/// The input limits of one run (SECURITY.md).
struct Limits {
    /// 0: none.
    max_line_bytes: usize,
    /// 0: none.
    max_rules: usize,
    /// 0: none.
    max_conditions: usize,
    max_event_depth: usize,
    max_pattern_depth: usize,
}

impl Limits {
    fn from_args(args: &MatchArgs) -> Result<Limits, String> {
        let depth = |v: Option<usize>, default: usize, flag: &str| match v {
            None => Ok(default),
            Some(d) if (1..=1000).contains(&d) => Ok(d),
            Some(d) => Err(format!("{flag} must be between 1 and 1000, not {d}")),
        };
        Ok(Limits {
            max_line_bytes: args.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE_BYTES),
            max_rules: args.max_rules.unwrap_or(DEFAULT_MAX_RULES),
            max_conditions: args.max_conditions.unwrap_or(DEFAULT_MAX_CONDITIONS),
            max_event_depth: depth(
                args.max_event_depth,
                evmatch::parts::event::DEFAULT_MAX_DEPTH,
                "--max-event-depth",
            )?,
            max_pattern_depth: depth(
                args.max_pattern_depth,
                evmatch::CompileOptions::default().max_depth,
                "--max-pattern-depth",
            )?,
        })
    }
}

fn check_readable(p: &Path) -> io::Result<()> {
    let meta = std::fs::File::open(p)?.metadata()?;
    if meta.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    Ok(())
}

fn write_error(e: &io::Error) -> Stop {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Stop::BrokenPipe
    } else {
        common::error(&format!("cannot write to stdout: {e}"));
        Stop::Fatal
    }
}

/// What every worker needs to turn a block of lines into output.
struct Job<'a> {
    set: &'a RuleSet,
    /// Set when RULES has targets: matches are delivered, not printed.
    routing: Option<&'a crate::route::Routing>,
    /// Index in the rules file of each rule of `set`.
    file_index: &'a [usize],
    /// Every rule name, in rules-file order.
    names: &'a [String],
    rule_count: usize,
    count_mode: bool,
    with_event: bool,
    with_file: bool,
    quiet: bool,
    /// Longest line, in bytes (0: no limit).
    max_line: usize,
    /// Map EVENTS files into memory rather than read them.
    mmap: bool,
    /// Per input: the name used in messages.
    labels: Vec<String>,
    /// Per input: the name used in the "file" key of output lines.
    output_names: Vec<String>,
}

/// Per-rule counts and bad lines, summed over workers.
struct Totals {
    counts: Vec<u64>,
    bad_lines: u64,
    events: u64,
    bytes: u64,
}

/// A run of whole lines of one input.
struct Block {
    seq: u64,
    input: usize,
    /// Line number of the first line of `data` (1-based).
    first_line: usize,
    /// The lines: `len` bytes of a buffer or of a mapped file.
    data: Data,
    len: usize,
    /// Instead of lines: one line longer than `--max-line-bytes`, of this
    /// many bytes, skipped unread.
    too_long: Option<u64>,
}

/// Where a block's bytes are.
enum Data {
    /// A buffer whose first `len` bytes are the lines; the rest is
    /// initialised spare room kept for reuse (no zero-fill per block).
    Owned(Vec<u8>),
    /// A file mapped into memory, from this offset.
    Mapped(Arc<memmap2::Mmap>, usize),
}

impl Block {
    fn bytes(&self) -> &[u8] {
        match &self.data {
            Data::Owned(v) => v.get(..self.len).unwrap_or(&[]),
            Data::Mapped(m, start) => m.get(*start..*start + self.len).unwrap_or(&[]),
        }
    }

    /// The block's buffer, for reuse (empty when the block was mapped).
    fn into_buf(self) -> Vec<u8> {
        match self.data {
            Data::Owned(v) => v,
            Data::Mapped(..) => Vec::new(),
        }
    }
}

/// Maps `file` into memory if it is a non-empty regular file.
fn map_file(file: &std::fs::File) -> Option<memmap2::Mmap> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() || meta.len() == 0 {
        return None;
    }
    // Pages are faulted in as they are read, by whichever thread reads
    // them (faulting the whole file in at once first was no faster on one
    // thread and serial with -j).
    // SAFETY: the map is only read, as bytes, while it lives. If another
    // process truncates the file meanwhile, reading the lost pages raises
    // SIGBUS (documented in SECURITY.md; `--no-mmap` avoids it); changed
    // contents are read as they are, like a file changing under read(2).
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(file) }.ok()?;
    #[cfg(unix)]
    let _ = map.advise(memmap2::Advice::Sequential);
    Some(map)
}

/// Buffers handed back by workers, reused by the reader.
type Pool = Vec<Vec<u8>>;

/// How many spare buffers the reader keeps.
const POOL_MAX: usize = 16;

/// A processed block: what to print, in input order.
struct Done {
    seq: u64,
    /// The number the line after this block's last one gets.
    next_line: usize,
    out: Vec<u8>,
    err: Vec<u8>,
    /// Deliveries to hand to the router, in input order.
    jobs: Vec<evmatch_router::delivery::Job>,
    /// The block's buffer, going back to the reader's pool.
    buf: Vec<u8>,
}

/// Bytes per block handed to a worker.
const BLOCK: usize = 1 << 20;

/// Per-worker state.
struct Worker {
    scratch: Scratch,
    ids: Vec<RuleId>,
    jobs: Vec<evmatch_router::delivery::Job>,
    counts: Vec<u64>,
    bad_lines: u64,
    events: u64,
    bytes: u64,
}

impl Worker {
    fn new(rules: usize) -> Self {
        Worker {
            scratch: Scratch::new(),
            ids: Vec::new(),
            jobs: Vec::new(),
            counts: vec![0; rules],
            bad_lines: 0,
            events: 0,
            bytes: 0,
        }
    }

    fn process(&mut self, job: &Job<'_>, block: &Block) -> Done {
        let mut out = Vec::new();
        let mut err = Vec::new();
        if let Some(len) = block.too_long {
            self.too_long(job, block.input, block.first_line, len, &mut err);
            return Done {
                seq: block.seq,
                next_line: block.first_line + 1,
                out,
                err,
                jobs: std::mem::take(&mut self.jobs),
                buf: Vec::new(),
            };
        }
        let mut line_no = block.first_line;
        let mut rest: &[u8] = block.bytes();
        while !rest.is_empty() {
            let (mut line, next) = match memchr::memchr(b'\n', rest) {
                Some(i) => rest.split_at(i),
                None => (rest, &[][..]),
            };
            rest = next.get(1..).unwrap_or(&[]);
            let this = line_no;
            line_no += 1;
            if job.max_line > 0 && line.len() > job.max_line {
                self.too_long(job, block.input, this, line.len() as u64, &mut err);
                continue;
            }
            if let Some(l) = line.strip_suffix(b"\r") {
                line = l;
            }
            if this == 1 {
                line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.events += 1;
            self.event(job, block.input, this, line, &mut out, &mut err);
        }
        self.bytes += block.len as u64;
        // The next block likely makes as many deliveries: room for them up
        // front, not grown (and copied) step by step.
        let room = self.jobs.len();
        Done {
            seq: block.seq,
            next_line: line_no,
            out,
            err,
            jobs: std::mem::replace(&mut self.jobs, Vec::with_capacity(room)),
            buf: Vec::new(),
        }
    }

    /// Reports a line longer than `--max-line-bytes`.
    fn too_long(
        &mut self,
        job: &Job<'_>,
        input: usize,
        line_no: usize,
        len: u64,
        err: &mut Vec<u8>,
    ) {
        self.bad_lines += 1;
        if !job.quiet {
            let label = job.labels.get(input).map_or("", String::as_str);
            err.extend_from_slice(
                format!(
                    "evmatch: {label}:{line_no}: the line is {len} bytes long, more than the limit of {} (--max-line-bytes)\n",
                    job.max_line
                )
                .as_bytes(),
            );
        }
    }

    fn event(
        &mut self,
        job: &Job<'_>,
        input: usize,
        line_no: usize,
        line: &[u8],
        out: &mut Vec<u8>,
        err: &mut Vec<u8>,
    ) {
        if let Err(e) = job.set.matches_with(&mut self.scratch, line, &mut self.ids) {
            self.bad_lines += 1;
            if !job.quiet {
                let label = job.labels.get(input).map_or("", String::as_str);
                err.extend_from_slice(
                    format!("evmatch: {label}:{line_no}: {}\n", event_error(&e)).as_bytes(),
                );
            }
            return;
        }
        if let Some(routing) = job.routing {
            if !self.ids.is_empty() {
                let file = job
                    .with_file
                    .then(|| job.output_names.get(input).map_or("", String::as_str));
                routing.event(line, &self.ids, file, line_no, out, &mut self.jobs);
            }
            return;
        }
        if job.count_mode {
            for &id in &self.ids {
                if let Some(&i) = job.file_index.get(id as usize) {
                    if let Some(c) = self.counts.get_mut(i) {
                        *c += 1;
                    }
                }
            }
            return;
        }
        if self.ids.is_empty() {
            return;
        }
        out.push(b'{');
        if job.with_file {
            out.extend_from_slice(b"\"file\":");
            push_json_str(out, job.output_names.get(input).map_or("", String::as_str));
            out.push(b',');
        }
        out.extend_from_slice(b"\"line\":");
        out.extend_from_slice(line_no.to_string().as_bytes());
        out.extend_from_slice(b",\"rules\":[");
        for (k, id) in self.ids.iter().enumerate() {
            if k > 0 {
                out.push(b',');
            }
            let name = job
                .file_index
                .get(*id as usize)
                .and_then(|&i| job.names.get(i))
                .map_or("", String::as_str);
            push_json_str(out, name);
        }
        out.push(b']');
        if job.with_event {
            out.extend_from_slice(b",\"event\":");
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"}\n");
    }

    fn add_to(&self, totals: &mut Totals) {
        for (t, c) in totals.counts.iter_mut().zip(&self.counts) {
            *t += c;
        }
        totals.bad_lines += self.bad_lines;
        totals.events += self.events;
        totals.bytes += self.bytes;
    }
}

/// Reads every input as blocks of whole lines, in order, calling `emit`
/// with each. Stops at the first error `emit` returns.
///
/// A line longer than `max_line` bytes (0: no limit) is never held whole:
/// once its unfinished part passes the limit, the rest of it is read and
/// dropped up to its newline, and it is handed on as a `too_long` block of
/// its own, so memory stays bounded by the block size and the limit.
fn read_blocks(
    inputs: &[Input],
    count_lines: bool,
    job: &Job<'_>,
    mut emit: impl FnMut(Block, &mut Pool) -> Result<(), Stop>,
) -> Result<(), Stop> {
    let max_line = job.max_line;
    let routing = job.routing;
    let mut seq = 0u64;
    let mut pool: Pool = Vec::new();
    for (k, input) in inputs.iter().enumerate() {
        let mut reader: Box<dyn Read> = match input {
            Input::Stdin => Box::new(io::stdin().lock()),
            Input::File(p) => match std::fs::File::open(p) {
                Ok(f) => {
                    // A mapped file is handed on block by block; the
                    // router stops between blocks on Ctrl-C.
                    let map = if job.mmap { map_file(&f) } else { None };
                    if let Some(map) = map {
                        let stop = || {
                            routing.is_some_and(|r| {
                                matches!(r.wait_for_input(false, true), crate::route::Wait::Stop)
                            })
                        };
                        match emit_mapped(
                            Arc::new(map),
                            k,
                            seq,
                            count_lines,
                            &mut pool,
                            &mut emit,
                            stop,
                        )? {
                            (next, false) => seq = next,
                            (_, true) => break,
                        }
                        continue;
                    }
                    Box::new(f)
                }
                Err(e) => {
                    common::error(&format!("cannot read {}: {e}", display(p)));
                    return Err(Stop::Fatal);
                }
            },
        };
        let mut line = 1usize;
        let mut carry: Vec<u8> = Vec::new();
        let mut eof = false;
        while !eof {
            // `data[..len]` holds what was read; `data[len..]` is
            // initialised room to read into.
            let mut data = pool.pop().unwrap_or_default();
            let mut len = carry.len();
            if data.len() < len + BLOCK {
                data.resize(len + BLOCK, 0);
            }
            if let Some(d) = data.get_mut(..len) {
                d.copy_from_slice(&carry);
            }
            carry.clear();
            // Where the unfinished last line of `data` starts.
            let mut tail =
                memchr::memrchr(b'\n', data.get(..len).unwrap_or(&[])).map_or(0, |i| i + 1);
            let mut scanned = 0usize;
            let mut has_line = false;
            let mut overlong = false;
            // Fill up to BLOCK bytes, and on until the block holds a newline.
            loop {
                if max_line > 0 && len - tail > max_line {
                    overlong = true;
                    break;
                }
                if len >= BLOCK
                    && memchr::memchr(b'\n', data.get(scanned..len).unwrap_or(&[])).is_some()
                {
                    break;
                }
                scanned = len;
                // The router stops reading on Ctrl-C (what was read is
                // still matched and delivered).
                // It also hands over what it has when stdin is idle, so
                // a slow stream is delivered as it comes.
                if let Some(r) = routing {
                    match r.wait_for_input(matches!(input, Input::Stdin), has_line) {
                        crate::route::Wait::Read => {}
                        crate::route::Wait::Emit => break,
                        crate::route::Wait::Stop => {
                            eof = true;
                            break;
                        }
                    }
                }
                if data.len() - len < 64 * 1024 {
                    data.resize(len + BLOCK, 0);
                }
                match reader.read(data.get_mut(len..).unwrap_or(&mut [])) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        if let Some(i) =
                            memchr::memrchr(b'\n', data.get(len..len + n).unwrap_or(&[]))
                        {
                            tail = len + i + 1;
                            has_line = true;
                        }
                        len += n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        common::error(&format!("cannot read {}: {e}", input.label()));
                        return Err(Stop::Fatal);
                    }
                }
            }
            if !eof || overlong {
                // Keep the partial last line for the next block.
                carry.extend_from_slice(data.get(tail..len).unwrap_or(&[]));
                len = tail;
            }
            if len > 0 {
                // One thread numbers lines as it matches them (no extra
                // pass); with workers the reader counts, as blocks may be
                // matched out of order.
                let lines = if count_lines {
                    memchr::memchr_iter(b'\n', data.get(..len).unwrap_or(&[])).count()
                } else {
                    0
                };
                emit(
                    Block {
                        seq,
                        input: k,
                        first_line: line,
                        data: Data::Owned(data),
                        len,
                        too_long: None,
                    },
                    &mut pool,
                )?;
                seq += 1;
                line += lines;
            } else if pool.len() < POOL_MAX {
                pool.push(data);
            }
            if overlong {
                let (long, rest, at_eof) = skip_line(&mut *reader, carry.len() as u64, input)?;
                emit(
                    Block {
                        seq,
                        input: k,
                        first_line: line,
                        data: Data::Owned(Vec::new()),
                        len: 0,
                        too_long: Some(long),
                    },
                    &mut pool,
                )?;
                seq += 1;
                line += 1;
                carry = rest;
                eof = at_eof;
            }
        }
    }
    Ok(())
}

/// Hands on a mapped file as blocks of whole lines (a line longer than a
/// block makes a longer block: nothing is copied, and the workers report
/// lines over `--max-line-bytes`). Before each block it asks `stop`
/// (the router's Ctrl-C). Returns the next block number and whether
/// `stop` said to stop.
fn emit_mapped(
    map: Arc<memmap2::Mmap>,
    input: usize,
    mut seq: u64,
    count_lines: bool,
    pool: &mut Pool,
    emit: &mut impl FnMut(Block, &mut Pool) -> Result<(), Stop>,
    stop: impl Fn() -> bool,
) -> Result<(u64, bool), Stop> {
    let total = map.len();
    let mut start = 0usize;
    let mut line = 1usize;
    while start < total {
        if stop() {
            return Ok((seq, true));
        }
        let mut end = (start + BLOCK).min(total);
        if end < total {
            end =
                memchr::memchr(b'\n', map.get(end..).unwrap_or(&[])).map_or(total, |i| end + i + 1);
        }
        let len = end - start;
        let lines = if count_lines {
            memchr::memchr_iter(b'\n', map.get(start..end).unwrap_or(&[])).count()
        } else {
            0
        };
        emit(
            Block {
                seq,
                input,
                first_line: line,
                data: Data::Mapped(Arc::clone(&map), start),
                len,
                too_long: None,
            },
            pool,
        )?;
        seq += 1;
        line += lines;
        start = end;
    }
    Ok((seq, false))
}

/// Reads and drops the rest of a line of which `seen` bytes were read.
/// Returns the line's length (without its newline), what was read after
/// the newline, and whether the input ended.
fn skip_line(
    reader: &mut dyn Read,
    seen: u64,
    input: &Input,
) -> Result<(u64, Vec<u8>, bool), Stop> {
    let mut len = seen;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok((len, Vec::new(), true)),
            Ok(n) => {
                let got = buf.get(..n).unwrap_or(&[]);
                if let Some(i) = memchr::memchr(b'\n', got) {
                    len += i as u64;
                    return Ok((len, got.get(i + 1..).unwrap_or(&[]).to_vec(), false));
                }
                len += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                common::error(&format!("cannot read {}: {e}", input.label()));
                return Err(Stop::Fatal);
            }
        }
    }
}

/// Matches every input on `threads` threads, printing in input order.
fn run_blocks(
    job: &Job<'_>,
    inputs: &[Input],
    threads: usize,
    out: &mut impl Write,
    totals: &mut Totals,
) -> Result<(), Stop> {
    if threads <= 1 {
        let mut w = Worker::new(job.rule_count);
        let mut next_line = 1usize;
        let mut input = usize::MAX;
        let r = read_blocks(inputs, false, job, |mut block, pool| {
            if block.input != input {
                input = block.input;
                next_line = 1;
            }
            block.first_line = next_line;
            let done = w.process(job, &block);
            if pool.is_empty() {
                let buf = block.into_buf();
                if buf.capacity() > 0 {
                    pool.push(buf);
                }
            }
            next_line = done.next_line;
            write_done(done, out, job.routing)
        });
        w.add_to(totals);
        return r;
    }
    // The reading thread is one of the `threads`: it starts `threads - 1`
    // workers and matches a block itself whenever their queue is full, so
    // no core waits while another reads.
    let (work_tx, work_rx) = mpsc::sync_channel::<Block>(threads);
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel::<Done>();
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        for _ in 1..threads {
            let done_tx = done_tx.clone();
            let work_rx = &work_rx;
            handles.push(scope.spawn(move || {
                let mut w = Worker::new(job.rule_count);
                loop {
                    let next = match work_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok(block) = next else { break };
                    let mut done = w.process(job, &block);
                    done.buf = block.into_buf();
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
                w
            }));
        }
        drop(done_tx);
        let mut mine = Worker::new(job.rule_count);
        let mut pending: BTreeMap<u64, Done> = BTreeMap::new();
        let mut next_seq = 0u64;
        let take = |mut done: Done, pool: &mut Pool, pending: &mut BTreeMap<u64, Done>| {
            let buf = std::mem::take(&mut done.buf);
            if buf.capacity() > 0 && buf.len() <= 4 * BLOCK && pool.len() < POOL_MAX {
                pool.push(buf);
            }
            pending.insert(done.seq, done);
        };
        let mut result = read_blocks(inputs, true, job, |block, pool| {
            let seq = block.seq;
            match work_tx.try_send(block) {
                Ok(()) => {}
                Err(mpsc::TrySendError::Full(block)) => {
                    let mut done = mine.process(job, &block);
                    done.buf = block.into_buf();
                    take(done, pool, &mut pending);
                }
                Err(mpsc::TrySendError::Disconnected(_)) => return Err(Stop::Fatal),
            }
            while let Ok(done) = done_rx.try_recv() {
                take(done, pool, &mut pending);
            }
            flush_in_order(&mut pending, &mut next_seq, out, job.routing)?;
            // The router's input is idle: deliver what was read before
            // waiting for more.
            if job.routing.is_some_and(|r| r.take_idle()) {
                while next_seq <= seq {
                    let Ok(done) = done_rx.recv() else { break };
                    take(done, pool, &mut pending);
                    flush_in_order(&mut pending, &mut next_seq, out, job.routing)?;
                }
            }
            Ok(())
        });
        drop(work_tx);
        for done in done_rx.iter() {
            pending.insert(done.seq, done);
            if result.is_ok() {
                result = flush_in_order(&mut pending, &mut next_seq, out, job.routing);
            }
        }
        if result.is_ok() {
            result = flush_in_order(&mut pending, &mut next_seq, out, job.routing);
        }
        mine.add_to(totals);
        for h in handles {
            if let Ok(w) = h.join() {
                w.add_to(totals);
            }
        }
        result
    })
}

fn flush_in_order(
    pending: &mut BTreeMap<u64, Done>,
    next_seq: &mut u64,
    out: &mut impl Write,
    routing: Option<&crate::route::Routing>,
) -> Result<(), Stop> {
    while let Some(done) = pending.remove(next_seq) {
        write_done(done, out, routing)?;
        *next_seq += 1;
    }
    Ok(())
}

fn write_done(
    done: Done,
    out: &mut impl Write,
    routing: Option<&crate::route::Routing>,
) -> Result<(), Stop> {
    if !done.err.is_empty() {
        // Keep stdout and stderr in step for a reader of both.
        out.flush().map_err(|e| write_error(&e))?;
        let mut e = io::stderr().lock();
        let _ = e.write_all(&done.err);
    }
    if let Some(r) = routing {
        // Blocks while a target's queue is full: backpressure on the input.
        r.submit_all(done.jobs);
    }
    out.write_all(&done.out).map_err(|e| write_error(&e))
}

fn write_counts(names: &[String], counts: &[u64], out: &mut impl Write) -> Result<(), Stop> {
    let mut o = Vec::with_capacity(16 * names.len() + 4);
    o.push(b'{');
    for (k, (name, count)) in names.iter().zip(counts).enumerate() {
        if k > 0 {
            o.push(b',');
        }
        push_json_str(&mut o, name);
        o.extend_from_slice(format!(":{count}").as_bytes());
    }
    o.extend_from_slice(b"}\n");
    out.write_all(&o).map_err(|e| write_error(&e))
}

/// The reason printed for a bad event line.
fn event_error(e: &EventError) -> String {
    match e {
        EventError::Json(j) => format!(
            "invalid JSON at column {}: {}",
            j.position.column,
            evmatch_router::shorten_json_message(&j.message, "the event")
        ),
        other => other.to_string(),
    }
}
