//! The command line. This is the imperative shell: the only place (with
//! `main.rs`) that reads the wall clock, looks at the terminal, reads how
//! much memory the machine has, or touches the file system.
//!
//! Before `run` allocates anything, and in `validate`, the scenario's
//! estimate (`scenario::estimate`) is checked against `--max-memory`
//! (default: half of physical memory, or of the container's cgroup limit
//! if lower; a larger value is capped at that memory, so no run is
//! attempted beyond the machine), `--max-events` and `--max-attempts`; a
//! run beyond any of them is refused as bad input (exit code 2) naming
//! the key that drives it.

#[cfg(feature = "agent")]
mod agent;
mod bench;
#[cfg(feature = "agent")]
mod client;
mod compact;
mod compare;
mod execute;
mod experiment;
mod experiment_fgd;
mod explain;
mod inflate;
#[cfg(feature = "agent")]
mod master;
mod observe;
mod sweep;
mod sweep_run;
mod trace;

use borgsim::error::Error;
use borgsim::metrics::report::{CpuClock, RunDir};
use borgsim::scenario::estimate::{DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_EVENTS};
use borgsim::scenario::{self, Limits, Scenario};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "borgsim",
    version,
    about = "A deterministic Borg-style cluster scheduler simulator"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario (the embedded quickstart if none is given) and write its outputs.
    Run(RunArgs),
    /// Check a scenario file without running it; warn (on stderr, exit 0)
    /// about job classes that no machine class could ever host.
    Validate {
        /// The scenario TOML file.
        scenario: PathBuf,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Explain one task's scheduling attempt: each filter's verdict and each
    /// scorer's score on each machine, the machine chosen and why, and what
    /// preemption considered.
    Explain(explain::ExplainArgs),
    /// Run the benchmark suite; compare with a baseline for CI.
    Bench(bench::BenchArgs),
    /// Inspect, convert or synthesise traces.
    #[command(subcommand)]
    Trace(trace::TraceCommand),
    /// Put two or more runs side by side: report.html and compare.csv.
    Compare(compare::CompareArgs),
    /// Run a sweep: a base scenario with parameters varied over lists of
    /// values and seeds, its runs in parallel; runs.csv and report.html.
    Sweep(sweep::SweepArgs),
    /// Merge the directories of a sweep's shards (sweep --shard I/N) into
    /// the directory one unsharded sweep writes.
    Merge(sweep::MergeArgs),
    /// How many machines the workload needs: Borg's cell compaction (random
    /// machine orders, the fewest machines on which it still fits, a
    /// percentile of the trials): compaction.json and report.html.
    Compact(compact::CompactArgs),
    /// The Borg paper's capacity experiments, each a set of compactions:
    /// segregation (prod and non-prod apart), subcells, bucketing (requests
    /// rounded up to powers of two), policies (with the other views of
    /// packing), reclamation: experiment.json, experiment.csv and
    /// report.html. Or fgd, the FGD paper's experiment: every policy × pod
    /// list × seed replayed one by one, nothing compacted: fgd.json, fgd.csv
    /// and report.html.
    ///
    /// fgd takes --traces, --seeds, --policies, --threads, --out, --quiet,
    /// --no-plots and the run-size guards (--max-events and --max-attempts
    /// stop any one replay that goes past them; --max-memory checks the
    /// scenario and caps the threads); the compaction flags (--trials,
    /// --percentile, --seed, --policy, --search, the fit rule's, --grow,
    /// --verify-above, --parts, --hole-size) are refused. The capacity
    /// experiments refuse --traces and --seeds.
    Experiment(experiment::ExperimentArgs),
    /// How much growth the cell takes: workload inflation (more tasks,
    /// sampled from the workload's own, or bigger ones, until it no longer
    /// fits; a percentile of the trials): inflation.json and report.html.
    Inflate(inflate::InflateArgs),
    /// Submit jobs to a live cell's master (feature `agent`).
    #[cfg(feature = "agent")]
    Submit(client::SubmitArgs),
    /// A live cell's jobs, tasks or machines, as a table or JSON (feature `agent`).
    #[cfg(feature = "agent")]
    Status(client::StatusArgs),
    /// Kill a job of a live cell (feature `agent`).
    #[cfg(feature = "agent")]
    Kill(client::KillArgs),
    /// Drain a machine of a live cell: its tasks move elsewhere, no new ones come (feature `agent`).
    #[cfg(feature = "agent")]
    Drain(client::DrainArgs),
    /// Run the live cell's agent (the Borglet) on this machine: it
    /// registers with the master and runs the tasks it is given as
    /// processes, under limits (feature `agent`).
    #[cfg(feature = "agent")]
    Agent(agent::AgentArgs),
    /// Run a live master: the simulator's scheduler placing real tasks on
    /// the agents that register with it (HTTP+JSON API, SQLite store).
    #[cfg(feature = "agent")]
    Master(master::MasterArgs),
}

