//! `summary.json`: the deterministic result of a run.
//!
//! Everything here is a function of (scenario, seed): no wall time, no paths,
//! no host facts. Keys are struct fields (fixed order) or `BTreeMap`s (sorted),
//! so the bytes are identical run after run.

use super::round6;
use super::waits::Waits;
use crate::cell::state::history::{Rates, Snapshot, WindowRule, LEVELS_BP};
use crate::cell::state::{EvictionCause, TaskState};
use crate::scenario::Scenario;
use crate::sched::{SchedStats, Techniques};
use crate::sim::Simulation;
use crate::time::SimTime;
use crate::workload::Band;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub policy: &'static str,
    pub preemption: bool,
    /// Borg's scale techniques the scheduler ran with.
    pub techniques: Techniques,
    /// Simulated seconds run (the horizon, or when the run drained).
    pub duration_s: f64,
    pub machines: usize,
    pub capacity: CapacitySummary,
    pub jobs_submitted: usize,
    pub tasks: TaskSummary,
    pub evictions: BTreeMap<&'static str, u64>,
    /// The Borg paper's Figure 3: evictions per task-week by cause group,
    /// prod vs non-prod, and the work they lost ([`super::availability`]).
    pub evictions_per_task_week: super::availability::EvictionRates,
    /// Prod jobs' availability ([`super::availability`]).
    pub availability: super::availability::AvailabilitySummary,
    /// Over the whole run.
    pub utilization: Utilization,
    /// Over the steady-state window (`null` when the run has none: nothing
    /// was ever allocated, or the window is empty).
    pub steady_state: Option<SteadyState>,
    pub wait_us: WaitSummary,
    /// The same figures for each of the four bands.
    pub by_band: BTreeMap<&'static str, BandSummary>,
    pub scheduler: SchedStats,
    pub events_processed: u64,
    /// Trace replays: rows read, skipped and repaired, and replay rules applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<crate::sim::feed::FeedReport>,
    /// One-by-one arrivals (the openb protocol): GPU allocation as demand grows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_packing: Option<super::gpu_packing::GpuPacking>,
    /// The typical pods `fgd` and the paper's frag metric measured against:
    /// where they were counted, on how many tasks, how many shapes and
    /// what share of the tasks those cover; only when a run used them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typical_pods: Option<crate::sched::typical::TypicalReport>,
    /// Injected faults (a `[faults]` table): counts and recover times per
    /// kind, the reschedule queue, the maintenance drain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub faults: Option<crate::faults::FaultsSummary>,
    /// Stranded resources and hole filling at the end of the run
    /// ([`super::packing`]).
    pub packing: super::packing::Packing,
    /// Usage, reservations, reclaimed work, throttling and out-of-memory
    /// kills ([`super::reclamation`]); only with `[reclamation]` measuring
    /// or on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reclamation: Option<super::reclamation::ReclamationSummary>,
}

#[derive(Debug, Serialize)]
pub struct CapacitySummary {
    pub cpu_milli: u64,
    pub mem_mib: u64,
    pub gpus: u32,
}

/// Where every submitted task ended up. The states are disjoint and
/// complete: `submitted = finished + killed + dropped + running_at_end +
/// pending_at_end` ([`TaskSummary::CONSERVATION`]), checked by
/// [`TaskSummary::conserved`] and stated in `conservation`.
#[derive(Debug, Serialize)]
pub struct TaskSummary {
    /// Tasks the workload submitted, including those a trace replay still
    /// holds outside the cell.
    pub submitted: u64,
    /// Tasks that started at least once.
    pub scheduled: u64,
    /// Starts, counting restarts after eviction.
    pub placements: u64,
    /// Ran to their end.
    pub finished: u64,
    /// Withdrawn by the workload before their end (a trace's KILL, a task
    /// the trace never ran).
    pub killed: u64,
    /// Arrivals that fitted nowhere and were withdrawn (the openb protocol).
    pub dropped: u64,
    pub running_at_end: u64,
    /// Pending in the cell, or held outside it (`held_at_end`).
    pub pending_at_end: u64,
    /// Part of `pending_at_end`: submitted by the workload but held outside
    /// the cell (waiting for a DAG parent); listed in `pending.csv`.
    pub held_at_end: u64,
    /// Tasks evicted at least once.
    pub evicted: u64,
    /// Pending tasks that no machine of the cell could ever host.
    pub never_schedulable: u64,
    /// The identity above, and whether it holds.
    pub conservation: Conservation,
}

