//! Before a run: what a scenario implies — machines, jobs and tasks, the
//! peak of live tasks, events, samples and memory — and whether to refuse it.
//!
//! A scenario is a few lines of TOML, and a few characters more make it
//! astronomic: `tasks = { constant = 1e12 }`, `initial_jobs =
//! 1000000000000`, `count = 4294967295` machines, or Poisson arrivals for
//! `duration_s = 1000000000`. Such a run used to pass `validate` and then
//! abort ("memory allocation failed") or run for years. [`Scenario::estimate`]
//! works the figures out from the file alone, in floating point where the
//! scenario's distributions are (counts saturate, never wrap), and
//! [`Estimate::check`] refuses — naming the key that drives the figure —
//! a run whose memory exceeds [`Limits::memory_bytes`] (`--max-memory`,
//! by default a share of physical memory, read by the command line) or
//! whose events exceed [`Limits::events`] (`--max-events`).
//!
//! **Memory follows live state**: finished jobs are reclaimed
//! (`cell::state::reclaim`) and per-sample outputs stream to disk
//! (`metrics::timeseries`), so what a run holds is its machines, its live
//! jobs and tasks, its users' names, the scheduler's caches and, at the
//! end, the rows of `pending.csv`:
//!
//! `memory = BASE + machines × MACHINE + live jobs × JOB + live tasks × TASK
//! + users × USER + min(machines × request shapes, 8 Mi) × CACHE_ENTRY
//! + tasks pending at the end × PENDING_ROW + waits kept and plotted`
//!
//! where the request shapes are the distinct (cpu, memory) requests the
//! classes draw (at most one per live job): the scheduler keeps a verdict
//! per machine for each, up to its budget. The tasks pending at the end are
//! those live then (services; with `duration_s`, those still running)
//! beyond what the cell's CPU and memory hold. Waits are kept exactly up
//! to a million per band, and plotted point by point up to a million per
//! group (prod, non-prod): a bounded term ([`WAIT_BYTES`],
//! [`WAIT_PLOT_BYTES`]).
//!
//! The per-item costs were measured as peak RSS (`/usr/bin/time -v`) of
//! release runs with one dimension grown at a time, and rounded up:
//! - a cell of 250,000 → 1,000,000 machines with one task: 56 → 204 MB,
//!   202 B per machine ([`MACHINE_BYTES`] 208);
//! - one job of 500,000 → 2,000,000 running tasks: 95 → 332 MB, 162 B per
//!   task (record, machine list entry, its end event; [`TASK_BYTES`] 168);
//! - 250,000 → 1,000,000 one-task jobs at t = 0: 126 → 480 MB, 484 B per
//!   job with its task, so 322 B per job ([`JOB_BYTES`] 320);
//! - 500,000 → 2,000,000 tasks pending at the end: 0.75 → 3.05 GB, 1,520 B
//!   per task with its live state ([`PENDING_ROW_BYTES`] 1,400);
//! - an empty run: 7 MB ([`BASE_BYTES`] 16 MiB with the plot buffers).
//!
//! Checked against the built-in scenarios (estimate / peak RSS with plots):
//! quickstart 23.7 MiB / 12.8 MiB, churn-1k 34.4 / 26.5, churn-10k
//! 200 / 174, borg-cell-pack 198 / 148, churn-100k 1.4 GiB / 1.02 GiB.
//! The estimate leans high, as a limit should.
//!
//! **Live tasks.** A class without task durations (services) keeps every
//! task it submits. A class with durations holds its initial jobs' tasks
//! at t = 0 and, by Little's law, arrival rate × mean duration tasks once
//! arrivals flow (at most all of them). Waiting in the queue of a full cell
//! adds to that and is not foreseen: the figure is an estimate, not a bound.
//! Poisson counts are taken at mean + 6 σ; distributions at
//! [`Dist::mean_bound`] (an infinite mean — a Pareto task count of shape
//! ≤ 1 without `max` — makes the figure infinite, and the run is refused).
//!
//! **Events** are what the run's time goes by: job arrivals, task ends
//! (one per task with a duration; evictions add more, not foreseen),
//! scheduling passes (at most one per `pass_interval_ms`, and one per
//! arrival or end) and samples (at most one per `sample_interval_s`, and —
//! since the sampler skips idle stretches, `sim::Simulation::on_sample` —
//! three per other event). The built-in scenarios process 75,000 (preemption
//! heavy quickstart) to 520,000 (churn-1k) events per second, so the
//! default cap, [`DEFAULT_MAX_EVENTS`] = 10⁹, is half an hour to four
//! hours; the largest built-in, churn-100k, needs 2 × 10⁷.
//!
//! **Traces** are read as the run goes (streamed), so their tasks and
//! events are unknown here and never refused on a guess. Their machine
//! table is read when the run builds the cell, from rows that are on disk;
//! only a `[cell]` the replay uses (`machines = "scenario"`) is counted.

