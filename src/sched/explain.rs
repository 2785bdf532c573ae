//! Explaining one scheduling attempt in full: each filter's verdict and
//! each scorer's score on each machine, which machines the pass examined,
//! the machine chosen and why, and what preemption considered (the
//! Kubernetes scheduler simulator's per-pod plugin results, for borgsim).
//!
//! **A separate path, so the placement loop stays lean.** The pipeline
//! keeps only what it decides with — the first rejection, a weighted sum,
//! the best machine so far — and that loop must not slow down for a
//! question asked about one task. So an explanation re-evaluates that one
//! task on the cell as it stood just before its decision, through the same
//! plugins and the same pipeline functions ([`Pipeline::verdict_with`],
//! [`Pipeline::scan`], `Pipeline::weighted_score`): the decision it
//! reports is computed by the code that decides, not by a copy of it.
//!
//! **The same machines as the pass.** With relaxed randomization a pass
//! examines a sample of the cell (see [`super::sample`]): a class cache's
//! prefix of the scan order from its offset, extended until enough machines
//! fit, or a fresh scan from a new random offset. [`Scheduler::explain`]
//! reads which, from the scheduler's state before the decision, without
//! drawing from its random stream (it draws from a copy), so the explained
//! choice is the best of the machines the pass itself looked at.
//!
//! **Watching a run.** [`Watch`] is told by a watched pass
//! ([`Scheduler::pass_watched`]) about each task it comes to, and keeps the
//! explanation of the watched task's attempts with what the pass then
//! decided, so that a caller can check the two agree. A plain pass tells an
//! [`Unwatched`], whose methods are empty and compile away.

mod watch;

pub use watch::{of_job, Attempt, AttemptKind, Decided, Keep, Tally, TaskRef, Watch};

use super::pipeline::{view_of, Outcome, Pipeline, Verdict};
use super::plugin::{Fit, TaskView};
use super::preempt::{self, Plan};
use super::reason::{Reason, ReasonCounts};
use super::sample::{self, Sampler};
use super::{Action, SchedStats, Scheduler};
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::{Priority, TaskId};
use serde::{Serialize, Serializer};

/// What one filter said about one machine.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FilterVerdict {
    /// The filter admits every machine for this task (its `applies` is
    /// false), so the pipeline does not run it.
    NotApplicable,
    /// An earlier filter rejected the machine; the pipeline stopped there.
    NotReached,
    /// Passed, with the machine's free resources as they are.
    Pass,
    /// Passed only counting what lower-priority tasks hold (evictable).
    PassWithPreemption,
    Reject(Reason),
}

impl FilterVerdict {
    /// The name outputs use: `pass`, `pass_with_preemption`, a reason's
    /// key (`insufficient_cpu`), `not_applicable` or `not_reached`.
    pub fn label(self) -> &'static str {
        match self {
            FilterVerdict::NotApplicable => "not_applicable",
            FilterVerdict::NotReached => "not_reached",
            FilterVerdict::Pass => "pass",
            FilterVerdict::PassWithPreemption => "pass_with_preemption",
            FilterVerdict::Reject(r) => r.key(),
        }
    }
}

impl Serialize for FilterVerdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

/// One machine, as the pipeline saw it for the explained task.
#[derive(Clone, Debug)]
pub struct MachineExplained {
    pub machine: MachineId,
    /// Per filter of the profile, in order.
    pub filters: Vec<FilterVerdict>,
    /// The pipeline's verdict ([`Pipeline::verdict_with`]).
    pub verdict: Verdict,
    /// Per scorer, its raw score (`0..=MAX_SCORE`); empty for a machine
    /// rejected by a filter (the pipeline scores none of those).
    pub scores: Vec<u64>,
    /// The weighted sum: for a machine that fits as is, what the choice
    /// compares; for one that fits with evictions, what breaks ties
    /// between equally cheap preemption plans.
    pub total: Option<u64>,
    /// Whether the pass examined it (always, without relaxed randomization).
    pub examined: bool,
}

/// A victim of a preemption plan, named as outputs name tasks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Victim {
    pub task_id: TaskId,
    /// Its job's name and its index in the job (`batch-17/2`).
    pub task: String,
    pub priority: Priority,
}

