//! Scorer of the `gpu_best_fit` policy: the paper's BestFit (Weng et al.,
//! ATC 2023), which packs on CPU and GPU only, against fixed node sizes.
//!
//! Unlike borgsim's `best_fit` ([`super::best_fit`]: every dimension,
//! memory included, as a fraction of each machine's own capacity), it
//! scores the free CPU and GPU left after placement against the cell's
//! node scale ([`super::NodeScale`]: c its largest CPU, g its largest GPU
//! count; on the openb cluster 128,000 milli-cores and 8,000 milli-GPU, the
//! paper's constants):
//! `raw = trunc(100 · (1 − [½ · (cpuLeft − cpu)/c + ½ · (L − R)/g]))`, in
//! integers `100 − ⌈50 · ((cpuLeft − cpu) · g + (L − R) · c) / (c · g)⌉`,
//! at least 0. The paper then rescales the feasible machines' scores to
//! 0..=100 (min–max, integer division); with raw scores within 0..=100
//! that is strictly increasing, so it changes no choice and is not done.

use super::NodeScale;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView};

pub struct GpuBestFit;

/// The score of a task of `cpu` milli-cores and `gpu` milli-GPU on a
/// machine with `cpu_left` and `gpu_left` free before placement, in a
/// cell of `scale`.
pub fn gpu_best_fit(scale: NodeScale, cpu_left: u64, gpu_left: u64, cpu: u64, gpu: u64) -> u64 {
    let (c, g) = (u128::from(scale.cpu_milli), u128::from(scale.gpu_milli));
    let cpu_after = u128::from(cpu_left.saturating_sub(cpu));
    let gpu_after = u128::from(gpu_left.saturating_sub(gpu));
    let num = 50 * (cpu_after * g + gpu_after * c);
    100u128.saturating_sub(num.div_ceil(c * g)) as u64
}

impl Plugin for GpuBestFit {
    fn name(&self) -> &'static str {
        "gpu_best_fit"
    }

    /// The request.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request);
        Signed::Shareable
    }
}

impl Score for GpuBestFit {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let ms = st.machine(m);
        let gpu_left: u64 = ms.gpu_free_total_milli();
        let req = task.job.spec.request;
        gpu_best_fit(
            NodeScale::of(st),
            ms.free.cpu_milli,
            gpu_left,
            req.res.cpu_milli,
            req.gpu.milli(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_of_the_paper() {
        // 96 cores and 8 GPUs free, a task of 32 cores and 2 GPUs: left
        // 64 cores (0.5) and 6 GPUs (0.75): 100 · (1 − 0.625) = 37.5 → 37.
        assert_eq!(
            gpu_best_fit(NodeScale::OPENB, 96_000, 8000, 32_000, 2000),
            37
        );
        // The task fills the machine: 100.
        assert_eq!(gpu_best_fit(NodeScale::OPENB, 8000, 1000, 8000, 1000), 100);
        // An empty largest node and a CPU pod of 1 core: left 127/128 cores
        // and 8 GPUs: 100 · (1 − ½ · 0.9921875 − ½) = 0.39 → 0.
        assert_eq!(gpu_best_fit(NodeScale::OPENB, 128_000, 8000, 1000, 0), 0);
        // Memory plays no part, and a fuller machine scores higher:
        // 16 cores + 1 GPU left of a share pod of 4 cores + 0.5 GPU:
        // left 12 cores (0.09375) and 500 (0.0625): 100 · (1 − 0.078125)
        // = 92.19 → 92.
        assert_eq!(gpu_best_fit(NodeScale::OPENB, 16_000, 1000, 4000, 500), 92);
    }
}