use super::model::{Arrival, JobClassConfig, MachineSource, Scenario};
use crate::workload::dist::Dist;
use bytesize::ByteSize;
use std::fmt;

/// Bytes of a run with nothing in it: the binary, the embedded font, the
/// plot and CSV buffers.
pub const BASE_BYTES: u64 = 16 << 20;
/// Bytes per machine (see the module doc for how each was measured).
pub const MACHINE_BYTES: u64 = 208;
/// Bytes per live job, beside its tasks.
pub const JOB_BYTES: u64 = 320;
/// Bytes per live task.
pub const TASK_BYTES: u64 = 168;
/// Bytes per task still pending when the run ends: `pending.csv` is built
/// in memory then, a row of strings per task.
pub const PENDING_ROW_BYTES: u64 = 1400;
/// Bytes per wait kept exactly (`metrics::waits`: up to `EXACT_LIMIT` per
/// band), and per wait drawn by the wait CDF plot while the prod or the
/// non-prod waits are exact (measured: churn-10k's 10⁶ waits cost 44 MiB
/// of plotting).
pub const WAIT_BYTES: u64 = 8;
pub const WAIT_PLOT_BYTES: u64 = 48;
/// Bytes per user name of a job class (`<class>-user<n>`, shared by its jobs).
pub const USER_BYTES: u64 = 48;
/// The scheduler keeps at most 8 Mi (class, machine) verdicts of about 32 B
/// (`sched::CACHE_MAX_ENTRIES`); fewer when the cell or the request shapes
/// are fewer.
pub const CACHE_ENTRIES_MAX: u64 = 8 << 20;
pub const CACHE_ENTRY_BYTES: u64 = 32;
/// Events beyond which a run is refused unless `--max-events` raises it.
pub const DEFAULT_MAX_EVENTS: u64 = 1_000_000_000;
/// Events per second of the slower built-in runs, to put a cap in hours.
pub const EVENTS_PER_S: u64 = 150_000;
/// Poisson counts are estimated at their mean plus this many standard
/// deviations (√mean).
pub const POISSON_SIGMAS: f64 = 6.0;

/// What a run may use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub memory_bytes: u64,
    /// Where the memory limit comes from, for messages: `--max-memory`, or
    /// "half of this machine's 23.5 GiB".
    pub memory_source: String,
    pub events: u64,
}

/// A scenario's figures. Counts saturate at `u64::MAX`.
#[derive(Clone, Debug, Default)]
pub struct Estimate {
    pub machines: u64,
    /// Jobs and tasks submitted over the whole run.
    pub jobs: u64,
    pub tasks: u64,
    /// Tasks alive at once, at the peak (see the module doc).
    pub live_tasks: u64,
    pub events: u64,
    pub samples: u64,
    pub memory_bytes: u64,
    /// A trace replay: jobs, tasks, events and samples are not estimated.
    pub trace: bool,
    memory_parts: Vec<Part>,
    event_parts: Vec<Part>,
}

/// Scenario keys, each with the factor it contributes to a figure.
type Keys = Vec<(String, f64)>;

/// One term of a figure, and the keys that multiply into it, each with its
/// factor: the key of the largest factor is the one to name.
#[derive(Clone, Debug)]
struct Part {
    what: String,
    amount: u64,
    keys: Keys,
}

impl Part {
    fn new(what: impl Into<String>, amount: u64, keys: Keys) -> Part {
        Part {
            what: what.into(),
            amount,
            keys,
        }
    }

    /// The key whose factor is largest (the first of equals).
    fn main_key(&self) -> Option<&str> {
        let mut best: Option<&(String, f64)> = None;
        for k in &self.keys {
            if best.is_none_or(|b| k.1 > b.1) {
                best = Some(k);
            }
        }
        best.map(|(k, _)| k.as_str())
    }
}