/// What preemption found on one machine that fits only with evictions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreemptOption {
    pub machine: MachineId,
    /// The minimal victim set ([`preempt::victims_on`]); `None` if even
    /// evicting every preemptible task leaves too little room.
    pub plan: Option<Plan>,
    pub victims: Vec<Victim>,
    /// The weighted score, which breaks ties between equal costs.
    pub score: u64,
}

/// The sample a pass with relaxed randomization examines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampledScan {
    /// The machines in scan order: the sampler's permutation, from `start`.
    pub order: Vec<MachineId>,
    pub start: usize,
    /// Machines of `order` a class cache had examined in earlier decisions
    /// (0 for a fresh scan).
    pub already: usize,
    /// How many machines that fit as is are enough.
    pub enough: usize,
    /// Served by a class cache (else a fresh scan of the cell).
    pub cached: bool,
}

/// Everything the pipeline considered for one attempt of one task.
#[derive(Clone, Debug)]
pub struct Explanation {
    /// The profile's filters, in order.
    pub filters: Vec<&'static str>,
    /// The profile's scorers and their weights.
    pub scorers: Vec<(&'static str, u64)>,
    /// Every machine, in id order.
    pub machines: Vec<MachineExplained>,
    /// With relaxed randomization: the sample; `None`: every machine.
    pub sampled: Option<SampledScan>,
    /// How many machines the pass examined.
    pub examined: usize,
    /// Machines rejected per reason, over the whole cell.
    pub counts: ReasonCounts,
    /// Preemption's threshold: tasks below this priority may be evicted.
    pub threshold: Option<Priority>,
    /// When no examined machine fits as is and preemption is on: every
    /// machine that fits with evictions, in id order.
    pub preemption: Option<Vec<PreemptOption>>,
    /// The pipeline's decision.
    pub outcome: Outcome,
}

impl Explanation {
    /// Machines that fit as is, with evictions, and rejected.
    pub fn tally(&self) -> (usize, usize, usize) {
        let mut t = (0, 0, 0);
        for m in &self.machines {
            match m.verdict {
                Verdict::Free(_) => t.0 += 1,
                Verdict::Preempt => t.1 += 1,
                Verdict::Reject(_) => t.2 += 1,
            }
        }
        t
    }
}

impl Pipeline {
    /// Explains the decision for `view`'s task on `st`: every machine with
    /// every filter's verdict and every scorer's score, the machines
    /// examined (`sampled`, or all), the decision, and preemption's options.
    pub fn explain(
        &self,
        st: &CellState,
        view: &TaskView,
        sampled: Option<SampledScan>,
    ) -> Explanation {
        let mask = self.filter_mask(view);
        let mut stats = SchedStats::default();
        let mut machines: Vec<MachineExplained> = (0..st.cell().len() as MachineId)
            .map(|m| self.explain_machine(st, view, mask, m, &mut stats))
            .collect();
        let examined = mark_examined(&mut machines, sampled.as_ref());
        let seen = machines.iter().filter(|m| m.examined).map(|m| m.machine);
        let outcome = self.scan(st, view, seen, usize::MAX, &mut stats);
        let mut counts = ReasonCounts::default();
        for m in &machines {
            if let Verdict::Reject(r) = m.verdict {
                counts.add(r);
            }
        }
        let preemption = match (&outcome, view.preempt_below) {
            (Outcome::Place(_), _) | (_, None) => None,
            (_, Some(below)) => Some(self.preempt_options(st, view, &machines, below)),
        };
        let profile = self.profile();
        Explanation {
            filters: profile.filters().iter().map(|f| f.name()).collect(),
            scorers: profile
                .scorers()
                .iter()
                .map(|(s, w)| (s.name(), *w))
                .collect(),
            machines,
            sampled,
            examined,
            counts,
            threshold: view.preempt_below,
            preemption,
            outcome,
        }
    }

