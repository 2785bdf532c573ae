//! Jobs, tasks, priorities and bands.
//!
//! As in Borg, a job is a set of identical tasks (same request, constraints and
//! priority); tasks differ only in how long they run. The priority is an
//! integer, and the band is a range of priorities, so that a higher band always
//! outranks a lower one. The ranges follow the Google 2019 trace's tiers:
//!
//! | band        | priorities | prod? |
//! |-------------|------------|-------|
//! | best_effort | 0–99       | no    |
//! | batch       | 100–119    | no    |
//! | production  | 120–359    | yes   |
//! | monitoring  | 360 and up | yes   |

use crate::cell::attrs::Constraint;
use crate::cell::domain::DomainLevel;
use crate::cell::resources::Request;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

pub type Priority = u32;
pub type JobId = u32;
pub type TaskId = u32;

/// Borg's priority bands, low to high. Their names are serde's; strum
/// derives the same rule for [`Band::name`] and the variant list
/// (tests/it/schema.rs checks that the two agree).
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Band {
    BestEffort,
    Batch,
    Production,
    Monitoring,
}

impl Band {
    /// All bands, low to high (declaration order, which [`Band::index`]
    /// follows).
    pub const ALL: &'static [Band] = <Band as strum::VariantArray>::VARIANTS;

    /// The lowest priority of the production band: every priority at or above
    /// it is prod.
    pub const PROD_MIN_PRIORITY: Priority = 120;

    /// The band a priority falls in.
    pub fn of(p: Priority) -> Band {
        match p {
            0..=99 => Band::BestEffort,
            100..=119 => Band::Batch,
            120..=359 => Band::Production,
            _ => Band::Monitoring,
        }
    }

    /// The inclusive priority range of the band.
    pub fn range(self) -> (Priority, Priority) {
        match self {
            Band::BestEffort => (0, 99),
            Band::Batch => (100, 119),
            Band::Production => (120, 359),
            Band::Monitoring => (360, Priority::MAX),
        }
    }

    /// The priority a job of this band gets when the scenario names none.
    pub fn default_priority(self) -> Priority {
        self.range().0
    }

    /// Prod = monitoring + production (Borg paper).
    pub fn is_prod(self) -> bool {
        matches!(self, Band::Production | Band::Monitoring)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    /// The band's name in scenarios and outputs: `best_effort`, `batch`,
    /// `production`, `monitoring`.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// How many of a job's tasks may share one failure domain.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SpreadLimit {
    pub level: DomainLevel,
    pub max_tasks: u32,
}

/// A job's name: a shared base (a class or trace name) and an optional
/// serial, shown as `base-serial`. Generated workloads make millions of
/// jobs; sharing the base keeps names from costing an allocation each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobName {
    pub base: Arc<str>,
    pub serial: Option<u64>,
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.serial {
            Some(n) => write!(f, "{}-{n}", self.base),
            None => f.write_str(&self.base),
        }
    }
}

impl From<&str> for JobName {
    fn from(s: &str) -> Self {
        JobName {
            base: s.into(),
            serial: None,
        }
    }
}

impl From<String> for JobName {
    fn from(s: String) -> Self {
        JobName {
            base: s.into(),
            serial: None,
        }
    }
}

/// Everything the scheduler needs to know about a job, fixed at submission.
#[derive(Clone, Debug)]
pub struct JobSpec {
    pub name: JobName,
    pub user: Arc<str>,
    pub priority: Priority,
    /// The request of each task.
    pub request: Request,
    pub constraints: Vec<Constraint>,
    /// Limits on tasks of this job per machine / rack / power domain.
    pub spread: Vec<SpreadLimit>,
    /// One entry per task: how long it runs once started; `None` = a service
    /// that runs until the end of the simulation.
    pub task_durations: Vec<Option<SimDuration>>,
}