#[derive(Args, Debug, Default)]
pub struct RunArgs {
    /// The scenario TOML file; omit to run the embedded quickstart.
    pub scenario: Option<PathBuf>,
    /// Override the scenario's root seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override the scenario's placement policy (worst_fit, best_fit, hybrid, gpu_keep_whole, random, dot_product, gpu_clustering, gpu_packing, gpu_best_fit, fgd; see README, GPU policies).
    #[arg(long)]
    pub policy: Option<borgsim::sched::Policy>,
    /// Override the scenario's preemption switch.
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub preemption: Option<bool>,
    /// Override the scenario's score caching switch.
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub score_cache: Option<bool>,
    /// Override the scenario's equivalence classes switch.
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub equivalence_classes: Option<bool>,
    /// Override the scenario's relaxed randomization switch.
    #[arg(long, value_name = "on|off", value_parser = parse_switch)]
    pub relaxed_randomization: Option<bool>,
    /// The task shape summary.json's stranded resources and hole filling
    /// judge free space by, as CPU_MILLI,MEM_MIB (e.g. 1000,4096); overrides
    /// the scenario's packing.hole_size [default: the median task in the
    /// cell at the end]
    #[arg(long, value_name = "CPU_MILLI,MEM_MIB", value_parser = parse_hole_size)]
    pub hole_size: Option<scenario::HoleSize>,
    /// Output directory [default: reports/<scenario name>/, with the policy
    /// appended when --policy overrides it].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar and no summary on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
    /// Draw no plots: no PNG files, and report.html with its tables only.
    #[arg(long)]
    pub no_plots: bool,
    /// Check every invariant after every event (slow; for debugging).
    #[arg(long)]
    pub check_invariants: bool,
    /// Trace replays: skip bad trace rows (counted in summary.json) instead
    /// of stopping at the first.
    #[arg(long)]
    pub lenient: bool,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub observe: observe::ObserveArgs,
}

/// What a run may take; a scenario whose estimate exceeds either is refused.
#[derive(Args, Debug, Default, Clone, Copy)]
pub struct LimitArgs {
    /// Refuse a run estimated to need more memory than SIZE (8GiB, 512MiB,
    /// or bytes; at most this machine's memory) [default: half of physical
    /// memory]
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
    /// Refuse a run estimated to process more than N events (arrivals, task
    /// ends, scheduling passes, samples) [default: 1000000000, about an hour
    /// or more]
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    /// Refuse a run whose scheduling passes are estimated to make more than
    /// N attempts to place pending tasks (a cell that cannot keep up tries
    /// its queue again every pass) [default: 10000000000, about an hour or
    /// more]
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u64>,
}

