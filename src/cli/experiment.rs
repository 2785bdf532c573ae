//! `borgsim experiment NAME SCENARIO`: the command line of
//! `borgsim::experiment` — the Borg paper's capacity experiments, each a
//! set of compactions. The scenario and the compaction flags are
//! `compact`'s (`compact::CompactionArgs`), plus `--parts` (subcells) and
//! `--policies` (policies); the directory is written whole
//! (`experiment.json`, `experiment.csv`, `report.html`, `run.json`), as
//! `compact`'s is.
//!
//! Bad input exits 2 before anything runs: an unknown experiment, an
//! experiment that edits the workload on a trace replay, `--policy` with
//! `policies`, sub-cell counts below 2.

use super::compact::{self as compact_cli, Caller, CompactionArgs};
use super::{check_estimate, say};
use borgsim::compact::{CompactError, Options};
use borgsim::error::Error;
use borgsim::experiment::{self, Experiment, ExperimentResult, Progress};
use borgsim::metrics::report::{OutputKind, RunDir, RunInfo};
use borgsim::report::Plots;
use borgsim::scenario::Scenario;
use borgsim::sched::Policy;
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Which experiment: one of the capacity experiments, or the FGD paper's.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ExperimentName {
    Capacity(Experiment),
    Fgd,
}

impl std::str::FromStr for ExperimentName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "fgd" {
            return Ok(ExperimentName::Fgd);
        }
        s.parse().map(ExperimentName::Capacity).map_err(|_| {
            format!(
                "unknown experiment {s:?}; expected one of segregation, subcells, bucketing, \
                 policies, reclamation, fgd"
            )
        })
    }
}

#[derive(Args, Debug)]
pub struct ExperimentArgs {
    /// The experiment: segregation, subcells, bucketing, policies,
    /// reclamation (capacity experiments, by compaction) or fgd (the FGD
    /// paper's GPU policies on openb pod lists).
    pub name: ExperimentName,
    /// The scenario TOML file, or a built-in scenario's name [fgd's
    /// default: scenarios/openb.toml].
    pub scenario: Option<PathBuf>,
    #[command(flatten)]
    pub fgd: super::experiment_fgd::FgdArgs,
    #[command(flatten)]
    pub c: CompactionArgs,
    /// subcells: the numbers of sub-cells to split the workload into.
    #[arg(long, value_delimiter = ',', value_name = "K,K,...")]
    pub parts: Option<Vec<u32>>,
    /// policies: the placement policies compared, best fit the baseline
    /// [default: worst_fit, best_fit, hybrid, and gpu_keep_whole on a cell
    /// with GPUs; the FGD paper's six only by name]. fgd: the policies
    /// replayed [default: the paper's six, random, dot_product,
    /// gpu_clustering, gpu_packing, gpu_best_fit, fgd].
    #[arg(long, value_delimiter = ',', value_name = "P,P,...")]
    pub policies: Vec<Policy>,
    /// policies: the task shape stranded resources and hole filling judge
    /// free space by, as CPU_MILLI,MEM_MIB (e.g. 1000,4096); overrides the
    /// scenario's packing.hole_size [default: the median task in the cell
    /// at the end].
    #[arg(long, value_name = "CPU_MILLI,MEM_MIB", value_parser = super::parse_hole_size)]
    pub hole_size: Option<borgsim::scenario::HoleSize>,
    /// Output directory [default: reports/<scenario name>-<experiment>/,
    /// with the policy before "-<experiment>" when --policy overrides it].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn main(args: ExperimentArgs) -> Result<(), Error> {
    let e = match args.name {
        ExperimentName::Fgd => return super::experiment_fgd::main(&args),
        ExperimentName::Capacity(e) => e,
    };
    super::experiment_fgd::refuse_fgd_flags(&args)?;
    let Some(origin) = args.scenario.as_deref() else {
        return Err(Error::Invalid {
            path: PathBuf::from(e.name()),
            key: "SCENARIO".into(),
            message: "the capacity experiments need a scenario".into(),
        });
    };
    let mut sc = compact_cli::scenario(origin, &args.c)?;
    if let Some(h) = args.hole_size {
        sc.packing.hole_size = Some(h);
    }
    let o = options(&args, e, origin, &sc)?;
    let limits = args.c.limits.resolve();
    let est = check_estimate(&sc, origin, &limits)?;
    let threads = compact_cli::threads(&args.c, est.memory_bytes, limits.memory_bytes);
    let o = experiment::Options {
        compact: Options {
            search: args.c.search.unwrap_or_default(),
            threads,
        },
        ..o
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&sc, &args, e));
    let dir = RunDir::create_for(&out, OutputKind::EXPERIMENT, &[origin.to_path_buf()])?;
    let loud = !args.c.quiet && std::io::stderr().is_terminal();
    let plots = Plots::wanted(!args.c.no_plots);
    let result = experiment_into(&dir, &sc, origin, &o, plots, Caller::CommandLine, &|p| {
        if loud && p.compaction.trials_done == p.compaction.trials {
            eprint!(
                "\rexperiment {}: cell {}/{}, {} simulations   ",
                e.name(),
                p.cells_done + 1,
                p.cells,
                p.compaction.probes
            );
        }
    });
    if loud {
        eprintln!();
    }
    let (r, wall) = result?;
    dir.publish()?;
    if !args.c.quiet {
        say(&human(&r, &out, wall, threads));
    }
    Ok(())
}