/// A float count as an integer: rounded up, saturating (`as` saturates;
/// NaN, from 0 × ∞, cannot arise: see [`mul`]).
fn sat(x: f64) -> u64 {
    x.ceil() as u64
}

/// `a × b` with 0 × ∞ = 0 (no jobs of an unbounded size is no tasks).
fn mul(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        0.0
    } else {
        a * b
    }
}

/// One job class's figures.
#[derive(Clone, Debug, Default, PartialEq)]
struct ClassFigures {
    jobs: f64,
    tasks: f64,
    live_jobs: f64,
    live_tasks: f64,
    /// Arrival events after t = 0, and task ends.
    arrivals: f64,
    ends: f64,
    /// When the class's last task may end (drained runs), if known.
    last_end_s: Option<f64>,
    /// Tasks still live when the run ends.
    live_at_end: f64,
    /// Distinct task requests among the live jobs (each job has one).
    shapes: f64,
    /// The keys behind the job count, with their factors.
    job_keys: Keys,
}

/// How many distinct integers a size distribution draws (infinite for the
/// continuous ones but `uniform`, whose draws round to `min..=max`).
fn distinct_draws(d: &Dist) -> f64 {
    match d {
        Dist::Constant(_) => 1.0,
        Dist::Choice(vs) => vs.len() as f64,
        Dist::Weighted { weights, .. } => weights.iter().filter(|w| **w > 0.0).count() as f64,
        Dist::Uniform { min, max } => max.round() - min.round() + 1.0,
        Dist::Exponential { .. } | Dist::Lognormal { .. } | Dist::Pareto { .. } => f64::INFINITY,
    }
}

/// Jobs after the initial ones, an upper estimate; the keys behind them;
/// the span of time they arrive over (seconds; `None` if unknown).
fn arrivals(j: &JobClassConfig, at: &str, horizon_s: Option<f64>) -> (f64, Keys, f64) {
    let room = j
        .max_jobs
        .map_or(f64::INFINITY, |m| m.saturating_sub(j.initial_jobs) as f64);
    let max_key = |m: u64| vec![(format!("{at}.max_jobs"), m as f64)];
    match j.arrival {
        None => (0.0, Vec::new(), 0.0),
        Some(Arrival::Uniform { count, over_s }) => {
            let keys = match j.max_jobs {
                Some(m) if (m as f64) < count as f64 => max_key(m),
                _ => vec![(format!("{at}.arrival.uniform.count"), count as f64)],
            };
            ((count as f64).min(room), keys, over_s)
        }
        Some(Arrival::Poisson { per_hour }) => {
            let rate_per_s = per_hour / 3600.0;
            let rate_key = (format!("{at}.arrival.poisson.per_hour"), per_hour);
            if let Some(h) = horizon_s {
                let mean = mul(rate_per_s, h);
                let n = mean + POISSON_SIGMAS * mean.sqrt();
                if n <= room {
                    return (n, vec![("duration_s".to_string(), h), rate_key], h);
                }
            }
            match j.max_jobs {
                // The last arrival comes after about room / rate seconds.
                Some(m) => (room, max_key(m), room / rate_per_s),
                // Validation refuses an unbounded class without duration_s.
                None => (f64::INFINITY, vec![rate_key], f64::INFINITY),
            }
        }
    }
}

/// A class's jobs, tasks, live peak and events (see the module doc).
fn class_figures(j: &JobClassConfig, at: &str, horizon_s: Option<f64>) -> ClassFigures {
    let initial = j.max_jobs.map_or(j.initial_jobs, |m| m.min(j.initial_jobs)) as f64;
    let (later, mut job_keys, span_s) = arrivals(j, at, horizon_s);
    if initial > 0.0 {
        job_keys.insert(0, (format!("{at}.initial_jobs"), initial));
    }
    let jobs = initial + later;
    let per_job = j.tasks.mean_bound().max(1.0);
    let tasks = mul(jobs, per_job);
    let drained = horizon_s.is_none();
    let (live_jobs, ends, last_end_s) = match &j.duration_s {
        // Services run until the end: every job stays.
        None => (jobs, 0.0, Some(span_s)),
        Some(d) => {
            let mean_s = d.mean_bound();
            // Little's law: arrival rate × mean time in the system.
            let flowing = if span_s > 0.0 {
                mul(later / span_s, mean_s).min(later)
            } else {
                later
            };
            let longest = super::hosts::draw_range(d).1.map(|m| span_s + m as f64);
            (initial + flowing, tasks, longest)
        }
    };
    let shapes = mul(distinct_draws(&j.cpu_milli), distinct_draws(&j.mem_mib)).min(live_jobs);
    let live_tasks = mul(live_jobs, per_job).min(tasks);
    // A drained run ends when every task with a duration has ended.
    let live_at_end = match (&j.duration_s, drained) {
        (None, _) => tasks,
        (Some(_), true) => 0.0,
        (Some(_), false) => live_tasks,
    };
    ClassFigures {
        jobs,
        tasks,
        live_jobs,
        shapes,
        live_tasks,
        live_at_end,
        arrivals: later,
        ends,
        last_end_s,
        job_keys,
    }
}

