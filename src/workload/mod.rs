//! Workloads: jobs of identical tasks, and the generators that submit them.
//!
//! A workload source yields jobs in non-decreasing submission time. The
//! synthetic generator draws them from distributions named in the scenario;
//! trace readers (a later addition) will implement the same [`JobSource`]
//! trait, so the simulation driver never knows where its jobs come from.

pub mod dist;
pub mod job;
pub mod synthetic;

pub use job::{Band, Job, JobId, JobSpec, Priority, SpreadLimit, TaskId};

use crate::time::SimTime;

/// A time-ordered source of job submissions.
pub trait JobSource {
    /// The next job and its submission time, or `None` when exhausted.
    /// Times must be non-decreasing across calls.
    fn next_job(&mut self) -> Option<(SimTime, JobSpec)>;
}
