//! Replay at the trace's own times.
//!
//! Rules, for events that do not match the simulated state (each counted in
//! `summary.json` under `trace.replay` by the name in brackets):
//! - **One job per trace job.** Submissions of the same job and stage at
//!   the same time with the same shape become one borgsim job of several
//!   tasks (so equivalence classes see them as the trace's scheduler did);
//!   a trace job's other tasks (other instants, other shapes) become further
//!   *parts* sharing its identity: spread limits count all its running
//!   tasks, `jobs_submitted` counts it once, `pending.csv` shows its key
//!   (see `replay/jobs.rs`; parts counted only once a later task brought
//!   a limit \[`spread_parts_counted_late`\]).
//! - A submission for a task that is still live (in the cell, or held) is
//!   ignored \[`submit_for_live_task`\] (the 2011 trace resubmits evicted
//!   tasks).
//! - **DAG dependencies** (`after`), whatever the order or timestamps of
//!   the rows: a task is held outside the cell until every stage it waits
//!   for has appeared and is done in the simulation
//!   \[`held_for_dependencies`: tasks held at least once\]; a stage that never
//!   appears is taken as done when the trace ends, releasing the tasks held
//!   for it then \[`dependency_never_submitted`\]; a stage whose size the
//!   trace gives waits for all its tasks, or the trace's end
//!   \[`dependency_instances_missing`\] (see `replay/dag.rs`). A
//!   held task is pending: [`Feed::held_tasks`] lists it for `pending.csv`.
//!   What the trace does with a held task is kept for when it is released:
//!   a SCHEDULE is its trace start (re-schedule mode) or its placement,
//!   applied when it is released (trace-placement mode)
//!   \[`schedule_while_held`\]; an END while held gives its run length, which
//!   it runs once released \[`end_while_held`\], or withdraws it if the trace
//!   never ran it (or, placing as the trace did, killed it)
//!   \[`withdrawn_while_held`\] — submitted and killed at once, so that every
//!   task is accounted for.
//! - **Re-schedule mode.** A task's run length is the trace's: its end
//!   event's time minus its last SCHEDULE (0 if it never ran in the trace),
//!   unless the trace gave it at submission. Known at submission, it is just
//!   the task's duration. Learned at the end event (streaming cannot look
//!   ahead): a running task ends at `start + run length`, or now if that is
//!   already past \[`end_late`\]; a pending one keeps the length for when it
//!   starts, or is withdrawn if the trace never ran it
//!   \[`withdrawn_before_start`\]. A run the trace ended other than by
//!   FINISH (EVICT, FAIL, KILL, LOST), whether its END says so or its
//!   submission did ([`TraceTask::end_kind`]), ends as killed:
//!   `tasks.killed`, not `finished`. Every end frees the trace key: a later SUBMIT of the same
//!   task is a new run. A FAIL END of a run that is running in the
//!   simulation is also a failure on its machine: the trace task's next
//!   run (a later SUBMIT of the same key) starts with it in its failure
//!   history, so with `[scheduler] avoid_failed_s` it avoids that machine
//!   (see `stream/failed.rs`).
//! - **Trace-placement mode.** SCHEDULE places the task on the trace's
//!   machine if it fits there (a placement that breaks the task's
//!   constraints or its job's spread limits is followed and counted
//!   \[`schedule_breaks_constraint`\], \[`schedule_breaks_spread_limit`\]),
//!   else leaves it pending
//!   \[`schedule_does_not_fit`\] (the trace overcommits; borgsim does not);
//!   EVICT and FAIL send a running task back to pending — FAIL as the
//!   task's own failure, an eviction with cause `task_crash` (the failure
//!   history remembers it: a later SCHEDULE onto that machine within
//!   `avoid_failed_s` is followed and counted
//!   \[`schedule_breaks_failure_history`\]), EVICT with cause `trace`, its
//!   cause unknown (preemption, overcommitment, the machine); FINISH, KILL and
//!   LOST end it (LOST counted killed); a run length known at submission ends it too, if no END
//!   comes first. A released task whose trace run is already over and whose
//!   placement does not fit is withdrawn (no later event could place it).
//! - **Machine events** take machines down and up and resize them (tasks
//!   that no longer fit are evicted \[`machine_event_evicted_tasks`\]), and
//!   give them new attributes \[`machine_attributes_changed`\]: constraints
//!   are judged against them from then on; tasks already running stay. The
//!   failure-domain tree is the one the machine tables first give: an event
//!   that moves a machine to another rack is counted, not applied
//!   \[`machine_rack_change_ignored`\].
//! - Events for unknown tasks or machines are ignored \[`end_for_unknown_task`\]
//!   (this includes the END of a run that borgsim already ended at the
//!   length the trace gave at submission, as Alibaba's batch_instance does),
//!   \[`schedule_for_unknown_task`\], \[`schedule_on_unknown_machine`\].
//! - **Usage** (traces with usage tables, [`TraceEvent::Usage`]): a usage
//!   record of a task running in the cell becomes an update handed to the
//!   driver ([`Feed::take_usage`]), as the trace measured it (the cell
//!   clamps it at the task's limit); it holds until the task's next one (a
//!   step, not an interpolation), and a task with none yet uses its limit.
//!   The value is the task's, not its placement's: a task evicted and
//!   placed again starts from the last value the trace gave it (the
//!   cell's usage books keep it while the task is live). In **re-schedule
//!   mode** borgsim starts tasks at its own times, so a record of a task
//!   the replay knows but that has not started — pending in the cell (or
//!   in the reschedule queue), held for its dependencies, or evicted
//!   later in the same instant — is that task's *current* usage: kept,
//!   one value per task (a later record replaces it), and the task starts
//!   from it when borgsim places it \[`usage_kept_until_start`\]. So a
//!   value the trace gives only at a run's start (Alibaba's
//!   `batch_instance`, read while the task waits for borgsim's pass) or a
//!   5-minute window of a task borgsim has not placed yet (Google 2011
//!   and 2019) is not lost. In trace-placement mode the trace says when
//!   tasks run, so a record of a task that is live but not running —
//!   pending in the cell (its placement did not fit), held, or ended in
//!   the same instant — is dropped \[`usage_for_task_not_running`\]. In
//!   either mode a record of a task not live (never submitted, its run
//!   already ended, left out of the cell) is dropped too
//!   \[`usage_for_unknown_task`\]. Memory follows live tasks: one value
//!   per task, nothing per row.
//! - **A replay on some of the trace's machines** (`crate::BuildOptions`,
//!   cell compaction's probes): the events of the machines left out are
//!   ignored \[`machine_event_excluded`\], and so is a SCHEDULE onto one
//!   \[`schedule_on_excluded_machine`\].

