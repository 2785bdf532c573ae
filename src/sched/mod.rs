//! The scheduler: a pass over the pending queue that places tasks.
//!
//! A pass scans pending tasks from high to low priority, round-robin across
//! jobs within a priority (Borg). For each task the [`pipeline`] filters and
//! scores every machine; if no machine fits as things stand and preemption is
//! on, [`preempt`] picks a machine and the victims to evict. The scheduler is
//! a functional core: it reads and changes the [`CellState`] through its
//! methods and reports what it did as [`Action`]s, which the simulation turns
//! into events — and which a real-node backend could turn into RPCs.

pub mod pipeline;
pub mod plugin;
pub mod plugins;
pub mod preempt;
pub mod profile;
pub mod reason;

use crate::cell::pending::round_robin;
use crate::cell::state::{CellState, EvictionCause};
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::{JobId, TaskId};
use pipeline::{Outcome, Pipeline};
pub use profile::Policy;
use reason::WhyPending;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// What a pass did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Evict { task: TaskId, cause: EvictionCause },
    Place { task: TaskId, machine: MachineId },
}

/// Counters of the work the scheduler did. They depend only on the scenario
/// and seed, so CI can compare them exactly across commits.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SchedStats {
    pub passes: u64,
    pub tasks_attempted: u64,
    /// Tasks not attempted because an identical task of the same job had just
    /// failed in the same pass (it would fail too: a pass only fills machines).
    pub tasks_skipped_same_job: u64,
    pub feasibility_checks: u64,
    pub scores_computed: u64,
    pub placements: u64,
    pub preemption_placements: u64,
    pub victims_evicted: u64,
    pub preemption_plans_computed: u64,
}

/// Scheduler configuration from the scenario.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SchedConfig {
    pub policy: Policy,
    pub preemption: bool,
}

/// The scheduler: a pipeline, its counters, and why-pending records.
pub struct Scheduler {
    config: SchedConfig,
    pipeline: Pipeline,
    stats: SchedStats,
    why: BTreeMap<JobId, WhyPending>,
}

impl Scheduler {
    pub fn new(config: SchedConfig) -> Self {
        Scheduler {
            config,
            pipeline: Pipeline::new(config.policy),
            stats: SchedStats::default(),
            why: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> SchedConfig {
        self.config
    }

    pub fn stats(&self) -> &SchedStats {
        &self.stats
    }

    /// The last failed attempt's reasons for a job's pending tasks.
    pub fn why_pending(&self, job: JobId) -> Option<&WhyPending> {
        self.why.get(&job)
    }

    /// One pass over the pending queue at time `now`. Appends what it did to
    /// `actions`.
    pub fn pass(&mut self, st: &mut CellState, now: SimTime, actions: &mut Vec<Action>) {
        self.stats.passes += 1;
        for level in st.pending().snapshot() {
            let mut failed: HashSet<JobId> = HashSet::new();
            for (job, task) in round_robin(&level.jobs) {
                if failed.contains(&job) {
                    self.stats.tasks_skipped_same_job += 1;
                    continue;
                }
                if !st.job(job).ever_schedulable {
                    failed.insert(job);
                    continue;
                }
                if !self.try_place(st, now, task, actions) {
                    failed.insert(job);
                }
            }
        }
    }

    /// Attempts one task; true if it was placed.
    fn try_place(
        &mut self,
        st: &mut CellState,
        now: SimTime,
        task: TaskId,
        actions: &mut Vec<Action>,
    ) -> bool {
        self.stats.tasks_attempted += 1;
        let job = st.task(task).job;
        match self
            .pipeline
            .evaluate(st, job, self.config.preemption, &mut self.stats)
        {
            Outcome::Place(machine) => {
                st.place(now, task, machine);
                actions.push(Action::Place { task, machine });
                self.stats.placements += 1;
                true
            }
            Outcome::Preempt(plan) => {
                for &v in &plan.victims {
                    st.evict(now, v, EvictionCause::Preemption);
                    actions.push(Action::Evict {
                        task: v,
                        cause: EvictionCause::Preemption,
                    });
                }
                st.place(now, task, plan.machine);
                actions.push(Action::Place {
                    task,
                    machine: plan.machine,
                });
                self.stats.placements += 1;
                self.stats.preemption_placements += 1;
                self.stats.victims_evicted += plan.victims.len() as u64;
                true
            }
            Outcome::Unschedulable(counts) => {
                let why = WhyPending {
                    attempt_us: now.as_us(),
                    counts,
                };
                self.why.insert(job, why);
                false
            }
        }
    }
}