/// `--hole-size 1000,4096`: milli-cores and MiB, at least one above 0.
pub(crate) fn parse_hole_size(s: &str) -> Result<scenario::HoleSize, String> {
    let expected = || format!("expected CPU_MILLI,MEM_MIB (e.g. 1000,4096), got {s:?}");
    let (cpu, mem) = s.split_once(',').ok_or_else(expected)?;
    let n = |x: &str| x.trim().parse::<u64>().map_err(|_| expected());
    let h = scenario::HoleSize {
        cpu_milli: n(cpu)?,
        mem_mib: n(mem)?,
    };
    if h.cpu_milli == 0 && h.mem_mib == 0 {
        return Err("a hole must ask for some CPU or memory".into());
    }
    Ok(h)
}

/// Half of physical memory is the default `--max-memory`: room for the
/// rest of the machine, and for an estimate that is not a bound.
const DEFAULT_MEMORY_SHARE_DIV: u64 = 2;
/// The default when physical memory cannot be read.
const FALLBACK_MAX_MEMORY: u64 = 4 << 30;

impl LimitArgs {
    fn resolve(self) -> Limits {
        let physical = physical_memory_bytes();
        let size = |n: u64| bytesize::ByteSize(n).to_string();
        let (memory_bytes, memory_source) = match (self.max_memory, physical) {
            // No run is attempted beyond the machine, whatever the flag says.
            (Some(m), Some(p)) if m > p => (
                p,
                format!(
                    "--max-memory {}, capped at this machine's {}",
                    size(m),
                    size(p)
                ),
            ),
            (Some(m), _) => (m, "--max-memory".to_string()),
            (None, Some(p)) => (
                p / DEFAULT_MEMORY_SHARE_DIV,
                format!("half of this machine's {}", size(p)),
            ),
            (None, None) => (
                FALLBACK_MAX_MEMORY,
                "the default when physical memory cannot be read".to_string(),
            ),
        };
        Limits {
            memory_bytes,
            memory_source,
            physical_bytes: physical,
            events: self.max_events.unwrap_or(DEFAULT_MAX_EVENTS),
            attempts: self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
        }
    }
}

/// This machine's memory, or its container's (cgroup) limit when lower;
/// `None` if neither can be read.
fn physical_memory_bytes() -> Option<u64> {
    let mut sys = sysinfo::System::new();
    sys.refresh_memory();
    let total = sys.total_memory();
    let cgroup = sys.cgroup_limits().map(|c| c.total_memory);
    let m = match cgroup {
        Some(c) if c > 0 && (total == 0 || c < total) => c,
        _ => total,
    };
    (m > 0).then_some(m)
}

/// `--max-memory`: a size such as `8GiB`, `512MiB`, `2GB`, `1.5GiB` or
/// plain bytes, with the units `bytesize` reads (`k`/`KB` = 1000,
/// `Ki`/`KiB` = 1024, … up to `E`/`EiB`). More than `u64::MAX` bytes
/// (16 EiB) is an error, not a saturation.
fn parse_size(s: &str) -> Result<u64, String> {
    let expected = "expected a size such as 8GiB, 512MiB, 2GB or bytes";
    let s = s.trim();
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(end);
    if number.is_empty() {
        return Err(format!("{expected}, got {s:?}"));
    }
    let factor: u64 = match unit.trim_start() {
        "" => 1,
        u => {
            let unit: bytesize::Unit = u
                .parse()
                .map_err(|_| format!("unknown unit {u:?}: {expected}"))?;
            unit * 1u64
        }
    };
    let too_large = || {
        format!(
            "{s} is too large: at most {} bytes (just under 16 EiB)",
            u64::MAX
        )
    };
    let bytes = if number.contains('.') {
        let x: f64 = number
            .parse()
            .map_err(|_| format!("{expected}, got {s:?}"))?;
        let b = (x * factor as f64).ceil();
        // 2⁶⁴: the first value a u64 cannot hold.
        if b >= 18_446_744_073_709_551_616.0 {
            return Err(too_large());
        }
        b as u64
    } else {
        // Digits only: the parse fails only beyond u128.
        let n: u128 = number.parse().map_err(|_| too_large())?;
        let b = n.checked_mul(u128::from(factor)).ok_or_else(too_large)?;
        u64::try_from(b).map_err(|_| too_large())?
    };
    match bytes {
        0 => Err("must be more than 0 bytes".into()),
        n => Ok(n),
    }
}

