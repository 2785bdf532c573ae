//! The driver's side of reclamation (`[reclamation]` measuring or on):
//! the usage books switched on, the reclamation tick every interval, and
//! the passes that usage asks for — after out-of-memory kills (the victims
//! are pending) and when their back-off ends, and under `on` after
//! reservations changed (pending non-prod tasks may fit the capacity
//! reclaimed). Apart from `mod.rs` so
//! that a run without reclamation reads as before; the event loop pays one
//! branch per event for it.

use super::{Event, Simulation};
use crate::cell::state::usage::Settings;
use crate::cell::state::EvictionCause;
use crate::time::{SimDuration, SimTime};
use crate::workload::usage::UsageSource;

impl Simulation {
    /// Keeps tasks' usage and reservations from now on, drawn from
    /// `source` at each placement and at every tick of `interval` (the
    /// first at `interval`), with reclamation's `settings` (see
    /// [`crate::cell::state::usage`]). Panics if the run has started.
    pub fn reclaim(
        &mut self,
        settings: Settings,
        interval: SimDuration,
        source: Box<dyn UsageSource>,
    ) {
        assert_eq!(self.events, 0, "reclamation starts before the first event");
        assert!(interval > SimDuration::ZERO, "a reclamation tick of 0 s");
        self.state.enable_usage(settings, source);
        self.reclaim_interval = Some(interval);
        self.queue_tick(SimTime::ZERO);
    }

    /// Queues the tick after `now`'s, if it is before the horizon.
    pub(super) fn queue_tick(&mut self, now: SimTime) {
        let Some(interval) = self.reclaim_interval else {
            return;
        };
        let next = now + interval;
        self.tick_queued = next < self.opts.horizon;
        if self.tick_queued {
            self.queue.push(next, Event::Reclaim);
        }
    }

    /// The reclamation tick: the cell's usage and reservations brought to
    /// `now` (see [`crate::cell::state::CellState::reclamation_tick`]), the next tick queued. A
    /// pass is asked for when reservations changed under `on`: pending
    /// non-prod tasks may fit the capacity reclaimed (while measuring,
    /// decisions stay those of scheduling by limits, passes included).
    #[cold]
    #[inline(never)]
    pub(super) fn on_tick(&mut self, now: SimTime) {
        self.tick_queued = false;
        if self.state.reclamation_tick(now) {
            self.request_pass(now);
        }
        self.queue_tick(now);
    }

    /// A trace's usage rows for running tasks, read by the feed's last
    /// step (`Feed::take_usage`), set in the cell: each task's usage from
    /// its window's start until its next row (a step function), its
    /// reservation raised at once if usage outgrew it, its machine
    /// settled.
    #[cold]
    #[inline(never)]
    pub(super) fn apply_trace_usage(&mut self, now: SimTime) {
        let mut rows = std::mem::take(&mut self.usage_rows);
        self.feed.take_usage(&mut rows);
        for (task, usage) in rows.drain(..) {
            self.state.set_usage(now, task, usage);
        }
        self.usage_rows = rows;
    }

    /// Asks for a pass if tasks were killed for memory in the event just
    /// run (a tick, a placement, a trace's usage row): they are pending;
    /// and one when each is no longer held back (`BackoffOver`).
    #[cold]
    #[inline(never)]
    pub(super) fn follow_oom_kills(&mut self, now: SimTime) {
        let l = self.state.ledger();
        let kills = l.evictions[EvictionCause::OutOfMemory as usize];
        if kills != self.oom_kills_seen {
            self.oom_kills_seen = kills;
            self.request_pass(now);
            let mut ends = std::mem::take(&mut self.backoff_ends);
            self.state.take_backoff_ends(&mut ends);
            ends.sort_unstable();
            ends.dedup();
            for &at in ends.iter().filter(|&&at| at <= self.opts.horizon) {
                self.queue.push(at, Event::BackoffOver);
            }
            ends.clear();
            self.backoff_ends = ends;
        }
    }
}