pub(crate) mod ahead;
mod failed;
mod held;
mod placed;
mod usage;

use super::dag::{Dag, Held};
use super::jobs::TraceJobs;
use super::{job_spec, same_shape, Context, LiveMap};
use crate::cell::resources::Resources;
use crate::cell::state::{CellState, EvictionCause, TaskState};
use crate::error::Result;
use crate::scenario::ReplayMode;
use crate::sim::feed::{Effects, Feed, FeedReport, HeldTask, ReplayKind};
use crate::time::{SimDuration, SimTime};
use crate::trace::{EndKind, TaskKey, TraceEvent, TraceReader, TraceRecord, TraceTask};
use crate::workload::TaskId;
use failed::TraceFailures;
use held::Trail;
use rustc_hash::{FxHashMap, FxHashSet};
use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::collections::BinaryHeap;

/// A trace replayed at its own times.
pub struct StreamFeed {
    reader: Box<dyn TraceReader>,
    peeked: Option<TraceRecord>,
    mode: ReplayMode,
    ctx: Context,
    live: LiveMap,
    key_of: FxHashMap<TaskId, TaskKey>,
    /// Tasks done since the driver last reclaimed slots
    /// ([`Feed::forget_done`]): the event log names them after the event
    /// that ended them.
    done_keys: FxHashMap<TaskId, TaskKey>,
    /// Re-schedule mode: when the trace last started each live task.
    trace_start: FxHashMap<TaskKey, SimTime>,
    /// DAG dependencies and the tasks held for them.
    dag: Dag<Trail>,
    /// Held tasks whose trace run is not over, by key.
    held_keys: FxHashMap<TaskKey, u64>,
    jobs: TraceJobs,
    /// Submissions gathered at the current time, to become one job.
    batch: Vec<(TraceTask, Trail)>,
    batch_keys: FxHashSet<TaskKey>,
    counts: BTreeMap<&'static str, u64>,
    /// SUBMIT records read (see [`FeedReport::submissions_read`]).
    submissions_read: u64,
    /// Tasks whose trace run ended (or, known at submission, ends) other
    /// than by FINISH: their run's end counts them killed.
    killed_at_end: FxHashSet<TaskId>,
    /// Trace-placement mode: the ends of placed runs whose length the trace
    /// gave at submission, `(when, task, incarnation)`, earliest first. They
    /// are applied after the trace's own events of the same instant, so an
    /// END the trace sends (with its kind) takes precedence.
    due_ends: BinaryHeap<Reverse<(SimTime, TaskId, u32)>>,
    /// Usage updates of running tasks read by the current `apply`, for the
    /// driver ([`Feed::take_usage`]).
    usage: Vec<(TaskId, Resources)>,
    /// Re-schedule mode: where trace tasks' runs FAILed, for their next run.
    failed: TraceFailures,
    /// Opens the second reader the typical pods are read ahead with
    /// (`stream/ahead.rs`); taken when they are asked for.
    ahead: Option<ahead::Opener>,
}

