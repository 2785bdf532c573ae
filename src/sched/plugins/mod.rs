//! The scheduling plugins, one small struct per file.
//!
//! Filters: [`fits::ResourceFit`], [`constraints::AttributeConstraints`],
//! [`spread::SpreadLimits`], [`avoid_failed::AvoidFailed`]. Scorers:
//! [`worst_fit::WorstFit`], [`best_fit::BestFit`], [`hybrid::LeastStranded`],
//! [`gpu_keep_whole::GpuFragmentation`], [`gpu_keep_whole::GpuIdleKept`],
//! [`spreading::Spreading`]; and the six policies of Weng et al. (ATC
//! 2023), with integer scores in 0..=100 as in the paper:
//! [`random::Random`], [`dot_product::DotProduct`],
//! [`gpu_clustering::GpuClustering`], [`gpu_packing::GpuPacking`],
//! [`gpu_best_fit::GpuBestFit`], [`fgd::Fgd`], whose ties go to
//! [`tie_order::TieOrder`].
//!
//! Each declares, in its `sign`, what of a task it reads (the request, the
//! constraints, the preemption threshold, the machines a task failed on; the
//! spread filter opts a job with limits out of the caches, the spreading
//! score every task): the class keys of [`super::class_key`] are
//! made of those declarations.
//!
//! Scorers share one measure: for each dimension of the machine (CPU,
//! memory, and GPU if the machine has GPUs), the fraction of its capacity left
//! free after the placement, in units of `1/MAX_SCORE` (basis points),
//! rounded down. Integer arithmetic throughout, so scores are exact. CPU and
//! memory are measured on the task's basis (`TaskView::basis`): its free
//! headroom ([`CellState::headroom`]) against the basis's capacity
//! ([`CellState::basis_capacity`]: the machine's, times the overcommit
//! factor on the reservation basis), so the scorers sign the basis too.

pub mod avoid_failed;
pub mod best_fit;
pub mod constraints;
pub mod dot_product;
pub mod fgd;
pub mod fits;
pub mod gpu_best_fit;
pub mod gpu_clustering;
pub mod gpu_keep_whole;
pub mod gpu_packing;
pub mod hybrid;
pub mod random;
pub mod spread;
pub mod spreading;
pub mod tie_order;
pub mod worst_fit;

/// The node scale of the paper policies that measure free resources
/// against a fixed node size (DotProd, GpuClustering, BestFit): the paper
/// uses its cluster's largest node, 128 cores and 8 GPUs; here the cell's
/// largest CPU capacity and largest GPU count ([`crate::cell::Cell::max_machine`]),
/// which on the paper's openb cluster are that node's (one node has both).
/// Each is at least 1, so a cell without GPUs divides by 1 milli.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NodeScale {
    /// Milli-cores.
    pub cpu_milli: u64,
    /// Milli-GPU (GPUs × 1000).
    pub gpu_milli: u64,
}

impl NodeScale {
    /// The openb cluster's: 128,000 milli-cores, 8,000 milli-GPU.
    pub const OPENB: NodeScale = NodeScale {
        cpu_milli: 128_000,
        gpu_milli: 8_000,
    };

    /// The scale of `st`'s cell.
    pub fn of(st: &CellState) -> NodeScale {
        let big = st.cell().max_machine();
        NodeScale {
            cpu_milli: big.res.cpu_milli.max(1),
            gpu_milli: big.gpu_milli().max(1),
        }
    }
}

use super::plugin::{TaskView, MAX_SCORE};
use crate::cell::resources::Resources;
use crate::cell::state::usage::Basis;
use crate::cell::state::CellState;
use crate::cell::MachineId;

/// Free fraction per dimension after placing `task` on `machine`, in
/// `0..=MAX_SCORE`. Two entries (CPU, memory), or three with GPUs. On the
/// reservation basis out of line ([`reserved_free_after_bp`]), so that the
/// limit basis, the machine's `free` and capacity, costs the scorers one
/// branch and keeps its own function as it was.
#[inline(always)]
pub(crate) fn free_after_bp(st: &CellState, task: &TaskView, machine: MachineId) -> FreeAfter {
    match task.basis {
        Basis::Limit => limit_free_after_bp(st, task, machine),
        Basis::Reservation => reserved_free_after_bp(st, task, machine),
    }
}

/// [`free_after_bp`] on the limit basis.
fn limit_free_after_bp(st: &CellState, task: &TaskView, machine: MachineId) -> FreeAfter {
    let cap = st.cell().machines[machine as usize].capacity;
    free_after_with(st, task, machine, st.machine(machine).free, cap.res)
}

/// [`free_after_bp`] on the reservation basis.
#[cold]
#[inline(never)]
fn reserved_free_after_bp(st: &CellState, task: &TaskView, machine: MachineId) -> FreeAfter {
    let (free, basis_cap) = reserved_free(st, machine);
    free_after_with(st, task, machine, free, basis_cap)
}

/// [`free_after_bp`] with CPU and memory `free` of `basis_cap`.
#[inline(always)]
fn free_after_with(
    st: &CellState,
    task: &TaskView,
    machine: MachineId,
    free: Resources,
    basis_cap: Resources,
) -> FreeAfter {
    let cap = st.cell().machines[machine as usize].capacity;
    let ms = st.machine(machine);
    let req = &task.job.spec.request;
    let frac = |free: u64, want: u64, cap: u64| -> u64 {
        if cap == 0 {
            return 0;
        }
        free.saturating_sub(want) * MAX_SCORE / cap
    };
    let mut f = FreeAfter {
        dims: [0; 3],
        len: 2,
    };
    f.dims[0] = frac(free.cpu_milli, req.res.cpu_milli, basis_cap.cpu_milli);
    f.dims[1] = frac(free.mem_mib, req.res.mem_mib, basis_cap.mem_mib);
    if cap.gpus > 0 {
        let gpu_free: u64 = ms.gpu_free_total_milli();
        f.dims[2] = frac(gpu_free, req.gpu.milli(), cap.gpu_milli());
        f.len = 3;
    }
    f
}

/// CPU and memory free on the reservation basis of `machine`, and the
/// basis's capacity: what the scorers measure non-prod against under
/// reclamation on (out of line: the limit basis is the machine's `free`
/// and capacity).
#[cold]
#[inline(never)]
pub(crate) fn reserved_free(st: &CellState, machine: MachineId) -> (Resources, Resources) {
    let room = st.reservation_room(machine);
    (room.free, room.basis_capacity)
}

/// Per-dimension free fractions (see [`free_after_bp`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct FreeAfter {
    dims: [u64; 3],
    len: usize,
}

impl FreeAfter {
    pub fn dims(&self) -> &[u64] {
        &self.dims[..self.len]
    }
    /// The mean over dimensions, rounded down.
    pub fn mean(&self) -> u64 {
        self.dims().iter().sum::<u64>() / self.len as u64
    }
}
