//! What injected faults hold back: machines that stopped reporting, and
//! tasks waiting for the reschedule rate limit.
//!
//! Borg never kills a task because the master lost contact with its
//! machine: an **unreachable** machine keeps its tasks (they hold their
//! resources and may finish), but the scheduler places nothing new there.
//! It is kept as a machine that is not up for placement (`up` false, so
//! every feasibility check rejects it as today) while its books stay those
//! of an up machine (tasks, free resources, GPU devices).
//!
//! Borg also rate-limits rescheduling after many machines vanish together,
//! since it cannot tell a dead machine from a partition: tasks evicted by a
//! fault beyond the limit wait in the **reschedule queue**, pending (their
//! state, and their band's pending count) but outside the pending queue the
//! scheduler scans, until the fault machinery releases them. A pending task
//! is therefore in exactly one of the two queues (checked by
//! [`crate::cell::invariants`]).

use super::{CellState, EventKind, TaskState};
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::TaskId;

impl CellState {
    /// True while machine `m` is unreachable: its tasks run on, nothing new
    /// is placed there ([`CellState::machine_up`] is false).
    pub fn machine_unreachable(&self, m: MachineId) -> bool {
        self.unreachable[m as usize]
    }

    /// Marks an up machine unreachable (`false`: reachable again). Its
    /// `seq` moves and the change log records it, so score caches judge it
    /// again. Returns false, changing nothing, if the machine was not in
    /// the state to leave (down, or already so).
    pub fn set_unreachable(&mut self, now: SimTime, m: MachineId, unreachable: bool) -> bool {
        self.advance(now);
        let i = m as usize;
        let ok = match unreachable {
            true => self.up[i] && !self.unreachable[i],
            false => self.unreachable[i],
        };
        if !ok {
            return false;
        }
        self.unreachable[i] = unreachable;
        self.up[i] = !unreachable;
        self.log_change(m);
        let kind = match unreachable {
            true => EventKind::MachineUnreachable,
            false => EventKind::MachineReachable,
        };
        self.note_machine(kind, m);
        true
    }

    /// Moves a pending task from the pending queue to the back of the
    /// reschedule queue. Panics if the task is not in the pending queue.
    pub fn delay(&mut self, now: SimTime, t: TaskId) {
        let rec = &self.tasks[t as usize];
        assert_eq!(rec.state, TaskState::Pending, "delaying task {t}");
        let prio = self.shapes[rec.shape as usize].priority;
        let removed = self.pending.remove(prio, rec.job, t);
        assert!(removed, "delayed task {t} was not in the pending queue");
        self.delayed.push_back((t, now));
    }

    /// Moves the task at the front of the reschedule queue back to the
    /// pending queue; returns it and when it was delayed.
    pub fn undelay_front(&mut self) -> Option<(TaskId, SimTime)> {
        let (t, since) = self.delayed.pop_front()?;
        let rec = &self.tasks[t as usize];
        let prio = self.shapes[rec.shape as usize].priority;
        let added = self.pending.push(prio, rec.job, t);
        assert!(added, "released task {t} already pending");
        Some((t, since))
    }

    /// Tasks in the reschedule queue.
    pub fn delayed_len(&self) -> usize {
        self.delayed.len()
    }

    /// The tasks in the reschedule queue, oldest first, with when each
    /// was delayed.
    pub fn delayed(&self) -> impl Iterator<Item = (TaskId, SimTime)> + '_ {
        self.delayed.iter().copied()
    }

    /// Takes a pending task out of whichever queue holds it (a kill or a
    /// drop). Panics if neither does.
    pub(super) fn unqueue(&mut self, t: TaskId) {
        let rec = &self.tasks[t as usize];
        let prio = self.shapes[rec.shape as usize].priority;
        if self.pending.remove(prio, rec.job, t) {
            return;
        }
        let at = self.delayed.iter().position(|&(x, _)| x == t);
        let at = at.unwrap_or_else(|| panic!("pending task {t} not queued"));
        self.delayed.remove(at);
    }
}

