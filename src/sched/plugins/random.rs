//! Scorer of the `random` policy: the paper's Random (Weng et al., ATC
//! 2023) — a uniformly random machine among those that fit.
//!
//! Each (task, machine) pair gets an independent uniform score in
//! `0..=MAX_SCORE`, a keyed draw of the run's `random_policy` stream
//! ([`Stream::RandomPolicy`]) on (job serial, machine): the highest wins,
//! so the chosen machine is uniform among the feasible ones whatever their
//! number (equal draws fall to the tie order). The draw is per job: the
//! tasks of one job (the paper's pods are one-task jobs) see the same
//! scores, so a multi-task job fills its machine first. A task's scores
//! depend on its job, not only its request, so it opts out of the class
//! caches. Inside the machine a share goes to a uniformly random device
//! that fits (`sched::devices`).

use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::rng::{RngStreams, Stream};
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView, MAX_SCORE};

pub struct Random {
    pub streams: RngStreams,
}

impl Plugin for Random {
    fn name(&self) -> &'static str {
        "random"
    }

    /// Unsignable: each job draws its own scores.
    fn sign(&self, _: &TaskView, _: &mut ClassKeyBuilder) -> Signed {
        Signed::Unsignable
    }
}

impl Score for Random {
    fn score(&self, _: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let draw = self
            .streams
            .keyed(Stream::RandomPolicy, &[task.job.serial, u64::from(m)]);
        draw % (MAX_SCORE + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{as_job, cell, job};

    #[test]
    fn draws_are_fixed_by_seed_job_and_machine_and_spread() {
        let st = cell(&[(1000, 1000, 0); 4]);
        let j = as_job(job(100, 100, 0, 1));
        let v = TaskView::of_job(&j, None);
        let r = Random {
            streams: RngStreams::new(42),
        };
        let a: Vec<u64> = (0..4).map(|m| r.score(&st, &v, m)).collect();
        let b: Vec<u64> = (0..4).map(|m| r.score(&st, &v, m)).collect();
        assert_eq!(a, b);
        // Another seed draws otherwise (four equal draws in 10001⁴ cases).
        let other = Random {
            streams: RngStreams::new(43),
        };
        let c: Vec<u64> = (0..4).map(|m| other.score(&st, &v, m)).collect();
        assert_ne!(a, c);
        assert!(a.iter().all(|&s| s <= MAX_SCORE));
    }
}
