//! Replay at the trace's own times.
//!
//! Rules, for events that do not match the simulated state (each counted in
//! `summary.json` under `trace.replay` by the name in brackets):
//! - Submissions of the same job and stage at the same time with the same
//!   shape become one job of several tasks (so equivalence classes see them
//!   as the trace's scheduler did).
//! - A submission for a task that is still live is ignored
//!   [`submit_for_live_task`] (the 2011 trace resubmits evicted tasks).
//! - DAG stages (`after`) are held back until every task of the stages they
//!   depend on is done in the simulation [`held_for_dependencies`: tasks
//!   held at least once]; a stage
//!   with no live task counts as done, whether it finished or never appeared.
//! - **Re-schedule mode.** A task's run length is the trace's: its end
//!   event's time minus its last SCHEDULE (0 if it never ran in the trace),
//!   unless the trace gave it at submission. Known at submission, it is just
//!   the task's duration. Learned at the end event (streaming cannot look
//!   ahead): a running task ends at `start + run length`, or now if that is
//!   already past [`end_late`]; a pending one keeps the length for when it
//!   starts, or is withdrawn if the trace never ran it
//!   [`withdrawn_before_start`]. Every end frees the trace key: a later
//!   SUBMIT of the same task is a new run.
//! - **Trace-placement mode.** SCHEDULE places the task on the trace's
//!   machine if it fits there, else leaves it pending
//!   [`schedule_does_not_fit`] (the trace overcommits; borgsim does not);
//!   EVICT and FAIL send a running task back to pending; FINISH, KILL and
//!   LOST end it.
//! - Events for unknown tasks or machines are ignored [`end_for_unknown_task`],
//!   [`schedule_for_unknown_task`], [`schedule_on_unknown_machine`].

