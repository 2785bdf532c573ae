//! Filter: does the task's request fit the machine's resources?
//!
//! First against the machine's headroom on the task's basis (its free
//! resources; for non-prod with reclamation on, its reservation basis
//! less the reservations of its tasks: `cell::state::usage`). If that
//! fails and preemption is on, against the headroom plus what preemptible
//! tasks hold on that basis (Borg counts "resources assigned to
//! lower-priority tasks that can be evicted" as available). A task admitted
//! against reservations must also fit the machine's current capacity by
//! its limit. The reason reported is the first dimension that does not
//! fit, in the order CPU, memory, GPU, judged against the most the machine
//! could offer this task.

use crate::cell::resources::{GpuRequest, Request, Resources};
use crate::cell::state::usage::Basis;
use crate::cell::state::{CellState, TaskState};
use crate::cell::MachineId;
use crate::sched::class_key::{ClassKeyBuilder, Signed};
use crate::sched::plugin::{Filter, Fit, Plugin, TaskView};
use crate::sched::reason::Reason;

pub struct ResourceFit;

impl Plugin for ResourceFit {
    fn name(&self) -> &'static str {
        "resource_fit"
    }

    /// The request, the preemption threshold (which tasks' resources
    /// count as available) and the basis.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed {
        key.add(&task.job.spec.request);
        key.add(&task.preempt_below);
        key.add(&task.basis);
        Signed::Shareable
    }
}

impl Filter for ResourceFit {
    fn filter(&self, st: &CellState, task: &TaskView, m: MachineId) -> Result<Fit, Reason> {
        if !st.machine_up(m) {
            return Err(Reason::MachineDown);
        }
        if task.basis == Basis::Reservation {
            return reservation_fit(st, task, m);
        }
        // On the limit basis the machine's `free`, as without reclamation.
        let ms = st.machine(m);
        let req = &task.job.spec.request;
        if req.res.fits_in(&ms.free) && req.gpu.fits_devices(&ms.gpu_free_milli) {
            return Ok(Fit::Free);
        }
        let Some(threshold) = task.preempt_below else {
            return Err(first_short(req, &ms.free, &ms.gpu_free_milli));
        };
        if st.usage_books().is_none() {
            // Reclamation off: the free resources plus the preemptible
            // tasks' limits, the headroom without an excess.
            let avail = ms.free.add(&ms.allocated_below(threshold));
            if !req.res.fits_in(&avail) {
                return Err(first_short(req, &avail, &[]));
            }
        } else {
            preemptible_headroom(st, req, m, threshold, Basis::Limit)?;
        }
        gpu_after_preemption(st, m, req.gpu, threshold)
    }
}

/// [`ResourceFit::filter`] on the reservation basis: the task must fit the
/// machine's current capacity by its limit, then the reservation basis's
/// free headroom (out of line: only non-prod under reclamation on).
#[cold]
#[inline(never)]
fn reservation_fit(st: &CellState, task: &TaskView, m: MachineId) -> Result<Fit, Reason> {
    let req = &task.job.spec.request;
    let room = st.reservation_room(m);
    if !req.res.fits_in(&room.capacity) {
        return Err(first_short(req, &room.capacity, &[]));
    }
    let free = room.free;
    // The devices are read only for a task that asks for some.
    let gpu_fits = || req.gpu == GpuRequest::None || req.gpu.fits_devices(gpu_free(st, m));
    if req.res.fits_in(&free) && gpu_fits() {
        return Ok(Fit::Free);
    }
    let Some(threshold) = task.preempt_below else {
        return Err(first_short(req, &free, gpu_free(st, m)));
    };
    preemptible_headroom(st, req, m, threshold, Basis::Reservation)?;
    gpu_after_preemption(st, m, req.gpu, threshold)
}

/// Machine `m`'s free GPU devices, milli per device.
fn gpu_free(st: &CellState, m: MachineId) -> &[u32] {
    &st.machine(m).gpu_free_milli
}

/// Whether `req` fits machine `m`'s headroom on `basis` with every task
/// below `threshold` evicted (out of line: only with usage books, where
/// the limit basis may have an excess).
#[cold]
#[inline(never)]
fn preemptible_headroom(
    st: &CellState,
    req: &Request,
    m: MachineId,
    threshold: u32,
    basis: Basis,
) -> Result<(), Reason> {
    let mut avail = st.headroom(m, basis);
    avail.give(&st.held_below(m, threshold, basis));
    if avail.admits(&req.res) {
        Ok(())
    } else {
        Err(first_short(req, &avail.free, &[]))
    }
}

