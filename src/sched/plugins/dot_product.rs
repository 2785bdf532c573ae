//! Scorer of the `dot_product` policy (the paper's DotProd, after Tetris):
//! align the task's demand with the machine's free resources, preferring
//! machines whose free CPU and GPU the task uses least of.
//!
//! With c milli-cores and g milli-GPU the cell's node scale
//! ([`super::NodeScale`]: its largest CPU and GPU count; on the openb
//! cluster 128,000 and 8,000, the paper's constants) and the state
//! *before* placement: `score = trunc(100 · (1 − ½ · [(cpuLeft/c) ·
//! (cpu/c) + (L/g) · (R/g)]))`, L the machine's free GPU milli and R the
//! task's. In integers: `100 − ⌈50 · (cpuLeft · cpu · g² + L · R · c²) /
//! (c² · g²)⌉`, at least 0. Memory is not scored.

use super::NodeScale;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView};

pub struct DotProduct;

/// The score of a task of `cpu` milli-cores and `gpu` milli-GPU on a
/// machine with `cpu_left` and `gpu_left` free, in a cell of `scale`.
pub fn dot_product(scale: NodeScale, cpu_left: u64, gpu_left: u64, cpu: u64, gpu: u64) -> u64 {
    let (c, g) = (u128::from(scale.cpu_milli), u128::from(scale.gpu_milli));
    let num = 50
        * (u128::from(cpu_left) * u128::from(cpu) * g * g
            + u128::from(gpu_left) * u128::from(gpu) * c * c);
    let den = c * c * g * g;
    100u128.saturating_sub(num.div_ceil(den)) as u64
}

impl Plugin for DotProduct {
    fn name(&self) -> &'static str {
        "dot_product"
    }

    /// The request.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request);
        Signed::Shareable
    }
}

impl Score for DotProduct {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let ms = st.machine(m);
        let gpu_left: u64 = ms.gpu_free_total_milli();
        let req = task.job.spec.request;
        dot_product(
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
        // 64 cores and 4 GPUs free, a task of 32 cores and 1 GPU:
        // ½ · (0.5 · 0.25 + 0.5 · 0.125) = 0.09375; 100 · (1 − 0.09375)
        // = 90.625 → 90.
        assert_eq!(
            dot_product(NodeScale::OPENB, 64_000, 4000, 32_000, 1000),
            90
        );
        // A full 128-core, 8-GPU machine and the largest task: 100 · (1 −
        // ½ · 2) = 0.
        assert_eq!(
            dot_product(NodeScale::OPENB, 128_000, 8000, 128_000, 8000),
            0
        );
        // Nothing asked: 100.
        assert_eq!(dot_product(NodeScale::OPENB, 128_000, 8000, 0, 0), 100);
        // An emptier machine scores lower: 96 free cores, 8 GPUs, task of
        // 8 cores + 0.5 GPU: ½ · (0.75 · 0.0625 + 1 · 0.0625) = 0.0546875
        // → 94.53 → 94; on 16 free cores, 1 GPU: ½ · (0.125 · 0.0625 +
        // 0.125 · 0.0625) = 0.0078125 → 99.22 → 99.
        assert_eq!(dot_product(NodeScale::OPENB, 96_000, 8000, 8000, 500), 94);
        assert_eq!(dot_product(NodeScale::OPENB, 16_000, 1000, 8000, 500), 99);
        // In a cell whose largest node is 64 cores and 4 GPUs, the first
        // case's machine is a whole node: ½ · (1 · 0.5 + 1 · 0.25) = 0.375
        // → 62.5 → 62.
        let small = NodeScale {
            cpu_milli: 64_000,
            gpu_milli: 4000,
        };
        assert_eq!(dot_product(small, 64_000, 4000, 32_000, 1000), 62);
    }
}
