//! The plugin interfaces: one small trait per scheduling stage.
//!
//! As in the Kubernetes scheduler framework, plugins answer questions about a
//! single (task, machine) pair; the pipeline in [`super::pipeline`] owns the
//! loops over machines, the weights and the choice. Plugins are small structs,
//! one per file under `plugins/`, and never mutate the cell.
//!
//! Every plugin also declares what of a task it reads ([`Plugin::sign`]):
//! the scale techniques serve tasks with equal declarations from one cache of
//! verdicts, so the declaration, not a list kept elsewhere, decides which
//! tasks are interchangeable (see [`super::class_key`]). The method has no
//! default: a new plugin cannot be added without saying what it reads. A
//! plugin that reads more than it declares makes the caches change
//! decisions, which the technique identity tests (`tests/it/techniques.rs`,
//! `tests/it/user_plugins.rs`) are there to catch.

use super::class_key::{ClassKeyBuilder, Signed};
use super::reason::Reason;
use crate::cell::state::usage::Basis;
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
    /// The machines this task failed on within the scheduler's memory
    /// (`[scheduler] avoid_failed_s`), ascending; empty for most tasks, and
    /// for every task when failures are not remembered.
    pub failed_on: &'a [MachineId],
    /// What the task is admitted against, as the pipeline decided it
    /// ([`CellState::basis_for`]): the limits of the tasks on a machine, or
    /// — non-prod with reclamation on — their reservations. The resource
    /// filter and the scorers read the machine's headroom on this basis
    /// ([`CellState::headroom`]), and preemption frees it.
    pub basis: Basis,
}

impl<'a> TaskView<'a> {
    /// A task of `job` with no failure history, admitted against limits.
    pub fn of_job(job: &'a Job, preempt_below: Option<Priority>) -> Self {
        TaskView {
            job,
            preempt_below,
            failed_on: &[],
            basis: Basis::Limit,
        }
    }
}

/// A machine that passed a filter, and whether it needs evictions.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fit {
    /// Fits in the machine's free resources.
    Free,
    /// Fits only if some preemptible tasks are evicted.
    WithPreemption,
}

/// What every filter and scorer has: a name, and the declaration of what
/// of a task its answers depend on.
pub trait Plugin {
    /// The name reports and assertion messages use.
    fn name(&self) -> &'static str;
    /// Declares what this plugin reads of `task`: writes into `key`, in a
    /// fixed order, every value of the task that its `applies`, `filter` or
    /// `score` look at (or a value derived from them that determines its
    /// answers), and returns [`Signed::Shareable`]; or returns
    /// [`Signed::Unsignable`] if its answers for this task depend on more
    /// than the task and the machine's own state (see [`Signed`]). Called
    /// once per scheduling attempt, so keep it to a few words.
    fn sign(&self, task: &TaskView, key: &mut ClassKeyBuilder) -> Signed;
}

/// Decides whether a task may run on a machine.
pub trait Filter: Plugin {
    /// False if this filter admits every machine for `task` (say, a
    /// constraint filter for a task without constraints): the pipeline then
    /// skips it. Asked once per task, not once per machine.
    fn applies(&self, _task: &TaskView) -> bool {
        true
    }
    fn filter(&self, st: &CellState, task: &TaskView, machine: MachineId) -> Result<Fit, Reason>;
}

/// Ranks the machines that passed every filter.
pub trait Score: Plugin {
    /// A score in `0..=MAX_SCORE` for placing `task` on `machine`, evaluated
    /// on the machine's free resources after the placement. The pipeline
    /// asserts the bound, naming the scorer.
    fn score(&self, st: &CellState, task: &TaskView, machine: MachineId) -> u64;
}