#[derive(Debug, Serialize)]
pub struct Conservation {
    pub identity: &'static str,
    pub holds: bool,
}

impl TaskSummary {
    pub const CONSERVATION: &'static str =
        "submitted = finished + killed + dropped + running_at_end + pending_at_end";

    /// The end states of a run whose cell is `st`, with `held_n` tasks
    /// held outside it.
    fn of(st: &crate::cell::state::CellState, held_n: u64) -> TaskSummary {
        let l = st.ledger();
        let mut t = TaskSummary {
            submitted: l.tasks_submitted + held_n,
            scheduled: l.tasks_started,
            placements: l.placements,
            finished: l.tasks_finished - l.tasks_killed,
            killed: l.tasks_killed - l.tasks_dropped,
            dropped: l.tasks_dropped,
            running_at_end: 0,
            pending_at_end: held_n,
            held_at_end: held_n,
            evicted: l.evicted_tasks_by_band.iter().sum(),
            never_schedulable: 0,
            conservation: Conservation {
                identity: TaskSummary::CONSERVATION,
                holds: false,
            },
        };
        for (_, rec) in st.live_tasks() {
            match rec.state {
                TaskState::Running { .. } => t.running_at_end += 1,
                TaskState::Pending => {
                    t.pending_at_end += 1;
                    t.never_schedulable += u64::from(!st.job(rec.job).ever_schedulable);
                }
                TaskState::Finished => {}
            }
        }
        t.conservation.holds = t.conserved();
        t
    }

    /// The `tasks:` line for a person at a terminal, and a warning if the
    /// end states do not add up.
    fn human(&self) -> String {
        let t = self;
        let mut tasks = format!(
            "tasks: {} submitted, {} scheduled, {} finished",
            t.submitted, t.scheduled, t.finished
        );
        for (n, what) in [(t.killed, "killed"), (t.dropped, "dropped")] {
            if n > 0 {
                tasks += &format!(", {n} {what}");
            }
        }
        tasks += &format!(
            ", {} running, {} pending at end ({} never schedulable",
            t.running_at_end, t.pending_at_end, t.never_schedulable
        );
        if t.held_at_end > 0 {
            tasks += &format!(", {} held outside the cell", t.held_at_end);
        }
        tasks += ")";
        if !t.conservation.holds {
            tasks += &format!(
                "\nWARNING: tasks do not add up: {}",
                t.conservation.identity
            );
        }
        tasks
    }

    /// True if every submitted task is in exactly one end state.
    pub fn conserved(&self) -> bool {
        let parts = [
            self.finished,
            self.killed,
            self.dropped,
            self.running_at_end,
            self.pending_at_end,
        ];
        parts.iter().try_fold(0u64, |a, &b| a.checked_add(b)) == Some(self.submitted)
    }
}

/// Utilisation over the steady-state window (see
/// [`crate::cell::state::history`]).
#[derive(Debug, Serialize)]
pub struct SteadyState {
    pub rule: WindowRule,
    pub start_s: f64,
    pub end_s: f64,
    /// The run's time-weighted median CPU allocation (the default rule's
    /// threshold), as a fraction of capacity.
    pub cpu_median_allocation: Option<f64>,
    pub utilization: Utilization,
}

/// Time-weighted allocated fraction of the cell's capacity.
#[derive(Debug, Serialize)]
pub struct Utilization {
    pub cpu: ProdSplit,
    pub mem: ProdSplit,
    pub gpu: ProdSplit,
}

#[derive(Debug, Serialize)]
pub struct ProdSplit {
    pub prod: f64,
    pub nonprod: f64,
    pub total: f64,
}

/// One band's share of the run.
#[derive(Debug, Serialize)]
pub struct BandSummary {
    pub tasks_submitted: u64,
    pub tasks_pending_at_end: u64,
    pub tasks_evicted: u64,
    /// Time-weighted allocated fraction of the cell's capacity over the
    /// whole run (the allocation at the one instant of a run of no length).
    pub cpu_utilization: f64,
    pub mem_utilization: f64,
    /// Of the cell's GPU capacity; 0 in a cell without GPUs.
    pub gpu_utilization: f64,
    pub wait_us: Percentiles,
}