impl Scenario {
    /// The run's figures, from the file alone (see the module doc).
    pub fn estimate(&self) -> Estimate {
        let mut e = Estimate {
            trace: self.trace.is_some(),
            ..Estimate::default()
        };
        let counts_cell = self
            .trace
            .as_ref()
            .is_none_or(|t| t.machines == MachineSource::Scenario);
        if counts_cell {
            e.add_machines(self);
        }
        if self.trace.is_none() {
            e.add_workload(self);
        }
        e.memory_parts
            .push(Part::new("the program", BASE_BYTES, Vec::new()));
        e.memory_bytes = e
            .memory_parts
            .iter()
            .fold(0u64, |a, p| a.saturating_add(p.amount));
        e.events = e
            .event_parts
            .iter()
            .fold(0u64, |a, p| a.saturating_add(p.amount));
        e
    }
}

impl Estimate {
    fn add_machines(&mut self, sc: &Scenario) {
        for (i, m) in sc.cell.machines.iter().enumerate() {
            let n = u64::from(m.count);
            self.machines = self.machines.saturating_add(n);
            let key = format!("cell.machines[{i}].count");
            self.memory_parts.push(Part::new(
                format!("{n} machines (cell.machines[{i}])"),
                n.saturating_mul(MACHINE_BYTES),
                vec![(key, n as f64)],
            ));
        }
    }

    fn add_workload(&mut self, sc: &Scenario) {
        let horizon_s = sc.duration_s.map(|d| d as f64);
        let mut shapes = 0u64;
        let (mut arrivals, mut ends) = (0u64, 0u64);
        let mut last_end_s = Some(0.0f64);
        let mut at_end = EndDemand::default();
        for (i, j) in sc.workload.jobs.iter().enumerate() {
            let at = format!("workload.jobs[{i}]");
            let f = class_figures(j, &at, horizon_s);
            at_end.add(j, &at, &f);
            self.jobs = self.jobs.saturating_add(sat(f.jobs));
            self.tasks = self.tasks.saturating_add(sat(f.tasks));
            self.live_tasks = self.live_tasks.saturating_add(sat(f.live_tasks));
            shapes = shapes.saturating_add(sat(f.shapes));
            arrivals = arrivals.saturating_add(sat(f.arrivals));
            ends = ends.saturating_add(sat(f.ends));
            last_end_s = match (last_end_s, f.last_end_s) {
                (Some(a), Some(b)) => Some(a.max(b)),
                _ => None,
            };
            self.add_class_parts(j, &at, &f);
        }
        let caches = self.machines.saturating_mul(shapes).min(CACHE_ENTRIES_MAX);
        self.memory_parts.push(Part::new(
            "the scheduler's caches",
            caches * CACHE_ENTRY_BYTES,
            Vec::new(),
        ));
        let exact = crate::metrics::waits::EXACT_LIMIT as u64;
        let waits = self.tasks.min(4 * exact).saturating_mul(WAIT_BYTES);
        let plotted = self.tasks.min(2 * exact).saturating_mul(WAIT_PLOT_BYTES);
        self.memory_parts.push(Part::new(
            "the wait distributions and their plot",
            waits + plotted,
            Vec::new(),
        ));
        let unplaced = at_end.unplaced_share(sc);
        for (at, live, keys) in at_end.classes {
            let pending = sat(mul(live, unplaced));
            if pending > 0 {
                self.memory_parts.push(Part::new(
                    format!(
                        "pending.csv rows of {} tasks of {at} the cell cannot run",
                        count(pending)
                    ),
                    pending.saturating_mul(PENDING_ROW_BYTES),
                    keys,
                ));
            }
        }
        let horizon_s = horizon_s.or(last_end_s);
        self.add_run_events(sc, horizon_s, arrivals.saturating_add(ends));
    }

