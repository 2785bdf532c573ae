//! `borgsim inflate SCENARIO --mode horizontal|vertical`: the command line
//! of `borgsim::inflate` — the scenario with the command line's overrides
//! (seed, policy, the fit rule's `[compaction]` keys, as `compact` takes
//! them), checked before anything runs; the thread count (as `compact`'s);
//! a progress bar on a terminal; and the directory written whole
//! (`inflation.json`, `report.html`, `run.json`).
//!
//! Bad input, exit code 2: a trace replay (nothing to draw from), a
//! workload that does not fit even uninflated, one that fits even at the
//! cap, and `--trials` above 1 for vertical inflation, which draws nothing
//! (every trial would repeat the first: refused rather than run in vain).

use super::compact::{check_config, threads_capped, Caller, FitArgs};
use super::{check_estimate, load_scenario, say, LimitArgs};
use borgsim::error::Error;
use borgsim::inflate::{self, InflateError, Inflation, Mode, Options, Progress};
use borgsim::metrics::report::{OutputKind, RunDir, RunInfo};
use borgsim::report::Plots;
use borgsim::scenario::Scenario;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args, Debug)]
pub struct InflateArgs {
    /// The scenario TOML file, or a built-in scenario's name.
    pub scenario: PathBuf,
    /// horizontal: more tasks, sampled from each job's own; vertical:
    /// bigger tasks, every CPU and memory request grown.
    #[arg(long, value_name = "horizontal|vertical")]
    pub mode: Mode,
    /// Trials: Monte-Carlo draws of the added tasks [default: 11
    /// horizontal; 1 vertical, which draws nothing and takes no other].
    #[arg(long, value_name = "N")]
    pub trials: Option<u32>,
    /// The percentile of the trials' answers reported, by nearest rank
    /// (the default, 10, is the cautious tail: growth at least 90 % of the
    /// draws took).
    #[arg(long, value_name = "P", default_value_t = inflate::DEFAULT_PERCENTILE)]
    pub percentile: u32,
    /// The search's step, in per mille of the workload (10: 1 %).
    #[arg(long, value_name = "PERMILLE", default_value_t = inflate::DEFAULT_RESOLUTION_PERMILLE)]
    pub resolution_permille: u32,
    /// The largest inflation tried, in per mille (100000: +10,000 %).
    #[arg(long, value_name = "PERMILLE", default_value_t = inflate::DEFAULT_CAP_PERMILLE)]
    pub cap_permille: u32,
    /// Override the scenario's root seed (the workload's, the scheduler's
    /// and the added tasks').
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the scenario's placement policy.
    #[arg(long)]
    pub policy: Option<borgsim::sched::Policy>,
    /// Threads the trials run on, at least 1 [default: every core];
    /// changes no result.
    #[arg(long, value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    #[command(flatten)]
    pub fit: FitArgs,
    /// Output directory [default: reports/<scenario name>-inflation-<mode>/,
    /// with the policy before "-inflation" when --policy overrides it].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar and nothing on the terminal but errors.
    #[arg(long, short)]
    pub quiet: bool,
    /// Draw no plots: report.html with its tables only.
    #[arg(long)]
    pub no_plots: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn main(args: InflateArgs) -> Result<(), Error> {
    let (sc, o) = scenario(&args)?;
    let origin = args.scenario.as_path();
    let limits = args.limits.resolve();
    let est = check_estimate(&sc, origin, &limits)?;
    let o = Options {
        // No more threads than trials: a vertical inflation runs one.
        threads: threads_capped(
            args.threads.map(std::num::NonZeroUsize::get),
            args.quiet,
            est.memory_bytes,
            limits.memory_bytes,
        )
        .min(o.trials as usize),
        ..o
    };
    let out = args.out.clone().unwrap_or_else(|| default_out(&sc, &args));
    let dir = RunDir::create_for(
        &out,
        OutputKind::INFLATION,
        std::slice::from_ref(&args.scenario),
    )?;
    let bar = progress_bar(o.trials, args.quiet);
    let plots = Plots::wanted(!args.no_plots);
    let result = inflate_into(&dir, &sc, origin, &o, plots, Caller::CommandLine, &|p| {
        bar.set_position(u64::from(p.trials_done));
        bar.set_message(format!("{} simulations", p.probes));
    });
    bar.finish_and_clear();
    let (c, wall) = result?;
    dir.publish()?;
    if !args.quiet {
        say(&human(&c, &out, wall, o.threads));
    }
    Ok(())
}

/// Inflates `sc`'s workload with `o`, calling `progress` after each probe,
/// and writes what `borgsim inflate` writes — `inflation.json`,
/// `run.json` (CPU time by `caller`) and `report.html` — into `dir`, which
/// the caller publishes. Returns the inflation and its wall time in
/// seconds. What `inflate` and a sweep's inflations share.
///
/// # Errors
/// An inflation without an answer ([`refusal`], naming `origin`), a
/// probe's error, the outputs' errors.
#[expect(
    clippy::disallowed_methods,
    reason = "the inflation's wall time, for run.json, which is not deterministic by design"
)]
pub(super) fn inflate_into(
    dir: &RunDir,
    sc: &Scenario,
    origin: &Path,
    o: &Options,
    plots: Plots,
    caller: Caller,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<(Inflation, f64), Error> {
    let started = Instant::now();
    let cpu = caller.cpu();
    let cpu_started = cpu.now();
    let c = inflate::inflate(sc, o, progress).map_err(|e| refusal(e, origin))?;
    let wall = started.elapsed().as_secs_f64();
    let run = RunInfo::completed(wall, cpu.since(cpu_started), c.events_processed);
    write(dir, sc, &c, &run, plots)?;
    Ok((c, wall))
}

/// The options `borgsim inflate --mode MODE` runs with when given no
/// other: the mode's trials, the default percentile, resolution and cap,
/// one thread.
pub(super) fn default_options(mode: Mode) -> Options {
    Options {
        mode,
        trials: match mode {
            Mode::Horizontal => inflate::DEFAULT_HORIZONTAL_TRIALS,
            Mode::Vertical => 1,
        },
        percentile: inflate::DEFAULT_PERCENTILE,
        resolution_permille: inflate::DEFAULT_RESOLUTION_PERMILLE,
        cap_permille: inflate::DEFAULT_CAP_PERMILLE,
        threads: 1,
    }
}

/// An inflation without an answer as bad input naming what to change.
fn refusal(e: InflateError, origin: &Path) -> Error {
    let key = match &e {
        InflateError::Run(_) => None,
        InflateError::DoesNotFit(_) => Some("compaction"),
        InflateError::NeverFull { .. } => Some("--cap-permille"),
    };
    match (e, key) {
        (InflateError::Run(e), _) => e,
        (e, key) => Error::Invalid {
            path: origin.to_path_buf(),
            key: key.unwrap_or_default().into(),
            message: e.to_string(),
        },
    }
}

/// The scenario with the command line's overrides, and the options,
/// checked (a bad value names its flag).
fn scenario(args: &InflateArgs) -> Result<(Scenario, Options), Error> {
    let mut sc = load_scenario(&args.scenario)?;
    let bad = |key: &str, message: String| Error::Invalid {
        path: args.scenario.clone(),
        key: key.into(),
        message,
    };
    if sc.trace.is_some() {
        return Err(bad(
            "trace",
            "workload inflation grows a synthetic workload by Monte-Carlo draws of its own \
             tasks; a trace replay is read as it is and cannot be inflated"
                .into(),
        ));
    }
    if let Some(seed) = args.seed {
        sc.seed = seed;
    }
    if let Some(p) = args.policy {
        sc.scheduler.policy = p;
    }
    let mut c = sc.compaction.unwrap_or_default();
    let flags = args.fit.apply(&mut c);
    check_config(&args.scenario, &c, &flags)?;
    sc.compaction = Some(c);
    let trials = match (args.mode, args.trials) {
        (_, Some(0)) => return Err(bad("--trials", "at least 1 trial".into())),
        (Mode::Vertical, Some(n)) if n > 1 => {
            return Err(bad(
                "--trials",
                format!(
                    "vertical inflation grows every request by the same factor and draws \
                     nothing: {n} trials would repeat one; leave --trials out (or 1)"
                ),
            ))
        }
        (_, Some(n)) => n,
        (mode, None) => default_options(mode).trials,
    };
    if !(1..=100).contains(&args.percentile) {
        return Err(bad("--percentile", "a percentile in 1..=100".into()));
    }
    if args.cap_permille == 0 || args.cap_permille > inflate::MAX_CAP_PERMILLE {
        return Err(bad(
            "--cap-permille",
            format!(
                "the largest growth tried, from 1 ‰ to {} ‰ ({}×)",
                inflate::MAX_CAP_PERMILLE,
                inflate::MAX_CAP_PERMILLE / 1000
            ),
        ));
    }
    if args.resolution_permille == 0 || args.resolution_permille > args.cap_permille {
        return Err(bad(
            "--resolution-permille",
            format!(
                "a step of at least 1 ‰ and at most --cap-permille ({})",
                args.cap_permille
            ),
        ));
    }
    let o = Options {
        mode: args.mode,
        trials,
        percentile: args.percentile,
        resolution_permille: args.resolution_permille,
        cap_permille: args.cap_permille,
        threads: 1,
    };
    Ok((sc, o))
}

/// `reports/<name>-inflation-<mode>`, or
/// `reports/<name>-<policy>-inflation-<mode>` with `--policy`.
fn default_out(sc: &Scenario, args: &InflateArgs) -> PathBuf {
    let name = match args.policy {
        Some(p) => format!("{}-{}-inflation-{}", sc.name, p.name(), args.mode.name()),
        None => format!("{}-inflation-{}", sc.name, args.mode.name()),
    };
    Path::new("reports").join(name)
}

/// inflation.json, run.json and report.html into the directory.
fn write(
    dir: &RunDir,
    sc: &Scenario,
    c: &Inflation,
    run: &RunInfo,
    plots: Plots,
) -> Result<(), Error> {
    dir.write_json("inflation.json", c)?;
    dir.write_json("run.json", run)?;
    let cell = borgsim::whole_cell(sc)?;
    borgsim::report::inflation::write(dir.path(), sc, &cell, c, plots)
}

/// The answer for a person at a terminal.
fn human(c: &Inflation, out: &Path, wall: f64, threads: usize) -> String {
    let count = borgsim::report::html::count;
    let pct = borgsim::report::sections::inflation::percent_of_permille;
    let a = &c.answer;
    let mut s = format!(
        "{} inflation of {} (seed {}, policy {}): {} trial{} on {} thread{}, {:.2} s wall\n\
         {} percentile: +{} (trial {}): {} tasks more, {} milli-cores and {} MiB more requested; \
         fewest +{}, median +{}, most +{}",
        c.mode.name(),
        c.scenario,
        c.seed,
        c.policy,
        c.trials,
        if c.trials == 1 { "" } else { "s" },
        threads,
        if threads == 1 { "" } else { "s" },
        wall,
        borgsim::report::sections::compaction::ordinal(c.percentile),
        pct(a.permille),
        a.trial,
        count(a.added.tasks),
        count(a.added.cpu_milli),
        count(a.added.mem_mib),
        pct(c.min_permille),
        pct(c.median_permille),
        pct(c.max_permille),
    );
    if c.contradictions > 0 {
        s += &format!(
            "\nwarning: {} pairs of probes contradict monotonicity (a factor does not fit and a \
             larger one does): the answers are boundaries the search found, not necessarily the \
             first failure",
            c.contradictions
        );
    }
    s + &format!("\noutputs in {}/", out.display())
}

/// A bar over trials, the simulations run so far as its message; on
/// stderr, on a terminal only.
fn progress_bar(trials: u32, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(u64::from(trials));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} inflation: trial {pos}/{len} [{bar:30}] {msg}, {elapsed} elapsed",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}
