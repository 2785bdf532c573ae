//! Reclaiming finished work, so that a run's records follow its live jobs,
//! not its length: a finished task's slot and a retired job's id (and its
//! shape, once no live job uses it) are reused by later submissions.
//!
//! Slots are freed between events ([`CellState::reclaim`], called by the
//! driver), so an id stays valid for the whole event in which its task
//! finishes; incarnations continue across reuse, so a completion scheduled
//! for a slot's previous task is recognised as stale.

use super::records::lower;
use super::{CellState, TaskRecord, TaskState, FREE_SLOT};

/// `unfinished` of a job id whose job was reclaimed (its record is stale).
const RECLAIMED: u32 = u32::MAX;
use crate::workload::{Job, JobId, TaskId};

impl CellState {
    /// Ids for a job's `n` tasks: freed ones (most recently freed first,
    /// still warm in cache), then new ones past the end; ascending, so a
    /// job's ids follow its task indices (the pending queue's order).
    pub(super) fn take_task_ids(&mut self, n: u32) -> crate::workload::job::TaskIds {
        if n == 1 {
            let t = self.free_tasks.pop().unwrap_or(self.tasks.len() as TaskId);
            return crate::workload::job::TaskIds::One(t);
        }
        let reused = (n as usize).min(self.free_tasks.len());
        let mut ids: Vec<TaskId> = self
            .free_tasks
            .drain(self.free_tasks.len() - reused..)
            .collect();
        ids.sort_unstable();
        let next = self.tasks.len() as TaskId;
        ids.extend(next..next + (n - reused as u32));
        crate::workload::job::TaskIds::from(ids)
    }

    /// Frees the slots of tasks finished since the last call and of jobs
    /// whose tasks have all finished, for reuse by later submissions;
    /// returns the retired jobs' ids (the scheduler forgets them). The
    /// driver calls it between events, so a task id stays valid for the
    /// whole event in which its task finishes.
    pub fn reclaim(&mut self) -> &[JobId] {
        for t in self.done_tasks.drain(..) {
            let rec = &self.tasks[t as usize];
            let shape = self.shapes[rec.shape as usize];
            assert!(
                rec.state == TaskState::Finished
                    && !self.pending.contains(shape.priority, rec.job, t),
                "reclaim of task {t}, which is {:?}, not finished and unqueued",
                rec.state
            );
            self.tasks[t as usize].job = FREE_SLOT;
            self.failures.forget(t);
            self.free_tasks.push(t);
            self.ledger.tasks_reclaimed += 1;
        }
        self.reclaimed.clear();
        // Only compact per-job arrays are touched here, not the (large,
        // cold) job records: the next submission overwrites the record.
        for j in self.retired.drain(..) {
            let hot = &mut self.job_hot[j as usize];
            hot.unfinished = RECLAIMED;
            let shape = hot.shape;
            let n = &mut self.shape_jobs[shape as usize];
            lower(n, 1, "shape_jobs");
            if *n == 0 {
                self.shape_ids.remove(&self.shapes[shape as usize]);
                self.free_shapes.push(shape);
            }
            self.free_jobs.push(j);
            // The next submission most likely takes this id (the free
            // list is a stack): start loading its cold record now.
            crate::prefetch::prefetch(&self.jobs[j as usize]);
            self.reclaimed.push(j);
        }
        &self.reclaimed
    }

    /// True if `j` names a job that has not been reclaimed.
    pub fn is_live_job(&self, j: JobId) -> bool {
        self.job_hot
            .get(j as usize)
            .is_some_and(|h| h.unfinished != RECLAIMED)
    }

    /// Task slots that belong to a job (finished tasks of live jobs included).
    pub fn live_tasks(&self) -> impl Iterator<Item = (TaskId, &TaskRecord)> {
        self.tasks
            .iter()
            .enumerate()
            .filter(|(_, r)| r.job != FREE_SLOT)
            .map(|(t, r)| (t as TaskId, r))
    }

    /// Jobs not reclaimed yet.
    pub fn live_jobs(&self) -> impl Iterator<Item = &Job> {
        self.jobs.iter().filter(|j| self.is_live_job(j.id))
    }

    /// Task `task` of `job` is done for good.
    pub(super) fn task_done(&mut self, job: JobId, task: TaskId) {
        self.done_tasks.push(task);
        let left = &mut self.job_hot[job as usize].unfinished;
        assert!(
            *left != RECLAIMED,
            "task {task} done in reclaimed job {job}"
        );
        lower(left, 1, "unfinished tasks of a job");
        if *left == 0 {
            self.retired.push(job);
        }
    }
}