impl StreamFeed {
    pub(crate) fn new(reader: Box<dyn TraceReader>, mode: ReplayMode, ctx: Context) -> Self {
        StreamFeed {
            reader,
            peeked: None,
            mode,
            ctx,
            live: LiveMap::default(),
            key_of: FxHashMap::default(),
            done_keys: FxHashMap::default(),
            trace_start: FxHashMap::default(),
            dag: Dag::default(),
            held_keys: FxHashMap::default(),
            jobs: TraceJobs::default(),
            batch: Vec::new(),
            batch_keys: FxHashSet::default(),
            counts: BTreeMap::new(),
            submissions_read: 0,
            killed_at_end: FxHashSet::default(),
            due_ends: BinaryHeap::new(),
            usage: Vec::new(),
            failed: TraceFailures::default(),
            ahead: None,
        }
    }

    /// Counts the typical pods on the trace's first tasks, read ahead by
    /// the reader `open` gives (see `stream/ahead.rs`); without it, on the
    /// tasks submitted by the first pass.
    pub(crate) fn with_read_ahead(mut self, open: ahead::Opener) -> Self {
        self.ahead = Some(open);
        self
    }

    fn count(&mut self, rule: &'static str) {
        *self.counts.entry(rule).or_default() += 1;
    }

    fn on_record(&mut self, now: SimTime, ev: TraceEvent, st: &mut CellState, fx: &mut Effects) {
        match ev {
            TraceEvent::Submit(t) => self.on_submit(now, *t, st, fx),
            TraceEvent::Schedule { task, machine } => {
                self.flush(now, st, fx);
                self.on_schedule(now, task, machine, st);
            }
            TraceEvent::End { task, kind } => {
                self.flush(now, st, fx);
                self.on_end(now, task, kind, st, fx);
            }
            TraceEvent::Usage { task, usage } => {
                self.flush(now, st, fx);
                self.on_usage(now, task, usage, st);
            }
            ev => {
                self.flush(now, st, fx);
                if let Some(change) = self.ctx.apply_machine(now, st, &ev) {
                    if !change.evicted.is_empty() {
                        self.count("machine_event_evicted_tasks");
                    }
                    if change.attrs_changed {
                        self.count("machine_attributes_changed");
                    }
                    if change.rack_changed {
                        self.count("machine_rack_change_ignored");
                    }
                    fx.changed = true;
                } else if machine_key(&ev).is_some_and(|k| self.ctx.excluded(k)) {
                    self.count("machine_event_excluded");
                } else {
                    self.count("machine_event_ignored");
                }
            }
        }
    }

