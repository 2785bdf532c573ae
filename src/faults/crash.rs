//! Task crashes: a running task fails by itself at a rate per task-hour
//! (per band or job class) and its job restarts it — it goes back to
//! pending (cause `task_crash`), so the job keeps its replica count.
//!
//! Each start draws the task's time to crash, exponential with mean
//! 3600 / `per_task_hour` s, from its rule's stream (draws follow the
//! placements' order, itself deterministic); the crash is scheduled only
//! if it falls before the task's end. The first rule that matches a task
//! (band, then job class, when given) is its rule.
//!
//! A crash on a machine out of contact is not seen by the master until
//! contact returns: the task runs on in the cell's books (as every task of
//! an unreachable machine does) and is restarted when the machine reports
//! again (at the fault's return, or a trace's ADD or UPDATE of it). If the
//! machine is lost first (its grace period ends, an outage takes it, the
//! trace removes it), the task is lost with it (`machine_failure`,
//! `machine_down`) and its crash is forgotten.

use super::recovery::FaultKind;
use super::{after, FaultEvent, Out};
use crate::cell::state::{CellState, EvictionCause, TaskState};
use crate::cell::MachineId;
use crate::rng::{RngStreams, SimRng};
use crate::scenario::faults::TaskCrashes as Rule;
use crate::time::SimTime;
use crate::workload::TaskId;
use rand_distr::Distribution;
use std::collections::BTreeMap;

pub struct Crashes {
    rules: Vec<(Rule, SimRng)>,
    crashes: u64,
    /// Per machine out of contact: crashes (task, incarnation) due while
    /// it was, seen when it reports again.
    unseen: BTreeMap<MachineId, Vec<(TaskId, u32)>>,
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
            unseen: BTreeMap::new(),
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
        let (rule, rng) = self
            .rules
            .iter_mut()
            .find(|(r, _)| r.matches(job.band(), &job.spec.name.base))?;
        let mean_s = 3600.0 / rule.per_task_hour;
        let secs = rand_distr::Exp::new(1.0 / mean_s)
            .expect("validated")
            .sample(rng);
        let at = after(now, super::secs_to_us(secs).max(1));
        let rec = st.task(t);
        if rec.duration().is_some_and(|d| at >= now + d) {
            return None;
        }
        let ev = FaultEvent::Crash {
            task: t,
            incarnation: rec.incarnation,
        };
        Some((at, ev))
    }

    /// The crash of `task` in its `incarnation`, if it still runs it; on
    /// a machine out of contact, kept until it reports again.
    pub fn on_crash(
        &mut self,
        task: TaskId,
        incarnation: u32,
        now: SimTime,
        st: &mut CellState,
    ) -> bool {
        let rec = st.task(task);
        let machine = match rec.state {
            TaskState::Running { machine, .. } if rec.incarnation == incarnation => machine,
            _ => return false,
        };
        if !st.is_live_job(rec.job) {
            return false;
        }
        if st.machine_unreachable(machine) {
            self.unseen
                .entry(machine)
                .or_default()
                .push((task, incarnation));
            return false;
        }
        st.evict(now, task, EvictionCause::TaskCrash);
        self.crashes += 1;
        true
    }

    /// Machine `m` reports again: the crashes due while it was out of
    /// contact happen now (queued at `now`, after this event).
    pub fn contact_back(&mut self, m: MachineId, now: SimTime, out: &mut Out) {
        for (task, incarnation) in self.unseen.remove(&m).unwrap_or_default() {
            out.push((now, FaultEvent::Crash { task, incarnation }));
        }
    }

    /// Machine `m` is lost with its tasks: their unseen crashes with it.
    pub fn forget(&mut self, m: MachineId) {
        self.unseen.remove(&m);
    }
}