#[cfg(test)]
mod tests {
    use crate::cell::state::{CellEvent, TaskState};
    use crate::testkit::{cell, job, submit};
    use crate::time::SimTime;

    #[test]
    fn an_unreachable_machine_keeps_its_tasks_and_takes_no_new_one() {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 1000, 100, 2));
        let (a, b) = (st.job_tasks(j)[0], st.job_tasks(j)[1]);
        st.place(SimTime(0), a, 0);
        let seq = st.machine_seq(0);
        assert!(st.set_unreachable(SimTime(1), 0, true));
        assert!(
            !st.set_unreachable(SimTime(1), 0, true),
            "already unreachable"
        );
        assert!(!st.machine_up(0) && st.machine_unreachable(0));
        assert!(st.machine_seq(0) > seq, "caches must see the change");
        // Its task still runs and holds 1000 of 4000 milli-cores.
        assert!(matches!(
            st.task(a).state,
            TaskState::Running { machine: 0, .. }
        ));
        assert_eq!(st.machine(0).free.cpu_milli, 3000);
        crate::cell::invariants::check(&st).unwrap();
        // Back within the grace period: nothing lost.
        assert!(st.set_unreachable(SimTime(2), 0, false));
        assert!(st.machine_up(0));
        st.place(SimTime(2), b, 0);
        crate::cell::invariants::check(&st).unwrap();
    }

    #[test]
    fn an_unreachable_machine_taken_down_loses_its_tasks() {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 1000, 100, 1));
        let a = st.job_tasks(j)[0];
        st.place(SimTime(0), a, 0);
        st.set_unreachable(SimTime(1), 0, true);
        let cause = crate::cell::state::EvictionCause::MachineFailure;
        assert_eq!(st.set_machine_as(SimTime(5), 0, None, cause), vec![a]);
        assert!(!st.machine_unreachable(0));
        assert_eq!(st.ledger().evictions[cause as usize], 1);
        crate::cell::invariants::check(&st).unwrap();
    }

    #[test]
    fn the_event_log_names_unreachability_apart_from_a_machine_down() {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 1000, 100, 1));
        let a = st.job_tasks(j)[0];
        st.place(SimTime(0), a, 0);
        st.record_events(true);
        // Out of contact and back in time; out again and past the grace.
        st.set_unreachable(SimTime(1), 0, true);
        st.set_unreachable(SimTime(2), 0, false);
        st.set_unreachable(SimTime(3), 0, true);
        let cause = crate::cell::state::EvictionCause::MachineFailure;
        st.set_machine_as(SimTime(9), 0, None, cause);
        let kinds: Vec<_> = st
            .take_events()
            .iter()
            .map(|e| match e {
                CellEvent::Machine(c) => (c.time.0, c.kind.name(), c.capacity.cpu_milli),
                CellEvent::Task(c) => (c.time.0, c.kind.name(), 0),
            })
            .collect();
        // Unreachable, the machine still offers its 4000 (its task holds
        // 1000 of them); down, it offers 0 and its task is evicted.
        assert_eq!(
            kinds,
            [
                (1, "machine_unreachable", 4000),
                (2, "machine_reachable", 4000),
                (3, "machine_unreachable", 4000),
                (9, "machine_down", 0),
                (9, "evict", 0),
            ]
        );
    }

    #[test]
    fn a_delayed_task_is_pending_outside_the_scan_until_released() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 1000, 100, 2));
        let (a, b) = (st.job_tasks(j)[0], st.job_tasks(j)[1]);
        st.delay(SimTime(0), a);
        st.delay(SimTime(0), b);
        // Both still count as pending (2), none is in the scanned queue.
        assert_eq!(st.ledger().pending_by_band.iter().sum::<u64>(), 2);
        assert!(st.pending().is_empty());
        crate::cell::invariants::check(&st).unwrap();
        assert_eq!(st.undelay_front(), Some((a, SimTime(0))));
        assert_eq!(st.pending().len(), 1);
        assert!(st.kill(SimTime(1), b), "a delayed task can be killed");
        assert_eq!(st.delayed_len(), 0);
        crate::cell::invariants::check(&st).unwrap();
    }
}
