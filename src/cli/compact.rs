//! `borgsim compact SCENARIO`: the command line of `borgsim::compact` —
//! the scenario with the command line's overrides (seed, policy, and every
//! key of `[compaction]`), checked before anything runs; the thread count
//! (default: every core, capped so that the simulations running at once
//! fit `--max-memory`); a progress bar on a terminal; and the directory
//! written whole (`compaction.json`, `report.html`, `run.json`), as `run`'s
//! is.
//!
//! A workload that does not fit even the whole cell is bad input for a
//! compaction (exit code 2, naming what stays unplaced), as is a replay
//! that follows the trace's own placements (nothing is re-packed).

use super::{check_estimate, load_scenario, parse_switch, say, LimitArgs};
use borgsim::compact::search::Search;
use borgsim::compact::{self, CompactError, Compaction, Options, Progress, Settings};
use borgsim::error::Error;
use borgsim::metrics::report::{CpuClock, OutputKind, RunDir, RunInfo};
use borgsim::report::Plots;
use borgsim::scenario::{CompactionConfig, ReplayMode, Scenario};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct CompactArgs {
    /// The scenario TOML file, or a built-in scenario's name.
    pub scenario: PathBuf,
    #[command(flatten)]
    pub c: CompactionArgs,
    /// Output directory [default: reports/<scenario name>-compaction/, with
    /// the policy before "-compaction" when --policy overrides it].
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The flags of a compaction, shared with `borgsim experiment` (each of
/// whose cells is one).
#[derive(Args, Debug)]
pub struct CompactionArgs {
    /// Trials: random machine orders [default: [compaction] trials, or 11].
    #[arg(long, value_name = "N")]
    pub trials: Option<u32>,
    /// The percentile of the trials' answers reported, by nearest rank
    /// [default: [compaction] percentile, or 90].
    #[arg(long, value_name = "P")]
    pub percentile: Option<u32>,
    /// Override the scenario's root seed (the workload's, the scheduler's
    /// and the machine orders').
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the scenario's placement policy.
    #[arg(long)]
    pub policy: Option<borgsim::sched::Policy>,
    /// How each trial searches its order: bisect (between the capacity
    /// bound and the whole cell) or linear (remove machines one at a time
    /// until the workload no longer fits) [default: bisect].
    #[arg(long, value_name = "bisect|linear")]
    pub search: Option<Search>,
    /// Threads the trials (experiment fgd: the runs) go on, at least 1
    /// [default: every core]; changes no result.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<std::num::NonZeroUsize>,
    #[command(flatten)]
    pub fit: FitArgs,
    /// A workload that does not fit the whole cell: grow the cell by its
    /// own machine mix (12.5 % steps, up to 4×) until it does, and compact
    /// that [default: [compaction] grow, or off].
    #[arg(long)]
    pub grow: bool,
    /// Bisection also probes this many prefixes above each boundary it
    /// finds, and searches again above any that fails [default:
    /// [compaction] verify_above, or 4 for workloads with time, 0 for
    /// static ones].
    #[arg(long, value_name = "N")]
    pub verify_above: Option<u32>,
    /// No progress bar and nothing on the terminal but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Draw no plots: report.html with its tables only.
    #[arg(long)]
    pub no_plots: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `--threads N`: a whole number, at least 1.
fn parse_threads(s: &str) -> Result<std::num::NonZeroUsize, String> {
    match s.trim().parse::<usize>() {
        Ok(n) => std::num::NonZeroUsize::new(n)
            .ok_or_else(|| "at least 1 thread (0 runs nothing)".to_string()),
        Err(_) => Err(format!(
            "{s:?} is not a number of threads (a whole number ≥ 1)"
        )),
    }
}

/// The keys of `[compaction]` that make up the fit rule, as flags: shared
/// by every command that judges whether a workload fits (`compact`,
/// `experiment`, `inflate`).
#[derive(Args, Debug)]
pub struct FitArgs {
    /// The share of submitted tasks that may end unplaced [default:
    /// [compaction] picky_share, or 0.002].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub picky_share: Option<f64>,
    /// Drop the constraints and spread limits of jobs larger than
    /// --relax-above-share of the whole cell [default: [compaction]
    /// relax_large_jobs, or on].
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub relax_large_jobs: Option<bool>,
    /// What a large job is, as a share of the whole cell's machines
    /// [default: [compaction] relax_above_share, or 0.5].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub relax_above_share: Option<f64>,
    /// Workloads with time: the largest prod wait p90, in seconds
    /// [default: [compaction] prod_wait_p90_s, or 60].
    #[arg(long, value_name = "S")]
    pub prod_wait_p90_s: Option<u64>,
    /// Workloads with time: the largest non-prod wait p90, in seconds
    /// [default: [compaction] nonprod_wait_p90_s, or 300].
    #[arg(long, value_name = "S")]
    pub nonprod_wait_p90_s: Option<u64>,
    /// Reclamation on: the share of submitted tasks that may be killed
    /// for memory over a probe [default: [compaction] oom_kill_share, or 0].
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    pub oom_kill_share: Option<f64>,
}

impl FitArgs {
    /// Sets the keys the command line gives; returns their names.
    pub fn apply(&self, c: &mut CompactionConfig) -> Vec<&'static str> {
        let mut set = Vec::new();
        if let Some(v) = self.picky_share {
            c.picky_share = v;
            set.push("picky_share");
        }
        if let Some(v) = self.relax_large_jobs {
            c.relax_large_jobs = v;
            set.push("relax_large_jobs");
        }
        if let Some(v) = self.relax_above_share {
            c.relax_above_share = v;
            set.push("relax_above_share");
        }
        if let Some(v) = self.prod_wait_p90_s {
            c.prod_wait_p90_s = v;
            set.push("prod_wait_p90_s");
        }
        if let Some(v) = self.nonprod_wait_p90_s {
            c.nonprod_wait_p90_s = v;
            set.push("nonprod_wait_p90_s");
        }
        if let Some(v) = self.oom_kill_share {
            c.oom_kill_share = v;
            set.push("oom_kill_share");
        }
        set
    }
}

/// `c` checked; a bad key the command line set (`flags`) is named as its
/// flag, any other as the file's key.
///
/// # Errors
/// [`Error::Invalid`] naming the key or flag.
pub fn check_config(path: &Path, c: &CompactionConfig, flags: &[&str]) -> Result<(), Error> {
    c.validate().map_err(|(key, message)| {
        let field = key.trim_start_matches("compaction.");
        let key = if flags.contains(&field) {
            format!("--{}", field.replace('_', "-"))
        } else {
            key
        };
        Error::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        }
    })
}

pub fn main(args: CompactArgs) -> Result<(), Error> {
    let sc = scenario(&args.scenario, &args.c)?;
    let origin = args.scenario.as_path();
    let limits = args.c.limits.resolve();
    let est = check_estimate(&sc, origin, &limits)?;
    let threads = threads(&args.c, est.memory_bytes, limits.memory_bytes);
    let out = args.out.clone().unwrap_or_else(|| default_out(&sc, &args));
    let dir = RunDir::create_for(
        &out,
        OutputKind::COMPACTION,
        std::slice::from_ref(&args.scenario),
    )?;
    let bar = progress_bar(&sc, args.c.quiet);
    let o = Options {
        search: args.c.search.unwrap_or_default(),
        threads,
    };
    let plots = Plots::wanted(!args.c.no_plots);
    let result = compact_into(&dir, &sc, origin, &o, plots, Caller::CommandLine, &|p| {
        bar.set_position(u64::from(p.trials_done));
        bar.set_message(format!("{} simulations", p.probes));
    });
    bar.finish_and_clear();
    let (c, wall) = result.map_err(|e| super::policy_from_flag(e, args.c.policy))?;
    dir.publish()?;
    if !args.c.quiet {
        say(&human(&c, &out, wall, threads));
    }
    Ok(())
}

/// Compacts `sc` (its `[compaction]` checked) with `o`, calling
/// `progress` after each probe, and writes what `borgsim compact` writes —
/// `compaction.json`, `run.json` (CPU time by `caller`) and `report.html` —
/// into `dir`, which the caller publishes. Returns the compaction and its
/// wall time in seconds. What `compact` and a sweep's compactions share.
///
/// # Errors
/// A workload that does not fit the whole cell ([`does_not_fit`], naming
/// `origin`), a probe's error, the outputs' errors.
#[expect(
    clippy::disallowed_methods,
    reason = "the compaction's wall time, for run.json, which is not deterministic by design"
)]
pub(super) fn compact_into(
    dir: &RunDir,
    sc: &Scenario,
    origin: &Path,
    o: &Options,
    plots: Plots,
    caller: Caller,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Compaction, f64), Error> {
    let started = Instant::now();
    let cpu = caller.cpu();
    let cpu_started = cpu.now();
    let c = match compact::compact(sc, o, progress) {
        Ok(c) => c,
        Err(CompactError::Run(e)) => return Err(e),
        Err(CompactError::DoesNotFit(no)) => {
            return Err(does_not_fit(origin, &no, caller.settings()))
        }
    };
    let wall = started.elapsed().as_secs_f64();
    let run = RunInfo::completed(wall, cpu.since(cpu_started), c.events_processed);
    write(dir, sc, &c, &run, plots)?;
    Ok((c, wall))
}

