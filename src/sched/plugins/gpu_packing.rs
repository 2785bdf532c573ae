//! Scorer of the `gpu_packing` policy: the paper's GpuPacking (Weng et al.,
//! ATC 2023) — shares onto partly used devices, then whole GPUs onto
//! partly used machines, and only then onto idle machines, smallest first.
//! (borgsim's own earlier GPU policy is `gpu_keep_whole`,
//! [`super::gpu_keep_whole`].)
//!
//! CPU-only tasks score 0 everywhere (the tie order decides). For a GPU
//! task on a machine with G devices:
//! - every device idle: `max(33 − G, G)` (32 for 1 GPU, 31 for 2, 29 for 4,
//!   25 for 8: among idle machines the smaller wins);
//! - otherwise walk the devices by ascending free milli (ties by index),
//!   taking each with room for the task's per-GPU milli until enough are
//!   taken; k = idle devices taken:
//!   - k > 0: `max(50 − k, 33)`;
//!   - k = 0: s = Σ ⌊free · 100 / 1000⌋ over the taken devices,
//!     `max(100 − ⌊s / 10⌋, 50)` (91..=100, the tighter device wins).

use crate::cell::resources::{GpuRequest, GPU_MILLI_PER_DEVICE};
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView};
use crate::sched::typical::milli_and_count;

pub struct GpuPacking;

/// The score of a GPU request on devices with `free` milli each.
pub fn gpu_packing(req: GpuRequest, free: &[u32]) -> u64 {
    if req == GpuRequest::None {
        return 0;
    }
    let g = free.len() as u64;
    if free.iter().all(|&f| f == GPU_MILLI_PER_DEVICE) {
        return (33u64.saturating_sub(g)).max(g);
    }
    let (milli, num) = milli_and_count(req);
    let mut order: Vec<usize> = (0..free.len()).collect();
    order.sort_by_key(|&d| (free[d], d));
    let taken = order
        .into_iter()
        .filter(|&d| free[d] >= milli)
        .take(num as usize);
    let (mut k, mut s) = (0u64, 0u64);
    for d in taken {
        k += u64::from(free[d] == GPU_MILLI_PER_DEVICE);
        s += u64::from(free[d]) * 100 / u64::from(GPU_MILLI_PER_DEVICE);
    }
    if k > 0 {
        50u64.saturating_sub(k).max(33)
    } else {
        100u64.saturating_sub(s / 10).max(50)
    }
}

impl Plugin for GpuPacking {
    fn name(&self) -> &'static str {
        "gpu_packing"
    }

    /// The GPU request only.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request.gpu);
        Signed::Shareable
    }
}

impl Score for GpuPacking {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        gpu_packing(task.job.spec.request.gpu, &st.machine(m).gpu_free_milli)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_machines_smallest_first() {
        // max(33 − G, G): 32, 31, 29, 25.
        let s = |g: usize| gpu_packing(GpuRequest::Share(500), &vec![1000; g]);
        assert_eq!([s(1), s(2), s(4), s(8)], [32, 31, 29, 25]);
        // CPU-only tasks: 0.
        assert_eq!(gpu_packing(GpuRequest::None, &[300, 1000]), 0);
    }

    #[test]
    fn partly_used_devices_first_the_tighter_the_better() {
        // Free [1000, 600, 250], share 200: walk 250 (fits, not idle):
        // k = 0, s = ⌊250 · 100 / 1000⌋ = 25, 100 − ⌊25 / 10⌋ = 98.
        assert_eq!(gpu_packing(GpuRequest::Share(200), &[1000, 600, 250]), 98);
        // Share 500: 600 taken, s = 60, 100 − 6 = 94.
        assert_eq!(gpu_packing(GpuRequest::Share(500), &[1000, 600, 250]), 94);
        // Share 700: only the idle device fits, k = 1: max(49, 33) = 49.
        assert_eq!(gpu_packing(GpuRequest::Share(700), &[1000, 600, 250]), 49);
        // Two whole GPUs on [1000, 1000, 0]: k = 2, 48.
        assert_eq!(gpu_packing(GpuRequest::Whole(2), &[1000, 1000, 0]), 48);
    }
}
