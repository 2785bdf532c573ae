//! What drives a run's workload: a [`Feed`] applies submissions (and, for
//! traces, machine changes and the trace's own placements) to the cell at
//! their times.
//!
//! The driver asks the feed when its next event is due, calls
//! [`Feed::apply`] at that time, and tells it when a task it submitted is
//! done, so that trace replays can release DAG successors and forget the
//! task. Synthetic workloads are a [`JobSource`] behind [`JobFeed`].

use crate::cell::resources::{Request, Resources};
use crate::cell::state::CellState;
use crate::error::Result;
use crate::time::SimTime;
use crate::workload::{JobSource, JobSpec, Priority, TaskId};
use serde::Serialize;
use std::collections::BTreeMap;

/// What applying a feed's events asks of the driver.
#[derive(Debug, Default)]
pub struct Effects {
    /// Running tasks whose end is now known: `(when, task)`. The driver
    /// schedules the end for the task's current incarnation.
    pub ends: Vec<(SimTime, TaskId)>,
    /// Tasks were submitted or resources freed: a scheduling pass may place
    /// something.
    pub changed: bool,
}

/// How a trace was replayed (`summary.json` `trace.mode`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayKind {
    Reschedule,
    TracePlacement,
    OneByOne,
}

/// What a trace replay reports in `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct FeedReport {
    pub format: &'static str,
    pub mode: ReplayKind,
    pub trace_rows: u64,
    /// Task submissions read from the trace: what `trace inspect` counts.
    /// Replays at the trace's times account for each: `submissions_read =
    /// tasks.submitted + replay.submit_for_live_task` (a SUBMIT for a task
    /// still live is the same task). One-by-one replays read each pod once
    /// and then draw arrivals from them (`replay.tasks_drawn`).
    pub submissions_read: u64,
    /// Bad rows skipped (`--lenient`), by `table.field`.
    pub trace_rows_skipped: BTreeMap<String, u64>,
    /// Rows repaired by a documented rule, by rule.
    pub trace_rows_repaired: BTreeMap<String, u64>,
    /// Replay rules applied (events that did not match the simulated state),
    /// by rule.
    pub replay: BTreeMap<&'static str, u64>,
}

/// A task the workload submitted that the feed still holds outside the cell
/// (waiting for a DAG parent, not yet admitted). It counts as pending:
/// `pending.csv` lists it with its reason, and the conservation identity in
/// `summary.json` counts it under `pending_at_end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldTask {
    /// The trace job's id (its key in the trace), its name, and the task's
    /// label in it (`M1.0`, `3`).
    pub job_id: u64,
    pub job_name: String,
    pub task: String,
    pub priority: Priority,
    pub request: Request,
    /// When the workload submitted it.
    pub since: SimTime,
    /// Why it is held, e.g. `waiting_for_dependency M1`.
    pub reason: String,
}

/// A time-ordered workload.
pub trait Feed {
    /// When the next event is due; `None` when exhausted.
    fn next_time(&mut self) -> Result<Option<SimTime>>;
    /// Applies every event due at `now`.
    fn apply(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) -> Result<()>;
    /// A task this feed submitted is done (finished or killed).
    fn task_done(&mut self, _now: SimTime, _task: TaskId, _st: &mut CellState, _fx: &mut Effects) {}
    /// The trace's own label of a task this feed submitted (`3` for index
    /// 3; `2.0` for stage 2's first task), for outputs; `None` for
    /// synthetic workloads.
    fn trace_task(&self, _task: TaskId) -> Option<String> {
        None
    }
    /// The driver is between events and has reclaimed slots: the feed may
    /// forget the tasks done so far. Until then [`Feed::trace_task`] still
    /// names them (the event log writes a task's last rows after the event
    /// that ended it). A done task's name kept longer is harmless: a task
    /// that reuses its id is named at its submission, and that name wins.
    fn forget_done(&mut self) {}
    /// How many tasks [`Feed::held_tasks`] would list (cheap: asked at every
    /// sample).
    fn held_count(&self) -> u64 {
        0
    }
    /// A running task's run is over: true if the workload says it ended
    /// other than normally (a trace's KILL, FAIL, EVICT or LOST in
    /// re-schedule mode), so that it is counted killed, not finished.
    fn ends_killed(&mut self, _task: TaskId) -> bool {
        false
    }
    /// Tasks submitted by the workload but held outside the cell, in a
    /// deterministic order (see [`HeldTask`]).
    fn held_tasks(&self) -> Vec<HeldTask> {
        Vec::new()
    }
    /// The workload's typical pods, for the `fgd` policy and the paper's
    /// frag metric ([`crate::sched::typical`]): from the feed's own pod
    /// list when it knows it in advance (a trace replayed one by one: its
    /// list before shuffling and topping up), else from the first
    /// [`TYPICAL_SAMPLE_TASKS`] tasks it will submit, looked at ahead (a
    /// synthetic workload; a trace replayed at its times). Asked once,
    /// before the first scheduling pass (the cell's machines, and the
    /// attributes constraints name, are in by then). Default `None`: the
    /// driver then takes the tasks submitted by the first pass.
    ///
    /// # Errors
    /// Reading ahead failed (a trace's bad row, as its replay would meet
    /// it).
    fn typical_pods(
        &mut self,
        _st: &mut CellState,
    ) -> Result<Option<crate::sched::typical::TypicalPods>> {
        Ok(None)
    }
    /// Counts for `summary.json` (trace replays only).
    fn report(&self) -> Option<FeedReport> {
        None
    }
    /// Moves into `out` (appending) the usage updates the last
    /// [`Feed::apply`] read for tasks running in the cell: `(task, usage)`
    /// in the trace's order, milli-cores and MiB as the trace measured them
    /// (possibly above the task's request). A task's usage holds until its
    /// next update; a later update of the same task in `out` supersedes an
    /// earlier one. The driver takes them right after each `apply`; those
    /// not taken before the next `apply` are dropped, so a run that does
    /// not simulate usage holds none. A value for a task not running yet
    /// that the feed keeps (a re-schedule replay's pending task) it sets in
    /// the cell itself ([`CellState::set_usage`] on a pending task, which
    /// the task starts from). Default: none (synthetic workloads and
    /// traces without usage tables).
    fn take_usage(&mut self, _out: &mut Vec<(TaskId, Resources)>) {}
}

