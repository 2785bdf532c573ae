//! Re-schedule mode: where a trace task's run failed, kept for its next run.
//!
//! In re-schedule mode an END ends the simulated run (a FAIL counts it
//! killed), and a later SUBMIT of the same trace task is a new borgsim task
//! in a new slot. Borg avoids putting a task that failed back on the
//! machine it failed on; the failure-history filter (`[scheduler]
//! avoid_failed_s`, `sched::plugins::avoid_failed`) does so for a task
//! the cell evicted as a crash, by slot. So when the trace says a task
//! FAILed, the machine its simulated run is on then is kept here under the
//! trace task's key, and handed to the cell's failure history
//! ([`CellState::record_failure`]) for the task its resubmission creates —
//! at the failure's time, so it is forgotten when it would have been.
//!
//! Only FAIL (the task failed by itself): an EVICT's cause is unknown. A
//! run that is not running in the simulation when the trace's FAIL comes
//! (still pending, or already over) failed on no machine. Nothing is kept
//! while the scenario remembers no failures. Bounded: at most
//! [`MAX_PER_TASK`] failures per key, a key forgotten once carried to its
//! resubmission, and keys whose every failure has expired dropped whenever
//! the map has doubled since it was last pruned.

use crate::cell::state::failures::MAX_PER_TASK;
use crate::cell::state::{CellState, TaskState};
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::trace::TaskKey;
use crate::workload::TaskId;
use rustc_hash::FxHashMap;

/// The failures of trace tasks' ended runs, by key, not yet carried to a
/// resubmission. Looked up, never iterated in an order that matters.
#[derive(Default)]
pub(super) struct TraceFailures {
    by_key: FxHashMap<TaskKey, Vec<(SimTime, MachineId)>>,
    /// Prune when the map reaches this size.
    prune_at: usize,
}

/// The smallest size at which the map is pruned.
const PRUNE_FROM: usize = 64;

impl TraceFailures {
    /// The trace says the run of `key` (borgsim's `task`) failed at `now`:
    /// kept if the task is running in the simulation and failures are
    /// remembered.
    pub fn failed(&mut self, key: TaskKey, task: TaskId, now: SimTime, st: &CellState) {
        let (Some(memory), &TaskState::Running { machine, .. }) =
            (st.failure_memory(), &st.task(task).state)
        else {
            return;
        };
        if self.by_key.len() >= self.prune_at.max(PRUNE_FROM) {
            self.by_key.retain(|_, h| {
                h.iter()
                    .any(|&(at, _)| now.as_us().saturating_sub(at.as_us()) < memory.as_us())
            });
            self.prune_at = 2 * self.by_key.len();
        }
        let h = self.by_key.entry(key).or_default();
        if h.len() == MAX_PER_TASK {
            h.remove(0);
        }
        h.push((now, machine));
    }

    /// The trace submitted `key` again as borgsim's `task`: its earlier
    /// runs' failures become the task's history.
    pub fn resubmitted(&mut self, key: TaskKey, task: TaskId, st: &mut CellState) {
        if self.by_key.is_empty() {
            return;
        }
        for (at, m) in self.by_key.remove(&key).unwrap_or_default() {
            st.record_failure(task, m, at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, job, submit};
    use crate::time::SimDuration;

    fn key(job: u64) -> TaskKey {
        TaskKey {
            job,
            stage: 0,
            index: 0,
        }
    }

    #[test]
    fn a_failure_is_carried_to_the_resubmission_once() {
        let mut st = cell(&[(1000, 1000, 0); 3]);
        st.remember_failures(Some(SimDuration::from_secs(100)));
        let j = submit(&mut st, job(10, 10, 100, 3));
        let (a, b, c) = (st.job(j).tasks[0], st.job(j).tasks[1], st.job(j).tasks[2]);
        st.place(SimTime::from_secs(1), a, 2);
        let mut f = TraceFailures::default();
        // A pending run failed on no machine: nothing kept.
        f.failed(key(7), b, SimTime::from_secs(5), &st);
        assert!(f.by_key.is_empty());
        f.failed(key(7), a, SimTime::from_secs(5), &st);
        st.advance(SimTime::from_secs(6));
        f.resubmitted(key(7), b, &mut st);
        let mut out = Vec::new();
        st.failed_machines(b, &mut out);
        assert_eq!(out, [2]);
        // Carried once: a further run of the key starts clean.
        f.resubmitted(key(7), c, &mut st);
        st.failed_machines(c, &mut out);
        assert!(out.is_empty());
        // Remembered from the failure's time: forgotten at 5 + 100 s.
        st.advance(SimTime::from_secs(105));
        st.failed_machines(b, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn nothing_is_kept_without_a_memory_and_expired_keys_are_pruned() {
        let mut st = cell(&[(1000, 1000, 0)]);
        let j = submit(&mut st, job(10, 10, 100, 1));
        let a = st.job(j).tasks[0];
        st.place(SimTime::from_secs(1), a, 0);
        let mut f = TraceFailures::default();
        f.failed(key(1), a, SimTime::from_secs(2), &st);
        assert!(f.by_key.is_empty(), "failures are not remembered");
        let mut st = cell(&[(1000, 1000, 0)]);
        st.remember_failures(Some(SimDuration::from_secs(100)));
        let j = submit(&mut st, job(10, 10, 100, 1));
        let a = st.job(j).tasks[0];
        st.place(SimTime::from_secs(1), a, 0);
        // 64 keys fail at 2 s (never resubmitted); at 102 s all have
        // expired (2 + 100), so the 65th failure prunes them first.
        for k in 0..PRUNE_FROM as u64 {
            f.failed(key(k), a, SimTime::from_secs(2), &st);
        }
        assert_eq!(f.by_key.len(), PRUNE_FROM);
        f.failed(key(1000), a, SimTime::from_secs(102), &st);
        assert_eq!(f.by_key.len(), 1);
    }
}
