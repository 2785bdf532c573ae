//! Scorers of the `gpu_keep_whole` policy: keep GPUs whole, pack GPU shares.
//!
//! GPU-sharing clusters lose capacity to fragmentation: a device left with
//! 300 free milli-GPU cannot take a whole-GPU task, and a node whose idle
//! GPUs keep being nibbled by CPU-only pods soon has none left whole. This is
//! borgsim's own GPU policy, after the idea of the "GPU packing" baseline of
//! Weng et al. (ATC 2023) but not its scores (the paper's policy is
//! `gpu_packing`, [`super::gpu_packing`]). In lexicographic order (see the
//! weights in `profile.rs`):
//!
//! 1. [`GpuFragmentation`] — the least growth of *fragmented* GPU capacity,
//!    the free milli of devices that are neither idle nor full. A share on a
//!    partly used device shrinks it (Δ = −share); on an idle device it grows
//!    it (Δ = 1000 − share); whole devices and CPU-only tasks leave it as
//!    is. `score = (1000 − Δ) × 5`, so Δ ∈ [−1000, 1000] maps onto 0..=10000.
//! 2. [`GpuIdleKept`] — the fewest idle devices left on the machine: whole-GPU
//!    tasks go where GPUs are already in use, and CPU-only tasks to machines
//!    without idle GPUs. `score = 10000 − idle_after × 10000 / 64`.
//! 3. Best fit breaks the remaining ties.
//!
//! The device a share would take is the one [`GpuRequest::choose_devices`]
//! picks (the fullest that fits), so the score describes the placement made.

use crate::cell::resources::{GpuRequest, GPU_MILLI_PER_DEVICE, MAX_GPUS_PER_MACHINE};
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView, MAX_SCORE};

pub struct GpuFragmentation;
pub struct GpuIdleKept;

const FULL: u32 = GPU_MILLI_PER_DEVICE;

/// Change of fragmented milli-GPU if `req` is placed on devices `free`.
fn fragmentation_delta(req: GpuRequest, free: &[u32]) -> i64 {
    match req {
        GpuRequest::Share(s) => {
            let best = free.iter().copied().filter(|&f| f >= s).min();
            match best {
                Some(FULL) => i64::from(FULL - s),
                Some(_) => -i64::from(s),
                None => 0,
            }
        }
        GpuRequest::None | GpuRequest::Whole(_) => 0,
    }
}

/// Idle devices left after placing `req`.
fn idle_after(req: GpuRequest, free: &[u32]) -> u64 {
    let idle = free.iter().filter(|&&f| f == FULL).count() as u64;
    let used = match req {
        GpuRequest::None => 0,
        GpuRequest::Whole(n) => u64::from(n),
        GpuRequest::Share(s) => {
            let best = free.iter().copied().filter(|&f| f >= s).min();
            u64::from(best == Some(FULL))
        }
    };
    idle.saturating_sub(used)
}

impl Plugin for GpuFragmentation {
    fn name(&self) -> &'static str {
        "gpu_fragmentation"
    }

    /// The GPU request only.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request.gpu);
        Signed::Shareable
    }
}

impl Score for GpuFragmentation {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let delta = fragmentation_delta(task.job.spec.request.gpu, &st.machine(m).gpu_free_milli);
        (1000 - delta).clamp(0, 2000) as u64 * 5
    }
}

impl Plugin for GpuIdleKept {
    fn name(&self) -> &'static str {
        "gpu_idle_kept"
    }

    /// The GPU request only.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request.gpu);
        Signed::Shareable
    }
}

impl Score for GpuIdleKept {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let idle = idle_after(task.job.spec.request.gpu, &st.machine(m).gpu_free_milli);
        MAX_SCORE - idle.min(MAX_GPUS_PER_MACHINE as u64) * MAX_SCORE / MAX_GPUS_PER_MACHINE as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_prefer_partly_used_devices() {
        // Devices: idle, 600 free, 250 free. A 200 share takes the fullest
        // that fits (250): fragmented milli 600 + 250 → 600 + 50, Δ = −200,
        // score (1000 + 200) × 5 = 6000. On a machine with only idle
        // devices: Δ = 1000 − 200 = 800, score (1000 − 800) × 5 = 1000.
        let free = [1000, 600, 250];
        assert_eq!(fragmentation_delta(GpuRequest::Share(200), &free), -200);
        assert_eq!(
            fragmentation_delta(GpuRequest::Share(200), &[1000, 1000]),
            800
        );
        // A share that fits no device, whole devices and CPU-only: no change.
        assert_eq!(fragmentation_delta(GpuRequest::Share(700), &[600]), 0);
        assert_eq!(fragmentation_delta(GpuRequest::Whole(1), &free), 0);
        assert_eq!(fragmentation_delta(GpuRequest::None, &free), 0);
    }

    #[test]
    fn idle_devices_are_kept_whole() {
        let free = [1000, 1000, 400];
        // CPU-only: 2 idle stay, score 10000 − 2 × 10000 / 64 = 9688.
        assert_eq!(idle_after(GpuRequest::None, &free), 2);
        assert_eq!(idle_after(GpuRequest::Whole(2), &free), 0);
        // A 300 share goes to the 400 device: both idle stay idle.
        assert_eq!(idle_after(GpuRequest::Share(300), &free), 2);
        // A 500 share must open an idle device.
        assert_eq!(idle_after(GpuRequest::Share(500), &free), 1);
        assert_eq!(MAX_SCORE - 2 * MAX_SCORE / 64, 9688);
    }
}
