//! DAG dependencies between the stages of a trace job, for a feed that
//! streams the trace.
//!
//! A task lists the stages of its own job it waits for
//! ([`TraceTask::after`]: Alibaba 2018's `R2_1` waits for stage 1). The
//! rule, whatever the order or timestamps of the rows: **a task is admitted
//! to the cell only when every stage it waits for is done** — the stage has
//! appeared in the trace and every task of it the trace has submitted so far
//! has finished (or was withdrawn). Until then the task is *held* here,
//! outside the cell; it still counts as pending (`pending.csv` lists it, by
//! [`Dag::held_tasks`], with the stage it waits for).
//!
//! A stage that has not appeared yet is waited for: a streaming reader
//! cannot tell "not yet" from "never" before the trace ends (the published
//! Alibaba table is not even sorted by time, so a parent's row may come
//! after its child's, at a later time). When the trace ends, a stage that
//! never appeared is taken as done, and each task held for one is released
//! then, counted as `dependency_never_submitted` ([`Dag::trace_over`]).
//!
//! A stage whose size the trace gives ([`TraceTask::stage_tasks`]:
//! Alibaba's `instance_num`, whose instances batch_instance submits at
//! their own times) is done only once that many of its tasks have been
//! submitted and are done: a child never starts between two instances of
//! its parent. If the trace ends with fewer, the stage is done then, and
//! each task held for it is released, counted as
//! `dependency_instances_missing`.
//!
//! Two more rules: a task never waits for its own stage, and a stage
//! numbered 2^31 or above is never a dependency (Alibaba numbers its
//! independent `task_…` tasks there, and no task name can refer to them);
//! a dependency on one is ignored and counted as
//! `dependency_on_independent_stage`. Tasks of a dependency cycle wait for
//! each other and stay held, listed in `pending.csv`.
//!
//! Memory: the stages each trace job has shown (16 bytes per trace job
//! with stages below 64 — the first sighting of a job also tells the feed
//! to count it — plus 16 per stage from 64 up); the count of unfinished
//! tasks per stage that has some; and the held tasks themselves, indexed
//! by the stage each waits for — proportional to what is held.

