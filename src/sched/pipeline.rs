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
//!
//! It also assembles a task's class key ([`Pipeline::sign`]) from its own
//! reads and the plugins' declarations, and it asserts what plugins promise:
//! every score it collects is at most `MAX_SCORE` (the profile's weights were
//! checked, when it was built, to keep the weighted sum within a `u64`).

use super::class_key::{ClassKeyBuilder, Signed};
use super::plugin::{Fit, TaskView, MAX_SCORE};
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
#[derive(Clone, Debug, PartialEq, Eq)]
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
        failed_on: &[],
        basis: st.basis_for(job.priority()),
    }
}

impl Pipeline {
    /// The pipeline of one of the shipped policies.
    pub fn new(policy: Policy) -> Self {
        Self::with_profile(Profile::for_policy(policy))
    }

    /// The pipeline of any profile (plugins of one's own).
    pub fn with_profile(profile: Profile) -> Self {
        Pipeline { profile }
    }

    /// The profile it runs.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// Assembles the class key of `view`'s task into `key` (see
    /// [`super::class_key`]): the pipeline's own reads, then each filter's and
    /// each scorer's declaration, in profile order. Stops at the first plugin
    /// that cannot sign the task.
    pub fn sign(&self, view: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.clear();
        // Preemption ([`Pipeline::cheapest_plan`]) reads the threshold,
        // the request and the basis itself, whatever the plugins read.
        let _ = key.fragment(|k| {
            k.add(&view.preempt_below);
            k.add(&view.job.spec.request);
            k.add(&view.basis);
            Signed::Shareable
        });
        for f in self.profile.filters() {
            if key.fragment(|k| f.sign(view, k)) == Signed::Unsignable {
                return Signed::Unsignable;
            }
        }
        for (s, _) in self.profile.scorers() {
            if key.fragment(|k| s.sign(view, k)) == Signed::Unsignable {
                return Signed::Unsignable;
            }
        }
        Signed::Shareable
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
            .filters()
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
            Ok(Fit::Free) => Verdict::Free(self.weighted_score(st, view, m, stats)),
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
        for (i, f) in self.profile.filters().iter().enumerate() {
            if mask & (1 << i) != 0 {
                fit = fit.max(f.filter(st, view, m)?);
            }
        }
        Ok(fit)
    }

    /// The weighted sum of the scorers' scores. Each is asserted to be at
    /// most `MAX_SCORE`, so the sum stays within the bound checked when the
    /// profile was built ([`Profile::new`]) and cannot overflow.
    pub(crate) fn weighted_score(
        &self,
        st: &CellState,
        view: &TaskView,
        m: MachineId,
        stats: &mut SchedStats,
    ) -> u64 {
        stats.scores_computed += 1;
        let mut total = 0;
        for (s, weight) in self.profile.scorers() {
            let score = s.score(st, view, m);
            assert!(
                score <= MAX_SCORE,
                "scorer {} gave machine {m} the score {score}, above MAX_SCORE ({MAX_SCORE})",
                s.name()
            );
            total += weight * score;
        }
        total
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
            let Some(plan) = preempt::victims_on(st, m, &req.res, req.gpu, threshold, view.basis)
            else {
                continue;
            };
            let s = self.weighted_score(st, view, m, stats);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::attrs::{Constraint, ConstraintOp};
    use crate::cell::domain::DomainLevel;
    use crate::sched::plugin::{Plugin, Score};
    use crate::sched::plugins::best_fit::BestFit;
    use crate::testkit::{as_job, cell, job};
    use crate::workload::{Job, SpreadLimit};

    /// A scorer that gives every machine the same score.
    struct Constant(u64);

    impl Plugin for Constant {
        fn name(&self) -> &'static str {
            "constant"
        }
        fn sign(&self, _: &TaskView, _: &mut ClassKeyBuilder) -> Signed {
            Signed::Shareable
        }
    }

    impl Score for Constant {
        fn score(&self, _: &CellState, _: &TaskView, _: MachineId) -> u64 {
            self.0
        }
    }

