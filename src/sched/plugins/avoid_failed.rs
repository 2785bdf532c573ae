//! Filter: a task avoids the machines it failed on recently.
//!
//! Borg's scheduler avoids "task::machine pairings that cause task or
//! machine crashes" (Verma et al., EuroSys 2015, §3.2). A task (a job and a
//! task index: a restarted task is the same task) evicted with cause
//! `machine_failure`, `task_crash` or `out_of_memory` (reclamation) (or,
//! replaying a trace in re-schedule mode, whose earlier run the trace says
//! FAILed there) does not go back to that machine for
//! `[scheduler] avoid_failed_s` seconds (absent under reclamation `on`:
//! 600 s for out-of-memory kills only, `scenario::build::OOM_AVOID_S`
//! and `FailureScope::OutOfMemory`, so that a task killed for memory is
//! not placed again where its usage did not fit; it also backs off,
//! `cell::state::usage::backoff`); the cell keeps the history
//! (`cell::state::failures`) and the scheduler hands each attempt the
//! machines to avoid ([`TaskView::failed_on`]). Evicting other tasks cannot
//! lift the verdict, so it is not resolvable by preemption.
//!
//! Its verdict reads the task's own history, which no other task shares:
//! it declares it. A task without recent failures writes nothing and
//! shares its class with every such task, as without this filter (whose
//! verdict is then "admit all"); a task with failures writes the machines
//! to avoid, so its class is the tasks avoiding exactly those machines, and
//! a cached verdict is one this filter would give again (it depends on
//! nothing but that list and the machine's id).

use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Filter, Fit, Plugin, TaskView};
use crate::sched::reason::Reason;

pub struct AvoidFailed;

impl Plugin for AvoidFailed {
    fn name(&self) -> &'static str {
        "avoid_failed"
    }

    /// The machines to avoid (their count, then each id), or nothing when
    /// there are none.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        if !task.failed_on.is_empty() {
            key.word(task.failed_on.len() as u64);
            for &m in task.failed_on {
                key.word(u64::from(m));
            }
        }
        Signed::Shareable
    }
}

impl Filter for AvoidFailed {
    fn applies(&self, task: &TaskView) -> bool {
        !task.failed_on.is_empty()
    }

    fn filter(&self, _st: &CellState, task: &TaskView, m: MachineId) -> Result<Fit, Reason> {
        if task.failed_on.binary_search(&m).is_ok() {
            Err(Reason::TaskFailedHere)
        } else {
            Ok(Fit::Free)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::state::EvictionCause;
    use crate::testkit::{cell, job, submit};
    use crate::time::{SimDuration, SimTime};

    #[test]
    fn rejects_the_machine_within_the_memory_and_accepts_it_after() {
        // Memory 60 s. The task fails on machine 1 at t = 10 s: machine 1 is
        // refused until 10 + 60 = 70 s, and admitted from then on; machine 0
        // is admitted throughout.
        let mut st = cell(&[(1000, 1000, 0); 2]);
        st.remember_failures(Some(SimDuration::from_secs(60)));
        let j = submit(&mut st, job(10, 10, 100, 1));
        let t = st.job(j).tasks[0];
        st.place(SimTime::from_secs(5), t, 1);
        st.evict(SimTime::from_secs(10), t, EvictionCause::MachineFailure);
        let job = st.job(j).clone();
        let mut failed = Vec::new();
        for (at_s, refused) in [(10, true), (69, true), (70, false)] {
            st.advance(SimTime::from_secs(at_s));
            st.failed_machines(t, &mut failed);
            let view = TaskView {
                failed_on: &failed,
                ..TaskView::of_job(&job, None)
            };
            assert_eq!(AvoidFailed.applies(&view), refused, "at {at_s} s");
            let want = if refused {
                Err(Reason::TaskFailedHere)
            } else {
                Ok(Fit::Free)
            };
            assert_eq!(AvoidFailed.filter(&st, &view, 1), want, "at {at_s} s");
            assert_eq!(AvoidFailed.filter(&st, &view, 0), Ok(Fit::Free));
        }
    }

    #[test]
    fn the_key_holds_the_machines_avoided() {
        let job = crate::testkit::as_job(job(10, 10, 100, 1));
        let sign = |failed: &[MachineId]| {
            let mut key = ClassKeyBuilder::default();
            let view = TaskView {
                failed_on: failed,
                ..TaskView::of_job(&job, None)
            };
            assert_eq!(AvoidFailed.sign(&view, &mut key), Signed::Shareable);
            key.words().to_vec()
        };
        // No history: nothing written (the class of every such task).
        assert!(sign(&[]).is_empty());
        // Machines 3 and 7: [count, ids…].
        assert_eq!(sign(&[3, 7]), [2, 3, 7]);
    }
}
