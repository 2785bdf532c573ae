//! Task crashes: a running task fails by itself at a rate per task-hour
//! (per band or job class) and its job restarts it — it goes back to
//! pending (cause `task_crash`), so the job keeps its replica count.
//!
//! Each start draws the task's time to crash, exponential with mean
//! 3600 / `per_task_hour` s, from its rule's stream (draws follow the
//! placements' order, itself deterministic); the crash is scheduled only
//! if it falls before the task's end. The first rule that matches a task
//! (band, then job class, when given) is its rule.

use super::recovery::FaultKind;
use super::{after, FaultEvent};
use crate::cell::state::{CellState, EvictionCause, TaskState};
use crate::rng::{RngStreams, SimRng};
use crate::scenario::faults::TaskCrashes as Rule;
use crate::time::SimTime;
use crate::workload::TaskId;
use rand_distr::Distribution;

pub struct Crashes {
    rules: Vec<(Rule, SimRng)>,
    crashes: u64,
}

/// The crash rules' streams are numbered after every fault kind's.
const CRASH_STREAM: usize = FaultKind::ALL.len();

impl Crashes {
    pub fn new(rules: &[Rule], streams: &RngStreams) -> Self {
        let kind_stream = |i: usize| {
            // Kind index past the fault kinds: its own family of streams.
            let index = ((CRASH_STREAM as u64 + 1) << 56) | ((i as u64) << 40);
            streams.substream(crate::rng::Stream::Failures, index)
        };
        Crashes {
            rules: rules
                .iter()
                .enumerate()
                .map(|(i, r)| (r.clone(), kind_stream(i)))
                .collect(),
            crashes: 0,
        }
    }

    pub fn crashes(&self) -> u64 {
        self.crashes
    }

    /// Task `t` just started: its crash, if one falls before its end.
    pub fn on_place(
        &mut self,
        t: TaskId,
        now: SimTime,
        st: &CellState,
    ) -> Option<(SimTime, FaultEvent)> {
        if self.rules.is_empty() {
            return None;
        }
        let job = st.job_of(t);
        let (rule, rng) = self.rules.iter_mut().find(|(r, _)| {
            r.band.is_none_or(|b| b == job.band())
                && r.job_class
                    .as_deref()
                    .is_none_or(|c| *c == *job.spec.name.base)
        })?;
        let mean_s = 3600.0 / rule.per_task_hour;
        let secs = rand_distr::Exp::new(1.0 / mean_s)
            .expect("validated")
            .sample(rng);
        let at = after(now, super::secs_to_us(secs).max(1));
        let rec = st.task(t);
        if rec.duration.is_some_and(|d| at >= now + d) {
            return None;
        }
        let ev = FaultEvent::Crash {
            task: t,
            incarnation: rec.incarnation,
        };
        Some((at, ev))
    }

    /// The crash of `task` in its `incarnation`, if it still runs it.
    pub fn on_crash(
        &mut self,
        task: TaskId,
        incarnation: u32,
        now: SimTime,
        st: &mut CellState,
    ) -> bool {
        let rec = st.task(task);
        let current =
            rec.incarnation == incarnation && matches!(rec.state, TaskState::Running { .. });
        if !current || !st.is_live_job(rec.job) {
            return false;
        }
        st.evict(now, task, EvictionCause::TaskCrash);
        self.crashes += 1;
        true
    }
}
