//! Workloads: jobs of identical tasks, and the generators that submit them.
//!
//! A workload source yields jobs in non-decreasing submission time. The
//! synthetic generator draws them from distributions named in the scenario;
//! trace readers (a later addition) will implement the same [`JobSource`]
//! trait, so the simulation driver never knows where its jobs come from.

pub mod dist;
pub mod edit;
pub mod job;
pub mod synthetic;
pub mod usage;

pub use job::{Band, Job, JobId, JobSpec, Priority, SpreadLimit, TaskId};

use crate::time::SimTime;

/// A time-ordered source of job submissions.
pub trait JobSource {
    /// The next job and its submission time, or `None` when exhausted.
    /// Times must be non-decreasing across calls.
    fn next_job(&mut self) -> Option<(SimTime, JobSpec)>;
    /// The jobs this source will submit first, in order, until they hold
    /// at least `max_tasks` tasks (or the source ends), without consuming
    /// them; `None` if the source cannot look ahead. The `fgd` policy's
    /// typical pods are counted on them (see `sched::typical`).
    fn sample_ahead(&self, _max_tasks: u64) -> Option<Vec<JobSpec>> {
        None
    }
}

/// A fixed list of jobs, for tests, examples and (later) converted traces.
pub struct ListSource {
    jobs: std::collections::VecDeque<(SimTime, JobSpec)>,
}

impl ListSource {
    /// Jobs are sorted by submission time; equal times keep their list order.
    pub fn new(mut jobs: Vec<(SimTime, JobSpec)>) -> Self {
        jobs.sort_by_key(|(t, _)| *t);
        ListSource { jobs: jobs.into() }
    }
}

impl JobSource for ListSource {
    fn next_job(&mut self) -> Option<(SimTime, JobSpec)> {
        self.jobs.pop_front()
    }
}