    /// One machine: each filter in order (stopping, as the pipeline does,
    /// at the first rejection), the pipeline's verdict, and the scores.
    fn explain_machine(
        &self,
        st: &CellState,
        view: &TaskView,
        mask: u32,
        m: MachineId,
        stats: &mut SchedStats,
    ) -> MachineExplained {
        let mut rejected = false;
        let filters = self
            .profile()
            .filters()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                if mask & (1 << i) == 0 {
                    return FilterVerdict::NotApplicable;
                }
                if rejected {
                    return FilterVerdict::NotReached;
                }
                match f.filter(st, view, m) {
                    Ok(Fit::Free) => FilterVerdict::Pass,
                    Ok(Fit::WithPreemption) => FilterVerdict::PassWithPreemption,
                    Err(r) => {
                        rejected = true;
                        FilterVerdict::Reject(r)
                    }
                }
            })
            .collect();
        let verdict = self.verdict_with(st, view, mask, m, stats);
        let (scores, total) = match verdict {
            Verdict::Reject(_) => (Vec::new(), None),
            _ => {
                let raw = self.profile().scorers().iter();
                let raw = raw.map(|(s, _)| s.score(st, view, m)).collect();
                (raw, Some(self.weighted_score(st, view, m, stats)))
            }
        };
        MachineExplained {
            machine: m,
            filters,
            verdict,
            scores,
            total,
            examined: false,
        }
    }

    /// Preemption's view of every machine that fits only with evictions:
    /// its minimal victims (or none that suffice) and its score.
    fn preempt_options(
        &self,
        st: &CellState,
        view: &TaskView,
        machines: &[MachineExplained],
        below: Priority,
    ) -> Vec<PreemptOption> {
        let req = view.job.spec.request;
        machines
            .iter()
            .filter(|m| m.verdict == Verdict::Preempt)
            .map(|m| {
                let plan = preempt::victims_on(st, m.machine, &req.res, req.gpu, below, view.basis);
                let victims = plan.as_ref().map_or_else(Vec::new, |p| {
                    p.victims.iter().map(|&t| victim(st, t)).collect()
                });
                PreemptOption {
                    machine: m.machine,
                    plan,
                    victims,
                    score: m.total.unwrap_or(0),
                }
            })
            .collect()
    }
}

/// A task as outputs name it: its job's name and its index in the job.
fn victim(st: &CellState, t: TaskId) -> Victim {
    let rec = st.task(t);
    let job = st.job(rec.job);
    Victim {
        task_id: t,
        task: format!("{}/{}", job.spec.name, rec.index),
        priority: job.priority(),
    }
}

/// Marks the machines the pass examined; returns how many. Without a
/// sample, all. With one: the cache's earlier prefix, extended in scan
/// order until `enough` fit as is ([`super::equiv::ClassCache`] and
/// [`Pipeline::scan`] both stop there); all, if too few fit.
fn mark_examined(machines: &mut [MachineExplained], sampled: Option<&SampledScan>) -> usize {
    let n = machines.len();
    let Some(s) = sampled else {
        machines.iter_mut().for_each(|m| m.examined = true);
        return n;
    };
    let fits = |m: MachineId| matches!(machines[m as usize].verdict, Verdict::Free(_));
    let mut fitting = s.order[..s.already].iter().filter(|&&m| fits(m)).count();
    let mut k = s.already;
    while k < n && fitting < s.enough {
        fitting += usize::from(fits(s.order[k]));
        k += 1;
    }
    if fitting == 0 {
        k = n;
    }
    for &m in &s.order[..k] {
        machines[m as usize].examined = true;
    }
    k
}

impl Scheduler {
    /// Explains the decision this scheduler is about to make for `task` on
    /// `st`, examining the machines the decision will examine. Changes
    /// nothing: its random stream and caches are only read.
    pub fn explain(&self, st: &CellState, task: TaskId) -> Explanation {
        let mut failed_on = Vec::new();
        st.failed_machines(task, &mut failed_on);
        let view = TaskView {
            failed_on: &failed_on,
            ..view_of(st, st.task(task).job, self.config.preemption)
        };
        let sampled = self.upcoming_sample(st, &view);
        self.pipeline.explain(st, &view, sampled)
    }

    /// How the pipeline sees `task` on `st` examining every machine,
    /// whatever the techniques: the view of a task with no attempt to
    /// explain.
    pub fn explain_every_machine(&self, st: &CellState, task: TaskId) -> Explanation {
        let mut failed_on = Vec::new();
        st.failed_machines(task, &mut failed_on);
        let view = TaskView {
            failed_on: &failed_on,
            ..view_of(st, st.task(task).job, self.config.preemption)
        };
        self.pipeline.explain(st, &view, None)
    }

