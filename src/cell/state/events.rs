//! What happened to each task and machine, in order, for the event log
//! (`--events`). The cell state is the only place tasks and machines
//! change, so recording here, where each change is made, misses none —
//! whoever asked for it (the scheduler, the driver, a trace replay).
//!
//! Recording is off unless [`CellState::record_events`] turned it on: each
//! mutator then costs one branch. When on, the changes are buffered as
//! compact [`CellEvent`]s (ids, not names) and the driver drains them after
//! every event ([`CellState::take_events`]), before slots are reclaimed, so
//! each id still names the task and job it named when the change was made.

use super::{CellState, EvictionCause};
use crate::cell::resources::Resources;
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::TaskId;

/// What happened. Its names (the event log's `event` column) are derived.
#[derive(Copy, Clone, Debug, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum EventKind {
    /// A task entered the cell, pending.
    Submit,
    /// A pending task started on a machine.
    Place,
    /// A running task was stopped and is pending again (the cause is given).
    Evict,
    /// A running task ran to its end.
    Finish,
    /// A task was withdrawn for good by the workload (a trace's KILL, a run
    /// that ended other than normally), pending or running.
    Kill,
    /// A pending task that fitted nowhere was withdrawn (one-by-one replays).
    Drop,
    /// A machine went down (or left the cell): it offers nothing from now on.
    MachineDown,
    /// A down machine (or one not yet in the cell) came up.
    MachineUp,
    /// An up machine's capacity changed.
    MachineResized,
    /// A machine's attributes changed (constraints are judged against the
    /// new ones from now on; running tasks stay).
    MachineAttributes,
    /// An up machine stopped reporting (an injected unreachability): its
    /// tasks run on and keep their resources, nothing new is placed there.
    /// Past the grace period it goes down (`machine_down`, then its tasks'
    /// evictions).
    MachineUnreachable,
    /// An unreachable machine reported again within the grace period: up
    /// as before, its tasks never stopped.
    MachineReachable,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [EventKind] = <EventKind as strum::VariantArray>::VARIANTS;

    /// `submit`, `place`, … as the event log writes it.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// One recorded change.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CellEvent {
    Task(TaskChange),
    Machine(MachineChange),
}

/// A task's change.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TaskChange {
    pub time: SimTime,
    pub kind: EventKind,
    pub task: TaskId,
    /// Where it was placed, or where it ran until evicted, finished or
    /// killed; `None` for a submission and for a pending task killed or
    /// dropped.
    pub machine: Option<MachineId>,
    /// An eviction's cause.
    pub cause: Option<EvictionCause>,
}

/// A machine's change, with its capacity from then on (zero while down)
/// and its GPU devices (none while down).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct MachineChange {
    pub time: SimTime,
    pub kind: EventKind,
    pub machine: MachineId,
    pub capacity: Resources,
    pub gpus: u32,
}

impl CellState {
    /// Starts (or stops) recording every change for [`CellState::take_events`].
    pub fn record_events(&mut self, on: bool) {
        self.events = on.then(Vec::new);
    }

