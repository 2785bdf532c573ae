//! Scorer: least stranded resources — the core of Borg's hybrid scorer.
//!
//! A resource is *stranded* on a machine when it is free but cannot be used
//! because another dimension of that machine is exhausted. Take the free
//! fraction of each dimension after the placement, `f_d` (basis points of the
//! machine's capacity). Filling the machine with tasks shaped like the machine
//! itself (the same fraction of every dimension) uses `min_d f_d` of each
//! dimension; what remains can never be used by such tasks:
//!
//! ```text
//! stranded = Σ_d (f_d − min_d f_d)          (0 ..= (D−1)·MAX_SCORE)
//! score    = max(0, MAX_SCORE − stranded)
//! ```
//!
//! so a balanced machine scores `MAX_SCORE`. The `hybrid` policy profile
//! weights this scorer by `MAX_SCORE + 1` and adds [`super::best_fit::BestFit`]
//! with weight 1, so stranding decides and best fit only breaks ties — Borg's
//! "reduce stranded resources, then pack".
//!
//! Worked example: a 4000 mcpu / 8000 MiB machine running 2000 mcpu / 2000
//! MiB; a task of 1000 mcpu / 2000 MiB. After placement free is 1000 mcpu
//! (2500 bp) and 4000 MiB (5000 bp): min = 2500, stranded = (2500−2500) +
//! (5000−2500) = 2500, score = 10000 − 2500 = 7500. On an empty twin machine
//! the same task leaves 7500 / 7500 bp: stranded 0, score 10000 — preferred,
//! since placing there strands nothing.

use super::free_after_bp;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::plugin::{Score, TaskView, MAX_SCORE};

pub struct LeastStranded;

/// Σ_d (f_d − min f) over the free fractions.
pub(crate) fn stranded_bp(dims: &[u64]) -> u64 {
    let min = dims.iter().copied().min().unwrap_or(0);
    dims.iter().map(|f| f - min).sum()
}

impl Score for LeastStranded {
    fn name(&self) -> &'static str {
        "least_stranded"
    }

    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        MAX_SCORE.saturating_sub(stranded_bp(free_after_bp(st, task, m).dims()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{as_job, cell, job, occupy};

    #[test]
    fn worked_example_from_the_doc() {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        occupy(&mut st, 0, 2000, 2000, 0);
        let j = as_job(job(1000, 2000, 0, 1));
        let v = TaskView { job: &j, preempt_below: None };
        // Machine 0: f = (2500, 5000), stranded 2500 -> 7500.
        assert_eq!(LeastStranded.score(&st, &v, 0), 7500);
        // Machine 1 (empty): f = (7500, 7500), stranded 0 -> 10000.
        assert_eq!(LeastStranded.score(&st, &v, 1), 10000);
    }

    #[test]
    fn a_task_that_rebalances_a_machine_scores_higher() {
        // Machine 0 is memory-heavy used: 1000 mcpu / 6000 MiB of 4000 / 8000.
        // Machine 1 is cpu-heavy used: 3000 mcpu / 1000 MiB.
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        occupy(&mut st, 0, 1000, 6000, 0);
        occupy(&mut st, 1, 3000, 1000, 0);
        // A cpu-heavy task 2000 mcpu / 500 MiB.
        let j = as_job(job(2000, 500, 0, 1));
        let v = TaskView { job: &j, preempt_below: None };
        // m0: free (1000/4000 = 2500, 1500/8000 = 1875): stranded 625 -> 9375.
        assert_eq!(LeastStranded.score(&st, &v, 0), 9375);
        // m1 does not even fit (1000 mcpu free): saturating free 0 -> f = (0, 8125):
        // stranded 8125 -> 1875. (The fit filter rejects it anyway.)
        assert_eq!(LeastStranded.score(&st, &v, 1), 1875);
        assert_eq!(stranded_bp(&[3000, 3000, 3000]), 0);
        assert_eq!(stranded_bp(&[1000, 4000, 2500]), 3000 + 1500);
    }
}