/// Runs the experiment `o` on `sc`, calling `progress` as cells are
/// compacted, and writes what `borgsim experiment` writes —
/// `experiment.json`, `experiment.csv`, `run.json` (CPU time by `caller`)
/// and `report.html` — into `dir`, which the caller publishes. Returns
/// the result and its wall time in seconds. What `experiment` and a
/// sweep's experiments share.
///
/// # Errors
/// A workload that does not fit a whole cell (naming `origin`), a
/// probe's error, the outputs' errors.
#[expect(
    clippy::disallowed_methods,
    reason = "the experiment's wall time, for run.json, which is not deterministic by design"
)]
pub(super) fn experiment_into(
    dir: &RunDir,
    sc: &Scenario,
    origin: &Path,
    o: &experiment::Options,
    plots: Plots,
    caller: Caller,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(ExperimentResult, f64), Error> {
    let started = Instant::now();
    let cpu = caller.cpu();
    let cpu_started = cpu.now();
    let r = match experiment::run(sc, o, progress) {
        Ok(r) => r,
        Err(CompactError::Run(e)) => return Err(e),
        Err(CompactError::DoesNotFit(no)) => {
            return Err(compact_cli::does_not_fit(origin, &no, caller.settings()))
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let run = RunInfo::completed(wall, cpu.since(cpu_started), r.events_processed);
    write(dir, sc, &r, &run, plots)?;
    Ok((r, wall))
}

/// `reports/<name>-<experiment>`, or `reports/<name>-<policy>-<experiment>`
/// with `--policy`, as `compact` and `inflate` name theirs: experiments
/// under two policies keep two directories.
fn default_out(sc: &Scenario, args: &ExperimentArgs, e: Experiment) -> PathBuf {
    let name = match args.c.policy {
        Some(p) => format!("{}-{}-{}", sc.name, p.name(), e.name()),
        None => format!("{}-{}", sc.name, e.name()),
    };
    Path::new("reports").join(name)
}

/// Whether some task of `sc` may use less than its limit: a trace (its
/// usage tables), a job class's usage model, or `[reclamation] usage`.
fn has_usage_model(sc: &Scenario) -> bool {
    sc.trace.is_some()
        || sc.workload.jobs.iter().any(|j| j.usage.is_some())
        || sc.reclamation.as_ref().is_some_and(|r| r.usage.is_some())
}

/// The experiment's options from the flags, checked against the scenario.
fn options(
    args: &ExperimentArgs,
    e: Experiment,
    origin: &Path,
    sc: &Scenario,
) -> Result<experiment::Options, Error> {
    let bad = |key: &str, message: String| Error::Invalid {
        path: origin.to_path_buf(),
        key: key.into(),
        message,
    };
    if e == Experiment::Policies && args.c.policy.is_some() {
        return Err(bad(
            "--policy",
            "the policies experiment compares policies: list them with --policies".into(),
        ));
    }
    if args.parts.is_some() && e != Experiment::Subcells {
        return Err(bad(
            "--parts",
            "applies to the subcells experiment only".into(),
        ));
    }
    if !args.policies.is_empty() && e != Experiment::Policies {
        return Err(bad(
            "--policies",
            "applies to the policies experiment only".into(),
        ));
    }
    if args.hole_size.is_some() && e != Experiment::Policies {
        return Err(bad(
            "--hole-size",
            "applies to the policies experiment only (its packing views)".into(),
        ));
    }
    if e == Experiment::Reclamation && !has_usage_model(sc) {
        return Err(bad(
            "workload.jobs[].usage",
            "the reclamation experiment needs tasks that use less than their limits: give \
             job classes a usage model (usage = { cpu_permille = ..., mem_permille = ... }) \
             or [reclamation] usage a default one; without one every task uses its whole \
             limit and nothing can be reclaimed"
                .into(),
        ));
    }
    let parts = args
        .parts
        .clone()
        .unwrap_or_else(|| experiment::DEFAULT_PARTS.to_vec());
    if let Some(m) = experiment::parts_problem(&parts) {
        return Err(bad("--parts", m));
    }
    if let Some(m) = experiment::policies_problem(&args.policies) {
        return Err(bad("--policies", m));
    }
    let policies = if args.policies.is_empty() {
        experiment::default_policies(&borgsim::whole_cell(sc)?)
    } else {
        args.policies.clone()
    };
    Ok(experiment::Options {
        experiment: e,
        compact: Options {
            search: args.c.search.unwrap_or_default(),
            threads: 1,
        },
        parts,
        policies,
    })
}

/// experiment.json, experiment.csv, run.json and report.html.
fn write(
    dir: &RunDir,
    sc: &Scenario,
    r: &ExperimentResult,
    run: &RunInfo,
    plots: Plots,
) -> Result<(), Error> {
    dir.write_json("experiment.json", r)?;
    dir.write_json("run.json", run)?;
    borgsim::report::experiment::write_csv(dir.path(), r)?;
    let cell = borgsim::whole_cell(sc)?;
    borgsim::report::experiment::write(dir.path(), sc, &cell, r, plots)
}

/// The answer for a person at a terminal: one line per variant.
fn human(r: &ExperimentResult, out: &Path, wall: f64, threads: usize) -> String {
    let count = borgsim::report::html::count;
    let mut s = format!(
        "experiment {} on {} (seed {}, {} trials, {} percentile) on {}, {:.2} s wall\n",
        r.experiment.name(),
        r.scenario,
        r.seed,
        r.trials,
        borgsim::report::sections::compaction::ordinal(r.percentile),
        super::counted(threads, "thread"),
        wall,
    );
    for v in &r.variants {
        s += &format!(
            "  {:<14} {:>9} machines  {:>+8.2} %{}\n",
            v.name,
            count(u64::from(v.machines)),
            v.extra_pct,
            if v.baseline { "  (baseline)" } else { "" }
        );
    }
    s + &format!(
        "paper ({}): {}\noutputs in {}/",
        r.paper.source,
        r.paper.says,
        out.display()
    )
}