    fn add_class_parts(&mut self, j: &JobClassConfig, at: &str, f: &ClassFigures) {
        let per_job = j.tasks.mean_bound();
        let mut keys = f.job_keys.clone();
        keys.push((format!("{at}.tasks"), per_job));
        let live = sat(f.live_jobs)
            .saturating_mul(JOB_BYTES)
            .saturating_add(sat(f.live_tasks).saturating_mul(TASK_BYTES));
        let mut live_keys = keys.clone();
        if let Some(d) = &j.duration_s {
            live_keys.push((format!("{at}.duration_s"), d.mean_bound()));
        }
        let name = &j.name;
        self.memory_parts.push(Part::new(
            format!("{} live tasks of {at} ({name:?})", count(sat(f.live_tasks))),
            live,
            live_keys,
        ));
        let users = u64::from(j.users);
        self.memory_parts.push(Part::new(
            format!("{users} user names of {at}"),
            users.saturating_mul(USER_BYTES),
            vec![(format!("{at}.users"), users as f64)],
        ));
        self.event_parts.push(Part::new(
            format!("{} job arrivals of {at}", count(sat(f.arrivals))),
            sat(f.arrivals),
            f.job_keys.clone(),
        ));
        self.event_parts.push(Part::new(
            format!("{} task ends of {at}", count(sat(f.ends))),
            sat(f.ends),
            keys,
        ));
    }

    /// Scheduling passes and samples, bounded by the horizon (if known)
    /// and by the other events (`changes`: arrivals and task ends).
    fn add_run_events(&mut self, sc: &Scenario, horizon_s: Option<f64>, changes: u64) {
        let by_time = |interval_s: f64| horizon_s.map(|h| sat(h / interval_s).saturating_add(2));
        let timed_keys = |key: &str, interval_s: f64| match sc.duration_s {
            Some(d) => vec![
                ("duration_s".to_string(), d as f64),
                (key.to_string(), 1.0 / interval_s),
            ],
            None => Vec::new(),
        };
        let pass_s = sc.scheduler.pass_interval_ms as f64 / 1000.0;
        let by_change = changes.saturating_add(1);
        let (passes, keys) = match by_time(pass_s) {
            Some(p) if p < by_change => (p, timed_keys("scheduler.pass_interval_ms", pass_s)),
            _ => (by_change, Vec::new()),
        };
        self.event_parts.push(Part::new(
            format!("{} scheduling passes", count(passes)),
            passes,
            keys,
        ));
        let others = changes.saturating_add(passes);
        let by_events = others.saturating_add(1).saturating_mul(3);
        let sample_s = sc.sample_interval_s as f64;
        let (samples, keys) = match by_time(sample_s) {
            Some(s) if s < by_events => (s, timed_keys("sample_interval_s", sample_s)),
            _ => (by_events, Vec::new()),
        };
        self.samples = samples;
        self.event_parts.push(Part::new(
            format!("{} samples", count(samples)),
            samples,
            keys,
        ));
    }
}

/// The tasks live when the run ends and what they ask for, to estimate how
/// many the cell cannot run (pending, each a row of `pending.csv`).
#[derive(Default)]
struct EndDemand {
    cpu_milli: f64,
    mem_mib: f64,
    /// Per class: its key prefix, its tasks live at the end, and the keys
    /// behind them.
    classes: Vec<(String, f64, Keys)>,
}

impl EndDemand {
    fn add(&mut self, j: &JobClassConfig, at: &str, f: &ClassFigures) {
        self.cpu_milli += mul(f.live_at_end, j.cpu_milli.mean_bound());
        self.mem_mib += mul(f.live_at_end, j.mem_mib.mean_bound());
        let mut keys = f.job_keys.clone();
        keys.push((format!("{at}.tasks"), j.tasks.mean_bound()));
        self.classes.push((at.to_string(), f.live_at_end, keys));
    }

    /// The share of those tasks beyond what the cell's CPU and memory hold
    /// (packing perfectly, so the figure leans low; GPUs not counted).
    fn unplaced_share(&self, sc: &Scenario) -> f64 {
        let (cpu, mem) = sc.cell.machines.iter().fold((0.0, 0.0), |(c, m), k| {
            let n = f64::from(k.count);
            (c + n * k.cpu_milli as f64, m + n * k.mem_mib as f64)
        });
        let fits = |cap: f64, demand: f64| if demand > cap { cap / demand } else { 1.0 };
        1.0 - fits(cpu, self.cpu_milli).min(fits(mem, self.mem_mib))
    }
}

