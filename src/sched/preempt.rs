//! Preemption: when a task fits nowhere as things are, evict lower-priority
//! tasks to make room (the PostFilter stage, in Kubernetes' terms).
//!
//! **Who may preempt whom.** A task of priority `p` may evict running tasks
//! whose priority is below its *threshold*: `p` for non-prod tasks, and the
//! lowest prod priority (120) for prod tasks, so that prod preempts only
//! non-prod and production-band tasks never preempt each other (Borg), which
//! rules out preemption cascades among services.
//!
//! **Victims on one machine.** Start by evicting every preemptible task; then,
//! from the highest priority down (ties: the most recently started first),
//! reprieve each one whose return still leaves room. The victims left form a
//! minimal set (no victim could be spared) skewed to the lowest priorities —
//! the rule of Kubernetes' default preemption. Room is counted on the task's
//! basis (`TaskView::basis`): victims give back their limits or — non-prod
//! under reclamation `on` — their reservations, and the machine must end
//! within that basis in every dimension.
//!
//! **Which machine.** Among machines that need evictions, the one whose
//! victims have the lowest highest priority; then the fewest victims; then the
//! smallest sum of victim priorities; then the policy's score; then the lowest
//! machine id.

use crate::cell::resources::{GpuRequest, Resources};
use crate::cell::state::usage::{Basis, Headroom};
use crate::cell::state::{CellState, MachineState, TaskState};
use crate::cell::MachineId;
use crate::workload::{Band, Priority, TaskId};

/// The eviction threshold of a task: it may evict tasks with a priority below it.
pub fn threshold(p: Priority) -> Priority {
    if Band::of(p).is_prod() {
        Band::PROD_MIN_PRIORITY
    } else {
        p
    }
}

/// A machine and the tasks to evict from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub machine: MachineId,
    pub victims: Vec<TaskId>,
    /// (highest victim priority, victim count, sum of victim priorities).
    pub cost: (Priority, usize, u64),
}

/// The minimal victim set on `machine` for a task of `req` below `threshold`,
/// or `None` if even evicting every preemptible task is not enough. Room is
/// judged on the task's `basis`: victims free their limits, or on the
/// reservation basis their reservations.
pub fn victims_on(
    st: &CellState,
    machine: MachineId,
    req_res: &Resources,
    req_gpu: GpuRequest,
    threshold: Priority,
    basis: Basis,
) -> Option<Plan> {
    let ms = st.machine(machine);
    let mut cands: Vec<(Priority, u64, (u64, u32), TaskId)> = ms
        .tasks
        .iter()
        .map(|&t| {
            (
                st.job_of(t).priority(),
                started_us(st, t),
                st.submission_order(t),
                t,
            )
        })
        .filter(|(p, ..)| *p < threshold)
        .collect();
    // Highest priority first, then latest start first, then latest
    // submitted: the reprieve order.
    cands.sort_unstable_by(|a, b| b.cmp(a));
    let room = st.headroom(machine, basis);
    let victims = if basis == Basis::Limit && room.excess == Resources::ZERO {
        // Without an excess to begin with none arises (see `Room`): the
        // plain arithmetic of the free resources and the tasks' limits.
        reprieve(
            st,
            ms,
            &cands,
            room.free,
            |t| st.shape(t).request.res,
            req_res,
            req_gpu,
        )
    } else {
        reprieve(
            st,
            ms,
            &cands,
            room,
            |t| st.held_by(t, basis),
            req_res,
            req_gpu,
        )
    }?;
    let cost = (
        victims.iter().map(|v| v.0).max().unwrap_or(0),
        victims.len(),
        victims.iter().map(|v| u64::from(v.0)).sum(),
    );
    Some(Plan {
        machine,
        victims: victims.into_iter().map(|v| v.1).collect(),
        cost,
    })
}

/// The room a reprieve is judged in: a machine's headroom on a basis
/// ([`Headroom`]), or — on the limit basis with no excess — its plain free
/// resources. The two agree there: the room starts as the headroom plus
/// what every candidate holds, and a reprieve takes back only some of
/// that, so the free part never goes short and no excess arises.
trait Room: Copy {
    fn give(&mut self, r: &Resources);
    fn take(&mut self, r: &Resources);
    fn admits(&self, r: &Resources) -> bool;
}

impl Room for Headroom {
    fn give(&mut self, r: &Resources) {
        Headroom::give(self, r);
    }
    fn take(&mut self, r: &Resources) {
        Headroom::take(self, r);
    }
    fn admits(&self, r: &Resources) -> bool {
        Headroom::admits(self, r)
    }
}