#[derive(Debug, Serialize)]
pub struct WaitSummary {
    pub prod: Percentiles,
    pub nonprod: Percentiles,
}

/// Submission → first start, over tasks that started.
#[derive(Debug, Serialize)]
pub struct Percentiles {
    pub count: usize,
    /// Tasks in the cell that had not started by the end (still pending):
    /// their waits are censored, not in the percentiles.
    pub never_started: u64,
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub p99: Option<u64>,
    pub max: Option<u64>,
}

impl Percentiles {
    /// `p50 0.103s  p90 1.728s  p99 1.839s  (n=1412, 3 never started)`.
    fn human(&self) -> String {
        let never = match self.never_started {
            0 => String::new(),
            n => format!(", {n} never started"),
        };
        match (self.p50, self.p90, self.p99) {
            (Some(a), Some(b), Some(c)) => format!(
                "p50 {:.3}s  p90 {:.3}s  p99 {:.3}s  (n={}{never})",
                a as f64 / 1e6,
                b as f64 / 1e6,
                c as f64 / 1e6,
                self.count
            ),
            _ => format!("no task started{never}"),
        }
    }

    /// Exact while a run has at most a million waits per band, within 0.1 %
    /// past that (see [`super::waits`]).
    pub fn of(w: &Waits, never_started: u64) -> Percentiles {
        let [p50, p90, p99, max] = w.quantiles();
        Percentiles {
            count: w.count() as usize,
            never_started,
            p50,
            p90,
            p99,
            max,
        }
    }
}

/// Tasks in the cell, per band, that have never started (pending since
/// they entered it): their waits are censored at the end of the run.
pub fn never_started_by_band(st: &crate::cell::state::CellState) -> [u64; 4] {
    let mut n = [0u64; 4];
    for (_, rec) in st.live_tasks() {
        if rec.state == TaskState::Pending && rec.first_start().is_none() {
            n[st.job(rec.job).band().index()] += 1;
        }
    }
    n
}

fn by_band(
    sim: &Simulation,
    cap: &crate::cell::resources::Capacity,
    elapsed_us: f64,
    held: &[crate::sim::feed::HeldTask],
) -> BTreeMap<&'static str, BandSummary> {
    let st = sim.state();
    let never = never_started_by_band(st);
    let l = st.ledger();
    // A run of no length: the allocation at its one instant.
    let frac = |area: u128, now: u64, capacity: u64| {
        if capacity == 0 {
            0.0
        } else if elapsed_us == 0.0 {
            round6(now as f64 / capacity as f64)
        } else {
            round6(area as f64 / (capacity as f64 * elapsed_us))
        }
    };
    Band::ALL
        .iter()
        .map(|b| {
            let i = b.index();
            let held = held.iter().filter(|h| Band::of(h.priority) == *b).count() as u64;
            let summary = BandSummary {
                tasks_submitted: l.submitted_by_band[i] + held,
                tasks_pending_at_end: l.pending_by_band[i] + held,
                tasks_evicted: l.evicted_tasks_by_band[i],
                cpu_utilization: frac(
                    l.alloc_integral[i][0],
                    l.alloc_by_band[i].cpu_milli,
                    cap.res.cpu_milli,
                ),
                mem_utilization: frac(
                    l.alloc_integral[i][1],
                    l.alloc_by_band[i].mem_mib,
                    cap.res.mem_mib,
                ),
                gpu_utilization: frac(
                    l.alloc_integral[i][2],
                    l.gpu_milli_by_band[i],
                    cap.gpu_milli(),
                ),
                wait_us: Percentiles::of(&l.wait_us[i], never[i]),
            };
            (b.name(), summary)
        })
        .collect()
}

impl Utilization {
    /// Allocated fraction of `cap` between two snapshots of the allocation
    /// areas; over an interval of no length, the allocation `at_b` at its
    /// instant (0 in a dimension without capacity).
    fn between(
        a: &Snapshot,
        b: &Snapshot,
        at_b: &Rates,
        cap: &crate::cell::resources::Capacity,
    ) -> Utilization {
        let span_us = (b.time.as_us() - a.time.as_us()) as f64;
        let split = |dim: usize, capacity: u64| {
            let frac = |side: usize| {
                if capacity == 0 {
                    return 0.0;
                }
                if span_us == 0.0 {
                    return at_b[side][dim] as f64 / capacity as f64;
                }
                let area = b.areas[side][dim] - a.areas[side][dim];
                area as f64 / (capacity as f64 * span_us)
            };
            let (p, n) = (frac(0), frac(1));
            ProdSplit {
                prod: round6(p),
                nonprod: round6(n),
                total: round6(p + n),
            }
        };
        Utilization {
            cpu: split(0, cap.res.cpu_milli),
            mem: split(1, cap.res.mem_mib),
            gpu: split(2, cap.gpu_milli()),
        }
    }
}