/// Who runs a capacity command (`compact`, `experiment`, `inflate`): the
/// command line, one per process, or a sweep's run, one per thread of its
/// pool, whose settings are keys alone (no flags).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Caller {
    CommandLine,
    Sweep,
}

impl Caller {
    /// Whose CPU time `run.json` reports.
    pub(super) fn cpu(self) -> CpuClock {
        match self {
            Caller::CommandLine => CpuClock::Process,
            Caller::Sweep => CpuClock::Thread,
        }
    }

    /// How messages name what to change.
    pub(super) fn settings(self) -> Settings {
        match self {
            Caller::CommandLine => Settings::Flags,
            Caller::Sweep => Settings::Keys,
        }
    }
}

/// A workload that does not fit the whole cell: bad input, naming the
/// scenario's `[compaction]`, and what to change as `settings` (the
/// command line's flags, or a sweep's keys).
pub(super) fn does_not_fit(origin: &Path, no: &compact::NoFit, settings: Settings) -> Error {
    Error::Invalid {
        path: origin.to_path_buf(),
        key: "compaction".into(),
        message: no.message(settings),
    }
}

/// The scenario at `path` with the command line's overrides,
/// `[compaction]` included and checked (a bad value names its flag).
pub(super) fn scenario(path: &Path, args: &CompactionArgs) -> Result<Scenario, Error> {
    let mut sc = load_scenario(path)?;
    if let Some(seed) = args.seed {
        sc.seed = seed;
    }
    if let Some(p) = args.policy {
        sc.scheduler.policy = p;
    }
    refuse_trace_placement(path, &sc)?;
    let mut c = sc.compaction.unwrap_or_default();
    let flags = overrides(args, &mut c);
    check_config(path, &c, &flags)?;
    sc.compaction = Some(c);
    Ok(sc)
}

