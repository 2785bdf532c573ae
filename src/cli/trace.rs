//! `borgsim trace …`: look at, convert and synthesise traces.

use super::say;
use borgsim::error::Error;
use borgsim::trace::{self, ReadOptions, ReferenceMachine, TraceFormat};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum TraceCommand {
    /// Rows, time span, jobs/tasks/machines, priority and band histograms,
    /// request summary, rows skipped.
    Inspect {
        #[command(flatten)]
        input: Input,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Convert a trace to borgsim's native format.
    Convert {
        #[command(flatten)]
        input: Input,
        /// Output directory (machines.csv + tasks.csv, or trace.jsonl).
        #[arg(long)]
        out: PathBuf,
        /// Write JSON lines instead of CSV.
        #[arg(long)]
        jsonl: bool,
    },
    /// Write a synthetic trace in a published format and shape (for scale tests).
    Synth(SynthArgs),
}

/// The published shapes `trace synth` can write.
#[derive(Copy, Clone, Debug, clap::ValueEnum)]
pub enum Shape {
    /// Google clusterdata-2011-2: its machine mix, priorities, heavy-tailed
    /// job sizes and run lengths, in its CSV layout.
    Google2011,
}

#[derive(Args, Debug)]
pub struct SynthArgs {
    #[arg(long, value_enum)]
    pub shape: Shape,
    /// Machines in the cell.
    #[arg(long, default_value_t = 12_500)]
    pub machines: u32,
    /// Length of the trace in days (fractions allowed).
    #[arg(long, default_value_t = 1.0)]
    pub days: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// task_events rows per part file.
    #[arg(long, default_value_t = 10_000_000)]
    pub rows_per_part: u64,
    /// Also write task_usage: one row per running task per 5-minute window,
    /// a seeded fraction of its request (prod lower than non-prod) with noise.
    #[arg(long)]
    pub usage: bool,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Which trace to read, and how.
#[derive(Args, Debug)]
pub struct Input {
    /// The trace format.
    #[arg(long, value_enum)]
    pub format: TraceFormat,
    /// Table files, parts, or directories of them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Skip bad rows (counted) instead of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    /// What a normalised CPU of 1.0 is, in milli-cores (default: the format's).
    #[arg(long, requires = "reference_mem_mib")]
    pub reference_cpu_milli: Option<u64>,
    /// What a normalised memory of 1.0 is, in MiB (default: the format's).
    #[arg(long, requires = "reference_cpu_milli")]
    pub reference_mem_mib: Option<u64>,
}

impl Input {
    fn open(&self) -> Result<Box<dyn trace::TraceReader>, Error> {
        let files = trace::replay::resolve_files(std::path::Path::new("."), &self.files)?;
        let reference = match (self.reference_cpu_milli, self.reference_mem_mib) {
            (Some(cpu_milli), Some(mem_mib)) => Some(ReferenceMachine { cpu_milli, mem_mib }),
            _ => None,
        };
        let opts = ReadOptions {
            lenient: self.lenient,
            reference,
            ..ReadOptions::default()
        };
        trace::open(self.format, &files, &opts)
    }
}

pub fn main(cmd: TraceCommand) -> Result<(), Error> {
    match cmd {
        TraceCommand::Inspect { input, json } => {
            let mut reader = input.open()?;
            let ins = trace::inspect::inspect(input.format, reader.as_mut())?;
            if json {
                say(&serde_json::to_string_pretty(&ins).expect("serialisable"));
            } else {
                say(&ins.human());
            }
            Ok(())
        }
        TraceCommand::Convert { input, out, jsonl } => {
            let mut reader = input.open()?;
            let n = trace::native::write(reader.as_mut(), &out, jsonl)?;
            say(&format!("{n} records written to {}/", out.display()));
            Ok(())
        }
        TraceCommand::Synth(args) => synth(args),
    }
}

fn synth(args: SynthArgs) -> Result<(), Error> {
    if !(args.days > 0.0 && args.days <= 3650.0) || args.machines == 0 {
        return Err(Error::Invalid {
            path: PathBuf::from("trace synth"),
            key: "--days/--machines".into(),
            message: "expected 0 < days ≤ 3650 and machines > 0".into(),
        });
    }
    let cfg = trace::synth::SynthConfig {
        machines: args.machines,
        duration_s: (args.days * 86_400.0).round() as u64,
        seed: args.seed,
        rows_per_part: args.rows_per_part,
        usage: args.usage,
    };
    let Shape::Google2011 = args.shape;
    let c = trace::synth::google2011(&cfg, &args.out)?;
    let usage = if args.usage {
        format!(", {} task_usage rows", c.usage_rows)
    } else {
        String::new()
    };
    say(&format!(
        "{} machines, {} jobs, {} tasks ({} task_events rows{usage}) written to {}/",
        c.machines,
        c.jobs,
        c.tasks,
        c.task_rows,
        args.out.display()
    ));
    Ok(())
}