    /// The sample the next decision for `view`'s task will examine, read
    /// as `Scheduler::decide` would make it: its class cache's offset
    /// and prefix; for a new cache the pass's offset, or a new one; for a
    /// task no cache serves, a new one. A new offset is drawn from a copy
    /// of the sampler (or of the stream it will be made from).
    fn upcoming_sample(&self, st: &CellState, view: &TaskView) -> Option<SampledScan> {
        if !self.config.techniques.relaxed_randomization {
            return None;
        }
        let n = st.cell().len();
        let made;
        let sampler = match &self.sampler {
            Some(s) => s,
            None => {
                let rng = self.rng.clone().expect("the scheduler's RNG");
                made = Sampler::new(rng, n);
                &made
            }
        };
        let mut key = super::ClassKeyBuilder::default();
        let cached = self.class_key(view, &mut key);
        let (start, already) = match self.caches.get(key.words()).filter(|_| cached) {
            Some(cache) => (cache.start(), cache.examined()),
            None => match self.pass_start {
                Some((pass, start)) if cached && pass == self.stats.passes => (start, 0),
                _ => (sampler.peek_start(), 0),
            },
        };
        Some(SampledScan {
            order: (0..n).map(|i| sampler.at(start, i)).collect(),
            start,
            already,
            enough: sample::enough_feasible(n),
            cached,
        })
    }

    /// A pass ([`Scheduler::pass`]) that tells `watch` about each task it
    /// comes to.
    pub fn pass_watched(
        &mut self,
        st: &mut CellState,
        now: SimTime,
        actions: &mut Vec<Action>,
        watch: &mut Watch,
    ) {
        self.pass_with(st, now, actions, watch);
    }
}

/// What a watched pass tells its watcher, task by task. Each method gets
/// the scheduler and the cell as they are at that point of the pass.
pub trait PassWatch {
    /// `task` was not attempted: an identical task of its job failed
    /// earlier in this pass, or no machine could ever host its job.
    fn skipped(&mut self, sched: &Scheduler, st: &CellState, now: SimTime, task: TaskId);
    /// The scheduler is about to decide for `task`.
    fn before(&mut self, sched: &Scheduler, st: &CellState, now: SimTime, task: TaskId);
    /// It decided: `actions.0[actions.1..]` is what it did (nothing: the
    /// task stays pending). The pass's actions come whole, with where this
    /// decision's begin, so a plain pass does not even slice them.
    fn after(
        &mut self,
        sched: &Scheduler,
        st: &CellState,
        now: SimTime,
        task: TaskId,
        actions: (&[Action], usize),
    );
}

/// The watcher of a plain pass: nothing to tell.
pub struct Unwatched;

impl PassWatch for Unwatched {
    #[inline(always)]
    fn skipped(&mut self, _: &Scheduler, _: &CellState, _: SimTime, _: TaskId) {}
    #[inline(always)]
    fn before(&mut self, _: &Scheduler, _: &CellState, _: SimTime, _: TaskId) {}
    #[inline(always)]
    fn after(
        &mut self,
        _: &Scheduler,
        _: &CellState,
        _: SimTime,
        _: TaskId,
        _: (&[Action], usize),
    ) {
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::profile::Policy;
    use crate::testkit::{as_job, cell, job, occupy};

    fn view(j: &crate::workload::Job, below: Option<Priority>) -> TaskView<'_> {
        TaskView {
            job: j,
            preempt_below: below,
            failed_on: &[],
            basis: Default::default(),
        }
    }