/// A replay that follows the trace's own placements cannot be compacted
/// (nothing is re-packed): bad input naming `trace.mode` of `path`.
///
/// # Errors
/// [`Error::Invalid`] for such a replay.
pub(super) fn refuse_trace_placement(path: &Path, sc: &Scenario) -> Result<(), Error> {
    match &sc.trace {
        Some(t) if t.mode == ReplayMode::TracePlacement => Err(Error::Invalid {
            path: path.to_path_buf(),
            key: "trace.mode".into(),
            message: "compaction re-packs the workload on fewer machines, and trace_placement \
                      follows the trace's own placements: use mode = \"reschedule\""
                .into(),
        }),
        _ => Ok(()),
    }
}

/// Sets the `[compaction]` keys the command line gives; returns their
/// names.
fn overrides(args: &CompactionArgs, c: &mut CompactionConfig) -> Vec<&'static str> {
    let mut set = Vec::new();
    if let Some(v) = args.trials {
        c.trials = v;
        set.push("trials");
    }
    if let Some(v) = args.percentile {
        c.percentile = v;
        set.push("percentile");
    }
    set.extend(args.fit.apply(c));
    if args.grow {
        c.grow = true;
        set.push("grow");
    }
    if let Some(v) = args.verify_above {
        c.verify_above = Some(v);
        set.push("verify_above");
    }
    set
}

