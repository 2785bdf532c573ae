//! The reschedule rate limit: Borg cannot tell a dead machine from a
//! partition, so when many machines vanish together it reschedules their
//! tasks at a bounded rate rather than all at once.
//!
//! Time is cut into windows of `interval_s` (window k is
//! `[k·I, (k+1)·I)`). In each window at most `tasks` fault-evicted tasks
//! enter the pending queue; the rest wait, oldest first, in the cell's
//! reschedule queue ([`CellState::delay`]) and are released at the start of
//! the next windows — before any task evicted in that window, so the queue
//! is first in, first out. Without a limit every task is released at once.

use super::{FaultEvent, Out};
use crate::cell::state::CellState;
use crate::scenario::faults::RescheduleLimit;
use crate::time::SimTime;
use crate::workload::TaskId;
use rustc_hash::FxHashMap;
use serde::Serialize;

/// The limit and its window's count.
pub struct RateLimit {
    limit: Option<(u64, u64)>,
    window: u64,
    released: u64,
    release_queued: bool,
    stats: QueueSummary,
    /// When each queued task was queued: a task killed or dropped in the
    /// queue leaves it without a release, and its wait is counted then.
    /// Looked up, never iterated.
    queued_since: FxHashMap<TaskId, SimTime>,
}

/// `summary.json`'s `faults.reschedule_queue`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct QueueSummary {
    /// The most tasks queued at once.
    pub max_queued: u64,
    /// Tasks that waited in the queue.
    pub tasks_delayed: u64,
    /// Their waits in the queue, summed (µs; tasks still queued at the
    /// end counted up to the end, and tasks killed or dropped while
    /// queued up to then).
    pub delay_us_total: u64,
    /// Tasks still queued when the run ended.
    pub queued_at_end: u64,
}

impl RateLimit {
    pub fn new(cfg: Option<RescheduleLimit>) -> Self {
        RateLimit {
            limit: cfg.map(|l| (u64::from(l.tasks), l.interval_s * 1_000_000)),
            window: 0,
            released: 0,
            release_queued: false,
            stats: QueueSummary::default(),
            queued_since: FxHashMap::default(),
        }
    }

    /// Tasks just evicted by a fault (pending now): each is released
    /// while the window has room, queued otherwise.
    pub fn admit(
        &mut self,
        tasks: &[TaskId],
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
        horizon: SimTime,
    ) {
        let Some((per_window, _)) = self.limit else {
            return;
        };
        self.roll(now, st);
        for &t in tasks {
            if self.released < per_window && st.delayed_len() == 0 {
                self.released += 1;
            } else {
                st.delay(now, t);
                self.queued_since.insert(t, now);
                self.stats.tasks_delayed += 1;
            }
        }
        self.stats.max_queued = self.stats.max_queued.max(st.delayed_len() as u64);
        if st.delayed_len() > 0 {
            self.queue_release(now, out, horizon);
        }
    }

    /// Moves to `now`'s window, releasing queued tasks into it first.
    fn roll(&mut self, now: SimTime, st: &mut CellState) -> bool {
        let (per_window, interval) = self.limit.expect("a limit");
        let w = now.as_us() / interval;
        if w == self.window {
            return false;
        }
        self.window = w;
        self.released = 0;
        let mut any = false;
        while self.released < per_window {
            let Some((t, since)) = st.undelay_front() else {
                break;
            };
            self.queued_since.remove(&t);
            self.stats.delay_us_total += (now - since).as_us();
            self.released += 1;
            any = true;
        }
        any
    }

    /// The next window's release, if tasks wait and none is queued.
    fn queue_release(&mut self, now: SimTime, out: &mut Out, horizon: SimTime) {
        let Some((_, interval)) = self.limit else {
            return;
        };
        if self.release_queued {
            return;
        }
        let next = SimTime((now.as_us() / interval + 1).saturating_mul(interval));
        if next <= horizon {
            out.push((next, FaultEvent::Release));
            self.release_queued = true;
        }
    }

