//! Before a run: what a scenario implies — machines, jobs and tasks, the
//! peak of live tasks, events, scheduling attempts, samples and memory —
//! and whether to refuse it.
//!
//! A scenario is a few lines of TOML, and a few characters more make it
//! astronomic: `tasks = { constant = 1e12 }`, `initial_jobs =
//! 1000000000000`, `count = 4294967295` machines, Poisson arrivals for
//! `duration_s = 1000000000`, or arrivals faster than the cell can run
//! them. Such a run used to pass `validate` and then abort ("memory
//! allocation failed") or run for years. [`Scenario::estimate`] works the
//! figures out from the file alone — one machine per machine class, never
//! the cell — in floating point where the scenario's distributions are
//! (counts saturate, never wrap), and [`Estimate::check`] refuses, naming
//! the key that drives the figure, a run whose memory exceeds
//! [`Limits::memory_bytes`] (`--max-memory`, by default a share of
//! physical memory, and never beyond it: read by the command line), whose
//! events exceed [`Limits::events`] (`--max-events`) or whose scheduling
//! attempts exceed [`Limits::attempts`] (`--max-attempts`).
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
//! per machine for each, up to its budget. The tasks pending at the end
//! are the stuck ones (see *Load*) and, of the others live then
//! (services; with `duration_s`, those running or waiting), the share
//! beyond what the cell holds, each task taking what *Load* says. Waits are
//! kept exactly up to a million per band, and plotted point by point up to
//! a million per group (prod, non-prod): a bounded term ([`WAIT_BYTES`],
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
//! - an empty run: 7 MB ([`BASE_BYTES`] 16 MiB with the plot buffers): the
//!   program's fixed cost, which no key changes (a refusal it fills or
//!   leads names `--max-memory`, see `estimate/text.rs`).
//!
//! Checked against the built-in scenarios (estimate / peak RSS with plots):
//! quickstart 54.4 MiB / 12.8 MiB (a busy cell, judged overloaded: see
//! *Load*), churn-1k 34.4 / 26.5, churn-10k 200 / 174, borg-cell-pack
//! 211 / 148, churn-100k 1.4 GiB / 1.02 GiB. The estimate leans high, as a
//! limit should.
//!
//! **Load: does the cell keep up?** Little's law (tasks in the system =
//! arrival rate × time in it) holds only while the cell runs tasks as
//! fast as they come; past that, tasks queue, and the queue grows with
//! every arrival. So the load is compared with the capacity first, per
//! resource — CPU, memory, GPUs (`estimate/load.rs`):
//!
//! `offered = Σ classes wanted × take / Σ machine classes count × capacity`
//!
//! where a class *wants* to run at once, stuck jobs aside (below), every
//! task it submits if it has no task durations (services never end), else
//! its initial tasks plus arrival rate × tasks per job × mean duration
//! (Little's law, at most its later tasks). A task *takes* its mean
//! request rounded up to whole slots of the machines that admit the class
//! (constraints, GPUs): `Σ count × capacity / Σ count × ⌊capacity /
//! mean⌋`, so a task of 9,000 milli-cores takes a whole machine of
//! 16,000. The *stuck* share of a class is the share of its jobs no
//! machine class can ever host (all when even the smallest draw fits
//! none; else the chance that a draw exceeds the largest admitting machine
//! in CPU or memory, [`super::exceed_probability`]): they never run, never
//! end, and are pending at the end.
//!
//! **The share that waits.** Per resource, a class gets the capacity left
//! by the classes it yields to — higher priorities (every pass tries them
//! first; preemption evicts for them) and services it may not evict (once
//! placed, they keep their room) — shared with the other classes of its
//! priority in proportion to what they want; and at most what the
//! machines that admit it hold of it alone (`Σ count × slots` in the
//! scarcest resource), and, for a job whose tasks `max_per_machine`
//! spreads, what one job alone can hold. The share of its tasks it gets no
//! room for, in the scarcest of these, *waits*: `waiting = 1 − served`,
//! 0 when the cell keeps up. (Rack and power-domain spread limits are not
//! counted.) Counts and means are upper estimates (Poisson at mean + 6 σ,
//! capped distributions at `min(mean, max)`), so a busy cell is judged
//! overloaded early — quickstart, at 87 % of its CPU with batch tasks
//! pending at the end, is judged offered 2 × its CPU — and the figures
//! lean high.
//!
//! **Live tasks.** The tasks that run are Little's law's; the ones that
//! wait are every one submitted: with `runs = (1 − stuck)(1 − waiting)`,
//! `live = Little × runs + all submitted × (1 − runs)`. Services keep all
//! they submit. This is the fluid bound of a queue: past its capacity, a
//! cell offered ρ × what it holds runs 1 / ρ of the work and the rest piles
//! up, so the figure tends to all submitted as ρ grows (the review's
//! one-machine cell offered 55,631 × its CPU: 2.0 × 10⁷ live, not the
//! 55,631 of Little's law). Near full load, a cell that keeps up on
//! average still queues a few passes' worth of arrivals: not foreseen. A
//! drained run (no `duration_s`) lasts at least until the cell has run
//! all the work, `max over resources Σ tasks × mean duration × take /
//! (capacity − services' take)`, and at least until the last arrival's
//! longest task. Distributions are taken at [`Dist::mean_bound`] (an
//! infinite mean — a Pareto task count of shape ≤ 1 without `max` — makes
//! the figure infinite, and the run is refused).
//!
//! **Events** are what the run's time goes by: job arrivals, task ends
//! (one per task with a duration that can run — by a horizon, at most
//! what the machines that admit the class, given to it alone, run one
//! after another: `at once × (horizon / mean duration + 1)`; evictions add
//! more, not foreseen), scheduling passes (at most one per
//! `pass_interval_ms`, and one per arrival or end) and samples (at most
//! one per `sample_interval_s`, and — since the sampler skips idle
//! stretches, `sim::Simulation::on_sample` — three per other event), and
//! with `[reclamation]` measuring or on one tick per `interval_s` (each
//! goes over the running tasks; the out-of-memory kills it may cause are
//! not foreseen). The
//! built-in scenarios process 75,000 (preemption heavy quickstart) to
//! 520,000 (churn-1k) events per second, so the default cap,
//! [`DEFAULT_MAX_EVENTS`] = 10⁹, is half an hour to four hours; the
//! largest built-in, churn-100k, needs 2 × 10⁷.
//!
//! **Scheduling attempts** are the other half of a run's time: every pass
//! goes through the whole pending queue (`sched::Scheduler::pass`),
//! trying each pending job's first task; once it fails, the job's other
//! tasks are skipped (they have its size), and equivalence classes make an
//! attempt cheap, not absent. A task placed at once costs one attempt; a
//! task that waits costs one per pass. So, per class,
//!
//! `attempts = (1 − stuck) × tasks + passes × pending jobs × (1 + (tasks
//! per job − 1) / SKIPS_PER_ATTEMPT)`,
//!
//! where the pending jobs at a pass are, on average, the jobs submitted by
//! then — `initial + later × (1 − span / 2 horizon)`, arrivals spread over
//! `span` of the horizon and passes over all of it — times the share that
//! waits or is stuck, `1 − (1 − stuck)(1 − waiting)`. Measured on release
//! runs of one machine flooded with one-task jobs (`tasks_attempted` over
//! CPU time): 4.8 to 7.1 × 10⁶ attempts per second, and 1.7 × 10⁸ skipped
//! tasks per second ([`SKIPS_PER_ATTEMPT`] 32). The figure matched such a
//! run within 6 % (9.9 × 10⁶ attempts over 1,200 s) and leans high where
//! passes merge changes or a drained queue shrinks (4 × 10⁷ against 5.6 ×
//! 10⁷; 5.0 × 10⁵ against 2.0 × 10⁶). At [`ATTEMPTS_PER_S`] = 2 × 10⁶
//! (slower machines; preemption plans make an attempt dearer), the
//! default cap, [`DEFAULT_MAX_ATTEMPTS`] = 10¹⁰, is about an hour and a
//! half; the built-ins need at most 1.0 × 10⁷ (churn-100k: each task
//! placed once; quickstart 2.8 × 10⁶).
//!
//! **Traces** are read as the run goes (streamed), so their tasks and
//! events are unknown here and never refused on a guess. Their machine
//! table is read when the run builds the cell, from rows that are on disk;
//! only a `[cell]` the replay uses (`machines = "scenario"`) is counted.