impl SteadyState {
    /// Over the window, given the run's end (see [`Simulation::end_time`]:
    /// nothing is allocated between it and the state's clock, so the areas
    /// up to the clock are the areas up to it).
    fn of(st: &crate::cell::state::CellState, end: SimTime) -> Option<SteadyState> {
        let h = st.history();
        let now = Snapshot {
            time: end,
            ..st.snapshot()
        };
        let (start, end, rule) = match h.window(now) {
            Some(w) => w,
            None if now.time == SimTime::ZERO => (now, now, WindowRule::Instant),
            None => return None,
        };
        let cap = st.cell().total_capacity();
        Some(SteadyState {
            rule,
            start_s: start.time.as_secs_f64(),
            end_s: end.time.as_secs_f64(),
            cpu_median_allocation: h
                .median_level_bp()
                .map(|bp| round6(bp as f64 / LEVELS_BP as f64)),
            utilization: Utilization::between(&start, &end, &st.alloc_rates(), &cap),
        })
    }
}

impl Summary {
    pub fn of(sc: &Scenario, sim: &Simulation) -> Summary {
        let st = sim.state();
        let l = st.ledger();
        let cap = st.cell().total_capacity();
        let held = sim.feed().held_tasks();
        let t = TaskSummary::of(st, held.len() as u64);
        let end = sim.end_time();
        let elapsed_us = end.as_us() as f64;
        let never = never_started_by_band(st);
        let waits = |prod: bool| {
            let bands = Band::ALL.iter().filter(|b| b.is_prod() == prod);
            let parts: Vec<&Waits> = bands.clone().map(|b| &l.wait_us[b.index()]).collect();
            let never_started = bands.map(|b| never[b.index()]).sum();
            Percentiles::of(&Waits::merged(&parts), never_started)
        };
        Summary {
            scenario: sc.name.clone(),
            seed: sc.seed,
            policy: sc.scheduler.policy.name(),
            preemption: sc.scheduler.preemption,
            techniques: Techniques {
                score_cache: sc.scheduler.score_cache,
                equivalence_classes: sc.scheduler.equivalence_classes,
                relaxed_randomization: sc.scheduler.relaxed_randomization,
            },
            duration_s: end.as_secs_f64(),
            machines: st.cell().len(),
            capacity: CapacitySummary {
                cpu_milli: cap.res.cpu_milli,
                mem_mib: cap.res.mem_mib,
                gpus: cap.gpus,
            },
            jobs_submitted: l.jobs_submitted as usize,
            tasks: t,
            evictions: EvictionCause::ALL
                .iter()
                .filter(|c| super::reclamation::cause_reported(st, **c))
                .map(|c| (c.name(), l.evictions[*c as usize]))
                .collect(),
            evictions_per_task_week: super::availability::EvictionRates::of(st),
            availability: super::availability::AvailabilitySummary::of(st, end),
            utilization: Utilization::between(
                &Snapshot::default(),
                &Snapshot {
                    time: end,
                    ..st.snapshot()
                },
                &st.alloc_rates(),
                &cap,
            ),
            steady_state: SteadyState::of(st, end),
            wait_us: WaitSummary {
                prod: waits(true),
                nonprod: waits(false),
            },
            by_band: by_band(sim, &cap, elapsed_us, &held),
            scheduler: sim.scheduler().stats().clone(),
            events_processed: sim.events_processed(),
            trace: sim.feed().report(),
            gpu_packing: super::gpu_packing::GpuPacking::of(sim),
            typical_pods: sim.typical_pods().map(|t| t.report()),
            faults: sim.faults().map(|f| f.summary(end)),
            packing: super::packing::Packing::of(
                st,
                sc.packing
                    .hole_size
                    .map(|h| crate::cell::resources::Resources::new(h.cpu_milli, h.mem_mib)),
            ),
            reclamation: super::reclamation::ReclamationSummary::of(st, end),
        }
    }