    /// The window's release event. Returns true if tasks were released.
    pub fn release(
        &mut self,
        now: SimTime,
        st: &mut CellState,
        out: &mut Out,
        horizon: SimTime,
    ) -> bool {
        self.release_queued = false;
        let any = self.roll(now, st);
        if st.delayed_len() > 0 {
            self.queue_release(now, out, horizon);
        }
        any
    }

    /// The run is over: queued tasks go back to the pending queue, their
    /// waits counted up to `now`.
    pub fn flush(&mut self, now: SimTime, st: &mut CellState) {
        self.stats.queued_at_end = st.delayed_len() as u64;
        while let Some((t, since)) = st.undelay_front() {
            self.queued_since.remove(&t);
            self.stats.delay_us_total += (now - since).as_us();
        }
    }

    /// Task `t` was killed or dropped while pending: if it waited in the
    /// queue, its wait there ends now.
    pub fn withdrawn(&mut self, t: TaskId, now: SimTime) {
        if let Some(since) = self.queued_since.remove(&t) {
            self.stats.delay_us_total += (now - since).as_us();
        }
    }

    pub fn summary(&self) -> QueueSummary {
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{cell, job, submit};

    #[test]
    fn at_most_the_limit_is_released_per_window() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(10, 10, 100, 7));
        let tasks: Vec<TaskId> = st.job_tasks(j).to_vec();
        let mut lim = RateLimit::new(Some(RescheduleLimit {
            tasks: 3,
            interval_s: 60,
        }));
        let mut out = Vec::new();
        // 7 tasks at 10 s: 3 released in window 0, 4 queued.
        lim.admit(
            &tasks,
            SimTime::from_secs(10),
            &mut st,
            &mut out,
            SimTime::NEVER,
        );
        assert_eq!((st.pending().len(), st.delayed_len()), (3, 4));
        assert_eq!(out, vec![(SimTime::from_secs(60), FaultEvent::Release)]);
        // At 60 s: 3 more (each waited 50 s), 1 left; next release at 120 s.
        out.clear();
        assert!(lim.release(SimTime::from_secs(60), &mut st, &mut out, SimTime::NEVER));
        assert_eq!((st.pending().len(), st.delayed_len()), (6, 1));
        assert_eq!(out, vec![(SimTime::from_secs(120), FaultEvent::Release)]);
        lim.release(
            SimTime::from_secs(120),
            &mut st,
            &mut Vec::new(),
            SimTime::NEVER,
        );
        assert_eq!(st.delayed_len(), 0);
        crate::cell::invariants::check(&st).unwrap();
        let s = lim.summary();
        // Waits: 3·50 s + 110 s = 260 s.
        assert_eq!((s.max_queued, s.tasks_delayed), (4, 4));
        assert_eq!(s.delay_us_total, 260_000_000);
    }

    #[test]
    fn a_task_killed_in_the_queue_counts_its_wait_until_then() {
        let mut st = cell(&[(4000, 8000, 0)]);
        let j = submit(&mut st, job(10, 10, 100, 3));
        let tasks: Vec<TaskId> = st.job_tasks(j).to_vec();
        let mut lim = RateLimit::new(Some(RescheduleLimit {
            tasks: 1,
            interval_s: 60,
        }));
        let mut out = Vec::new();
        // 3 tasks at 10 s: 1 released, 2 queued; the last killed at 40 s
        // (30 s queued), the other released at 60 s (50 s queued).
        let at = SimTime::from_secs;
        lim.admit(&tasks, at(10), &mut st, &mut out, SimTime::NEVER);
        assert_eq!(st.delayed_len(), 2);
        assert!(st.kill(at(40), tasks[2]));
        lim.withdrawn(tasks[2], at(40));
        lim.release(at(60), &mut st, &mut out, SimTime::NEVER);
        assert_eq!(st.delayed_len(), 0);
        // A task withdrawn that never waited adds nothing.
        lim.withdrawn(tasks[0], at(70));
        assert_eq!(lim.summary().delay_us_total, 80_000_000);
    }
}
