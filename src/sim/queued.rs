//! Where the tasks the reschedule rate limit holds back stand: "why is
//! this task pending?" for a task no scheduling pass can see.
//!
//! A task a fault evicted beyond the rate limit (`[faults.reschedule_limit]`)
//! waits in the cell's reschedule queue ([`CellState::delayed`]), outside
//! the pending queue the passes scan, until a window of the limit lets it
//! back. `pending.csv` and `borgsim explain` name such a task's state
//! (`reschedule_queued`), when it entered the queue, its place in it and
//! when its turn comes — worked out here from the queue and the limit, the
//! same arithmetic as the fault machinery's (`faults::limit`), which
//! `tests/it/why_pending.rs` checks against the releases a run makes.
//!
//! When its turn comes: time is cut into windows of the limit's interval
//! `I`; at the start of each window the queue's first `tasks` go back,
//! oldest first, and whenever the queue is not empty the current window
//! has already let its `tasks` back (a task is queued only when the window
//! is full or others wait before it). So the task at position `p` (1 =
//! next) goes back at the start of window `w + ⌈p / tasks⌉`, `w` the
//! window the limit last counted in: the one holding the instant looked
//! at, once every event at that instant has run. A run's end is the
//! exception: its `End` runs before any other event at its instant, so at
//! the end `w` is the window holding the instant before. Tasks ahead that
//! are killed in the meantime only bring the turn earlier.
//!
//! The run's fault machinery flushes the queue back into the pending
//! queue when the run ends (so the cell's books close); the driver keeps
//! the queue as it stood just before ([`crate::sim::Simulation`]), which is
//! what these views read once the run is over.

use crate::cell::state::CellState;
use crate::time::{SimDuration, SimTime};
use crate::workload::TaskId;
use rustc_hash::FxHashMap;

/// The reschedule rate limit: at most `tasks` fault-evicted tasks back in
/// the pending queue per `window`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RescheduleRule {
    pub tasks: u32,
    pub window: SimDuration,
}

impl RescheduleRule {
    /// When the task at `position` (1 = next) of a queue goes back to the
    /// pending queue, `counted` being an instant of the window the limit
    /// last counted in (see the module doc): the start of window
    /// `⌊counted / I⌋ + ⌈position / tasks⌉`.
    pub fn release_at(&self, counted: SimTime, position: u32) -> SimTime {
        let i = self.window.as_us().max(1);
        let per = u64::from(self.tasks.max(1));
        let window = counted.as_us() / i + u64::from(position).div_ceil(per);
        SimTime(window.saturating_mul(i))
    }
}

/// A task in the reschedule queue.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// When it entered the queue (when the fault evicted it).
    pub since: SimTime,
    /// Its place: 1 is the next to go back.
    pub position: u32,
    /// Tasks in the queue.
    pub queued: u32,
    /// The limit and when the task's turn comes at its rate; `None` if
    /// the limit was not given to the driver
    /// ([`crate::sim::Simulation::set_reschedule_rule`]).
    pub turn: Option<(RescheduleRule, SimTime)>,
}

/// The reschedule queue at one instant, looked up by task.
#[derive(Debug, Default)]
pub struct RescheduleQueue {
    /// Per task: its position (1 = next) and when it was queued. Looked
    /// up, never iterated.
    index: FxHashMap<TaskId, (u32, SimTime)>,
    rule: Option<RescheduleRule>,
    counted: SimTime,
}

impl RescheduleQueue {
    /// The queue `tasks` (oldest first, with when each was queued) under
    /// `rule`, the limit having last counted in the window of `counted`.
    pub fn new(
        tasks: impl Iterator<Item = (TaskId, SimTime)>,
        rule: Option<RescheduleRule>,
        counted: SimTime,
    ) -> Self {
        let index = tasks
            .zip(1u32..)
            .map(|((t, since), p)| (t, (p, since)))
            .collect();
        RescheduleQueue {
            index,
            rule,
            counted,
        }
    }

    /// The queue of a cell mid-run, every event at `now` done.
    pub fn of(st: &CellState, rule: Option<RescheduleRule>, now: SimTime) -> Self {
        RescheduleQueue::new(st.delayed(), rule, now)
    }

