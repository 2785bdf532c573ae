//! The records the cell state keeps: tasks, their interned shapes, eviction
//! causes, and the ledger of running totals.

use crate::cell::classes::MAX_GROUPS;
use crate::cell::resources::Resources;
use crate::cell::MachineId;
use crate::time::{SimDuration, SimTime};
use crate::workload::{Band, JobId, Priority};

/// Where a task is. A running task's GPU devices are kept by the cell
/// state apart ([`super::CellState::gpu_alloc`]): most tasks hold none.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TaskState {
    Pending,
    Running { machine: MachineId, since: SimTime },
    Finished,
}

/// The `job` of a task slot that belongs to no job (its job was retired
/// and the slot waits for reuse).
pub const FREE_SLOT: JobId = JobId::MAX;

/// One task's record: 64 bytes, aligned to a cache line, so that the
/// completion of a task started long ago (its record cold) costs one miss,
/// not two. Optional times are kept as µs with `u64::MAX` (`NO_TIME`) for "none".
#[derive(Clone, Debug)]
#[repr(align(64))]
pub struct TaskRecord {
    pub job: JobId,
    pub index: u32,
    /// The task's [`Shape`] (index into the cell state's shapes; see
    /// [`super::CellState::shape`]).
    pub shape: u32,
    /// Bumped at every start, so a completion scheduled for an earlier start
    /// (before an eviction) is recognised as stale.
    pub incarnation: u32,
    pub evictions: u32,
    pub state: TaskState,
    /// When the task last entered the pending queue.
    pub pending_since: SimTime,
    /// How long the task runs once started, µs; `NO_TIME` = until the
    /// run ends.
    pub(super) duration_us: u64,
    /// When the task first started, µs; `NO_TIME` if never.
    pub(super) first_start_us: u64,
}

/// The µs value of an absent duration or start time. A duration or time of
/// exactly `u64::MAX` µs (584,542 years) is kept as one µs less.
pub(super) const NO_TIME: u64 = u64::MAX;

/// `Some(us)` as µs (at most `NO_TIME − 1`), `None` as `NO_TIME`.
pub(super) fn us_or_none(us: Option<u64>) -> u64 {
    us.map_or(NO_TIME, |u| u.min(NO_TIME - 1))
}

impl TaskRecord {
    /// A pending task of `job`, never started.
    pub fn new(
        job: JobId,
        index: u32,
        shape: u32,
        duration: Option<SimDuration>,
        pending_since: SimTime,
    ) -> Self {
        TaskRecord {
            job,
            index,
            shape,
            incarnation: 0,
            evictions: 0,
            state: TaskState::Pending,
            pending_since,
            duration_us: us_or_none(duration.map(|d| d.as_us())),
            first_start_us: NO_TIME,
        }
    }

    /// How long the task runs once started; `None` = until the run ends.
    pub fn duration(&self) -> Option<SimDuration> {
        (self.duration_us != NO_TIME).then_some(SimDuration(self.duration_us))
    }

    /// When the task first started, if ever.
    pub fn first_start(&self) -> Option<SimTime> {
        (self.first_start_us != NO_TIME).then_some(SimTime(self.first_start_us))
    }
}

/// What placing, evicting and completing a task needs to know of its job,
/// interned per distinct value so that these hot paths read one small,
/// cache-resident table instead of the (large, cold) job record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    pub request: crate::cell::resources::Request,
    pub priority: Priority,
}

impl Shape {
    pub fn band(&self) -> Band {
        Band::of(self.priority)
    }
}

/// Why a running task was stopped before it finished. Its names (the keys
/// of `summary.json`'s `evictions`) and variant list are derived.
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum EvictionCause {
    /// A higher-priority task needed its resources.
    Preemption,
    /// Its machine went down or was removed from the cell.
    MachineDown,
    /// Its machine's capacity shrank below what its tasks hold.
    MachineShrunk,
    /// A replayed trace says so (trace-placement mode).
    Trace,
    /// An injected fault: the machine failed, its rack or power domain went
    /// out, or it stayed unreachable past the grace period and its tasks
    /// were declared lost.
    MachineFailure,
    /// Its machine was drained for planned maintenance.
    Maintenance,
    /// The task crashed by itself; its job restarts it (it is pending again).
    TaskCrash,
    /// Its machine ran out of memory: the tasks' usage exceeded what the
    /// machine has (reclamation on: non-prod runs in reclaimed resources,
    /// `super::usage`), and the lowest-priority tasks were killed until it
    /// fitted. Never a prod task.
    OutOfMemory,
}

impl EvictionCause {
    /// Every cause, in declaration order (`cause as usize` indexes by it).
    pub const ALL: &'static [EvictionCause] = <EvictionCause as strum::VariantArray>::VARIANTS;

    /// `preemption`, `machine_down`, `machine_shrunk`, `trace`,
    /// `machine_failure`, `maintenance`, `task_crash`, `out_of_memory`.
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// The causes as the Borg paper's Figure 3 groups them (evictions per
/// task-week by cause). [`EvictionGroup::of`] is the one mapping.
#[derive(
    Copy,
    Clone,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[strum(serialize_all = "snake_case")]
pub enum EvictionGroup {
    /// `preemption`.
    Preemption,
    /// `machine_failure`, and a trace's `machine_down`: a trace's machine
    /// removal does not say whether the machine failed or was shut down
    /// for maintenance, so it is counted as a failure.
    MachineFailure,
    /// `maintenance` (the paper's "machine shutdown").
    Maintenance,
    /// `machine_shrunk` (the machine no longer holds its tasks) and
    /// `out_of_memory` (reclamation's kills when usage outgrows memory).
    OutOfResources,
    /// `trace` (a replayed trace's own evictions, cause unknown) and
    /// `task_crash`.
    Other,
}

impl EvictionGroup {
    /// Every group, in declaration order (`group as usize` indexes by it).
    pub const ALL: &'static [EvictionGroup] = <EvictionGroup as strum::VariantArray>::VARIANTS;

