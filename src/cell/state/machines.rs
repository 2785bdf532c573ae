//! Machines that come and go: a trace's machine events (and, later, fault
//! injection) take machines down, bring them back and resize them. A down
//! machine offers nothing and holds no task; a smaller one withholds the
//! difference; tasks that no longer fit are evicted lowest priority first.

use super::{CellState, EventKind, EvictionCause};
use crate::cell::attrs::Attributes;
use crate::cell::resources::Resources;
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::TaskId;

impl CellState {
    /// Takes a machine down (`None`: every task on it is evicted and it
    /// offers nothing) or sets its current capacity (at most its capacity
    /// in the cell; if its tasks no longer fit, the lowest-priority ones,
    /// latest id first, are evicted until they do). Returns the evicted
    /// tasks. A machine taken down is counted as `machine_down` (a trace's
    /// REMOVE); see [`CellState::set_machine_as`] for other causes.
    pub fn set_machine(
        &mut self,
        now: SimTime,
        m: MachineId,
        cap: Option<Resources>,
    ) -> Vec<TaskId> {
        self.set_machine_as(now, m, cap, EvictionCause::MachineDown)
    }

    /// [`CellState::set_machine`], with the tasks of a machine taken down
    /// evicted with cause `down_cause` (an injected fault: `machine_failure`
    /// or `maintenance`). A machine taken down stops being unreachable: its
    /// tasks are gone with it.
    pub fn set_machine_as(
        &mut self,
        now: SimTime,
        m: MachineId,
        cap: Option<Resources>,
        down_cause: EvictionCause,
    ) -> Vec<TaskId> {
        self.advance(now);
        let full = self.cell.machines[m as usize].capacity;
        let mut evicted = Vec::new();
        let (target, cause) = match cap {
            None => (Resources::ZERO, down_cause),
            Some(r) => (
                Resources::new(
                    r.cpu_milli.min(full.res.cpu_milli),
                    r.mem_mib.min(full.res.mem_mib),
                ),
                EvictionCause::MachineShrunk,
            ),
        };
        // The machine's change comes first in the event log, then the
        // evictions it causes, so it is noted as it will stand.
        let was_up = self.up[m as usize] || self.unreachable[m as usize];
        if cap.is_none() {
            // Down from unreachable: the machine's books say up until now,
            // so its change is noted as a machine going down.
            self.up[m as usize] = was_up;
        }
        self.unreachable[m as usize] = false;
        self.note_machine_set(m, target, cap.is_some());
        loop {
            let ms = &self.machines[m as usize];
            let must_go = cap.is_none() && !ms.tasks.is_empty();
            if !must_go && self.holds_within(m, &target) {
                break;
            }
            let victim = self.lowest_task_on(m);
            self.evict(now, victim, cause);
            evicted.push(victim);
        }
        let used = self.limits_held(m);
        self.withheld[m as usize] = full
            .res
            .checked_sub(&target)
            .expect("target within capacity");
        match self.usage.is_some() {
            false => {
                let ms = &mut self.machines[m as usize];
                ms.free = target.checked_sub(&used).expect("tasks fit the target");
            }
            true => self.usage_resized(now, m, &used),
        }
        let ms = &mut self.machines[m as usize];
        self.up[m as usize] = cap.is_some();
        if cap.is_none() {
            ms.gpu_free_milli.iter_mut().for_each(|g| *g = 0);
        } else if !was_up {
            let n = ms.gpu_free_milli.len();
            ms.gpu_free_milli = vec![crate::cell::resources::GPU_MILLI_PER_DEVICE; n];
        }
        self.log_change(m);
        evicted
    }

    /// The running task on `m` to evict first: lowest priority, then the
    /// latest submitted.
    fn lowest_task_on(&self, m: MachineId) -> TaskId {
        let ms = &self.machines[m as usize];
        *ms.tasks
            .iter()
            .min_by_key(|&&t| {
                let prio = self.shapes[self.tasks[t as usize].shape as usize].priority;
                (prio, std::cmp::Reverse(self.submission_order(t)))
            })
            .expect("a task to evict")
    }

    /// A task's place in submission order, (job serial, index): task ids
    /// are reused, so they do not tell which task came first.
    pub fn submission_order(&self, t: TaskId) -> (u64, u32) {
        let rec = &self.tasks[t as usize];
        (self.jobs[rec.job as usize].serial, rec.index)
    }

    /// Gives a machine new attributes (a trace's machine UPDATE). From now
    /// on constraints are judged against them: the machine's `seq` moves,
    /// so score caches look at it again, and jobs judged never schedulable
    /// are judged again (they may now fit; a job that could run before and
    /// cannot now simply fails its attempts, with the reason). Tasks already
    /// running keep running, as in Borg: a constraint is checked at
    /// placement. Returns false if the attributes are unchanged.
    pub fn set_machine_attrs(&mut self, now: SimTime, m: MachineId, attrs: Attributes) -> bool {
        self.advance(now);
        if self.cell.machines[m as usize].attrs == attrs {
            return false;
        }
        self.cell.machines[m as usize].attrs = attrs;
        self.log_change(m);
        self.note_machine(EventKind::MachineAttributes, m);
        self.hostable = Default::default();
        let mut never = std::mem::take(&mut self.never_hostable);
        never.retain(|&j| {
            if !self.is_live_job(j) || self.jobs[j as usize].ever_schedulable {
                return false;
            }
            let job = &self.jobs[j as usize];
            let now_hostable =
                self.hostable
                    .could_ever_host(&self.cell, &job.spec.request, &job.spec.constraints);
            self.jobs[j as usize].ever_schedulable = now_hostable;
            !now_hostable
        });
        self.never_hostable = never;
        true
    }
}
