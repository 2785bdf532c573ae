//! Relaxing large jobs: Borg's cell compaction (paper §5.1) made hard
//! constraints soft for jobs larger than half the cell, since a job of
//! thousands of tasks pinned to a rare attribute would otherwise decide
//! alone how small a cell can be. borgsim has no soft constraints, so here
//! "relaxed" means *dropped*: a job with more tasks than the threshold is
//! admitted without its constraints and without its spread limits (per
//! machine, rack and power domain), and it is counted.
//!
//! Off unless asked for ([`CellState::relax_jobs_above`]); the threshold is
//! a task count, fixed by the caller from the *full* cell's size, so that a
//! subset of the cell relaxes exactly the jobs the full cell does. A trace
//! job submitted in parts (`submit_part`) is judged part by part: a
//! streamed trace does not say how many tasks a job will have.

use super::CellState;
use crate::workload::JobSpec;

/// The rule and what it did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Relaxation {
    /// Jobs with more tasks than this are relaxed; `None`: none is.
    pub above_tasks: Option<u64>,
    /// Jobs relaxed so far: above the threshold, with a constraint or a
    /// spread limit to drop.
    pub jobs: u64,
    /// Their tasks.
    pub tasks: u64,
}

impl Relaxation {
    /// Drops `spec`'s constraints and spread limits if the rule relaxes it.
    pub(super) fn apply(&mut self, spec: &mut JobSpec) {
        let n = spec.task_count() as u64;
        let large = self.above_tasks.is_some_and(|t| n > t);
        if large && !(spec.constraints.is_empty() && spec.spread.is_empty()) {
            spec.constraints.clear();
            spec.spread.clear();
            self.jobs += 1;
            self.tasks += n;
        }
    }
}

impl CellState {
    /// From now on, admits jobs of more than `tasks` tasks without their
    /// constraints and spread limits (see the module doc).
    pub fn relax_jobs_above(&mut self, tasks: u64) {
        self.relax.above_tasks = Some(tasks);
    }

    /// The relaxation rule in force and the jobs it relaxed.
    pub fn relaxation(&self) -> Relaxation {
        self.relax
    }
}

#[cfg(test)]
mod tests {
    use crate::cell::state::CellState;
    use crate::testkit::{CellBuilder, SpecBuilder};
    use crate::time::SimTime;

    #[test]
    fn jobs_above_the_threshold_lose_constraints_and_spread_limits() {
        // Four machines, none with arch=arm: a job pinned to arm can never
        // run, unless it is relaxed.
        let mut cell = CellBuilder::new().machines(4, 4000, 4096, 0).cell();
        let pinned = SpecBuilder::new(1000, 1024)
            .requires(&mut cell.attr_table, "arch", "arm")
            .max_per_machine(1);
        let mut st = CellState::new(cell);
        st.relax_jobs_above(2);
        // 2 tasks: not above 2, kept as submitted (never schedulable).
        let small = st.submit_job(SimTime::ZERO, pinned.clone().tasks(2, None).build());
        assert!(!st.job(small).ever_schedulable);
        // 3 tasks: above 2, relaxed.
        let large = st.submit_job(SimTime::ZERO, pinned.tasks(3, None).build());
        assert!(st.job(large).ever_schedulable);
        // 5 tasks without constraint or limit: nothing to drop, not counted.
        st.submit_job(SimTime::ZERO, SpecBuilder::new(1, 1).tasks(5, None).build());
        let r = st.relaxation();
        assert_eq!((r.above_tasks, r.jobs, r.tasks), (Some(2), 1, 3));
    }
}
