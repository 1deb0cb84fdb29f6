//! `evmatch-bench`: CityLots2 data generator, CL2 benchmark and scale run.
//! See README "Benchmarks".
// A benchmark tool over data it generates itself: indexing is fine here.
#![allow(clippy::indexing_slicing)]

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use evmatch_bench::citylots::{self, N_REAL};
use evmatch_bench::{route, run, scale};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "evmatch-bench",
    about = "Benchmarks for evmatch: CityLots2 data, the CL2 rule sets, rule-count scaling"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Write CityLots2 events to stdout (byte-identical to gen_citylots2.py)
    Gen {
        /// Number of events (counts are exact only for 213068)
        #[arg(long, default_value_t = N_REAL)]
        events: usize,
        /// Random seed
        #[arg(long, default_value_t = 1)]
        seed: i64,
        /// Print a summary on stderr
        #[arg(long)]
        stats: bool,
    },
    /// Run every CL2 rule set through `evmatch --count`, check the counts,
    /// and compare throughput with serde_json IgnoredAny and quamina
    Run {
        #[command(flatten)]
        common: Common,
        /// Rule sets to run, comma-separated (default: all)
        #[arg(long, value_delimiter = ',')]
        sets: Option<Vec<String>>,
        /// The CL2 rule sets file
        #[arg(long, default_value = "../shared/bench/cl2-rules.json")]
        rules: PathBuf,
        /// Do not run the quamina crate
        #[arg(long)]
        no_quamina: bool,
    },
    /// Routing cost: each set timed with --match-only and with every rule
    /// given a file:// target (interleaved runs); prints routed over
    /// match-only throughput per set (issue-5 goal: at least 0.5)
    Route {
        #[command(flatten)]
        common: Common,
        /// Sets to run, comma-separated, EVERY_EVENT for the built-in
        /// one-rule set matching every event (default:
        /// EXACT,NUMERIC,ANYTHING_BUT,COMBO,EVERY_EVENT)
        #[arg(long, value_delimiter = ',')]
        sets: Option<Vec<String>>,
        /// The CL2 rule sets file (absent: EVERY_EVENT only)
        #[arg(long, default_value = "../shared/bench/cl2-rules.json")]
        rules: PathBuf,
    },
    /// Compile time, memory and throughput of 1 to 100,000 mixed rules and
    /// of wildcard rules
    Scale {
        #[command(flatten)]
        common: Common,
        /// Mixed-rule set sizes, comma-separated
        #[arg(long, value_delimiter = ',', default_value = "1,1000,10000,100000")]
        sizes: Vec<usize>,
        /// Size of the wildcard set (0: none)
        #[arg(long, default_value_t = 10_000)]
        wildcard: usize,
        /// Only time compilation (no event data)
        #[arg(long)]
        compile_only: bool,
    },
}

#[derive(Debug, Args)]
struct Common {
    /// Number of events (the expected counts need the full 213068)
    #[arg(long, default_value_t = 20_000)]
    events: usize,
    /// Use the full 213,068 events
    #[arg(long, conflicts_with = "events")]
    full: bool,
    /// Random seed of the data
    #[arg(long, default_value_t = 1)]
    seed: i64,
    /// Timed runs per measurement (the median is reported)
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Extra arguments for evmatch, whitespace-separated (e.g. "-j 2");
    /// without a -j/--threads among them, "-j 1" is added so the figures
    /// compare with the one-thread baseline
    #[arg(long, allow_hyphen_values = true)]
    evmatch_args: Vec<String>,
    /// The evmatch binary (default: next to this program)
    #[arg(long)]
    evmatch: Option<PathBuf>,
    /// Where generated data and rule files go (default: target/bench-data)
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl Common {
    fn events(&self) -> usize {
        if self.full {
            N_REAL
        } else {
            self.events
        }
    }

    fn evmatch_args(&self) -> Vec<String> {
        let mut args: Vec<String> = self
            .evmatch_args
            .iter()
            .flat_map(|a| a.split_whitespace().map(str::to_string))
            .collect();
        let threads = args
            .iter()
            .any(|a| a == "-j" || a.starts_with("-j") || a.starts_with("--threads"));
        if !threads {
            args.extend(["-j".to_string(), "1".to_string()]);
        }
        args
    }

    /// The options of `run` and `route` from these and the set selection.
    fn run_options(
        &self,
        sets: Option<Vec<String>>,
        rules: PathBuf,
        quamina: bool,
    ) -> run::RunOptions {
        let (evmatch, data_dir) = self.paths();
        run::RunOptions {
            events: self.events(),
            seed: self.seed,
            runs: self.runs,
            sets,
            evmatch,
            evmatch_args: self.evmatch_args(),
            rules,
            data_dir,
            quamina,
        }
    }

    /// (evmatch binary, data dir): next to this program, in target/.
    fn paths(&self) -> (PathBuf, PathBuf) {
        let exe_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        let evmatch = self
            .evmatch
            .clone()
            .unwrap_or_else(|| exe_dir.join(format!("evmatch{}", std::env::consts::EXE_SUFFIX)));
        let data = self.data_dir.clone().unwrap_or_else(|| {
            exe_dir
                .parent()
                .map(|t| t.join("bench-data"))
                .unwrap_or_else(|| PathBuf::from("bench-data"))
        });
        (evmatch, data)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("evmatch-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<bool> {
    match cli.command {
        Cmd::Gen {
            events,
            seed,
            stats,
        } => {
            let t = std::time::Instant::now();
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            let s = citylots::generate(events, seed, &mut out)?;
            out.flush()?;
            if stats {
                eprintln!(
                    "events={} seed={seed} units={} stacks={} bytes={} avg_line={:.1} avg_points={:.2} multipolygons={} time={:.1}s",
                    s.events,
                    s.units,
                    s.stacks,
                    s.bytes,
                    s.bytes as f64 / s.events as f64,
                    s.points as f64 / s.events as f64,
                    s.multipolygons,
                    t.elapsed().as_secs_f64()
                );
            }
            Ok(true)
        }
        Cmd::Run {
            common,
            sets,
            rules,
            no_quamina,
        } => run::run(&common.run_options(sets, rules, !no_quamina)),
        Cmd::Route {
            common,
            sets,
            rules,
        } => route::run(&common.run_options(sets, rules, false)),
        Cmd::Scale {
            common,
            sizes,
            wildcard,
            compile_only,
        } => {
            let (evmatch, data_dir) = common.paths();
            scale::run(&scale::ScaleOptions {
                events: common.events(),
                seed: common.seed,
                runs: common.runs,
                sizes,
                wildcard,
                compile_only,
                evmatch,
                evmatch_args: common.evmatch_args(),
                data_dir,
            })?;
            Ok(true)
        }
    }
}