impl Room for Resources {
    fn give(&mut self, r: &Resources) {
        *self = self.add(r);
    }
    fn take(&mut self, r: &Resources) {
        *self = self
            .checked_sub(r)
            .expect("a reprieve takes back what was given");
    }
    fn admits(&self, r: &Resources) -> bool {
        r.fits_in(self)
    }
}

/// The victims among `cands` (in reprieve order) for a task of `req_res`
/// and `req_gpu`, with `room` what the machine offers and `held` what
/// each candidate gives back; `None` if evicting all is not enough.
fn reprieve<R: Room>(
    st: &CellState,
    ms: &MachineState,
    cands: &[(Priority, u64, (u64, u32), TaskId)],
    mut room: R,
    held: impl Fn(TaskId) -> Resources,
    req_res: &Resources,
    req_gpu: GpuRequest,
) -> Option<Vec<(Priority, TaskId)>> {
    let mut gpu_free = ms.gpu_free_milli.clone();
    for &(.., t) in cands {
        room.give(&held(t));
        gpu_of(st, t).release_into(&mut gpu_free);
    }
    if !(room.admits(req_res) && req_gpu.fits_devices(&gpu_free)) {
        return None;
    }
    let mut victims = Vec::new();
    for &(p, _, _, t) in cands {
        let mut back = room;
        back.take(&held(t));
        let gpu = gpu_of(st, t);
        let mut gpu_back = gpu_free.clone();
        gpu.take_from(&mut gpu_back);
        if back.admits(req_res) && req_gpu.fits_devices(&gpu_back) {
            room = back;
            gpu_free = gpu_back;
        } else {
            victims.push((p, t));
        }
    }
    Some(victims)
}

fn started_us(st: &CellState, t: TaskId) -> u64 {
    match st.task(t).state {
        TaskState::Running { since, .. } => since.as_us(),
        _ => 0,
    }
}

fn gpu_of(st: &CellState, t: TaskId) -> crate::cell::resources::GpuAlloc {
    st.gpu_alloc(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, occupy};

    #[test]
    fn thresholds_follow_the_band_rules() {
        assert_eq!(threshold(0), 0); // best effort preempts nothing
        assert_eq!(threshold(110), 110); // batch 110 may evict priorities < 110
        assert_eq!(threshold(200), 120); // production evicts non-prod only
        assert_eq!(threshold(400), 120); // monitoring too: prod never preempts prod
    }

    #[test]
    fn evicts_the_fewest_lowest_priority_tasks() {
        // 4000 mcpu machine: best-effort 1000 (prio 0), batch 1000 (prio 100),
        // batch 1500 (prio 110); 500 mcpu free.
        let mut st = cell(&[(4000, 100_000, 0)]);
        let be = occupy(&mut st, 0, 1000, 10, 0);
        let b100 = occupy(&mut st, 0, 1000, 10, 100);
        let b110 = occupy(&mut st, 0, 1500, 10, 110);
        // A prod task of 1400 mcpu: evict all -> 500 + 3500 = 4000 free.
        // Reprieve prio 110 (1500): 4000 - 1500 = 2500 >= 1400, kept.
        // Reprieve prio 100 (1000): 2500 - 1000 = 1500 >= 1400, kept.
        // Reprieve prio 0 (1000): 1500 - 1000 = 500 < 1400: victim.
        let plan = victims_on(
            &st,
            0,
            &Resources::new(1400, 10),
            GpuRequest::None,
            120,
            Basis::Limit,
        )
        .unwrap();
        assert_eq!(plan.victims, vec![be]);
        assert_eq!(plan.cost, (0, 1, 0));
        // 2600 mcpu: evict all -> 4000 free. Reprieve 110: 2500 < 2600, victim.
        // Reprieve 100: 4000 - 1000 = 3000 >= 2600, kept (free 3000).
        // Reprieve 0: 3000 - 1000 = 2000 < 2600, victim. No smaller set works:
        // be + b100 free only 500 + 2000 = 2500.
        let plan = victims_on(
            &st,
            0,
            &Resources::new(2600, 10),
            GpuRequest::None,
            120,
            Basis::Limit,
        )
        .unwrap();
        assert_eq!(plan.victims, vec![b110, be]);
        assert_eq!(plan.cost, (110, 2, 110));
        assert!(!plan.victims.contains(&b100));
        // A batch task at prio 100 may evict only prio 0: 500 + 1000 < 2600.
        assert!(victims_on(
            &st,
            0,
            &Resources::new(2600, 10),
            GpuRequest::None,
            100,
            Basis::Limit
        )
        .is_none());
    }
}