mod faults;
mod load;
mod text;

use super::model::{Arrival, JobClassConfig, MachineSource, Scenario};
use crate::workload::dist::Dist;
use load::CellLoad;
pub use text::count;

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
/// Scheduling attempts beyond which a run is refused unless
/// `--max-attempts` raises it.
pub const DEFAULT_MAX_ATTEMPTS: u64 = 10_000_000_000;
/// Scheduling attempts per second, to put a cap in hours (see the module doc).
pub const ATTEMPTS_PER_S: u64 = 2_000_000;
/// Pending tasks a pass skips (same job as a failed one) in the time of one
/// attempt.
pub const SKIPS_PER_ATTEMPT: f64 = 32.0;
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
    /// This machine's memory, when known: a refusal beyond it does not
    /// suggest raising `--max-memory` (the command line caps the limit at it).
    pub physical_bytes: Option<u64>,
    pub events: u64,
    pub attempts: u64,
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
    /// Scheduling attempts (see the module doc).
    pub attempts: u64,
    pub samples: u64,
    pub memory_bytes: u64,
    /// When the cell is offered more than it holds: the resource most over
    /// its capacity, and by how much (offered / capacity).
    pub overload: Option<(&'static str, f64)>,
    /// A trace replay: jobs, tasks, events and samples are not estimated.
    pub trace: bool,
    memory_parts: Vec<Part>,
    event_parts: Vec<Part>,
    attempt_parts: Vec<Part>,
}