/// The fit once CPU and memory fit with preemption: the GPU devices too.
#[inline]
fn gpu_after_preemption(
    st: &CellState,
    m: MachineId,
    gpu: GpuRequest,
    threshold: u32,
) -> Result<Fit, Reason> {
    if gpu == GpuRequest::None || gpu_fits_after_preemption(st, m, gpu, threshold) {
        Ok(Fit::WithPreemption)
    } else {
        Err(Reason::InsufficientGpu)
    }
}

fn first_short(req: &Request, avail: &Resources, gpu_free: &[u32]) -> Reason {
    if req.res.cpu_milli > avail.cpu_milli {
        Reason::InsufficientCpu
    } else if req.res.mem_mib > avail.mem_mib {
        Reason::InsufficientMemory
    } else {
        debug_assert!(!req.gpu.fits_devices(gpu_free) || gpu_free.is_empty());
        Reason::InsufficientGpu
    }
}

/// GPU devices as they would be with every preemptible task evicted.
fn gpu_fits_after_preemption(st: &CellState, m: MachineId, gpu: GpuRequest, below: u32) -> bool {
    let ms = st.machine(m);
    let mut free = ms.gpu_free_milli.clone();
    for &t in &ms.tasks {
        let rec = st.task(t);
        if st.job(rec.job).priority() < below {
            if let TaskState::Running { .. } = rec.state {
                st.gpu_alloc(t).release_into(&mut free);
            }
        }
    }
    gpu.fits_devices(&free)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{as_job, cell, job, occupy, submit};

    fn check(
        st: &CellState,
        cpu: u64,
        mem: u64,
        prio: u32,
        below: Option<u32>,
    ) -> Result<Fit, Reason> {
        let j = as_job(job(cpu, mem, prio, 1));
        let view = TaskView {
            job: &j,
            preempt_below: below,
            failed_on: &[],
            basis: Default::default(),
        };
        ResourceFit.filter(st, &view, 0)
    }

    #[test]
    fn free_then_preemptible_then_reason() {
        // Machine 0: 4000 mcpu, 8192 MiB. A batch task (prio 100) holds 3000 mcpu / 1024 MiB.
        let mut st = cell(&[(4000, 8192, 0)]);
        occupy(&mut st, 0, 3000, 1024, 100);
        // Free is 1000 mcpu / 7168 MiB: a 1000-mcpu task fits as is.
        assert_eq!(check(&st, 1000, 100, 200, None), Ok(Fit::Free));
        // 2000 mcpu > 1000 free; without preemption: insufficient cpu.
        assert_eq!(
            check(&st, 2000, 100, 200, None),
            Err(Reason::InsufficientCpu)
        );
        // Prod (threshold 120): 1000 free + 3000 preemptible = 4000 >= 2000.
        assert_eq!(
            check(&st, 2000, 100, 200, Some(120)),
            Ok(Fit::WithPreemption)
        );
        // A batch task at prio 100 cannot preempt prio 100 (threshold 100): cpu short.
        assert_eq!(
            check(&st, 2000, 100, 100, Some(100)),
            Err(Reason::InsufficientCpu)
        );
        // Memory: 9000 MiB > 8192 capacity: never fits, reported as memory.
        assert_eq!(
            check(&st, 100, 9000, 200, Some(120)),
            Err(Reason::InsufficientMemory)
        );
    }

    #[test]
    fn gpu_preemption_counts_devices_not_sums() {
        // Two GPUs; a batch task holds a 600-milli share of one device.
        let mut st = cell(&[(8000, 8192, 2)]);
        let mut share = job(100, 100, 100, 1);
        share.request.gpu = GpuRequest::Share(600);
        let j = submit(&mut st, share);
        let t = st.job(j).tasks[0];
        st.place(st.now(), t, 0);
        // Two whole devices: 400 + 1000 milli are free in sum, but only one
        // device is idle, so it fits only with the share evicted.
        let mut spec = job(100, 100, 200, 1);
        spec.request.gpu = GpuRequest::Whole(2);
        let whole = as_job(spec);
        let view = TaskView {
            job: &whole,
            preempt_below: None,
            failed_on: &[],
            basis: Default::default(),
        };
        assert_eq!(
            ResourceFit.filter(&st, &view, 0),
            Err(Reason::InsufficientGpu)
        );
        let view = TaskView {
            job: &whole,
            preempt_below: Some(120),
            failed_on: &[],
            basis: Default::default(),
        };
        assert_eq!(ResourceFit.filter(&st, &view, 0), Ok(Fit::WithPreemption));
    }
}
