//! The pipeline: runs the filters and scorers of a profile over every machine
//! for one task, and decides.
//!
//! It owns the loop, the weights and the choice, so plugins stay small. The
//! choice is the highest weighted score among machines that fit without
//! evictions; ties go to the lowest machine id (machines are scanned in id
//! order and only a strictly better score replaces the incumbent). Only when
//! no machine fits as is does it ask [`super::preempt`] for a plan.

use super::plugin::{Fit, TaskView};
use super::preempt::{self, Plan};
use super::profile::{Policy, Profile};
use super::reason::ReasonCounts;
use super::SchedStats;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::workload::JobId;

/// What the pipeline decided for a task.
#[derive(Debug)]
pub enum Outcome {
    Place(MachineId),
    Preempt(Plan),
    Unschedulable(ReasonCounts),
}

pub struct Pipeline {
    profile: Profile,
}

impl Pipeline {
    pub fn new(policy: Policy) -> Self {
        Pipeline {
            profile: Profile::for_policy(policy),
        }
    }

    /// Filters and scores every machine for one task of `job`.
    pub fn evaluate(
        &self,
        st: &CellState,
        job: JobId,
        preemption: bool,
        stats: &mut SchedStats,
    ) -> Outcome {
        let job = st.job(job);
        let view = TaskView {
            job,
            preempt_below: preemption.then(|| preempt::threshold(job.priority())),
        };
        let mut best: Option<(u64, MachineId)> = None;
        let mut needs_preemption: Vec<MachineId> = Vec::new();
        let mut counts = ReasonCounts::default();
        for m in 0..st.cell().len() as MachineId {
            stats.feasibility_checks += 1;
            match self.feasible(st, &view, m) {
                Err(reason) => counts.add(reason),
                Ok(Fit::WithPreemption) => needs_preemption.push(m),
                Ok(Fit::Free) => {
                    let s = self.score(st, &view, m, stats);
                    if best.is_none_or(|(b, _)| s > b) {
                        best = Some((s, m));
                    }
                }
            }
        }
        if let Some((_, m)) = best {
            return Outcome::Place(m);
        }
        match self.cheapest_plan(st, &view, &needs_preemption, stats) {
            Some(plan) => Outcome::Preempt(plan),
            None => Outcome::Unschedulable(counts),
        }
    }

    /// Runs the filters in order; the first rejection wins.
    fn feasible(
        &self,
        st: &CellState,
        view: &TaskView,
        m: MachineId,
    ) -> Result<Fit, super::reason::Reason> {
        let mut fit = Fit::Free;
        for f in &self.profile.filters {
            fit = fit.max(f.filter(st, view, m)?);
        }
        Ok(fit)
    }

    fn score(&self, st: &CellState, view: &TaskView, m: MachineId, stats: &mut SchedStats) -> u64 {
        stats.scores_computed += 1;
        self.profile
            .scorers
            .iter()
            .map(|(s, w)| w * s.score(st, view, m))
            .sum()
    }

    /// The preemption plan with the lowest cost (see [`super::preempt`]).
    fn cheapest_plan(
        &self,
        st: &CellState,
        view: &TaskView,
        machines: &[MachineId],
        stats: &mut SchedStats,
    ) -> Option<Plan> {
        let threshold = view.preempt_below?;
        let req = view.job.spec.request;
        let mut best: Option<(Plan, u64)> = None;
        for &m in machines {
            stats.preemption_plans_computed += 1;
            let Some(plan) = preempt::victims_on(st, m, &req.res, req.gpu, threshold) else {
                continue;
            };
            let s = self.score(st, view, m, stats);
            let better = match &best {
                None => true,
                Some((b, bs)) => {
                    (plan.cost, std::cmp::Reverse(s)) < (b.cost, std::cmp::Reverse(*bs))
                }
            };
            if better {
                best = Some((plan, s));
            }
        }
        best.map(|(p, _)| p)
    }
}
