//! Scorer: worst fit — spread load, prefer the machine left with the most free
//! resources (Borg's original E-PVM-like scorer).
//!
//! `score = mean over dimensions of free_after / capacity`, in basis points
//! (see `free_after_bp` in `plugins/mod.rs`).

use super::free_after_bp;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView};

pub struct WorstFit;

impl Plugin for WorstFit {
    fn name(&self) -> &'static str {
        "worst_fit"
    }

    /// The request and the basis.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request);
        key.add(&task.basis);
        Signed::Shareable
    }
}

impl Score for WorstFit {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        free_after_bp(st, task, m).mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{as_job, cell, job, occupy};

    #[test]
    fn prefers_the_emptiest_machine() {
        // Two 4000 mcpu / 8000 MiB machines; machine 1 already runs 2000 / 2000.
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        occupy(&mut st, 1, 2000, 2000, 0);
        let j = as_job(job(1000, 2000, 0, 1));
        let v = TaskView {
            job: &j,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        // Machine 0 after: cpu 3000/4000 = 7500 bp, mem 6000/8000 = 7500 bp -> 7500.
        assert_eq!(WorstFit.score(&st, &v, 0), 7500);
        // Machine 1 after: cpu 1000/4000 = 2500, mem 4000/8000 = 5000 -> 3750.
        assert_eq!(WorstFit.score(&st, &v, 1), 3750);
    }
}