    /// A warning when the typical pods rest on fewer than
    /// [`crate::sched::typical::FEW_TASKS`] tasks: the fragmentation `fgd`
    /// descends then stands for little of the workload.
    pub fn typical_pods_warning(&self) -> Option<String> {
        let t = self.typical_pods.as_ref()?;
        (t.tasks_counted < crate::sched::typical::FEW_TASKS).then(|| {
            format!(
                "typical_pods: counted on {} task(s) ({}), fewer than {}: \
                 the fragmentation fgd measures stands for little of the workload",
                t.tasks_counted,
                t.source.name(),
                crate::sched::typical::FEW_TASKS
            )
        })
    }

    /// A few lines for a person at a terminal.
    pub fn human(&self) -> String {
        let w = Percentiles::human;
        let u = &self.utilization;
        let t = &self.tasks;
        let mut ev: Vec<String> = self
            .evictions
            .iter()
            .filter(|(_, v)| **v > 0)
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        if ev.is_empty() {
            ev.push("none".into());
        }
        let tasks = t.human();
        let steady = match &self.steady_state {
            Some(s) => format!(
                "\nsteady state {:.0}-{:.0} s: cpu {:.1}%  mem {:.1}%  (allocated, prod + non-prod)",
                s.start_s,
                s.end_s,
                s.utilization.cpu.total * 100.0,
                s.utilization.mem.total * 100.0
            ),
            None => String::new(),
        };
        let placed_by = match &self.trace {
            Some(t) if t.mode == crate::sim::feed::ReplayKind::TracePlacement => {
                "the trace's placements".to_string()
            }
            _ => format!("policy {}, preemption {}", self.policy, self.preemption),
        };
        format!(
            "scenario {} (seed {}, {placed_by}): {} machines, {} s simulated\n\
             {tasks}\n\
             cpu allocated: prod {:.1}%  non-prod {:.1}%  total {:.1}%  ({})\n\
             mem allocated: prod {:.1}%  non-prod {:.1}%  total {:.1}%{steady}\n\
             wait prod:     {}\n\
             wait non-prod: {}\n\
             evictions: {} ({} tasks evicted at least once)",
            self.scenario,
            self.seed,
            self.machines,
            self.duration_s,
            u.cpu.prod * 100.0,
            u.cpu.nonprod * 100.0,
            u.cpu.total * 100.0,
            Band::ALL
                .iter()
                .rev()
                .map(|b| format!(
                    "{} {:.1}%",
                    b.name(),
                    self.by_band[b.name()].cpu_utilization * 100.0
                ))
                .collect::<Vec<_>>()
                .join(", "),
            u.mem.prod * 100.0,
            u.mem.nonprod * 100.0,
            u.mem.total * 100.0,
            w(&self.wait_us.prod),
            w(&self.wait_us.nonprod),
            ev.join(", "),
            t.evicted,
        ) + &self
            .reclamation
            .as_ref()
            .map_or(String::new(), |r| r.human())
            + &self.faults_human()
    }

    /// With a `[faults]` table: the faults and prod jobs' availability, in
    /// two more lines; empty otherwise (a run without faults prints as
    /// before).
    fn faults_human(&self) -> String {
        let Some(f) = &self.faults else {
            return String::new();
        };
        let kinds: Vec<String> = f
            .by_kind
            .iter()
            .filter(|(_, k)| k.count > 0)
            .map(|(n, k)| format!("{} {n}", k.count))
            .collect();
        let secs = |us: Option<u64>| us.map_or("-".into(), |u| format!("{:.1} s", u as f64 / 1e6));
        let pct = |v: Option<f64>| v.map_or("-".into(), |v| format!("{:.3}%", v * 100.0));
        let a = &self.availability.all_running;
        format!(
            "\nfaults: {} ({}), {} tasks evicted, {} task crashes; recovered p50 {}  p90 {}  max {}\n\
             prod jobs with every task running: {} of the time (worst job {}, p10 {}, {} of {} jobs always)",
            f.faults,
            if kinds.is_empty() { "none struck".into() } else { kinds.join(", ") },
            f.all.tasks_evicted,
            f.task_crashes,
            secs(f.all.recover_us_p50),
            secs(f.all.recover_us_p90),
            secs(f.all.recover_us_max),
            pct(a.time_weighted),
            pct(a.min),
            pct(a.p10),
            a.jobs_always,
            self.availability.jobs_measured,
        )
    }
}
