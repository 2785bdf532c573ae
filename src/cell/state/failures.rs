//! Where each task failed: the history the scheduler's failure-history
//! filter (`sched::plugins::avoid_failed`) reads.
//!
//! Borg avoids placing a task again on a machine where it failed before
//! (the paper: "avoiding task::machine pairings that cause task or machine
//! crashes"). A task is a slot of its job (job and task index): evicted and
//! pending again, it keeps its id, so a restarted task finds its own
//! history. An eviction with cause `machine_failure`, `task_crash` or
//! `out_of_memory` (a task killed where its usage did not fit: placed there
//! again, it would be again) is recorded, with its machine and time, only
//! while the scheduler remembers
//! failures (`[scheduler] avoid_failed_s`); otherwise nothing is kept and
//! evictions pay one branch.
//!
//! Memory is bounded: at most [`MAX_PER_TASK`] failures per task (the most
//! recent), failures older than the memory dropped whenever the task fails
//! again, and a task's history forgotten when its slot is freed
//! (`reclaim.rs`), so a reused task id never inherits another task's
//! history. Looked up by task, never iterated.

use super::CellState;
use crate::cell::MachineId;
use crate::time::{SimDuration, SimTime};
use crate::workload::TaskId;
use rustc_hash::FxHashMap;

/// Which failures the history keeps.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum FailureScope {
    /// Every failure: evictions with cause `machine_failure`, `task_crash`
    /// or `out_of_memory`, and a replayed trace's FAILs carried over
    /// (`[scheduler] avoid_failed_s` set).
    #[default]
    All,
    /// Out-of-memory kills only: the default under reclamation `on` when
    /// the scenario does not set `avoid_failed_s`, so that a run's crashes
    /// and machine failures are treated as without reclamation.
    OutOfMemory,
}

impl FailureScope {
    /// True if an eviction with `cause` is a failure this scope keeps.
    pub fn keeps(self, cause: super::EvictionCause) -> bool {
        use super::EvictionCause as C;
        match self {
            FailureScope::All => {
                matches!(cause, C::MachineFailure | C::TaskCrash | C::OutOfMemory)
            }
            FailureScope::OutOfMemory => cause == C::OutOfMemory,
        }
    }
}

/// The most failures kept per task.
pub const MAX_PER_TASK: usize = 8;

/// Failures per task while failures are remembered.
#[derive(Clone, Debug, Default)]
pub(super) struct FailureHistory {
    /// How long a failure is remembered; `None`: not recorded at all.
    memory: Option<SimDuration>,
    /// Which failures are recorded.
    pub(super) scope: FailureScope,
    /// Per task with failures: (when, machine), oldest first.
    by_task: FxHashMap<TaskId, Vec<(SimTime, MachineId)>>,
}

impl FailureHistory {
    /// Records that `task` failed on `machine` at `now`, if remembering.
    pub fn record(&mut self, task: TaskId, machine: MachineId, now: SimTime) {
        let Some(memory) = self.memory else {
            return;
        };
        let h = self.by_task.entry(task).or_default();
        h.retain(|&(at, _)| !expired(at, now, memory));
        if h.len() == MAX_PER_TASK {
            h.remove(0);
        }
        h.push((now, machine));
    }

    /// Forgets a task whose slot is freed.
    pub fn forget(&mut self, task: TaskId) {
        if self.memory.is_some() {
            self.by_task.remove(&task);
        }
    }
}

/// A failure at `at` is forgotten once `memory` has passed: at `now ≥ at +
/// memory`.
fn expired(at: SimTime, now: SimTime, memory: SimDuration) -> bool {
    now.as_us().saturating_sub(at.as_us()) >= memory.as_us()
}

impl CellState {
    /// Remembers where tasks fail (evictions with cause `machine_failure`
    /// or `task_crash`) for `memory`; `None` (the default) records nothing.
    /// Set before the first eviction.
    pub fn remember_failures(&mut self, memory: Option<SimDuration>) {
        self.remember_failures_of(memory, FailureScope::All);
    }

    /// [`Self::remember_failures`], keeping only the failures of `scope`.
    pub fn remember_failures_of(&mut self, memory: Option<SimDuration>, scope: FailureScope) {
        assert!(
            self.failures.by_task.is_empty(),
            "failures are remembered from the start of a run"
        );
        self.failures.memory = memory.filter(|m| m.as_us() > 0);
        self.failures.scope = scope;
    }

    /// Counts every job's running tasks per failure domain, not only those
    /// of jobs with spread limits (the spreading score reads them). Changed
    /// only before the first submission (leaving it as it is is a no-op).
    pub fn count_spread_for_all(&mut self, on: bool) {
        if self.spread_all == on {
            return;
        }
        assert!(
            self.jobs.is_empty(),
            "spread counting is chosen before the first job"
        );
        self.spread_all = on;
    }

    /// How long failures are remembered (`[scheduler] avoid_failed_s`);
    /// `None` while nothing is recorded.
    pub fn failure_memory(&self) -> Option<SimDuration> {
        self.failures.memory
    }

