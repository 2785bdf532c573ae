//! Scorer of the `gpu_clustering` policy: the paper's GpuClustering (Weng
//! et al., ATC 2023) — put GPU tasks of one type together.
//!
//! A GPU task's type is "share" (part of one GPU) or "N GPUs"; CPU-only
//! tasks score 0 everywhere (the tie order decides) and do not count. With
//! L the machine's free GPU milli and g the cell's largest GPU count in
//! milli ([`super::NodeScale`]; 8,000 on the openb cluster, the paper's
//! constant), `part = ⌊25 · (g − L) / g⌋` (0..=24 on openb nodes, at least
//! 0), and the score is part plus:
//! - 75 if the machine runs GPU tasks of this type only;
//! - 50 if of this type and others;
//! - 25 if it runs no GPU task;
//! - 0 if only other types.

use super::NodeScale;
use crate::cell::resources::GpuRequest;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Plugin, Score, TaskView};

pub struct GpuClustering;

/// The score of `req` on a machine with `gpu_left` free milli-GPU whose
/// running GPU tasks ask `running` (CPU-only entries are ignored), in a
/// cell of `scale`.
pub fn gpu_clustering(
    scale: NodeScale,
    req: GpuRequest,
    gpu_left: u64,
    running: impl Iterator<Item = GpuRequest>,
) -> u64 {
    let Some(mine) = kind(req) else {
        return 0;
    };
    let (mut same, mut other) = (false, false);
    for k in running.filter_map(kind) {
        same |= k == mine;
        other |= k != mine;
    }
    let base = match (same, other) {
        (true, false) => 75,
        (true, true) => 50,
        (false, false) => 25,
        (false, true) => 0,
    };
    let g = scale.gpu_milli;
    base + 25 * g.saturating_sub(gpu_left) / g
}

/// A GPU task's type: 0 for a share, N for N whole GPUs; `None` CPU-only.
fn kind(req: GpuRequest) -> Option<u32> {
    match req {
        GpuRequest::None => None,
        GpuRequest::Share(_) => Some(0),
        GpuRequest::Whole(n) => Some(n),
    }
}

impl Plugin for GpuClustering {
    fn name(&self) -> &'static str {
        "gpu_clustering"
    }

    /// The GPU request only.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request.gpu);
        Signed::Shareable
    }
}

impl Score for GpuClustering {
    fn score(&self, st: &CellState, task: &TaskView, m: MachineId) -> u64 {
        let ms = st.machine(m);
        let gpu_left: u64 = ms.gpu_free_total_milli();
        let running = ms.tasks.iter().map(|&t| st.shape(t).request.gpu);
        gpu_clustering(
            NodeScale::of(st),
            task.job.spec.request.gpu,
            gpu_left,
            running,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use GpuRequest::{None as Cpu, Share, Whole};

    #[test]
    fn same_type_first() {
        // L = 6000 of 8000: part = ⌊25 · 2000 / 8000⌋ = 6.
        let s = |running: &[GpuRequest]| {
            gpu_clustering(NodeScale::OPENB, Share(300), 6000, running.iter().copied())
        };
        assert_eq!(s(&[Share(500), Cpu]), 75 + 6);
        assert_eq!(s(&[Share(500), Whole(1)]), 50 + 6);
        assert_eq!(s(&[Cpu]), 25 + 6);
        assert_eq!(s(&[Whole(1)]), 6);
        // 1 and 2 GPUs are different types; an empty 8-GPU machine: 25.
        assert_eq!(
            gpu_clustering(NodeScale::OPENB, Whole(2), 8000, [Whole(1)].into_iter()),
            0
        );
        assert_eq!(
            gpu_clustering(NodeScale::OPENB, Whole(2), 8000, [].into_iter()),
            25
        );
        // CPU-only tasks: 0.
        assert_eq!(
            gpu_clustering(NodeScale::OPENB, Cpu, 0, [Cpu].into_iter()),
            0
        );
    }
}