/// A count for messages: exact below a million, else three figures
/// (`2.69e6`); `u64::MAX` (saturated) reads "more than 1.8e19".
pub fn count(n: u64) -> String {
    match n {
        u64::MAX => "more than 1.8e19".to_string(),
        n if n < 1_000_000 => n.to_string(),
        n => format!("{:.2e}", n as f64),
    }
}

/// A `--max-memory` value a quarter above `n`, whole MiB or GiB.
fn suggest_size(n: u64) -> String {
    let want = n.saturating_add(n / 4);
    match want.div_ceil(1 << 30) {
        0 | 1 => format!("{}MiB", want.div_ceil(1 << 20)),
        gib => format!("{gib}GiB"),
    }
}

fn bytes(n: u64) -> String {
    match n {
        u64::MAX => "more than 16 EiB".to_string(),
        n => ByteSize(n).to_string(),
    }
}

impl Estimate {
    /// The refusal, if any: memory over its limit, then events over theirs.
    /// The error names the key behind the largest part of the figure.
    pub fn check(&self, limits: &Limits) -> Result<(), (String, String)> {
        if self.memory_bytes > limits.memory_bytes {
            let (key, parts) = explain(&self.memory_parts, Some(bytes));
            let message = format!(
                "the run would need about {} of memory, more than the limit of {} ({}): {parts}; \
                 make {key} smaller, or raise the limit with --max-memory (e.g. --max-memory {})",
                bytes(self.memory_bytes),
                bytes(limits.memory_bytes),
                limits.memory_source,
                suggest_size(self.memory_bytes)
            );
            return Err((key, message));
        }
        if self.events > limits.events {
            let (key, parts) = explain(&self.event_parts, None);
            let message = format!(
                "the run would not end in reasonable time: about {} events ({} at \
                 {EVENTS_PER_S} events/s), more than the limit of {} (--max-events): {parts}; \
                 make {key} smaller, or raise the limit with --max-events",
                count(self.events),
                run_time(self.events),
                count(limits.events)
            );
            return Err((key, message));
        }
        Ok(())
    }
}

/// How long `events` take at [`EVENTS_PER_S`], in words.
fn run_time(events: u64) -> String {
    let minutes = events / EVENTS_PER_S / 60;
    match minutes {
        0..120 => format!("about {minutes} minutes"),
        m if m < 48 * 60 => format!("about {} hours", m / 60),
        m => format!("about {} days", count(m / 60 / 24)),
    }
}

/// The key to name (the main key of the largest part with keys), and the
/// three largest parts as "what (keys)", each preceded by "amount for "
/// when `show` shows amounts.
fn explain(parts: &[Part], show: Option<fn(u64) -> String>) -> (String, String) {
    let mut by_size: Vec<&Part> = parts.iter().filter(|p| p.amount > 0).collect();
    by_size.sort_by_key(|p| std::cmp::Reverse(p.amount));
    let key = by_size
        .iter()
        .find_map(|p| p.main_key())
        .unwrap_or("duration_s")
        .to_string();
    let text: Vec<String> = by_size
        .iter()
        .take(3)
        .map(|p| {
            let mut keys: Vec<&str> = Vec::new();
            for (k, _) in &p.keys {
                if !keys.contains(&k.as_str()) {
                    keys.push(k);
                }
            }
            let amount = show.map_or(String::new(), |f| format!("{} for ", f(p.amount)));
            match keys.is_empty() {
                true => format!("{amount}{}", p.what),
                false => format!("{amount}{} ({})", p.what, keys.join(", ")),
            }
        })
        .collect();
    (key, text.join(", "))
}

impl fmt::Display for Estimate {
    /// One line for `borgsim validate`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.trace {
            return write!(
                f,
                "{} machines from the scenario, the rest read from the trace as the run goes; \
                 about {} of memory before the trace",
                count(self.machines),
                bytes(self.memory_bytes)
            );
        }
        write!(
            f,
            "{} machines, {} jobs of {} tasks, {} live at the peak, {} events, {} samples, \
             about {} of memory",
            count(self.machines),
            count(self.jobs),
            count(self.tasks),
            count(self.live_tasks),
            count(self.events),
            count(self.samples),
            bytes(self.memory_bytes)
        )
    }
}

#[cfg(test)]
mod tests;
