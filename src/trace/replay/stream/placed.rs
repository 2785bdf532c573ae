//! Trace-placement mode's checks on the trace's own placements: whether
//! one fits, which of the scheduler's rules it breaks (followed and
//! counted), and the end of a run whose length the trace gave at
//! submission. Apart from `stream.rs` to keep it short.

use super::StreamFeed;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::time::SimTime;
use crate::workload::TaskId;
use std::cmp::Reverse;

impl StreamFeed {
    /// True if `task` fits on machine `m` as it is now.
    pub(super) fn fits(st: &CellState, task: TaskId, m: MachineId) -> bool {
        let ms = st.machine(m);
        let shape = st.shape(task);
        let room = st.headroom(m, st.basis_for(shape.priority));
        let req = shape.request;
        st.machine_up(m) && room.admits(&req.res) && req.gpu.fits_devices(&ms.gpu_free_milli)
    }

    /// Trace-placement mode: a run length known at submission ends a run
    /// placed `now`, even if the trace sends no END for it (see `due_ends`).
    pub(super) fn end_after_known_length(&mut self, now: SimTime, task: TaskId, st: &CellState) {
        if let Some(d) = st.task(task).duration() {
            let inc = st.task(task).incarnation;
            self.due_ends.push(Reverse((now + d, task, inc)));
        }
    }

    /// Trace-placement mode follows the trace's placement (the trace is the
    /// record of what ran) but counts one that breaks the task's own
    /// constraints \[`schedule_breaks_constraint`\], its job's spread
    /// limits \[`schedule_breaks_spread_limit`\] or its failure history
    /// \[`schedule_breaks_failure_history`\], as judged by the scheduler's
    /// own filters.
    pub(super) fn count_breaches(&mut self, st: &CellState, task: TaskId, m: MachineId) {
        use crate::sched::plugin::{Filter, TaskView};
        use crate::sched::plugins::avoid_failed::AvoidFailed;
        use crate::sched::plugins::{constraints::AttributeConstraints, spread::SpreadLimits};
        let job = st.job(st.task(task).job);
        let mut failed_on = Vec::new();
        st.failed_machines(task, &mut failed_on);
        let view = TaskView {
            job,
            preempt_below: None,
            failed_on: &failed_on,
            basis: Default::default(),
        };
        let checks: [(&dyn Filter, &'static str); 3] = [
            (&AttributeConstraints, "schedule_breaks_constraint"),
            (&SpreadLimits, "schedule_breaks_spread_limit"),
            (&AvoidFailed, "schedule_breaks_failure_history"),
        ];
        for (filter, rule) in checks {
            if filter.applies(&view) && filter.filter(st, &view, m).is_err() {
                self.count(rule);
            }
        }
    }
}
