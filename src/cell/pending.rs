//! The pending queue: tasks waiting for a machine, by priority, then by job.
//!
//! Borg scans pending tasks from high to low priority and round-robin across
//! jobs within a priority, so that one huge job cannot starve the others at
//! its priority. Jobs within a priority keep the order in which they first
//! had a pending task; a job's tasks are kept in task-id order. Lookups use
//! hash maps, but every iteration goes through ordered structures (the
//! levels' map, each level's append-only deque of jobs), so the scan order
//! is deterministic.

use crate::workload::{JobId, Priority, TaskId};
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, VecDeque};

/// A job's pending tasks, ascending. Most jobs in large workloads have one
/// task, which is then kept without an allocation.
#[derive(Debug, Clone)]
enum TaskList {
    One(TaskId),
    Many(Vec<TaskId>),
}

impl TaskList {
    fn as_slice(&self) -> &[TaskId] {
        match self {
            TaskList::One(t) => std::slice::from_ref(t),
            TaskList::Many(v) => v,
        }
    }

    /// Adds a task; false if present.
    fn insert(&mut self, task: TaskId) -> bool {
        match self {
            TaskList::One(t) if *t == task => false,
            TaskList::One(t) => {
                let (a, b) = if *t < task { (*t, task) } else { (task, *t) };
                *self = TaskList::Many(vec![a, b]);
                true
            }
            TaskList::Many(v) => match v.binary_search(&task) {
                Ok(_) => false,
                Err(i) => {
                    v.insert(i, task);
                    true
                }
            },
        }
    }

    /// Removes a task; false if absent. May leave an empty `Many`.
    fn remove(&mut self, task: TaskId) -> bool {
        match self {
            TaskList::One(t) => *t == task,
            TaskList::Many(v) => match v.binary_search(&task) {
                Ok(i) => {
                    v.remove(i);
                    true
                }
                Err(_) => false,
            },
        }
    }

    /// Empty after removing `removed` (a `One` holds exactly one task).
    fn is_empty_after_remove(&self) -> bool {
        match self {
            TaskList::One(_) => true,
            TaskList::Many(v) => v.is_empty(),
        }
    }
}

#[derive(Debug)]
struct JobEntry {
    /// When the job entered this level: its place in the round-robin order.
    order: u64,
    tasks: TaskList,
}

#[derive(Debug, Default)]
struct Level {
    /// Jobs by the order they entered this level (ascending: entries are
    /// only appended). An entry whose job has left the level, or left and
    /// come back with a later order, is stale: skipped when read, dropped
    /// from the front as it reaches it, and all at once when the stale
    /// ones outnumber the live. Cheaper than an ordered map's insert and
    /// remove for every job that passes through.
    jobs: VecDeque<(u64, JobId)>,
    /// Looked up, never iterated.
    entries: FxHashMap<JobId, JobEntry>,
}

impl Level {
    fn is_live(&self, (order, job): (u64, JobId)) -> bool {
        self.entries.get(&job).is_some_and(|e| e.order == order)
    }

    /// The jobs with pending tasks, in order, with their tasks.
    fn live_jobs(&self) -> impl Iterator<Item = (JobId, &[TaskId])> + '_ {
        self.jobs.iter().filter_map(|&(order, j)| {
            let e = self.entries.get(&j).filter(|e| e.order == order)?;
            Some((j, e.tasks.as_slice()))
        })
    }

    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// After a job left: drops stale entries from the front, and compacts
    /// when more than half are stale.
    fn prune(&mut self) {
        while let Some(&e) = self.jobs.front() {
            if self.is_live(e) {
                break;
            }
            self.jobs.pop_front();
        }
        if self.jobs.len() > 2 * self.entries.len() + 16 {
            let entries = &self.entries;
            self.jobs
                .retain(|&(order, job)| entries.get(&job).is_some_and(|e| e.order == order));
        }
    }
}