    /// The group of a cause.
    pub fn of(cause: EvictionCause) -> EvictionGroup {
        match cause {
            EvictionCause::Preemption => EvictionGroup::Preemption,
            EvictionCause::MachineFailure | EvictionCause::MachineDown => {
                EvictionGroup::MachineFailure
            }
            EvictionCause::Maintenance => EvictionGroup::Maintenance,
            EvictionCause::MachineShrunk | EvictionCause::OutOfMemory => {
                EvictionGroup::OutOfResources
            }
            EvictionCause::Trace | EvictionCause::TaskCrash => EvictionGroup::Other,
        }
    }

    /// `preemption`, `machine_failure`, `maintenance`, `out_of_resources`,
    /// `other` (summary.json's keys).
    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The label the paper's figure gives the group.
    pub fn paper_label(self) -> &'static str {
        match self {
            EvictionGroup::Preemption => "preemption",
            EvictionGroup::MachineFailure => "machine failure",
            EvictionGroup::Maintenance => "machine shutdown",
            EvictionGroup::OutOfResources => "out of resources",
            EvictionGroup::Other => "other",
        }
    }
}

/// Lowers a count that can never be negative. Going below zero is a
/// bookkeeping bug, not a value to clamp: the run stops, naming the count
/// (TigerBeetle's habit of asserting where state changes).
#[track_caller]
pub(crate) fn lower<T>(count: &mut T, by: T, what: &str)
where
    T: Copy + std::fmt::Display + std::ops::Sub<Output = T> + PartialOrd,
{
    assert!(
        *count >= by,
        "count {what} would go below zero ({count} - {by})"
    );
    *count = *count - by;
}

/// Running totals kept exact at every change.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    pub tasks_submitted: u64,
    pub placements: u64,
    pub tasks_finished: u64,
    /// Tasks withdrawn before finishing (pending or running): part of
    /// `tasks_finished`.
    pub tasks_killed: u64,
    /// Pending tasks withdrawn because nothing fitted them (the openb
    /// protocol's dropped arrivals): part of `tasks_killed`.
    pub tasks_dropped: u64,
    /// GPU milli-units asked for by all tasks submitted so far.
    pub gpu_milli_submitted: u64,
    pub evictions: [u64; EvictionCause::ALL.len()],
    /// Evictions by cause and band (`[cause as usize][band.index()]`).
    pub evictions_by_band: [[u64; 4]; EvictionCause::ALL.len()],
    /// Work lost by eviction, by cause and band: the time each evicted task
    /// had run since its placement (it restarts from scratch), in task·µs.
    pub lost_work_us: [[u128; 4]; EvictionCause::ALL.len()],
    /// ∫ running tasks dt per band, in task·µs (task-weeks once divided).
    pub running_integral_us: [u128; 4],
    pub running_by_band: [u64; 4],
    pub pending_by_band: [u64; 4],
    pub alloc_by_band: [Resources; 4],
    pub gpu_milli_by_band: [u64; 4],
    /// ∫ allocation dt per band, in (milli-core·µs, MiB·µs, GPU-milli·µs).
    pub alloc_integral: [[u128; 3]; 4],
    /// Submission → first start, per band, in µs.
    pub wait_us: [crate::metrics::waits::Waits; 4],
    pub jobs_submitted: u64,
    /// Tasks whose slots were reclaimed (all finished).
    pub tasks_reclaimed: u64,
    /// Tasks submitted per band.
    pub submitted_by_band: [u64; 4],
    /// Tasks that started at least once.
    pub tasks_started: u64,
    /// Tasks evicted at least once, per band.
    pub evicted_tasks_by_band: [u64; 4],
    /// GPU milli-units of tasks withdrawn before they ever started.
    pub gpu_milli_never_started: u64,
    /// Allocated to running tasks per machine class group
    /// ([`crate::cell::classes`]), as (milli-cores, MiB, GPU milli).
    pub alloc_by_class: [[u64; 3]; MAX_GROUPS],
    /// ∫ `alloc_by_class` dt, in the units of `alloc_integral`.
    pub class_integral: [[u128; 3]; MAX_GROUPS],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_record_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<TaskRecord>(), 64);
        assert_eq!(std::mem::align_of::<TaskRecord>(), 64);
    }

    #[test]
    fn absent_times_and_their_edges_read_back() {
        let mut r = TaskRecord::new(1, 0, 0, None, SimTime(5));
        assert_eq!((r.duration(), r.first_start()), (None, None));
        for us in [0, 1, 86_400_000_000, NO_TIME - 1] {
            r = TaskRecord::new(1, 0, 0, Some(SimDuration(us)), SimTime(5));
            assert_eq!(r.duration(), Some(SimDuration(us)));
        }
        // u64::MAX µs is kept one µs short, never read as "none".
        r = TaskRecord::new(1, 0, 0, Some(SimDuration(u64::MAX)), SimTime(5));
        assert_eq!(r.duration(), Some(SimDuration(NO_TIME - 1)));
        r.first_start_us = us_or_none(Some(0));
        assert_eq!(r.first_start(), Some(SimTime(0)));
    }
}
