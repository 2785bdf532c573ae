//! The trace's usage records in the stream feed, by the rules in the
//! parent module's docs: an update for the driver when the task runs in
//! the cell; in re-schedule mode, the usage a task not started yet (or
//! evicted) starts from; else dropped and counted.

use super::StreamFeed;
use crate::cell::resources::Resources;
use crate::cell::state::{CellState, TaskState};
use crate::scenario::ReplayMode;
use crate::time::SimTime;
use crate::trace::TaskKey;

impl StreamFeed {
    /// A usage record of trace task `key` at `now`.
    pub(super) fn on_usage(
        &mut self,
        now: SimTime,
        key: TaskKey,
        usage: Resources,
        st: &mut CellState,
    ) {
        let reschedule = self.mode == ReplayMode::Reschedule;
        match self.live.get(&key) {
            Some(&task) if matches!(st.task(task).state, TaskState::Running { .. }) => {
                self.usage.push((task, usage));
            }
            Some(&task) if reschedule && st.task(task).state == TaskState::Pending => {
                // Not started yet: it starts from this usage (kept by the
                // cell's usage books, when the run keeps them).
                st.set_usage(now, task, usage);
                self.count("usage_kept_until_start");
            }
            Some(_) => self.count("usage_for_task_not_running"),
            None => match self.held_keys.get(&key).copied() {
                Some(id) if reschedule => {
                    if let Some(h) = self.dag.held_mut(id) {
                        h.extra.usage = Some(usage);
                    }
                    self.count("usage_kept_until_start");
                }
                Some(_) => self.count("usage_for_task_not_running"),
                None => self.count("usage_for_unknown_task"),
            },
        }
    }

    /// At the end of an `apply`: the updates of tasks that stopped running
    /// after their record was read (an end or an eviction later in the
    /// same instant) are taken out, so the driver gets updates of running
    /// tasks only. In re-schedule mode one evicted (pending again) keeps
    /// its usage for its next start; the others are dropped and counted.
    pub(super) fn settle_usage(&mut self, now: SimTime, st: &mut CellState) {
        if self.usage.is_empty() {
            return;
        }
        let reschedule = self.mode == ReplayMode::Reschedule;
        let mut dropped = 0u64;
        self.usage
            .retain(|&(task, usage)| match st.task(task).state {
                TaskState::Running { .. } => true,
                TaskState::Pending if reschedule => {
                    st.set_usage(now, task, usage);
                    false
                }
                _ => {
                    dropped += 1;
                    false
                }
            });
        if dropped > 0 {
            *self.counts.entry("usage_for_task_not_running").or_default() += dropped;
        }
    }
}