    /// A submission from the trace.
    fn on_submit(&mut self, now: SimTime, t: TraceTask, st: &mut CellState, fx: &mut Effects) {
        self.submissions_read += 1;
        let key = t.key;
        if self.live.contains_key(&key)
            || self.batch_keys.contains(&key)
            || self.held_keys.contains_key(&key)
        {
            return self.count("submit_for_live_task");
        }
        if self.dag.submitted(&t) {
            st.count_workload_job();
        }
        self.jobs.submitted(&t, st);
        if let Some(on) = self.dag.unmet(&t) {
            self.count("held_for_dependencies");
            let id = self.dag.hold(t, now, on, Trail::default());
            self.held_keys.insert(key, id);
            return;
        }
        self.enqueue(now, t, Trail::default(), st, fx);
    }

    /// Adds a task to the batch, submitting the batch first if the task
    /// cannot join it.
    fn enqueue(
        &mut self,
        now: SimTime,
        t: TraceTask,
        trail: Trail,
        st: &mut CellState,
        fx: &mut Effects,
    ) {
        if self.batch.last().is_some_and(|(b, _)| !same_shape(b, &t)) {
            self.flush(now, st, fx);
        }
        if trail.run.is_none() {
            self.batch_keys.insert(t.key);
        }
        self.batch.push((t, trail));
    }

    /// Submits held tasks whose dependencies are now done.
    fn release(
        &mut self,
        now: SimTime,
        released: Vec<Held<Trail>>,
        st: &mut CellState,
        fx: &mut Effects,
    ) {
        if released.is_empty() {
            return;
        }
        for h in released {
            if h.extra.run.is_none() {
                self.held_keys.remove(&h.task.key);
            }
            self.enqueue(now, h.task, h.extra, st, fx);
        }
        self.flush(now, st, fx);
    }

    /// Submits the gathered batch as one part of its trace job.
    fn flush(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        self.batch_keys.clear();
        // Both modes: the run length the trace gave at submission, else the
        // one a held task learned from its END.
        let durations = batch
            .iter()
            .map(|(t, trail)| t.duration.or(trail.run))
            .collect();
        let first = &batch[0].0;
        let spec = job_spec(first, durations, st.attr_table_mut(), &mut self.counts);
        let trace_job = first.key.job;
        let part = st.submit_part(now, spec, trace_job, self.jobs.counted(trace_job));
        self.jobs.part(trace_job, part, st);
        fx.changed = true;
        for (i, (t, trail)) in batch.into_iter().enumerate() {
            let id = st.job(part).tasks[i];
            self.key_of.insert(id, t.key);
            if t.end_kind.is_some_and(|k| k != EndKind::Finish) {
                self.killed_at_end.insert(id);
            }
            if trail.run.is_none() {
                self.live.insert(t.key, id);
            }
            self.failed.resubmitted(t.key, id, st);
            if let Some(usage) = trail.usage {
                st.set_usage(now, id, usage);
            }
            if let Some((at, machine)) = trail.start {
                match self.mode {
                    ReplayMode::Reschedule if trail.run.is_none() => {
                        self.trace_start.insert(t.key, at);
                    }
                    ReplayMode::Reschedule => {}
                    ReplayMode::TracePlacement => {
                        self.place_released(now, id, machine, trail.run, st, fx)
                    }
                }
            }
        }
    }

