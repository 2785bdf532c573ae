//! Spread counters: how many running tasks of a job each failure domain
//! holds, for the spread-limit filter (`sched::plugins::spread`).
//!
//! A limit is defined per *workload* job. A synthetic job is one borgsim
//! job; a trace job is not always: borgsim's jobs are sets of identical
//! tasks submitted together, so a trace job whose tasks differ in shape or
//! arrive at different instants is submitted in parts
//! ([`CellState::submit_part`]), and its parts share one [`Owner`]. The
//! counters are keyed by owner, so a part's limit counts every running task
//! of its trace job, whichever part (instant, shape) it came in.
//!
//! Only *counted* jobs are kept in the counters: a job with a limit of its
//! own, and every part of a trace job any of whose tasks has one. A part
//! that was submitted before its trace job's first limited task starts
//! being counted then ([`CellState::count_spread`]), running tasks
//! included. Jobs with limits bypass the score caches (`sched::equiv`), so
//! counting never touches the hot path of other jobs: a placement of an
//! uncounted job reads one flag.

use super::CellState;
use crate::cell::domain::DomainLevel;
use crate::cell::MachineId;
use crate::workload::{JobId, TaskId};

/// Whose running tasks a job's spread counters count.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Owner {
    /// The job alone (a job submitted whole).
    Job(JobId),
    /// Every part of a trace's job (its key in the trace).
    Trace(u64),
}

impl CellState {
    /// Running tasks of `job`'s owner (the job, or every part of its trace
    /// job) in domain `domain` of `level`; 0 unless the job is counted
    /// (every job with a spread limit is).
    pub fn job_tasks_in_domain(&self, job: JobId, level: DomainLevel, domain: u32) -> u32 {
        if !self.job_hot[job as usize].spread_counted {
            return 0;
        }
        self.spread_counts
            .get(&(self.owner(job), level_index(level), domain))
            .copied()
            .unwrap_or(0)
    }

    /// Whose tasks `job`'s tasks count as in the spread counters.
    pub fn owner(&self, job: JobId) -> Owner {
        match self.jobs[job as usize].trace_job {
            Some(k) => Owner::Trace(k),
            None => Owner::Job(job),
        }
    }

    /// True if `job`'s running tasks are kept in the spread counters.
    pub fn spread_counted(&self, job: JobId) -> bool {
        self.job_hot[job as usize].spread_counted
    }

    /// Every non-zero counter: (owner, level index, domain) → running tasks
    /// (for the invariant checker; order unspecified).
    pub fn spread_counters(&self) -> impl Iterator<Item = ((Owner, u8, u32), u32)> + '_ {
        self.spread_counts.iter().map(|(k, v)| (*k, *v))
    }

    /// Starts counting `job`'s running tasks for its owner's spread limits
    /// (a trace job's first limited task arrived after this part); a no-op
    /// if they are counted already.
    pub fn count_spread(&mut self, job: JobId) {
        if self.job_hot[job as usize].spread_counted {
            return;
        }
        self.job_hot[job as usize].spread_counted = true;
        let tasks: Vec<TaskId> = self.jobs[job as usize].tasks.to_vec();
        for t in tasks {
            let rec = &self.tasks[t as usize];
            if rec.job != job {
                continue; // a reclaimed slot, reused by another job
            }
            if let super::TaskState::Running { machine, .. } = rec.state {
                self.bump_spread(job, machine, true);
            }
        }
    }

    /// Counts a task of `job` starting (`up`) or stopping on `machine`, if
    /// the job is counted.
    pub(super) fn bump_spread(&mut self, job: JobId, machine: MachineId, up: bool) {
        if !self.job_hot[job as usize].spread_counted {
            return;
        }
        let owner = self.owner(job);
        for &level in DomainLevel::ALL {
            let domain = self.cell.domains.domain_of(machine as usize, level);
            let key = (owner, level_index(level), domain);
            let c = self.spread_counts.entry(key).or_insert(0);
            if up {
                *c += 1;
            } else {
                super::records::lower(c, 1, "spread count");
                if *c == 0 {
                    // Only live counts are kept (and a reused job id starts at 0).
                    self.spread_counts.remove(&key);
                }
            }
        }
    }
}

/// Domain levels by index, as stored in the spread counters.
pub fn level_of(i: u8) -> DomainLevel {
    DomainLevel::ALL[usize::from(i)]
}

/// Index of a domain level in the spread counters.
pub fn level_index(l: DomainLevel) -> u8 {
    l.index() as u8
}