impl JobSpec {
    pub fn band(&self) -> Band {
        Band::of(self.priority)
    }
    pub fn task_count(&self) -> usize {
        self.task_durations.len()
    }

    /// What a submitted job keeps: the spec without the per-task durations
    /// (they move into the task records), in boxed slices. Millions of jobs
    /// are kept for the whole run, so every byte here counts.
    pub fn into_info(self) -> JobInfo {
        JobInfo {
            name: self.name,
            user: self.user,
            priority: self.priority,
            request: self.request,
            constraints: self.constraints.into_boxed_slice(),
            spread: self.spread.into_boxed_slice(),
        }
    }
}

/// A submitted job's description (see [`JobSpec::into_info`]).
#[derive(Clone, Debug)]
pub struct JobInfo {
    pub name: JobName,
    pub user: Arc<str>,
    pub priority: Priority,
    pub request: Request,
    pub constraints: Box<[Constraint]>,
    pub spread: Box<[SpreadLimit]>,
}

impl JobInfo {
    pub fn band(&self) -> Band {
        Band::of(self.priority)
    }
}

/// A job's task ids; one-task jobs (most of a large workload) without an
/// allocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TaskIds {
    #[default]
    None,
    One(TaskId),
    Many(Box<[TaskId]>),
}

impl From<Vec<TaskId>> for TaskIds {
    fn from(v: Vec<TaskId>) -> Self {
        match v.as_slice() {
            [] => TaskIds::None,
            [one] => TaskIds::One(*one),
            _ => TaskIds::Many(v.into_boxed_slice()),
        }
    }
}

impl FromIterator<TaskId> for TaskIds {
    fn from_iter<I: IntoIterator<Item = TaskId>>(it: I) -> Self {
        TaskIds::from(it.into_iter().collect::<Vec<_>>())
    }
}

impl std::ops::Deref for TaskIds {
    type Target = [TaskId];
    fn deref(&self) -> &[TaskId] {
        match self {
            TaskIds::None => &[],
            TaskIds::One(t) => std::slice::from_ref(t),
            TaskIds::Many(v) => v,
        }
    }
}

/// A submitted job.
#[derive(Clone, Debug)]
pub struct Job {
    pub id: JobId,
    /// The job's interned shape (an index into the cell state's shapes).
    pub shape: u32,
    pub spec: JobInfo,
    pub submit_time: SimTime,
    /// The job's tasks by index. Ids of finished tasks are reused once
    /// [`CellState::reclaim`](crate::cell::state::CellState::reclaim) has run.
    pub tasks: TaskIds,
    /// False if no machine of the cell could host a task even when empty.
    pub ever_schedulable: bool,
    /// The job's submission serial, never reused (ids are).
    pub serial: u64,
    /// The trace job this job is a part of, if a trace replay submitted it
    /// (its key in the trace): a trace job whose tasks differ in shape or
    /// arrive at different instants is submitted as several jobs, which
    /// share its identity (spread counters, the id outputs show).
    pub trace_job: Option<u64>,
}

impl Job {
    pub fn task_count(&self) -> u32 {
        self.tasks.len() as u32
    }
    pub fn band(&self) -> Band {
        self.spec.band()
    }
    pub fn priority(&self) -> Priority {
        self.spec.priority
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_partition_priorities_in_order() {
        assert_eq!(Band::of(0), Band::BestEffort);
        assert_eq!(Band::of(99), Band::BestEffort);
        assert_eq!(Band::of(100), Band::Batch);
        assert_eq!(Band::of(119), Band::Batch);
        assert_eq!(Band::of(Band::PROD_MIN_PRIORITY), Band::Production);
        assert_eq!(Band::of(360), Band::Monitoring);
        for b in Band::ALL {
            let (lo, hi) = b.range();
            assert_eq!(Band::of(lo), *b);
            assert_eq!(Band::of(hi), *b);
            assert_eq!(b.is_prod(), lo >= Band::PROD_MIN_PRIORITY);
        }
    }
}