/// A [`JobSource`] as a feed: submits each job at its time.
pub struct JobFeed {
    source: Box<dyn JobSource>,
    next: Option<(SimTime, JobSpec)>,
    started: bool,
}

impl JobFeed {
    pub fn new(source: Box<dyn JobSource>) -> Self {
        JobFeed {
            source,
            next: None,
            started: false,
        }
    }
}

/// A job's request, constraints and task count.
fn shape(s: &JobSpec) -> (Request, &[crate::cell::attrs::Constraint], usize) {
    (s.request, &s.constraints[..], s.task_durations.len())
}

/// How many tasks of a workload read ahead the `fgd` policy's typical pods
/// are counted on: a synthetic workload's (see [`JobFeed`]'s
/// `typical_pods`) and a trace's replayed at its times (its first tasks).
pub const TYPICAL_SAMPLE_TASKS: u64 = 10_000;

impl Feed for JobFeed {
    /// For a source that can look ahead (a synthetic workload): the first
    /// [`TYPICAL_SAMPLE_TASKS`] tasks of the workload (whole jobs; fewer
    /// if it ends sooner) — those submitted so far, then those it will
    /// submit — each job's request and constraints once per task.
    fn typical_pods(
        &mut self,
        st: &mut CellState,
    ) -> Result<Option<crate::sched::typical::TypicalPods>> {
        let Some(ahead) = self.source.sample_ahead(TYPICAL_SAMPLE_TASKS) else {
            return Ok(None);
        };
        let submitted =
            (st.jobs().iter()).map(|j| (j.spec.request, &j.spec.constraints[..], j.tasks.len()));
        let next = self.next.iter().map(|(_, s)| shape(s));
        let later = ahead.iter().map(shape);
        let mut budget = TYPICAL_SAMPLE_TASKS as usize;
        let mut jobs = Vec::new();
        for (request, constraints, n) in submitted.chain(next).chain(later) {
            if budget == 0 {
                break;
            }
            budget = budget.saturating_sub(n);
            jobs.push((request, constraints, n));
        }
        let shapes = jobs
            .into_iter()
            .flat_map(|(r, c, n)| std::iter::repeat_n((r, c), n));
        Ok(Some(crate::sched::typical::TypicalPods::from_tasks(
            crate::sched::typical::TypicalSource::WorkloadAhead,
            shapes,
        )))
    }

    fn next_time(&mut self) -> Result<Option<SimTime>> {
        if !self.started {
            self.started = true;
            self.next = self.source.next_job();
        }
        Ok(self.next.as_ref().map(|(t, _)| *t))
    }

    fn apply(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) -> Result<()> {
        while self.next.as_ref().is_some_and(|(t, _)| *t == now) {
            let (_, spec) = self.next.take().expect("checked");
            st.submit_job(now, spec);
            fx.changed = true;
            self.next = self.source.next_job();
        }
        if let Some((t, _)) = &self.next {
            assert!(*t >= now, "the job source went back in time");
        }
        Ok(())
    }
}