/// `--threads`, or every core; at most as many as the memory limit holds
/// simulations of the scenario's estimated size (at least one).
pub(super) fn threads(args: &CompactionArgs, each_bytes: u64, limit_bytes: u64) -> usize {
    threads_capped(
        args.threads.map(std::num::NonZeroUsize::get),
        args.quiet,
        each_bytes,
        limit_bytes,
    )
}

/// `wanted` threads, or every core; at most as many as the memory limit
/// holds simulations of `each_bytes` (at least one), saying so unless
/// `quiet` when that is fewer.
pub(super) fn threads_capped(
    wanted: Option<usize>,
    quiet: bool,
    each_bytes: u64,
    limit_bytes: u64,
) -> usize {
    let wanted = wanted.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let fit = usize::try_from(limit_bytes / each_bytes.max(1)).unwrap_or(usize::MAX);
    let n = wanted.clamp(1, fit.max(1));
    if n < wanted && !quiet {
        eprintln!(
            "{n} threads, not {wanted}: each simulation is estimated at {}, and the \
             memory limit is {}",
            bytesize::ByteSize(each_bytes),
            bytesize::ByteSize(limit_bytes)
        );
    }
    n
}

/// `reports/<name>-compaction`, or `reports/<name>-<policy>-compaction`
/// with `--policy`.
fn default_out(sc: &Scenario, args: &CompactArgs) -> PathBuf {
    let name = match args.c.policy {
        Some(p) => format!("{}-{}-compaction", sc.name, p.name()),
        None => format!("{}-compaction", sc.name),
    };
    Path::new("reports").join(name)
}

/// compaction.json, run.json and report.html into the directory.
fn write(
    dir: &RunDir,
    sc: &Scenario,
    c: &Compaction,
    run: &RunInfo,
    plots: Plots,
) -> Result<(), Error> {
    dir.write_json("compaction.json", c)?;
    dir.write_json("run.json", run)?;
    let cell = borgsim::whole_cell(sc)?;
    borgsim::report::compaction::write(dir.path(), sc, &cell, c, plots)
}

/// The answer for a person at a terminal.
/// `a` as a percentage of `b`, one decimal: `112.4 %`.
fn percent_of(a: u32, b: u32) -> String {
    format!("{:.1} %", f64::from(a) * 100.0 / f64::from(b.max(1)))
}

fn human(c: &Compaction, out: &Path, wall: f64, threads: usize) -> String {
    let count = borgsim::report::html::count;
    let n = u64::from(c.whole_cell.machines);
    let mut s = format!(
        "compaction of {} (seed {}, policy {}, {} search): {} trials on {}, {:.2} s wall\n\
         {} percentile: {} of {} machines ({:.1} %), trial {}; fewest {}, median {}, most {}",
        c.scenario,
        c.seed,
        c.policy,
        c.search.name(),
        c.trials,
        super::counted(threads, "thread"),
        wall,
        borgsim::report::sections::compaction::ordinal(c.percentile),
        count(u64::from(c.answer.machines)),
        count(n),
        c.answer.share_of_cell * 100.0,
        c.answer.trial,
        count(u64::from(c.min_machines)),
        count(u64::from(c.median_machines)),
        count(u64::from(c.max_machines)),
    );
    if let Some(g) = &c.grown {
        s += &format!(
            "\nthe workload did not fit the cell's {} machines: compacted the cell grown by its \
             machine mix ×{} to {} machines, the first 12.5 % step it fits ({} of the cell as \
             written)",
            count(u64::from(g.from_machines)),
            g.factor,
            count(u64::from(g.to_machines)),
            percent_of(c.answer.machines, g.from_machines),
        );
    }
    if c.contradictions > 0 {
        s += &format!(
            "\nwarning: {} pairs of probes contradict monotonicity (a prefix fits and a longer one \
             does not): the answers are boundaries bisection found, not necessarily where removal \
             would stop (try --search linear)",
            c.contradictions
        );
    }
    s + &format!("\noutputs in {}/", out.display())
}

/// A bar over trials, the simulations run so far as its message; on
/// stderr, on a terminal only.
fn progress_bar(sc: &Scenario, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let trials = sc.compaction.map_or(11, |c| c.trials);
    let bar = ProgressBar::new(u64::from(trials));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} compaction: trial {pos}/{len} [{bar:30}] {msg}, {elapsed} elapsed",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}