    fn view(j: &Job, preempt_below: Option<u32>) -> TaskView<'_> {
        TaskView {
            job: j,
            preempt_below,
            failed_on: &[],
            basis: Default::default(),
        }
    }

    fn key_of(p: &Pipeline, j: &Job, preempt_below: Option<u32>) -> Option<Vec<u64>> {
        let mut key = ClassKeyBuilder::default();
        let signed = p.sign(&view(j, preempt_below), &mut key);
        (signed == Signed::Shareable).then(|| key.words().to_vec())
    }

    #[test]
    fn scores_at_the_bound_are_weighted_and_summed() {
        // One 4000 mcpu / 8000 MiB machine; a task of 1000 / 2000.
        // Best fit: 10000 − mean(7500, 7500) = 2500; the constant scorer
        // gives MAX_SCORE. Weighted: 3 × 10000 + 1 × 2500 = 32500.
        let st = cell(&[(4000, 8000, 0)]);
        let profile = Profile::new(
            vec![],
            vec![(Box::new(Constant(MAX_SCORE)), 3), (Box::new(BestFit), 1)],
        );
        let p = Pipeline::with_profile(profile);
        let j = as_job(job(1000, 2000, 0, 1));
        let v = p.verdict(&st, &view(&j, None), 0, &mut SchedStats::default());
        assert_eq!(v, Verdict::Free(32_500));
    }

    #[test]
    #[should_panic(expected = "scorer constant gave machine 0 the score 10001, above MAX_SCORE")]
    fn a_score_above_the_bound_panics_naming_the_scorer() {
        let st = cell(&[(4000, 8000, 0)]);
        let profile = Profile::new(vec![], vec![(Box::new(Constant(MAX_SCORE + 1)), 1)]);
        let p = Pipeline::with_profile(profile);
        let j = as_job(job(1000, 2000, 0, 1));
        let _ = p.verdict(&st, &view(&j, None), 0, &mut SchedStats::default());
    }

    #[test]
    fn class_keys_are_the_plugins_declarations_in_order() {
        // Best fit's profile, a task of 1000 mcpu / 2000 MiB, no GPU, no
        // threshold, admitted against limits (a basis that writes
        // nothing). Each fragment ends with its length:
        //   the pipeline's own reads: threshold None = 0, request = 1000,
        //     2000, GPU none = 0                              [0, 1000, 2000, 0, 4]
        //   attribute_constraints: no constraints = length 0  [0, 1]
        //   spread_limits: nothing (no limits)                [0]
        //   resource_fit: request, threshold                  [1000, 2000, 0, 0, 4]
        //   best_fit: request                                 [1000, 2000, 0, 3]
        let p = Pipeline::new(Policy::BestFit);
        let j = as_job(job(1000, 2000, 0, 1));
        let want = [
            vec![0, 1000, 2000, 0, 4],
            vec![0, 1],
            vec![0],
            vec![1000, 2000, 0, 0, 4],
            vec![1000, 2000, 0, 3],
        ]
        .concat();
        assert_eq!(key_of(&p, &j, None), Some(want));
    }

    #[test]
    fn only_what_a_plugin_reads_splits_classes() {
        let p = Pipeline::new(Policy::Hybrid);
        let base = job(1000, 2000, 100, 1);
        let key = |spec: crate::workload::JobSpec, below| key_of(&p, &as_job(spec), below);
        // Name, user, priority (read only through the threshold, given
        // here) and task count: no plugin reads them.
        let mut other = base.clone();
        other.name = "elsewhere".into();
        other.user = "someone-else".into();
        other.priority = 110;
        other.task_durations.push(None);
        assert_eq!(key(base.clone(), None), key(other, None));
        // The request, the constraints and the threshold each split.
        let mut bigger = base.clone();
        bigger.request.res.mem_mib += 1;
        let mut constrained = base.clone();
        constrained.constraints = vec![Constraint {
            name: 0,
            op: ConstraintOp::Present,
            value: 0,
        }];
        let k = key(base.clone(), None);
        assert_ne!(k, key(bigger, None));
        assert_ne!(k, key(constrained, None));
        assert_ne!(k, key(base.clone(), Some(100)));
        // The basis (reservations for non-prod with reclamation on).
        let j = as_job(base.clone());
        let mut reserved = ClassKeyBuilder::default();
        let v = TaskView {
            basis: crate::cell::state::usage::Basis::Reservation,
            ..view(&j, None)
        };
        assert_eq!(p.sign(&v, &mut reserved), Signed::Shareable);
        assert_ne!(k.as_deref(), Some(reserved.words()));
        // Spread limits: the spread filter opts out, no key.
        let mut spread = base;
        spread.spread = vec![SpreadLimit {
            level: DomainLevel::Rack,
            max_tasks: 2,
        }];
        assert_eq!(key(spread, None), None);
    }
}