/// A scenario key and the factor it contributes to a figure; `larger`
/// when the figure shrinks as the key grows (an interval).
#[derive(Clone, Debug, PartialEq)]
struct Key {
    name: String,
    factor: f64,
    larger: bool,
}

fn key(name: impl Into<String>, factor: f64) -> Key {
    Key {
        name: name.into(),
        factor,
        larger: false,
    }
}

/// A key the figure divides by (`scheduler.pass_interval_ms`).
fn inverse_key(name: impl Into<String>, factor: f64) -> Key {
    Key {
        larger: true,
        ..key(name, factor)
    }
}

type Keys = Vec<Key>;

/// One term of a figure, and the keys that multiply into it: the key of
/// the largest factor is the one to name. `fixed`: the program's own
/// cost, which no key changes.
#[derive(Clone, Debug)]
struct Part {
    what: String,
    amount: u64,
    keys: Keys,
    fixed: bool,
}

impl Part {
    fn new(what: impl Into<String>, amount: u64, keys: Keys) -> Part {
        Part {
            what: what.into(),
            amount,
            keys,
            fixed: false,
        }
    }

    /// The key whose factor is largest (the first of equals).
    fn main_key(&self) -> Option<&Key> {
        let mut best: Option<&Key> = None;
        for k in &self.keys {
            if best.is_none_or(|b| k.factor > b.factor) {
                best = Some(k);
            }
        }
        best
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
    /// Jobs at t = 0, jobs arriving later, and the span they arrive over.
    initial: f64,
    later: f64,
    span_s: f64,
    /// Tasks per job (mean, at least 1).
    per_job: f64,
    jobs: f64,
    tasks: f64,
    live_jobs: f64,
    live_tasks: f64,
    /// Arrival events after t = 0, and task ends.
    arrivals: f64,
    ends: f64,
    /// When the class's last task may end (drained runs), if known.
    last_end_s: Option<f64>,
    /// Tasks still live when the run ends, and of them those stuck.
    live_at_end: f64,
    stuck_at_end: f64,
    /// Distinct task requests the class draws (a job has one).
    draws: f64,
    /// Distinct task requests among the live jobs.
    shapes: f64,
    /// The keys behind the job count, with their factors.
    job_keys: Keys,
    /// The share of its jobs no machine class can host, and of the others
    /// the share that waits for room (see the module doc).
    stuck: f64,
    waiting: f64,
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
    let max_key = |m: u64| vec![key(format!("{at}.max_jobs"), m as f64)];
    match j.arrival {
        None => (0.0, Vec::new(), 0.0),
        Some(Arrival::Uniform { count, over_s }) => {
            let keys = match j.max_jobs {
                Some(m) if (m as f64) < count as f64 => max_key(m),
                _ => vec![key(format!("{at}.arrival.uniform.count"), count as f64)],
            };
            ((count as f64).min(room), keys, over_s)
        }
        Some(Arrival::Poisson { per_hour }) => {
            let rate_per_s = per_hour / 3600.0;
            let rate_key = key(format!("{at}.arrival.poisson.per_hour"), per_hour);
            if let Some(h) = horizon_s {
                let mean = mul(rate_per_s, h);
                let n = mean + POISSON_SIGMAS * mean.sqrt();
                if n <= room {
                    return (n, vec![key("duration_s", h), rate_key], h);
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

/// A class's jobs, tasks, live tasks by Little's law, and events (see the
/// module doc); [`ClassFigures::settle`] then applies the load's verdict.
fn class_figures(j: &JobClassConfig, at: &str, horizon_s: Option<f64>) -> ClassFigures {
    let initial = j.max_jobs.map_or(j.initial_jobs, |m| m.min(j.initial_jobs)) as f64;
    let (later, mut job_keys, span_s) = arrivals(j, at, horizon_s);
    if initial > 0.0 {
        job_keys.insert(0, key(format!("{at}.initial_jobs"), initial));
    }
    let jobs = initial + later;
    let per_job = j.tasks.mean_bound().max(1.0);
    let tasks = mul(jobs, per_job);
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
    ClassFigures {
        initial,
        later,
        span_s,
        per_job,
        jobs,
        tasks,
        live_jobs,
        live_tasks: mul(live_jobs, per_job).min(tasks),
        arrivals: later,
        ends,
        last_end_s,
        draws: mul(distinct_draws(&j.cpu_milli), distinct_draws(&j.mem_mib)),
        job_keys,
        ..ClassFigures::default()
    }
}

impl ClassFigures {
    /// Applies the load's verdict: of the jobs that can run, the share
    /// that waits piles up (every one it submits is live at the end of
    /// its arrivals); stuck jobs are never placed, so never end; the others
    /// end, at most `max_ends` of them (what the cell can run by the
    /// horizon).
    fn settle(
        &mut self,
        services: bool,
        (stuck, waiting): (f64, f64),
        max_ends: f64,
        drained: bool,
    ) {
        self.stuck = stuck;
        self.waiting = waiting;
        let runs = (1.0 - stuck) * (1.0 - waiting);
        self.live_jobs = mul(self.live_jobs, runs) + mul(self.jobs, 1.0 - runs);
        self.live_tasks = mul(self.live_jobs, self.per_job).min(self.tasks);
        self.shapes = self.draws.min(self.live_jobs);
        self.stuck_at_end = mul(self.tasks, stuck);
        if !services {
            self.ends = mul(self.tasks, 1.0 - stuck).min(max_ends);
        }
        self.live_at_end = match (services, drained) {
            (true, _) => self.tasks,
            // A drained run ends when every task that can run has ended.
            (false, true) => self.stuck_at_end,
            (false, false) => self.live_tasks,
        };
    }

    /// Running tasks the class wants at once, stuck ones aside: services
    /// all they submit, others their initial tasks and Little's law.
    fn wanted(&self) -> f64 {
        mul(self.live_tasks, 1.0 - self.stuck)
    }

    /// Scheduling attempts over `passes` passes spread over `horizon_s`
    /// (see the module doc), and the jobs pending at a pass on average.
    fn attempts(&self, passes: f64, horizon_s: Option<f64>) -> (f64, f64) {
        let placed = mul(self.tasks, 1.0 - self.stuck);
        let arrived = match horizon_s {
            Some(h) if h > 0.0 && self.span_s.is_finite() => 1.0 - self.span_s.min(h) / (2.0 * h),
            _ => 1.0,
        };
        let submitted = self.initial + mul(self.later, arrived);
        let waits = 1.0 - (1.0 - self.stuck) * (1.0 - self.waiting);
        let pending = mul(submitted, waits);
        let per_job = 1.0 + (self.per_job - 1.0) / SKIPS_PER_ATTEMPT;
        (placed + mul(mul(passes, pending), per_job), pending)
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
        e.memory_parts.push(Part {
            fixed: true,
            ..Part::new("the program", BASE_BYTES, Vec::new())
        });
        let total = |parts: &[Part]| parts.iter().fold(0u64, |a, p| a.saturating_add(p.amount));
        e.memory_bytes = total(&e.memory_parts);
        e.events = total(&e.event_parts);
        e.attempts = total(&e.attempt_parts);
        e
    }
}

impl Estimate {
    fn add_machines(&mut self, sc: &Scenario) {
        for (i, m) in sc.cell.machines.iter().enumerate() {
            let n = u64::from(m.count);
            self.machines = self.machines.saturating_add(n);
            let key = key(format!("cell.machines[{i}].count"), n as f64);
            self.memory_parts.push(Part::new(
                format!("{n} machines (cell.machines[{i}])"),
                n.saturating_mul(MACHINE_BYTES),
                vec![key],
            ));
        }
    }

    /// Every class's figures, settled by the cell's load (see the module doc).
    fn class_figures(&mut self, sc: &Scenario, load: &CellLoad) -> Vec<ClassFigures> {
        let horizon_s = sc.duration_s.map(|d| d as f64);
        let mut figures: Vec<ClassFigures> = (sc.workload.jobs.iter().enumerate())
            .map(|(i, j)| class_figures(j, &format!("workload.jobs[{i}]"), horizon_s))
            .collect();
        let stuck: Vec<f64> = load.classes.iter().map(|c| c.stuck).collect();
        for (f, s) in figures.iter_mut().zip(&stuck) {
            f.stuck = *s;
        }
        let wanted: Vec<f64> = figures.iter().map(ClassFigures::wanted).collect();
        let verdict = load.verdict(&wanted);
        self.overload = verdict.overloaded();
        for (i, j) in sc.workload.jobs.iter().enumerate() {
            // By a horizon, no more tasks end than the machines that admit
            // the class, given to it alone, run one after another.
            let max_ends = match (&j.duration_s, horizon_s) {
                (Some(d), Some(h)) => mul(load.classes[i].at_once, h / d.mean_bound() + 1.0),
                _ => f64::INFINITY,
            };
            let shares = (stuck[i], verdict.waiting[i]);
            let services = j.duration_s.is_none();
            figures[i].settle(services, shares, max_ends, horizon_s.is_none());
        }
        figures
    }

    fn add_workload(&mut self, sc: &Scenario) {
        let load = CellLoad::of(&sc.prototypes(), sc.scheduler.preemption);
        let figures = self.class_figures(sc, &load);
        let mut shapes = 0u64;
        let (mut arrivals, mut ends) = (0u64, 0u64);
        for (i, (j, f)) in sc.workload.jobs.iter().zip(&figures).enumerate() {
            let at = format!("workload.jobs[{i}]");
            self.jobs = self.jobs.saturating_add(sat(f.jobs));
            self.tasks = self.tasks.saturating_add(sat(f.tasks));
            self.live_tasks = self.live_tasks.saturating_add(sat(f.live_tasks));
            shapes = shapes.saturating_add(sat(f.shapes));
            arrivals = arrivals.saturating_add(sat(f.arrivals));
            ends = ends.saturating_add(sat(f.ends));
            self.add_class_parts(j, &at, f);
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
        self.add_pending_rows(sc, &figures, &load);
        let horizon_s = sc
            .duration_s
            .map(|d| d as f64)
            .or_else(|| drain_s(sc, &figures, &load));
        let mut changes = arrivals.saturating_add(ends);
        if let (Some(f), Some(h)) = (&sc.faults, horizon_s) {
            let classes: Vec<(f64, f64)> = figures.iter().map(|c| (c.ends, c.live_tasks)).collect();
            for part in faults::fault_events(sc, f, h, &classes) {
                changes = changes.saturating_add(part.amount);
                self.event_parts.push(part);
            }
        }
        let passes = self.add_run_events(sc, horizon_s, changes);
        self.add_attempts(sc, &figures, passes, horizon_s);
    }

    /// The rows of `pending.csv`: stuck tasks, and of the other tasks live
    /// at the end the share beyond what the cell holds.
    fn add_pending_rows(&mut self, sc: &Scenario, figures: &[ClassFigures], load: &CellLoad) {
        let others: Vec<f64> = figures
            .iter()
            .map(|f| (f.live_at_end - f.stuck_at_end).max(0.0))
            .collect();
        let asked = load.demand(&others);
        let fits = |cap: f64, demand: f64| if demand > cap { cap / demand } else { 1.0 };
        let held = (0..3).fold(1.0f64, |a, r| a.min(fits(load.capacity[r], asked[r])));
        for (i, (j, f)) in sc.workload.jobs.iter().zip(figures).enumerate() {
            let at = format!("workload.jobs[{i}]");
            let pending = sat(f.stuck_at_end + mul(others[i], 1.0 - held));
            if pending > 0 {
                let mut keys = f.job_keys.clone();
                keys.push(key(format!("{at}.tasks"), j.tasks.mean_bound()));
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
    }

    fn add_class_parts(&mut self, j: &JobClassConfig, at: &str, f: &ClassFigures) {
        let mut keys = f.job_keys.clone();
        keys.push(key(format!("{at}.tasks"), j.tasks.mean_bound()));
        let live = sat(f.live_jobs)
            .saturating_mul(JOB_BYTES)
            .saturating_add(sat(f.live_tasks).saturating_mul(TASK_BYTES));
        let mut live_keys = keys.clone();
        let name = &j.name;
        let mut what = format!("{} live tasks of {at} ({name:?})", count(sat(f.live_tasks)));
        if let Some(d) = &j.duration_s {
            if f.waiting > 0.0 {
                what += &format!(
                    ", {:.0} % of them waiting: the cell cannot keep up with it",
                    100.0 * f.waiting
                );
            }
            if f.waiting < 1.0 {
                live_keys.push(key(format!("{at}.duration_s"), d.mean_bound()));
            }
        }
        self.memory_parts.push(Part::new(what, live, live_keys));
        let users = u64::from(j.users);
        self.memory_parts.push(Part::new(
            format!("{users} user names of {at}"),
            users.saturating_mul(USER_BYTES),
            vec![key(format!("{at}.users"), users as f64)],
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
    /// and by the other events (`changes`: arrivals and task ends). Returns
    /// the passes, with the keys behind them.
    fn add_run_events(
        &mut self,
        sc: &Scenario,
        horizon_s: Option<f64>,
        changes: u64,
    ) -> (u64, Keys) {
        let by_time = |interval_s: f64| horizon_s.map(|h| sat(h / interval_s).saturating_add(2));
        let timed_keys = |name: &str, interval_s: f64| match sc.duration_s {
            Some(d) => vec![
                key("duration_s", d as f64),
                inverse_key(name, 1.0 / interval_s),
            ],
            None => Vec::new(),
        };
        let pass_s = sc.scheduler.pass_interval_ms as f64 / 1000.0;
        let by_change = changes.saturating_add(1);
        let (passes, pass_keys) = match by_time(pass_s) {
            Some(p) if p < by_change => (p, timed_keys("scheduler.pass_interval_ms", pass_s)),
            _ => (by_change, Vec::new()),
        };
        self.event_parts.push(Part::new(
            format!("{} scheduling passes", count(passes)),
            passes,
            pass_keys.clone(),
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
        let reclaiming = sc.reclamation.as_ref().filter(|r| r.settings().is_some());
        if let Some(ticks) = reclaiming.and_then(|r| by_time(r.interval_s as f64)) {
            let interval_s = reclaiming.map_or(1.0, |r| r.interval_s as f64);
            self.event_parts.push(Part::new(
                format!("{} reclamation ticks", count(ticks)),
                ticks,
                timed_keys("reclamation.interval_s", interval_s),
            ));
        }
        (passes, pass_keys)
    }

    /// Each class's scheduling attempts (see the module doc).
    fn add_attempts(
        &mut self,
        sc: &Scenario,
        figures: &[ClassFigures],
        (passes, pass_keys): (u64, Keys),
        horizon_s: Option<f64>,
    ) {
        for (i, (j, f)) in sc.workload.jobs.iter().zip(figures).enumerate() {
            let at = format!("workload.jobs[{i}]");
            let (attempts, pending) = f.attempts(passes as f64, horizon_s);
            let mut keys = f.job_keys.clone();
            keys.push(key(format!("{at}.tasks"), j.tasks.mean_bound()));
            if pending > 0.0 {
                // Fewer passes, fewer attempts, whether passes follow the
                // interval or the changes (at most one per interval).
                let interval_s = sc.scheduler.pass_interval_ms as f64 / 1000.0;
                keys.extend(pass_keys.iter().cloned());
                keys.push(inverse_key("scheduler.pass_interval_ms", 1.0 / interval_s));
            }
            let what = format!(
                "{} attempts on tasks of {at} ({:?}): {} passes × {} jobs pending on average",
                count(sat(attempts)),
                j.name,
                count(passes),
                count(sat(pending))
            );
            self.attempt_parts
                .push(Part::new(what, sat(attempts), keys));
        }
    }
}

/// When a drained run ends, if known: the last arrival's longest task, or
/// the time the cell needs to run all the work if later (see the module doc).
fn drain_s(sc: &Scenario, figures: &[ClassFigures], load: &CellLoad) -> Option<f64> {
    let mut last = 0.0f64;
    let (mut work, mut standing) = (Vec::new(), Vec::new());
    for (j, f) in sc.workload.jobs.iter().zip(figures) {
        last = last.max(f.last_end_s?);
        let hostable = mul(f.tasks, 1.0 - f.stuck);
        match &j.duration_s {
            Some(d) => {
                work.push(mul(hostable, d.mean_bound()));
                standing.push(0.0);
            }
            None => {
                work.push(0.0);
                standing.push(hostable);
            }
        }
    }
    Some(last.max(load.drain_s(&work, &standing)?))
}

#[cfg(test)]
mod tests;