    #[test]
    fn every_filter_and_scorer_is_shown_with_the_arithmetic() {
        // Three machines: 4000/8000, 2000/4000 and 500/1000 (mcpu/MiB); a
        // task of 1000 mcpu, 2000 MiB under best fit.
        let st = cell(&[(4000, 8000, 0), (2000, 4000, 0), (500, 1000, 0)]);
        let j = as_job(job(1000, 2000, 100, 1));
        let e = Pipeline::new(Policy::BestFit).explain(&st, &view(&j, None), None);
        assert_eq!(
            e.filters,
            ["attribute_constraints", "spread_limits", "resource_fit"]
        );
        assert_eq!(e.scorers, [("best_fit", 1)]);
        use FilterVerdict::*;
        // No constraints, no spread limits: those two do not apply.
        assert_eq!(e.machines[0].filters, [NotApplicable, NotApplicable, Pass]);
        let short = Reject(Reason::InsufficientCpu);
        assert_eq!(e.machines[2].filters, [NotApplicable, NotApplicable, short]);
        // Best fit = 10000 − mean free after, in basis points:
        // machine 0: cpu 3000/4000 = 7500, mem 6000/8000 = 7500 → 2500;
        // machine 1: cpu 1000/2000 = 5000, mem 2000/4000 = 5000 → 5000.
        assert_eq!(
            (e.machines[0].scores.clone(), e.machines[0].total),
            (vec![2500], Some(2500))
        );
        assert_eq!(
            (e.machines[1].scores.clone(), e.machines[1].total),
            (vec![5000], Some(5000))
        );
        // Machine 2 is rejected, so never scored.
        assert_eq!((e.machines[2].scores.len(), e.machines[2].total), (0, None));
        assert_eq!(e.outcome, Outcome::Place(1));
        assert_eq!(e.tally(), (2, 0, 1));
        assert_eq!(e.counts.get(Reason::InsufficientCpu), 1);
        assert!(e.machines.iter().all(|m| m.examined) && e.examined == 3);
        assert!(
            e.preemption.is_none(),
            "a machine fits as is: preemption is not asked"
        );
    }

    #[test]
    fn the_failure_history_and_spreading_are_shown_with_their_reason_and_score() {
        // Two 4000/8000 machines (one rack). The job's first task runs on
        // machine 0; its second task failed on machine 1 (failed_on = [1]).
        // Profile: best fit, failure history on, spreading { machine = 1 }.
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        st.count_spread_for_all(true);
        let j = crate::testkit::submit(&mut st, job(1000, 2000, 100, 2));
        let first = st.job(j).tasks[0];
        st.place(st.now(), first, 0);
        let mut cfg = crate::sched::SchedConfig::new(Policy::BestFit, false);
        cfg.avoid_failed = Some(crate::time::SimDuration::from_secs(60));
        cfg.spreading = Some(crate::sched::plugins::spreading::LevelWeights {
            machine: 1,
            ..Default::default()
        });
        let p = Pipeline::with_profile(crate::sched::Profile::for_config(&cfg));
        let job = st.job(j).clone();
        let v = TaskView {
            failed_on: &[1],
            ..view(&job, None)
        };
        let e = p.explain(&st, &v, None);
        assert_eq!(
            e.filters,
            [
                "attribute_constraints",
                "spread_limits",
                "avoid_failed",
                "resource_fit"
            ]
        );
        // Spreading first, weighted above the most best fit can add
        // (1 × 10000): 10001.
        assert_eq!(e.scorers, [("spreading", 10_001), ("best_fit", 1)]);
        use FilterVerdict::*;
        let failed = Reject(Reason::TaskFailedHere);
        assert_eq!(
            e.machines[1].filters,
            [NotApplicable, NotApplicable, failed, NotReached]
        );
        assert_eq!(e.counts.get(Reason::TaskFailedHere), 1);
        // Machine 0 holds one of the job's tasks: spreading ⌊10000 / 2⌋ =
        // 5000; best fit after the placement: cpu 2000/4000, mem 4000/8000
        // free → 10000 − 5000 = 5000; total 10001 × 5000 + 5000.
        assert_eq!(e.machines[0].scores, [5000, 5000]);
        assert_eq!(e.machines[0].total, Some(10_001 * 5000 + 5000));
        assert_eq!(e.outcome, Outcome::Place(0));
    }