    /// The changes recorded since the last call, oldest first; give the
    /// buffer back with [`CellState::return_events`] to reuse it. Empty when
    /// recording is off.
    pub fn take_events(&mut self) -> Vec<CellEvent> {
        self.events.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Gives back (emptied) a buffer [`CellState::take_events`] returned.
    pub fn return_events(&mut self, mut buf: Vec<CellEvent>) {
        if let Some(events) = &mut self.events {
            if events.is_empty() {
                buf.clear();
                *events = buf;
            }
        }
    }

    /// Records a task's change, if recording is on: on the hot paths
    /// (placing, completing), one test and a branch when it is off.
    #[inline]
    pub(super) fn note_task(
        &mut self,
        kind: EventKind,
        task: TaskId,
        machine: Option<MachineId>,
        cause: Option<EvictionCause>,
    ) {
        if self.events.is_some() {
            self.record_task(kind, task, machine, cause);
        }
    }

    /// Records a job's tasks entering the cell, if recording is on.
    #[inline]
    pub(super) fn note_submitted(&mut self, tasks: &[TaskId]) {
        if self.events.is_some() {
            for &t in tasks {
                self.record_task(EventKind::Submit, t, None, None);
            }
        }
    }

    /// Out of line, so that the mutators' code stays as it was without
    /// recording.
    #[cold]
    #[inline(never)]
    fn record_task(
        &mut self,
        kind: EventKind,
        task: TaskId,
        machine: Option<MachineId>,
        cause: Option<EvictionCause>,
    ) {
        let time = self.now;
        if let Some(events) = &mut self.events {
            events.push(CellEvent::Task(TaskChange {
                time,
                kind,
                task,
                machine,
                cause,
            }));
        }
    }

    /// Records a machine's change, if recording is on, with its capacity
    /// and state as they are now (call after the change is made).
    pub(super) fn note_machine(&mut self, kind: EventKind, machine: MachineId) {
        if self.events.is_none() {
            return;
        }
        let m = machine as usize;
        let capacity = self.cell.machines[m]
            .capacity
            .res
            .checked_sub(&self.withheld[m])
            .expect("withheld within capacity");
        // An unreachable machine keeps its GPU devices: its tasks hold them.
        let holds = self.up[m] || self.unreachable[m];
        self.note_machine_as(kind, machine, capacity, holds);
    }

    /// Records, if recording is on, what setting machine `m` to offer
    /// `target` (up or not) changes — called before the change is made: it
    /// comes down, comes up or is resized, or nothing changes (no record).
    pub(super) fn note_machine_set(&mut self, m: MachineId, target: Resources, up: bool) {
        if self.events.is_none() {
            return;
        }
        let current = self.cell.machines[m as usize]
            .capacity
            .res
            .checked_sub(&self.withheld[m as usize])
            .expect("withheld within capacity");
        let kind = match (self.up[m as usize], up) {
            (true, false) => EventKind::MachineDown,
            (false, true) => EventKind::MachineUp,
            (true, true) if target != current => EventKind::MachineResized,
            _ => return,
        };
        self.note_machine_as(kind, m, target, up);
    }

    /// Records a machine's change, if recording is on, with the capacity
    /// it offers from now on and whether it is up.
    fn note_machine_as(
        &mut self,
        kind: EventKind,
        machine: MachineId,
        capacity: Resources,
        up: bool,
    ) {
        if let Some(events) = &mut self.events {
            let gpus = self.cell.machines[machine as usize].capacity.gpus;
            events.push(CellEvent::Machine(MachineChange {
                time: self.now,
                kind,
                machine,
                capacity,
                gpus: if up { gpus } else { 0 },
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, job, submit};

    /// The recorded changes as (time, kind, task or machine, machine, cause).
    fn brief(events: &[CellEvent]) -> Vec<(u64, &'static str, u32, Option<u32>)> {
        events
            .iter()
            .map(|e| match *e {
                CellEvent::Task(c) => (c.time.0, c.kind.name(), c.task, c.machine),
                CellEvent::Machine(c) => (c.time.0, c.kind.name(), c.machine, None),
            })
            .collect()
    }

    #[test]
    fn nothing_is_recorded_unless_asked() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(1000, 1000, 100, 2));
        st.place(SimTime(2), st.job(j).tasks[0], 0);
        assert!(st.take_events().is_empty());
    }

    #[test]
    fn every_change_is_recorded_in_order_with_its_machine_and_cause() {
        let mut st = cell(&[(4000, 8000, 0), (4000, 8000, 0)]);
        st.record_events(true);
        let j = submit(&mut st, job(1000, 1000, 100, 2));
        let (a, b) = (st.job(j).tasks[0], st.job(j).tasks[1]);
        st.place(SimTime(1), a, 0);
        st.place(SimTime(1), b, 1);
        st.evict(SimTime(2), a, EvictionCause::Preemption);
        assert!(st.finish(SimTime(3), b, 1));
        // A stale completion changes nothing, so records nothing.
        assert!(!st.finish(SimTime(3), a, 1));
        st.place(SimTime(4), a, 1);
        // Machine 1 goes down: the machine first, then what it evicts.
        st.set_machine(SimTime(5), 1, None);
        // Down again: no change, no row.
        st.set_machine(SimTime(5), 1, None);
        st.set_machine(SimTime(6), 1, Some(Resources::new(2000, 8000)));
        st.set_machine(SimTime(7), 1, Some(Resources::new(4000, 8000)));
        st.set_machine(SimTime(7), 1, Some(Resources::new(4000, 8000)));
        assert!(st.kill(SimTime(8), a));
        let events = st.take_events();
        assert_eq!(
            brief(&events),
            vec![
                (0, "submit", a, None),
                (0, "submit", b, None),
                (1, "place", a, Some(0)),
                (1, "place", b, Some(1)),
                (2, "evict", a, Some(0)),
                (3, "finish", b, Some(1)),
                (4, "place", a, Some(1)),
                (5, "machine_down", 1, None),
                (5, "evict", a, Some(1)),
                (6, "machine_up", 1, None),
                (7, "machine_resized", 1, None),
                (8, "kill", a, None),
            ]
        );
        let causes: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                CellEvent::Task(c) => c.cause,
                CellEvent::Machine(_) => None,
            })
            .collect();
        assert_eq!(
            causes,
            [EvictionCause::Preemption, EvictionCause::MachineDown]
        );
        // The capacity from then on: zero while down, the trace's size after.
        let caps: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                CellEvent::Machine(c) => Some(c.capacity.cpu_milli),
                CellEvent::Task(_) => None,
            })
            .collect();
        assert_eq!(caps, [0, 2000, 4000]);
        // Taken: the buffer starts again empty.
        st.return_events(events);
        assert!(st.take_events().is_empty());
    }
}
