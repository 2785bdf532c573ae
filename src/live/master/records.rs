//! What the master remembers, as plain data: the rows its store keeps and
//! the live cell is rebuilt from.
//!
//! The live cell ([`super::core::LiveCell`]) holds these records beside
//! its scheduling state and marks the ones it changes; the store writes
//! those ([`Changes`]) before anything leaves the master (a launch, a
//! reply), and a restarted master rebuilds the cell from all of them
//! ([`Records`]). Machines are numbered in registration order and jobs in
//! submission order: the same order rebuilds the same cell.

use crate::live::proto::{AgentRegistration, JobSubmission, TaskState};

/// A machine as registered: its agent's registration (without the tasks
/// it ran then) and whether it is drained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineRecord {
    pub registration: AgentRegistration,
    pub drained: bool,
}

/// A job as submitted, and whether the user killed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRecord {
    pub submission: JobSubmission,
    /// Wall clock, ms since the Unix epoch.
    pub submitted_ms: u64,
    pub killed: bool,
}

/// One task's state as the master keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRow {
    pub state: TaskState,
    /// Its machine (registration order) while starting or running; the
    /// last one it ran on after.
    pub machine: Option<u32>,
    /// Starts so far: the launch of incarnation `n` is the n-th start
    /// (a job resubmitted under a finished job's name continues its count).
    pub incarnation: u32,
    /// Restarts after failures so far (`restart = on_failure`).
    pub restarts: u32,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Why it could not start, when the agent said.
    pub detail: Option<String>,
    pub started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    /// Machines it failed on, oldest first (at most a few): the scheduler
    /// does not put it back there next.
    pub failed_on: Vec<u32>,
}

/// Failed-on machines kept per task.
const MAX_FAILED_ON: usize = 8;

impl TaskRow {
    /// It failed on machine `m`: remembered, the oldest forgotten past
    /// the eight most recent (`MAX_FAILED_ON`).
    pub fn note_failed_on(&mut self, m: u32) {
        if self.failed_on.len() == MAX_FAILED_ON {
            self.failed_on.remove(0);
        }
        self.failed_on.push(m);
    }

    /// A task not yet started, its incarnations counted from `base`.
    pub fn pending(base: u32) -> TaskRow {
        TaskRow {
            state: TaskState::Pending,
            machine: None,
            incarnation: base,
            restarts: 0,
            exit_code: None,
            signal: None,
            detail: None,
            started_ms: None,
            ended_ms: None,
            failed_on: Vec::new(),
        }
    }

    /// Placed on a machine and asked to start, or already running.
    pub fn is_on_machine(&self) -> bool {
        matches!(self.state, TaskState::Starting | TaskState::Running)
    }
}

/// Everything the master remembers: machines in registration order, jobs
/// in submission order, each with its tasks by index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    pub machines: Vec<MachineRecord>,
    pub jobs: Vec<(JobRecord, Vec<TaskRow>)>,
}

/// The records changed since the store last wrote: rows to insert or
/// replace, by key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// (registration order, record).
    pub machines: Vec<(u32, MachineRecord)>,
    /// (submission order, record).
    pub jobs: Vec<(u32, JobRecord)>,
    /// (job's submission order, task index, row).
    pub tasks: Vec<(u32, u32, TaskRow)>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.machines.is_empty() && self.jobs.is_empty() && self.tasks.is_empty()
    }
}
