//! The serde model of a scenario file, and its validation.

use crate::cell::attrs::ConstraintOp;
use crate::sched::Policy;
use crate::workload::dist::Dist;
use crate::workload::Band;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A whole scenario file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Names the output directory; letters, digits, `-`, `_`, `.`.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Root seed; every random stream is split from it.
    pub seed: u64,
    /// Simulated time to run, in seconds. Absent: run until drained — every
    /// job submitted and nothing left to happen (every job class must then be
    /// bounded: `max_jobs`, a `uniform` arrival count, or no arrivals).
    pub duration_s: Option<u64>,
    /// Interval between time-series samples, in seconds. A reporting
    /// parameter only: it changes no figure of `summary.json`.
    #[serde(default = "default_sample_interval_s")]
    pub sample_interval_s: u64,
    /// The window `summary.json`'s `steady_state` utilisation is taken
    /// over. Absent: from the first instant the cell holds its median CPU
    /// allocation to the last arrival.
    pub steady_state: Option<SteadyStateConfig>,
    /// The machines. May be left out when a trace supplies them.
    #[serde(default)]
    pub cell: CellConfig,
    pub scheduler: SchedulerConfig,
    /// Synthetic job classes. Left out when a trace supplies the workload.
    #[serde(default)]
    pub workload: WorkloadConfig,
    /// A trace to replay instead of a synthetic workload.
    pub trace: Option<TraceConfig>,
    /// How packing quality is judged (`summary.json`'s `packing`).
    #[serde(default)]
    pub packing: PackingConfig,
    /// How `borgsim compact` judges a fit (absent: every default).
    pub compaction: Option<super::compaction::CompactionConfig>,
    /// Reporting settings (`[metrics]`; absent: every default).
    #[serde(default)]
    pub metrics: super::metrics::MetricsConfig,
    /// Faults injected into the run (`scenario/faults.rs`); absent: none,
    /// and the run is exactly as without the fault machinery.
    pub faults: Option<super::faults::FaultsConfig>,
    /// Usage apart from requests, and the reclamation of the difference
    /// (`scenario/reclamation.rs`); absent: off, and the run is exactly as
    /// without it.
    pub reclamation: Option<super::reclamation::ReclamationConfig>,
    /// What relative paths in the scenario are resolved against (set by
    /// the loader).
    #[serde(skip)]
    pub base: Base,
    /// The file it was read from (a built-in's `<embedded>/NAME.toml`),
    /// naming it in errors found after parsing: checks against a cell
    /// read from a trace (set by [`Scenario::parse`]).
    #[serde(skip)]
    pub origin: PathBuf,
}

/// What a scenario's relative paths (its trace files) are relative to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// A directory on disk: a scenario file's own.
    Dir(PathBuf),
    /// A built-in scenario (named in errors by this origin): its paths name
    /// files compiled into the binary (`scenario/embedded.rs`), never the disk.
    Builtin(PathBuf),
}

impl Default for Base {
    /// The current directory: a scenario parsed from text.
    fn default() -> Self {
        Base::Dir(PathBuf::new())
    }
}

/// Where a replay's machines come from.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineSource {
    /// The trace's machine table (its ADD/REMOVE/UPDATE events are replayed).
    #[default]
    Trace,
    /// The scenario's `[cell]`; the trace's machine events are ignored.
    Scenario,
}

/// How a replay places tasks.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayMode {
    /// Take the trace's submissions and run lengths; borgsim's scheduler
    /// places them.
    #[default]
    Reschedule,
    /// Follow the trace's own placements, evictions and ends (no scheduling).
    TracePlacement,
}

/// When a replay's tasks arrive.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalOrder {
    /// At the trace's own times.
    #[default]
    Trace,
    /// The openb paper's protocol: the trace's tasks shuffled with the seed,
    /// then tasks drawn from them with replacement until the GPU demand
    /// reaches `inflate_gpu_demand_pct` % of the cell's GPUs; one arrival per
    /// simulated second, none leaves, and one that fits nowhere is dropped.
    OneByOne,
}

/// The largest `trace.inflate_gpu_demand_pct`: pods are drawn until their
/// GPU demand reaches ten times the cell's GPU capacity at most (the paper
/// goes to 130 %), so that the drawn list, held in memory, stays bounded.
pub const MAX_INFLATE_GPU_DEMAND_PCT: u32 = 1000;