    /// Records that `task` failed on machine `m` at `at` (no later than
    /// now), as an eviction with cause `machine_failure` or `task_crash`
    /// records it: for a failure the cell did not see as an eviction (a
    /// replayed trace's FAIL of an earlier run of the same trace task,
    /// carried to its resubmission). Nothing is recorded while failures
    /// are not remembered, or only out-of-memory kills are.
    pub fn record_failure(&mut self, task: TaskId, m: MachineId, at: SimTime) {
        assert!(
            at <= self.now,
            "a failure at {at} recorded before it, at {}",
            self.now
        );
        if self.failures.scope == FailureScope::All {
            self.failures.record(task, m, at);
        }
    }

    /// Writes into `out` (cleared first) the machines `task` failed on
    /// within the memory, as of now: ascending, each once. Empty while
    /// failures are not remembered.
    pub fn failed_machines(&self, task: TaskId, out: &mut Vec<MachineId>) {
        out.clear();
        let Some(memory) = self.failures.memory else {
            return;
        };
        let Some(h) = self.failures.by_task.get(&task) else {
            return;
        };
        out.extend(
            h.iter()
                .filter(|&&(at, _)| !expired(at, self.now, memory))
                .map(|&(_, m)| m),
        );
        out.sort_unstable();
        out.dedup();
    }
}

#[cfg(test)]
mod tests {
    use crate::cell::state::EvictionCause;
    use crate::testkit::{cell, job, submit};
    use crate::time::{SimDuration, SimTime};

    #[test]
    fn failures_are_remembered_for_the_memory_then_forgotten() {
        let mut st = cell(&[(1000, 1000, 0); 3]);
        st.remember_failures(Some(SimDuration::from_secs(100)));
        let j = submit(&mut st, job(10, 10, 100, 1));
        let t = st.job(j).tasks[0];
        let mut out = Vec::new();
        st.place(SimTime::from_secs(1), t, 2);
        st.evict(SimTime::from_secs(10), t, EvictionCause::MachineFailure);
        st.place(SimTime::from_secs(11), t, 1);
        // A preemption is not the task's failure: not recorded.
        st.evict(SimTime::from_secs(20), t, EvictionCause::Preemption);
        st.failed_machines(t, &mut out);
        assert_eq!(out, [2]);
        st.place(SimTime::from_secs(30), t, 0);
        st.evict(SimTime::from_secs(40), t, EvictionCause::TaskCrash);
        st.failed_machines(t, &mut out);
        assert_eq!(out, [0, 2]);
        // At 10 + 100 = 110 s the first failure is forgotten; the crash at
        // 40 s is remembered until 140 s.
        st.advance(SimTime::from_secs(110));
        st.failed_machines(t, &mut out);
        assert_eq!(out, [0]);
        st.advance(SimTime::from_secs(140));
        st.failed_machines(t, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn the_out_of_memory_scope_keeps_only_out_of_memory_kills() {
        use super::FailureScope;
        let mut st = cell(&[(1000, 1000, 0); 3]);
        st.remember_failures_of(Some(SimDuration::from_secs(100)), FailureScope::OutOfMemory);
        let j = submit(&mut st, job(10, 10, 100, 1));
        let t = st.job(j).tasks[0];
        let mut out = Vec::new();
        // A crash on machine 0 and a machine failure on 1: not kept.
        st.place(SimTime::from_secs(1), t, 0);
        st.evict(SimTime::from_secs(2), t, EvictionCause::TaskCrash);
        st.place(SimTime::from_secs(3), t, 1);
        st.evict(SimTime::from_secs(4), t, EvictionCause::MachineFailure);
        st.record_failure(t, 1, SimTime::from_secs(4));
        st.failed_machines(t, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // A kill for memory on machine 2: kept.
        st.place(SimTime::from_secs(5), t, 2);
        st.evict(SimTime::from_secs(6), t, EvictionCause::OutOfMemory);
        st.failed_machines(t, &mut out);
        assert_eq!(out, [2]);
        assert!(FailureScope::All.keeps(EvictionCause::TaskCrash));
        assert!(!FailureScope::All.keeps(EvictionCause::Preemption));
    }

    #[test]
    fn nothing_is_recorded_without_a_memory() {
        let mut st = cell(&[(1000, 1000, 0); 1]);
        let j = submit(&mut st, job(10, 10, 100, 1));
        let t = st.job(j).tasks[0];
        st.place(SimTime::from_secs(1), t, 0);
        st.evict(SimTime::from_secs(2), t, EvictionCause::MachineFailure);
        let mut out = vec![7];
        st.failed_machines(t, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn a_freed_slot_forgets_its_history() {
        // A one-task job fails on machine 0, then runs to its end; its
        // slot is freed and the next job's task takes the same id with no
        // history.
        let mut st = cell(&[(1000, 1000, 0); 2]);
        st.remember_failures(Some(SimDuration::from_secs(1000)));
        let j = submit(&mut st, job(10, 10, 100, 1));
        let t = st.job(j).tasks[0];
        st.place(SimTime::from_secs(1), t, 0);
        st.evict(SimTime::from_secs(2), t, EvictionCause::TaskCrash);
        st.place(SimTime::from_secs(3), t, 1);
        let inc = st.task(t).incarnation;
        assert!(st.finish(SimTime::from_secs(4), t, inc));
        st.reclaim();
        let k = submit(&mut st, job(10, 10, 100, 1));
        let u = st.job(k).tasks[0];
        assert_eq!(u, t, "the slot is reused");
        let mut out = Vec::new();
        st.failed_machines(u, &mut out);
        assert!(out.is_empty());
    }
}