    fn on_schedule(&mut self, now: SimTime, key: TaskKey, machine: u64, st: &mut CellState) {
        let Some(&task) = self.live.get(&key) else {
            return self.schedule_held(now, key, machine);
        };
        match self.mode {
            ReplayMode::Reschedule => {
                self.trace_start.insert(key, now);
            }
            ReplayMode::TracePlacement => {
                let Some(&m) = self.ctx.machine_ids.get(&machine) else {
                    return self.count(match self.ctx.excluded(machine) {
                        true => "schedule_on_excluded_machine",
                        false => "schedule_on_unknown_machine",
                    });
                };
                if st.task(task).state != TaskState::Pending {
                    return self.count("schedule_for_running_task");
                }
                if Self::fits(st, task, m) {
                    self.count_breaches(st, task, m);
                    st.place(now, task, m);
                    self.end_after_known_length(now, task, st);
                } else {
                    self.count("schedule_does_not_fit");
                }
            }
        }
    }

    fn on_end(
        &mut self,
        now: SimTime,
        key: TaskKey,
        kind: EndKind,
        st: &mut CellState,
        fx: &mut Effects,
    ) {
        let Some(&task) = self.live.get(&key) else {
            return self.end_held(now, key, kind, st, fx);
        };
        match self.mode {
            ReplayMode::Reschedule => {
                self.live.remove(&key);
                let ran = self
                    .trace_start
                    .remove(&key)
                    .map_or(SimDuration::ZERO, |s| now - s);
                // Known since submission: the driver scheduled the end when
                // it placed the task.
                let known = st.task(task).duration().is_some();
                let run = st.task(task).duration().unwrap_or(ran);
                if kind != EndKind::Finish && st.task(task).state != TaskState::Finished {
                    self.killed_at_end.insert(task);
                }
                if kind == EndKind::Fail {
                    self.failed.failed(key, task, now, st);
                }
                match st.task(task).state {
                    TaskState::Running { .. } if known => {}
                    TaskState::Running { since, .. } => {
                        st.set_duration(task, run);
                        if since + run < now {
                            self.count("end_late");
                        }
                        fx.ends.push((since + run, task));
                    }
                    TaskState::Pending if run == SimDuration::ZERO => {
                        self.count("withdrawn_before_start");
                        self.killed_at_end.remove(&task);
                        st.kill(now, task);
                        self.done(task, st, now, fx);
                    }
                    TaskState::Pending => st.set_duration(task, run),
                    TaskState::Finished => {}
                }
            }
            ReplayMode::TracePlacement => {
                let running = matches!(st.task(task).state, TaskState::Running { .. });
                if kind.is_final() {
                    self.live.remove(&key);
                    if running && kind == EndKind::Finish {
                        let inc = st.task(task).incarnation;
                        st.finish(now, task, inc);
                    } else {
                        st.kill(now, task);
                    }
                    self.done(task, st, now, fx);
                } else if running {
                    // The task's own failure is a crash (the failure history
                    // remembers it); an EVICT's cause is unknown.
                    let cause = match kind {
                        EndKind::Fail => EvictionCause::TaskCrash,
                        _ => EvictionCause::Trace,
                    };
                    st.evict(now, task, cause);
                }
            }
        }
    }

    /// Forgets a done task and releases the tasks waiting for its stage.
    fn done(&mut self, task: TaskId, st: &mut CellState, now: SimTime, fx: &mut Effects) {
        self.killed_at_end.remove(&task);
        let Some(key) = self.key_of.remove(&task) else {
            return;
        };
        self.done_keys.insert(task, key);
        if self.live.get(&key) == Some(&task) {
            self.live.remove(&key);
            self.trace_start.remove(&key);
        }
        self.jobs.done(key.job);
        let released = self.dag.done(key);
        self.release(now, released, st, fx);
    }
}

impl StreamFeed {
    /// When the trace's next record is due.
    fn next_record_time(&mut self) -> Result<Option<SimTime>> {
        if self.peeked.is_none() {
            self.peeked = self.reader.next_record()?;
        }
        Ok(self.peeked.as_ref().map(|r| r.time))
    }