/// `[trace]`: the trace to replay.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    pub format: crate::trace::TraceFormat,
    /// Table files, parts or directories of parts, relative to the scenario.
    pub files: Vec<PathBuf>,
    #[serde(default)]
    pub mode: ReplayMode,
    #[serde(default)]
    pub machines: MachineSource,
    #[serde(default)]
    pub arrivals: ArrivalOrder,
    /// With `arrivals = "one_by_one"`: the GPU demand to reach, in % of the
    /// cell's GPU capacity (the paper uses 130), 1 to
    /// [`MAX_INFLATE_GPU_DEMAND_PCT`].
    pub inflate_gpu_demand_pct: Option<u32>,
    /// What normalised units are relative to (default: the format's).
    pub reference: Option<crate::trace::ReferenceMachine>,
    /// Skip bad rows (counted in summary.json) instead of failing.
    #[serde(default)]
    pub lenient: bool,
}

/// `[packing]`: the task shape `summary.json`'s stranded resources and
/// hole filling judge free space by (`metrics::packing`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackingConfig {
    /// `hole_size = { cpu_milli, mem_mib }`. Absent: the median request of
    /// the tasks in the cell at the end.
    pub hole_size: Option<HoleSize>,
}

/// A task shape: milli-cores and MiB; at least one of them above 0.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoleSize {
    pub cpu_milli: u64,
    pub mem_mib: u64,
}

/// `steady_state = { start_s, end_s }`: fixes either end of the window
/// (an end left out follows the default rule).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SteadyStateConfig {
    pub start_s: Option<u64>,
    pub end_s: Option<u64>,
}

/// The largest share of an exponential or log-normal count or size whose
/// draws may round to 0 (each then counts as 1): beyond it the scenario
/// would quietly describe another distribution.
pub const MAX_ZERO_SHARE: f64 = 0.01;

/// The latest simulated time, in whole seconds: time is µs in a u64, whose
/// largest value means "never" (about 584,542 years).
pub const MAX_TIME_S: u64 = (u64::MAX - 1) / 1_000_000;

/// The error for a time beyond [`MAX_TIME_S`]; it is refused, never
/// silently turned into "never" (which would make a run last until drained).
pub(super) fn beyond_time(v: impl std::fmt::Display) -> String {
    format!("{v} s is beyond the simulator's clock (at most {MAX_TIME_S} s, µs in 64 bits)")
}

