//! Scorer: best fit — pack, prefer the machine left with the least free
//! resources.
//!
//! `score = MAX_SCORE − mean over dimensions of free_after / capacity`, in
//! basis points (see `free_after_bp` in `plugins/mod.rs`). Packing tightly leaves whole
//! machines free for large tasks, but punishes tasks that under-request.

use super::free_after_bp;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView, MAX_SCORE};

pub struct BestFit;

impl Plugin for BestFit {
    fn name(&self) -> &'static str {
        "best_fit"
    }

    /// The request and the basis.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request);
        key.add(&task.basis);
        Signed::Shareable
    }
}

impl Score for BestFit {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        MAX_SCORE - free_after_bp(st, task, m).mean()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{as_job, cell, job, occupy};

    #[test]
    fn prefers_the_fullest_machine() {
        // Same cell as worst fit's test: machine 1 runs 2000 mcpu / 2000 MiB.
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        occupy(&mut st, 1, 2000, 2000, 0);
        let j = as_job(job(1000, 2000, 0, 1));
        let v = TaskView {
            job: &j,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        // Machine 0: 10000 - mean(7500, 7500) = 2500.
        assert_eq!(BestFit.score(&st, &v, 0), 2500);
        // Machine 1: 10000 - mean(2500, 5000) = 6250.
        assert_eq!(BestFit.score(&st, &v, 1), 6250);
    }

    #[test]
    fn gpu_machines_score_three_dimensions() {
        // 8000 mcpu / 8000 MiB / 2 GPUs; a task of 2000 / 2000 / 1 GPU.
        let st = cell(&[(8000, 8000, 2)]);
        let mut spec = job(2000, 2000, 0, 1);
        spec.request.gpu = crate::cell::resources::GpuRequest::Whole(1);
        let j = as_job(spec);
        let v = TaskView {
            job: &j,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        // Free after: cpu 7500, mem 7500, gpu 1000/2000 = 5000 -> mean 6666
        // (20000/3 rounded down); score = 10000 - 6666 = 3334.
        assert_eq!(BestFit.score(&st, &v, 0), 3334);
    }
}
