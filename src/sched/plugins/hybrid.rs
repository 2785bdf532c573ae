//! Scorer: least stranded resources — the core of Borg's hybrid scorer.
//!
//! A resource is *stranded* on a machine when it is free but cannot be used
//! because another dimension of that machine is exhausted. We measure it from
//! the point of view of the task being placed: after the placement, how many
//! more tasks of the same shape would still fit, and what would be left over
//! once they did. The leftover can never be used by such tasks.
//!
//! For each dimension `d` of the machine (CPU, memory, GPU if it has GPUs),
//! with `free_d` the free amount after the placement, `req_d` the task's
//! request and `cap_d` the capacity (CPU and memory on the task's basis, as
//! the other scorers: `plugins/mod.rs`):
//!
//! ```text
//! k          = min over d with req_d > 0 of ⌊free_d / req_d⌋
//! leftover_d = free_d − k·req_d
//! stranded   = Σ_d ⌊leftover_d · MAX_SCORE / cap_d⌋      (basis points)
//! score      = MAX_SCORE − ⌊stranded / D⌋                 (D = dimensions)
//! ```
//!
//! A dimension the task does not ask for (say GPUs, for a CPU-only task on a
//! GPU machine) is wholly stranded: CPU-only work on GPU machines is what
//! leaves GPUs idle, so such machines score lower for it.
//!
//! The `hybrid` policy profile weights this scorer by `MAX_SCORE + 1` and adds
//! [`super::best_fit::BestFit`] with weight 1, so stranding decides and best
//! fit breaks ties — Borg's "reduce stranded resources, then pack". For a
//! workload of one shape every machine ends with the same stranding, and the
//! policy packs like best fit; with mixed shapes it pairs CPU-heavy and
//! memory-heavy tasks.
//!
//! Worked example: machines of 4000 mcpu / 8000 MiB. Machine 0 runs a
//! memory-heavy task (1000 mcpu / 6000 MiB); machine 1 is empty. Place a
//! CPU-heavy task of 2000 mcpu / 1000 MiB.
//! - Machine 0 after: free 1000 mcpu, 1000 MiB; k = min(⌊1000/2000⌋, ⌊1000/1000⌋)
//!   = 0; leftover (1000, 1000) → 2500 + 1250 = 3750 bp; score = 10000 − 1875 = 8125.
//! - Machine 1 after: free 2000 mcpu, 7000 MiB; k = min(1, 7) = 1; leftover
//!   (0, 6000) → 0 + 7500 = 7500 bp; score = 10000 − 3750 = 6250.
//!
//! Machine 0 wins: the CPU-heavy task uses up the CPU that the memory-heavy
//! one had left, where machine 1 would be left with 6000 MiB that no more such
//! tasks could use.

use crate::cell::state::usage::Basis;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView, MAX_SCORE};

pub struct LeastStranded;

/// One dimension: (free after placement, request, capacity).
type Dim = (u64, u64, u64);

/// Stranded basis points summed over dimensions (see the module doc).
pub(crate) fn stranded_bp(dims: &[Dim]) -> u64 {
    let k = dims
        .iter()
        .filter(|(_, req, _)| *req > 0)
        .map(|(free, req, _)| free / req)
        .min()
        .unwrap_or(0);
    dims.iter()
        .filter(|(_, _, cap)| *cap > 0)
        .map(|(free, req, cap)| (free - k * req) * MAX_SCORE / cap)
        .sum()
}

impl Plugin for LeastStranded {
    fn name(&self) -> &'static str {
        "least_stranded"
    }

    /// The request and the basis.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request);
        key.add(&task.basis);
        Signed::Shareable
    }
}

impl Score for LeastStranded {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let cap = st.cell().machines[m as usize].capacity;
        let ms = st.machine(m);
        let (free, basis_cap) = match task.basis {
            Basis::Limit => (ms.free, cap.res),
            Basis::Reservation => super::reserved_free(st, m),
        };
        let req = &task.job.spec.request;
        let mut dims: [Dim; 3] = [
            (
                free.cpu_milli.saturating_sub(req.res.cpu_milli),
                req.res.cpu_milli,
                basis_cap.cpu_milli,
            ),
            (
                free.mem_mib.saturating_sub(req.res.mem_mib),
                req.res.mem_mib,
                basis_cap.mem_mib,
            ),
            (0, 0, 0),
        ];
        let mut d = 2;
        if cap.gpus > 0 {
            let gpu_free: u64 = ms.gpu_free_total_milli();
            dims[2] = (
                gpu_free.saturating_sub(req.gpu.milli()),
                req.gpu.milli(),
                cap.gpu_milli(),
            );
            d = 3;
        }
        MAX_SCORE.saturating_sub(stranded_bp(&dims[..d]) / d as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{as_job, cell, job, occupy};

    #[test]
    fn worked_example_from_the_doc() {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        occupy(&mut st, 0, 1000, 6000, 0);
        let j = as_job(job(2000, 1000, 0, 1));
        let v = TaskView {
            job: &j,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        // Machine 0: leftover (1000, 1000): 2500 + 1250 = 3750; 10000 - 3750/2 = 8125.
        assert_eq!(LeastStranded.score(&st, &v, 0), 8125);
        // Machine 1: k = 1, leftover (0, 6000): 7500; 10000 - 3750 = 6250.
        assert_eq!(LeastStranded.score(&st, &v, 1), 6250);
    }

    #[test]
    fn one_shape_everywhere_strands_the_same() {
        // 16000 mcpu / 65536 MiB machines; tasks of 2000 / 4096. Machine 0 is
        // empty, machine 1 runs 7 such tasks.
        let mut st = cell(&[(16000, 65536, 0), (16000, 65536, 0)]);
        for _ in 0..7 {
            occupy(&mut st, 1, 2000, 4096, 0);
        }
        let j = as_job(job(2000, 4096, 0, 1));
        let v = TaskView {
            job: &j,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        // m0 after: (14000, 61440): k = min(7, 15) = 7, leftover (0, 32768) -> 5000 bp.
        // m1 after: (0, 32768): k = 0, leftover (0, 32768) -> 5000 bp. Equal scores
        // (10000 - 2500 = 7500): best fit, the tie-breaker, then packs.
        assert_eq!(LeastStranded.score(&st, &v, 0), 7500);
        assert_eq!(LeastStranded.score(&st, &v, 1), 7500);
    }

    #[test]
    fn idle_gpus_count_as_stranded_for_cpu_only_tasks() {
        // (free, req, cap): cpu (3000, 1000, 4000), mem (4000, 1000, 8000), gpu (2000, 0, 2000).
        // k = min(3, 4) = 3; leftover cpu 0, mem 1000 -> 1250 bp, gpu 2000 -> 10000 bp.
        assert_eq!(
            stranded_bp(&[(3000, 1000, 4000), (4000, 1000, 8000), (2000, 0, 2000)]),
            11250
        );
        assert_eq!(stranded_bp(&[(0, 0, 0)]), 0);
    }
}