/// Refuses a scenario whose estimate is beyond `limits` (bad input, exit
/// code 2, naming the key); returns the estimate otherwise.
fn check_estimate(
    sc: &Scenario,
    origin: &std::path::Path,
    limits: &Limits,
) -> Result<scenario::Estimate, Error> {
    let est = sc.estimate();
    est.check(limits).map_err(|(key, message)| Error::Invalid {
        path: origin.to_path_buf(),
        key,
        message,
    })?;
    Ok(est)
}

/// On SIGINT, SIGTERM or SIGHUP (Ctrl-C, `kill`, `timeout`): removes the
/// hidden staging directories of the outputs being written
/// (`metrics::staging`), which no destructor removes when a signal ends
/// the process, then exits with code 130. Earlier outputs stay as they
/// were (an output is only ever renamed into place whole).
fn remove_staging_on_signal() {
    // An error means a handler is already set (a second call): keep it.
    let _ = ctrlc::set_handler(|| {
        borgsim::metrics::staging::remove_all();
        eprintln!("interrupted: unfinished outputs removed");
        std::process::exit(130);
    });
}

/// Whether the command writes staged outputs. The live cell's commands do
/// not, and the agent and master handle SIGTERM themselves (the agent
/// stops its tasks and reports their ends first).
fn stages_outputs(cmd: Option<&Command>) -> bool {
    #[cfg(feature = "agent")]
    if matches!(
        cmd,
        Some(
            Command::Agent(_)
                | Command::Master(_)
                | Command::Submit(_)
                | Command::Status(_)
                | Command::Kill(_)
                | Command::Drain(_)
        )
    ) {
        return false;
    }
    let _ = cmd;
    true
}