    /// Ends the placed runs due by `now` (see `due_ends`); a run the trace
    /// already ended, or that was evicted since, is skipped.
    fn end_due_runs(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) {
        while let Some(&Reverse((at, task, inc))) = self.due_ends.peek() {
            if at > now {
                break;
            }
            self.due_ends.pop();
            let rec = st.task(task);
            let current = rec.incarnation == inc && matches!(rec.state, TaskState::Running { .. });
            let ended = match current && self.killed_at_end.remove(&task) {
                true => st.kill(now, task),
                false => st.finish(now, task, inc),
            };
            if ended {
                self.done(task, st, now, fx);
                fx.changed = true;
            }
        }
    }
}

impl Feed for StreamFeed {
    fn typical_pods(
        &mut self,
        st: &mut CellState,
    ) -> Result<Option<crate::sched::typical::TypicalPods>> {
        match self.ahead.take() {
            Some(open) => ahead::typical_pods(open, st).map(Some),
            None => Ok(None),
        }
    }

    fn next_time(&mut self) -> Result<Option<SimTime>> {
        let record = self.next_record_time()?;
        let end = self.due_ends.peek().map(|Reverse((t, _, _))| *t);
        Ok(match (record, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    fn apply(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) -> Result<()> {
        self.usage.clear();
        while self.next_record_time()? == Some(now) {
            let rec = self.peeked.take().expect("peeked");
            self.on_record(now, rec.event, st, fx);
        }
        self.flush(now, st, fx);
        self.end_due_runs(now, st, fx);
        if self.next_record_time()?.is_none() && !self.dag.is_over() {
            // The trace has ended: stages that never appeared never will.
            let released = self.dag.trace_over();
            self.release(now, released, st, fx);
        }
        self.settle_usage(now, st);
        Ok(())
    }

    fn take_usage(&mut self, out: &mut Vec<(TaskId, Resources)>) {
        out.append(&mut self.usage);
    }

    fn task_done(&mut self, now: SimTime, task: TaskId, st: &mut CellState, fx: &mut Effects) {
        self.done(task, st, now, fx);
    }

    fn ends_killed(&mut self, task: TaskId) -> bool {
        !self.killed_at_end.is_empty() && self.killed_at_end.remove(&task)
    }

    fn held_tasks(&self) -> Vec<HeldTask> {
        self.dag.held_tasks()
    }

    fn trace_task(&self, task: TaskId) -> Option<String> {
        let key = self.key_of.get(&task);
        key.or_else(|| self.done_keys.get(&task))
            .map(super::dag::key_label)
    }

    fn forget_done(&mut self) {
        if !self.done_keys.is_empty() {
            self.done_keys.clear();
        }
    }

    fn held_count(&self) -> u64 {
        self.dag.held_count()
    }

    fn report(&self) -> Option<FeedReport> {
        let stats = self.reader.stats();
        let mut replay = self.counts.clone();
        for (rule, n) in [
            ("dependency_never_submitted", self.dag.never_submitted),
            ("dependency_instances_missing", self.dag.instances_missing),
            ("dependency_on_independent_stage", self.dag.on_independent),
            ("spread_parts_counted_late", self.jobs.counted_late),
        ] {
            if n > 0 {
                replay.insert(rule, n);
            }
        }
        Some(FeedReport {
            format: self.ctx.format,
            mode: match self.mode {
                ReplayMode::Reschedule => ReplayKind::Reschedule,
                ReplayMode::TracePlacement => ReplayKind::TracePlacement,
            },
            trace_rows: stats.rows,
            submissions_read: self.submissions_read,
            trace_rows_skipped: stats.skipped.clone(),
            trace_rows_repaired: stats.repaired.clone(),
            replay,
        })
    }
}

#[cfg(test)]
mod tests;

/// The trace machine a machine event is about.
fn machine_key(ev: &TraceEvent) -> Option<u64> {
    match ev {
        TraceEvent::MachineAdd(m) | TraceEvent::MachineUpdate(m) => Some(m.key),
        TraceEvent::MachineRemove { machine } => Some(*machine),
        _ => None,
    }
}
