//! The match command: `evmatch [OPTIONS] RULES [EVENTS...]`.

use crate::common::{self, display, push_json_str};
use crate::{EXIT_BAD_INPUT, EXIT_FATAL, EXIT_OK};
use clap::Parser;
use evmatch::{Config, EventError, RuleSet};
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

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

    /// Do not report bad event lines on stderr (the exit status still
    /// says there were some)
    #[arg(long, short)]
    pub quiet: bool,
}

/// One EVENTS input.
enum Input {
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
enum Stop {
    /// stdout is closed (`| head`): end quietly.
    BrokenPipe,
    /// Anything else: fatal, already reported.
    Fatal,
}

struct Matcher {
    set: RuleSet,
    /// Index in the rules file of each rule of `set`.
    file_index: Vec<usize>,
    /// Every rule name, in rules-file order.
    names: Vec<String>,
    counts: Vec<u64>,
    count_mode: bool,
    with_event: bool,
    with_file: bool,
    quiet: bool,
    bad_lines: u64,
    line_buf: Vec<u8>,
}

/// Runs the match command; returns the exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let args = MatchArgs::parse_from(args);
    let rules = match common::load_rules_file(&args.rules) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let options = common::compile_options(args.max_pattern_size);
    let config = Config {
        array_consistency: !args.no_array_consistency,
    };

    let mut builder = RuleSet::builder().config(config);
    let mut file_index = Vec::new();
    let mut invalid = false;
    let rules_name = display(&args.rules);
    for (i, (rule, compiled)) in rules
        .iter()
        .zip(common::compile_all(&rules, &options))
        .enumerate()
    {
        match compiled {
            Ok(p) => {
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

    let mut m = Matcher {
        set: builder.build(),
        file_index,
        names: rules.iter().map(|r| r.name.clone()).collect(),
        counts: vec![0; rules.len()],
        count_mode: args.count,
        with_event: args.with_event,
        with_file: inputs.len() > 1,
        quiet: args.quiet,
        bad_lines: 0,
        line_buf: Vec::with_capacity(256),
    };

    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let result = m.run_inputs(&inputs, &mut out).and_then(|()| {
        if m.count_mode {
            m.write_counts(&mut out)?;
        }
        out.flush().map_err(|e| write_error(&e))
    });
    match result {
        Ok(()) | Err(Stop::BrokenPipe) => {
            if m.bad_lines > 0 {
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

impl Matcher {
    fn run_inputs(&mut self, inputs: &[Input], out: &mut impl Write) -> Result<(), Stop> {
        for input in inputs {
            match input {
                Input::Stdin => {
                    let stdin = io::stdin();
                    let lock = stdin.lock();
                    self.run_stream(input, lock, out)?;
                }
                Input::File(p) => {
                    let f = match std::fs::File::open(p) {
                        Ok(f) => f,
                        Err(e) => {
                            common::error(&format!("cannot read {}: {e}", display(p)));
                            return Err(Stop::Fatal);
                        }
                    };
                    self.run_stream(input, BufReader::with_capacity(64 * 1024, f), out)?;
                }
            }
        }
        Ok(())
    }

    fn run_stream(
        &mut self,
        input: &Input,
        mut reader: impl BufRead,
        out: &mut impl Write,
    ) -> Result<(), Stop> {
        let mut line_no = 0usize;
        let mut buf = std::mem::take(&mut self.line_buf);
        let result = loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    common::error(&format!("cannot read {}: {e}", input.label()));
                    break Err(Stop::Fatal);
                }
            }
            line_no += 1;
            let mut line: &[u8] = &buf;
            if let Some(l) = line.strip_suffix(b"\n") {
                line = l.strip_suffix(b"\r").unwrap_or(l);
            }
            if line_no == 1 {
                line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Err(stop) = self.event(input, line_no, line, out) {
                break Err(stop);
            }
        };
        self.line_buf = buf;
        result
    }

    fn event(
        &mut self,
        input: &Input,
        line_no: usize,
        line: &[u8],
        out: &mut impl Write,
    ) -> Result<(), Stop> {
        let ids = match self.set.matches(line) {
            Ok(ids) => ids,
            Err(e) => {
                self.bad_lines += 1;
                if !self.quiet {
                    common::error(&format!(
                        "{}:{}: {}",
                        input.label(),
                        line_no,
                        event_error(&e)
                    ));
                }
                return Ok(());
            }
        };
        if self.count_mode {
            for id in ids {
                if let Some(&i) = self.file_index.get(id) {
                    if let Some(c) = self.counts.get_mut(i) {
                        *c += 1;
                    }
                }
            }
            return Ok(());
        }
        if ids.is_empty() {
            return Ok(());
        }
        let mut o = Vec::with_capacity(64 + if self.with_event { line.len() } else { 0 });
        o.push(b'{');
        if self.with_file {
            o.extend_from_slice(b"\"file\":");
            push_json_str(&mut o, &input.output_name());
            o.push(b',');
        }
        o.extend_from_slice(format!("\"line\":{line_no},\"rules\":[").as_bytes());
        for (k, id) in ids.iter().enumerate() {
            if k > 0 {
                o.push(b',');
            }
            let name = self
                .file_index
                .get(*id)
                .and_then(|&i| self.names.get(i))
                .map(String::as_str)
                .unwrap_or("");
            push_json_str(&mut o, name);
        }
        o.push(b']');
        if self.with_event {
            o.extend_from_slice(b",\"event\":");
            o.extend_from_slice(line);
        }
        o.extend_from_slice(b"}\n");
        out.write_all(&o).map_err(|e| write_error(&e))
    }

    fn write_counts(&self, out: &mut impl Write) -> Result<(), Stop> {
        let mut o = Vec::with_capacity(16 * self.names.len() + 4);
        o.push(b'{');
        for (k, (name, count)) in self.names.iter().zip(&self.counts).enumerate() {
            if k > 0 {
                o.push(b',');
            }
            push_json_str(&mut o, name);
            o.extend_from_slice(format!(":{count}").as_bytes());
        }
        o.extend_from_slice(b"}\n");
        out.write_all(&o).map_err(|e| write_error(&e))
    }
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
