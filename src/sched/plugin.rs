//! The plugin interfaces: one small trait per scheduling stage.
//!
//! As in the Kubernetes scheduler framework, plugins answer questions about a
//! single (task, machine) pair; the pipeline in [`super::pipeline`] owns the
//! loops over machines, the weights and the choice. Plugins are small structs,
//! one per file under `plugins/`, and never mutate the cell.

use super::reason::Reason;
use crate::cell::state::CellState;
use crate::cell::MachineId;
use crate::workload::{Job, Priority};

/// Scores range over `0..=MAX_SCORE`; higher is better.
pub const MAX_SCORE: u64 = 10_000;

/// The task being placed, as the plugins see it.
#[derive(Copy, Clone, Debug)]
pub struct TaskView<'a> {
    pub job: &'a Job,
    /// With preemption on: running tasks with a priority below this may be
    /// evicted to make room. `None` with preemption off.
    pub preempt_below: Option<Priority>,
}

/// A machine that passed a filter, and whether it needs evictions.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    /// Fits in the machine's free resources.
    Free,
    /// Fits only if some preemptible tasks are evicted.
    WithPreemption,
}

/// Decides whether a task may run on a machine.
pub trait Filter {
    fn name(&self) -> &'static str;
    /// False if this filter admits every machine for `task` (say, a
    /// constraint filter for a task without constraints): the pipeline then
    /// skips it. Asked once per task, not once per machine.
    fn applies(&self, _task: &TaskView) -> bool {
        true
    }
    fn filter(&self, st: &CellState, task: &TaskView, machine: MachineId) -> Result<Fit, Reason>;
}

/// Ranks the machines that passed every filter.
pub trait Score {
    fn name(&self) -> &'static str;
    /// A score in `0..=MAX_SCORE` for placing `task` on `machine`, evaluated
    /// on the machine's free resources after the placement.
    fn score(&self, st: &CellState, task: &TaskView, machine: MachineId) -> u64;
}
