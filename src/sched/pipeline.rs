//! The pipeline: runs the filters and scorers of a profile over machines for
//! one task, and decides.
//!
//! It owns the loop, the weights and the choice, so plugins stay small. The
//! choice is the highest weighted score among machines that fit without
//! evictions; ties go to the lowest machine id (machines are scanned in id
//! order and only a strictly better score replaces the incumbent). Only when
//! no machine fits as is does it ask [`super::preempt`] for a plan. The score
//! caches of [`super::equiv`] reuse [`Pipeline::verdict`] and
//! [`Pipeline::decide_without_free`], so both paths decide alike.

use super::plugin::{Fit, TaskView};
use super::preempt::{self, Plan};
use super::profile::{Policy, Profile};
use super::reason::{Reason, ReasonCounts};
use super::SchedStats;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::workload::JobId;

/// What the pipeline concludes about one machine for one task.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Reject(Reason),
    /// Fits only with evictions.
    Preempt,
    /// Fits as is, with this weighted score.
    Free(u64),
}

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

/// How the plugins see a task of `job`.
pub fn view_of(st: &CellState, job: JobId, preemption: bool) -> TaskView<'_> {
    let job = st.job(job);
    TaskView {
        job,
        preempt_below: preemption.then(|| preempt::threshold(job.priority())),
    }
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
        let view = view_of(st, job, preemption);
        self.scan(
            st,
            &view,
            0..st.cell().len() as MachineId,
            usize::MAX,
            stats,
        )
    }

    /// Filters and scores `machines` in the order given, stopping once
    /// `enough` of them fit as is; decides among those seen. The best score
    /// wins, ties to the lowest machine id. A scan that finds none that fits
    /// as is has seen every machine, so preemption and the reasons are
    /// complete.
    pub fn scan(
        &self,
        st: &CellState,
        view: &TaskView,
        machines: impl Iterator<Item = MachineId>,
        enough: usize,
        stats: &mut SchedStats,
    ) -> Outcome {
        let mask = self.filter_mask(view);
        let mut best: Option<(u64, MachineId)> = None;
        let mut fitting = 0usize;
        let mut needs_preemption: Vec<MachineId> = Vec::new();
        let mut counts = ReasonCounts::default();
        for m in machines {
            match self.verdict_with(st, view, mask, m, stats) {
                Verdict::Reject(reason) => counts.add(reason),
                Verdict::Preempt => needs_preemption.push(m),
                Verdict::Free(s) => {
                    if best.is_none_or(|(b, bm)| {
                        (s, std::cmp::Reverse(m)) > (b, std::cmp::Reverse(bm))
                    }) {
                        best = Some((s, m));
                    }
                    fitting += 1;
                    if fitting >= enough {
                        break;
                    }
                }
            }
        }
        match best {
            Some((_, m)) => Outcome::Place(m),
            None => {
                needs_preemption.sort_unstable();
                self.decide_without_free(st, view, &needs_preemption, counts, stats)
            }
        }
    }

    /// Which filters apply to a task: bit `i` for the profile's filter `i`.
    pub fn filter_mask(&self, view: &TaskView) -> u32 {
        self.profile
            .filters
            .iter()
            .enumerate()
            .filter(|(_, f)| f.applies(view))
            .fold(0, |mask, (i, _)| mask | 1 << i)
    }

    /// Filters one machine and, if the task fits as is, scores it.
    pub fn verdict(
        &self,
        st: &CellState,
        view: &TaskView,
        m: MachineId,
        stats: &mut SchedStats,
    ) -> Verdict {
        self.verdict_with(st, view, self.filter_mask(view), m, stats)
    }

    /// [`Pipeline::verdict`] with the task's filter mask already computed.
    pub fn verdict_with(
        &self,
        st: &CellState,
        view: &TaskView,
        mask: u32,
        m: MachineId,
        stats: &mut SchedStats,
    ) -> Verdict {
        stats.feasibility_checks += 1;
        match self.feasible(st, view, mask, m) {
            Err(reason) => Verdict::Reject(reason),
            Ok(Fit::WithPreemption) => Verdict::Preempt,
            Ok(Fit::Free) => Verdict::Free(self.score(st, view, m, stats)),
        }
    }

    /// When no machine fits as is: the cheapest preemption plan over
    /// `candidates` (given in id order), or the reasons.
    pub fn decide_without_free(
        &self,
        st: &CellState,
        view: &TaskView,
        candidates: &[MachineId],
        counts: ReasonCounts,
        stats: &mut SchedStats,
    ) -> Outcome {
        match self.cheapest_plan(st, view, candidates, stats) {
            Some(plan) => Outcome::Preempt(plan),
            None => Outcome::Unschedulable(counts),
        }
    }

    /// Runs the filters in order; the first rejection wins.
    fn feasible(
        &self,
        st: &CellState,
        view: &TaskView,
        mask: u32,
        m: MachineId,
    ) -> Result<Fit, Reason> {
        let mut fit = Fit::Free;
        for (i, f) in self.profile.filters.iter().enumerate() {
            if mask & (1 << i) != 0 {
                fit = fit.max(f.filter(st, view, m)?);
            }
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
