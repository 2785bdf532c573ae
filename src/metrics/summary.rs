//! `summary.json`: the deterministic result of a run.
//!
//! Everything here is a function of (scenario, seed): no wall time, no paths,
//! no host facts. Keys are struct fields (fixed order) or `BTreeMap`s (sorted),
//! so the bytes are identical run after run.

use super::round6;
use super::waits::Waits;
use crate::cell::state::{EvictionCause, TaskState};
use crate::scenario::Scenario;
use crate::sched::SchedStats;
use crate::sim::Simulation;
use crate::workload::Band;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub policy: &'static str,
    pub preemption: bool,
    /// Simulated seconds run (the horizon, or when the run drained).
    pub duration_s: f64,
    pub machines: usize,
    pub capacity: CapacitySummary,
    pub jobs_submitted: usize,
    pub tasks: TaskSummary,
    pub evictions: BTreeMap<&'static str, u64>,
    pub utilization: Utilization,
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
}

#[derive(Debug, Serialize)]
pub struct CapacitySummary {
    pub cpu_milli: u64,
    pub mem_mib: u64,
    pub gpus: u32,
}

#[derive(Debug, Serialize)]
pub struct TaskSummary {
    pub submitted: u64,
    /// Tasks that started at least once.
    pub scheduled: u64,
    /// Starts, counting restarts after eviction.
    pub placements: u64,
    pub finished: u64,
    /// Withdrawn before finishing (part of `finished`): dropped arrivals,
    /// tasks a trace killed.
    pub killed: u64,
    pub running_at_end: u64,
    pub pending_at_end: u64,
    /// Tasks evicted at least once.
    pub evicted: u64,
    /// Pending tasks that no machine of the cell could ever host.
    pub never_schedulable: u64,
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
    pub cpu_utilization: f64,
    pub mem_utilization: f64,
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
    pub p50: Option<u64>,
    pub p90: Option<u64>,
    pub p99: Option<u64>,
    pub max: Option<u64>,
}

impl Percentiles {
    /// Exact while a run has at most a million waits per band, within 0.1 %
    /// past that (see [`super::waits`]).
    pub fn of(w: &Waits) -> Percentiles {
        let [p50, p90, p99, max] = w.quantiles();
        Percentiles {
            count: w.count() as usize,
            p50,
            p90,
            p99,
            max,
        }
    }
}

fn by_band(
    sim: &Simulation,
    cap: crate::cell::resources::Resources,
    elapsed_us: f64,
) -> BTreeMap<&'static str, BandSummary> {
    let st = sim.state();
    let l = st.ledger();
    let frac = |area: u128, capacity: u64| {
        if capacity == 0 || elapsed_us == 0.0 {
            0.0
        } else {
            round6(area as f64 / (capacity as f64 * elapsed_us))
        }
    };
    Band::ALL
        .iter()
        .map(|b| {
            let i = b.index();
            let summary = BandSummary {
                tasks_submitted: l.submitted_by_band[i],
                tasks_pending_at_end: l.pending_by_band[i],
                tasks_evicted: l.evicted_tasks_by_band[i],
                cpu_utilization: frac(l.alloc_integral[i][0], cap.cpu_milli),
                mem_utilization: frac(l.alloc_integral[i][1], cap.mem_mib),
                wait_us: Percentiles::of(&l.wait_us[i]),
            };
            (b.name(), summary)
        })
        .collect()
}

impl Summary {
    pub fn of(sc: &Scenario, sim: &Simulation) -> Summary {
        let st = sim.state();
        let l = st.ledger();
        let cap = st.cell().total_capacity();
        let mut t = TaskSummary {
            submitted: l.tasks_submitted,
            scheduled: l.tasks_started,
            placements: l.placements,
            finished: l.tasks_finished,
            killed: l.tasks_killed,
            running_at_end: 0,
            pending_at_end: 0,
            evicted: l.evicted_tasks_by_band.iter().sum(),
            never_schedulable: 0,
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
        let elapsed_us = sim.now().as_us() as f64;
        let split = |dim: usize, capacity: u64| {
            let frac = |prod: bool| {
                if capacity == 0 || elapsed_us == 0.0 {
                    return 0.0;
                }
                let area: u128 = Band::ALL
                    .iter()
                    .filter(|b| b.is_prod() == prod)
                    .map(|b| l.alloc_integral[b.index()][dim])
                    .sum();
                area as f64 / (capacity as f64 * elapsed_us)
            };
            let (p, n) = (frac(true), frac(false));
            ProdSplit {
                prod: round6(p),
                nonprod: round6(n),
                total: round6(p + n),
            }
        };
        let waits = |prod: bool| {
            let parts: Vec<&Waits> = Band::ALL
                .iter()
                .filter(|b| b.is_prod() == prod)
                .map(|b| &l.wait_us[b.index()])
                .collect();
            Percentiles::of(&Waits::merged(&parts))
        };
        Summary {
            scenario: sc.name.clone(),
            seed: sc.seed,
            policy: sc.scheduler.policy.name(),
            preemption: sc.scheduler.preemption,
            duration_s: sim.now().as_secs_f64(),
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
                .map(|c| (c.name(), l.evictions[*c as usize]))
                .collect(),
            utilization: Utilization {
                cpu: split(0, cap.res.cpu_milli),
                mem: split(1, cap.res.mem_mib),
                gpu: split(2, cap.gpu_milli()),
            },
            wait_us: WaitSummary {
                prod: waits(true),
                nonprod: waits(false),
            },
            by_band: by_band(sim, cap.res, elapsed_us),
            scheduler: sim.scheduler().stats().clone(),
            events_processed: sim.events_processed(),
            trace: sim.feed().report(),
            gpu_packing: super::gpu_packing::GpuPacking::of(sim),
        }
    }

    /// A few lines for a person at a terminal.
    pub fn human(&self) -> String {
        let w = |p: &Percentiles| match (p.p50, p.p90, p.p99) {
            (Some(a), Some(b), Some(c)) => format!(
                "p50 {:.3}s  p90 {:.3}s  p99 {:.3}s  (n={})",
                a as f64 / 1e6,
                b as f64 / 1e6,
                c as f64 / 1e6,
                p.count
            ),
            _ => "no task started".to_string(),
        };
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
        format!(
            "scenario {} (seed {}, policy {}, preemption {}): {} machines, {} s simulated\n\
             tasks: {} submitted, {} scheduled, {} finished, {} running, {} pending at end ({} never schedulable)\n\
             cpu allocated: prod {:.1}%  non-prod {:.1}%  total {:.1}%  ({})\n\
             mem allocated: prod {:.1}%  non-prod {:.1}%  total {:.1}%\n\
             wait prod:     {}\n\
             wait non-prod: {}\n\
             evictions: {} ({} tasks evicted at least once)",
            self.scenario, self.seed, self.policy, self.preemption, self.machines, self.duration_s,
            t.submitted, t.scheduled, t.finished, t.running_at_end, t.pending_at_end, t.never_schedulable,
            u.cpu.prod * 100.0, u.cpu.nonprod * 100.0, u.cpu.total * 100.0,
            Band::ALL
                .iter()
                .rev()
                .map(|b| format!("{} {:.1}%", b.name(), self.by_band[b.name()].cpu_utilization * 100.0))
                .collect::<Vec<_>>()
                .join(", "),
            u.mem.prod * 100.0, u.mem.nonprod * 100.0, u.mem.total * 100.0,
            w(&self.wait_us.prod),
            w(&self.wait_us.nonprod),
            ev.join(", "),
            t.evicted,
        )
    }
}