use super::super::{TaskKey, TraceTask};
use crate::sim::feed::HeldTask;
use crate::time::SimTime;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Stages at or above this are not DAG stages (see the module docs; the
/// same bound as Alibaba's `names::INDEPENDENT_STAGE_BIT`).
const INDEPENDENT_STAGE: u32 = crate::trace::alibaba2018::names::INDEPENDENT_STAGE_BIT;

/// Stages below this are kept as bits of one word per job.
const LOW_STAGES: u32 = 64;

/// A stage with tasks not done yet.
struct Open {
    /// Tasks of the stage submitted by the trace and not done (held, about
    /// to be submitted, or in the cell).
    unfinished: u32,
    /// The stage's name in the trace (its task name), if it has one.
    name: Option<Arc<str>>,
    /// Tasks of the stage submitted so far, and how many the trace says it
    /// has, if it does.
    submitted: u32,
    expected: Option<u32>,
}

impl Open {
    /// True once every task the stage will have has been submitted (or the
    /// trace is over).
    fn complete(&self, over: bool) -> bool {
        over || self.expected.is_none_or(|e| self.submitted >= e)
    }
}

/// A task held outside the cell, and what the feed keeps with it.
pub(crate) struct Held<P> {
    pub task: TraceTask,
    /// When the trace submitted it.
    pub since: SimTime,
    /// The stage it waits for (the first not done).
    on: u32,
    pub extra: P,
}

/// The dependency bookkeeping of one replay.
pub(crate) struct Dag<P> {
    /// Per trace job seen: bit `s` set once stage `s < 64` has appeared.
    jobs: FxHashMap<u64, u64>,
    /// Stages from 64 (below the independent range) that have appeared.
    high: FxHashSet<(u64, u32)>,
    open: FxHashMap<(u64, u32), Open>,
    /// Held tasks, in the order they were first held.
    held: BTreeMap<u64, Held<P>>,
    /// Held tasks by the stage they wait for (entries of tasks no longer
    /// held are skipped).
    waiting: FxHashMap<(u64, u32), Vec<u64>>,
    next: u64,
    over: bool,
    /// Tasks released at the trace's end (their stage never appeared), and
    /// dependencies on independent stages ignored.
    pub never_submitted: u64,
    pub on_independent: u64,
    /// Tasks released at the trace's end because a stage they waited for
    /// had fewer tasks than the trace said.
    pub instances_missing: u64,
}

impl<P> Default for Dag<P> {
    fn default() -> Self {
        Dag {
            jobs: FxHashMap::default(),
            high: FxHashSet::default(),
            open: FxHashMap::default(),
            held: BTreeMap::new(),
            waiting: FxHashMap::default(),
            next: 0,
            over: false,
            never_submitted: 0,
            on_independent: 0,
            instances_missing: 0,
        }
    }
}

impl<P> Dag<P> {
    /// The trace submitted `t` (not a repeat of a live task): its stage has
    /// appeared and has one more task not done. Returns true if `t` is the
    /// first task of its job the trace submitted.
    pub fn submitted(&mut self, t: &TraceTask) -> bool {
        let (job, stage) = (t.key.job, t.key.stage);
        let new = !self.jobs.contains_key(&job);
        let low = self.jobs.entry(job).or_insert(0);
        if stage < LOW_STAGES {
            *low |= 1 << stage;
        } else if stage < INDEPENDENT_STAGE {
            self.high.insert((job, stage));
        }
        let o = self.open.entry((job, stage)).or_insert_with(|| Open {
            unfinished: 0,
            name: t.task_name.clone(),
            submitted: 0,
            expected: t.stage_tasks,
        });
        o.unfinished += 1;
        o.submitted = o.submitted.saturating_add(1);
        self.on_independent += t.after.iter().filter(|&&s| s >= INDEPENDENT_STAGE).count() as u64;
        new
    }

    fn seen(&self, job: u64, stage: u32) -> bool {
        if stage < LOW_STAGES {
            self.jobs.get(&job).is_some_and(|b| b & (1 << stage) != 0)
        } else {
            self.high.contains(&(job, stage))
        }
    }

    /// True if stage `s` of `job` is done (see the module docs).
    fn done_stage(&self, job: u64, s: u32) -> bool {
        !self.open.contains_key(&(job, s)) && (self.over || self.seen(job, s))
    }

    /// The first stage `t` waits for that is not done, if any.
    pub fn unmet(&self, t: &TraceTask) -> Option<u32> {
        let job = t.key.job;
        t.after
            .iter()
            .copied()
            .filter(|&s| s != t.key.stage && s < INDEPENDENT_STAGE)
            .find(|&s| !self.done_stage(job, s))
    }

    /// Holds `t` until stage `on` (from [`Dag::unmet`]) is done; returns its
    /// handle.
    pub fn hold(&mut self, task: TraceTask, since: SimTime, on: u32, extra: P) -> u64 {
        let id = self.next;
        self.next += 1;
        self.waiting.entry((task.key.job, on)).or_default().push(id);
        self.held.insert(
            id,
            Held {
                task,
                since,
                on,
                extra,
            },
        );
        id
    }

    pub fn held_mut(&mut self, id: u64) -> Option<&mut Held<P>> {
        self.held.get_mut(&id)
    }

    /// Takes a held task out (it was withdrawn). It stays unfinished in its
    /// stage until the caller reports it [`Dag::done`].
    pub fn unhold(&mut self, id: u64) -> Option<Held<P>> {
        self.held.remove(&id)
    }

    /// A task of `key`'s stage is done (finished or withdrawn); returns the
    /// held tasks this releases, in the order they were held.
    pub fn done(&mut self, key: TaskKey) -> Vec<Held<P>> {
        let stage = (key.job, key.stage);
        let Some(o) = self.open.get_mut(&stage) else {
            return Vec::new();
        };
        o.unfinished -= 1;
        if o.unfinished > 0 || !o.complete(self.over) {
            return Vec::new();
        }
        self.open.remove(&stage);
        let mut ids = self.waiting.remove(&stage).unwrap_or_default();
        ids.sort_unstable();
        self.recheck(ids)
    }

    /// Re-examines held tasks: releases those whose stages are all done and
    /// files the others under the next stage they wait for.
    fn recheck(&mut self, ids: Vec<u64>) -> Vec<Held<P>> {
        let mut out = Vec::new();
        for id in ids {
            let Some(h) = self.held.get(&id) else {
                continue;
            };
            match self.unmet(&h.task) {
                Some(on) => {
                    let key = (h.task.key.job, on);
                    if let Some(h) = self.held.get_mut(&id) {
                        h.on = on;
                    }
                    self.waiting.entry(key).or_default().push(id);
                }
                None => out.extend(self.held.remove(&id)),
            }
        }
        out
    }

    /// The trace has ended: stages that never appeared are done. Returns the
    /// held tasks this releases, in the order they were held; each held task
    /// that waited for such a stage is counted in `never_submitted`.
    pub fn trace_over(&mut self) -> Vec<Held<P>> {
        if self.over {
            return Vec::new();
        }
        let ids: Vec<u64> = self.held.keys().copied().collect();
        // Stages short of the tasks the trace announced: done now if idle,
        // else when their last task is; the tasks held for them are counted.
        let short: FxHashSet<(u64, u32)> = self
            .open
            .iter()
            .filter(|(_, o)| !o.complete(false))
            .map(|(k, _)| *k)
            .collect();
        for h in self.held.values() {
            if short.contains(&(h.task.key.job, h.on)) {
                self.instances_missing += 1;
            }
            let job = h.task.key.job;
            let unseen = h
                .task
                .after
                .iter()
                .any(|&s| s != h.task.key.stage && s < INDEPENDENT_STAGE && !self.seen(job, s));
            self.never_submitted += u64::from(unseen);
        }
        self.open.retain(|_, o| o.unfinished > 0);
        self.over = true;
        // Every held task is filed under some stage; re-filing the ones that
        // stay held leaves their old entries behind, skipped when met.
        self.waiting.clear();
        self.recheck(ids)
    }

    /// How many tasks are held.
    pub fn held_count(&self) -> u64 {
        self.held.len() as u64
    }

    /// True once [`Dag::trace_over`] has run.
    pub fn is_over(&self) -> bool {
        self.over
    }

    /// The held tasks, in the order they were held, as `pending.csv` lists
    /// them.
    pub fn held_tasks(&self) -> Vec<HeldTask> {
        self.held
            .values()
            .map(|h| {
                let t = &h.task;
                HeldTask {
                    job_id: t.key.job,
                    job_name: t.job_name.to_string(),
                    task: task_label(t),
                    priority: t.priority,
                    request: t.request,
                    since: h.since,
                    reason: self.reason(t.key.job, h.on),
                }
            })
            .collect()
    }

    /// `waiting_for_dependency M1`: the stage's task name, else its number;
    /// a stage not in the trace so far says so.
    fn reason(&self, job: u64, on: u32) -> String {
        match self.open.get(&(job, on)) {
            Some(Open {
                name: Some(name), ..
            }) => format!("waiting_for_dependency {name}"),
            Some(_) => format!("waiting_for_dependency stage {on}"),
            None => format!("waiting_for_dependency stage {on} (not in the trace so far)"),
        }
    }
}

/// A task's label in its job: `R2_1.0` (task name and index), `2.0` (stage
/// and index) or `3` (the index, for traces without stages).
pub(crate) fn task_label(t: &TraceTask) -> String {
    match &t.task_name {
        Some(name) => format!("{name}.{}", t.key.index),
        None => key_label(&t.key),
    }
}

/// A task key as a label: its index, after its stage if it has one.
pub(crate) fn key_label(k: &TaskKey) -> String {
    match k.stage {
        0 => k.index.to_string(),
        s => format!("{s}.{}", k.index),
    }
}

#[cfg(test)]
#[path = "dag_tests.rs"]
mod tests;