fn default_sample_interval_s() -> u64 {
    60
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellConfig {
    #[serde(default = "default_machines_per_rack")]
    pub machines_per_rack: u32,
    #[serde(default = "default_racks_per_power_domain")]
    pub racks_per_power_domain: u32,
    /// Racks without a named row fill generated rows of this many (default
    /// 1: each rack its own row).
    #[serde(default = "one")]
    pub racks_per_row: u32,
    /// Machine classes; machines are numbered class by class, in order.
    #[serde(default)]
    pub machines: Vec<MachineClass>,
    /// Takes the machines and their failure domains from a trace's machine
    /// table instead (`machines` then stays empty), for a synthetic
    /// workload on a real topology.
    pub from_trace: Option<super::cell_trace::CellFromTrace>,
    /// With `from_trace`, once read: each machine's named domains, in
    /// machine order (`cell_trace.rs`).
    #[serde(skip)]
    pub trace_domains: Option<std::sync::Arc<Vec<super::domains::NamedDomains>>>,
}

impl Default for CellConfig {
    fn default() -> Self {
        CellConfig {
            machines_per_rack: default_machines_per_rack(),
            racks_per_power_domain: default_racks_per_power_domain(),
            racks_per_row: 1,
            machines: Vec::new(),
            from_trace: None,
            trace_domains: None,
        }
    }
}

fn default_machines_per_rack() -> u32 {
    40
}
fn default_racks_per_power_domain() -> u32 {
    10
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineClass {
    pub count: u32,
    pub cpu_milli: u64,
    pub mem_mib: u64,
    #[serde(default)]
    pub gpus: u32,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Puts every machine of the class in this named rack. Unnamed machines
    /// fill generated racks of `machines_per_rack`.
    pub rack: Option<String>,
    /// The named rack's power domain. Racks without one fill generated power
    /// domains of `racks_per_power_domain`.
    pub power_domain: Option<String>,
    /// The named rack's row. Racks without one fill generated rows of
    /// `racks_per_row`.
    pub row: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerConfig {
    pub policy: Policy,
    #[serde(default = "yes")]
    pub preemption: bool,
    /// Keep per-class verdict caches across passes (Borg's score caching).
    #[serde(default = "yes")]
    pub score_cache: bool,
    /// Share one verdict cache among identical tasks (Borg's equivalence classes).
    #[serde(default = "yes")]
    pub equivalence_classes: bool,
    /// Examine machines in random order until enough fit, then take the best
    /// of those (Borg's relaxed randomization; see `sched::sample`).
    #[serde(default = "yes")]
    pub relaxed_randomization: bool,
    /// Minimum simulated time between two scheduling passes, in ms.
    #[serde(default = "default_pass_interval_ms")]
    pub pass_interval_ms: u64,
    /// The spreading score's weight per failure-domain level (`{ rack = 2,
    /// power = 1 }`, each 0–1000, one above 0 at least); absent: no
    /// spreading score.
    pub spreading: Option<crate::sched::plugins::spreading::LevelWeights>,
    /// How long a task avoids a machine it failed on (machine failure or
    /// crash), in seconds; absent or 0: it does not.
    pub avoid_failed_s: Option<u64>,
}

fn yes() -> bool {
    true
}
fn default_pass_interval_ms() -> u64 {
    1000
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadConfig {
    #[serde(default)]
    pub jobs: Vec<JobClassConfig>,
}

/// One class of synthetic jobs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobClassConfig {
    pub name: String,
    pub band: Band,
    /// Defaults to the lowest priority of the band.
    pub priority: Option<u32>,
    /// Jobs are attributed to this many users, drawn uniformly.
    #[serde(default = "one")]
    pub users: u32,
    /// Jobs submitted at time 0.
    #[serde(default)]
    pub initial_jobs: u64,
    /// Arrivals after the initial jobs; none if absent.
    pub arrival: Option<Arrival>,
    /// At most this many jobs in all.
    pub max_jobs: Option<u64>,
    pub tasks: Dist,
    pub cpu_milli: Dist,
    pub mem_mib: Dist,
    #[serde(default)]
    pub gpu: GpuConfig,
    /// How long each task runs, in seconds; absent = until the end (services).
    pub duration_s: Option<Dist>,
    pub max_per_machine: Option<u32>,
    pub max_per_rack: Option<u32>,
    pub max_per_row: Option<u32>,
    pub max_per_power_domain: Option<u32>,
    #[serde(default)]
    pub constraints: Vec<ConstraintConfig>,
    /// How much of its limit each task uses over time
    /// (`scenario::usage`); absent: the `[reclamation]` default model, or
    /// the whole limit.
    pub usage: Option<super::usage::UsageModelConfig>,
}

fn one() -> u32 {
    1
}

#[derive(Copy, Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrival {
    /// Exponential gaps: `per_hour` jobs per hour on average, for ever.
    Poisson { per_hour: f64 },
    /// Exactly `count` jobs at independent uniform times in `[0, over_s]`.
    Uniform { count: u64, over_s: f64 },
}

#[derive(Copy, Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum GpuConfig {
    #[default]
    None,
    /// Whole devices per task.
    Whole(u32),
    /// Milli-share of one device per task (1..=999).
    Share(u32),
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintConfig {
    pub attr: String,
    pub op: ConstraintOp,
    pub value: Option<String>,
}

/// A validation failure: (key path, message).
pub type Invalid = (String, String);

/// `trace.inflate_gpu_demand_pct`: 1 to [`MAX_INFLATE_GPU_DEMAND_PCT`],
/// and only for one-by-one arrivals.
fn check_inflate(t: &TraceConfig) -> Result<(), Invalid> {
    let key = "trace.inflate_gpu_demand_pct";
    match (t.arrivals, t.inflate_gpu_demand_pct) {
        (ArrivalOrder::OneByOne, Some(0)) => Err(bad(key, "must be > 0")),
        (ArrivalOrder::OneByOne, Some(p)) if p > MAX_INFLATE_GPU_DEMAND_PCT => Err(bad(
            key,
            format!(
                "{p} is above {MAX_INFLATE_GPU_DEMAND_PCT} (ten times the cell's GPU capacity, \
                 the most a one-by-one replay draws pods to)"
            ),
        )),
        (ArrivalOrder::Trace, Some(_)) => Err(bad(key, "only with arrivals = \"one_by_one\"")),
        _ => Ok(()),
    }
}

fn bad(key: impl Into<String>, msg: impl Into<String>) -> Invalid {
    (key.into(), msg.into())
}

impl Scenario {
    /// Whether the run follows a trace's own placements
    /// (`trace.mode = "trace_placement"`): no scheduling pass runs, so the
    /// scheduler's policy, preemption and techniques decide nothing.
    pub fn follows_trace_placements(&self) -> bool {
        self.trace
            .as_ref()
            .is_some_and(|t| t.mode == ReplayMode::TracePlacement)
    }

    /// The run's times: positive, and within the simulator's clock.
    fn validate_times(&self) -> Result<(), Invalid> {
        if self.duration_s == Some(0) {
            return Err(bad("duration_s", "must be > 0"));
        }
        if self.sample_interval_s == 0 {
            return Err(bad("sample_interval_s", "must be > 0"));
        }
        if self.scheduler.pass_interval_ms == 0 {
            return Err(bad("scheduler.pass_interval_ms", "must be > 0"));
        }
        if let Some(w) = &self.scheduler.spreading {
            w.validate()?;
        }
        for (k, v) in [
            ("duration_s", self.duration_s.unwrap_or(0)),
            ("sample_interval_s", self.sample_interval_s),
            (
                "scheduler.pass_interval_ms",
                self.scheduler.pass_interval_ms / 1000,
            ),
            (
                "scheduler.avoid_failed_s",
                self.scheduler.avoid_failed_s.unwrap_or(0),
            ),
        ] {
            if v > MAX_TIME_S {
                return Err(bad(k, beyond_time(v)));
            }
        }
        Ok(())
    }

    /// The name names the output directory.
    fn validate_name(&self) -> Result<(), Invalid> {
        let chars_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !chars_ok {
            return Err(bad(
                "name",
                format!(
                    "names the output directory, so must be ASCII letters and digits, '-', \
                     '_' or '.', got {:?}",
                    self.name
                ),
            ));
        }
        if self.name.starts_with('.') {
            return Err(bad(
                "name",
                format!(
                    "names the output directory, so may not start with '.' (a hidden \
                     directory, or . and ..), got {:?}",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    /// Checks every value; the error names the key.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.validate_name()?;
        self.validate_times()?;
        if let Some(HoleSize {
            cpu_milli: 0,
            mem_mib: 0,
        }) = self.packing.hole_size
        {
            return Err(bad(
                "packing.hole_size",
                "must ask for some CPU or memory (cpu_milli or mem_mib > 0)",
            ));
        }
        if let Some(SteadyStateConfig {
            start_s: Some(a),
            end_s: Some(b),
        }) = self.steady_state
        {
            if a >= b {
                return Err(bad(
                    "steady_state.end_s",
                    format!("must be after steady_state.start_s ({a}), got {b}"),
                ));
            }
        }
        if let Some(c) = &self.compaction {
            c.validate()?;
        }
        self.validate_faults()?;
        if let Some(r) = &self.reclamation {
            r.validate()?;
        }
        if let Some(t) = &self.trace {
            return self.validate_trace(t);
        }
        self.cell.validate()?;
        let gpus = self.cell.machines.iter().any(|m| m.count > 0 && m.gpus > 0);
        if self.scheduler.policy.needs_gpus() && !gpus {
            let why = crate::sched::profile::needs_gpus_message(self.scheduler.policy);
            return Err(bad("scheduler.policy", &why));
        }
        if self.workload.jobs.is_empty() {
            return Err(bad("workload.jobs", "needs at least one job class"));
        }
        for (i, j) in self.workload.jobs.iter().enumerate() {
            let at = format!("workload.jobs[{i}]");
            j.validate(&at)?;
            if let Some(first) = self.workload.jobs[..i]
                .iter()
                .position(|o| o.name == j.name)
            {
                return Err(bad(
                    format!("{at}.name"),
                    format!("{:?} is already the name of workload.jobs[{first}]", j.name),
                ));
            }
            if self.duration_s.is_none() && !j.is_bounded() {
                return Err(bad(
                    format!("{at}.arrival"),
                    "without duration_s the run lasts until drained, so this class needs max_jobs or a uniform arrival count",
                ));
            }
        }
        Ok(())
    }
}

impl Scenario {
    /// The `[faults]` table, against the cell and workload it acts on.
    pub(super) fn validate_faults(&self) -> Result<(), Invalid> {
        let Some(f) = &self.faults else {
            return Ok(());
        };
        if self.follows_trace_placements() {
            return Err(bad(
                "faults",
                "a run that follows the trace's placements has no scheduler to reschedule \
                 what faults evict (use trace.mode = \"reschedule\")",
            ));
        }
        let synthetic = self.trace.is_none();
        let needs_domains = f.outages.iter().any(|o| o.domain.is_some());
        // A cell read from a trace (`cell.from_trace`) has its classes and
        // domains only once read: `resolve_cell` checks the faults again
        // then. A replay's (`[trace]`) are checked when its cell is read
        // (`borgsim validate` reads it; a run builds its faults on it).
        let from_trace = self.cell.from_trace.is_some();
        let read = !from_trace || self.cell.trace_domains.is_some();
        let cell_ok = synthetic && read && self.cell.validate().is_ok();
        let domains = (cell_ok && needs_domains)
            .then(|| super::faults::DomainCounts::of(&self.domain_tree()));
        let job_classes: Vec<String> = self.workload.jobs.iter().map(|j| j.name.clone()).collect();
        f.validate(&super::faults::Context {
            classes: (synthetic && read).then_some(self.cell.machines.len()),
            classes_from_trace: from_trace,
            domains,
            bounded: self.duration_s.is_some(),
            job_classes: &job_classes,
        })
    }

    fn validate_trace(&self, t: &TraceConfig) -> Result<(), Invalid> {
        if self.cell.from_trace.is_some() {
            return Err(bad(
                "cell.from_trace",
                "a replay takes its machines from [trace] (or the [cell]'s classes with \
                 trace.machines = \"scenario\"), not from cell.from_trace",
            ));
        }
        if t.files.is_empty() {
            return Err(bad("trace.files", "needs at least one file"));
        }
        if !self.workload.jobs.is_empty() {
            return Err(bad(
                "workload.jobs",
                "a scenario replays a trace or generates jobs, not both",
            ));
        }
        match t.machines {
            MachineSource::Scenario => self.cell.validate()?,
            MachineSource::Trace if !self.cell.machines.is_empty() => return Err(bad(
                "cell.machines",
                "the machines come from the trace (set trace.machines = \"scenario\" to use these)",
            )),
            MachineSource::Trace => {}
        }
        if t.mode == ReplayMode::TracePlacement && t.machines == MachineSource::Scenario {
            return Err(bad(
                "trace.mode",
                "trace_placement follows the trace's machines: needs trace.machines = \"trace\"",
            ));
        }
        if t.mode == ReplayMode::TracePlacement && !t.format.records_placements() {
            return Err(bad(
                "trace.mode",
                format!(
                    "trace_placement follows the trace's placements, and {} records none \
                     (use mode = \"reschedule\")",
                    t.format.name()
                ),
            ));
        }
        check_inflate(t)?;
        if t.arrivals == ArrivalOrder::OneByOne && t.mode == ReplayMode::TracePlacement {
            return Err(bad(
                "trace.arrivals",
                "one_by_one needs mode = \"reschedule\"",
            ));
        }
        if let Some(r) = t.reference {
            if r.cpu_milli == 0 || r.mem_mib == 0 {
                return Err(bad("trace.reference", "cpu_milli and mem_mib must be > 0"));
            }
        }
        Ok(())
    }
}

impl CellConfig {
    /// The cell's totals must fit their integer types: CPU and memory
    /// (count × capacity, summed over classes) in u64, GPUs in u32 — the
    /// first class at which one overflows is named — and machines in u32
    /// (machine ids are 32-bit: `cell.machines` is named).
    fn check_totals(&self) -> Result<(), Invalid> {
        let (mut cpu, mut mem, mut gpus) = (0u64, 0u64, 0u32);
        for (i, m) in self.machines.iter().enumerate() {
            let n = u64::from(m.count);
            let over = |k: &str, unit: &str| {
                bad(
                    format!("cell.machines[{i}].{k}"),
                    format!("the cell's total {unit} (count × {k}, over all classes) overflows"),
                )
            };
            cpu = n
                .checked_mul(m.cpu_milli)
                .and_then(|c| cpu.checked_add(c))
                .ok_or_else(|| over("cpu_milli", "milli-cores"))?;
            mem = n
                .checked_mul(m.mem_mib)
                .and_then(|c| mem.checked_add(c))
                .ok_or_else(|| over("mem_mib", "MiB"))?;
            gpus = m
                .count
                .checked_mul(m.gpus)
                .and_then(|g| gpus.checked_add(g))
                .ok_or_else(|| over("gpus", "GPUs"))?;
        }
        let machines: u64 = self.machines.iter().map(|m| u64::from(m.count)).sum();
        if machines > u64::from(u32::MAX) {
            return Err(bad(
                "cell.machines",
                format!(
                    "{machines} machines in all (count summed over the classes), more than {}: \
                     machine ids are 32-bit",
                    u32::MAX
                ),
            ));
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), Invalid> {
        if self.machines_per_rack == 0 {
            return Err(bad("cell.machines_per_rack", "must be > 0"));
        }
        if self.racks_per_power_domain == 0 {
            return Err(bad("cell.racks_per_power_domain", "must be > 0"));
        }
        if self.racks_per_row == 0 {
            return Err(bad("cell.racks_per_row", "must be > 0"));
        }
        if let Some(ft) = &self.from_trace {
            if ft.files.is_empty() {
                return Err(bad("cell.from_trace.files", "needs at least one file"));
            }
            if self.trace_domains.is_none() && !self.machines.is_empty() {
                return Err(bad(
                    "cell.machines",
                    "the machines come from cell.from_trace: give one or the other",
                ));
            }
            return Ok(());
        }
        if self.machines.is_empty() {
            return Err(bad("cell.machines", "needs at least one machine class"));
        }
        self.check_totals()?;
        for (i, m) in self.machines.iter().enumerate() {
            let key = |k: &str| format!("cell.machines[{i}].{k}");
            if m.count == 0 {
                return Err(bad(key("count"), "must be > 0"));
            }
            if m.cpu_milli == 0 {
                return Err(bad(key("cpu_milli"), "capacity must be > 0"));
            }
            if m.mem_mib == 0 {
                return Err(bad(key("mem_mib"), "capacity must be > 0"));
            }
            let max = crate::cell::resources::MAX_RESOURCE;
            for (k, v) in [("cpu_milli", m.cpu_milli), ("mem_mib", m.mem_mib)] {
                if v > max {
                    return Err(bad(
                        key(k),
                        format!(
                            "at most {max} (2^40: about a billion cores, or an EiB) per \
                             machine, got {v}"
                        ),
                    ));
                }
            }
            for (k, named) in [("power_domain", &m.power_domain), ("row", &m.row)] {
                if named.is_some() && m.rack.is_none() {
                    return Err(bad(key(k), "needs a rack: racks are what it groups"));
                }
            }
            let other = self
                .machines
                .iter()
                .take(i)
                .find(|o| o.rack.is_some() && o.rack == m.rack);
            if let Some(o) = other {
                same_rack_same_domains(m, o).map_err(|(k, msg)| bad(key(k), msg))?;
            }
            let max_gpus = crate::cell::resources::MAX_GPUS_PER_MACHINE;
            if m.gpus as usize > max_gpus {
                let msg = format!("at most {max_gpus} devices per machine, got {}", m.gpus);
                return Err(bad(key("gpus"), msg));
            }
        }
        Ok(())
    }
}

/// Two machine classes naming one rack must name the same power domain and
/// row for it: (the key of `m` at fault, the message).
fn same_rack_same_domains(
    m: &MachineClass,
    o: &MachineClass,
) -> Result<(), (&'static str, String)> {
    let rack = m.rack.as_deref().unwrap_or_default();
    for (k, what, mine, theirs) in [
        (
            "power_domain",
            "power domain",
            &m.power_domain,
            &o.power_domain,
        ),
        ("row", "row", &m.row, &o.row),
    ] {
        if mine != theirs {
            let theirs = theirs.as_deref().unwrap_or("(generated)");
            return Err((k, format!("rack {rack:?} is already in {what} {theirs:?}")));
        }
    }
    Ok(())
}

impl JobClassConfig {
    /// True if the class submits finitely many jobs.
    pub fn is_bounded(&self) -> bool {
        self.max_jobs.is_some() || !matches!(self.arrival, Some(Arrival::Poisson { .. }))
    }

    #[expect(
        clippy::too_many_lines,
        reason = "one check per key of a job class, in the order of the scenario reference: a flat list that reads as the schema"
    )]
    fn validate(&self, at: &str) -> Result<(), Invalid> {
        let key = |k: &str| format!("{at}.{k}");
        if self.name.is_empty() {
            return Err(bad(key("name"), "must not be empty"));
        }
        if let Some(p) = self.priority {
            let (lo, hi) = self.band.range();
            if p < lo || p > hi {
                return Err(bad(
                    key("priority"),
                    format!("{p} is outside band {} ({lo}..={hi})", self.band.name()),
                ));
            }
        }
        if self.users == 0 {
            return Err(bad(key("users"), "must be > 0"));
        }
        match self.arrival {
            Some(Arrival::Poisson { per_hour }) if !(per_hour.is_finite() && per_hour > 0.0) => {
                return Err(bad(
                    key("arrival.poisson.per_hour"),
                    format!("must be > 0, got {per_hour}"),
                ));
            }
            Some(Arrival::Uniform { over_s, .. }) if !(over_s.is_finite() && over_s >= 0.0) => {
                return Err(bad(
                    key("arrival.uniform.over_s"),
                    format!("must be >= 0, got {over_s}"),
                ));
            }
            _ => {}
        }
        if self.initial_jobs == 0 && self.arrival.is_none() {
            return Err(bad(
                key("arrival"),
                "no initial_jobs and no arrival process: the class would submit nothing",
            ));
        }
        for (k, d) in [
            ("tasks", &self.tasks),
            ("cpu_milli", &self.cpu_milli),
            ("mem_mib", &self.mem_mib),
        ] {
            d.validate().map_err(|m| bad(key(k), m))?;
            // A job of no tasks, or a task asking for nothing, is not a
            // value to change quietly to 1.
            if d.min_rounded() == Some(0) {
                return Err(bad(
                    key(k),
                    "can draw 0 (rounded to the nearest integer); its smallest draw must be at least 1",
                ));
            }
            if let Some(p) = d.zero_probability().filter(|&p| p > MAX_ZERO_SHARE) {
                return Err(bad(
                    key(k),
                    format!(
                        "{:.1} % of its draws round to 0 and would count as 1; at most {} % may \
                         (raise the mean or median)",
                        p * 100.0,
                        MAX_ZERO_SHARE * 100.0
                    ),
                ));
            }
        }
        if let Some(d) = &self.duration_s {
            d.validate().map_err(|m| bad(key("duration_s"), m))?;
            if let Some(m) = d.max_value().filter(|&m| m > MAX_TIME_S as f64) {
                return Err(bad(key("duration_s"), beyond_time(m)));
            }
        }
        match self.gpu {
            GpuConfig::Whole(0) => return Err(bad(key("gpu.whole"), "must be > 0")),
            GpuConfig::Share(s) if s == 0 || s >= 1000 => {
                return Err(bad(
                    key("gpu.share"),
                    format!("must be in 1..=999 milli, got {s}"),
                ))
            }
            _ => {}
        }
        for (k, v) in [
            ("max_per_machine", self.max_per_machine),
            ("max_per_rack", self.max_per_rack),
            ("max_per_row", self.max_per_row),
            ("max_per_power_domain", self.max_per_power_domain),
        ] {
            if v == Some(0) {
                return Err(bad(key(k), "must be > 0"));
            }
        }
        for (i, c) in self.constraints.iter().enumerate() {
            let needs_value = matches!(c.op, ConstraintOp::Eq | ConstraintOp::Ne);
            if needs_value != c.value.is_some() {
                let what = if needs_value {
                    "needs a value"
                } else {
                    "takes no value"
                };
                return Err(bad(
                    key(&format!("constraints[{i}].value")),
                    format!("op {:?} {what}", c.op),
                ));
            }
        }
        if let Some(u) = &self.usage {
            u.validate(&key("usage"))?;
        }
        Ok(())
    }
}