/// One priority's jobs and their pending tasks, as seen at a moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelSnapshot {
    pub priority: Priority,
    pub jobs: Vec<(JobId, Vec<TaskId>)>,
}

/// Pending tasks by priority (high first) and job (round-robin).
#[derive(Debug, Default)]
pub struct PendingQueue {
    /// Levels stay in place when they empty, to be reused without allocating.
    levels: BTreeMap<Reverse<Priority>, Level>,
    len: usize,
    next_order: u64,
}

impl PendingQueue {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a task. Returns false if it was already queued.
    pub fn push(&mut self, priority: Priority, job: JobId, task: TaskId) -> bool {
        let level = self.levels.entry(Reverse(priority)).or_default();
        let added = match level.entries.entry(job) {
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(JobEntry {
                    order: self.next_order,
                    tasks: TaskList::One(task),
                });
                level.jobs.push_back((self.next_order, job));
                self.next_order += 1;
                true
            }
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().tasks.insert(task),
        };
        self.len += usize::from(added);
        added
    }

    /// Removes a task. Returns false if it was not queued.
    pub fn remove(&mut self, priority: Priority, job: JobId, task: TaskId) -> bool {
        let Some(level) = self.levels.get_mut(&Reverse(priority)) else {
            return false;
        };
        let Some(entry) = level.entries.get_mut(&job) else {
            return false;
        };
        if !entry.tasks.remove(task) {
            return false;
        }
        self.len -= 1;
        if entry.tasks.is_empty_after_remove() {
            level.entries.remove(&job);
            level.prune();
        }
        true
    }

    pub fn contains(&self, priority: Priority, job: JobId, task: TaskId) -> bool {
        self.levels
            .get(&Reverse(priority))
            .and_then(|l| l.entries.get(&job))
            .is_some_and(|e| e.tasks.as_slice().binary_search(&task).is_ok())
    }

    /// The queue's contents in scan order: priorities high to low, jobs in
    /// arrival order, tasks in id order.
    pub fn snapshot(&self) -> Vec<LevelSnapshot> {
        self.levels
            .iter()
            .filter(|(_, level)| !level.is_empty())
            .map(|(Reverse(p), level)| LevelSnapshot {
                priority: *p,
                jobs: level
                    .live_jobs()
                    .map(|(j, tasks)| (j, tasks.to_vec()))
                    .collect(),
            })
            .collect()
    }

    /// The scheduler's scan order: per priority (high to low), the tasks
    /// interleaved round-robin across jobs — the first task of every job (in
    /// arrival order), then the second of every job, and so on. Equal to
    /// interleaving [`PendingQueue::snapshot`]'s jobs, without a vector per job.
    pub fn scan_order(&self) -> Vec<(Priority, Vec<(JobId, TaskId)>)> {
        let mut out = Vec::new();
        for (Reverse(p), level) in &self.levels {
            if level.is_empty() {
                continue;
            }
            let lists: Vec<(JobId, &[TaskId])> = level.live_jobs().collect();
            let total = lists.iter().map(|(_, t)| t.len()).sum();
            let mut order = Vec::with_capacity(total);
            let mut round = 0;
            while order.len() < total {
                for (j, tasks) in &lists {
                    if let Some(t) = tasks.get(round) {
                        order.push((*j, *t));
                    }
                }
                round += 1;
            }
            out.push((*p, order));
        }
        out
    }

    /// Every queued task, in scan order of levels and jobs.
    pub fn iter_tasks(&self) -> impl Iterator<Item = TaskId> + '_ {
        self.levels
            .values()
            .flat_map(|l| l.live_jobs().flat_map(|(_, tasks)| tasks.iter().copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference for `scan_order`: interleaves one level's jobs round-robin.
    fn round_robin(jobs: &[(JobId, Vec<TaskId>)]) -> Vec<(JobId, TaskId)> {
        let longest = jobs.iter().map(|(_, t)| t.len()).max().unwrap_or(0);
        let mut out = Vec::with_capacity(jobs.iter().map(|(_, t)| t.len()).sum());
        for round in 0..longest {
            for (j, tasks) in jobs {
                if let Some(t) = tasks.get(round) {
                    out.push((*j, *t));
                }
            }
        }
        out
    }

    #[test]
    fn scans_high_priority_first_and_round_robin_within() {
        let mut q = PendingQueue::default();
        // Job 1 (prio 100) has tasks 10, 11, 12; job 2 (prio 100) has 20;
        // job 3 (prio 200) has 30.
        for t in [10, 11, 12] {
            q.push(100, 1, t);
        }
        q.push(100, 2, 20);
        q.push(200, 3, 30);
        assert!(!q.push(200, 3, 30), "duplicates are refused");
        assert_eq!(q.len(), 5);
        let snap = q.snapshot();
        assert_eq!(snap[0].priority, 200);
        assert_eq!(snap[1].priority, 100);
        // Round robin at prio 100: 10 (job 1), 20 (job 2), then 11, 12 (job 1).
        assert_eq!(
            round_robin(&snap[1].jobs),
            vec![(1, 10), (2, 20), (1, 11), (1, 12)]
        );
        let order = q.scan_order();
        assert_eq!(order[0], (200, vec![(3, 30)]));
        assert_eq!(order[1], (100, round_robin(&snap[1].jobs)));
        assert!(q.remove(100, 2, 20));
        assert!(!q.remove(100, 2, 20));
        assert!(q.remove(200, 3, 30));
        assert_eq!(q.snapshot().len(), 1, "empty levels are not shown");
        assert_eq!(q.iter_tasks().collect::<Vec<_>>(), vec![10, 11, 12]);
    }

    #[test]
    fn matches_a_list_model_under_random_pushes_and_removes() {
        // The model: per priority, jobs in the order they (re-)entered it,
        // each with its tasks ascending. Few jobs and tasks, so jobs leave
        // and come back often (stale entries) and compaction runs.
        let mut q = PendingQueue::default();
        let mut model: BTreeMap<Reverse<Priority>, Vec<(JobId, Vec<TaskId>)>> = BTreeMap::new();
        let mut x: u64 = 0x853C_49E6_748F_EA9B;
        for step in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let prio = (x % 2) as Priority * 100;
            let job = ((x >> 8) % 40) as JobId;
            // A job's tasks are its own: job j owns ids 10j..10j+9.
            let task = job * 10 + ((x >> 20) % 4) as TaskId;
            let level = model.entry(Reverse(prio)).or_default();
            let at = level.iter().position(|(j, _)| *j == job);
            if (x >> 40).is_multiple_of(2) {
                let added = q.push(prio, job, task);
                let want = match at {
                    None => {
                        level.push((job, vec![task]));
                        true
                    }
                    Some(i) => match level[i].1.binary_search(&task) {
                        Ok(_) => false,
                        Err(k) => {
                            level[i].1.insert(k, task);
                            true
                        }
                    },
                };
                assert_eq!(added, want, "push at step {step}");
            } else {
                let removed = q.remove(prio, job, task);
                let want = match at {
                    None => false,
                    Some(i) => match level[i].1.binary_search(&task) {
                        Ok(k) => {
                            level[i].1.remove(k);
                            if level[i].1.is_empty() {
                                level.remove(i);
                            }
                            true
                        }
                        Err(_) => false,
                    },
                };
                assert_eq!(removed, want, "remove at step {step}");
            }
            let snap: Vec<_> = q
                .snapshot()
                .into_iter()
                .map(|l| (l.priority, l.jobs))
                .collect();
            let want: Vec<_> = model
                .iter()
                .filter(|(_, jobs)| !jobs.is_empty())
                .map(|(Reverse(p), jobs)| (*p, jobs.clone()))
                .collect();
            assert_eq!(snap, want, "step {step}");
            let total: usize = want
                .iter()
                .map(|(_, j)| j.iter().map(|(_, t)| t.len()).sum::<usize>())
                .sum();
            assert_eq!(q.len(), total);
        }
    }
}
