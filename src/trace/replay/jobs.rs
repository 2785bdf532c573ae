//! One identity per trace job.
//!
//! borgsim's jobs are sets of identical tasks submitted together, so a
//! trace job whose tasks differ in shape or arrive at different instants
//! reaches the cell as several jobs — *parts*
//! ([`CellState::submit_part`]) — that share the trace job's identity:
//! its key is the owner of their spread counters and the id `pending.csv`
//! shows, and `jobs_submitted` counts the trace job once (the feed calls
//! [`CellState::count_workload_job`] at its first task).
//!
//! This module keeps, per trace job with tasks not done, whether its parts
//! are counted in the spread counters: from the first of its tasks that
//! carries a limit (Google 2011's `different_machines_restriction`, Google
//! 2019's `max_per_machine`/`max_per_switch`, the native columns), every
//! part is, and parts already in the cell start being counted then, with
//! their running tasks — a limit counts all the job's running tasks,
//! whichever instant they arrived in. Memory follows trace jobs with tasks
//! not done; the parts of a job not yet counted are listed (and pruned of
//! finished ones as the list grows) so they can be counted later.

use crate::cell::state::CellState;
use crate::trace::TraceTask;
use crate::workload::JobId;
use rustc_hash::FxHashMap;

/// A trace job with tasks not done.
#[derive(Default)]
struct LiveJob {
    unfinished: u32,
    counted: bool,
    /// Parts submitted while not counted (some may have finished since).
    parts: Vec<JobId>,
    /// Prune `parts` when it reaches this length.
    prune_at: usize,
}

/// The trace jobs with tasks not done.
#[derive(Default)]
pub(crate) struct TraceJobs {
    live: FxHashMap<u64, LiveJob>,
    /// Parts counted after they were submitted (a later task of their trace
    /// job had a limit).
    pub counted_late: u64,
}

impl TraceJobs {
    /// The trace submitted `t`; if it carries a spread limit, its job's
    /// parts are counted from now on, those in the cell included.
    pub fn submitted(&mut self, t: &TraceTask, st: &mut CellState) {
        let job = t.key.job;
        let j = self.live.entry(job).or_default();
        j.unfinished += 1;
        let limited = t.max_per_machine.is_some() || t.max_per_rack.is_some();
        if !limited || j.counted {
            return;
        }
        j.counted = true;
        for p in std::mem::take(&mut j.parts) {
            if is_part_of(st, p, job) && !st.spread_counted(p) {
                st.count_spread(p);
                self.counted_late += 1;
            }
        }
    }

    /// True if `job`'s parts are counted in the spread counters.
    pub fn counted(&self, job: u64) -> bool {
        self.live.get(&job).is_some_and(|j| j.counted)
    }

    /// Part `part` of trace job `job` was submitted to the cell.
    pub fn part(&mut self, job: u64, part: JobId, st: &CellState) {
        let Some(j) = self.live.get_mut(&job) else {
            return;
        };
        if j.counted || st.spread_counted(part) {
            return;
        }
        if j.parts.len() >= j.prune_at {
            j.parts.retain(|&p| is_part_of(st, p, job));
            j.parts.sort_unstable();
            j.parts.dedup();
            j.prune_at = (2 * j.parts.len()).max(8);
        }
        j.parts.push(part);
    }

    /// A task of `job` is done (finished, or withdrawn before it ran).
    pub fn done(&mut self, job: u64) {
        if let Some(j) = self.live.get_mut(&job) {
            j.unfinished -= 1;
            if j.unfinished == 0 {
                self.live.remove(&job);
            }
        }
    }
}

/// True if job id `p` is a live part of trace job `job` (ids are reused).
fn is_part_of(st: &CellState, p: JobId, job: u64) -> bool {
    st.is_live_job(p) && st.job(p).trace_job == Some(job)
}
