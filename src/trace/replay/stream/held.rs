//! The trace's events for a task the stream feed holds outside the cell
//! (waiting for a DAG parent): kept with the task for when it is released,
//! by the rules in the parent module's docs.

use super::StreamFeed;
use crate::cell::resources::Resources;
use crate::cell::state::CellState;
use crate::scenario::ReplayMode;
use crate::sim::feed::Effects;
use crate::time::{SimDuration, SimTime};
use crate::trace::replay::job_spec;
use crate::trace::{EndKind, TaskKey, TraceTask};
use crate::workload::TaskId;

/// What the trace did with a held task while it waited.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Trail {
    /// The trace started it: when, and on which machine (the trace's key).
    pub start: Option<(SimTime, u64)>,
    /// The trace ended its run, which lasted this long; its key is free
    /// (a later SUBMIT of it is a new run).
    pub run: Option<SimDuration>,
    /// Re-schedule mode: the trace's last usage row for it, which it
    /// starts from once released and placed.
    pub usage: Option<Resources>,
}

impl StreamFeed {
    /// A SCHEDULE for a task not in the cell: a held task's trace start
    /// (re-schedule mode) or placement, applied when it is released
    /// (trace-placement mode).
    pub(super) fn schedule_held(&mut self, now: SimTime, key: TaskKey, machine: u64) {
        let Some(h) = self
            .held_keys
            .get(&key)
            .and_then(|&id| self.dag.held_mut(id))
        else {
            return self.count("schedule_for_unknown_task");
        };
        h.extra.start = Some((now, machine));
        if self.mode == ReplayMode::TracePlacement {
            self.count("schedule_while_held");
        }
    }

    /// An END for a task not in the cell: a held task's run is over in the
    /// trace. It keeps the run's length, to run it once released; or it is
    /// withdrawn if the trace never ran it (re-schedule mode: a run of 0;
    /// trace-placement mode: no SCHEDULE, or a KILL or LOST). In
    /// trace-placement mode an EVICT or FAIL only undoes its placement.
    pub(super) fn end_held(
        &mut self,
        now: SimTime,
        key: TaskKey,
        kind: EndKind,
        st: &mut CellState,
        fx: &mut Effects,
    ) {
        let Some(&id) = self.held_keys.get(&key) else {
            return self.count("end_for_unknown_task");
        };
        let mode = self.mode;
        let Some(h) = self.dag.held_mut(id) else {
            return;
        };
        let ran = h.extra.start.map(|(s, _)| now - s);
        let run = match mode {
            ReplayMode::Reschedule => Some(h.task.duration.or(ran).unwrap_or(SimDuration::ZERO))
                .filter(|&r| r > SimDuration::ZERO),
            ReplayMode::TracePlacement if !kind.is_final() => {
                h.extra.start = None;
                return;
            }
            ReplayMode::TracePlacement => ran.filter(|_| kind == EndKind::Finish),
        };
        h.extra.run = run;
        self.held_keys.remove(&key);
        if run.is_some() {
            return self.count("end_while_held");
        }
        self.count("withdrawn_while_held");
        if let Some(h) = self.dag.unhold(id) {
            self.withdraw(now, h.task, st, fx);
        }
    }

    /// Withdraws a task the cell never saw: submitted and killed at once,
    /// so that the books count it, then done.
    fn withdraw(&mut self, now: SimTime, t: TraceTask, st: &mut CellState, fx: &mut Effects) {
        let spec = job_spec(&t, vec![None], st.attr_table_mut(), &mut self.counts);
        let part = st.submit_part(now, spec, t.key.job, false);
        let id = st.job(part).tasks[0];
        self.key_of.insert(id, t.key);
        st.kill(now, id);
        self.done(id, st, now, fx);
    }

    /// Trace-placement mode: places a released task where the trace
    /// scheduled it while it was held. If its trace run is over, it ends
    /// after that run; if it is over and the placement fails, no later
    /// event could place it, and it is withdrawn.
    pub(super) fn place_released(
        &mut self,
        now: SimTime,
        task: TaskId,
        machine: u64,
        run: Option<SimDuration>,
        st: &mut CellState,
        fx: &mut Effects,
    ) {
        let placed = match self.ctx.machine_ids.get(&machine) {
            None => {
                self.count(match self.ctx.excluded(machine) {
                    true => "schedule_on_excluded_machine",
                    false => "schedule_on_unknown_machine",
                });
                false
            }
            Some(&m) if Self::fits(st, task, m) => {
                self.count_breaches(st, task, m);
                st.place(now, task, m);
                true
            }
            Some(_) => {
                self.count("schedule_does_not_fit");
                false
            }
        };
        match (placed, run) {
            (true, Some(run)) => fx.ends.push((now + run, task)),
            (false, Some(_)) => {
                st.kill(now, task);
                self.done(task, st, now, fx);
            }
            // A length the trace gave at submission ends the run, as for a
            // task placed when the trace scheduled it.
            (true, None) => self.end_after_known_length(now, task, st),
            (false, None) => {}
        }
    }
}
