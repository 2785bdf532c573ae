//! The trace's usage records in the stream feed: an update for the driver
//! when the task runs in the cell, else dropped and counted, by the rules
//! in the parent module's docs.

use super::StreamFeed;
use crate::cell::resources::Resources;
use crate::cell::state::{CellState, TaskState};
use crate::trace::TaskKey;

impl StreamFeed {
    /// A usage record of trace task `key`.
    pub(super) fn on_usage(&mut self, key: TaskKey, usage: Resources, st: &CellState) {
        match self.live.get(&key) {
            Some(&task) if matches!(st.task(task).state, TaskState::Running { .. }) => {
                self.usage.push((task, usage));
            }
            Some(_) => self.count("usage_for_task_not_running"),
            None if self.held_keys.contains_key(&key) => self.count("usage_for_task_not_running"),
            None => self.count("usage_for_unknown_task"),
        }
    }

    /// At the end of an `apply`: drops (and counts) the updates of tasks
    /// that stopped running after their record was read (an end or an
    /// eviction later in the same instant), so the driver gets updates of
    /// running tasks only.
    pub(super) fn settle_usage(&mut self, st: &CellState) {
        if self.usage.is_empty() {
            return;
        }
        let before = self.usage.len();
        self.usage
            .retain(|&(task, _)| matches!(st.task(task).state, TaskState::Running { .. }));
        let dropped = (before - self.usage.len()) as u64;
        if dropped > 0 {
            *self.counts.entry("usage_for_task_not_running").or_default() += dropped;
        }
    }
}