    /// Tasks in the queue.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Where task `t` stands, if it is in the queue.
    pub fn get(&self, t: TaskId) -> Option<Queued> {
        let &(position, since) = self.index.get(&t)?;
        Some(Queued {
            since,
            position,
            queued: u32::try_from(self.index.len()).unwrap_or(u32::MAX),
            turn: self.rule.map(|r| (r, r.release_at(self.counted, position))),
        })
    }
}

impl Queued {
    /// `held back by the reschedule rate limit since 1000.000000 s (at most
    /// 1 fault-evicted task back in the pending queue per 100000 s): 3rd of
    /// 27 in the queue, which no scheduling pass scans; its turn comes at
    /// 300000.000000 s`, with `end` (when the run ends, if known)
    /// saying whether that is within the run.
    pub fn describe(&self, end: Option<SimTime>) -> String {
        let mut s = format!(
            "held back by the reschedule rate limit since {} s",
            secs(self.since)
        );
        if let Some((rule, _)) = self.turn {
            s += &format!(
                " (at most {} fault-evicted task{} back in the pending queue per {} s)",
                rule.tasks,
                if rule.tasks == 1 { "" } else { "s" },
                rule.window.as_us() / 1_000_000
            );
        }
        s += &format!(
            ": {} of {} in the queue, which no scheduling pass scans",
            ordinal(self.position),
            self.queued
        );
        if let Some((_, at)) = self.turn {
            s += &format!("; its turn comes at {} s", secs(at));
            match end {
                Some(e) if at >= e => s += &format!(", after the run's end at {} s", secs(e)),
                _ => {}
            }
        }
        s
    }
}

/// A time as outputs show it: seconds to the microsecond (`1000.000000`).
fn secs(t: SimTime) -> String {
    format!("{t}").trim_end_matches('s').to_string()
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`.
fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(tasks: u32, window_s: u64) -> RescheduleRule {
        RescheduleRule {
            tasks,
            window: SimDuration::from_secs(window_s),
        }
    }

    #[test]
    fn a_task_goes_back_in_the_window_its_position_reaches() {
        // 3 per 60 s window, counted in the window [0, 60) (at 10 s):
        // positions 1–3 go back at 60 s, 4–6 at 120 s, 7 at 180 s.
        let r = rule(3, 60);
        let at = |p| r.release_at(SimTime::from_secs(10), p).as_us() / 1_000_000;
        assert_eq!([at(1), at(3), at(4), at(6), at(7)], [60, 60, 120, 120, 180]);
        // Counted at a window's start (60 s, its release done): the next
        // window, 120 s.
        assert_eq!(
            r.release_at(SimTime::from_secs(60), 1),
            SimTime::from_secs(120)
        );
    }

    #[test]
    fn the_queue_names_each_task_by_its_place() {
        // Tasks 7, 3, 9 queued at 5, 5 and 8 s; 1 per 100 s, counted at 8 s:
        // 7 goes back at 100 s, 3 at 200 s, 9 at 300 s.
        let q = RescheduleQueue::new(
            [(7, 5), (3, 5), (9, 8)]
                .into_iter()
                .map(|(t, s)| (t, SimTime::from_secs(s))),
            Some(rule(1, 100)),
            SimTime::from_secs(8),
        );
        assert_eq!(q.len(), 3);
        assert_eq!(q.get(4), None);
        let nine = q.get(9).unwrap();
        assert_eq!((nine.position, nine.queued), (3, 3));
        assert_eq!(nine.turn.unwrap().1, SimTime::from_secs(300));
        assert_eq!(
            nine.describe(Some(SimTime::from_secs(250))),
            "held back by the reschedule rate limit since 8.000000 s (at most 1 fault-evicted \
             task back in the pending queue per 100 s): 3rd of 3 in the queue, which no \
             scheduling pass scans; its turn comes at 300.000000 s, after the run's end at \
             250.000000 s"
        );
        assert!(!q
            .get(7)
            .unwrap()
            .describe(Some(SimTime::from_secs(250)))
            .contains("after"));
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111]
            .map(ordinal)
            .into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st",
                "111th"
            ]
        );
    }
}