/// Runs the command; returns the process exit code.
pub fn main_with(cli: Cli) -> i32 {
    if stages_outputs(cli.command.as_ref()) {
        remove_staging_on_signal();
    }
    let result = match cli.command {
        None => run(RunArgs::default()),
        Some(Command::Run(args)) => run(args),
        Some(Command::Validate { scenario, limits }) => validate(&scenario, limits),
        Some(Command::Explain(args)) => explain::main(args),
        Some(Command::Bench(args)) => return bench::main(args),
        Some(Command::Trace(cmd)) => trace::main(cmd),
        Some(Command::Compare(args)) => compare::main(args),
        Some(Command::Sweep(args)) => return sweep::main(args),
        Some(Command::Merge(args)) => sweep::merge_main(args),
        Some(Command::Compact(args)) => compact::main(args),
        Some(Command::Experiment(args)) => experiment::main(args),
        Some(Command::Inflate(args)) => inflate::main(args),
        #[cfg(feature = "agent")]
        Some(Command::Submit(args)) => client::submit(args),
        #[cfg(feature = "agent")]
        Some(Command::Status(args)) => client::status(args),
        #[cfg(feature = "agent")]
        Some(Command::Kill(args)) => client::kill(args),
        #[cfg(feature = "agent")]
        Some(Command::Drain(args)) => client::drain(args),
        #[cfg(feature = "agent")]
        Some(Command::Agent(args)) => return agent::main(args),
        #[cfg(feature = "agent")]
        #[cfg(feature = "agent")]
        Some(Command::Master(args)) => return master::main(args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// What `validate` (and `run`, unless quiet) warns about: job classes
/// the cell cannot host, and faults that can do nothing.
fn warnings(sc: &Scenario) -> Vec<String> {
    let hosts = sc.host_warnings().into_iter().map(|w| w.to_string());
    hosts
        .chain(sc.fault_warnings())
        .chain(sc.usage_warnings())
        .collect()
}

fn validate(path: &std::path::Path, limits: LimitArgs) -> Result<(), Error> {
    let sc = load_scenario(path)?;
    let limits = limits.resolve();
    let est = check_estimate(&sc, path, &limits)?;
    if let Some(t) = &sc.trace {
        // The trace's files must exist and open as the format (headers and
        // table names are checked; rows are read by `run`).
        let files = sc.trace_files(t)?;
        let opts = borgsim::trace::ReadOptions {
            lenient: t.lenient,
            reference: t.reference,
            ..Default::default()
        };
        borgsim::trace::open(t.format, &files, &opts)?;
        if sc.faults.is_some() {
            // A replay's machine classes and domains are the trace's: the
            // faults are checked on its cell, as `run` builds them.
            let cell = borgsim::whole_cell(&sc)?;
            borgsim::faults::Faults::for_scenario(&sc, &cell, &mut Vec::new())?;
        }
    }
    let workload = match &sc.trace {
        Some(t) => format!("{} trace ({} files)", t.format.name(), t.files.len()),
        None => format!(
            "{} machines, {} job classes",
            est.machines,
            sc.workload.jobs.len()
        ),
    };
    // Synthetic job classes that some or all of the cell can never host,
    // faults that can do nothing, and usage models nothing reads:
    // warnings, not errors (a scenario may mean to show a stuck task, or
    // keep its models for another run).
    let warnings = warnings(&sc);
    for w in &warnings {
        eprintln!("warning: {}: {w}", path.display());
    }
    let noted = match warnings.len() {
        0 => String::new(),
        1 => ", 1 warning".to_string(),
        n => format!(", {n} warnings"),
    };
    let placed_by = if sc.follows_trace_placements() {
        "the trace's placements".to_string()
    } else {
        format!("policy {}", sc.scheduler.policy.name())
    };
    say(&format!(
        "{}: ok: scenario {:?}, {}, {}, {placed_by}{noted}",
        path.display(),
        sc.name,
        workload,
        sc.duration_s
            .map_or("until drained".to_string(), |d| format!("{d} s")),
    ));
    say(&format!(
        "  estimate: {est}; limits {} of memory ({}), {} events, {} scheduling attempts",
        bytesize::ByteSize(limits.memory_bytes),
        limits.memory_source,
        scenario::estimate::count(limits.events),
        scenario::estimate::count(limits.attempts)
    ));
    Ok(())
}

/// The scenario `run` simulates, with the command line's overrides, and
/// its output directory.
fn run_scenario(args: &RunArgs) -> Result<(Scenario, PathBuf), Error> {
    let mut sc = match &args.scenario {
        Some(p) => load_scenario(p)?,
        None => Scenario::quickstart(),
    };
    if let Some(t) = sc.trace.as_mut() {
        t.lenient |= args.lenient;
    }
    if let Some(seed) = args.seed {
        sc.seed = seed;
    }
    if let Some(p) = args.preemption {
        sc.scheduler.preemption = p;
    }
    if let Some(on) = args.score_cache {
        sc.scheduler.score_cache = on;
    }
    if let Some(on) = args.equivalence_classes {
        sc.scheduler.equivalence_classes = on;
    }
    if let Some(on) = args.relaxed_randomization {
        sc.scheduler.relaxed_randomization = on;
    }
    if let Some(h) = args.hole_size {
        sc.packing.hole_size = Some(h);
    }
    let mut default_out = scenario::default_out_dir(&sc);
    if let Some(policy) = args.policy {
        sc.scheduler.policy = policy;
        default_out = default_out.with_file_name(format!("{}-{}", sc.name, policy.name()));
    }
    let out = args.out.clone().unwrap_or(default_out);
    Ok((sc, out))
}

/// A GPU policy refused on a cell without GPUs names where the policy came
/// from: `--policy` when the command line gave it (the library, which sees
/// only the scenario, says `scheduler.policy`).
pub(crate) fn policy_from_flag(e: Error, flag: Option<borgsim::sched::Policy>) -> Error {
    match e {
        Error::Invalid { path, key, message } if flag.is_some() && key == "scheduler.policy" => {
            Error::Invalid {
                path,
                key: "--policy".into(),
                message,
            }
        }
        e => e,
    }
}

fn run(args: RunArgs) -> Result<(), Error> {
    let (sc, out) = run_scenario(&args)?;
    let origin = args
        .scenario
        .as_deref()
        .unwrap_or(std::path::Path::new("quickstart"));
    // Before anything is allocated: refuse a run beyond the limits.
    check_estimate(&sc, origin, &args.limits.resolve())?;
    if !args.quiet {
        // What `validate` warns about, before the run (stderr).
        for w in warnings(&sc) {
            eprintln!("warning: {}: {w}", origin.display());
        }
    }
    let dir = RunDir::create(&out)?;
    let event_log = args.observe.open(&sc, origin, &out)?;
    install_panic_note(&args, sc.seed);
    let bar = progress_bar(&sc, args.quiet);
    let ex = execute::Execution {
        sc: &sc,
        check_invariants: args.check_invariants,
        plots: !args.no_plots,
        cpu: CpuClock::Process,
    };
    let result = execute::execute(
        &ex,
        &dir,
        |sim| args.observe.attach(sim, &dir, event_log),
        &mut |now| bar.set_position(now.as_us() / 1_000_000),
    );
    bar.finish_and_clear();
    let execute::Executed {
        mut sim,
        summary,
        wall_s,
    } = result.map_err(|e| policy_from_flag(e, args.policy))?;
    dir.publish()?;
    observe::ObserveArgs::finish(&mut sim, args.quiet)?;
    if let Some(w) = summary.typical_pods_warning().filter(|_| !args.quiet) {
        eprintln!("warning: {}: {w}", origin.display());
    }
    if sc.steady_state.is_some() && summary.steady_state.is_none() && !args.quiet {
        eprintln!(
            "warning: steady_state: the window holds no time of the run (0–{} s); \
             summary.json has steady_state = null",
            summary.duration_s
        );
    }
    if !args.quiet {
        say(&format!(
            "{}\noutputs in {}/ ({:.2} s wall)",
            summary.human(),
            out.display(),
            wall_s
        ));
    }
    Ok(())
}

/// A scenario file, or the name of a built-in scenario (`churn-1k`,
/// `openb`, …) when no file has that name (a directory is not a
/// scenario: `borgsim run quickstart` beside a `quickstart/` directory
/// runs the built-in).
fn load_scenario(p: &std::path::Path) -> Result<Scenario, Error> {
    if !p.is_file() {
        if let Some(sc) = p.to_str().and_then(Scenario::builtin) {
            return sc;
        }
    }
    Scenario::load(p)
}

/// `1 thread`, `2 threads`: a count with its noun.
pub(crate) fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

/// Prints a line to stdout; a closed pipe (`borgsim run | head`) is not an error.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// A panic is a bug in borgsim, never bad input: say how to reproduce it.
fn install_panic_note(args: &RunArgs, seed: u64) {
    let scenario = args
        .scenario
        .as_ref()
        .map_or("(embedded quickstart)".to_string(), |p| {
            p.display().to_string()
        });
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        eprintln!(
            "borgsim: internal error (a bug). Reproduce with: borgsim run {scenario} --seed {seed}"
        );
    }));
}

fn parse_switch(s: &str) -> Result<bool, String> {
    match s {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(format!("expected on or off, got {s:?}")),
    }
}

/// A progress bar over simulated seconds, on stderr, only on a terminal.
fn progress_bar(sc: &Scenario, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let Some(duration_s) = sc.duration_s else {
        return ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(
                "{spinner} simulated {pos} s, running until drained; {elapsed} elapsed",
            )
            .expect("a valid template"),
        );
    };
    let bar = ProgressBar::new(duration_s);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} simulated {pos}/{len} s [{bar:40}] {elapsed} elapsed",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar
}