    #[test]
    fn preemption_shows_each_machines_victims_and_the_cheapest() {
        // Two 4000 mcpu machines, each with 3500 mcpu in use: machine 0 by
        // a batch task (priority 110), machine 1 by a best-effort one (0).
        let mut st = cell(&[(4000, 100_000, 0), (4000, 100_000, 0)]);
        let batch = occupy(&mut st, 0, 3500, 10, 110);
        let be = occupy(&mut st, 1, 3500, 10, 0);
        // A prod task of 1000 mcpu (threshold 120) fits neither as is
        // (500 free), both with evictions.
        let j = as_job(job(1000, 10, 200, 1));
        let e = Pipeline::new(Policy::BestFit).explain(&st, &view(&j, Some(120)), None);
        use FilterVerdict::*;
        assert_eq!(e.machines[0].filters[2], PassWithPreemption);
        let options = e.preemption.as_ref().expect("preemption asked");
        let plans: Vec<_> = options
            .iter()
            .map(|o| o.plan.as_ref().unwrap().cost)
            .collect();
        // Costs (highest victim priority, victims, priority sum): evicting
        // the batch task costs (110, 1, 110), the best-effort one (0, 1, 0).
        assert_eq!(plans, [(110, 1, 110), (0, 1, 0)]);
        assert_eq!(options[0].victims[0].task_id, batch);
        assert_eq!(options[1].victims[0].priority, 0);
        let Outcome::Preempt(plan) = &e.outcome else {
            panic!("{:?}", e.outcome)
        };
        assert_eq!((plan.machine, plan.victims.clone()), (1, vec![be]));
        // A batch task of priority 100 may evict only the best-effort one:
        // machine 0 has nothing below 100 to evict (rejected, cpu).
        let j = as_job(job(1000, 10, 100, 1));
        let e = Pipeline::new(Policy::BestFit).explain(&st, &view(&j, Some(100)), None);
        assert_eq!(e.machines[0].filters[2], Reject(Reason::InsufficientCpu));
        assert_eq!(e.preemption.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn the_explained_decision_is_the_pipelines_on_many_cells() {
        // Cells of 6 machines filled to different levels by tasks of three
        // priorities; tasks of every size and priority class, with and
        // without preemption: the explanation decides as the pipeline's
        // scan does — placing, preempting or leaving pending.
        let mut kinds = [0u32; 3];
        for fill in 0..12u64 {
            let mut st = cell(&[(8000, 16_000, 0); 6]);
            for m in 0..6u32 {
                let used = 4000 + (fill * 700 + u64::from(m) * 1300) % 4000;
                for (i, prio) in [0, 105, 200].into_iter().enumerate() {
                    occupy(&mut st, m, used / 3 + i as u64, 1000, prio);
                }
            }
            for (cpu, prio, preemption) in (1..16).flat_map(|k| {
                [(0, false), (110, true), (200, true), (200, false)]
                    .map(move |(p, pre)| (k * 500, p, pre))
            }) {
                let j = as_job(job(cpu, 2000, prio, 1));
                let below = preemption.then(|| preempt::threshold(prio));
                let p = Pipeline::new(Policy::Hybrid);
                let want = p.scan(
                    &st,
                    &view(&j, below),
                    0..6,
                    usize::MAX,
                    &mut SchedStats::default(),
                );
                let e = p.explain(&st, &view(&j, below), None);
                assert_eq!(e.outcome, want, "fill {fill}, cpu {cpu}, priority {prio}");
                kinds[match want {
                    Outcome::Place(_) => 0,
                    Outcome::Preempt(_) => 1,
                    Outcome::Unschedulable(_) => 2,
                }] += 1;
            }
        }
        assert!(
            kinds.iter().all(|&k| k > 20),
            "every kind of decision: {kinds:?}"
        );
    }

    #[test]
    fn a_sample_is_the_prefix_extended_until_enough_fit() {
        // Five machines, scan order 3, 1, 4, 0, 2. Machines 1, 2 and 4 fit.
        let fits = [false, true, true, false, true];
        let mut ms: Vec<MachineExplained> = (0..5u32)
            .map(|m| MachineExplained {
                machine: m,
                filters: Vec::new(),
                verdict: if fits[m as usize] {
                    Verdict::Free(1)
                } else {
                    Verdict::Reject(Reason::InsufficientCpu)
                },
                scores: Vec::new(),
                total: None,
                examined: false,
            })
            .collect();
        let mut sample = |already, enough| {
            let s = SampledScan {
                order: vec![3, 1, 4, 0, 2],
                start: 0,
                already,
                enough,
                cached: true,
            };
            ms.iter_mut().for_each(|m| m.examined = false);
            mark_examined(&mut ms, Some(&s))
        };
        // Enough = 2: 3 (no), 1 (yes), 4 (yes): three examined.
        assert_eq!(sample(0, 2), 3);
        // A cache had examined four: those four hold two that fit already.
        assert_eq!(sample(4, 2), 4);
        // Enough = 4 is more than fit: every machine.
        assert_eq!(sample(0, 4), 5);
    }
}