use super::{job_spec, same_shape, Context, LiveMap};
use crate::cell::state::{CellState, EvictionCause, TaskState};
use crate::error::Result;
use crate::scenario::ReplayMode;
use crate::sim::feed::{Effects, Feed, FeedReport, ReplayKind};
use crate::time::{SimDuration, SimTime};
use crate::trace::{EndKind, TaskKey, TraceEvent, TraceReader, TraceRecord, TraceTask};
use crate::workload::TaskId;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// A trace replayed at its own times.
pub struct StreamFeed {
    reader: Box<dyn TraceReader>,
    peeked: Option<TraceRecord>,
    mode: ReplayMode,
    ctx: Context,
    live: LiveMap,
    key_of: FxHashMap<TaskId, TaskKey>,
    /// Re-schedule mode: when the trace last started each live task.
    trace_start: FxHashMap<TaskKey, SimTime>,
    /// Live tasks per (job, stage), for DAG dependencies.
    stage_live: FxHashMap<(u64, u32), u32>,
    /// Submissions waiting for a stage to be done, by that stage.
    held: FxHashMap<(u64, u32), Vec<TraceTask>>,
    /// Submissions gathered at the current time, to become one job.
    batch: Vec<TraceTask>,
    counts: BTreeMap<&'static str, u64>,
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
            trace_start: FxHashMap::default(),
            stage_live: FxHashMap::default(),
            held: FxHashMap::default(),
            batch: Vec::new(),
            counts: BTreeMap::new(),
        }
    }

    fn count(&mut self, rule: &'static str) {
        *self.counts.entry(rule).or_default() += 1;
    }

    fn on_record(&mut self, now: SimTime, ev: TraceEvent, st: &mut CellState, fx: &mut Effects) {
        match ev {
            TraceEvent::Submit(t) => self.on_submit(now, *t, st, fx, false),
            TraceEvent::Schedule { task, machine } => {
                self.flush(now, st, fx);
                self.on_schedule(now, task, machine, st);
            }
            TraceEvent::End { task, kind } => {
                self.flush(now, st, fx);
                self.on_end(now, task, kind, st, fx);
            }
            ev => {
                self.flush(now, st, fx);
                if let Some(evicted) = self.ctx.apply_machine(now, st, &ev) {
                    if !evicted.is_empty() {
                        self.count("machine_event_evicted_tasks");
                    }
                    fx.changed = true;
                } else {
                    self.count("machine_event_ignored");
                }
            }
        }
    }

    /// A submission from the trace, or (`released`) one that was held for
    /// a stage now done.
    fn on_submit(
        &mut self,
        now: SimTime,
        t: TraceTask,
        st: &mut CellState,
        fx: &mut Effects,
        released: bool,
    ) {
        if self.live.contains_key(&t.key) || self.batch.iter().any(|b| b.key == t.key) {
            return self.count("submit_for_live_task");
        }
        if let Some(dep) = self.unmet_dependency(&t) {
            if !released {
                self.count("held_for_dependencies");
            }
            self.held.entry((t.key.job, dep)).or_default().push(t);
            return;
        }
        if self.batch.last().is_some_and(|b| !same_shape(b, &t)) {
            self.flush(now, st, fx);
        }
        self.batch.push(t);
    }

    fn unmet_dependency(&self, t: &TraceTask) -> Option<u32> {
        t.after
            .iter()
            .copied()
            .find(|&s| self.stage_live.contains_key(&(t.key.job, s)))
    }

    /// Submits the gathered batch as one job.
    fn flush(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::take(&mut self.batch);
        let durations = batch
            .iter()
            .map(|t| match self.mode {
                ReplayMode::Reschedule => t.duration,
                ReplayMode::TracePlacement => None,
            })
            .collect();
        let spec = job_spec(
            &batch[0],
            durations,
            &st.cell().attr_table,
            &mut self.counts,
        );
        let job = st.submit_job(now, spec);
        for (i, t) in batch.iter().enumerate() {
            let id = st.job(job).tasks[i];
            self.live.insert(t.key, id);
            self.key_of.insert(id, t.key);
            *self.stage_live.entry((t.key.job, t.key.stage)).or_default() += 1;
        }
        fx.changed = true;
    }

    fn on_schedule(&mut self, now: SimTime, key: TaskKey, machine: u64, st: &mut CellState) {
        let Some(&task) = self.live.get(&key) else {
            return self.count("schedule_for_unknown_task");
        };
        match self.mode {
            ReplayMode::Reschedule => {
                self.trace_start.insert(key, now);
            }
            ReplayMode::TracePlacement => {
                let Some(&m) = self.ctx.machine_ids.get(&machine) else {
                    return self.count("schedule_on_unknown_machine");
                };
                if st.task(task).state != TaskState::Pending {
                    return self.count("schedule_for_running_task");
                }
                let ms = st.machine(m);
                let req = st.shape(task).request;
                if st.machine_up(m)
                    && req.res.fits_in(&ms.free)
                    && req.gpu.fits_devices(&ms.gpu_free_milli)
                {
                    st.place(now, task, m);
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
            return self.count("end_for_unknown_task");
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
                let known = st.task(task).duration.is_some();
                let run = st.task(task).duration.unwrap_or(ran);
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
                    st.evict(now, task, EvictionCause::Trace);
                }
            }
        }
    }

    /// Forgets a done task and releases the stages waiting for its own.
    fn done(&mut self, task: TaskId, st: &mut CellState, now: SimTime, fx: &mut Effects) {
        let Some(key) = self.key_of.remove(&task) else {
            return;
        };
        if self.live.get(&key) == Some(&task) {
            self.live.remove(&key);
            self.trace_start.remove(&key);
        }
        let stage = (key.job, key.stage);
        let left = self.stage_live.get_mut(&stage).map(|c| {
            *c -= 1;
            *c
        });
        if left == Some(0) {
            self.stage_live.remove(&stage);
            for t in self.held.remove(&stage).unwrap_or_default() {
                self.on_submit(now, t, st, fx, true);
            }
            self.flush(now, st, fx);
        }
    }
}

impl Feed for StreamFeed {
    fn next_time(&mut self) -> Result<Option<SimTime>> {
        if self.peeked.is_none() {
            self.peeked = self.reader.next_record()?;
        }
        Ok(self.peeked.as_ref().map(|r| r.time))
    }

    fn apply(&mut self, now: SimTime, st: &mut CellState, fx: &mut Effects) -> Result<()> {
        while self.next_time()? == Some(now) {
            let rec = self.peeked.take().expect("peeked");
            self.on_record(now, rec.event, st, fx);
        }
        self.flush(now, st, fx);
        Ok(())
    }

    fn task_done(&mut self, now: SimTime, task: TaskId, st: &mut CellState, fx: &mut Effects) {
        self.done(task, st, now, fx);
    }

    fn report(&self) -> Option<FeedReport> {
        let stats = self.reader.stats();
        Some(FeedReport {
            format: self.ctx.format,
            mode: match self.mode {
                ReplayMode::Reschedule => ReplayKind::Reschedule,
                ReplayMode::TracePlacement => ReplayKind::TracePlacement,
            },
            trace_rows: stats.rows,
            trace_rows_skipped: stats.skipped.clone(),
            trace_rows_repaired: stats.repaired.clone(),
            replay: self.counts.clone(),
        })
    }
}
